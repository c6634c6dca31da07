import { describe, expect, it } from 'vitest';
import type { FrameFeatures } from '../src/core/react/features.js';
import { FrameMeter, circularLinear, pearson, reactionScores, roll } from '../src/core/react/measure.js';
import { Rng } from '../src/core/rng.js';

const N = 600;

function shuffled(a: Float32Array, rng: Rng): Float32Array {
  const out = a.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Audio features of N frames at 30 fps: random onsets, loudness and centroid. */
function features(rng: Rng): FrameFeatures {
  const z = () => new Float32Array(N);
  const f: FrameFeatures = { fps: 30, frames: N, onset: z(), loudness: z(), centroid: z(), low: z(), mid: z(), high: z(), chroma: new Float32Array(N * 12) };
  for (let i = 0; i < N; i++) {
    f.onset[i] = rng.uniform() < 0.2 ? 5 + 20 * rng.uniform() : rng.uniform();
    f.loudness[i] = -40 + 30 * rng.uniform();
    f.centroid[i] = 300 * 2 ** (3 * rng.uniform());
  }
  return f;
}

describe('the measure', () => {
  it('gives r = 1 on a constructed perfect case, at the right lag', () => {
    const rng = new Rng(1);
    const f = features(rng);
    const lag = 2;
    const change = new Float32Array(N);
    for (let i = 1 + lag; i < N; i++) change[i] = 0.01 * f.onset[i - lag]!;
    const energy = Float32Array.from(f.loudness, (l) => 0.5 + l / 100);
    // the perfect case of the circular-linear correlation: log2 centroid = a + b cos(hue - phi)
    const hue = Float32Array.from(f.centroid, (c) => Math.acos((Math.log2(c / 300) - 1.5) / 1.5001) - 0.4);
    const s = reactionScores(f, { change, energy, hue }, { shiftSeconds: 7 });
    expect(s.onsetChange.r).toBeCloseTo(1, 6);
    expect(s.onsetChange.lag).toBe(lag);
    expect(s.loudnessEnergy.r).toBeCloseTo(1, 6);
    expect(s.centroidHue.r).toBeCloseTo(1, 6);
    // the audio shifted by 7 s is unrelated noise here
    for (const c of [s.onsetChange.control, s.loudnessEnergy.control, s.centroidHue.control]) expect(Math.abs(c)).toBeLessThan(0.15);
  });

  it('gives about 0 when the pictures are shuffled', () => {
    const rng = new Rng(2);
    const f = features(rng);
    const change = shuffled(Float32Array.from(f.onset, (o) => 0.01 * o), rng);
    const energy = shuffled(Float32Array.from(f.loudness, (l) => 0.5 + l / 100), rng);
    const hue = shuffled(Float32Array.from(f.centroid, (c) => Math.log2(c) - 10), rng);
    const s = reactionScores(f, { change, energy, hue });
    expect(Math.abs(s.onsetChange.r)).toBeLessThan(0.15);
    expect(Math.abs(s.loudnessEnergy.r)).toBeLessThan(0.15);
    expect(s.centroidHue.r).toBeLessThan(0.15);
  });

  it('circular-linear correlation sees a hue that wraps, where Pearson does not', () => {
    const rng = new Rng(3);
    const x = Float32Array.from({ length: 1000 }, () => rng.uniform());
    // a hue ramp over 240 degrees that crosses the -180/180 seam
    const wrapped = Float32Array.from(x, (v) => ((v * (4 * Math.PI) / 3 + 1.5 * Math.PI) % (2 * Math.PI)) - Math.PI);
    expect(circularLinear(x, wrapped)).toBeGreaterThan(0.95); // 0.971 for a 240-degree ramp
    expect(Math.abs(pearson(x, wrapped))).toBeLessThan(circularLinear(x, wrapped) - 0.25);
    expect(roll(Float32Array.of(1, 2, 3, 4), 1)).toEqual(Float32Array.of(2, 3, 4, 1));
  });

  it('reads change, brightness and hue from RGBA frames', () => {
    const m = new FrameMeter(2, 1);
    m.push(Uint8Array.of(255, 0, 0, 255, 255, 0, 0, 255)); // red
    m.push(Uint8Array.of(0, 255, 0, 255, 0, 255, 0, 255)); // green
    const s = m.series();
    expect(s.change[0]).toBe(0);
    expect(s.change[1]).toBeCloseTo(2 / 3, 6);
    expect(s.energy[0]).toBeCloseTo(0.299, 6);
    expect(s.energy[1]).toBeCloseTo(0.587, 6);
    expect(s.hue[0]).toBeCloseTo(0, 6);
    expect(s.hue[1]).toBeCloseTo((2 * Math.PI) / 3, 5);
  });
});
