import { readFile } from 'node:fs/promises';
import pngjs from 'pngjs';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
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
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new UserError(`cannot read PNG ${path}: ${reason}`);
  }
  let decoded: { width: number; height: number; data: Buffer };
  try {
    decoded = PNG.sync.read(bytes);
  } catch (err) {
    throw new UserError(`${path} is not a valid PNG (${(err as Error).message}); give a PNG image file`);
  }
  // A fresh, 4-byte-aligned copy: pngjs may hand back a view into a pooled Buffer.
  return { width: decoded.width, height: decoded.height, data: new Uint8Array(decoded.data) };
}

function isOpaque(data: Uint8Array): boolean {
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return false;
  return true;
}
