/**
 * Evaluation of a trained model (`nca eval`), two questions:
 *
 * 1. Does it predict? On the held-out clips: the encoder's mu -> hypernetwork -> NCA from frame 3
 *    under the frame protocol (fresh hidden noise, seeded), against the copy-the-last-frame baseline:
 *    - next-frame error: every step starts from the true previous frame (teacher forcing), the
 *      MSE of the predicted frames 4..24; the baseline predicts frame t by frame t - 1;
 *    - 8-frame free rollout: from frame 3 the NCA feeds on its own frames for 8 steps (frames 4..11);
 *      the baseline repeats frame 3;
 *    - latent swap: the next-frame error when each clip gets another clip's latent (how much the
 *      latent matters).
 * 2. Is it alive? (docs/design.md#the-alive-measure) 500 frames at 64 x 64 from uniform noise (fixed seeds),
 *    classified by MotionTracker (dead / static / noise / alive, and coherent), for N random latents
 *    z ~ N(0, I), N encoded held-out latents, and N random-weight NCAs (`randomParams`, the weights
 *    of `nca random --params`), all under the frame protocol.
 */
import type { Dataset } from '../audio/dataset.js';
import { MotionTracker, type AliveClass } from '../metrics.js';
import { FRAME_PROTOCOL } from '../nca/graph.js';
import { CHANNELS, PARAM_COUNT, ncaParams, randomParams } from '../nca/params.js';
import { Rng } from '../rng.js';
import { checkDatasetFits, makeBatch } from './dataset-batches.js';
import { NcaRollout, rolloutNoise } from './nca-op.js';
import type { NeuroModel } from './networks.js';
import type { NcaEngine } from '../nca/engine.js';

export interface AliveCounts {
  n: number;
  dead: number;
  static: number;
  noise: number;
  alive: number;
  coherent: number;
  /** alive / n. */
  aliveFraction: number;
  coherentFraction: number;
}

/** The alive measure of the three groups at one grid size. */
export interface AliveReport {
  steps: number;
  size: number;
  randomLatents: AliveCounts;
  encodedLatents: AliveCounts;
  randomWeights: AliveCounts;
}

export interface EvalResult {
  heldOutClips: number;
  nextFrame: { model: number; copyLast: number; ratio: number; latentSwap: number; swapRatio: number };
  rollout8: { model: number; copyLast: number; ratio: number };
  /** One report per grid size. */
  alive: AliveReport[];
  seed: number | string;
  seconds: { prediction: number; alive: number; perAliveRun: number };
}

export interface EvalOptions {
  model: NeuroModel;
  data: Dataset;
  /** Renders per group for the alive measure (default 100). */
  n?: number;
  /** Frames per alive run (default 500) and grid sides (default [64]). */
  steps?: number;
  sizes?: number[];
  seed?: number | string;
  threads?: number;
  /** Held-out clips used for the prediction errors (default: all). */
  maxClips?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

const BATCH = 8;
/** Frames of the free rollout (rollout8). */
const FREE_STEPS = 8;

/** Mean squared error between two equally long arrays. */
function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s / a.length;
}

function counts(classes: Array<{ alive: AliveClass; coherent: boolean }>): AliveCounts {
  const c: AliveCounts = { n: classes.length, dead: 0, static: 0, noise: 0, alive: 0, coherent: 0, aliveFraction: 0, coherentFraction: 0 };
  for (const r of classes) {
    c[r.alive]++;
    if (r.coherent) c.coherent++;
  }
  c.aliveFraction = c.n ? c.alive / c.n : 0;
  c.coherentFraction = c.n ? c.coherent / c.n : 0;
  return c;
}

export async function evaluate(opts: EvalOptions): Promise<EvalResult> {
  const { model, data } = opts;
  const n = opts.n ?? 100;
  const steps = opts.steps ?? 500;
  const sizes = opts.sizes ?? [64];
  const seed = opts.seed ?? 0;
  const C = model.config.contextFrames;
  // the dataset must fit the model and hold the context + the free rollout's frames
  checkDatasetFits(data, { use: `nca eval (its ${FREE_STEPS}-frame rollout)`, frameSize: model.config.frameSize, contextFrames: C, steps: FREE_STEPS });
  const { framesPerClip, width: W, height: H } = data.manifest;
  const T = framesPerClip - C;
  let test = data.indices('test');
  if (test.length === 0) test = data.indices('train'); // a dataset without a held-out split: say so via heldOutClips = 0
  const heldOut = data.indices('test').length;
  if (opts.maxClips !== undefined) test = test.slice(0, opts.maxClips);
  const totalWork = Math.ceil(test.length / BATCH) + 3 * n * sizes.length;
  let done = 0;
  const tick = () => opts.onProgress?.(++done, totalWork);

  // 1. prediction errors on held-out clips
  const t0 = performance.now();
  const teacher = await NcaRollout.create({ batch: BATCH, width: W, height: H, steps: T, threads: opts.threads });
  const free = await NcaRollout.create({ batch: BATCH, width: W, height: H, steps: FREE_STEPS, threads: opts.threads });
  const sums = { model: 0, copy: 0, swap: 0, model8: 0, copy8: 0, count: 0 };
  const encoded: Float32Array[] = [];
  const rng = new Rng(`${seed}/eval/prediction`);
  try {
    for (let s = 0; s < test.length; s += BATCH) {
      opts.signal?.throwIfAborted();
      const real = Math.min(BATCH, test.length - s);
      // pad the last batch by repeating its first clip; only the real ones count
      const idx = Array.from({ length: BATCH }, (_, k) => test[s + (k < real ? k : 0)]!);
      const batch = makeBatch(data, idx, { contextFrames: C, steps: T });
      const { mu } = model.encode(batch.context, BATCH);
      for (let k = 0; k < real; k++) encoded.push(mu.slice(k * 64, (k + 1) * 64));
      const params = model.hypernetwork(mu, BATCH);
      // the latent swap: clip k gets clip (k + 1) mod real's parameters
      const swapped = new Float32Array(params.length);
      for (let k = 0; k < BATCH; k++) swapped.set(params.subarray(((k + 1) % real) * PARAM_COUNT, (((k + 1) % real) + 1) * PARAM_COUNT), k * PARAM_COUNT);
      const noise = rolloutNoise(rng, { batch: BATCH, width: W, height: H, steps: T }, 0.1);
      const teacherData = { targets: batch.targets, noise, masks: new Float32Array((T - 1) * BATCH) };
      const pred = teacher.forward(params, batch.start, teacherData);
      const predSwap = real > 1 ? teacher.forward(swapped, batch.start, teacherData) : pred;
      const frame = 3 * W * H;
      const noise8 = rolloutNoise(rng, { batch: BATCH, width: W, height: H, steps: FREE_STEPS }, 0.1);
      const targets8 = batch.targets.subarray(0, FREE_STEPS * BATCH * frame);
      const pred8 = free.forward(params, batch.start, { targets: targets8, noise: noise8, masks: new Float32Array((FREE_STEPS - 1) * BATCH).fill(1) });
      for (let k = 0; k < real; k++) {
        for (let t = 0; t < T; t++) {
          const at = (t * BATCH + k) * frame;
          const truth = batch.targets.subarray(at, at + frame);
          const previous = t === 0 ? batch.start.subarray(k * frame, (k + 1) * frame) : batch.targets.subarray(at - BATCH * frame, at - BATCH * frame + frame);
          sums.model += mse(pred.subarray(at, at + frame), truth) / T;
          sums.swap += mse(predSwap.subarray(at, at + frame), truth) / T;
          sums.copy += mse(previous, truth) / T;
          if (t < FREE_STEPS) {
            sums.model8 += mse(pred8.subarray(at, at + frame), truth) / FREE_STEPS;
            sums.copy8 += mse(batch.start.subarray(k * frame, (k + 1) * frame), truth) / FREE_STEPS;
          }
        }
        sums.count++;
      }
      tick();
    }
  } finally {
    await teacher.dispose();
    await free.dispose();
  }
  const tPrediction = (performance.now() - t0) / 1000;
  const avg = (x: number) => x / Math.max(1, sums.count);

  // 2. alive fractions
  const t1 = performance.now();
  const latentRng = new Rng(`${seed}/eval/latents`);
  const randomZ = new Float32Array(n * 64);
  latentRng.normalArray(randomZ);
  const encodedZ = new Float32Array(n * 64);
  for (let k = 0; k < n && encoded.length; k++) encodedZ.set(encoded[k % encoded.length]!, k * 64);
  const hyper = (z: Float32Array): Float32Array[] => {
    const out: Float32Array[] = [];
    for (let s = 0; s < n; s += 64) {
      const m = Math.min(64, n - s);
      const p = model.hypernetwork(z.subarray(s * 64, (s + m) * 64), m);
      for (let k = 0; k < m; k++) out.push(p.slice(k * PARAM_COUNT, (k + 1) * PARAM_COUNT));
    }
    return out;
  };
  const weightRng = new Rng(`${seed}/eval/random-weights`);
  const groups: Array<Float32Array[]> = [hyper(randomZ), encoded.length ? hyper(encodedZ) : [], Array.from({ length: n }, () => randomParams(weightRng).flat)];
  const alive: AliveReport[] = [];
  for (const size of sizes) alive.push(await aliveAtSize(groups, { ...opts, seed, steps, size }, tick));
  const runs = alive.length * groups.reduce((total, g) => total + g.length, 0);
  const tAlive = (performance.now() - t1) / 1000;
  const next = { model: avg(sums.model), copyLast: avg(sums.copy), latentSwap: avg(sums.swap) };
  const roll = { model: avg(sums.model8), copyLast: avg(sums.copy8) };
  return {
    heldOutClips: heldOut,
    nextFrame: { ...next, ratio: next.model / next.copyLast, swapRatio: next.latentSwap / next.model },
    rollout8: { ...roll, ratio: roll.model / roll.copyLast },
    alive,
    seed,
    seconds: { prediction: tPrediction, alive: tAlive, perAliveRun: runs ? tAlive / runs : 0 },
  };
}

/**
 * The alive measure of the three groups of parameter vectors (random latents, encoded latents,
 * random weights) at one grid size: run k of every group starts from the same uniform noise
 * (seed, k); the hidden noise of every run comes from one seeded stream per size, consumed in run order.
 */
async function aliveAtSize(groups: Float32Array[][], opts: Pick<EvalOptions, 'threads' | 'signal'> & { seed: number | string; steps: number; size: number }, tick: () => void): Promise<AliveReport> {
  const { seed, steps, size } = opts;
  const { createEngine } = await import('../nca/engine.js');
  const first = groups[0]![0] ?? new Float32Array(PARAM_COUNT);
  const engineRng = new Rng(size === 64 ? `${seed}/eval/hidden` : `${seed}/eval/hidden/${size}`);
  const engine = await createEngine(ncaParams(first), { width: size, height: size, protocol: FRAME_PROTOCOL, threads: opts.threads, dynamicWeights: true, rng: engineRng, stepsPerRun: 25 });
  const results: AliveCounts[] = [];
  try {
    for (const group of groups) results.push(counts(await aliveClasses(engine, group, { seed, steps, size, signal: opts.signal }, tick)));
  } finally {
    await engine.dispose();
  }
  return { steps, size, randomLatents: results[0]!, encodedLatents: results[1]!, randomWeights: results[2]! };
}

/**
 * The alive measure's class of each parameter vector of `params`, run in order on `engine` (a FRAME_PROTOCOL
 * engine of size x size with dynamic weights; its hidden noise is consumed in run order): run k starts from
 * the uniform noise of (seed, k) and is classified by metrics.ts' MotionTracker after `steps` frames.
 */
export async function aliveClasses(
  engine: NcaEngine,
  params: readonly Float32Array[],
  opts: { seed: number | string; steps: number; size: number; signal?: AbortSignal },
  tick: () => void = () => {},
): Promise<Array<{ alive: AliveClass; coherent: boolean }>> {
  const { seed, steps, size } = opts;
  const plane = size * size;
  const state = new Float32Array(CHANNELS * plane);
  const classes: Array<{ alive: AliveClass; coherent: boolean }> = [];
  for (let k = 0; k < params.length; k++) {
    opts.signal?.throwIfAborted();
    await engine.setParams(ncaParams(params[k]!));
    state.fill(0);
    new Rng(`${seed}/eval/alive/${k}`).fillUniform(state.subarray(0, 3 * plane));
    const tracker = new MotionTracker(size, size, steps);
    tracker.push(state.subarray(0, 3 * plane));
    await engine.run(state, steps, (_, visible) => tracker.push(visible), opts.signal);
    const r = tracker.finish();
    classes.push({ alive: r.alive, coherent: r.coherent });
    tick();
  }
  return classes;
}
