import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, KeyInput, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/core/model/networks.js';
import { createEngine } from '../src/core/nca/engine.js';
import { FRAME_PROTOCOL } from '../src/core/nca/graph.js';
import { ncaParams } from '../src/core/nca/params.js';
import { launchBrowser } from '../src/core/play/browser.js';
import { Rng } from '../src/core/rng.js';
import { ROOT, maxAbsDiff, startPlay } from './play-helpers.js';

/**
 * The page as `nca play` serves it, in headless Chromium (one launch): the seed's controls change
 * what they should, and the browser's hypernetwork and NCA equal the Node ones. A missing Chromium
 * fails here (launchBrowser's error), it is never skipped. NCA_PLAY_SCREENSHOT=1 writes the README's
 * screenshot (docs/play.png).
 */

interface Status { latent: number[]; effective: number[]; name: string; instrument: string; perturb: number; frames: number; fps: number; size: number; protocol: string }
declare const ncaPlay: {
  status(): Status;
  frame(): number[];
  noteLatent(instrument: string, note: string): number[];
  hypernetwork(z: number[]): number[];
  runNca(o: { params: number[]; state: number[]; seed: number; steps: number; width: number; height: number }): Promise<number[][]>;
};

let play: Awaited<ReturnType<typeof startPlay>>;
let browser: Browser;
let page: Page;
const errors: string[] = [];

const status = () => page.evaluate(() => ncaPlay.status());
const note = (instrument: string, n: string) => page.evaluate((i, n) => ncaPlay.noteLatent(i, n), instrument, n);
/** Waits until the page has drawn `count` more frames. */
async function frames(count: number): Promise<void> {
  const f0 = (await status()).frames;
  await page.waitForFunction((f) => ncaPlay.status().frames >= f, { timeout: 60_000, polling: 50 }, f0 + count);
}
const tap = async (key: KeyInput) => {
  await page.keyboard.down(key);
  await page.keyboard.up(key);
};

beforeAll(async () => {
  play = await startPlay();
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(play.url);
  await page.waitForFunction('window.ncaPlayReady === true || !document.getElementById("error").hidden', { timeout: 90_000 });
  await frames(2);
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await play?.stop();
});

describe('nca play: the page', () => {
  it('loads from nca play: the model, its notes, the protocol, frames drawn, an fps readout; no error', async () => {
    const s = await status();
    expect(await page.$eval('#error', (e) => (e as HTMLElement).hidden)).toBe(true);
    expect(s.name).toBe('piano A4');
    expect(s.latent).toEqual(await note('piano', 'A4'));
    expect(s.size).toBe(128);
    expect(s.protocol).toBe('frame');
    expect(await page.$$eval('.key', (k) => k.length)).toBe(19);
    expect(await page.$$eval('#instrument option', (o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual((JSON.parse(readFileSync(join(ROOT, 'fixtures/model/notes.json'), 'utf8')) as { instruments: string[] }).instruments); // the menu holds the manifest's instruments
    await page.waitForFunction(() => /^\d+ fps$/.test(document.getElementById('fps')!.textContent!), { timeout: 30_000 });
    expect(errors).toEqual([]);
  });

  it('0 turns the default maximum perturbation off (the same key twice), 5 sets level 5 and the weights wander', async () => {
    expect((await status()).perturb).toBe(9);
    await tap('0');
    let s = await status();
    expect(s.perturb).toBe(0);
    expect(maxAbsDiff(s.effective, s.latent)).toBeLessThan(1e-6); // off: the weights are the latent's
    await tap('5');
    await frames(16); // the walk is redrawn every 8 steps
    const a = await status();
    await frames(16);
    const b = await status();
    expect(a.perturb).toBe(5);
    expect(await page.$eval('#perturb', (e) => e.textContent)).toBe('perturbation 5');
    expect(maxAbsDiff(a.effective, a.latent)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(a.effective, b.effective)).toBeGreaterThan(0.01); // it moves while playing
    await tap('5');
    s = await status();
    expect(s.perturb).toBe(0);
    expect(maxAbsDiff(s.effective, s.latent)).toBeLessThan(1e-6);
  });

  it("a key press loads its note's latent, the weights follow it and the picture changes", async () => {
    const before = await page.evaluate(() => ncaPlay.frame());
    await tap('a'); // F4
    const s = await status();
    expect(s.name).toBe('piano F4');
    expect(s.latent).toEqual(await note('piano', 'F4'));
    expect(s.effective).toEqual(s.latent);
    await frames(12);
    const after = await page.evaluate(() => ncaPlay.frame());
    let change = 0;
    for (let i = 0; i < after.length; i++) change += Math.abs(after[i]! - before[i]!) / after.length;
    expect(change).toBeGreaterThan(0.01);
  });

  it('two held keys give the mean of their latents; a clicked on-screen key plays too', async () => {
    await page.keyboard.down('a'); // F4
    await page.keyboard.down('g'); // C5
    const s = await status();
    await page.keyboard.up('a');
    await page.keyboard.up('g');
    const [f4, c5] = [await note('piano', 'F4'), await note('piano', 'C5')];
    expect(s.name).toBe('piano F4 + C5');
    expect(maxAbsDiff(s.latent, f4.map((v, i) => (v + c5[i]!) / 2))).toBeLessThan(1e-6);
    const key = await page.$('.key[data-note="D#5"]');
    await key!.click();
    expect((await status()).latent).toEqual(await note('piano', 'D#5'));
  });

  it('the instrument menu switches the notes to that instrument', async () => {
    await page.select('#instrument', 'violin');
    await tap('d'); // A4
    const s = await status();
    expect(s.instrument).toBe('violin');
    expect(s.name).toBe('violin A4');
    expect(s.latent).toEqual(await note('violin', 'A4'));
    expect(s.latent).not.toEqual(await note('piano', 'A4'));
  });

  it('Random Latent draws a new z ~ N(0, I)', async () => {
    const before = (await status()).latent;
    await page.click('#random');
    const s = await status();
    expect(s.name).toBe('random latent #1');
    expect(maxAbsDiff(s.latent, before)).toBeGreaterThan(0.5);
    const norm = Math.hypot(...s.latent);
    expect(norm).toBeGreaterThan(4); // |z| of N(0, I_64) is 8 +- 0.7
    expect(norm).toBeLessThan(12);
  });

  it("the browser's hypernetwork and NCA steps equal the Node ones (tfjs hypernetwork; onnxruntime-node engine, same noise)", async () => {
    const z = await note('flute', 'C5');
    const model = await loadModel();
    let nodeParams: Float32Array;
    try {
      nodeParams = model.hypernetwork(Float32Array.from(z), 1);
    } finally {
      model.dispose();
    }
    const pageParams = await page.evaluate((z) => ncaPlay.hypernetwork(z), z);
    const scale = Math.max(...nodeParams.map(Math.abs));
    expect(maxAbsDiff(pageParams, nodeParams) / scale).toBeLessThan(1e-5);

    const [W, H, steps, seed] = [128, 128, 6, 7];
    const state = new Float32Array(16 * W * H);
    new Rng(3).fillUniform(state.subarray(0, 3 * W * H), 0, 1);
    const engine = await createEngine(ncaParams(nodeParams), { width: W, height: H, protocol: FRAME_PROTOCOL, rng: new Rng(seed), threads: 1 });
    const nodeFrames: Float32Array[] = [];
    try {
      await engine.run(state, steps, (_, visible) => nodeFrames.push(visible.slice()));
    } finally {
      await engine.dispose();
    }
    const pageFrames = await page.evaluate((o) => ncaPlay.runNca(o), { params: Array.from(nodeParams), state: Array.from(state), seed, steps, width: W, height: H });
    expect(pageFrames.length).toBe(steps);
    const diffs = pageFrames.map((f, k) => maxAbsDiff(f, nodeFrames[k]!));
    expect(Math.max(...diffs)).toBeLessThan(1e-4);
    // and not trivially: the frames move
    expect(maxAbsDiff(nodeFrames[0]!, nodeFrames[steps - 1]!)).toBeGreaterThan(0.01);
  });

  it('a screenshot of the page (docs/play.png with NCA_PLAY_SCREENSHOT=1)', async () => {
    await page.select('#instrument', 'piano');
    await tap('0'); // back to the default: maximum perturbation
    await page.keyboard.down('d');
    await page.keyboard.down('j'); // A4 + E5
    await frames(60);
    const dir = mkdtempSync(join(tmpdir(), 'nca-play-shot-'));
    try {
      const path = process.env.NCA_PLAY_SCREENSHOT ? join(ROOT, 'docs', 'play.png') : join(dir, 'play.png');
      const png = await page.screenshot({ type: 'png' });
      writeFileSync(path, png);
      expect(existsSync(path)).toBe(true);
      expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await page.keyboard.up('d');
      await page.keyboard.up('j');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
