/**
 * The part of gifenc 1.0 (CommonJS build, no bundled types) that nca uses. Load it with
 * `createRequire(import.meta.url)('gifenc') as Gifenc`: Node cannot see its named exports from ESM,
 * and the default export differs between Node (module.exports) and vitest (its `default`, GIFEncoder).
 */
declare module 'gifenc' {
  /** Colour table: up to 256 `[r, g, b]` triples, bytes. */
  export type GifPalette = number[][];

  export interface WriteFrameOptions {
    /** Colour table; required on the first frame (becomes the global table), else a local table. */
    palette?: GifPalette | null;
    /** Frame delay in milliseconds; gifenc stores Math.round(delay / 10) hundredths of a second. */
    delay?: number;
    /** Loop count written with the first frame: 0 = forever, -1 = no loop extension, n = n repeats. */
    repeat?: number;
    transparent?: boolean;
    transparentIndex?: number;
    colorDepth?: number;
    dispose?: number;
    first?: boolean;
  }

  export interface GifEncoderStream {
    /** Write one frame: `index` is a Uint8Array [height][width] of palette indices. */
    writeFrame(index: Uint8Array, width: number, height: number, opts?: WriteFrameOptions): void;
    /** Append the trailer byte (0x3B). */
    finish(): void;
    /** A copy of the bytes written so far. */
    bytes(): Uint8Array;
    /** A view of the bytes written so far (no copy). */
    bytesView(): Uint8Array;
    reset(): void;
  }

  export interface Gifenc {
    GIFEncoder(opts?: { initialCapacity?: number; auto?: boolean }): GifEncoderStream;
    quantize(rgba: Uint8Array, maxColors: number, opts?: { format?: 'rgb565' | 'rgb444' | 'rgba4444' }): GifPalette;
    applyPalette(rgba: Uint8Array, palette: GifPalette, format?: 'rgb565' | 'rgb444' | 'rgba4444'): Uint8Array;
  }

  const gifenc: Gifenc;
  export default gifenc;
}
