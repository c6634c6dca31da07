import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProofPool, proveFree, proveRounded } from '../src/core/gol/proof-pool.js';
import { NEIGHBOURHOODS, centreOutput, golNet, lifeTarget, neighbourhoodCells, readGolProtocol, type GolNet } from '../src/core/gol/net.js';
import { defaultGolWeights } from '../src/core/gol/patterns.js';
import { OUTER, freeBounds, freePart, freeTables, roundedTables } from '../src/core/gol/proof.js';
import { ncaParams, parseParams, randomParams } from '../src/core/nca/params.js';
import { referenceStep } from '../src/core/nca/reference.js';
import { Rng } from '../src/core/rng.js';

const fixture = parseParams(readFileSync(defaultGolWeights(), 'utf8'), 'fixtures/gol.json');
const trained = golNet(fixture.params);
const protocol = readGolProtocol(fixture.provenance)!;
const randomNet = golNet(randomParams(new Rng(11), 0.5));
const inline = new ProofPool(1);

describe('proof tables', () => {
  it('the band tables reproduce the network output on binary neighbourhoods', () => {
    const rng = new Rng(1);
    for (const net of [trained, randomNet]) {
      const bands = roundedTables(net);
      for (let i = 0; i < 2000; i++) {
        const n = rng.nextUint32() & (NEIGHBOURHOODS - 1);
        const y = net.b2 + ((n >> 12) & 1) + bands[n & 0x7fff]! + bands[32768 + ((n >> 5) & 0x7fff)]! + bands[65536 + ((n >> 10) & 0x7fff)]!;
        expect(y).toBeCloseTo(centreOutput(net, neighbourhoodCells(n)), 10);
      }
    }
  });

  it('the free-running loop agrees with the per-neighbourhood bounds', () => {
    const rng = new Rng(2);
    for (const [net, eps] of [[randomNet, 0.01], [trained, 0.05], [trained, protocol.eps!]] as Array<[GolNet, number]>) {
      const t = freeTables(net, eps);
      for (let k = 0; k < 20; k++) {
        const h = rng.int(OUTER);
        const part = freePart(t, net.b2, h, h + 1);
        let failures = 0;
        for (let r4 = 0; r4 < 32; r4++) {
          const n = h | (r4 << 20);
          const b = freeBounds(t, net.b2, n);
          const target = lifeTarget(n);
          if (b.hi > target + eps || b.lo < target - eps) failures++;
        }
        expect(part.failures).toBe(failures);
      }
    }
  });
});

describe('net.ts reads the right weights', () => {
  it('agrees with the reference NCA step (all 16 channels, hidden zero), whatever the unused weights hold', () => {
    const W = 9, H = 7, plane = W * H;
    const rng = new Rng(9);
    const params = ncaParams(fixture.params.flat.slice());
    // scramble what the protocol never reads: w1 input columns 1..15, w2 output rows 1..15, b2[1..15]
    for (let o = 0; o < 16; o++) for (let i = 1; i < 16; i++) for (let k = 0; k < 9; k++) params.w1[(o * 16 + i) * 9 + k] = 5 * (rng.uniform() - 0.5);
    for (let i = 9 * 16 * 1; i < params.w2.length; i++) params.w2[i] = 5 * (rng.uniform() - 0.5);
    for (let c = 1; c < 16; c++) params.b2[c] = rng.uniform();
    const state = new Float32Array(16 * plane);
    for (let i = 0; i < plane; i++) state[i] = rng.uniform() < 0.4 ? 1 : 0;
    const next = referenceStep(params, state, W, H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const cells = new Float64Array(25);
        for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) cells[5 * r + c] = state[((y + r - 2 + H) % H) * W + ((x + c - 2 + W) % W)]!;
        expect(next[y * W + x]).toBeCloseTo(centreOutput(trained, cells), 4);
      }
    }
  });
});

describe('interval bounds are sound', () => {
  for (const [name, net, eps] of [['trained', trained, protocol.eps!], ['trained, wide box', trained, 0.08], ['random', randomNet, 0.05]] as Array<[string, GolNet, number]>) {
    it(`${name} network, eps ${eps}: sampled inputs in the box stay within the bounds`, () => {
      const rng = new Rng(3);
      const t = freeTables(net, eps);
      const x = new Float64Array(25);
      let width = 0;
      for (let i = 0; i < 300; i++) {
        const n = rng.nextUint32() & (NEIGHBOURHOODS - 1);
        const b = freeBounds(t, net.b2, n);
        width += b.hi - b.lo;
        for (let s = 0; s < 40; s++) {
          // random points, and corners of the box (where a linear piece reaches its extremes)
          for (let c = 0; c < 25; c++) x[c] = ((n >> c) & 1) + eps * (s < 20 ? 2 * rng.uniform() - 1 : rng.uniform() < 0.5 ? -1 : 1);
          const y = centreOutput(net, x);
          expect(y).toBeGreaterThanOrEqual(b.lo);
          expect(y).toBeLessThanOrEqual(b.hi);
        }
      }
      expect(Number.isFinite(width)).toBe(true);
    });
  }
});

describe('the committed network (fixtures/gol.json)', () => {
  it('is proven under the rounded protocol: 0 mismatches over 2^25 neighbourhoods', async () => {
    const r = await proveRounded(trained, inline);
    expect(r.checked).toBe(2 ** 25);
    expect(r.mismatches).toBe(0);
    expect(r.minMargin).toBeGreaterThan(r.float32Error);
    expect(r.holds).toBe(true);
  });

  it(`is proven free running at the recorded eps`, async () => {
    expect(protocol.rounding).toBe('free');
    const f = await proveFree(trained, protocol.eps!, inline);
    expect(f.failures).toBe(0);
    expect(f.holds).toBe(true);
    expect(f.minEps).toBeLessThanOrEqual(protocol.eps!);
  });
});

describe('the proofs find planted errors', () => {
  it('a network whose tightest neighbourhood is pushed across 0.5 fails, and the reported neighbourhood is really wrong', async () => {
    const r = await proveRounded(trained, inline);
    const n = r.minMarginAt;
    const wrongWay = lifeTarget(n) ? -1 : 1; // push a live output down, a dead one up
    const broken: GolNet = { ...trained, b2: trained.b2 + wrongWay * (r.minMargin + 1e-3) };
    const b = await proveRounded(broken, inline);
    expect(b.mismatches).toBeGreaterThan(0);
    expect(b.holds).toBe(false);
    const first = b.firstMismatch!;
    expect(centreOutput(broken, neighbourhoodCells(first)) >= 0.5 ? 1 : 0).not.toBe(lifeTarget(first));
    // the planted one is among them: its own output is now on the wrong side
    expect(centreOutput(broken, neighbourhoodCells(n)) >= 0.5 ? 1 : 0).not.toBe(lifeTarget(n));
  });

  it('one perturbed weight breaks the rounded proof; a random network fails both', async () => {
    const w2 = trained.w2.slice();
    w2[4] += 0.75; // unit 0, centre position
    const r = await proveRounded({ ...trained, w2 }, inline);
    expect(r.mismatches).toBeGreaterThan(0);
    const random = await proveRounded(randomNet, inline);
    expect(random.mismatches).toBeGreaterThan(1_000_000);
    const f = await proveFree(randomNet, 0.01, inline);
    expect(f.holds).toBe(false);
  });
});
