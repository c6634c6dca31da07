import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SONGS_DIR } from '../src/core/audio/song-file.js';
import { runReactMeasure } from '../src/core/react/bench.js';
import type { FrameFeatures } from '../src/core/react/features.js';
import { FLAT_CONTRAST, FrameMeter, circularLinear, controlShifts, flatFraction, reactionScores, roll } from '../src/core/react/measure.js';
import { pearson } from '../src/core/stats.js';
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
    const s = reactionScores(f, { change, energy, hue });
    expect(s.onsetChange.r).toBeCloseTo(1, 6);
    expect(s.onsetChange.lag).toBe(lag);
    expect(s.loudnessEnergy.r).toBeCloseTo(1, 6);
    expect(s.centroidHue.r).toBeCloseTo(1, 6);
    // the audio shifted by 4..13 s is unrelated noise here (independent frames): controls near 0, for the
    // picture and for a perfect follower alike
    for (const c of [s.onsetChange, s.loudnessEnergy, s.centroidHue]) {
      expect(c.control).toBeLessThan(0.1);
      expect(c.follower).toBeLessThan(0.1);
    }
    expect(s.shifts).toEqual(controlShifts(N, 30));
    // one shift alone, as the first version's single control
    const one = reactionScores(f, { change, energy, hue }, { shiftSeconds: [7] });
    expect(one.shifts).toEqual([210]);
    expect(one.onsetChange.control).toBe(one.onsetChange.controlMax);
  });

  it('controls at a steady 120 bpm: the whole-second grid lands on the beat, the every-frame grid does not', () => {
    // a kick every 0.5 s (15 frames) of random strength, an off-beat hat, a little noise; a picture that follows it
    const rng = new Rng(4);
    const f = features(rng);
    for (let i = 0; i < N; i++) f.onset[i] = (i % 15 === 0 ? 10 + 4 * rng.uniform() : i % 15 === 7 ? 3 + rng.uniform() : 0) + 0.5 * rng.uniform();
    const change = Float32Array.from(f.onset, (o) => 0.01 * o + 0.01 * rng.uniform());
    const visual = { change, energy: Float32Array.from(f.loudness), hue: new Float32Array(N) };
    const whole = reactionScores(f, visual, { shiftSeconds: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13] });
    const every = reactionScores(f, visual);
    expect(every.onsetChange.r).toBeGreaterThan(0.9);
    // every whole second is two beats: the shifted beat is the beat, the control is r
    expect(whole.onsetChange.control).toBeGreaterThan(0.9);
    // every frame from 4 to 13 s: a fifth of the shifts land within the lag search of a beat, the median does not
    expect(every.onsetChange.control).toBeLessThan(0.15);
    expect(every.onsetChange.follower).toBeLessThan(0.15);
    expect(every.onsetChange.controlMax).toBeGreaterThan(0.9);
  });

  it('the controls\' shifts: every frame from 4 to 13 s, at least 4 s away both ways round the clip', () => {
    const s = controlShifts(900, 30);
    expect(s.length).toBe(271);
    expect([s[0], s.at(-1)]).toEqual([120, 390]);
    expect(controlShifts(300, 30)).toEqual(Array.from({ length: 61 }, (_, k) => 120 + k)); // a 10-s clip: 4..6 s
    expect(controlShifts(200, 30)).toEqual([100]); // under 8 s: half-way
    expect(controlShifts(720, 24).length).toBe(217);
  });

  it('gives about 0 when the pictures are shuffled', () => {
    const rng = new Rng(2);
    const f = features(rng);
    const change = shuffled(Float32Array.from(f.onset, (o) => 0.01 * o), rng);
    const energy = shuffled(Float32Array.from(f.loudness, (l) => 0.5 + l / 100), rng);
    const hue = shuffled(Float32Array.from(f.centroid, (c) => Math.log2(c) - 10), rng);
    const s = reactionScores(f, { change, energy, hue });
    expect(s.onsetChange.control).toBeLessThan(0.1);
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
    expect(s.contrast[0]).toBe(0); // one colour: no pattern, however bright
    expect(s.contrast[1]).toBe(0);
  });

  it('reads contrast (the spatial std of luma) and counts flat frames', () => {
    const m = new FrameMeter(2, 1);
    m.push(Uint8Array.of(0, 0, 0, 255, 255, 255, 255, 255)); // black | white: luma 0 and 1, std 0.5
    m.push(Uint8Array.of(100, 100, 100, 255, 110, 110, 110, 255)); // grey | grey + 10: std 5/255 = 0.0196, flat
    m.push(Uint8Array.of(100, 100, 100, 255, 120, 120, 120, 255)); // grey | grey + 20: std 10/255 = 0.039, not flat
    const { contrast } = m.series();
    expect(contrast[0]).toBeCloseTo(0.5, 6);
    expect(contrast[1]).toBeCloseTo(5 / 255, 6);
    expect(contrast[2]).toBeCloseTo(10 / 255, 6);
    expect(FLAT_CONTRAST).toBeGreaterThan(contrast[1]!);
    expect(FLAT_CONTRAST).toBeLessThan(contrast[2]!);
    expect(flatFraction(contrast)).toBeCloseTo(1 / 3, 6);
    expect(flatFraction(new Float32Array(0))).toBe(0);
  });

  it('runs on a real piece from a MIDI file: its excerpt, its name and tempo; a bad song name or a too-short excerpt is refused', async () => {
    const fur = join(SONGS_DIR, 'fur-elise.mid');
    const m = await runReactMeasure({ styles: [fur], seconds: 9, fromSeconds: 'middle', width: 16, height: 9, fps: 10, threads: 1 });
    const s = m.songs[0]!;
    expect(s).toMatchObject({ style: 'fur-elise.mid', tempo: 68, seconds: 9, frames: 90 });
    expect(s.fromSeconds).toBe(Math.round((164.73 - 9) / 2)); // the piece lasts 164.73 s from its first note
    expect(s.scores.onsetChange.r).toBeGreaterThan(0.3); // the pulse follows the piano's onsets even at 16 x 9
    expect(s.flatFrames).toBeGreaterThanOrEqual(0);
    expect(s.flatFrames).toBeLessThan(0.5); // the shipped model draws patterns through most of the excerpt
    await expect(runReactMeasure({ styles: ['polka'] })).rejects.toThrow(/unknown song "polka"; use a style \(rock, jazz, electronic, ballad\) or the path of a \.mid file/);
    await expect(runReactMeasure({ styles: [fur], seconds: 200 })).rejects.toThrow(/fur-elise\.mid lasts 164\.7 s, shorter than the 200-s excerpt/);
  }, 60_000);
});
