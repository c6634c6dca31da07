/**
 * The first-frame decoder's forward and hand-derived backward as onnxruntime graphs (the four
 * GraphParts of graph.ts), with the weights as graph INPUTS. Same math as `decoderForward` in networks.ts, which stays the reference
 * (docs/onnx-networks.md).
 *
 * Forward, z [B][64] -> state [B][16][32][32] (NCHW):
 * ```
 * x0 = (z Wfc^T + bfc) viewed as [B][128][4][4]
 * u1 = convT(x0, W1) + b1    x1 = relu(u1)      [B][64][8][8]      convT = ConvTranspose k4 stride 2 pad 1,
 * u2 = convT(x1, W2) + b2    x2 = relu(u2)      [B][32][16][16]    W [in][out][4][4] (PyTorch's layout)
 * u3 = convT(x2, W3) + b3                       [B][16][32][32]
 * state = m sigmoid(u3) + (1 - m) s tanh(u3)    m = 1 on the 3 RGB channels, s = hiddenScale
 * ```
 * Backward, G = dL/dstate:
 * ```
 * du3 = G (m sig (1 - sig) + (1 - m) s (1 - tanh^2))
 * db  = sum over (b, y, x) of du
 * dx  = conv(du, W) stride 2 pad 1 (the adjoint of convT: the same weight tensor, read as Conv's [M][C][kh][kw])
 * dW[i][o][ky][kx] = sum_{b,qy,qx} x[b][i][qy][qx] du_pad[b][o][2qy + ky][2qx + kx]   (du_pad = du zero-padded by 1)
 *     = conv(du as [out][B][2h][2w], kernel x as [in][B][h][w], dilation 2, pad 1) -> [out][in][4][4], transposed
 * du2 = dx2 where u2 > 0, ... down to dx0 = conv(du1, W1), viewed as dL/d(fc output) [B][2048]
 * dWfc = df^T z      dbfc = sum_b df      dz = df Wfc
 * ```
 */
import { CHANNELS } from '../../nca/params.js';
import { FRAME_SIZE, LATENT_DIM } from '../networks.js';
import { GraphBuilder } from '../../onnx-graph-writer.js';
import { BATCH, activationSaver, allParts, gradName, openNetwork, type GraphPart, type GraphSessionOptions, type OnnxNetwork } from './graph.js';

/** What the graph needs of the model's config (ModelConfig has it). */
export interface DecoderConfig {
  hiddenScale: number;
}

/** Channels 128 -> 64 -> 32 -> 16 and the side 4 -> 8 -> 16 -> 32 of the transposed convs. */
const CHANNELS_PER_LAYER = [128, 64, 32, CHANNELS] as const;
const BOTTLENECK = 4;
const RGB = 3;
const FLAT = CHANNELS_PER_LAYER[0] * BOTTLENECK * BOTTLENECK;

/** The decoder's weights, in storage order, with their shapes: the graph inputs of the same names. */
export const DECODER_WEIGHTS: ReadonlyArray<{ name: string; shape: number[] }> = [
  { name: 'decoder.fc.weight', shape: [FLAT, LATENT_DIM] },
  { name: 'decoder.fc.bias', shape: [FLAT] },
  ...[1, 2, 3].flatMap((l) => [
    { name: `decoder.deconv${l}.weight`, shape: [CHANNELS_PER_LAYER[l - 1]!, CHANNELS_PER_LAYER[l]!, 4, 4] },
    { name: `decoder.deconv${l}.bias`, shape: [CHANNELS_PER_LAYER[l]!] },
  ]),
];

/**
 * Names of the graph's inputs and outputs besides the weights (B = the symbolic batch):
 * inputs `z` [B][64], the DECODER_WEIGHTS by name and (train and backward graphs) `gradState` [B][16][32][32];
 * outputs `state` [B][16][32][32] and (train and backward graphs) `grad.z` [B][64] and `grad.<weight>`.
 */
export const decoderNames = { z: 'z', state: 'state', gradState: 'gradState', gradZ: gradName('z') } as const;

const STATE_DIMS = [BATCH, CHANNELS, FRAME_SIZE, FRAME_SIZE];

/** One of the network's graphs (GraphPart; default `train`: forward and backward in one run). */
export function buildDecoderGraph(config: DecoderConfig, part: GraphPart = 'train'): Uint8Array {
  const g = new GraphBuilder();
  const save = activationSaver(g, part);
  const n = decoderNames;
  const w: Record<string, string> = {};
  const z = g.input(n.z, [BATCH, LATENT_DIM]);
  for (const { name, shape } of DECODER_WEIGHTS) w[name] = g.input(name, shape);
  const deconvAttrs = { kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] };

  const sideOf = (l: number) => BOTTLENECK << l; // the output side of transposed conv l
  const x0 = g.reshape(g.op('Gemm', [z, w['decoder.fc.weight']!, w['decoder.fc.bias']!], { transB: 1 }), [-1, CHANNELS_PER_LAYER[0], BOTTLENECK, BOTTLENECK]);
  const xs = [save('x0', x0, [BATCH, CHANNELS_PER_LAYER[0], BOTTLENECK, BOTTLENECK])]; // the input of each transposed conv
  let u3 = '';
  for (let l = 1; l <= 3; l++) {
    const u = g.op('ConvTranspose', [xs[l - 1]!, w[`decoder.deconv${l}.weight`]!, w[`decoder.deconv${l}.bias`]!], deconvAttrs);
    if (l < 3) xs.push(save(`x${l}`, g.op('Relu', [u]), [BATCH, CHANNELS_PER_LAYER[l]!, sideOf(l), sideOf(l)]));
    else u3 = save('u3', u, STATE_DIMS);
  }
  const mask = new Float32Array(CHANNELS).map((_, c) => (c < RGB ? 1 : 0));
  const rgb = g.floats(mask, [1, CHANNELS, 1, 1]);
  const hidden = g.floats(mask.map((m) => (1 - m) * config.hiddenScale), [1, CHANNELS, 1, 1]);
  const sig = g.op('Sigmoid', [u3]);
  const th = g.op('Tanh', [u3]);
  if (part !== 'backward') g.output(g.add(g.mul(sig, rgb), g.mul(th, hidden)), n.state, STATE_DIMS);
  if (part === 'forward' || part === 'forward-saved') return g.encode(`nca_decoder_${part}`);

  const G = g.input(n.gradState, STATE_DIMS);
  const grad = (name: string, value: string, dims: number[]) => g.output(value, gradName(name), dims);
  const one = g.floats(1);
  // d state / d u3 by channel: sig (1 - sig) on RGB, s (1 - tanh^2) on the hidden channels
  const slope = g.add(g.mul(g.mul(sig, g.sub(one, sig)), rgb), g.mul(g.sub(one, g.mul(th, th)), hidden));
  let du = g.mul(G, slope);
  for (let l = 3; l >= 1; l--) {
    const inC = CHANNELS_PER_LAYER[l - 1]!;
    const outC = CHANNELS_PER_LAYER[l]!;
    const side = BOTTLENECK << (l - 1); // the input's side
    const W = w[`decoder.deconv${l}.weight`]!;
    grad(`decoder.deconv${l}.bias`, g.reduceSum(du, [0, 2, 3]), [outC]);
    // dW as a Conv over the batch: du as [out][B][2h][2w] (N = out, C = B) with x as the kernel [in][B][h][w],
    // dilation 2, pad 1: output [out][in][4][4] = dW transposed.
    const duT = g.transpose(du, [1, 0, 2, 3]);
    const xT = g.transpose(xs[l - 1]!, [1, 0, 2, 3]);
    const dWT = g.op('Conv', [duT, xT], { kernel_shape: [side, side], dilations: [2, 2], pads: [1, 1, 1, 1] });
    grad(`decoder.deconv${l}.weight`, g.transpose(dWT, [1, 0, 2, 3]), [inC, outC, 4, 4]);
    // dx: the adjoint of the transposed conv is a Conv with the same weights
    const dx = g.op('Conv', [du, W], deconvAttrs);
    du = l > 1 ? g.reluMask(dx, xs[l - 1]!) : g.reshape(dx, [-1, FLAT]); // x = relu(u) > 0 where u > 0
  }
  grad('decoder.fc.weight', g.op('Gemm', [du, z], { transA: 1 }), [FLAT, LATENT_DIM]);
  grad('decoder.fc.bias', g.reduceSum(du, [0]), [FLAT]);
  g.output(g.op('MatMul', [du, w['decoder.fc.weight']!]), n.gradZ, [BATCH, LATENT_DIM]);
  return g.encode(`nca_decoder_${part}`);
}

/**
 * The decoder on onnxruntime (a session per GraphPart). `run(z, batch, weights)` gives `output` = state;
 * with dL/dstate it also gives `grads`: `z` and every weight by name; `forwardSaved` and `backward`
 * split that in two runs (OnnxNetwork). Call dispose().
 */
export async function createOnnxDecoder(config: DecoderConfig, opts: GraphSessionOptions = {}): Promise<OnnxNetwork> {
  return openNetwork(
    {
      graphs: allParts((part) => buildDecoderGraph(config, part)),
      inputs: [{ name: decoderNames.z, item: [LATENT_DIM] }],
      outputs: [decoderNames.state],
      gradOutputs: [{ name: decoderNames.gradState, item: [CHANNELS, FRAME_SIZE, FRAME_SIZE] }],
      weights: DECODER_WEIGHTS,
    },
    opts,
  );
}
