/**
 * One step of the growing NCA as onnxruntime graphs: the forward, the forward that keeps what the
 * backward reads, and the hand-derived backward (docs/grow.md#forward-and-backward). All dimensions of
 * the state are symbolic, so one session serves every batch and grid size. NCHW throughout.
 *
 * Forward, x [B][16][H][W], m [B][1][H][W] (1 where the cell updates this step):
 * ```
 * pre  = maxpool3x3(x[:, 3]) > 0.1                  alive before (padding -inf)
 * p    = dwconv3x3(x, K)                            [B][48][H][W]: identity, sobel x, sobel y per channel, zero padding
 * h    = relu(w1 p + b1)                            [B][128][H][W] (1x1 convolution)
 * y    = x + (w2 h + b2) m                          residual update of the cells that fire
 * post = maxpool3x3(y[:, 3]) > 0.1
 * x'   = y a,   a = pre post                        dead cells are zeroed
 * ```
 * Backward, G = dL/dx' (the alive masks are steps: no gradient through them, as in autodiff):
 * ```
 * gy  = G a;   gd = gy m
 * db2 = sum_{b,y,x} gd           dw2 = sum_{b,p} gd[o](p) h[i](p)      gh = w2^T gd
 * gz  = gh where h > 0
 * db1 = sum_{b,y,x} gz           dw1 = sum_{b,p} gz[o](p) p[i](p)      gp = w1^T gz
 * dx  = gy + dwconv3x3(gp, flip(K))^T                                   (the adjoint of the zero-padded correlation)
 * ```
 */
import { GraphBuilder } from '../onnx-graph-writer.js';
import { ALIVE_THRESHOLD, ALPHA, GROW_CHANNELS, HIDDEN, PERCEPTION, WEIGHT_SHAPES } from './params.js';

export type StepGraphPart = 'forward' | 'forward-saved' | 'backward';

/** Graph input and output names. */
export const stepNames = {
  state: 'state',
  mask: 'mask',
  next: 'next',
  /** saved by forward-saved, read by backward */
  perception: 'saved.perception',
  hidden: 'saved.hidden',
  alive: 'saved.alive',
  gradNext: 'gradNext',
  gradState: 'gradState',
  grad: (w: string) => `grad.${w}`,
} as const;

const B = 'batch', H = 'height', W = 'width';

/** The identity, Sobel x and Sobel y kernels (Sobel / 8, as the tutorial), [3][3][3] row-major. */
export const PERCEPTION_KERNELS: readonly (readonly number[])[] = [
  [0, 0, 0, 0, 1, 0, 0, 0, 0],
  [-1, 0, 1, -2, 0, 2, -1, 0, 1].map((v) => v / 8),
  [-1, -2, -1, 0, 0, 0, 1, 2, 1].map((v) => v / 8),
];

/** The depthwise perception weight [48][1][3][3]: output channel 3c + k is kernel k on channel c. */
export function perceptionWeight(): Float32Array {
  const w = new Float32Array(PERCEPTION * 9);
  for (let c = 0; c < GROW_CHANNELS; c++) for (let k = 0; k < 3; k++) w.set(PERCEPTION_KERNELS[k]!, (3 * c + k) * 9);
  return w;
}

/** Its adjoint as a grouped Conv weight [16][3][3][3]: w[c][k] = kernel k flipped in both axes. */
function perceptionAdjointWeight(): Float32Array {
  const w = new Float32Array(GROW_CHANNELS * 3 * 9);
  for (let c = 0; c < GROW_CHANNELS; c++) for (let k = 0; k < 3; k++) for (let t = 0; t < 9; t++) w[(3 * c + k) * 9 + t] = PERCEPTION_KERNELS[k]![8 - t]!;
  return w;
}

export function buildStepGraph(part: StepGraphPart): Uint8Array {
  const g = new GraphBuilder();
  const n = stepNames;
  const stateDims = [B, GROW_CHANNELS, H, W];
  const w1 = g.input('w1', [...WEIGHT_SHAPES.w1]);
  const b1 = g.input('b1', [...WEIGHT_SHAPES.b1]);
  const w2 = g.input('w2', [...WEIGHT_SHAPES.w2]);
  const b2 = g.input('b2', [...WEIGHT_SHAPES.b2]);
  const m = g.input(n.mask, [B, 1, H, W]);
  const pad1 = { pads: [1, 1, 1, 1] };

  if (part !== 'backward') {
    const x = g.input(n.state, stateDims);
    const alive = (s: string) => {
      const alpha = g.op('Slice', [s, g.ints([ALPHA]), g.ints([ALPHA + 1]), g.ints([1])]);
      const pooled = g.op('MaxPool', [alpha], { kernel_shape: [3, 3], strides: [1, 1], ...pad1 });
      return g.op('Cast', [g.op('Greater', [pooled, g.floats(ALIVE_THRESHOLD)])], { to: 1 });
    };
    const pre = alive(x);
    const p = g.op('Conv', [x, g.floats(perceptionWeight(), [PERCEPTION, 1, 3, 3])], { group: GROW_CHANNELS, kernel_shape: [3, 3], ...pad1 });
    const h = g.op('Relu', [g.op('Conv', [p, w1, b1], { kernel_shape: [1, 1] })]);
    const d = g.op('Conv', [h, w2, b2], { kernel_shape: [1, 1] });
    const y = g.add(x, g.mul(d, m));
    const a = g.mul(pre, alive(y));
    g.output(g.mul(y, a), n.next, stateDims);
    if (part === 'forward-saved') {
      g.output(p, n.perception, [B, PERCEPTION, H, W]);
      g.output(h, n.hidden, [B, HIDDEN, H, W]);
      g.output(a, n.alive, [B, 1, H, W]);
    }
    return g.encode(`grow_step_${part}`);
  }

  const G = g.input(n.gradNext, stateDims);
  const p = g.input(n.perception, [B, PERCEPTION, H, W]);
  const h = g.input(n.hidden, [B, HIDDEN, H, W]);
  const a = g.input(n.alive, [B, 1, H, W]);
  // sum over batch and pixels of g[b][o](p) v[b][i](p) -> [o][i][1][1]
  const weightGrad = (grad: string, v: string, outC: number, inC: number) => {
    const gf = g.op('Reshape', [grad, g.ints([0, outC, -1])]);
    const vf = g.op('Reshape', [v, g.ints([0, inC, -1])]);
    const perSample = g.op('MatMul', [gf, g.transpose(vf, [0, 2, 1])]);
    return g.reshape(g.reduceSum(perSample, [0]), [outC, inC, 1, 1]);
  };
  const gy = g.mul(G, a);
  const gd = g.mul(gy, m);
  g.output(g.reduceSum(gd, [0, 2, 3]), n.grad('b2'), [GROW_CHANNELS]);
  g.output(weightGrad(gd, h, GROW_CHANNELS, HIDDEN), n.grad('w2'), [...WEIGHT_SHAPES.w2]);
  const gh = g.op('Conv', [gd, g.transpose(w2, [1, 0, 2, 3])], { kernel_shape: [1, 1] });
  const gz = g.reluMask(gh, h);
  g.output(g.reduceSum(gz, [0, 2, 3]), n.grad('b1'), [HIDDEN]);
  g.output(weightGrad(gz, p, HIDDEN, PERCEPTION), n.grad('w1'), [...WEIGHT_SHAPES.w1]);
  const gp = g.op('Conv', [gz, g.transpose(w1, [1, 0, 2, 3])], { kernel_shape: [1, 1] });
  const gx = g.op('Conv', [gp, g.floats(perceptionAdjointWeight(), [GROW_CHANNELS, 3, 3, 3])], { group: GROW_CHANNELS, kernel_shape: [3, 3], ...pad1 });
  g.output(g.add(gy, gx), n.gradState, stateDims);
  return g.encode('grow_step_backward');
}
