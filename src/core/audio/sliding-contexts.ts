import FFT from 'fft.js';
import { DEFAULT_PICTURES, trainingPictures, type PictureStyle } from './pictures.js';
import { harmonicPeaks, spectralCentroid, type ClipFeatures } from './features.js';
import { makeWindow, melFilterBank, sparseRows } from './mel.js';
import { ANALYSIS_RATE, CLIP_SECONDS, melPicture } from './spectrogram.js';

/**
 * The encoder's input pictures (what `clipSequence` makes of a clip: the spectrogram picture and
 * the first circles pictures) for many overlapping windows of one signal, sharing the STFT.
 *
 * Everything a clip's pictures depend on comes from the frames of one STFT (nFft 2048, hop 512,
 * Hann, centred on the clip: 87 frames for 2 s at 22050 Hz), plus one FFT of its opening 4096
 * samples (the harmonic peaks). The frames give the 32-band mel power of the spectrogram picture
 * and the RMS, centroid and onset strength (64-band dB flux) of the features. A window's interior
 * frames (those wholly inside it, k = 2..84) are frames of an STFT of the whole signal whenever
 * the window starts on that STFT's grid, so they are computed once and shared by every window that
 * holds them (24 windows each at 12 fps). What is done per window, at its exact start:
 * - the edge frames its own zero padding cuts (k = 0, 1 and 85, 86), and the first `exactHead`
 *   frames (default: as many as the circles pictures show, frames 0..2);
 * - the harmonic peaks of its opening 4096 samples;
 * - the per-clip normalisations: the spectrogram's pooling and dB relative to its own maximum, and
 *   the features' division by their maxima (done by `circlesFrames` itself); the pictures.
 * The arithmetic is that of spectrogramImage / clipFeatures / circlesFrames, in the same order, so
 * for a window starting on a grid `context(start)` equals `contextFrames` of [start, start + 2 s)
 * exactly (test/encode-fast.test.ts).
 *
 * A window off the grid takes its interior frames from the nearest grid start, at most
 * 256 / phases samples away (`phases` grids offset by 512 / phases samples; each costs one STFT
 * of the signal). That is the one approximation. Its size, measured on a synthesised song at
 * 12 fps against exact windows (docs/audio.md): smaller than moving the exact window by a few
 * samples, to which the pictures are themselves sensitive (onsets, the centroid of near silence,
 * which harmonic peaks pass the thresholds).
 *
 * Frames are kept in sliding stores, so memory stays bounded when windows are asked for in
 * increasing order (any order works; going backwards recomputes).
 */

/** The STFT every picture is made from (spectrogramImage at 32 columns and clipFeatures). */
export const CONTEXT_NFFT = 2048;
export const CONTEXT_HOP = 512;
/** Mel bands of the onset strength (features.ts). */
const ONSET_MELS = 64;
/** features.ts: power below this is silence. */
const SILENCE_POWER = 1e-12;
/** spectrogramImage's default dynamic range. */
const TOP_DB = 80;

/**
 * The windows of a track (`nca encode --track`, the page's encoder): point i is the latent of time t = i / fps,
 * encoded from the CLIP_SECONDS window starting at t - CLIP_SECONDS / 2, so the picture follows what is heard at t.
 */
/** Start (in samples, may be negative) of the exact window of track point i. */
export function trackWindowStart(i: number, fps: number, sampleRate = ANALYSIS_RATE): number {
  return Math.round((i / fps - CLIP_SECONDS / 2) * sampleRate);
}

/** Track points of a signal of `sampleCount` samples: one per 1/fps s from 0 to its end. */
export function trackLength(sampleCount: number, fps: number, sampleRate = ANALYSIS_RATE): number {
  return Math.max(1, Math.floor((sampleCount / sampleRate) * fps) + 1);
}

/** Shared STFT grids of a track: window interiors at most CONTEXT_HOP / 4 = 128 samples (5.8 ms) from exact. */
export const TRACK_PHASES = 2;

export interface SlidingContextOptions {
  /** Sample rate of the signal. Default 22050. */
  sampleRate?: number;
  /** Pictures per context: 1 spectrogram + (contextFrames - 1) circles. Default 4. */
  contextFrames?: number;
  /** Picture size. Default 32 x 32. */
  width?: number;
  height?: number;
  /**
   * Shared STFT grids, offset by 512 / phases samples (a divisor of 512): a window's shared frames
   * are at most 256 / phases samples from its own. Each grid costs one STFT of the signal. Default 1.
   */
  phases?: number;
  /** The training pictures of frames 1..contextFrames - 1 (pictures.ts). Default circles. */
  pictures?: PictureStyle;
  /** Frames at the start of each window computed at its exact start, never shared. Default: contextFrames - 1 (the frames the circles pictures show). */
  exactHead?: number;
}

/**
 * Whether the shared frames reproduce clipSequence for this rate and picture width: the
 * spectrogram picture must use hop 512 like the features (it uses a smaller hop when a 2-s window
 * has fewer than `width` 512-sample frames: rates below 8192 Hz at 32 columns).
 */
export function slidingContextsApply(sampleRate: number, width = 32): boolean {
  const n = Math.round(CLIP_SECONDS * sampleRate);
  return Math.floor(n / width) >= CONTEXT_HOP && n >= 2 * CONTEXT_NFFT;
}

/** Results of analysing one STFT frame (what clipFeatures and melSpectrogram compute of it). */
interface FrameAnalysis {
  /** Spectrogram mel power, [nMels] (float32 as melSpectrogram stores it). */
  mel: Float32Array;
  /** Onset mel bands in dB, [64] (float64 as clipFeatures keeps them). */
  db: Float64Array;
  rms: number;
  centroid: number;
}

/** One STFT frame analysed with the same values, in the same order, as stftFrames + melSpectrogram and clipFeatures. */
class FrameAnalyser {
  private readonly fft = new FFT(CONTEXT_NFFT);
  private readonly hann = Float64Array.from(makeWindow('hann', CONTEXT_NFFT));
  private readonly windowed = new Float64Array(CONTEXT_NFFT);
  private readonly spectrum: number[];
  private readonly power = new Float64Array(CONTEXT_NFFT / 2 + 1);
  private readonly specRows: SparseRow[];
  private readonly onsetRows: SparseRow[];
  private readonly floorDb = -80 + 10 * Math.log10((CONTEXT_NFFT / 4) ** 2);

  constructor(
    private readonly samples: Float32Array,
    private readonly sampleRate: number,
    readonly nMels: number,
  ) {
    this.spectrum = this.fft.createComplexArray() as number[];
    const nBins = CONTEXT_NFFT / 2 + 1;
    this.specRows = sparseRows(melFilterBank({ sampleRate, nFft: CONTEXT_NFFT, nMels }), nMels, nBins);
    this.onsetRows = sparseRows(melFilterBank({ sampleRate, nFft: CONTEXT_NFFT, nMels: ONSET_MELS }), ONSET_MELS, nBins);
  }

  newAnalysis(): FrameAnalysis {
    return { mel: new Float32Array(this.nMels), db: new Float64Array(ONSET_MELS), rms: 0, centroid: 0 };
  }

  /** The frame of samples [frameStart, frameStart + 2048), zeros outside [lo, hi). */
  analyse(frameStart: number, lo: number, hi: number, out: FrameAnalysis): void {
    const nFft = CONTEXT_NFFT;
    const nBins = nFft / 2 + 1;
    const x = this.samples;
    const win = this.hann;
    const windowed = this.windowed;
    // windowed frame, and the RMS of the unwindowed one
    let sq = 0;
    for (let i = 0; i < nFft; i++) {
      const j = frameStart + i;
      const v = j >= lo && j < hi ? x[j]! : 0;
      windowed[i] = v * win[i]!;
      sq += v * v;
    }
    out.rms = Math.sqrt(sq / nFft);
    // power spectrum
    const spectrum = this.spectrum;
    const power = this.power;
    this.fft.realTransform(spectrum, windowed);
    for (let b = 0, o = 0; b < nBins; b++, o += 2) {
      const re = spectrum[o]!;
      const im = spectrum[o + 1]!;
      power[b] = re * re + im * im;
    }
    // spectrogram mel bands
    for (let m = 0; m < this.nMels; m++) {
      const { first, weights } = this.specRows[m]!;
      let acc = 0;
      for (let k = 0; k < weights.length; k++) acc += weights[k]! * power[first + k]!;
      out.mel[m] = acc;
    }
    out.centroid = spectralCentroid(power, nBins, this.sampleRate, nFft);
    // onset mel bands in dB
    for (let m = 0; m < ONSET_MELS; m++) {
      const { first, weights } = this.onsetRows[m]!;
      let acc = 0;
      for (let k = 0; k < weights.length; k++) acc += weights[k]! * power[first + k]!;
      out.db[m] = Math.max(this.floorDb, 10 * Math.log10(acc + SILENCE_POWER));
    }
  }
}

/**
 * The whole signal's frames on one grid: frame j covers samples [phase + 512 j, + 2048) (zeros
 * outside the signal). A sliding store: `ensure(a, b)` keeps what it holds of [a, b) and analyses
 * the rest, so windows asked for in increasing order analyse each frame once.
 */
class FrameStore {
  first = 0;
  count = 0;
  private capacity = 0;
  mel = new Float32Array(0);
  db = new Float64Array(0);
  rms = new Float32Array(0);
  centroid = new Float32Array(0);
  /** Onset strength of frame j against frame j - 1 (valid for j > first when j was analysed). */
  onset = new Float32Array(0);
  private readonly frame: FrameAnalysis;

  constructor(
    private readonly analyser: FrameAnalyser,
    private readonly phase: number,
    private readonly signalLength: number,
  ) {
    this.frame = analyser.newAnalysis();
  }

  /** Index in the arrays of frame j (j in the range last ensured). */
  at(j: number): number {
    return j - this.first;
  }

  ensure(a: number, b: number): void {
    const nMels = this.analyser.nMels;
    if (a < this.first || a >= this.first + this.count) {
      this.first = a;
      this.count = 0;
    } else if (a > this.first) {
      const drop = a - this.first;
      this.mel.copyWithin(0, drop * nMels, this.count * nMels);
      this.db.copyWithin(0, drop * ONSET_MELS, this.count * ONSET_MELS);
      this.rms.copyWithin(0, drop, this.count);
      this.centroid.copyWithin(0, drop, this.count);
      this.onset.copyWithin(0, drop, this.count);
      this.first = a;
      this.count -= drop;
    }
    if (b - a > this.capacity) this.grow(Math.max(b - a, 2 * this.capacity, 256));
    const f = this.frame;
    for (let j = this.first + this.count; j < b; j++) {
      const i = j - this.first;
      this.analyser.analyse(this.phase + j * CONTEXT_HOP, 0, this.signalLength, f);
      this.mel.set(f.mel, i * nMels);
      this.db.set(f.db, i * ONSET_MELS);
      this.rms[i] = f.rms;
      this.centroid[i] = f.centroid;
      this.onset[i] = i > 0 ? onsetStrength(f.db, this.db.subarray((i - 1) * ONSET_MELS, i * ONSET_MELS)) : 0;
      this.count++;
    }
  }

  private grow(capacity: number): void {
    const nMels = this.analyser.nMels;
    const keep = <T extends Float32Array | Float64Array>(old: T, next: T, per: number): T => {
      next.set(old.subarray(0, this.count * per));
      return next;
    };
    this.mel = keep(this.mel, new Float32Array(capacity * nMels), nMels);
    this.db = keep(this.db, new Float64Array(capacity * ONSET_MELS), ONSET_MELS);
    this.rms = keep(this.rms, new Float32Array(capacity), 1);
    this.centroid = keep(this.centroid, new Float32Array(capacity), 1);
    this.onset = keep(this.onset, new Float32Array(capacity), 1);
    this.capacity = capacity;
  }
}

export class SlidingContexts {
  readonly sampleRate: number;
  /** Window length in samples (2 s). */
  readonly windowLength: number;
  readonly width: number;
  readonly height: number;
  /** Circles pictures per context (contextFrames - 1). */
  readonly circleFrames: number;
  /** Floats of one context: [contextFrames][3][height][width]. */
  readonly contextSize: number;
  /** Spacing of the shared grids' starts in samples (512 / phases). */
  readonly gridStep: number;

  private readonly samples: Float32Array;
  private readonly analyser: FrameAnalyser;
  /** One store per grid phase (created when first used). */
  private readonly stores: Array<FrameStore | undefined>;
  /** STFT frames of a window (centred, as melSpectrogram/clipFeatures); frames k in [kShared, kLast] come from a store. */
  private readonly windowFrames: number;
  private readonly kShared: number;
  private readonly kLast: number;
  // per-window buffers
  private readonly exact: FrameAnalysis;
  /** dB of the last two analysed frames (onset needs the previous frame's). */
  private readonly exactDb: [Float64Array, Float64Array];
  private readonly winMel: Float32Array;
  private readonly winRms: Float32Array;
  private readonly winCentroid: Float32Array;
  private readonly winOnset: Float32Array;
  private readonly opening: Float32Array;
  private readonly pictures: PictureStyle;

  constructor(samples: Float32Array, opts: SlidingContextOptions = {}) {
    this.samples = samples;
    this.sampleRate = opts.sampleRate ?? ANALYSIS_RATE;
    this.width = opts.width ?? 32;
    this.height = opts.height ?? 32;
    this.circleFrames = (opts.contextFrames ?? 4) - 1;
    this.pictures = opts.pictures ?? DEFAULT_PICTURES;
    this.contextSize = (this.circleFrames + 1) * 3 * this.width * this.height;
    this.windowLength = Math.round(CLIP_SECONDS * this.sampleRate);
    if (!slidingContextsApply(this.sampleRate, this.width)) {
      throw new RangeError(`SlidingContexts: a ${CLIP_SECONDS}-s window at ${this.sampleRate} Hz has fewer than ${this.width} frames of hop ${CONTEXT_HOP}; use contextFrames per window`);
    }
    const phases = opts.phases ?? 1;
    if (!Number.isInteger(phases) || phases < 1 || CONTEXT_HOP % phases !== 0) throw new RangeError(`SlidingContexts: phases must divide ${CONTEXT_HOP}, got ${phases}`);
    this.gridStep = CONTEXT_HOP / phases;
    this.stores = new Array<FrameStore | undefined>(phases);
    const n = this.windowLength;
    const half = CONTEXT_NFFT / 2;
    this.windowFrames = 1 + Math.floor(n / CONTEXT_HOP);
    // frames that the window's zero padding cuts are always its own, and the first exactHead
    this.kShared = Math.max(Math.ceil(half / CONTEXT_HOP), opts.exactHead ?? this.circleFrames);
    this.kLast = Math.floor((n - half) / CONTEXT_HOP);
    this.analyser = new FrameAnalyser(samples, this.sampleRate, this.height);
    this.exact = this.analyser.newAnalysis();
    this.exactDb = [new Float64Array(ONSET_MELS), new Float64Array(ONSET_MELS)];
    this.winMel = new Float32Array(this.height * this.windowFrames);
    this.winRms = new Float32Array(this.windowFrames);
    this.winCentroid = new Float32Array(this.windowFrames);
    this.winOnset = new Float32Array(this.windowFrames);
    this.opening = new Float32Array(Math.min(4096, n));
  }

  /**
   * The context of the window [start, start + windowLength) of the signal (zeros outside it):
   * Float32Array [contextFrames][3][height][width]. `start` is in samples and may be negative or
   * past the end. Equal to contextFrames(window) when `start` is a multiple of gridStep; otherwise
   * the shared frames come from the grid start nearest to it (see the module comment). Written
   * into `out` at `offset` when given.
   */
  context(start: number, out?: Float32Array, offset = 0): Float32Array {
    if (!Number.isInteger(start)) throw new RangeError(`SlidingContexts.context: start ${start} is not an integer`);
    const target = out ?? new Float32Array(this.contextSize);
    const n = this.windowLength;
    const K = this.windowFrames;
    const nMels = this.height;
    const half = CONTEXT_NFFT / 2;
    // the shared frames: from the grid start nearest to `start`, of phase p, whose frame j starts at p * step + 512 j
    const gridIndex = Math.round(start / this.gridStep);
    const phases = this.stores.length;
    const p = ((gridIndex % phases) + phases) % phases;
    const phaseStart = p * this.gridStep;
    const j0 = (gridIndex * this.gridStep - phaseStart - half) / CONTEXT_HOP; // store frame of window frame 0
    const store = (this.stores[p] ??= new FrameStore(this.analyser, phaseStart, this.samples.length));
    store.ensure(j0 + this.kShared, j0 + this.kLast + 1);

    // Stage 1: per-frame values of the window: shared interior frames, the window's own frames at the ends
    const lo = Math.max(0, start);
    const hi = Math.min(this.samples.length, start + n);
    let prevDb = this.exactDb[0]!;
    for (let k = 0; k < K; k++) {
      let db: Float64Array;
      if (k >= this.kShared && k <= this.kLast) {
        const i = store.at(j0 + k);
        for (let m = 0; m < nMels; m++) this.winMel[m * K + k] = store.mel[i * nMels + m]!;
        this.winRms[k] = store.rms[i]!;
        this.winCentroid[k] = store.centroid[i]!;
        db = store.db.subarray(i * ONSET_MELS, (i + 1) * ONSET_MELS);
        // between two shared frames the onset is shared too
        this.winOnset[k] = k > this.kShared ? store.onset[i]! : k > 0 ? onsetStrength(db, prevDb) : 0;
      } else {
        this.analyser.analyse(start + k * CONTEXT_HOP - half, lo, hi, this.exact);
        for (let m = 0; m < nMels; m++) this.winMel[m * K + k] = this.exact.mel[m]!;
        this.winRms[k] = this.exact.rms;
        this.winCentroid[k] = this.exact.centroid;
        db = this.exactDb[k % 2]!; // consecutive frames alternate buffers
        db.set(this.exact.db);
        this.winOnset[k] = k > 0 ? onsetStrength(db, prevDb) : 0;
      }
      prevDb = db;
    }

    // Stage 2: the spectrogram picture (spectrogramImage: pool frames into columns, dB to the window's max)
    const picture = this.spectrogramPicture();
    // Stage 3: the circles pictures from the window's features (circlesFrames normalises by the maxima)
    this.opening.fill(0);
    for (let i = lo; i < Math.min(hi, start + this.opening.length); i++) this.opening[i - start] = this.samples[i]!;
    const features: ClipFeatures = {
      sampleRate: this.sampleRate,
      hop: CONTEXT_HOP,
      nFrames: K,
      rms: this.winRms,
      centroid: this.winCentroid,
      onset: this.winOnset,
      harmonics: harmonicPeaks(this.opening, { sampleRate: this.sampleRate }),
    };
    const circles = trainingPictures(features, this.pictures, { width: this.width, height: this.height, frames: this.circleFrames });
    // Stage 4: frame 0 = the spectrogram copied to RGB, then the circles
    const plane = this.width * this.height;
    for (let c = 0; c < 3; c++) target.set(picture, offset + c * plane);
    target.set(circles, offset + 3 * plane);
    return target;
  }

  /** spectrogramImage's pooling and normalisation of the window's mel frames (winMel [nMels][K]). */
  private spectrogramPicture(): Float32Array {
    return melPicture(this.winMel, this.windowFrames, this.width, this.height, TOP_DB);
  }
}

/** clipFeatures' onset strength: the mean over the bands of the positive dB change. */
function onsetStrength(db: Float64Array, prevDb: Float64Array): number {
  let flux = 0;
  for (let m = 0; m < ONSET_MELS; m++) flux += Math.max(0, db[m]! - prevDb[m]!);
  return flux / ONSET_MELS;
}

type SparseRow = ReturnType<typeof sparseRows>[number];
