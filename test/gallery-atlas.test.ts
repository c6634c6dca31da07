import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATLAS_GUTTER, atlasLatent, atlasSheetSize, renderAtlas, type AtlasSummary } from '../src/core/gallery/atlas.js';
import type { RgbaImage } from '../src/core/io/image.js';
import { readPng } from '../src/core/io/png.js';
import { randomLatent, type Latent } from '../src/core/latent.js';
import { createRandomModel, type NeuroModel } from '../src/core/model/networks.js';
import { render } from '../src/core/render.js';
import { Rng } from '../src/core/rng.js';

const GRID = 3, SIZE = 16, SCALE = 2, STEPS = 16, SEED = 7;
const CELL = SIZE * SCALE;
let dir: string;
let model: NeuroModel;
let corners: [Latent, Latent, Latent];
let summary: AtlasSummary;
let sheet: RgbaImage;

/** The cell at (row, col) of a sheet, as its own image. */
function cellOf(img: RgbaImage, row: number, col: number, cell = CELL): RgbaImage {
  const data = new Uint8Array(cell * cell * 4);
  const left = col * (cell + ATLAS_GUTTER), top = row * (cell + ATLAS_GUTTER);
  for (let y = 0; y < cell; y++) data.set(img.data.subarray(((top + y) * img.width + left) * 4, ((top + y) * img.width + left + cell) * 4), y * cell * 4);
  return { width: cell, height: cell, data };
}

/** The last frame of an ordinary render of `z` with the atlas's options. */
async function renderAlone(z: Float32Array, name: string, extra: { perturb?: number } = {}): Promise<RgbaImage> {
  const out = join(dir, `${name}.png`);
  await render({ kind: 'latent', latent: { z, provenance: {} }, model }, { width: SIZE, height: SIZE, steps: STEPS, scale: SCALE, seed: SEED, out, threads: 1, ...extra });
  return readPng(out);
}

const same = (x: RgbaImage, y: RgbaImage) => x.width === y.width && Buffer.from(x.data).equals(Buffer.from(y.data));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-atlas-'));
  model = await createRandomModel(new Rng(1));
  const rng = new Rng(21);
  corners = [0, 1, 2].map(() => ({ z: randomLatent(rng), provenance: {} })) as [Latent, Latent, Latent];
  const progress: number[] = [];
  summary = await renderAtlas(corners, { grid: GRID, size: SIZE, scale: SCALE, steps: STEPS, seed: SEED, threads: 1, model, out: join(dir, 'atlas.png'), onProgress: (d) => progress.push(d) });
  expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  sheet = await readPng(join(dir, 'atlas.png'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('latent atlas', () => {
  it('z(u, v) = a + u (b - a) + v (c - a): the corners, and b + c - a at (1, 1)', () => {
    const a = new Float32Array([1, 0]), b = new Float32Array([3, 0]), c = new Float32Array([1, 4]);
    expect(Array.from(atlasLatent(a, b, c, 0, 0))).toEqual([1, 0]);
    expect(Array.from(atlasLatent(a, b, c, 1, 0))).toEqual([3, 0]);
    expect(Array.from(atlasLatent(a, b, c, 0, 1))).toEqual([1, 4]);
    expect(Array.from(atlasLatent(a, b, c, 1, 1))).toEqual([3, 4]);
    expect(Array.from(atlasLatent(a, b, c, 0.5, 0.25))).toEqual([2, 1]);
  });

  it('writes one sheet of grid x grid cells with thin gutters, and summarises every cell', () => {
    const side = GRID * CELL + (GRID - 1) * ATLAS_GUTTER;
    expect(atlasSheetSize(GRID, CELL)).toBe(side);
    expect([sheet.width, sheet.height]).toEqual([side, side]);
    expect(summary).toMatchObject({ grid: GRID, width: side, height: side, cellPixels: CELL, cells: 9, steps: STEPS, protocol: 'frame' });
    // The gutter column between the first two cells is one grey on every row.
    const gutter = new Set<string>();
    for (let y = 0; y < side; y++) gutter.add(Array.from(sheet.data.subarray((y * side + CELL) * 4, (y * side + CELL) * 4 + 4)).join());
    expect([...gutter]).toEqual(['40,40,44,255']);
    expect(Object.values(summary.alive).reduce((s, n) => s + n, 0)).toBe(9);
    expect(summary.cellStats.map((c) => [c.row, c.col, c.u, c.v])).toEqual([
      [0, 0, 0, 0], [0, 1, 0.5, 0], [0, 2, 1, 0], [1, 0, 0, 0.5], [1, 1, 0.5, 0.5], [1, 2, 1, 0.5], [2, 0, 0, 1], [2, 1, 0.5, 1], [2, 2, 1, 1],
    ]);
  });

  it('the corner cells are exactly ordinary renders of a, b, c and b + c - a (same seed and init); the middle differs', async () => {
    const [a, b, c] = corners.map((l) => l.z!);
    const alone = {
      a: await renderAlone(a!, 'a'),
      b: await renderAlone(b!, 'b'),
      c: await renderAlone(c!, 'c'),
      d: await renderAlone(atlasLatent(a!, b!, c!, 1, 1), 'd'),
    };
    expect(same(cellOf(sheet, 0, 0), alone.a)).toBe(true);
    expect(same(cellOf(sheet, 0, GRID - 1), alone.b)).toBe(true);
    expect(same(cellOf(sheet, GRID - 1, 0), alone.c)).toBe(true);
    expect(same(cellOf(sheet, GRID - 1, GRID - 1), alone.d)).toBe(true);
    const middle = cellOf(sheet, 1, 1);
    for (const corner of Object.values(alone)) expect(same(middle, corner)).toBe(false);
    // The middle is the render of the midpoint of the plane.
    expect(same(middle, await renderAlone(atlasLatent(a!, b!, c!, 0.5, 0.5), 'm'))).toBe(true);
  });

  it('renders the same sheet on 2 worker threads (the gallery pool, each loading the model folder) as in this thread', async () => {
    const modelDir = join(dir, 'model');
    await model.save(modelDir);
    // The built module (dist/, made by global-setup): its pool finds worker.js and starts real worker threads.
    const built = (await import('../dist/core/gallery/atlas.js')) as typeof import('../src/core/gallery/atlas.js');
    const pooled = await built.renderAtlas(corners, { grid: GRID, size: SIZE, scale: SCALE, steps: STEPS, seed: SEED, workers: 2, modelDir, out: join(dir, 'pooled.png') });
    expect(readFileSync(join(dir, 'pooled.png')).equals(readFileSync(join(dir, 'atlas.png')))).toBe(true);
    expect(pooled.cellStats).toEqual(summary.cellStats);
  });

  it('perturbation adds one walk to every cell', async () => {
    const perturbed = await renderAtlas(corners, { grid: 2, size: SIZE, scale: SCALE, steps: STEPS, seed: SEED, perturb: 9, model, out: join(dir, 'perturbed.png') });
    const img = await readPng(perturbed.out);
    expect(same(cellOf(img, 0, 1), await renderAlone(corners[1].z!, 'bp', { perturb: 9 }))).toBe(true);
    expect(same(cellOf(img, 0, 1), cellOf(sheet, 0, GRID - 1))).toBe(false);
  });

  it('refuses tracks as corners, a non-PNG output, a grid of 1 and 0 steps', async () => {
    const base = { grid: 2, size: SIZE, steps: 2, seed: 0, model, out: join(dir, 'x.png') };
    const track: Latent = { track: [{ t: 0, z: corners[0].z! }], provenance: {} };
    await expect(renderAtlas([corners[0], track, corners[2]], base)).rejects.toThrow('atlas corner b (top right) is a latent track');
    await expect(renderAtlas(corners, { ...base, out: join(dir, 'x.gif') })).rejects.toThrow('must end in .png');
    await expect(renderAtlas(corners, { ...base, grid: 1 })).rejects.toThrow('expected an integer between 2 and 32 for --grid but received 1');
    await expect(renderAtlas(corners, { ...base, steps: 0 })).rejects.toThrow('expected an integer between 1 and 1000000 for --steps but received 0');
  });
});
