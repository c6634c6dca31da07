/**
 * The motion-compensated prior (docs/reconstruct.md): a classical estimator that carries every
 * past observation along a velocity field estimated from the arriving pixels themselves, so that a
 * pixel seen a few frames ago still counts where the scene moved. Frames are [P][H][W] planar in 0..1.
 *
 * Per cell it keeps a memory (the premultiplied value q = a v [P] and its weight a [1]) and a velocity
 * u [2] (cells per frame, x then y). Frame t:
 *   1. velocity: for every candidate displacement c on a grid (-radius..radius in steps of `step`,
 *      both axes), each arriving pixel y(p) is compared with the previous frame's estimate moved by
 *      c, weighted by that estimate's confidence k: err_c(p) = k(p - c) |y(p) - E(p - c)|^2 (bilinear
 *      reads, 0 outside). err_c and k(p - c) are spread to the cells around p by a Gaussian of width
 *      `matchSigma` and accumulated over frames with the factor `matchMemory`; every cell takes the
 *      candidate with the lowest accumulated err / k (no evidence: 0).
 *   2. transport: q(p) <- q(p - u(p)), a(p) <- a(p - u(p)) (bilinear, 0 outside), both x `memoryDecay`.
 *   3. the arriving pixels are written: q = y, a = 1.
 *   4. estimate: E = (blur(q) + w0 F) / (blur(a) + w0), blur a Gaussian of width `spread`, F the
 *      fallback (the Gaussian-prior baseline of baselines.ts, given), w0 = `priorWeight`; the
 *      confidence k = blur(a) / (blur(a) + w0).
 * A still scene gives u = 0 and E = a Gaussian prior with a longer memory; a pan gives u = the pan.
 * Every value it reads is within radius + 3 matchSigma cells of a cell (a local rule, but a wide one).
 */
import { PriorTracker, blur, gaussianTaps, type PriorSettings } from './baselines.js';

export interface MotionSettings {
  /** Largest displacement tried per frame, in cells (each axis). */
  radius: number;
  /** Spacing of the candidate displacements, in cells. */
  step: number;
  /** Width of the Gaussian that pools the matching evidence around a cell. */
  matchSigma: number;
  /** Factor that keeps last frame's matching evidence (0..1). */
  matchMemory: number;
  /** Memory weight kept per frame (0..1]. */
  memoryDecay: number;
  /** Width of the Gaussian that spreads the memory into the estimate. */
  spread: number;
  /** Weight of the fallback prior against the memory. */
  priorWeight: number;
  /** Refine the best candidate to a fraction of a step (a parabola through its cost and its neighbours'). */
  refine?: boolean;
}

/** Chosen on the training videos of docs/reconstruct.md (bench/reconstruct/choose-motion.mjs). */
export const DEFAULT_MOTION: MotionSettings = { radius: 1.5, step: 0.5, matchSigma: 32, matchMemory: 0.8, memoryDecay: 0.9, spread: 1.5, priorWeight: 0.15, refine: true };

/** Bilinear read of plane `src` [H][W] at (x, y), 0 outside. */
function bilinear(src: Float32Array | Float64Array, offset: number, width: number, height: number, x: number, y: number): number {
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

/**
 * The motion-compensated prior frame by frame: `add` takes a frame's arriving pixels and leaves the
 * estimate in `estimate` [P][H][W], its confidence in `confidence` [H][W] (0..1) and the velocity in
 * `velocity` [2][H][W] (x then y, cells per frame).
 */
export class MotionTracker {
  readonly estimate: Float32Array;
  readonly confidence: Float32Array;
  readonly velocity: Float32Array;
  private readonly plane: number;
  private readonly prior: PriorTracker;
  private readonly candidates: [number, number][];
  private readonly matchTaps: Float64Array;
  private readonly spreadTaps: Float64Array;
  private readonly q: Float64Array;
  private readonly a: Float64Array;
  private readonly moved: Float64Array;
  private readonly err: Float64Array;
  private readonly evidence: Float64Array;
  private readonly tmp: Float64Array;
  private readonly blurred: Float64Array;
  private readonly weight: Float64Array;
  private started = false;

  constructor(readonly P: number, readonly width: number, readonly height: number, readonly settings: MotionSettings, readonly priorSettings: PriorSettings) {
    const plane = (this.plane = width * height);
    this.prior = new PriorTracker(P, width, height, priorSettings);
    const n = Math.round((2 * settings.radius) / settings.step) + 1;
    this.candidates = [];
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) this.candidates.push([-settings.radius + i * settings.step, -settings.radius + j * settings.step]);
    this.matchTaps = gaussianTaps(settings.matchSigma);
    this.spreadTaps = gaussianTaps(settings.spread);
    this.estimate = new Float32Array(P * plane);
    this.confidence = new Float32Array(plane);
    this.velocity = new Float32Array(2 * plane);
    this.q = new Float64Array(P * plane);
    this.a = new Float64Array(plane);
    this.moved = new Float64Array((P + 1) * plane);
    this.err = new Float64Array(this.candidates.length * plane);
    this.evidence = new Float64Array(this.candidates.length * plane);
    this.tmp = new Float64Array(plane);
    this.blurred = new Float64Array(plane);
    this.weight = new Float64Array(plane);
  }

  /** Forgets everything (a new video). */
  reset(): void {
    this.prior.reset();
    for (const b of [this.q, this.a, this.err, this.evidence]) b.fill(0);
    this.velocity.fill(0);
    this.confidence.fill(0);
    this.started = false;
  }

  add(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, width, height, settings, q, a } = this;
    this.prior.add(frame, mask);
    if (this.started) {
      this.matchVelocity(frame, mask);
      this.transport();
    }
    for (let i = 0; i < plane; i++) {
      if (!mask[i]) continue;
      for (let c = 0; c < P; c++) q[c * plane + i] = frame[c * plane + i]!;
      a[i] = 1;
    }
    const w0 = settings.priorWeight;
    blur(a, width, height, this.spreadTaps, this.tmp, this.weight);
    for (let i = 0; i < plane; i++) this.confidence[i] = this.weight[i]! / (this.weight[i]! + w0);
    for (let c = 0; c < P; c++) {
      blur(q.subarray(c * plane, (c + 1) * plane), width, height, this.spreadTaps, this.tmp, this.blurred);
      for (let i = 0; i < plane; i++) this.estimate[c * plane + i] = (this.blurred[i]! + w0 * this.prior.estimate[c * plane + i]!) / (this.weight[i]! + w0);
    }
    this.started = true;
  }

  /** Step 1: the arriving pixels against the previous estimate moved by each candidate; the velocity. */
  private matchVelocity(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, width, height, settings, candidates, matchTaps, err, evidence, estimate, confidence } = this;
    const r = (matchTaps.length - 1) / 2;
    const K = candidates.length;
    for (let i = 0; i < K * plane; i++) {
      err[i]! *= settings.matchMemory;
      evidence[i]! *= settings.matchMemory;
    }
    for (let p = 0; p < plane; p++) {
      if (!mask[p]) continue;
      const px = p % width, py = (p - px) / width;
      const y0 = Math.max(0, py - r), y1 = Math.min(height - 1, py + r);
      const x0 = Math.max(0, px - r), x1 = Math.min(width - 1, px + r);
      for (let k = 0; k < K; k++) {
        const [cx, cy] = candidates[k]!;
        const sx = px - cx, sy = py - cy;
        const conf = bilinear(confidence, 0, width, height, sx, sy);
        if (conf <= 0) continue;
        let e = 0;
        for (let c = 0; c < P; c++) {
          const d = frame[c * plane + p]! - bilinear(estimate, c * plane, width, height, sx, sy);
          e += d * d;
        }
        e *= conf;
        const off = k * plane;
        for (let y = y0; y <= y1; y++) {
          const gy = matchTaps[y - py + r]!;
          for (let x = x0; x <= x1; x++) {
            const g = gy * matchTaps[x - px + r]!;
            err[off + y * width + x]! += g * e;
            evidence[off + y * width + x]! += g * conf;
          }
        }
      }
    }
    const side = Math.round(Math.sqrt(K));
    const cost = (k: number, i: number): number => {
      const n = evidence[k * plane + i]!;
      return n < 1e-9 ? Infinity : err[k * plane + i]! / n;
    };
    for (let i = 0; i < plane; i++) {
      let best = -1, bestCost = Infinity;
      for (let k = 0; k < K; k++) {
        const c = cost(k, i);
        if (c < bestCost) (bestCost = c), (best = k);
      }
      if (best < 0) {
        this.velocity[i] = this.velocity[plane + i] = 0;
        continue;
      }
      let vx = candidates[best]![0], vy = candidates[best]![1];
      if (settings.refine) {
        // a parabola through the best candidate's cost and its two neighbours on each axis (within half a step)
        const bx = best % side, by = (best - bx) / side;
        const vertex = (lo: number, hi: number): number => {
          const curve = lo - 2 * bestCost + hi;
          return Number.isFinite(curve) && curve > 0 ? Math.max(-0.5, Math.min(0.5, (lo - hi) / (2 * curve))) : 0;
        };
        if (bx > 0 && bx < side - 1) vx += settings.step * vertex(cost(best - 1, i), cost(best + 1, i));
        if (by > 0 && by < side - 1) vy += settings.step * vertex(cost(best - side, i), cost(best + side, i));
      }
      this.velocity[i] = vx;
      this.velocity[plane + i] = vy;
    }
  }

  /** Step 2: the memory moved along the velocity, decayed. */
  private transport(): void {
    const { P, plane, width, height, settings, q, a, moved, velocity } = this;
    for (let i = 0; i < plane; i++) {
      const x = i % width, y = (i - x) / width;
      const sx = x - velocity[i]!, sy = y - velocity[plane + i]!;
      for (let c = 0; c < P; c++) moved[c * plane + i] = bilinear(q, c * plane, width, height, sx, sy) * settings.memoryDecay;
      moved[P * plane + i] = bilinear(a, 0, width, height, sx, sy) * settings.memoryDecay;
    }
    q.set(moved.subarray(0, P * plane));
    a.set(moved.subarray(P * plane));
  }
}

/** The motion-compensated prior over a whole video: one estimate per frame, [P][H][W]. */
export function motionBaseline(frames: readonly Float32Array[], masks: readonly Uint8Array[], P: number, width: number, height: number, settings: MotionSettings, prior: PriorSettings): Float32Array[] {
  const tracker = new MotionTracker(P, width, height, settings, prior);
  return frames.map((frame, t) => {
    tracker.add(frame, masks[t]!);
    return tracker.estimate.slice();
  });
}
