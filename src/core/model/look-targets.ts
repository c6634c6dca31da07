/**
 * Look targets (issue 14): what scale and what motion persistence training asks of a latent's NCA, read
 * from the latent itself, so that the space holds large and fine patterns, still and travelling ones.
 *
 * - **Scale** from the pitch height (anchors.ts, dim 2): low notes draw large patterns, high notes fine ones,
 *   as the motif pictures draw size from the register (docs/design.md#training-pictures). The statistic is
 *   the mean neighbour correlation at lags 2, 3 and 4 cells (SCALE_LAGS; persistence.ts' scale term), which
 *   for a pattern of wavelength L >= 6 cells grows with L (a sinusoid: -0.67 at 6, 0 at 12, 0.36 at 16,
 *   0.69 at 24); the target runs from SCALE_TARGET_HIGH for high notes to SCALE_TARGET_LOW for low ones.
 * - **Motion** from three free dims (19, 20, 21: after the 19 anchored ones): when z[19] > 0 the pattern is
 *   asked to travel one cell every `lag` frames in one of 8 directions, the angle atan2(z[21], z[20]).
 *   Half of the random latents travel, each its own way.
 *
 * Pure functions of the latent: the same latent always gets the same targets.
 */
import { ANCHORS, type AnchorLayout } from './anchors.js';

/** The lags (cells) whose neighbour correlations the scale term averages. */
export const SCALE_LAGS: readonly number[] = [2, 3, 4];
/** The target mean correlation for the lowest and the highest notes (pitch-height code below -2 / above +2). */
export const SCALE_TARGET_LOW = 0.75;
export const SCALE_TARGET_HIGH = -0.6;
/** The first of the three latent dims that steer motion: [switch, direction x, direction y]. */
export const MOTION_DIM = 19;

/**
 * The scale target of latent z: the mean neighbour correlation at SCALE_LAGS its frames should have.
 * Linear in the pitch-height code h = z[pitchDim + 2] (1.5 per octave from A4), clamped: h <= -2 (about
 * C3 and below, or a random latent 2 sd down) gives SCALE_TARGET_LOW, h >= 2 SCALE_TARGET_HIGH.
 */
export function scaleTarget(z: ArrayLike<number>, layout: AnchorLayout = ANCHORS): number {
  const h = Math.max(-2, Math.min(2, z[layout.pitchDim + 2]!));
  const t = (h + 2) / 4;
  return SCALE_TARGET_LOW + t * (SCALE_TARGET_HIGH - SCALE_TARGET_LOW);
}

/**
 * The travel target of latent z: the shift [dx, dy] in cells (each -1, 0 or 1, not both 0) its pattern
 * should move every `lag` frames, or null (no motion asked) when z[MOTION_DIM] <= 0.
 */
export function travelShift(z: ArrayLike<number>): [number, number] | null {
  if (!(z[MOTION_DIM]! > 0)) return null;
  const angle = Math.atan2(z[MOTION_DIM + 2]!, z[MOTION_DIM + 1]!);
  const octant = ((Math.round(angle / (Math.PI / 4)) % 8) + 8) % 8;
  const dirs: ReadonlyArray<[number, number]> = [[1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1], [1, -1]];
  return dirs[octant]!;
}

/** Writes the targets of `n` latents zs [n][dim] into `scale` [n] and `travel` [n][2] (0, 0 = none). */
export function lookTargets(zs: Float32Array, n: number, dim: number, scale: Float32Array, travel: Float32Array, layout: AnchorLayout = ANCHORS): void {
  if (dim <= MOTION_DIM + 2) throw new Error(`lookTargets: latents of ${dim} dims have no motion dims (${MOTION_DIM}..${MOTION_DIM + 2})`);
  for (let k = 0; k < n; k++) {
    const z = zs.subarray(k * dim, (k + 1) * dim);
    scale[k] = scaleTarget(z, layout);
    const shift = travelShift(z);
    travel[2 * k] = shift ? shift[0] : 0;
    travel[2 * k + 1] = shift ? shift[1] : 0;
  }
}
