import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LATENT_DIM } from '../src/core/latent.js';
import { GRADE_CENTRE, renderReactive } from '../src/core/react/index.js';
import { wrapAngle } from '../src/core/react/effects.js';
import { FrameMeter } from '../src/core/react/measure.js';
import { CLICKS, CLICK_RATE, clickClip, fakeModel } from './react-helpers.js';

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

  it('starts from noise unless asked for the decoder\'s grid (which only then is decoded), and refuses another start', async () => {
    const start = async (init?: 'noise' | 'decoder' | 'zeros') => {
      const model = fakeModel();
      let decoded = 0;
      const decode = model.decodeFirstFrame.bind(model);
      model.decodeFirstFrame = (z, batch) => (decoded++, decode(z, batch));
      const hash = createHash('sha256');
      await renderReactive(model, {
        samples: clickClip(), track: [{ t: 0, z: new Float32Array(LATENT_DIM) }], width: 24, height: 16, fps: FPS, seed: 1, threads: 1, frames: 5,
        // 'zeros' is refused at run time; the cast lets the test pass it
        ...(init ? { init: init as 'noise' | 'decoder' } : {}), onFrame: (rgba) => void hash.update(rgba),
      });
      return { hash: hash.digest('hex'), decoded };
    };
    const [byDefault, noise, decoder] = [await start(), await start('noise'), await start('decoder')];
    expect(byDefault).toEqual(noise);
    expect(noise.decoded).toBe(0);
    expect(decoder.decoded).toBe(1);
    expect(decoder.hash).not.toBe(noise.hash);
    await expect(start('zeros')).rejects.toThrow(/one of noise, decoder for init/);
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

  it('aims each frame at the plan\'s brightness', async () => {
    // a tone, quiet for 1.5 s and loud for 1.5 s: the exposure brightens the loud half
    const tone = Float32Array.from({ length: 3 * CLICK_RATE }, (_, i) => (i < 1.5 * CLICK_RATE ? 0.01 : 0.5) * Math.sin((2 * Math.PI * 330 * i) / CLICK_RATE));
    const render = async (samples: Float32Array, react: { pulse: number; energy: number; colour: number }, exposureMode?: 'aim' | 'gamma') => {
      const meter = new FrameMeter(24, 16);
      const summary = await renderReactive(fakeModel(), {
        samples, track: [{ t: 0, z: new Float32Array(LATENT_DIM) }], width: 24, height: 16, fps: FPS, seed: 1, threads: 1,
        react, exposureMode, onFrame: (rgba) => meter.push(rgba),
      });
      return { plan: summary.plan, energy: meter.series().energy };
    };
    const { plan, energy } = await render(tone, { pulse: 0, energy: 1, colour: 0 });
    // the loud half's aim is within the gamma's bounds and is met; the quiet half's (0.08) is not, so its gamma is at its bound
    const miss = (e: Float32Array) => Math.max(...Array.from(e, (v, i) => Math.abs(v - plan.brightness[i]!)).slice(35));
    expect(plan.brightness[50]!).toBeGreaterThan(plan.brightness[10]! + 0.25);
    expect(miss(energy)).toBeLessThan(0.01);
    const flat = await render(tone, { pulse: 0, energy: 0, colour: 0 });
    for (const i of [2, 10, 20]) expect(energy[i]!, `frame ${i}`).toBeLessThan(flat.energy[i]! - 0.05);
    // the gamma that did not look at the picture misses it by more
    const open = await render(tone, { pulse: 0, energy: 1, colour: 0 }, 'gamma');
    expect(miss(open.energy)).toBeGreaterThan(0.03);
  });
});
