/**
 * The tutorial's loss: MSE between the visible state clamp(x[:, 0..3], 0, 1) and the RGBA target
 * (premultiplied alpha), averaged over batch, 4 channels and pixels; and its gradient on the state.
 * Shapes: state [B][16][H][W], target [4][H][W] (the same for every sample).
 */
import { GROW_CHANNELS } from './params.js';

/** Per-sample MSE of the visible channels (each over 4 x H x W). */
export function perSampleLoss(state: ArrayLike<number>, target: Float32Array, batch: number): Float64Array {
  const plane4 = target.length, stride = (plane4 / 4) * GROW_CHANNELS;
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let s = 0;
    const base = b * stride;
    for (let i = 0; i < plane4; i++) {
      const v = state[base + i]!;
      const d = (v < 0 ? 0 : v > 1 ? 1 : v) - target[i]!;
      s += d * d;
    }
    out[b] = s / plane4;
  }
  return out;
}

/**
 * The batch loss (the mean of perSampleLoss) and dL/dstate written into `grad` (zero on the hidden
 * channels; the clamp passes the gradient where 0 <= x <= 1, as PyTorch's clamp does). With `raw` the
 * gradient is that of the unclamped MSE (the Growing-NCA notebook's loss); the loss returned is the
 * clamped one either way.
 */
export function lossAndGrad(state: Float32Array, target: Float32Array, batch: number, grad: Float32Array, raw = false): { loss: number; perSample: Float64Array } {
  const plane4 = target.length, stride = (plane4 / 4) * GROW_CHANNELS;
  grad.fill(0);
  const scale = 2 / (plane4 * batch);
  const perSample = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    const base = b * stride;
    let s = 0;
    for (let i = 0; i < plane4; i++) {
      const v = state[base + i]!;
      const c = v < 0 ? 0 : v > 1 ? 1 : v;
      const d = c - target[i]!;
      s += d * d;
      grad[base + i] = raw ? scale * (v - target[i]!) : v >= 0 && v <= 1 ? scale * d : 0;
    }
    perSample[b] = s / plane4;
  }
  let loss = 0;
  for (const l of perSample) loss += l / batch;
  return { loss, perSample };
}
