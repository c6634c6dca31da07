import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlidingContexts } from '../src/core/audio/sliding-contexts.js';
import { synthesize } from '../src/core/audio/synth.js';
import { encodeWav16 } from '../src/core/audio/wav-write.js';
import { writeFileAtomic } from '../src/core/io/atomic.js';
import { norm, parseLatent } from '../src/core/latent.js';
import { trackLength, trackWindowStart } from '../src/core/audio/sliding-contexts.js';
import { contextFrames, encodeTrack, encodeTrackPart, trackPart } from '../src/core/model/encode.js';
import { buildEncoderGraph, createOnnxEncoder, encoderWeights, openOnnxEncoder } from '../src/core/model/encoder-onnx.js';
import { createRandomModel, modelFromWeights, type NeuroModel } from '../src/core/model/networks.js';
import { Rng } from '../src/core/rng.js';

const SR = 22050;
const WINDOW = 2 * SR;
const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');

let model: NeuroModel;
let song: Float32Array;
let dir: string;

const distance = (a: Float32Array, b: Float32Array) => norm(a.map((v, i) => v - b[i]!));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The samples of [start, start + 2 s) with zeros outside the signal (as encodeTrack pads). */
function windowAt(samples: Float32Array, start: number, length = WINDOW): Float32Array {
  const w = new Float32Array(length);
  const from = Math.max(0, start), to = Math.min(samples.length, start + length);
  if (to > from) w.set(samples.subarray(from, to), from - start);
  return w;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-encode-fast-'));
  // a random model whose BatchNorm layers do something (non-trivial running statistics, gamma, beta)
  const rng = new Rng(11);
  const base = await createRandomModel(rng);
  const named = base.namedArrays();
  base.dispose();
  for (let l = 1; l <= 3; l++) {
    const fill = (name: string, lo: number, hi: number) => rng.fillUniform(named.get(`encoder.bn${l}.${name}`)!.data, lo, hi);
    fill('running_mean', -0.3, 0.3);
    fill('running_var', 0.2, 2);
    fill('weight', 0.5, 1.5);
    fill('bias', -0.2, 0.2);
  }
  model = await modelFromWeights(named, {}, 'test model');
  // ~5 s: three notes with a silence between, so windows see attacks, decays and silence
  const parts = [
    synthesize({ instrument: 'piano', midi: 69, duration: 1.2, velocity: 0.8 }),
    new Float32Array(Math.round(0.4 * SR)),
    synthesize({ instrument: 'violin', midi: 72, duration: 1.5, velocity: 0.6 }),
    synthesize({ instrument: 'xylophone', midi: 84, duration: 1.1, velocity: 0.9 }),
  ];
  song = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) song.set(p, at), (at += p.length);
});

afterAll(() => model.dispose());

describe('encoder on onnxruntime', () => {
  it('gives the tfjs encoder\'s mu and logvar on random contexts', async () => {
    const onnx = await createOnnxEncoder(encoderWeights(model.namedArrays()), model.config, { threads: 1, logvar: true });
    try {
      for (const batch of [1, 5]) {
        const context = new Float32Array(batch * 12 * 32 * 32);
        new Rng(batch).fillUniform(context, 0, 1);
        const expected = model.encode(context, batch);
        const got = await onnx.encode(context, batch);
        for (const [a, b] of [[got.mu, expected.mu], [got.logvar!, expected.logvar]] as const) {
          expect(a.length).toBe(batch * 64);
          const scale = Math.max(...b.map(Math.abs));
          expect(scale).toBeGreaterThan(0.1); // the outputs are not trivially zero
          expect(maxAbsDiff(a, b) / scale).toBeLessThan(1e-4);
        }
      }
      await expect(onnx.encode(new Float32Array(100), 1)).rejects.toThrow(/expected batch 1/);
    } finally {
      await onnx.dispose();
    }
  });

  it('builds a graph without logvar by default (only mu is computed)', async () => {
    const graph = buildEncoderGraph(encoderWeights(model.namedArrays()), model.config);
    const onnx = await openOnnxEncoder(graph, model.config, { threads: 1 });
    try {
      const out = await onnx.encode(new Float32Array(12 * 32 * 32).fill(0.5), 1);
      expect(out.logvar).toBeUndefined();
      expect(maxAbsDiff(out.mu, model.encode(new Float32Array(12 * 32 * 32).fill(0.5), 1).mu)).toBeLessThan(1e-4);
    } finally {
      await onnx.dispose();
    }
  });
});

describe('contexts from the shared STFT', () => {
  it('equal contextFrames exactly for windows on the grid (before, inside and past the signal, any order)', () => {
    for (const phases of [1, 2]) {
      const sliding = new SlidingContexts(song, { phases });
      const step = 512 / phases;
      // starts on the grid: before the start (left padding), inside, overlapping the end, going back
      const starts = [-30 * step, -step, 0, 7 * step, 8 * step, 61 * step, 200 * step, Math.floor((song.length - SR) / step) * step, 5 * step];
      for (const start of starts) {
        const expected = contextFrames(windowAt(song, start));
        const got = sliding.context(start);
        expect(got.length).toBe(12 * 32 * 32);
        expect(maxAbsDiff(got, expected), `phases ${phases}, start ${start}`).toBe(0);
      }
    }
  });

  it('off the grid: the window\'s own ends, first frames and harmonics make it closer to exact than a snapped window', () => {
    const sliding = new SlidingContexts(song, { phases: 1 });
    let hybrid = 0, snapped = 0, count = 0;
    for (let i = 0; i < 60; i++) {
      const start = trackWindowStart(i, 12);
      if (start % 512 === 0) continue;
      const exact = contextFrames(windowAt(song, start));
      const fast = sliding.context(start);
      const whole = contextFrames(windowAt(song, Math.round(start / 512) * 512));
      hybrid += exact.reduce((s, v, q) => s + Math.abs(v - fast[q]!), 0);
      snapped += exact.reduce((s, v, q) => s + Math.abs(v - whole[q]!), 0);
      count++;
    }
    expect(count).toBeGreaterThan(50);
    expect(hybrid).toBeGreaterThan(0);
    expect(hybrid).toBeLessThan(0.7 * snapped);
  });

  it('a signal shorter than a window and silence give finite contexts equal to contextFrames', () => {
    const short = song.subarray(0, SR / 2);
    const sliding = new SlidingContexts(short);
    expect(maxAbsDiff(sliding.context(-43 * 512), contextFrames(windowAt(short, -43 * 512)))).toBe(0); // ~1 s before: the file sits mid-window
    const silence = new SlidingContexts(new Float32Array(3 * SR)).context(1024);
    expect(silence.every((v) => v === 0)).toBe(true);
  });
});

describe('encodeTrack', () => {
  it('equals the reference path (own STFT per window, tfjs) when every window starts on the grid', async () => {
    // at 16384 Hz and 4 fps every window starts on a multiple of 256 samples: the fast contexts are exact
    const sampleRate = 16384;
    const x = new Float32Array(Math.round((song.length * sampleRate) / SR));
    for (let i = 0; i < x.length; i++) x[i] = song[Math.floor((i * SR) / sampleRate)]!;
    const fast = await encodeTrack(model, x, { fps: 4, sampleRate, threads: 1 });
    const reference = await encodeTrack(model, x, { fps: 4, sampleRate, method: 'reference' });
    expect(fast.length).toBe(trackLength(x.length, 4, sampleRate));
    expect(fast.map((p) => p.t)).toEqual(reference.map((p) => p.t));
    const scale = Math.max(...reference.map((p) => norm(p.z)));
    for (let i = 0; i < fast.length; i++) expect(distance(fast[i]!.z, reference[i]!.z) / scale).toBeLessThan(1e-4);
  });

  it('at 22050 Hz, 12 fps: close to the reference, much closer than neighbouring points are to each other', async () => {
    const onProgress: Array<[number, number]> = [];
    const fast = await encodeTrack(model, song, { fps: 12, threads: 1, onProgress: (d, t) => onProgress.push([d, t]) });
    const reference = await encodeTrack(model, song, { fps: 12, method: 'reference' });
    expect(fast.length).toBe(Math.floor((song.length / SR) * 12) + 1);
    expect(onProgress.at(-1)).toEqual([fast.length, fast.length]);
    const error = fast.map((p, i) => distance(p.z, reference[i]!.z));
    const steps = reference.slice(1).map((p, i) => distance(p.z, reference[i]!.z));
    expect(median(error)).toBeLessThan(0.25 * median(steps));
    expect(fast.every((p) => p.z.every(Number.isFinite))).toBe(true);
  });

  it('a track split into parts (as the worker thread does it) equals the track in one part', async () => {
    const count = trackLength(song.length, 12);
    const cut = Math.ceil(count / 2);
    const encoder = await createOnnxEncoder(encoderWeights(model.namedArrays()), model.config, { threads: 1 });
    try {
      const opts = { fps: 12, sampleRate: SR, config: model.config };
      const whole = await encodeTrackPart(trackPart(song, 0, count, opts), encoder);
      const second = trackPart(song, cut, count, opts);
      expect(second.offset % 512).toBe(0);
      expect(second.offset).toBeGreaterThan(0); // a real slice: its windows must not read outside it
      const first = await encodeTrackPart(trackPart(song, 0, cut, opts), encoder);
      const last = await encodeTrackPart({ ...second, samples: second.samples.slice() }, encoder);
      expect(maxAbsDiff(first, whole.subarray(0, cut * 64))).toBe(0);
      expect(maxAbsDiff(last, whole.subarray(cut * 64))).toBe(0);
    } finally {
      await encoder.dispose();
    }
  });

  it('a file shorter than the window gives one point per 1/fps s, all finite', async () => {
    const track = await encodeTrack(model, song.subarray(0, SR / 2), { fps: 12, threads: 1 });
    expect(track.length).toBe(7);
    expect(track.every((p) => p.z.every(Number.isFinite))).toBe(true);
  });

  it('nca encode --track (second half in a worker thread) writes the same track as one thread', async () => {
    // 45 s at 50 fps: 2251 points, enough for encodeTrack to split the work (built worker script, 2+ cores)
    expect(existsSync(join(import.meta.dirname, '..', 'dist', 'core', 'model', 'track-worker.js'))).toBe(true);
    expect(availableParallelism()).toBeGreaterThan(1);
    const long = new Float32Array(45 * SR);
    for (let at = 0; at < long.length; at += song.length) long.set(song.subarray(0, Math.min(song.length, long.length - at)), at);
    const wav = join(dir, 'long.wav');
    await writeFileAtomic(wav, encodeWav16(long, SR));
    await model.save(join(dir, 'model'));
    const out = join(dir, 'track.json');
    const r = spawnSync(process.execPath, [BIN, 'encode', wav, '--track', '--fps', '50', '--model', join(dir, 'model'), '--out', out, '--json'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const track = parseLatent(readFileSync(out, 'utf8'), out).track!;
    // the file's samples as the CLI decoded them (16-bit rounding)
    const decoded = long.map((v) => Math.round(Math.max(-1, Math.min(1, v)) * 32767) / 32768);
    const direct = await encodeTrack(model, decoded, { fps: 50, threads: 1 });
    expect(track.length).toBe(direct.length);
    const worst = Math.max(...track.map((p, i) => distance(p.z, direct[i]!.z) / Math.max(1e-6, norm(direct[i]!.z))));
    expect(worst).toBeLessThan(1e-4);
  });
});
