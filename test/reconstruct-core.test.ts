import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { holdBaseline, priorBaseline } from '../src/core/reconstruct/baselines.js';
import { DEFAULT_MOTION, MotionTracker, motionBaseline, type MotionSettings } from '../src/core/reconstruct/motion.js';
import { psnr, ssim } from '../src/core/reconstruct/quality.js';
import { median } from '../src/core/stats.js';
import {
  ScotopicRunner, channelLayout, initParams, motionTracker, observationMasks, observe, paramsFromJson, paramsToJson, priorTrackers, requireConfig, runScotopic, trainScotopic,
  type ParamGrads, type ScotopicConfig,
} from '../src/core/reconstruct/scotopic.js';
import type { Video } from '../src/core/reconstruct/video.js';

const tiny: ScotopicConfig = { colour: 'grey', hidden: 2, features: 5, stepsPerFrame: 1, freshDecay: 0.9 };

describe('scotopic NCA step on onnxruntime', () => {
  it('the backward graph equals central differences of sum(R * step(s)) for every weight and the state', async () => {
    const rng = new Rng(3);
    const params = initParams(tiny, rng);
    rng.fillUniform(params.w2, -0.3, 0.3);
    rng.fillUniform(params.b1, -0.1, 0.1);
    rng.fillUniform(params.b2, -0.1, 0.1);
    const { C } = channelLayout(tiny);
    const B = 2, W = 5, H = 4;
    const runner = await ScotopicRunner.create(tiny, { batch: B, width: W, height: H }, { backward: true, threads: 1 });
    try {
      const state = rng.fillUniform(new Float32Array(B * C * W * H), -1, 1);
      const R = rng.fillUniform(new Float32Array(B * C * W * H), -1, 1);
      const loss = async (): Promise<number> => {
        const { next } = await runner.step(state, params);
        let s = 0;
        for (let i = 0; i < next.length; i++) s += R[i]! * next[i]!;
        return s;
      };
      const { hidden } = await runner.step(state, params);
      const grads: ParamGrads = { w1: new Float32Array(params.w1.length), b1: new Float32Array(params.b1.length), w2: new Float32Array(params.w2.length), b2: new Float32Array(params.b2.length) };
      const gState = await runner.backward(state, hidden, R, params, grads);
      const eps = 1e-3;
      const check = async (arr: Float32Array, g: Float32Array, indices: number[]) => {
        for (const i of indices) {
          const v = arr[i]!;
          arr[i] = v + eps;
          const up = await loss();
          arr[i] = v - eps;
          const down = await loss();
          arr[i] = v;
          expect(g[i]!).toBeCloseTo((up - down) / (2 * eps), 3);
        }
      };
      const some = (n: number) => Array.from({ length: 12 }, () => rng.int(n));
      await check(params.w1, grads.w1, some(params.w1.length));
      await check(params.b1, grads.b1, some(params.b1.length));
      await check(params.w2, grads.w2, some(params.w2.length));
      await check(params.b2, grads.b2, some(params.b2.length));
      await check(state, gState, some(state.length));
      // the gradient is not trivially zero
      expect(Math.max(...Array.from(grads.w1, Math.abs))).toBeGreaterThan(1e-3);
    } finally {
      await runner.dispose();
    }
  });
});

describe('observations', () => {
  it('observe writes the register and freshness of the kept pixels and decays the rest', () => {
    const { C, register, fresh } = channelLayout(tiny);
    const plane = 3;
    const state = new Float32Array(2 * C * plane);
    state[(1 * C + fresh) * plane + 1] = 0.5;
    observe(state, 1, Float32Array.of(0.2, 0.7, 0.9), Uint8Array.of(1, 0, 0), tiny);
    expect(state[(C + register) * plane + 0]).toBeCloseTo(0.2);
    expect(state[C * plane + 0]).toBeCloseTo(0.2); // the estimate too
    expect(state[(C + register) * plane + 1]).toBe(0);
    expect(state[(C + fresh) * plane + 0]).toBe(1);
    expect(state[(C + fresh) * plane + 1]).toBeCloseTo(0.45);
    expect(state.subarray(0, C * plane).every((v) => v === 0)).toBe(true); // grid 0 untouched
  });
  it('masks keep about the asked fraction and are the same for a seed', () => {
    const a = observationMasks(10, 1000, 0.1, new Rng(1));
    const b = observationMasks(10, 1000, 0.1, new Rng(1));
    const kept = a.reduce((s, m) => s + m.reduce((x, y) => x + y, 0), 0);
    expect(kept).toBeGreaterThan(850);
    expect(kept).toBeLessThan(1150);
    expect(a).toEqual(b);
  });
});

describe('baselines (hand-checked)', () => {
  // 1 channel, 3 x 1 pixels, 3 frames
  const frames = [Float32Array.of(0.1, 0.2, 0.3), Float32Array.of(0.4, 0.5, 0.6), Float32Array.of(0.7, 0.8, 0.9)];
  const masks = [Uint8Array.of(1, 0, 0), Uint8Array.of(0, 0, 0), Uint8Array.of(0, 0, 1)];
  it('hold: the last observed value, the running mean where never observed', () => {
    const est = holdBaseline(frames, masks, 1);
    expect(Array.from(est[0]!)).toEqual([0.1, 0.1, 0.1].map(Math.fround));
    expect(Array.from(est[1]!)).toEqual([0.1, 0.1, 0.1].map(Math.fround));
    // frame 2: pixel 0 holds 0.1, pixel 2 sees 0.9, pixel 1 the mean (0.1 + 0.9) / 2
    expect(est[2]![0]).toBeCloseTo(0.1, 6);
    expect(est[2]![1]).toBeCloseTo(0.5, 6);
    expect(est[2]![2]).toBeCloseTo(0.9, 6);
  });
  it('prior: Gaussian- and age-weighted average of the held values', () => {
    const sigma = 1, decay = 0.5;
    const est = priorBaseline(frames, masks, 1, 3, 1, { sigma, decay });
    const G = (d: number) => Math.exp(-(d * d) / 2);
    // frame 2: pixel 0 observed 2 frames ago (weight 0.25) value 0.1; pixel 2 just now (weight 1) value 0.9
    const at = (p: number) => (G(p) * 0.25 * 0.1 + G(2 - p) * 0.9) / (G(p) * 0.25 + G(2 - p));
    expect(est[2]![0]).toBeCloseTo(at(0), 6);
    expect(est[2]![1]).toBeCloseTo(at(1), 6);
    expect(est[2]![2]).toBeCloseTo(at(2), 6);
    // frame 0: only pixel 0 observed: everything reachable shows 0.1
    expect(Array.from(est[0]!).every((v) => Math.abs(v - 0.1) < 1e-6)).toBe(true);
  });
});

describe('the NCA started from a Gaussian prior', () => {
  const withPriors: ScotopicConfig = { ...tiny, priors: [{ sigma: 1, decay: 0.5 }, { sigma: 2, decay: 0.9 }] };
  it('observe writes each prior\'s estimate and log weight; the estimate starts from the first prior, the kept pixels pasted', () => {
    const { C, P, priors } = channelLayout(withPriors);
    expect(C).toBe(2 * P + tiny.hidden + 1 + 2 * (P + 1));
    const frame = Float32Array.of(0.2, 0.7, 0.9), mask = Uint8Array.of(1, 0, 0);
    const state = new Float32Array(C * 3);
    const trackers = priorTrackers(withPriors, 3, 1);
    observe(state, 0, frame, mask, withPriors, trackers);
    const alone = priorBaseline([frame], [mask], 1, 3, 1, { sigma: 2, decay: 0.9 })[0]!;
    expect(Array.from(state.subarray((priors + 2) * 3, (priors + 3) * 3))).toEqual(Array.from(alone)); // second prior's estimate
    expect(state[(priors + 1) * 3 + 1]).toBeCloseTo(Math.log(Math.exp(-0.5) + 1e-3) / 5, 5); // first prior's weight, 1 cell away
    expect(state[0]).toBeCloseTo(0.2); // pasted
    expect(state[2]).toBeCloseTo(0.2); // the first prior: only pixel 0 seen
    expect(() => observe(state, 0, frame, mask, withPriors, [])).toThrow(RangeError);
  });
  it('with w2 = 0 the NCA is the first prior baseline with the arriving pixels pasted in; training moves it', async () => {
    const video = driftingSquare(16, 10);
    const masks = observationMasks(video.frames.length, 100, 0.1, new Rng(4));
    const params = initParams(withPriors, new Rng(1));
    const run = await runScotopic(params, video, masks, { threads: 1 });
    const prior = priorBaseline(video.frames, masks, 1, 10, 10, withPriors.priors![0]!);
    run.reconstruction.forEach((r, t) => {
      const expected = prior[t]!.map((v, i) => (masks[t]![i] ? video.frames[t]![i]! : v));
      r.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    });
    const trained = await trainScotopic([video], withPriors, { iters: 3, batch: 1, crop: 10, window: 3, keep: 0.1, lossPixels: 'all', lr: 1e-2, seed: 2, threads: 1 });
    expect(trained.params.w2.some((w) => w !== 0)).toBe(true);
    expect(trained.params.config.priors).toEqual(withPriors.priors);
    expect(paramsFromJson(JSON.parse(paramsToJson(trained.params)), 'p').config.priors).toEqual(withPriors.priors);
    // augmented views (mirrors, transposes): another run than without, the same for a seed
    const colourVideo: Video = { ...video, channels: 3, frames: video.frames.map((f) => Float32Array.from({ length: 3 * f.length }, (_, i) => f[i % f.length]! * (1 - 0.3 * Math.floor(i / f.length)))) };
    const colourPriors: ScotopicConfig = { ...withPriors, colour: 'rgb' };
    const augOpts = { iters: 2, batch: 2, crop: 8, window: 3, keep: 0.1, lossPixels: 'all' as const, lr: 1e-2, seed: 3, threads: 1 };
    const plain = await trainScotopic([colourVideo], colourPriors, augOpts);
    const aug1 = await trainScotopic([colourVideo], colourPriors, { ...augOpts, augment: true });
    const aug2 = await trainScotopic([colourVideo], colourPriors, { ...augOpts, augment: true });
    expect(aug1.params.w1).toEqual(aug2.params.w1);
    expect(aug1.losses).not.toEqual(plain.losses);
  }, 60_000);
});

describe('the motion-compensated prior', () => {
  const settings: MotionSettings = { radius: 1.5, step: 0.5, matchSigma: 4, matchMemory: 0.8, memoryDecay: 1, spread: 0.75, priorWeight: 0.05 };
  const prior = { sigma: 3, decay: 0.6 };
  /** A smooth grey texture moved by (vx, vy) cells per frame. */
  const moving = (frames: number, size: number, vx: number, vy: number): Float32Array[] => Array.from({ length: frames }, (_, t) => {
    const f = new Float32Array(size * size);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const u = x - vx * t, v = y - vy * t;
      f[y * size + x] = 0.5 + 0.25 * Math.sin(u * 0.7) * Math.cos(v * 0.45) + 0.2 * Math.sin((u + 2 * v) * 0.23);
    }
    return f;
  });
  it('finds the velocity of a moving texture from the arriving pixels and beats the prior on it', () => {
    const size = 24, frames = moving(14, size, 1, -0.5);
    const masks = observationMasks(frames.length, size * size, 0.15, new Rng(6));
    const tracker = new MotionTracker(1, size, size, settings, prior);
    frames.forEach((f, t) => tracker.add(f, masks[t]!));
    const plane = size * size;
    expect(median(Array.from(tracker.velocity.subarray(0, plane)))).toBe(1);
    expect(median(Array.from(tracker.velocity.subarray(plane)))).toBe(-0.5);
    const mc = motionBaseline(frames, masks, 1, size, size, settings, prior);
    const pr = priorBaseline(frames, masks, 1, size, size, prior);
    const last = frames.length - 1;
    expect(psnr(mc[last]!, frames[last]!)).toBeGreaterThan(psnr(pr[last]!, frames[last]!) + 3);
  });
  it('refine: a velocity between the candidates (0.75, -0.25) is found to within 0.1 cell', () => {
    const size = 24, frames = moving(14, size, 0.75, -0.25);
    const masks = observationMasks(frames.length, size * size, 0.15, new Rng(6));
    const plane = size * size;
    for (const refine of [false, true]) {
      const tracker = new MotionTracker(1, size, size, { ...settings, refine }, prior);
      frames.forEach((f, t) => tracker.add(f, masks[t]!));
      const vx = median(Array.from(tracker.velocity.subarray(0, plane))), vy = median(Array.from(tracker.velocity.subarray(plane)));
      if (refine) {
        expect(Math.abs(vx - 0.75)).toBeLessThan(0.1);
        expect(Math.abs(vy + 0.25)).toBeLessThan(0.1);
      } else expect([vx % 0.5, vy % 0.5].every((r) => r === 0 || r === -0)).toBe(true); // on the grid of candidates
    }
  });
  it('a still scene: the velocity settles at 0 and the memory (decay 1) keeps what was seen', () => {
    const size = 12, frame = moving(1, size, 0, 0)[0]!;
    const masks = observationMasks(12, size * size, 0.2, new Rng(8));
    const tracker = new MotionTracker(1, size, size, settings, prior);
    masks.forEach((m) => tracker.add(frame, m));
    expect(tracker.velocity.every((v) => v === 0)).toBe(true); // early frames may guess wrong from few pixels (measured: up to 1 cell)
    const pr = priorBaseline(masks.map(() => frame), masks, 1, size, size, prior);
    expect(psnr(tracker.estimate, frame)).toBeGreaterThan(psnr(pr[11]!, frame) + 3);
  });
  it("carry 'points': every observation moves by the velocity without resampling, so the pan is found and the estimate is sharper than the grid carry's", () => {
    // half a cell a frame on both axes: the grid carry averages neighbouring cells every frame
    const size = 24, frames = moving(14, size, 0.5, 0.5);
    const masks = observationMasks(frames.length, size * size, 0.15, new Rng(6));
    const plane = size * size, last = frames.length - 1;
    const score: Record<string, number> = {};
    for (const carry of ['grid', 'points'] as const) {
      const tracker = new MotionTracker(1, size, size, { ...settings, carry }, prior);
      frames.forEach((f, t) => tracker.add(f, masks[t]!));
      expect(median(Array.from(tracker.velocity.subarray(0, plane)))).toBe(0.5);
      expect(median(Array.from(tracker.velocity.subarray(plane)))).toBe(0.5);
      score[carry] = psnr(tracker.estimate, frames[last]!);
    }
    expect(score.points!).toBeGreaterThan(score.grid! + 1); // measured: +2.1 dB
    // a still scene seen once at one pixel: the point stays where it was seen, its weight decays
    const still = new MotionTracker(1, 9, 9, { ...settings, carry: 'points', memoryDecay: 0.5 }, prior);
    const one = new Uint8Array(81), none = new Uint8Array(81);
    one[40] = 1;
    const flat = new Float32Array(81).fill(0.8);
    still.add(flat, one);
    const k0 = still.confidence[40]!;
    still.add(flat, none);
    expect(still.estimate[40]).toBeCloseTo(0.8, 5);
    expect(still.confidence[40]! / (1 - still.confidence[40]!)).toBeCloseTo((0.5 * k0) / (1 - k0), 5); // weight / priorWeight halved
  });
  it('blendSigma: where the carried memory predicts the arriving pixels worse than the prior (a fade), the prior takes over', () => {
    const size = 16, plane = size * size;
    const frames = Array.from({ length: 20 }, (_, t) => new Float32Array(plane).fill(0.1 + 0.04 * t));
    const masks = observationMasks(frames.length, plane, 0.1, new Rng(3));
    const last = frames.length - 1;
    const run = (s: MotionSettings): Float32Array => motionBaseline(frames, masks, 1, size, size, s, prior)[last]!;
    const pr = priorBaseline(frames, masks, 1, size, size, prior)[last]!;
    const plain = run(settings), blended = run({ ...settings, blendSigma: 4, blendPower: 4 });
    expect(psnr(pr, frames[last]!)).toBeGreaterThan(psnr(plain, frames[last]!) + 3); // the long memory lags the fade
    expect(psnr(blended, frames[last]!)).toBeGreaterThan(psnr(plain, frames[last]!) + 3);
    expect(blended.every((v, i) => Math.min(plain[i]!, pr[i]!) - 1e-6 <= v && v <= Math.max(plain[i]!, pr[i]!) + 1e-6)).toBe(true); // a blend of the two
  });
  it('the NCA with motion: w2 = 0 gives the motion baseline with the arriving pixels pasted in; the config is checked', async () => {
    const config: ScotopicConfig = { ...tiny, priors: [prior], motion: settings };
    const { C, P, motion } = channelLayout(config);
    expect(C).toBe(motion + P + 3);
    const video = driftingSquare(8, 10);
    const masks = observationMasks(video.frames.length, 100, 0.2, new Rng(4));
    const run = await runScotopic(initParams(config, new Rng(1)), video, masks, { threads: 1 });
    const base = motionBaseline(video.frames, masks, 1, 10, 10, settings, prior);
    run.reconstruction.forEach((r, t) => r.forEach((v, i) => expect(v).toBeCloseTo(masks[t]![i] ? video.frames[t]![i]! : base[t]![i]!, 5)));
    const state = new Float32Array(C * 100);
    expect(() => observe(state, 0, video.frames[0]!, masks[0]!, config, priorTrackers(config, 10, 10))).toThrow(RangeError);
    observe(state, 0, video.frames[0]!, masks[0]!, config, priorTrackers(config, 10, 10), motionTracker(config, 10, 10));
    const confidence = state.subarray((motion + P) * 100, (motion + P + 1) * 100);
    expect(Math.max(...confidence)).toBeGreaterThan(0.5); // near an arriving pixel
    expect(confidence.every((k) => k >= 0 && k < 1)).toBe(true);
    expect(() => requireConfig({ ...config, motion: { ...settings, memoryDecay: 2 } })).toThrow(/memoryDecay/);
    expect(() => requireConfig({ ...config, motion: { ...settings, step: 0.05 } })).toThrow(/candidates/);
    expect(() => requireConfig({ ...config, motion: { ...settings, carry: 'cells' as 'grid' } })).toThrow(/carry/);
    expect(requireConfig({ ...config, motion: DEFAULT_MOTION }).motion).toEqual(DEFAULT_MOTION); // every field kept
    const trained = await trainScotopic([video], config, { iters: 2, batch: 1, crop: 10, window: 3, keep: 0.2, lossPixels: 'all', lr: 1e-2, seed: 2, threads: 1 });
    expect(paramsFromJson(JSON.parse(paramsToJson(trained.params)), 'p').config.motion).toEqual(settings);
  }, 60_000);
});

describe('quality', () => {
  it('PSNR of a constant error e is -20 log10(e); SSIM is 1 for identical frames and lower for noise', () => {
    const a = new Float32Array(256).fill(0.5);
    const b = new Float32Array(256).fill(0.6);
    expect(psnr(b, a)).toBeCloseTo(20, 4);
    const img = new Rng(2).fillUniform(new Float32Array(16 * 16));
    expect(ssim(img, img, 16, 16)).toBeCloseTo(1, 6);
    const noisy = img.map((v, i) => v + (i % 2 ? 0.2 : -0.2));
    expect(ssim(noisy, img, 16, 16)).toBeLessThan(0.9);
    expect(psnr(Float32Array.of(1.5), Float32Array.of(1))).toBe(Infinity); // estimates are clamped to 0..1
  });
});

/** A small grey video: a bright square drifting right over a gradient. */
function driftingSquare(frames: number, size: number, offset = 0): Video {
  const out: Float32Array[] = [];
  for (let t = 0; t < frames; t++) {
    const f = new Float32Array(size * size);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const inSquare = y >= 3 && y < 9 && ((x - t - offset) % size + size) % size < 6;
      f[y * size + x] = inSquare ? 0.95 : (0.2 * x) / size;
    }
    out.push(f);
  }
  return { width: size, height: size, channels: 1, fps: 20, frames: out };
}

describe('training', () => {
  const meanSquaredError = (est: Float32Array[], video: Video) => {
    let s = 0, n = 0;
    est.forEach((e, t) => e.forEach((v, i) => ((s += (v - video.frames[t]![i]!) ** 2), n++)));
    return s / n;
  };
  it('training lowers the error of the run over the video; same seed, same weights; a run is deterministic', async () => {
    const video = driftingSquare(20, 12);
    const opts = { iters: 40, batch: 2, crop: 12, window: 4, keep: 0.2, lossPixels: 'all' as const, lr: 1e-2, seed: 5, threads: 1 };
    const masks = observationMasks(video.frames.length, 144, 0.2, new Rng(9));
    const before = await runScotopic(initParams(tiny, new Rng(1)), video, masks, { threads: 1 });
    const a = await trainScotopic([video], tiny, opts);
    const r1 = await runScotopic(a.params, video, masks, { threads: 1 });
    expect(meanSquaredError(r1.predictions, video)).toBeLessThan(0.85 * meanSquaredError(before.predictions, video)); // measured 0.77x;
    const b = await trainScotopic([video], tiny, opts);
    expect(b.params.w1).toEqual(a.params.w1);
    const r2 = await runScotopic(paramsFromJson(JSON.parse(paramsToJson(a.params)), 'p'), video, masks, { threads: 1 });
    expect(r2.reconstruction).toEqual(r1.reconstruction);
    // the kept pixels are pasted into the reconstruction
    const t = 7, i = masks[t]!.indexOf(1);
    expect(r1.reconstruction[t]![i]).toBe(video.frames[t]![i]);
  }, 60_000);
});
