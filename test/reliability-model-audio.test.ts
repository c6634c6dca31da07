/**
 * Issue 11, the model, the dataset and the audio inputs: every hostile input gets one clear
 * UserError (or an honest warning), never a TypeError deep inside, a silent fallback or a wrong
 * label. Bad manifests, model folders and WAV files are written here with small writers.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../src/core/audio/dataset.js';
import { midiToHz, noteName, parseNote } from '../src/core/audio/synth.js';
import { decodeWav, readWav } from '../src/core/audio/wav.js';
import { UserError } from '../src/core/errors.js';
import { evaluate } from '../src/core/model/eval.js';
import { createRandomModel, loadModel, type NeuroModel } from '../src/core/model/networks.js';
import { train } from '../src/core/model/train.js';
import { Rng } from '../src/core/rng.js';
import { hasModel, loadLatentModel } from '../src/commands/model-option.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'nca.js');
const nca = (args: string[], cwd: string) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });

/** The rejection of a promise (or null when it resolves). */
async function failure(p: Promise<unknown>): Promise<Error | null> {
  return p.then(
    () => null,
    (e: unknown) => e as Error,
  );
}

/** A UserError of one line whose message matches every pattern. */
function expectUserError(e: unknown, ...patterns: RegExp[]): void {
  expect(e).toBeInstanceOf(UserError);
  const message = (e as Error).message;
  expect(message).not.toContain('\n');
  for (const p of patterns) expect(message).toMatch(p);
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nca-reliability-model-audio-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// A dataset folder written by hand: manifest.json + frames.bin.gz, as buildDataset writes them.

interface DatasetShape {
  count?: number;
  /** Frames per clip (nca dataset --frames T makes T + 1). */
  framesPerClip?: number;
  side?: number;
}

function datasetFiles(shape: DatasetShape = {}): { manifest: Record<string, any>; raw: Uint8Array } {
  const count = shape.count ?? 2;
  const F = shape.framesPerClip ?? 25;
  const side = shape.side ?? 32;
  const raw = new Uint8Array(count * F * 3 * side * side);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) & 0xff;
  const clips = Array.from({ length: count }, (_, index) => ({
    index,
    split: index === 0 ? 'test' : 'train',
    id: `piano-A4-v${index}`,
    source: 'synth',
    instrument: 'piano',
    midi: 69,
    note: 'A4',
    velocity: 0.8,
    noteSeconds: 1,
    seed: index,
    harmonics: [[440, 1]],
  }));
  const manifest = {
    format: 'nca-dataset',
    version: 1,
    seed: 0,
    count,
    width: side,
    height: side,
    channels: 3,
    framesPerClip: F,
    contextFrames: 4,
    dtype: 'uint8',
    layout: '[clip][frame][channel][y][x] row-major; value / 255',
    file: 'frames.bin.gz',
    compression: 'gzip',
    bytes: raw.length,
    sha256: createHash('sha256').update(raw).digest('hex'),
    recipe: { sampleRate: 22050, clipSeconds: 2, nFft: 2048, hop: 512, nMels: side, topDb: 80, circleFrames: F - 1, circleStride: 1, heldOutFraction: 0.5 },
    splits: { train: count - 1, test: 1 },
    clips,
  };
  return { manifest, raw };
}

/** Write a dataset folder; `edit` changes the manifest (and may return other frame bytes to write, uncompressed). */
async function writeDataset(name: string, shape: DatasetShape = {}, edit?: (m: Record<string, any>) => void, frames?: Uint8Array): Promise<string> {
  const dir = join(root, 'datasets', name);
  await mkdir(dir, { recursive: true });
  const { manifest, raw } = datasetFiles(shape);
  edit?.(manifest);
  await writeFile(join(dir, 'frames.bin.gz'), gzipSync(frames ?? raw));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

describe('dataset manifests are validated in one place when opened', () => {
  it('a valid hand-written dataset opens', async () => {
    const ds = await openDataset(await writeDataset('valid'));
    expect(ds.count).toBe(2);
    expect(ds.indices('test')).toEqual([0]);
  });

  const bad: Array<[string, (m: Record<string, any>) => void, RegExp[]]> = [
    ['"clips": 3', (m) => (m.clips = 3), [/"clips" is 3, expected a list of 2 clip entries/, /rebuild the dataset with nca dataset --out /]],
    ['a count given as a string', (m) => (m.count = '2'), [/"count" is "2", expected an integer/]],
    ['a negative framesPerClip', (m) => (m.framesPerClip = -1), [/"framesPerClip" is -1, expected an integer from 1/]],
    ['a fractional width', (m) => (m.width = 31.5), [/"width" is 31\.5/]],
    ['4 channels', (m) => (m.channels = 4), [/"channels" is 4, expected 3/]],
    ['bytes that do not match the shapes', (m) => (m.bytes = 12), [/"bytes" is 12, expected 153600 \(count 2 x framesPerClip 25 x channels 3 x height 32 x width 32\)/]],
    ['a frames file outside the folder', (m) => (m.file = '../../etc/passwd'), [/"file" is "\.\.\/\.\.\/etc\/passwd", expected a file name in the dataset folder/]],
    ['a clip without a split', (m) => delete m.clips[1].split, [/"clips\[1\]\.split" is missing, expected "train" or "test"/]],
    ['clips out of order', (m) => (m.clips[0].index = 1), [/"clips\[0\]\.index" is 1, expected 0/]],
    ['splits that do not add up', (m) => (m.splits = { train: 5, test: 1 }), [/"splits\.train" is 5|"splits" is/]],
    ['harmonics that are not pairs', (m) => (m.clips[0].harmonics = 'loud'), [/"clips\[0\]\.harmonics" is "loud"/]],
    ['no recipe', (m) => delete m.recipe, [/"recipe" is missing, expected an object/]],
    ['a checksum that is not hex', (m) => (m.sha256 = null), [/"sha256" is null, expected 64 hexadecimal digits/]],
    ['more clips than the data can hold', (m) => (m.count = 1e9), [/more than the .* nca reads|"count" is 1000000000/]],
  ];

  it.each(bad)('%s is a UserError naming the manifest, the field and the fix', async (name, edit, patterns) => {
    const dir = await writeDataset(name.replace(/\W+/g, '-'), {}, edit);
    expectUserError(await failure(openDataset(dir)), new RegExp(`${join(dir, 'manifest.json').replace(/[.\\/]/g, '\\$&')}`), ...patterns);
  });

  it('a frames file that inflates past the declared size is refused without inflating it all (a gzip bomb)', async () => {
    const dir = await writeDataset('bomb', {}, undefined, new Uint8Array(4 * 1024 * 1024));
    expectUserError(await failure(openDataset(dir)), /holds more than the 153600 bytes the manifest declares; rebuild the dataset/);
  });

  it('a missing folder, a file and a folder without manifest are told apart', async () => {
    expectUserError(await failure(openDataset(join(root, 'no-such-dataset'))), /no dataset folder at .*no-such-dataset: no such file or folder; build one with nca dataset --out/);
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    expectUserError(await failure(openDataset(file)), /a-file is a file, not a dataset folder/);
  });
});

describe('a dataset must fit the model: checked at the entry of train and eval', () => {
  let model: NeuroModel;
  beforeAll(async () => {
    model = await createRandomModel(new Rng(11));
  });
  afterAll(() => model.dispose());

  it('nca eval on a dataset made with --frames 4 names the dataset, the field and the fix', async () => {
    const dir = await writeDataset('frames-4', { framesPerClip: 5 });
    const data = await openDataset(dir);
    const e = await failure(evaluate({ model, data, n: 1, steps: 2, sizes: [8] }));
    expectUserError(e, new RegExp(`dataset ${dir.replace(/[.\\/]/g, '\\$&')} was made with --frames 4 \\(5 frames per clip\\)`), /needs 12 \(4 context \+ 8 predicted\)/, /rebuild it with nca dataset --frames 11/);
  });

  it('eval on frames of another size says the sizes', async () => {
    const data = await openDataset(await writeDataset('side-16', { side: 16 }));
    expectUserError(await failure(evaluate({ model, data, n: 1, steps: 2, sizes: [8] })), /has frames of 16x16 .* the model reads 32x32: rebuild it with nca dataset/);
  });

  it('train with steps past the clips says how many frames they need', async () => {
    const data = await openDataset(await writeDataset('frames-4-train', { framesPerClip: 5 }));
    const e = await failure(train({ data, outDir: join(root, 'never-written'), iters: 1, steps: 21 }));
    expectUserError(e, /made with --frames 4 \(5 frames per clip\), but training with steps 21 needs 25/, /--frames 24 \(or more\) or lower --steps/);
    expect(existsSync(join(root, 'never-written'))).toBe(false);
  });

  it('train from a dataset made for other context frames is refused', async () => {
    const data = await openDataset(await writeDataset('context-3', {}, (m) => (m.contextFrames = 3)));
    expectUserError(await failure(train({ data, outDir: join(root, 'never-written'), iters: 1 })), /made for 3 context frames .* the model reads 4/);
  });
});

// ---------------------------------------------------------------------------------------------
// Model folders

describe('--model: a folder that is given must be a model', () => {
  let modelDir: string;
  beforeAll(async () => {
    modelDir = join(root, 'model');
    const model = await createRandomModel(new Rng(12), { protocol: 'free' });
    await model.save(modelDir);
    model.dispose();
  });

  it('a missing folder, a file, and a folder without model.json are UserErrors with the fix, never random weights', async () => {
    const typo = join(root, 'nonexistent', 'typo');
    expectUserError(await failure(hasModel(typo)), /no model folder at .*typo: no such file or folder; check the path \(a model folder holds model\.json and weights\.bin/);
    expectUserError(await failure(loadModel(typo)), /no model folder at .*typo/);
    const file = join(root, 'model-file');
    await writeFile(file, '{}');
    expectUserError(await failure(hasModel(file)), /model-file is a file, not a model folder/);
    const empty = join(root, 'empty-folder');
    await mkdir(empty, { recursive: true });
    expectUserError(await failure(hasModel(empty)), /empty-folder is not a model folder: it has no model\.json/);
    expectUserError(await failure(hasModel('')), /give the model folder \(it is empty\)/);
  });

  it('a model folder is found; without --model the shipped model decides', async () => {
    await expect(hasModel(modelDir)).resolves.toBe(true);
    await expect(hasModel()).resolves.toBe(existsSync(join(ROOT, 'fixtures', 'model', 'model.json')));
    const { model, protocol } = await loadLatentModel(modelDir);
    expect(protocol).toBe('free');
    model.dispose();
  });

  it('a bogus protocol in model.json is refused on load, naming the file, the value and the accepted ones', async () => {
    const dir = join(root, 'model-bogus-protocol');
    await mkdir(dir, { recursive: true });
    const manifest = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
    manifest.config.protocol = 'bogus';
    await writeFile(join(dir, 'model.json'), JSON.stringify(manifest));
    await writeFile(join(dir, 'weights.bin'), await readFile(join(modelDir, 'weights.bin')));
    const e = await failure(loadModel(dir));
    expectUserError(e, /model-bogus-protocol\/model\.json has protocol "bogus"; a model's protocol is one of "frame", "free"/);
    expectUserError(await failure(loadLatentModel(dir)), /protocol "bogus"/);
    await expect(createRandomModel(new Rng(1), { protocol: 'sideways' as never })).rejects.toThrow(/protocol "sideways"/);
  });
});

// ---------------------------------------------------------------------------------------------
// Notes

describe('note names are strict; fractional MIDI is labelled with its cents', () => {
  it.each(['A#b4', 'Ebb5', 'C##4', 'A10', 'A-2', 'Bb', 'A4+51c', 'A4+5', 'G#9'])('refuses %j', (text) => {
    expect(() => parseNote(text)).toThrow(UserError);
    expect(() => parseNote(text)).toThrow(/for --note/);
  });

  it.each([
    ['A4', 69],
    ['Bb3', 58],
    ['As4', 70],
    ['C-1', 0],
    ['G9', 127],
    ['A4+50c', 69.5],
    ['C#5-25c', 72.75],
    ['69.5', 69.5],
  ])('reads %j as MIDI %d', (text, midi) => expect(parseNote(text)).toBe(midi));

  it('MIDI 69.5 is labelled by the pitch that sounds, and the label reads back', () => {
    expect(noteName(69.5)).toBe('A#4-50c');
    expect(noteName(69.25)).toBe('A4+25c');
    expect(noteName(69)).toBe('A4');
    expect(parseNote(noteName(69.5))).toBe(69.5);
    expect(midiToHz(parseNote(noteName(69.5)))).toBeCloseTo(452.89, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// WAV files, written with a small header writer

function wavBytes(opts: { formatTag?: number; channels: number; sampleRate?: number; bits: number; data: Uint8Array }): Uint8Array {
  const sampleRate = opts.sampleRate ?? 22050;
  const blockAlign = (opts.channels * opts.bits) / 8;
  const out = Buffer.alloc(44 + opts.data.length);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + opts.data.length, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(opts.formatTag ?? 1, 20);
  out.writeUInt16LE(opts.channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(Math.min(0xffffffff, sampleRate * blockAlign), 28);
  out.writeUInt16LE(blockAlign & 0xffff, 32);
  out.writeUInt16LE(opts.bits, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(opts.data.length, 40);
  out.set(opts.data, 44);
  return out;
}

const floats = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

describe('WAV inputs', () => {
  it('a 65535-channel WAV reports the channel count and the limit, not an empty data chunk', () => {
    const bytes = wavBytes({ channels: 65535, bits: 16, data: new Uint8Array(1000) });
    let e: unknown = null;
    try {
      decodeWav(bytes, { name: 'wide.wav' });
    } catch (err) {
      e = err;
    }
    expectUserError(e, /wide\.wav declares 65535 channels; nca reads 1 to 256 channels/);
  });

  it('data shorter than one sample frame is said as such', () => {
    expect(() => decodeWav(wavBytes({ channels: 2, bits: 16, data: new Uint8Array(3) }), { name: 'short.wav' })).toThrow(/short\.wav holds 3 bytes of audio, less than one sample frame \(4 bytes for 2 channel/);
  });

  it('NaN float samples are read as silence with a warning that counts them', () => {
    const nan = decodeWav(wavBytes({ formatTag: 3, channels: 1, bits: 32, data: floats(Array(1000).fill(NaN)) }), { name: 'nan.wav', targetRate: null });
    expect(nan.warnings).toEqual(['nan.wav has 1000 of 1000 float samples that are not finite numbers (NaN or infinity); read them as 0 (silence)']);
    expect(nan.samples.every((v) => v === 0)).toBe(true);
    // one bad channel of a stereo frame: the other channel still counts
    const stereo = decodeWav(wavBytes({ formatTag: 3, channels: 2, bits: 32, data: floats([0.5, Infinity, 0.25, 0.25]) }), { name: 'half.wav', targetRate: null });
    expect(Array.from(stereo.samples)).toEqual([0.25, 0.25]);
    expect(stereo.warnings[0]).toMatch(/half\.wav has 1 of 4 float samples that are not finite/);
    // 64-bit floats take the general path
    const f64 = decodeWav(wavBytes({ formatTag: 3, channels: 1, bits: 64, data: new Uint8Array(new Float64Array([0.5, -Infinity, NaN]).buffer) }), { name: 'f64.wav', targetRate: null });
    expect(Array.from(f64.samples)).toEqual([0.5, 0, 0]);
    expect(f64.warnings[0]).toMatch(/2 of 3 float samples/);
  });

  it('with strict, non-finite samples are refused', () => {
    expect(() => decodeWav(wavBytes({ formatTag: 3, channels: 1, bits: 32, data: floats([0, NaN]) }), { name: 'nan.wav', strict: true })).toThrow(/nan\.wav has 1 of 2 float samples that are not finite .*leave out --strict/);
  });

  it('readWav reads through readInput: a folder is named as a WAV file that cannot be read', async () => {
    expectUserError(await failure(readWav(root)), /cannot read WAV file .*: it is a folder, not a file/);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: the CLI's exit code and one-line message

describe('nca end to end', () => {
  it('render --random --model /nonexistent/typo is an error (exit 2), not random NCA weights', async () => {
    const cwd = join(root, 'cli');
    await mkdir(cwd, { recursive: true });
    const r = nca(['render', '--random', '--model', '/nonexistent/typo', '--steps', '2', '--size', '8', '--out', 'x.png'], cwd);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^nca: no model folder at \/nonexistent\/typo: no such file or folder/);
    expect(existsSync(join(cwd, 'x.png'))).toBe(false);
  });

  it('train on a manifest with "clips": 3 and eval on a --frames 4 dataset: exit 2 with the field and the fix', async () => {
    const cwd = join(root, 'cli');
    await mkdir(cwd, { recursive: true });
    const clips3 = await writeDataset('cli-clips-3', {}, (m) => (m.clips = 3));
    const t = nca(['train', '--data', clips3, '--out', 'm', '--iters', '1'], cwd);
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/^nca: .*manifest\.json: "clips" is 3, expected a list of 2 clip entries \(one per clip\); rebuild the dataset/);
    expect(existsSync(join(cwd, 'm'))).toBe(false);
    const frames4 = await writeDataset('cli-frames-4', { framesPerClip: 5 });
    const e = nca(['eval', '--data', frames4, '--n', '1', '--size', '8', '--steps', '2', '--no-meaning', '--no-write'], cwd);
    expect(e.status).toBe(2);
    expect(e.stderr.trim().split('\n')).toHaveLength(1);
    expect(e.stderr).toMatch(/^nca: dataset .*cli-frames-4 was made with --frames 4 .*rebuild it with nca dataset --frames 11/);
  });

  it('synth --note A#b4 is refused', async () => {
    const cwd = join(root, 'cli');
    await mkdir(cwd, { recursive: true });
    const r = nca(['synth', '--note', 'A#b4', '--out', 'n.wav'], cwd);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^nca: expected a note name like A4/);
    expect(existsSync(join(cwd, 'n.wav'))).toBe(false);
  });
});
