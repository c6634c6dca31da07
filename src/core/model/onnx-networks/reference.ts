/**
 * The same forward + backward runs as the onnxruntime graphs of this folder, by tfjs autodiff
 * through networks.ts's forward functions: the reference the graphs are tested against, and the
 * slow path the bench compares them with. Results have the shapes of the onnxruntime ones.
 *
 * The convolutions are `convs` when given (training passes fast-convs.ts's im2col ones), else
 * tf.conv2d / tf.conv2dTranspose.
 */
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { decoderForward, encoderForward, hypernetworkForward, type ConvOps, type ModelConfig, type Weights } from '../networks.js';
import type { Tf } from '../tf.js';
import type { NamedArrays } from '../weights.js';
import { DECODER_WEIGHTS } from './decoder.js';
import { ENCODER_WEIGHTS, type EncoderTrainResult } from './encoder.js';
import type { NetworkResult } from './graph.js';
import { HYPER_WEIGHTS } from './hypernetwork.js';

/**
 * Output of `forward(weights, input)` and the gradients of L = sum(output * gradOutput) with respect
 * to the input (as `inputName`) and every weight of `names`; `named` may hold more tensors (fed as constants).
 */
function autodiff(tf: Tf, named: NamedArrays, names: readonly string[], input: Tensor, gradOutput: Tensor, inputName: string, forward: (weights: Weights, input: Tensor) => Tensor): NetworkResult {
  const weightTensors = names.map((name) => tensorOf(tf, named, name));
  const weightsOf = (xs: Tensor[]): Weights => Object.fromEntries(names.map((name, i) => [name, xs[i]!]));
  try {
    const output = forward(weightsOf(weightTensors), input);
    const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(forward(weightsOf(xs.slice(1)), xs[0]!), gradOutput)))([input, ...weightTensors]);
    const result = { output: read(output), grads: new Map([inputName, ...names].map((name, i) => [name, read(grads[i]!)])) };
    tf.dispose([output, ...grads]);
    return result;
  } finally {
    tf.dispose([...weightTensors, input, gradOutput]);
  }
}

function tensorOf(tf: Tf, named: NamedArrays, name: string): Tensor {
  const t = named.get(name);
  if (!t) throw new RangeError(`the weights have no tensor ${name}`);
  return tf.tensor(t.data, t.shape, 'float32');
}

const read = (t: Tensor): Float32Array => new Float32Array(t.dataSync());

/** hypernetworkForward of z [batch][64] and, given dL/dparams [batch][4640], dL/dz and every hyper.* gradient. */
export function tfjsHypernetworkTrain(tf: Tf, named: NamedArrays, config: ModelConfig, z: Float32Array, batch: number, gradParams: Float32Array): NetworkResult {
  return autodiff(tf, named, HYPER_WEIGHTS.map((w) => w.name), tf.tensor2d(z, [batch, z.length / batch]), tf.tensor2d(gradParams, [batch, gradParams.length / batch]), 'z', (w, x) =>
    hypernetworkForward(tf, w, config, x as Tensor2D),
  );
}

/** decoderForward of z [batch][64] and, given dL/dstate [batch][16][32][32], dL/dz and every decoder.* gradient. */
export function tfjsDecoderTrain(tf: Tf, named: NamedArrays, config: ModelConfig, z: Float32Array, batch: number, gradState: Float32Array, convs?: ConvOps): NetworkResult {
  const side = Math.round(Math.sqrt(gradState.length / batch / 16));
  return autodiff(tf, named, DECODER_WEIGHTS.map((w) => w.name), tf.tensor2d(z, [batch, z.length / batch]), tf.tensor4d(gradState, [batch, 16, side, side]), 'z', (w, x) =>
    decoderForward(tf, w, config, x as Tensor2D, { convs }),
  );
}

/**
 * encoderForward in training mode of context [batch][12][32][32]: mu, logvar, the batch statistics and,
 * given dL/dmu and dL/dlogvar, every trained encoder.* gradient (L = sum(mu gradMu) + sum(logvar gradLogvar)).
 */
export function tfjsEncoderTrain(
  tf: Tf,
  named: NamedArrays,
  config: ModelConfig,
  context: Float32Array,
  batch: number,
  upstream: { gradMu: Float32Array; gradLogvar: Float32Array },
  convs?: ConvOps,
): EncoderTrainResult {
  const names = ENCODER_WEIGHTS.map((w) => w.name);
  const constants: Record<string, Tensor> = {};
  for (const l of [1, 2, 3]) for (const s of ['running_mean', 'running_var']) constants[`encoder.bn${l}.${s}`] = tensorOf(tf, named, `encoder.bn${l}.${s}`);
  const weightTensors = names.map((name) => tensorOf(tf, named, name));
  const side = Math.round(Math.sqrt(context.length / batch / 12));
  const x = tf.tensor4d(context, [batch, 12, side, side]);
  const gm = tf.tensor2d(upstream.gradMu, [batch, upstream.gradMu.length / batch]);
  const gl = tf.tensor2d(upstream.gradLogvar, [batch, upstream.gradLogvar.length / batch]);
  const forward = (xs: Tensor[]) => encoderForward(tf, { ...constants, ...Object.fromEntries(names.map((name, i) => [name, xs[i]!])) }, config, x as Tensor4D, { training: true, convs });
  try {
    const out = forward(weightTensors);
    const grads = tf.grads((...xs: Tensor[]) => {
      const { mu, logvar } = forward(xs);
      return tf.add(tf.sum(tf.mul(mu, gm)), tf.sum(tf.mul(logvar, gl)));
    })(weightTensors);
    const result: EncoderTrainResult = {
      mu: read(out.mu),
      logvar: read(out.logvar),
      batchStats: out.batchStats.map((s) => ({ mean: read(s.mean), variance: read(s.variance) })),
      grads: new Map(names.map((name, i) => [name, read(grads[i]!)])),
    };
    tf.dispose([out.mu, out.logvar, ...out.batchStats.flatMap((s) => [s.mean, s.variance]), ...grads]);
    return result;
  } finally {
    tf.dispose([...weightTensors, ...Object.values(constants), x, gm, gl]);
  }
}
