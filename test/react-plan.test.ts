import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { frameFeatures } from '../src/core/react/features.js';
import { parseReact, parseSmooth, reactPlan } from '../src/core/react/plan.js';
import { LATENT_DIM } from '../src/core/latent.js';
import { Rng } from '../src/core/rng.js';

const SR = 22050;

/** A tone that is quiet for the first half and loud for the second, with clicks at `clicks` seconds. */
function clip(seconds: number, clicks: number[] = []): Float32Array {
  const x = new Float32Array(Math.round(seconds * SR));
  for (let i = 0; i < x.length; i++) {
    const t = i / SR;
    const f = t < seconds / 2 ? 220 : 1760; // low then high: the centroid rises
    x[i] = (t < seconds / 2 ? 0.02 : 0.3) * Math.sin(2 * Math.PI * f * t);
  }
  const rng = new Rng(5);
  for (const c of clicks) for (let j = 0; j < 200; j++) x[Math.round(c * SR) + j]! += 0.8 * (rng.uniform() * 2 - 1) * Math.exp(-j / 40);
  return x;
}

describe('--react parsing', () => {
  it('reads strengths, keeps 1 for the ones not given, and accepts color and off', () => {
    expect(parseReact('pulse=2,energy=0.5')).toEqual({ pulse: 2, energy: 0.5, colour: 1 });
    expect(parseReact(' color = 0 ')).toEqual({ pulse: 1, energy: 1, colour: 0 });
    expect(parseReact('off')).toEqual({ pulse: 0, energy: 0, colour: 0 });
  });
  it('refuses mistakes with one line that names the fix', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /--react is empty; give name=strength pairs/],
      ['bass=1', /unknown reaction "bass"; use pulse, energy or colour/],
      ['pulse=-1', /pulse=-1 is not a strength; use a number from 0 \(off\) to 4/],
      ['pulse=5', /pulse=5 is not a strength/],
      ['pulse=0x1', /pulse=0x1 is not a strength/],
      ['pulse', /"pulse" is not name=strength/],
      ['pulse=1,pulse=2', /pulse is given twice/],
    ];
    for (const [text, message] of cases) {
      let err: unknown;
      try {
        parseReact(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(UserError);
      expect((err as Error).message, text).toMatch(message);
      expect((err as Error).message, text).not.toContain('\n');
    }
    expect(() => parseSmooth('-1')).toThrow(/expected a number between 0 and 10 for --smooth but received "-1"/);
    expect(parseSmooth('0.5')).toBe(0.5);
  });
});

describe('features and plan', () => {
  const fps = 20;
  const samples = clip(4, [2.5, 3.25]);
  const features = frameFeatures(samples, { fps });
  const track = new Rng(1).normalArray(new Float32Array(features.frames * LATENT_DIM));

  it('has one frame per 1/fps s, onsets at the clicks, louder and brighter in the second half', () => {
    expect(features.frames).toBe(80);
    const top = [...features.onset.keys()].sort((a, b) => features.onset[b]! - features.onset[a]!);
    // the tone's entry at 2 s and the two clicks are the three strongest onsets
    expect(top.slice(0, 3).sort((a, b) => a - b)).toEqual([40, 50, 65]);
    expect(features.loudness[70]! - features.loudness[10]!).toBeGreaterThan(20);
    expect(features.centroid[70]!).toBeGreaterThan(4 * features.centroid[10]!);
  });

  it('is deterministic for a seed and follows loudness, onsets and centroid', () => {
    const a = reactPlan(features, { seed: 3, track });
    const b = reactPlan(features, { seed: 3, track });
    const c = reactPlan(features, { seed: 4, track });
    expect(Buffer.from(a.latents.buffer).equals(Buffer.from(b.latents.buffer))).toBe(true);
    expect(Buffer.from(a.steps).equals(Buffer.from(b.steps))).toBe(true);
    expect(Buffer.from(a.latents.buffer).equals(Buffer.from(c.latents.buffer))).toBe(false);
    const sum = (v: ArrayLike<number>, from: number, to: number) => Array.from(v).slice(from, to).reduce((s, x) => s + x, 0);
    expect(sum(a.steps, 50, 80)).toBeGreaterThan(2 * sum(a.steps, 5, 35)); // loud half: faster
    expect(a.exposure[70]!).toBeLessThan(a.exposure[10]!); // loud half: brighter (gamma < 1)
    expect(a.pulse[50]!).toBeGreaterThan(0.5);
    expect(a.pulse[30]!).toBeLessThan(0.02);
    expect(a.hue[70]!).toBeGreaterThan(a.hue[10]! + 1); // higher centroid: hue turned one way
  });

  it('turns each reaction off at strength 0', () => {
    const p = reactPlan(features, { track, strengths: { pulse: 0, energy: 0, colour: 0 } });
    expect(Math.max(...p.pulse)).toBe(0);
    expect(Math.max(...p.hue.map(Math.abs))).toBe(0);
    expect([...new Set(p.steps)]).toEqual([1]);
    expect([...new Set(p.exposure)]).toEqual([1]);
    expect(Math.max(...p.perturb)).toBe(0);
  });
});
