/**
 * Training and evaluation batches cut from a dataset of frame sequences (src/core/audio/dataset.ts).
 *
 * A clip is (F, 3, H, W) floats in [0, 1], F = framesPerClip (25 by default: frame 0 the mel
 * spectrogram, 1..24 the circles). With C context frames (4, docs/design.md#training-data):
 * - the encoder sees frames 0..C-1 as 3C channels, channel = 3 * frame + rgb;
 * - the NCA starts from frame C-1 (its RGB) and predicts frames C..C+T-1, T <= F - C.
 */
import type { Rng } from '../rng.js';

/** What batches need of a dataset (`openDataset`'s result has it). */
export interface SequenceSource {
  count: number;
  manifest: { framesPerClip: number; width: number; height: number };
  /** Clip i as Float32Array (framesPerClip, 3, H, W) in [0, 1]; fills `out` if given. */
  clip(i: number, out?: Float32Array): Float32Array;
}

export interface SequenceBatch {
  indices: number[];
  batch: number;
  width: number;
  height: number;
  /** Predicted frames per clip (T). */
  steps: number;
  /** Float32Array [B][3C][H][W]: frames 0..C-1 of each clip (the encoder's input). */
  context: Float32Array;
  /** Float32Array [B][3][H][W]: frame C-1 (where the NCA starts; also the first-frame decoder's target). */
  start: Float32Array;
  /** Float32Array [T][B][3][H][W]: frames C..C+T-1 (the NCA's targets), time-major like the rollout. */
  targets: Float32Array;
}

/** Frames the NCA can predict after the context: framesPerClip - contextFrames (21 for 25 frames and 4 context). */
export function maxRolloutSteps(framesPerClip: number, contextFrames: number): number {
  return framesPerClip - contextFrames;
}

/** `batch` distinct indices from `pool` (with repeats only when the pool is smaller than the batch). */
export function sampleIndices(rng: Rng, pool: readonly number[], batch: number): number[] {
  if (pool.length === 0) throw new Error('sampleIndices: the pool is empty');
  if (pool.length < batch) return Array.from({ length: batch }, () => pool[rng.int(pool.length)]!);
  // partial Fisher-Yates on a copy
  const a = pool.slice();
  for (let i = 0; i < batch; i++) {
    const j = i + rng.int(a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, batch);
}

/** Cuts context, start frame and targets of the given clips. `steps` defaults to every frame after the context. */
export function makeBatch(source: SequenceSource, indices: readonly number[], opts: { contextFrames: number; steps?: number }): SequenceBatch {
  const { framesPerClip: F, width: W, height: H } = source.manifest;
  const C = opts.contextFrames;
  const T = opts.steps ?? maxRolloutSteps(F, C);
  if (!(C >= 1 && T >= 1 && C + T <= F)) throw new RangeError(`makeBatch: ${C} context frames + ${T} steps do not fit in ${F} frames per clip`);
  const B = indices.length;
  const frame = 3 * W * H;
  const context = new Float32Array(B * C * frame);
  const start = new Float32Array(B * frame);
  const targets = new Float32Array(T * B * frame);
  const clip = new Float32Array(F * frame);
  indices.forEach((index, b) => {
    source.clip(index, clip);
    context.set(clip.subarray(0, C * frame), b * C * frame); // frames 0..C-1, already channel = 3 * frame + rgb
    start.set(clip.subarray((C - 1) * frame, C * frame), b * frame);
    for (let t = 0; t < T; t++) targets.set(clip.subarray((C + t) * frame, (C + t + 1) * frame), (t * B + b) * frame);
  });
  return { indices: [...indices], batch: B, width: W, height: H, steps: T, context, start, targets };
}
