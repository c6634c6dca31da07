import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { UserError, requireInt } from '../errors.js';
import { fsError } from '../io/fs-error.js';
import type { RgbaImage } from '../io/image.js';
import { LATENT_DIM, type Latent } from '../latent.js';
import type { AliveClass } from '../metrics.js';
import type { Protocol } from '../nca/params.js';
import type { NeuroModel } from '../model/networks.js';
import type { GalleryJob } from './jobs.js';
import { LIMITS, render, type LatentModel } from '../render.js';

/**
 * The latent atlas: a 2-D slice of latent space drawn as one sheet of last frames.
 *
 * The slice is the plane through three corner latents a, b, c, parametrised bilinearly:
 *
 *     z(u, v) = a + u (b - a) + v (c - a),    u, v in [0, 1]
 *
 * with u = column / (grid - 1) left to right and v = row / (grid - 1) top to bottom. So a is the
 * top-left cell, b the top-right, c the bottom-left, and the bottom-right cell is b + c - a (the
 * fourth corner of the parallelogram, not a latent given by the user). Rows and columns are straight
 * lines (linear interpolation, not slerp), so the sheet shows an honest affine slice.
 *
 * Every cell is an ordinary render of its latent (src/core/render.ts, same seed, init, protocol and
 * perturbation for all cells), so a corner cell is exactly `nca render --latent a.json` with the
 * same options. The engine's batch cannot help: it shares one set of weights while every cell has
 * its own, and even with one set a batch is no faster per grid at this size (64x64, 200 steps, one
 * thread: 0.089 s alone, 0.083 s per grid at batch 8, 0.127 s at batch 64). So cells are independent
 * renders: one after another in this thread, or `workers` at a time on worker threads (the gallery's
 * RenderPool; onnxruntime-node runs a session synchronously on the calling thread, so async
 * concurrency in one thread would not overlap anything).
 *
 * The sheet: grid x grid cells of (size * scale) px, separated by ATLAS_GUTTER px of dark grey, no
 * outer border; written atomically as a PNG.
 */

/** How errors name the corners. */
const CORNER_NAMES = ['a (top left)', 'b (top right)', 'c (bottom left)'];

/** Pixels between cells. */
export const ATLAS_GUTTER = 2;
/** Gutter colour (RGB). */
const GUTTER_RGB = [40, 40, 44] as const;
/** Cells per side: at least 2 (one per corner), at most 32 (1024 renders). */
export const ATLAS_GRID = { min: 2, max: 32 } as const;

export interface AtlasOptions {
  /** Cells per side, 2..32. */
  grid: number;
  /** Side of each cell's NCA grid (cells are square), 4..1024. */
  size: number;
  /** NCA steps per cell, 1..LIMITS.maxSteps (as nca render); the sheet shows the frame after the last one. */
  steps: number;
  /** One seed for every cell (hidden-channel noise, perturbation walk), as `nca render --seed`. */
  seed: number | string;
  /** Latent perturbation level 0..9 while playing, the same walk added to every cell (default 0). */
  perturb?: number;
  /** Nearest-neighbour upscaling of each cell, 1..16 (default 1). */
  scale?: number;
  /**
   * Cells rendered at once, on worker threads (the gallery's render pool), each loading the model
   * from `modelDir` (default 1: cells render one after another in this thread, with `model`).
   * onnxruntime runs a session synchronously on the calling thread, so concurrency needs threads.
   */
  workers?: number;
  /** onnxruntime threads per cell (default: cores / workers, at least 1). */
  threads?: number;
  /** The model for cells rendered in this thread (loaded from `modelDir` when absent). */
  model?: LatentModel;
  /** The model folder (default: the shipped model): what workers load; must hold the same model as `model`. */
  modelDir?: string;
  /** The protocol every cell plays (default 'frame', as render); pass the one the model was trained with. */
  protocol?: Protocol;
  /** The sheet: a .png file. */
  out: string;
  /** Called after each cell with (cells done, cells in all). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface AtlasCell {
  row: number;
  col: number;
  u: number;
  v: number;
  alive: AliveClass;
  coherent: boolean;
  /** Mean absolute change per step over the run. */
  meanChange: number;
}

export interface AtlasSummary {
  out: string;
  grid: number;
  /** Sheet size in pixels. */
  width: number;
  height: number;
  /** Pixels per cell side (size * scale). */
  cellPixels: number;
  steps: number;
  protocol: Protocol;
  cells: number;
  /** Wall seconds for the whole atlas, and cells per second. */
  seconds: number;
  cellsPerSecond: number;
  /** How many cells fell in each alive class (src/core/metrics.ts), and how many were coherent. */
  alive: Record<AliveClass, number>;
  coherent: number;
  /** Per cell, row-major (row 0 = top: a ... b; last row: c ... b + c - a). */
  cellStats: AtlasCell[];
}

/** z(u, v) = a + u (b - a) + v (c - a): Float32Array [64]. */
export function atlasLatent(a: Float32Array, b: Float32Array, c: Float32Array, u: number, v: number): Float32Array {
  const z = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) z[i] = a[i]! + u * (b[i]! - a[i]!) + v * (c[i]! - a[i]!);
  return z;
}

/** Sheet size in pixels for `grid` cells of `cellPixels` per side. */
export function atlasSheetSize(grid: number, cellPixels: number): number {
  return grid * cellPixels + (grid - 1) * ATLAS_GUTTER;
}

/** Renders the atlas of the plane through three corner latents (see the module comment) and writes the sheet. */
export async function renderAtlas(corners: readonly [Latent, Latent, Latent], opts: AtlasOptions): Promise<AtlasSummary> {
  const t0 = performance.now();
  const grid = requireInt('--grid', opts.grid, ATLAS_GRID.min, ATLAS_GRID.max);
  const size = requireInt('--size', opts.size, 4, 1024);
  const steps = requireInt('--steps', opts.steps, 1, LIMITS.maxSteps);
  const scale = requireInt('--scale', opts.scale ?? 1, 1, 16);
  const perturb = requireInt('--perturb', opts.perturb ?? 0, 0, 9);
  const workers = Math.min(grid * grid, requireInt('--jobs', opts.workers ?? 1, 1, 256));
  const threads = requireInt('--threads', opts.threads ?? Math.max(1, Math.floor(availableParallelism() / workers)), 1, 256);
  if (extname(opts.out).toLowerCase() !== '.png') throw new UserError(`the atlas is one PNG sheet: --out ${opts.out} must end in .png`);
  const cellPixels = size * scale;
  const side = atlasSheetSize(grid, cellPixels);
  if (side * side > LIMITS.maxCells * 4) throw new UserError(`a ${grid}x${grid} atlas of ${cellPixels} px cells is ${side}x${side} px, too large; use a smaller --grid, --size or --scale`);
  const [a, b, c] = corners.map((latent, i) => cornerVector(latent, CORNER_NAMES[i]!));

  const sheet: RgbaImage = { width: side, height: side, data: new Uint8Array(side * side * 4) };
  for (let p = 0; p < side * side; p++) sheet.data.set([...GUTTER_RGB, 255], p * 4);

  const total = grid * grid;
  const protocol: Protocol = opts.protocol ?? 'frame';
  const cellStats: AtlasCell[] = new Array(total);
  const work = await mkdtemp(join(tmpdir(), 'nca-atlas-')).catch((e: unknown) => {
    throw fsError('create a working folder in', tmpdir(), e, 'set TMPDIR to a writable folder');
  });
  const { readPng, writePng } = await import('../io/png.js');
  const cellOf = (index: number) => {
    const row = Math.floor(index / grid), col = index % grid;
    const u = col / (grid - 1), v = row / (grid - 1);
    return { row, col, u, v, z: atlasLatent(a, b, c, u, v), out: join(work, `cell-${index}.png`) };
  };
  let done = 0;
  const place = async (index: number, motion: Pick<AtlasCell, 'alive' | 'coherent' | 'meanChange'>) => {
    const { row, col, u, v, out } = cellOf(index);
    blit(sheet, await readPng(out), col * (cellPixels + ATLAS_GUTTER), row * (cellPixels + ATLAS_GUTTER));
    await rm(out, { force: true });
    cellStats[index] = { row, col, u, v, alive: motion.alive, coherent: motion.coherent, meanChange: motion.meanChange };
    opts.onProgress?.(++done, total);
  };

  try {
    if (workers > 1) {
      // Worker threads: each loads the model folder and renders whole cells (the gallery's pool).
      const { RenderPool } = await import('./pool.js');
      const { latentToJson } = await import('../latent.js');
      const pool = new RenderPool({ workers, threads, modelDir: opts.modelDir });
      const onAbort = () => pool.abort();
      opts.signal?.addEventListener('abort', onAbort);
      let next = 0;
      const slot = async (k: number) => {
        while (next < total) {
          const index = next++;
          const cell = cellOf(index);
          const latentFile = join(work, `cell-${index}.json`);
          await writeFile(latentFile, latentToJson({ z: cell.z, provenance: { atlas: { u: cell.u, v: cell.v } } })).catch((e: unknown) => {
            throw fsError('write', latentFile, e, 'make room in the temporary folder (TMPDIR)');
          });
          const outcome = await pool.run(k, atlasJob(index, latentFile, { size, steps, scale, seed: opts.seed, perturb, protocol }), cell.out);
          if (!outcome.ok) throw new UserError(`atlas cell (row ${cell.row}, column ${cell.col}): ${outcome.error}`);
          await place(index, outcome.motion);
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(workers, total) }, (_, k) => slot(k).catch((e: unknown) => (pool.abort(), Promise.reject(e)))));
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
        await pool.close();
      }
    } else {
      // This thread: one cell after another with the caller's model.
      const loaded = opts.model ? null : await loadModel(opts.modelDir);
      const model = opts.model ?? loaded!;
      try {
        for (let index = 0; index < total; index++) {
          const cell = cellOf(index);
          const latent: Latent = { z: cell.z, provenance: { atlas: { u: cell.u, v: cell.v } } };
          const summary = await render({ kind: 'latent', latent, model }, { width: size, height: size, steps, scale, seed: opts.seed, perturb, protocol, threads, out: cell.out, signal: opts.signal });
          await place(index, summary.motion);
        }
      } finally {
        loaded?.dispose();
      }
    }
    opts.signal?.throwIfAborted();
    await writePng(opts.out, sheet);
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const alive: Record<AliveClass, number> = { alive: 0, static: 0, noise: 0, dead: 0 };
  for (const cell of cellStats) alive[cell.alive]++;
  const seconds = (performance.now() - t0) / 1000;
  return {
    out: opts.out,
    grid,
    width: side,
    height: side,
    cellPixels,
    steps,
    protocol,
    cells: total,
    seconds,
    cellsPerSecond: total / seconds,
    alive,
    coherent: cellStats.filter((s) => s.coherent).length,
    cellStats,
  };
}

/** A corner's latent vector; tracks (latents that change over time) have no single point to place. */
function cornerVector(latent: Latent, corner: string): Float32Array {
  if (!latent.z) throw new UserError(`atlas corner ${corner} is a latent track; the atlas needs single latents (nca encode without --track, or nca random)`);
  if (latent.z.length !== LATENT_DIM) throw new UserError(`atlas corner ${corner} has ${latent.z.length} numbers, expected ${LATENT_DIM}`);
  return latent.z;
}

/** Copies `img` into `sheet` with its top-left corner at (left, top). */
function blit(sheet: RgbaImage, img: RgbaImage, left: number, top: number): void {
  const rowBytes = img.width * 4;
  for (let y = 0; y < img.height; y++) sheet.data.set(img.data.subarray(y * rowBytes, (y + 1) * rowBytes), ((top + y) * sheet.width + left) * 4);
}

/** A cell as a gallery job: a latent file rendered to a PNG of its last frame. */
function atlasJob(index: number, latentFile: string, o: { size: number; steps: number; scale: number; seed: number | string; perturb: number; protocol: Protocol }): GalleryJob {
  return {
    index,
    name: `atlas-cell-${index}`,
    output: `cell-${index}.png`,
    source: { kind: 'latent', file: latentFile },
    settings: { steps: o.steps, width: o.size, height: o.size, scale: o.scale, fps: 20, every: 1, seed: o.seed, perturb: o.perturb, protocol: o.protocol, format: 'png' },
    origin: 'atlas',
  };
}

async function loadModel(dir?: string): Promise<NeuroModel> {
  const networks = await import('../model/networks.js');
  return networks.loadModel(dir);
}
