import { readTextFile } from '../io/read.js';
import { UserError, invalidParameterError, isFloat32, requireNumber, shown } from '../errors.js';
import type { Rng } from '../rng.js';

/** Channels of the NCA state: 0..2 are RGB (pre-sigmoid), 3..15 hidden. */
export const CHANNELS = 16;
/** Conv kernel side (3x3). */
export const KERNEL = 3;
const W_SIZE = CHANNELS * CHANNELS * KERNEL * KERNEL; // 2304, OIHW
/** Length of the NCA parameter vector: w1[16][16][3][3], b1[16], w2[16][16][3][3], b2[16]. */
export const PARAM_COUNT = 2 * W_SIZE + 2 * CHANNELS; // 4640

/** Offsets of each tensor in the parameter vector (docs/design.md#the-model). */
export const PARAM_LAYOUT = {
  w1: { offset: 0, shape: [CHANNELS, CHANNELS, KERNEL, KERNEL] },
  b1: { offset: W_SIZE, shape: [CHANNELS] },
  w2: { offset: W_SIZE + CHANNELS, shape: [CHANNELS, CHANNELS, KERNEL, KERNEL] },
  b2: { offset: 2 * W_SIZE + CHANNELS, shape: [CHANNELS] },
} as const;

/** How a render feeds the state from one frame to the next. */
export type Protocol = 'frame' | 'free';

/** The 4640 floats of one NCA, split into views (no copies) of the flat vector. */
export interface NcaParams {
  /** The flat vector, in the order w1, b1, w2, b2. */
  readonly flat: Float32Array;
  /** Conv 1 weights, OIHW [16][16][3][3]. */
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  /** Conv 2 weights, OIHW [16][16][3][3]. */
  readonly w2: Float32Array;
  readonly b2: Float32Array;
}

/**
 * The NCA of a flat parameter vector: a Float32Array of PARAM_COUNT finite numbers (NaN or Infinity
 * would make every frame one colour). `name` names the vector in errors.
 */
export function ncaParams(flat: Float32Array, name = 'params'): NcaParams {
  if (!(flat instanceof Float32Array)) throw invalidParameterError(name, `a Float32Array of ${PARAM_COUNT} numbers`, flat);
  if (flat.length !== PARAM_COUNT) {
    throw new UserError(`an NCA parameter vector has ${PARAM_COUNT} numbers, not ${flat.length}`);
  }
  for (let i = 0; i < PARAM_COUNT; i++) {
    if (!Number.isFinite(flat[i]!)) throw new UserError(`${name}[${i}] is ${flat[i]}, expected a finite number (NCA weights)`);
  }
  const view = (k: keyof typeof PARAM_LAYOUT, n: number) => flat.subarray(PARAM_LAYOUT[k].offset, PARAM_LAYOUT[k].offset + n);
  return { flat, w1: view('w1', W_SIZE), b1: view('b1', CHANNELS), w2: view('w2', W_SIZE), b2: view('b2', CHANNELS) };
}

/**
 * Random NCA weights at PyTorch's default Conv2d initialisation: every weight and bias
 * ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = 16 * 3 * 3 = 144, i.e. U(-1/12, 1/12).
 * This is the "random NCA" baseline of the seed, which mostly collapses to a flat colour.
 */
export const RANDOM_PARAMS_BOUND = 1 / Math.sqrt(CHANNELS * KERNEL * KERNEL);

/** `bound` in [0, 1e6]. */
export function randomParams(rng: Rng, bound = RANDOM_PARAMS_BOUND): NcaParams {
  requireNumber('bound', bound, 0, 1e6);
  if (typeof rng !== 'object' || rng === null || typeof rng.fillUniform !== 'function') throw invalidParameterError('rng', 'an Rng', rng);
  return ncaParams(rng.fillUniform(new Float32Array(PARAM_COUNT), -bound, bound));
}

/** The parameters file format (JSON). */
export const PARAMS_FORMAT = 'nca-params';
export const PARAMS_VERSION = 1;

export interface ParamsFile {
  format: typeof PARAMS_FORMAT;
  version: number;
  /** Always 16. */
  channels: number;
  /** Human-readable layout of `params`. */
  layout: string;
  /** How to play this NCA; renders default to it. */
  protocol?: Protocol;
  /** 4640 numbers: w1 (OIHW), b1, w2 (OIHW), b2. */
  params: number[];
  /** Where the weights came from (command, seed, model...). */
  provenance?: Record<string, unknown>;
}

export const PARAMS_LAYOUT_TEXT = 'w1[16][16][3][3] (out,in,ky,kx), b1[16], w2[16][16][3][3], b2[16]';

/** Serialise with 9 significant digits: every float32 round-trips exactly. */
export function paramsToJson(params: NcaParams, extra: { protocol?: Protocol; provenance?: Record<string, unknown> } = {}): string {
  params = requireParams('params', params);
  if (extra.protocol !== undefined) requireProtocol('protocol', extra.protocol);
  const file: ParamsFile = {
    format: PARAMS_FORMAT,
    version: PARAMS_VERSION,
    channels: CHANNELS,
    layout: PARAMS_LAYOUT_TEXT,
    ...(extra.protocol ? { protocol: extra.protocol } : {}),
    ...(extra.provenance ? { provenance: extra.provenance } : {}),
    params: Array.from(params.flat, (v) => Number(v.toPrecision(9))),
  };
  return JSON.stringify(file) + '\n';
}

/** Parse and validate a parameters file's text; `source` names it in errors. */
export function parseParams(text: string, source: string): { params: NcaParams; protocol?: Protocol; provenance?: Record<string, unknown> } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UserError(`${source} is not valid JSON; expected an nca parameters file (nca random --params writes one)`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UserError(`${source} is not an nca parameters file: expected a JSON object with "format": "${PARAMS_FORMAT}"`);
  }
  const f = data as Partial<ParamsFile>;
  if (f.format !== PARAMS_FORMAT) {
    throw new UserError(`${source} has format ${JSON.stringify(f.format)}, expected "${PARAMS_FORMAT}" (is it a latent? use --latent)`);
  }
  if (f.version !== PARAMS_VERSION) throw new UserError(`${source} has version ${JSON.stringify(f.version)}; this nca reads version ${PARAMS_VERSION}`);
  if (f.channels !== undefined && f.channels !== CHANNELS) throw new UserError(`${source} has ${f.channels} channels; nca NCAs have ${CHANNELS}`);
  if (!Array.isArray(f.params)) throw new UserError(`${source} has no "params" array of ${PARAM_COUNT} numbers`);
  if (f.params.length !== PARAM_COUNT) throw new UserError(`${source} has ${f.params.length} params, expected ${PARAM_COUNT}`);
  const flat = new Float32Array(PARAM_COUNT);
  for (let i = 0; i < PARAM_COUNT; i++) {
    const v = f.params[i];
    if (!isFloat32(v)) throw new UserError(`${source}: params[${i}] is ${shown(v)}, expected a number that is finite as a float32 (|x| <= 3.4028235e38)`);
    flat[i] = v;
  }
  if (f.protocol !== undefined && f.protocol !== 'frame' && f.protocol !== 'free') {
    throw new UserError(`${source} has protocol ${JSON.stringify(f.protocol)}, expected "frame" or "free"`);
  }
  return { params: ncaParams(flat, `${source}: params`), protocol: f.protocol, provenance: f.provenance };
}

/** Checks NCA parameters given to the API (`{ flat }` of PARAM_COUNT finite numbers) and returns fresh views of them. */
export function requireParams(name: string, params: unknown): NcaParams {
  const flat = typeof params === 'object' && params !== null ? (params as Partial<NcaParams>).flat : undefined;
  if (!(flat instanceof Float32Array)) throw invalidParameterError(name, `NCA parameters ({ flat: Float32Array(${PARAM_COUNT}) }, see ncaParams)`, params);
  return ncaParams(flat, `${name}.flat`);
}

/** A protocol name: 'frame' or 'free'. */
export function requireProtocol(name: string, value: unknown): Protocol {
  if (value !== 'frame' && value !== 'free') throw invalidParameterError(name, 'one of frame, free', value);
  return value;
}

export async function loadParams(path: string): Promise<ReturnType<typeof parseParams>> {
  return parseParams(await readTextFile(path, 'parameters file'), path);
}
