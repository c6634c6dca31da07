/**
 * The hold term (docs/training.md, "Twins"): an encoder fine-tune asked to move some latents (the twin term's
 * pairs) moves others too, and the latents of music it never sees in pairs can land where the NCAs draw flat
 * fields. The hold term keeps the rest of the batch where the starting encoder (the `initFrom` model's) puts it:
 * the reference encoder runs on the same batch, in the same mode, and the held rows are the clips the twin term
 * does not pull: not in the batch's pairs, and not in any twin group (with `--twin-sources synth`: every clip that is
 * not the own synthesiser's note; heldRows below)
 *
 *   L = holdWeight x (mean over the held rows of |mu_i - ref_i|^2) / (mean over the batch of |ref_i - mean ref|^2)
 *
 * relative to the reference batch's spread (a constant for the step), as the twin term is to its batch's.
 * (The first hold runs, TWH1 ... TWT3H2 in docs/training.md, held every row after the pairs, twin-group clips included.)
 */
import { batchSpread } from './twins.js';

/**
 * Which rows of a batch the hold term holds (1): those from `pairRows` on whose clip (`indices`, the batch's
 * clip indices) is in no twin group (`twinClips`: every clip of the run's twin groups).
 */
export function heldRows(indices: readonly number[], pairRows: number, twinClips: ReadonlySet<number>): Uint8Array {
  return Uint8Array.from(indices, (clip, row) => (row >= pairRows && !twinClips.has(clip) ? 1 : 0));
}

/**
 * The hold term on the encoder's mu [B][D] against the reference encoder's mu `reference` [B][D] for the rows
 * `held` marks (B values, 1 = held). Returns L and its gradient with respect to mu (float32; 0 on the free rows).
 */
export function holdLossAndGrad(mu: Float32Array, reference: Float32Array, dim: number, held: Uint8Array, weight: number): { loss: number; grad: Float32Array } {
  const B = mu.length / dim;
  if (!Number.isInteger(B) || reference.length !== mu.length || held.length !== B) {
    throw new Error(`holdLossAndGrad: ${mu.length} values of mu, ${reference.length} of the reference, ${dim} dims, ${held.length} rows marked`);
  }
  const grad = new Float32Array(mu.length);
  const count = held.reduce((n, h) => n + (h ? 1 : 0), 0);
  if (count === 0) return { loss: 0, grad };
  const { spread } = batchSpread(reference, dim);
  if (!(spread > 1e-12)) return { loss: 0, grad };
  let sum = 0;
  const k = (2 * weight) / (count * spread);
  for (let b = 0; b < B; b++) {
    if (!held[b]) continue;
    for (let i = b * dim; i < (b + 1) * dim; i++) {
      const d = mu[i]! - reference[i]!;
      sum += d * d;
      grad[i] = k * d;
    }
  }
  return { loss: Math.fround((weight * sum) / (count * spread)), grad };
}
