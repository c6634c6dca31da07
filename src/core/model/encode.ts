/**
 * Sound -> latent: the encoder's input pictures of a 2-second window (frame 0 the mel spectrogram,
 * frames 1..3 the first circles pictures, exactly as in the training data, SPEC.md section 3) and
 * the encoder's mu for them.
 *
 * - `encodeClip`: one window (default: the loudest 2 s of the file; or a given start/duration);
 * - `encodeTrack`: windows sliding at `fps` over the whole file -> a track latent (the latent at
 *   time t is that of the window starting at t - 1 s, so the picture follows what is heard at t;
 *   windows past either end are padded with silence).
 */
import { clipSequence } from '../audio/dataset.js';
import { CLIP_SECONDS } from '../audio/spectrogram.js';
import { ANALYSIS_RATE } from '../audio/wav.js';
import { UserError } from '../errors.js';
import type { TrackPoint } from '../latent.js';

/** Seconds of audio behind one latent (the training clips' length). */
export const WINDOW_SECONDS = CLIP_SECONDS;

/** What encoding needs of the model (NeuroModel has it). */
export interface Encoder {
  encode(context: Float32Array, batch: number): { mu: Float32Array; logvar: Float32Array };
  readonly config: { contextFrames: number; frameSize: number; latentDim: number };
}

/**
 * The encoder's input for a window of samples: Float32Array [4][3][32][32] = [12][32][32]
 * (channel = 3 * frame + rgb). Windows shorter than WINDOW_SECONDS are padded with silence.
 */
export function contextFrames(window: Float32Array, sampleRate = ANALYSIS_RATE, contextCount = 4): Float32Array {
  const n = Math.round(WINDOW_SECONDS * sampleRate);
  const padded = window.length >= n ? window.subarray(0, n) : padTo(window, n);
  return clipSequence(padded, { sampleRate, circleFrames: contextCount - 1 }).frames;
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
  const context = contextFrames(windowSamples(samples, w, sampleRate), sampleRate, model.config.contextFrames);
  return { z: encodeContexts(model, context, 1), context };
}

/**
 * A track of latents over the whole file: one point per 1/fps s, the latent at time t being the
 * one of the 2-s window starting at t - 1 s (zero-padded at both ends).
 */
export function encodeTrack(model: Encoder, samples: Float32Array, opts: { fps: number; sampleRate?: number; onProgress?: (done: number, total: number) => void }): TrackPoint[] {
  const sr = opts.sampleRate ?? ANALYSIS_RATE;
  const n = Math.round(WINDOW_SECONDS * sr);
  const seconds = samples.length / sr;
  const count = Math.max(1, Math.floor(seconds * opts.fps) + 1);
  const C = model.config.contextFrames;
  const per = 3 * C * model.config.frameSize * model.config.frameSize;
  const BATCH = 64;
  const points: TrackPoint[] = [];
  const window = new Float32Array(n);
  for (let s = 0; s < count; s += BATCH) {
    const m = Math.min(BATCH, count - s);
    const contexts = new Float32Array(m * per);
    for (let k = 0; k < m; k++) {
      const t = (s + k) / opts.fps;
      const a = Math.round((t - WINDOW_SECONDS / 2) * sr);
      window.fill(0);
      const from = Math.max(0, a), to = Math.min(samples.length, a + n);
      if (to > from) window.set(samples.subarray(from, to), from - a);
      contexts.set(contextFrames(window, sr, C), k * per);
    }
    const zs = encodeContexts(model, contexts, m);
    for (let k = 0; k < m; k++) points.push({ t: (s + k) / opts.fps, z: zs.slice(k * model.config.latentDim, (k + 1) * model.config.latentDim) });
    opts.onProgress?.(s + m, count);
  }
  return points;
}
