import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav16 } from '../src/core/audio/wav-write.js';
import { readWav } from '../src/core/audio/wav.js';
import { launchBrowser } from '../src/core/play/browser.js';
import { ncaInProcess } from './nca-in-process.js';
import { startPlay } from './play-helpers.js';

/**
 * The microphone: Chromium's fake capture device plays a WAV (looped) into the page, which runs
 * audio -> mel -> encoder -> a live latent every 1/12 s. One launch per WAV (the device is a launch
 * flag). Each live latent must be the latent of its own sound: nearer to `nca encode --track` of that
 * sound (looped as the device loops it) than to the other sound's track.
 */

declare const ncaPlay: { status(): { latent: number[]; name: string; micPoints: number; mic: boolean } };

/** The sounds and their tracks come from nca synth / nca encode run in this process (both spawn the bin in their own tests). */
const nca = (...args: string[]) => ncaInProcess(args);
const distance = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));

let dir: string;
let play: Awaited<ReturnType<typeof startPlay>>;
const sounds = [
  { name: 'organ', instrument: 'organ', note: 'C5' },
  { name: 'xylophone', instrument: 'xylophone', note: 'F4' },
];
/** Each sound's WAV (2 s, 16-bit 22050 Hz mono) and the track latents of it looped 3 times. */
const tracks = new Map<string, { wav: string; latents: number[][] }>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-play-mic-'));
  for (const s of sounds) {
    const wav = join(dir, `${s.name}.wav`);
    expect((await nca('synth', '--instrument', s.instrument, '--note', s.note, '--duration', '2', '--out', wav)).status).toBe(0);
    const { samples, sampleRate } = await readWav(wav);
    const looped = new Float32Array(samples.length * 3);
    for (let k = 0; k < 3; k++) looped.set(samples, k * samples.length);
    writeFileSync(join(dir, `${s.name}-looped.wav`), encodeWav16(looped, sampleRate));
    const out = join(dir, `${s.name}-track.json`);
    expect((await nca('encode', join(dir, `${s.name}-looped.wav`), '--track', '--fps', '12', '--out', out)).status).toBe(0);
    const track = (JSON.parse(readFileSync(out, 'utf8')) as { track: Array<{ z: number[] }> }).track;
    tracks.set(s.name, { wav, latents: track.map((p) => p.z) });
  }
  play = await startPlay();
}, 120_000);

afterAll(async () => {
  await play?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The live latent after `points` microphone points, with the fake device playing `wav`. */
async function liveLatent(wav: string, points: number): Promise<{ latent: number[]; name: string; before: number[] }> {
  const browser = await launchBrowser({ fakeMicrophone: wav });
  try {
    const page = await browser.newPage();
    await page.goto(`${play.url}?size=64`);
    await page.waitForFunction('window.ncaPlayReady === true || !document.getElementById("error").hidden', { timeout: 90_000 });
    const before = (await page.evaluate(() => ncaPlay.status())).latent;
    await page.click('#mic');
    await page.waitForFunction((n) => ncaPlay.status().micPoints >= n, { timeout: 60_000, polling: 100 }, points);
    const s = await page.evaluate(() => ncaPlay.status());
    expect(s.mic).toBe(true);
    return { latent: s.latent, name: s.name, before };
  } finally {
    await browser.close();
  }
}

describe('nca play: the microphone', () => {
  it('a fake microphone moves the latent, and a different sound moves it elsewhere, each near its own sound', async () => {
    const live = new Map<string, number[]>();
    for (const s of sounds) {
      const r = await liveLatent(tracks.get(s.name)!.wav, 24); // ~3 s of sound
      expect(r.name).toMatch(/^microphone \(\d+\.\d s\)$/);
      expect(distance(r.latent, r.before)).toBeGreaterThan(0.5);
      live.set(s.name, r.latent);
    }
    const [a, b] = sounds.map((s) => live.get(s.name)!);
    expect(distance(a!, b!)).toBeGreaterThan(0.5);
    for (const s of sounds) {
      const z = live.get(s.name)!;
      const near = (name: string) => Math.min(...tracks.get(name)!.latents.map((t) => distance(z, t)));
      const own = near(s.name), other = near(sounds.find((o) => o !== s)!.name);
      console.log(`microphone ${s.name}: nearest point of its own track ${own.toFixed(3)}, of the other sound's ${other.toFixed(3)}`);
      expect(own).toBeLessThan(other);
    }
  }, 300_000);
});
