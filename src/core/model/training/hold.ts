/**
 * The hold term (docs/training.md, "Twins"): an encoder fine-tune asked to move some latents (the twin term's
 * pairs) moves others too, and the latents of music it never sees in pairs can land where the NCAs draw flat
 * fields. The hold term keeps the rest of the batch where the starting encoder (the `initFrom` model's) puts it:
 * the reference encoder runs on the same batch, in the same mode, and for the rows from `from` on (the clips that
 * are not twins)
 *
 *   L = holdWeight x (mean over the held rows of |mu_i - ref_i|^2) / (mean over the batch of |ref_i - mean ref|^2)
 *
 * relative to the reference batch's spread (a constant for the step), as the twin term is to its batch's.
 */
import { batchSpread } from './twins.js';

/**
 * The hold term on the encoder's mu [B][D] against the reference encoder's mu `reference` [B][D] for rows from..B-1.
 * Returns L and its gradient with respect to mu (float32; 0 on the rows before `from`).
 */
export function holdLossAndGrad(mu: Float32Array, reference: Float32Array, dim: number, from: number, weight: number): { loss: number; grad: Float32Array } {
  const B = mu.length / dim;
  if (!Number.isInteger(B) || reference.length !== mu.length || !Number.isInteger(from) || from < 0 || from > B) {
    throw new Error(`holdLossAndGrad: ${mu.length} values of mu, ${reference.length} of the reference, ${dim} dims, rows from ${from}`);
  }
  const grad = new Float32Array(mu.length);
  const held = B - from;
  if (held === 0) return { loss: 0, grad };
  const { spread } = batchSpread(reference, dim);
  if (!(spread > 1e-12)) return { loss: 0, grad };
  let sum = 0;
  const k = (2 * weight) / (held * spread);
  for (let i = from * dim; i < mu.length; i++) {
    const d = mu[i]! - reference[i]!;
    sum += d * d;
    grad[i] = k * d;
  }
  return { loss: Math.fround((weight * sum) / (held * spread)), grad };
}
