/**
 * The latents of a latent render over time and their NCA weights (docs/design.md#protocols-how-a-latent-is-played),
 * in one place: what `nca render` plays and what the variety measure's in-memory runs play.
 *
 * The weights are recomputed every WEIGHT_INTERVAL steps while the latent changes (a track, or perturbation).
 * The latent at step s is the track's latent at s x `secondsPerStep` (or the fixed z), plus sigma x n, with
 * sigma = perturb / 9 x PERTURB_SIGMA_MAX and n an AR(1) walk n' = a n + sqrt(1 - a^2) e (a = PERTURB_AR) redrawn
 * once per interval from the `rng` given (its first draw is the walk's start), so a seed gives the same walk.
 */
import { LATENT_DIM, sampleTrack, type TrackPoint } from './latent.js';
import { PARAM_COUNT, ncaParams, type NcaParams } from './nca/params.js';
import type { Rng } from './rng.js';

/** Perturbation level 9 adds noise of this std to the latent (z ~ N(0, I) has std 1 per dimension). */
export const PERTURB_SIGMA_MAX = 0.9;
/** While perturbing or following a track, the weights are recomputed every this many steps. */
export const WEIGHT_INTERVAL = 8;
/** Perturbation noise is an AR(1) walk per interval, n' = a n + sqrt(1 - a^2) e: stationary N(0, I), smooth. */
export const PERTURB_AR = 0.9;

/** The hypernetwork runs on up to this many intervals' latents at a time, as a render reaches them. */
const HYPERNETWORK_BATCH = 256;

/** What the schedule needs of a model: z [B][64] -> NCA parameter vectors [B][4640]. */
export interface Hypernetwork {
  hypernetwork(z: Float32Array, batch: number): Float32Array | Promise<Float32Array>;
}

export interface LatentSchedule {
  /** True when the weights change during the run (a track of more than one point, or perturbation). */
  readonly changing: boolean;
  /** The NCA weights at `step` (those of its interval). */
  paramsAt(step: number): Promise<NcaParams>;
}

/**
 * The schedule of `latent` (a fixed `z` or a `track`) over `steps` NCA steps at perturbation level `perturb`
 * (0..9, checked by the caller); `secondsPerStep` places a step on the track's time axis.
 */
export function latentSchedule(
  latent: { z?: Float32Array; track?: TrackPoint[] },
  model: Hypernetwork,
  opts: { steps: number; perturb: number; secondsPerStep: number },
  rng: Rng,
): LatentSchedule {
  const sigma = (opts.perturb / 9) * PERTURB_SIGMA_MAX;
  const changing = sigma > 0 || (latent.track !== undefined && latent.track.length > 1);
  const intervals = changing ? Math.max(1, Math.ceil(opts.steps / WEIGHT_INTERVAL)) : 1;
  const walk = new Float32Array(LATENT_DIM);
  if (sigma > 0) rng.normalArray(walk);
  const zAll = new Float32Array(intervals * LATENT_DIM);
  const a = PERTURB_AR, b = Math.sqrt(1 - PERTURB_AR * PERTURB_AR);
  for (let i = 0; i < intervals; i++) {
    const base = latent.z ?? sampleTrack(latent.track!, i * WEIGHT_INTERVAL * opts.secondsPerStep);
    if (i > 0 && sigma > 0) for (let d = 0; d < LATENT_DIM; d++) walk[d] = a * walk[d]! + b * rng.normal();
    for (let d = 0; d < LATENT_DIM; d++) zAll[i * LATENT_DIM + d] = base[d]! + sigma * walk[d]!;
  }
  let cached: { start: number; block: Float32Array } | null = null;
  return {
    changing,
    async paramsAt(step: number): Promise<NcaParams> {
      const i = changing ? Math.min(intervals - 1, Math.floor(step / WEIGHT_INTERVAL)) : 0;
      const start = Math.floor(i / HYPERNETWORK_BATCH) * HYPERNETWORK_BATCH;
      if (cached?.start !== start) {
        const n = Math.min(HYPERNETWORK_BATCH, intervals - start);
        cached = { start, block: await model.hypernetwork(zAll.subarray(start * LATENT_DIM, (start + n) * LATENT_DIM), n) };
      }
      const off = (i - start) * PARAM_COUNT;
      return ncaParams(cached.block.slice(off, off + PARAM_COUNT), `the model's NCA weights for the latent at step ${step}`);
    },
  };
}
