import { describe, expect, it } from 'vitest';
import { clipFeatures, harmonicPeaks } from '../src/core/audio/features.js';
import { INSTRUMENTS, type Instrument, midiToHz, noteName, parseNote, synthesize } from '../src/core/audio/synth.js';
import { UserError } from '../src/core/errors.js';

const SR = 22050;

describe('notes', () => {
  it.each([
    ['A4', 69],
    ['a4', 69],
    ['C4', 60],
    ['F#4', 66],
    ['Gb4', 66],
    ['Bb3', 58],
    ['B#3', 60],
    ['C-1', 0],
    ['69', 69],
    ['60', 60],
  ])('%s -> MIDI %i', (text, midi) => expect(parseNote(text)).toBe(midi));

  it.each(['H4', 'A', '4A', '', 'A4x', '200'])('rejects %j with a clear error', (text) => {
    expect(() => parseNote(text)).toThrow(UserError);
    expect(() => parseNote(text)).toThrow(/for --note/);
  });

  it('names and frequencies', () => {
    expect(noteName(66)).toBe('F#4');
    expect(noteName(83)).toBe('B5');
    expect(midiToHz(69)).toBe(440);
    expect(midiToHz(57)).toBeCloseTo(220, 9);
  });
});

/** Summary of a note: pitch, centroid, and envelope shape. */
function describeNote(instrument: Instrument, midi = 69, velocity = 0.8) {
  const x = synthesize({ instrument, midi, duration: 2, velocity, seed: 1 });
  const f = clipFeatures(x);
  let peak = 0;
  let peakFrame = 0;
  f.rms.forEach((v, k) => {
    if (v > peak) [peak, peakFrame] = [v, k];
  });
  const at = (s: number) => f.rms[Math.round((s * SR) / 512)]! / peak;
  const centroid = f.centroid.slice(5, 40).reduce((a, b) => a + b, 0) / 35;
  return { x, f, peakFrame, sustain: at(1.5), early: at(0.3), centroid };
}

describe('synthesize', () => {
  const notes = Object.fromEntries(INSTRUMENTS.map((i) => [i, describeNote(i)])) as Record<Instrument, ReturnType<typeof describeNote>>;

  it.each(INSTRUMENTS)('%s: right length, finite, peak = 0.3 + 0.6 velocity, deterministic for a seed', (instrument) => {
    const { x } = notes[instrument];
    expect(x.length).toBe(2 * SR);
    expect(x.every(Number.isFinite)).toBe(true);
    expect(Math.max(...x.map(Math.abs))).toBeCloseTo(0.3 + 0.6 * 0.8, 5);
    expect(synthesize({ instrument, midi: 69, duration: 2, velocity: 0.8, seed: 1 })).toEqual(x);
  });

  it.each(INSTRUMENTS)('%s: the A4 fundamental (or its octave, for the organ) is at 440 Hz within 0.5 %%', (instrument) => {
    // skip the attack (pluck/hammer noise) for the pitch measurement
    const peaks = harmonicPeaks(notes[instrument].x.subarray(Math.round(0.3 * SR)), { windowSize: 8192 });
    const near = peaks.filter((p) => Math.abs(p.frequency / 440 - 1) < 0.005);
    expect(near.length).toBe(1);
  });

  it('instruments differ measurably: spectral centroid and envelope', () => {
    const c = (i: Instrument) => notes[i].centroid;
    // bright bowed/brass vs mellow flute-like and struck
    expect(c('violin')).toBeGreaterThan(1.3 * c('piano'));
    expect(c('trumpet')).toBeGreaterThan(1.3 * c('organ'));
    expect(c('xylophone')).toBeLessThan(c('clarinet'));
    // decaying (struck, plucked) vs sustained (bowed, blown, organ)
    for (const i of ['piano', 'guitar', 'xylophone'] as const) expect(notes[i].sustain).toBeLessThan(0.15);
    for (const i of ['violin', 'flute', 'clarinet', 'organ', 'trumpet'] as const) expect(notes[i].sustain).toBeGreaterThan(0.6);
    // attacks: struck/plucked peak at once, the bow and breath take time
    for (const i of ['piano', 'guitar', 'xylophone'] as const) expect(notes[i].peakFrame).toBeLessThanOrEqual(3);
    expect(notes.violin.peakFrame).toBeGreaterThanOrEqual(4);
    expect(notes.flute.peakFrame).toBeGreaterThanOrEqual(4);
    // every pair differs in (centroid, sustain, peakFrame)
    for (const a of INSTRUMENTS) {
      for (const b of INSTRUMENTS) {
        if (a >= b) continue;
        const da = notes[a];
        const db = notes[b];
        const distance = Math.abs(Math.log(da.centroid / db.centroid)) + Math.abs(da.sustain - db.sustain) + Math.abs(da.early - db.early);
        expect(distance, `${a} vs ${b}`).toBeGreaterThan(0.1);
      }
    }
  });

  it('clarinet: odd harmonics dominate the even ones', () => {
    const peaks = harmonicPeaks(notes.clarinet.x.subarray(SR / 2), { windowSize: 8192, maxPeaks: 12, minRelative: 0.001 });
    const amp = (k: number) => peaks.find((p) => Math.abs(p.frequency - 440 * k) < 10)?.amplitude ?? 0;
    expect(amp(3)).toBeGreaterThan(5 * amp(2));
    expect(amp(5)).toBeGreaterThan(5 * amp(4));
  });

  it('xylophone: an inharmonic mode at 6.27 f0, not at a harmonic', () => {
    const peaks = harmonicPeaks(notes.xylophone.x, { windowSize: 4096, maxPeaks: 12, minRelative: 0.001 });
    expect(peaks.some((p) => Math.abs(p.frequency - 6.27 * 440) < 20)).toBe(true);
  });

  it('piano: stiff-string partials are sharp (the 6th partial above 6 f0)', () => {
    const f0 = midiToHz(48);
    const x = synthesize({ instrument: 'piano', midi: 48, duration: 1, seed: 2 });
    const peaks = harmonicPeaks(x, { windowSize: 16384, maxPeaks: 12, minRelative: 0.001 });
    const sixth = peaks.find((p) => Math.abs(p.frequency / (6 * f0) - 1) < 0.02)!;
    expect(sixth.frequency).toBeGreaterThan(6 * f0 * 1.0008);
  });

  it('violin has vibrato: the pitch moves after the first 0.4 s', () => {
    const x = notes.violin.x;
    const pitchAt = (s: number) => harmonicPeaks(x.subarray(Math.round(s * SR)), { windowSize: 2048 })[0]!.frequency;
    const pitches = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9].map(pitchAt);
    expect(Math.max(...pitches) - Math.min(...pitches)).toBeGreaterThan(1.5);
  });

  it('velocity: louder is brighter', () => {
    for (const i of ['piano', 'trumpet', 'guitar'] as const) expect(describeNote(i, 69, 1).centroid).toBeGreaterThan(describeNote(i, 69, 0.2).centroid);
  });

  it('the seed changes the noise but not the note', () => {
    const a = synthesize({ instrument: 'guitar', midi: 60, seed: 1, duration: 0.5 });
    const b = synthesize({ instrument: 'guitar', midi: 60, seed: 2, duration: 0.5 });
    expect(a).not.toEqual(b);
  });

  it('rejects bad options with the option name', () => {
    expect(() => synthesize({ instrument: 'kazoo' as Instrument, midi: 60 })).toThrow(/--instrument/);
    expect(() => synthesize({ instrument: 'piano', midi: 60, velocity: 2 })).toThrow(/--velocity/);
    expect(() => synthesize({ instrument: 'piano', midi: 60, duration: 0 })).toThrow(/--duration/);
  });
});
