import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOORS, StatePool, frameStyle, persistenceLoss, tileFrame } from '../src/core/model/persistence.js';
import { neighbourCorrelation, spatialStd } from '../src/core/metrics.js';
import { Rng } from '../src/core/rng.js';
import { expectGradientMatches } from './finite-differences.js';

const shape = { steps: 4, batch: 2, width: 5, height: 4 };
const size = shape.steps * shape.batch * 3 * shape.width * shape.height;

/** Faint noise around grey: every penalty is active. */
function faint(seed: string): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(size);
  for (let i = 0; i < size; i++) x[i] = 0.5 + 0.012 * rng.normal();
  return x;
}

/** Smooth moving stripes [T][B][3][H][W]: what the floors let pass. */
function stripes(T: number, B: number, W: number, H: number): Float32Array {
  const x = new Float32Array(T * B * 3 * W * H);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let u = 0; u < W; u++) {
    x[((((t * B + b) * 3 + c) * H + y) * W) + u] = 0.5 + 0.3 * Math.sin((2 * Math.PI * (u + 1.5 * t + 2 * c)) / W);
  }
  return x;
}

describe('persistenceLoss', () => {
  it('has the gradient its value has (finite differences)', () => {
    const x = faint('fd');
    // sample 0 has a colour target, sample 1 none
    const style = { target: Float32Array.from([0.2, 0.6, 0.4, 0.1, 0.2, 0.15, 0, 0, 0, 0, 0, 0]), weight: Float32Array.from([1, 0]), scale: 3 };
    const { loss, grad, parts } = persistenceLoss(x, shape, DEFAULT_FLOORS, style);
    expect(parts.std).toBeGreaterThan(0);
    expect(parts.correlation).toBeGreaterThan(0);
    expect(parts.drift).toBeGreaterThan(0);
    expect(parts.style).toBeGreaterThan(0);
    expect(loss).toBeCloseTo(parts.std + parts.correlation + parts.drift + parts.style, 10);
    expectGradientMatches((v) => persistenceLoss(v, shape, DEFAULT_FLOORS, style).loss, x, grad, 25, 'fd/pick');
  });

  it('is zero for smooth moving structure and large for a flat field', () => {
    const T = 8, B = 2, W = 32, H = 32;
    const moving = stripes(T, B, W, H);
    const frame = moving.subarray(0, 3 * W * H);
    expect(spatialStd(frame, W * H)).toBeGreaterThan(DEFAULT_FLOORS.std);
    expect(neighbourCorrelation(frame, W, H)).toBeGreaterThan(DEFAULT_FLOORS.correlation);
    expect(persistenceLoss(moving, { steps: T, batch: B, width: W, height: H }).loss).toBe(0);
    const flat = new Float32Array(moving.length).fill(0.3);
    const r = persistenceLoss(flat, { steps: T, batch: B, width: W, height: H });
    expect(r.parts.std).toBeCloseTo(1, 3);
    expect(r.parts.drift).toBeCloseTo(1, 3);
  });

  it('penalises a still picture only for not moving', () => {
    const T = 8, B = 1, W = 32, H = 32;
    const still = stripes(1, 1, W, H);
    const x = new Float32Array(T * 3 * W * H);
    for (let t = 0; t < T; t++) x.set(still, t * still.length);
    const r = persistenceLoss(x, { steps: T, batch: B, width: W, height: H });
    expect(r.parts.std).toBe(0);
    expect(r.parts.correlation).toBe(0);
    expect(r.parts.drift).toBeCloseTo(1, 3);
  });
});

describe('frameStyle', () => {
  it('is the mean and spatial std per channel, averaged over frames', () => {
    // 2 frames of 2 pixels: R = [0, 1] then [0.5, 0.5]; G = 0.25; B = [0.2, 0.4] both times
    const frames = Float32Array.from([0, 1, 0.25, 0.25, 0.2, 0.4, 0.5, 0.5, 0.25, 0.25, 0.2, 0.4]);
    const s = Array.from(frameStyle(frames, 2, 2));
    const expected = [0.5, 0.25, 0.3, 0.25, 0, 0.1];
    s.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
  });

  it('a frame with the target style costs nothing more than the floors', () => {
    const T = 8, B = 1, W = 32, H = 32;
    const moving = stripes(T, B, W, H);
    const target = frameStyle(moving, T, W * H);
    const r = persistenceLoss(moving, { steps: T, batch: B, width: W, height: H }, DEFAULT_FLOORS, { target, weight: Float32Array.from([1]) });
    expect(r.parts.style).toBeLessThan(1e-4);
    const off = persistenceLoss(moving, { steps: T, batch: B, width: W, height: H }, DEFAULT_FLOORS, { target: Float32Array.from([0.9, 0.1, 0.1, 0.3, 0.05, 0.05]), weight: Float32Array.from([1]) });
    expect(off.parts.style).toBeGreaterThan(0.5);
  });
});

describe('StatePool', () => {
  it('refills empty and reset entries, continues the others, and is deterministic', () => {
    const settings = { size: 6, batch: 3, steps: 4, reset: 1 };
    const make = () => new StatePool(settings, 2, 2, 2);
    const encoded = { z: Float32Array.from([9, 9, 8, 8]), style: Float32Array.from([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]) };
    const frames = new Float32Array(2 * 12).fill(0.25);
    const a = make(), b = make();
    const da = a.draw(new Rng('p/1'), encoded, frames);
    const pa = da.picks;
    expect(b.draw(new Rng('p/1'), encoded, frames)).toEqual(da);
    // fresh entries with an encoded latent carry its clip's style; random ones have none until set
    for (const i of pa) {
      const z0 = a.z[i * 2]!;
      if (z0 === 9 || z0 === 8) {
        expect(a.styled[i]).toBe(1);
        expect(a.style[i * 6]).toBe(z0 === 9 ? 1 : 2);
      } else {
        expect(da.freshRandom).toContain(i);
        expect(a.styled[i]).toBe(0);
      }
    }
    expect(new Set(pa).size).toBe(3);
    for (const i of pa) expect(a.age[i]).toBe(0);
    const last = new Float32Array(3 * 12).fill(0.75);
    a.update(pa, last, 4);
    for (const i of pa) expect(a.age[i]).toBe(4);
    expect(Array.from(a.gather(pa).rgb)).toEqual(Array.from(last));
    // the next draw keeps every drawn entry that is not among the first `reset` picks and was filled
    const again = a.draw(new Rng('p/2'), encoded, frames).picks;
    again.forEach((i, k) => {
      if (k >= settings.reset && pa.includes(i)) expect(a.age[i]).toBe(4);
      else expect(a.age[i]).toBe(0);
    });
  });
});

describe('StatePool with fadeStd', () => {
  it('empties an entry whose frame has faded under fadeStd (the next draw refills it) and keeps the others; off by default', () => {
    const encoded = { z: new Float32Array(0), style: new Float32Array(0) };
    const structured = Float32Array.from({ length: 12 }, (_, j) => (j % 2 ? 0.9 : 0.1)); // std 0.4 per channel
    const faded = Float32Array.from({ length: 12 }, (_, j) => 0.5 + (j % 2 ? 0.01 : -0.01)); // std 0.01
    for (const fadeStd of [0, 0.05]) {
      const pool = new StatePool({ size: 4, batch: 2, steps: 4, reset: 0, fadeStd }, 2, 2, 2);
      const picks = pool.draw(new Rng('f/1'), encoded, new Float32Array(0)).picks;
      const last = new Float32Array(24);
      last.set(structured, 0);
      last.set(faded, 12);
      pool.update(picks, last, 4);
      expect(pool.age[picks[0]!]).toBe(4);
      expect(pool.age[picks[1]!]).toBe(fadeStd > 0 ? -1 : 4);
    }
  });
});

describe('StatePool with encodedShare', () => {
  it('refills from the encoded latents with the given chance (0: never, 1: always; absent: 0.5, drawing as before)', () => {
    const dim = 2, size = 64;
    const encoded = { z: Float32Array.from([9, 9, 8, 8]), style: new Float32Array(12).fill(1) };
    const fromEncoded = (share: number | undefined) => {
      const pool = new StatePool({ size, batch: size, steps: 4, reset: size, ...(share === undefined ? {} : { encodedShare: share }) }, dim, 2, 2);
      const { picks, freshRandom } = pool.draw(new Rng('e/1'), encoded, new Float32Array(0));
      // fromClip marks the entries that took an encoded latent
      for (const i of picks) expect(pool.fromClip[i]).toBe(freshRandom.includes(i) ? 0 : 1);
      return { n: picks.length - freshRandom.length, z: Array.from(pool.z) };
    };
    expect(fromEncoded(0).n).toBe(0);
    expect(fromEncoded(1).n).toBe(size);
    const half = fromEncoded(0.5), third = fromEncoded(0.3);
    expect(half.n).toBeGreaterThan(20);
    expect(half.n).toBeLessThan(44);
    expect(third.n).toBeLessThan(half.n);
    expect(fromEncoded(undefined)).toEqual(half);
  });
});

describe('a pool grid larger than the clips', () => {
  it('tiles a frame on the torus (cropped where the grid does not divide), and copies it at the same size', () => {
    // a 2 x 3 frame (w 3, h 2), values c*100 + y*10 + x, onto 5 x 4
    const src = new Float32Array(3 * 2 * 3);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) src[(c * 2 + y) * 3 + x] = c * 100 + y * 10 + x;
    const dst = new Float32Array(3 * 4 * 5);
    tileFrame(src, { width: 3, height: 2 }, dst, { width: 5, height: 4 });
    for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) expect(dst[(c * 4 + y) * 5 + x]).toBe(c * 100 + (y % 2) * 10 + (x % 3));
    const same = new Float32Array(src.length);
    tileFrame(src, { width: 3, height: 2 }, same, { width: 3, height: 2 });
    expect(same).toEqual(src);
  });

  it('StatePool starts a 6 x 6 entry from a 2 x 2 start frame tiled, or from noise', () => {
    const pool = new StatePool({ size: 8, batch: 8, steps: 4, reset: 8 }, 2, 6, 6);
    // two 2 x 2 start frames, constant per channel and frame: 0.1 c + 0.05 j
    const frames = new Float32Array(2 * 12);
    for (let j = 0; j < 2; j++) for (let c = 0; c < 3; c++) frames.fill(0.1 * c + 0.05 * j + 0.01, j * 12 + c * 4, j * 12 + (c + 1) * 4);
    frames[0] = 0.9; // one cell of frame 0 differs, so its tiling is visible
    const encoded = { z: new Float32Array(0), style: new Float32Array(0) };
    let tiled = 0;
    for (let k = 0; k < 4; k++) {
      const { picks } = pool.draw(new Rng(`tile/${k}`), encoded, frames, { width: 2, height: 2 });
      for (const i of picks) {
        const grid = pool.rgb.subarray(i * 108, (i + 1) * 108);
        const j = [0, 1].find((f) => Math.abs(grid[36]! - (0.1 + 0.05 * f + 0.01)) < 1e-6);
        if (j === undefined) continue; // uniform noise
        tiled++;
        const expected = new Float32Array(108);
        tileFrame(frames.subarray(j * 12, (j + 1) * 12), { width: 2, height: 2 }, expected, { width: 6, height: 6 });
        expect(grid).toEqual(expected);
      }
    }
    expect(tiled).toBeGreaterThan(0);
    expect(tiled).toBeLessThan(32);
  });
});
