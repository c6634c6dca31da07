/**
 * A render descriptor: a short feature vector that says what a render looks like at the end of a
 * run, comparable across seeds. Pixels are not comparable (the patterns are stochastic: two seeds
 * of one latent give different pictures of the same kind), so it keeps only statistics of the
 * last `window` frames (default 100) that a person would call the look of the render:
 *
 * | feature            | what it measures                                                                 |
 * |--------------------|----------------------------------------------------------------------------------|
 * | meanR, meanG, meanB| colour: the spatial mean of each channel                                         |
 * | stdR, stdG, stdB   | contrast: the spatial std of each channel                                        |
 * | corr1..corr8       | structure scale: autocorrelation at lags 1, 2, 4, 8 cells (right and down, torus, |
 * |                    | per-channel mean removed, pooled over RGB); ~1 = smooth at that lag, ~0 = none.   |
 * |                    | Octave lags are the Fourier dual of a radial power spectrum in octave bands, and |
 * |                    | are normalised by the variance (independent of contrast); corr1 is the           |
 * |                    | neighbour correlation of the alive measure (with per-channel means removed)      |
 * | speed              | mean absolute change between consecutive frames (per value)                      |
 * | drift              | mean absolute difference between the mean images of the window's two halves     |
 *
 * Colour, contrast and structure are averaged over every `stride`-th frame of the window (default 5,
 * always including the last frame); speed over every frame of the window; drift from the two
 * halves. Frames are Float32Array [3][H][W] (CHW), values 0..1. A flat frame has correlation 0.
 *
 * To compare renders, each feature is standardised over the set of renders being compared
 * (`standardise`: z-scores, with a floor on the spread so that invisible differences stay small), and the distance is the
 * RMS difference of the z-scores (`descriptorDistance`): about sqrt(2) for two renders drawn at
 * random from the set, 0 for identical descriptors.
 */
import { channelMoments } from './metrics.js';

export const DESCRIPTOR_FEATURES = ['meanR', 'meanG', 'meanB', 'stdR', 'stdG', 'stdB', 'corr1', 'corr2', 'corr4', 'corr8', 'speed', 'drift'] as const;
export type DescriptorFeature = (typeof DESCRIPTOR_FEATURES)[number];
/** Lags (cells) of the structure-scale features corr1..corr8. */
export const DESCRIPTOR_LAGS = [1, 2, 4, 8] as const;
const F = DESCRIPTOR_FEATURES.length;
const I_MEAN = 0, I_STD = 3, I_CORR = 6, I_SPEED = 10, I_DRIFT = 11;

export interface DescriptorOptions {
  /** Frames at the end of the run that the descriptor looks at (default 100; all of them when the run is shorter). */
  window?: number;
  /** Colour, contrast and structure are measured on every stride-th frame of the window (default 5). */
  stride?: number;
}

/**
 * Accumulates the descriptor of one render as its frames go by (without keeping them): push the
 * initial frame, then one frame per step, `totalSteps` of them; then `finish()`.
 */
export class DescriptorTracker {
  private readonly plane: number;
  private readonly window: number;
  private readonly stride: number;
  private readonly prev: Float32Array;
  private readonly halfA: Float32Array; // sum of the window's first-half frames, [3][H][W]
  private readonly halfB: Float32Array; // sum of the second-half frames
  private readonly sums = new Float64Array(F);
  private frame = 0; // index of the next frame pushed (0 = initial)
  private sampled = 0;
  private changes = 0;
  private countA = 0;
  private countB = 0;

  /** `totalSteps` (>= 1): frames that will be pushed after the initial one. */
  constructor(readonly width: number, readonly height: number, readonly totalSteps: number, opts: DescriptorOptions = {}) {
    if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new RangeError(`DescriptorTracker: totalSteps must be an integer >= 1, got ${totalSteps}`);
    this.plane = width * height;
    this.window = Math.min(opts.window ?? 100, totalSteps);
    this.stride = Math.max(1, opts.stride ?? 5);
    this.prev = new Float32Array(3 * this.plane);
    this.halfA = new Float32Array(3 * this.plane);
    this.halfB = new Float32Array(3 * this.plane);
  }

  /** Push the visible planes of the next frame: Float32Array [3][H][W] (extra planes after them are ignored). */
  push(frame: Float32Array): void {
    const n = 3 * this.plane;
    const t = this.frame++;
    const first = this.totalSteps - this.window + 1; // first frame of the window
    if (t >= first && t <= this.totalSteps) {
      // speed: change from the previous frame
      let d = 0;
      for (let i = 0; i < n; i++) d += Math.abs(frame[i]! - this.prev[i]!);
      this.sums[I_SPEED]! += d / n;
      this.changes++;
      // drift: the two halves of the window
      const inB = t - first >= Math.floor(this.window / 2);
      const half = inB ? this.halfB : this.halfA;
      for (let i = 0; i < n; i++) half[i]! += frame[i]!;
      if (inB) this.countB++;
      else this.countA++;
      // colour, contrast, structure on every stride-th frame counted back from the last
      if ((this.totalSteps - t) % this.stride === 0) {
        spatialFeatures(frame, this.width, this.height, this.sums);
        this.sampled++;
      }
    }
    this.prev.set(frame.subarray(0, n));
  }

  /** The descriptor: Float32Array [12] in the order of DESCRIPTOR_FEATURES. */
  finish(): Float32Array {
    if (this.frame !== this.totalSteps + 1) throw new Error(`DescriptorTracker: ${this.frame} frames pushed, expected ${this.totalSteps + 1}`);
    const out = new Float32Array(F);
    for (let f = 0; f < I_SPEED; f++) out[f] = this.sums[f]! / Math.max(1, this.sampled);
    out[I_SPEED] = this.sums[I_SPEED]! / Math.max(1, this.changes);
    let drift = 0;
    if (this.countA > 0 && this.countB > 0) {
      for (let i = 0; i < this.halfA.length; i++) drift += Math.abs(this.halfB[i]! / this.countB - this.halfA[i]! / this.countA);
      drift /= this.halfA.length;
    }
    out[I_DRIFT] = drift;
    // A non-finite frame (an exploded free-protocol state) must not poison the standardisation.
    for (let f = 0; f < F; f++) if (!Number.isFinite(out[f]!)) out[f] = 0;
    return out;
  }
}

/** Adds one frame's colour, contrast and lag correlations to `sums` (indices of DESCRIPTOR_FEATURES). */
function spatialFeatures(frame: Float32Array, width: number, height: number, sums: Float64Array): void {
  const plane = width * height;
  const moments = channelMoments(frame, plane);
  const means = [moments[0]!, moments[1]!, moments[2]!];
  let variance = 0;
  for (let c = 0; c < 3; c++) {
    variance += moments[3 + c]!;
    sums[I_MEAN + c]! += means[c]!;
    sums[I_STD + c]! += Math.sqrt(moments[3 + c]!);
  }
  // variance pooled over channels (per-channel means removed), per value
  variance /= 3;
  if (variance < 1e-12) return; // flat: correlation 0 at every lag
  DESCRIPTOR_LAGS.forEach((lag, j) => {
    let cov = 0;
    for (let c = 0; c < 3; c++) {
      const o = c * plane, m = means[c]!;
      for (let y = 0; y < height; y++) {
        const row = o + y * width, down = o + ((y + lag) % height) * width;
        for (let x = 0; x < width; x++) {
          const v = frame[row + x]! - m;
          cov += v * (frame[row + ((x + lag) % width)]! - m + frame[down + x]! - m);
        }
      }
    }
    sums[I_CORR + j]! += cov / (2 * 3 * plane) / variance;
  });
}

/**
 * Below this spread over the set a feature's differences are not blown up to unit scale: every
 * feature is in units of an RGB value (0..1) or a correlation, where 0.001 is far below what a
 * person can see.
 */
export const STANDARDISE_FLOOR = 1e-3;

/**
 * Standardise descriptors over the set: each feature minus its mean over the set, divided by
 * max(its std over the set (population), STANDARDISE_FLOOR). Returns new arrays.
 */
export function standardise(descriptors: readonly Float32Array[]): Float32Array[] {
  const n = descriptors.length;
  if (n === 0) return [];
  const dim = descriptors[0]!.length;
  const mean = new Float64Array(dim), std = new Float64Array(dim);
  for (const d of descriptors) for (let f = 0; f < dim; f++) mean[f]! += d[f]! / n;
  for (const d of descriptors) for (let f = 0; f < dim; f++) std[f]! += (d[f]! - mean[f]!) ** 2 / n;
  for (let f = 0; f < dim; f++) std[f] = Math.max(STANDARDISE_FLOOR, Math.sqrt(std[f]!));
  return descriptors.map((d) => {
    const z = new Float32Array(dim);
    for (let f = 0; f < dim; f++) z[f] = (d[f]! - mean[f]!) / std[f]!;
    return z;
  });
}

/** RMS difference of two (standardised) descriptors. */
export function descriptorDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let f = 0; f < a.length; f++) s += (a[f]! - b[f]!) ** 2;
  return Math.sqrt(s / a.length);
}

/** The feature-wise mean of several descriptors. */
export function centroid(descriptors: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(descriptors[0]!.length);
  for (const d of descriptors) for (let f = 0; f < out.length; f++) out[f]! += d[f]! / descriptors.length;
  return out;
}
