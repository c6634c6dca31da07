/**
 * Perceptual colormaps (matplotlib's viridis and magma) as 9 control points each, linearly
 * interpolated: close enough to the originals for viewing, and monotonic in lightness.
 */

export type ColormapName = 'magma' | 'viridis' | 'gray';

export const COLORMAPS: readonly ColormapName[] = ['magma', 'viridis', 'gray'];

const TABLES: Record<Exclude<ColormapName, 'gray'>, number[][]> = {
  viridis: [
    [68, 1, 84],
    [72, 40, 120],
    [62, 73, 137],
    [49, 104, 142],
    [38, 130, 142],
    [31, 158, 137],
    [53, 183, 121],
    [110, 206, 88],
    [253, 231, 37],
  ],
  magma: [
    [0, 0, 4],
    [28, 16, 68],
    [79, 18, 123],
    [129, 37, 129],
    [181, 54, 122],
    [229, 80, 100],
    [251, 135, 97],
    [254, 194, 135],
    [252, 253, 191],
  ],
};

/** Colour of v in [0, 1] (clamped) as [r, g, b] bytes. */
export function colormap(name: ColormapName, v: number, out: Uint8Array | number[] = [0, 0, 0], offset = 0): Uint8Array | number[] {
  const x = Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
  if (name === 'gray') {
    const g = Math.round(255 * x);
    out[offset] = g;
    out[offset + 1] = g;
    out[offset + 2] = g;
    return out;
  }
  const table = TABLES[name];
  const pos = x * (table.length - 1);
  const i = Math.min(table.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = table[i]!;
  const b = table[i + 1]!;
  for (let c = 0; c < 3; c++) out[offset + c] = Math.round(a[c]! + (b[c]! - a[c]!) * f);
  return out;
}

/**
 * Map a single-channel image (height, width) of values in [0, 1] to RGBA bytes, each cell
 * repeated `scale` x `scale` times. Returns { width, height, data } with data RGBA row-major.
 */
export function colorize(values: Float32Array, width: number, height: number, name: ColormapName, scale = 1): { width: number; height: number; data: Uint8Array } {
  const W = width * scale;
  const H = height * scale;
  const data = new Uint8Array(W * H * 4);
  const rgb = new Uint8Array(3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      colormap(name, values[y * width + x]!, rgb);
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const o = ((y * scale + dy) * W + x * scale + dx) * 4;
          data[o] = rgb[0]!;
          data[o + 1] = rgb[1]!;
          data[o + 2] = rgb[2]!;
          data[o + 3] = 255;
        }
      }
    }
  }
  return { width: W, height: H, data };
}
