/**
 * The note manifest, `<model>/notes.json`: the latent of each of the 19 keys F4..B5 for every
 * instrument, computed by the model's encoder from recorded instruments (General-MIDI programs of the
 * default soundfont, general-midi.ts' MANIFEST_INSTRUMENTS; the seed's piano manifest), so a key
 * press or `nca encode --note A4 --instrument violin` needs no audio. A chord is the mean of its
 * notes' latents (docs/design.md#the-model).
 *
 * File: { "format": "nca-notes", "version": 1, "dim": 64, "model": {...}, "synth": {velocity,
 *         duration, seed}, "source": { "soundfont": file name, "programs": { "<instrument>": program } },
 *         "instruments": [...], "notes": ["F4", ...], "families": { "<instrument>": GM family },
 *         "latents": { "<instrument>": { "<note>": [64 numbers] } } }
 * (Manifests written before the soundfont have no "source": their notes came from the own synthesiser.)
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GM_FAMILIES, MANIFEST_INSTRUMENTS, SYNTH_FAMILY, familyOfProgram, isUnpitchedProgram, trainingPrograms } from '../audio/general-midi.js';
import { Soundfont } from '../audio/soundfont.js';
import { INSTRUMENTS, KEYBOARD_NOTES, noteName, synthesize, type Instrument } from '../audio/synth.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readTextFile } from '../io/read.js';
import { LATENT_DIM, requireLatentVector } from '../latent.js';
import { WINDOW_SECONDS, contextFrames, encodeContexts, type Encoder } from './encode.js';
import { ANALYSIS_RATE } from '../audio/spectrogram.js';

export const NOTES_FILE = 'notes.json';
export const NOTES_FORMAT = 'nca-notes';

/** How the manifest's notes are synthesised: a mid velocity, held 1 s in the 2-s window. */
export const NOTE_SYNTH = { velocity: 0.7, duration: 1, seed: 0 } as const;

export interface NotesManifest {
  format: typeof NOTES_FORMAT;
  version: 1;
  dim: number;
  model?: Record<string, unknown>;
  synth: typeof NOTE_SYNTH;
  /** Where the notes were played: a soundfont's General-MIDI programs (absent: the own synthesiser). */
  source?: { soundfont: string; programs: Record<string, number> };
  /** Each instrument's General-MIDI family. */
  families?: Record<string, string>;
  instruments: string[];
  notes: string[];
  latents: Record<string, Record<string, number[]>>;
}

/** Encode the 19 keys x every instrument of the own synthesiser (the manifest before the soundfont; tests use it). */
export function computeNotes(model: Encoder, opts: { instruments?: readonly Instrument[]; notes?: readonly number[] } = {}): NotesManifest {
  const instruments = opts.instruments ?? INSTRUMENTS;
  const notes = opts.notes ?? KEYBOARD_NOTES;
  const sounds = instruments.flatMap((instrument) => notes.map((midi) => synthesize({ instrument, midi, velocity: NOTE_SYNTH.velocity, duration: NOTE_SYNTH.duration, seed: NOTE_SYNTH.seed })));
  const m = encodeNotes(model, instruments, notes, sounds);
  m.families = Object.fromEntries(instruments.map((i) => [i, GM_FAMILIES[SYNTH_FAMILY[i]]]));
  return m;
}

/**
 * Encode the 19 keys x every instrument of MANIFEST_INSTRUMENTS (or `instruments`), played from a soundfont
 * (default TimGM6mb) at velocity NOTE_SYNTH.velocity x 127, held NOTE_SYNTH.duration s.
 */
export async function computeSoundfontNotes(model: Encoder, opts: { soundfont?: Soundfont; instruments?: ReadonlyArray<{ name: string; program: number }>; notes?: readonly number[] } = {}): Promise<NotesManifest> {
  const soundfont = opts.soundfont ?? (await Soundfont.load());
  const instruments = opts.instruments ?? MANIFEST_INSTRUMENTS;
  const notes = opts.notes ?? KEYBOARD_NOTES;
  const velocity = Math.round(NOTE_SYNTH.velocity * 127);
  const sounds: Float32Array[] = [];
  for (const { program } of instruments) {
    for (const midi of notes) sounds.push(await soundfont.render([{ program, midi, velocity, start: 0, duration: NOTE_SYNTH.duration }], { seconds: WINDOW_SECONDS }));
  }
  const m = encodeNotes(model, instruments.map((i) => i.name), notes, sounds);
  m.source = { soundfont: basename(soundfont.path).replace(/\.wasm$/, ''), programs: Object.fromEntries(instruments.map((i) => [i.name, i.program])) };
  m.families = Object.fromEntries(instruments.map((i) => [i.name, GM_FAMILIES[familyOfProgram(i.program)]]));
  return m;
}

/**
 * The instruments of the shipped manifest: MANIFEST_INSTRUMENTS first (the 8 names of the own synthesiser and
 * one for each other melodic family), then every other pitched program nca trains on (general-midi.ts),
 * named after the soundfont's preset ("honky-tonk"). Held-out programs are never in it.
 */
export function manifestInstruments(soundfont: Soundfont): Array<{ name: string; program: number }> {
  const out = [...MANIFEST_INSTRUMENTS];
  const names = new Set(out.map((i) => i.name));
  const presetName = new Map(soundfont.presets().map((p) => [p.program, p.name]));
  for (const program of trainingPrograms()) {
    if (isUnpitchedProgram(program) || out.some((i) => i.program === program)) continue;
    let name = (presetName.get(program) ?? `program ${program}`).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || `program-${program}`;
    if (names.has(name)) name = `${name}-${program}`;
    names.add(name);
    out.push({ name, program });
  }
  return out;
}

/** `b`'s instruments added to `a` under `prefix` + their names (the notes must be the same). */
export function mergeNotes(a: NotesManifest, b: NotesManifest, prefix: string): NotesManifest {
  const merged: NotesManifest = { ...a, instruments: [...a.instruments], latents: { ...a.latents }, families: { ...a.families } };
  for (const instrument of b.instruments) {
    const name = prefix + instrument;
    merged.instruments.push(name);
    merged.latents[name] = b.latents[instrument]!;
    if (b.families?.[instrument]) merged.families![name] = b.families[instrument]!;
  }
  return merged;
}

/** The manifest of `sounds` (instrument-major, then note) encoded by the model. */
function encodeNotes(model: Encoder, instruments: readonly string[], notes: readonly number[], sounds: readonly Float32Array[]): NotesManifest {
  const n = Math.round(WINDOW_SECONDS * ANALYSIS_RATE);
  const contexts = sounds.map((sound) => {
    const window = new Float32Array(n);
    window.set(sound.subarray(0, n));
    return contextFrames(window, ANALYSIS_RATE, model.config.contextFrames, model.config.pictures);
  });
  const per = contexts[0]!.length;
  const all = new Float32Array(contexts.length * per);
  contexts.forEach((c, i) => all.set(c, i * per));
  const mu = encodeContexts(model, all, contexts.length);
  const latents: NotesManifest['latents'] = {};
  let k = 0;
  for (const instrument of instruments) {
    const row: Record<string, number[]> = {};
    for (const midi of notes) {
      row[noteName(midi)] = Array.from(mu.subarray(k * LATENT_DIM, (k + 1) * LATENT_DIM), (v) => Number(v.toPrecision(7)));
      k++;
    }
    latents[instrument] = row;
  }
  return { format: NOTES_FORMAT, version: 1, dim: LATENT_DIM, synth: NOTE_SYNTH, instruments: [...instruments], notes: notes.map(noteName), latents };
}

/** Load the model of `dir`, compute its notes and write `<dir>/notes.json` (atomically). */
export async function writeNotesManifest(dir: string): Promise<{ path: string; seconds: number }> {
  const t0 = performance.now();
  const { loadModel } = await import('./networks.js');
  const model = await loadModel(dir);
  try {
    const soundfont = await Soundfont.load();
    const manifest = mergeNotes(await computeSoundfontNotes(model, { soundfont, instruments: manifestInstruments(soundfont) }), computeNotes(model), 'synth-');
    manifest.model = { dir, trained: (model.config.training as { iterationsDone?: number } | undefined)?.iterationsDone ?? null };
    const path = join(dir, NOTES_FILE);
    await writeFileAtomic(path, JSON.stringify(manifest) + '\n');
    return { path, seconds: (performance.now() - t0) / 1000 };
  } finally {
    model.dispose();
  }
}

/** Read and check `<dir>/notes.json`. */
export async function loadNotes(dir: string): Promise<NotesManifest> {
  const path = join(dir, NOTES_FILE);
  if (!existsSync(path)) throw new UserError(`no note manifest at ${path}: compute it with nca encode --make-notes --model ${dir} (nca train writes it at the end)`);
  const text = await readTextFile(path, 'note manifest', 'json');
  let m: NotesManifest;
  try {
    m = JSON.parse(text) as NotesManifest;
  } catch {
    throw new UserError(`${path} is not valid JSON; recompute it with nca encode --make-notes`);
  }
  if (m.format !== NOTES_FORMAT || m.version !== 1 || m.dim !== LATENT_DIM || typeof m.latents !== 'object') throw new UserError(`${path} is not an nca note manifest; recompute it with nca encode --make-notes`);
  return m;
}

/** The latent of a note of an instrument (UserError naming what exists when it is not in the manifest). */
export function noteLatent(m: NotesManifest, instrument: string, note: string): Float32Array {
  const row = m.latents[instrument];
  if (!row) throw new UserError(`no instrument ${JSON.stringify(instrument)} in the note manifest; choose one of ${m.instruments.join(', ')}`);
  const v = row[note];
  if (!v) throw new UserError(`no note ${note} for ${instrument} in the note manifest; the keys are ${m.notes[0]}..${m.notes[m.notes.length - 1]} (${m.notes.join(', ')})`);
  try {
    return requireLatentVector(`the note manifest's latent of ${instrument} ${note}`, v);
  } catch (e) {
    throw e instanceof UserError ? new UserError(`${e.message}; recompute the manifest with nca encode --make-notes`) : e;
  }
}
