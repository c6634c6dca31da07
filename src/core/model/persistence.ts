/**
 * Persistence training (issue 7): keeping the learned NCAs alive far beyond the 21 frames the clips
 * show them, with no ground truth.
 *
 * Two pieces:
 * - `StatePool`: a pool of (latent, RGB state) pairs continued across iterations, as in Growing NCA
 *   (Mordvintsev et al. 2020). Each iteration a few entries are replaced by fresh ones (a random
 *   latent z ~ N(0, I) or an encoded clip's mu; a uniform-noise grid, as `nca eval` starts, or a
 *   clip's start frame, tiled on the torus when the pool's grid is larger: `nca train --pool-grid`),
 *   a batch is drawn, run for `steps` frames under the frame protocol, and the final frames are
 *   written back. Entries so reach hundreds to thousands of frames.
 * - `persistenceLoss`: hinge penalties that keep each rollout's frames above floors of the three
 *   things the alive measure (docs/design.md#the-alive-measure, src/core/metrics.ts) looks at:
 *     structure   s_t = mean over RGB of the spatial std of frame t          >= floors.std (or the sample's
 *                 LookTargets.floor: raised with its target wavelength)
 *     smoothness  rho_t = neighbouring-pixel correlation of frame t           >= floors.correlation
 *                 (exactly metrics.ts's: rho = 1 - G / (2 V), G the mean squared difference to the
 *                 right and lower neighbours over 2, V the variance of all RGB values)
 *     motion      D = RMS difference between the mean images of the window's two halves >= floors.drift
 *                 (slow, coherent change; per-frame flicker averages out)
 *   colour      per channel, the frame's mean and spatial std match a target (the style of the latent: the
 *               statistics of its clip's frames, or of the first-frame decoder's picture for a random latent),
 *               so that a latent keeps its colours and contrast long after the frames it was trained on
 *   L = mean over samples of [ mean_t relu(1 - s_t / S)^2 + mean_t relu(R - rho_t)^2 + relu(1 - D / Dmin)^2
 *                              + styleWeight * mean_t mean_c ((m_tc - m*_c)^2 + (sd_tc - sd*_c)^2) ]
 *       (+ the look terms, scale and travel, when StyleTargets.looks is set: see LookTargets)
 *   with its exact gradient with respect to every predicted value (checked by finite differences in
 *   test/persistence.test.ts).
 *
 * The floors come from the training data (32 x 32 circle frames, `nca dataset`): spatial std median
 * 0.125 (10th percentile 0.085), neighbour correlation median 0.85 (10th pct 0.77), mean absolute
 * difference of 10-frame mean images 0.03 (10th pct 0.015).
 */
import type { Rng } from '../rng.js';

export interface PersistenceFloors {
  std: number;
  correlation: number;
  drift: number;
}

export const DEFAULT_FLOORS: PersistenceFloors = { std: 0.08, correlation: 0.8, drift: 0.02 };

export interface PersistenceParts {
  loss: number;
  std: number;
  correlation: number;
  drift: number;
  style: number;
  /** The look terms (look-targets.ts; 0 when off). */
  scale: number;
  travel: number;
}

/**
 * Per-sample targets: colour [B][6] = mean R, G, B then spatial std R, G, B, `weight` [B] (0 = no colour
 * target); optionally the look terms of look-targets.ts.
 */
export interface StyleTargets {
  target: Float32Array;
  weight: Float32Array;
  /** Multiplies the style term (default 10). */
  scale?: number;
  /** The look terms (issue 14, look-targets.ts); absent or weight 0 = off. */
  looks?: LookTargets;
}

/**
 * Scale: (log(1 - rho) - scale[b])^2, rho the smoothness floor's neighbour correlation, averaged over frames,
 * times scaleWeight.
 * Travel: for each sample with a shift (dx, dy) != (0, 0), frame t + lag should be frame t moved by (dx, dy)
 * on the torus: mean (x_{t+lag}(p) - x_t(p - d))^2 / (2 V), V the mean of the two frames' spatial variances
 * (per channel, then averaged: so the term neither rewards fading nor sees colour), averaged over the pairs,
 * times travelWeight.
 */
export interface LookTargets {
  /** [B] target of log(1 - rho) (look-targets.ts' scaleTarget; NaN = none). */
  scale: Float32Array;
  scaleWeight: number;
  /** [B][2] shift in cells per `lag` frames (0, 0 = none). */
  travel: Float32Array;
  travelWeight: number;
  lag: number;
  /**
   * [B] each sample's structure floor (spatial std), in place of floors.std: look-targets.ts' structureFloor,
   * raised with the target wavelength (`nca train --floor-std-power`); absent = floors.std for every sample.
   */
  floor?: Float32Array;
}

/** The shape of a pool rollout's frames: [steps][batch][3][height][width]. */
export interface RolloutShape {
  steps: number;
  batch: number;
  width: number;
  height: number;
}

/** The style of frames [n][3][H][W]: mean and spatial std per channel, averaged over the n frames -> [6]. */
export function frameStyle(frames: Float32Array, n: number, plane: number, out: Float32Array = new Float32Array(6)): Float32Array {
  out.fill(0);
  for (let f = 0; f < n; f++) {
    for (let c = 0; c < 3; c++) {
      let s1 = 0, s2 = 0;
      for (let i = (f * 3 + c) * plane, end = i + plane; i < end; i++) {
        const v = frames[i]!;
        s1 += v;
        s2 += v * v;
      }
      const m = s1 / plane;
      out[c]! += m / n;
      out[3 + c]! += Math.sqrt(Math.max(0, s2 / plane - m * m)) / n;
    }
  }
  return out;
}

/**
 * The loss and dL/dpred for pred [T][B][3][H][W] (values 0..1): see the module comment.
 * `parts` holds the three penalties' means (for the log).
 */
export function persistenceLoss(
  pred: Float32Array,
  shape: RolloutShape,
  floors: PersistenceFloors = DEFAULT_FLOORS,
  style?: StyleTargets,
): { loss: number; grad: Float32Array; parts: PersistenceParts } {
  const { steps: T, batch: B, width: W, height: H } = shape;
  const N = W * H;
  const frame = 3 * N;
  if (pred.length !== T * B * frame) throw new Error(`persistenceLoss: ${pred.length} values, expected ${T * B * frame}`);
  const grad = new Float32Array(pred.length);
  const parts = { std: 0, correlation: 0, drift: 0, style: 0, scale: 0, travel: 0 };
  const styleScale = style?.scale ?? 10;
  const looks = style?.looks;
  const half = Math.floor(T / 2);
  const meanA = new Float64Array(frame), meanB = new Float64Array(frame);
  /**
   * Per frame of the current sample: each channel's mean [T][3] and the mean over channels of their spatial
   * variances [T] (the look terms' V: colour-blind, unlike the smoothness floor's variance of all RGB values,
   * which a colour offset between channels raises).
   */
  const frameMean = new Float64Array(T * 3), frameVar = new Float64Array(T);
  /** The smoothness floor's mean of all RGB values, once per channel (its gradient's `means`). */
  const pooledMean = new Float64Array(3);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (t * B + b) * frame;
      // structure: s = mean_c sqrt(var_c)
      let s = 0;
      const m = [0, 0, 0], sd = [0, 0, 0];
      for (let c = 0; c < 3; c++) {
        let s1 = 0, s2 = 0;
        for (let i = o + c * N; i < o + (c + 1) * N; i++) {
          const v = pred[i]!;
          s1 += v;
          s2 += v * v;
        }
        m[c] = s1 / N;
        sd[c] = Math.sqrt(Math.max(1e-12, s2 / N - m[c]! * m[c]!));
        s += sd[c]! / 3;
      }
      const ws = style ? style.weight[b]! * styleScale : 0;
      if (ws > 0) {
        // colour: (m_c - m*)^2 + (sd_c - sd*)^2, averaged over channels and frames
        const k = ws / (3 * T * B);
        for (let c = 0; c < 3; c++) {
          const dm = m[c]! - style!.target[b * 6 + c]!, ds = sd[c]! - style!.target[b * 6 + 3 + c]!;
          parts.style += k * (dm * dm + ds * ds);
          const gm = (2 * k * dm) / N, gs = (2 * k * ds) / (N * sd[c]!);
          for (let i = o + c * N; i < o + (c + 1) * N; i++) grad[i]! += gm + gs * (pred[i]! - m[c]!);
        }
      }
      const floorStd = looks?.floor ? looks.floor[b]! : floors.std;
      const gapStd = 1 - s / floorStd;
      if (gapStd > 0) {
        parts.std += (gapStd * gapStd) / (T * B);
        // dL/ds = -2 gap / S / (T B); ds/dx = (x - m_c) / (3 N sd_c)
        const dLds = (-2 * gapStd) / floorStd / (T * B);
        for (let c = 0; c < 3; c++) {
          const k = dLds / (3 * N * sd[c]!);
          for (let i = o + c * N; i < o + (c + 1) * N; i++) grad[i]! += k * (pred[i]! - m[c]!);
        }
      }
      // smoothness: rho = 1 - G / (2 V) over all RGB values (torus neighbours)
      let sum = 0, sum2 = 0, G = 0;
      for (let c = 0; c < 3; c++) {
        const p = o + c * N;
        for (let y = 0; y < H; y++) {
          const row = p + y * W, down = p + ((y + 1) % H) * W;
          for (let x = 0; x < W; x++) {
            const v = pred[row + x]!;
            const r = pred[row + ((x + 1) % W)]!, d = pred[down + x]!;
            sum += v;
            sum2 += v * v;
            G += (v - r) * (v - r) + (v - d) * (v - d);
          }
        }
      }
      const M = sum / frame;
      const V = sum2 / frame - M * M;
      frameMean.set(m, 3 * t);
      frameVar[t] = (sd[0]! ** 2 + sd[1]! ** 2 + sd[2]! ** 2) / 3;
      G /= 2 * frame;
      const scaleTarget = looks && looks.scaleWeight > 0 ? looks.scale[b]! : NaN;
      if (frameVar[t]! > 1e-6 && G > 1e-9 && Number.isFinite(scaleTarget)) scaleTerm(pred, o, W, H, frameMean.subarray(3 * t, 3 * t + 3), frameVar[t]!, G, scaleTarget, looks!.scaleWeight / (T * B), grad, parts);
      if (V > 1e-6) {
        const rho = 1 - G / (2 * V);
        const gapRho = floors.correlation - rho;
        if (gapRho > 0) {
          parts.correlation += (gapRho * gapRho) / (T * B);
          // dL/drho = -2 gap / (T B); drho/dx_j = -(1/(2V)) dG/dx_j + G/(2V^2) dV/dx_j
          // dG/dx_j = (4 x_j - x_r - x_l - x_d - x_u) / frame;  dV/dx_j = 2 (x_j - M) / frame
          const dLdrho = (-2 * gapRho) / (T * B);
          const kG = (dLdrho * -1) / (2 * V) / frame;
          const kV = (dLdrho * G) / (2 * V * V) * (2 / frame);
          addLaplacianGradient(pred, o, W, H, kG, kV, pooledMean.fill(M), grad);
        }
      }
    }
    if (looks && looks.travelWeight > 0) travelTerm(pred, b, shape, looks, frameMean, frameVar, grad, parts);
    // motion: D = sqrt(mean (meanB - meanA)^2) between the window's halves
    if (half >= 1 && T - half >= 1) {
      meanA.fill(0);
      meanB.fill(0);
      for (let t = 0; t < T; t++) {
        const o = (t * B + b) * frame;
        const target = t < half ? meanA : meanB;
        const w = 1 / (t < half ? half : T - half);
        for (let i = 0; i < frame; i++) target[i]! += w * pred[o + i]!;
      }
      let d2 = 0;
      for (let i = 0; i < frame; i++) d2 += (meanB[i]! - meanA[i]!) ** 2;
      const D = Math.sqrt(d2 / frame + 1e-12);
      const gapD = 1 - D / floors.drift;
      if (gapD > 0) {
        parts.drift += (gapD * gapD) / B;
        // dL/dD = -2 gap / Dmin / B; dD/dmeanB_i = (meanB_i - meanA_i) / (frame D)
        const k = (-2 * gapD) / floors.drift / B / (frame * D);
        for (let t = 0; t < T; t++) {
          const o = (t * B + b) * frame;
          const w = t < half ? -1 / half : 1 / (T - half);
          for (let i = 0; i < frame; i++) grad[o + i]! += k * w * (meanB[i]! - meanA[i]!);
        }
      }
    }
  }
  const loss = parts.std + parts.correlation + parts.drift + parts.style + parts.scale + parts.travel;
  return { loss, grad, parts: { loss, ...parts } };
}

/**
 * The scale term of one frame (at `o` in pred, W x H; m [3] its channels' means, V the mean of their spatial
 * variances, G its mean squared neighbour difference over 2 as the smoothness floor computes it): k (s -
 * target)^2 with s = log(1 - rho) = log(G / (2 V)), rho the neighbour correlation of each channel about its
 * own mean (so colour does not enter); adds its gradient to grad:
 * ds/dx_j = (dG/dx_j) / G - (dV/dx_j) / V, dG/dx_j = lap(x)_j / frame, dV/dx_j = 2 (x_j - m_c) / frame.
 */
function scaleTerm(pred: Float32Array, o: number, W: number, H: number, m: Float64Array, V: number, G: number, target: number, k: number, grad: Float32Array, parts: { scale: number }): void {
  const N = W * H, frame = 3 * N;
  const gap = Math.log(G / (2 * V)) - target;
  parts.scale += k * gap * gap;
  const kG = (2 * k * gap) / (frame * G), kV = (-2 * k * gap * 2) / (frame * V);
  addLaplacianGradient(pred, o, W, H, kG, kV, m, grad);
}

/**
 * grad += kG lap(x) + kV (x - mean_c) over the frame at `o` in pred ([3][H][W], torus neighbours): the shape of
 * the gradient of anything built from the neighbour differences G and a variance (the smoothness floor, the
 * scale term). lap(x)_j = 4 x_j - its four neighbours; `means` [3] per channel.
 */
function addLaplacianGradient(pred: Float32Array, o: number, W: number, H: number, kG: number, kV: number, means: ArrayLike<number>, grad: Float32Array): void {
  const N = W * H;
  for (let c = 0; c < 3; c++) {
    const p = o + c * N, mean = means[c]!;
    for (let y = 0; y < H; y++) {
      const row = p + y * W, down = p + ((y + 1) % H) * W, up = p + ((y + H - 1) % H) * W;
      for (let x = 0; x < W; x++) {
        const v = pred[row + x]!;
        const lap = 4 * v - pred[row + ((x + 1) % W)]! - pred[row + ((x + W - 1) % W)]! - pred[down + x]! - pred[up + x]!;
        grad[row + x]! += kG * lap + kV * (v - mean);
      }
    }
  }
}

/**
 * The travel term of sample b (LookTargets): adds its value to parts.travel and its gradient to grad.
 * Per pair: E = S / (2 V frame), S the sum of squared differences, V = (V_t + V_{t+lag}) / 2;
 * dE/dx = dS/dx / (2 V frame) - E / V dV/dx, dV/dx_j = (x_j - m_c) / frame for the values of either frame.
 */
function travelTerm(pred: Float32Array, b: number, shape: RolloutShape, looks: LookTargets, frameMean: Float64Array, frameVar: Float64Array, grad: Float32Array, parts: { travel: number }): void {
  const { steps: T, batch: B, width: W, height: H } = shape;
  const dx = looks.travel[2 * b]!, dy = looks.travel[2 * b + 1]!, lag = looks.lag;
  if ((dx === 0 && dy === 0) || lag < 1 || T - lag < 1) return;
  const N = W * H, frame = 3 * N, pairs = T - lag;
  const k = looks.travelWeight / (pairs * B);
  for (let t = 0; t < pairs; t++) {
    const a = (t * B + b) * frame, later = ((t + lag) * B + b) * frame;
    const V = (frameVar[t]! + frameVar[t + lag]!) / 2;
    if (V < 1e-6) continue;
    const scale = k / (frame * 2 * V);
    let e = 0;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < H; y++) {
        const ys = (y - dy + H) % H;
        for (let x = 0; x < W; x++) {
          const xs = (x - dx + W) % W;
          const i = later + c * N + y * W + x, j = a + c * N + ys * W + xs;
          const diff = pred[i]! - pred[j]!;
          e += diff * diff;
          grad[i]! += 2 * scale * diff;
          grad[j]! -= 2 * scale * diff;
        }
      }
    }
    const E = scale * e;
    parts.travel += E;
    // the variance's share: -E / V x (x_j - m_c) / frame over both frames' values
    const kv = -E / V / frame;
    for (const [o, f] of [[a, t], [later, t + lag]] as const) {
      for (let c = 0; c < 3; c++) {
        const mc = frameMean[3 * f + c]!;
        for (let i = o + c * N, end = i + N; i < end; i++) grad[i]! += kv * (pred[i]! - mc);
      }
    }
  }
}

/** How fresh pool entries are made. */
export interface PoolSettings {
  /** Entries in the pool. */
  size: number;
  /** Entries run per iteration. */
  batch: number;
  /** Frames per iteration. */
  steps: number;
  /** Entries of each iteration's batch replaced by fresh ones first. */
  reset: number;
  /**
   * An entry whose written-back frame has a spatial std (the mean over RGB) under this is emptied, so the
   * next draw of it refills it: a fading state is trained on from its start again rather than as a dead one
   * (0 or absent = off).
   */
  fadeStd?: number;
  /**
   * 0..1: the chance that a refilled entry takes one of the encoded clips' latents rather than a random
   * N(0, I) one (absent = 0.5). Only when encoded latents are given; the draw uses the rng the same way at
   * every share, so the default reproduces earlier runs.
   */
  encodedShare?: number;
}

export const DEFAULT_POOL: PoolSettings = { size: 128, batch: 8, steps: 16, reset: 2 };

/**
 * A pool of (z [64], rgb [3][H][W]) states continued across iterations. Deterministic for a given
 * sequence of Rngs; its arrays go into the training checkpoint so a resumed run draws the same.
 */
export class StatePool {
  /** [size][dim] latents, [size][3][H][W] RGB states, [size] frames each entry has run. */
  readonly z: Float32Array;
  readonly rgb: Float32Array;
  readonly age: Float32Array;
  /** [size][6] colour targets (frameStyle) and [size] their weights (0 = none yet). */
  readonly style: Float32Array;
  readonly styled: Float32Array;
  /** [size] 1 where the entry's latent is an encoded clip's, 0 where it is a random one. */
  readonly fromClip: Float32Array;
  private readonly frame: number;

  constructor(readonly settings: PoolSettings, readonly dim: number, readonly width: number, readonly height: number, arrays?: { z: Float32Array; rgb: Float32Array; age: Float32Array; style?: Float32Array; styled?: Float32Array; fromClip?: Float32Array }) {
    this.frame = 3 * width * height;
    this.z = arrays?.z ?? new Float32Array(settings.size * dim);
    this.rgb = arrays?.rgb ?? new Float32Array(settings.size * this.frame);
    this.age = arrays?.age ?? new Float32Array(settings.size).fill(-1); // -1: never filled
    this.style = arrays?.style ?? new Float32Array(settings.size * 6);
    this.styled = arrays?.styled ?? new Float32Array(settings.size);
    this.fromClip = arrays?.fromClip ?? new Float32Array(settings.size); // checkpoints from before it: all random
    if (this.z.length !== settings.size * dim || this.rgb.length !== settings.size * this.frame || this.age.length !== settings.size) throw new Error('StatePool: arrays do not match the settings');
  }

  /**
   * Draw this iteration's entries: `batch` distinct indices; empty entries and the first `reset`
   * drawn ones are refilled (a latent: N(0, I) or, with chance settings.encodedShare, one of `encoded.z`
   * [n][dim] with its style `encoded.style` [n][6]; a grid: uniform noise or one of `startFrames` [n][3][h][w], tiled on the
   * pool's torus when its size `startSize` (default: the pool's) differs), each choice a coin flip.
   * Returns the picks and the refilled entries with a random latent (they have no style yet: the
   * caller sets one with setStyle).
   */
  draw(rng: Rng, encoded: { z: Float32Array; style: Float32Array }, startFrames: Float32Array, startSize: { width: number; height: number } = this): { picks: number[]; freshRandom: number[] } {
    const { size, batch, reset } = this.settings;
    const picks: number[] = [];
    const taken = new Set<number>();
    while (picks.length < batch) {
      const i = rng.int(size);
      if (taken.has(i)) continue;
      taken.add(i);
      picks.push(i);
    }
    const startFrame = 3 * startSize.width * startSize.height;
    const nEncoded = encoded.z.length / this.dim, nFrames = startFrames.length / startFrame;
    const freshRandom: number[] = [];
    picks.forEach((i, k) => {
      if (k >= reset && this.age[i]! >= 0) return;
      const z = this.z.subarray(i * this.dim, (i + 1) * this.dim);
      if (nEncoded > 0 && rng.uniform() < (this.settings.encodedShare ?? 0.5)) {
        const j = rng.int(nEncoded);
        z.set(encoded.z.subarray(j * this.dim, (j + 1) * this.dim));
        this.setStyle(i, encoded.style.subarray(j * 6, (j + 1) * 6));
        this.fromClip[i] = 1;
      } else {
        rng.normalArray(z);
        this.styled[i] = 0;
        this.fromClip[i] = 0;
        freshRandom.push(i);
      }
      const grid = this.rgb.subarray(i * this.frame, (i + 1) * this.frame);
      if (nFrames > 0 && rng.uniform() < 0.5) {
        const j = rng.int(nFrames);
        tileFrame(startFrames.subarray(j * startFrame, (j + 1) * startFrame), startSize, grid, this);
      } else rng.fillUniform(grid);
      this.age[i] = 0;
    });
    return { picks, freshRandom };
  }

  setStyle(i: number, style: Float32Array): void {
    this.style.set(style.subarray(0, 6), i * 6);
    this.styled[i] = 1;
  }

  /** The drawn entries' latents [batch][dim] and grids [batch][3][H][W]. */
  gather(picks: readonly number[]): { z: Float32Array; rgb: Float32Array; style: StyleTargets } {
    const z = new Float32Array(picks.length * this.dim), rgb = new Float32Array(picks.length * this.frame);
    const style = { target: new Float32Array(picks.length * 6), weight: new Float32Array(picks.length) };
    picks.forEach((i, k) => {
      style.target.set(this.style.subarray(i * 6, (i + 1) * 6), k * 6);
      style.weight[k] = this.styled[i]!;
      z.set(this.z.subarray(i * this.dim, (i + 1) * this.dim), k * this.dim);
      rgb.set(this.rgb.subarray(i * this.frame, (i + 1) * this.frame), k * this.frame);
    });
    return { z, rgb, style };
  }

  /**
   * Write back the last frames [batch][3][H][W] of the drawn entries after `frames` more frames; with
   * settings.fadeStd, an entry whose frame has faded under it is emptied (age -1: the next draw refills it).
   */
  update(picks: readonly number[], last: Float32Array, frames: number): void {
    const fadeStd = this.settings.fadeStd ?? 0;
    const stats = new Float32Array(6);
    picks.forEach((i, k) => {
      const frame = last.subarray(k * this.frame, (k + 1) * this.frame);
      this.rgb.set(frame, i * this.frame);
      this.age[i]! += frames;
      if (fadeStd > 0) {
        frameStyle(frame, 1, this.width * this.height, stats);
        if ((stats[3]! + stats[4]! + stats[5]!) / 3 < fadeStd) this.age[i] = -1;
      }
    });
  }
}

/**
 * Writes the frame `src` [3][h][w] tiled on the torus into `dst` [3][H][W]: dst(y, x) = src(y mod h, x mod w),
 * so a pool grid larger than the clips starts from its clip's picture repeated (cropped where it does not
 * divide), and a pool grid of the clips' size from the picture itself.
 */
export function tileFrame(src: Float32Array, from: { width: number; height: number }, dst: Float32Array, to: { width: number; height: number }): void {
  const { width: w, height: h } = from, { width: W, height: H } = to;
  if (src.length !== 3 * w * h || dst.length !== 3 * W * H) throw new Error(`tileFrame: ${src.length} -> ${dst.length} values for ${w} x ${h} -> ${W} x ${H}`);
  if (w === W && h === H) {
    dst.set(src);
    return;
  }
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < H; y++) {
      const row = (c * h + (y % h)) * w, out = (c * H + y) * W;
      for (let x = 0; x < W; x++) dst[out + x] = src[row + (x % w)]!;
    }
  }
}
