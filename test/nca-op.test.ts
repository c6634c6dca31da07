import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor, Tensor2D, Tensor4D, Tensor5D } from '@tensorflow/tfjs';
import { NcaRollout, mseLoss, ncaRolloutOp, rolloutLossAndGrads, rolloutNoise, waitForFlag, type RolloutData } from '../src/core/model/nca-op.js';
import { loadTf, type Tf } from '../src/core/model/tf.js';
import { CHANNELS, PARAM_COUNT, PARAM_LAYOUT, ncaParams } from '../src/core/nca/params.js';
import { referenceStep, sigmoid } from '../src/core/nca/reference.js';
import { Rng } from '../src/core/rng.js';

interface Shape {
  batch: number;
  width: number;
  height: number;
  steps: number;
}

/** Random inputs of one rollout. Weights ~ U(-0.25, 0.25): large enough that relu patterns and the sigmoid vary. */
function randomInputs(shape: Shape, seed: number) {
  const { batch: B, width: W, height: H, steps: T } = shape;
  const rng = new Rng(seed);
  const params = rng.fillUniform(new Float32Array(B * PARAM_COUNT), -0.25, 0.25);
  const rgb0 = rng.fillUniform(new Float32Array(B * 3 * H * W), 0, 1);
  const data: RolloutData = {
    targets: rng.fillUniform(new Float32Array(T * B * 3 * H * W), 0, 1),
    noise: rolloutNoise(rng, shape),
    // 0/1 draws plus one fractional mask (linear mixing is part of the contract).
    masks: Float32Array.from({ length: (T - 1) * B }, (_, i) => (i === 1 ? 0.3 : rng.uniform() < 0.5 ? 1 : 0)),
  };
  const gradPred = rng.fillUniform(new Float32Array(T * B * 3 * H * W), -1, 1);
  return { params, rgb0, data, gradPred };
}

/** Circular padding by one cell of x [1][H][W][C] (NHWC), by concatenating slices. */
function circularPad(tf: Tf, x: Tensor4D): Tensor4D {
  const [, H, W] = x.shape;
  const rows = tf.concat([tf.slice(x, [0, H - 1, 0, 0], [-1, 1, -1, -1]), x, tf.slice(x, [0, 0, 0, 0], [-1, 1, -1, -1])], 1);
  return tf.concat([tf.slice(rows, [0, 0, W - 1, 0], [-1, -1, 1, -1]), rows, tf.slice(rows, [0, 0, 0, 0], [-1, -1, 1, -1])], 2);
}

/**
 * The rollout written plainly in tfjs (a loop over the batch, tf.conv2d on circularly padded
 * inputs, the full 16-channel residual), differentiated by tfjs's own autodiff. Returns [T][B][3][H][W].
 */
function tfjsRollout(tf: Tf, shape: Shape, params: Tensor2D, rgb0: Tensor4D, data: RolloutData): Tensor5D {
  const { batch: B, width: W, height: H, steps: T } = shape;
  const plane = H * W;
  const perSample: Tensor[] = [];
  for (let b = 0; b < B; b++) {
    const p = tf.slice(params, [b, 0], [1, PARAM_COUNT]);
    const filter = (layer: 'w1' | 'w2') =>
      tf.transpose(tf.reshape(tf.slice(p, [0, PARAM_LAYOUT[layer].offset], [1, CHANNELS * CHANNELS * 9]), [CHANNELS, CHANNELS, 3, 3]), [2, 3, 1, 0]) as Tensor4D;
    const bias = (layer: 'b1' | 'b2') => tf.reshape(tf.slice(p, [0, PARAM_LAYOUT[layer].offset], [1, CHANNELS]), [CHANNELS]);
    const [w1, w2, b1, b2] = [filter('w1'), filter('w2'), bias('b1'), bias('b2')];
    const nhwc = (a: Float32Array, channels: number) => tf.transpose(tf.tensor4d(a, [1, channels, H, W]), [0, 2, 3, 1]) as Tensor4D;
    let r = tf.transpose(tf.slice(rgb0, [b, 0, 0, 0], [1, 3, H, W]), [0, 2, 3, 1]) as Tensor4D;
    const frames: Tensor4D[] = [];
    for (let t = 0; t < T; t++) {
      if (t > 0) {
        const y = nhwc(data.targets.subarray(((t - 1) * B + b) * 3 * plane, ((t - 1) * B + b + 1) * 3 * plane), 3);
        const m = data.masks[(t - 1) * B + b]!;
        r = tf.add(tf.mul(frames[t - 1]!, m), tf.mul(y, 1 - m));
      }
      const noise = nhwc(data.noise.subarray((t * B + b) * 13 * plane, (t * B + b + 1) * 13 * plane), 13);
      const s = tf.concat([r, noise], 3);
      const h = tf.relu(tf.add(tf.conv2d(circularPad(tf, s), w1, 1, 'valid'), b1)) as Tensor4D;
      const next = tf.add(s, tf.add(tf.conv2d(circularPad(tf, h), w2, 1, 'valid'), b2)) as Tensor4D;
      frames.push(tf.sigmoid(tf.slice(next, [0, 0, 0, 0], [1, H, W, 3])));
    }
    perSample.push(tf.stack(frames.map((f) => tf.reshape(tf.transpose(f, [0, 3, 1, 2]), [3, H, W]))));
  }
  return tf.stack(perSample, 1) as Tensor5D;
}

/** max |a - b| / max |b|: the error relative to the gradient's scale. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}

/** Parts of a [B][4640] gradient: w1, b1, w2 and b2 of every sample, rows 0..2 of layer 2 only when `rgbRows`. */
function parts(grad: ArrayLike<number>, batch: number) {
  const pick = (name: keyof typeof PARAM_LAYOUT, count: number) => {
    const out: number[] = [];
    for (let b = 0; b < batch; b++) for (let i = 0; i < count; i++) out.push(grad[b * PARAM_COUNT + PARAM_LAYOUT[name].offset + i]!);
    return out;
  };
  return { w1: pick('w1', CHANNELS * CHANNELS * 9), b1: pick('b1', CHANNELS), w2: pick('w2', 3 * CHANNELS * 9), b2: pick('b2', 3) };
}

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf();
});

describe.each([
  { batch: 2, width: 8, height: 8, steps: 3, forwardConv: 'group' as const },
  { batch: 2, width: 10, height: 6, steps: 4, forwardConv: 'group' as const },
  { batch: 3, width: 7, height: 5, steps: 3, forwardConv: 'im2col' as const },
])('NCA rollout on onnxruntime, B=$batch $width x $height, T=$steps, $forwardConv conv', (shape) => {
  let rollout: NcaRollout;
  beforeAll(async () => {
    rollout = await NcaRollout.create({ ...shape, threads: 1 });
  });
  afterAll(async () => {
    await rollout.dispose();
  });

  it('predicts the frames of the plain-TypeScript reference step (teacher forcing and feedback mixed)', () => {
    const { batch: B, width: W, height: H, steps: T } = shape;
    const plane = H * W;
    const { params, rgb0, data } = randomInputs(shape, 1);
    const pred = rollout.forward(params, rgb0, data);
    expect(pred.length).toBe(T * B * 3 * plane);
    let maxDiff = 0;
    for (let b = 0; b < B; b++) {
      const p = ncaParams(params.slice(b * PARAM_COUNT, (b + 1) * PARAM_COUNT));
      let r = rgb0.slice(b * 3 * plane, (b + 1) * 3 * plane);
      let prev = new Float32Array(0);
      for (let t = 0; t < T; t++) {
        if (t > 0) {
          const m = data.masks[(t - 1) * B + b]!;
          const y = data.targets.subarray(((t - 1) * B + b) * 3 * plane, ((t - 1) * B + b + 1) * 3 * plane);
          r = Float32Array.from(y, (v, i) => v + m * (prev[i]! - v));
        }
        const state = new Float32Array(CHANNELS * plane);
        state.set(r);
        state.set(data.noise.subarray((t * B + b) * 13 * plane, (t * B + b + 1) * 13 * plane), 3 * plane);
        const next = referenceStep(p, state, W, H);
        prev = Float32Array.from(next.subarray(0, 3 * plane), sigmoid);
        const got = pred.subarray((t * B + b) * 3 * plane, (t * B + b + 1) * 3 * plane);
        for (let i = 0; i < prev.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - prev[i]!));
      }
    }
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('has the gradients of tfjs autodiff on a plain tfjs rollout (relative error < 1e-3)', () => {
    const { batch: B, width: W, height: H, steps: T } = shape;
    const { params, rgb0, data, gradPred } = randomInputs(shape, 2);
    rollout.forward(params, rgb0, data);
    const got = rollout.backward(params, gradPred);

    const G = tf.tensor5d(gradPred, [T, B, 3, H, W]);
    const [dParams, dRgb0] = tf.grads((p: Tensor, r: Tensor) => tf.sum(tf.mul(tfjsRollout(tf, shape, p as Tensor2D, r as Tensor4D, data), G)))([
      tf.tensor2d(params, [B, PARAM_COUNT]),
      tf.tensor4d(rgb0, [B, 3, H, W]),
    ]);
    const want = parts(dParams!.dataSync(), B);
    const have = parts(got.gradParams, B);
    for (const k of ['w1', 'b1', 'w2', 'b2'] as const) expect(relativeError(have[k], want[k]), k).toBeLessThan(1e-3);
    expect(relativeError(got.gradRgb0, dRgb0!.dataSync())).toBeLessThan(1e-3);
    // Rows 3..15 of layer 2 never reach the frames: exactly zero, as in autodiff.
    const w2Hidden = (g: ArrayLike<number>) => {
      let m = 0;
      for (let b = 0; b < B; b++) {
        for (let i = PARAM_LAYOUT.w2.offset + 3 * CHANNELS * 9; i < PARAM_LAYOUT.b2.offset; i++) m = Math.max(m, Math.abs(g[b * PARAM_COUNT + i]!));
        for (let i = PARAM_LAYOUT.b2.offset + 3; i < PARAM_COUNT; i++) m = Math.max(m, Math.abs(g[b * PARAM_COUNT + i]!));
      }
      return m;
    };
    expect(w2Hidden(got.gradParams)).toBe(0);
    expect(w2Hidden(dParams!.dataSync())).toBe(0);
    tf.dispose([G, dParams!, dRgb0!]);
  });

  it('works as a tfjs op: gradients reach the weights of a network that produces the parameters', () => {
    const { batch: B, width: W, height: H, steps: T } = shape;
    const { params, rgb0, data } = randomInputs(shape, 3);
    const rng = new Rng(4);
    // A stand-in hypernetwork: params = z M + base.
    const z = tf.tensor2d(rng.fillUniform(new Float32Array(B * 4), -1, 1), [B, 4]);
    const M = tf.tensor2d(rng.fillUniform(new Float32Array(4 * PARAM_COUNT), -0.05, 0.05), [4, PARAM_COUNT]);
    const base = tf.tensor2d(params, [B, PARAM_COUNT]);
    const start = tf.tensor4d(rgb0, [B, 3, H, W]);
    const targets = tf.tensor5d(data.targets, [T, B, 3, H, W]);
    const lossWith = (run: (p: Tensor2D, r: Tensor4D) => Tensor5D) => (m: Tensor, r: Tensor) =>
      tf.losses.meanSquaredError(targets, run(tf.add(tf.matMul(z, m as Tensor2D), base), r as Tensor4D));
    const viaOrt = tf.valueAndGrads(lossWith((p, r) => ncaRolloutOp(tf, rollout, p, r, data)));
    const viaTfjs = tf.valueAndGrads(lossWith((p, r) => tfjsRollout(tf, shape, p, r, data)));
    const a = viaOrt([M, start]);
    const b = viaTfjs([M, start]);
    expect(Math.abs(a.value.dataSync()[0]! - b.value.dataSync()[0]!)).toBeLessThan(1e-6);
    expect(relativeError(a.grads[0]!.dataSync(), b.grads[0]!.dataSync())).toBeLessThan(1e-3);
    expect(relativeError(a.grads[1]!.dataSync(), b.grads[1]!.dataSync())).toBeLessThan(1e-3);

    // The same loss without tfjs.
    const plain = rolloutLossAndGrads(rollout, tf.add(tf.matMul(z, M), base).dataSync() as Float32Array, rgb0, data);
    expect(Math.abs(plain.loss - a.value.dataSync()[0]!)).toBeLessThan(1e-6);
    expect(relativeError(plain.gradRgb0, b.grads[1]!.dataSync())).toBeLessThan(1e-3);
    tf.dispose([z, M, base, start, targets, a.value, b.value, ...a.grads, ...b.grads]);
  });

  it('differentiates the right forward when another one ran in between', () => {
    const { batch: B, width: W, height: H, steps: T } = shape;
    const first = randomInputs(shape, 5);
    const second = randomInputs(shape, 6);
    const G = tf.tensor5d(first.gradPred, [T, B, 3, H, W]);
    const p1 = tf.tensor2d(first.params, [B, PARAM_COUNT]);
    const r1 = tf.tensor4d(first.rgb0, [B, 3, H, W]);
    // tf.grads runs the op's forward, then its gradient; a forward of `second` in the middle is
    // simulated by running it from inside the loss function.
    const [dParams] = tf.grads((p: Tensor, r: Tensor) => {
      const out = ncaRolloutOp(tf, rollout, p as Tensor2D, r as Tensor4D, first.data);
      rollout.forward(second.params, second.rgb0, second.data);
      return tf.sum(tf.mul(out, G));
    })([p1, r1]);
    rollout.forward(first.params, first.rgb0, first.data);
    const direct = rollout.backward(first.params, first.gradPred);
    expect(relativeError(dParams!.dataSync(), direct.gradParams)).toBeLessThan(1e-6);
    tf.dispose([G, p1, r1, dParams!]);
  });
});

describe('NCA rollout edge cases', () => {
  it('runs a single step (no masks) and matches autodiff', async () => {
    const shape = { batch: 1, width: 5, height: 4, steps: 1 };
    const rollout = await NcaRollout.create({ ...shape, threads: 1 });
    try {
      const { params, rgb0, data, gradPred } = randomInputs(shape, 7);
      expect(data.masks.length).toBe(0);
      const out = rolloutLossAndGrads(rollout, params, rgb0, data, (pred) => ({ loss: 0, grad: gradPred.slice(0, pred.length) }));
      const [dParams, dRgb0] = tf.grads((p: Tensor, r: Tensor) =>
        tf.sum(tf.mul(tfjsRollout(tf, shape, p as Tensor2D, r as Tensor4D, data), tf.tensor5d(gradPred, [1, 1, 3, 4, 5]))),
      )([tf.tensor2d(params, [1, PARAM_COUNT]), tf.tensor4d(rgb0, [1, 3, 4, 5])]);
      expect(relativeError(out.gradParams, dParams!.dataSync())).toBeLessThan(1e-3);
      expect(relativeError(out.gradRgb0, dRgb0!.dataSync())).toBeLessThan(1e-3);
    } finally {
      await rollout.dispose();
    }
  });

  it('MSE loss: value and gradient', () => {
    const { loss, grad } = mseLoss(Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 0, 3, 2));
    expect(loss).toBeCloseTo((0 + 4 + 0 + 4) / 4, 6);
    expect(Array.from(grad)).toEqual([0, 1, 0, 1]);
  });

  it('rejects inputs of the wrong size and calls out of order', async () => {
    const shape = { batch: 2, width: 4, height: 4, steps: 2 };
    const rollout = await NcaRollout.create({ ...shape, threads: 1 });
    const { params, rgb0, data, gradPred } = randomInputs(shape, 8);
    expect(() => rollout.backward(params, gradPred)).toThrow(/backward\(\) before forward\(\)/);
    expect(() => rollout.forward(params.subarray(1), rgb0, data)).toThrow(/params has 9279 floats, expected 9280/);
    expect(() => rollout.forward(params, rgb0, { ...data, masks: new Float32Array(3) })).toThrow(/masks has 3 floats, expected 2/);
    expect(() => ncaRolloutOp(tf, rollout, tf.zeros([2, 10]), tf.zeros([2, 3, 4, 4]), data)).toThrow(/params has shape \[2, 10\], expected \[2, 4640\]/);
    await rollout.dispose();
    expect(() => rollout.forward(params, rgb0, data)).toThrow(/after dispose/);
    await expect(NcaRollout.create({ ...shape, steps: 0 })).rejects.toThrow(/steps must be an integer/);
  });
});

describe('waitForFlag: the synchronous call into the onnxruntime worker', () => {
  it('a wake-up with the flag still down (a late notify of an earlier answer) does not end the wait; the raised flag does', async () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    // the thread notifies until it has woken the waiting caller once, with the flag down; 150 ms later it raises it
    const thread = new Worker(`
      const flag = new Int32Array(require('node:worker_threads').workerData);
      while (Atomics.notify(flag, 0, 1) === 0) {}
      const t = Date.now();
      while (Date.now() - t < 150) {}
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    `, { eval: true, workerData: flag.buffer });
    const t0 = Date.now();
    waitForFlag(flag, 10_000, 'run');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(Atomics.load(flag, 0)).toBe(1);
    await thread.terminate();
  });

  it('gives up after its timeout, naming the request', () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    expect(() => waitForFlag(flag, 50, 'run')).toThrow('the onnxruntime worker did not answer run within 0.05 s');
  });
});
