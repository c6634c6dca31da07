/**
 * RGBA images and the conversions every output path goes through: NCA planes -> bytes, nearest
 * upscaling, side-by-side stacking. These run once per frame, so they work on packed 32-bit pixels
 * and copy whole rows instead of looping over bytes.
 */

/** An 8-bit RGBA image, row-major: `data[(y * width + x) * 4 + c]`, c = R, G, B, A. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** True on little-endian hosts, where a Uint32 pixel reads as 0xAABBGGRR. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Pack an opaque RGB pixel into the host's Uint32 layout of the bytes R, G, B, 255. */
function packOpaque(r: number, g: number, b: number): number {
  return LITTLE_ENDIAN ? (0xff000000 | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 0xff) >>> 0;
}

/** A Uint32 view of RGBA bytes to write into (must start on a 4-byte boundary, as fresh arrays do). */
function pixels32(data: Uint8Array): Uint32Array {
  if (data.byteOffset % 4 !== 0) throw new RangeError('RGBA output buffer must start on a 4-byte boundary');
  return new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
}

/** A Uint32 view of RGBA bytes to read (copied first when unaligned, e.g. a pooled Node Buffer). */
function readPixels32(data: Uint8Array): Uint32Array {
  return data.byteOffset % 4 === 0 ? pixels32(data) : new Uint32Array(new Uint8Array(data).buffer);
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
}

/** Throws unless `img.data` holds exactly width x height RGBA pixels. */
export function checkImage(img: RgbaImage): void {
  checkSize(img.width, img.height);
  if (img.data.length !== img.width * img.height * 4) {
    throw new RangeError(`a ${img.width}x${img.height} RGBA image needs ${img.width * img.height * 4} bytes, got ${img.data.length}`);
  }
}

function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer, got ${scale}`);
}

/** A value in 0..1 to a byte; values outside are clamped, NaN becomes 0. */
function toByte(v: number): number {
  return v >= 1 ? 255 : v > 0 ? (v * 255 + 0.5) | 0 : 0;
}

/**
 * Visible NCA channels to an opaque RGBA image, each cell drawn as a `scale` x `scale` block.
 * `planes`: Float32Array [3][height][width] (R, G, B planes, CHW; extra planes after them are
 * ignored), values 0..1 (clamped). `out`, when given, must hold (width*scale) x (height*scale) x 4
 * bytes and is reused (no allocation per frame).
 */
export function planarToRgba(planes: Float32Array, width: number, height: number, scale = 1, out?: Uint8Array): RgbaImage {
  checkSize(width, height);
  checkScale(scale);
  const plane = width * height;
  if (planes.length < 3 * plane) throw new RangeError(`planarToRgba: need 3 planes of ${width}x${height} (${3 * plane} floats), got ${planes.length}`);
  const outWidth = width * scale;
  const outHeight = height * scale;
  const bytes = outWidth * outHeight * 4;
  if (out && out.length !== bytes) throw new RangeError(`planarToRgba: out has ${out.length} bytes, need ${bytes}`);
  const data = out ?? new Uint8Array(bytes);
  const px = pixels32(data);
  for (let y = 0; y < height; y++) {
    // Row y of the source, widened `scale` times, into the first output row of its block.
    const rowStart = y * scale * outWidth;
    let o = rowStart;
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const p = packOpaque(toByte(planes[i]!), toByte(planes[plane + i]!), toByte(planes[2 * plane + i]!));
      for (let s = 0; s < scale; s++) px[o++] = p;
    }
    // The other scale-1 rows of the block are copies.
    for (let s = 1; s < scale; s++) px.copyWithin(rowStart + s * outWidth, rowStart, rowStart + outWidth);
  }
  return { width: outWidth, height: outHeight, data };
}

/** Nearest-neighbour upscaling by an integer factor (each pixel becomes a scale x scale block). Returns `img` itself when scale is 1. */
export function upscaleNearest(img: RgbaImage, scale: number): RgbaImage {
  checkImage(img);
  checkScale(scale);
  if (scale === 1) return img;
  const { width, height } = img;
  const src = readPixels32(img.data);
  const outWidth = width * scale;
  const data = new Uint8Array(outWidth * height * scale * 4);
  const dst = pixels32(data);
  for (let y = 0; y < height; y++) {
    const rowStart = y * scale * outWidth;
    let o = rowStart;
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const p = src[i]!;
      for (let s = 0; s < scale; s++) dst[o++] = p;
    }
    for (let s = 1; s < scale; s++) dst.copyWithin(rowStart + s * outWidth, rowStart, rowStart + outWidth);
  }
  return { width: outWidth, height: height * scale, data };
}

/**
 * Images side by side, left to right, top-aligned, separated by `gapPx` columns (default 0). The
 * result is as tall as the tallest image; uncovered pixels are opaque black.
 */
export function hstack(images: readonly RgbaImage[], gapPx = 0): RgbaImage {
  if (images.length === 0) throw new RangeError('hstack needs at least one image');
  if (!Number.isInteger(gapPx) || gapPx < 0) throw new RangeError(`gap must be a non-negative integer, got ${gapPx}`);
  images.forEach(checkImage);
  const width = images.reduce((sum, img) => sum + img.width, 0) + gapPx * (images.length - 1);
  const height = Math.max(...images.map((img) => img.height));
  const data = new Uint8Array(width * height * 4);
  const dst = pixels32(data);
  dst.fill(packOpaque(0, 0, 0));
  let left = 0;
  for (const img of images) {
    const src = readPixels32(img.data);
    for (let y = 0; y < img.height; y++) dst.set(src.subarray(y * img.width, (y + 1) * img.width), y * width + left);
    left += img.width + gapPx;
  }
  return { width, height, data };
}
