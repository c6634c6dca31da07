import { circlesFrames, type CirclesOptions } from './circles.js';
import type { ClipFeatures } from './features.js';
import { motifFrames } from './motifs.js';
import { UserError } from '../errors.js';

/**
 * The training pictures a model learns from (frames 1..T of a training sequence and frames 1..3 of
 * the encoder's context; docs/design.md#training-pictures): `circles`, the first visualisation
 * (circles.ts), or `motifs` (motifs.ts: pitch-class colour, register size, and a motif chosen by the
 * sound). A dataset's manifest and a model's config name theirs; absent means `circles`, what every
 * dataset and model before them used.
 */
export type PictureStyle = 'circles' | 'motifs';
export const PICTURE_STYLES: readonly PictureStyle[] = ['circles', 'motifs'];
export const DEFAULT_PICTURES: PictureStyle = 'circles';

/** The pictures of a clip in a style: Float32Array (T, 3, height, width). */
export function trainingPictures(features: ClipFeatures, style: PictureStyle, opts: CirclesOptions = {}): Float32Array {
  return style === 'motifs' ? motifFrames(features, opts) : circlesFrames(features, opts);
}

/** A picture style from a user or a file (`what` names it in the error); undefined gives the default. */
export function parsePictureStyle(value: unknown, what: string): PictureStyle {
  if (value === undefined) return DEFAULT_PICTURES;
  if (typeof value === 'string' && (PICTURE_STYLES as readonly string[]).includes(value)) return value as PictureStyle;
  throw new UserError(`${what} is ${JSON.stringify(value)}; the training pictures are one of ${PICTURE_STYLES.join(', ')}`);
}
