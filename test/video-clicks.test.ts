/**
 * The music video file itself follows the music (issue 15's test): a clip with clicks at known times,
 * through writeMusicVideo (reactions, ffmpeg, H.264 at the default preset) and decoded back from the
 * MP4, has its largest visual changes at the clicks' frames; the file has the song's streams, frame
 * rate and duration.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav16 } from '../src/core/audio/wav-write.js';
import { LATENT_DIM } from '../src/core/latent.js';
import { FrameMeter } from '../src/core/react/measure.js';
import { findFfmpeg } from '../src/core/video/ffmpeg.js';
import { writeMusicVideo } from '../src/core/video/music-video.js';
import { probeVideo } from '../src/core/video/probe.js';
import { CLICK_RATE, CLICKS, clickClip, fakeModel } from './react-helpers.js';

const SR = CLICK_RATE;
const FPS = 20;
const SECONDS = 3;
const W = 32, H = 18, SCALE = 2;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nca-video-clicks-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const model = fakeModel();

/** The frames of a video as RGBA at w x h (ffmpeg decodes and scales them). */
async function decodeFrames(file: string, w: number, h: number): Promise<Uint8Array[]> {
  const { path } = await findFfmpeg();
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const c = spawn(path, ['-hide_banner', '-loglevel', 'error', '-i', file, '-vf', `scale=${w}:${h}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const parts: Buffer[] = [];
    c.stdout.on('data', (d: Buffer) => parts.push(d));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(Buffer.concat(parts)) : reject(new Error(`ffmpeg exit ${code}`))));
  });
  const size = w * h * 4;
  return Array.from({ length: bytes.length / size }, (_, i) => new Uint8Array(bytes.subarray(i * size, (i + 1) * size)));
}

describe('a music video file', () => {
  it('has its largest visual changes at the frames of the clicks, and the song\'s streams, rate and duration', async () => {
    const samples = clickClip();
    const wav = join(dir, 'clicks.wav');
    writeFileSync(wav, encodeWav16(samples, SR));
    const out = join(dir, 'clicks.mp4');
    const r = await writeMusicVideo(model, {
      sound: { kind: 'file', path: wav }, samples, sampleRate: SR, track: [{ t: 0, z: new Float32Array(LATENT_DIM) }],
      width: W, height: H, scale: SCALE, fps: FPS, seed: 1, threads: 1, out,
    });
    expect(r.frames).toBe(SECONDS * FPS);
    // a music video needs its sound (an options object without one is a caller's mistake, not a silent video)
    await expect(writeMusicVideo(model, { samples, sampleRate: SR, track: [{ t: 0, z: new Float32Array(LATENT_DIM) }], width: W, height: H, fps: FPS, out: join(dir, 'silent.mp4') } as unknown as Parameters<typeof writeMusicVideo>[1])).rejects.toThrow(/the song's sound/);

    const p = await probeVideo(out);
    const v = p.streams.find((s) => s.type === 'video')!, a = p.streams.find((s) => s.type === 'audio')!;
    expect(v).toMatchObject({ codec: 'h264', width: W * SCALE, height: H * SCALE, fps: FPS, frames: SECONDS * FPS, pixelFormat: 'yuv420p' });
    expect(a).toMatchObject({ codec: 'aac', sampleRate: SR });
    expect(Math.abs(v.duration - SECONDS)).toBeLessThan(1 / FPS);
    expect(Math.abs(a.duration - SECONDS)).toBeLessThan(1 / FPS);
    expect(Math.abs(p.start)).toBeLessThan(1 / FPS);

    // the decoded frames, back at the grid's size: the change from each frame to the next
    const frames = await decodeFrames(out, W, H);
    expect(frames.length).toBe(SECONDS * FPS);
    const meter = new FrameMeter(W, H);
    for (const f of frames) meter.push(f);
    const change = meter.series().change;
    const at = CLICKS.map((c) => Math.round(c * FPS));
    const near = new Set(at.flatMap((f) => [f, f + 1, f + 2]));
    const quiet = Math.max(...change.map((c, i) => (i > 4 && !near.has(i) ? c : 0)));
    for (const f of at) expect(change[f]!, `frame ${f}`).toBeGreaterThan(2 * quiet);
    expect(readdirSync(dir).filter((f) => f.startsWith('.nca-tmp'))).toEqual([]);
  }, 120_000);
});
