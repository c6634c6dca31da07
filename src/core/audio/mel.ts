import FFT from 'fft.js';

/**
 * Short-time Fourier transform and mel spectrograms, on fft.js.
 *
 * Vocabulary and defaults follow librosa: `nFft` 2048, `hop` 512, periodic Hann window, frames
 * centred on t = k * hop (the signal is zero-padded by nFft / 2 on both sides), power spectrum
 * |X|^2, Slaney mel scale with Slaney area normalisation. Shapes:
 * - a power frame is `Float32Array (nFft / 2 + 1)`;
 * - a mel filter bank is `Float32Array (nMels, nFft / 2 + 1)` row-major;
 * - a mel spectrogram is `Float32Array (nMels, nFrames)` row-major (band-major, like librosa),
 *   with nFrames = 1 + floor(samples / hop) when centred.
 */

export type WindowName = 'hann' | 'hamming' | 'blackman' | 'rect';

export interface StftOptions {
  /** FFT size, a power of two in [16, 65536]. Default 2048. */
  nFft?: number;
  /** Hop between frames in samples, >= 1. Default 512. */
  hop?: number;
  /** Window name (periodic form) or the window itself (length nFft). Default 'hann'. */
  window?: WindowName | Float32Array;
  /** Centre frames on t = k * hop by padding nFft / 2 zeros on both sides. Default true. */
  center?: boolean;
}

export interface MelOptions extends StftOptions {
  /** Sample rate of the input in Hz. Default 22050. */
  sampleRate?: number;
  /** Number of mel bands. Default 128. */
  nMels?: number;
  /** Lowest frequency of the filter bank in Hz. Default 0. */
  fMin?: number;
  /** Highest frequency in Hz. Default sampleRate / 2. */
  fMax?: number;
  /** Mel scale: 'slaney' (librosa's default: linear below 1 kHz) or 'htk' (2595 log10(1 + f/700)). Default 'slaney'. */
  melScale?: 'slaney' | 'htk';
  /** Filter normalisation: 'slaney' (each triangle has unit area per Hz, 2 / bandwidth) or 'none' (peak 1). Default 'slaney'. */
  norm?: 'slaney' | 'none';
  /** A ready filter bank (nMels, nFft / 2 + 1) to use instead of building one (nMels is taken from it). */
  filterBank?: Float32Array;
}

export interface MelSpectrogram {
  /** Mel power, Float32Array (nMels, nFrames) row-major. */
  data: Float32Array;
  nMels: number;
  nFrames: number;
  hop: number;
  sampleRate: number;
}

const resolvedStft = (o: StftOptions) => ({ nFft: o.nFft ?? 2048, hop: o.hop ?? 512, center: o.center ?? true });

/** A window of `length` samples: the periodic form (as librosa/scipy `fftbins=True`). */
export function makeWindow(name: WindowName, length: number): Float32Array {
  const w = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const x = (2 * Math.PI * i) / length;
    w[i] = name === 'hann' ? 0.5 - 0.5 * Math.cos(x) : name === 'hamming' ? 0.54 - 0.46 * Math.cos(x) : name === 'blackman' ? 0.42 - 0.5 * Math.cos(x) + 0.08 * Math.cos(2 * x) : 1;
  }
  return w;
}

function checkStft(nFft: number, hop: number, window: Float32Array): void {
  if (!Number.isInteger(nFft) || nFft < 16 || nFft > 65536 || (nFft & (nFft - 1)) !== 0) throw new RangeError(`nFft must be a power of two in [16, 65536], got ${nFft}`);
  if (!Number.isInteger(hop) || hop < 1) throw new RangeError(`hop must be a positive integer, got ${hop}`);
  if (window.length !== nFft) throw new RangeError(`the window has ${window.length} samples but nFft is ${nFft}`);
}

/** Number of STFT frames for `length` samples. */
export function frameCount(length: number, opts: StftOptions = {}): number {
  const { nFft, hop, center } = resolvedStft(opts);
  if (center) return 1 + Math.floor(length / hop);
  return length < nFft ? 0 : 1 + Math.floor((length - nFft) / hop);
}

/**
 * Run the STFT frame by frame: `onFrame(k, power, frame)` receives the power spectrum
 * |X|^2 (nFft / 2 + 1 bins, a reused buffer) and, when `keepFrames` is set, the unwindowed frame
 * samples (nFft, reused; otherwise an empty array). Returns the number of frames.
 */
export function stftFrames(samples: Float32Array, opts: StftOptions & { keepFrames?: boolean }, onFrame: (k: number, power: Float64Array, frame: Float64Array) => void): number {
  const { nFft, hop, center } = resolvedStft(opts);
  const window = opts.window instanceof Float32Array ? opts.window : makeWindow(opts.window ?? 'hann', nFft);
  checkStft(nFft, hop, window);
  const fft = new FFT(nFft);
  const frame = new Float64Array(opts.keepFrames ? nFft : 0);
  const windowed = new Float64Array(nFft);
  const win = Float64Array.from(window);
  const spectrum = fft.createComplexArray() as number[];
  const half = nFft / 2;
  const power = new Float64Array(half + 1);
  const nFrames = frameCount(samples.length, opts);
  const pad = center ? half : 0;
  const n = samples.length;
  for (let k = 0; k < nFrames; k++) {
    // windowed frame: samples[k*hop - pad .. + nFft), zeros outside
    const start = k * hop - pad;
    if (start >= 0 && start + nFft <= n) {
      for (let i = 0; i < nFft; i++) windowed[i] = samples[start + i]! * win[i]!;
    } else {
      for (let i = 0; i < nFft; i++) {
        const j = start + i;
        windowed[i] = j >= 0 && j < n ? samples[j]! * win[i]! : 0;
      }
    }
    if (opts.keepFrames) {
      for (let i = 0; i < nFft; i++) {
        const j = start + i;
        frame[i] = j >= 0 && j < n ? samples[j]! : 0;
      }
    }
    // power spectrum of the windowed frame
    fft.realTransform(spectrum, windowed);
    for (let b = 0, o = 0; b <= half; b++, o += 2) {
      const re = spectrum[o]!;
      const im = spectrum[o + 1]!;
      power[b] = re * re + im * im;
    }
    onFrame(k, power, frame);
  }
  return nFrames;
}

const hzToMelHtk = (f: number): number => 2595 * Math.log10(1 + f / 700);
const melToHzHtk = (m: number): number => 700 * (10 ** (m / 2595) - 1);
// Slaney: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
const SLANEY_F_SP = 200 / 3;
const SLANEY_MIN_LOG_HZ = 1000;
const SLANEY_MIN_LOG_MEL = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;
const SLANEY_LOGSTEP = Math.log(6.4) / 27;
const hzToMelSlaney = (f: number): number => (f < SLANEY_MIN_LOG_HZ ? f / SLANEY_F_SP : SLANEY_MIN_LOG_MEL + Math.log(f / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP);
const melToHzSlaney = (m: number): number => (m < SLANEY_MIN_LOG_MEL ? m * SLANEY_F_SP : SLANEY_MIN_LOG_HZ * Math.exp(SLANEY_LOGSTEP * (m - SLANEY_MIN_LOG_MEL)));

/** Convert Hz to mels on the given scale. */
export function hzToMel(f: number, scale: 'slaney' | 'htk' = 'slaney'): number {
  return scale === 'htk' ? hzToMelHtk(f) : hzToMelSlaney(f);
}
/** Convert mels to Hz on the given scale. */
export function melToHz(m: number, scale: 'slaney' | 'htk' = 'slaney'): number {
  return scale === 'htk' ? melToHzHtk(m) : melToHzSlaney(m);
}

/**
 * Triangular mel filter bank, Float32Array (nMels, nFft / 2 + 1) row-major, as librosa.filters.mel:
 * nMels + 2 edges equally spaced in mels between fMin and fMax; filter m rises from edge m to
 * edge m+1 and falls to edge m+2, evaluated at the bin centre frequencies b * sampleRate / nFft.
 */
export function melFilterBank(opts: MelOptions = {}): Float32Array {
  const sampleRate = opts.sampleRate ?? 22050;
  const nFft = opts.nFft ?? 2048;
  const nMels = opts.nMels ?? 128;
  const fMin = opts.fMin ?? 0;
  const fMax = opts.fMax ?? sampleRate / 2;
  const scale = opts.melScale ?? 'slaney';
  if (!(fMin >= 0 && fMax > fMin && fMax <= sampleRate / 2 + 1e-9)) throw new RangeError(`need 0 <= fMin < fMax <= sampleRate / 2, got fMin ${fMin}, fMax ${fMax}`);
  if (!Number.isInteger(nMels) || nMels < 1) throw new RangeError(`nMels must be a positive integer, got ${nMels}`);
  const nBins = nFft / 2 + 1;
  const melMin = hzToMel(fMin, scale);
  const melMax = hzToMel(fMax, scale);
  const edges = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) edges[i] = melToHz(melMin + ((melMax - melMin) * i) / (nMels + 1), scale);
  const bank = new Float32Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const lo = edges[m]!;
    const mid = edges[m + 1]!;
    const hi = edges[m + 2]!;
    const gain = opts.norm === 'none' ? 1 : 2 / (hi - lo);
    for (let b = 0; b < nBins; b++) {
      const f = (b * sampleRate) / nFft;
      const w = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      bank[m * nBins + b] = w * gain;
    }
  }
  return bank;
}

/** Each filter's non-zero bin range, so the projection skips the zeros. */
export function sparseRows(bank: Float32Array, nMels: number, nBins: number): Array<{ first: number; weights: Float32Array }> {
  const rows: Array<{ first: number; weights: Float32Array }> = [];
  for (let m = 0; m < nMels; m++) {
    const row = bank.subarray(m * nBins, (m + 1) * nBins);
    let first = 0;
    while (first < nBins && row[first] === 0) first++;
    let last = nBins - 1;
    while (last >= first && row[last] === 0) last--;
    rows.push({ first, weights: row.slice(first, last + 1) });
  }
  return rows;
}

/**
 * Mel power spectrogram of mono `samples`: Float32Array (nMels, nFrames) row-major.
 * Power is |STFT|^2 of the windowed frame (no scaling), projected on the filter bank.
 */
export function melSpectrogram(samples: Float32Array, opts: MelOptions = {}): MelSpectrogram {
  const { nFft, hop } = resolvedStft(opts);
  const sampleRate = opts.sampleRate ?? 22050;
  const nBins = nFft / 2 + 1;
  const bank = opts.filterBank ?? melFilterBank({ ...opts, nFft, sampleRate });
  if (bank.length % nBins !== 0) throw new RangeError(`the filter bank has ${bank.length} values, not a multiple of nFft / 2 + 1 = ${nBins}`);
  const nMels = bank.length / nBins;
  const rows = sparseRows(bank, nMels, nBins);
  const nFrames = frameCount(samples.length, opts);
  const data = new Float32Array(nMels * nFrames);
  stftFrames(samples, opts, (k, power) => {
    // project: mel[m][k] = sum_b bank[m][b] * power[b]
    for (let m = 0; m < nMels; m++) {
      const { first, weights } = rows[m]!;
      let acc = 0;
      for (let j = 0; j < weights.length; j++) acc += weights[j]! * power[first + j]!;
      data[m * nFrames + k] = acc;
    }
  });
  return { data, nMels, nFrames, hop, sampleRate };
}

export interface DbOptions {
  /** Reference power: a number, or 'max' for the largest value of the input. Default 1. */
  ref?: number | 'max';
  /** Floor applied before the log, > 0. Default 1e-10. */
  amin?: number;
  /** If set, values below (max dB - topDb) are raised to it. Default 80; null for none. */
  topDb?: number | null;
}

/**
 * Power to decibels, as librosa.power_to_db: 10 log10(max(amin, p)) - 10 log10(max(amin, ref)),
 * then floored at (max - topDb). Returns a new array of the same shape.
 */
export function powerToDb(power: Float32Array, opts: DbOptions = {}): Float32Array {
  const amin = opts.amin ?? 1e-10;
  const topDb = opts.topDb === undefined ? 80 : opts.topDb;
  let ref = 1;
  if (opts.ref === 'max') {
    ref = 0;
    for (let i = 0; i < power.length; i++) if (power[i]! > ref) ref = power[i]!;
  } else if (opts.ref !== undefined) ref = opts.ref;
  const refDb = 10 * Math.log10(Math.max(amin, ref));
  const out = new Float32Array(power.length);
  let maxDb = -Infinity;
  for (let i = 0; i < power.length; i++) {
    const v = 10 * Math.log10(Math.max(amin, power[i]!)) - refDb;
    out[i] = v;
    if (v > maxDb) maxDb = v;
  }
  if (topDb !== null && power.length) {
    const floor = maxDb - topDb;
    for (let i = 0; i < out.length; i++) if (out[i]! < floor) out[i] = floor;
  }
  return out;
}
