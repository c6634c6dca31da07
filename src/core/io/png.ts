import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { fsError } from './fs-error.js';
import { readInput } from './read.js';
import { checkImage, type RgbaImage } from './image.js';

const { PNG } = pngjs;

/**
 * PNG encoding and decoding (pngjs, synchronous API). Opaque images are written as 8-bit RGB
 * (colour type 2, a quarter smaller), others as RGBA; pngjs's defaults otherwise (adaptive
 * filters, zlib RLE strategy: ~10 ms for 256x256).
 */
export function encodePng(img: RgbaImage): Uint8Array {
  checkImage(img);
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length);
  const encoded = PNG.sync.write(png, { colorType: isOpaque(img.data) ? 2 : 6, inputColorType: 6, inputHasAlpha: true });
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.length);
}

/** Encode and write atomically (parent folders created). */
export async function writePng(path: string, img: RgbaImage): Promise<void> {
  await writeFileAtomic(path, encodePng(img));
}

/**
 * Read a PNG of any colour type and bit depth as 8-bit RGBA (palettes expanded, grey copied to RGB,
 * 16-bit scaled down, missing alpha = 255). A missing, unreadable or corrupt file is a UserError
 * naming the file and the problem.
 */
export async function readPng(path: string): Promise<RgbaImage> {
  const bytes = await readInput(path, 'PNG', 'png');
  checkPngSize(bytes, path);
  let decoded: { width: number; height: number; data: Buffer };
  try {
    decoded = PNG.sync.read(bytes);
  } catch (err) {
    throw new UserError(`${path} is not a valid PNG (${(err as Error).message}); give a PNG image file`);
  }
  // A fresh, 4-byte-aligned copy: pngjs may hand back a view into a pooled Buffer.
  return { width: decoded.width, height: decoded.height, data: new Uint8Array(decoded.data) };
}

/** The file name of frame `index` of a PNG sequence: frame-000000.png, frame-000001.png, ... */
export function frameFileName(index: number): string {
  return `frame-${String(index).padStart(6, '0')}.png`;
}

/** Exactly the names frameFileName writes (six digits or more), group 1 the frame number. */
const FRAME_FILE_PATTERN = /^frame-(\d{6,})\.png$/;

/**
 * After a PNG sequence of `written` frames (frame-000000.png .. frame-<written-1>.png) was written
 * into `dir`: remove the frames an earlier, longer sequence left there (regular files named exactly
 * as nca names frames, numbered `written` or more), so the folder holds one sequence. Other files
 * are never touched. Returns how many were removed.
 */
export async function removeStaleFrames(dir: string, written: number): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw fsError('list the frames in', dir, e);
  }
  let removed = 0;
  for (const name of names) {
    const m = FRAME_FILE_PATTERN.exec(name);
    if (!m || Number(m[1]) < written || frameFileName(Number(m[1])) !== name) continue;
    const file = join(dir, name);
    try {
      if (!(await lstat(file)).isFile()) continue;
      await rm(file);
      removed++;
    } catch (e) {
      throw fsError('remove the old frame', file, e, 'the new sequence is complete; remove the older frames by hand');
    }
  }
  return removed;
}

/** The largest image nca decodes: each side at most 8192 pixels, and at most 2^26 pixels (256 MB as RGBA). */
export const PNG_LIMITS = { maxSide: 8192, maxPixels: 2 ** 26 } as const;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The width and height a PNG declares in its header (IHDR), read before any decoding, or null
 * when the bytes do not start like a PNG (the decoder then says what is wrong).
 */
export function pngHeaderSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 24 || !PNG_SIGNATURE.equals(bytes.subarray(0, 8)) || Buffer.from(bytes.subarray(12, 16)).toString('latin1') !== 'IHDR') return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Refuse a PNG whose declared size is past PNG_LIMITS before decoding it (a decompression bomb is a few kB). */
function checkPngSize(bytes: Uint8Array, path: string): void {
  const size = pngHeaderSize(bytes);
  if (!size) return;
  const { width, height } = size;
  if (width > PNG_LIMITS.maxSide || height > PNG_LIMITS.maxSide || width * height > PNG_LIMITS.maxPixels) {
    throw new UserError(`cannot read PNG ${path}: it declares ${width}x${height} pixels, more than nca decodes (at most ${PNG_LIMITS.maxSide} pixels a side and ${PNG_LIMITS.maxPixels} pixels in all); give a smaller image`);
  }
}

function isOpaque(data: Uint8Array): boolean {
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return false;
  return true;
}
