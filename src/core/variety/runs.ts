/**
 * Renders for the variety measure, kept in memory: each run plays one NCA on one grid and streams its
 * visible frames (Float32Array [3][H][W]) to a callback, without writing a file.
 *
 * A run with seed s is the render `nca render` makes with `--seed s` and the same size, init, protocol
 * and perturbation (steps = frames x stepsPerFrame, --every stepsPerFrame): the seed's generator is
 * forked in render's order (the latent schedule's walk for a latent, then the start, then the hidden
 * noise), the latent walk is render's AR(1) walk redrawn every WEIGHT_INTERVAL steps, and the start is
 * uniform noise or the decoder's grid tiled over the torus (src/core/render.ts, docs/design.md#protocols-how-a-latent-is-played).
 * So a run worth keeping is rendered at length with `nca render --random --seed s --init noise`.
 */
import { invalidParameterError } from '../errors.js';
import { LATENT_DIM } from '../latent.js';
import { protocolSteps } from '../nca/graph.js';
import { CHANNELS, PARAM_COUNT, ncaParams, type NcaParams, type Protocol } from '../nca/params.js';
import { PERTURB_AR, PERTURB_SIGMA_MAX, WEIGHT_INTERVAL, type LatentModel } from '../render.js';
import { Rng } from '../rng.js';

/** What one run plays: a latent through the model, or an NCA parameter vector; `seed` as nca render's --seed. */
export type VarietySource =
  | { kind: 'latent'; z: Float32Array; seed: number | string }
  | { kind: 'params'; params: NcaParams; seed: number | string };

export interface RunSettings {
  width: number;
  height: number;
  /** Frames shown after the start (each stepsPerFrame NCA steps). */
  frames: number;
  stepsPerFrame: number;
  /** Latent perturbation level 0..9 (render's --perturb). */
  perturb: number;
  init: 'noise' | 'decoder';
  protocol: Protocol;
  threads?: number;
  signal?: AbortSignal;
}

/**
 * Play `source` and call `onFrame(frame)` with the start frame and then every shown frame
 * (frames + 1 calls; the array is valid during the call only).
 */
export async function playRun(source: VarietySource, model: LatentModel | null, s: RunSettings, onFrame: (frame: Float32Array) => void): Promise<void> {
  const { width: W, height: H } = s;
  const plane = W * H;
  const steps = s.frames * s.stepsPerFrame;
  const rng = new Rng(source.seed);
  // Weights: fixed for parameters; for a latent, one vector per WEIGHT_INTERVAL steps when perturbed.
  let schedule: Float32Array[];
  if (source.kind === 'params') schedule = [source.params.flat];
  else {
    if (model === null) throw invalidParameterError('model', 'a model (the source is a latent)', model);
    schedule = await latentWeights(model, source.z, steps, s.perturb, rng.fork());
  }
  const dynamic = schedule.length > 1;
  const initRng = rng.fork();
  const state = new Float32Array(CHANNELS * plane);
  initRng.fillNormal(state.subarray(3 * plane), 0, 0.1);
  if (s.init === 'noise') initRng.fillUniform(state.subarray(0, 3 * plane));
  else {
    if (source.kind !== 'latent' || model === null) throw invalidParameterError('init', "'noise' (a parameter vector has no decoder)", s.init);
    const grid = await model.decodeFirstFrame(source.z, 1); // [16][32][32], tiled over the torus
    const G = 32;
    for (let c = 0; c < CHANNELS; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) state[c * plane + y * W + x] = grid[c * G * G + (y % G) * G + (x % G)]!;
  }
  const start = state.slice(0, 3 * plane);
  if (s.protocol === 'free') for (let i = 0; i < 3 * plane; i++) state[i] = Math.log(clampP(state[i]!) / (1 - clampP(state[i]!)));
  onFrame(start);

  const { createEngine } = await import('../nca/engine.js');
  const engine = await createEngine(ncaParams(schedule[0]!), { width: W, height: H, protocol: protocolSteps(s.protocol), threads: s.threads, dynamicWeights: dynamic, rng: rng.fork() });
  const onStep = (k: number, visible: Float32Array) => {
    if (k % s.stepsPerFrame === 0) onFrame(visible);
  };
  try {
    let x: Float32Array = state;
    if (!dynamic) x = await engine.run(x, steps, onStep, s.signal);
    else {
      for (let done = 0; done < steps; done += WEIGHT_INTERVAL) {
        const n = Math.min(WEIGHT_INTERVAL, steps - done);
        if (done > 0) await engine.setParams(ncaParams(schedule[Math.floor(done / WEIGHT_INTERVAL)]!));
        x = await engine.run(x, n, (k, v) => onStep(done + k, v), s.signal);
      }
    }
  } finally {
    await engine.dispose();
  }
}

/** As render's logit: probabilities clamped to [1e-4, 1 - 1e-4]. */
function clampP(p: number): number {
  return Math.min(1 - 1e-4, Math.max(1e-4, p));
}

/**
 * The NCA weights of a latent over a run: one vector, or (perturbed) one per WEIGHT_INTERVAL steps of
 * z + sigma n, n render's AR(1) walk n' = a n + sqrt(1 - a^2) e drawn from `rng` in render's order.
 */
async function latentWeights(model: LatentModel, z: Float32Array, steps: number, perturb: number, rng: Rng): Promise<Float32Array[]> {
  const sigma = (perturb / 9) * PERTURB_SIGMA_MAX;
  const intervals = sigma > 0 ? Math.max(1, Math.ceil(steps / WEIGHT_INTERVAL)) : 1;
  const walk = new Float32Array(LATENT_DIM);
  if (sigma > 0) rng.normalArray(walk);
  const zAll = new Float32Array(intervals * LATENT_DIM);
  const a = PERTURB_AR, b = Math.sqrt(1 - PERTURB_AR * PERTURB_AR);
  for (let i = 0; i < intervals; i++) {
    if (i > 0) for (let d = 0; d < LATENT_DIM; d++) walk[d] = a * walk[d]! + b * rng.normal();
    for (let d = 0; d < LATENT_DIM; d++) zAll[i * LATENT_DIM + d] = z[d]! + sigma * walk[d]!;
  }
  const out: Float32Array[] = [];
  for (let s = 0; s < intervals; s += 256) {
    const n = Math.min(256, intervals - s);
    const p = await model.hypernetwork(zAll.subarray(s * LATENT_DIM, (s + n) * LATENT_DIM), n);
    for (let k = 0; k < n; k++) out.push(p.slice(k * PARAM_COUNT, (k + 1) * PARAM_COUNT));
  }
  return out;
}
