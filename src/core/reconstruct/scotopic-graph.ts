/**
 * ONNX graphs of one step of the scotopic NCA (docs/reconstruct.md) and of its analytic backward
 * pass, for a batch of B grids of H x W cells sharing ONE set of weights. Zero padding (a video has
 * edges; it is not a torus).
 *
 * State s [B][C][H][W], channels in this order: prediction (P = 1 grey or 3 colour), hidden (N),
 * input register (P), freshness (1). The first U = P + N channels are the NCA's to write; the last
 * P + 1 are written only by the observations (scotopic.ts), between frames.
 *
 *   h  = relu(conv3x3(s, w1) + b1)          w1 [F][C][3][3], b1 [F]       h [B][F][H][W]
 *   d  = conv1x1(h, w2) + b2                w2 [U][F][1][1], b2 [U]       d [B][U][H][W]
 *   s' = s + [d ; 0]                        (the register channels pass through)
 *
 * Backward, with gs' = dL/ds' (gd = gs'[:, 0..U-1]):
 *
 *   dw2 = sum_{b,p} gd[b][u](p) h[b][f](p)         db2 = sum gd
 *   gh  = conv1x1^T(gd, w2)                         ga  = gh where h > 0
 *   dw1[f][c][ky][kx] = sum_{b,p} ga[b][f](p) s[b][c](p + (ky-1, kx-1))   (zero outside)
 *   db1 = sum ga
 *   gs  = gs' + conv3x3^T(ga, w1)                   (ConvTranspose with pads 1: the adjoint of the zero-padded Conv)
 *
 * dw1 is a batched MatMul of ga [B][F][HW] with the 9 shifted copies of s stacked as columns
 * [B][HW][9C] (Pad + 9 Slices + Concat), summed over the batch.
 */
import { GraphBuilder } from '../onnx-graph-writer.js';


export interface ScotopicShape {
  batch: number;
  width: number;
  height: number;
  /** All channels C = 2P + N + 1. */
  channels: number;
  /** Channels the NCA writes, U = P + N. */
  updated: number;
  /** Hidden features F of the 3x3 layer. */
  features: number;
}

/** Graph input and output names. */
export const stepNames = {
  state: 'state', w1: 'w1', b1: 'b1', w2: 'w2', b2: 'b2',
  next: 'next', hidden: 'hidden',
  gradNext: 'gradNext', gradState: 'gradState', gw1: 'gw1', gb1: 'gb1', gw2: 'gw2', gb2: 'gb2',
} as const;


/** The step's forward graph: inputs state, w1, b1, w2, b2; outputs next (s') and hidden (h). */
export function buildStepGraph(shape: ScotopicShape): Uint8Array {
  const { batch: B, width: W, height: H, channels: C, updated: U, features: F } = shape;
  const g = new GraphBuilder();
  const s = g.input(stepNames.state, [B, C, H, W]);
  const w1 = g.input(stepNames.w1, [F, C, 3, 3]);
  const b1 = g.input(stepNames.b1, [F]);
  const w2 = g.input(stepNames.w2, [U, F, 1, 1]);
  const b2 = g.input(stepNames.b2, [U]);
  // h = relu(conv3x3(s) + b1), zero padding
  const h = g.op('Relu', [g.op('Conv', [s, w1, b1], { pads: [1, 1, 1, 1] })], {}, stepNames.hidden);
  // d = conv1x1(h) + b2; residual on the first U channels, the register channels pass through
  const d = g.op('Conv', [h, w2, b2]);
  const head = g.op('Slice', [s, g.ints([0]), g.ints([U]), g.ints([1])]);
  const tail = g.op('Slice', [s, g.ints([U]), g.ints([C]), g.ints([1])]);
  g.op('Concat', [g.op('Add', [head, d]), tail], { axis: 1 }, stepNames.next);
  g.output(stepNames.next, stepNames.next, [B, C, H, W]);
  g.output(stepNames.hidden, stepNames.hidden, [B, F, H, W]);
  return g.encode('scotopic_step');
}

/**
 * The step's backward graph: inputs state (s), hidden (h), gradNext (dL/ds'), w1, w2; outputs
 * gradState (dL/ds) and the weight gradients gw1, gb1, gw2, gb2 (summed over the batch).
 */
export function buildStepBackwardGraph(shape: ScotopicShape): Uint8Array {
  const { batch: B, width: W, height: H, channels: C, updated: U, features: F } = shape;
  const HW = H * W;
  const g = new GraphBuilder();
  const s = g.input(stepNames.state, [B, C, H, W]);
  const h = g.input(stepNames.hidden, [B, F, H, W]);
  const gNext = g.input(stepNames.gradNext, [B, C, H, W]);
  const w1 = g.input(stepNames.w1, [F, C, 3, 3]);
  const w2 = g.input(stepNames.w2, [U, F, 1, 1]);

  // the 1x1 layer: dw2 = gd x h^T summed over the batch, db2 = sum gd
  const gd = g.op('Slice', [gNext, g.ints([0]), g.ints([U]), g.ints([1])]);
  const gdRows = g.op('Reshape', [gd, g.ints([B, U, HW])]);
  const hRows = g.op('Reshape', [h, g.ints([B, F, HW])]);
  const gw2 = g.op('ReduceSum', [g.op('MatMul', [gdRows, g.op('Transpose', [hRows], { perm: [0, 2, 1] })]), g.ints([0])], { keepdims: 0 });
  g.op('Reshape', [gw2, g.ints([U, F, 1, 1])], {}, stepNames.gw2);
  g.op('ReduceSum', [gd, g.ints([0, 2, 3])], { keepdims: 0 }, stepNames.gb2);

  // back through relu
  const gh = g.op('ConvTranspose', [gd, w2]);
  const ga = g.op('Where', [g.op('Greater', [h, g.floats(0, [])]), gh, g.floats(0, [])]);
  g.op('ReduceSum', [ga, g.ints([0, 2, 3])], { keepdims: 0 }, stepNames.gb1);

  // dw1: ga [B][F][HW] x columns of s [B][HW][C*9] (column c*9 + k = s shifted by tap k), summed over the batch
  const padded = g.op('Pad', [s, g.ints([0, 0, 1, 1, 0, 0, 1, 1])]);
  const taps: string[] = [];
  for (let ky = 0; ky < 3; ky++) {
    for (let kx = 0; kx < 3; kx++) {
      const tap = g.op('Slice', [padded, g.ints([ky, kx]), g.ints([ky + H, kx + W]), g.ints([2, 3])]);
      taps.push(g.op('Unsqueeze', [tap, g.ints([2])]));
    }
  }
  const cols = g.op('Reshape', [g.op('Concat', taps, { axis: 2 }), g.ints([B, C * 9, HW])]);
  const gaRows = g.op('Reshape', [ga, g.ints([B, F, HW])]);
  const gw1 = g.op('ReduceSum', [g.op('MatMul', [gaRows, g.op('Transpose', [cols], { perm: [0, 2, 1] })]), g.ints([0])], { keepdims: 0 });
  g.op('Reshape', [gw1, g.ints([F, C, 3, 3])], {}, stepNames.gw1);

  // dL/ds: the residual path plus the 3x3 layer's adjoint
  g.op('Add', [gNext, g.op('ConvTranspose', [ga, w1], { pads: [1, 1, 1, 1] })], {}, stepNames.gradState);

  g.output(stepNames.gradState, stepNames.gradState, [B, C, H, W]);
  g.output(stepNames.gw1, stepNames.gw1, [F, C, 3, 3]);
  g.output(stepNames.gb1, stepNames.gb1, [F]);
  g.output(stepNames.gw2, stepNames.gw2, [U, F, 1, 1]);
  g.output(stepNames.gb2, stepNames.gb2, [U]);
  return g.encode('scotopic_step_backward');
}
