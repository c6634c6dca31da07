/**
 * What makes a gallery resumable: each job's content hash, the state log of finished jobs, and
 * gallery.json.
 *
 * - The hash of a job is sha256 of the canonical JSON (sorted keys) of the resolved job (output path,
 *   source, every render setting after defaults) in which each input file is replaced by the sha256
 *   of its contents, plus the model's id (sha256 of its model.json + weights.bin) for jobs that run
 *   the model, the note manifest's hash for notes, and RENDERER_VERSION. Moving an input keeps the
 *   hash; editing it, the job or the model changes it.
 * - `.nca-gallery-state.jsonl` in the gallery folder gets one line (a GalleryRecord) per finished job,
 *   appended right after its output was renamed into place. A run killed with kill -9 leaves at most
 *   a torn last line, which is ignored. A re-run skips a job whose latest record is ok, has the same
 *   hash, and whose output is a regular file of the recorded size.
 * - gallery.json (GalleryFile) and index.html are rewritten atomically at the end of a run.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { GalleryJob, JobSource, PointSource } from './jobs.js';
import type { GalleryFile, GalleryRecord } from './record.js';

export const STATE_FILE = '.nca-gallery-state.jsonl';
export const GALLERY_FILE = 'gallery.json';
export const INDEX_FILE = 'index.html';
/** Part of every job hash: bump it when nca renders the same job differently, so galleries redo it. */
export const RENDERER_VERSION = 1;

/** JSON with object keys sorted at every level and no spaces: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of files' contents, each file read once (streamed). Unreadable files are UserErrors naming the file. */
export class FileHasher {
  private readonly cache = new Map<string, Promise<string>>();

  hash(path: string, what = 'file'): Promise<string> {
    let p = this.cache.get(path);
    if (!p) {
      p = new Promise<string>((resolve, reject) => {
        const h = createHash('sha256');
        createReadStream(path)
          .on('data', (chunk) => h.update(chunk))
          .on('end', () => resolve(h.digest('hex')))
          .on('error', (e: NodeJS.ErrnoException) => {
            const reason = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder' : (e.code ?? e.message);
            reject(new UserError(`cannot read ${what} ${path}: ${reason}`));
          });
      });
      this.cache.set(path, p);
    }
    return p;
  }
}

/** The id of a model folder: sha256 of its model.json and weights.bin. */
export async function modelId(dir: string, hasher = new FileHasher()): Promise<string> {
  const parts = await Promise.all(['model.json', 'weights.bin'].map((f) => hasher.hash(join(dir, f), 'model file')));
  return sha256(parts.join(''));
}

/** Whether the job runs the neuromusical model (everything but raw parameters). */
export function usesModel(job: GalleryJob): boolean {
  return job.source.kind !== 'params';
}

/** Whether the job reads the model's note manifest. */
export function usesNotes(job: GalleryJob): boolean {
  const s = job.source;
  return s.kind === 'notes' || (s.kind === 'interpolate' && (s.from.kind === 'notes' || s.to.kind === 'notes'));
}

/** The job as gallery.json records it: name, output, source and settings with absolute input paths. */
export function resolvedJob(job: GalleryJob): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ name: job.name, output: job.output, source: job.source, settings: job.settings })) as Record<string, unknown>;
}

const WHAT: Record<string, string> = { latent: 'latent file', audio: 'audio file', params: 'parameters file' };

/** The job with each input path replaced by "sha256:<hex of its contents>". */
async function withContentHashes(job: GalleryJob, hasher: FileHasher): Promise<Record<string, unknown>> {
  const point = async (s: PointSource | JobSource): Promise<Record<string, unknown>> =>
    'file' in s ? { ...s, file: `sha256:${await hasher.hash(s.file, WHAT[s.kind])}` } : { ...s };
  const source = job.source.kind === 'interpolate' ? { ...job.source, from: await point(job.source.from), to: await point(job.source.to) } : await point(job.source);
  const init = job.settings.init;
  const settings = typeof init === 'object' ? { ...job.settings, init: { image: `sha256:${await hasher.hash(init.image, 'init image')}` } } : job.settings;
  return { output: job.output, source, settings };
}

export interface HashContext {
  hasher: FileHasher;
  /** Model id (see modelId); needed by jobs that run the model. */
  model?: string;
  /** sha256 of the note manifest; needed by notes jobs. */
  notes?: string;
}

/** The job's content hash (see the file comment). Throws a UserError when an input cannot be read. */
export async function jobHash(job: GalleryJob, ctx: HashContext): Promise<string> {
  const payload = {
    renderer: RENDERER_VERSION,
    job: await withContentHashes(job, ctx.hasher),
    model: usesModel(job) ? (ctx.model ?? null) : null,
    notes: usesNotes(job) ? (ctx.notes ?? null) : null,
  };
  return sha256(canonicalJson(payload));
}

/**
 * The latest record of every output known in a gallery folder: gallery.json's records, then the
 * state log's lines in order (later lines win). Unparseable lines (a torn last line) are skipped.
 */
export async function readState(root: string): Promise<Map<string, GalleryRecord>> {
  const records = new Map<string, GalleryRecord>();
  const gallery = await readGalleryFile(join(root, GALLERY_FILE)).catch(() => null);
  for (const r of gallery?.records ?? []) records.set(r.output, r);
  const text = await readFile(join(root, STATE_FILE), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as GalleryRecord;
      if (r && typeof r.output === 'string' && typeof r.hash === 'string') records.set(r.output, r);
    } catch {
      // a line torn by a kill -9: that job is simply not done
    }
  }
  return records;
}

/** The state log, appended one line per finished job; appends are serialised. */
export class StateLog {
  private chain: Promise<void> = Promise.resolve();
  constructor(readonly path: string) {}

  /** Rewrite the log (atomically) with these records only: drops old and torn lines. */
  async reset(records: Iterable<GalleryRecord>): Promise<void> {
    const lines = [...records].map((r) => JSON.stringify(r) + '\n').join('');
    await writeFileAtomic(this.path, lines);
  }

  append(record: GalleryRecord): Promise<void> {
    this.chain = this.chain.then(() => appendFile(this.path, JSON.stringify(record) + '\n'));
    return this.chain;
  }
}

/** Read and check a gallery.json. */
export async function readGalleryFile(path: string): Promise<GalleryFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (is it a gallery folder? nca gallery writes gallery.json at the end of a run)' : (e as Error).message}`);
  }
  let f: GalleryFile;
  try {
    f = JSON.parse(text) as GalleryFile;
  } catch {
    throw new UserError(`${path} is not valid JSON; render the gallery again`);
  }
  if (f?.format !== 'nca-gallery' || f.version !== 1 || !Array.isArray(f.records)) throw new UserError(`${path} is not an nca gallery file (format "nca-gallery", version 1)`);
  return f;
}

/**
 * Write gallery.json and index.html atomically. index.html comes from html.ts's galleryHtml; returns
 * the paths written.
 */
export async function writeGallery(root: string, file: GalleryFile): Promise<{ json: string; html: string }> {
  const json = join(root, GALLERY_FILE);
  const html = join(root, INDEX_FILE);
  await writeFileAtomic(json, JSON.stringify(file, null, 1) + '\n');
  const { galleryHtml } = await import('./html.js');
  await writeFileAtomic(html, galleryHtml(file));
  return { json, html };
}
