/**
 * The optimizer (src/core/model/training/optimizer.ts) against values worked out by hand below, so that a
 * wrong bias correction, clipping or schedule fails here rather than only slowing the loss.
 */
import { describe, expect, it } from 'vitest';
import { ADAM, adamStep, clipScale, globalNorm, learningRate, type AdamSlot } from '../src/core/model/training/optimizer.js';

const slot = (value: number[], grad: number[]): AdamSlot => ({ value: Float32Array.from(value), grad: Float32Array.from(grad), m: new Float32Array(value.length), v: new Float32Array(value.length) });
const expectClose = (actual: ArrayLike<number>, expected: number[], digits = 6) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));
};

describe('Adam with bias correction', () => {
  it('uses PyTorch\'s constants', () => {
    expect(ADAM).toEqual({ beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  });

  it('takes two steps on a 3-element vector as worked out by hand', () => {
    // w = [0.5, -1, 2], lr 0.01, no clipping; g1 = [0.1, -0.2, 0.3], then g2 = [0.2, 0.1, -0.4]
    const s = slot([0.5, -1, 2], [0.1, -0.2, 0.3]);
    // step 1: m = 0.1 g1 = [0.01, -0.02, 0.03], v = 0.001 g1^2 = [1e-5, 4e-5, 9e-5];
    // m / (1 - 0.9) = g1 and v / (1 - 0.999) = g1^2, so each weight moves by lr * g / (|g| + 1e-8) = 0.01 sign(g)
    const r1 = adamStep([s], { lr: 0.01, step: 1, clipNorm: 0 });
    expect(r1.clip).toBe(1);
    expect(r1.gradNorm).toBeCloseTo(Math.sqrt(0.01 + 0.04 + 0.09), 7);
    expectClose(s.m, [0.01, -0.02, 0.03], 8);
    expectClose(s.v, [1e-5, 4e-5, 9e-5], 10);
    expectClose(s.value, [0.49, -0.99, 1.99]);
    // step 2: m = 0.9 m + 0.1 g2 = [0.029, -0.008, -0.013]; v = 0.999 v + 0.001 g2^2 = [4.999e-5, 4.996e-5, 24.991e-5]
    //   m^ = m / (1 - 0.81)    = [0.1526316, -0.0421053, -0.0684211]
    //   v^ = v / (1 - 0.998001) = [0.0250075, 0.0249925, 0.1250175], sqrt = [0.1581376, 0.1580902, 0.3535782]
    //   w -= 0.01 m^ / sqrt(v^)  = [0.0096518, -0.0026634, -0.0019351]
    s.grad.set([0.2, 0.1, -0.4]);
    adamStep([s], { lr: 0.01, step: 2, clipNorm: 0 });
    expectClose(s.m, [0.029, -0.008, -0.013], 8);
    expectClose(s.v, [4.999e-5, 4.996e-5, 24.991e-5], 10);
    expectClose(s.value, [0.48034818, -0.98733663, 1.9919351]);
  });

  it('adds eps to the corrected root of v: a gradient of 1e-8 moves a weight by lr / 2 at step 1', () => {
    // m^ = 1e-8, v^ = 1e-16: lr 1e-8 / (sqrt(1e-16) + 1e-8) = lr / 2 (with eps under the root it would be lr 1e-4)
    const s = slot([1, 1], [1e-8, -1e-8]);
    adamStep([s], { lr: 0.1, step: 1, clipNorm: 0 });
    expectClose(s.value, [0.95, 1.05]);
  });

  it('treats several tensors as one vector, leaving the gradients as they are', () => {
    const a = slot([1, 2], [0.5, -0.5]), b = slot([3], [2]);
    const r = adamStep([a, b], { lr: 0.1, step: 1, clipNorm: 100 });
    expect(r.gradNorm).toBeCloseTo(Math.sqrt(0.25 + 0.25 + 4), 6);
    expectClose(a.value, [0.9, 2.1]);
    expectClose(b.value, [2.9]);
    expectClose(a.grad, [0.5, -0.5]);
  });

  it('refuses a step below 1 and tensors of different lengths', () => {
    expect(() => adamStep([slot([1], [1])], { lr: 0.1, step: 0, clipNorm: 0 })).toThrow(/step/);
    expect(() => adamStep([{ ...slot([1, 2], [1, 1]), m: new Float32Array(1) }], { lr: 0.1, step: 1, clipNorm: 0 })).toThrow(/one length/);
  });
});

describe('global-norm clipping', () => {
  it('measures the norm over every tensor together', () => {
    expect(globalNorm([Float32Array.from([3, 4]), Float32Array.from([12])])).toBe(13);
    expect(globalNorm([])).toBe(0);
  });

  it('scales down to clipNorm only when the norm is larger, and never with clipNorm 0', () => {
    expect(clipScale(13, 1)).toBeCloseTo(1 / 13, 12);
    expect(clipScale(0.5, 1)).toBe(1);
    expect(clipScale(1, 1)).toBe(1);
    expect(clipScale(1e6, 0)).toBe(1);
  });

  it('clips the gradients Adam sees: the moments are those of g x clipNorm / norm', () => {
    // g = [3, 4] and [12]: global norm 13, clipNorm 1 -> g' = [3, 4, 12] / 13
    const a = slot([0, 0], [3, 4]), b = slot([0], [12]);
    const r = adamStep([a, b], { lr: 0.01, step: 1, clipNorm: 1 });
    expect(r.gradNorm).toBe(13);
    expect(r.clip).toBeCloseTo(1 / 13, 12);
    expectClose(a.m, [0.1 * (3 / 13), 0.1 * (4 / 13)], 8); // [0.0230769, 0.0307692]
    expectClose(b.m, [0.1 * (12 / 13)], 8); // 0.0923077
    expectClose(b.v, [0.001 * (12 / 13) ** 2], 10); // 8.52071e-4
    // a step of Adam does not depend on the scale of g at step 1: still lr sign(g)
    expectClose(a.value, [-0.01, -0.01]);
  });

  it('uses the norm it is given (the trainer passes its tfjs backend\'s)', () => {
    const a = slot([0], [2]);
    const r = adamStep([a], { lr: 0.01, step: 1, clipNorm: 1, gradNorm: 4 });
    expect(r).toEqual({ gradNorm: 4, clip: 0.25 });
    expectClose(a.m, [0.1 * 0.5], 8);
  });
});

describe('learning rate', () => {
  const s = { iters: 11, lr: 1e-3, lrFinal: 0.1 };
  it('decays along a cosine from lr to lr x lrFinal', () => {
    expect(learningRate(s, 0)).toBeCloseTo(1e-3, 12); // f = 0: 1e-3 (0.1 + 0.9 (1 + 1) / 2)
    expect(learningRate(s, 5)).toBeCloseTo(5.5e-4, 12); // f = 1/2: 1e-3 (0.1 + 0.9 (1 + 0) / 2)
    expect(learningRate(s, 10)).toBeCloseTo(1e-4, 12); // f = 1: 1e-3 (0.1 + 0.9 (1 - 1) / 2)
    expect(learningRate({ ...s, iters: 5 }, 1)).toBeCloseTo(8.68198e-4, 9); // f = 1/4: 1e-3 (0.1 + 0.45 (1 + cos(pi / 4)))
  });
  it('stays at lr for a one-iteration run', () => {
    expect(learningRate({ ...s, iters: 1 }, 0)).toBe(1e-3);
  });
});
