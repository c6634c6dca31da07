import FFT from 'fft.js';
import { makeWindow, melFilterBank, stftFrames } from './mel.js';

/**
 * Per-frame audio features and harmonic peaks (docs/design.md#training-data), from one STFT pass.
 *
 * Frames are the mel spectrogram's: nFft 2048, hop 512, centred. Every feature is finite: silence
 * gives zeros, never NaN.
 */

export interface Harmonic {
  /** Frequency in Hz (parabolic interpolation on the log magnitude). */
  frequency: number;
  /** Amplitude of the sinusoid (a full-scale sine is 1). */
  amplitude: number;
  /** Amplitude relative to the strongest peak, in (0, 1]. */
  relative: number;
}

export interface ClipFeatures {
  sampleRate: number;
  hop: number;
  nFrames: number;
  /** RMS of each (unwindowed) frame, Float32Array (nFrames). */
  rms: Float32Array;
  /** Spectral centroid in Hz (magnitude-weighted mean bin frequency), Float32Array (nFrames); 0 for silent frames. */
  centroid: Float32Array;
  /** Onset strength: mean over 64 mel bands of the positive change in dB from the previous frame, Float32Array (nFrames); frame 0 is 0. */
  onset: Float32Array;
  /** The strongest harmonic peaks of the opening window, sorted by frequency (see harmonicPeaks). */
  harmonics: Harmonic[];
}

export interface FeatureOptions {
  sampleRate?: number;
  /** Default 2048. */
  nFft?: number;
  /** Default 512 (docs/design.md: the analysis frame is hop 512). */
  hop?: number;
  /** Options of harmonicPeaks. */
  peaks?: PeakOptions;
}

const ONSET_MELS = 64;
const SILENCE_POWER = 1e-12;

/** RMS, centroid, onset strength per frame and the harmonic peaks of a mono clip. */
export function clipFeatures(samples: Float32Array, opts: FeatureOptions = {}): ClipFeatures {
  const sampleRate = opts.sampleRate ?? 22050;
  const nFft = opts.nFft ?? 2048;
  const hop = opts.hop ?? 512;
  const nBins = nFft / 2 + 1;
  const bank = melFilterBank({ sampleRate, nFft, nMels: ONSET_MELS });
  const rowsFirst = new Int32Array(ONSET_MELS);
  const rowsLast = new Int32Array(ONSET_MELS);
  for (let m = 0; m < ONSET_MELS; m++) {
    let a = 0;
    while (a < nBins && bank[m * nBins + a] === 0) a++;
    let b = nBins - 1;
    while (b >= a && bank[m * nBins + b] === 0) b--;
    rowsFirst[m] = a;
    rowsLast[m] = b;
  }
  const capacity = 1 + Math.floor(samples.length / hop);
  const rms = new Float32Array(capacity);
  const centroid = new Float32Array(capacity);
  const onset = new Float32Array(capacity);
  const prevDb = new Float64Array(ONSET_MELS);
  const curDb = new Float64Array(ONSET_MELS);
  // dB floor for onsets: 80 dB below a full-scale sine's mel power, so silence -> silence is 0.
  const floorDb = -80 + 10 * Math.log10((nFft / 4) ** 2);
  const nFrames = stftFrames(samples, { nFft, hop, keepFrames: true }, (k, power, frame) => {
    // rms of the frame samples
    let sq = 0;
    for (let i = 0; i < nFft; i++) sq += frame[i]! * frame[i]!;
    rms[k] = Math.sqrt(sq / nFft);
    centroid[k] = spectralCentroid(power, nBins, sampleRate, nFft);
    // onset: mean positive dB change over mel bands
    let flux = 0;
    for (let m = 0; m < ONSET_MELS; m++) {
      let acc = 0;
      for (let b = rowsFirst[m]!; b <= rowsLast[m]!; b++) acc += bank[m * nBins + b]! * power[b]!;
      const db = Math.max(floorDb, 10 * Math.log10(acc + SILENCE_POWER));
      curDb[m] = db;
      if (k > 0) flux += Math.max(0, db - prevDb[m]!);
    }
    onset[k] = k > 0 ? flux / ONSET_MELS : 0;
    prevDb.set(curDb);
  });
  return {
    sampleRate,
    hop,
    nFrames,
    rms: rms.subarray(0, nFrames),
    centroid: centroid.subarray(0, nFrames),
    onset: onset.subarray(0, nFrames),
    harmonics: harmonicPeaks(samples, { sampleRate, ...opts.peaks }),
  };
}

export interface PeakOptions {
  sampleRate?: number;
  /** Length of the opening window analysed, a power of two. Default 4096. */
  windowSize?: number;
  /** Ignore peaks below this frequency (Hz). Default 50. */
  minFrequency?: number;
  /** Keep peaks above this fraction of the largest peak. Default 0.1. */
  minRelative?: number;
  /** Keep at most this many (the strongest). Default 6. */
  maxPeaks?: number;
}

/**
 * Harmonic peaks of the opening `windowSize` samples (zero-padded if shorter): local maxima of the
 * Hann-windowed magnitude spectrum above `minFrequency` and above `minRelative` x the largest,
 * the `maxPeaks` strongest, sorted by frequency. Frequencies and amplitudes are refined by
 * parabolic interpolation of the log magnitude around each peak bin. Silence gives [].
 */
export function harmonicPeaks(samples: Float32Array, opts: PeakOptions = {}): Harmonic[] {
  const sampleRate = opts.sampleRate ?? 22050;
  const size = opts.windowSize ?? 4096;
  const minFrequency = opts.minFrequency ?? 50;
  const minRelative = opts.minRelative ?? 0.1;
  const maxPeaks = opts.maxPeaks ?? 6;
  const { window, windowSum, fft } = peakTools(size);
  const input = new Float64Array(size);
  for (let i = 0; i < size && i < samples.length; i++) input[i] = samples[i]! * window[i]!;
  const spectrum = fft.createComplexArray() as number[];
  fft.realTransform(spectrum, input);
  const nBins = size / 2 + 1;
  const mag = new Float64Array(nBins);
  for (let b = 0; b < nBins; b++) mag[b] = Math.hypot(spectrum[2 * b]!, spectrum[2 * b + 1]!);
  // A sine of amplitude A peaks at A * windowSum / 2.
  const toAmplitude = 2 / windowSum;
  const candidates: Array<{ frequency: number; amplitude: number }> = [];
  const firstBin = Math.max(1, Math.ceil((minFrequency * size) / sampleRate));
  for (let b = firstBin; b < nBins - 1; b++) {
    const m = mag[b]!;
    if (m <= 1e-9 / toAmplitude || m <= mag[b - 1]! || m < mag[b + 1]!) continue;
    // parabolic interpolation on log magnitude
    const alpha = Math.log(mag[b - 1]! + 1e-30);
    const beta = Math.log(m);
    const gamma = Math.log(mag[b + 1]! + 1e-30);
    const denom = alpha - 2 * beta + gamma;
    const delta = denom < 0 ? (0.5 * (alpha - gamma)) / denom : 0;
    const peakLog = beta - 0.25 * (alpha - gamma) * delta;
    const frequency = ((b + delta) * sampleRate) / size;
    if (frequency < minFrequency) continue;
    candidates.push({ frequency, amplitude: Math.exp(peakLog) * toAmplitude });
  }
  if (!candidates.length) return [];
  const largest = Math.max(...candidates.map((c) => c.amplitude));
  return candidates
    .filter((c) => c.amplitude >= minRelative * largest)
    .sort((a, b) => b.amplitude - a.amplitude)
    .slice(0, maxPeaks)
    .sort((a, b) => a.frequency - b.frequency)
    .map((c) => ({ frequency: c.frequency, amplitude: c.amplitude, relative: c.amplitude / largest }));
}

/** The Hann window, its sum and the FFT of each harmonicPeaks size, made once: building them costs ~4x the transform (a track encodes thousands of windows). */
const peakToolsBySize = new Map<number, { window: Float32Array; windowSum: number; fft: FFT }>();
function peakTools(size: number): { window: Float32Array; windowSum: number; fft: FFT } {
  let tools = peakToolsBySize.get(size);
  if (!tools) {
    const window = makeWindow('hann', size);
    let windowSum = 0;
    for (let i = 0; i < size; i++) windowSum += window[i]!;
    tools = { window, windowSum, fft: new FFT(size) };
    peakToolsBySize.set(size, tools);
  }
  return tools;
}

/** Divide by the maximum (so the largest becomes 1); all zeros stay zeros. */
export function normaliseByMax(values: Float32Array): Float32Array {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  const out = new Float32Array(values.length);
  if (max > 0) for (let i = 0; i < values.length; i++) out[i] = values[i]! / max;
  return out;
}

/** Magnitude-weighted mean frequency (Hz) of a power spectrum's first nBins bins; 0 for silence. */
export function spectralCentroid(power: ArrayLike<number>, nBins: number, sampleRate: number, nFft: number): number {
  let num = 0;
  let den = 0;
  for (let b = 0; b < nBins; b++) {
    const mag = Math.sqrt(power[b]!);
    num += mag * b;
    den += mag;
  }
  return den > Math.sqrt(SILENCE_POWER) * nBins ? ((num / den) * sampleRate) / nFft : 0;
}
