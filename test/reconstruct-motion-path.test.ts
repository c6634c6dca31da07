import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { CameraPath, type CameraPathSettings } from '../src/core/reconstruct/camera-path.js';
import { MotionTracker, type MotionSettings } from '../src/core/reconstruct/motion.js';
import { observationMasks, requireConfig, type ScotopicConfig } from '../src/core/reconstruct/scotopic.js';

/** A smooth grey texture under a constant camera path: the content at p in frame t was at c + (1 - s)(p - c) - (tx, ty) in frame t - 1 (c the centre). */
function pathVideo(frames: number, size: number, tx: number, ty: number, s: number): Float32Array[] {
  const c = (size - 1) / 2;
  return Array.from({ length: frames }, (_, t) => {
    const f = new Float32Array(size * size);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      let u = x, v = y;
      for (let k = 0; k < t; k++) (u = c + (1 - s) * (u - c) - tx), (v = c + (1 - s) * (v - c) - ty);
      f[y * size + x] = 0.5 + 0.25 * Math.sin(u * 0.7) * Math.cos(v * 0.45) + 0.2 * Math.sin((u + 2 * v) * 0.23);
    }
    return f;
  });
}

const path: CameraPathSettings = { lags: 8, memory: 0.9, step: 0.25, zoom: 0.03, zoomSteps: 3, spread: 1.5 };
const settings: MotionSettings = { radius: 1.5, step: 0.5, matchSigma: 4, matchMemory: 0.8, memoryDecay: 1, spread: 0.75, priorWeight: 0.05, refine: true };
const prior = { sigma: 3, decay: 0.6 };

describe('the camera path of the motion-compensated prior', () => {
  it('recovers a pan with zoom, (0.75, -0.25) and 0.02 a frame, from 2% of the pixels', () => {
    const size = 32, frames = pathVideo(24, size, 0.75, -0.25, 0.02);
    const masks = observationMasks(frames.length, size * size, 0.02, new Rng(2));
    const camera = new CameraPath(1, size, size, 1.5, path);
    frames.forEach((f, t) => {
      if (t > 0) camera.match(f, masks[t]!);
      camera.remember(f, masks[t]!);
    });
    const [tx, ty, s] = camera.params;
    expect(Math.abs(tx! - 0.75)).toBeLessThan(0.06); // measured on 6 mask seeds: within 0.045
    expect(Math.abs(ty! + 0.25)).toBeLessThan(0.06);
    expect(Math.abs(s! - 0.02)).toBeLessThan(0.004);
    camera.reset();
    expect(Array.from(camera.params)).toEqual([0, 0, 0]);
  });
  it('on a constant pan seen at 3% of the pixels, the velocity is several times more accurate than the per-cell matching', () => {
    const size = 24, vx = 0.75, vy = -0.25, frames = pathVideo(20, size, vx, vy, 0);
    const masks = observationMasks(frames.length, size * size, 0.03, new Rng(2));
    const plane = size * size;
    /** The largest mean velocity error over the last 6 frames. */
    const lateError = (s: MotionSettings): number => {
      const tracker = new MotionTracker(1, size, size, s, prior);
      let worst = 0;
      frames.forEach((f, t) => {
        tracker.add(f, masks[t]!);
        if (t < frames.length - 6) return;
        let e = 0;
        for (let i = 0; i < plane; i++) e += Math.hypot(tracker.velocity[i]! - vx, tracker.velocity[plane + i]! - vy);
        worst = Math.max(worst, e / plane);
      });
      return worst;
    };
    const cells = lateError(settings), withPath = lateError({ ...settings, path });
    expect(withPath).toBeLessThan(0.1); // measured on 6 mask seeds: 0.04-0.08
    expect(cells).toBeGreaterThan(3 * withPath); // the per-cell matching: 0.30-0.83
  });
  it('path.margin: where the scene does not follow one path (two halves moving apart), the cells keep their own velocities', () => {
    // the left half moves right by 1 a frame, the right half left by 1: no translation + zoom fits both
    const size = 24, plane = size * size;
    const left = pathVideo(16, size, 1, 0, 0), right = pathVideo(16, size, -1, 0, 0);
    const frames = left.map((l, t) => l.map((v, i) => (i % size < size / 2 ? v : right[t]![i]!)));
    const masks = observationMasks(frames.length, plane, 0.1, new Rng(5));
    const run = (s: MotionSettings): Float32Array => {
      const tracker = new MotionTracker(1, size, size, s, prior);
      frames.forEach((f, t) => tracker.add(f, masks[t]!));
      return tracker.velocity;
    };
    /** Mean x velocity error over the cells away from the seam (the truth: +1 left, -1 right). */
    const error = (u: Float32Array): number => {
      let e = 0, n = 0;
      for (let i = 0; i < plane; i++) {
        const x = i % size;
        if (Math.abs(x - size / 2) < 4) continue;
        e += Math.abs(u[i]! - (x < size / 2 ? 1 : -1));
        n++;
      }
      return e / n;
    };
    const own = error(run(settings)), everywhere = error(run({ ...settings, path })), kept = error(run({ ...settings, path: { ...path, margin: 0.1 } }));
    expect(everywhere).toBeGreaterThan(0.5); // one path for both halves is wrong for at least one of them
    expect(kept).toBeLessThan(everywhere / 2);
    expect(kept).toBeLessThan(own + 0.1);
  });
  it('the config keeps the path settings and checks them', () => {
    const config: ScotopicConfig = { colour: 'grey', hidden: 2, features: 5, stepsPerFrame: 1, freshDecay: 0.9, priors: [prior], motion: { ...settings, path: { ...path, margin: 0.1 } } };
    expect(requireConfig(config).motion!.path).toEqual({ ...path, margin: 0.1 });
    expect(requireConfig({ ...config, motion: settings }).motion!.path).toBeUndefined();
    expect(() => requireConfig({ ...config, motion: { ...settings, path: { ...path, lags: 0 } } })).toThrow(/lags/);
    expect(() => requireConfig({ ...config, motion: { ...settings, path: { ...path, step: 0.06 } } })).toThrow(/candidates/);
    expect(() => requireConfig({ ...config, motion: { ...settings, path: 'global' as unknown as CameraPathSettings } })).toThrow(/camera-path/);
  });
});
