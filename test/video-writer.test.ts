/**
 * The video writer and probe (src/core/video/): streams, frame rate and duration of an MP4 and a
 * WebM with sound, odd sizes padded, atomic output (an abort or an unwritable path leaves no file),
 * ffmpeg lookup errors.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { findFfmpeg } from '../src/core/video/ffmpeg.js';
import { probeVideo } from '../src/core/video/probe.js';
import { DEFAULT_X264_PRESET, SMOOTH_X264_PARAMS, frameBuffers, openVideoWriter, summariseStderr, videoSize, x264Tuning } from '../src/core/video/writer.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nca-video-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A moving gradient, frame k of W x H RGBA. */
function frame(W: number, H: number, k: number): Uint8Array {
  const f = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const i = (y * W + x) * 4;
    f[i] = (x * 8 + k * 4) & 255;
    f[i + 1] = (y * 8) & 255;
    f[i + 2] = (k * 16) & 255;
    f[i + 3] = 255;
  }
  return f;
}

const SR = 22050;
/** 1.5 s of a 440 Hz tone. */
const tone = Float32Array.from({ length: Math.round(1.5 * SR) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / SR));

describe('video files with sound', () => {
  for (const [ext, vcodec, acodec, rate] of [['mp4', 'h264', 'aac', SR], ['webm', 'vp9', 'opus', 48000]] as const) {
    it(`${ext}: ${vcodec} + ${acodec}, 24 fps, the audio's duration, an odd size padded to even, scaled x3`, async () => {
      const out = join(dir, `a.${ext}`);
      const W = 21, H = 13, fps = 24;
      const seconds = tone.length / SR;
      const w = await openVideoWriter({ out, width: W, height: H, scale: 3, filter: 'nearest', fps, audio: { kind: 'samples', samples: tone, sampleRate: SR }, duration: seconds });
      expect(videoSize(W, H, 3)).toEqual({ width: 64, height: 40, padded: true });
      const n = Math.ceil(seconds * fps);
      for (let k = 0; k <= n; k++) await w.addFrame(frame(W, H, k)); // one frame more than needed: cut by the duration
      const s = await w.finish();
      expect(s).toMatchObject({ format: ext, width: 64, height: 40, padded: true, fps, audio: true });
      const p = await probeVideo(out);
      const v = p.streams.find((x) => x.type === 'video')!;
      const a = p.streams.find((x) => x.type === 'audio')!;
      expect(v).toMatchObject({ codec: vcodec, width: 64, height: 40, pixelFormat: 'yuv420p', fps });
      expect(a).toMatchObject({ codec: acodec, sampleRate: rate });
      expect(v.frames).toBe(n);
      // durations within one frame of the audio's (A/V offset under a frame: both streams start at 0)
      expect(Math.abs(v.duration - seconds)).toBeLessThan(1 / fps);
      expect(Math.abs(a.duration - seconds)).toBeLessThan(1 / fps);
      expect(Math.abs(p.start)).toBeLessThan(1 / fps);
      expect(readdirSync(dir).filter((f) => f.startsWith('.nca-tmp'))).toEqual([]);
    });
  }

  it('an abort mid-encode kills ffmpeg and leaves no file', async () => {
    const out = join(dir, 'aborted.mp4');
    const ac = new AbortController();
    const w = await openVideoWriter({ out, width: 32, height: 32, fps: 30, signal: ac.signal });
    for (let k = 0; k < 10; k++) await w.addFrame(frame(32, 32, k));
    expect(readdirSync(dir).some((f) => f.startsWith('.nca-tmp') && f.endsWith('aborted.mp4'))).toBe(true);
    ac.abort();
    await expect(w.addFrame(frame(32, 32, 10))).rejects.toThrow();
    await w.abort();
    expect(readdirSync(dir).filter((f) => f.includes('aborted'))).toEqual([]);
  });

  it('an output that cannot be written is a UserError naming it, before any frame', async () => {
    writeFileSync(join(dir, 'plain'), 'x');
    await expect(openVideoWriter({ out: join(dir, 'plain', 'x.mp4'), width: 8, height: 8, fps: 30 })).rejects.toThrow(UserError);
    await expect(openVideoWriter({ out: '/proc/nca-video-test.mp4', width: 8, height: 8, fps: 30 })).rejects.toThrow(/cannot write \/proc\/nca-video-test\.mp4/);
    await expect(openVideoWriter({ out: join(dir, 'x.avi'), width: 8, height: 8, fps: 30 })).rejects.toThrow(/\.mp4.*\.webm/);
    // stereo samples come in left, right pairs; more channels are refused
    await expect(openVideoWriter({ out: join(dir, 'odd.mp4'), width: 8, height: 8, fps: 30, audio: { kind: 'samples', samples: new Float32Array(3), sampleRate: 44100, channels: 2 } })).rejects.toThrow(/interleaved left, right pairs for audio\.samples/);
    await expect(openVideoWriter({ out: join(dir, 'six.mp4'), width: 8, height: 8, fps: 30, audio: { kind: 'samples', samples: new Float32Array(6), sampleRate: 44100, channels: 6 as 2 } })).rejects.toThrow(/audio\.channels/);
  });

  it('a bad NCA_FFMPEG is one clear error, never a fallback', async () => {
    const saved = process.env.NCA_FFMPEG;
    try {
      process.env.NCA_FFMPEG = join(dir, 'no-such-ffmpeg');
      await expect(findFfmpeg()).rejects.toThrow(/NCA_FFMPEG=.*no-such-ffmpeg does not exist; point it at an ffmpeg binary or unset it/);
      process.env.NCA_FFMPEG = '/bin/true';
      await expect(findFfmpeg()).rejects.toThrow(/does not run as ffmpeg/);
    } finally {
      if (saved === undefined) delete process.env.NCA_FFMPEG;
      else process.env.NCA_FFMPEG = saved;
    }
    expect((await findFfmpeg()).version).toMatch(/^ffmpeg version/);
  });

  it('lets ~16 MB of frames wait for ffmpeg (3 to 32 frames), and encodes MP4 with x264 superfast', () => {
    expect(frameBuffers(320 * 180 * 4)).toBe(32);
    expect(frameBuffers(640 * 360 * 4)).toBe(18);
    expect(frameBuffers(1920 * 1080 * 4)).toBe(3);
    expect(DEFAULT_X264_PRESET).toBe('superfast');
  });

  it('smooth frames at scale >= 4 are encoded without 4x4 intra partitions and adaptive B-frames; others with the preset as it is', async () => {
    expect(x264Tuning('superfast', 'smooth', 4)).toBe(SMOOTH_X264_PARAMS);
    expect(x264Tuning('superfast', 'smooth', 2)).toBeNull();
    expect(x264Tuning('superfast', 'nearest', 4)).toBeNull();
    expect(x264Tuning('veryfast', 'smooth', 4)).toBeNull();
    // x264 writes its options into the stream (an SEI message): read them back from two small files
    const options = async (scale: number) => {
      const out = join(dir, `tuning-${scale}.mp4`);
      const w = await openVideoWriter({ out, width: 16, height: 12, scale, filter: 'smooth', fps: 10 });
      for (let k = 0; k < 6; k++) await w.addFrame(frame(16, 12, k));
      await w.finish();
      return /options: ([^\0]*)/.exec(readFileSync(out).toString('latin1'))![1]!;
    };
    const tuned = await options(4), plain = await options(1);
    expect(tuned).toMatch(/ b_adapt=0 /);
    expect(tuned).toMatch(/ analyse=0x3:0x2 /); // intra : inter partitions, 0x1 = i4x4, 0x2 = i8x8: no i4x4 in P and B frames
    expect(plain).toMatch(/ b_adapt=1 /);
    expect(plain).toMatch(/ analyse=0x3:0x3 /);
    expect(tuned).toMatch(/ crf=20\.0 .*aq=1/); // the rest as the preset: CRF 20, adaptive quantisation
  });

  it('summarises ffmpeg\'s stderr to its last messages', () => {
    expect(summariseStderr('frame=  10 fps=0.0\n[libx264 @ 0x1] broken\nConversion failed!\n')).toBe('[libx264 @ 0x1] broken; Conversion failed!');
  });
});
