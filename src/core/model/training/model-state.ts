/**
 * The model while it trains: each trained tensor as a tfjs variable (what the networks read) with a
 * float32 master copy and Adam's moments (plain arrays: a fused JS update is ~50x faster than a dozen
 * tfjs-cpu ops per tensor), and the BatchNorm running statistics as tensors.
 */
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { UserError } from '../../errors.js';
import { weightSpecs } from '../networks.js';
import type { Tf } from '../tf.js';
import { shapeSize, type NamedArrays } from '../weights.js';
import { isStatistic } from './batch-norm-stats.js';
import { adamStep, type AdamSlot } from './optimizer.js';

export interface ModelState {
  tf: Tf;
  /** Trainable variables by name. */
  vars: Record<string, Variable>;
  /** Master copies of the trainable values, and Adam's first and second moments, by name. */
  values: Record<string, Float32Array>;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  /** BatchNorm running statistics by name (replaced each iteration). */
  stats: Record<string, Tensor>;
}

/** The state of weights `named` (every tensor of weightSpecs()), with Adam's moments from a checkpoint or zero. */
export function buildState(tf: Tf, named: NamedArrays, moments?: { m: NamedArrays; v: NamedArrays }): ModelState {
  const state: ModelState = { tf, vars: {}, values: {}, m: {}, v: {}, stats: {} };
  for (const { name, shape } of weightSpecs()) {
    const a = named.get(name);
    if (!a) throw new UserError(`the checkpoint has no tensor ${name}; train again without --resume`);
    if (a.data.length !== shapeSize(shape)) throw new UserError(`the checkpoint's tensor ${name} has shape [${a.shape.join(', ')}], expected [${shape.join(', ')}]; train again without --resume`);
    if (isStatistic(name)) {
      state.stats[name] = tf.tensor(a.data, shape);
      continue;
    }
    state.values[name] = Float32Array.from(a.data);
    state.vars[name] = tf.variable(tf.tensor(a.data, shape), true, `w/${name}`);
    const size = shapeSize(shape);
    const moment = (which: NamedArrays): Float32Array => {
      const a = which.get(name);
      if (!a || a.data.length !== size) throw new UserError(`the checkpoint has no Adam state for ${name}; train again without --resume`);
      return Float32Array.from(a.data);
    };
    state.m[name] = moments ? moment(moments.m) : new Float32Array(size);
    state.v[name] = moments ? moment(moments.v) : new Float32Array(size);
  }
  return state;
}

/** Every weight by name as the networks take them (variables and statistics). */
export function weightsRecord(state: ModelState): Record<string, Tensor> {
  return { ...state.vars, ...state.stats };
}

/** Every weight's values, in weightSpecs() order (what weights.bin holds). */
export function namedWeights(state: ModelState): NamedArrays {
  const named: NamedArrays = new Map();
  const all = weightsRecord(state);
  for (const { name } of weightSpecs()) {
    const t = all[name]!;
    named.set(name, { shape: [...t.shape], data: new Float32Array(t.dataSync()) });
  }
  return named;
}

/** The weights followed by Adam's moments as the checkpoint stores them (`adam.m/<name>`, `adam.v/<name>`). */
export function checkpointArrays(state: ModelState): NamedArrays {
  const named = namedWeights(state);
  for (const { name, shape } of weightSpecs()) {
    if (isStatistic(name)) continue;
    named.set(`adam.m/${name}`, { shape, data: state.m[name]! });
    named.set(`adam.v/${name}`, { shape, data: state.v[name]! });
  }
  return named;
}

/**
 * One optimizer step (optimizer.ts: global-norm clipping + Adam) on the trained tensors, from tfjs
 * gradients by variable name, at 1-based `step`; the variables take the new values. The global norm
 * is the one tfjs computes on its backend (float32 sums), as in every recorded run. Returns it. Weights
 * `trains` refuses (a fixed encoder) take no step and no part in the norm.
 */
export function applyGradients(state: ModelState, grads: Record<string, Tensor>, opts: { lr: number; step: number; clipNorm: number }, trains: (name: string) => boolean = () => true): number {
  const { tf } = state;
  const names = Object.keys(state.vars).filter(trains);
  const grad = (n: string): Tensor => {
    const g = grads[state.vars[n]!.name];
    if (!g) throw new Error(`no gradient for ${n}`);
    return g;
  };
  const gradNorm = tf.tidy(() => Math.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grad(n))))).dataSync()[0]!));
  const slots: AdamSlot[] = names.map((n) => ({ value: state.values[n]!, grad: grad(n).dataSync() as Float32Array, m: state.m[n]!, v: state.v[n]! }));
  adamStep(slots, { ...opts, gradNorm });
  for (const n of names) {
    const variable = state.vars[n]!;
    tf.tidy(() => variable.assign(tf.tensor(state.values[n]!.slice(), variable.shape))); // a copy: tfjs-cpu would keep a reference to the master copy
  }
  return gradNorm;
}

export function disposeState(state: ModelState): void {
  for (const group of [state.vars, state.stats]) for (const t of Object.values(group)) t.dispose();
}
