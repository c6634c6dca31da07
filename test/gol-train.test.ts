import { describe, expect, it } from 'vitest';
import { golNet } from '../src/core/gol/net.js';
import { liveWeights, trainGol, withLiveWeights } from '../src/core/gol/train.js';
import { PARAM_COUNT, randomParams } from '../src/core/nca/params.js';
import { Rng } from '../src/core/rng.js';

describe('GoL training', () => {
  it('is deterministic for a seed and leaves the unused parameters at their random initial values', async () => {
    const opts = { seed: 7, maxIterations: 40, batch: 512, checkEvery: 20, threads: 1 };
    const a = await trainGol(opts);
    const b = await trainGol(opts);
    expect(a.params.flat.length).toBe(PARAM_COUNT);
    expect(Array.from(a.params.flat)).toEqual(Array.from(b.params.flat));
    expect(a.checks.map((c) => c.mismatches)).toEqual(b.checks.map((c) => c.mismatches));
    // the hinge phase makes progress from the random start
    expect(a.checks.at(-1)!.mismatches).toBeLessThan(a.checks[0]!.mismatches + 1);
    // w1 input columns 1..15 (hidden channels, zero under the protocol) are untouched
    const init = randomParams(new Rng(7).fork());
    for (let o = 0; o < 16; o++) for (let i = 1; i < 16; i++) for (let k = 0; k < 9; k++) {
      const at = (o * 16 + i) * 9 + k;
      expect(a.params.w1[at]).toBe(init.w1[at]);
    }
  }, 60_000);

  it('trained pairs are exported as plain NCA weights (clamp pair = two relu units)', async () => {
    const r = await trainGol({ seed: 3, maxIterations: 20, batch: 256, checkEvery: 20, threads: 1 });
    const net = golNet(r.params);
    for (let j = 0; j < 8; j++) {
      for (let k = 0; k < 9; k++) expect(net.w1[(j + 8) * 9 + k]).toBe(net.w1[j * 9 + k]);
      for (let p = 0; p < 9; p++) expect(net.w2[(j + 8) * 9 + p]).toBe(-net.w2[j * 9 + p]!);
    }
  }, 60_000);

  it('liveWeights and withLiveWeights round-trip', () => {
    const p = randomParams(new Rng(2));
    const back = withLiveWeights(p, liveWeights(p));
    expect(Array.from(back.flat)).toEqual(Array.from(p.flat));
  });
});
