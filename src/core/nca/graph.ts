import onnxProto from 'onnx-proto';
import { invalidParameterError, requireInt, requireNumber } from '../errors.js';
import { CHANNELS, PARAM_COUNT, ncaParams, requireParams, type NcaParams, type Protocol } from './params.js';

const { onnx } = onnxProto;

/**
 * How the state is carried from one NCA step to the next.
 * - `free`: the whole 16-channel state is kept (x_{t+1} = step(x_t)).
 * - `carry`: the first `carry` channels are kept (optionally through a sigmoid), and the hidden
 *   channels are rebuilt every step: fresh N(0, noiseStd^2) noise, or zeros.
 *   The seed's frame protocol is `{ kind: 'carry', carry: 3, squash: 'sigmoid', hidden: 'noise', noiseStd: 0.1 }`.
 */
export type StepProtocol =
  | { kind: 'free' }
  | { kind: 'carry'; carry: number; squash: 'sigmoid' | 'none'; hidden: 'noise' | 'zero'; noiseStd?: number };

/** The seed's viewer protocol (docs/design.md#the-model): RGB carried as an image, hidden channels re-drawn ~ N(0, 0.1^2). */
export const FRAME_PROTOCOL: StepProtocol = { kind: 'carry', carry: 3, squash: 'sigmoid', hidden: 'noise', noiseStd: 0.1 };
export const FREE_PROTOCOL: StepProtocol = { kind: 'free' };

/** The step protocol of a protocol name (a model's config, a parameters file, --protocol). */
export function protocolSteps(p: Protocol): StepProtocol {
  return p === 'free' ? FREE_PROTOCOL : FRAME_PROTOCOL;
}

/** Checks a step protocol: { kind: 'free' } or { kind: 'carry', carry 1..16, squash sigmoid|none, hidden noise|zero, noiseStd >= 0 }. */
export function requireStepProtocol(name: string, p: StepProtocol): StepProtocol {
  if (typeof p !== 'object' || p === null) throw invalidParameterError(name, "a step protocol ({ kind: 'free' } or FRAME_PROTOCOL)", p);
  if (p.kind === 'free') return p;
  if (p.kind !== 'carry') throw invalidParameterError(`${name}.kind`, 'one of free, carry', (p as { kind?: unknown }).kind);
  requireInt(`${name}.carry`, p.carry, 1, CHANNELS);
  if (p.squash !== 'sigmoid' && p.squash !== 'none') throw invalidParameterError(`${name}.squash`, 'one of sigmoid, none', p.squash);
  if (p.hidden !== 'noise' && p.hidden !== 'zero') throw invalidParameterError(`${name}.hidden`, 'one of noise, zero', p.hidden);
  if (p.noiseStd !== undefined) requireNumber(`${name}.noiseStd`, p.noiseStd, 0, 1e3);
  return p;
}

export interface GraphSpec {
  batch: number;
  width: number;
  height: number;
  /** NCA steps unrolled in one session run. */
  steps: number;
  protocol: StepProtocol;
  /**
   * Weights baked into the graph as initializers (lets onnxruntime pre-pack them into its blocked
   * NCHWc convolution: ~1.6x faster) or, when absent, fed as inputs `w1, b1, w2, b2` on every run
   * (for weights that change while playing: perturbation, latent tracks).
   */
  params?: NcaParams;
  /**
   * The inputs' form (default 'portable'): 'portable' is the interface documented at graphNames, the
   * browser page's; 'engine' is the faster one createEngine uses (hidden noise fed already padded,
   * weights split; see ENGINE_FORM below and docs/video.md#profile).
   */
  form?: GraphForm;
}

/**
 * - `portable`: noise{k} [N][16-carry][H][W]; weights `w1, b1, w2, b2` as in params; every step pads its
 *   input and its hidden layer by one cell of torus (two Pad nodes and a Concat of state and noise).
 * - `engine`: noise{k} [N][16-carry][H+4][W+4], drawn in the same order and padded by NOISE_PAD = 2 cells
 *   of torus by the caller (`drawPaddedNoise`); the step pads only the carried channels (by 2), the first
 *   convolution runs on the padded grid without padding, so its output is the hidden layer already padded
 *   by one cell (one Pad and the Concat of 16 channels fewer; ORT fuses the state's and the noise's
 *   convolutions into one). When few channels come out of the second convolution (carry <= 4: the frame
 *   protocol's 3), it runs as a 1 x 1 convolution to 9 x carry channels (one per tap) and a sum of 9 shifted
 *   slices instead of im2col (a 144-row matrix per cell for 3 outputs). The same arithmetic to float rounding.
 *   Weights (graphWeights(params, protocol, 'engine')): `w1s` [16][carry][3][3] and `w1n` [16][16-carry][3][3]
 *   under hidden noise, else `w1`; `b1`; `w2r` [9 carry][16][1][1] and `b2r` [9 carry] (the shifted sum,
 *   bias on the centre tap), else `w2`, `b2`.
 */
export type GraphForm = 'portable' | 'engine';
/** Cells of torus around the hidden noise of an 'engine' graph: the reach of one step (two 3 x 3 convolutions). */
export const NOISE_PAD = 2;
/** The 'engine' form's second convolution runs as 9 shifted slices at most this many output channels. */
const SHIFTED_SUM_CHANNELS = 4;

/**
 * Names of the graph's inputs and outputs.
 * Inputs:  `state` [N][S][H][W] (S = 16 for free, `carry` otherwise); `noise{k}` [N][16-carry][H][W]
 *          for k < steps when hidden = noise; `w1, b1, w2, b2` when weights are fed.
 * Outputs: `frame{k}` for k < steps, the visible planes after step k+1: [N][3][H][W] = sigmoid of
 *          channels 0..2 (free), the carried channels [N][carry][H][W] (carry); `next` the state after
 *          the last step (same shape as `state`).
 */
export const graphNames = {
  state: 'state',
  next: 'next',
  noise: (k: number) => `noise${k}`,
  frame: (k: number) => `frame${k}`,
};

/** A weight tensor of the graph: data and dims. */
export interface GraphTensor {
  data: Float32Array;
  dims: number[];
}

/**
 * The weights as the graph of a protocol and form uses them, by input name (the carry protocol drops
 * unused rows and columns; the 'engine' form splits and reshapes them, see GraphForm).
 */
export function graphWeights(params: NcaParams, protocol: StepProtocol, form: GraphForm = 'portable'): Record<string, GraphTensor> {
  const free = protocol.kind === 'free';
  const carry = free ? CHANNELS : protocol.carry;
  const noise = !free && protocol.hidden === 'noise';
  // Hidden = zero: input columns carry..15 of w1 multiply zeros, drop them. Carry: only output rows 0..carry-1 of w2 are used.
  const inW1 = free || noise ? CHANNELS : carry;
  const outW2 = free ? CHANNELS : carry;
  /** Columns i0..i1-1 of w1: [16][i1-i0][3][3]. */
  const w1Columns = (i0: number, i1: number): Float32Array => {
    if (i0 === 0 && i1 === CHANNELS) return params.w1;
    const out = new Float32Array(CHANNELS * (i1 - i0) * 9);
    for (let o = 0; o < CHANNELS; o++) out.set(params.w1.subarray((o * CHANNELS + i0) * 9, (o * CHANNELS + i1) * 9), o * (i1 - i0) * 9);
    return out;
  };
  const t: Record<string, GraphTensor> = {};
  if (form === 'engine' && noise) {
    t.w1s = { data: w1Columns(0, carry), dims: [CHANNELS, carry, 3, 3] };
    t.w1n = { data: w1Columns(carry, CHANNELS), dims: [CHANNELS, CHANNELS - carry, 3, 3] };
  } else {
    t.w1 = { data: w1Columns(0, inW1), dims: [CHANNELS, inW1, 3, 3] };
  }
  t.b1 = { data: params.b1, dims: [CHANNELS] };
  if (form === 'engine' && outW2 <= SHIFTED_SUM_CHANNELS) {
    // w2r[j * outW2 + o][i] = w2[o][i][j] for tap j = ky * 3 + kx; the bias on the centre tap (j = 4) only.
    const w2r = new Float32Array(9 * outW2 * CHANNELS);
    const b2r = new Float32Array(9 * outW2);
    for (let j = 0; j < 9; j++) for (let o = 0; o < outW2; o++) for (let i = 0; i < CHANNELS; i++) w2r[(j * outW2 + o) * CHANNELS + i] = params.w2[(o * CHANNELS + i) * 9 + j]!;
    b2r.set(params.b2.subarray(0, outW2), 4 * outW2);
    t.w2r = { data: w2r, dims: [9 * outW2, CHANNELS, 1, 1] };
    t.b2r = { data: b2r, dims: [9 * outW2] };
  } else {
    t.w2 = { data: params.w2.subarray(0, outW2 * CHANNELS * 9), dims: [outW2, CHANNELS, 3, 3] };
    t.b2 = { data: params.b2.subarray(0, outW2), dims: [outW2] };
  }
  return t;
}

/** Builds the ONNX model (opset 19, for Pad mode "wrap") of `steps` unrolled NCA steps. */
export function buildNcaGraph(spec: GraphSpec): Uint8Array {
  if (typeof spec !== 'object' || spec === null) throw invalidParameterError('spec', 'a graph spec { batch, width, height, steps, protocol }', spec);
  // As createEngine: 1..16384 cells per side, batches up to 65536, up to 1000 unrolled steps.
  const N = requireInt('batch', spec.batch, 1, 65536);
  const W = requireInt('width', spec.width, 1, 16384);
  const H = requireInt('height', spec.height, 1, 16384);
  const K = requireInt('steps', spec.steps, 1, 1000);
  const protocol = requireStepProtocol('protocol', spec.protocol);
  if (spec.params !== undefined) requireParams('params', spec.params);
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  const outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  const inits: InstanceType<typeof onnx.TensorProto>[] = [];

  const free = protocol.kind === 'free';
  const carry = free ? CHANNELS : protocol.carry;
  const hidden = CHANNELS - carry;
  const noise = !free && protocol.hidden === 'noise';
  const inW1 = free || noise ? CHANNELS : carry;
  const outW2 = free ? CHANNELS : carry;

  const valueInfo = (name: string, dims: number[]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const floatTensor = (name: string, dims: number[], data: Float32Array) =>
    onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
  const int64Tensor = (name: string, values: number[]) => onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
  const node = (opType: string, input: string[], output: string[], attribute: InstanceType<typeof onnx.AttributeProto>[] = []) =>
    nodes.push(onnx.NodeProto.create({ opType, input, output, attribute, name: output[0] }));
  const wrapMode = onnx.AttributeProto.create({ name: 'mode', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('wrap') });

  const engineForm = (spec.form ?? 'portable') === 'engine';
  if (spec.form !== undefined && spec.form !== 'portable' && spec.form !== 'engine') throw invalidParameterError('form', 'one of portable, engine', spec.form);
  const weightShapes: Record<string, number[]> = engineForm
    ? Object.fromEntries(Object.entries(graphWeights(zeroParams(), protocol, 'engine')).map(([name, t]) => [name, t.dims]))
    : { w1: [CHANNELS, inW1, 3, 3], b1: [CHANNELS], w2: [outW2, CHANNELS, 3, 3], b2: [outW2] };
  if (spec.params) {
    for (const [name, t] of Object.entries(graphWeights(spec.params, protocol, engineForm ? 'engine' : 'portable'))) inits.push(floatTensor(name, t.dims, t.data));
  } else {
    for (const [name, dims] of Object.entries(weightShapes)) inputs.push(valueInfo(name, dims));
  }
  const shifted = engineForm && 'w2r' in weightShapes;
  // Circular padding on each spatial side: pads = [begin N,C,H,W, end N,C,H,W].
  inits.push(int64Tensor('pads', [0, 0, 1, 1, 0, 0, 1, 1]));
  // onnxruntime wraps a side of 1 cell wrongly by 2 cells: such a side is padded by 1 and then by 1 more (right for 1 cell only)
  const tinySide = H < NOISE_PAD || W < NOISE_PAD;
  const [padH, padW] = [H < NOISE_PAD ? 1 : NOISE_PAD, W < NOISE_PAD ? 1 : NOISE_PAD];
  if (engineForm) inits.push(int64Tensor('pads2', [0, 0, padH, padW, 0, 0, padH, padW]));
  if (engineForm && tinySide) inits.push(int64Tensor('pads1More', [0, 0, NOISE_PAD - padH, NOISE_PAD - padW, 0, 0, NOISE_PAD - padH, NOISE_PAD - padW]));
  if (free) inits.push(int64Tensor('rgbStart', [0]), int64Tensor('rgbEnd', [3]), int64Tensor('rgbAxis', [1]));
  if (shifted) {
    // Tap j = ky * 3 + kx of the 1 x 1 convolution's output: channels j*carry .. (j+1)*carry - 1, shifted by (ky, kx).
    inits.push(int64Tensor('tapAxes', [1, 2, 3]));
    for (let j = 0; j < 9; j++) {
      const ky = Math.floor(j / 3), kx = j % 3;
      inits.push(int64Tensor(`tapStart${j}`, [j * outW2, ky, kx]), int64Tensor(`tapEnd${j}`, [(j + 1) * outW2, ky + H, kx + W]));
    }
  }

  inputs.push(valueInfo(graphNames.state, [N, carry, H, W]));
  let cur = graphNames.state;
  for (let k = 0; k < K; k++) {
    if (noise) inputs.push(valueInfo(graphNames.noise(k), engineForm ? [N, hidden, H + 2 * NOISE_PAD, W + 2 * NOISE_PAD] : [N, hidden, H, W]));
    let update: string[]; // the update d (or its 9 shifted taps), added to the carried channels (or all of them)
    if (engineForm) {
      // Stage 1 on the grid padded by 2: h = relu(conv3x3(x, w1) + b1) comes out padded by 1, as stage 2 needs it.
      node('Pad', [cur, 'pads2'], [tinySide ? `sp1_${k}` : `sp${k}`], [wrapMode]);
      if (tinySide) node('Pad', [`sp1_${k}`, 'pads1More'], [`sp${k}`], [wrapMode]);
      if (noise) {
        node('Conv', [`sp${k}`, 'w1s'], [`cs${k}`]);
        node('Conv', [graphNames.noise(k), 'w1n', 'b1'], [`cn${k}`]);
        node('Add', [`cn${k}`, `cs${k}`], [`c${k}`]);
      } else {
        node('Conv', [`sp${k}`, 'w1', 'b1'], [`c${k}`]);
      }
      node('Relu', [`c${k}`], [`h${k}`]);
      if (shifted) {
        node('Conv', [`h${k}`, 'w2r', 'b2r'], [`t${k}`]);
        const taps = Array.from({ length: 9 }, (_, j) => `t${k}_${j}`);
        taps.forEach((tap, j) => node('Slice', [`t${k}`, `tapStart${j}`, `tapEnd${j}`, 'tapAxes'], [tap]));
        update = taps;
      } else {
        node('Conv', [`h${k}`, 'w2', 'b2'], [`d${k}`]);
        update = [`d${k}`];
      }
    } else {
      let x = cur;
      if (noise) {
        node('Concat', [cur, graphNames.noise(k)], [`x${k}`], [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })]);
        x = `x${k}`;
      }
      // Stage 1: h = relu(conv3x3_circular(x, w1) + b1)
      node('Pad', [x, 'pads'], [`xp${k}`], [wrapMode]);
      node('Conv', [`xp${k}`, 'w1', 'b1'], [`c${k}`]);
      node('Relu', [`c${k}`], [`h${k}`]);
      // Stage 2: d = conv3x3_circular(h, w2) + b2, residual on the carried channels
      node('Pad', [`h${k}`, 'pads'], [`hp${k}`], [wrapMode]);
      node('Conv', [`hp${k}`, 'w2', 'b2'], [`d${k}`]);
      update = [`d${k}`];
    }
    const last = k === K - 1;
    const addUpdate = (out: string) => node(update.length === 1 ? 'Add' : 'Sum', [cur, ...update], [out]);
    if (free) {
      const next = last ? graphNames.next : `s${k}`;
      addUpdate(next);
      node('Slice', [next, 'rgbStart', 'rgbEnd', 'rgbAxis'], [`rgb${k}`]);
      node('Sigmoid', [`rgb${k}`], [graphNames.frame(k)]);
      cur = next;
    } else {
      const squash = protocol.squash === 'sigmoid';
      const frame = graphNames.frame(k);
      addUpdate(squash ? `pre${k}` : frame);
      if (squash) node('Sigmoid', [`pre${k}`], [frame]);
      cur = frame;
    }
    outputs.push(valueInfo(graphNames.frame(k), [N, free ? 3 : carry, H, W]));
  }
  if (!free) node('Identity', [cur], [graphNames.next]);
  outputs.push(valueInfo(graphNames.next, [N, carry, H, W]));

  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'nca',
    opsetImport: [{ domain: '', version: 19 }],
    graph: { name: 'nca_steps', node: nodes, initializer: inits, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** All-zero weights (the shapes of graphWeights without real weights). */
function zeroParams(): NcaParams {
  return ncaParams(new Float32Array(PARAM_COUNT));
}
