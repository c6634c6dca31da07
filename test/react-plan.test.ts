import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { frameFeatures } from '../src/core/react/features.js';
import { BRIGHTNESS_LOUD, BRIGHTNESS_QUIET, OFFBEAT_LEVEL, OFFBEAT_STEPS, levels, parseReact, parseSmooth, reactPlan } from '../src/core/react/plan.js';
import { applyPulse, ExposureAim, meanOpponent, PlaneZoom, showFrame, wrapAngle } from '../src/core/react/effects.js';
import { FrameMeter } from '../src/core/react/measure.js';
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
    expect(a.brightness[70]!).toBeGreaterThan(a.brightness[10]! + 0.5 * (BRIGHTNESS_LOUD - BRIGHTNESS_QUIET)); // and aimed brighter
    expect(a.gammaBounds[0]).toBeCloseTo(2 ** -1.3, 6);
    expect(a.gammaBounds[1]).toBeCloseTo(2 ** 1.3, 6);
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
    expect(p.gammaBounds).toEqual([1, 1]); // the aim may not move the picture
    expect(Math.max(...p.perturb)).toBe(0);
  });
});

describe('onsets move the rule', () => {
  const fps = 20;
  // a loud tone with clicks every 0.5 s: the steps gather on the clicks
  const clicks = [1, 1.5, 2, 2.5, 3, 3.5];
  const samples = clip(4, clicks).map((v, i) => v + 0.3 * Math.sin((2 * Math.PI * 440 * i) / SR));
  const features = frameFeatures(samples, { fps });
  const track = new Float32Array(features.frames * LATENT_DIM);
  const at = clicks.map((c) => Math.round(c * fps));

  it('spends the step budget on the onsets, at most OFFBEAT_STEPS between them', () => {
    const p = reactPlan(features, { track });
    const level = levels(features.onset, 0.5, 0.99);
    for (const f of at) expect(p.steps[f]!, `click frame ${f}`).toBeGreaterThanOrEqual(2);
    for (let i = 21; i < 75; i++) if (level[i]! < OFFBEAT_LEVEL) expect(p.steps[i]!, `frame ${i}`).toBeLessThanOrEqual(OFFBEAT_STEPS);
    // the click frames' steps against the other frames' from 1 s to the end: gathered on the clicks, not when spread evenly
    const even = reactPlan(features, { track, onsetSteps: 0 });
    const ratio = (v: Uint8Array) => {
      const on = at.map((f) => v[f]!), off = [...Array(features.frames - 20).keys()].map((k) => k + 20).filter((i) => !at.includes(i)).map((i) => v[i]!);
      return on.reduce((s, x) => s + x, 0) / on.length / (off.reduce((s, x) => s + x, 0) / off.length);
    };
    expect(ratio(p.steps)).toBeGreaterThan(2);
    expect(ratio(even.steps)).toBeLessThan(1.5);
  });

  it('spreads the steps evenly at pulse 0', () => {
    const p = reactPlan(features, { track, strengths: { pulse: 0, energy: 1, colour: 1 } });
    const even = reactPlan(features, { track, onsetSteps: 0 });
    expect(Buffer.from(p.steps).equals(Buffer.from(even.steps))).toBe(true);
  });
});

describe('the colour grade and the zoom', () => {
  it('sets the shown mean hue to the one asked for and keeps the picture\'s hue contrasts', () => {
    const W = 32, H = 16, plane = W * H;
    const rng = new Rng(2);
    // a reddish picture with green and blue spots, inside 0.2..0.8 (no clipping when turned)
    const rgb = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      const spot = rng.int(3);
      rgb[i] = spot === 0 ? 0.7 : 0.35;
      rgb[plane + i] = spot === 1 ? 0.6 : 0.3;
      rgb[2 * plane + i] = spot === 2 ? 0.6 : 0.3;
    }
    const own = new Float64Array(2);
    meanOpponent(rgb, plane, own);
    const hueOf = (bytes: Uint8Array) => {
      const m = new FrameMeter(W, H);
      m.push(bytes);
      return m.series().hue[0]!;
    };
    const out = new Uint8Array(plane * 4);
    showFrame(rgb, plane, 0, 1, out);
    expect(Math.abs(wrapAngle(hueOf(out) - Math.atan2(own[1]!, own[0]!)))).toBeLessThan(0.02);
    for (const target of [-2, 0.5, 2.5]) {
      showFrame(rgb, plane, wrapAngle(target - Math.atan2(own[1]!, own[0]!)), 1, out);
      expect(Math.abs(wrapAngle(hueOf(out) - target)), `target ${target}`).toBeLessThan(0.02);
      // the spots keep their distinct colours (not a flat tint): two pixels of different spots still differ
      const a = Array.from(out.subarray(0, 3)), differs = [...Array(plane).keys()].some((i) => Math.abs(out[i * 4]! - a[0]!) + Math.abs(out[i * 4 + 1]! - a[1]!) + Math.abs(out[i * 4 + 2]! - a[2]!) > 60);
      expect(differs).toBe(true);
    }
  });

  it('zooms from the centre: the centre stays, a dot moves outward', () => {
    const W = 41, H = 21, plane = W * H;
    const rgb = new Float32Array(3 * plane);
    rgb[10 * W + 20] = 1; // the centre
    rgb[10 * W + 30] = 1; // 10 cells right of it
    new PlaneZoom(W, H).apply(rgb, 0.2);
    expect(rgb[10 * W + 20]).toBeCloseTo(1, 5);
    // 10 cells out -> 12: the brightest cell right of the centre is now at x = 32
    const row = Array.from(rgb.subarray(10 * W + 22, 10 * W + W));
    expect(22 + row.indexOf(Math.max(...row))).toBe(32);
    expect(rgb[10 * W + 30]!).toBeLessThan(0.01);
  });
});


describe('the hue high-pass experiment (docs/music-video.md#what-was-tried)', () => {
  it('follows a change of the centroid and then returns to the middle, where the shipped hue holds the new colour', () => {
    // 8 s at 20 fps: a dull sound (500 Hz) for 4 s, then a bright one (4000 Hz), a little jitter
    const fps = 20, frames = 160, rng = new Rng(6);
    const z = () => new Float32Array(frames);
    const features = { fps, frames, onset: z(), loudness: z().fill(-20), centroid: z(), low: z(), mid: z(), high: z(), chroma: new Float32Array(frames * 12) };
    for (let i = 0; i < frames; i++) features.centroid[i] = (i < 80 ? 500 : 4000) * 2 ** (0.05 * rng.uniform());
    const track = new Float32Array(frames * LATENT_DIM);
    const shipped = reactPlan(features, { track }), changes = reactPlan(features, { track, hueHighPass: 0.5 });
    // shipped: the second half's colour is the bright end (+120 deg), the first half's the dull end
    expect(shipped.hue[150]!).toBeGreaterThan(1.5);
    expect(shipped.hue[10]!).toBeLessThan(-1.5);
    // high-passed: near the middle (0) seconds after the step, away from it at the step
    expect(Math.abs(changes.hue[150]!)).toBeLessThan(0.5);
    expect(Math.abs(changes.hue[10]!)).toBeLessThan(0.5);
    expect(Math.max(...changes.hue.subarray(75, 90))).toBeGreaterThan(1.5);
  });
});

describe('the exposure aims at a brightness (ExposureAim)', () => {
  const W = 40, H = 30, plane = W * H;
  // mid-tones: squared uniform noise, mean 1/3
  const picture = Float32Array.from(new Rng(2).fillUniform(new Float32Array(3 * plane)), (v) => v * v);
  const shownLuma = (rgb: Float32Array, angle: number, gamma: number) => {
    const meter = new FrameMeter(W, H);
    const out = new Uint8Array(plane * 4);
    showFrame(rgb, plane, angle, gamma, out);
    meter.push(out);
    return meter.series().energy[0]!;
  };
  const aim = new ExposureAim();
  const [lo, hi] = [2 ** -1.3, 2 ** 1.3];

  it('finds the gamma that gives the shown picture its mean luma, turned or not', () => {
    for (const angle of [0, 1, -2.5]) {
      for (const target of [0.2, 0.3, 0.5]) {
        const g = aim.gamma(picture, plane, angle, target, lo, hi);
        expect(g).toBeGreaterThan(lo);
        expect(g).toBeLessThan(hi);
        expect(Math.abs(shownLuma(picture, angle, g) - target), `angle ${angle}, target ${target}`).toBeLessThan(0.005);
      }
    }
  });

  it('stops at its bounds when the aim is out of reach', () => {
    expect(aim.gamma(picture, plane, 0, 0.95, lo, hi)).toBe(lo);
    expect(aim.gamma(picture, plane, 0, 0.01, lo, hi)).toBe(hi);
    expect(aim.gamma(picture, plane, 0, 0.3, 1, 1)).toBe(1);
    expect(() => aim.gamma(picture, plane, 0, 0.3, 2, 1)).toThrow(RangeError);
  });

  it('gives back the share `ducking` of a flash', () => {
    const shown = Float32Array.from(picture);
    applyPulse(shown, W, H, 0.5, 'rings', 0, new Rng(0));
    const target = 0.4;
    const full = aim.duckedGamma(picture, shown, plane, 0, target, lo, hi, 1);
    const none = aim.duckedGamma(picture, shown, plane, 0, target, lo, hi, 0);
    const half = aim.duckedGamma(picture, shown, plane, 0, target, lo, hi, 0.5);
    expect(Math.abs(shownLuma(shown, 0, full) - target)).toBeLessThan(0.005); // the frame holds the aim
    expect(Math.abs(shownLuma(picture, 0, none) - target)).toBeLessThan(0.005); // the picture under the rings does
    expect(shownLuma(shown, 0, none)).toBeGreaterThan(target + 0.1); // and the rings brighten the frame
    expect(half).toBeCloseTo(Math.sqrt(full * none), 9);
    expect(shownLuma(shown, 0, half)).toBeGreaterThan(target + 0.02);
    expect(shownLuma(shown, 0, half)).toBeLessThan(shownLuma(shown, 0, none) - 0.02);
  });
});
