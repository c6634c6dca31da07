import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isTranslate, placePattern } from '../src/core/gol/life.js';
import { parseRle } from '../src/core/gol/rle.js';
import { ncaInProcess } from './nca-in-process.js';

const run = promisify(execFile);
const bin = new URL('../bin/nca.js', import.meta.url).pathname;
const fixtures = new URL('../fixtures/gol/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'nca-gol-'));

async function nca(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('nca gol-check (end to end)', () => {
  it('proves the shipped network: exit 0, every part holds', async () => {
    const r = await nca(['gol-check', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.holds).toBe(true);
    expect(report.rounded.mismatches).toBe(0);
    expect(report.free.eps).toBeGreaterThan(0);
    expect(report.soups.length).toBeGreaterThanOrEqual(15);
    expect(report.soups.every((s: { mismatchedCells: number }) => s.mismatchedCells === 0)).toBe(true);
    expect(report.patterns.map((p: { name: string }) => p.name)).toContain('Gosper glider gun');
    expect(report.patterns.every((p: { mismatchedCells: number; behaviour: string | null }) => p.mismatchedCells === 0 && p.behaviour === null)).toBe(true);
  }, 60_000);

  it('rejects a random parameters file, showing where it is wrong', async () => {
    const p = join(dir, 'random.json');
    expect((await ncaInProcess(['random', '--params', '--seed', '4', '--out', p])).status).toBe(0); // in process: random is spawned in cli.test
    const r = await nca(['gol-check', '--weights', p, '--proofs-only']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/neighbourhoods are WRONG/);
    expect(r.stdout).toMatch(/\[[#.]\]/); // the drawn neighbourhood with its centre marked
    expect(r.stdout).toMatch(/FAILED/);
  }, 60_000);
});

describe('nca gol (end to end)', () => {
  it('runs a glider and writes the final board as RLE', async () => {
    const out = join(dir, 'glider.rle');
    const r = await nca(['gol', join(fixtures, 'glider.rle'), '--generations', '8', '--size', '12x12', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/identical to the exact rule/);
    const end = parseRle(readFileSync(out, 'utf8')).board;
    const glider = parseRle(readFileSync(join(fixtures, 'glider.rle'), 'utf8')).board;
    const start = placePattern(glider, 12, 12, 4, 4);
    expect(isTranslate(start, end, 2, 2)).toBe(true);
  }, 30_000);

  it('renders NCA and exact side by side as a GIF', async () => {
    const out = join(dir, 'blinker.gif');
    const r = await ncaInProcess(['gol', join(fixtures, 'blinker.rle'), '--generations', '4', '--compare', '--out', out, '--json']); // the bin: the glider above
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).mismatchedCells).toBe(0);
    expect(readFileSync(out).subarray(0, 6).toString()).toBe('GIF89a');
  }, 30_000);

  it('refuses another rule and malformed RLE with a clear message', async () => {
    const p = join(dir, 'highlife.rle');
    writeFileSync(p, 'x = 3, y = 1, rule = B36/S23\n3o!\n');
    const r = await nca(['gol', p, '--out', join(dir, 'x.rle')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/rule B36\/S23 is not supported/);
    writeFileSync(p, 'x = 3, y = 1\n3q!\n');
    expect((await ncaInProcess(['gol', p, '--out', join(dir, 'x.rle')])).stderr).toMatch(/unexpected character "q"/);
  }, 30_000);
});
