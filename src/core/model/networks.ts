/**
 * The three networks of docs/design.md#the-model on TensorFlow.js: VAE encoder, hypernetwork and
 * first-frame decoder.
 *
 * Two levels:
 * - pure tfjs functions of (weights record, input tensors): `encoderForward`, `hypernetworkForward`,
 *   `decoderForward`. They work on tf.Variables too, so training reuses them under tf.grad;
 * - `NeuroModel`: numbers in, numbers out (Float32Array), tensors stay inside.
 *
 * Weights use PyTorch's names and layouts, so a port is a `load_state_dict` away:
 *
 * | name | shape | meaning |
 * |---|---|---|
 * | encoder.conv{1,2,3}.weight | [out][in][3][3] (OIHW) | conv3x3 stride 2 pad 1, 12->32->64->128 |
 * | encoder.conv{1,2,3}.bias | [out] | |
 * | encoder.bn{1,2,3}.weight / .bias | [out] | BatchNorm gamma / beta |
 * | encoder.bn{1,2,3}.running_mean / .running_var | [out] | BatchNorm statistics used at inference |
 * | encoder.fc_mu.weight, encoder.fc_logvar.weight | [64][2048] ([out][in]) | the two heads |
 * | encoder.fc_mu.bias, encoder.fc_logvar.bias | [64] | |
 * | hyper.fc1.weight | [256][64] | |
 * | hyper.ln1.weight / .bias | [256] | LayerNorm gamma / beta |
 * | hyper.fc2.weight | [256][256] | |
 * | hyper.ln2.weight / .bias | [256] | |
 * | hyper.fc3.weight | [4640][256] | |
 * | hyper.fc3.bias | [4640] | |
 * | hyper.scale | [] (scalar) | learnable output scale |
 * | decoder.fc.weight | [2048][64] | output viewed as (128, 4, 4) channel-major |
 * | decoder.fc.bias | [2048] | |
 * | decoder.deconv{1,2,3}.weight | [in][out][4][4] (IOHW, PyTorch ConvTranspose2d) | k4 stride 2 pad 1, 128->64->32->16 |
 * | decoder.deconv{1,2,3}.bias | [out] | |
 *
 * All image tensors at the boundary are NCHW (channel-major) like PyTorch; inside, tfjs works in
 * NHWC (its cpu backend has no NCHW convolutions), so inputs are transposed on the way in and out.
 */
import { parsePictureStyle, type PictureStyle } from '../audio/pictures.js';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { fsReason } from '../io/fs-error.js';
import { CHANNELS, PARAM_COUNT, type Protocol } from '../nca/params.js';
import type { Rng } from '../rng.js';
import { loadTf, type Tf } from './tf.js';
import { MANIFEST_FILE, loadWeights, saveWeights, shapeSize, type JsonObject, type NamedArrays } from './weights.js';

/** Size of the latent z. */
export const LATENT_DIM = 64;
/** Side of the training frames (the encoder's input and the decoder's output). */
export const FRAME_SIZE = 32;
/** Frames the encoder sees; its 12 input channels are frame-major: channel = 3 * frame + rgb. */
export const CONTEXT_FRAMES = 4;
/** Width of the hypernetwork's hidden layers. */
export const HYPER_HIDDEN = 256;
/** Encoder conv channels, 12 -> 32 -> 64 -> 128 (32 -> 16 -> 8 -> 4 px). */
const ENCODER_CHANNELS = [3 * CONTEXT_FRAMES, 32, 64, 128] as const;
/** Decoder transposed-conv channels, 128 -> 64 -> 32 -> 16 (4 -> 8 -> 16 -> 32 px). */
const DECODER_CHANNELS = [128, 64, 32, CHANNELS] as const;
/** Side of the 128-channel bottleneck (encoder output, decoder start). */
const BOTTLENECK = 4;
/** 128 x 4 x 4, flattened channel-major: index = c * 16 + y * 4 + x. */
const FLAT = 128 * BOTTLENECK * BOTTLENECK;
/** Visible (RGB) channels of the NCA state; the others are hidden. */
const RGB = 3;

/**
 * What model.json's "config" holds. The architecture numbers are fixed by docs/design.md and checked on
 * load; the rest of the math (epsilons, slope, hidden scale) is stored so a port can read it.
 * `protocol` (written by training: how the renderer plays the model) is "frame" or "free" when
 * present. Other keys (protocolDetails, training, ...) are kept as they are.
 */
export interface ModelConfig {
  latentDim: number;
  frameSize: number;
  contextFrames: number;
  /** NCA state channels (16). */
  channels: number;
  hyperHidden: number;
  /** Length of the hypernetwork output = the NCA parameter vector (4640). */
  paramCount: number;
  /** Added to the BatchNorm variance (PyTorch default 1e-5). */
  batchNormEps: number;
  /** Added to the LayerNorm variance (PyTorch default 1e-5). */
  layerNormEps: number;
  /** Negative slope of the encoder's LeakyReLU (0.2). */
  leakyReluSlope: number;
  /** Decoder hidden channels are tanh(x) * hiddenScale (0.1). */
  hiddenScale: number;
  /** How the renderer plays the model (absent: the renderer's default). */
  protocol?: Protocol;
  /** The training pictures the encoder's context frames 1..3 are drawn as (pictures.ts; absent: circles). */
  pictures?: PictureStyle;
  [extra: string]: unknown;
}

export const DEFAULT_CONFIG: Readonly<ModelConfig> = Object.freeze({
  latentDim: LATENT_DIM,
  frameSize: FRAME_SIZE,
  contextFrames: CONTEXT_FRAMES,
  channels: CHANNELS,
  hyperHidden: HYPER_HIDDEN,
  paramCount: PARAM_COUNT,
  batchNormEps: 1e-5,
  layerNormEps: 1e-5,
  leakyReluSlope: 0.2,
  hiddenScale: 0.1,
});

/** The render protocols a model.json's config may name. */
export const MODEL_PROTOCOLS: readonly Protocol[] = ['frame', 'free'];

/** The folder of the model shipped with nca: <package root>/fixtures/model (src/ and dist/ are both 3 levels down). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../../fixtures/model', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Weight specifications and initialisation

/** How a tensor is initialised by `createRandomModel`. */
type Init = { kind: 'uniform'; bound: number } | { kind: 'normal'; std: number } | { kind: 'constant'; value: number };

export interface WeightSpec {
  name: string;
  shape: number[];
  init: Init;
}

/** Whether a model tensor (a weightSpecs() name, or a BatchNorm statistic) belongs to the encoder. */
export function isEncoderWeight(name: string): boolean {
  return name.startsWith('encoder.');
}

/**
 * Every tensor of the model in storage order, with PyTorch's default initialisation:
 * Linear and Conv2d weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in * k * k;
 * ConvTranspose2d the same with PyTorch's fan_in = weight.size(1) * k * k = out * k * k;
 * BatchNorm gamma 1, beta 0, running mean 0, running var 1; LayerNorm gamma 1, beta 0.
 * Except (docs/design.md): hyper.fc3.weight ~ N(0, 0.02^2), hyper.fc3.bias = 0, hyper.scale = 0.1.
 */
export function weightSpecs(): WeightSpec[] {
  const specs: WeightSpec[] = [];
  const uniform = (fanIn: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(fanIn) });
  const constant = (value: number): Init => ({ kind: 'constant', value });
  const linear = (name: string, inF: number, outF: number): void => {
    specs.push({ name: `${name}.weight`, shape: [outF, inF], init: uniform(inF) });
    specs.push({ name: `${name}.bias`, shape: [outF], init: uniform(inF) });
  };
  for (let l = 1; l <= 3; l++) {
    const inC = ENCODER_CHANNELS[l - 1]!;
    const outC = ENCODER_CHANNELS[l]!;
    specs.push({ name: `encoder.conv${l}.weight`, shape: [outC, inC, 3, 3], init: uniform(inC * 9) });
    specs.push({ name: `encoder.conv${l}.bias`, shape: [outC], init: uniform(inC * 9) });
    specs.push({ name: `encoder.bn${l}.weight`, shape: [outC], init: constant(1) });
    specs.push({ name: `encoder.bn${l}.bias`, shape: [outC], init: constant(0) });
    specs.push({ name: `encoder.bn${l}.running_mean`, shape: [outC], init: constant(0) });
    specs.push({ name: `encoder.bn${l}.running_var`, shape: [outC], init: constant(1) });
  }
  linear('encoder.fc_mu', FLAT, LATENT_DIM);
  linear('encoder.fc_logvar', FLAT, LATENT_DIM);

  linear('hyper.fc1', LATENT_DIM, HYPER_HIDDEN);
  specs.push({ name: 'hyper.ln1.weight', shape: [HYPER_HIDDEN], init: constant(1) });
  specs.push({ name: 'hyper.ln1.bias', shape: [HYPER_HIDDEN], init: constant(0) });
  linear('hyper.fc2', HYPER_HIDDEN, HYPER_HIDDEN);
  specs.push({ name: 'hyper.ln2.weight', shape: [HYPER_HIDDEN], init: constant(1) });
  specs.push({ name: 'hyper.ln2.bias', shape: [HYPER_HIDDEN], init: constant(0) });
  specs.push({ name: 'hyper.fc3.weight', shape: [PARAM_COUNT, HYPER_HIDDEN], init: { kind: 'normal', std: 0.02 } });
  specs.push({ name: 'hyper.fc3.bias', shape: [PARAM_COUNT], init: constant(0) });
  specs.push({ name: 'hyper.scale', shape: [], init: constant(0.1) });

  linear('decoder.fc', LATENT_DIM, FLAT);
  for (let l = 1; l <= 3; l++) {
    const inC = DECODER_CHANNELS[l - 1]!;
    const outC = DECODER_CHANNELS[l]!;
    specs.push({ name: `decoder.deconv${l}.weight`, shape: [inC, outC, 4, 4], init: uniform(outC * 16) });
    specs.push({ name: `decoder.deconv${l}.bias`, shape: [outC], init: uniform(outC * 16) });
  }
  return specs;
}

/** Fresh arrays for every weight, drawn from `rng` in storage order (same seed -> same weights). */
export function initialWeights(rng: Rng): NamedArrays {
  const named: NamedArrays = new Map();
  for (const { name, shape, init } of weightSpecs()) {
    const data = new Float32Array(shapeSize(shape));
    if (init.kind === 'uniform') rng.fillUniform(data, -init.bound, init.bound);
    else if (init.kind === 'normal') rng.normalArray(data, 0, init.std);
    else data.fill(init.value);
    named.set(name, { shape, data });
  }
  return named;
}

// ---------------------------------------------------------------------------------------------
// Forward passes on tensors (pure functions of weights and inputs)

/** The model's tensors by name (tf.Variables are Tensors too). */
export type Weights = Readonly<Record<string, Tensor>>;

function weight<T extends Tensor>(weights: Weights, name: string): T {
  const t = weights[name];
  if (!t) throw new Error(`the model has no tensor ${name}`);
  return t as T;
}

/** x W^T + b for x [B][in], W [out][in] (PyTorch Linear). */
function linear(tf: Tf, weights: Weights, name: string, x: Tensor2D): Tensor2D {
  return tf.add<Tensor2D>(tf.matMul(x, weight<Tensor2D>(weights, `${name}.weight`), false, true), weight<Tensor1D>(weights, `${name}.bias`));
}

/** LayerNorm over the last axis of x [B][F]: (x - mean) / sqrt(var + eps) * gamma + beta, var biased. */
function layerNorm(tf: Tf, weights: Weights, name: string, x: Tensor2D, eps: number): Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add<Tensor2D>(tf.mul(normalised, weight<Tensor1D>(weights, `${name}.weight`)), weight<Tensor1D>(weights, `${name}.bias`));
}

/**
 * Replacements for the two convolutions (same math); training passes im2col versions
 * (fast-convs.ts) whose gradients are much cheaper on tfjs-cpu. Default: tf.conv2d / tf.conv2dTranspose.
 */
export interface ConvOps {
  /** conv3x3 stride 2 pad 1: x NHWC, filter HWIO -> NHWC at half the side. */
  conv3x3s2(x: Tensor4D, filter: Tensor4D): Tensor4D;
  /** Transposed conv k4 stride 2 pad 1: x NHWC, weight IOHW (PyTorch ConvTranspose2d) -> NHWC at twice the side. */
  deconv4x4s2(x: Tensor4D, weight: Tensor4D): Tensor4D;
}

export interface EncoderOutput {
  /** [B][64] */
  mu: Tensor2D;
  /** [B][64] */
  logvar: Tensor2D;
  /**
   * Training mode only: the per-channel batch mean and biased variance of each BatchNorm layer
   * (bn1, bn2, bn3), which the trainer folds into running_mean / running_var. Empty at inference.
   */
  batchStats: { mean: Tensor1D; variance: Tensor1D }[];
}

/**
 * VAE encoder: context [B][12][32][32] NCHW (4 frames x RGB, channel = 3 * frame + rgb) ->
 * mu, logvar [B][64]. Three times conv3x3 stride 2 pad 1 (+ bias), BatchNorm, LeakyReLU(0.2);
 * flatten channel-major (c, y, x) to 2048; two linear heads. BatchNorm normalises with
 * running_mean / running_var, or with the batch statistics when `training` is set.
 */
export function encoderForward(tf: Tf, weights: Weights, config: ModelConfig, context: Tensor4D, opts: { training?: boolean; convs?: ConvOps } = {}): EncoderOutput {
  return tf.tidy(() => {
    const batch = context.shape[0];
    let x = tf.transpose(context, [0, 2, 3, 1]); // NCHW -> NHWC
    const batchStats: EncoderOutput['batchStats'] = [];
    for (let l = 1; l <= 3; l++) {
      const filter = tf.transpose(weight<Tensor4D>(weights, `encoder.conv${l}.weight`), [2, 3, 1, 0]); // OIHW -> HWIO
      const conv = opts.convs ? opts.convs.conv3x3s2(x, filter) : tf.conv2d(x, filter, 2, 1);
      x = tf.add<Tensor4D>(conv, weight<Tensor1D>(weights, `encoder.conv${l}.bias`));
      let mean = weight<Tensor1D>(weights, `encoder.bn${l}.running_mean`);
      let variance = weight<Tensor1D>(weights, `encoder.bn${l}.running_var`);
      if (opts.training) {
        const moments = tf.moments(x, [0, 1, 2]);
        mean = moments.mean as Tensor1D;
        variance = moments.variance as Tensor1D;
        batchStats.push({ mean, variance });
      }
      x = tf.batchNorm(x, mean, variance, weight<Tensor1D>(weights, `encoder.bn${l}.bias`), weight<Tensor1D>(weights, `encoder.bn${l}.weight`), config.batchNormEps);
      x = tf.leakyRelu(x, config.leakyReluSlope);
    }
    const flat = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [batch, FLAT]) as Tensor2D; // back to NCHW, then (c, y, x)
    return { mu: linear(tf, weights, 'encoder.fc_mu', flat), logvar: linear(tf, weights, 'encoder.fc_logvar', flat), batchStats };
  });
}

/**
 * Hypernetwork: z [B][64] -> NCA parameters [B][4640] (w1, b1, w2, b2 as in nca/params.ts).
 * linear 64->256, LayerNorm, ReLU; linear 256->256, LayerNorm, ReLU; linear 256->4640; times the
 * scalar hyper.scale. No tanh.
 */
export function hypernetworkForward(tf: Tf, weights: Weights, config: ModelConfig, z: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    let h = tf.relu(layerNorm(tf, weights, 'hyper.ln1', linear(tf, weights, 'hyper.fc1', z), config.layerNormEps));
    h = tf.relu(layerNorm(tf, weights, 'hyper.ln2', linear(tf, weights, 'hyper.fc2', h), config.layerNormEps));
    return tf.mul<Tensor2D>(linear(tf, weights, 'hyper.fc3', h), weight<Scalar>(weights, 'hyper.scale'));
  });
}

/**
 * First-frame decoder: z [B][64] -> initial NCA state [B][16][32][32] NCHW. Linear 64->2048 viewed
 * as (128, 4, 4) channel-major; transposed conv k4 stride 2 pad 1 (+ bias) 128->64, ReLU, 64->32,
 * ReLU, 32->16; then channels 0..2 (RGB) sigmoid, channels 3..15 (hidden) tanh times hiddenScale.
 */
export function decoderForward(tf: Tf, weights: Weights, config: ModelConfig, z: Tensor2D, opts: { convs?: ConvOps } = {}): Tensor4D {
  return tf.tidy(() => {
    const batch = z.shape[0];
    const seed = tf.reshape(linear(tf, weights, 'decoder.fc', z), [batch, DECODER_CHANNELS[0], BOTTLENECK, BOTTLENECK]) as Tensor4D;
    let x = tf.transpose(seed, [0, 2, 3, 1]); // NCHW -> NHWC
    for (let l = 1; l <= 3; l++) {
      const w = weight<Tensor4D>(weights, `decoder.deconv${l}.weight`);
      const side = x.shape[1] * 2;
      x = opts.convs ? opts.convs.deconv4x4s2(x, w) : tf.conv2dTranspose(x, tf.transpose(w, [2, 3, 1, 0]), [batch, side, side, DECODER_CHANNELS[l]!], 2, 1); // IOHW -> [h][w][out][in]
      x = tf.add<Tensor4D>(x, weight<Tensor1D>(weights, `decoder.deconv${l}.bias`));
      if (l < 3) x = tf.relu(x);
    }
    // RGB channels sigmoid, hidden channels tanh x hiddenScale, chosen per channel by a 0/1 mask
    // (a split + concat on the channel axis costs ~0.1 s at batch 8 on tfjs-cpu's slow slice path)
    const isRgb = tf.tensor1d(Array.from({ length: CHANNELS }, (_, c) => (c < RGB ? 1 : 0)));
    const state = tf.add<Tensor4D>(tf.mul(tf.sigmoid(x), isRgb), tf.mul(tf.mul(tf.tanh(x), config.hiddenScale), tf.sub(1, isRgb)));
    return tf.transpose(state, [0, 3, 1, 2]); // NHWC -> NCHW
  });
}

// ---------------------------------------------------------------------------------------------
// The model object: numbers in, numbers out

/** The three networks with their weights held as tfjs tensors. Call dispose() when done. */
export class NeuroModel {
  private disposed = false;

  /** Use createRandomModel, loadModel or modelFromWeights. */
  constructor(
    readonly tf: Tf,
    readonly config: ModelConfig,
    /** The weight tensors by name (owned by the model). */
    readonly weights: Weights,
  ) {}

  /** context: Float32Array [batch][12][32][32] NCHW -> mu, logvar: Float32Array [batch][64]. */
  encode(context: Float32Array, batch: number): { mu: Float32Array; logvar: Float32Array } {
    const { tf } = this.live();
    const size = this.config.frameSize;
    checkLength('context', context, batch, [3 * this.config.contextFrames, size, size]);
    const input = tf.tensor4d(context, [batch, 3 * this.config.contextFrames, size, size]);
    try {
      const { mu, logvar } = encoderForward(tf, this.weights, this.config, input);
      return { mu: readAndDispose(mu), logvar: readAndDispose(logvar) };
    } finally {
      input.dispose();
    }
  }

  /** z: Float32Array [batch][64] -> NCA parameter vectors Float32Array [batch][4640]. */
  hypernetwork(z: Float32Array, batch: number): Float32Array {
    return this.fromLatents(z, batch, (input) => hypernetworkForward(this.tf, this.weights, this.config, input));
  }

  /** z: Float32Array [batch][64] -> initial states Float32Array [batch][16][32][32] NCHW. */
  decodeFirstFrame(z: Float32Array, batch: number): Float32Array {
    return this.fromLatents(z, batch, (input) => decoderForward(this.tf, this.weights, this.config, input));
  }

  /** Copies of every weight, in storage order. */
  namedArrays(): NamedArrays {
    this.live();
    const named: NamedArrays = new Map();
    for (const { name } of weightSpecs()) {
      const t = weight(this.weights, name);
      named.set(name, { shape: [...t.shape], data: new Float32Array(t.dataSync()) });
    }
    return named;
  }

  /** Write <dir>/model.json and <dir>/weights.bin (atomically). */
  async save(dir: string): Promise<void> {
    await saveWeights(dir, { ...this.config }, this.namedArrays());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of Object.values(this.weights)) t.dispose();
  }

  private live(): this {
    if (this.disposed) throw new Error('this NeuroModel has been disposed');
    return this;
  }

  private fromLatents(z: Float32Array, batch: number, forward: (z: Tensor2D) => Tensor): Float32Array {
    const { tf } = this.live();
    checkLength('z', z, batch, [this.config.latentDim]);
    const input = tf.tensor2d(z, [batch, this.config.latentDim]);
    try {
      return readAndDispose(forward(input));
    } finally {
      input.dispose();
    }
  }
}

function checkLength(what: string, data: Float32Array, batch: number, item: number[]): void {
  if (!Number.isInteger(batch) || batch < 1 || data.length !== batch * shapeSize(item)) {
    throw new RangeError(`${what} has ${data.length} values; expected batch ${batch} x [${item.join('][')}]`);
  }
}

/** The tensor's values as a new Float32Array; the tensor is disposed. */
function readAndDispose(t: Tensor): Float32Array {
  try {
    return new Float32Array(t.dataSync());
  } finally {
    t.dispose();
  }
}

/**
 * Check a config against the architecture this nca implements and fill in defaults for missing
 * math constants; `source` names the file in errors.
 */
export function validateConfig(config: JsonObject, source: string): ModelConfig {
  const merged: JsonObject = { ...DEFAULT_CONFIG, ...config };
  const fixed = ['latentDim', 'frameSize', 'contextFrames', 'channels', 'hyperHidden', 'paramCount'] as const;
  for (const key of fixed) {
    if (merged[key] !== DEFAULT_CONFIG[key]) {
      throw new UserError(`${source} has ${key} ${JSON.stringify(merged[key])}; this nca runs models with ${key} ${DEFAULT_CONFIG[key]}: train a model with nca train`);
    }
  }
  for (const key of ['batchNormEps', 'layerNormEps', 'leakyReluSlope', 'hiddenScale'] as const) {
    const v = merged[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new UserError(`${source} has ${key} ${JSON.stringify(v)}, expected a number >= 0: fix the config or train the model again`);
    }
  }
  if (merged.pictures !== undefined) parsePictureStyle(merged.pictures, `${source}'s config.pictures`);
  if (merged.protocol !== undefined && !(MODEL_PROTOCOLS as readonly unknown[]).includes(merged.protocol)) {
    throw new UserError(
      `${source} has protocol ${JSON.stringify(merged.protocol)}; a model's protocol is one of ${MODEL_PROTOCOLS.map((p) => JSON.stringify(p)).join(', ')} (or absent): fix the config or train the model again`,
    );
  }
  return merged as ModelConfig;
}

/** Check that `named` holds exactly the model's tensors with the right shapes. */
function validateTensors(named: NamedArrays, source: string): void {
  const specs = weightSpecs();
  for (const { name, shape } of specs) {
    const t = named.get(name);
    if (!t) throw new UserError(`${source} has no tensor ${name}: it is not an nca model of this version; train one with nca train`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new UserError(`${source}: tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]: train the model again`);
    }
  }
  if (named.size !== specs.length) {
    const known = new Set(specs.map((s) => s.name));
    const extra = [...named.keys()].filter((n) => !known.has(n));
    throw new UserError(`${source} has unknown tensors (${extra.slice(0, 3).join(', ')}): it is not an nca model of this version`);
  }
}

/** A model from weight arrays (validated; `source` names them in errors). The arrays are copied into tensors. */
export async function modelFromWeights(named: NamedArrays, config: JsonObject = {}, source = 'the model'): Promise<NeuroModel> {
  const checked = validateConfig(config, source);
  validateTensors(named, source);
  const tf = await loadTf();
  const weights: Record<string, Tensor> = {};
  for (const { name } of weightSpecs()) {
    const { shape, data } = named.get(name)!;
    weights[name] = tf.tensor(data, shape, 'float32');
  }
  return new NeuroModel(tf, checked, weights);
}

/** An untrained model with the default initialisation (see weightSpecs), drawn from `rng`. */
export async function createRandomModel(rng: Rng, config: Partial<ModelConfig> = {}): Promise<NeuroModel> {
  return modelFromWeights(initialWeights(rng), config, 'the model config');
}

/** What a model folder holds, for the messages: "model.json and weights.bin, as nca train writes them". */
const MODEL_FOLDER_HINT = `a model folder holds ${MANIFEST_FILE} and weights.bin, as nca train writes them`;

/**
 * The folder of the model to load: `dir` when given (a UserError when it is not a model folder:
 * missing, a file, or a folder without model.json), else the shipped model's folder when it has
 * one, else null (no model: callers that can do without one, such as `render --random`, fall back
 * to random NCA weights; a `dir` that was given never falls back).
 */
export async function findModel(dir?: string): Promise<string | null> {
  if (dir === undefined) return (await isFile(join(DEFAULT_MODEL_DIR, MANIFEST_FILE))) ? DEFAULT_MODEL_DIR : null;
  if (typeof dir !== 'string' || dir === '') throw new UserError(`give the model folder (it is empty); ${MODEL_FOLDER_HINT}`);
  let info;
  try {
    info = await stat(dir);
  } catch (e) {
    throw new UserError(`no model folder at ${dir}: ${fsReason(e)}; check the path (${MODEL_FOLDER_HINT})`);
  }
  if (!info.isDirectory()) throw new UserError(`${dir} is a file, not a model folder (${MODEL_FOLDER_HINT})`);
  if (!(await isFile(join(dir, MANIFEST_FILE)))) throw new UserError(`${dir} is not a model folder: it has no ${MANIFEST_FILE} (${MODEL_FOLDER_HINT})`);
  return dir;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Load the model of `dir` (<dir>/model.json + <dir>/weights.bin), or the shipped model in
 * fixtures/model when `dir` is not given. A UserError on any problem: a `dir` that is not a model
 * folder, no shipped model, a damaged file, another architecture, an unknown protocol.
 */
export async function loadModel(dir?: string): Promise<NeuroModel> {
  const folder = await findModel(dir);
  if (folder === null) throw new UserError(`no trained model at ${DEFAULT_MODEL_DIR}: train one with \`nca train\` or pass --model DIR`);
  const { config, tensors } = await loadWeights(folder);
  return modelFromWeights(tensors, config, join(folder, MANIFEST_FILE));
}
