import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LATENT_DIM } from '../src/core/latent.js';
import { CHANNELS, PARAM_COUNT } from '../src/core/nca/params.js';
import { renderReactive } from '../src/core/react/index.js';
import { FrameMeter } from '../src/core/react/measure.js';
import type { LatentModel } from '../src/core/render.js';
import { Rng } from '../src/core/rng.js';

const SR = 22050;
const FPS = 20;
const CLICKS = [0.5, 1.2, 1.9, 2.5]; // frames 10, 24, 38, 50

/** 3 s of a soft tone with loud clicks at CLICKS. */
function clicks(): Float32Array {
  const x = new Float32Array(3 * SR);
  const rng = new Rng(9);
  for (let i = 0; i < x.length; i++) x[i] = 0.03 * Math.sin((2 * Math.PI * 330 * i) / SR);
  for (const c of CLICKS) for (let j = 0; j < 300; j++) x[Math.round(c * SR) + j]! += 0.9 * (rng.uniform() * 2 - 1) * Math.exp(-j / 60);
  return x;
}

/** A stand-in for the model: every latent gets the same random NCA weights, the start grid is noise. */
function fakeModel(): LatentModel {
  const params = new Rng(4).fillUniform(new Float32Array(PARAM_COUNT), -1 / 12, 1 / 12);
  return {
    hypernetwork: (_z, batch) => {
      const out = new Float32Array(batch * PARAM_COUNT);
      for (let b = 0; b < batch; b++) out.set(params, b * PARAM_COUNT);
      return out;
    },
    decodeFirstFrame: () => {
      const grid = new Float32Array(CHANNELS * 32 * 32);
      new Rng(5).fillUniform(grid.subarray(0, 3 * 32 * 32));
      return grid;
    },
  };
}

async function run(seed: number) {
  const samples = clicks();
  const track = [{ t: 0, z: new Float32Array(LATENT_DIM) }];
  const meter = new FrameMeter(24, 16);
  const hash = createHash('sha256');
  const summary = await renderReactive(fakeModel(), {
    samples, track, width: 24, height: 16, fps: FPS, seed, threads: 1,
    onFrame: (rgba) => {
      meter.push(rgba);
      hash.update(rgba);
    },
  });
  return { summary, series: meter.series(), hash: hash.digest('hex') };
}

describe('renderReactive', () => {
  it('clicks at known times give the largest visual changes at those frames', async () => {
    const { summary, series } = await run(1);
    expect(summary.frames).toBe(60);
    const at = CLICKS.map((c) => Math.round(c * FPS));
    const near = new Set(at.flatMap((f) => [f, f + 1, f + 2]));
    // frames past the start (the NCA's first step from the start grid) and away from the clicks (a pulse shows at once, the NCA grows it on the next step)
    const quiet = Math.max(...[...series.change.keys()].filter((i) => i > 4 && !near.has(i)).map((i) => series.change[i]!));
    for (const f of at) expect(series.change[f]!, `frame ${f}`).toBeGreaterThan(2 * quiet);
  });

  it('is deterministic for a seed', async () => {
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    expect(a.hash).toBe(b.hash);
    expect(c.hash).not.toBe(a.hash);
  });
});
