/**
 * A plain-loop growing-NCA step, the reference the onnxruntime graphs are tested against (small grids
 * only: no speed). Same formulas as graph.ts; float64 accumulation.
 */
import { ALIVE_THRESHOLD, ALPHA, GROW_CHANNELS, HIDDEN, PERCEPTION, type GrowWeights } from './params.js';
import { PERCEPTION_KERNELS } from './graph.js';
import type { GridShape } from './rollout.js';

function aliveMask(state: ArrayLike<number>, b: number, H: number, W: number): Uint8Array {
  const out = new Uint8Array(H * W);
  const base = (b * GROW_CHANNELS + ALPHA) * H * W;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let m = -Infinity;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy, xx = x + dx;
          if (yy >= 0 && yy < H && xx >= 0 && xx < W) m = Math.max(m, state[base + yy * W + xx]!);
        }
      out[y * W + x] = m > ALIVE_THRESHOLD ? 1 : 0;
    }
  return out;
}

/** One step: state [B][16][H][W], mask [B][1][H][W] -> the next state, in float64 (finite differences need it). */
export function referenceStep(state: ArrayLike<number>, mask: ArrayLike<number>, w: GrowWeights, shape: GridShape): Float64Array {
  const { batch, height: H, width: W } = shape;
  const HW = H * W;
  const next = new Float64Array(state.length);
  const p = new Float64Array(PERCEPTION);
  const h = new Float64Array(HIDDEN);
  for (let b = 0; b < batch; b++) {
    const pre = aliveMask(state, b, H, W);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < GROW_CHANNELS; c++)
          for (let k = 0; k < 3; k++) {
            let s = 0;
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const yy = y + ky - 1, xx = x + kx - 1;
                if (yy >= 0 && yy < H && xx >= 0 && xx < W) s += PERCEPTION_KERNELS[k]![ky * 3 + kx]! * state[(b * GROW_CHANNELS + c) * HW + yy * W + xx]!;
              }
            p[3 * c + k] = s;
          }
        for (let o = 0; o < HIDDEN; o++) {
          let s = w.b1[o]!;
          for (let i = 0; i < PERCEPTION; i++) s += w.w1[o * PERCEPTION + i]! * p[i]!;
          h[o] = s > 0 ? s : 0;
        }
        const m = mask[b * HW + y * W + x]!;
        for (let o = 0; o < GROW_CHANNELS; o++) {
          let s = w.b2[o]!;
          for (let i = 0; i < HIDDEN; i++) s += w.w2[o * HIDDEN + i]! * h[i]!;
          const idx = (b * GROW_CHANNELS + o) * HW + y * W + x;
          next[idx] = state[idx]! + s * m;
        }
      }
    const post = aliveMask(next, b, H, W);
    for (let c = 0; c < GROW_CHANNELS; c++) for (let i = 0; i < HW; i++) next[(b * GROW_CHANNELS + c) * HW + i]! *= pre[i]! * post[i]!;
  }
  return next;
}
