import { invalidParameterError, requireInt, requireNumber } from '../errors.js';
import { GraphBuilder } from '../onnx-graph-writer.js';
import { CHANNELS, requireParams, type NcaParams, type Protocol } from './params.js';

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
   * browser page's; 'engine' is the faster one createEngine uses (the first step's input joined and
   * padded by the caller; see GraphForm and docs/video.md#profile).
   */
  form?: GraphForm;
}

/**
 * - `portable`: the inputs of graphNames; every step pads its input and its hidden layer by one cell of
 *   torus (two Pad nodes) after a Concat of state and noise.
 * - `engine` (createEngine's): the first step's input comes joined and padded by the caller: `padded`
 *   [N][inW1][H+4][W+4], the carried channels and the step's hidden noise (or all 16 channels under the
 *   free protocol) with PAD = 2 cells of torus around each plane; later unrolled steps take noise{k}
 *   [N][16-carry][H+4][W+4] padded the same way and pad their carried channels once by 2. The first 3 x 3
 *   convolution runs on the padded grid without padding, so its output is the hidden layer already padded
 *   by one cell, as the second convolution needs it: no Pad of 16 channels, no Concat in the first step.
 *   `state` [N][carry][H][W] is still fed (the residual). Same weights, same arithmetic per cell.
 */
export type GraphForm = 'portable' | 'engine';
/** Cells of torus around an 'engine' graph's padded inputs: the reach of one step (two 3 x 3 convolutions). */
export const PAD = 2;
/** Name of an 'engine' graph's first-step input. */
export const PADDED_INPUT = 'padded';

/**
 * Names of the graph's inputs and outputs.
 * Inputs:  `state` [N][S][H][W] (S = 16 for free, `carry` otherwise); `noise{k}` [N][16-carry][H][W]
 *          for k < steps when hidden = noise; `w1, b1, w2, b2` when weights are fed. (The 'engine'
 *          form: `padded` and noise{k} for 0 < k < steps, see GraphForm.)
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

/** Shapes of the weights as the graph uses them (the carry protocol drops unused rows/columns). */
export function graphWeights(params: NcaParams, protocol: StepProtocol): { w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array; inW1: number; outW2: number } {
  if (protocol.kind === 'free') return { w1: params.w1, b1: params.b1, w2: params.w2, b2: params.b2, inW1: CHANNELS, outW2: CHANNELS };
  const c = protocol.carry;
  // Hidden = zero: input columns c..15 of w1 multiply zeros, drop them. Carry: only output rows 0..c-1 of w2 are used.
  const inW1 = protocol.hidden === 'zero' ? c : CHANNELS;
  const w1 = inW1 === CHANNELS ? params.w1 : new Float32Array(CHANNELS * inW1 * 9);
  if (inW1 !== CHANNELS) {
    for (let o = 0; o < CHANNELS; o++) for (let i = 0; i < inW1; i++) w1.set(params.w1.subarray((o * CHANNELS + i) * 9, (o * CHANNELS + i + 1) * 9), (o * inW1 + i) * 9);
  }
  return { w1, b1: params.b1, w2: params.w2.subarray(0, c * CHANNELS * 9), b2: params.b2.subarray(0, c), inW1, outW2: c };
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
  const g = new GraphBuilder();

  const free = protocol.kind === 'free';
  const carry = free ? CHANNELS : protocol.carry;
  const hidden = CHANNELS - carry;
  const noise = !free && protocol.hidden === 'noise';
  const inW1 = free || noise ? CHANNELS : carry;
  const outW2 = free ? CHANNELS : carry;
  const wrap = { mode: 'wrap' };

  if (spec.form !== undefined && spec.form !== 'portable' && spec.form !== 'engine') throw invalidParameterError('form', 'one of portable, engine', spec.form);
  const engineForm = spec.form === 'engine';
  const shapes = { w1: [CHANNELS, inW1, 3, 3], b1: [CHANNELS], w2: [outW2, CHANNELS, 3, 3], b2: [outW2] };
  const baked = spec.params ? graphWeights(spec.params, protocol) : null;
  const [w1, b1, w2, b2] = (['w1', 'b1', 'w2', 'b2'] as const).map((name) => (baked ? g.initializer(name, baked[name], shapes[name]) : g.input(name, shapes[name])));
  // Circular padding on each spatial side: pads = [begin N,C,H,W, end N,C,H,W].
  const pads1 = g.ints([0, 0, 1, 1, 0, 0, 1, 1]);
  // onnxruntime wraps a side of 1 cell wrongly by 2 cells: such a side is padded by 1 and then by 1 more (right for 1 cell only)
  const tinySide = H < PAD || W < PAD;
  const [padH, padW] = [H < PAD ? 1 : PAD, W < PAD ? 1 : PAD];
  const padBy2 = (x: string): string => {
    const once = g.op('Pad', [x, g.ints([0, 0, padH, padW, 0, 0, padH, padW])], wrap);
    return tinySide ? g.op('Pad', [once, g.ints([0, 0, PAD - padH, PAD - padW, 0, 0, PAD - padH, PAD - padW])], wrap) : once;
  };

  let cur = g.input(graphNames.state, [N, carry, H, W]);
  const padded = engineForm ? g.input(PADDED_INPUT, [N, inW1, H + 2 * PAD, W + 2 * PAD]) : '';
  for (let k = 0; k < K; k++) {
    let d: string;
    if (engineForm) {
      // Stage 1 on the grid padded by 2, without padding: h = relu(conv3x3(x, w1) + b1) comes out padded by 1.
      let x = padded;
      if (k > 0) {
        x = padBy2(cur);
        if (noise) x = g.op('Concat', [x, g.input(graphNames.noise(k), [N, hidden, H + 2 * PAD, W + 2 * PAD])], { axis: 1 });
      }
      const h = g.op('Relu', [g.op('Conv', [x, w1, b1])]);
      // Stage 2 on the padded hidden layer: d = conv3x3(h, w2) + b2
      d = g.op('Conv', [h, w2, b2]);
    } else {
      const x = noise ? g.op('Concat', [cur, g.input(graphNames.noise(k), [N, hidden, H, W])], { axis: 1 }) : cur;
      // Stage 1: h = relu(conv3x3_circular(x, w1) + b1)
      const h = g.op('Relu', [g.op('Conv', [g.op('Pad', [x, pads1], wrap), w1, b1])]);
      // Stage 2: d = conv3x3_circular(h, w2) + b2, residual on the carried channels
      d = g.op('Conv', [g.op('Pad', [h, pads1], wrap), w2, b2]);
    }
    const last = k === K - 1;
    const frame = graphNames.frame(k);
    if (free) {
      const next = g.op('Add', [cur, d], {}, last ? graphNames.next : undefined);
      g.op('Sigmoid', [g.slice(next, 1, 0, 3)], {}, frame);
      cur = next;
    } else {
      cur = protocol.squash === 'sigmoid' ? g.op('Sigmoid', [g.op('Add', [cur, d])], {}, frame) : g.op('Add', [cur, d], {}, frame);
    }
    g.output(frame, frame, [N, free ? 3 : carry, H, W]);
  }
  g.output(cur, graphNames.next, [N, carry, H, W]);
  return g.encode('nca_steps');
}
