/**
 * A texture (style) loss that needs nothing downloaded: Gram matrices of a FIXED RANDOM multi-scale
 * network over the image's own patches (docs/grow.md#texture). For scale s = 0, 1, 2 (the RGB image
 * average-pooled by 2^s):
 *
 *   patch_n  = the 3 x 3 x RGB patch at pixel n (valid positions only, no padding)   27 values
 *   phi_n    = relu(R_s patch_n + c_s)                                                K features, R_s ~ N(0, 1/27), c_s ~ N(0, 0.1^2)
 *   G_s      = (1/N) sum_n phi_n phi_n^T,   mu_s = (1/N) sum_n phi_n                 K x K, K
 *   L        = sum_s ||G_s - G_s^target||^2 + ||mu_s - mu_s^target||^2
 *
 * Random ReLU features of patches give higher-order statistics than the patches' own Gram (which would
 * only see the power spectrum). Backward: dG = 2 (G - Gt), dmu = 2 (mu - mut);
 * dphi_n = (2/N) dG phi_n + dmu / N (dG symmetric); through the ReLU, then R_s^T, scattered back over
 * the patch, then the pooling's adjoint (each of the 2^s x 2^s cells gets 1/4^s of its pooled cell's gradient).
 * Images are planar RGB [3][H][W]; the network is fixed by its seed.
 */
import { Rng } from '../rng.js';

export interface StyleNetwork {
  scales: number;
  features: number;
  /** Per scale: R [K][27], c [K]. */
  layers: Array<{ R: Float32Array; c: Float32Array }>;
}

export function styleNetwork(seed: number | string = 'style', features = 32, scales = 3): StyleNetwork {
  const rng = new Rng(seed);
  const layers = Array.from({ length: scales }, () => ({ R: rng.normalArray(new Float32Array(features * 27), 0, 1 / Math.sqrt(27)), c: rng.normalArray(new Float32Array(features), 0, 0.1) }));
  return { scales, features, layers };
}

export interface StyleStats {
  /** Per scale: Gram [K][K] and mean [K]. */
  gram: Float64Array[];
  mean: Float64Array[];
}

interface Level {
  rgb: Float64Array;
  width: number;
  height: number;
}

function pyramid(rgb: ArrayLike<number>, width: number, height: number, scales: number): Level[] {
  const levels: Level[] = [{ rgb: Float64Array.from(rgb as ArrayLike<number>), width, height }];
  for (let s = 1; s < scales; s++) {
    const prev = levels[s - 1]!;
    const w = prev.width >> 1, h = prev.height >> 1;
    const out = new Float64Array(3 * w * h);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const P = (yy: number, xx: number) => prev.rgb[c * prev.width * prev.height + yy * prev.width + xx]!;
          out[c * w * h + y * w + x] = (P(2 * y, 2 * x) + P(2 * y, 2 * x + 1) + P(2 * y + 1, 2 * x) + P(2 * y + 1, 2 * x + 1)) / 4;
        }
    levels.push({ rgb: out, width: w, height: h });
  }
  return levels;
}

function patchAt(level: Level, y: number, x: number, out: Float64Array): void {
  const { rgb, width: w, height: h } = level;
  let i = 0;
  for (let c = 0; c < 3; c++) for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) out[i++] = rgb[c * w * h + (y + dy) * w + x + dx]!;
}

/** The features phi [N][K] of one level (N = valid patch positions). */
function features(net: StyleNetwork, s: number, level: Level): { phi: Float64Array; n: number } {
  const K = net.features, { R, c } = net.layers[s]!;
  const pw = level.width - 2, ph = level.height - 2, n = pw * ph;
  const phi = new Float64Array(n * K);
  const patch = new Float64Array(27);
  for (let y = 0; y < ph; y++)
    for (let x = 0; x < pw; x++) {
      patchAt(level, y, x, patch);
      const base = (y * pw + x) * K;
      for (let k = 0; k < K; k++) {
        let v = c[k]!;
        for (let j = 0; j < 27; j++) v += R[k * 27 + j]! * patch[j]!;
        phi[base + k] = v > 0 ? v : 0;
      }
    }
  return { phi, n };
}

export function styleStats(net: StyleNetwork, rgb: ArrayLike<number>, width: number, height: number): StyleStats {
  const K = net.features;
  const levels = pyramid(rgb, width, height, net.scales);
  const gram: Float64Array[] = [], mean: Float64Array[] = [];
  levels.forEach((level, s) => {
    const { phi, n } = features(net, s, level);
    const G = new Float64Array(K * K), mu = new Float64Array(K);
    for (let p = 0; p < n; p++) {
      const f = p * K;
      for (let a = 0; a < K; a++) {
        const va = phi[f + a]!;
        mu[a]! += va / n;
        if (va === 0) continue;
        for (let b = 0; b < K; b++) G[a * K + b]! += (va * phi[f + b]!) / n;
      }
    }
    gram.push(G);
    mean.push(mu);
  });
  return { gram, mean };
}

/** The distance between two images' statistics (the loss without a gradient). */
export function styleDistance(a: StyleStats, b: StyleStats): number {
  let d = 0;
  a.gram.forEach((G, s) => {
    for (let i = 0; i < G.length; i++) d += (G[i]! - b.gram[s]![i]!) ** 2;
    for (let i = 0; i < a.mean[s]!.length; i++) d += (a.mean[s]![i]! - b.mean[s]![i]!) ** 2;
  });
  return d;
}

/** The loss of `rgb` against `target` stats and dL/drgb ([3][H][W], written into `grad`). */
export function styleLossAndGrad(net: StyleNetwork, target: StyleStats, rgb: ArrayLike<number>, width: number, height: number, grad: Float64Array): number {
  const K = net.features;
  const levels = pyramid(rgb, width, height, net.scales);
  const gradLevels = levels.map((l) => new Float64Array(l.rgb.length));
  let loss = 0;
  levels.forEach((level, s) => {
    const { phi, n } = features(net, s, level);
    const G = new Float64Array(K * K), mu = new Float64Array(K);
    for (let p = 0; p < n; p++)
      for (let a = 0; a < K; a++) {
        const va = phi[p * K + a]!;
        mu[a]! += va / n;
        if (va !== 0) for (let b = 0; b < K; b++) G[a * K + b]! += (va * phi[p * K + b]!) / n;
      }
    const dG = new Float64Array(K * K), dmu = new Float64Array(K);
    for (let i = 0; i < K * K; i++) {
      const d = G[i]! - target.gram[s]![i]!;
      loss += d * d;
      dG[i] = 2 * d;
    }
    for (let k = 0; k < K; k++) {
      const d = mu[k]! - target.mean[s]![k]!;
      loss += d * d;
      dmu[k] = 2 * d;
    }
    const { R } = net.layers[s]!;
    const pw = level.width - 2, lw = level.width, plane = level.width * level.height;
    const gl = gradLevels[s]!;
    const dz = new Float64Array(K);
    for (let p = 0; p < n; p++) {
      const f = p * K;
      // dphi = (2/N) dG phi + dmu / N, then the ReLU
      for (let a = 0; a < K; a++) {
        if (phi[f + a]! <= 0) {
          dz[a] = 0;
          continue;
        }
        let v = dmu[a]!;
        for (let b = 0; b < K; b++) v += dG[a * K + b]! * phi[f + b]!;
        dz[a] = (2 * v - dmu[a]!) / n; // dG phi counts twice (G symmetric in phi), dmu once
      }
      const y = Math.floor(p / pw), x = p % pw;
      let j = 0;
      for (let c = 0; c < 3; c++)
        for (let dy = 0; dy < 3; dy++)
          for (let dx = 0; dx < 3; dx++, j++) {
            let v = 0;
            for (let a = 0; a < K; a++) v += R[a * 27 + j]! * dz[a]!;
            gl[c * plane + (y + dy) * lw + x + dx]! += v;
          }
    }
  });
  // the pooling's adjoint, coarse to fine
  for (let s = net.scales - 1; s >= 1; s--) {
    const coarse = levels[s]!, fine = levels[s - 1]!;
    const gc = gradLevels[s]!, gf = gradLevels[s - 1]!;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < coarse.height; y++)
        for (let x = 0; x < coarse.width; x++) {
          const v = gc[c * coarse.width * coarse.height + y * coarse.width + x]! / 4;
          for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) gf[c * fine.width * fine.height + (2 * y + dy) * fine.width + 2 * x + dx]! += v;
        }
  }
  grad.set(gradLevels[0]!);
  return loss;
}
