import { requireInt } from '../errors.js';
import { checkImageSize } from '../limits.js';
import { melSpectrogram, powerToDb } from './mel.js';

/**
 * The spectrogram picture: frame 0 of every training sequence (docs/design.md#training-data) and what
 * `nca spectrogram` shows. A mel power spectrogram of the clip window (default the first 2 s,
 * padded with silence when shorter), its frames averaged into `width` time columns, in dB relative
 * to its own maximum, floored at -topDb and mapped to [0, 1].
 */

export interface SpectrogramImageOptions {
  /** Sample rate of the input. Default 22050. */
  sampleRate?: number;
  /** Time columns, 1..16384. Default 32. */
  width?: number;
  /** Mel bands (rows), 1..16384. Default 32. */
  height?: number;
  /** Pixels per cell side of the picture that will be drawn from it (colorize), 1..16384. Default 1. */
  scale?: number;
  /** Length of the clip window in seconds, or null for the whole input. Default 2. */
  durationSeconds?: number | null;
  /** FFT size. Default 2048. */
  nFft?: number;
  /** Dynamic range shown, in dB. Default 80. */
  topDb?: number;
  /** Lowest and highest mel frequency (Hz). Defaults 0 and sampleRate / 2. */
  fMin?: number;
  fMax?: number;
}

export interface SpectrogramImage {
  /** Float32Array (height, width) row-major in [0, 1]; row 0 is the highest band (image orientation). */
  data: Float32Array;
  width: number;
  height: number;
  /** Hop used (512, or smaller when more columns than 512-hop frames are asked for). */
  hop: number;
  /** Seconds of audio covered. */
  seconds: number;
  warnings: string[];
}

/** The rate every analysis in nca runs at (docs/design.md#training-data): WAV input is resampled to it. */
export const ANALYSIS_RATE = 22050;

/** The default clip window of a training sequence, in seconds. */
export const CLIP_SECONDS = 2;

/**
 * Refuses a spectrogram picture of width x height cells drawn at scale x scale pixels each that is
 * past OUTPUT_LIMITS (src/core/limits.ts); call it before reading the audio.
 */
export function checkSpectrogramSize(width: number, height: number, scale = 1): void {
  requireInt('width', width, 1, 16384);
  requireInt('height', height, 1, 16384);
  requireInt('scale', scale, 1, 16384);
  checkImageSize(`a ${width}x${height} spectrogram at --scale ${scale}`, width * scale, height * scale, 'use a smaller --scale or --size');
}

export function spectrogramImage(samples: Float32Array, opts: SpectrogramImageOptions = {}): SpectrogramImage {
  const sampleRate = opts.sampleRate ?? 22050;
  const width = opts.width ?? 32;
  const height = opts.height ?? 32;
  checkSpectrogramSize(width, height, opts.scale ?? 1);
  const topDb = opts.topDb ?? 80;
  const duration = opts.durationSeconds === undefined ? CLIP_SECONDS : opts.durationSeconds;
  const warnings: string[] = [];
  let clip = samples;
  if (duration !== null) {
    const want = Math.round(duration * sampleRate);
    if (samples.length < want) {
      warnings.push(`the clip is ${(samples.length / sampleRate).toFixed(2)} s long; padded with silence to ${duration.toFixed(2)} s`);
      clip = new Float32Array(want);
      clip.set(samples);
    } else clip = samples.subarray(0, want);
  }
  // Hop 512 as everywhere, unless more columns are asked for than 512-hop frames exist.
  const hop = Math.max(16, Math.min(512, Math.floor(clip.length / width)));
  const mel = melSpectrogram(clip, { sampleRate, nFft: opts.nFft ?? 2048, hop, nMels: height, fMin: opts.fMin, fMax: opts.fMax });
  const data = melPicture(mel.data, mel.nFrames, width, height, topDb);
  return { data, width, height, hop, seconds: clip.length / sampleRate, warnings };
}

/**
 * The picture of a mel spectrogram [height mels][F frames] (power): frames averaged into `width`
 * columns (column j covers frames [j F / W, (j+1) F / W)), rows flipped (row 0 = highest band), in dB
 * relative to the maximum, mapped from [-topDb, 0] to [0, 1]. Float32Array [height][width]; all zeros
 * for silence.
 */
export function melPicture(mel: Float32Array, F: number, width: number, height: number, topDb: number): Float32Array {
  const pooled = new Float32Array(height * width);
  for (let j = 0; j < width; j++) {
    const a = Math.floor((j * F) / width);
    const b = Math.max(a + 1, Math.floor(((j + 1) * F) / width));
    for (let m = 0; m < height; m++) {
      let acc = 0;
      for (let k = a; k < b && k < F; k++) acc += mel[m * F + k]!;
      pooled[(height - 1 - m) * width + j] = acc / (b - a);
    }
  }
  let max = 0;
  for (const v of pooled) if (v > max) max = v;
  const data = new Float32Array(height * width);
  if (max > 0) {
    const db = powerToDb(pooled, { ref: max, topDb });
    for (let i = 0; i < db.length; i++) data[i] = Math.min(1, Math.max(0, (db[i]! + topDb) / topDb));
  }
  return data;
}
