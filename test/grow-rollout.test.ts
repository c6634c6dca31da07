import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrowRollout, fillUpdateMask } from '../src/core/grow/rollout.js';
import { referenceStep } from '../src/core/grow/reference.js';
import { lossAndGrad, perSampleLoss } from '../src/core/grow/loss.js';
import { GROW_CHANNELS, WEIGHT_NAMES, initialGrowWeights, type GrowWeights } from '../src/core/grow/params.js';
import { Rng } from '../src/core/rng.js';

const shape = { batch: 2, height: 7, width: 6 };
const cells = shape.batch * shape.height * shape.width;

/** A state alive in a blob (alpha well above 0.1 there, 0 elsewhere) with random other channels, and random weights (w2 not zero). */
function inputs(seed: number) {
  const rng = new Rng(seed);
  const weights = initialGrowWeights(rng);
  rng.fillUniform(weights.w2, -0.1, 0.1);
  rng.fillUniform(weights.b2, -0.05, 0.05);
  const { batch, height: H, width: W } = shape;
  const state = new Float32Array(cells * GROW_CHANNELS);
  for (let b = 0; b < batch; b++)
    for (let c = 0; c < GROW_CHANNELS; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const inside = Math.abs(y - 3) + Math.abs(x - 2 - b) <= 2;
          state[((b * GROW_CHANNELS + c) * H + y) * W + x] = inside ? (c === 3 ? 0.6 + 0.3 * rng.uniform() : rng.uniform()) : 0;
        }
  const masks = Array.from({ length: 3 }, () => fillUpdateMask(rng, new Float32Array(cells), 0.5));
  const target = rng.fillUniform(new Float32Array(4 * H * W), 0, 1);
  return { weights, state, masks, target };
}

function referenceLoss(weights: GrowWeights, state: Float32Array, masks: Float32Array[], target: Float32Array): number {
  let s: ArrayLike<number> = state;
  for (const m of masks) s = referenceStep(s, m, weights, shape);
  const per = perSampleLoss(s, target, shape.batch);
  return (per[0]! + per[1]!) / 2;
}

describe('growing NCA rollout on onnxruntime', () => {
  let rollout: GrowRollout;
  beforeAll(async () => {
    rollout = await GrowRollout.create({ threads: 1 });
  });
  afterAll(async () => {
    await rollout.dispose();
  });

  it('steps equal the plain reference step (alive masks, stochastic update, zero padding)', async () => {
    const { weights, state, masks } = inputs(1);
    const states = await rollout.forward(state, masks, weights, shape);
    let ref: ArrayLike<number> = state;
    for (let t = 0; t < masks.length; t++) {
      ref = referenceStep(ref, masks[t]!, weights, shape);
      const got = states[t + 1]!;
      let maxDiff = 0;
      for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - got[i]!));
      expect(maxDiff).toBeLessThan(1e-5);
    }
    // some cells died and some were born: the masks mattered
    const alive = (s: Float32Array) => s.reduce((n, v, i) => n + (Math.floor(i / (shape.height * shape.width)) % GROW_CHANNELS === 3 && v > 0.1 ? 1 : 0), 0);
    expect(alive(states[3]!)).not.toBe(alive(state));
    expect(await rollout.step(state, masks[0]!, weights, shape)).toEqual(states[1]);
  });

  it('analytic gradients of every weight equal central finite differences of the reference', async () => {
    const { weights, state, masks, target } = inputs(2);
    const states = await rollout.forward(state, masks, weights, shape);
    const gradFinal = new Float32Array(state.length);
    const { loss } = lossAndGrad(states[states.length - 1]!, target, shape.batch, gradFinal);
    expect(loss).toBeCloseTo(referenceLoss(weights, state, masks, target), 5);
    const { grads } = await rollout.backward(gradFinal, weights);
    const rng = new Rng(9);
    const eps = 1e-5;
    let worst = 0;
    for (const k of WEIGHT_NAMES) {
      const w = weights[k];
      // the 8 largest analytic gradients of this tensor and 4 random ones
      const order = Array.from(w.keys()).sort((a, b) => Math.abs(grads[k][b]!) - Math.abs(grads[k][a]!));
      const picks = [...order.slice(0, 8), ...Array.from({ length: 4 }, () => rng.int(w.length))];
      const scale = Math.abs(grads[k][order[0]!]!);
      expect(scale).toBeGreaterThan(0);
      for (const i of picks) {
        const v = w[i]!;
        w[i] = v + eps;
        const up = referenceLoss(weights, state, masks, target);
        w[i] = v - eps;
        const down = referenceLoss(weights, state, masks, target);
        w[i] = v;
        const fd = (up - down) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - grads[k][i]!) / scale);
      }
    }
    expect(worst).toBeLessThan(2e-3);
  });

  it('a loss on an intermediate state (addGrad) adds the gradient of that shorter rollout', async () => {
    const { weights, state, masks, target } = inputs(4);
    const grad = (s: Float32Array) => {
      const g = new Float32Array(state.length);
      lossAndGrad(s, target, shape.batch, g);
      return g;
    };
    // the loss at state 3 (the end) plus the loss at state 2, in one backward ...
    const states = await rollout.forward(state, masks, weights, shape);
    const seen: number[] = [];
    const both = await rollout.backward(grad(states[3]!), weights, (i, g) => {
      seen.push(i);
      if (i === 2) grad(states[2]!).forEach((v, j) => (g[j]! += v));
    });
    expect(seen).toEqual([2, 1]);
    // ... equals the backward of the 3-step loss plus that of the 2-step rollout's loss
    const full = await rollout.forward(state, masks, weights, shape).then((s) => rollout.backward(grad(s[3]!), weights));
    const short = await rollout.forward(state, masks.slice(0, 2), weights, shape).then((s) => rollout.backward(grad(s[2]!), weights));
    for (const k of WEIGHT_NAMES) {
      const scale = Math.max(...both.grads[k].map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      const shortScale = Math.max(...short.grads[k].map(Math.abs));
      expect(shortScale).toBeGreaterThan(1e-3 * scale); // the intermediate loss is not negligible
      let worst = 0;
      both.grads[k].forEach((v, i) => (worst = Math.max(worst, Math.abs(v - full.grads[k][i]! - short.grads[k][i]!))));
      expect(worst / scale).toBeLessThan(1e-5);
    }
  });

  it('backward before forward is an error; shapes are checked', async () => {
    const { weights, state, masks } = inputs(3);
    await expect(rollout.backward(new Float32Array(state.length), weights)).rejects.toThrow(/forward/);
    await expect(rollout.step(state.subarray(1), masks[0]!, weights, shape)).rejects.toThrow(/state has/);
  });
});
