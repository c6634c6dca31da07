/**
 * A camera path for the motion-compensated prior (motion.ts; docs/reconstruct.md, step 13): one
 * velocity field for the whole frame, a translation plus a zoom about the centre,
 *   u(p) = (tx, ty) + s (p - centre)      (cells per frame; p - u(p) is where p's content was a frame earlier)
 * assumed constant over frames, so that every frame's pixels vote for the same three numbers.
 *
 * Each frame's arriving pixels are remembered spread by a Gaussian of width `spread`: per cell the
 * weight W = sum_q G(p - q) and the premultiplied value V = sum_q G(p - q) y(q) [P] (q the pixels that
 * arrived). A candidate path (tx, ty, s) on a grid (translation -radius..radius in steps of `step`,
 * zoom rate -zoom..zoom in `zoomSteps` steps either side of 0) is scored by how well each arriving
 * pixel y(p) matches the pixels that arrived k = 1..`lags` frames earlier where the candidate says
 * p's content was then (p stepped back k times, bilinear reads):
 *   err += sum_k |W_k y(p) - V_k|^2 / W_k      evidence += sum_k W_k
 * err and evidence are accumulated over frames with the factor `memory`; the path is the candidate
 * with the lowest err / evidence, refined by a parabola through its cost and its neighbours' on each
 * axis. The reference is what arrived, not the tracker's estimate: an estimate carried along last
 * frames' velocities holds their errors, and matching against it measures them again.
 * Frames are [P][H][W] planar in 0..1, masks [H][W] (1: the pixel arrived).
 */
import { bilinear, blur, gaussianTaps } from './baselines.js';

export interface CameraPathSettings {
  /** How many earlier frames' arriving pixels each arriving pixel is matched against (>= 1). */
  lags: number;
  /** Factor that keeps last frame's accumulated matching costs (0..1). */
  memory: number;
  /** Spacing of the candidate translations, in cells (the range is the motion's radius). */
  step: number;
  /** Largest zoom rate tried, per frame (0: translation only). */
  zoom: number;
  /** Zoom candidates on each side of 0 (with zoom > 0). */
  zoomSteps: number;
  /** Width of the Gaussian that spreads each frame's arriving pixels into the reference. */
  spread: number;
  /**
   * Where the path is taken (motion.ts): omitted, every cell moves along the path; a number m, a cell
   * keeps its own matched velocity unless its own matching cost at the path's velocity is within a
   * factor 1 + m of its best candidate's (objects moving each their own way keep theirs).
   */
  margin?: number;
}

/** The candidates, the accumulated costs and the last `lags` frames' spread pixels; `params` is the path after the last `match`. */
export class CameraPath {
  /** (tx, ty, s) after the last `match`. */
  readonly params = new Float64Array(3);
  private readonly plane: number;
  private readonly side: number;
  private readonly zoomSide: number;
  /** The candidates (tx, ty, s), [zoom][ty][tx] order. */
  private readonly candidates: Float64Array;
  private readonly err: Float64Array;
  private readonly evidence: Float64Array;
  private readonly taps: Float64Array;
  /** The last `lags` frames' spread pixels, a ring: per slot V [P][H][W] then W [H][W]. */
  private readonly history: Float64Array;
  private readonly input: Float64Array;
  private readonly tmp: Float64Array;
  /** Frames remembered so far. */
  private frames = 0;
  /** match's scratch: each arriving pixel's position under each candidate, [arriving][K][x, y]; grown as needed. */
  private stepped = new Float64Array(0);

  constructor(readonly P: number, readonly width: number, readonly height: number, radius: number, readonly settings: CameraPathSettings) {
    const plane = (this.plane = width * height);
    const side = (this.side = Math.round((2 * radius) / settings.step) + 1);
    const zoomSide = (this.zoomSide = settings.zoom > 0 ? 2 * settings.zoomSteps + 1 : 1);
    this.candidates = new Float64Array(3 * side * side * zoomSide);
    let k = 0;
    for (let z = 0; z < zoomSide; z++) for (let j = 0; j < side; j++) for (let i = 0; i < side; i++) {
      this.candidates[3 * k] = -radius + i * settings.step;
      this.candidates[3 * k + 1] = -radius + j * settings.step;
      this.candidates[3 * k + 2] = zoomSide === 1 ? 0 : settings.zoom * (z / settings.zoomSteps - 1);
      k++;
    }
    this.err = new Float64Array(k);
    this.evidence = new Float64Array(k);
    this.taps = gaussianTaps(settings.spread);
    this.history = new Float64Array(settings.lags * (P + 1) * plane);
    this.input = new Float64Array(plane);
    this.tmp = new Float64Array(plane);
  }

  /** Forgets everything (a new video). */
  reset(): void {
    this.err.fill(0);
    this.evidence.fill(0);
    this.params.fill(0);
    this.frames = 0;
  }

  /** Scores every candidate on this frame's arriving pixels (before `remember` takes them) and updates `params`. */
  match(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, width, height, settings, candidates, err, evidence, history } = this;
    const K = err.length;
    const cx = (width - 1) / 2, cy = (height - 1) / 2;
    for (let k = 0; k < K; k++) {
      err[k]! *= settings.memory;
      evidence[k]! *= settings.memory;
    }
    const lags = Math.min(settings.lags, this.frames);
    // each arriving pixel's position under each candidate, stepped back one frame per lag: [arriving][K] x, y
    let arriving = 0;
    for (let p = 0; p < plane; p++) if (mask[p]) arriving++;
    if (this.stepped.length < 2 * arriving * K) this.stepped = new Float64Array(2 * arriving * K);
    const stepped = this.stepped;
    for (let p = 0, a = 0; p < plane; p++) {
      if (!mask[p]) continue;
      const px = p % width, py = (p - px) / width;
      for (let k = 0; k < K; k++, a++) {
        stepped[2 * a] = px;
        stepped[2 * a + 1] = py;
      }
    }
    for (let lag = 1; lag <= lags; lag++) {
      const values = this.slot(this.frames - lag), weights = values + P * plane;
      for (let p = 0, a = 0; p < plane; p++) {
        if (!mask[p]) continue;
        for (let k = 0; k < K; k++, a++) {
          const tx = candidates[3 * k]!, ty = candidates[3 * k + 1]!, s = candidates[3 * k + 2]!;
          let sx = stepped[2 * a]!, sy = stepped[2 * a + 1]!;
          sx -= tx + s * (sx - cx);
          sy -= ty + s * (sy - cy);
          stepped[2 * a] = sx;
          stepped[2 * a + 1] = sy;
          const w = bilinear(history, weights, width, height, sx, sy);
          if (w <= 1e-6) continue;
          let e = 0;
          for (let c = 0; c < P; c++) {
            const d = frame[c * plane + p]! * w - bilinear(history, values + c * plane, width, height, sx, sy);
            e += d * d;
          }
          err[k]! += e / w;
          evidence[k]! += w;
        }
      }
    }
    this.choose();
  }

  /** Keeps this frame's arriving pixels, spread, as the reference of the next `lags` frames. */
  remember(frame: Float32Array, mask: Uint8Array): void {
    const { P, plane, width, height, history, input, tmp, taps } = this;
    const at = this.slot(this.frames);
    for (let c = 0; c <= P; c++) {
      for (let i = 0; i < plane; i++) input[i] = mask[i] ? (c < P ? frame[c * plane + i]! : 1) : 0;
      blur(input, width, height, taps, tmp, history.subarray(at + c * plane, at + (c + 1) * plane));
    }
    this.frames++;
  }

  /** The path's velocity field into `out` [2][H][W] (x then y). */
  velocity(out: Float32Array): void {
    const { plane, width, height } = this;
    const [tx, ty, s] = this.params;
    const cx = (width - 1) / 2, cy = (height - 1) / 2;
    for (let i = 0; i < plane; i++) {
      const x = i % width, y = (i - x) / width;
      out[i] = tx! + s! * (x - cx);
      out[plane + i] = ty! + s! * (y - cy);
    }
  }

  /** Offset in `history` of frame t's slot. */
  private slot(t: number): number {
    return (t % this.settings.lags) * (this.P + 1) * this.plane;
  }

  /** `params`: the candidate of lowest accumulated err / evidence, refined on each axis (no evidence: 0). */
  private choose(): void {
    const { err, evidence, candidates, side, zoomSide, params, settings } = this;
    const cost = (k: number): number => (evidence[k]! < 1e-9 ? Infinity : err[k]! / evidence[k]!);
    let best = -1, bestCost = Infinity;
    for (let k = 0; k < err.length; k++) {
      const c = cost(k);
      if (c < bestCost) (bestCost = c), (best = k);
    }
    if (best < 0) {
      params.fill(0);
      return;
    }
    // a parabola through the best candidate's cost and its two neighbours on each axis (within half a step)
    const vertex = (lo: number, hi: number): number => {
      const curve = lo - 2 * bestCost + hi;
      return Number.isFinite(curve) && curve > 0 ? Math.max(-0.5, Math.min(0.5, (lo - hi) / (2 * curve))) : 0;
    };
    const bx = best % side, by = Math.floor(best / side) % side, bz = Math.floor(best / (side * side));
    params[0] = candidates[3 * best]!;
    params[1] = candidates[3 * best + 1]!;
    params[2] = candidates[3 * best + 2]!;
    if (bx > 0 && bx < side - 1) params[0]! += settings.step * vertex(cost(best - 1), cost(best + 1));
    if (by > 0 && by < side - 1) params[1]! += settings.step * vertex(cost(best - side), cost(best + side));
    if (bz > 0 && bz < zoomSide - 1) params[2]! += (settings.zoom / settings.zoomSteps) * vertex(cost(best - side * side), cost(best + side * side));
  }
}
