/**
 * Pool training of the growing NCA, the recipe of the Growing-NCA PyTorch tutorial (docs/grow.md):
 *
 *   pool of `poolSize` seeds; per iteration: `batch` random pool samples, a random number of steps in
 *   [minSteps, maxSteps), MSE of clamp(RGBA) to the target, backpropagation through every step,
 *   global-norm clipping to 1, Adam (lr 2e-3); the final states go back to the pool and the sample
 *   with the worst loss is reseeded (`reseed`: the K worst).
 *
 * With `damagePerBatch` > 0 (the Growing-NCA article's "regenerating" experiment), before the rollout
 * the batch is sorted by loss and the `damagePerBatch` best samples get a random disc cut out, so the
 * rule also learns to repair. The forward and the backward run on onnxruntime (rollout.ts).
 */
import { UserError, requireInt, requireNumber } from '../errors.js';
import { adamStep, learningRate, type AdamSlot } from '../model/training/optimizer.js';
import { Rng } from '../rng.js';
import { applyCut, trainingCut } from './damage.js';
import { lossAndGrad, perSampleLoss } from './loss.js';
import { GROW_CHANNELS, WEIGHT_NAMES, cloneWeights, initialGrowWeights, type GrowWeights } from './params.js';
import { GrowPlayer } from './player.js';
import { GrowRollout, fillUpdateMask } from './rollout.js';
import { writeSeed } from './seed-state.js';
import type { GrowTarget } from './target.js';

export interface GrowTrainSettings {
  iterations: number;
  batch: number;
  poolSize: number;
  /** Steps per iteration: uniform in [minSteps, maxSteps) (the tutorial: 64..95). */
  minSteps: number;
  maxSteps: number;
  lr: number;
  /** The learning rate decays (cosine) to lr x lrFinal at the last iteration; 1 = constant (the tutorial). */
  lrFinal: number;
  clipNorm: number;
  fireRate: number;
  /** Samples of each batch damaged before the rollout (0 = the tutorial's growing; the article's regenerating used 3 of 8). */
  damagePerBatch: number;
  /**
   * How the gradient is tamed before Adam: 'clip' = global-norm clipping to clipNorm (the tutorial);
   * 'per-variable' = each weight tensor's gradient divided by its own L2 norm (+1e-8), as the Growing-NCA
   * article's notebook does, so one exploding rollout cannot inflate Adam's second moment.
   */
  gradNorm: 'clip' | 'per-variable';
  /**
   * The gradient of the loss: 'clamped' = of MSE(clamp(RGBA, 0, 1)) (the tutorial: zero where a value is
   * out of 0..1); 'raw' = of MSE(RGBA) (the article's notebook: values out of range are pulled back).
   * The logged loss is the clamped MSE either way (the measure).
   */
  lossGrad: 'clamped' | 'raw';
  /**
   * Samples of each batch reseeded after the rollout: the `reseed` with the worst loss go back to the pool
   * as fresh seeds (1 = the tutorial). More puts more fresh seeds in later batches, so the growth from one
   * cell within minSteps..maxSteps is trained more often; 0 never reseeds.
   */
  reseed: number;
  /**
   * The loss of an iteration is the mean over the rollout's states from this step to the last (e.g. 64:
   * every step from 64 on, so the growth must be there by step 64 and stay); 0 = the final state only
   * (the tutorial). The logged loss, the reseeding and the damage use the final state either way.
   */
  lossFrom: number;
  /**
   * 0: the pool starts as seeds (the tutorial). N > 0 (for a continuation, with `initial` weights): 3 of
   * every 4 pool samples start as states the initial rule grew from seeds, their ages spread evenly over
   * 1..N steps, so that long-lived states are trained from the first iteration (a pool of seeds needs
   * hundreds of iterations before any of its states is N steps old).
   */
  warmPool: number;
}

/** The tutorial's recipe (batch 4, pool 256, 64-96 steps, Adam 2e-3, clip 1, update rate 0.5), no damage. */
export const TUTORIAL_SETTINGS: GrowTrainSettings = {
  iterations: 500,
  batch: 4,
  poolSize: 256,
  minSteps: 64,
  maxSteps: 96,
  lr: 2e-3,
  lrFinal: 1,
  clipNorm: 1,
  fireRate: 0.5,
  damagePerBatch: 0,
  gradNorm: 'clip',
  lossGrad: 'clamped',
  reseed: 1,
  lossFrom: 0,
  warmPool: 0,
};

export interface IterationLog {
  iteration: number;
  loss: number;
  steps: number;
  lr: number;
  gradNorm: number;
  /** Seconds: forward (all steps), backward, the rest (loss, Adam, pool). */
  forward: number;
  backward: number;
  rest: number;
}

/**
 * What the pool is trained towards: the loss of final states (batch of `batch`, gradient written into
 * `grad`) and how a pool sample is (re)seeded. Default: the target's MSE (loss.ts) and one live cell.
 */
export interface Objective {
  loss(final: Float32Array, batch: number, grad: Float32Array): { loss: number; perSample: Float64Array };
  seed(pool: Float32Array, index: number): void;
}

export interface GrowTrainOptions {
  /** The target (its size is the grid's; its RGBA the default objective). */
  target: Pick<GrowTarget, 'width' | 'height'> & Partial<GrowTarget>;
  objective?: Objective;
  settings?: Partial<GrowTrainSettings>;
  seed?: number | string;
  threads?: number;
  /** Start from these weights instead of the initialisation. */
  initial?: GrowWeights;
  onIteration?: (log: IterationLog, weights: GrowWeights) => void | Promise<void>;
  /** Called once with the complete, checked settings before the first iteration. */
  onSettings?: (settings: GrowTrainSettings) => void;
  signal?: AbortSignal;
}

export interface GrowTrainResult {
  weights: GrowWeights;
  settings: GrowTrainSettings;
  log: IterationLog[];
  seconds: number;
}

export function checkSettings(s: GrowTrainSettings): GrowTrainSettings {
  requireInt('--iterations', s.iterations, 1, 1e7);
  requireInt('--batch', s.batch, 1, 256);
  requireInt('--pool', s.poolSize, s.batch, 1e5);
  requireInt('--min-steps', s.minSteps, 1, 10000);
  requireInt('--max-steps', s.maxSteps, s.minSteps + 1, 10001);
  requireNumber('--lr', s.lr, 1e-7, 1);
  requireNumber('--lr-final', s.lrFinal, 0, 1);
  requireNumber('--clip', s.clipNorm, 0, 1e6);
  requireNumber('--fire-rate', s.fireRate, 0.01, 1);
  requireInt('--damage', s.damagePerBatch, 0, s.batch - 1);
  requireInt('--reseed', s.reseed, 0, 256);
  if (s.reseed > s.batch) throw new UserError(`--reseed ${s.reseed} is more than the batch (--batch ${s.batch}): give at most ${s.batch}`);
  requireInt('--loss-from', s.lossFrom, 0, 10000);
  requireInt('--warm-pool', s.warmPool, 0, 100000);
  if (s.lossFrom > s.minSteps) throw new UserError(`--loss-from ${s.lossFrom} is after the shortest rollout (--min-steps ${s.minSteps}): give at most ${s.minSteps}, or 0 for the final state only`);
  if (s.gradNorm !== 'clip' && s.gradNorm !== 'per-variable') throw new UserError(`--grad-norm must be clip or per-variable, got ${String(s.gradNorm)}`);
  if (s.lossGrad !== 'clamped' && s.lossGrad !== 'raw') throw new UserError(`--loss-grad must be clamped or raw, got ${String(s.lossGrad)}`);
  return s;
}

/** Divides each slot's gradient by its own L2 norm (+1e-8), in place; returns the global norm before. */
export function normalisePerVariable(slots: readonly AdamSlot[]): number {
  let total = 0;
  for (const { grad } of slots) {
    let sq = 0;
    for (let i = 0; i < grad.length; i++) sq += grad[i]! * grad[i]!;
    total += sq;
    const k = 1 / (Math.sqrt(sq) + 1e-8);
    for (let i = 0; i < grad.length; i++) grad[i]! *= k;
  }
  return Math.sqrt(total);
}

/**
 * --warm-pool: pool samples i with i % 4 != 0 are replaced by states grown from their seeds by `weights`
 * (the initial rule, at the training update rate): `grown` samples at a time, each snapshot at an evenly
 * spaced step up to `settings.warmPool`, so the ages run from warmPool / snapshots to warmPool.
 */
async function warmUpPool(pool: Float32Array, poolSize: number, sampleSize: number, weights: GrowWeights, grid: { width: number; height: number }, settings: GrowTrainSettings, rng: Rng, threads: number): Promise<void> {
  const targets = Array.from({ length: poolSize }, (_, i) => i).filter((i) => i % 4 !== 0);
  if (targets.length === 0) return;
  const grown = Math.min(16, targets.length);
  const snapshots = Math.ceil(targets.length / grown);
  const player = await GrowPlayer.create(weights, { batch: grown, ...grid }, { fireRate: settings.fireRate, rng, threads });
  let state: Float32Array = new Float32Array(grown * sampleSize);
  for (let b = 0; b < grown; b++) state.set(pool.subarray(targets[b]! * sampleSize, (targets[b]! + 1) * sampleSize), b * sampleSize);
  let next = 0;
  try {
    for (let t = 1; t <= settings.warmPool && next < targets.length; t++) {
      state = await player.step(state);
      if (t !== Math.round((settings.warmPool * (Math.floor(next / grown) + 1)) / snapshots)) continue;
      for (let b = 0; b < grown && next < targets.length; b++, next++) pool.set(state.subarray(b * sampleSize, (b + 1) * sampleSize), targets[next]! * sampleSize);
    }
  } finally {
    await player.dispose();
  }
}

/** Batch indices ordered from the highest loss to the lowest (ties: the lower index first). */
export function worstFirst(perSample: Float64Array): number[] {
  return Array.from(perSample.keys()).sort((a, b) => perSample[b]! - perSample[a]! || a - b);
}

export async function trainGrow(opts: GrowTrainOptions): Promise<GrowTrainResult> {
  const settings = checkSettings({ ...TUTORIAL_SETTINGS, ...opts.settings });
  opts.onSettings?.(settings);
  const { target } = opts;
  const { width: W, height: H } = target;
  const { batch: B, poolSize } = settings;
  const sampleSize = GROW_CHANNELS * W * H;
  if (poolSize * sampleSize > 2 ** 28) throw new UserError(`a pool of ${poolSize} states of ${W}x${H} needs ${((poolSize * sampleSize * 4) / 2 ** 30).toFixed(1)} GB; use a smaller --pool or grid`);
  const rng = new Rng(opts.seed ?? 0);
  const initRng = rng.fork(), poolRng = rng.fork(), stepRng = rng.fork(), maskRng = rng.fork(), damageRng = rng.fork();
  const weights = opts.initial ? cloneWeights(opts.initial) : initialGrowWeights(initRng);
  const slots: AdamSlot[] = WEIGHT_NAMES.map((k) => ({ value: weights[k], grad: new Float32Array(weights[k].length), m: new Float32Array(weights[k].length), v: new Float32Array(weights[k].length) }));

  const pool = new Float32Array(poolSize * sampleSize);
  const reseed = (i: number) => (opts.objective ? opts.objective.seed(pool, i) : writeSeed(pool, i, W, H));
  for (let i = 0; i < poolSize; i++) reseed(i);
  const warmRng = rng.fork(); // forked last: the other streams are those of a run without --warm-pool
  if (settings.warmPool > 0) {
    if (!opts.initial) throw new UserError('--warm-pool grows the pool with the --init weights: add --init params.json');
    await warmUpPool(pool, poolSize, sampleSize, weights, { width: W, height: H }, settings, warmRng, opts.threads ?? 2);
  }
  const state = new Float32Array(B * sampleSize);
  const gradFinal = new Float32Array(B * sampleSize);
  const gradStep = settings.lossFrom > 0 ? new Float32Array(B * sampleSize) : gradFinal; // an intermediate step's loss gradient
  const masks = Array.from({ length: settings.maxSteps }, () => new Float32Array(B * W * H));
  const shape = { batch: B, height: H, width: W };
  const objective: Objective = opts.objective ?? {
    loss: (final, batch, grad) => lossAndGrad(final, target.rgba!, batch, grad, settings.lossGrad === 'raw'),
    seed: (p, i) => writeSeed(p, i, W, H),
  };
  const rollout = await GrowRollout.create({ threads: opts.threads ?? 2 });
  const log: IterationLog[] = [];
  const t0 = performance.now();
  try {
    for (let it = 0; it < settings.iterations; it++) {
      if (opts.signal?.aborted) throw new UserError('training interrupted');
      const tStart = performance.now();
      // the batch: random pool samples (with repeats, as torch.randint)
      const idx = Array.from({ length: B }, () => poolRng.int(poolSize));
      idx.forEach((p, b) => state.set(pool.subarray(p * sampleSize, (p + 1) * sampleSize), b * sampleSize));
      if (settings.damagePerBatch > 0) {
        const pre = opts.objective ? opts.objective.loss(state, B, gradFinal).perSample : perSampleLoss(state, target.rgba!, B);
        const best = Array.from(pre.keys()).sort((a, b) => pre[a]! - pre[b]!).slice(0, settings.damagePerBatch);
        for (const b of best) applyCut(state, b, W, H, trainingCut(damageRng, W, H));
      }
      const steps = settings.minSteps + stepRng.int(settings.maxSteps - settings.minSteps);
      const stepMasks = masks.slice(0, steps).map((m) => fillUpdateMask(maskRng, m, settings.fireRate));
      const tF = performance.now();
      const states = await rollout.forward(state, stepMasks, weights, shape);
      const final = states[steps]!;
      const { loss, perSample } = objective.loss(final, B, gradFinal);
      // --loss-from: the mean of the losses of states lossFrom..steps (each state's gradient added as the backward passes it)
      const lossSteps = settings.lossFrom > 0 ? steps - settings.lossFrom + 1 : 1;
      const addGrad = (i: number, g: Float32Array) => {
        if (i < settings.lossFrom) return;
        objective.loss(states[i]!, B, gradStep);
        for (let j = 0; j < g.length; j++) g[j]! += gradStep[j]! / lossSteps;
      };
      if (lossSteps > 1) for (let j = 0; j < gradFinal.length; j++) gradFinal[j]! /= lossSteps;
      const tB = performance.now();
      const { grads } = await rollout.backward(gradFinal, weights, lossSteps > 1 ? addGrad : undefined);
      const tA = performance.now();
      for (const [i, k] of WEIGHT_NAMES.entries()) slots[i]!.grad.set(grads[k]);
      const lr = learningRate({ iters: settings.iterations, lr: settings.lr, lrFinal: settings.lrFinal }, it);
      const perVariable = settings.gradNorm === 'per-variable';
      const gradNorm = perVariable ? normalisePerVariable(slots) : undefined;
      const step = adamStep(slots, { lr, step: it + 1, clipNorm: perVariable ? 0 : settings.clipNorm, gradNorm });
      // back to the pool; the `reseed` worst samples are reseeded
      idx.forEach((p, b) => pool.set(final.subarray(b * sampleSize, (b + 1) * sampleSize), p * sampleSize));
      for (const b of worstFirst(perSample).slice(0, settings.reseed)) reseed(idx[b]!);
      const tEnd = performance.now();
      const entry: IterationLog = { iteration: it, loss, steps, lr, gradNorm: step.gradNorm, forward: (tB - tF) / 1000, backward: (tA - tB) / 1000, rest: (tEnd - tStart - (tA - tF)) / 1000 };
      log.push(entry);
      if (!Number.isFinite(loss)) throw new UserError(`training diverged at iteration ${it} (loss ${loss}); try a smaller --lr`);
      await opts.onIteration?.(entry, weights);
    }
  } finally {
    await rollout.dispose();
  }
  return { weights, settings, log, seconds: (performance.now() - t0) / 1000 };
}
