/**
 * Image quality of a reconstruction against its source frame, both [P][H][W] planar in 0..1
 * (estimates are clamped to 0..1 first, as a written frame would be).
 *
 * - PSNR = 10 log10(1 / MSE) over every pixel and channel (dB; Infinity for identical frames).
 * - SSIM (Wang, Bovik, Sheikh & Simoncelli 2004): a Gaussian window of sigma 1.5 truncated to 11 x 11,
 *   C1 = (0.01)^2, C2 = (0.03)^2 for a dynamic range of 1, averaged over the positions where the whole
 *   window fits (frames smaller than 11 cells use the largest odd window that fits) and over channels.
 */
import { median } from '../stats.js';

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

export function psnr(estimate: Float32Array, source: Float32Array): number {
  if (estimate.length !== source.length) throw new RangeError('psnr: frames of different sizes');
  let sse = 0;
  for (let i = 0; i < source.length; i++) {
    const e = clamp01(estimate[i]!) - source[i]!;
    sse += e * e;
  }
  const mse = sse / source.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

export function ssim(estimate: Float32Array, source: Float32Array, width: number, height: number): number {
  const plane = width * height;
  if (estimate.length !== source.length || source.length % plane !== 0) throw new RangeError('ssim: frames of different sizes');
  const P = source.length / plane;
  const side = Math.min(11, width - ((width + 1) % 2), height - ((height + 1) % 2));
  const r = (side - 1) / 2;
  const w1 = new Float64Array(side);
  let total = 0;
  for (let d = -r; d <= r; d++) total += (w1[d + r] = Math.exp(-(d * d) / (2 * 1.5 * 1.5)));
  for (let d = 0; d < side; d++) w1[d]! /= total;
  const C1 = 0.01 ** 2, C2 = 0.03 ** 2;
  let sum = 0, n = 0;
  for (let c = 0; c < P; c++) {
    const off = c * plane;
    for (let y = r; y < height - r; y++) {
      for (let x = r; x < width - r; x++) {
        let mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            const w = w1[dy + r]! * w1[dx + r]!;
            const i = off + (y + dy) * width + x + dx;
            const a = clamp01(estimate[i]!), b = source[i]!;
            mx += w * a;
            my += w * b;
            xx += w * a * a;
            yy += w * b * b;
            xy += w * a * b;
          }
        }
        const vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
        sum += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
        n++;
      }
    }
  }
  return sum / n;
}

/** Per-frame PSNR and SSIM of a sequence of estimates, their means and the PSNR's median over frames (dB). */
export interface QualityReport {
  psnr: number[];
  ssim: number[];
  meanPsnr: number;
  medianPsnr: number;
  meanSsim: number;
}

export function quality(estimates: readonly Float32Array[], sources: readonly Float32Array[], width: number, height: number): QualityReport {
  const p = estimates.map((e, t) => psnr(e, sources[t]!));
  const s = estimates.map((e, t) => ssim(e, sources[t]!, width, height));
  const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
  const capped = p.map((v) => Math.min(v, 100));
  return { psnr: p, ssim: s, meanPsnr: mean(capped), medianPsnr: median(capped), meanSsim: mean(s) };
}
