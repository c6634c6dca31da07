/**
 * The growing NCA's rollout on onnxruntime: T steps forward keeping what the backward needs, then
 * backpropagation through time step by step (graph.ts has the formulas). One session per graph part;
 * every dimension is symbolic, so one GrowRollout serves any batch and grid size.
 *
 * Shapes: states [B][16][H][W], update masks [B][1][H][W] (1 = the cell fires), NCHW float32.
 */
import { openGraphSession, type Feed, type GraphSession } from '../model/onnx-networks/graph.js';
import { buildStepGraph, stepNames } from './graph.js';
import { GROW_CHANNELS, WEIGHT_NAMES, WEIGHT_SHAPES, zeroWeightsLike, type GrowWeights } from './params.js';
import type { Rng } from '../rng.js';

export interface GridShape {
  batch: number;
  height: number;
  width: number;
}

interface SavedStep {
  mask: Float32Array;
  perception: Float32Array;
  hidden: Float32Array;
  alive: Float32Array;
}

/** Fills `mask` ([B][1][H][W]) with 1 where a uniform draw is < fireRate, else 0 (fireRate 1: all 1). */
export function fillUpdateMask(rng: Rng, mask: Float32Array, fireRate: number): Float32Array {
  if (fireRate >= 1) return mask.fill(1);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < fireRate ? 1 : 0;
  return mask;
}

export class GrowRollout {
  private saved: SavedStep[] = [];
  private savedShape: GridShape | null = null;

  private constructor(
    private readonly forwardSession: GraphSession,
    private readonly savedSession: GraphSession,
    private readonly backwardSession: GraphSession,
  ) {}

  /** `threads`: onnxruntime intra-op threads (default: the number of cores). Call dispose(). */
  static async create(opts: { threads?: number } = {}): Promise<GrowRollout> {
    const [f, s, b] = await Promise.all((['forward', 'forward-saved', 'backward'] as const).map((part) => openGraphSession(buildStepGraph(part), opts)));
    return new GrowRollout(f!, s!, b!);
  }

  private weightFeeds(w: GrowWeights): Record<string, Feed> {
    return Object.fromEntries(WEIGHT_NAMES.map((k) => [k, { data: w[k], dims: [...WEIGHT_SHAPES[k]] }]));
  }

  /** One step without keeping anything (rendering, evaluation). Returns the next state (a new array). */
  async step(state: Float32Array, mask: Float32Array, weights: GrowWeights, shape: GridShape): Promise<Float32Array> {
    const { batch, height, width } = checkShape(state, mask, shape);
    const out = await this.forwardSession.run(
      { ...this.weightFeeds(weights), [stepNames.state]: { data: state, dims: [batch, GROW_CHANNELS, height, width] }, [stepNames.mask]: { data: mask, dims: [batch, 1, height, width] } },
      [stepNames.next],
    );
    return out[stepNames.next]!;
  }

  /**
   * `masks.length` steps from `state`, keeping the activations for backward(). Returns every state:
   * states[0] = the input, states[t + 1] = after step t.
   */
  async forward(state: Float32Array, masks: readonly Float32Array[], weights: GrowWeights, shape: GridShape): Promise<Float32Array[]> {
    const { batch, height, width } = shape;
    const states = [state];
    this.saved = [];
    this.savedShape = shape;
    const wf = this.weightFeeds(weights);
    for (const mask of masks) {
      checkShape(states[states.length - 1]!, mask, shape);
      const out = await this.savedSession.run(
        { ...wf, [stepNames.state]: { data: states[states.length - 1]!, dims: [batch, GROW_CHANNELS, height, width] }, [stepNames.mask]: { data: mask, dims: [batch, 1, height, width] } },
        [stepNames.next, stepNames.perception, stepNames.hidden, stepNames.alive],
      );
      states.push(out[stepNames.next]!);
      this.saved.push({ mask, perception: out[stepNames.perception]!, hidden: out[stepNames.hidden]!, alive: out[stepNames.alive]! });
    }
    return states;
  }

  /**
   * Backpropagation through the last forward(): `gradFinal` = dL/d(final state) [B][16][H][W].
   * Returns dL/d(weights) (summed over steps) and dL/d(initial state). Frees the saved activations.
   * `addGrad(i, g)`, when given, may add into g (dL/d states[i], i = 1..steps - 1, last first) the
   * gradient of a loss on that intermediate state (a loss over several steps of the rollout).
   */
  async backward(gradFinal: Float32Array, weights: GrowWeights, addGrad?: (stateIndex: number, grad: Float32Array) => void): Promise<{ grads: GrowWeights; gradState: Float32Array }> {
    const shape = this.savedShape;
    if (!shape || this.saved.length === 0) throw new Error('GrowRollout.backward: call forward() first');
    const { batch, height, width } = shape;
    const plane = [batch, 1, height, width];
    const grads = zeroWeightsLike();
    const wf = this.weightFeeds(weights);
    const fetch = [stepNames.gradState, ...WEIGHT_NAMES.map(stepNames.grad)];
    let g = gradFinal;
    const steps = this.saved.length;
    for (let t = steps - 1; t >= 0; t--) {
      const s = this.saved[t]!;
      if (addGrad && t < steps - 1) addGrad(t + 1, g); // g = dL/d states[t + 1], the input of step t
      const out = await this.backwardSession.run(
        {
          ...wf,
          [stepNames.gradNext]: { data: g, dims: [batch, GROW_CHANNELS, height, width] },
          [stepNames.mask]: { data: s.mask, dims: plane },
          [stepNames.perception]: { data: s.perception, dims: [batch, 48, height, width] },
          [stepNames.hidden]: { data: s.hidden, dims: [batch, 128, height, width] },
          [stepNames.alive]: { data: s.alive, dims: plane },
        },
        fetch,
      );
      for (const k of WEIGHT_NAMES) {
        const acc = grads[k], d = out[stepNames.grad(k)]!;
        for (let i = 0; i < acc.length; i++) acc[i]! += d[i]!;
      }
      g = out[stepNames.gradState]!;
      this.saved.pop();
    }
    this.savedShape = null;
    return { grads, gradState: g };
  }

  async dispose(): Promise<void> {
    this.saved = [];
    await Promise.all([this.forwardSession.dispose(), this.savedSession.dispose(), this.backwardSession.dispose()]);
  }
}

function checkShape(state: Float32Array, mask: Float32Array, shape: GridShape): GridShape {
  const { batch, height, width } = shape;
  const cells = batch * height * width;
  if (state.length !== cells * GROW_CHANNELS) throw new RangeError(`state has ${state.length} values, expected [${batch}][${GROW_CHANNELS}][${height}][${width}]`);
  if (mask.length !== cells) throw new RangeError(`mask has ${mask.length} values, expected [${batch}][1][${height}][${width}]`);
  return shape;
}
