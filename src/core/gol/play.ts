/**
 * A Game of Life pattern played through a GoL NCA on a torus, beside the exact rule: what `nca gol`
 * does, without the command line (docs/gol.md). Every generation is compared cell by cell with exact
 * Life (simulate.ts); the run can be drawn as a GIF as it goes (the NCA, or the NCA beside the exact
 * rule), and the final NCA board is returned for an RLE.
 */
import { UserError, invalidParameterError, optionalInt, requireInt, requireNumber } from '../errors.js';
import { GifWriter } from '../io/gif.js';
import { hstack, type RgbaImage } from '../io/image.js';
import type { NcaParams } from '../nca/params.js';
import { emptyBoard, lifeStep, placePattern, type LifeBoard } from './life.js';
import { compareWithLife, type GolComparison, type GolRounding } from './simulate.js';

/** The automatic torus: at least this many cells a side. */
export const AUTO_MIN_SIDE = 32;

/**
 * The automatic torus for a pattern: the pattern plus a margin of generations / 4 cells on each side
 * (how far a glider travels), between 16 and 64, and at least AUTO_MIN_SIDE cells a side.
 */
export function autoTorus(pattern: { width: number; height: number }, generations: number): { width: number; height: number } {
  const margin = Math.min(64, Math.max(16, Math.ceil(generations / 4)));
  return { width: Math.max(AUTO_MIN_SIDE, pattern.width + 2 * margin), height: Math.max(AUTO_MIN_SIDE, pattern.height + 2 * margin) };
}

export interface GolPlayOptions {
  generations: number;
  /** The torus (default autoTorus); the pattern is placed at its centre. */
  width?: number;
  height?: number;
  rounding: GolRounding;
  threads?: number;
  /** Draw the run as a GIF: `scale` pixels per cell (default: about 384 px a side), the exact rule beside it with `compare`. */
  gif?: { fps: number; scale?: number; compare?: boolean };
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface GolPlayResult {
  width: number;
  height: number;
  /** The NCA's board after the last generation. */
  final: LifeBoard;
  population: number;
  comparison: GolComparison;
  /** The GIF's bytes when `gif` was asked for. */
  gif: Uint8Array | null;
}

export async function playPattern(params: NcaParams, pattern: LifeBoard, opts: GolPlayOptions): Promise<GolPlayResult> {
  if (typeof opts !== 'object' || opts === null) throw invalidParameterError('options', 'an object { generations, rounding, ... }', opts);
  const generations = requireInt('generations', opts.generations, 0, 1_000_000);
  const auto = autoTorus(pattern, generations);
  const width = optionalInt('width', opts.width, 3, 4096, auto.width);
  const height = optionalInt('height', opts.height, 3, 4096, auto.height);
  if (pattern.width > width || pattern.height > height) throw new UserError(`the pattern is ${pattern.width}x${pattern.height}, larger than the ${width}x${height} torus`);
  const start = placePattern(pattern, width, height, Math.floor((width - pattern.width) / 2), Math.floor((height - pattern.height) / 2));

  // GIF frames are encoded as the run goes (generation 0 first).
  let gif: GifWriter | null = null;
  let draw: ((raw: ArrayLike<number>, exact: Uint8Array) => void) | null = null;
  if (opts.gif) {
    const fps = requireNumber('gif.fps', opts.gif.fps, 0.01, 50);
    const scale = optionalInt('gif.scale', opts.gif.scale, 1, 64, Math.max(1, Math.floor(384 / Math.max(width, height))));
    const compare = opts.gif.compare === true;
    const gap = compare ? Math.max(2, scale) : 0;
    const writer = new GifWriter({ width: compare ? 2 * width * scale + gap : width * scale, height: height * scale, fps });
    gif = writer;
    draw = (raw, exact) => {
      const nca = cellsImage(raw, width, height, scale);
      writer.addFrame(compare ? hstack([nca, cellsImage(exact, width, height, scale)], gap) : nca);
    };
  }
  let exact: LifeBoard = { ...start, cells: start.cells.slice() };
  let spare = emptyBoard(width, height);
  draw?.(start.cells, start.cells);
  const result = await compareWithLife(params, [start], {
    generations,
    rounding: opts.rounding,
    threads: opts.threads,
    signal: opts.signal,
    onGeneration: (g, _boards, raw) => {
      lifeStep(exact, spare);
      [exact, spare] = [spare, exact];
      draw?.(raw, exact.cells);
      opts.onProgress?.(g, generations);
    },
  });
  const final = result.finals[0] ?? start;
  let population = 0;
  for (const v of final.cells) population += v;
  return { width, height, final, population, comparison: result.comparisons[0]!, gif: gif ? gif.bytes() : null };
}

/** Cells (0..1 values, [H][W]) as an RGBA image: dead dark blue-grey, alive warm white, in between blended. */
export function cellsImage(values: ArrayLike<number>, width: number, height: number, scale: number): RgbaImage {
  const W = width * scale;
  const data = new Uint8Array(W * height * scale * 4);
  const dead = [18, 22, 32];
  const alive = [250, 236, 200];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = Math.min(1, Math.max(0, values[y * width + x]!));
      const r = dead[0]! + (alive[0]! - dead[0]!) * v;
      const g = dead[1]! + (alive[1]! - dead[1]!) * v;
      const b = dead[2]! + (alive[2]! - dead[2]!) * v;
      for (let sy = 0; sy < scale; sy++) {
        let o = ((y * scale + sy) * W + x * scale) * 4;
        for (let sx = 0; sx < scale; sx++) {
          data[o++] = r;
          data[o++] = g;
          data[o++] = b;
          data[o++] = 255;
        }
      }
    }
  }
  return { width: W, height: height * scale, data };
}
