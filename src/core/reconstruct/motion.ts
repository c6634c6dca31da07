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
 *      cells whose own cost at the path's velocity is within a factor 1 + margin of their best.
 *   1b. (`blendSigma`) how well last frame's M moved along u and last frame's fallback F predicted
 *      the arriving pixels: their squared errors spread by a Gaussian of width `blendSigma`,
 *      accumulated with `matchMemory` (e_M, e_F).
 *   2. transport, `carry` 'grid': q(p) <- q(p - u(p)), a(p) <- a(p - u(p)) (bilinear, 0 outside);
 *      'points': every past observation is a point (position, value, weight) moved by u read where
 *      it is (exactly, no resampling); both x `memoryDecay`.
 *   3. the arriving pixels are written: grid q = y, a = 1; points: a new point of weight 1, and the
 *      points around it lose the share of their weight that their bilinear footprint puts on its cell.
 *   4. M = (S(q) + w0 F) / (S(a) + w0), S the memory spread by a Gaussian of width `spread` (grid: a
 *      blur; points: each splatted at its position), F the fallback (the Gaussian-prior baseline of
 *      baselines.ts), w0 = `priorWeight`; the confidence k = S(a) / (S(a) + w0). The estimate is M,
 *      or with `blendSigma` (e_F^n M + e_M^n F) / (e_M^n + e_F^n), n = `blendPower`: where carrying
 *      the memory has predicted worse than the prior (objects moving each their own way, a texture
 *      changing in place), the prior takes over.
 * A still scene gives u = 0 and E = a Gaussian prior with a longer memory; a pan gives u = the pan.
 * Every value it reads is within radius + 3 matchSigma cells of a cell (a local rule, but a wide one;
 * with `path` the whole frame).
 */
import { PriorTracker, bilinear, bilinearClamped, blur, gaussianTaps, type PriorSettings } from './baselines.js';
import { CameraPath, type CameraPathSettings } from './camera-path.js';

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
   * A camera path (camera-path.ts): one translation + zoom for the whole frame, constant over frames,
   * fitted to the pixels of the last frames rather than one frame's. Default: none (per cell only).
   */
  path?: CameraPathSettings;
}

/** Chosen on the training videos of docs/reconstruct.md (bench/reconstruct/choose-motion.mjs). */
export const DEFAULT_MOTION: MotionSettings = {
  radius: 1.5, step: 0.5, matchSigma: 32, matchMemory: 0.8, memoryDecay: 0.9, spread: 1.5, priorWeight: 0.15, refine: true,
  carry: 'points', blendSigma: 8, blendPower: 4,
};

/** Points fainter than this are forgotten (0.9^44: about 44 frames at the default memoryDecay). */
const MIN_POINT_WEIGHT = 0.01;

function newPoints(capacity: number, P: number): { x: Float64Array; y: Float64Array; w: Float64Array; v: Float64Array; n: number } {
  return { x: new Float64Array(capacity), y: new Float64Array(capacity), w: new Float64Array(capacity), v: new Float64Array(capacity * P), n: 0 };
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
  /** The memory spread (sum of weight x value, [P][H][W]) and its weight [H][W] (compose's scratch). */
  private readonly sum: Float64Array;
  /** With blendSigma: the motion estimate before the blend (the own estimate), its Gaussian and the two methods' pooled prediction errors. */
  private readonly own: Float32Array;
  private readonly blendTaps: Float64Array | null;
  private readonly motionErr: Float64Array;
  private readonly priorErr: Float64Array;
  private readonly weight: Float64Array;
  private readonly splatTaps: Float64Array;
  /** With carry 'points': the observations, oldest first (position, weight, value [P] each). */
  private points: { x: Float64Array; y: Float64Array; w: Float64Array; v: Float64Array; n: number };
  /** With `path`: the camera path, and per cell the best candidate's accumulated cost (matchVelocity's, for path.margin). */
  private readonly cameraPath: CameraPath | null;
  private readonly bestCost: Float64Array;
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
    this.sum = new Float64Array(P * plane);
    this.blendTaps = settings.blendSigma === undefined ? null : gaussianTaps(settings.blendSigma);
    this.own = this.blendTaps ? new Float32Array(P * plane) : this.estimate;
    this.motionErr = new Float64Array(this.blendTaps ? plane : 0);
    this.priorErr = new Float64Array(this.blendTaps ? plane : 0);
    this.weight = new Float64Array(plane);
    this.splatTaps = new Float64Array(2 * (2 * Math.ceil(3 * settings.spread) + 1));
    this.points = newPoints(settings.carry === 'points' ? 4 * plane : 0, P);
    this.cameraPath = settings.path ? new CameraPath(P, width, height, settings.radius, settings.path) : null;
    this.bestCost = new Float64Array(settings.path?.margin === undefined ? 0 : plane);
  }

  /** Forgets everything (a new video). */
  reset(): void {
    this.prior.reset();
    for (const b of [this.q, this.a, this.err, this.evidence, this.motionErr, this.priorErr]) b.fill(0);
    this.velocity.fill(0);
    this.confidence.fill(0);
    this.points.n = 0;
    this.cameraPath?.reset();
    this.started = false;
  }

  add(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, settings, q, a } = this;
    const points = settings.carry === 'points';
    const path = this.cameraPath;
    if (this.started) {
      if (!path || settings.path!.margin !== undefined) this.matchVelocity(frame, mask);
      if (path) {
        path.match(frame, mask);
        this.takePath(path);
      }
      if (this.blendTaps) this.scorePredictions(frame, mask);
    }
    path?.remember(frame, mask);
    this.prior.add(frame, mask);
    if (this.started) {
      if (points) this.movePoints();
      else this.transport();
    }
    if (points) this.addPoints(frame, mask);
    else {
      for (let i = 0; i < plane; i++) {
        if (!mask[i]) continue;
        for (let c = 0; c < P; c++) q[c * plane + i] = frame[c * plane + i]!;
        a[i] = 1;
      }
    }
    this.compose(settings.spread, this.spreadTaps, this.own, this.confidence);
    if (this.blendTaps) {
      // the motion estimate and the fallback prior, each weighted by the other's recent prediction error around the cell
      const { motionErr, priorErr, own, estimate } = this;
      const F = this.prior.estimate, power = settings.blendPower ?? 1;
      for (let i = 0; i < plane; i++) {
        const em = motionErr[i]! ** power, ep = priorErr[i]! ** power, total = em + ep;
        const w = total > 1e-30 ? ep / total : 1;
        for (let c = 0; c < P; c++) estimate[c * plane + i] = w * own[c * plane + i]! + (1 - w) * F[c * plane + i]!;
      }
    }
    this.started = true;
  }

  /**
   * Step 1b (blendSigma): how well the motion estimate (last frame's, moved along the velocity) and
   * the fallback prior (last frame's) predicted the arriving pixels, spread by a Gaussian of width
   * blendSigma and accumulated over frames with the factor matchMemory.
   */
  private scorePredictions(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, width, height, settings, motionErr, priorErr, own, velocity } = this;
    const taps = this.blendTaps!;
    const r = (taps.length - 1) / 2;
    const F = this.prior.estimate;
    for (let i = 0; i < plane; i++) {
      motionErr[i]! *= settings.matchMemory;
      priorErr[i]! *= settings.matchMemory;
    }
    for (let p = 0; p < plane; p++) {
      if (!mask[p]) continue;
      const px = p % width, py = (p - px) / width;
      const sx = px - velocity[p]!, sy = py - velocity[plane + p]!;
      let em = 0, ep = 0;
      for (let c = 0; c < P; c++) {
        const y = frame[c * plane + p]!;
        em += (y - bilinearClamped(own, c * plane, width, height, sx, sy)) ** 2;
        ep += (y - F[c * plane + p]!) ** 2;
      }
      for (let yy = Math.max(0, py - r); yy <= Math.min(height - 1, py + r); yy++) {
        const gy = taps[yy - py + r]!;
        for (let xx = Math.max(0, px - r); xx <= Math.min(width - 1, px + r); xx++) {
          const g = gy * taps[xx - px + r]!;
          motionErr[yy * width + xx]! += g * em;
          priorErr[yy * width + xx]! += g * ep;
        }
      }
    }
  }

  /**
   * Step 4: est = (memory spread by a Gaussian of width `spread` + w0 F) / (its weight + w0), conf =
   * weight / (weight + w0); `taps` are that Gaussian's (the grid carry's blur).
   */
  private compose(spread: number, taps: Float64Array, est: Float32Array, conf: Float32Array): void {
    const { P, plane, width, height, settings, sum, weight } = this;
    const w0 = settings.priorWeight;
    if (settings.carry === 'points') this.splatPoints(spread);
    else {
      blur(this.a, width, height, taps, this.tmp, weight);
      for (let c = 0; c < P; c++) blur(this.q.subarray(c * plane, (c + 1) * plane), width, height, taps, this.tmp, sum.subarray(c * plane, (c + 1) * plane));
    }
    for (let i = 0; i < plane; i++) conf[i] = weight[i]! / (weight[i]! + w0);
    for (let c = 0; c < P; c++) {
      for (let i = 0; i < plane; i++) est[c * plane + i] = (sum[c * plane + i]! + w0 * this.prior.estimate[c * plane + i]!) / (weight[i]! + w0);
    }
  }

  /** Step 1: the arriving pixels against the previous estimate moved by each candidate; the velocity. */
  private matchVelocity(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, width, height, settings, candidates, matchTaps, err, evidence } = this;
    const estimate = this.own, confidence = this.confidence;
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
   * Step 1 with `path`: the path's velocity; with path.margin only in the cells whose own accumulated
   * cost at it (bilinear between the candidates; outside them: not taken) is within a factor
   * 1 + margin of their best candidate's, the others keeping matchVelocity's.
   */
  private takePath(path: CameraPath): void {
    const { plane, width, settings, candidates, err, evidence, bestCost } = this;
    const margin = settings.path!.margin;
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

  /** Step 2 (carry 'points'): every point moved by the velocity read where it is, decayed; points gone faint or out of reach dropped. */
  private movePoints(): void {
    const { plane, width, height, velocity, settings, P } = this;
    const pts = this.points;
    const reach = 3 * settings.spread;
    let kept = 0;
    for (let j = 0; j < pts.n; j++) {
      const x = pts.x[j]!, y = pts.y[j]!;
      const vx = bilinearClamped(velocity, 0, width, height, x, y), vy = bilinearClamped(velocity, plane, width, height, x, y);
      const nx = x + vx, ny = y + vy, w = pts.w[j]! * settings.memoryDecay;
      if (w < MIN_POINT_WEIGHT || nx < -reach || ny < -reach || nx > width - 1 + reach || ny > height - 1 + reach) continue;
      pts.x[kept] = nx;
      pts.y[kept] = ny;
      pts.w[kept] = w;
      for (let c = 0; c < P; c++) pts.v[kept * P + c] = pts.v[j * P + c]!;
      kept++;
    }
    pts.n = kept;
  }

  /** Step 3 (carry 'points'): the arriving pixels become points of weight 1 (the oldest dropped when the store is full). */
  private addPoints(frame: Float32Array, mask: Uint8Array): void {
    const { plane, width, P } = this;
    let pts = this.points;
    let arriving = 0;
    for (let i = 0; i < plane; i++) if (mask[i]) arriving++;
    if (pts.n + arriving > pts.w.length) {
      // full: grow once up to 16 points a cell, beyond that drop the oldest
      if (pts.w.length < 16 * plane) {
        const grown = newPoints(Math.min(16 * plane, Math.max(2 * pts.w.length, pts.n + arriving)), P);
        grown.x.set(pts.x.subarray(0, pts.n));
        grown.y.set(pts.y.subarray(0, pts.n));
        grown.w.set(pts.w.subarray(0, pts.n));
        grown.v.set(pts.v.subarray(0, pts.n * P));
        grown.n = pts.n;
        this.points = pts = grown;
      }
      const drop = Math.max(0, pts.n + arriving - pts.w.length);
      if (drop > 0) {
        pts.x.copyWithin(0, drop, pts.n);
        pts.y.copyWithin(0, drop, pts.n);
        pts.w.copyWithin(0, drop, pts.n);
        pts.v.copyWithin(0, drop * P, pts.n * P);
        pts.n -= drop;
      }
    }
    // a fresh pixel replaces what the memory held at its cell, as the grid carry's write does: a point
    // loses the share of its weight that its bilinear footprint puts on cells where a pixel arrives
    const height = plane / width;
    for (let j = 0; j < pts.n; j++) {
      const x = pts.x[j]!, y = pts.y[j]!, x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
      let share = 0;
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
        const xx = x0 + dx, yy = y0 + dy;
        if (xx >= 0 && xx < width && yy >= 0 && yy < height && mask[yy * width + xx]) share += (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
      }
      pts.w[j]! *= 1 - share;
    }
    for (let i = 0; i < plane && pts.n < pts.w.length; i++) {
      if (!mask[i]) continue;
      const j = pts.n++;
      pts.x[j] = i % width;
      pts.y[j] = (i - (i % width)) / width;
      pts.w[j] = 1;
      for (let c = 0; c < P; c++) pts.v[j * P + c] = frame[c * plane + i]!;
    }
  }

  /** Step 4 (carry 'points'): the points spread by a Gaussian of width `spread` into sum (of w v, [P]) and weight (of w). */
  private splatPoints(spread: number): void {
    const { plane, width, height, P } = this;
    const q = this.sum;
    const pts = this.points;
    const weight = this.weight;
    q.fill(0);
    weight.fill(0);
    const r = Math.ceil(3 * spread), k = -1 / (2 * spread * spread);
    const gx = this.splatTaps; // the 2r + 1 taps of a point on each axis
    const gyOff = 2 * r + 1;
    for (let j = 0; j < pts.n; j++) {
      const x = pts.x[j]!, y = pts.y[j]!, w = pts.w[j]!;
      const x0 = Math.max(0, Math.ceil(x - r)), x1 = Math.min(width - 1, Math.floor(x + r));
      const y0 = Math.max(0, Math.ceil(y - r)), y1 = Math.min(height - 1, Math.floor(y + r));
      if (x0 > x1 || y0 > y1) continue;
      for (let xx = x0; xx <= x1; xx++) gx[xx - x0] = Math.exp(k * (xx - x) * (xx - x));
      for (let yy = y0; yy <= y1; yy++) gx[gyOff + yy - y0] = w * Math.exp(k * (yy - y) * (yy - y));
      for (let yy = y0; yy <= y1; yy++) {
        const gy = gx[gyOff + yy - y0]!;
        for (let xx = x0; xx <= x1; xx++) {
          const g = gy * gx[xx - x0]!, i = yy * width + xx;
          weight[i]! += g;
          for (let c = 0; c < P; c++) q[c * plane + i]! += g * pts.v[j * P + c]!;
        }
      }
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
