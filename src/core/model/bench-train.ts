import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { DEFAULT_CONFIG } from './networks.js';
import { LOG_FILE } from './training/files.js';
import { readLog } from './training/log.js';
import { train } from './training/loop.js';
import { DEFAULT_SETTINGS, TRAIN_BACKENDS, type TrainBackend } from './training/settings.js';
import type { IterationSplit, IterationTimes } from './training/timing.js';
import { NcaRollout, mseLoss, rolloutNoise, type RolloutData, type RolloutOptions } from './nca-op.js';
import { PARAM_COUNT, RANDOM_PARAMS_BOUND } from '../nca/params.js';
import { Rng } from '../rng.js';
import { median } from '../stats.js';

/**
 * Speed of the training rollout (forward, MSE loss, analytic backward) on onnxruntime, as the
 * trainer calls it through `NcaRollout` (worker round trips included), for the reference
 * case: 32 steps, batch 8, 32 x 32. PyTorch 1.13 on this machine (CPU, 2 threads): ~0.09 s for
 * forward + backward.
 */
export interface TrainingRolloutBench {
  batch: number;
  size: number;
  steps: number;
  repeats: number;
  /** One row per onnxruntime thread count; seconds are medians over `repeats` timed iterations. */
  runs: Array<{
    threads: number;
    /** Forward (inputs to the worker, onnxruntime, predictions back). */
    forwardSeconds: number;
    /** Backward (dL/dpred to the worker, onnxruntime, gradients back). */
    backwardSeconds: number;
    /** Forward + loss + backward of one iteration (median of the sums). */
    totalSeconds: number;
    /** The fastest iteration: what an idle machine gives (the median includes other processes' load). */
    minTotalSeconds: number;
    /** Session set-up (graph building and optimisation), paid once per shape. */
    setupSeconds: number;
  }>;
}

/** PyTorch 1.13, CPU, 2 threads, this machine: 32-step batch-8 32x32 rollout forward + backward. */
export const PYTORCH_REFERENCE_SECONDS = 0.09;

/**
 * Times `repeats` iterations (after one warm-up) for each thread count. Defaults: batch 8, 32 x 32,
 * 32 steps, threads [1, 2], 7 repeats, scheduled-sampling masks drawn at p = 0.5.
 */
export async function benchmarkTrainingRollout(
  opts: { batch?: number; size?: number; steps?: number; threads?: number[]; repeats?: number } & Pick<RolloutOptions, 'forwardConv'> = {},
): Promise<TrainingRolloutBench> {
  const batch = opts.batch ?? 8;
  const size = opts.size ?? 32;
  const steps = opts.steps ?? 32;
  const repeats = Math.max(1, opts.repeats ?? 7);
  const shape = { batch, width: size, height: size, steps };
  const rng = new Rng(20240);
  const params = rng.fillUniform(new Float32Array(batch * PARAM_COUNT), -RANDOM_PARAMS_BOUND, RANDOM_PARAMS_BOUND);
  const rgb0 = rng.fillUniform(new Float32Array(batch * 3 * size * size), 0, 1);
  const data: RolloutData = {
    targets: rng.fillUniform(new Float32Array(steps * batch * 3 * size * size), 0, 1),
    noise: rolloutNoise(rng, shape),
    masks: Float32Array.from({ length: (steps - 1) * batch }, () => (rng.uniform() < 0.5 ? 1 : 0)),
  };
  const runs: TrainingRolloutBench['runs'] = [];
  for (const threads of opts.threads ?? [1, 2]) {
    const t0 = performance.now();
    const rollout = await NcaRollout.create({ ...shape, threads, forwardConv: opts.forwardConv });
    const setupSeconds = (performance.now() - t0) / 1000;
    try {
      const forward: number[] = [];
      const backward: number[] = [];
      const total: number[] = [];
      for (let r = 0; r <= repeats; r++) {
        const a = performance.now();
        const pred = rollout.forward(params, rgb0, data);
        const b = performance.now();
        const { grad } = mseLoss(pred, data.targets);
        const c = performance.now();
        rollout.backward(params, grad);
        const d = performance.now();
        if (r === 0) continue; // warm-up: first-run allocations
        forward.push((b - a) / 1000);
        backward.push((d - c) / 1000);
        total.push((d - a) / 1000);
      }
      runs.push({ threads, forwardSeconds: median(forward), backwardSeconds: median(backward), totalSeconds: median(total), minTotalSeconds: Math.min(...total), setupSeconds });
    } finally {
      await rollout.dispose();
    }
  }
  return { batch, size, steps, repeats, runs };
}

/** One backend's training iteration: medians over the timed iterations of every round (seconds). */
export interface BackendIteration extends IterationSplit {
  backend: TrainBackend;
  /** 'onnxruntime' or 'tfjs <backend>'. */
  name: string;
  /** Timed iterations the medians are over. */
  iterations: number;
  /** The fastest iteration (the least disturbed by other processes). */
  minTotal: number;
}

export interface TrainingBackendsBench {
  batch: number;
  /** The 1-, 5- and 15-minute load averages (as `uptime` prints them) before and after. */
  loadAverage: { before: number[]; after: number[] };
  /** The order the backends ran in, round by round. */
  order: TrainBackend[][];
  runs: BackendIteration[];
  /** Each other backend / onnx (the default): the whole iteration and its networks part (medians of the same run). */
  ratios: Array<{ backend: TrainBackend; total: number; networks: number }>;
}

/** The backends `nca bench` times, the default first. */
export const BENCH_BACKENDS: readonly TrainBackend[] = ['onnx', 'wasm', 'cpu'];

/**
 * The training iteration of the shipped recipe (benchmarkTraining: batch 8, 21 steps, persistence on) on each of
 * `backends` (default onnx, wasm, cpu), split into NCA forward / backward, networks, optimizer and the rest.
 * `rounds` alternate the order (onnx, wasm, cpu, then cpu, wasm, onnx, ...) so that a change of load hits all;
 * each round runs `iters` iterations per backend, the first of which is a warm-up.
 */
export async function benchmarkTrainingBackends(opts: { iters?: number; rounds?: number; batch?: number; threads?: number; backends?: readonly TrainBackend[]; onProgress?: (label: string) => void } = {}): Promise<TrainingBackendsBench> {
  const before = loadavg();
  const backends = [...(opts.backends ?? BENCH_BACKENDS)];
  if (backends.length === 0 || new Set(backends).size !== backends.length || !backends.every((b) => TRAIN_BACKENDS.includes(b))) {
    throw new UserError(`backends must be distinct values of ${TRAIN_BACKENDS.join(', ')}, got ${backends.join(', ') || 'none'}`);
  }
  const timed = new Map<TrainBackend, IterationTimes[]>(backends.map((b) => [b, []]));
  const order: TrainBackend[][] = [];
  let batch = opts.batch ?? 8;
  const rounds = Math.max(1, opts.rounds ?? 2);
  for (let r = 0; r < rounds; r++) {
    const round = r % 2 === 0 ? backends : [...backends].reverse();
    order.push(round);
    for (const backend of round) {
      opts.onProgress?.(`training iteration on ${backendName(backend)} (round ${r + 1} of ${rounds}, load ${loadavg()[0]!.toFixed(2)})`);
      const b = await benchmarkTraining({ iters: opts.iters, batch: opts.batch, threads: opts.threads, backend });
      if (b.backend !== backend) throw new Error(`the training benchmark ran on ${b.backend}, not ${backend}`);
      batch = b.batch;
      timed.get(backend)!.push(...b.timed);
    }
  }
  const runs = backends.map((backend): BackendIteration => {
    const xs = timed.get(backend)!;
    const med = (f: (x: IterationTimes) => number) => median(xs.map(f));
    return {
      backend,
      name: backendName(backend),
      iterations: xs.length,
      total: med((x) => x.total),
      ncaForward: med((x) => x.ncaForward),
      ncaBackward: med((x) => x.ncaBackward),
      networks: med((x) => x.networks),
      optimizer: med((x) => x.optimizer),
      rest: med((x) => x.total - x.ncaForward - x.ncaBackward),
      minTotal: Math.min(...xs.map((x) => x.total)),
    };
  });
  const base = runs[0]!;
  const ratios = runs.slice(1).map((x) => ({ backend: x.backend, total: x.total / base.total, networks: x.networks / base.networks }));
  return { batch, loadAverage: { before, after: loadavg() }, order, runs, ratios };
}

/** 'onnxruntime' or 'tfjs <backend>', as the trainer's report names them. */
export function backendName(backend: string): string {
  return backend === 'onnx' ? 'onnxruntime' : `tfjs ${backend}`;
}

/**
 * Seconds per training iteration (medians, the first iteration skipped) split into NCA forward,
 * NCA backward, the networks, the optimizer and the rest (IterationSplit), for `nca bench`:
 * `iters` iterations at the shipped settings (batch 8, 21 steps, persistence on) on random pictures
 * on `backend` (default: the trainer's, onnx), in a temporary folder that is removed afterwards. `timed`
 * holds the split of each timed iteration (the log's figures, 6 digits).
 */
export async function benchmarkTraining(opts: { iters?: number; batch?: number; threads?: number; backend?: TrainBackend } = {}): Promise<IterationSplit & { iters: number; batch: number; backend: string; timed: IterationTimes[] }> {
  const iters = Math.max(2, opts.iters ?? 6);
  const batch = opts.batch ?? DEFAULT_SETTINGS.batch;
  const F = 25, size = DEFAULT_CONFIG.frameSize, clipSize = F * 3 * size * size;
  const count = 2 * batch;
  const pixels = new Rng('bench/training').fillUniform(new Float32Array(count * clipSize));
  const data = {
    count,
    manifest: { framesPerClip: F, width: size, height: size, sha256: 'benchmark' },
    clip: (i: number, out?: Float32Array) => {
      const res = out ?? new Float32Array(clipSize);
      res.set(pixels.subarray(i * clipSize, (i + 1) * clipSize));
      return res;
    },
    indices: (split: 'train' | 'test') => (split === 'train' ? Array.from({ length: count }, (_, i) => i) : []),
  };
  const dir = await mkdtemp(join(tmpdir(), 'nca-bench-train-'));
  try {
    const r = await train({ data, outDir: dir, iters, batch, threads: opts.threads, checkpointEvery: iters + 1, stopAfter: iters, ...(opts.backend ? { backend: opts.backend } : {}) });
    const timed = (await readLog(join(dir, LOG_FILE))).slice(1).map((e) => ({ total: e.seconds, ncaForward: e.ncaForward, ncaBackward: e.ncaBackward, networks: e.networks, optimizer: e.optimizer }));
    return { ...r.secondsPerIteration, iters, batch, backend: r.backend, timed };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
