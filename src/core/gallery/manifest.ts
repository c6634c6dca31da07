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
import { appendFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { fsError, isFsError } from '../io/fs-error.js';
import { readInput, readTextFile, type InputKind } from '../io/read.js';
import { parseJsonLimited } from './json.js';
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

/**
 * sha256 of files' contents, each file read once. Files are read with io/read.ts's readInput: only
 * regular files within the size limit of their kind (a latent on /dev/zero is refused, not hashed
 * forever). Unreadable files are UserErrors naming the file.
 */
export class FileHasher {
  private readonly cache = new Map<string, Promise<string>>();

  /**
   * @param what how errors name the file, e.g. "latent file"
   * @param kind its size limit (INPUT_LIMITS)
   */
  hash(path: string, what = 'file', kind: InputKind = 'binary'): Promise<string> {
    let p = this.cache.get(path);
    if (!p) {
      p = readInput(path, what, kind).then((bytes) => sha256(bytes));
      this.cache.set(path, p);
    }
    return p;
  }
}

/** The id of a model folder: sha256 of its model.json and weights.bin. */
export async function modelId(dir: string, hasher = new FileHasher()): Promise<string> {
  const parts = await Promise.all([hasher.hash(join(dir, 'model.json'), 'model file', 'json'), hasher.hash(join(dir, 'weights.bin'), 'model file', 'binary')]);
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

/** How errors name each kind of input file, and its size limit. */
const INPUTS: Record<string, { what: string; kind: InputKind }> = {
  latent: { what: 'latent file', kind: 'json' },
  audio: { what: 'audio file', kind: 'wav' },
  params: { what: 'parameters file', kind: 'json' },
};

/** The job with each input path replaced by "sha256:<hex of its contents>". */
async function withContentHashes(job: GalleryJob, hasher: FileHasher): Promise<Record<string, unknown>> {
  const point = async (s: PointSource | JobSource): Promise<Record<string, unknown>> =>
    'file' in s ? { ...s, file: `sha256:${await hasher.hash(s.file, INPUTS[s.kind]!.what, INPUTS[s.kind]!.kind)}` } : { ...s };
  const source = job.source.kind === 'interpolate' ? { ...job.source, from: await point(job.source.from), to: await point(job.source.to) } : await point(job.source);
  const init = job.settings.init;
  const settings = typeof init === 'object' ? { ...job.settings, init: { image: `sha256:${await hasher.hash(init.image, 'init image', 'png')}` } } : job.settings;
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
  // Unreadable or malformed: no records from it (its jobs are rendered again). Special files are refused by readInput.
  const gallery = await readGalleryFile(join(root, GALLERY_FILE)).catch(() => null);
  for (const r of gallery?.records ?? []) if (isRecord(r)) records.set(r.output, r);
  const text = await readTextFile(join(root, STATE_FILE), 'the gallery state log', 'json').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let r: unknown;
    try {
      r = parseJsonLimited(line, 'a line');
    } catch {
      continue; // a line torn by a kill -9 (or too deeply nested to be ours): that job is simply not done
    }
    if (isRecord(r)) records.set(r.output, r);
  }
  return records;
}

/** Whether `r` has what a record needs to be used: an output path and a hash (strings). */
function isRecord(r: unknown): r is GalleryRecord {
  return typeof r === 'object' && r !== null && typeof (r as GalleryRecord).output === 'string' && typeof (r as GalleryRecord).hash === 'string';
}

/** Whether anything is at `path` (a broken link counts): then reading it must work or fail loudly. */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (isFsError(e) && e.code === 'ENOENT') return false;
    throw fsError('read', path, e);
  }
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
    this.chain = this.chain.then(() =>
      appendFile(this.path, JSON.stringify(record) + '\n').catch((e: unknown) => {
        throw fsError('append to the gallery state log', this.path, e, 'make room or choose another --out');
      }),
    );
    return this.chain;
  }
}

/** Read and check a gallery.json. */
export async function readGalleryFile(path: string): Promise<GalleryFile> {
  if (!(await exists(path))) throw new UserError(`cannot read ${path}: no such file (is it a gallery folder? nca gallery writes gallery.json at the end of a run)`);
  const text = await readTextFile(path, 'the gallery file', 'json');
  const f = parseJsonLimited(text, path, '; render the gallery again') as GalleryFile;
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
