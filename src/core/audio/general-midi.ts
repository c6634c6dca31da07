/**
 * General MIDI: the 16 instrument families, which programs nca trains on and which it holds out for
 * evaluation, and the instruments of the note manifest (docs/audio.md#recorded-instruments).
 */
import type { Instrument } from './synth.js';

/** The 16 General-MIDI families, 8 programs each (program p is in family floor(p / 8)). */
export const GM_FAMILIES = [
  'piano',
  'chromatic percussion',
  'organ',
  'guitar',
  'bass',
  'strings',
  'ensemble',
  'brass',
  'reed',
  'pipe',
  'synth lead',
  'synth pad',
  'synth effects',
  'ethnic',
  'percussive',
  'sound effects',
] as const;
export type GmFamily = (typeof GM_FAMILIES)[number];

/** The family index 0..15 of a program 0..127. */
export function familyOfProgram(program: number): number {
  return Math.floor(program / 8);
}

/**
 * Programs never used in training: two per melodic family (families 0..13), chosen before any training
 * and never changed after; `nca eval` measures pitch and family on them.
 */
export const HELD_OUT_PROGRAMS: readonly number[] = [
  2, 7, // electric grand, clavinet
  11, 14, // vibraphone, tubular bells
  17, 21, // percussive organ, accordion
  26, 29, // jazz guitar, overdriven guitar
  33, 38, // fingered bass, synth bass 1
  41, 46, // viola, harp
  49, 53, // slow strings, voice oohs
  57, 61, // trombone, brass section
  65, 68, // alto sax, oboe
  72, 75, // piccolo, pan flute
  81, 85, // sawtooth lead, voice lead
  89, 92, // warm pad, bowed pad
  97, 101, // soundtrack, goblin
  105, 109, // banjo, bagpipe
];

/** Sound-effect programs (family 15): trained for their family only, their notes have no pitch. */
export function isUnpitchedProgram(program: number): boolean {
  return familyOfProgram(program) === 15;
}

/** The programs nca trains on: every program except the held-out ones (112 in all, every family). */
export function trainingPrograms(): number[] {
  const held = new Set(HELD_OUT_PROGRAMS);
  return Array.from({ length: 128 }, (_, p) => p).filter((p) => !held.has(p));
}

/** The family of each of the own synthesiser's instruments. */
export const SYNTH_FAMILY: Record<Instrument, number> = {
  piano: 0,
  violin: 5,
  guitar: 3,
  flute: 9,
  clarinet: 8,
  xylophone: 1,
  organ: 2,
  trumpet: 7,
};

/** The note manifest's instruments, rendered from the soundfont: the own synthesiser's 8 names, then one for each other melodic family. */
export const MANIFEST_INSTRUMENTS: ReadonlyArray<{ name: string; program: number }> = [
  { name: 'piano', program: 0 },
  { name: 'violin', program: 40 },
  { name: 'guitar', program: 24 },
  { name: 'flute', program: 73 },
  { name: 'clarinet', program: 71 },
  { name: 'xylophone', program: 13 },
  { name: 'organ', program: 16 },
  { name: 'trumpet', program: 56 },
  { name: 'bass', program: 32 },
  { name: 'strings', program: 48 },
  { name: 'lead', program: 80 },
  { name: 'pad', program: 88 },
  { name: 'crystal', program: 98 },
  { name: 'sitar', program: 104 },
];
