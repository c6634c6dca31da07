/**
 * The hypernetwork's forward and hand-derived backward as onnxruntime graphs (the four GraphParts of
 * graph.ts: forward, both in one run, forward keeping activations, backward from them), with the
 * weights as graph INPUTS (training changes them every iteration). Same math as `hypernetworkForward` in
 * networks.ts, which stays the reference the tests check this against (docs/onnx-networks.md).
 *
 * Forward, z [B][64] -> params [B][4640]:
 * ```
 * a1 = z W1^T + b1          h1 = relu(LN1(a1))          LN(a) = xhat * gamma + beta,
 * a2 = h1 W2^T + b2         h2 = relu(LN2(a2))          xhat = (a - mean(a)) * rstd, rstd = 1 / sqrt(var(a) + eps)
 * o  = h2 W3^T + b3         params = s * o              (mean, biased var over the 256 features)
 * ```
 * Backward, G = dL/dparams [B][4640]:
 * ```
 * ds = sum(G * o)           dO = s G
 * dW3 = dO^T h2             db3 = sum_b dO              dh2 = dO W3
 * dy2 = dh2 where LN2(a2) > 0
 * dgamma2 = sum_b dy2 xhat2 dbeta2 = sum_b dy2          dxhat = dy2 gamma2
 * da2 = rstd2 (dxhat - mean(dxhat) - xhat2 mean(dxhat xhat2))     (LayerNorm backward, means over features)
 * dW2 = da2^T h1            db2 = sum_b da2             dh1 = da2 W2
 * ... the same for layer 1 ...                          dz = da1 W1
 * ```
 */
import { HYPER_HIDDEN, LATENT_DIM } from '../networks.js';
import { PARAM_COUNT } from '../../nca/params.js';
import { GraphBuilder } from '../../onnx-graph-writer.js';
import { BATCH, activationSaver, allParts, gradName, openNetwork, type GraphPart, type GraphSessionOptions, type OnnxNetwork } from './graph.js';

/** What the graph needs of the model's config (ModelConfig has it). */
export interface HypernetworkConfig {
  layerNormEps: number;
}

/** The hypernetwork's weights, in storage order, with their shapes: the graph inputs of the same names. */
export const HYPER_WEIGHTS: ReadonlyArray<{ name: string; shape: number[] }> = [
  { name: 'hyper.fc1.weight', shape: [HYPER_HIDDEN, LATENT_DIM] },
  { name: 'hyper.fc1.bias', shape: [HYPER_HIDDEN] },
  { name: 'hyper.ln1.weight', shape: [HYPER_HIDDEN] },
  { name: 'hyper.ln1.bias', shape: [HYPER_HIDDEN] },
  { name: 'hyper.fc2.weight', shape: [HYPER_HIDDEN, HYPER_HIDDEN] },
  { name: 'hyper.fc2.bias', shape: [HYPER_HIDDEN] },
  { name: 'hyper.ln2.weight', shape: [HYPER_HIDDEN] },
  { name: 'hyper.ln2.bias', shape: [HYPER_HIDDEN] },
  { name: 'hyper.fc3.weight', shape: [PARAM_COUNT, HYPER_HIDDEN] },
  { name: 'hyper.fc3.bias', shape: [PARAM_COUNT] },
  { name: 'hyper.scale', shape: [] },
];

/**
 * Names of the graph's inputs and outputs besides the weights (B = the symbolic batch):
 * inputs `z` [B][64], the HYPER_WEIGHTS by name and (train and backward graphs) `gradParams` [B][4640] = dL/dparams;
 * outputs `params` [B][4640] and (train and backward graphs) `grad.z` [B][64] and `grad.<weight>` (the weight's shape).
 */
export const hyperNames = { z: 'z', params: 'params', gradParams: 'gradParams', gradZ: gradName('z') } as const;

/** One of the network's graphs (GraphPart; default `train`: forward and backward in one run). */
export function buildHypernetworkGraph(config: HypernetworkConfig, part: GraphPart = 'train'): Uint8Array {
  const g = new GraphBuilder();
  const save = activationSaver(g, part);
  const n = hyperNames;
  const w: Record<string, string> = {};
  const z = g.input(n.z, [BATCH, LATENT_DIM]);
  for (const { name, shape } of HYPER_WEIGHTS) w[name] = g.input(name, shape);
  const eps = g.floats(config.layerNormEps);

  const linear = (x: string, layer: string) => g.op('Gemm', [x, w[`hyper.${layer}.weight`]!, w[`hyper.${layer}.bias`]!], { transB: 1 });
  /** LayerNorm over the features: y, and what the backward needs (xhat, rstd). */
  const layerNorm = (a: string, layer: string) => {
    const xc = g.sub(a, g.reduceMean(a, [1]));
    const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.add(g.reduceMean(g.mul(xc, xc), [1]), eps)])]); // [B][1]
    const xhat = save(`${layer}.xhat`, g.mul(xc, rstd), [BATCH, HYPER_HIDDEN]);
    const y = g.add(g.mul(xhat, w[`hyper.${layer}.weight`]!), w[`hyper.${layer}.bias`]!);
    return { y, xhat, rstd: save(`${layer}.rstd`, rstd, [BATCH, 1]) };
  };

  const ln1 = layerNorm(linear(z, 'fc1'), 'ln1');
  const h1 = save('h1', g.op('Relu', [ln1.y]), [BATCH, HYPER_HIDDEN]);
  const ln2 = layerNorm(linear(h1, 'fc2'), 'ln2');
  const h2 = save('h2', g.op('Relu', [ln2.y]), [BATCH, HYPER_HIDDEN]);
  const o = save('o', linear(h2, 'fc3'), [BATCH, PARAM_COUNT]);
  if (part !== 'backward') g.output(g.mul(o, w['hyper.scale']!), n.params, [BATCH, PARAM_COUNT]);
  if (part === 'forward' || part === 'forward-saved') return g.encode(`nca_hypernetwork_${part}`);

  const G = g.input(n.gradParams, [BATCH, PARAM_COUNT]);
  const grad = (name: string, value: string, dims: number[]) => g.output(value, gradName(name), dims);
  /** Gradients of a Linear's weight and bias from dL/d(out) and its input; returns dL/d(input). */
  const linearBack = (dOut: string, x: string, layer: string, shape: [number, number]) => {
    grad(`hyper.${layer}.weight`, g.op('Gemm', [dOut, x], { transA: 1 }), shape);
    grad(`hyper.${layer}.bias`, g.reduceSum(dOut, [0]), [shape[0]]);
    return g.op('MatMul', [dOut, w[`hyper.${layer}.weight`]!]);
  };
  /** ReLU (mask h > 0, the same as LN(a) > 0) and LayerNorm backward from dL/dh; records gamma's and beta's gradients; returns dL/da. */
  const normBack = (dh: string, h: string, ln: { xhat: string; rstd: string }, layer: string) => {
    const dy = g.reluMask(dh, h);
    grad(`hyper.${layer}.weight`, g.reduceSum(g.mul(dy, ln.xhat), [0]), [HYPER_HIDDEN]);
    grad(`hyper.${layer}.bias`, g.reduceSum(dy, [0]), [HYPER_HIDDEN]);
    const dxhat = g.mul(dy, w[`hyper.${layer}.weight`]!);
    const inner = g.sub(g.sub(dxhat, g.reduceMean(dxhat, [1])), g.mul(ln.xhat, g.reduceMean(g.mul(dxhat, ln.xhat), [1])));
    return g.mul(ln.rstd, inner);
  };

  grad('hyper.scale', g.reduceSum(g.mul(G, o), [0, 1]), []);
  const dO = g.mul(G, w['hyper.scale']!);
  const dh2 = linearBack(dO, h2, 'fc3', [PARAM_COUNT, HYPER_HIDDEN]);
  const dh1 = linearBack(normBack(dh2, h2, ln2, 'ln2'), h1, 'fc2', [HYPER_HIDDEN, HYPER_HIDDEN]);
  const dz = linearBack(normBack(dh1, h1, ln1, 'ln1'), z, 'fc1', [HYPER_HIDDEN, LATENT_DIM]);
  g.output(dz, n.gradZ, [BATCH, LATENT_DIM]);
  return g.encode(`nca_hypernetwork_${part}`);
}

/**
 * The hypernetwork on onnxruntime (a session per GraphPart). `run(z, batch, weights)` gives `output` =
 * params; with dL/dparams it also gives `grads`: `z` and every weight by name; `forwardSaved` and
 * `backward` split that in two runs (OnnxNetwork). Call dispose().
 */
export async function createOnnxHypernetwork(config: HypernetworkConfig, opts: GraphSessionOptions = {}): Promise<OnnxNetwork> {
  return openNetwork(
    {
      graphs: allParts((part) => buildHypernetworkGraph(config, part)),
      inputs: [{ name: hyperNames.z, item: [LATENT_DIM] }],
      outputs: [hyperNames.params],
      gradOutputs: [{ name: hyperNames.gradParams, item: [PARAM_COUNT] }],
      weights: HYPER_WEIGHTS,
    },
    opts,
  );
}
