import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOORS, StatePool, persistenceLoss } from '../src/core/model/persistence.js';
import { neighbourCorrelation, spatialStd } from '../src/core/metrics.js';
import { Rng } from '../src/core/rng.js';

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
    const { loss, grad, parts } = persistenceLoss(x, shape);
    expect(parts.std).toBeGreaterThan(0);
    expect(parts.correlation).toBeGreaterThan(0);
    expect(parts.drift).toBeGreaterThan(0);
    expect(loss).toBeCloseTo(parts.std + parts.correlation + parts.drift, 10);
    const rng = new Rng('fd/pick');
    for (let k = 0; k < 25; k++) {
      const i = rng.int(size);
      const h = 1e-3;
      const xp = Float32Array.from(x), xm = Float32Array.from(x);
      xp[i]! += h;
      xm[i]! -= h;
      const numeric = (persistenceLoss(xp, shape).loss - persistenceLoss(xm, shape).loss) / (xp[i]! - xm[i]!);
      expect(Math.abs(numeric - grad[i]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(grad[i]!)) + 1e-4);
    }
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

describe('StatePool', () => {
  it('refills empty and reset entries, continues the others, and is deterministic', () => {
    const settings = { size: 6, batch: 3, steps: 4, reset: 1 };
    const make = () => new StatePool(settings, 2, 2, 2);
    const encoded = Float32Array.from([9, 9, 8, 8]);
    const frames = new Float32Array(2 * 12).fill(0.25);
    const a = make(), b = make();
    const pa = a.draw(new Rng('p/1'), encoded, frames);
    const pb = b.draw(new Rng('p/1'), encoded, frames);
    expect(pa).toEqual(pb);
    expect(new Set(pa).size).toBe(3);
    for (const i of pa) expect(a.age[i]).toBe(0);
    const last = new Float32Array(3 * 12).fill(0.75);
    a.update(pa, last, 4);
    for (const i of pa) expect(a.age[i]).toBe(4);
    expect(Array.from(a.gather(pa).rgb)).toEqual(Array.from(last));
    // the next draw keeps every drawn entry that is not among the first `reset` picks and was filled
    const again = a.draw(new Rng('p/2'), encoded, frames);
    again.forEach((i, k) => {
      if (k >= settings.reset && pa.includes(i)) expect(a.age[i]).toBe(4);
      else expect(a.age[i]).toBe(0);
    });
  });
});
