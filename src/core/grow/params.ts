/**
 * The growing NCA's parameters (docs/grow.md; the recipe of the Growing-NCA PyTorch tutorial):
 *
 *   state   [16][H][W]: RGBA + 12 hidden channels
 *   perceive  identity, Sobel x, Sobel y per channel (fixed)            -> [48][H][W], channel 3c + k
 *   update    1x1 conv 48 -> 128, ReLU, 1x1 conv 128 -> 16 (last layer zero-initialised)
 *
 * Weights in PyTorch's Conv2d layout: `w1` [128][48][1][1], `b1` [128], `w2` [16][128][1][1], `b2` [16]
 * (8336 float32 numbers). The parameters file is JSON naming the architecture, the recipe it was trained
 * with and the weights as base64 little-endian float32, so `nca render` can recognise it (isGrowParams).
 */
import { UserError } from '../errors.js';
import type { Rng } from '../rng.js';

/** The architecture named in every parameters file. */
export const GROW_ARCHITECTURE = 'growing-nca';
export const GROW_FORMAT = 'nca-grow-params';
export const GROW_FORMAT_VERSION = 1;

/** State channels (RGBA + 12 hidden), perception channels (3 per state channel), hidden units. */
export const GROW_CHANNELS = 16;
export const PERCEPTION = 3 * GROW_CHANNELS;
export const HIDDEN = 128;
/** Channel 3 (alpha) is the alive signal: a cell lives when the max alpha of its 3 x 3 neighbourhood is > ALIVE_THRESHOLD. */
export const ALPHA = 3;
export const ALIVE_THRESHOLD = 0.1;

export interface GrowWeights {
  /** [HIDDEN][PERCEPTION] (= [128][48][1][1]) */
  w1: Float32Array;
  /** [HIDDEN] */
  b1: Float32Array;
  /** [GROW_CHANNELS][HIDDEN] (= [16][128][1][1]) */
  w2: Float32Array;
  /** [GROW_CHANNELS] */
  b2: Float32Array;
}

export const WEIGHT_SHAPES = {
  w1: [HIDDEN, PERCEPTION, 1, 1],
  b1: [HIDDEN],
  w2: [GROW_CHANNELS, HIDDEN, 1, 1],
  b2: [GROW_CHANNELS],
} as const satisfies Record<keyof GrowWeights, readonly number[]>;
export const WEIGHT_NAMES = ['w1', 'b1', 'w2', 'b2'] as const;
export type WeightName = (typeof WEIGHT_NAMES)[number];

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
export const PARAMETER_COUNT = WEIGHT_NAMES.reduce((n, k) => n + sizeOf(WEIGHT_SHAPES[k]), 0);

/**
 * The tutorial's initialisation: PyTorch's Conv2d default (weights and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * fan_in = 48) for the first layer; the last layer all zeros (the update starts as "do nothing").
 */
export function initialGrowWeights(rng: Rng): GrowWeights {
  const bound = 1 / Math.sqrt(PERCEPTION);
  return {
    w1: rng.fillUniform(new Float32Array(HIDDEN * PERCEPTION), -bound, bound),
    b1: rng.fillUniform(new Float32Array(HIDDEN), -bound, bound),
    w2: new Float32Array(GROW_CHANNELS * HIDDEN),
    b2: new Float32Array(GROW_CHANNELS),
  };
}

export function zeroWeightsLike(): GrowWeights {
  return { w1: new Float32Array(HIDDEN * PERCEPTION), b1: new Float32Array(HIDDEN), w2: new Float32Array(GROW_CHANNELS * HIDDEN), b2: new Float32Array(GROW_CHANNELS) };
}

export function cloneWeights(w: GrowWeights): GrowWeights {
  return { w1: w.w1.slice(), b1: w.b1.slice(), w2: w.w2.slice(), b2: w.b2.slice() };
}

/** What a parameters file records besides the weights. */
export interface GrowInfo {
  /** 'grow' (an image from one cell) or 'texture'. */
  kind: 'grow' | 'texture';
  /** Grid the rule was trained on (it runs on any grid). */
  width: number;
  height: number;
  /** Probability that a cell updates in a step (stochastic update). */
  fireRate: number;
  /** Free-form provenance: the target, the training settings, figures. */
  [key: string]: unknown;
}

export interface GrowParamsFile {
  format: typeof GROW_FORMAT;
  version: number;
  architecture: typeof GROW_ARCHITECTURE;
  channels: number;
  hidden: number;
  perception: string;
  info: GrowInfo;
  weights: Record<WeightName, { shape: number[]; base64: string }>;
}

function toBase64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** The file's JSON text. */
export function growParamsJson(weights: GrowWeights, info: GrowInfo): string {
  const file: GrowParamsFile = {
    format: GROW_FORMAT,
    version: GROW_FORMAT_VERSION,
    architecture: GROW_ARCHITECTURE,
    channels: GROW_CHANNELS,
    hidden: HIDDEN,
    perception: 'identity, sobel x / 8, sobel y / 8 per channel, zero padding',
    info,
    weights: Object.fromEntries(WEIGHT_NAMES.map((k) => [k, { shape: [...WEIGHT_SHAPES[k]], base64: toBase64(weights[k]) }])) as GrowParamsFile['weights'],
  };
  return JSON.stringify(file, null, 1) + '\n';
}

/** True when `json` (parsed) is a growing-NCA parameters file (whatever its validity otherwise). */
export function isGrowParams(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as { format?: unknown }).format === GROW_FORMAT;
}

/** Reads a parsed parameters file; `where` names it in errors. */
export function parseGrowParams(json: unknown, where: string): { weights: GrowWeights; info: GrowInfo } {
  if (!isGrowParams(json)) throw new UserError(`${where} is not a growing-NCA parameters file (no "format": "${GROW_FORMAT}"); make one with nca grow or nca texture`);
  const f = json as Partial<GrowParamsFile>;
  if (f.version !== GROW_FORMAT_VERSION) throw new UserError(`${where} is version ${String(f.version)} of ${GROW_FORMAT}; this nca reads version ${GROW_FORMAT_VERSION}`);
  if (f.architecture !== GROW_ARCHITECTURE || f.channels !== GROW_CHANNELS || f.hidden !== HIDDEN) {
    throw new UserError(`${where} has architecture ${String(f.architecture)} (${String(f.channels)} channels, ${String(f.hidden)} hidden); this nca plays ${GROW_ARCHITECTURE} (${GROW_CHANNELS}, ${HIDDEN})`);
  }
  const info = f.info;
  if (!info || typeof info !== 'object' || (info.kind !== 'grow' && info.kind !== 'texture')) throw new UserError(`${where}: "info.kind" must be grow or texture`);
  for (const k of ['width', 'height'] as const) {
    if (!Number.isInteger(info[k]) || info[k] < 3 || info[k] > 4096) throw new UserError(`${where}: "info.${k}" must be an integer in 3..4096`);
  }
  if (typeof info.fireRate !== 'number' || !(info.fireRate > 0 && info.fireRate <= 1)) throw new UserError(`${where}: "info.fireRate" must be a number in (0, 1]`);
  const weights = {} as GrowWeights;
  for (const k of WEIGHT_NAMES) {
    const t = f.weights?.[k];
    const n = sizeOf(WEIGHT_SHAPES[k]);
    if (!t || typeof t.base64 !== 'string') throw new UserError(`${where}: weight ${k} is missing`);
    const bytes = Buffer.from(t.base64, 'base64');
    if (bytes.length !== n * 4) throw new UserError(`${where}: weight ${k} has ${bytes.length / 4} values, expected ${n}`);
    const a = new Float32Array(n);
    new Uint8Array(a.buffer).set(bytes);
    if (!a.every(Number.isFinite)) throw new UserError(`${where}: weight ${k} holds a non-finite number`);
    weights[k] = a;
  }
  return { weights, info };
}
