/**
 * Targets of the growing NCA, as premultiplied RGBA planes [4][H][W] in 0..1 on the training grid:
 * - an emoji from @twemoji/svg (graphics by Twitter / jdecked, CC-BY 4.0), rasterised with sharp at
 *   `size` x `size` and padded by `padding` cells of empty space on every side (Distill's lizard: 40 + 2 x 16);
 * - any PNG with an alpha channel (scaled down to fit `size` when larger), padded the same way;
 * - the tutorial's circle (size 64, radius 0.35 size, RGBA (1, 0.5, 0, 1) inside), for benchmarks and tests.
 * RGB is premultiplied by alpha, as in the Growing-NCA article: a dead cell (all zero) is transparent.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { readInput } from '../io/read.js';
import { readPng } from '../io/png.js';
import type { RgbaImage } from '../io/image.js';

export interface GrowTarget {
  width: number;
  height: number;
  /** Premultiplied RGBA planes [4][height][width], 0..1. */
  rgba: Float32Array;
  /** Where it came from (recorded in the parameters file). */
  source: string;
  /** The image's rectangle on the grid (an emoji's 40 x 40 box); absent: the measures use the bounding box of alpha > 0. */
  box?: { x0: number; y0: number; width: number; height: number };
}

/** The twemoji file name of an emoji: its code points in hex joined by '-', FE0F dropped unless the emoji is a ZWJ sequence. */
export function twemojiFileName(emoji: string): string {
  const points = [...emoji].map((c) => c.codePointAt(0)!);
  const kept = points.includes(0x200d) ? points : points.filter((p) => p !== 0xfe0f);
  return kept.map((p) => p.toString(16)).join('-') + '.svg';
}

function twemojiDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@twemoji/svg/package.json'));
}

/** Rasterises `svg` at side x side with its transparency kept (RGBA bytes). */
async function rasterise(svg: Uint8Array, side: number): Promise<RgbaImage> {
  const sharp = (await import('sharp')).default;
  const { data, info } = await sharp(Buffer.from(svg), { density: Math.max(72, 72 * (side / 36)) })
    .resize(side, side, { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 0 } })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/**
 * An RGBA image on a grid at least `padding` cells larger on every side, premultiplied, as planes.
 * The image is placed so that the grid's centre cell (where the seed cell starts) falls on the opaque
 * pixel nearest the image's centre: a shape with empty space at its centre (Twemoji's lizard) would
 * otherwise start from a cell the loss wants dead. The grid grows by twice that offset.
 */
export function imageToTarget(img: RgbaImage, padding: number, source: string): GrowTarget {
  const cx = Math.floor(img.width / 2), cy = Math.floor(img.height / 2);
  let ox = cx, oy = cy, best = Infinity;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const d = (x - cx) ** 2 + (y - cy) ** 2;
      if (img.data[(y * img.width + x) * 4 + 3]! >= 128 && d < best) [best, ox, oy] = [d, x, y];
    }
  const dx = ox - cx, dy = oy - cy;
  const width = img.width + 2 * padding + 2 * Math.abs(dx), height = img.height + 2 * padding + 2 * Math.abs(dy);
  const left = Math.floor(width / 2) - ox, top = Math.floor(height / 2) - oy;
  const plane = width * height;
  const rgba = new Float32Array(4 * plane);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      const a = img.data[i + 3]! / 255;
      const j = (y + top) * width + x + left;
      for (let c = 0; c < 3; c++) rgba[c * plane + j] = (img.data[i + c]! / 255) * a;
      rgba[3 * plane + j] = a;
    }
  const shift = dx || dy ? `, shifted ${-dx},${-dy} so the seed cell is on it` : '';
  return { width, height, rgba, source: source + shift, box: { x0: left, y0: top, width: img.width, height: img.height } };
}

export async function emojiTarget(emoji: string, size = 40, padding = 16): Promise<GrowTarget> {
  const file = join(twemojiDir(), twemojiFileName(emoji));
  let svg: Buffer;
  try {
    svg = await readInput(file, 'emoji SVG', 'json');
  } catch {
    throw new UserError(`no Twemoji graphic for ${JSON.stringify(emoji)} (looked for ${twemojiFileName(emoji)} in @twemoji/svg); give one emoji character such as 🦎`);
  }
  return imageToTarget(await rasterise(svg, size), padding, `emoji ${emoji} (Twemoji ${twemojiFileName(emoji)}, CC-BY 4.0), ${size}x${size} + ${padding} padding`);
}

/** A PNG with alpha, scaled down (aspect kept) when a side exceeds `size`. */
export async function pngTarget(path: string, size = 40, padding = 16): Promise<GrowTarget> {
  let img = await readPng(path);
  let transparent = false;
  for (let i = 3; i < img.data.length && !transparent; i += 4) transparent = img.data[i]! < 128;
  if (!transparent) throw new UserError(`${path} has no transparent pixels; a growing NCA needs a PNG with an alpha channel (the shape grows where alpha > 0)`);
  if (img.width > size || img.height > size) {
    const sharp = (await import('sharp')).default;
    const { data, info } = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 4 } })
      .resize(size, size, { fit: 'inside' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    img = { width: info.width, height: info.height, data: new Uint8Array(data) };
  }
  return imageToTarget(img, padding, `PNG ${path}, ${img.width}x${img.height} + ${padding} padding`);
}

/** The tutorial's circle target: RGBA (1, 0.5, 0, 1) where the distance to (size/2, size/2) < 0.35 size. */
export function circleTarget(size = 64): GrowTarget {
  const plane = size * size, centre = Math.floor(size / 2), radius = size * 0.35;
  const rgba = new Float32Array(4 * plane);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      if (Math.hypot(x - centre, y - centre) >= radius) continue;
      const j = y * size + x;
      rgba[j] = 1;
      rgba[plane + j] = 0.5;
      rgba[3 * plane + j] = 1;
    }
  return { width: size, height: size, rgba, source: `circle ${size}x${size} (the tutorial's target)` };
}
