import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESCRIPTOR_FEATURES, DescriptorTracker, descriptorDistance, standardise } from '../src/core/descriptor.js';
import { UserError } from '../src/core/errors.js';
import { latentMeaning, renderDescriptors } from '../src/core/model/latent-meaning.js';
import { loadModel, DEFAULT_MODEL_DIR, type NeuroModel } from '../src/core/model/networks.js';
import { loadNotes, type NotesManifest } from '../src/core/model/notes.js';
import { FRAME_PROTOCOL } from '../src/core/nca/graph.js';
import { PARAM_COUNT, PARAM_LAYOUT } from '../src/core/nca/params.js';

const feature = (d: Float32Array, name: (typeof DESCRIPTOR_FEATURES)[number]) => d[DESCRIPTOR_FEATURES.indexOf(name)]!;

/** Frames [3][H][W] of a vertical sinusoid of period `period` cells, shifted by `phase` cells. */
function stripes(size: number, period: number, phase = 0): Float32Array {
  const f = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) f[c * size * size + y * size + x] = 0.5 + 0.4 * Math.sin((2 * Math.PI * (x + phase)) / period);
  return f;
}

function describe1(frames: (t: number) => Float32Array, size: number, steps: number): Float32Array {
  const d = new DescriptorTracker(size, size, steps, { window: steps, stride: 1 });
  for (let t = 0; t <= steps; t++) d.push(frames(t));
  return d.finish();
}

describe('render descriptor', () => {
  it('structure: the lag correlations of a sinusoid are (cos(2 pi d / P) + 1) / 2 (x correlates, y is constant)', () => {
    const d = describe1(() => stripes(32, 16), 32, 4);
    const expected = [1, 2, 4, 8].map((lag) => (Math.cos((2 * Math.PI * lag) / 16) + 1) / 2);
    expect([feature(d, 'corr1'), feature(d, 'corr2'), feature(d, 'corr4'), feature(d, 'corr8')].map((v) => Number(v.toFixed(4)))).toEqual(expected.map((v) => Number(v.toFixed(4))));
    // the same pattern, finer: less correlated at lag 2
    const fine = describe1(() => stripes(32, 4), 32, 4);
    expect(feature(fine, 'corr2')).toBeCloseTo(0, 4);
  });

  it('colour, contrast, speed and drift of known sequences', () => {
    const flat = describe1(() => new Float32Array(3 * 16 * 16).fill(0.3), 16, 10);
    expect(feature(flat, 'meanG')).toBeCloseTo(0.3, 6);
    for (const f of ['stdR', 'corr1', 'speed', 'drift'] as const) expect(feature(flat, f)).toBeCloseTo(0, 6);
    // stripes moving one cell per frame: change every frame, and the two halves' mean images differ little (they average over phases)
    const moving = describe1((t) => stripes(32, 16, t), 32, 32);
    const still = describe1(() => stripes(32, 16), 32, 32);
    expect(feature(moving, 'speed')).toBeGreaterThan(0.05);
    expect(feature(still, 'speed')).toBe(0);
    expect(feature(moving, 'stdR')).toBeCloseTo(0.4 / Math.SQRT2, 3);
    // a slow fade from 0.2 to 0.8: the halves' means differ by about half the range
    const fade = describe1((t) => new Float32Array(3 * 16 * 16).fill(0.2 + (0.6 * t) / 20), 16, 20);
    expect(feature(fade, 'drift')).toBeCloseTo(0.3, 1);
  });

  it('the window: only the last frames count', () => {
    const d = new DescriptorTracker(16, 16, 50, { window: 10 });
    for (let t = 0; t <= 50; t++) d.push(new Float32Array(3 * 256).fill(t <= 40 ? 0 : 1));
    // frames 41..50 are the window: all ones; the 40 -> 41 jump is in it
    expect(feature(d.finish(), 'meanB')).toBe(1);
  });

  it('standardise: z-scores per feature, with a floor on tiny spreads; distance 0 to itself', () => {
    const a = Float32Array.from({ length: 12 }, (_, i) => i * 0.1);
    const b = a.map((v, i) => (i === 0 ? v + 0.5 : v + 1e-6));
    const [za, zb] = standardise([a, b]);
    expect(za![0]).toBeCloseTo(-1, 5);
    expect(zb![0]).toBeCloseTo(1, 5);
    expect(Math.abs(za![5]!)).toBeLessThan(0.01); // a 1e-6 difference stays invisible
    expect(descriptorDistance(za!, za!)).toBe(0);
    expect(descriptorDistance(za!, zb!)).toBeCloseTo(Math.sqrt(4 / 12), 2);
  });
});

describe('latent meaning (shipped model)', () => {
  let model: NeuroModel;
  let notes: NotesManifest;
  beforeAll(async () => {
    model = await loadModel();
    notes = await loadNotes(DEFAULT_MODEL_DIR);
  });
  afterAll(() => model?.dispose());

  it('hand-made NCAs: a grey and a red flat field are far apart; the same parameters under the same seeds give identical descriptors', async () => {
    const grey = new Float32Array(PARAM_COUNT); // zero weights: x <- sigmoid(x) tends to a flat 0.66
    const red = new Float32Array(PARAM_COUNT);
    red[PARAM_LAYOUT.b2.offset] = 4; // the red channel is pushed towards 1
    const { descriptors, alive } = await renderDescriptors([grey, red, grey], { seeds: 2, steps: 30, size: 16, protocol: FRAME_PROTOCOL, threads: 1 });
    expect(descriptors.length).toBe(3);
    expect(descriptors[0]!.length).toBe(2);
    expect(alive.flat()).toEqual(['dead', 'dead', 'dead', 'dead', 'dead', 'dead']);
    expect(feature(descriptors[1]![0]!, 'meanR')).toBeGreaterThan(0.95);
    expect(feature(descriptors[0]![0]!, 'meanR')).toBeCloseTo(0.66, 1);
    const z = standardise(descriptors.flat());
    expect(descriptorDistance(z[0]!, z[2]!)).toBeGreaterThan(0.5); // grey seed 0 vs red seed 0
    expect(descriptorDistance(z[0]!, z[4]!)).toBe(0); // grey vs grey, seed 0
    expect(descriptorDistance(z[1]!, z[5]!)).toBe(0); // seed 1
  });

  it('seed k is the same start and hidden noise for every latent: one latent twice gives distance 0, and its seeds differ', async () => {
    const z = new Float32Array(64);
    z.set(notes.latents.piano!.A4!);
    const p = model.hypernetwork(z, 1);
    const { descriptors } = await renderDescriptors([p, p], { seeds: 2, steps: 40, size: 16, protocol: FRAME_PROTOCOL, threads: 1 });
    expect(Array.from(descriptors[1]![0]!)).toEqual(Array.from(descriptors[0]![0]!));
    expect(Array.from(descriptors[1]![1]!)).toEqual(Array.from(descriptors[0]![1]!));
    expect(Array.from(descriptors[0]![1]!)).not.toEqual(Array.from(descriptors[0]![0]!));
  });

  it('the result: groups, counts, fractions and determinism', async () => {
    const opts = { notes, instruments: ['piano', 'violin'], noteNames: ['F4', 'A4'], chords: [['F4', 'A4', 'C5']], seeds: 2, steps: 30, size: 16, threads: 1 };
    const r = await latentMeaning(model, opts);
    // notes F4 A4 + the chord's C5, on 2 instruments = 6 note latents, 2 chords, x 2 seeds
    expect(r.settings.notes).toEqual(['F4', 'A4', 'C5']);
    expect(r.renders).toBe(16);
    expect(r.distinct.latents).toBe(6);
    expect(r.distinct.between.all.pairs).toBe(15);
    expect(r.distinct.between.sameNote.pairs).toBe(3);
    expect(r.distinct.between.sameInstrument.pairs).toBe(6);
    expect(r.distinct.between.differentBoth.pairs).toBe(6);
    expect(r.distinct.identification.chance).toBeCloseTo(1 / 6);
    expect(r.distinct.identification.instrumentChance).toBe(0.5);
    const tallies = [r.alive.notes, r.alive.chords].map((t) => t.dead + t.static + t.noise + t.alive);
    expect(tallies).toEqual([12, 4]);
    expect(r.chords.n).toBe(2);
    expect(r.chords.items.map((c) => c.instrument)).toEqual(['piano', 'violin']);
    expect(r.distinct.withinSpread).toBeGreaterThan(0);
    for (const v of [r.distinct.between.all.ratio, r.chords.distanceRatio, r.chords.controlDistanceRatio]) expect(Number.isFinite(v) && v > 0).toBe(true);
    for (const v of [r.distinct.identification.accuracy, r.chords.betweenFraction, r.chords.controlBetweenFraction, r.chords.insideBox, r.chords.controlInsideBox]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    const again = await latentMeaning(model, opts);
    expect({ ...again, seconds: null }).toEqual({ ...r, seconds: null });
  });

  it('refuses a single seed (no spread) and unknown notes', async () => {
    await expect(latentMeaning(model, { notes, seeds: 1, steps: 10, size: 16 })).rejects.toThrow(UserError);
    await expect(latentMeaning(model, { notes, noteNames: ['H9'], seeds: 2, steps: 10, size: 16 })).rejects.toThrow(/no note H9/);
  });
});
