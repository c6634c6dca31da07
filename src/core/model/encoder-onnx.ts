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
import onnxProto from 'onnx-proto';
import type ort from 'onnxruntime-node';
import type { NamedArrays } from './weights.js';
import { onnxSessionOptions } from '../onnx-session.js';

const { onnx } = onnxProto;

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
 * The ONNX model (opset 17) of the encoder with its weights baked in as initializers.
 * `weights` holds at least the `encoder.*` tensors of networks.ts (PyTorch names and layouts).
 */
export function buildEncoderGraph(weights: NamedArrays, config: EncoderConfig, opts: { logvar?: boolean } = {}): Uint8Array {
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const inits: InstanceType<typeof onnx.TensorProto>[] = [];
  const attr = {
    ints: (name: string, ints: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints }),
    int: (name: string, i: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i }),
    float: (name: string, f: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f }),
  };
  const node = (opType: string, input: string[], output: string[], attribute: InstanceType<typeof onnx.AttributeProto>[] = []) =>
    nodes.push(onnx.NodeProto.create({ opType, input, output, attribute, name: output[0] }));
  const init = (name: string) => {
    const t = weights.get(name);
    if (!t) throw new Error(`buildEncoderGraph: the weights have no tensor ${name}`);
    const data = t.data;
    inits.push(onnx.TensorProto.create({ name, dims: t.shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) }));
    return name;
  };
  const valueInfo = (name: string, dims: Array<number | string>) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
    });

  let x: string = encoderNames.context;
  for (let l = 1; l <= CONV_LAYERS; l++) {
    // conv3x3 stride 2 pad 1 (+ bias), OIHW weights as stored
    node('Conv', [x, init(`encoder.conv${l}.weight`), init(`encoder.conv${l}.bias`)], [`conv${l}`], [
      attr.ints('kernel_shape', [3, 3]),
      attr.ints('strides', [2, 2]),
      attr.ints('pads', [1, 1, 1, 1]),
    ]);
    // BatchNorm with the running statistics: (x - mean) / sqrt(var + eps) * gamma + beta
    node('BatchNormalization', [`conv${l}`, init(`encoder.bn${l}.weight`), init(`encoder.bn${l}.bias`), init(`encoder.bn${l}.running_mean`), init(`encoder.bn${l}.running_var`)], [`bn${l}`], [
      attr.float('epsilon', config.batchNormEps),
    ]);
    node('LeakyRelu', [`bn${l}`], [`act${l}`], [attr.float('alpha', config.leakyReluSlope)]);
    x = `act${l}`;
  }
  node('Flatten', [x], ['flat'], [attr.int('axis', 1)]);
  const head = (name: string, out: string) => node('Gemm', ['flat', init(`encoder.${name}.weight`), init(`encoder.${name}.bias`)], [out], [attr.int('transB', 1)]);
  head('fc_mu', encoderNames.mu);
  const outputs = [valueInfo(encoderNames.mu, ['batch', config.latentDim])];
  if (opts.logvar) {
    head('fc_logvar', encoderNames.logvar);
    outputs.push(valueInfo(encoderNames.logvar, ['batch', config.latentDim]));
  }
  const side = config.frameSize;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'nca',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'nca_encoder', node: nodes, initializer: inits, input: [valueInfo(encoderNames.context, ['batch', 3 * config.contextFrames, side, side])], output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
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
  return new Map([...all].filter(([name]) => name.startsWith('encoder.')));
}
