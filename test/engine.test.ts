import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/core/nca/engine.js';
import { FRAME_PROTOCOL, type StepProtocol } from '../src/core/nca/graph.js';
import { CHANNELS, randomParams, ncaParams, PARAM_COUNT } from '../src/core/nca/params.js';
import { referenceStep, sigmoid } from '../src/core/nca/reference.js';
import { Rng } from '../src/core/rng.js';

/** Reference rollout under a protocol, with the same noise draws as the engine (one fillNormal per step). */
function referenceRun(params: ReturnType<typeof randomParams>, state: Float32Array, W: number, H: number, steps: number, protocol: StepProtocol, rng?: Rng) {
  const plane = W * H;
  let x: Float32Array = state.slice();
  const frames: Float32Array[] = [];
  for (let s = 0; s < steps; s++) {
    if (protocol.kind === 'carry') {
      const noise = new Float32Array((CHANNELS - protocol.carry) * plane);
      if (protocol.hidden === 'noise') rng!.fillNormal(noise, 0, protocol.noiseStd ?? 0.1);
      x.set(noise, protocol.carry * plane);
    }
    let y = referenceStep(params, x, W, H);
    if (protocol.kind === 'carry') {
      const c = protocol.carry * plane;
      if (protocol.squash === 'sigmoid') for (let i = 0; i < c; i++) y[i] = sigmoid(y[i]!);
      y = y.slice();
      frames.push(y.slice(0, c));
    } else {
      frames.push(Float32Array.from(y.subarray(0, 3 * plane), sigmoid));
    }
    x = y;
  }
  return { x, frames };
}

/** Largest difference relative to max(1, |reference|): float32 rounding grows with the values. */
const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
};

describe('onnxruntime NCA engine agrees with the reference step', () => {
  const sizes: Array<[number, number]> = [[8, 8], [13, 7], [5, 19], [32, 24]];
  for (const [W, H] of sizes) {
    it(`free protocol, ${W}x${H}, 11 steps (runs of 4 plus a remainder)`, async () => {
      const rng = new Rng(W * 100 + H);
      const params = randomParams(rng, 0.15);
      const state = rng.normalArray(new Float32Array(CHANNELS * W * H), 0, 0.5);
      const engine = await createEngine(params, { width: W, height: H, protocol: { kind: 'free' }, stepsPerRun: 4, threads: 1 });
      const frames: Float32Array[] = [];
      const out = await engine.run(state, 11, (_k, v) => frames.push(v.slice()));
      await engine.dispose();
      const ref = referenceRun(params, state, W, H, 11, { kind: 'free' });
      expect(maxAbsDiff(out, ref.x)).toBeLessThan(1e-4);
      expect(frames.length).toBe(11);
      for (let k = 0; k < 11; k++) expect(maxAbsDiff(frames[k]!, ref.frames[k]!)).toBeLessThan(1e-4);
    });
  }

  it('frame protocol (RGB through sigmoid, hidden re-drawn) matches with the same noise draws, baked and fed weights', async () => {
    const W = 12, H = 9;
    for (const dynamicWeights of [false, true]) {
      const rng = new Rng(5);
      const params = randomParams(rng, 0.2);
      const state = rng.fillUniform(new Float32Array(CHANNELS * W * H));
      const engine = await createEngine(params, { width: W, height: H, protocol: FRAME_PROTOCOL, stepsPerRun: 3, rng: new Rng(99), dynamicWeights, threads: 2 });
      const frames: Float32Array[] = [];
      const out = await engine.run(state, 7, (_k, v) => frames.push(v.slice()));
      await engine.dispose();
      const ref = referenceRun(params, state, W, H, 7, FRAME_PROTOCOL, new Rng(99));
      for (let k = 0; k < 7; k++) expect(maxAbsDiff(frames[k]!, ref.frames[k]!)).toBeLessThan(1e-4);
      expect(maxAbsDiff(out.subarray(0, 3 * W * H), ref.x.subarray(0, 3 * W * H))).toBeLessThan(1e-4);
      expect(out.subarray(3 * W * H).every((v) => v === 0)).toBe(true);
    }
  });

  it('frame protocol on odd widths, sides of one cell and a batch (noise drawn into the padded graph input in the same order), fed weights', async () => {
    for (const [W, H, N] of [[7, 5, 1], [1, 5, 1], [6, 1, 2], [1, 1, 1], [5, 4, 3]] as const) {
      const params = randomParams(new Rng(W * 10 + H), 0.2);
      const state = new Rng(2).fillUniform(new Float32Array(N * CHANNELS * W * H));
      const engine = await createEngine(params, { width: W, height: H, batch: N, protocol: FRAME_PROTOCOL, stepsPerRun: 2, rng: new Rng(3), dynamicWeights: true, threads: 1 });
      const out = await engine.run(state, 3);
      await engine.dispose();
      // the reference draws one [N][13][H][W] array per step, grid after grid
      const plane = W * H, rng = new Rng(3);
      let grids: Float32Array[] = Array.from({ length: N }, (_, n) => state.slice(n * CHANNELS * plane, (n + 1) * CHANNELS * plane));
      for (let s = 0; s < 3; s++) {
        const noise = rng.fillNormal(new Float32Array(N * (CHANNELS - 3) * plane), 0, 0.1);
        grids = grids.map((g, n) => {
          const x = g.slice();
          x.set(noise.subarray(n * (CHANNELS - 3) * plane, (n + 1) * (CHANNELS - 3) * plane), 3 * plane);
          const y = referenceStep(params, x, W, H);
          for (let i = 0; i < 3 * plane; i++) y[i] = sigmoid(y[i]!);
          return y;
        });
      }
      for (let n = 0; n < N; n++) expect(maxAbsDiff(out.subarray(n * CHANNELS * plane, (n * CHANNELS + 3) * plane), grids[n]!.subarray(0, 3 * plane))).toBeLessThan(1e-5);
    }
  });

  it('carry-1 protocol with zero hidden channels (the Game of Life protocol) drops unused weights correctly', async () => {
    const W = 10, H = 6;
    const rng = new Rng(3);
    const params = randomParams(rng, 0.3);
    const protocol: StepProtocol = { kind: 'carry', carry: 1, squash: 'none', hidden: 'zero' };
    const state = new Float32Array(CHANNELS * W * H);
    for (let i = 0; i < W * H; i++) state[i] = rng.uniform() < 0.4 ? 1 : 0;
    const engine = await createEngine(params, { width: W, height: H, protocol, stepsPerRun: 2 });
    const out = await engine.run(state, 5);
    await engine.dispose();
    const ref = referenceRun(params, state, W, H, 5, protocol);
    expect(maxAbsDiff(out.subarray(0, W * H), ref.x.subarray(0, W * H))).toBeLessThan(1e-4);
  });

  it('runs a batch of grids with the same weights, and setParams changes the rule', async () => {
    const W = 6, H = 6, N = 3;
    const rng = new Rng(11);
    const p1 = randomParams(rng, 0.2);
    const p2 = randomParams(rng, 0.2);
    const states = rng.normalArray(new Float32Array(N * CHANNELS * W * H), 0, 0.3);
    for (const dynamicWeights of [false, true]) {
      const engine = await createEngine(p1, { width: W, height: H, batch: N, protocol: { kind: 'free' }, dynamicWeights });
      const a = await engine.run(states, 2);
      await engine.setParams(p2);
      const b = await engine.run(states, 2);
      await engine.dispose();
      for (let n = 0; n < N; n++) {
        const s = states.subarray(n * CHANNELS * W * H, (n + 1) * CHANNELS * W * H);
        const ra = referenceStep(p1, referenceStep(p1, s, W, H), W, H);
        const rb = referenceStep(p2, referenceStep(p2, s, W, H), W, H);
        expect(maxAbsDiff(a.subarray(n * CHANNELS * W * H, (n + 1) * CHANNELS * W * H), ra)).toBeLessThan(1e-4);
        expect(maxAbsDiff(b.subarray(n * CHANNELS * W * H, (n + 1) * CHANNELS * W * H), rb)).toBeLessThan(1e-4);
      }
    }
  });

  it('the reference step has the docs/design.md semantics on a hand-made case', () => {
    // Only w2[0][0][1][1] = 1 (centre tap, channel 0 -> 0) and w1 identity on channel 0 centre tap.
    const flat = new Float32Array(PARAM_COUNT);
    const p = ncaParams(flat);
    p.w1[((0 * CHANNELS + 0) * 3 + 1) * 3 + 0] = 1; // reads the left neighbour (kx = 0)
    p.w2[((0 * CHANNELS + 0) * 3 + 1) * 3 + 1] = 1;
    p.b2[1] = 0.5;
    const W = 4, H = 2;
    const x = new Float32Array(CHANNELS * W * H);
    x[0 * W + 0] = 2; // channel 0, y 0, x 0
    x[1 * W + 3] = -1; // negative value: relu drops it
    const y = referenceStep(p, x, W, H);
    // cell (0,1) sees its left neighbour (0,0) = 2 -> +2; cell (0,0) sees (0,3) wrapped = 0.
    expect(y[0 * W + 1]).toBeCloseTo(2);
    expect(y[0 * W + 0]).toBeCloseTo(2);
    expect(y[1 * W + 0]).toBeCloseTo(0); // left neighbour (1,3) = -1 -> relu 0, stays 0
    expect(y[W * H + 5]).toBeCloseTo(0.5); // channel 1 gets b2[1]
  });
});
