/**
 * The recorded part of the training data (docs/audio.md#recorded-instruments): for each General-MIDI
 * program, single notes over several octaves, chords of 2-4 notes and short phrases, each with its own
 * velocity, length, detune / vibrato and augmentation (augment.ts), drawn from a seeded Rng so that a
 * plan is a pure function of its options.
 *
 * Each clip carries its labels: the MIDI notes sounding in the context window (what the circles show)
 * and the program's family; training pulls the latent towards a code of them (docs/design.md#latent-anchors).
 */
import { UserError } from '../errors.js';
import { Rng } from '../rng.js';
import { drawAugmentation, drawPitchWobble, type Augmentation } from './augment.js';
import { familyOfProgram, isUnpitchedProgram, trainingPrograms } from './general-midi.js';
import type { NoteEvent } from './soundfont.js';

/** One clip of the recorded part. */
export interface SoundfontClipSpec {
  source: 'soundfont';
  kind: 'note' | 'chord' | 'phrase';
  program: number;
  events: NoteEvent[];
  detuneCents: number;
  vibrato?: { cents: number; rateHz: number };
  augmentation: Augmentation;
  /** Seed of the augmentation's noise. */
  seed: number;
  /** The notes that start within the context window (the label); empty for unpitched programs. */
  midis: number[];
  family: number;
}

export interface SoundfontPlanOptions {
  /** General-MIDI programs (default: trainingPrograms(), every program but the held-out ones). */
  programs?: readonly number[];
  /** Single notes per program (default 24); chords are a quarter of that and phrases an eighth. */
  perProgram?: number;
  /** Draw augmentations (default true). */
  augment?: boolean;
  seed?: number | string;
}

/** Seconds of the context window the label covers: the circles' harmonics come from the opening ~4096 samples (docs/design.md#training-data). */
export const LABEL_SECONDS = 4096 / 22050;

/** Chord shapes (semitones above the root). */
const CHORDS: readonly number[][] = [
  [0, 4, 7], [0, 3, 7], [0, 4, 7, 10], [0, 3, 7, 10], [0, 5, 7], [0, 7], [0, 12], [0, 4], [0, 3], [0, 4, 7, 11],
];

/** The recorded part of a dataset: notes, chords and phrases for every program. */
export function soundfontPlan(opts: SoundfontPlanOptions = {}): SoundfontClipSpec[] {
  const programs = opts.programs ?? trainingPrograms();
  const perProgram = opts.perProgram ?? 24;
  if (!(Number.isInteger(perProgram) && perProgram >= 1 && perProgram <= 10_000)) throw new UserError(`notes per program must be an integer from 1 to 10000, got ${perProgram}`);
  for (const p of programs) if (!(Number.isInteger(p) && p >= 0 && p <= 127)) throw new UserError(`General-MIDI programs are integers 0..127, got ${p}`);
  const rng = new Rng(opts.seed ?? 0);
  const augmentOn = opts.augment ?? true;
  const plan: SoundfontClipSpec[] = [];
  const velocity = () => 40 + rng.int(88);
  const range = (program: number): [number, number] => (familyOfProgram(program) === 4 ? [28, 67] : [45, 92]);
  const push = (program: number, kind: SoundfontClipSpec['kind'], events: NoteEvent[]) => {
    const wobble = drawPitchWobble(rng);
    const augmentation = augmentOn ? drawAugmentation(rng) : {};
    const sounding = events.filter((e) => e.start < LABEL_SECONDS);
    const midis = isUnpitchedProgram(program) ? [] : [...new Set((sounding.length ? sounding : events.slice(0, 1)).map((e) => e.midi))].sort((a, b) => a - b);
    plan.push({ source: 'soundfont', kind, program, events, ...(augmentOn ? wobble : { detuneCents: 0 }), augmentation, seed: rng.nextUint32(), midis, family: familyOfProgram(program) });
  };
  for (const program of programs) {
    const [lo, hi] = range(program);
    const onset = () => (rng.uniform() < 0.7 ? 0 : 0.15 * rng.uniform());
    for (let k = 0; k < perProgram; k++) {
      const midi = lo + rng.int(hi - lo + 1);
      push(program, 'note', [{ program, midi, velocity: velocity(), start: onset(), duration: 0.3 + 1.7 * rng.uniform() }]);
    }
    for (let k = 0; k < Math.max(1, Math.round(perProgram / 4)); k++) {
      const shape = CHORDS[rng.int(CHORDS.length)]!;
      const root = lo + rng.int(Math.max(1, hi - 12 - lo + 1));
      const start = onset(), duration = 0.5 + 1.5 * rng.uniform(), v = velocity();
      // strummed a little: up to 30 ms between notes
      push(program, 'chord', shape.map((s, i) => ({ program, midi: root + s, velocity: v, start: start + i * 0.03 * rng.uniform(), duration })));
    }
    for (let k = 0; k < Math.max(1, Math.round(perProgram / 8)); k++) {
      const count = 3 + rng.int(4);
      let midi = lo + 6 + rng.int(Math.max(1, hi - lo - 11));
      let t = 0;
      const events: NoteEvent[] = [];
      for (let i = 0; i < count && t < 1.8; i++) {
        const duration = 0.15 + 0.35 * rng.uniform();
        events.push({ program, midi, velocity: velocity(), start: t, duration });
        t += duration;
        midi = Math.max(lo, Math.min(hi, midi + rng.int(11) - 5));
      }
      push(program, 'phrase', events);
    }
  }
  return plan;
}

/** "0-7,40,56" -> [0..7, 40, 56]: General-MIDI program numbers. */
export function parseProgramList(text: string, optionName = '--programs'): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,3})\s*(?:-\s*(\d{1,3})\s*)?$/.exec(part);
    const a = m ? Number(m[1]) : NaN, b = m?.[2] !== undefined ? Number(m[2]) : a;
    if (!m || a > 127 || b > 127 || b < a) throw new UserError(`${optionName}: ${JSON.stringify(part.trim())} is not a General-MIDI program or range; give numbers 0..127 like 0-7,40,56`);
    for (let p = a; p <= b; p++) out.push(p);
  }
  return [...new Set(out)];
}
