/**
 * Twins: two renderings of one note (docs/training.md, "Twins"). The dataset plays each of the own
 * synthesiser's notes at several velocities and lengths, and many soundfont notes more than once (other
 * velocities and augmentations); the encoder should give such clips one place in latent space, since a
 * listener hears one note of one instrument. The twin term (`twinWeight`) pulls the encoder's mu of the
 * two clips of a pair together, relative to how far apart the batch's latents lie:
 *
 *   L = twinWeight x (mean over pairs of |mu_a - mu_b|^2) / (mean over the batch of |mu_i - mean mu|^2)
 *
 * With it on, the first 2 x twinPairs(B) slots of each batch are pairs of twins (a, b, a, b, ...) drawn
 * from the training clips, the rest drawn as before.
 */
import type { Rng } from '../../rng.js';

/** What says which note a clip plays (the dataset manifest's fields; clips without them have no twins). */
export interface TwinLabels {
  source?: string;
  instrument?: string;
  program?: number;
  kind?: string;
  midi?: number;
}

/** The note a clip plays as a key (instrument or program, and MIDI note), or null: chords, phrases, files. */
export function noteKey(c: TwinLabels): string | null {
  if (c.midi === undefined) return null;
  if (c.source === 'synth' && c.instrument !== undefined) return `synth/${c.instrument}/${c.midi}`;
  if (c.source === 'soundfont' && c.kind === 'note' && c.program !== undefined) return `gm${c.program}/${c.midi}`;
  return null;
}

/** Which notes make twins: every note played more than once, or the own synthesiser's only. */
export type TwinSources = 'all' | 'synth';
export const TWIN_SOURCES: readonly TwinSources[] = ['all', 'synth'];

/**
 * The clips of `indices` grouped by the note they play, groups of two or more only (in first-seen order);
 * with `sources` 'synth', the own synthesiser's notes only.
 */
export function twinGroups(clips: ReadonlyArray<TwinLabels>, indices: readonly number[], sources: TwinSources = 'all'): number[][] {
  const byKey = new Map<string, number[]>();
  for (const i of indices) {
    const clip = clips[i] ?? {};
    const key = sources === 'synth' && clip.source !== 'synth' ? null : noteKey(clip);
    if (key === null) continue;
    const group = byKey.get(key);
    if (group) group.push(i);
    else byKey.set(key, [i]);
  }
  return [...byKey.values()].filter((g) => g.length >= 2);
}

/** The pairs of twins in a batch of B clips: a quarter of it (half its slots), none under 4. */
export function twinPairs(batch: number): number {
  return Math.floor(batch / 4);
}

/** `pairs` pairs of twins [a0, b0, a1, b1, ...]: a group drawn uniformly, then two different clips of it. */
export function drawTwins(rng: Rng, groups: ReadonlyArray<readonly number[]>, pairs: number): number[] {
  if (groups.length === 0) throw new Error('drawTwins: no note is played twice');
  const out: number[] = [];
  for (let p = 0; p < pairs; p++) {
    const g = groups[rng.int(groups.length)]!;
    const a = rng.int(g.length);
    const b = (a + 1 + rng.int(g.length - 1)) % g.length;
    out.push(g[a]!, g[b]!);
  }
  return out;
}

/**
 * The twin term on the encoder's mu [B][D] whose first 2 x pairs rows are pairs of twins: the weighted mean
 * squared distance over pairs, T, relative to the batch's spread, V (the mean squared distance of the B rows to
 * their mean): L = weight x T / V. Relative, so that the encoder cannot lower it by shrinking every latent
 * towards 0 (the plain T can: it pulls the free dims of every note in, and with them what tells instruments and
 * notes apart). Returns L and its gradient with respect to mu (float32).
 */
/** The mean of the B rows of x [B][dim] and their spread: the mean squared distance of a row to that mean. */
export function batchSpread(x: Float32Array, dim: number): { mean: Float64Array; spread: number } {
  const B = x.length / dim;
  const mean = new Float64Array(dim);
  for (let b = 0; b < B; b++) for (let d = 0; d < dim; d++) mean[d]! += x[b * dim + d]! / B;
  let spread = 0;
  for (let i = 0; i < x.length; i++) spread += (x[i]! - mean[i % dim]!) ** 2;
  return { mean, spread: spread / B };
}

export function twinLossAndGrad(mu: Float32Array, dim: number, pairs: number, weight: number): { loss: number; grad: Float32Array } {
  const B = mu.length / dim;
  if (!Number.isInteger(B) || 2 * pairs > B) throw new Error(`twinLossAndGrad: ${pairs} pairs of ${dim} dims do not fit in ${mu.length} values`);
  const grad = new Float32Array(mu.length);
  if (pairs === 0) return { loss: 0, grad };
  const { mean, spread } = batchSpread(mu, dim);
  let twins = 0;
  for (let p = 0; p < pairs; p++) {
    const a = 2 * p * dim;
    for (let d = 0; d < dim; d++) twins += (mu[a + d]! - mu[a + dim + d]!) ** 2;
  }
  twins /= pairs;
  if (!(spread > 1e-12)) return { loss: 0, grad };
  // dL/dmu = weight (dT/dmu V - T dV/dmu) / V^2, dT/da = 2 (a - b) / pairs, dV/dmu_i = 2 (mu_i - mean) / B
  const k = weight / spread, kSpread = (weight * twins) / (spread * spread);
  for (let i = 0; i < mu.length; i++) grad[i] = (-kSpread * 2 * (mu[i]! - mean[i % dim]!)) / B;
  for (let p = 0; p < pairs; p++) {
    const a = 2 * p * dim, b = a + dim;
    for (let d = 0; d < dim; d++) {
      const g = (k * 2 * (mu[a + d]! - mu[b + d]!)) / pairs;
      grad[a + d] = grad[a + d]! + g;
      grad[b + d] = grad[b + d]! - g;
    }
  }
  return { loss: Math.fround((weight * twins) / spread), grad };
}
