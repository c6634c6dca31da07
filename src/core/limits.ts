import { UserError } from './errors.js';

/**
 * The largest outputs nca builds, in one place: every image it writes (a render's PNG or GIF frames,
 * a contact sheet, a spectrogram picture) is checked against them before anything is computed,
 * allocated or written.
 * - `maxSide`: pixels per side of an image (16384).
 * - `maxPixels`: pixels of one image or frame (2^28 = 16384 x 16384: a 1 GB RGBA buffer).
 * - `maxGifBytes`: a GIF's estimated size, one byte per pixel per frame (2 GB).
 */
export const OUTPUT_LIMITS = { maxSide: 16384, maxPixels: 2 ** 28, maxGifBytes: 2 ** 31 } as const;

/**
 * Refuses an image of width x height pixels past OUTPUT_LIMITS. `what` names the image ("a 32768x32768
 * PNG"), `fix` the options to change ("use a smaller --scale or --size").
 */
export function checkImageSize(what: string, width: number, height: number, fix: string): void {
  const { maxSide, maxPixels } = OUTPUT_LIMITS;
  if (width > maxSide || height > maxSide) {
    throw new UserError(`${what} would be ${width}x${height} pixels, more than the ${maxSide} per side nca writes; ${fix}`);
  }
  if (width * height > maxPixels) {
    throw new UserError(`${what} would be ${width}x${height} = ${width * height} pixels, more than the ${maxPixels} nca writes; ${fix}`);
  }
}

/** Refuses a GIF of `frames` frames of width x height whose estimated size passes OUTPUT_LIMITS.maxGifBytes. */
export function checkGifSize(frames: number, width: number, height: number, fix: string): void {
  checkImageSize(`a GIF frame`, width, height, fix);
  if (frames * width * height > OUTPUT_LIMITS.maxGifBytes) {
    throw new UserError(`a GIF of ${frames} frames of ${width}x${height} would need over ${OUTPUT_LIMITS.maxGifBytes / 2 ** 30} GB; ${fix}`);
  }
}
