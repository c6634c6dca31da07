import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOORS, persistenceLoss, type StyleTargets } from '../src/core/model/persistence.js';
import { MOTION_DIM, SCALE_HEIGHT_RANGE, SCALE_WAVELENGTH_HIGH, SCALE_WAVELENGTH_LOW, lookTargets, scaleStatistic, scaleTarget, structureFloor, targetWavelength, travelShift } from '../src/core/model/look-targets.js';
import { DEFAULT_SETTINGS, resolveSettings } from '../src/core/model/training/settings.js';
import { Rng } from '../src/core/rng.js';
import { expectGradientMatches } from './finite-differences.js';

/** Frames [T][B][3][H][W] of a sinusoid of wavelength `period` cells along x, moved `speed` cells per frame. */
function waves(T: number, B: number, W: number, H: number, period: number, speed: number, diagonal = false): Float32Array {
  const x = new Float32Array(T * B * 3 * W * H);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let u = 0; u < W; u++) {
    x[((((t * B + b) * 3 + c) * H + y) * W) + u] = 0.5 + 0.3 * Math.sin((2 * Math.PI * (u + (diagonal ? y : 0) - speed * t + c)) / period);
  }
  return x;
}

function looksStyle(B: number, scale: number[], travel: number[], scaleWeight: number, travelWeight: number, lag = 2): StyleTargets {
  return { target: new Float32Array(6 * B), weight: new Float32Array(B), looks: { scale: Float32Array.from(scale), scaleWeight, travel: Float32Array.from(travel), travelWeight, lag } };
}

describe('look targets from the latent', () => {
  it('maps low notes to large patterns, high notes to fine ones, clamped', () => {
    const z = new Float32Array(64);
    z[2] = -5;
    expect(targetWavelength(z)).toBeCloseTo(SCALE_WAVELENGTH_LOW, 6);
    z[2] = 5;
    expect(targetWavelength(z)).toBeCloseTo(SCALE_WAVELENGTH_HIGH, 6);
    z[2] = 0;
    expect(targetWavelength(z)).toBeCloseTo(Math.sqrt(SCALE_WAVELENGTH_LOW * SCALE_WAVELENGTH_HIGH), 6);
    expect(scaleTarget(z)).toBeCloseTo(scaleStatistic(targetWavelength(z)), 9);
    z[2] = -1;
    const low = scaleTarget(z);
    z[2] = 1;
    // a finer pattern has the larger log(1 - rho)
    expect(scaleTarget(z)).toBeGreaterThan(low);
    for (let L = 3; L < 40; L++) expect(scaleStatistic(L + 1)).toBeLessThan(scaleStatistic(L));
  });

  it('the fine end is a setting: the default map is the one of 32 and 5.5 cells, --scale-fine 4 widens it to 8x', () => {
    expect(DEFAULT_SETTINGS.scaleFine).toBe(5.5);
    expect(SCALE_WAVELENGTH_HIGH).toBe(5.5);
    const rng = new Rng('looks/fine');
    const n = 64, dim = 64;
    const zs = new Float32Array(n * dim);
    rng.normalArray(zs);
    const scale = new Float32Array(n), fine = new Float32Array(n), travel = new Float32Array(2 * n);
    lookTargets(zs, n, dim, scale, travel);
    lookTargets(zs, n, dim, fine, travel, undefined, { fine: DEFAULT_SETTINGS.scaleFine });
    for (let k = 0; k < n; k++) {
      const z = zs.subarray(k * dim, (k + 1) * dim);
      // the default map, written out: 32 x (5.5 / 32)^t, t = (clamp(h, -1.5, 1.5) + 1.5) / 3
      const t = (Math.max(-1.5, Math.min(1.5, z[2]!)) + 1.5) / 3;
      expect(targetWavelength(z)).toBe(32 * (5.5 / 32) ** t);
      expect(targetWavelength(z, undefined, 5.5)).toBe(targetWavelength(z));
      expect(scale[k]).toBe(Math.fround(scaleTarget(z)));
      expect(fine[k]).toBe(scale[k]);
    }
    const z = new Float32Array(dim);
    z[2] = 5;
    expect(targetWavelength(z, undefined, 4)).toBeCloseTo(4, 6);
    z[2] = -5;
    expect(targetWavelength(z, undefined, 4)).toBeCloseTo(SCALE_WAVELENGTH_LOW, 6);
    z[2] = 0;
    expect(targetWavelength(z, undefined, 4)).toBeCloseTo(Math.sqrt(4 * SCALE_WAVELENGTH_LOW), 6);
    expect(resolveSettings({ iters: 1, scaleFine: 4 }, 24).scaleFine).toBe(4);
    for (const bad of [1.5, 65, NaN]) expect(() => resolveSettings({ iters: 1, scaleFine: bad }, 24)).toThrow(/scaleFine must be a number in 2..64/);
    expect(() => resolveSettings({ iters: 1, scaleFine: 40 }, 24)).toThrow(/scaleCoarse \(32 cells.*must be at least scaleFine \(40/);
    for (const bad of [-0.1, 2.5]) expect(() => resolveSettings({ iters: 1, floorStdPower: bad }, 24)).toThrow(/floorStdPower must be a number in 0..2/);
  });

  it('the coarse end is a setting too: --scale-coarse 20 asks the lowest notes for 20 cells, the map stays log-linear', () => {
    expect(DEFAULT_SETTINGS.scaleCoarse).toBe(SCALE_WAVELENGTH_LOW);
    const z = new Float32Array(64);
    z[2] = -5;
    expect(targetWavelength(z, undefined, 4, 20)).toBeCloseTo(20, 6);
    z[2] = 5;
    expect(targetWavelength(z, undefined, 4, 20)).toBeCloseTo(4, 6);
    z[2] = 0;
    expect(targetWavelength(z, undefined, 4, 20)).toBeCloseTo(Math.sqrt(4 * 20), 6);
    const scale = new Float32Array(1), travel = new Float32Array(2);
    z[2] = -5;
    lookTargets(z, 1, 64, scale, travel, undefined, { fine: 4, coarse: 20 });
    expect(scale[0]).toBe(Math.fround(scaleStatistic(20)));
    expect(resolveSettings({ iters: 1, scaleCoarse: 20, scaleFine: 4 }, 24).scaleCoarse).toBe(20);
    for (const bad of [1, 65, NaN]) expect(() => resolveSettings({ iters: 1, scaleCoarse: bad }, 24)).toThrow(/scaleCoarse must be a number in 2..64/);
    expect(() => resolveSettings({ iters: 1, scaleCoarse: 5 }, 24)).toThrow(/scaleCoarse \(5 cells.*must be at least scaleFine \(5.5/);
  });

  it('the height range is a setting: --scale-height-range 1 reaches the ends at +-1, so more random latents ask for them', () => {
    expect(DEFAULT_SETTINGS.scaleHeightRange).toBe(SCALE_HEIGHT_RANGE);
    const z = new Float32Array(64);
    for (const [h, cells] of [[-1, 24], [-1.4, 24], [1, 4], [1.4, 4], [0, Math.sqrt(4 * 24)], [-0.5, 24 * (4 / 24) ** 0.25]] as const) {
      z[2] = h;
      expect(targetWavelength(z, undefined, 4, 24, 1)).toBeCloseTo(cells, 6);
    }
    z[2] = -1;
    expect(targetWavelength(z, undefined, 4, 24)).toBeGreaterThan(8); // the default range 1.5: h = -1 is not the end yet
    expect(targetWavelength(z, undefined, 4, 24)).toBeLessThan(24);
    // lookTargets passes the range on: of 4000 N(0, 1) latents, about 16% (not 7%) are asked for each end
    const rng = new Rng('looks/range');
    const n = 4000, dim = 64, zs = new Float32Array(n * dim), scale = new Float32Array(n), travel = new Float32Array(2 * n);
    rng.normalArray(zs);
    const share = (range: number | undefined, cells: number) => {
      lookTargets(zs, n, dim, scale, travel, undefined, { fine: 4, coarse: 24, ...(range !== undefined ? { range } : {}) });
      return scale.filter((s) => s === Math.fround(scaleStatistic(cells))).length / n;
    };
    expect(share(1, 24)).toBeGreaterThan(0.13);
    expect(share(1, 4)).toBeGreaterThan(0.13);
    expect(share(undefined, 24)).toBeLessThan(0.09);
    expect(resolveSettings({ iters: 1, scaleHeightRange: 1 }, 24).scaleHeightRange).toBe(1);
    for (const bad of [0.1, 3.5, NaN]) expect(() => resolveSettings({ iters: 1, scaleHeightRange: bad }, 24)).toThrow(/scaleHeightRange must be a number in 0.25..3/);
  });

  it('the structure floor tied to the scale target rises with the wavelength, the plain floor at power 0 or the fine end', () => {
    expect(DEFAULT_SETTINGS.floorStdPower).toBe(0);
    expect(structureFloor(32, 0.12, 0)).toBe(0.12);
    expect(structureFloor(5.5, 0.12, 0.25)).toBe(0.12);
    expect(structureFloor(4, 0.12, 0.25, 5.5)).toBe(0.12); // never below the plain floor
    expect(structureFloor(32, 0.12, 0.25)).toBeCloseTo(0.12 * (32 / 5.5) ** 0.25, 9);
    expect(structureFloor(22, 0.12, 0.5, 5.5)).toBeCloseTo(0.24, 9);
    const n = 3, dim = 64, zs = new Float32Array(n * dim);
    [-5, 0, 5].forEach((h, k) => { zs[k * dim + 2] = h; });
    const floor = new Float32Array(n);
    lookTargets(zs, n, dim, new Float32Array(n), new Float32Array(2 * n), undefined, { fine: 4, floorStd: 0.1, power: 0.5 }, floor);
    expect(floor[0]).toBeCloseTo(0.1 * Math.sqrt(8), 6);
    expect(floor[1]).toBeCloseTo(0.1 * Math.sqrt(Math.sqrt(8)), 6);
    expect(floor[2]).toBeCloseTo(0.1, 6);
  });

  it('asks half of the random latents to travel, in all 8 directions', () => {
    const rng = new Rng('looks');
    const n = 400, dim = 64;
    const zs = new Float32Array(n * dim);
    rng.normalArray(zs);
    const scale = new Float32Array(n), travel = new Float32Array(2 * n);
    lookTargets(zs, n, dim, scale, travel);
    let moving = 0;
    const dirs = new Set<string>();
    for (let k = 0; k < n; k++) {
      const [dx, dy] = [travel[2 * k]!, travel[2 * k + 1]!];
      const shift = travelShift(zs.subarray(k * dim, (k + 1) * dim));
      if (zs[k * dim + MOTION_DIM]! > 0) {
        moving++;
        expect(shift).toEqual([dx, dy]);
        expect(Math.max(Math.abs(dx), Math.abs(dy))).toBe(1);
        dirs.add(`${dx},${dy}`);
      } else {
        expect(shift).toBeNull();
        expect([dx, dy]).toEqual([0, 0]);
      }
    }
    expect(moving / n).toBeGreaterThan(0.4);
    expect(moving / n).toBeLessThan(0.6);
    expect(dirs.size).toBe(8);
    const z = new Float32Array(dim);
    z[MOTION_DIM] = 1; z[MOTION_DIM + 1] = 0; z[MOTION_DIM + 2] = 2;
    expect(travelShift(z)).toEqual([0, 1]);
  });
});

describe('the look terms of persistenceLoss', () => {
  const shape = { steps: 5, batch: 2, width: 12, height: 10 };
  it('have the gradient their value has (finite differences)', () => {
    const rng = new Rng('looks/fd');
    const x = waves(shape.steps, shape.batch, shape.width, shape.height, 6, 0.5);
    for (let i = 0; i < x.length; i++) x[i]! += 0.05 * rng.normal();
    const style = looksStyle(2, [scaleStatistic(16), scaleStatistic(5)], [1, -1, 0, 0], 2, 3);
    const { loss, grad, parts } = persistenceLoss(x, shape, DEFAULT_FLOORS, style);
    expect(parts.scale).toBeGreaterThan(0);
    expect(parts.travel).toBeGreaterThan(0);
    expect(loss).toBeCloseTo(parts.std + parts.correlation + parts.drift + parts.style + parts.scale + parts.travel, 10);
    expectGradientMatches((v) => persistenceLoss(v, shape, DEFAULT_FLOORS, style).loss, x, grad, 40, 'looks/fd/pick');
  });

  it('a per-sample structure floor has the gradient its value has, and asks more of a faint frame than the plain floor', () => {
    const rng = new Rng('looks/floor');
    // faint frames (std ~0.03): below both floors, so the hinge is active
    const x = Float32Array.from(waves(shape.steps, shape.batch, shape.width, shape.height, 6, 0.5), (v) => 0.5 + 0.1 * (v - 0.5));
    for (let i = 0; i < x.length; i++) x[i]! += 0.01 * rng.normal();
    const style = looksStyle(2, [scaleStatistic(16), scaleStatistic(5)], [1, -1, 0, 0], 2, 3);
    style.looks!.floor = Float32Array.from([0.2, 0.09]);
    const { grad, parts } = persistenceLoss(x, shape, DEFAULT_FLOORS, style);
    expectGradientMatches((v) => persistenceLoss(v, shape, DEFAULT_FLOORS, style).loss, x, grad, 40, 'looks/floor/pick');
    const plain = persistenceLoss(x, shape, DEFAULT_FLOORS, looksStyle(2, [scaleStatistic(16), scaleStatistic(5)], [1, -1, 0, 0], 2, 3)).parts;
    expect(parts.std).toBeGreaterThan(plain.std);
    expect(parts.scale).toBe(plain.scale);
    // every sample at the plain floor (0.125: exact in float32): the loss is the old one
    const floors = { ...DEFAULT_FLOORS, std: 0.125 };
    const same = looksStyle(2, [scaleStatistic(16), scaleStatistic(5)], [1, -1, 0, 0], 2, 3);
    same.looks!.floor = Float32Array.from([0.125, 0.125]);
    const a = persistenceLoss(x, shape, floors, same), b = persistenceLoss(x, shape, floors, looksStyle(2, [scaleStatistic(16), scaleStatistic(5)], [1, -1, 0, 0], 2, 3));
    expect(a.loss).toBe(b.loss);
    expect(Array.from(a.grad)).toEqual(Array.from(b.grad));
  });

  it('the scale term is smallest at the wavelength its target names', () => {
    const W = 48, H = 48, T = 2, B = 1;
    // diagonal waves sin(2 pi (x + y) / period): the same correlation along x and y, cos(2 pi L / period)
    const cost = (period: number, target: number) => persistenceLoss(waves(T, B, W, H, period, 0, true), { steps: T, batch: B, width: W, height: H }, DEFAULT_FLOORS, looksStyle(1, [target], [0, 0], 1, 0)).parts.scale;
    for (const period of [6, 12, 24]) expect(cost(period, scaleStatistic(period))).toBeLessThan(1e-6);
    expect(cost(24, scaleStatistic(6))).toBeGreaterThan(1);
    expect(cost(6, scaleStatistic(24))).toBeGreaterThan(1);
    expect(cost(12, scaleStatistic(24))).toBeLessThan(cost(6, scaleStatistic(24)));
  });

  it('the look terms do not see colour: an offset per channel changes neither', () => {
    const W = 24, H = 24, T = 4, B = 1, sh = { steps: T, batch: B, width: W, height: H };
    const x = waves(T, B, W, H, 12, 0.5, true);
    const tinted = Float32Array.from(x, (v, i) => v * 0.5 + [0.45, 0.05, 0.25][Math.floor(i / (W * H)) % 3]!);
    const style = looksStyle(1, [scaleStatistic(8)], [1, 0], 1, 1, 2);
    const plain = persistenceLoss(Float32Array.from(x, (v) => v * 0.5 + 0.25), sh, DEFAULT_FLOORS, style).parts;
    const coloured = persistenceLoss(tinted, sh, DEFAULT_FLOORS, style).parts;
    expect(plain.scale).toBeGreaterThan(0.01);
    expect(coloured.scale).toBeCloseTo(plain.scale, 5);
    expect(coloured.travel).toBeCloseTo(plain.travel, 5);
  });

  it('the travel term is zero for a pattern moving as asked and not for one standing or moving the other way', () => {
    const W = 24, H = 8, T = 6, B = 1, lag = 2;
    const travelCost = (speed: number, dx: number) => persistenceLoss(waves(T, B, W, H, 8, speed), { steps: T, batch: B, width: W, height: H }, DEFAULT_FLOORS, looksStyle(1, [NaN], [dx, 0], 0, 1, lag)).parts.travel;
    expect(travelCost(0.5, 0)).toBe(0); // no shift asked: no term
    expect(travelCost(0.5, 1)).toBeLessThan(1e-9); // one cell every 2 frames, to +x
    expect(travelCost(0, 1)).toBeGreaterThan(0.1);
    expect(travelCost(-0.5, 1)).toBeGreaterThan(travelCost(0, 1));
    expect(travelCost(-0.5, -1)).toBeLessThan(1e-9);
  });

  it('are off without looks or at weight 0: the loss is the old one', () => {
    const x = waves(shape.steps, shape.batch, shape.width, shape.height, 6, 0.5);
    const plain = persistenceLoss(x, shape, DEFAULT_FLOORS, { target: new Float32Array(12), weight: new Float32Array(2) });
    const off = persistenceLoss(x, shape, DEFAULT_FLOORS, looksStyle(2, [0.5, 0.5], [1, 0, 1, 0], 0, 0));
    expect(off.loss).toBe(plain.loss);
    expect(Array.from(off.grad)).toEqual(Array.from(plain.grad));
  });
});
