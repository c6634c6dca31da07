import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../src/core/audio/wav.js';
import { chromiumPath, launchBrowser } from '../src/core/play/browser.js';
import { ncaInProcess } from './nca-in-process.js';
import { BIN, ROOT, maxAbsDiff, staticServer } from './play-helpers.js';

/**
 * `nca play --export DIR`: the same page as a static folder, loaded from a plain static server in
 * headless Chromium (one launch); the browser's encoder on a sound equals `nca encode --track` on
 * the same WAV; and the command's failures are one line and exit code 2.
 */

declare const ncaPlay: {
  status(): { frames: number; name: string; threads: number };
  encodeTrack(samples: number[], fps: number): Array<{ t: number; z: number[] }>;
};

const nca = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });

let dir: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-play-export-'));
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('nca play --export', () => {
  it('writes the page, the project modules, onnxruntime-web, the graphs and the model; no bench page', () => {
    const r = nca('play', '--export', join(dir, 'site'), '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { files: number; bytes: number; modelDir: string };
    expect(summary.files).toBeGreaterThan(20);
    for (const f of ['index.html', 'main.js', 'model.js', 'nca-engine.js', 'audio.js', 'dist/core/audio/sliding-contexts.js', 'dist/core/rng.js', 'vendor/fft.js', 'vendor/ort/ort.wasm.min.mjs', 'vendor/ort/ort-wasm-simd-threaded.wasm', 'graphs/nca-frame-128x128-k4.onnx', 'model/model.json', 'model/notes.json']) {
      expect(existsSync(join(dir, 'site', f)), f).toBe(true);
    }
    expect(readFileSync(join(dir, 'site', 'model', 'weights.bin')).equals(readFileSync(join(ROOT, 'fixtures', 'model', 'weights.bin')))).toBe(true);
    expect(existsSync(join(dir, 'site', 'bench'))).toBe(false);
  });

  it('loads from a plain static server (no special headers: one onnxruntime thread) and plays', async () => {
    const server = await staticServer(join(dir, 'site'));
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(server.url);
      await page.waitForFunction('window.ncaPlayReady === true || !document.getElementById("error").hidden', { timeout: 90_000 });
      expect(await page.$eval('#error', (e) => (e as HTMLElement).hidden)).toBe(true);
      await page.waitForFunction(() => ncaPlay.status().frames >= 8, { timeout: 60_000, polling: 100 });
      const s = await page.evaluate(() => ncaPlay.status());
      expect(s.name).toBe('piano A4');
      expect(s.threads).toBe(1);
      expect(errors).toEqual([]);

      // the browser encoder equals nca encode --track on the same WAV
      // (nca synth and nca encode in process: each spawns the bin in its own tests)
      const wav = join(dir, 'clarinet.wav');
      expect((await ncaInProcess(['synth', '--instrument', 'clarinet', '--note', 'D5', '--duration', '2.5', '--out', wav])).status).toBe(0);
      const track = join(dir, 'track.json');
      const enc = await ncaInProcess(['encode', wav, '--track', '--fps', '12', '--out', track]);
      expect(enc.stderr).toBe('');
      const expected = (JSON.parse(readFileSync(track, 'utf8')) as { track: Array<{ t: number; z: number[] }> }).track;
      const { samples } = await readWav(wav);
      const got = await page.evaluate((s, fps) => ncaPlay.encodeTrack(s, fps), Array.from(samples), 12);
      expect(got.length).toBe(expected.length);
      let worst = 0;
      for (let i = 0; i < got.length; i++) {
        expect(got[i]!.t).toBeCloseTo(expected[i]!.t, 5); // the track file keeps 6 digits
        worst = Math.max(worst, maxAbsDiff(got[i]!.z, expected[i]!.z) / Math.max(1, ...expected[i]!.z.map(Math.abs)));
      }
      console.log(`browser encoder vs nca encode --track: ${got.length} points, largest difference ${worst.toExponential(2)} (relative to max(1, |z|))`);
      expect(worst).toBeLessThan(1e-4);
      // not trivially equal: the latents move along the sound
      expect(maxAbsDiff(expected[0]!.z, expected[expected.length - 1]!.z)).toBeGreaterThan(0.1);
    } finally {
      await page.close();
      await server.close();
    }
  }, 180_000);

  it('fails in one line with exit code 2: export onto a file, a port in use, a bad port, a folder that is not a model', async () => {
    writeFileSync(join(dir, 'file'), 'x');
    const onFile = nca('play', '--export', join(dir, 'file'));
    expect(onFile.status).toBe(2);
    expect(onFile.stderr).toMatch(/^nca: cannot create the export folder .*file.* is a file, not a folder/);
    expect(onFile.stderr.trim().split('\n')).toHaveLength(1);

    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const inUse = nca('play', '--port', String(port));
      expect(inUse.status).toBe(2);
      expect(inUse.stderr).toBe(`nca: port ${port} is in use; choose another with --port or leave it out for a free one\n`);
    } finally {
      blocker.close();
    }
    // the last two refusals in process (src/cli.ts main, test/nca-in-process.ts); the two above spawn the bin
    const bad = await ncaInProcess(['play', '--port', '70000']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^nca: .*--port.*\n$/);
    const noModel = await ncaInProcess(['play', '--model', dir]);
    expect(noModel.status).toBe(2);
    expect(noModel.stderr.trim().split('\n')).toHaveLength(1);
    expect(noModel.stderr).toMatch(/^nca: /);
  });

  it('a missing Chromium is an error naming the path and the fix (the browser tests fail, never skip)', () => {
    const saved = process.env.NCA_CHROMIUM;
    process.env.NCA_CHROMIUM = join(dir, 'no-such-chromium');
    try {
      expect(() => chromiumPath()).toThrow(/^no Chromium at .*no-such-chromium: install Debian's chromium \(apt-get install chromium\) or set NCA_CHROMIUM/);
    } finally {
      if (saved === undefined) delete process.env.NCA_CHROMIUM;
      else process.env.NCA_CHROMIUM = saved;
    }
  });
});
