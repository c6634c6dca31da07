import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { OUTPUT_LIMITS } from '../src/core/limits.js';
import { PARAM_COUNT, paramsToJson, randomParams } from '../src/core/nca/params.js';
import { render, type LatentModel } from '../src/core/render.js';
import { Rng } from '../src/core/rng.js';
import { renderSheet } from '../src/core/sheet.js';
import { spectrogramImage } from '../src/core/audio/spectrogram.js';

/**
 * Output size limits (issue 11): an output too large to build (past OUTPUT_LIMITS: 16384 px per side,
 * 2^28 pixels per image, a GIF under 2 GB) is refused before anything is built or written, quickly,
 * naming the option to change.
 */
const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const params = randomParams(new Rng(1));
const model: LatentModel = {
  hypernetwork: (_z, batch) => new Float32Array(batch * PARAM_COUNT),
  decodeFirstFrame: (_z, batch) => new Float32Array(batch * 16 * 32 * 32),
};

async function refusedQuickly(call: () => Promise<unknown> | unknown, message: RegExp): Promise<void> {
  const t0 = performance.now();
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UserError);
  expect((error as Error).message).toMatch(message);
  expect(performance.now() - t0).toBeLessThan(10_000); // a hang guard; "before building" is shown by onProgress below
}

/** Progress callbacks that must never run: the render was refused before its first step. */
const noProgress = () => {
  throw new Error('the render started: it should have been refused before building anything');
};

describe('output size limits', () => {
  it('are 16384 px per side, 2^28 pixels (16384 x 16384) and 2 GB of GIF', () => {
    expect(OUTPUT_LIMITS).toEqual({ maxSide: 16384, maxPixels: 2 ** 28, maxGifBytes: 2 ** 31 });
  });

  it('nca render --size 2048x2048 --scale 16 --out x.png is refused at once, writing nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-limits-'));
    const p = join(dir, 'p.json');
    writeFileSync(p, paramsToJson(params));
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, 'render', '--params', p, '--size', '2048x2048', '--scale', '16', '--steps', '1', '--out', join(dir, 'x.png')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('nca: a frame of 2048x2048 cells at --scale 16 would be 32768x32768 pixels, more than the 16384 per side nca writes; use a smaller --scale or --size\n');
    expect(r.status).toBe(2);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(readdirSync(dir)).toEqual(['p.json']);
  });

  it('render() refuses PNGs, PNG sequences and GIFs past the limits before building', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-limits-'));
    const source = { kind: 'params' as const, params };
    // 4096 x 16 cells at scale 16: 65536 px wide (past the side limit), a small grid
    await refusedQuickly(() => render(source, { width: 4096, height: 16, scale: 16, steps: 1, out: join(dir, 'wide.png'), onProgress: noProgress }), /65536x256 pixels, more than the 16384 per side nca writes; use a smaller --scale or --size/);
    await refusedQuickly(() => render(source, { width: 16, height: 2048, scale: 9, steps: 1, out: join(dir, 'seq'), onProgress: noProgress }), /144x18432 pixels, more than the 16384 per side nca writes; use a smaller --scale or --size/);
    await refusedQuickly(() => render(source, { width: 1024, height: 1024, scale: 4, steps: 200, out: join(dir, 'big.gif'), onProgress: noProgress }), /a GIF of 201 frames of 4096x4096 would need over 2 GB; use --every/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('contact sheets and spectrogram pictures past the limits are refused before anything is computed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-limits-'));
    // 3000 frames of 4x4 cells: a sheet 18000 px wide but only a few rows high
    const frames = Array.from({ length: 3000 }, (_, i) => i);
    await refusedQuickly(
      () => renderSheet(model, [{ label: 'a', z: new Float32Array(64), seed: 1 }], { width: 4, height: 4, frames, out: join(dir, 's.png'), onProgress: noProgress }),
      /^a sheet of 1 rows x 3000 frames of 4x4 px cells would be \d+x\d+ pixels, more than the 16384 per side nca writes; use fewer rows or frames/,
    );
    expect(readdirSync(dir)).toEqual([]);
    await refusedQuickly(() => spectrogramImage(new Float32Array(22050), { width: 32, height: 32, scale: 1024 }), /a 32x32 spectrogram at --scale 1024 would be 32768x32768 pixels, more than the 16384 per side nca writes; use a smaller --scale or --size/);
    await refusedQuickly(() => spectrogramImage(new Float32Array(22050), { width: 2048, height: 2048, scale: 64 }), /per side/);
  });
});
