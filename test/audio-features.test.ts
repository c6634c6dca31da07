import { describe, expect, it } from 'vitest';
import { clipFeatures, harmonicPeaks } from '../src/core/audio/features.js';
import { spectrogramImage } from '../src/core/audio/spectrogram.js';

const SR = 22050;
const sine = (f: number, seconds: number, amp = 0.5, start = 0): Float32Array =>
  Float32Array.from({ length: Math.round(seconds * SR) }, (_, i) => (i < start * SR ? 0 : amp * Math.sin((2 * Math.PI * f * i) / SR)));

describe('clipFeatures', () => {
  it('silence gives zeros everywhere, never NaN, and no harmonics', () => {
    const f = clipFeatures(new Float32Array(SR));
    expect(f.nFrames).toBe(1 + Math.floor(SR / 512));
    for (const a of [f.rms, f.centroid, f.onset]) expect(a.every((v) => v === 0)).toBe(true);
    expect(f.harmonics).toEqual([]);
  });

  it('RMS of a sine is amp / sqrt(2) in the steady part', () => {
    const f = clipFeatures(sine(440, 1, 0.5));
    expect(f.rms[20]!).toBeCloseTo(0.5 / Math.SQRT2, 2);
  });

  it('the spectral centroid is in Hz: a pure tone gives its frequency', () => {
    for (const freq of [300, 1000, 3000]) {
      const f = clipFeatures(sine(freq, 1));
      expect(Math.abs(f.centroid[20]! - freq) / freq).toBeLessThan(0.05);
    }
  });

  it('onset strength peaks where the sound starts', () => {
    const f = clipFeatures(sine(440, 1, 0.5, 0.5)); // silent for 0.5 s, then a tone
    let best = 0;
    for (let k = 1; k < f.nFrames; k++) if (f.onset[k]! > f.onset[best]!) best = k;
    const onsetFrame = (0.5 * SR) / 512;
    expect(Math.abs(best - onsetFrame)).toBeLessThanOrEqual(2);
    expect(f.onset[5]).toBe(0);
  });
});

describe('harmonicPeaks', () => {
  it('finds partials between bins to within 0.3 Hz by parabolic interpolation, sorted by frequency', () => {
    const f0 = 261.63;
    const x = Float32Array.from({ length: 8192 }, (_, i) => [1, 0.5, 0.25, 0.12].reduce((s, a, k) => s + a * 0.4 * Math.sin((2 * Math.PI * f0 * (k + 1) * i) / SR), 0));
    const peaks = harmonicPeaks(x);
    expect(peaks.map((p) => Math.round(p.frequency / f0))).toEqual([1, 2, 3, 4]);
    peaks.forEach((p, k) => expect(Math.abs(p.frequency - f0 * (k + 1))).toBeLessThan(0.3));
    expect(peaks[0]!.relative).toBe(1);
    expect(peaks[0]!.amplitude).toBeCloseTo(0.4, 1);
    expect(peaks[1]!.relative).toBeCloseTo(0.5, 1);
  });

  it('ignores peaks below 50 Hz and under 10 % of the largest, keeps the 6 strongest', () => {
    const parts = [30, 200, 400, 600, 800, 1000, 1200, 1400, 1600];
    const amps = [1, 1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.05];
    const x = Float32Array.from({ length: 4096 }, (_, i) => parts.reduce((s, f, k) => s + 0.1 * amps[k]! * Math.sin((2 * Math.PI * f * i) / SR), 0));
    const peaks = harmonicPeaks(x);
    expect(peaks.map((p) => Math.round(p.frequency / 100) * 100)).toEqual([200, 400, 600, 800, 1000, 1200]);
  });
});

describe('spectrogramImage (frame 0)', () => {
  it('is 32 x 32 in [0, 1] with the tone in the right row (row 0 = highest band)', () => {
    const img = spectrogramImage(sine(440, 2));
    expect(img.data.length).toBe(32 * 32);
    expect(Math.max(...img.data)).toBe(1);
    expect(Math.min(...img.data)).toBeGreaterThanOrEqual(0);
    // the brightest row is in the lower half (440 Hz is low on the mel scale)
    let bestRow = 0;
    let bestValue = -1;
    for (let r = 0; r < 32; r++) if (img.data[r * 32 + 16]! > bestValue) [bestRow, bestValue] = [r, img.data[r * 32 + 16]!];
    expect(bestRow).toBeGreaterThan(20);
    expect(img.warnings).toEqual([]);
  });

  it('a short clip is padded with silence and says so; silence is all zeros', () => {
    const img = spectrogramImage(sine(440, 0.5));
    expect(img.warnings[0]).toMatch(/0\.50 s long; padded with silence to 2\.00 s/);
    // the right half (after 0.5 s) is black
    expect(img.data[20 * 32 + 30]).toBe(0);
    const quiet = spectrogramImage(new Float32Array(2 * SR));
    expect(quiet.data.every((v) => v === 0)).toBe(true);
  });

  it('any size: 128 x 64', () => {
    const img = spectrogramImage(sine(440, 2), { width: 128, height: 64 });
    expect(img.data.length).toBe(128 * 64);
    expect(img.hop).toBeLessThanOrEqual(512);
  });
});
