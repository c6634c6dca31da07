/**
 * The VAE encoder in TRAINING mode (BatchNorm on the batch's statistics) as onnxruntime graphs (the
 * four GraphParts of graph.ts): forward, the batch statistics, and the hand-derived backward, with the
 * weights as graph INPUTS.
 * Same math as `encoderForward(..., { training: true })` in networks.ts, which stays the reference
 * (docs/onnx-networks.md). The inference graph with the running statistics baked in is
 * ../encoder-onnx.ts.
 *
 * Forward, context [B][12][32][32] -> mu, logvar [B][64], for l = 1..3 (x_0 = context):
 * ```
 * c_l   = conv(x_{l-1}, W_l) + b_l              conv3x3 stride 2 pad 1, W [out][in][3][3]
 * mean_l, var_l = mean and biased variance of c_l over (batch, y, x), per channel   (graph outputs)
 * xhat_l = (c_l - mean_l) rstd_l,  rstd_l = 1 / sqrt(var_l + eps)
 * y_l   = gamma_l xhat_l + beta_l    x_l = leakyRelu(y_l, alpha)
 * flat = x_3 as [B][2048] (c, y, x)   mu = flat Wmu^T + bmu   logvar = flat Wlv^T + blv
 * ```
 * Backward, from dL/dmu and dL/dlogvar [B][64]:
 * ```
 * dWmu = dmu^T flat   dbmu = sum_b dmu   (the same for logvar)   dflat = dmu Wmu + dlogvar Wlv
 * dy = dx where y > 0, else alpha dx
 * dgamma = sum dy xhat   dbeta = sum dy                         (sums over batch, y, x)
 * dc = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),  dxhat = gamma dy     (BatchNorm backward)
 * db = sum dc   (0 in exact arithmetic: the BatchNorm removes the bias; rounding noise here and in tfjs)
 * dW[o][i][ky][kx] = sum_{b,p} dc[b][o][p] x_pad[b][i][2p + k]
 *    = conv(x as [in][B][H][W], kernel dc as [out][B][H/2][W/2], dilation 2, pads 1 before / 0 after) -> [in][out][3][3], transposed
 * dx_{l-1} = convT(dc, W) stride 2 pad 1, output_padding 1 (the adjoint of the conv)   (not for the context)
 * ```
 */
import { FRAME_SIZE, LATENT_DIM } from '../networks.js';
import type { NamedArrays } from '../weights.js';
import { GraphBuilder, float } from '../../onnx-graph-writer.js';
import { BATCH, activationSaver, allParts, gradName, openNetworkSessions, type GraphPart, type GraphSessionOptions, type SavedActivations } from './graph.js';

/** What the graph needs of the model's config (ModelConfig has it). */
export interface EncoderTrainConfig {
  batchNormEps: number;
  leakyReluSlope: number;
}

/** Context frames' channels (4 frames x RGB), then 32 -> 64 -> 128; sides 32 -> 16 -> 8 -> 4. */
const CHANNELS_PER_LAYER = [12, 32, 64, 128] as const;
const FLAT = 128 * 4 * 4;

/** The encoder's trained weights (not the running statistics), with their shapes: graph inputs of the same names. */
export const ENCODER_WEIGHTS: ReadonlyArray<{ name: string; shape: number[] }> = [
  ...[1, 2, 3].flatMap((l) => {
    const [inC, outC] = [CHANNELS_PER_LAYER[l - 1]!, CHANNELS_PER_LAYER[l]!];
    return [
      { name: `encoder.conv${l}.weight`, shape: [outC, inC, 3, 3] },
      { name: `encoder.conv${l}.bias`, shape: [outC] },
      { name: `encoder.bn${l}.weight`, shape: [outC] },
      { name: `encoder.bn${l}.bias`, shape: [outC] },
    ];
  }),
  { name: 'encoder.fc_mu.weight', shape: [LATENT_DIM, FLAT] },
  { name: 'encoder.fc_mu.bias', shape: [LATENT_DIM] },
  { name: 'encoder.fc_logvar.weight', shape: [LATENT_DIM, FLAT] },
  { name: 'encoder.fc_logvar.bias', shape: [LATENT_DIM] },
];

/**
 * Names of the graph's inputs and outputs besides the weights (B = the symbolic batch):
 * inputs `context` [B][12][32][32], the ENCODER_WEIGHTS by name and (train and backward graphs) `gradMu`,
 * `gradLogvar` [B][64]; outputs `mu`, `logvar` [B][64], `bn{l}.mean` and `bn{l}.variance` [channels]
 * (the batch statistics, variance biased) and (train and backward graphs) `grad.<weight>` for every weight.
 */
export const encoderTrainNames = {
  context: 'context',
  mu: 'mu',
  logvar: 'logvar',
  gradMu: 'gradMu',
  gradLogvar: 'gradLogvar',
  mean: (l: number) => `bn${l}.mean`,
  variance: (l: number) => `bn${l}.variance`,
} as const;

/** One of the network's graphs (GraphPart; default `train`: forward and backward in one run). */
export function buildEncoderTrainGraph(config: EncoderTrainConfig, part: GraphPart = 'train'): Uint8Array {
  const g = new GraphBuilder();
  const save = activationSaver(g, part);
  const n = encoderTrainNames;
  const w: Record<string, string> = {};
  g.input(n.context, [BATCH, CHANNELS_PER_LAYER[0], FRAME_SIZE, FRAME_SIZE]);
  for (const { name, shape } of ENCODER_WEIGHTS) w[name] = g.input(name, shape);
  const eps = g.floats(config.batchNormEps);
  const convAttrs = { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
  const perChannel = (v: string) => g.reshape(v, [1, -1, 1, 1]);

  const xs: string[] = [n.context]; // the input of each conv
  const layers: { x: string; xhat: string; rstd: string; gamma: string }[] = [];
  for (let l = 1; l <= 3; l++) {
    const c = g.op('Conv', [xs[l - 1]!, w[`encoder.conv${l}.weight`]!, w[`encoder.conv${l}.bias`]!], convAttrs);
    const C = CHANNELS_PER_LAYER[l]!;
    const side = FRAME_SIZE >> l;
    const mean = g.reduceMean(c, [0, 2, 3]); // [1][C][1][1]
    const xc = g.sub(c, mean);
    const variance = g.reduceMean(g.mul(xc, xc), [0, 2, 3]);
    if (part !== 'backward') {
      g.output(g.reshape(mean, [-1]), n.mean(l), [C]);
      g.output(g.reshape(variance, [-1]), n.variance(l), [C]);
    }
    const rstd = save(`bn${l}.rstd`, g.op('Reciprocal', [g.op('Sqrt', [g.add(variance, eps)])]), [1, C, 1, 1]);
    const xhat = save(`bn${l}.xhat`, g.mul(xc, rstd), [BATCH, C, side, side]);
    const gamma = perChannel(w[`encoder.bn${l}.weight`]!);
    const y = g.add(g.mul(xhat, gamma), perChannel(w[`encoder.bn${l}.bias`]!));
    // the LeakyReLU's output has the sign of y (alpha >= 0): the backward's mask reads it
    const x = save(`x${l}`, g.op('LeakyRelu', [y], { alpha: float(config.leakyReluSlope) }), [BATCH, C, side, side]);
    layers.push({ x, xhat, rstd, gamma });
    xs.push(x);
  }
  const flat = g.op('Flatten', [xs[3]!], { axis: 1 });
  const head = (name: string) => g.op('Gemm', [flat, w[`encoder.${name}.weight`]!, w[`encoder.${name}.bias`]!], { transB: 1 });
  if (part !== 'backward') {
    g.output(head('fc_mu'), n.mu, [BATCH, LATENT_DIM]);
    g.output(head('fc_logvar'), n.logvar, [BATCH, LATENT_DIM]);
  }
  if (part === 'forward' || part === 'forward-saved') return g.encode(`nca_encoder_${part}`);

  const grad = (name: string, value: string, dims: number[]) => g.output(value, gradName(name), dims);
  const gMu = g.input(n.gradMu, [BATCH, LATENT_DIM]);
  const gLv = g.input(n.gradLogvar, [BATCH, LATENT_DIM]);
  for (const [name, gOut] of [['fc_mu', gMu], ['fc_logvar', gLv]] as const) {
    grad(`encoder.${name}.weight`, g.op('Gemm', [gOut, flat], { transA: 1 }), [LATENT_DIM, FLAT]);
    grad(`encoder.${name}.bias`, g.reduceSum(gOut, [0]), [LATENT_DIM]);
  }
  const dflat = g.add(g.op('MatMul', [gMu, w['encoder.fc_mu.weight']!]), g.op('MatMul', [gLv, w['encoder.fc_logvar.weight']!]));
  let dx = g.reshape(dflat, [-1, 128, 4, 4]);
  const alpha = g.floats(config.leakyReluSlope);
  const zero = g.floats(0);
  for (let l = 3; l >= 1; l--) {
    const { x, xhat, rstd, gamma } = layers[l - 1]!;
    const [inC, outC] = [CHANNELS_PER_LAYER[l - 1]!, CHANNELS_PER_LAYER[l]!];
    const side = FRAME_SIZE >> (l - 1); // the conv's input side
    const dy = g.op('Where', [g.op('Greater', [x, zero]), dx, g.mul(dx, alpha)]);
    grad(`encoder.bn${l}.weight`, g.reduceSum(g.mul(dy, xhat), [0, 2, 3]), [outC]);
    grad(`encoder.bn${l}.bias`, g.reduceSum(dy, [0, 2, 3]), [outC]);
    const dxhat = g.mul(dy, gamma);
    const inner = g.sub(g.sub(dxhat, g.reduceMean(dxhat, [0, 2, 3])), g.mul(xhat, g.reduceMean(g.mul(dxhat, xhat), [0, 2, 3])));
    const dc = g.mul(rstd, inner); // [B][out][side/2][side/2]
    grad(`encoder.conv${l}.bias`, g.reduceSum(dc, [0, 2, 3]), [outC]);
    // dW as a Conv over the batch: the input as [in][B][H][W] (N = in, C = B) with dc as the kernel
    // [out][B][H/2][W/2], dilation 2, padded by 1 before (taps read x_pad up to index H, not H + 1):
    // output [in][out][3][3] = dW transposed.
    const xT = g.transpose(xs[l - 1]!, [1, 0, 2, 3]);
    const dcT = g.transpose(dc, [1, 0, 2, 3]);
    const dWT = g.op('Conv', [xT, dcT], { kernel_shape: [side / 2, side / 2], dilations: [2, 2], pads: [1, 1, 0, 0] });
    grad(`encoder.conv${l}.weight`, g.transpose(dWT, [1, 0, 2, 3]), [outC, inC, 3, 3]);
    if (l > 1) dx = g.op('ConvTranspose', [dc, w[`encoder.conv${l}.weight`]!], { ...convAttrs, output_padding: [1, 1] });
  }
  return g.encode(`nca_encoder_${part}`);
}

/** The encoder's outputs, the batch statistics (per layer, biased variance) and, with upstream gradients, every weight's gradient. */
export interface EncoderTrainResult {
  mu: Float32Array;
  logvar: Float32Array;
  batchStats: { mean: Float32Array; variance: Float32Array }[];
  grads?: Map<string, Float32Array>;
}

export interface OnnxEncoderTrain {
  readonly threads: number;
  /**
   * The training-mode forward of context [batch][12][32][32]; with `upstream` (dL/dmu, dL/dlogvar,
   * [batch][64] each) the same run gives every weight's gradient (not the context's: it is data).
   */
  run(context: Float32Array, batch: number, weights: NamedArrays, upstream?: EncoderUpstream): Promise<EncoderTrainResult>;
  /** The forward keeping the activations for `backward` (the forward is not run twice). */
  forwardSaved(context: Float32Array, batch: number, weights: NamedArrays): Promise<EncoderTrainResult & { saved: SavedActivations }>;
  backward(saved: SavedActivations, context: Float32Array, weights: NamedArrays, upstream: EncoderUpstream): Promise<Map<string, Float32Array>>;
  dispose(): Promise<void>;
}

/** dL/dmu and dL/dlogvar, [batch][64] each. */
export interface EncoderUpstream {
  gradMu: Float32Array;
  gradLogvar: Float32Array;
}

/** A session per GraphPart, all with a symbolic batch. Call dispose(). */
export async function createOnnxEncoderTrain(config: EncoderTrainConfig, opts: GraphSessionOptions = {}): Promise<OnnxEncoderTrain> {
  const n = encoderTrainNames;
  const stats = [1, 2, 3].flatMap((l) => [n.mean(l), n.variance(l)]);
  const sessions = await openNetworkSessions(
    {
      graphs: allParts((part) => buildEncoderTrainGraph(config, part)),
      weights: ENCODER_WEIGHTS,
      inputs: [{ name: n.context, item: [CHANNELS_PER_LAYER[0], FRAME_SIZE, FRAME_SIZE] }],
      outputs: [n.mu, n.logvar, ...stats],
      gradOutputs: [
        { name: n.gradMu, item: [LATENT_DIM] },
        { name: n.gradLogvar, item: [LATENT_DIM] },
      ],
      gradInputs: [],
    },
    opts,
  );
  const result = (outputs: Record<string, Float32Array>): EncoderTrainResult => ({
    mu: outputs[n.mu]!,
    logvar: outputs[n.logvar]!,
    batchStats: [1, 2, 3].map((l) => ({ mean: outputs[n.mean(l)]!, variance: outputs[n.variance(l)]! })),
  });
  const upstreamFeeds = (u: EncoderUpstream) => ({ [n.gradMu]: u.gradMu, [n.gradLogvar]: u.gradLogvar });
  return {
    threads: sessions.threads,
    async run(context, batch, weights, upstream) {
      const r = await sessions.run({ [n.context]: context }, batch, weights, upstream && upstreamFeeds(upstream));
      return r.grads ? { ...result(r.outputs), grads: r.grads } : result(r.outputs);
    },
    async forwardSaved(context, batch, weights) {
      const r = await sessions.forwardSaved({ [n.context]: context }, batch, weights);
      return { ...result(r.outputs), saved: r.saved };
    },
    backward: (saved, context, weights, upstream) => sessions.backward(saved, { [n.context]: context }, weights, upstreamFeeds(upstream)),
    dispose: () => sessions.dispose(),
  };
}
