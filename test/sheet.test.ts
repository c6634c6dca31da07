import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ncaInProcess } from './nca-in-process.js';
import { latentToJson, randomLatent } from '../src/core/latent.js';
import { readPng } from '../src/core/io/png.js';
import type { RgbaImage } from '../src/core/io/image.js';
import { Rng } from '../src/core/rng.js';
import { sheetLayout } from '../src/core/sheet.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const nca = (args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--threads', '1'], { encoding: 'utf8' });
/** The same in this process (src/cli.ts main, test/nca-in-process.ts): each test still spawns the real bin once. */
const ncaHere = (args: string[]) => ncaInProcess([...args, '--threads', '1']);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nca-sheet-'));
});

/** The w x h block of `img` at (x, y), as bytes. */
function crop(img: RgbaImage, x: number, y: number, w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h * 4);
  for (let j = 0; j < h; j++) Buffer.from(img.data.buffer, img.data.byteOffset + ((y + j) * img.width + x) * 4, w * 4).copy(out, j * w * 4);
  return out;
}

describe('nca sheet', () => {
  it('--random: rows are nca render --random --seed seed+i --init noise, cut at the chosen frames; labels, layout and alive classes', async () => {
    const out = join(dir, 'random.png');
    const r = nca(['sheet', '--random', '3', '--seed', '1', '--frames', '0,20,40', '--size', '16', '--scale', '2', '--json', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.rows.map((row: { label: string; seed: number }) => [row.label, row.seed])).toEqual([['1', 1], ['2', 2], ['3', 3]]);
    for (const row of s.rows) expect(['dead', 'static', 'noise', 'alive']).toContain(row.alive);
    expect(s.alive).toBe(s.rows.filter((row: { alive: string }) => row.alive === 'alive').length);
    expect(s.frames).toEqual([0, 20, 40]);
    const img = await readPng(out);
    const layout = sheetLayout({ rows: 3, columns: 3, cellWidth: 32, cellHeight: 32, gutter: 2, rowLabels: ['1', '2', '3'] });
    expect([img.width, img.height]).toEqual([layout.width, layout.height]);
    expect([s.width, s.height]).toEqual([layout.width, layout.height]);
    // row 2 (seed 2) at frame 40 is the last frame of the same render made by nca render
    const single = join(dir, 'seed2.png');
    const rr = nca(['render', '--random', '--seed', '2', '--init', 'noise', '--steps', '40', '--size', '16', '--scale', '2', '--out', single]);
    expect(rr.status).toBe(0);
    const ref = await readPng(single);
    const at = layout.cellAt(1, 2);
    expect(crop(img, at.x, at.y, 32, 32).equals(crop(ref, 0, 0, 32, 32))).toBe(true);
    // and differs from row 1's cell at that frame
    const other = layout.cellAt(0, 2);
    expect(crop(img, other.x, other.y, 32, 32).equals(crop(ref, 0, 0, 32, 32))).toBe(false);
    // labels: ink in the header above the first column and in the left margin
    const inked = (x: number, y: number, w: number, h: number) => crop(img, x, y, w, h).some((v, i) => i % 4 === 0 && v > 200);
    const first = layout.cellAt(0, 0);
    expect(inked(first.x, 0, 32, layout.headerHeight)).toBe(true);
    expect(inked(0, first.y, layout.labelWidth, 32)).toBe(true);
    expect(inked(first.x, first.y - 2, 32, 2)).toBe(false); // the gutter stays background
  });

  it('--latent files and --notes-grid; --no-labels --gutter 0 packs the cells edge to edge', async () => {
    const a = join(dir, 'alpha.json'), b = join(dir, 'beta.json');
    writeFileSync(a, latentToJson({ z: randomLatent(new Rng(5)), provenance: {} }));
    writeFileSync(b, latentToJson({ z: randomLatent(new Rng(6)), provenance: {} }));
    const out = join(dir, 'files.png');
    const r = nca(['sheet', '--latent', a, b, '--frames', '5,10', '--size', '16', '--no-labels', '--gutter', '0', '--json', '--out', out]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).rows.map((row: { label: string }) => row.label)).toEqual(['alpha', 'beta']);
    const img = await readPng(out);
    expect([img.width, img.height]).toEqual([2 * 16, 2 * 16]);
    const grid = await ncaHere(['sheet', '--notes-grid', '--instruments', 'piano,violin', '--notes', 'F4,C5', '--frames', '0,8', '--size', '16', '--init', 'decoder', '--blocks', '2', '--json', '--out', join(dir, 'grid.png')]);
    expect(grid.status).toBe(0);
    const g = JSON.parse(grid.stdout);
    const labels = ['piano F4', 'piano C5', 'violin F4', 'violin C5'];
    expect(g.rows.map((row: { label: string }) => row.label)).toEqual(labels);
    expect(g.init).toBe('decoder');
    // two blocks of two rows side by side
    const layout = sheetLayout({ rows: 4, columns: 2, cellWidth: 16, cellHeight: 16, gutter: 2, rowLabels: labels, blocks: 2 });
    const gridImg = await readPng(join(dir, 'grid.png'));
    expect([gridImg.width, gridImg.height]).toEqual([layout.width, layout.height]);
    expect(layout.cellAt(2, 0).y).toBe(layout.cellAt(0, 0).y);
    expect(layout.cellAt(2, 0).x).toBeGreaterThan(layout.cellAt(1, 1).x + 16);
  });

  it('refuses bad frames, a missing source, a non-PNG output and unknown notes, writing nothing', async () => {
    const out = join(dir, 'bad.png');
    const cases: Array<[string[], RegExp]> = [
      [['--random', '2', '--frames', '100,50'], /frames must increase, but 50 follows 100/],
      [['--frames', '0,10'], /give one of --random, --latent, --notes-grid/],
      [['--random', '2', '--frames', '0'], /last frame must be at least 1/],
      [['--random', '2', '--out', join(dir, 'bad.gif')], /--out must be a \.png file/],
      [['--notes-grid', '--notes', 'H9'], /no note H9/],
    ];
    for (const [i, [args, message]] of cases.entries()) {
      const r = i === 0 ? nca(['sheet', '--size', '8', '--out', out, ...args]) : await ncaHere(['sheet', '--size', '8', '--out', out, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});
