import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LATENT_DIM } from '../src/core/latent.js';
import { GRADE_CENTRE, renderReactive } from '../src/core/react/index.js';
import { wrapAngle } from '../src/core/react/effects.js';
import { FrameMeter } from '../src/core/react/measure.js';
import { CLICKS, clickClip, fakeModel } from './react-helpers.js';

const FPS = 20;

async function run(seed: number) {
  const samples = clickClip();
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
    // frames past the NCA's first step from the start grid (the steps gather on the onsets, so it may come a few frames in)
    // and away from the clicks (a pulse shows at once and fades over the next frames)
    const firstStep = summary.plan.steps.findIndex((n) => n > 0);
    expect(firstStep).toBeLessThan(at[0]!);
    const quiet = Math.max(...[...series.change.keys()].filter((i) => i > firstStep && !near.has(i)).map((i) => series.change[i]!));
    for (const f of at) expect(series.change[f]!, `frame ${f}`).toBeGreaterThan(2 * quiet);
  });

  it('is deterministic for a seed', async () => {
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    expect(a.hash).toBe(b.hash);
    expect(c.hash).not.toBe(a.hash);
  });

  it('grades each frame to the centroid\'s hue: the shown mean hue is GRADE_CENTRE + the plan\'s hue', async () => {
    const meter = new FrameMeter(24, 16);
    // energy 0: no exposure curve (a gamma bends the mean hue a little)
    const summary = await renderReactive(fakeModel(), {
      samples: clickClip(), track: [{ t: 0, z: new Float32Array(LATENT_DIM) }], width: 24, height: 16, fps: FPS, seed: 1, threads: 1,
      react: { pulse: 1, energy: 0, colour: 1 }, onFrame: (rgba) => meter.push(rgba),
    });
    const hue = meter.series().hue;
    const miss = Array.from(hue, (h, i) => Math.abs(wrapAngle(h - GRADE_CENTRE - summary.plan.hue[i]!))).sort((a, b) => a - b);
    expect(miss[Math.floor(miss.length / 2)]!).toBeLessThan(0.05);
    // without the grade (colour 0) the picture keeps its own hue, which is not the plan's
    const own = new FrameMeter(24, 16);
    await renderReactive(fakeModel(), {
      samples: clickClip(), track: [{ t: 0, z: new Float32Array(LATENT_DIM) }], width: 24, height: 16, fps: FPS, seed: 1, threads: 1,
      react: { pulse: 1, energy: 0, colour: 0 }, onFrame: (rgba) => own.push(rgba),
    });
    const ownMiss = Array.from(own.series().hue, (h, i) => Math.abs(wrapAngle(h - GRADE_CENTRE - summary.plan.hue[i]!))).sort((a, b) => a - b);
    expect(ownMiss[Math.floor(ownMiss.length / 2)]!).toBeGreaterThan(0.3);
  });
});
