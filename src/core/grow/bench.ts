/**
 * `nca bench`'s growing-NCA figure: iterations of the tutorial's recipe (64 x 64 circle, batch 4,
 * 64-96 steps, forward and backward on onnxruntime, Adam) timed one by one after a warm-up
 * iteration. Steps per iteration vary, so the per-step time (seconds / steps) is the figure to compare
 * with bench/grow/pytorch-grow.py, which prints the same.
 */
import { loadavg } from 'node:os';
import { median } from '../stats.js';
import { circleTarget } from './target.js';
import { trainGrow } from './train.js';

export interface GrowIterationBench {
  iterations: number;
  threads: number;
  /** Median seconds per iteration, and per NCA step (forward + backward) in ms. */
  medianIteration: number;
  medianStepMs: number;
  /** Shares of an iteration: forward, backward, the rest (loss, Adam, pool), medians in seconds. */
  forward: number;
  backward: number;
  rest: number;
  loadAverage: { before: number; after: number };
}

export async function benchGrowIteration(opts: { iterations?: number; threads?: number } = {}): Promise<GrowIterationBench> {
  const iterations = opts.iterations ?? 6;
  const threads = opts.threads ?? 2;
  const before = loadavg()[0]!;
  const { log } = await trainGrow({ target: circleTarget(64), settings: { iterations: iterations + 1 }, seed: 'bench', threads });
  const timed = log.slice(1);
  const total = (l: (typeof log)[number]) => l.forward + l.backward + l.rest;
  return {
    iterations,
    threads,
    medianIteration: median(timed.map(total)),
    medianStepMs: median(timed.map((l) => (1000 * total(l)) / l.steps)),
    forward: median(timed.map((l) => l.forward)),
    backward: median(timed.map((l) => l.backward)),
    rest: median(timed.map((l) => l.rest)),
    loadAverage: { before, after: loadavg()[0]! },
  };
}
