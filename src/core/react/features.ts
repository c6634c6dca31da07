/**
 * Audio features per video frame (docs/music-video.md#features): what the reactions follow and what
 * the measure compares the pictures with.
 *
 * One STFT pass (nFft 1024, hop 256, periodic Hann, centred; 11.6 ms hops at 22050 Hz, about three per
 * frame at 30 fps). Video frame i shows time t_i = i / fps and owns the STFT frames whose centres lie in
 * [t_i - 0.5 / fps, t_i + 0.5 / fps). Per video frame:
 * - onset: spectral flux, librosa's onset strength: the mean over 64 mel bands of the rise in dB since
 *   the previous STFT frame (negative rises count 0; dB floored 80 dB under the clip's loudest band);
 *   the largest over the frame's STFT frames;
 * - loudness: RMS of the samples in the frame's interval, in dB (floored at -100);
 * - centroid: the magnitude-weighted mean frequency in Hz over the frame's STFT frames (0 when silent);
 * - low / mid / high: band power in dB (under 250 Hz, 250-2000 Hz, over 2000 Hz);
 * - chroma: [frames][12] power per pitch class (C = 0) of the bins 55-5000 Hz, normalised to sum 1.
 * Every value is finite: silence gives the floors and zeros, never NaN.
 */
import { melFilterBank, sparseRows, stftFrames } from '../audio/mel.js';
import { invalidParameterError, requireInt, requireNumber } from '../errors.js';

export interface FrameFeatures {
  fps: number;
  /** Number of video frames: frame i shows time i / fps. */
  frames: number;
  /** Float32Array (frames) each. */
  onset: Float32Array;
  loudness: Float32Array;
  centroid: Float32Array;
  low: Float32Array;
  mid: Float32Array;
  high: Float32Array;
  /** Float32Array (frames, 12), row-major. */
  chroma: Float32Array;
}

export interface FrameFeatureOptions {
  /** Sample rate of the samples, 1000..768000 (default 22050). */
  sampleRate?: number;
  /** Video frames per second, 1..120. */
  fps: number;
  /** Frames to describe (default: ceil(duration x fps), at least 1). */
  frames?: number;
}

export const FEATURE_NFFT = 1024;
export const FEATURE_HOP = 256;
const ONSET_MELS = 64;
const TOP_DB = 80;
const SILENT_DB = -100;
const LOW_HZ = 250;
const HIGH_HZ = 2000;

/** The number of video frames of `sampleCount` samples at `fps`: ceil(duration x fps), at least 1. */
export function videoFrameCount(sampleCount: number, sampleRate: number, fps: number): number {
  return Math.max(1, Math.ceil((sampleCount / sampleRate) * fps - 1e-9));
}

/** Per-video-frame onset, loudness, centroid, band energies and chroma of mono samples. */
export function frameFeatures(samples: Float32Array, opts: FrameFeatureOptions): FrameFeatures {
  if (!(samples instanceof Float32Array)) throw invalidParameterError('samples', 'a Float32Array of mono samples', samples);
  const sr = requireInt('sampleRate', opts.sampleRate ?? 22050, 1000, 768000);
  const fps = requireNumber('fps', opts.fps, 1, 120);
  const frames = opts.frames === undefined ? videoFrameCount(samples.length, sr, fps) : requireInt('frames', opts.frames, 1, 10_000_000);
  const nFft = FEATURE_NFFT, hop = FEATURE_HOP, nBins = nFft / 2 + 1;
  const binHz = sr / nFft;

  // Per STFT frame: mel power (for the flux), summed magnitude and magnitude-weighted frequency, band powers, chroma.
  const rows = sparseRows(melFilterBank({ sampleRate: sr, nFft, nMels: ONSET_MELS }), ONSET_MELS, nBins);
  const stftCount = 1 + Math.floor(samples.length / hop);
  const mel = new Float32Array(stftCount * ONSET_MELS);
  const magSum = new Float64Array(stftCount);
  const magFreq = new Float64Array(stftCount);
  const bandPower = new Float64Array(stftCount * 3);
  const chromaPower = new Float64Array(stftCount * 12);
  const pitchClass = new Int8Array(nBins).fill(-1);
  for (let b = 1; b < nBins; b++) {
    const f = b * binHz;
    if (f >= 55 && f <= 5000) pitchClass[b] = ((Math.round(12 * Math.log2(f / 440)) % 12) + 12 + 9) % 12;
  }
  const lowBin = Math.ceil(LOW_HZ / binHz), highBin = Math.ceil(HIGH_HZ / binHz);
  stftFrames(samples, { nFft, hop, window: 'hann' }, (k, power) => {
    for (let m = 0; m < ONSET_MELS; m++) {
      const { first, weights } = rows[m]!;
      let s = 0;
      for (let j = 0; j < weights.length; j++) s += weights[j]! * power[first + j]!;
      mel[k * ONSET_MELS + m] = s;
    }
    let ms = 0, mf = 0;
    for (let b = 0; b < nBins; b++) {
      const p = power[b]!;
      const mag = Math.sqrt(p);
      ms += mag;
      mf += mag * b * binHz;
      bandPower[k * 3 + (b < lowBin ? 0 : b < highBin ? 1 : 2)]! += p;
      const pc = pitchClass[b]!;
      if (pc >= 0) chromaPower[k * 12 + pc]! += p;
    }
    magSum[k] = ms;
    magFreq[k] = mf;
  });

  // Flux per STFT frame: mean positive dB rise over the mel bands (dB floored TOP_DB under the loudest band).
  let melMax = 0;
  for (let i = 0; i < mel.length; i++) if (mel[i]! > melMax) melMax = mel[i]!;
  const floorDb = melMax > 0 ? 10 * Math.log10(melMax) - TOP_DB : SILENT_DB;
  const db = (p: number) => Math.max(floorDb, p > 0 ? 10 * Math.log10(p) : SILENT_DB);
  const flux = new Float32Array(stftCount);
  for (let k = 1; k < stftCount; k++) {
    let s = 0;
    for (let m = 0; m < ONSET_MELS; m++) s += Math.max(0, db(mel[k * ONSET_MELS + m]!) - db(mel[(k - 1) * ONSET_MELS + m]!));
    flux[k] = s / ONSET_MELS;
  }

  // Video frames: aggregate their STFT frames and samples.
  const out: FrameFeatures = {
    fps, frames,
    onset: new Float32Array(frames), loudness: new Float32Array(frames), centroid: new Float32Array(frames),
    low: new Float32Array(frames), mid: new Float32Array(frames), high: new Float32Array(frames),
    chroma: new Float32Array(frames * 12),
  };
  const toDb = (p: number) => (p > 1e-10 ? Math.max(SILENT_DB, 10 * Math.log10(p)) : SILENT_DB);
  for (let i = 0; i < frames; i++) {
    const t0 = (i - 0.5) / fps, t1 = (i + 0.5) / fps;
    // STFT frames centred in [t0, t1): k hop / sr in the interval (at least the nearest one)
    let k0 = Math.max(0, Math.ceil((t0 * sr) / hop - 1e-9));
    let k1 = Math.min(stftCount, Math.ceil((t1 * sr) / hop - 1e-9));
    if (k1 <= k0) (k0 = Math.min(stftCount - 1, Math.max(0, Math.round((i / fps) * sr / hop)))), (k1 = k0 + 1);
    let onset = 0, ms = 0, mf = 0;
    const bands = [0, 0, 0];
    for (let k = k0; k < k1; k++) {
      onset = Math.max(onset, flux[k]!);
      ms += magSum[k]!;
      mf += magFreq[k]!;
      for (let j = 0; j < 3; j++) bands[j]! += bandPower[k * 3 + j]! / (k1 - k0);
    }
    let cs = 0;
    for (let c = 0; c < 12; c++) for (let k = k0; k < k1; k++) cs += chromaPower[k * 12 + c]!;
    if (cs > 1e-12) for (let c = 0; c < 12; c++) {
      let s = 0;
      for (let k = k0; k < k1; k++) s += chromaPower[k * 12 + c]!;
      out.chroma[i * 12 + c] = s / cs;
    }
    // loudness: RMS of the samples of the interval
    const a = Math.max(0, Math.round(t0 * sr)), b = Math.min(samples.length, Math.round(t1 * sr));
    let sq = 0;
    for (let j = a; j < b; j++) sq += samples[j]! * samples[j]!;
    out.onset[i] = onset;
    out.loudness[i] = b > a ? toDb(sq / (b - a)) : SILENT_DB;
    out.centroid[i] = ms > 1e-9 ? mf / ms : 0;
    // band power per STFT frame, normalised like a periodogram of the window (sum of Hann^2 = 3 nFft / 8)
    const norm = (nFft * 3) / 8 * (nFft / 2);
    out.low[i] = toDb(bands[0]! / norm);
    out.mid[i] = toDb(bands[1]! / norm);
    out.high[i] = toDb(bands[2]! / norm);
  }
  return out;
}
