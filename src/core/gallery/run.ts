/**
 * Runs a gallery: selects the shard's jobs, skips those already rendered with the same content
 * hash, renders the rest on the worker pool, logs each finished job to the state file, and writes
 * gallery.json and index.html. One job's failure is recorded and the others go on.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { sourceLabel, type GalleryJob, type GalleryPlan } from './jobs.js';
import { FileHasher, STATE_FILE, StateLog, jobHash, modelId, readState, resolvedJob, usesModel, usesNotes, writeGallery } from './manifest.js';
import { isFinishedFile, lockGallery, outputPath, prepareGalleryDir, removeStaleTemps } from './paths.js';
import type { GalleryFile, GalleryRecord } from './record.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export interface GalleryProgress {
  /** Jobs finished in this run (rendered or failed), of `total` to render. */
  done: number;
  total: number;
  failed: number;
  /** Per worker: the job it renders and its step progress. */
  workers: Array<{ job?: string; done: number; total: number }>;
}

export interface RunGalleryOptions {
  plan: GalleryPlan;
  /** The gallery folder. */
  out: string;
  /** Worker threads (default: the number of cores). */
  workers?: number;
  /** onnxruntime threads per worker (default: max(1, floor(cores / workers))). */
  threads?: number;
  /** Model folder; default: the jobs file's "model", else the shipped model. */
  modelDir?: string;
  shard?: Shard;
  /** Only report what would be rendered and skipped; write nothing. */
  dryRun?: boolean;
  /** The jobs file as the user named it (recorded in gallery.json). */
  jobsFileLabel?: string;
  signal?: AbortSignal;
  onProgress?: (p: GalleryProgress) => void;
}

export interface GallerySummary {
  out: string;
  gallery?: string;
  index?: string;
  /** Jobs in this run (the shard's, if sharded). */
  jobs: number;
  rendered: number;
  ok: number;
  failed: number;
  skipped: number;
  seconds: number;
  jobsPerSecond: number;
  workers: number;
  threadsPerWorker: number;
  shard?: string;
  failures: Array<{ name: string; error: string }>;
  /** With dryRun: each job and what a run would do with it. */
  plan?: Array<{ index: number; name: string; output: string; action: 'render' | 'skip' | 'fail'; hash: string; error?: string }>;
}

/** The jobs of shard i/n: those whose index is i-1 modulo n (deterministic, balanced over sweeps). */
export function shardJobs(jobs: GalleryJob[], shard?: Shard): GalleryJob[] {
  if (!shard) return jobs;
  return jobs.filter((j) => j.index % shard.count === shard.index - 1);
}

/** Parse "--shard i/n" (1 <= i <= n). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count || count > 10_000) throw new UserError(`--shard: expected i/n with 1 <= i <= n (e.g. 2/4: the second quarter of the jobs) but received ${JSON.stringify(text)}`);
  return { index, count };
}

export async function runGallery(opts: RunGalleryOptions): Promise<GallerySummary> {
  const t0 = performance.now();
  const cores = availableParallelism();
  const jobs = shardJobs(opts.plan.jobs, opts.shard);
  const shardText = opts.shard ? `${opts.shard.index}/${opts.shard.count}` : undefined;
  const { DEFAULT_MODEL_DIR } = await import('../model/networks.js');
  const modelDir = resolve(opts.modelDir ?? opts.plan.model ?? DEFAULT_MODEL_DIR);

  // Hashes: the model's id and the note manifest's contents, only when some job needs them.
  const hasher = new FileHasher();
  let model: string | undefined;
  if (jobs.some(usesModel)) {
    if (!existsSync(join(modelDir, 'model.json'))) throw new UserError(`no trained model at ${modelDir}: train one with nca train, or pass --model DIR (or "model" in the jobs file)`);
    model = await modelId(modelDir, hasher);
  }
  const notes = jobs.some(usesNotes) ? await hasher.hash(join(modelDir, 'notes.json'), 'note manifest') : undefined;

  const root = opts.dryRun ? resolve(opts.out) : await prepareGalleryDir(opts.out);
  const release = opts.dryRun ? async () => {} : await lockGallery(root);
  try {
    if (!opts.dryRun) await removeStaleTemps(root);
    const previous = opts.dryRun && !existsSync(root) ? new Map<string, GalleryRecord>() : await readState(root);

    // Plan: each job is skipped (same hash, output intact), failed up front (an unreadable input), or rendered.
    const records = new Map<number, GalleryRecord>();
    const todo: Array<{ job: GalleryJob; hash: string; outPath: string }> = [];
    const planned: NonNullable<GallerySummary['plan']> = [];
    let skipped = 0;
    for (const job of jobs) {
      const base = baseRecord(job, shardText);
      let hash: string;
      try {
        hash = await jobHash(job, { hasher, model, notes });
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        records.set(job.index, { ...base, hash: '', status: 'failed', error: e.message, seconds: 0 });
        planned.push({ index: job.index, name: job.name, output: job.output, action: 'fail', hash: '', error: e.message });
        continue;
      }
      const outPath = opts.dryRun ? join(root, job.output) : await outputPath(root, job.output);
      const prev = previous.get(job.output);
      if (prev && prev.status === 'ok' && prev.hash === hash && (await isFinishedFile(outPath)) && (prev.bytes === undefined || (await sizeOf(outPath)) === prev.bytes)) {
        records.set(job.index, { ...prev, ...base, hash, status: 'ok', source: base.source, job: base.job, ...(shardText ? { shard: shardText } : {}) });
        skipped++;
        planned.push({ index: job.index, name: job.name, output: job.output, action: 'skip', hash });
      } else {
        todo.push({ job, hash, outPath });
        planned.push({ index: job.index, name: job.name, output: job.output, action: 'render', hash });
      }
    }
    const upFrontFailures = records.size - skipped;

    const workers = Math.max(1, Math.min(opts.workers ?? cores, Math.max(1, todo.length)));
    const threadsPerWorker = opts.threads ?? Math.max(1, Math.floor(cores / workers));
    if (opts.dryRun) {
      return summarize({ opts, root, jobs, records, skipped, rendered: 0, t0, workers, threadsPerWorker, shardText, plan: planned });
    }

    // The state log, compacted: the latest record of every output known, then one line per finished
    // job. (A job that failed up front keeps its earlier record: when its input comes back unchanged,
    // its output is still good.)
    const state = new StateLog(join(root, STATE_FILE));
    await state.reset(previous.values());

    let rendered = 0;
    let aborted: Error | null = null;
    if (todo.length > 0) {
      const { RenderPool } = await import('./pool.js');
      const pool = new RenderPool({ workers, threads: threadsPerWorker, modelDir });
      const status: GalleryProgress['workers'] = Array.from({ length: pool.size }, () => ({ done: 0, total: 0 }));
      let failed = upFrontFailures;
      const progress = () => opts.onProgress?.({ done: rendered, total: todo.length, failed, workers: status });
      const onAbort = () => pool.abort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let next = 0;
      try {
        progress();
        await Promise.all(
          status.map(async (slotStatus, slot) => {
            while (next < todo.length && !opts.signal?.aborted && !aborted) {
              const { job, hash, outPath } = todo[next++]!;
              slotStatus.job = job.name;
              slotStatus.done = 0;
              slotStatus.total = typeof job.settings.steps === 'number' ? job.settings.steps : 0;
              progress();
              let outcome;
              try {
                outcome = await pool.run(slot, job, outPath, (done, total) => {
                  slotStatus.done = done;
                  slotStatus.total = total;
                  progress();
                });
              } catch (e) {
                if (opts.signal?.aborted || (e instanceof Error && e.name === 'AbortError')) {
                  aborted ??= e instanceof Error ? e : new Error(String(e));
                  break;
                }
                // anything else that went wrong with this job is this job's failure only
                outcome = { ok: false as const, seconds: 0, error: e instanceof UserError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}` };
              }
              const base = baseRecord(job, shardText);
              const record: GalleryRecord = outcome.ok
                ? { ...base, hash, status: 'ok', seconds: round(outcome.seconds), motion: roundMotion(outcome.motion), width: outcome.width, height: outcome.height, steps: outcome.steps, frames: outcome.frames, bytes: outcome.bytes }
                : { ...base, hash, status: 'failed', error: outcome.error, seconds: round(outcome.seconds) };
              records.set(job.index, record);
              await state.append(record);
              rendered++;
              if (!outcome.ok) failed++;
              slotStatus.job = undefined;
              progress();
            }
          }),
        );
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
        await pool.close();
      }
    }

    const summary = summarize({ opts, root, jobs, records, skipped, rendered, t0, workers, threadsPerWorker, shardText });
    // Written on an interrupt too, with the jobs finished so far: the sheet shows what exists.
    const written = await writeGallery(root, galleryFile(opts, jobs, records, summary));
    if (aborted || opts.signal?.aborted) throw aborted ?? abortError();
    return { ...summary, gallery: written.json, index: written.html };
  } finally {
    await release();
  }
}

function baseRecord(job: GalleryJob, shard?: string): Omit<GalleryRecord, 'hash' | 'status'> {
  return {
    name: job.name,
    index: job.index,
    source: { kind: job.source.kind, label: sourceLabel(job.source) },
    job: resolvedJob(job),
    output: job.output,
    ...(shard ? { shard } : {}),
  };
}

function summarize(a: {
  opts: RunGalleryOptions;
  root: string;
  jobs: GalleryJob[];
  records: Map<number, GalleryRecord>;
  skipped: number;
  rendered: number;
  t0: number;
  workers: number;
  threadsPerWorker: number;
  shardText?: string;
  plan?: GallerySummary['plan'];
}): GallerySummary {
  const all = [...a.records.values()];
  const failures = all.filter((r) => r.status === 'failed').sort((x, y) => x.index - y.index);
  const seconds = (performance.now() - a.t0) / 1000;
  return {
    out: a.root,
    jobs: a.jobs.length,
    rendered: a.rendered,
    ok: all.filter((r) => r.status === 'ok').length,
    failed: failures.length,
    skipped: a.skipped,
    seconds: round(seconds),
    jobsPerSecond: round(a.rendered / seconds),
    workers: a.workers,
    threadsPerWorker: a.threadsPerWorker,
    ...(a.shardText ? { shard: a.shardText } : {}),
    failures: failures.map((r) => ({ name: r.name, error: r.error ?? 'failed' })),
    ...(a.plan ? { plan: a.plan } : {}),
  };
}

function galleryFile(opts: RunGalleryOptions, jobs: GalleryJob[], records: Map<number, GalleryRecord>, s: GallerySummary): GalleryFile {
  return {
    format: 'nca-gallery',
    version: 1,
    ...(opts.jobsFileLabel ? { jobsFile: opts.jobsFileLabel } : {}),
    created: new Date().toISOString(),
    records: jobs.map((j) => records.get(j.index)).filter((r): r is GalleryRecord => r !== undefined),
    summary: { jobs: s.jobs, ok: s.ok, failed: s.failed, skipped: s.skipped, seconds: s.seconds, workers: s.workers },
  };
}

/** The size of a file, or -1 when it cannot be read (it vanished: then the job is rendered again). */
async function sizeOf(path: string): Promise<number> {
  const { stat } = await import('node:fs/promises');
  return stat(path).then((st) => st.size, () => -1);
}

function round(x: number, digits = 4): number {
  return Number(x.toPrecision(digits));
}

function roundMotion(m: NonNullable<GalleryRecord['motion']>): NonNullable<GalleryRecord['motion']> {
  return { ...m, meanChange: round(m.meanChange), lastChange: round(m.lastChange), lastStd: round(m.lastStd), correlation: round(m.correlation), drift: round(m.drift), ...(m.persistence === undefined ? {} : { persistence: round(m.persistence) }) };
}

function abortError(): Error {
  return Object.assign(new Error('interrupted'), { name: 'AbortError' });
}
