/**
 * Sound -> latent: the encoder's input pictures of a 2-second window (frame 0 the mel spectrogram,
 * frames 1..3 the first circles pictures, exactly as in the training data, docs/design.md#training-data) and
 * the encoder's mu for them.
 *
 * - `encodeClip`: one window (default: the loudest 2 s of the file; or a given start/duration);
 * - `encodeTrack`: windows sliding at `fps` over the whole file -> a track latent (the latent at
 *   time t is that of the window starting at t - 1 s, so the picture follows what is heard at t;
 *   windows past either end are padded with silence). By default fast: the windows share the
 *   STFT of the whole file (audio/sliding-contexts.ts) and the encoder runs on onnxruntime
 *   (encoder-onnx.ts); `method: 'reference'` is the plain path (each window's own contextFrames,
 *   the tfjs encoder), kept as the oracle.
 */
import type { PictureStyle } from '../audio/pictures.js';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { clipSequence } from '../audio/dataset.js';
import { CONTEXT_HOP, SlidingContexts, TRACK_PHASES, slidingContextsApply, trackLength, trackWindowStart } from '../audio/sliding-contexts.js';
import { ANALYSIS_RATE, CLIP_SECONDS } from '../audio/spectrogram.js';
import { UserError } from '../errors.js';
import type { TrackPoint } from '../latent.js';
import { builtWorkerScript } from '../worker-script.js';
import { buildEncoderGraph, encoderWeights, openOnnxEncoder, type EncoderConfig, type OnnxEncoder } from './encoder-onnx.js';
import type { NamedArrays } from './weights.js';

/** Seconds of audio behind one latent (the training clips' length). */
export const WINDOW_SECONDS = CLIP_SECONDS;

/** What encoding needs of the model (NeuroModel has it). */
export interface Encoder {
  encode(context: Float32Array, batch: number): { mu: Float32Array; logvar: Float32Array };
  /** `pictures`: the training pictures of the context's frames 1..3 (pictures.ts; absent: circles). */
  readonly config: { contextFrames: number; frameSize: number; latentDim: number; pictures?: PictureStyle };
}

/**
 * The encoder's input for a window of samples: Float32Array [4][3][32][32] = [12][32][32]
 * (channel = 3 * frame + rgb). Windows shorter than WINDOW_SECONDS are padded with silence.
 */
export function contextFrames(window: Float32Array, sampleRate = ANALYSIS_RATE, contextCount = 4, pictures?: PictureStyle): Float32Array {
  const n = Math.round(WINDOW_SECONDS * sampleRate);
  const padded = window.length >= n ? window.subarray(0, n) : padTo(window, n);
  return clipSequence(padded, { sampleRate, circleFrames: contextCount - 1, pictures }).frames;
}

function padTo(samples: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  out.set(samples.subarray(0, n));
  return out;
}

/** Start (in samples) of the window of `length` samples with the most energy (hops of 1/20 s). */
export function loudestWindowStart(samples: Float32Array, length: number, sampleRate = ANALYSIS_RATE): number {
  if (samples.length <= length) return 0;
  const hop = Math.max(1, Math.round(sampleRate / 20));
  // energy per hop block, then a sliding sum over the blocks of one window
  const blocks = Math.ceil(samples.length / hop);
  const energy = new Float64Array(blocks);
  for (let i = 0; i < samples.length; i++) energy[Math.floor(i / hop)]! += samples[i]! * samples[i]!;
  const span = Math.max(1, Math.round(length / hop));
  const lastStart = Math.floor((samples.length - length) / hop);
  let sum = 0;
  for (let b = 0; b < Math.min(span, blocks); b++) sum += energy[b]!;
  let best = sum, bestBlock = 0;
  for (let s = 1; s <= lastStart; s++) {
    sum += (energy[s + span - 1] ?? 0) - energy[s - 1]!;
    if (sum > best * (1 + 1e-9)) (best = sum), (bestBlock = s);
  }
  return Math.min(bestBlock * hop, samples.length - length);
}

export interface ClipWindow {
  /** Seconds. */
  start: number;
  duration: number;
  /** Set when the file (or the chosen part) is shorter than the window and was padded with silence. */
  padded: boolean;
}

/** Choose the window: [start, start + duration) when given, else the loudest WINDOW_SECONDS. */
export function chooseWindow(samples: Float32Array, opts: { start?: number; duration?: number; sampleRate?: number } = {}): ClipWindow {
  const sr = opts.sampleRate ?? ANALYSIS_RATE;
  const fileSeconds = samples.length / sr;
  const duration = opts.duration ?? WINDOW_SECONDS;
  if (!(duration > 0)) throw new UserError(`--duration must be > 0 seconds, got ${duration}`);
  if (opts.start !== undefined) {
    if (!(opts.start >= 0)) throw new UserError(`--start must be >= 0 seconds, got ${opts.start}`);
    if (opts.start >= fileSeconds) throw new UserError(`--start ${opts.start} s is past the end of the audio (${fileSeconds.toFixed(2)} s); choose an earlier start`);
    const available = Math.min(duration, fileSeconds - opts.start);
    return { start: opts.start, duration: available, padded: available < WINDOW_SECONDS - 1e-9 };
  }
  const length = Math.round(Math.min(duration, WINDOW_SECONDS) * sr);
  if (samples.length < length) return { start: 0, duration: fileSeconds, padded: true };
  const start = loudestWindowStart(samples, length, sr) / sr;
  return { start, duration: length / sr, padded: length / sr < WINDOW_SECONDS - 1e-9 };
}

/** The samples of a window (a view; callers pad via contextFrames). */
export function windowSamples(samples: Float32Array, w: ClipWindow, sampleRate = ANALYSIS_RATE): Float32Array {
  const a = Math.round(w.start * sampleRate);
  return samples.subarray(a, Math.min(samples.length, a + Math.round(w.duration * sampleRate)));
}

/** mu of each context [N][12][32][32], encoded in batches of `batchSize`: Float32Array [N][64]. */
export function encodeContexts(model: Encoder, contexts: Float32Array, count: number, batchSize = 64): Float32Array {
  const dim = model.config.latentDim;
  const per = contexts.length / count;
  const out = new Float32Array(count * dim);
  for (let s = 0; s < count; s += batchSize) {
    const n = Math.min(batchSize, count - s);
    const { mu } = model.encode(contexts.subarray(s * per, (s + n) * per), n);
    out.set(mu, s * dim);
  }
  return out;
}

/** The latent of one window of audio and the encoder's input pictures. */
export function encodeClip(model: Encoder, samples: Float32Array, w: ClipWindow, sampleRate = ANALYSIS_RATE): { z: Float32Array; context: Float32Array } {
  const context = contextFrames(windowSamples(samples, w, sampleRate), sampleRate, model.config.contextFrames, model.config.pictures);
  return { z: encodeContexts(model, context, 1), context };
}

/** What encoding a track needs of the model (NeuroModel has it): the tfjs encoder and the weights for the onnxruntime one. */
export interface TrackEncoder extends Encoder {
  readonly config: Encoder['config'] & EncoderConfig;
  /** The model's tensors (only the encoder.* ones are used). */
  namedArrays(): NamedArrays;
}

export interface TrackOptions {
  /** Track points per second. */
  fps: number;
  /** Sample rate of `samples`. Default 22050. */
  sampleRate?: number;
  onProgress?: (done: number, total: number) => void;
  /** onnxruntime threads of the fast encoder (default: the number of cores). */
  threads?: number;
  /**
   * 'fast' (default): the windows share the frames of the file's STFT (each window's interior
   * frames are taken from the grid nearest to its start, at most 128 samples = 5.8 ms away at
   * 22050 Hz; its edges, first frames and harmonic peaks are its own), encoder on onnxruntime.
   * 'reference': each window's own contextFrames, encoder on tfjs (~100x slower; the oracle of
   * the tests).
   */
  method?: 'fast' | 'reference';
}

/** Windows encoded per encoder run. */
const TRACK_BATCH = 256;
/**
 * Tracks of at least this many points put their second half in a worker thread. Starting one
 * (onnxruntime, compilation) costs ~0.2 s, the time of ~700 points: 2048 points (~3 min at 12 fps)
 * gain ~0.3 s on an idle 2-core machine and break even when the other core is busy.
 */
const SPLIT_POINTS = 2048;
/** The worker script of the second half of a track (built to dist/; absent when running the TypeScript sources). */
const TRACK_WORKER = new URL('./track-worker.js', import.meta.url);

/**
 * A contiguous run of track points, [first, end), and the samples its windows need: `samples[0]`
 * is sample `offset` of the file (a multiple of the 512-sample hop, so the shared STFT grid stays
 * the file's); samples outside the slice are never read except as the file's own zero padding.
 */
export interface TrackPart {
  samples: Float32Array;
  offset: number;
  sampleRate: number;
  fps: number;
  first: number;
  end: number;
  config: Encoder['config'];
}

/** The part of `samples` (the whole file) that points [first, end) need. */
export function trackPart(samples: Float32Array, first: number, end: number, opts: { fps: number; sampleRate: number; config: Encoder['config'] }): TrackPart {
  const n = Math.round(WINDOW_SECONDS * opts.sampleRate);
  // shared frames come from a grid start at most half a hop away: one hop of margin on each side
  const from = Math.max(0, Math.floor((trackWindowStart(first, opts.fps, opts.sampleRate) - CONTEXT_HOP) / CONTEXT_HOP) * CONTEXT_HOP);
  const to = Math.min(samples.length, Math.max(from, trackWindowStart(end - 1, opts.fps, opts.sampleRate) + n + CONTEXT_HOP));
  const { contextFrames: C, frameSize, latentDim, pictures } = opts.config;
  return { samples: samples.subarray(from, to), offset: from, sampleRate: opts.sampleRate, fps: opts.fps, first, end, config: { contextFrames: C, frameSize, latentDim, ...(pictures ? { pictures } : {}) } };
}

/**
 * The latents of a part's points, Float32Array [end - first][latentDim]: contexts from the shared
 * STFT when the rate allows (sliding-contexts.ts), else each window's own contextFrames;
 * encoded by `encoder` in batches of 256. `onProgress(done)` counts the part's points.
 */
export async function encodeTrackPart(part: TrackPart, encoder: OnnxEncoder, onProgress?: (done: number) => void): Promise<Float32Array> {
  const { samples, offset, sampleRate: sr, fps, first, end } = part;
  const { contextFrames: C, frameSize: S, latentDim: D, pictures } = part.config;
  const per = 3 * C * S * S;
  const n = Math.round(WINDOW_SECONDS * sr);
  const sliding = slidingContextsApply(sr, S) ? new SlidingContexts(samples, { sampleRate: sr, contextFrames: C, width: S, height: S, phases: TRACK_PHASES, pictures }) : null;
  const window = new Float32Array(sliding ? 0 : n);
  const count = end - first;
  const contexts = new Float32Array(Math.min(TRACK_BATCH, count) * per);
  const latents = new Float32Array(count * D);
  for (let s = 0; s < count; s += TRACK_BATCH) {
    const m = Math.min(TRACK_BATCH, count - s);
    for (let k = 0; k < m; k++) {
      const a = trackWindowStart(first + s + k, fps, sr) - offset;
      if (sliding) {
        sliding.context(a, contexts, k * per);
      } else {
        window.fill(0);
        const from = Math.max(0, a), to = Math.min(samples.length, a + n);
        if (to > from) window.set(samples.subarray(from, to), from - a);
        contexts.set(contextFrames(window, sr, C, pictures), k * per);
      }
    }
    latents.set((await encoder.encode(contexts.subarray(0, m * per), m)).mu, s * D);
    onProgress?.(s + m);
  }
  return latents;
}

/** What the track worker is given (track-worker.ts). */
export interface TrackWorkerData {
  part: TrackPart;
  /** The encoder graph (buildEncoderGraph). */
  graph: Uint8Array;
  threads: number;
}
/** What the track worker posts: progress (points done) and, last, the latents or an error. */
export type TrackWorkerMessage = { type: 'progress'; done: number } | { type: 'done'; latents: Float32Array } | { type: 'error'; message: string };

/** Run a part in a worker thread (its own copy of the samples, its own onnxruntime session); `stop()` ends it early. */
function encodeTrackPartInWorker(data: TrackWorkerData, onProgress: (done: number) => void): { latents: Promise<Float32Array>; stop: () => void } {
  const worker = new Worker(TRACK_WORKER, { workerData: data, transferList: [data.part.samples.buffer as ArrayBuffer] });
  const latents = new Promise<Float32Array>((resolve, reject) => {
    let settled = false;
    const finish = (e: Error | null, latents?: Float32Array) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      if (e) reject(e);
      else resolve(latents!);
    };
    worker.on('message', (msg: TrackWorkerMessage) => {
      if (msg.type === 'progress') onProgress(msg.done);
      else if (msg.type === 'done') finish(null, msg.latents);
      else finish(new Error(`track worker: ${msg.message}`));
    });
    worker.on('error', (e) => finish(e));
    worker.on('exit', (code) => finish(new Error(`the track worker stopped (exit code ${code}) before it finished`)));
  });
  latents.catch(() => {}); // the caller awaits it later; a failure must not go unhandled meanwhile
  return { latents, stop: () => void worker.terminate() };
}

/**
 * A track of latents over the whole file: one point per 1/fps s, the latent at time t being the
 * one of the 2-s window starting at t - 1 s (zero-padded at both ends). See TrackOptions.method.
 * With 2 or more threads and 2048 points or more, the second half of the points is encoded in a
 * worker thread (when the built worker script exists) while this thread does the first half.
 */
export async function encodeTrack(model: TrackEncoder, samples: Float32Array, opts: TrackOptions): Promise<TrackPoint[]> {
  const sr = opts.sampleRate ?? ANALYSIS_RATE;
  const count = trackLength(samples.length, opts.fps, sr);
  const D = model.config.latentDim;
  const toPoints = (latents: Float32Array): TrackPoint[] => Array.from({ length: count }, (_, i) => ({ t: i / opts.fps, z: latents.slice(i * D, (i + 1) * D) }));
  if (opts.method === 'reference') return toPoints(referenceTrack(model, samples, { ...opts, sampleRate: sr }));

  const threads = opts.threads ?? availableParallelism();
  const split = count >= SPLIT_POINTS && builtWorkerScript(TRACK_WORKER, threads) !== null;
  const cut = split ? Math.ceil(count / 2) : count;
  const graph = buildEncoderGraph(encoderWeights(model.namedArrays()), model.config);
  const part = (first: number, end: number) => trackPart(samples, first, end, { fps: opts.fps, sampleRate: sr, config: model.config });
  const done = [0, 0];
  const report = (which: number) => (d: number) => {
    done[which] = d;
    opts.onProgress?.(done[0]! + done[1]!, count);
  };
  let second: ReturnType<typeof encodeTrackPartInWorker> | null = null;
  if (split) {
    const tail = part(cut, count);
    // the worker gets its own copy of its samples (transferred, not cloned)
    second = encodeTrackPartInWorker({ part: { ...tail, samples: tail.samples.slice() }, graph, threads: Math.max(1, Math.floor(threads / 2)) }, report(1));
  }
  const latents = new Float32Array(count * D);
  try {
    const encoder = await openOnnxEncoder(graph, model.config, { threads: split ? Math.max(1, threads - Math.floor(threads / 2)) : threads });
    try {
      latents.set(await encodeTrackPart(part(0, cut), encoder, report(0)), 0);
    } finally {
      await encoder.dispose();
    }
    if (second) latents.set(await second.latents, cut * D);
  } finally {
    second?.stop();
  }
  return toPoints(latents);
}

/** The reference path: each window's own contextFrames at its exact start, the tfjs encoder. [count][latentDim]. */
function referenceTrack(model: Encoder, samples: Float32Array, opts: TrackOptions & { sampleRate: number }): Float32Array {
  const sr = opts.sampleRate;
  const n = Math.round(WINDOW_SECONDS * sr);
  const count = trackLength(samples.length, opts.fps, sr);
  const C = model.config.contextFrames;
  const per = 3 * C * model.config.frameSize * model.config.frameSize;
  const BATCH = 64;
  const latents = new Float32Array(count * model.config.latentDim);
  const window = new Float32Array(n);
  for (let s = 0; s < count; s += BATCH) {
    const m = Math.min(BATCH, count - s);
    const contexts = new Float32Array(m * per);
    for (let k = 0; k < m; k++) {
      const a = trackWindowStart(s + k, opts.fps, sr);
      window.fill(0);
      const from = Math.max(0, a), to = Math.min(samples.length, a + n);
      if (to > from) window.set(samples.subarray(from, to), from - a);
      contexts.set(contextFrames(window, sr, C, model.config.pictures), k * per);
    }
    latents.set(encodeContexts(model, contexts, m), s * model.config.latentDim);
    opts.onProgress?.(s + m, count);
  }
  return latents;
}
