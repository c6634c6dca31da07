/**
 * The statistical baselines the scotopic NCA is compared with (seed 004's "next steps"), computed
 * from the same observation masks. Frames are [P][H][W] planar, values 0..1; the estimate of frame t
 * uses the pixels that arrived at frames 0..t.
 *
 * - hold: each pixel shows the last value observed there; a pixel never observed shows the mean of
 *   every value observed so far (per channel; 0.5 before any).
 * - prior (hold with a Gaussian prior): each pixel is the average of the last observed values around
 *   it, weighted by a Gaussian of the distance (width sigma) times the observation's freshness
 *   decay^age (age in frames since it arrived; decay = 1 is the plain Gaussian prior):
 *     est(p) = sum_q G(p - q) a(q) v(q) / sum_q G(p - q) a(q)
 *   falling back to the mean of hold where no observation is within reach (denominator < 1e-6).
 *   G is separable, truncated at 3 sigma; sigma and decay are chosen on training videos only.
 */

export interface PriorSettings {
  /** Gaussian width in cells (> 0). */
  sigma: number;
  /** Weight kept per frame of age (0..1]. */
  decay: number;
}

/** Memory of the observations so far: last value, its age, and the running mean. */
class ObservationMemory {
  readonly last: Float32Array;
  /** Frames since the last observation at each cell; Infinity = never. */
  readonly age: Float64Array;
  private readonly sum: Float64Array;
  private seen = 0;

  constructor(readonly P: number, readonly plane: number) {
    this.last = new Float32Array(P * plane);
    this.age = new Float64Array(plane).fill(Infinity);
    this.sum = new Float64Array(P);
  }

  add(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane } = this;
    for (let i = 0; i < plane; i++) {
      this.age[i]! += 1;
      if (!mask[i]) continue;
      this.age[i] = 0;
      for (let c = 0; c < P; c++) {
        const v = frame[c * plane + i]!;
        this.last[c * plane + i] = v;
        this.sum[c]! += v;
      }
      this.seen++;
    }
  }

  mean(c: number): number {
    return this.seen > 0 ? this.sum[c]! / this.seen : 0.5;
  }
}

/** Hold the last observed pixel: one estimate per frame, [P][H][W]. */
export function holdBaseline(frames: readonly Float32Array[], masks: readonly Uint8Array[], P: number): Float32Array[] {
  const plane = masks[0]?.length ?? 0;
  const mem = new ObservationMemory(P, plane);
  return frames.map((frame, t) => {
    mem.add(frame, masks[t]!);
    const out = new Float32Array(P * plane);
    for (let c = 0; c < P; c++) {
      const mean = mem.mean(c);
      for (let i = 0; i < plane; i++) out[c * plane + i] = mem.age[i] === Infinity ? mean : mem.last[c * plane + i]!;
    }
    return out;
  });
}

/** The 1-D Gaussian taps exp(-d^2 / (2 sigma^2)), d = -r..r with r = ceil(3 sigma). */
export function gaussianTaps(sigma: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const taps = new Float64Array(2 * r + 1);
  for (let d = -r; d <= r; d++) taps[d + r] = Math.exp(-(d * d) / (2 * sigma * sigma));
  return taps;
}

/** Bilinear read of the plane at `offset` of `src` ([H][W]) at (x, y), 0 outside. */
export function bilinear(src: Float32Array | Float64Array, offset: number, width: number, height: number, x: number, y: number): number {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  let s = 0;
  if (y0 >= 0 && y0 < height) {
    if (x0 >= 0 && x0 < width) s += (1 - fx) * (1 - fy) * src[offset + y0 * width + x0]!;
    if (x0 + 1 >= 0 && x0 + 1 < width) s += fx * (1 - fy) * src[offset + y0 * width + x0 + 1]!;
  }
  if (y0 + 1 >= 0 && y0 + 1 < height) {
    if (x0 >= 0 && x0 < width) s += (1 - fx) * fy * src[offset + (y0 + 1) * width + x0]!;
    if (x0 + 1 >= 0 && x0 + 1 < width) s += fx * fy * src[offset + (y0 + 1) * width + x0 + 1]!;
  }
  return s;
}

/** Bilinear read of plane `src` [H][W] at (x, y), clamped to the plane (a velocity just outside is the edge's). */
export function bilinearClamped(src: Float32Array | Float64Array, offset: number, width: number, height: number, x: number, y: number): number {
  return bilinear(src, offset, width, height, Math.max(0, Math.min(width - 1, x)), Math.max(0, Math.min(height - 1, y)));
}

/** Separable blur of `src` [H][W] with `taps` (zero outside), into `out`; `tmp` is scratch of the same size. */
export function blur(src: Float64Array, width: number, height: number, taps: Float64Array, tmp: Float64Array, out: Float64Array): void {
  const r = (taps.length - 1) / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let d = Math.max(-r, -x); d <= Math.min(r, width - 1 - x); d++) s += taps[d + r]! * src[y * width + x + d]!;
      tmp[y * width + x] = s;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let d = Math.max(-r, -y); d <= Math.min(r, height - 1 - y); d++) s += taps[d + r]! * tmp[(y + d) * width + x]!;
      out[y * width + x] = s;
    }
  }
}

/**
 * The prior baseline frame by frame (see the module comment): `add` takes a frame's arriving pixels
 * and leaves that frame's estimate in `estimate` [P][H][W] and the Gaussian-weighted observation
 * weight sum_q G(p - q) a(q) in `weight` [H][W] (0 where no observation is within reach). The
 * scotopic NCA reads both as inputs (scotopic.ts).
 */
export class PriorTracker {
  readonly estimate: Float32Array;
  readonly weight: Float64Array;
  private mem: ObservationMemory;
  private readonly taps: Float64Array;
  private readonly plane: number;
  private readonly ageWeight: Float64Array;
  private readonly num: Float64Array;
  private readonly tmp: Float64Array;
  private readonly blurred: Float64Array;

  constructor(readonly P: number, readonly width: number, readonly height: number, readonly settings: PriorSettings) {
    this.plane = width * height;
    this.taps = gaussianTaps(settings.sigma);
    this.mem = new ObservationMemory(P, this.plane);
    this.estimate = new Float32Array(P * this.plane);
    this.weight = new Float64Array(this.plane);
    this.ageWeight = new Float64Array(this.plane);
    this.num = new Float64Array(this.plane);
    this.tmp = new Float64Array(this.plane);
    this.blurred = new Float64Array(this.plane);
  }

  /** Forgets every observation (a new video). */
  reset(): void {
    this.mem = new ObservationMemory(this.P, this.plane);
  }

  add(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, width, height, taps, mem, ageWeight, num, tmp, blurred, weight, estimate } = this;
    mem.add(frame, mask);
    for (let i = 0; i < plane; i++) ageWeight[i] = mem.age[i] === Infinity ? 0 : this.settings.decay ** mem.age[i]!;
    blur(ageWeight, width, height, taps, tmp, weight);
    for (let c = 0; c < P; c++) {
      for (let i = 0; i < plane; i++) num[i] = ageWeight[i]! * mem.last[c * plane + i]!;
      blur(num, width, height, taps, tmp, blurred);
      const mean = mem.mean(c);
      for (let i = 0; i < plane; i++) estimate[c * plane + i] = weight[i]! > 1e-6 ? blurred[i]! / weight[i]! : mean;
    }
  }
}

/** Hold with a Gaussian prior (see the module comment): one estimate per frame, [P][H][W]. */
export function priorBaseline(frames: readonly Float32Array[], masks: readonly Uint8Array[], P: number, width: number, height: number, settings: PriorSettings): Float32Array[] {
  const tracker = new PriorTracker(P, width, height, settings);
  return frames.map((frame, t) => {
    tracker.add(frame, masks[t]!);
    return tracker.estimate.slice();
  });
}

/** The widths and decays tried when choosing the prior's settings on training videos. */
export const PRIOR_GRID: { sigmas: number[]; decays: number[] } = { sigmas: [0.75, 1, 1.5, 2, 3, 4, 6], decays: [1, 0.95, 0.9, 0.8, 0.6] };
