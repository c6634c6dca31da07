import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../src/core/io/png.js';
import { planarToRgba } from '../src/core/io/image.js';
import { writeVideoGif } from '../src/core/reconstruct/side-by-side.js';
import { readVideo } from '../src/core/reconstruct/video.js';
import { DEFAULT_MOTION, DUAL_MOTION } from '../src/core/reconstruct/motion.js';
import { reconstruct } from '../src/core/reconstruct/run.js';
import { ncaInProcess } from './nca-in-process.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
let dir: string;

/** A 16 x 16 colour video: a red square moving right over a blue-green gradient. */
function frames(T: number, S = 16): Float32Array[] {
  return Array.from({ length: T }, (_, t) => {
    const f = new Float32Array(3 * S * S);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      const i = y * S + x, inSquare = y >= 4 && y < 10 && x >= t % S && x < (t % S) + 5;
      f[i] = inSquare ? 0.9 : 0.1;
      f[S * S + i] = inSquare ? 0.1 : x / S;
      f[2 * S * S + i] = inSquare ? 0.1 : y / S;
    }
    return f;
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-reconstruct-'));
  await writeVideoGif(join(dir, 'a.gif'), { width: 16, height: 16, frames: frames(12) }, { fps: 10 });
  mkdirSync(join(dir, 'pngs'));
  frames(6).forEach((f, t) => writeFileSync(join(dir, 'pngs', `f${t}.png`), encodePng(planarToRgba(f, 16, 16))));
});

describe('video input', () => {
  it('a GIF and a PNG folder read back as the frames written (within 8-bit and palette rounding)', async () => {
    const gif = await readVideo(join(dir, 'a.gif'));
    expect([gif.width, gif.height, gif.channels, gif.frames.length]).toEqual([16, 16, 3, 12]);
    expect(gif.fps).toBe(10);
    const src = frames(12);
    expect(Math.max(...gif.frames[5]!.map((v, i) => Math.abs(v - src[5]![i]!)))).toBeLessThan(0.02);
    const pngs = await readVideo(join(dir, 'pngs'), { colour: 'grey' });
    expect([pngs.channels, pngs.frames.length]).toEqual([1, 6]);
    expect(pngs.frames[0]![0]).toBeCloseTo(0.299 * 0.1 + 0.587 * 0 + 0.114 * 0, 2);
  });
});

describe('nca reconstruct (built CLI)', () => {
  it('trains on a GIF, writes the outputs and metrics; --params applies them to a PNG folder without training; same seed, same files; mistakes exit 2', () => {
    const out1 = join(dir, 'r1'), out2 = join(dir, 'r2'), out3 = join(dir, 'r3');
    const args = (out: string) => ['reconstruct', join(dir, 'a.gif'), '--keep', '0.2', '--iters', '3', '--no-mp4', '--seed', '4', '--out', out, '--json'];
    const r1 = run(args(out1));
    expect(r1.stderr).toBe('');
    expect(r1.status).toBe(0);
    const s = JSON.parse(r1.stdout);
    expect(s.frames).toBe(12);
    expect(s.trained.iterations).toBe(3);
    expect(s.motionPrior).toBe('local');
    expect(JSON.parse(readFileSync(join(out1, 'params.json'), 'utf8')).config.motion).toEqual(DEFAULT_MOTION);
    expect(s.nca.psnr).toHaveLength(12);
    expect(s.hold.ssim).toHaveLength(12);
    expect(s.margin).toBeCloseTo(s.nca.meanPsnr - Math.max(s.hold.meanPsnr, s.priorBaseline.meanPsnr), 9);
    expect(s.marginAll).toBeCloseTo(s.nca.meanPsnr - Math.max(s.hold.meanPsnr, s.priorBaseline.meanPsnr, s.motionBaseline.meanPsnr), 9);
    expect(s.motionBaseline.psnr).toHaveLength(12);
    expect(s.nca.medianPsnr).toBeCloseTo([...s.nca.psnr].sort((x: number, y: number) => x - y).slice(5, 7).reduce((x: number, y: number) => x + y, 0) / 2, 9);
    for (const f of ['params.json', 'side-by-side.gif', 'metrics.json']) expect(existsSync(join(out1, f))).toBe(true);
    expect(existsSync(join(out1, 'side-by-side.mp4'))).toBe(false);
    // same seed, same bytes
    expect(run(args(out2)).status).toBe(0);
    expect(readFileSync(join(out2, 'params.json'))).toEqual(readFileSync(join(out1, 'params.json')));
    expect(readFileSync(join(out2, 'side-by-side.gif'))).toEqual(readFileSync(join(out1, 'side-by-side.gif')));
    // apply without training
    const r3 = run(['reconstruct', join(dir, 'pngs'), '--params', join(out1, 'params.json'), '--no-mp4', '--out', out3, '--json']);
    expect(r3.status).toBe(0);
    const s3 = JSON.parse(r3.stdout);
    expect(s3.trained).toBeNull();
    expect(s3.frames).toBe(6);
    expect(existsSync(join(out3, 'params.json'))).toBe(false);
    // mistakes: one line, exit 2
    for (const bad of [
      ['reconstruct', join(dir, 'missing.gif'), '--out', join(dir, 'r4')],
      ['reconstruct', join(dir, 'a.gif'), '--keep', '2', '--out', join(dir, 'r4')],
      ['reconstruct', join(dir, 'a.gif'), '--params', join(dir, 'a.gif'), '--out', join(dir, 'r4')],
    ]) {
      const r = run(bad);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^nca: /);
    }
    expect(existsSync(join(dir, 'r4', 'metrics.json'))).toBe(false);
  }, 120_000);

  it('--motion dual trains a new NCA on the two-memory prior, which --params then carries; --motion with --params or a bad name is one line, exit 2', async () => {
    const out = join(dir, 'dual'), applied = join(dir, 'dual-applied');
    const r = await ncaInProcess(['reconstruct', join(dir, 'a.gif'), '--keep', '0.2', '--iters', '2', '--motion', 'dual', '--no-mp4', '--seed', '4', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.motionPrior).toBe('dual');
    const params = join(out, 'params.json');
    expect(JSON.parse(readFileSync(params, 'utf8')).config.motion).toEqual(DUAL_MOTION);
    // applied elsewhere, the NCA keeps the prior it was trained on (and its motion baseline is that prior)
    const a = await ncaInProcess(['reconstruct', join(dir, 'pngs'), '--params', params, '--no-mp4', '--out', applied, '--json']);
    expect(a.status).toBe(0);
    expect(JSON.parse(a.stdout).motionPrior).toBe('dual');
    const refused = await ncaInProcess(['reconstruct', join(dir, 'pngs'), '--params', params, '--motion', 'local', '--out', join(dir, 'dual-refused')]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^nca: .*carries its own motion prior: drop --motion/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'dual-refused', 'metrics.json'))).toBe(false);
    const bad = await ncaInProcess(['reconstruct', join(dir, 'a.gif'), '--motion', 'global', '--out', join(dir, 'dual-bad')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^nca: .*--motion.*local, dual/);
    // the core checks its own input too (a library caller has no commander in front of it)
    await expect(reconstruct({ video: join(dir, 'a.gif'), out: join(dir, 'dual-core'), motion: 'global' as 'dual' })).rejects.toThrow('--motion must be local or dual, not global');
    expect(existsSync(join(dir, 'dual-core'))).toBe(false);
  }, 60_000);
});
