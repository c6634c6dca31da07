/**
 * The model weights format: the TensorFlow.js convention of a JSON manifest of named tensors plus
 * one little-endian float32 binary.
 *
 * `<dir>/model.json`:
 * ```
 * { "format": "nca-model", "version": 1,
 *   "config": { ... },                        // architecture, protocol, provenance (see networks.ts)
 *   "weightsManifest": [ { "paths": ["weights.bin"],
 *                          "weights": [ { "name": "encoder.conv1.weight", "shape": [32, 12, 3, 3], "dtype": "float32" }, ... ] } ] }
 * ```
 * `<dir>/weights.bin`: the tensors' values back to back in manifest order, each row-major (C order,
 * last index fastest), float32 little-endian, no header and no padding. A group may list several
 * shard files; they are read as one concatenated buffer, as TensorFlow.js does. Writing always
 * produces one group with one file.
 */
import { existsSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, join } from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readInput } from '../io/read.js';

export const MODEL_FORMAT = 'nca-model';
export const MODEL_VERSION = 1;
export const MANIFEST_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

/** One tensor's values: `data` is row-major with `shape` (an empty shape is a scalar). */
export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/** Tensors by name, in the order they are (or were) stored. */
export type NamedArrays = Map<string, NamedArray>;

/** A JSON object (the manifest's `config`, interpreted by networks.ts). */
export type JsonObject = Record<string, unknown>;

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
}

interface WeightsGroup {
  paths: string[];
  weights: WeightEntry[];
}

interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: number;
  config: JsonObject;
  weightsManifest: WeightsGroup[];
}

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Write `<dir>/weights.bin` then `<dir>/model.json`, each atomically (temp file + rename; the
 * folder is created if needed). Tensors are stored in the map's iteration order.
 */
export async function saveWeights(dir: string, config: JsonObject, named: NamedArrays): Promise<void> {
  const entries: WeightEntry[] = [];
  let total = 0;
  for (const [name, { shape, data }] of named) {
    if (data.length !== shapeSize(shape)) {
      throw new Error(`tensor ${name} has ${data.length} values but shape [${shape.join(', ')}]`);
    }
    entries.push({ name, shape: [...shape], dtype: 'float32' });
    total += data.length;
  }
  const bytes = new Uint8Array(total * 4);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const { data } of named.values()) {
    if (endianness() === 'LE') {
      bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(offset + 4 * i, data[i]!, true);
    }
    offset += data.byteLength;
  }
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    config,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: entries }],
  };
  // The binary first: a model.json is never newer than the weights it describes.
  await writeFileAtomic(join(dir, WEIGHTS_FILE), bytes);
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + '\n');
}

/**
 * Read and validate a model folder. Every problem (missing or unreadable file, malformed manifest,
 * a binary of the wrong size, a NaN or infinity) is a UserError naming the file and the fix.
 */
export async function loadWeights(dir: string): Promise<{ config: JsonObject; tensors: NamedArrays }> {
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifest = parseManifest(await readModelFile(manifestPath, dir, 'utf8'), manifestPath);
  const tensors: NamedArrays = new Map();
  for (const group of manifest.weightsManifest) {
    const shards: Buffer[] = [];
    for (const p of group.paths) shards.push(await readModelFile(join(dir, p), dir));
    const binName = group.paths.map((p) => join(dir, p)).join(' + ');
    const buf = shards.length === 1 ? shards[0]! : Buffer.concat(shards);
    const expected = group.weights.reduce((n, w) => n + 4 * shapeSize(w.shape), 0);
    if (buf.length !== expected) {
      throw new UserError(
        `${binName} has ${buf.length} bytes but ${manifestPath} describes ${expected}: the files are truncated or from different models; save or train the model again`,
      );
    }
    let offset = 0;
    for (const w of group.weights) {
      const n = shapeSize(w.shape);
      const data = readFloat32LE(buf, offset, n);
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new UserError(`${binName}: tensor ${w.name} holds ${data[bad]} at index ${bad}; the model is corrupt (did training diverge?): train it again`);
      }
      tensors.set(w.name, { shape: w.shape, data });
      offset += 4 * n;
    }
  }
  return { config: manifest.config, tensors };
}

/** The whole file, or a UserError saying which file of which model folder is missing. */
async function readModelFile(path: string, dir: string): Promise<Buffer>;
async function readModelFile(path: string, dir: string, encoding: 'utf8'): Promise<string>;
async function readModelFile(path: string, dir: string, encoding?: 'utf8'): Promise<Buffer | string> {
  if (!existsSync(path)) {
    throw new UserError(`cannot read ${path} (ENOENT): a model folder holds ${MANIFEST_FILE} and ${WEIGHTS_FILE}; pass --model DIR with one (nca train writes it) or restore ${dir}`);
  }
  const bytes = await readInput(path, 'model file', encoding ? 'json' : 'binary');
  return encoding ? bytes.toString(encoding) : bytes;
}

/** `n` float32 values from `buf` at byte `offset`, little-endian, in a fresh aligned array. */
function readFloat32LE(buf: Buffer, offset: number, n: number): Float32Array {
  if (endianness() === 'LE') {
    const start = buf.byteOffset + offset;
    return new Float32Array(buf.buffer.slice(start, start + 4 * n));
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(offset + 4 * i);
  return out;
}

function parseManifest(text: string, source: string): ModelManifest {
  const fail = (what: string): never => {
    throw new UserError(`${source} ${what}; expected an nca model manifest (nca train writes one): pass --model DIR with a valid model`);
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return fail('is not valid JSON');
  }
  if (!isObject(data)) return fail('is not a JSON object');
  if (data.format !== MODEL_FORMAT) return fail(`has format ${JSON.stringify(data.format)}, not "${MODEL_FORMAT}"`);
  if (data.version !== MODEL_VERSION) {
    throw new UserError(`${source} has version ${JSON.stringify(data.version)}; this nca reads version ${MODEL_VERSION}: upgrade nca or train the model again`);
  }
  if (!isObject(data.config)) return fail('has no "config" object');
  const groups = data.weightsManifest;
  if (!Array.isArray(groups) || groups.length === 0) return fail('has no "weightsManifest" array');
  const seen = new Set<string>();
  const weightsManifest: WeightsGroup[] = groups.map((g: unknown, gi): WeightsGroup => {
    const at = `weightsManifest[${gi}]`;
    if (!isObject(g)) return fail(`has a ${at} that is not an object`);
    const { paths, weights } = g;
    if (!Array.isArray(paths) || paths.length === 0) return fail(`has no ${at}.paths`);
    for (const p of paths) {
      // Plain file names only: a manifest must not reach outside its folder.
      if (typeof p !== 'string' || p === '' || p === '.' || p === '..' || basename(p) !== p || p.includes('\\')) {
        return fail(`has ${at}.paths entry ${JSON.stringify(p)}, not a file name in the model folder`);
      }
    }
    if (!Array.isArray(weights)) return fail(`has no ${at}.weights array`);
    const entries = weights.map((w: unknown, wi): WeightEntry => {
      const wat = `${at}.weights[${wi}]`;
      if (!isObject(w) || typeof w.name !== 'string' || w.name === '') return fail(`has a ${wat} without a name`);
      if (seen.has(w.name)) return fail(`names tensor ${w.name} twice`);
      seen.add(w.name);
      if (!Array.isArray(w.shape) || !w.shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0)) {
        return fail(`has tensor ${w.name} with shape ${JSON.stringify(w.shape)}, not a list of sizes`);
      }
      if (w.dtype !== 'float32') return fail(`has tensor ${w.name} of dtype ${JSON.stringify(w.dtype)}; nca models are float32`);
      return { name: w.name, shape: w.shape as number[], dtype: 'float32' };
    });
    return { paths: paths as string[], weights: entries };
  });
  return { format: MODEL_FORMAT, version: MODEL_VERSION, config: data.config, weightsManifest };
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
