/**
 * The checkpoint file format: one binary file holding everything a run needs to continue exactly.
 *
 *   bytes 0..7    the magic "NCACKPT1"
 *   bytes 8..11   n, uint32 little-endian: the header length, padded with spaces so the tensors start at a multiple of 4
 *   12..12+n-1    the header, UTF-8 JSON: { iteration, settings, tensors: [{ name, shape }, ...] }
 *   then          each tensor of the list in order, row-major float32 little-endian, nothing after the last
 *
 * The trainer stores the model's weights under their names (weightSpecs()), Adam's moments under
 * `adam.m/<name>` and `adam.v/<name>` and the persistence state pool under `pool/...` (model-state.ts, pool.ts).
 */
import type { PictureStyle } from '../../audio/pictures.js';
import { UserError } from '../../errors.js';
import { readInput } from '../../io/read.js';
import { shapeSize, type NamedArrays } from '../weights.js';
import { exists } from './files.js';
import type { TrainSettings } from './settings.js';

const MAGIC = 'NCACKPT1';
/** Magic + the header's length. */
const PREFIX = MAGIC.length + 4;

export interface CheckpointHeader {
  /** Iterations done. */
  iteration: number;
  settings: TrainSettings;
  /** The training pictures of the run's dataset (absent: circles), for a model exported from the checkpoint. */
  pictures?: PictureStyle;
  /** The tensors stored after the header, in order. */
  tensors: Array<{ name: string; shape: number[] }>;
}

export interface Checkpoint {
  header: CheckpointHeader;
  named: NamedArrays;
}

/** The bytes of a checkpoint of `named` (stored in its order) at `iteration` of a run with `settings`. */
export function encodeCheckpoint(iteration: number, settings: TrainSettings, named: NamedArrays, pictures?: PictureStyle): Uint8Array {
  const header: CheckpointHeader = { iteration, settings, ...(pictures ? { pictures } : {}), tensors: [...named].map(([name, a]) => ({ name, shape: a.shape })) };
  const json = new TextEncoder().encode(JSON.stringify(header));
  let floats = 0;
  for (const { data } of named.values()) floats += data.length;
  const pre = PREFIX + json.length;
  const pad = (4 - (pre % 4)) % 4;
  const bytes = new Uint8Array(pre + pad + 4 * floats);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(MAGIC.length, json.length + pad, true);
  bytes.set(json, PREFIX);
  bytes.fill(0x20, pre, pre + pad); // spaces: still valid JSON when read back
  let off = pre + pad;
  for (const { data } of named.values()) {
    for (let i = 0; i < data.length; i++, off += 4) view.setFloat32(off, data[i]!, true);
  }
  return bytes;
}

/** The header and tensors of checkpoint bytes; a UserError naming `source` when they are not a checkpoint. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  const bad = (why: string) => new UserError(`${source} is not a usable checkpoint (${why}); train again without --resume`);
  if (bytes.length < PREFIX || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) throw bad('wrong magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint32(MAGIC.length, true);
  if (PREFIX + len > bytes.length) throw bad('truncated header');
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX, PREFIX + len))) as CheckpointHeader;
  } catch {
    throw bad('header is not JSON');
  }
  const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
  if (typeof header !== 'object' || header === null || !Number.isInteger(header.iteration) || header.iteration < 0) throw bad('no iteration in the header');
  if (typeof header.settings !== 'object' || header.settings === null) throw bad('no settings in the header');
  if (!Array.isArray(header.tensors) || !header.tensors.every((t) => typeof t === 'object' && t !== null && typeof t.name === 'string' && isShape(t.shape))) throw bad('no tensor list in the header');
  const named: NamedArrays = new Map();
  let off = PREFIX + len;
  for (const { name, shape } of header.tensors) {
    const n = shapeSize(shape);
    if (off + 4 * n > bytes.length) throw bad('truncated');
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++, off += 4) data[i] = view.getFloat32(off, true);
    named.set(name, { shape, data });
  }
  if (off !== bytes.length) throw bad('size mismatch');
  return { header, named };
}

/** The checkpoint at `path` (a regular file within the binary input limit); `missing` is the message when there is none. */
export async function readCheckpoint(path: string, missing: string): Promise<Checkpoint> {
  if (!(await exists(path))) throw new UserError(missing);
  return decodeCheckpoint(await readInput(path, 'checkpoint', 'binary'), path);
}

/** The tensors stored under `prefix` (e.g. 'adam.m/'), by their names without it. */
export function tensorsUnder(named: NamedArrays, prefix: string): NamedArrays {
  const out: NamedArrays = new Map();
  for (const [name, a] of named) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), a);
  return out;
}
