/**
 * Latent anchors (docs/design.md#latent-anchors): 19 of the latent's 64 dimensions are given a meaning
 * during training, so that a recording lands where its pitch and instrument say.
 *
 *   dims 0, 1   pitch class on a circle: radius x (cos, sin) of 2 pi (midi mod 12) / 12
 *   dim  2      pitch height: heightPerOctave x (midi - 69) / 12
 *   dims 3..18  General-MIDI family (16): familyScale x one-hot
 *
 * A clip's targets are the mean of the codes of the notes that start in its context window (a chord
 * lies between its notes, as the mean of their latents does) and its family's code. Training adds
 * weight x sum over anchored dims of (mu - target)^2, averaged over the batch; clips without labels
 * (WAV files) and unpitched sounds leave the dims they do not label free.
 */
import { GM_FAMILIES } from '../audio/general-midi.js';

export interface AnchorLayout {
  /** First of the 3 pitch dims (class cos, class sin, height). */
  pitchDim: number;
  /** First of the 16 family dims. */
  familyDim: number;
  radius: number;
  heightPerOctave: number;
  familyScale: number;
}

export const ANCHORS: AnchorLayout = { pitchDim: 0, familyDim: 3, radius: 2.5, heightPerOctave: 1.5, familyScale: 2.5 };

/** The labels of a clip, as the dataset manifest stores them. */
export interface AnchorLabels {
  midis?: readonly number[];
  family?: string;
}

/** Writes the pitch code of `midis` (their mean) into out[at..at+2]. */
export function pitchCode(midis: readonly number[], out: Float32Array, at = ANCHORS.pitchDim, layout: AnchorLayout = ANCHORS): void {
  let c = 0, s = 0, h = 0;
  for (const m of midis) {
    const angle = (2 * Math.PI * (((m % 12) + 12) % 12)) / 12;
    c += Math.cos(angle);
    s += Math.sin(angle);
    h += (m - 69) / 12;
  }
  const n = Math.max(1, midis.length);
  out[at] = (layout.radius * c) / n;
  out[at + 1] = (layout.radius * s) / n;
  out[at + 2] = (layout.heightPerOctave * h) / n;
}

/** The targets and mask [batch][dim] of a batch's clips (0 where a dim is unlabelled). */
export function anchorTargets(labels: ReadonlyArray<AnchorLabels>, dim: number, layout: AnchorLayout = ANCHORS): { target: Float32Array; mask: Float32Array; labelled: number } {
  const B = labels.length;
  const target = new Float32Array(B * dim), mask = new Float32Array(B * dim);
  let labelled = 0;
  labels.forEach((l, b) => {
    const row = target.subarray(b * dim, (b + 1) * dim), m = mask.subarray(b * dim, (b + 1) * dim);
    let any = false;
    if (l.midis && l.midis.length) {
      pitchCode(l.midis, row, layout.pitchDim, layout);
      m.fill(1, layout.pitchDim, layout.pitchDim + 3);
      any = true;
    }
    const f = l.family === undefined ? -1 : (GM_FAMILIES as readonly string[]).indexOf(l.family);
    if (f >= 0) {
      row[layout.familyDim + f] = layout.familyScale;
      m.fill(1, layout.familyDim, layout.familyDim + GM_FAMILIES.length);
      any = true;
    }
    if (any) labelled++;
  });
  return { target, mask, labelled };
}

/** weight x sum(mask (mu - target)^2) / B and its gradient with respect to mu (float32 as the tfjs graph rounds). */
export function anchorLossAndGrad(mu: Float32Array, target: Float32Array, mask: Float32Array, batch: number, weight: number): { loss: number; grad: Float32Array } {
  const grad = new Float32Array(mu.length);
  const scale = Math.fround((2 * weight) / batch);
  let sum = 0;
  for (let i = 0; i < mu.length; i++) {
    if (mask[i] === 0) continue;
    const d = Math.fround(mu[i]! - target[i]!);
    sum += Math.fround(d * d);
    grad[i] = Math.fround(scale * d);
  }
  return { loss: Math.fround(Math.fround(sum / batch) * weight), grad };
}

/** The MIDI number the pitch dims of a latent say (fractional), from the angle and the height together. */
export function decodePitch(z: ArrayLike<number>, layout: AnchorLayout = ANCHORS): number {
  const angle = Math.atan2(z[layout.pitchDim + 1]!, z[layout.pitchDim]!);
  const pc = ((angle / (2 * Math.PI)) * 12 + 12) % 12;
  const height = 69 + (12 * z[layout.pitchDim + 2]!) / layout.heightPerOctave;
  // the octave whose pitch class pc lies nearest the height
  const k = Math.round((height - pc) / 12);
  return pc + 12 * k;
}

/** The family index 0..15 the family dims of a latent say (the largest). */
export function decodeFamily(z: ArrayLike<number>, layout: AnchorLayout = ANCHORS): number {
  let best = 0;
  for (let f = 1; f < GM_FAMILIES.length; f++) if (z[layout.familyDim + f]! > z[layout.familyDim + best]!) best = f;
  return best;
}
