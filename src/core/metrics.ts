/**
 * Motion and "alive" statistics of a render, computed on the visible RGB planes
 * (Float32Array [3][H][W], values 0..1) as the frames go by, without keeping them.
 *
 * The alive measure (docs/design.md#the-alive-measure), decided at the end of a run, in order:
 * - dead:   the last frame's spatial std (per channel, averaged) < 0.02
 * - static: the mean absolute change between consecutive frames over the last 100 < 0.002
 * - noise:  the neighbouring-pixel correlation of the last frame < 0.2, or the state exploded
 *           (a non-finite value: the free protocol can diverge)
 * - alive:  otherwise.
 * Coherent (stricter): alive, structure (std >= 0.02 and correlation >= 0.2) present at the middle frame
 * and at the last, and it still moves: the mean image of the last 50 frames differs from that of the 50
 * before by > 0.01 (mean absolute difference), or its structure does not stay in place (persistence, the
 * spatial variance of the last 50 frames' mean image over their mean spatial variance, < 0.5: a pattern
 * that travels steadily has the same mean image in every window, so the first test alone misses it;
 * variety/motion.ts' framePersistence over a window, computed here as the frames go by).
 */
import { invalidParameterError, requireInt } from './errors.js';

export type AliveClass = 'dead' | 'static' | 'noise' | 'alive';

/**
 * Persistence (the spatial variance of a window's mean image over its frames' mean spatial variance) at or
 * above which a pattern's structure stays in place: the alive measure's "still moves" test and the variety
 * measure's flickering class (variety/motion.ts) share it.
 */
export const PERSISTENCE_IN_PLACE = 0.5;

export const ALIVE_THRESHOLDS = { deadStd: 0.02, staticChange: 0.002, noiseCorrelation: 0.2, coherentDrift: 0.01, coherentPersistence: PERSISTENCE_IN_PLACE, window: 100 } as const;

export interface RunStats {
  /** Per step: mean absolute change from the previous frame. */
  change: number[];
  /** Per step: spatial std (per channel, averaged over RGB). */
  std: number[];
  alive: AliveClass;
  coherent: boolean;
  /** Neighbouring-pixel correlation of the last frame. */
  correlation: number;
  /** Mean absolute difference between the mean images of the last two 50-frame windows. */
  drift: number;
  /**
   * Spatial variance of the last 50-frame window's mean image over the window's mean spatial variance
   * (each the per-channel variance averaged over RGB): ~1 when the structure stays in place, ~0 when it
   * travels or renews.
   */
  persistence: number;
}

/** A frame's visible planes: a Float32Array of (at least) `length` numbers, [3][H][W]. */
function requireFrame(name: string, frame: unknown, length: number): void {
  if (!(frame instanceof Float32Array) || frame.length < length) throw invalidParameterError(name, `a Float32Array of ${length} numbers ([3][H][W])`, frame instanceof Float32Array ? `${frame.length} numbers` : frame);
}

/**
 * The spatial mean and variance of each of a frame's 3 planes: `out` [mean R, G, B, variance R, G, B]
 * (float64 sums; a variance below 0 from rounding is 0).
 */
export function channelMoments(frame: ArrayLike<number>, plane: number, out: Float64Array = new Float64Array(6)): Float64Array {
  for (let c = 0; c < 3; c++) {
    let s = 0, s2 = 0;
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const v = frame[i]!;
      s += v;
      s2 += v * v;
    }
    const m = s / plane;
    out[c] = m;
    out[3 + c] = Math.max(0, s2 / plane - m * m);
  }
  return out;
}

/** Spatial std per channel, averaged over the 3 channels. */
export function spatialStd(frame: Float32Array, plane: number): number {
  requireInt('plane', plane, 1, 2 ** 28);
  requireFrame('frame', frame, 3 * plane);
  const m = channelMoments(frame, plane);
  return (Math.sqrt(m[3]!) + Math.sqrt(m[4]!) + Math.sqrt(m[5]!)) / 3;
}

/**
 * Correlation between each pixel and its right and lower neighbours (torus), pooled over RGB:
 * ~1 for smooth structure, ~0 for white noise. A flat frame gives 0.
 */
export function neighbourCorrelation(frame: Float32Array, width: number, height: number): number {
  requireInt('width', width, 1, 16384);
  requireInt('height', height, 1, 16384);
  requireFrame('frame', frame, 3 * width * height);
  const plane = width * height;
  let sxy = 0, sx = 0, sxx = 0, n = 0;
  for (let c = 0; c < 3; c++) {
    const o = c * plane;
    for (let y = 0; y < height; y++) {
      const row = o + y * width, down = o + ((y + 1) % height) * width;
      for (let x = 0; x < width; x++) {
        const v = frame[row + x]!;
        const r = frame[row + ((x + 1) % width)]!, d = frame[down + x]!;
        sxy += v * r + v * d;
        sx += v;
        sxx += v * v;
        n++;
      }
    }
  }
  const mean = sx / n;
  const variance = sxx / n - mean * mean;
  if (variance < 1e-12) return 0;
  return (sxy / (2 * n) - mean * mean) / variance;
}

/** Accumulates per-step statistics of a run of known length and classifies it at the end. */
export class MotionTracker {
  private readonly plane: number;
  private readonly prev: Float32Array;
  private hasPrev = false;
  private step = 0;
  private readonly windowA: Float32Array; // sum of frames in the second-to-last 50-frame window
  private readonly windowB: Float32Array; // sum of frames in the last 50-frame window
  private readonly half: number;
  private midStructure = true;
  private windowVariance = 0; // sum over the last window's frames of their spatial variance
  private readonly moments = new Float64Array(6);
  readonly change: number[] = [];
  readonly std: number[] = [];

  /** `totalSteps`: frames that will be pushed after the initial one. */
  constructor(readonly width: number, readonly height: number, readonly totalSteps: number) {
    requireInt('width', width, 1, 16384);
    requireInt('height', height, 1, 16384);
    requireInt('totalSteps', totalSteps, 0, Number.MAX_SAFE_INTEGER);
    this.plane = width * height;
    this.prev = new Float32Array(3 * this.plane);
    this.windowA = new Float32Array(3 * this.plane);
    this.windowB = new Float32Array(3 * this.plane);
    this.half = Math.min(50, Math.floor(totalSteps / 2));
  }

  /** Push the visible planes of the next frame (the initial frame first, then one per step). */
  push(frame: Float32Array): void {
    requireFrame('frame', frame, 3 * this.plane);
    const n = 3 * this.plane;
    if (this.hasPrev) {
      let d = 0;
      for (let i = 0; i < n; i++) d += Math.abs(frame[i]! - this.prev[i]!);
      this.change.push(d / n);
      const m = channelMoments(frame, this.plane, this.moments);
      this.std.push((Math.sqrt(m[3]!) + Math.sqrt(m[4]!) + Math.sqrt(m[5]!)) / 3);
      const s = this.step; // 1-based step of this frame
      if (this.half > 0) {
        if (s > this.totalSteps - 2 * this.half && s <= this.totalSteps - this.half) for (let i = 0; i < n; i++) this.windowA[i]! += frame[i]!;
        else if (s > this.totalSteps - this.half) {
          for (let i = 0; i < n; i++) this.windowB[i]! += frame[i]!;
          this.windowVariance += (m[3]! + m[4]! + m[5]!) / 3;
        }
      }
      if (s === Math.ceil(this.totalSteps / 2)) {
        this.midStructure = this.std[this.std.length - 1]! >= ALIVE_THRESHOLDS.deadStd && neighbourCorrelation(frame, this.width, this.height) >= ALIVE_THRESHOLDS.noiseCorrelation;
      }
    }
    this.prev.set(frame.subarray(0, n));
    this.hasPrev = true;
    this.step++;
  }

  /** Classify the run from the frames pushed so far. */
  finish(): RunStats {
    const lastStd = this.std.length ? this.std[this.std.length - 1]! : spatialStd(this.prev, this.plane);
    const correlation = neighbourCorrelation(this.prev, this.width, this.height);
    const recent = this.change.slice(-ALIVE_THRESHOLDS.window);
    const meanChange = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0;
    let alive: AliveClass = 'alive';
    if (!Number.isFinite(lastStd) || !Number.isFinite(meanChange) || !Number.isFinite(correlation)) alive = 'noise';
    else if (lastStd < ALIVE_THRESHOLDS.deadStd) alive = 'dead';
    else if (meanChange < ALIVE_THRESHOLDS.staticChange) alive = 'static';
    else if (correlation < ALIVE_THRESHOLDS.noiseCorrelation) alive = 'noise';
    let drift = 0, persistence = 1;
    if (this.half > 0) {
      for (let i = 0; i < this.windowA.length; i++) drift += Math.abs(this.windowB[i]! - this.windowA[i]!) / this.half;
      drift /= this.windowA.length;
      const meanImage = channelMoments(this.windowB, this.plane, this.moments);
      const frameVariance = this.windowVariance / this.half;
      // sums of `half` frames: the mean image's variance is the sums' over half^2
      persistence = frameVariance > 1e-12 ? (meanImage[3]! + meanImage[4]! + meanImage[5]!) / 3 / (this.half * this.half) / frameVariance : 1;
    }
    const stillMoves = drift > ALIVE_THRESHOLDS.coherentDrift || persistence < ALIVE_THRESHOLDS.coherentPersistence;
    const coherent = alive === 'alive' && stillMoves && this.midStructure;
    return { change: this.change, std: this.std, alive, coherent, correlation, drift, persistence };
  }
}
