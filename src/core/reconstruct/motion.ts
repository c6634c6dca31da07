/**
 * The motion-compensated prior (docs/reconstruct.md): a classical estimator that carries every
 * past observation along a velocity field estimated from the arriving pixels themselves, so that a
 * pixel seen a few frames ago still counts where the scene moved. Frames are [P][H][W] planar in 0..1.
 *
 * It keeps a memory (per cell the premultiplied value q = a v [P] and its weight a [1], or a list of
 * points) and per cell a velocity u [2] (cells per frame, x then y). Frame t:
 *   1. velocity: for every candidate displacement c on a grid (-radius..radius in steps of `step`,
 *      both axes), each arriving pixel y(p) is compared with the previous frame's own estimate M
 *      (before the blend of 1b) moved by c, weighted by its confidence k: err_c(p) = k(p - c)
 *      |y(p) - M(p - c)|^2 (bilinear reads, 0 outside). err_c and k(p - c) are spread to the cells
 *      around p by a Gaussian of width `matchSigma` and accumulated over frames with the factor
 *      `matchMemory`; every cell takes the candidate with the lowest accumulated err / k (no
 *      evidence: 0), with `refine` moved to a fraction of a step. With `path`, one camera path for the
 *      whole frame (camera-path.ts: translation + zoom, constant over frames, matched against the
 *      pixels that arrived in the last frames) gives the velocity, everywhere or (path.margin) in the
 *      cells whose own cost at the path's velocity is within a factor 1 + margin of their best. With
 *      `dual` the per-cell velocity moves the first memory and the path the second, everywhere.
 *   1b. (`blendSigma`) how well each memory's last M moved along its u (this frame's, or with
 *      `blendVelocity` 'previous' last frame's) and last frame's fallback F predicted the arriving
 *      pixels: their squared errors spread by a Gaussian of width `blendSigma`, accumulated with
 *      `matchMemory` (e_k per candidate k: the memories, then F).
 *   2. transport, `carry` 'grid': q(p) <- q(p - u(p)), a(p) <- a(p - u(p)) (bilinear, 0 outside);
 *      'points': every past observation is a point (position, value, weight) moved by u read where
 *      it is (exactly, no resampling); both x `memoryDecay`.
 *   3. the arriving pixels are written: grid q = y, a = 1; points: a new point of weight 1, and the
 *      points around it lose the share of their weight that their bilinear footprint puts on its cell.
 *   4. M = (S(q) + w0 F) / (S(a) + w0), S the memory spread by a Gaussian of width `spread` (grid: a
 *      blur; points: each splatted at its position), F the fallback (the Gaussian-prior baseline of
 *      baselines.ts), w0 = `priorWeight`; the confidence k = S(a) / (S(a) + w0). The estimate is M,
 *      or with `blendSigma` sum_k w_k X_k over the candidates X_k (the memories' M, then F), w_k
 *      proportional to e_k^-n, n = `blendPower` (one memory: (e_F^n M + e_M^n F) / (e_M^n + e_F^n)):
 *      where carrying a memory has predicted worse than the prior (objects moving each their own way,
 *      a texture changing in place), the prior takes over, and with `dual` the memory whose motion
 *      has predicted better takes over from the other.
 * A still scene gives u = 0 and E = a Gaussian prior with a longer memory; a pan gives u = the pan.
 * Every value it reads is within radius + 3 matchSigma cells of a cell (a local rule, but a wide one;
 * with `path` the whole frame).
 */
import { invalidParameterError } from '../errors.js';
import { PriorTracker, bilinear, bilinearClamped, gaussianTaps, type PriorSettings } from './baselines.js';
import { CameraPath, type CameraPathSettings } from './camera-path.js';
import { MotionMemory } from './motion-memory.js';

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
  /**
   * How the memory moves (default 'grid'): 'grid' resamples every cell's memory bilinearly along its
   * velocity each frame (which blurs what it carries a little every frame); 'points' keeps every
   * observation as a point at its exact position, moves it along the velocity read where it is, and
   * spreads the points into the estimate (nothing blurs but the spread, and nothing leaves holes).
   */
  carry?: 'grid' | 'points';
  /**
   * Blend the motion estimate with the fallback prior cell by cell, each weighted by the other's
   * recent error in predicting the arriving pixels (pooled by a Gaussian of width blendSigma): where
   * carrying the memory along the velocity has been predicting worse than the prior (objects moving
   * each their own way, a texture changing in place), the prior takes over. Default: no blend.
   */
  blendSigma?: number;
  /** The errors' power in that blend (default 1; larger: nearer a choice of the better one). */
  blendPower?: number;
  /**
   * Which velocity moves last frame's estimates when the blend scores them on the arriving pixels:
   * 'current' (default) this frame's, matched to those same pixels (so a memory's error looks lower
   * than it is); 'previous' last frame's, a true prediction.
   */
  blendVelocity?: 'current' | 'previous';
  /**
   * A camera path (camera-path.ts): one translation + zoom for the whole frame, constant over frames,
   * fitted to the pixels of the last frames rather than one frame's. Default: none (per cell only).
   */
  path?: CameraPathSettings;
  /**
   * Two memories side by side (docs/reconstruct.md, steps 14-15): the first moved along the per-cell
   * velocity, the second along `path` everywhere, each blended with the other and the prior by its
   * error predicting the arriving pixels. Needs `path` without margin and `blendSigma`. Default: one memory.
   */
  dual?: boolean;
}

/** Chosen on the training videos of docs/reconstruct.md (bench/reconstruct/choose-motion.mjs). */
export const DEFAULT_MOTION: MotionSettings = {
  radius: 1.5, step: 0.5, matchSigma: 32, matchMemory: 0.8, memoryDecay: 0.9, spread: 1.5, priorWeight: 0.15, refine: true,
  carry: 'points', blendSigma: 8, blendPower: 4,
};

/**
 * The two memories measured in docs/reconstruct.md steps 14-15 (not the default: under the bar on one
 * mask seed): DEFAULT_MOTION plus a memory along step 13's camera path, blended by true predictions
 * with the errors' power 8.
 */
export const DUAL_MOTION: MotionSettings = {
  ...DEFAULT_MOTION, blendPower: 8, blendVelocity: 'previous', dual: true,
  path: { lags: 12, memory: 0.9, step: 0.25, zoom: 0.03, zoomSteps: 3, spread: 1.5 },
};

/**
 * The motion-compensated priors a new NCA can be trained on, by the name `nca reconstruct --motion` takes: `local`
 * (DEFAULT_MOTION: one memory carried along per-cell velocities) and `dual` (DUAL_MOTION: a second memory along one
 * camera path fitted over frames, for pans and zooms; docs/reconstruct.md steps 14-17).
 */
export const MOTION_PRIORS = { local: DEFAULT_MOTION, dual: DUAL_MOTION } as const;
export type MotionPriorName = keyof typeof MOTION_PRIORS;

/** Throws unless `dual` (if set) has what it needs: a camera path without margin, and blendSigma. */
export function requireDualParts(settings: MotionSettings): void {
  if (!settings.dual) return;
  if (!settings.path || settings.path.margin !== undefined || settings.blendSigma === undefined) {
    throw invalidParameterError('motion dual', 'a camera path without margin and blendSigma beside it', settings.dual);
  }
}

/**
 * The blend's unnormalised weights are products of K - 1 powered errors; where their sum is below
 * TINY^(K - 1), no candidate has a measurable error (the first frame, or where all predict almost
 * exactly) and the first memory is taken.
 */
const TINY = 1e-30;

/**
 * The motion-compensated prior frame by frame: `add` takes a frame's arriving pixels and leaves the
 * estimate in `estimate` [P][H][W], its confidence in `confidence` [H][W] (0..1) and the velocity in
 * `velocity` [2][H][W] (x then y, cells per frame); with `dual`, the confidence and the velocity are
 * the first memory's (the per-cell one).
 */
export class MotionTracker {
  readonly estimate: Float32Array;
  readonly confidence: Float32Array;
  readonly velocity: Float32Array;
  /**
   * With blendSigma, per candidate of the blend (the memories in order, then the fallback prior): its
   * pooled, accumulated error predicting the arriving pixels (e_k, [K][H][W]) and its weight in the
   * last estimate ([K][H][W], summing to 1 per cell). K = 2, or 3 with `dual`. Without blendSigma: empty.
   */
  readonly blendErrors: Float64Array;
  readonly blendWeights: Float64Array;
  private readonly plane: number;
  private readonly prior: PriorTracker;
  /** [0] moved along the per-cell velocity (without `dual`: or the path, per `path`); [1] with `dual`, along the camera path. */
  private readonly memories: MotionMemory[];
  private readonly candidates: [number, number][];
  private readonly matchTaps: Float64Array;
  /** matchVelocity's accumulated error and evidence per candidate displacement, [49][H][W] by default. */
  private readonly err: Float64Array;
  private readonly evidence: Float64Array;
  /** With blendSigma: its Gaussian, and per arriving pixel each candidate's squared error and e_k^n ([K] each, scratch). */
  private readonly blendTaps: Float64Array | null;
  private readonly pixelErr: Float64Array;
  private readonly powered: Float64Array;
  /** With `path`: the camera path, and per cell the best candidate's accumulated cost (matchVelocity's, for path.margin). */
  private readonly cameraPath: CameraPath | null;
  private readonly bestCost: Float64Array;
  private started = false;

  constructor(readonly P: number, readonly width: number, readonly height: number, readonly settings: MotionSettings, readonly priorSettings: PriorSettings) {
    requireDualParts(settings);
    const plane = (this.plane = width * height);
    this.prior = new PriorTracker(P, width, height, priorSettings);
    this.memories = Array.from({ length: settings.dual ? 2 : 1 }, () => new MotionMemory(P, width, height, settings));
    const n = Math.round((2 * settings.radius) / settings.step) + 1;
    this.candidates = [];
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) this.candidates.push([-settings.radius + i * settings.step, -settings.radius + j * settings.step]);
    this.matchTaps = gaussianTaps(settings.matchSigma);
    this.err = new Float64Array(this.candidates.length * plane);
    this.evidence = new Float64Array(this.candidates.length * plane);
    this.blendTaps = settings.blendSigma === undefined ? null : gaussianTaps(settings.blendSigma);
    const K = this.blendTaps ? this.memories.length + 1 : 0;
    this.blendErrors = new Float64Array(K * plane);
    this.blendWeights = new Float64Array(K * plane);
    this.pixelErr = new Float64Array(K);
    this.powered = new Float64Array(K);
    const first = this.memories[0]!;
    this.estimate = this.blendTaps ? new Float32Array(P * plane) : first.estimate;
    this.confidence = first.confidence;
    this.velocity = first.velocity;
    this.cameraPath = settings.path ? new CameraPath(P, width, height, settings.radius, settings.path) : null;
    this.bestCost = new Float64Array(settings.path?.margin === undefined ? 0 : plane);
  }

  /** Forgets everything (a new video). */
  reset(): void {
    this.prior.reset();
    for (const b of [this.err, this.evidence, this.blendErrors]) b.fill(0);
    for (const m of this.memories) m.reset();
    this.cameraPath?.reset();
    this.started = false;
  }

  add(frame: Float32Array, mask: Uint8Array): void {
    const { settings, memories } = this;
    const path = this.cameraPath;
    const blend = this.blendTaps !== null, predictFirst = settings.blendVelocity === 'previous';
    if (this.started) {
      // 1b before 1 with blendVelocity 'previous': the memories still hold last frame's velocities
      if (blend && predictFirst) this.scorePredictions(frame, mask);
      if (!path || settings.dual || settings.path!.margin !== undefined) this.matchVelocity(frame, mask);
      if (path) {
        path.match(frame, mask);
        this.takePath(path);
      }
      if (blend && !predictFirst) this.scorePredictions(frame, mask);
    }
    path?.remember(frame, mask);
    this.prior.add(frame, mask);
    for (const memory of memories) {
      if (this.started) memory.move();
      memory.write(frame, mask);
      memory.compose(this.prior.estimate);
    }
    if (blend) this.blend();
    this.started = true;
  }

  /**
   * Step 1b (blendSigma): how well each memory's estimate (last frame's, moved along its velocity:
   * this frame's or with blendVelocity 'previous' last frame's) and the fallback prior (last frame's)
   * predicted the arriving pixels: squared errors spread by a Gaussian of width blendSigma and
   * accumulated over frames with the factor matchMemory into blendErrors.
   */
  private scorePredictions(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, width, height, settings, memories, blendErrors, pixelErr } = this;
    const taps = this.blendTaps!;
    const r = (taps.length - 1) / 2;
    const F = this.prior.estimate;
    const M = memories.length, K = M + 1;
    for (let i = 0; i < K * plane; i++) blendErrors[i]! *= settings.matchMemory;
    for (let p = 0; p < plane; p++) {
      if (!mask[p]) continue;
      const px = p % width, py = (p - px) / width;
      for (let k = 0; k < M; k++) {
        const { estimate, velocity } = memories[k]!;
        const sx = px - velocity[p]!, sy = py - velocity[plane + p]!;
        let e = 0;
        for (let c = 0; c < P; c++) e += (frame[c * plane + p]! - bilinearClamped(estimate, c * plane, width, height, sx, sy)) ** 2;
        pixelErr[k] = e;
      }
      let e = 0;
      for (let c = 0; c < P; c++) e += (frame[c * plane + p]! - F[c * plane + p]!) ** 2;
      pixelErr[M] = e;
      for (let yy = Math.max(0, py - r); yy <= Math.min(height - 1, py + r); yy++) {
        const gy = taps[yy - py + r]!;
        for (let xx = Math.max(0, px - r); xx <= Math.min(width - 1, px + r); xx++) {
          const g = gy * taps[xx - px + r]!, i = yy * width + xx;
          for (let k = 0; k < K; k++) blendErrors[k * plane + i]! += g * pixelErr[k]!;
        }
      }
    }
  }

  /**
   * The estimate: the memories' estimates and the fallback prior weighted per cell by w_k proportional
   * to e_k^-n (n = blendPower), computed as prod_{j != k} e_j^n / sum over k of the same, so that a
   * candidate with no error takes everything; for one memory (e_F^n M + e_M^n F) / (e_M^n + e_F^n).
   * The prior's weight is what the memories leave.
   */
  private blend(): void {
    const { P, plane, memories, blendErrors, blendWeights, powered, estimate } = this;
    const F = this.prior.estimate, power = this.settings.blendPower ?? 1;
    const M = memories.length, K = M + 1, tiny = TINY ** (K - 1);
    for (let i = 0; i < plane; i++) {
      let total = 0;
      for (let k = 0; k < K; k++) powered[k] = blendErrors[k * plane + i]! ** power;
      for (let k = 0; k < K; k++) {
        let w = 1;
        for (let j = 0; j < K; j++) if (j !== k) w *= powered[j]!;
        blendWeights[k * plane + i] = w;
        total += w;
      }
      for (let k = 0; k < K; k++) blendWeights[k * plane + i] = total > tiny ? blendWeights[k * plane + i]! / total : k === 0 ? 1 : 0;
    }
    for (let c = 0; c < P; c++) {
      for (let i = 0; i < plane; i++) {
        let sum = 0, rest = 1;
        for (let k = 0; k < M; k++) {
          const w = blendWeights[k * plane + i]!;
          sum += w * memories[k]!.estimate[c * plane + i]!;
          rest -= w;
        }
        estimate[c * plane + i] = sum + rest * F[c * plane + i]!;
      }
    }
  }

  /** Step 1: the arriving pixels against the previous estimate moved by each candidate; the velocity. */
  private matchVelocity(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, width, height, settings, candidates, matchTaps, err, evidence } = this;
    const { estimate, confidence } = this.memories[0]!; // M before the blend
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
      if (this.bestCost.length) this.bestCost[i] = bestCost;
    }
  }

  /**
   * Step 1 with `path`: the path's velocity (with `dual`: the second memory's, everywhere); with
   * path.margin only in the cells whose own accumulated cost at it (bilinear between the candidates;
   * outside them: not taken) is within a factor 1 + margin of their best candidate's, the others
   * keeping matchVelocity's.
   */
  private takePath(path: CameraPath): void {
    const { plane, width, settings, candidates, err, evidence, bestCost } = this;
    const margin = settings.path!.margin;
    if (settings.dual) {
      path.velocity(this.memories[1]!.velocity);
      return;
    }
    if (margin === undefined) {
      path.velocity(this.velocity);
      return;
    }
    const side = Math.round(Math.sqrt(candidates.length)), lo = -settings.radius;
    const [tx, ty, s] = path.params;
    const cx = (width - 1) / 2, cy = (this.height - 1) / 2;
    for (let i = 0; i < plane; i++) {
      const x = i % width, y = (i - x) / width;
      const ux = tx! + s! * (x - cx), uy = ty! + s! * (y - cy);
      if (Math.abs(ux) > settings.radius || Math.abs(uy) > settings.radius) continue;
      const gx = Math.min(side - 1.000001, (ux - lo) / settings.step), gy = Math.min(side - 1.000001, (uy - lo) / settings.step);
      const ix = Math.floor(gx), iy = Math.floor(gy), fx = gx - ix, fy = gy - iy;
      let cost = 0;
      for (let dy = 0; dy < 2 && cost < Infinity; dy++) for (let dx = 0; dx < 2; dx++) {
        const k = (iy + dy) * side + ix + dx, n = evidence[k * plane + i]!;
        cost += n < 1e-9 ? Infinity : (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy) * (err[k * plane + i]! / n);
      }
      if (Number.isFinite(cost) && cost <= bestCost[i]! * (1 + margin) + 1e-9) {
        this.velocity[i] = ux;
        this.velocity[plane + i] = uy;
      }
    }
  }
}

/** The motion-compensated prior over a whole video: one estimate per frame, [P][H][W]; `onFrame` sees the tracker after each frame (its blend weights, say). */
export function motionBaseline(frames: readonly Float32Array[], masks: readonly Uint8Array[], P: number, width: number, height: number, settings: MotionSettings, prior: PriorSettings, onFrame?: (tracker: MotionTracker, t: number) => void): Float32Array[] {
  const tracker = new MotionTracker(P, width, height, settings, prior);
  return frames.map((frame, t) => {
    tracker.add(frame, masks[t]!);
    onFrame?.(tracker, t);
    return tracker.estimate.slice();
  });
}
