import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { fsError, fsReason } from '../io/fs-error.js';
import { INPUT_LIMITS, formatBytes, readInput, readTextFile } from '../io/read.js';
import { Rng } from '../rng.js';
import { CIRCLE_FRAMES } from './circles.js';
import { DEFAULT_PICTURES, parsePictureStyle, trainingPictures, type PictureStyle } from './pictures.js';
import { clipFeatures } from './features.js';
import { ANALYSIS_RATE, CLIP_SECONDS, spectrogramImage } from './spectrogram.js';
import { INSTRUMENTS, type Instrument, noteName, synthesize } from './synth.js';
import { readWav } from './wav.js';
import { augment } from './augment.js';
import { GM_FAMILIES, SYNTH_FAMILY } from './general-midi.js';
import { Soundfont } from './soundfont.js';
import type { SoundfontClipSpec } from './soundfont-plan.js';

/**
 * The training data of the neuromusical model (docs/design.md#training-data): for each clip, a sequence of
 * T + 1 pictures of 32 x 32 RGB: frame 0 is the clip's mel spectrogram (grey, copied to RGB),
 * frames 1..T are its training pictures (pictures.ts: the circles, or the motifs; T = 24 by default: analysis frames 0..23 at hop 512,
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

/** One clip to make: a synthesised note, notes played from a soundfont (soundfont-plan.ts) or a WAV file. */
export type ClipSpec =
  | { source: 'synth'; instrument: Instrument; midi: number; velocity: number; noteSeconds: number; seed: number }
  | SoundfontClipSpec
  | { source: 'file'; path: string };

export interface ClipEntry {
  index: number;
  id: string;
  split: 'train' | 'test';
  source: 'synth' | 'soundfont' | 'file';
  instrument?: Instrument;
  /** Soundfont clips: the General-MIDI program and what was played. */
  program?: number;
  kind?: 'note' | 'chord' | 'phrase';
  /** The labels (synth and soundfont clips): the MIDI notes that start in the context window, and the GM family. */
  midis?: number[];
  family?: string;
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
  /** The training pictures of frames 1..T (pictures.ts); absent in datasets made before them: circles. */
  pictures?: PictureStyle;
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  version: number;
  seed: number | string;
  count: number;
  width: number;
  height: number;
  channels: 3;
  /** T + 1 pictures per clip: frame 0 = spectrogram, 1..T = the training pictures (recipe.pictures). */
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
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      throw fsError('read the folder', d, e, 'check its permissions or give another folder to --from');
    }
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
  /** Which training pictures frames 1..T are (pictures.ts). Default circles. */
  pictures?: PictureStyle;
}

/**
 * One training sequence from mono samples: Float32Array (T + 1, 3, height, width) in [0, 1],
 * frame 0 the spectrogram image copied to RGB, frames 1..T the training pictures (circles unless `pictures` says).
 */
export function clipSequence(samples: Float32Array, opts: SequenceOptions = {}): { frames: Float32Array; harmonics: Array<[number, number]>; warnings: string[] } {
  const sampleRate = opts.sampleRate ?? ANALYSIS_RATE;
  const width = opts.width ?? 32;
  const height = opts.height ?? 32;
  const T = opts.circleFrames ?? CIRCLE_FRAMES;
  const spec = spectrogramImage(samples, { sampleRate, width, height });
  const window = samples.subarray(0, Math.round(CLIP_SECONDS * sampleRate));
  const features = clipFeatures(window, { sampleRate });
  const circles = trainingPictures(features, opts.pictures ?? DEFAULT_PICTURES, { width, height, frames: T });
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
  /** The training pictures of frames 1..T (pictures.ts). Default circles. */
  pictures?: PictureStyle;
  /** For file sources: the folder paths are shown relative to. */
  root?: string;
  /** Plays the plan's soundfont clips (default: loaded from the default soundfont when the plan has any). */
  soundfont?: Soundfont;
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
  const pictures = opts.pictures ?? DEFAULT_PICTURES;
  const width = 32;
  const height = 32;
  const perClip = (T + 1) * 3 * width * height;
  const warnings: string[] = [];
  // all clips' bytes, written in place (skipped files leave the tail unused)
  const all = new Uint8Array(perClip * opts.plan.length);
  const entries: Omit<ClipEntry, 'index' | 'split'>[] = [];
  const total = opts.plan.length;
  const soundfont = opts.soundfont ?? (opts.plan.some((c) => c.source === 'soundfont') ? await Soundfont.load() : undefined);
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
      entry = { id: `${spec.instrument}-${noteName(spec.midi)}-v${Math.round(spec.velocity * 100)}`, source: 'synth', instrument: spec.instrument, midi: spec.midi, note: noteName(spec.midi), velocity: spec.velocity, noteSeconds: spec.noteSeconds, seed: spec.seed, midis: [spec.midi], family: GM_FAMILIES[SYNTH_FAMILY[spec.instrument]] };
    } else if (spec.source === 'soundfont') {
      samples = await soundfont!.render(spec.events, { seconds: CLIP_SECONDS, ...(spec.detuneCents ? { detuneCents: spec.detuneCents } : {}), ...(spec.vibrato ? { vibrato: spec.vibrato } : {}) });
      augment(samples, ANALYSIS_RATE, spec.augmentation, new Rng(spec.seed));
      const first = spec.events[0]!;
      const notes = spec.midis.map(noteName).join('+') || 'unpitched';
      entry = { id: `gm${spec.program}-${spec.kind}-${notes}-${k}`, source: 'soundfont', program: spec.program, kind: spec.kind, midi: first.midi, note: noteName(first.midi), velocity: first.velocity / 127, seed: spec.seed, midis: spec.midis, family: GM_FAMILIES[spec.family] };
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
    const seq = clipSequence(samples, { circleFrames: T, pictures });
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
    layout: '[clip][frame][channel][y][x] row-major; value / 255; frame 0 = mel spectrogram (grey in RGB), frames 1..T = the training pictures (recipe.pictures)',
    file: FRAMES_FILE,
    compression: 'gzip',
    bytes: raw.length,
    sha256,
    recipe: { sampleRate: ANALYSIS_RATE, clipSeconds: CLIP_SECONDS, nFft: 2048, hop: 512, nMels: height, topDb: 80, circleFrames: T, circleStride: 1, heldOutFraction: heldOut, pictures },
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

/** The most frame bytes (uncompressed) a dataset may declare: the limit of a binary input. */
export const MAX_DATASET_BYTES = INPUT_LIMITS.binary;

/**
 * Check a parsed manifest.json field by field (types, ranges, the byte count against the shapes it
 * declares, the clip list against count and splits) and return it typed. `source` names the file
 * and `dir` the folder in the UserError, which ends with the fix (rebuild the dataset).
 */
export function parseDatasetManifest(value: unknown, source: string, dir: string): DatasetManifest {
  const fix = `rebuild the dataset with nca dataset --out ${dir}`;
  const fail = (field: string, got: unknown, expected: string): never => {
    throw new UserError(`${source}: "${field}" is ${show(got)}, expected ${expected}; ${fix}`);
  };
  if (!isRecord(value)) throw new UserError(`${source} is not an nca dataset manifest (not a JSON object); ${fix}`);
  const m = value;
  if (m.format !== DATASET_FORMAT) throw new UserError(`${source} is not an nca dataset manifest (format ${show(m.format)}); ${fix}`);
  if (m.version !== DATASET_VERSION) throw new UserError(`${dir} is dataset version ${show(m.version)}; this nca reads version ${DATASET_VERSION}: ${fix}`);
  const int = (field: string, v: unknown, lo: number, hi: number): number =>
    typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : fail(field, v, `an integer from ${lo} to ${hi}`);
  const num = (field: string, v: unknown, lo = -Infinity, hi = Infinity): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? v : fail(field, v, Number.isFinite(lo) || Number.isFinite(hi) ? `a number from ${lo} to ${hi}` : 'a number');
  const str = (field: string, v: unknown): string => (typeof v === 'string' ? v : fail(field, v, 'a string'));
  const exact = <T>(field: string, v: unknown, want: T): T => (v === want ? want : fail(field, v, JSON.stringify(want)));

  if (!(typeof m.seed === 'string' || (typeof m.seed === 'number' && Number.isFinite(m.seed)))) fail('seed', m.seed, 'a number or a string');
  const count = int('count', m.count, 1, MAX_DATASET_BYTES);
  const width = int('width', m.width, 1, 4096);
  const height = int('height', m.height, 1, 4096);
  const channels = exact('channels', m.channels, 3 as const);
  const framesPerClip = int('framesPerClip', m.framesPerClip, 1, 4096);
  int('contextFrames', m.contextFrames, 1, framesPerClip);
  exact('dtype', m.dtype, 'uint8' as const);
  str('layout', m.layout);
  const file = str('file', m.file);
  // a plain file name: the manifest must not reach outside its folder
  if (file === '' || file === '.' || file === '..' || basename(file) !== file || file.includes('\\')) fail('file', file, 'a file name in the dataset folder');
  exact('compression', m.compression, 'gzip' as const);
  const clipSize = framesPerClip * channels * height * width;
  const total = count * clipSize;
  if (total > MAX_DATASET_BYTES) {
    throw new UserError(`${source} declares ${count} clips of ${framesPerClip} x ${channels} x ${height} x ${width} bytes (${formatBytes(total)}), more than the ${formatBytes(MAX_DATASET_BYTES)} nca reads; ${fix} with fewer clips or frames`);
  }
  if (m.bytes !== total) fail('bytes', m.bytes, `${total} (count ${count} x framesPerClip ${framesPerClip} x channels ${channels} x height ${height} x width ${width})`);
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) fail('sha256', m.sha256, '64 hexadecimal digits');
  if (!isRecord(m.recipe)) fail('recipe', m.recipe, 'an object');
  const recipe = m.recipe as Record<string, unknown>;
  for (const key of ['sampleRate', 'clipSeconds', 'nFft', 'hop', 'nMels', 'topDb', 'circleFrames', 'circleStride', 'heldOutFraction'] as const) num(`recipe.${key}`, recipe[key]);
  parsePictureStyle(recipe.pictures, `${source}'s recipe.pictures`);
  if (!isRecord(m.splits)) fail('splits', m.splits, 'an object { "train": N, "test": N }');
  const splits = m.splits as Record<string, unknown>;
  const train = int('splits.train', splits.train, 0, count);
  const test = int('splits.test', splits.test, 0, count);
  if (train + test !== count) fail('splits', m.splits, `train + test = count (${count})`);

  if (!Array.isArray(m.clips) || m.clips.length !== count) fail('clips', Array.isArray(m.clips) ? `a list of ${m.clips.length}` : m.clips, `a list of ${count} clip entries (one per clip)`);
  let testClips = 0;
  (m.clips as unknown[]).forEach((c, i) => {
    const at = `clips[${i}]`;
    if (!isRecord(c)) return fail(at, c, 'a clip entry (an object)');
    if (c.index !== i) fail(`${at}.index`, c.index, String(i));
    str(`${at}.id`, c.id);
    if (c.split !== 'train' && c.split !== 'test') fail(`${at}.split`, c.split, '"train" or "test"');
    if (c.split === 'test') testClips++;
    if (c.source !== 'synth' && c.source !== 'soundfont' && c.source !== 'file') fail(`${at}.source`, c.source, '"synth", "soundfont" or "file"');
    if (c.midis !== undefined && !(Array.isArray(c.midis) && c.midis.every((m) => Number.isInteger(m) && m >= 0 && m <= 127))) fail(`${at}.midis`, c.midis, 'a list of MIDI notes 0..127');
    if (c.family !== undefined && !(GM_FAMILIES as readonly unknown[]).includes(c.family)) fail(`${at}.family`, c.family, `a General-MIDI family (${GM_FAMILIES.join(', ')})`);
    if (c.program !== undefined) int(`${at}.program`, c.program, 0, 127);
    if (!Array.isArray(c.harmonics) || !c.harmonics.every((h) => Array.isArray(h) && h.length === 2 && h.every((x) => typeof x === 'number' && Number.isFinite(x)))) {
      fail(`${at}.harmonics`, c.harmonics, 'a list of [frequency, amplitude] pairs');
    }
    for (const key of ['instrument', 'note', 'file', 'kind'] as const) if (c[key] !== undefined) str(`${at}.${key}`, c[key]);
    for (const key of ['midi', 'velocity', 'noteSeconds', 'seed'] as const) if (c[key] !== undefined) num(`${at}.${key}`, c[key]);
    if (c.warnings !== undefined && !(Array.isArray(c.warnings) && c.warnings.every((w) => typeof w === 'string'))) fail(`${at}.warnings`, c.warnings, 'a list of strings');
  });
  if (testClips !== test) fail('splits.test', test, `${testClips}, the number of clips whose split is "test"`);
  return m as unknown as DatasetManifest;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as the messages show it: JSON, cut short. */
function show(v: unknown): string {
  const text = v === undefined ? 'missing' : JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Open a dataset folder written by buildDataset: the manifest is checked field by field
 * (parseDatasetManifest), the frames file is read as a regular file within the binary input limit,
 * decompressed no further than the size the manifest declares, and checked against its length and
 * SHA-256. Every problem is a UserError naming the folder or file and the fix.
 */
export async function openDataset(dir: string): Promise<Dataset> {
  if (typeof dir !== 'string' || dir === '') throw new UserError('give the dataset folder (it is empty); build one with nca dataset --out DIR');
  const rebuild = `rebuild the dataset with nca dataset --out ${dir}`;
  let info;
  try {
    info = await stat(dir);
  } catch (e) {
    throw new UserError(`no dataset folder at ${dir}: ${fsReason(e)}; build one with nca dataset --out ${dir}`);
  }
  if (!info.isDirectory()) throw new UserError(`${dir} is a file, not a dataset folder; give the folder nca dataset --out wrote`);
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifestInfo = await stat(manifestPath).catch(() => null);
  if (!manifestInfo) throw new UserError(`${dir} has no ${MANIFEST_FILE}: not a dataset folder (build one with nca dataset --out ${dir})`);
  const text = await readTextFile(manifestPath, 'dataset manifest', 'json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UserError(`${manifestPath} is not valid JSON; ${rebuild}`);
  }
  const manifest = parseDatasetManifest(parsed, manifestPath, dir);
  const framesPath = join(dir, manifest.file);
  let gz: Uint8Array;
  try {
    gz = await readInput(framesPath, 'dataset frames', 'binary');
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw new UserError(`${e.message}; ${rebuild}`);
  }
  let data: Uint8Array;
  try {
    // never more than the manifest declares (+1 to tell "more" from "exactly"): no gzip bomb
    data = gunzipSync(gz, { maxOutputLength: manifest.bytes + 1 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new UserError(`${framesPath} holds more than the ${manifest.bytes} bytes the manifest declares; ${rebuild}`);
    }
    throw new UserError(`${framesPath} is damaged (not valid gzip); ${rebuild}`);
  }
  const clipSize = manifest.framesPerClip * manifest.channels * manifest.height * manifest.width;
  if (data.length !== manifest.bytes) {
    throw new UserError(`${framesPath} holds ${data.length} bytes but the manifest expects ${manifest.count} clips of ${clipSize}; ${rebuild}`);
  }
  if (createHash('sha256').update(data).digest('hex') !== manifest.sha256) {
    throw new UserError(`${framesPath} does not match the manifest's checksum; ${rebuild}`);
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
