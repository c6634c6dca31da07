import { createHash } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Rng } from '../rng.js';
import { CIRCLE_FRAMES, circlesFrames } from './circles.js';
import { clipFeatures } from './features.js';
import { CLIP_SECONDS, spectrogramImage } from './spectrogram.js';
import { INSTRUMENTS, type Instrument, noteName, synthesize } from './synth.js';
import { ANALYSIS_RATE, readWav } from './wav.js';

/**
 * The training data of the neuromusical model (docs/design.md#training-data): for each clip, a sequence of
 * T + 1 pictures of 32 x 32 RGB: frame 0 is the clip's mel spectrogram (grey, copied to RGB),
 * frames 1..T are its circles visualisation (T = 24 by default: analysis frames 0..23 at hop 512,
 * the first 0.56 s of the clip, where the attack and the onset drift happen).
 *
 * On disk, a folder with:
 * - `manifest.json`: format "nca-dataset", version 1, the recipe, the shape, and one entry per clip
 *   (source, instrument, note, velocity, duration or file, split "train" / "test", warnings);
 * - `frames.bin.gz`: gzip of uint8 values (value / 255 = intensity), layout
 *   [clip][frame][channel][y][x] row-major, `frameShape` = [T + 1, 3, 32, 32] per clip. The
 *   circles are mostly black, so gzip shrinks the default set about 9x. The manifest records the
 *   byte length and SHA-256 of the uncompressed data, checked on reading.
 */

export const DATASET_FORMAT = 'nca-dataset';
export const DATASET_VERSION = 1;
const FRAMES_FILE = 'frames.bin.gz';
const MANIFEST_FILE = 'manifest.json';

/** One clip to make: a synthesised note or a WAV file. */
export type ClipSpec =
  | { source: 'synth'; instrument: Instrument; midi: number; velocity: number; noteSeconds: number; seed: number }
  | { source: 'file'; path: string };

export interface ClipEntry {
  index: number;
  id: string;
  split: 'train' | 'test';
  source: 'synth' | 'file';
  instrument?: Instrument;
  midi?: number;
  note?: string;
  velocity?: number;
  /** Seconds the synthesised note is held (the clip is always `clipSeconds` long). */
  noteSeconds?: number;
  seed?: number;
  /** For files: the path relative to the --from folder. */
  file?: string;
  /** The harmonics found (Hz, relative amplitude), rounded. */
  harmonics: Array<[number, number]>;
  warnings?: string[];
}

export interface DatasetRecipe {
  sampleRate: number;
  clipSeconds: number;
  nFft: number;
  hop: number;
  nMels: number;
  topDb: number;
  circleFrames: number;
  circleStride: number;
  heldOutFraction: number;
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  version: number;
  seed: number | string;
  count: number;
  width: number;
  height: number;
  channels: 3;
  /** T + 1 pictures per clip: frame 0 = spectrogram, 1..T = circles. */
  framesPerClip: number;
  /** Frames the encoder sees (0..3); the NCA starts from frame contextFrames - 1. */
  contextFrames: number;
  dtype: 'uint8';
  layout: string;
  file: string;
  compression: 'gzip';
  bytes: number;
  sha256: string;
  recipe: DatasetRecipe;
  splits: { train: number; test: number };
  clips: ClipEntry[];
}

export interface PlanOptions {
  instruments?: readonly Instrument[];
  /** MIDI notes. Default 48..95 (C3..B6): the 19 keys F4..B5 and the octaves around them. */
  notes?: readonly number[];
  velocities?: readonly number[];
  /** Note lengths drawn (seeded) per clip. Default [0.5, 1, 1.5, 2]. */
  noteSeconds?: readonly number[];
  seed?: number | string;
}

/** Default synthesised set: 8 instruments x MIDI 48..95 (C3..B6) x 3 velocities = 1152 clips. */
export function defaultPlan(opts: PlanOptions = {}): ClipSpec[] {
  const instruments = opts.instruments ?? INSTRUMENTS;
  const notes = opts.notes ?? Array.from({ length: 48 }, (_, i) => 48 + i);
  const velocities = opts.velocities ?? [0.45, 0.7, 0.95];
  const lengths = opts.noteSeconds ?? [0.5, 1, 1.5, 2];
  const rng = new Rng(opts.seed ?? 0);
  const plan: ClipSpec[] = [];
  for (const instrument of instruments) {
    for (const midi of notes) {
      for (const velocity of velocities) {
        plan.push({ source: 'synth', instrument, midi, velocity, noteSeconds: lengths[rng.int(lengths.length)]!, seed: rng.nextUint32() });
      }
    }
  }
  return plan;
}

/** The WAV files of a folder (recursively), sorted, as clip specs. */
export async function planFromFolder(dir: string): Promise<ClipSpec[]> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new UserError(`${dir}: no such folder; give a folder of .wav files to --from`);
  }
  if (!info.isDirectory()) throw new UserError(`${dir} is not a folder; give a folder of .wav files to --from`);
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.wav$/i.test(e.name)) files.push(p);
    }
  };
  await walk(dir);
  files.sort();
  if (!files.length) throw new UserError(`${dir} holds no .wav files`);
  return files.map((path) => ({ source: 'file', path }));
}

export interface SequenceOptions {
  sampleRate?: number;
  width?: number;
  height?: number;
  /** Circle pictures T. Default 24. */
  circleFrames?: number;
}

/**
 * One training sequence from mono samples: Float32Array (T + 1, 3, height, width) in [0, 1],
 * frame 0 the spectrogram image copied to RGB, frames 1..T the circles.
 */
export function clipSequence(samples: Float32Array, opts: SequenceOptions = {}): { frames: Float32Array; harmonics: Array<[number, number]>; warnings: string[] } {
  const sampleRate = opts.sampleRate ?? ANALYSIS_RATE;
  const width = opts.width ?? 32;
  const height = opts.height ?? 32;
  const T = opts.circleFrames ?? CIRCLE_FRAMES;
  const spec = spectrogramImage(samples, { sampleRate, width, height });
  const window = samples.subarray(0, Math.round(CLIP_SECONDS * sampleRate));
  const features = clipFeatures(window, { sampleRate });
  const circles = circlesFrames(features, { width, height, frames: T });
  const plane = width * height;
  const frames = new Float32Array((T + 1) * 3 * plane);
  for (let c = 0; c < 3; c++) frames.set(spec.data, c * plane);
  frames.set(circles, 3 * plane);
  const harmonics = features.harmonics.map((h): [number, number] => [Math.round(h.frequency * 10) / 10, Math.round(h.relative * 1000) / 1000]);
  return { frames, harmonics, warnings: spec.warnings };
}

export interface BuildOptions {
  outDir: string;
  plan: ClipSpec[];
  seed?: number | string;
  /** Fraction of clips held out for testing. Default 0.15. */
  heldOut?: number;
  circleFrames?: number;
  /** For file sources: the folder paths are shown relative to. */
  root?: string;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface BuildResult {
  dir: string;
  manifest: DatasetManifest;
  /** Size of frames.bin.gz + manifest.json in bytes. */
  bytesOnDisk: number;
  seconds: number;
  /** Skipped files and other problems, one line each. */
  warnings: string[];
}

/** Build a dataset folder (see the module comment). Deterministic for a plan and seed. */
export async function buildDataset(opts: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const T = opts.circleFrames ?? CIRCLE_FRAMES;
  const heldOut = opts.heldOut ?? 0.15;
  const width = 32;
  const height = 32;
  const perClip = (T + 1) * 3 * width * height;
  const warnings: string[] = [];
  // all clips' bytes, written in place (skipped files leave the tail unused)
  const all = new Uint8Array(perClip * opts.plan.length);
  const entries: Omit<ClipEntry, 'index' | 'split'>[] = [];
  const total = opts.plan.length;
  for (let k = 0; k < total; k++) {
    // yield to the event loop each clip, so Ctrl-C (the abort signal) is seen between clips
    await new Promise<void>((done) => setImmediate(done));
    opts.signal?.throwIfAborted();
    const spec = opts.plan[k]!;
    let samples: Float32Array;
    let entry: Omit<ClipEntry, 'index' | 'split' | 'harmonics'>;
    const clipWarnings: string[] = [];
    if (spec.source === 'synth') {
      const note = synthesize({ instrument: spec.instrument, midi: spec.midi, velocity: spec.velocity, duration: spec.noteSeconds, seed: spec.seed });
      samples = new Float32Array(Math.round(CLIP_SECONDS * ANALYSIS_RATE));
      samples.set(note.subarray(0, samples.length));
      entry = { id: `${spec.instrument}-${noteName(spec.midi)}-v${Math.round(spec.velocity * 100)}`, source: 'synth', instrument: spec.instrument, midi: spec.midi, note: noteName(spec.midi), velocity: spec.velocity, noteSeconds: spec.noteSeconds, seed: spec.seed };
    } else {
      const shown = opts.root ? relative(opts.root, spec.path) : spec.path;
      try {
        const decoded = await readWav(spec.path);
        samples = decoded.samples;
        clipWarnings.push(...decoded.warnings);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        warnings.push(`skipped ${shown}: ${e.message}`);
        opts.onProgress?.(k + 1, total);
        continue;
      }
      entry = { id: shown.replace(/\.wav$/i, ''), source: 'file', file: shown };
    }
    const seq = clipSequence(samples, { circleFrames: T });
    clipWarnings.push(...seq.warnings);
    const bytes = all.subarray(entries.length * perClip, (entries.length + 1) * perClip);
    for (let i = 0; i < perClip; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, seq.frames[i]!)) * 255);
    entries.push({ ...entry, harmonics: seq.harmonics, ...(clipWarnings.length ? { warnings: clipWarnings } : {}) });
    if (clipWarnings.length && spec.source === 'file') warnings.push(...clipWarnings.map((w) => `${entry.file}: ${w}`));
    opts.onProgress?.(k + 1, total);
  }
  if (!entries.length) throw new UserError('no clip could be read: nothing to build');

  // held-out split: a seeded shuffle, the first round(heldOut x N) are "test"
  const order = entries.map((_, i) => i);
  const rng = new Rng(opts.seed ?? 0);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const testCount = entries.length > 1 ? Math.round(heldOut * entries.length) : 0;
  const isTest = new Set(order.slice(0, testCount));
  const clips: ClipEntry[] = entries.map((e, index) => ({ index, split: isTest.has(index) ? 'test' : 'train', ...e }));

  const raw = all.subarray(0, perClip * entries.length);
  const sha256 = createHash('sha256').update(raw).digest('hex');
  const manifest: DatasetManifest = {
    format: DATASET_FORMAT,
    version: DATASET_VERSION,
    seed: opts.seed ?? 0,
    count: clips.length,
    width,
    height,
    channels: 3,
    framesPerClip: T + 1,
    contextFrames: 4,
    dtype: 'uint8',
    layout: '[clip][frame][channel][y][x] row-major; value / 255; frame 0 = mel spectrogram (grey in RGB), frames 1..T = circles',
    file: FRAMES_FILE,
    compression: 'gzip',
    bytes: raw.length,
    sha256,
    recipe: { sampleRate: ANALYSIS_RATE, clipSeconds: CLIP_SECONDS, nFft: 2048, hop: 512, nMels: height, topDb: 80, circleFrames: T, circleStride: 1, heldOutFraction: heldOut },
    splits: { train: clips.length - testCount, test: testCount },
    clips,
  };
  const gz = gzipSync(raw, { level: 6 });
  // The old manifest goes first, so an interrupted rebuild never pairs a manifest with other frames.
  await rm(join(opts.outDir, MANIFEST_FILE), { force: true });
  await writeFileAtomic(join(opts.outDir, FRAMES_FILE), gz);
  const manifestText = JSON.stringify(manifest, null, 1) + '\n';
  await writeFileAtomic(join(opts.outDir, MANIFEST_FILE), manifestText);
  return { dir: opts.outDir, manifest, bytesOnDisk: gz.length + Buffer.byteLength(manifestText), seconds: (performance.now() - started) / 1000, warnings };
}

export interface Dataset {
  dir: string;
  manifest: DatasetManifest;
  count: number;
  /** Values per clip: framesPerClip x 3 x height x width. */
  clipSize: number;
  /** All clips, uint8 (count, framesPerClip, 3, height, width). */
  data: Uint8Array;
  /** Clip i as floats in [0, 1], Float32Array (framesPerClip, 3, height, width); fills `out` if given. */
  clip(i: number, out?: Float32Array): Float32Array;
  /** Indices of the clips of a split. */
  indices(split: 'train' | 'test'): number[];
}

/** Open a dataset folder written by buildDataset, checking format, version, size and checksum. */
export async function openDataset(dir: string): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    throw new UserError(`${dir} has no ${MANIFEST_FILE}: not a dataset folder (build one with nca dataset --out ${dir})`);
  }
  let manifest: DatasetManifest;
  try {
    manifest = JSON.parse(text) as DatasetManifest;
  } catch {
    throw new UserError(`${join(dir, MANIFEST_FILE)} is not valid JSON; rebuild the dataset with nca dataset`);
  }
  if (manifest.format !== DATASET_FORMAT) throw new UserError(`${join(dir, MANIFEST_FILE)} is not an nca dataset manifest (format ${JSON.stringify(manifest.format)})`);
  if (manifest.version !== DATASET_VERSION) throw new UserError(`${dir} is dataset version ${manifest.version}; this nca reads version ${DATASET_VERSION}: rebuild it with nca dataset`);
  let gz: Uint8Array;
  try {
    gz = await readFile(join(dir, manifest.file));
  } catch {
    throw new UserError(`${join(dir, manifest.file)} is missing; rebuild the dataset with nca dataset`);
  }
  let data: Uint8Array;
  try {
    data = gunzipSync(gz);
  } catch {
    throw new UserError(`${join(dir, manifest.file)} is damaged (not valid gzip); rebuild the dataset`);
  }
  const clipSize = manifest.framesPerClip * manifest.channels * manifest.height * manifest.width;
  if (data.length !== manifest.bytes || data.length !== clipSize * manifest.count) {
    throw new UserError(`${join(dir, manifest.file)} holds ${data.length} bytes but the manifest expects ${manifest.count} clips of ${clipSize}; rebuild the dataset`);
  }
  if (createHash('sha256').update(data).digest('hex') !== manifest.sha256) {
    throw new UserError(`${join(dir, manifest.file)} does not match the manifest's checksum; rebuild the dataset`);
  }
  const scale = 1 / 255;
  return {
    dir,
    manifest,
    count: manifest.count,
    clipSize,
    data,
    clip(i, out) {
      if (!(i >= 0 && i < manifest.count)) throw new RangeError(`clip index ${i} is outside 0..${manifest.count - 1}`);
      const res = out ?? new Float32Array(clipSize);
      const base = i * clipSize;
      for (let k = 0; k < clipSize; k++) res[k] = data[base + k]! * scale;
      return res;
    },
    indices(split) {
      return manifest.clips.filter((c) => c.split === split).map((c) => c.index);
    },
  };
}
