import { NcaRollout, mseLoss, rolloutNoise, type RolloutData, type RolloutOptions } from './nca-op.js';
import { PARAM_COUNT, RANDOM_PARAMS_BOUND } from '../nca/params.js';
import { Rng } from '../rng.js';

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

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

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
