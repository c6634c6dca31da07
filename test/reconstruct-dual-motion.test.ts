import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { PriorTracker, bilinearClamped, gaussianTaps } from '../src/core/reconstruct/baselines.js';
import { DEFAULT_MOTION, DUAL_MOTION, MotionTracker, type MotionSettings } from '../src/core/reconstruct/motion.js';
import { psnr } from '../src/core/reconstruct/quality.js';
import { observationMasks, requireConfig, type ScotopicConfig } from '../src/core/reconstruct/scotopic.js';

/** A smooth grey texture (no period within the frame). */
const texture = (u: number, v: number): number =>
  0.5 + 0.22 * Math.sin(u * 0.9 + 0.3 * v) * Math.cos(v * 0.55) + 0.18 * Math.sin((u + 2 * v) * 0.31) + 0.08 * Math.cos(1.7 * u - 1.1 * v);

/** The texture panned by (vx, vy) cells a frame: frame t at (x, y) shows texture(x - vx t, y - vy t). Grey, [H][W] each. */
function pan(frames: number, size: number, vx: number, vy: number): Float32Array[] {
  return Array.from({ length: frames }, (_, t) => {
    const f = new Float32Array(size * size);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) f[y * size + x] = texture(x - vx * t, y - vy * t);
    return f;
  });
}

const size = 24, plane = size * size, T = 16;
const prior = { sigma: 3, decay: 0.6 };
/** DUAL_MOTION with the per-cell matching pooled over a few cells (matchSigma 4), so that on a 24-cell frame its velocity is a cell's own, and a shorter path memory. */
const dual: MotionSettings = { ...DUAL_MOTION, matchSigma: 4, path: { ...DUAL_MOTION.path!, lags: 8 } };
const { dual: _, path: __, blendVelocity: ___, ...single } = dual;

/** Per candidate of the blend (cell memory, path memory, prior): its mean weight and mean accumulated error over the cells of the last `last` frames, and the estimate's mean PSNR there. */
function run(frames: readonly Float32Array[], masks: readonly Uint8Array[], settings: MotionSettings, last = 6): { weight: number[]; error: number[]; psnr: number } {
  const tracker = new MotionTracker(1, size, size, settings, prior);
  const K = tracker.blendWeights.length / plane;
  const weight = new Array<number>(K).fill(0), error = new Array<number>(K).fill(0);
  let quality = 0;
  frames.forEach((f, t) => {
    tracker.add(f, masks[t]!);
    if (t < frames.length - last) return;
    for (let k = 0; k < K; k++) for (let i = 0; i < plane; i++) {
      weight[k]! += tracker.blendWeights[k * plane + i]! / (plane * last);
      error[k]! += tracker.blendErrors[k * plane + i]! / (plane * last);
    }
    quality += psnr(tracker.estimate, f) / last;
  });
  return { weight, error, psnr: quality };
}

describe('the blend of N motion memories (motion.ts, docs/reconstruct.md step 15)', () => {
  const frames = pan(T, size, 1, 0);
  const masks = observationMasks(T, plane, 0.03, new Rng(1));

  it('with one memory it is the two-way blend of before, bit for bit', () => {
    // golden: the estimates of every frame as the tracker gave them before the port (commit a2725ee)
    const golden = (s: MotionSettings): string => {
      const tracker = new MotionTracker(1, size, size, s, prior);
      const h = createHash('sha256');
      frames.forEach((f, t) => {
        tracker.add(f, masks[t]!);
        h.update(new Uint8Array(tracker.estimate.buffer));
      });
      return h.digest('hex');
    };
    expect(golden(DEFAULT_MOTION)).toBe('3e02d0a1fc11057a1408bdf82bb1b4c26ae35a0903d2ed929ef974c13f53ce1e');
    expect(golden({ ...DEFAULT_MOTION, carry: 'grid', matchSigma: 4, blendPower: undefined })).toBe('6f802a74befcd916d130213892efaf75d5d4d5dfeac7189cad7fe38cf91adcc2');
    // and frame by frame: E = w M + (1 - w) F, w = e_F^n / (e_M^n + e_F^n) (1 where both are ~0), M the
    // tracker without the blend (the blend does not feed back into the velocity), F the prior
    const n = DEFAULT_MOTION.blendPower!;
    const blended = new MotionTracker(1, size, size, DEFAULT_MOTION, prior);
    const { blendSigma: _s, blendPower: _p, ...unblended } = DEFAULT_MOTION;
    const memory = new MotionTracker(1, size, size, unblended, prior);
    const fallback = new PriorTracker(1, size, size, prior);
    const expected = new Float32Array(plane);
    let mixed = 0;
    frames.forEach((f, t) => {
      for (const x of [blended, memory, fallback]) x.add(f, masks[t]!);
      for (let i = 0; i < plane; i++) {
        const em = blended.blendErrors[i]! ** n, ep = blended.blendErrors[plane + i]! ** n, total = em + ep;
        const w = total > 1e-30 ? ep / total : 1;
        expected[i] = w * memory.estimate[i]! + (1 - w) * fallback.estimate[i]!;
        expect(blended.blendWeights[i]).toBe(w);
        if (w > 0.01 && w < 0.99) mixed++;
      }
      expect(blended.estimate).toEqual(expected);
      expect(blended.velocity).toEqual(memory.velocity);
    });
    expect(mixed).toBeGreaterThan(plane); // the blend was not all one side
  });

  it('dual is two one-memory trackers side by side (per-cell velocity; camera path) and the prior, blended by e^-n of their true predictions', () => {
    // step 14's prototype, written out: each arriving pixel scores last frame's estimates read at p - last
    // frame's velocity; squared errors spread by a Gaussian of width blendSigma, kept with matchMemory
    const { blendSigma, blendPower, blendVelocity: _v, dual: _d, path, ...oneMemory } = dual;
    const cells = new MotionTracker(1, size, size, oneMemory, prior), along = new MotionTracker(1, size, size, { ...oneMemory, path }, prior);
    const fallback = new PriorTracker(1, size, size, prior), tracker = new MotionTracker(1, size, size, dual, prior);
    const taps = gaussianTaps(blendSigma!), r = (taps.length - 1) / 2;
    const errors = [new Float64Array(plane), new Float64Array(plane), new Float64Array(plane)];
    frames.forEach((f, t) => {
      if (t > 0) {
        for (const e of errors) for (let i = 0; i < plane; i++) e[i]! *= dual.matchMemory;
        for (let p = 0; p < plane; p++) {
          if (!masks[t]![p]) continue;
          const px = p % size, py = (p - px) / size;
          const predicted = [
            bilinearClamped(cells.estimate, 0, size, size, px - cells.velocity[p]!, py - cells.velocity[plane + p]!),
            bilinearClamped(along.estimate, 0, size, size, px - along.velocity[p]!, py - along.velocity[plane + p]!),
            fallback.estimate[p]!,
          ];
          for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
            const g = Math.abs(x - px) > r || Math.abs(y - py) > r ? 0 : taps[y - py + r]! * taps[x - px + r]!;
            for (let k = 0; k < 3; k++) errors[k]![y * size + x]! += g * (f[p]! - predicted[k]!) ** 2;
          }
        }
      }
      for (const x of [cells, along, fallback, tracker]) x.add(f, masks[t]!);
      let worst = 0, worstWeight = 0;
      for (let i = 0; i < plane; i++) {
        const inverse = errors.map((e) => e[i]! ** -blendPower!), total = inverse[0]! + inverse[1]! + inverse[2]!;
        const w = t === 0 ? [1, 0, 0] : inverse.map((v) => v / total);
        const expected = w[0]! * cells.estimate[i]! + w[1]! * along.estimate[i]! + w[2]! * fallback.estimate[i]!;
        worst = Math.max(worst, Math.abs(tracker.estimate[i]! - expected));
        for (let k = 0; k < 3; k++) worstWeight = Math.max(worstWeight, Math.abs(tracker.blendWeights[k * plane + i]! - w[k]!));
      }
      expect(worst).toBeLessThan(1e-6);
      expect(worstWeight).toBeLessThan(1e-9);
      expect(tracker.velocity).toEqual(cells.velocity);
    });
  });

  it('dual: on a pan of a whole cell a frame seen at 3%, the memory along the camera path wins', () => {
    const both = run(frames, masks, dual), one = run(frames, masks, single);
    const [cell, path, fallback] = both.weight;
    // measured on mask seeds 1-6: path 0.64-0.90, cell 0.07-0.25, prior 0.03-0.11; error path / cell 0.71-0.88
    expect(path! + cell! + fallback!).toBeCloseTo(1, 9);
    expect(path!).toBeGreaterThan(0.55);
    expect(path!).toBeGreaterThan(2 * cell!);
    expect(both.error[1]!).toBeLessThan(0.95 * both.error[0]!);
    // and the estimate is sharper than the cell memory's alone (seeds 1-6: +0.53 to +1.05 dB)
    expect(both.psnr).toBeGreaterThan(one.psnr + 0.3);
  });

  it('dual: where the scene does not follow one path (two halves moving apart), the memory along the per-cell velocity wins', () => {
    const right = pan(T, size, 1, 0), left = pan(T, size, -1, 0);
    const halves = right.map((r, t) => r.map((v, i) => (i % size < size / 2 ? v : left[t]![i]!)));
    const both = run(halves, observationMasks(T, plane, 0.05, new Rng(1)), dual);
    const [cell, path] = both.weight;
    // measured on mask seeds 1-6: cell 0.54-0.80, path 0.11-0.28; error path / cell 1.09-1.27
    expect(cell!).toBeGreaterThan(0.5);
    expect(cell!).toBeGreaterThan(1.5 * path!);
    expect(both.error[1]!).toBeGreaterThan(1.05 * both.error[0]!);
  });

  it('dual: reset forgets both memories', () => {
    const tracker = new MotionTracker(1, size, size, dual, prior);
    const first: Float32Array[] = [];
    frames.slice(0, 6).forEach((f, t) => {
      tracker.add(f, masks[t]!);
      first.push(tracker.estimate.slice());
    });
    tracker.reset();
    frames.slice(0, 6).forEach((f, t) => {
      tracker.add(f, masks[t]!);
      expect(tracker.estimate).toEqual(first[t]);
    });
  });

  it('the defaults are unchanged, and the config checks the dual settings', () => {
    expect(DEFAULT_MOTION).toEqual({ radius: 1.5, step: 0.5, matchSigma: 32, matchMemory: 0.8, memoryDecay: 0.9, spread: 1.5, priorWeight: 0.15, refine: true, carry: 'points', blendSigma: 8, blendPower: 4 });
    const config: ScotopicConfig = { colour: 'grey', hidden: 2, features: 5, stepsPerFrame: 1, freshDecay: 0.9, priors: [prior], motion: DUAL_MOTION };
    expect(requireConfig(config).motion).toEqual(DUAL_MOTION);
    const bad = (motion: object): ScotopicConfig => ({ ...config, motion: { ...DUAL_MOTION, ...motion } as MotionSettings });
    expect(() => requireConfig(bad({ dual: 'yes' }))).toThrow('expected true or false for motion dual but received');
    expect(() => requireConfig(bad({ blendVelocity: 'next' }))).toThrow('expected one of current, previous for motion blendVelocity but received');
    expect(() => requireConfig(bad({ path: undefined }))).toThrow('expected a camera path without margin and blendSigma beside it for motion dual but received true');
    expect(() => requireConfig(bad({ path: { ...DUAL_MOTION.path!, margin: 0.1 } }))).toThrow(/motion dual/);
    expect(() => requireConfig(bad({ blendSigma: undefined }))).toThrow(/motion dual/);
    expect(() => new MotionTracker(1, size, size, { ...DUAL_MOTION, path: undefined }, prior)).toThrow(/motion dual/);
  });
});
