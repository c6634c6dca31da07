/**
 * The VAE encoder at inference on onnxruntime: the same math as `encoderForward` in networks.ts
 * (which stays the reference and the training path), about 10x faster than tfjs-cpu at the batch
 * sizes of a track.
 *
 * Graph (NCHW throughout, as PyTorch and the weights file):
 * ```
 * context [N][12][32][32]
 *   3 x { Conv 3x3 stride 2 pad 1 (+ bias) -> BatchNormalization (running_mean / running_var,
 *         epsilon = config.batchNormEps) -> LeakyRelu (alpha = config.leakyReluSlope) }   -> [N][128][4][4]
 *   Flatten (channel-major: c * 16 + y * 4 + x)                                         -> [N][2048]
 *   Gemm with fc_mu (x W^T + b)                                                          -> mu [N][64]
 *   Gemm with fc_logvar, only when asked                                                 -> logvar [N][64]
 * ```
 * The batch dimension is symbolic, so one session serves every batch size. onnxruntime folds each
 * BatchNormalization into its convolution; results agree with tfjs to float rounding (~1e-6).
 */
import { availableParallelism } from 'node:os';
import type ort from 'onnxruntime-node';
import type { NamedArrays } from './weights.js';
import { isEncoderWeight } from './networks.js';
import { onnxSessionOptions } from '../onnx-session.js';
import { GraphBuilder, float } from '../onnx-graph-writer.js';

/** What the graph needs of the model's config (ModelConfig has it). */
export interface EncoderConfig {
  contextFrames: number;
  frameSize: number;
  latentDim: number;
  batchNormEps: number;
  leakyReluSlope: number;
}

/** Names of the graph's input and outputs. */
export const encoderNames = { context: 'context', mu: 'mu', logvar: 'logvar' } as const;

const CONV_LAYERS = 3;

/**
 * The ONNX model of the encoder with its weights baked in as initializers.
 * `weights` holds at least the `encoder.*` tensors of networks.ts (PyTorch names and layouts).
 */
export function buildEncoderGraph(weights: NamedArrays, config: EncoderConfig, opts: { logvar?: boolean } = {}): Uint8Array {
  const g = new GraphBuilder();
  const weight = (name: string): string => {
    const t = weights.get(name);
    if (!t) throw new Error(`buildEncoderGraph: the weights have no tensor ${name}`);
    return g.initializer(name, t.data, t.shape);
  };
  const side = config.frameSize;
  let x = g.input(encoderNames.context, ['batch', 3 * config.contextFrames, side, side]);
  for (let l = 1; l <= CONV_LAYERS; l++) {
    // conv3x3 stride 2 pad 1 (+ bias), OIHW weights as stored
    const conv = g.op('Conv', [x, weight(`encoder.conv${l}.weight`), weight(`encoder.conv${l}.bias`)], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    // BatchNorm with the running statistics: (x - mean) / sqrt(var + eps) * gamma + beta
    const bn = g.op('BatchNormalization', [conv, weight(`encoder.bn${l}.weight`), weight(`encoder.bn${l}.bias`), weight(`encoder.bn${l}.running_mean`), weight(`encoder.bn${l}.running_var`)], { epsilon: float(config.batchNormEps) });
    x = g.op('LeakyRelu', [bn], { alpha: float(config.leakyReluSlope) });
  }
  const flat = g.op('Flatten', [x], { axis: 1 });
  const head = (name: string, out: string) => g.output(g.op('Gemm', [flat, weight(`encoder.${name}.weight`), weight(`encoder.${name}.bias`)], { transB: 1 }, out), out, ['batch', config.latentDim]);
  head('fc_mu', encoderNames.mu);
  if (opts.logvar) head('fc_logvar', encoderNames.logvar);
  return g.encode('nca_encoder');
}

export interface OnnxEncoder {
  readonly threads: number;
  /** context: Float32Array [batch][12][32][32] NCHW -> mu [batch][64] (and logvar when the encoder was made with it). */
  encode(context: Float32Array, batch: number): Promise<{ mu: Float32Array; logvar?: Float32Array }>;
  dispose(): Promise<void>;
}

export interface OnnxEncoderOptions {
  /** onnxruntime intra-op threads (default: the number of cores). Spinning is off. */
  threads?: number;
  /** Also compute logvar (default false: a latent is mu). */
  logvar?: boolean;
}

/** An onnxruntime session running the encoder of `weights`. Call dispose() when done. */
export async function createOnnxEncoder(weights: NamedArrays, config: EncoderConfig, opts: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
  return openOnnxEncoder(buildEncoderGraph(weights, config, opts), config, opts);
}

/** The same from a graph already built by buildEncoderGraph (e.g. sent to a worker thread); `opts.logvar` must match the graph. */
export async function openOnnxEncoder(graph: Uint8Array, config: Pick<EncoderConfig, 'contextFrames' | 'frameSize'>, opts: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
  const { default: runtime } = await import('onnxruntime-node');
  const threads = opts.threads ?? availableParallelism();
  const session = await runtime.InferenceSession.create(graph, onnxSessionOptions(threads));
  const per = 3 * config.contextFrames * config.frameSize * config.frameSize;
  return {
    threads,
    async encode(context, batch) {
      if (!Number.isInteger(batch) || batch < 1 || context.length !== batch * per) {
        throw new RangeError(`context has ${context.length} values; expected batch ${batch} x [${3 * config.contextFrames}][${config.frameSize}][${config.frameSize}]`);
      }
      const feeds: Record<string, ort.Tensor> = { [encoderNames.context]: new runtime.Tensor('float32', context, [batch, 3 * config.contextFrames, config.frameSize, config.frameSize]) };
      const out = await session.run(feeds);
      const mu = out[encoderNames.mu]!.data as Float32Array;
      return opts.logvar ? { mu, logvar: out[encoderNames.logvar]!.data as Float32Array } : { mu };
    },
    async dispose() {
      await session.release();
    },
  };
}

/** The encoder.* tensors of a model (e.g. `model.namedArrays()` filtered), for createOnnxEncoder. */
export function encoderWeights(all: NamedArrays): NamedArrays {
  return new Map([...all].filter(([name]) => isEncoderWeight(name)));
}
