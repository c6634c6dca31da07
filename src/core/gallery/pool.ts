/**
 * The render pool: `workers` worker threads (worker.ts), each rendering one job at a time with its
 * own model and onnxruntime session, `threads` onnxruntime threads each. Without a built worker
 * script (running from the TypeScript sources, e.g. under vitest) jobs run in this thread instead,
 * through one shared JobRenderer.
 *
 * A worker that dies (a crash in native code, out of memory) fails the job it held and is replaced.
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TEMP_FILE_PATTERN } from '../io/atomic.js';
import type { GalleryJob } from './jobs.js';
import { JobRenderer, type JobOutcome, type RendererOptions } from './render-job.js';

export type PoolRequest = { type: 'run'; id: number; job: GalleryJob; outPath: string } | { type: 'abort' };
export type PoolReply =
  | { type: 'progress'; id: number; done: number; total: number }
  | { type: 'done'; id: number; outcome: JobOutcome }
  | { type: 'aborted'; id: number };

export interface PoolOptions extends RendererOptions {
  /** Number of worker threads (jobs rendered at once). */
  workers: number;
  /** The worker script (default: worker.js beside this module; tests pass their own). */
  script?: URL;
}

interface Pending {
  id: number;
  /** The job's output: a worker that dies while writing it leaves a temporary file beside it. */
  outPath: string;
  resolve: (o: JobOutcome) => void;
  reject: (e: Error) => void;
  onProgress?: (done: number, total: number) => void;
}

/**
 * One worker thread and the job it is rendering. A worker that dies (an uncaught error, a crash,
 * running out of memory) fails only the job it held; the next job starts a new worker.
 */
class Slot {
  private worker: Worker | null = null;
  private closed = false;
  pending: Pending | null = null;

  constructor(private readonly url: URL, private readonly data: RendererOptions) {
    this.spawn();
  }

  private spawn(): Worker {
    const w = new Worker(this.url, { workerData: this.data });
    this.worker = w;
    w.on('message', (msg: PoolReply) => {
      const p = this.pending;
      if (!p || msg.id !== p.id) return;
      if (msg.type === 'progress') p.onProgress?.(msg.done, msg.total);
      else {
        this.pending = null;
        if (msg.type === 'done') p.resolve(msg.outcome);
        else p.reject(abortError());
      }
    });
    const died = (why: string) => {
      if (this.worker !== w) return; // closed, or already replaced
      this.worker = null; // started again by the next job (not here: a worker that cannot start would loop)
      const p = this.pending;
      this.pending = null;
      if (p) void removeTempFilesOf(p.outPath).finally(() => p.resolve({ ok: false, seconds: 0, error: `the worker rendering this job died (${why})` }));
    };
    w.on('error', (e) => died(e.message.split('\n')[0]!));
    w.on('exit', (code) => died(`exit code ${code}`));
    return w;
  }

  run(id: number, job: GalleryJob, outPath: string, onProgress?: (done: number, total: number) => void): Promise<JobOutcome> {
    return new Promise<JobOutcome>((resolve, reject) => {
      if (this.closed) return reject(abortError());
      const w = this.worker ?? this.spawn();
      this.pending = { id, outPath, resolve, reject, onProgress };
      try {
        w.postMessage({ type: 'run', id, job, outPath } satisfies PoolRequest);
      } catch (e) {
        this.pending = null;
        resolve({ ok: false, seconds: 0, error: `internal error: cannot send the job to its worker (${e instanceof Error ? e.message : String(e)})` });
      }
    });
  }

  abort(): void {
    if (this.pending) this.worker?.postMessage({ type: 'abort' } satisfies PoolRequest);
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null; // the exit that follows is not a death
    this.pending?.reject(abortError());
    this.pending = null;
    await w?.terminate();
  }
}

export class RenderPool {
  /** Jobs rendered at once. */
  readonly size: number;
  /** True when jobs run in this thread (no built worker script). */
  readonly inline: boolean;
  private readonly slots: Slot[] = [];
  private readonly renderer: JobRenderer | null = null;
  private readonly controllers = new Set<AbortController>();
  private nextId = 0;

  constructor(opts: PoolOptions) {
    this.size = Math.max(1, opts.workers);
    const url = opts.script ?? new URL('./worker.js', import.meta.url);
    this.inline = !existsSync(fileURLToPath(url));
    const data: RendererOptions = { modelDir: opts.modelDir, threads: opts.threads };
    if (this.inline) this.renderer = new JobRenderer(data);
    else for (let i = 0; i < this.size; i++) this.slots.push(new Slot(url, data));
  }

  /** Render a job on slot `slot` (0..size-1; one job per slot at a time). Rejects with an AbortError after abort(). */
  run(slot: number, job: GalleryJob, outPath: string, onProgress?: (done: number, total: number) => void): Promise<JobOutcome> {
    const id = this.nextId++;
    if (this.renderer) {
      const controller = new AbortController();
      this.controllers.add(controller);
      return this.renderer.run(job, outPath, onProgress, controller.signal).finally(() => this.controllers.delete(controller));
    }
    return this.slots[slot]!.run(id, job, outPath, onProgress);
  }

  /** Stop every running job (they reject with an AbortError; their temporary files are removed). */
  abort(): void {
    for (const c of this.controllers) c.abort(abortError());
    for (const s of this.slots) s.abort();
  }

  async close(): Promise<void> {
    this.renderer?.dispose();
    await Promise.all(this.slots.map((s) => s.close()));
  }
}

/**
 * Remove the temporary files of `outPath` that this process made (io/atomic.ts names them
 * `.nca-tmp-<pid>-<hex>-<name>`): a worker thread that died cannot remove its own, and this
 * process being alive, the next run would not either.
 */
async function removeTempFilesOf(outPath: string): Promise<void> {
  const names = await readdir(dirname(outPath)).catch(() => [] as string[]);
  const prefix = `.nca-tmp-${process.pid}-`;
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith(`-${basename(outPath)}`) && TEMP_FILE_PATTERN.test(name)) {
      await rm(join(dirname(outPath), name), { force: true }).catch(() => undefined);
    }
  }
}

function abortError(): Error {
  return Object.assign(new Error('interrupted'), { name: 'AbortError' });
}
