/**
 * Look targets (issue 14): what scale and what motion persistence training asks of a latent's NCA, read
 * from the latent itself, so that the space holds large and fine patterns, still and travelling ones.
 *
 * - **Scale** from the pitch height (anchors.ts, dim 2): low notes draw large patterns, high notes fine ones,
 *   as the motif pictures draw size from the register (docs/design.md#training-pictures). The statistic is
 *   s = log(1 - rho), rho the neighbour correlation of each colour channel about its own mean (persistence.ts'
 *   scale term; the smoothness floor's rho pools R, G and B, which would let colour stand in for contrast): for
 *   a sinusoid of wavelength L, 1 - rho = 1 - cos(2 pi / L), about 2 pi^2 / L^2, so s falls steadily as L
 *   grows, at every L (a correlation at longer lags aliases: a first version that averaged lags 2-4 let the
 *   NCA meet its targets with 4-6-cell patterns). The target wavelength runs log-linearly from
 *   SCALE_WAVELENGTH_LOW cells for low notes to SCALE_WAVELENGTH_HIGH for high ones.
 * - **Motion** from three free dims (19, 20, 21: after the 19 anchored ones): when z[19] > 0 the pattern is
 *   asked to travel one cell every `lag` frames in one of 8 directions, the angle atan2(z[21], z[20]).
 *   Half of the random latents travel, each its own way.
 *
 * Pure functions of the latent: the same latent always gets the same targets.
 */
import { ANCHORS, type AnchorLayout } from './anchors.js';

/**
 * The target wavelength (cells) for the lowest and the highest notes: pitch-height codes at or below
 * -SCALE_HEIGHT_RANGE / at or above +SCALE_HEIGHT_RANGE (1.5: an octave from A4, or 1.5 sd of a random latent;
 * `nca train --scale-height-range` narrows it, so more random latents are asked for the two ends).
 * 32 cells is one period of the default 32-cell pool grid (`nca train --pool-grid 64` holds two); 5.5 keeps
 * the neighbour correlation (0.42) above the alive measure's noise threshold (0.2).
 */
export const SCALE_WAVELENGTH_LOW = 32;
export const SCALE_WAVELENGTH_HIGH = 5.5;
export const SCALE_HEIGHT_RANGE = 1.5;
/** The first of the three latent dims that steer motion: [switch, direction x, direction y]. */
export const MOTION_DIM = 19;

/**
 * The wavelength (cells) latent z is asked for: log-linear in the pitch-height code h = z[pitchDim + 2]
 * (1.5 per octave from A4), clamped: h <= -range (default SCALE_HEIGHT_RANGE: A3 and below) gives `coarse`
 * (default SCALE_WAVELENGTH_LOW; `nca train --scale-coarse`), h >= range (A5 and above) `fine` (default
 * SCALE_WAVELENGTH_HIGH; `nca train --scale-fine`), h = 0 their geometric mean. A random latent's h is N(0, 1):
 * range 1.5 asks 7% of them for each end, range 1 16% (`nca train --scale-height-range`).
 */
export function targetWavelength(z: ArrayLike<number>, layout: AnchorLayout = ANCHORS, fine: number = SCALE_WAVELENGTH_HIGH, coarse: number = SCALE_WAVELENGTH_LOW, range: number = SCALE_HEIGHT_RANGE): number {
  const h = Math.max(-range, Math.min(range, z[layout.pitchDim + 2]!));
  const t = (h + range) / (2 * range);
  return coarse * (fine / coarse) ** t;
}

/**
 * The structure floor (spatial std) of a pool frame asked for `wavelength` cells: floorStd x (wavelength /
 * fine)^power, fine the finest target wavelength (the fine end of targetWavelength's map), never below
 * floorStd; power 0 = floorStd (the plain floor). A large pattern so has to hold more contrast than a fine one:
 * a faint large ripple or a flat field meets log(1 - rho) of a large target but not this floor (docs/training.md,
 * "Look terms").
 */
export function structureFloor(wavelength: number, floorStd: number, power: number, fine: number = SCALE_WAVELENGTH_HIGH): number {
  return power === 0 ? floorStd : floorStd * Math.max(1, wavelength / fine) ** power;
}

/** The scale statistic log(1 - rho) of a sinusoid of wavelength L cells: log(1 - cos(2 pi / L)). */
export function scaleStatistic(wavelength: number): number {
  return Math.log(1 - Math.cos((2 * Math.PI) / wavelength));
}

/** The scale target of latent z: the log(1 - neighbour correlation) its frames should have. */
export function scaleTarget(z: ArrayLike<number>, layout: AnchorLayout = ANCHORS, fine: number = SCALE_WAVELENGTH_HIGH, coarse: number = SCALE_WAVELENGTH_LOW): number {
  return scaleStatistic(targetWavelength(z, layout, fine, coarse));
}

/**
 * The travel target of latent z: the shift [dx, dy] in cells (each -1, 0 or 1, not both 0) its pattern
 * should move every `lag` frames, or null (no motion asked) when z[MOTION_DIM] <= 0.
 */
export function travelShift(z: ArrayLike<number>): [number, number] | null {
  if (!(z[MOTION_DIM]! > 0)) return null;
  const angle = Math.atan2(z[MOTION_DIM + 2]!, z[MOTION_DIM + 1]!);
  const octant = ((Math.round(angle / (Math.PI / 4)) % 8) + 8) % 8;
  const [dx, dy] = TRAVEL_DIRECTIONS[octant]!;
  return [dx, dy];
}

/** The 8 travel directions, counter-clockwise from +x (angle 0) in steps of 45 degrees. */
const TRAVEL_DIRECTIONS: ReadonlyArray<readonly [number, number]> = [[1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1], [1, -1]];

/** How the scale targets are drawn: the two ends of the wavelength map and the structure floor tied to it. */
export interface ScaleOptions {
  /** The target wavelength (cells) of the highest notes (default SCALE_WAVELENGTH_HIGH). */
  fine?: number;
  /** The target wavelength (cells) of the lowest notes (default SCALE_WAVELENGTH_LOW). */
  coarse?: number;
  /** The pitch-height code at which the map reaches its ends, +-range (default SCALE_HEIGHT_RANGE). */
  range?: number;
  /** With `floor`: each latent's structure floor, structureFloor(its wavelength, floorStd, power, fine). */
  floorStd?: number;
  power?: number;
}

/**
 * Writes the targets of `n` latents zs [n][dim] into `scale` [n] and `travel` [n][2] (0, 0 = none), and,
 * when `floor` [n] is given, each latent's structure floor (ScaleOptions).
 */
export function lookTargets(zs: Float32Array, n: number, dim: number, scale: Float32Array, travel: Float32Array, layout: AnchorLayout = ANCHORS, options: ScaleOptions = {}, floor?: Float32Array): void {
  if (dim <= MOTION_DIM + 2) throw new Error(`lookTargets: latents of ${dim} dims have no motion dims (${MOTION_DIM}..${MOTION_DIM + 2})`);
  const fine = options.fine ?? SCALE_WAVELENGTH_HIGH, coarse = options.coarse ?? SCALE_WAVELENGTH_LOW;
  for (let k = 0; k < n; k++) {
    const z = zs.subarray(k * dim, (k + 1) * dim);
    const wavelength = targetWavelength(z, layout, fine, coarse, options.range);
    scale[k] = scaleStatistic(wavelength);
    if (floor) floor[k] = structureFloor(wavelength, options.floorStd ?? 0, options.power ?? 0, fine);
    const shift = travelShift(z);
    travel[2 * k] = shift ? shift[0] : 0;
    travel[2 * k + 1] = shift ? shift[1] : 0;
  }
}
