import { describe, expect, it } from 'vitest';
import { frameColour, pixelHue } from '../src/core/variety/colour.js';
import { RadialSpectrum } from '../src/core/variety/spectrum.js';
import { distinctLooks, lookOf, measureVariety, renderFeatures, spread, varietyOfFeatures, type RenderFeatures } from '../src/core/variety.js';
import { Rng } from '../src/core/rng.js';

const S = 64;
const PLANE = S * S;

/** HSV (degrees, 0..1, 0..1) -> RGB. */
function hsv(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h / 60) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

/** A frame [3][S][S] whose value at each cell is `value(x, y)` in colour hue h (saturation 0.8). */
function colourFrame(value: (x: number, y: number) => number, h = 30, s = 0.8): Float32Array {
  const f = new Float32Array(3 * PLANE);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const [r, g, b] = hsv(h, s, value(x, y));
      f[y * S + x] = r;
      f[PLANE + y * S + x] = g;
      f[2 * PLANE + y * S + x] = b;
    }
  }
  return f;
}

interface Blob { x: number; y: number; a: number }
function randomBlobs(rng: Rng, count: number, within?: { cx: number; cy: number; r: number }): Blob[] {
  return Array.from({ length: count }, () => {
    if (!within) return { x: rng.uniform() * S, y: rng.uniform() * S, a: 0.5 + 0.5 * rng.uniform() };
    const r = within.r * Math.sqrt(rng.uniform()), t = 2 * Math.PI * rng.uniform();
    return { x: within.cx + r * Math.cos(t), y: within.cy + r * Math.sin(t), a: 0.5 + 0.5 * rng.uniform() };
  });
}
/** Gaussian blobs (sigma 2.5 cells) on the torus, values 0.1..~0.9. */
function blobValue(blobs: Blob[], sigma = 2.5): (x: number, y: number) => number {
  const grid = new Float32Array(PLANE);
  const reach = Math.ceil(4 * sigma);
  for (const b of blobs) {
    const bx = Math.round(b.x), by = Math.round(b.y);
    for (let j = -reach; j <= reach; j++) {
      const y = (((by + j) % S) + S) % S, dy = by + j - b.y;
      for (let i = -reach; i <= reach; i++) {
        const x = (((bx + i) % S) + S) % S, dx = bx + i - b.x;
        grid[y * S + x] += b.a * Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
      }
    }
  }
  return (x, y) => 0.1 + 0.8 * Math.min(1, grid[y * S + x]!);
}

function run(frame: (t: number) => Float32Array, count = 51) {
  return { width: S, height: S, frames: Array.from({ length: count }, (_, t) => frame(t)) };
}

describe('colour', () => {
  it('pixelHue follows the HSV circle', () => {
    expect(pixelHue(1, 0, 0)).toBeCloseTo(0);
    expect(pixelHue(1, 1, 0)).toBeCloseTo(60);
    expect(pixelHue(0, 1, 0)).toBeCloseTo(120);
    expect(pixelHue(0, 0, 1)).toBeCloseTo(240);
    expect(pixelHue(1, 0, 0.5)).toBeCloseTo(330);
  });

  it('a frame painted in one hue has that hue, whatever its pattern and brightness; a grey frame has none', () => {
    const pattern = blobValue(randomBlobs(new Rng(1), 12));
    for (const h of [15, 100, 200, 345]) {
      const c = frameColour(colourFrame(pattern, h), PLANE);
      expect(Math.abs(((c.hue! - h + 540) % 360) - 180)).toBeLessThan(1);
      expect(c.saturation).toBeGreaterThan(0.7);
    }
    const dark = frameColour(colourFrame((x, y) => 0.05 * pattern(x, y), 200), PLANE);
    expect(dark.hue).toBeCloseTo(200, 0);
    expect(dark.brightness).toBeLessThan(0.05);
    const grey = frameColour(colourFrame(pattern, 0, 0.02), PLANE);
    expect(grey.hue).toBeNull();
  });

  it('near-black pixels count little in the hue: a few dark blue pixels do not pull a bright orange frame', () => {
    const f = colourFrame((x) => (x < 8 ? 0.03 : 0.8), 30);
    for (let y = 0; y < S; y++) for (let x = 0; x < 8; x++) f[2 * PLANE + y * S + x] = 0.06; // dark blue
    expect(frameColour(f, PLANE).hue!).toBeLessThan(40);
  });
});

describe('dominant wavelength', () => {
  const spectrum = new RadialSpectrum(S, S);
  it('is the period of stripes, in any direction', () => {
    for (const [kx, ky, want] of [[8, 0, 8], [0, 16, 4], [4, 3, 12.8], [2, 0, 32]] as const) {
      const f = colourFrame((x, y) => 0.5 + 0.4 * Math.cos((2 * Math.PI * (kx * x + ky * y)) / S), 120);
      expect(spectrum.peak(f).wavelength).toBeCloseTo(want, 1);
    }
  });
  it('of spots on a lattice is the lattice spacing', () => {
    const lattice = (a: number): Blob[] => Array.from({ length: (S / a) ** 2 }, (_, i) => ({ x: (i % (S / a)) * a + 3, y: Math.floor(i / (S / a)) * a + 5, a: 1 }));
    expect(spectrum.peak(colourFrame(blobValue(lattice(16)))).wavelength).toBeCloseTo(16, 0);
    expect(spectrum.peak(colourFrame(blobValue(lattice(8), 1.5))).wavelength).toBeCloseTo(8, 0);
  });
  it('works on a non-square grid', () => {
    const sp = new RadialSpectrum(48, 32);
    const f = new Float32Array(3 * 48 * 32);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 48; x++) f[c * 48 * 32 + y * 48 + x] = 0.5 + 0.4 * Math.cos((2 * Math.PI * 6 * x) / 48);
    expect(sp.peak(f).wavelength).toBeCloseTo(8, 1);
  });
});

describe('motion type', () => {
  const blobs = randomBlobs(new Rng(3), 20);
  it('a still pattern is still', () => {
    const f = colourFrame(blobValue(blobs));
    expect(renderFeatures(run(() => f)).motion.type).toBe('still');
  });

  it('a pattern translating across the torus is travelling, at its speed', () => {
    const v = [0.35, -0.2];
    const r = renderFeatures(run((t) => colourFrame(blobValue(blobs.map((b) => ({ ...b, x: b.x + v[0]! * t, y: b.y + v[1]! * t }))))));
    expect(r.motion.type).toBe('travelling');
    expect(r.motion.explained).toBeGreaterThan(0.8);
    expect(r.motion.speed).toBeCloseTo(Math.hypot(v[0]!, v[1]!), 1);
  });

  it('blobs travelling in different directions are travelling, not rotating', () => {
    const dirs = blobs.map((_, i) => [Math.cos(i * 2.4), Math.sin(i * 2.4)]);
    const r = renderFeatures(run((t) => colourFrame(blobValue(blobs.map((b, i) => ({ ...b, x: b.x + 0.3 * dirs[i]![0]! * t, y: b.y + 0.3 * dirs[i]![1]! * t }))))));
    expect(r.motion.type).toBe('travelling');
  });

  it('a wave (oblique stripes moving across themselves) is travelling, at its speed across the stripes', () => {
    const k = Math.hypot(3, 2) / S, speed = 0.3, w = 2 * Math.PI * k * speed;
    const r = renderFeatures(run((t) => colourFrame((x, y) => 0.5 + 0.4 * Math.cos((2 * Math.PI * (3 * x + 2 * y)) / S - w * t), 250)));
    expect(r.motion.type).toBe('travelling');
    expect(r.motion.speed).toBeCloseTo(speed, 1);
  });

  it('a pattern turning about a centre is rotating', () => {
    for (const w of [0.02, -0.012]) {
      const disc = randomBlobs(new Rng(4), 60, { cx: 32, cy: 32, r: 30 });
      const r = renderFeatures(run((t) => colourFrame(blobValue(disc.map((b) => {
        const dx = b.x - 32, dy = b.y - 32, c = Math.cos(w * t), s = Math.sin(w * t);
        return { ...b, x: 32 + c * dx - s * dy, y: 32 + s * dx + c * dy };
      })))));
      expect(r.motion.type).toBe('rotating');
      expect(r.motion.rotation).toBeGreaterThan(0.5);
    }
  });

  it('a pattern that changes in place is flickering; a pattern renewed every frame is chaotic', () => {
    const phases = blobs.map((_, i) => i * 1.7);
    const flicker = renderFeatures(run((t) => colourFrame(blobValue(blobs.map((b, i) => ({ ...b, a: b.a * (0.6 + 0.4 * Math.sin(0.5 * t + phases[i]!)) }))))));
    expect(flicker.change).toBeGreaterThan(0.003);
    expect(flicker.motion.type).toBe('flickering');
    const chaos = renderFeatures(run((t) => colourFrame(blobValue(randomBlobs(new Rng(100 + t), 20)))));
    expect(chaos.motion.type).toBe('chaotic');
    expect(chaos.motion.persistence).toBeLessThan(0.5);
  });
});

describe('a set of renders', () => {
  it('looks combine hue bin, wavelength class and change class', () => {
    expect(lookOf(30, 8, 0.01)).toBe('hue0-60/6-16px/slow');
    expect(lookOf(359, 5.9, 0.001)).toBe('hue300-360/<6px/still');
    expect(lookOf(null, 17, 0.05)).toBe('grey/>16px/fast');
  });

  it('counts hue bins, the wavelength span, effective looks and motion shares', () => {
    const base = { saturation: 0.5, brightness: 0.3, motion: { type: 'chaotic', explained: 0, lag: 1, displacement: 0, speed: 0, uniformity: 0, heading: 0, growth: 0, rotation: 0, turn: 0, persistence: 0 } } as const;
    const make = (hue: number | null, wavelength: number, change: number, type: RenderFeatures['motion']['type'] = 'chaotic', uniformity = 0): RenderFeatures =>
      ({ ...base, hue, wavelength, change, motion: { ...base.motion, type, uniformity, heading: 30 }, look: lookOf(hue, wavelength, change) });
    const set = [make(10, 8, 0.01), make(20, 8, 0.01), make(50, 8, 0.01, 'travelling', 0.9), make(200, 20, 0.05, 'rotating'), make(null, 4, 0.001, 'still')];
    const v = varietyOfFeatures(set);
    expect(v.hueBinsCovered).toBe(3); // 0-30 (two), 30-60, 180-210
    expect(v.grey).toBe(1);
    expect(v.commonestLookShare).toBeCloseTo(3 / 5);
    // shares 3/5, 1/5, 1/5: exp(entropy)
    expect(v.effectiveLooks).toBeCloseTo(Math.exp(-(0.6 * Math.log(0.6) + 2 * 0.2 * Math.log(0.2))), 6);
    expect(v.travellingOrRotatingShare).toBeCloseTo(2 / 5);
    expect(v.wholeFieldDrift).toEqual({ share: 1 / 5, headingAgreement: 1 }); // the travelling one slides as a whole
    expect(v.travellingOrRotatingWithoutDriftShare).toBeCloseTo(1 / 5);
    expect(v.wavelength.p10).toBeCloseTo(5.6); // 4, 8, 8, 8, 20: 4 + 0.4 x 4
    expect(v.wavelength.span).toBeCloseTo(v.wavelength.p90 / 5.6);
    expect(spread([3, 1, 2]).median).toBe(2);
  });

  it('measureVariety takes frames and reports each render', () => {
    const blobs = randomBlobs(new Rng(5), 20);
    const still = run(() => colourFrame(blobValue(blobs), 200), 3);
    const moving = run((t) => colourFrame(blobValue(blobs.map((b) => ({ ...b, x: b.x + 0.5 * t }))), 100), 40);
    const v = measureVariety([still, moving]);
    expect(v.perRender.map((r) => r.motion.type)).toEqual(['still', 'travelling']);
    expect(v.hueBins[6]).toBe(1);
    expect(v.hueBins[3]).toBe(1);
    expect(v.effectiveLooks).toBeCloseTo(2);
    expect(() => measureVariety([{ width: S, height: S, frames: [still.frames[0]!] }])).toThrow(/at least 2 frames/);
  });
});

describe('distinct looks', () => {
  it('k-means on the descriptor separates three kinds of render and picks one of each, the same for the same seed', () => {
    const rng = new Rng(9);
    const motion = (type: RenderFeatures['motion']['type'], speed: number) => ({ type, explained: 0.8, lag: 4, displacement: 4 * speed, speed, uniformity: 0.9, heading: 0, growth: 2, rotation: 0.2, turn: 0.02, persistence: 0.1 });
    const kinds = [
      (j: number): RenderFeatures => ({ hue: 10 + j, saturation: 0.8, brightness: 0.4, wavelength: 5, change: 0.05, motion: motion('travelling', 0.5), look: '' }),
      (j: number): RenderFeatures => ({ hue: 220 + j, saturation: 0.6, brightness: 0.2, wavelength: 24, change: 0.01, motion: motion('chaotic', 0.1), look: '' }),
      (j: number): RenderFeatures => ({ hue: null, saturation: 0.02, brightness: 0.7, wavelength: 10, change: 0.001, motion: motion('still', 0), look: '' }),
    ];
    const features = Array.from({ length: 30 }, (_, i) => kinds[i % 3]!(rng.uniform() * 5));
    const looks = distinctLooks(features, { k: 3, seed: 1 });
    expect(looks.map((c) => c.members.length)).toEqual([10, 10, 10]);
    for (const c of looks) {
      expect(new Set(c.members.map((m) => m % 3)).size).toBe(1);
      expect(c.members[0]).toBe(c.representative);
    }
    expect(distinctLooks(features, { k: 3, seed: 1 })).toEqual(looks);
    expect(distinctLooks(features.slice(0, 2), { k: 5 }).length).toBe(2);
  });
});

describe('variety runs are nca render\'s renders', () => {
  it('frame for frame, with perturbation, decoder or noise start, both protocols and several steps per frame', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadModel } = await import('../src/core/model/networks.js');
    const { render } = await import('../src/core/render.js');
    const { readPng, frameFileName } = await import('../src/core/io/png.js');
    const { planarToRgba } = await import('../src/core/io/image.js');
    const { playRun } = await import('../src/core/variety/runs.js');
    const { randomLatent } = await import('../src/core/latent.js');
    const model = await loadModel();
    const dir = mkdtempSync(join(tmpdir(), 'nca-variety-'));
    try {
      const size = 16, frames = 6;
      const cases = [
        { seed: 3, perturb: 5, init: 'noise', protocol: 'frame', stepsPerFrame: 4 },
        { seed: 4, perturb: 0, init: 'decoder', protocol: 'frame', stepsPerFrame: 1 },
        { seed: 5, perturb: 9, init: 'noise', protocol: 'free', stepsPerFrame: 3 },
      ] as const;
      for (const c of cases) {
        const out = join(dir, `s${c.seed}`);
        await render({ kind: 'latent', latent: { z: randomLatent(new Rng(c.seed)), provenance: { command: 'test' } }, model }, {
          width: size, height: size, steps: frames * c.stepsPerFrame, every: c.stepsPerFrame, seed: c.seed, perturb: c.perturb, init: { kind: c.init }, protocol: c.protocol, threads: 1, out,
        });
        const mine: Uint8Array[] = [];
        await playRun({ kind: 'latent', z: randomLatent(new Rng(c.seed)), seed: c.seed }, model, { width: size, height: size, frames, ...c, threads: 1 }, (f) => {
          const rgba = new Uint8Array(size * size * 4);
          planarToRgba(f, size, size, 1, rgba);
          mine.push(rgba);
        });
        expect(mine.length).toBe(frames + 1);
        for (let k = 0; k <= frames; k++) expect(Buffer.from(mine[k]!).equals(Buffer.from((await readPng(join(out, frameFileName(k)))).data)), `case ${c.seed} frame ${k}`).toBe(true);
      }
    } finally {
      model.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
