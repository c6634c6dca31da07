/**
 * Training and evaluation batches cut from a dataset of frame sequences (src/core/audio/dataset.ts).
 *
 * A clip is (F, 3, H, W) floats in [0, 1], F = framesPerClip (25 by default: frame 0 the mel
 * spectrogram, 1..24 the circles). With C context frames (4, docs/design.md#training-data):
 * - the encoder sees frames 0..C-1 as 3C channels, channel = 3 * frame + rgb;
 * - the NCA starts from frame C-1 (its RGB) and predicts frames C..C+T-1, T <= F - C.
 */
import type { Rng } from '../rng.js';
import type { AnchorLabels } from './anchors.js';
import type { TwinLabels } from './training/twins.js';

import { UserError } from '../errors.js';

/** What batches need of a dataset (`openDataset`'s result has it). */
export interface SequenceSource {
  /** The dataset's folder, for messages. */
  dir?: string;
  count: number;
  manifest: { framesPerClip: number; width: number; height: number; channels?: number; contextFrames?: number; clips?: ReadonlyArray<AnchorLabels & TwinLabels> };
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

/** What a use of a dataset (training, evaluation) needs of its clips. */
export interface DatasetNeeds {
  /** "training", "nca eval", ...: who needs it, for the message. */
  use: string;
  /** The model's frame side (its config's frameSize). */
  frameSize: number;
  /** The model's context frames (its config's contextFrames). */
  contextFrames: number;
  /** Frames predicted after the context (at least 1). */
  steps: number;
  /** What else fixes a lack of frames, e.g. "or lower --steps". */
  stepsFix?: string;
}

/**
 * Whether a dataset fits a model and a use, checked at the entry of training and evaluation: its
 * frame size, channels and context frames must be the model's, and each clip must hold the context
 * plus the predicted frames. A UserError naming the dataset, the field and the fix (the nca dataset
 * flags that rebuild it to fit), e.g. "dataset data/ was made with --frames 4 (5 frames per clip),
 * but nca eval needs 12: ... rebuild it with nca dataset --frames 11 (or more)".
 */
export function checkDatasetFits(source: SequenceSource, needs: DatasetNeeds): void {
  const { framesPerClip: F, width: W, height: H, channels, contextFrames } = source.manifest;
  const name = source.dir === undefined ? 'the dataset' : `dataset ${source.dir}`;
  const rebuild = 'rebuild it with nca dataset';
  const S = needs.frameSize;
  if (W !== S || H !== S) throw new UserError(`${name} has frames of ${W}x${H} (width x height) but the model reads ${S}x${S}: ${rebuild} (it makes ${S}x${S} frames)`);
  if (channels !== undefined && channels !== 3) throw new UserError(`${name} has ${channels} channels per frame but the model reads 3 (RGB): ${rebuild}`);
  const C = needs.contextFrames;
  if (contextFrames !== undefined && contextFrames !== C) throw new UserError(`${name} was made for ${contextFrames} context frames (manifest contextFrames) but the model reads ${C}: ${rebuild}`);
  const need = C + needs.steps;
  if (F < need) {
    // nca dataset --frames T makes T + 1 frames per clip (frame 0 the spectrogram)
    throw new UserError(
      `${name} was made with --frames ${F - 1} (${F} frames per clip), but ${needs.use} needs ${need} (${C} context + ${needs.steps} predicted): ${rebuild} --frames ${need - 1} (or more)${needs.stepsFix ? ` ${needs.stepsFix}` : ''}`,
    );
  }
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
