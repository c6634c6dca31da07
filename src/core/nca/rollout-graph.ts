/**
 * ONNX graphs of a differentiable NCA rollout for training: the forward pass of T frames of a batch
 * of B grids, each grid with its OWN weights (the hypernetwork's output), and its analytic backward
 * pass (backpropagation through time).
 *
 * Training protocol (docs/design.md#the-model, "frame protocol", one NCA step per frame), for step t = 0..T-1:
 *
 *   r_0     = rgb0                                         the start frame, [B][3][H][W], values 0..1
 *   r_t     = m_t * p_t + (1 - m_t) * y_t      (t >= 1)    scheduled sampling: the model's own
 *                                                          prediction p_t or the ground truth y_t
 *   s_t     = [r_t, n_t]                                   16 channels; n_t = hidden noise (13 channels)
 *   h_t     = relu(conv(s_t, w1) + b1)                     conv = 3x3 cross-correlation on a torus
 *   p_{t+1} = sigmoid(r_t + conv(h_t, w2[0..2]) + b2[0..2])
 *
 * Only rows 0..2 of w2 and b2 reach the output: their other rows get zero gradient.
 * Output frame t of the rollout is p_{t+1}; y_t (t >= 1) is the ground truth of p_t, so the
 * teacher frames are the loss targets of frames 0..T-2.
 *
 * Backward, for t = T-1 down to 0, with gp = dL/dp_{t+1} (from the loss, plus m_{t+1} * g_r_{t+1}
 * carried back from the next step):
 *
 *   gz    = gp * p (1 - p)                                 [B][3][HW]
 *   gh    = conv^T(gz, w2)     ga = gh * [h_t > 0]          [B][16][HW]
 *   g_r_t = gz + conv^T(ga, w1)[0..2]                       (residual + the s_t path)
 *   dw2  += corr(gz, h_t)      db2 += sum gz
 *   dw1  += corr(ga, s_t)      db1 += sum ga
 *
 * where conv^T(g, w)[i](p) = sum_{o,k} w[o][i][k] g[o](p - k) (a circular correlation with the
 * flipped, transposed kernel) and corr(g, x)[o][i][k] = sum_p g[o](p - k) x[i](p) (k = the 3x3
 * offset (ky-1, kx-1)). Each is a batched MatMul (one matrix per grid):
 * - weight gradients and conv^T(gz, w2): over "columns", the 9 circular shifts of the gradient
 *   stacked as [B][9*C][HW] (C = 3 for gz, 16 for ga);
 * - the 3-channel results (the forward's conv(h, w2), the backward's conv^T(ga, w1)[0..2]): per-tap
 *   products Y[k] = W_k x [B][27][HW] first, then the sum of the 9 shifted Y[k] ("shift-sum").
 *   A grouped Conv or a column MatMul with only 3 output rows spends its time on im2col/packing
 *   (measured 2-3x slower here).
 * - the forward's 16-channel conv(s, w1): a grouped Conv ([1][B*16][H][W], group = B) or a
 *   batched MatMul over im2col; `ForwardConv` picks one (grouped is faster in onnxruntime 1.30 on
 *   this machine, see docs/training-op.md).
 */
import { CHANNELS, PARAM_COUNT, PARAM_LAYOUT } from './params.js';
import { GraphBuilder } from '../onnx-graph-writer.js';

/** Visible (RGB) channels; the other 13 of the 16 are hidden noise, redrawn every frame. */
export const RGB = 3;
export const HIDDEN = CHANNELS - RGB;
/** 3x3 kernel: 9 offsets. */
const TAPS = 9;

/**
 * How the forward pass convolves each grid with its own weights.
 * - `group`: one grouped Conv over [1][B*16][H+2][W+2] (wrap-padded), group = B.
 * - `im2col`: the 9 circular shifts stacked as columns (see shiftColumns), then a batched MatMul.
 */
export type ForwardConv = 'group' | 'im2col';
export interface RolloutGraphSpec {
  /** Grids (samples), each with its own weights. */
  batch: number;
  width: number;
  height: number;
  /** Frames (NCA steps) of the rollout, >= 1. */
  steps: number;
  /** Default 'group'. */
  forwardConv?: ForwardConv;
}

/**
 * Names of the graphs' inputs and outputs (shapes for B grids of H x W, T steps):
 *
 * Forward inputs:  `params` [B][4640], `rgb0` [B][3][H][W], `noise` [T][B][13][H][W] and, when T > 1,
 *                  `teacher` [T-1][B][3][H][W] (the ground truth y_1..y_{T-1}) and `masks` [T-1][B]
 *                  (m_1..m_{T-1}: 1 = feed the prediction back, 0 = the ground truth; any value in
 *                  [0, 1] mixes linearly).
 * Forward outputs: `pred` [T][B][3][H][W] (p_1..p_T), and for the backward pass `state{t}` (s_t) and
 *                  `hidden{t}` (h_t), [B][16][H][W] each, t < T.
 * Backward inputs: `params`, `masks` (when T > 1), `pred`, `state{t}`, `hidden{t}`, and `gradPred`
 *                  [T][B][3][H][W] = dL/dpred.
 * Backward outputs: `gradParams` [B][4640] (layout of params.ts; rows 3..15 of w2 and b2 are zero) and
 *                  `gradRgb0` [B][3][H][W].
 */
export const rolloutNames = {
  params: 'params',
  rgb0: 'rgb0',
  noise: 'noise',
  teacher: 'teacher',
  masks: 'masks',
  pred: 'pred',
  state: (t: number) => `state${t}`,
  hidden: (t: number) => `hidden${t}`,
  gradPred: 'gradPred',
  gradParams: 'gradParams',
  gradRgb0: 'gradRgb0',
};

/** Offsets (dy, dx) of the 3x3 taps in kernel order k = ky * 3 + kx: (ky - 1, kx - 1). */
const TAP_OFFSETS: ReadonlyArray<readonly [number, number]> = Array.from({ length: TAPS }, (_, k) => [Math.floor(k / 3) - 1, (k % 3) - 1] as const);

/**
 * The 9 circular shifts of x [B][C][H][W] as columns [B][9*C][H*W], tap-major (row index k * C + c):
 * col[k][c](p) = x[c](p + sign * offset_k). sign = +1 is im2col (a convolution reads x at p + offset);
 * sign = -1 is the adjoint's shift (a gradient is scattered back from p - offset). Tap-major rows
 * make the Concat copy 9 blocks of C planes per grid instead of 9 * C single planes. (A Gather
 * with precomputed wrapped indices was ~3x slower than Pad + 9 Slices + Concat.)
 */
function shiftColumns(g: GraphBuilder, x: string, spec: { batch: number; channels: number; width: number; height: number }, sign: 1 | -1): string {
  const { batch: B, channels: C, width: W, height: H } = spec;
  // Wrap padding by one cell: padded[Y][X] = x[Y-1][X-1]; the tap reading x(p + d) starts at 1 + d.
  const padded = g.op('Pad', [x, g.ints([0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'wrap' });
  const taps = TAP_OFFSETS.map(([dy, dx]) => {
    const y0 = 1 + sign * dy;
    const x0 = 1 + sign * dx;
    return g.op('Slice', [padded, g.ints([y0, x0]), g.ints([y0 + H, x0 + W]), g.ints([2, 3])]); // [B][C][H][W]
  });
  const stacked = g.op('Concat', taps, { axis: 1 }); // [B][9*C][H][W]
  return g.reshape(stacked, [B, TAPS * C, H * W]);
}

/** Weights w [B][rows*16*9] (OIHW per grid) as [B][a][b][c] for the permutation `perm` of (o, i, k). */
function permuteWeights(g: GraphBuilder, w: string, rows: number, B: number, perm: [number, number, number]): string {
  const dims = [rows, CHANNELS, TAPS];
  const w4 = g.reshape(w, [B, ...dims]);
  const t = g.op('Transpose', [w4], { perm: [0, ...perm.map((p) => p + 1)] });
  return g.reshape(t, [B, dims[perm[0]]!, dims[perm[1]]! * dims[perm[2]]!]);
}

/**
 * The adjoint of shiftColumns on a few channels: y[c](p) = sum_k Y[k][c](p + sign * offset_k) for
 * Y [B][9*C][H*W] tap-major. With Y = (per-tap weights) x (input), this is a convolution whose
 * MatMul has the big dimension (H*W) in its packed-once operand, the fast way for 3-channel
 * outputs (a grouped Conv or a MatMul over columns with 3 output rows spends its time packing).
 */
function shiftSum(g: GraphBuilder, Y: string, spec: { batch: number; channels: number; width: number; height: number }, sign: 1 | -1): string {
  const { batch: B, channels: C, width: W, height: H } = spec;
  const padded = g.op('Pad', [g.reshape(Y, [B, TAPS * C, H, W]), g.ints([0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'wrap' });
  const taps = TAP_OFFSETS.map(([dy, dx], k) => {
    const y0 = 1 + sign * dy;
    const x0 = 1 + sign * dx;
    return g.op('Slice', [padded, g.ints([k * C, y0, x0]), g.ints([(k + 1) * C, y0 + H, x0 + W]), g.ints([1, 2, 3])]); // [B][C][H][W]
  });
  return g.op('Sum', taps);
}

/** Per-sample weights of one conv layer cut from params [B][4640]: rows `rows` of w (OIHW) and b. */
function layerWeights(g: GraphBuilder, layer: 'w1' | 'w2', rows: number, B: number): { w: string; b: string } {
  const wAt = PARAM_LAYOUT[layer].offset;
  const bAt = PARAM_LAYOUT[layer === 'w1' ? 'b1' : 'b2'].offset;
  const w = g.slice(rolloutNames.params, 1, wAt, wAt + rows * CHANNELS * TAPS); // [B][rows*16*9] = [B][rows][16][3][3]
  const b = g.slice(rolloutNames.params, 1, bAt, bAt + rows); // [B][rows]
  return { w, b };
}

function checkSpec(spec: RolloutGraphSpec): void {
  for (const k of ['batch', 'width', 'height', 'steps'] as const) {
    if (!Number.isInteger(spec[k]) || spec[k] < 1) throw new Error(`rollout graph: ${k} must be a positive integer, got ${spec[k]}`);
  }
  if (spec.width < 2 || spec.height < 2) throw new Error(`rollout graph: grids must be at least 2 x 2, got ${spec.width} x ${spec.height}`);
}

/** The forward rollout graph (names and shapes in `rolloutNames`). */
export function buildRolloutForward(spec: RolloutGraphSpec): Uint8Array {
  checkSpec(spec);
  const { batch: B, width: W, height: H, steps: T } = spec;
  const conv = spec.forwardConv ?? 'group';
  const g = new GraphBuilder();
  const n = rolloutNames;

  g.input(n.params, [B, PARAM_COUNT]);
  g.input(n.rgb0, [B, RGB, H, W]);
  g.input(n.noise, [T, B, HIDDEN, H, W]);
  if (T > 1) {
    g.input(n.teacher, [T - 1, B, RGB, H, W]);
    g.input(n.masks, [T - 1, B]);
  }

  // Weights: layer 1 in full, layer 2 only the 3 rows that reach the RGB output.
  const l1 = layerWeights(g, 'w1', CHANNELS, B);
  const l2 = layerWeights(g, 'w2', RGB, B);
  // conv1: 16 -> 16 channels, h = relu(conv(s, w1) + b1)
  let conv1: (s: string) => string;
  if (conv === 'group') {
    const w1 = g.reshape(l1.w, [B * CHANNELS, CHANNELS, 3, 3]);
    const b1 = g.reshape(l1.b, [B * CHANNELS]);
    conv1 = (s) => {
      const padded = g.op('Pad', [g.reshape(s, [1, B * CHANNELS, H, W]), g.ints([0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'wrap' });
      return g.reshape(g.op('Conv', [padded, w1, b1], { group: B }), [B, CHANNELS, H, W]);
    };
  } else {
    const w1 = permuteWeights(g, l1.w, CHANNELS, B, [0, 2, 1]); // [B][o][k*16 + i], to match tap-major columns
    const b1 = g.reshape(l1.b, [B, CHANNELS, 1]);
    conv1 = (s) => {
      const col = shiftColumns(g, s, { batch: B, channels: CHANNELS, width: W, height: H }, 1);
      return g.reshape(g.op('Add', [g.op('MatMul', [w1, col]), b1]), [B, CHANNELS, H, W]);
    };
  }
  // conv2, RGB rows only: d[o](p) = b2[o] + sum_k Y[k][o](p + offset_k), Y[k][o] = sum_i w2[o][i][k] h[i]
  const w2s = g.reshape(permuteWeights(g, l2.w, RGB, B, [2, 0, 1]), [B, TAPS * RGB, CHANNELS]); // [B][k*3 + o][i]
  const b2 = g.reshape(l2.b, [B, RGB, 1, 1]);
  const conv2 = (h: string) => {
    const Y = g.op('MatMul', [w2s, g.reshape(h, [B, CHANNELS, H * W])]); // [B][27][HW]
    return g.op('Add', [shiftSum(g, Y, { batch: B, channels: RGB, width: W, height: H }, 1), b2]);
  };

  const noise = T > 1 ? g.opMulti('Split', [n.noise], T, { axis: 0, num_outputs: T }) : [n.noise];
  const teacher = T > 2 ? g.opMulti('Split', [n.teacher], T - 1, { axis: 0, num_outputs: T - 1 }) : [n.teacher];
  const masks = T > 2 ? g.opMulti('Split', [n.masks], T - 1, { axis: 0, num_outputs: T - 1 }) : [n.masks];
  const preds: string[] = [];
  let r = n.rgb0;
  for (let t = 0; t < T; t++) {
    if (t > 0) {
      // r_t = y_t + m_t * (p_t - y_t)
      const y = g.reshape(teacher[t - 1]!, [B, RGB, H, W]);
      const m = g.reshape(masks[t - 1]!, [B, 1, 1, 1]);
      const p = g.reshape(preds[t - 1]!, [B, RGB, H, W]);
      r = g.op('Add', [y, g.op('Mul', [m, g.op('Sub', [p, y])])]);
    }
    const s = g.op('Concat', [r, g.reshape(noise[t]!, [B, HIDDEN, H, W])], { axis: 1 }, n.state(t));
    const h = g.op('Relu', [conv1(s)], {}, n.hidden(t));
    const p = g.op('Sigmoid', [g.op('Add', [r, conv2(h)])]);
    preds.push(g.op('Unsqueeze', [p, g.ints([0])])); // [1][B][3][H][W]
    g.output(n.state(t), n.state(t), [B, CHANNELS, H, W]);
    g.output(n.hidden(t), n.hidden(t), [B, CHANNELS, H, W]);
  }
  if (T > 1) g.op('Concat', preds, { axis: 0 }, n.pred);
  else g.op('Identity', preds, {}, n.pred);
  g.output(n.pred, n.pred, [T, B, RGB, H, W]);
  return g.encode('nca_rollout_forward');
}

/** The backward (BPTT) graph of `buildRolloutForward(spec)` (names and shapes in `rolloutNames`). */
export function buildRolloutBackward(spec: RolloutGraphSpec): Uint8Array {
  checkSpec(spec);
  const { batch: B, width: W, height: H, steps: T } = spec;
  const HW = H * W;
  const g = new GraphBuilder();
  const n = rolloutNames;

  g.input(n.params, [B, PARAM_COUNT]);
  if (T > 1) g.input(n.masks, [T - 1, B]);
  g.input(n.pred, [T, B, RGB, H, W]);
  for (let t = 0; t < T; t++) {
    g.input(n.state(t), [B, CHANNELS, H, W]);
    g.input(n.hidden(t), [B, CHANNELS, H, W]);
  }
  g.input(n.gradPred, [T, B, RGB, H, W]);

  const l1 = layerWeights(g, 'w1', CHANNELS, B);
  const l2 = layerWeights(g, 'w2', RGB, B);
  // conv^T(gz, w2) over tap-major columns of gz: w2T[b][i][k*3 + o] = w2[b][o][i][k]
  const w2T = permuteWeights(g, l2.w, RGB, B, [1, 2, 0]);
  // conv^T(ga, w1)[0..2] as a shift-sum: w1s[b][k*3 + i][o] = w1[b][o][i][k] for the RGB inputs i < 3
  // (only they carry gradient back in time; the noise channels are inputs).
  const w1s = g.reshape(g.op('Transpose', [g.slice(g.reshape(l1.w, [B, CHANNELS, CHANNELS, TAPS]), 2, 0, RGB)], { perm: [0, 3, 2, 1] }), [B, TAPS * RGB, CHANNELS]);

  const preds = T > 1 ? g.opMulti('Split', [n.pred], T, { axis: 0, num_outputs: T }) : [n.pred];
  const grads = T > 1 ? g.opMulti('Split', [n.gradPred], T, { axis: 0, num_outputs: T }) : [n.gradPred];
  const masks = T > 2 ? g.opMulti('Split', [n.masks], T - 1, { axis: 0, num_outputs: T - 1 }) : [n.masks];
  const one = g.floats(1, [1]);
  const zero = g.floats(0, [1]);
  const gw1: string[] = [];
  const gb1: string[] = [];
  const gw2: string[] = [];
  const gb2: string[] = [];
  let carried = ''; // m_{t+1} * g_r_{t+1}, [B][3][HW]
  let gradR = '';
  for (let t = T - 1; t >= 0; t--) {
    // gz = gp * p (1 - p)
    let gp = g.reshape(grads[t]!, [B, RGB, HW]);
    if (carried) gp = g.op('Add', [gp, carried]);
    const p = g.reshape(preds[t]!, [B, RGB, HW]);
    const gz = g.op('Mul', [gp, g.op('Mul', [p, g.op('Sub', [one, p])])]);
    gb2.push(g.op('ReduceSum', [gz, g.ints([2])], { keepdims: 0 })); // [B][3]
    // Layer 2: gh = conv^T(gz, w2); dw2 += corr(gz, h)
    const colZ = shiftColumns(g, g.reshape(gz, [B, RGB, H, W]), { batch: B, channels: RGB, width: W, height: H }, -1); // [B][27][HW]
    const h = g.reshape(n.hidden(t), [B, CHANNELS, HW]);
    gw2.push(g.op('MatMul', [colZ, g.op('Transpose', [h], { perm: [0, 2, 1] })])); // [B][27][16] = [k][o][i]
    const gh = g.op('MatMul', [w2T, colZ]); // [B][16][HW]
    // relu': ga = gh where h > 0 (Where is ~3x faster than Mul by Sign(h) here)
    const ga = g.op('Where', [g.op('Greater', [h, zero]), gh, zero]);
    gb1.push(g.op('ReduceSum', [ga, g.ints([2])], { keepdims: 0 })); // [B][16]
    // Layer 1: dw1 += corr(ga, s); g_r = gz + conv^T(ga, w1)[0..2]
    const colA = shiftColumns(g, g.reshape(ga, [B, CHANNELS, H, W]), { batch: B, channels: CHANNELS, width: W, height: H }, -1); // [B][144][HW]
    const s = g.reshape(n.state(t), [B, CHANNELS, HW]);
    gw1.push(g.op('MatMul', [colA, g.op('Transpose', [s], { perm: [0, 2, 1] })])); // [B][144][16] = [k][o][i]
    const back = shiftSum(g, g.op('MatMul', [w1s, ga]), { batch: B, channels: RGB, width: W, height: H }, -1); // [B][3][H][W]
    gradR = g.op('Add', [gz, g.reshape(back, [B, RGB, HW])]); // [B][3][HW]
    if (t > 0) carried = g.op('Mul', [g.reshape(masks[t - 1]!, [B, 1, 1]), gradR]);
  }
  g.reshape(gradR, [B, RGB, H, W], n.gradRgb0);
  g.output(n.gradRgb0, n.gradRgb0, [B, RGB, H, W]);

  // Sum over time and lay out as params.ts: [k][o][i] -> [o][i][k].
  const sum = (xs: string[]) => (xs.length === 1 ? xs[0]! : g.op('Sum', xs));
  const oik = (x: string, rows: number) => g.reshape(g.op('Transpose', [g.reshape(x, [B, TAPS, rows, CHANNELS])], { perm: [0, 2, 3, 1] }), [B, rows * CHANNELS * TAPS]);
  const dw1 = oik(sum(gw1), CHANNELS);
  const db1 = sum(gb1);
  const dw2 = oik(sum(gw2), RGB);
  const db2 = sum(gb2);
  const zerosW2 = g.floats(0, [B, (CHANNELS - RGB) * CHANNELS * TAPS]);
  const zerosB2 = g.floats(0, [B, CHANNELS - RGB]);
  g.op('Concat', [dw1, db1, dw2, zerosW2, db2, zerosB2], { axis: 1 }, n.gradParams);
  g.output(n.gradParams, n.gradParams, [B, PARAM_COUNT]);
  return g.encode('nca_rollout_backward');
}
