/**
 * One memory of the motion-compensated prior (motion.ts, steps 2-4): every past observation carried
 * along a velocity field and spread into an estimate. Frames are [P][H][W] planar in 0..1, masks
 * [H][W] (1: the pixel arrived). The owner writes `velocity` [2][H][W] (x then y, cells per frame;
 * p - u(p) is where p's content was a frame earlier) before `move`.
 *   carry 'grid': per cell the premultiplied value q = a v [P][H][W] and its weight a [H][W], moved by
 *     a bilinear read at p - u(p) (0 outside); an arriving pixel sets q = y, a = 1.
 *   carry 'points': every observation a point (position, weight, value [P]) moved by u read where it
 *     is (exactly, no resampling); an arriving pixel is a new point of weight 1, and the points around
 *     it lose the share of their weight that their bilinear footprint puts on its cell.
 * Both x `memoryDecay` per frame. The estimate M = (S(q) + w0 F) / (S(a) + w0) [P][H][W] and its
 * confidence k = S(a) / (S(a) + w0) [H][W], S the memory spread by a Gaussian of width `spread`, F
 * the fallback prior, w0 = `priorWeight`.
 */
import { bilinear, bilinearClamped, blur, gaussianTaps } from './baselines.js';
import type { MotionSettings } from './motion.js';

/** Points fainter than this are forgotten (0.9^44: about 44 frames at the default memoryDecay). */
const MIN_POINT_WEIGHT = 0.01;

interface Points {
  x: Float64Array;
  y: Float64Array;
  w: Float64Array;
  /** [n][P] */
  v: Float64Array;
  n: number;
}

function newPoints(capacity: number, P: number): Points {
  return { x: new Float64Array(capacity), y: new Float64Array(capacity), w: new Float64Array(capacity), v: new Float64Array(capacity * P), n: 0 };
}

export class MotionMemory {
  /** M [P][H][W], after `compose`. */
  readonly estimate: Float32Array;
  /** k [H][W] (0..1), after `compose`. */
  readonly confidence: Float32Array;
  /** u [2][H][W] (x then y), written by the owner. */
  readonly velocity: Float32Array;
  private readonly plane: number;
  private readonly spreadTaps: Float64Array;
  /** carry 'grid': q [P][H][W], a [H][W], and transport's scratch [P + 1][H][W]. */
  private readonly q: Float64Array;
  private readonly a: Float64Array;
  private readonly moved: Float64Array;
  private readonly tmp: Float64Array;
  /** The memory spread (sum of weight x value, [P][H][W]) and its weight [H][W] (compose's scratch). */
  private readonly sum: Float64Array;
  private readonly weight: Float64Array;
  /** splatPoints' scratch: a point's taps on each axis. */
  private readonly splatTaps: Float64Array;
  /** carry 'points': the observations, oldest first. */
  private points: Points;

  constructor(readonly P: number, readonly width: number, readonly height: number, readonly settings: Pick<MotionSettings, 'memoryDecay' | 'spread' | 'priorWeight' | 'carry'>) {
    const plane = (this.plane = width * height);
    const grid = settings.carry !== 'points';
    this.spreadTaps = gaussianTaps(settings.spread);
    this.estimate = new Float32Array(P * plane);
    this.confidence = new Float32Array(plane);
    this.velocity = new Float32Array(2 * plane);
    this.q = new Float64Array(grid ? P * plane : 0);
    this.a = new Float64Array(grid ? plane : 0);
    this.moved = new Float64Array(grid ? (P + 1) * plane : 0);
    this.tmp = new Float64Array(plane);
    this.sum = new Float64Array(P * plane);
    this.weight = new Float64Array(plane);
    this.splatTaps = new Float64Array(2 * (2 * Math.ceil(3 * settings.spread) + 1));
    this.points = newPoints(grid ? 0 : 4 * plane, P);
  }

  /** Forgets everything (a new video). */
  reset(): void {
    this.q.fill(0);
    this.a.fill(0);
    this.velocity.fill(0);
    this.confidence.fill(0);
    this.points.n = 0;
  }

  /** Step 2: the memory moved along `velocity`, decayed (points gone faint or out of reach dropped). */
  move(): void {
    if (this.settings.carry === 'points') this.movePoints();
    else this.transport();
  }

  /** Step 3: the arriving pixels written into the memory. */
  write(frame: Float32Array, mask: Uint8Array): void {
    if (this.settings.carry === 'points') {
      this.addPoints(frame, mask);
      return;
    }
    const { P, plane, q, a } = this;
    for (let i = 0; i < plane; i++) {
      if (!mask[i]) continue;
      for (let c = 0; c < P; c++) q[c * plane + i] = frame[c * plane + i]!;
      a[i] = 1;
    }
  }

  /** Step 4: `estimate` = (the memory spread + w0 F) / (its weight + w0), `confidence` = weight / (weight + w0); F [P][H][W] the fallback prior. */
  compose(F: Float32Array): void {
    const { P, plane, width, height, settings, sum, weight, estimate, confidence } = this;
    const w0 = settings.priorWeight;
    if (settings.carry === 'points') this.splatPoints();
    else {
      blur(this.a, width, height, this.spreadTaps, this.tmp, weight);
      for (let c = 0; c < P; c++) blur(this.q.subarray(c * plane, (c + 1) * plane), width, height, this.spreadTaps, this.tmp, sum.subarray(c * plane, (c + 1) * plane));
    }
    for (let i = 0; i < plane; i++) confidence[i] = weight[i]! / (weight[i]! + w0);
    for (let c = 0; c < P; c++) {
      for (let i = 0; i < plane; i++) estimate[c * plane + i] = (sum[c * plane + i]! + w0 * F[c * plane + i]!) / (weight[i]! + w0);
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
    const { plane, width, height, P } = this;
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
  private splatPoints(): void {
    const { plane, width, height, P, settings } = this;
    const q = this.sum;
    const pts = this.points;
    const weight = this.weight;
    q.fill(0);
    weight.fill(0);
    const r = Math.ceil(3 * settings.spread), k = -1 / (2 * settings.spread * settings.spread);
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

  /** Step 2 (carry 'grid'): the memory moved along the velocity by a bilinear read, decayed. */
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
