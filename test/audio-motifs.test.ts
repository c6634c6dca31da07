import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { circlesFrames } from '../src/core/audio/circles.js';
import { buildDataset, clipSequence, defaultPlan, openDataset } from '../src/core/audio/dataset.js';
import { type ClipFeatures, clipFeatures } from '../src/core/audio/features.js';
import { chooseMotif, motifFrames, pitchClassHue, registerScale, soundShape, type SoundShape } from '../src/core/audio/motifs.js';
import { parsePictureStyle, trainingPictures } from '../src/core/audio/pictures.js';
import { synthesize } from '../src/core/audio/synth.js';
import { UserError } from '../src/core/errors.js';
import { contextFrames } from '../src/core/model/encode.js';
import { validateConfig } from '../src/core/model/networks.js';
import { RadialSpectrum } from '../src/core/variety/spectrum.js';

const N = 60;
/** Hand-made features: the given partials, a loudness envelope, a constant centroid. */
function handMade(partials: Array<[number, number]>, envelope: (f: number) => number, centroid = 1000): ClipFeatures {
  return {
    sampleRate: 22050,
    hop: 512,
    nFrames: N,
    rms: Float32Array.from({ length: N }, (_, f) => envelope(f)),
    centroid: new Float32Array(N).fill(centroid),
    onset: new Float32Array(N),
    harmonics: partials.map(([frequency, relative]) => ({ frequency, amplitude: relative / 2, relative })),
  };
}
const steady = (f: number): number => (f === 0 ? 0.2 : 0.8);
const dying = (f: number): number => (f === 0 ? 0.2 : Math.exp(-f / 2));

/** Chroma-weighted mean hue (degrees) of picture t of planar frames [T][3][H][W]. */
function meanHue(frames: Float32Array, t: number, plane: number): number {
  let x = 0, y = 0;
  for (let i = 0; i < plane; i++) {
    const r = frames[(t * 3) * plane + i]!, g = frames[(t * 3 + 1) * plane + i]!, b = frames[(t * 3 + 2) * plane + i]!;
    const max = Math.max(r, g, b), min = Math.min(r, g, b), c = max - min;
    if (c <= 0) continue;
    const h = max === r ? ((g - b) / c + 6) % 6 : max === g ? (b - r) / c + 2 : (r - g) / c + 4;
    x += c * Math.cos((h * Math.PI) / 3);
    y += c * Math.sin((h * Math.PI) / 3);
  }
  return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
}
const hueDistance = (a: number, b: number): number => Math.min(Math.abs(a - b), 360 - Math.abs(a - b));
const lit = (frames: Float32Array, t: number, plane: number): number => {
  let n = 0;
  for (let i = 0; i < plane; i++) if (Math.max(frames[t * 3 * plane + i]!, frames[(t * 3 + 1) * plane + i]!, frames[(t * 3 + 2) * plane + i]!) > 0.1) n++;
  return n / plane;
};

describe('motif pictures', () => {
  it('colour is pitch class: C red, E 120 deg, G# 240 deg, the same hue an octave up', () => {
    expect(pitchClassHue(261.6256)).toBeCloseTo(0, 6);
    expect(pitchClassHue(329.6276)).toBeCloseTo(120, 3);
    expect(pitchClassHue(415.3047)).toBeCloseTo(240, 3);
    expect(pitchClassHue(2 * 440)).toBeCloseTo(pitchClassHue(440), 6);
    expect(registerScale(261.6256)).toBeCloseTo(1, 6);
    expect(registerScale(65)).toBeGreaterThan(registerScale(261.6256));
    expect(registerScale(2000)).toBeLessThan(registerScale(261.6256));
  });

  it('the motif follows the envelope and timbre: dying -> lattice, bright -> waves, low and dark -> blobs, else orbit', () => {
    const shape = (s: Partial<SoundShape>): SoundShape => ({ sustain: 0.8, brightness: 2, octave: 0.5, ...s });
    expect(chooseMotif(shape({ sustain: 0.1 }))).toBe('lattice');
    expect(chooseMotif(shape({ brightness: 8 }))).toBe('waves');
    expect(chooseMotif(shape({ octave: -1.5 }))).toBe('blobs');
    expect(chooseMotif(shape({}))).toBe('orbit');
    // from features: the descriptors are measured, not assumed
    expect(soundShape(handMade([[440, 1]], dying)).sustain).toBeLessThan(0.1);
    expect(soundShape(handMade([[440, 1]], steady)).sustain).toBeCloseTo(1, 6);
    expect(soundShape(handMade([[220, 1]], steady, 2200)).brightness).toBeCloseTo(10, 6);
    expect(chooseMotif(soundShape(handMade([[440, 1]], dying)))).toBe('lattice');
    expect(chooseMotif(soundShape(handMade([[220, 1]], steady, 2200)))).toBe('waves');
    expect(chooseMotif(soundShape(handMade([[110, 1]], steady, 200)))).toBe('blobs');
    expect(chooseMotif(soundShape(handMade([[440, 1], [880, 0.5]], steady, 800)))).toBe('orbit');
  });

  it('a held note is sustained however long it is held: sustain is measured from the start of its flat top, not from its loudest frame', () => {
    // a flat top whose loudest frame (1.0, frame 40) is just before the note-off at frame 42; everything before is 0.97
    const held = (f: number): number => (f === 0 ? 0.2 : f < 40 ? 0.97 : f < 42 ? 1 : 0.01);
    const shape = soundShape(handMade([[440, 1], [880, 0.5]], held, 800));
    expect(shape.sustain).toBeGreaterThan(0.9);
    expect(chooseMotif(shape)).toBe('orbit');
  });

  it('each motif draws the pitch-class hue, moves, and is deterministic; silence is black', () => {
    const plane = 32 * 32;
    const cases: Array<[string, ClipFeatures]> = [
      ['lattice', handMade([[329.63, 1]], dying)],
      ['waves', handMade([[329.63, 1]], steady, 3296)],
      ['blobs', handMade([[164.81, 1]], steady, 200)],
      ['orbit', handMade([[329.63, 1], [659.26, 0.6]], steady, 800)],
    ];
    for (const [motif, f] of cases) {
      expect(chooseMotif(soundShape(f)), motif).toBe(motif);
      const frames = motifFrames(f);
      expect(frames.length).toBe(24 * 3 * plane);
      expect(Array.from(frames).every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Array.from(motifFrames(f))).toEqual(Array.from(frames));
      expect(hueDistance(meanHue(frames, 5, plane), 120), motif).toBeLessThan(8); // E: 120 deg
      let change = 0;
      for (let i = 0; i < 3 * plane; i++) change += Math.abs(frames[10 * 3 * plane + i]! - frames[9 * 3 * plane + i]!);
      expect(change, motif).toBeGreaterThan(0.5);
    }
    expect(motifFrames(handMade([], steady)).every((v) => v === 0)).toBe(true);
  });

  it('register sets the size: a low note draws larger shapes than the same pitch class three octaves up', () => {
    const plane = 32 * 32, spectrum = new RadialSpectrum(32, 32);
    // sustained: blobs cover more of the picture than a high orbit
    const low = motifFrames(handMade([[110, 1]], steady, 150));
    const high = motifFrames(handMade([[880, 1]], steady, 1200));
    expect(lit(low, 4, plane)).toBeGreaterThan(1.5 * lit(high, 4, plane));
    // dying: the lattice's spacing (its dominant wavelength) grows as the note goes down
    const lowLattice = motifFrames(handMade([[110, 1]], dying));
    const highLattice = motifFrames(handMade([[880, 1]], dying));
    const wavelength = (frames: Float32Array): number => spectrum.peak(frames.subarray(4 * 3 * plane, 5 * 3 * plane)).wavelength;
    expect(wavelength(lowLattice)).toBeGreaterThan(2 * wavelength(highLattice));
  });

  it('a chord shows each note in its own colour (C, E, G: red, green, blue hues present)', () => {
    const plane = 32 * 32;
    const frames = motifFrames(handMade([[261.63, 1], [329.63, 0.9], [392, 0.8]], dying));
    const hues = new Set<number>();
    for (let i = 0; i < plane; i++) {
      const r = frames[i]!, g = frames[plane + i]!, b = frames[2 * plane + i]!;
      if (Math.max(r, g, b) > 0.3) hues.add(r >= g && r >= b ? 0 : g >= b ? 1 : 2);
    }
    expect(hues.size).toBe(3);
  });
});

describe('picture styles', () => {
  it('trainingPictures dispatches, circles is the default, a bad style is a UserError naming the choices', () => {
    const f = clipFeatures(synthesize({ instrument: 'flute', midi: 72, duration: 2, seed: 3 }));
    expect(Array.from(trainingPictures(f, 'circles'))).toEqual(Array.from(circlesFrames(f)));
    expect(Array.from(trainingPictures(f, 'motifs'))).toEqual(Array.from(motifFrames(f)));
    expect(parsePictureStyle(undefined, 'x')).toBe('circles');
    expect(() => parsePictureStyle('spirals', '--pictures')).toThrow(UserError);
    expect(() => parsePictureStyle('spirals', '--pictures')).toThrow(/circles, motifs/);
    expect(() => validateConfig({ pictures: 'spirals' }, 'model.json')).toThrow(UserError);
    expect(validateConfig({ pictures: 'motifs' }, 'model.json').pictures).toBe('motifs');
  });

  it("the encoder's context uses the model's pictures: frame 0 (the spectrogram) is shared, frames 1..3 differ", () => {
    const sound = synthesize({ instrument: 'violin', midi: 64, duration: 2, seed: 2 });
    const circles = contextFrames(sound, 22050, 4);
    const motifs = contextFrames(sound, 22050, 4, 'motifs');
    const frame = 3 * 32 * 32;
    expect(Array.from(motifs.subarray(0, frame))).toEqual(Array.from(circles.subarray(0, frame)));
    expect(Array.from(motifs.subarray(frame))).not.toEqual(Array.from(circles.subarray(frame)));
    expect(Array.from(clipSequence(sound, { circleFrames: 3, pictures: 'motifs' }).frames)).toEqual(Array.from(motifs));
  });

  it('a dataset records its pictures; a manifest with an unknown style is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nca-motifs-'));
    try {
      const plan = defaultPlan({ instruments: ['organ'], notes: [60, 64], velocities: [0.8] });
      const { manifest } = await buildDataset({ outDir: dir, plan, pictures: 'motifs', circleFrames: 6 });
      expect(manifest.recipe.pictures).toBe('motifs');
      const data = await openDataset(dir);
      expect(data.manifest.recipe.pictures).toBe('motifs');
      const path = join(dir, 'manifest.json');
      const m = JSON.parse(await readFile(path, 'utf8'));
      m.recipe.pictures = 'spirals';
      await writeFile(path, JSON.stringify(m));
      await expect(openDataset(dir)).rejects.toThrow(/recipe\.pictures/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
