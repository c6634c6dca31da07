import { UserError, requireInt } from '../errors.js';
import { CHANNELS, requireParams, type NcaParams } from './params.js';

/**
 * One NCA step, written to be obviously right (tests only; ~1000x slower than the engine):
 *   h  = relu(conv3x3_circular(x, w1) + b1)
 *   x' = x + conv3x3_circular(h, w2) + b2
 * `x` is one grid, Float32Array [16][H][W] (CHW). Returns x' in float64-accumulated float32.
 */
export function referenceStep(params: NcaParams, x: Float32Array, width: number, height: number): Float32Array {
  params = requireParams('params', params);
  requireInt('width', width, 1, 16384);
  requireInt('height', height, 1, 16384);
  if (!(x instanceof Float32Array) || x.length !== CHANNELS * width * height) throw new UserError(`x must be a Float32Array of ${CHANNELS * width * height} numbers ([${CHANNELS}][${height}][${width}])`);
  const h = conv3x3Circular(x, params.w1, params.b1, width, height);
  for (let i = 0; i < h.length; i++) h[i] = Math.max(0, h[i]!);
  const d = conv3x3Circular(h, params.w2, params.b2, width, height);
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = x[i]! + d[i]!;
  return out;
}

/** y[o][y][x] = b[o] + sum_{i,ky,kx} w[o][i][ky][kx] * x[i][(y+ky-1) mod H][(x+kx-1) mod W] (cross-correlation, as in Conv2d). */
export function conv3x3Circular(x: Float32Array, w: Float32Array, b: Float32Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(CHANNELS * plane);
  for (let o = 0; o < CHANNELS; o++) {
    for (let yy = 0; yy < height; yy++) {
      for (let xx = 0; xx < width; xx++) {
        let acc = b[o]!;
        for (let i = 0; i < CHANNELS; i++) {
          for (let ky = 0; ky < 3; ky++) {
            const sy = (yy + ky - 1 + height) % height;
            for (let kx = 0; kx < 3; kx++) {
              const sx = (xx + kx - 1 + width) % width;
              acc += w[((o * CHANNELS + i) * 3 + ky) * 3 + kx]! * x[i * plane + sy * width + sx]!;
            }
          }
        }
        out[o * plane + yy * width + xx] = acc;
      }
    }
  }
  return out;
}

export function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}
