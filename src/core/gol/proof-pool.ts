/**
 * The exhaustive proofs of proof.ts over all 2^25 neighbourhoods, split over worker threads.
 *
 * The tables are built once on the calling thread, copied into SharedArrayBuffers, and each worker
 * runs a contiguous slice of the outer loop (rows 0..3 of the neighbourhood); the parts are merged
 * in order, so results do not depend on the thread count. Without a built worker script (running
 * from the TypeScript sources, e.g. under vitest) or with threads = 1 everything runs inline.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { builtWorkerScript } from '../worker-script.js';
import { NEIGHBOURHOODS, type GolNet } from './net.js';
import { OUTER, float32Slack, freePart, freeTables, mergeFree, mergeRounded, roundedPart, roundedTables, windowPreactivations, type FreePart, type FreeTables, type RoundedPart } from './proof.js';

type JobBody =
  | { kind: 'rounded'; bands: Float64Array; b2: number; collectBelow?: number; collectMax?: number }
  | { kind: 'free'; tables: FreeTables; b2: number; collectMax?: number };
export type ProofJob = JobBody & { start: number; end: number };

/**
 * The outer loop is always cut into this many slices, whatever the thread count, so that merged
 * results (including the sampled counterexamples training uses) never depend on it.
 */
const SLICES = 8;

/** A set of proof workers (or none: inline). Close it when done. */
export class ProofPool {
  private readonly workers: Worker[] = [];

  constructor(threads = availableParallelism()) {
    const url = builtWorkerScript(new URL('./proof-worker.js', import.meta.url), threads);
    if (url) {
      for (let i = 0; i < threads; i++) {
        const w = new Worker(url);
        w.unref();
        this.workers.push(w);
      }
    }
  }

  get threads(): number {
    return Math.max(1, this.workers.length);
  }

  /** Runs the job over outer indices [start, end) in SLICES slices; the parts come back in order. */
  async run<T extends RoundedPart | FreePart>(job: JobBody, start = 0, end = OUTER): Promise<T[]> {
    const step = Math.ceil((end - start) / SLICES);
    const jobs: ProofJob[] = [];
    for (let i = 0; i < SLICES; i++) jobs.push({ ...job, start: Math.min(end, start + i * step), end: Math.min(end, start + (i + 1) * step) });
    if (this.workers.length === 0) return jobs.map((j) => runInline(j) as T);
    const parts: T[] = new Array(SLICES);
    let next = 0;
    await Promise.all(
      this.workers.map(async (w) => {
        w.ref();
        try {
          while (next < jobs.length) {
            const i = next++;
            parts[i] = await runOn<T>(w, jobs[i]!);
          }
        } finally {
          w.unref();
        }
      }),
    );
    return parts;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

function runOn<T>(w: Worker, job: ProofJob): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (part: T) => {
      w.off('error', onError);
      resolve(part);
    };
    const onError = (err: Error) => {
      w.off('message', onMessage);
      reject(err);
    };
    w.once('message', onMessage);
    w.once('error', onError);
    w.postMessage(job);
  });
}

export function runInline(job: ProofJob): RoundedPart | FreePart {
  return job.kind === 'rounded'
    ? roundedPart(job.bands, job.b2, job.start, job.end, job.collectBelow, job.collectMax)
    : freePart(job.tables, job.b2, job.start, job.end, job.collectMax);
}

function shared(a: Float64Array): Float64Array {
  const s = new Float64Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

export interface RoundedProof {
  /** Neighbourhoods checked: 2^25. */
  checked: number;
  mismatches: number;
  /** Lowest-numbered mismatching neighbourhood (see net.ts for the numbering), or null. */
  firstMismatch: number | null;
  /** Smallest signed distance of an output from 0.5 (negative: on the wrong side). */
  minMargin: number;
  minMarginAt: number;
  /** Worst-case float32 error of the engine's output at binary inputs. */
  float32Error: number;
  /** Zero mismatches and a margin above the float32 error bound. */
  holds: boolean;
  /** Sample of the neighbourhoods with margin below `collect.below` (training). */
  collected: number[];
}

/** Rounded protocol: every binary 5x5 neighbourhood, the output on the right side of 0.5. */
export async function proveRounded(net: GolNet, pool: ProofPool, collect?: { below: number; max: number }): Promise<RoundedProof> {
  const bands = shared(roundedTables(net));
  const parts = await pool.run<RoundedPart>({ kind: 'rounded', bands, b2: net.b2, collectBelow: collect?.below, collectMax: collect?.max });
  const r = mergeRounded(parts, collect?.max ?? 0);
  const float32Error = float32Slack(net, 0).output;
  return {
    checked: NEIGHBOURHOODS,
    mismatches: r.mismatches,
    firstMismatch: r.firstMismatch >= 0 ? r.firstMismatch : null,
    minMargin: r.minMargin,
    minMarginAt: r.minMarginAt,
    float32Error,
    holds: r.mismatches === 0 && r.minMargin > float32Error,
    collected: r.collected,
  };
}

export interface FreeProof {
  eps: number;
  /** Neighbourhoods whose output box is not within eps of the next state. */
  failures: number;
  /** Smallest slack (eps minus the far end's distance from the target), and where. */
  minSlack: number;
  minSlackAt: number;
  /** Every eps' in [minEps, eps] is proven by the same tables (Infinity: some gradient has L1 >= 1). */
  minEps: number;
  holds: boolean;
  /** Sample of the failing neighbourhoods (training). */
  collected: number[];
}

/** Free running at radius eps over every binary 5x5 neighbourhood, or over a stride of the outer loop. */
export async function proveFree(net: GolNet, eps: number, pool: ProofPool, opts: { sample?: { start: number; end: number }; collectMax?: number } = {}): Promise<FreeProof> {
  const t = freeTables(net, eps);
  const tables: FreeTables = { ...t, value: shared(t.value), lo: shared(t.lo), hi: shared(t.hi), coef: shared(t.coef), lastRowL1: shared(t.lastRowL1) };
  const parts = await pool.run<FreePart>({ kind: 'free', tables, b2: net.b2, collectMax: opts.collectMax }, opts.sample?.start, opts.sample?.end);
  const f = mergeFree(parts, opts.collectMax ?? 0);
  return { eps, failures: f.failures, minSlack: f.minSlack, minSlackAt: f.minSlackAt, minEps: f.minEps, holds: f.failures === 0, collected: f.collected };
}

export interface EpsSearch {
  /** Largest eps proven on all 2^25 neighbourhoods (0 when none was found). */
  eps: number;
  /** The smallest eps proven by the same tables (the proof holds on [minEps, eps]). */
  minEps: number;
  /** The full proof at `eps` (or at the last eps tried when none holds). */
  proof: FreeProof;
  /** Full passes over 2^25 neighbourhoods run (each ~1 s per core). */
  fullPasses: number;
}

/**
 * The 1/16 of the neighbourhoods that steers the search: one block of the outer loop, i.e. cells
 * 1..3 of row 3 alive, cell 4 dead, everything else free. Failing there means failing; passing there
 * only proposes a candidate that the full proof settles.
 */
const SAMPLE = { start: 7 * (OUTER >>> 4), end: 8 * (OUTER >>> 4) };

/**
 * The largest eps for which the free-running proof holds. The search runs on a 1/16 slice of the
 * neighbourhoods (cheap), then the candidate is proven on all of them, shrinking by 5% on failure.
 * `hint`: where to start (e.g. the eps the network was trained for).
 */
export async function searchEps(net: GolNet, pool: ProofPool, hint = 0.01, maxFull = 4): Promise<EpsSearch> {
  const passes = (e: number) => proveFree(net, e, pool, { sample: SAMPLE });
  // 1. find a passing eps on the sample
  let lo = 0;
  let hi = 0.5;
  let e = Math.min(Math.max(hint, 1e-4), 0.49);
  for (let tries = 0; tries < 24 && lo === 0; tries++) {
    const r = await passes(e);
    if (r.holds) lo = e;
    else if (Number.isFinite(r.minEps) && r.minEps > e && r.minEps < hi) e = Math.min(r.minEps * 1.02, (e + hi) / 2);
    else {
      hi = e;
      e /= 2;
      if (e < 1e-5) break;
    }
  }
  if (lo === 0) {
    // nothing passes even on the sample: report the full proof at the hint (where it fails)
    const last = await proveFree(net, Math.min(Math.max(hint, 1e-4), 0.49), pool);
    return { eps: 0, minEps: Infinity, proof: last, fullPasses: 1 };
  }
  // 2. bisect on the sample to ~1% relative
  while (hi - lo > 0.01 * lo) {
    const mid = (lo + hi) / 2;
    if ((await passes(mid)).holds) lo = mid;
    else hi = mid;
  }
  // 3. prove on everything, shrinking on failure
  let fullPasses = 0;
  let cand = lo;
  let proof: FreeProof | null = null;
  while (fullPasses < maxFull) {
    proof = await proveFree(net, cand, pool);
    fullPasses++;
    if (proof.holds) return { eps: cand, minEps: proof.minEps, proof, fullPasses };
    cand *= 0.95;
  }
  return { eps: 0, minEps: Infinity, proof: proof!, fullPasses };
}

/** Float32 rounding bound at a given eps (exported for reports). */
export function float32OutputError(net: GolNet, eps: number): number {
  return float32Slack(net, eps, windowPreactivations(net)).output;
}
