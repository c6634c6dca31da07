import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { createEngine } from './nca/engine.js';
import { FRAME_PROTOCOL, FREE_PROTOCOL } from './nca/graph.js';
import { CHANNELS, randomParams } from './nca/params.js';
import { render } from './render.js';
import { Rng } from './rng.js';
import { median } from './stats.js';

/** Multiply-adds per cell per NCA step: two 16->16 3x3 convolutions. */
export const MACS_PER_CELL = 2 * CHANNELS * CHANNELS * 9; // 4608
/** FLOP per cell-step: 4608 multiply-adds = 9216 floating-point operations (biases, ReLU and residual not counted). */
export const FLOP_PER_CELL_STEP = 9216;
/** This machine's FMA peak for 2 cores, measured while planning (GFLOP/s), used for "% of peak". */
export const PEAK_GFLOPS = 230;

export interface EngineFigure {
  size: number;
  threads: number;
  protocol: 'frame' | 'free';
  stepsPerSecond: number;
  gflops: number;
  percentOfPeak: number;
}

export interface RenderFigure {
  size: number;
  steps: number;
  format: 'png' | 'gif';
  seconds: number;
  stepsPerSecond: number;
}

/** Steps/s of the engine alone (noise included for the frame protocol), median of `repeats` timed runs of ~`seconds` each. */
export async function benchEngine(size: number, threads: number, protocol: 'frame' | 'free', repeats = 3, seconds = 0.6): Promise<EngineFigure> {
  const rng = new Rng(1);
  const engine = await createEngine(randomParams(rng), { width: size, height: size, threads, protocol: protocol === 'frame' ? FRAME_PROTOCOL : FREE_PROTOCOL, rng: rng.fork() });
  const state = rng.fillUniform(new Float32Array(CHANNELS * size * size));
  await engine.run(state, 16); // warm-up
  const t = performance.now();
  await engine.run(state, 16);
  const perStep = (performance.now() - t) / 16;
  const steps = Math.max(16, Math.round((seconds * 1000) / perStep / 8) * 8);
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await engine.run(state, steps, () => {});
    rates.push(steps / ((performance.now() - t0) / 1000));
  }
  await engine.dispose();
  const stepsPerSecond = median(rates);
  const gflops = (stepsPerSecond * size * size * FLOP_PER_CELL_STEP) / 1e9;
  return { size, threads, protocol, stepsPerSecond, gflops, percentOfPeak: (100 * gflops) / PEAK_GFLOPS };
}

/** A whole `nca render --params` (random weights, frame protocol, noise init) to PNG or GIF: median wall time of `repeats`. */
export async function benchRender(size: number, steps: number, format: 'png' | 'gif', repeats = 3): Promise<RenderFigure> {
  const out = join(tmpdir(), `nca-bench-${process.pid}.${format}`);
  const params = randomParams(new Rng(2));
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const s = await render({ kind: 'params', params }, { width: size, height: size, steps, seed: r, out });
    times.push(s.seconds.total);
  }
  await rm(out, { force: true });
  const seconds = median(times);
  return { size, steps, format, seconds, stepsPerSecond: steps / seconds };
}

export interface BenchReport {
  /** loadAverage: the 1-minute load before and after the run (other processes make figures noisy). */
  machine: { cores: number; node: string; peakGflops: number; loadAverage: { before: number; after: number } };
  engine: EngineFigure[];
  render: RenderFigure[];
  extra: Record<string, unknown>;
}

/** Runs the benchmark suite; `quick` uses fewer sizes and repeats. */
export async function runBenchmarks(opts: { quick?: boolean; onProgress?: (label: string) => void } = {}): Promise<BenchReport> {
  const cores = availableParallelism();
  const loadBefore = loadavg()[0]!;
  const sizes = opts.quick ? [128] : [64, 128, 256];
  const threadCounts = [...new Set([1, Math.min(2, cores)])];
  const repeats = opts.quick ? 1 : 3;
  const engine: EngineFigure[] = [];
  for (const size of sizes) {
    for (const threads of threadCounts) {
      for (const protocol of ['frame', 'free'] as const) {
        opts.onProgress?.(`engine ${size}x${size} ${protocol} ${threads} thread(s)`);
        engine.push(await benchEngine(size, threads, protocol, repeats));
      }
    }
  }
  const renders: RenderFigure[] = [];
  for (const format of ['png', 'gif'] as const) {
    opts.onProgress?.(`render 128x128 x 500 steps to ${format}`);
    renders.push(await benchRender(128, 500, format, repeats));
  }
  return { machine: { cores, node: process.version, peakGflops: PEAK_GFLOPS, loadAverage: { before: loadBefore, after: loadavg()[0]! } }, engine, render: renders, extra: {} };
}
