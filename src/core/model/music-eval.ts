/**
 * Does a recording land where its pitch and instrument say? (docs/training.md#real-music): notes of
 * General-MIDI programs never trained on (general-midi.ts' HELD_OUT_PROGRAMS) and of the own
 * synthesiser, each encoded as `nca encode FILE` does, then
 *
 * - nearest manifest entry (Euclidean, all 64 dims, over notes.json): its pitch within a semitone and
 *   exact, its instrument's General-MIDI family against the sound's (and, for the synthesiser, its
 *   instrument's name);
 * - the anchored pitch dims decoded (anchors.ts' decodePitch) within a semitone;
 * - a linear pitch probe fitted on notes.json (ridge regression latent -> MIDI): the correlation;
 * - a melody rendered from the soundfont and encoded as a track (`nca encode --track`): the pitch the
 *   track's anchored dims say against the MIDI note heard in each window's opening.
 */
import { GM_FAMILIES, HELD_OUT_PROGRAMS, SYNTH_FAMILY, familyOfProgram } from '../audio/general-midi.js';
import { Soundfont, type NoteEvent } from '../audio/soundfont.js';
import { INSTRUMENTS, KEYBOARD_NOTES, synthesize } from '../audio/synth.js';
import { Rng } from '../rng.js';
import { decodePitch, type AnchorLayout } from './anchors.js';
import { WINDOW_SECONDS, chooseWindow, encodeClip, encodeTrack, type TrackEncoder } from './encode.js';
import type { NotesManifest } from './notes.js';
import { parseNote } from '../audio/synth.js';
import { ANALYSIS_RATE } from '../audio/spectrogram.js';
import { pearson } from '../stats.js';

/** The figures of one set of sounds. */
export interface MusicSetFigures {
  n: number;
  /** Nearest manifest entry: pitch within one semitone, exact, and family. */
  pitchWithinSemitone: number;
  pitchExact: number;
  family: number;
  /** Synthesiser only: the nearest entry is the sound's own instrument (synth-<name>, or <name> in manifests made from the synthesiser). */
  instrument?: number;
  /** The anchored pitch dims, decoded: within one semitone (null when the model has no anchors). */
  anchoredPitchWithinSemitone: number | null;
  /** Pearson correlation of a linear probe fitted on notes.json, latent -> MIDI. */
  probeCorrelation: number;
  /** Family accuracy and pitch within a semitone per General-MIDI family. */
  perFamily: Record<string, { n: number; family: number; pitchWithinSemitone: number }>;
}

export interface MelodyFigures {
  program: number;
  seconds: number;
  /** Track points with a note in their window's opening. */
  points: number;
  /** The anchored pitch within a semitone of the note heard, and the Pearson correlation of pitch and note. */
  pitchWithinSemitone: number | null;
  correlation: number | null;
  /** The linear probe's correlation with the note heard. */
  probeCorrelation: number;
}

export interface MusicEvalResult {
  /** Recorded instruments held out of training: HELD_OUT_PROGRAMS x the 19 keys F4..B5. */
  heldOut: MusicSetFigures & { programs: number[] };
  /** The own synthesiser, 8 instruments x the 19 keys (velocity 0.9, 1.5 s, as docs/training.md). */
  synth: MusicSetFigures;
  melodies: MelodyFigures[];
  seconds: number;
}

export interface MusicEvalOptions {
  notes: NotesManifest;
  soundfont?: Soundfont;
  /** Programs to evaluate (default HELD_OUT_PROGRAMS). */
  programs?: readonly number[];
  seed?: number | string;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** A sound to encode and what it is. */
interface Labelled {
  samples: Float32Array;
  midi: number;
  family: number;
  instrument?: string;
}

export async function evaluateMusic(model: TrackEncoder, opts: MusicEvalOptions): Promise<MusicEvalResult> {
  const t0 = performance.now();
  const soundfont = opts.soundfont ?? (await Soundfont.load());
  const programs = opts.programs ?? HELD_OUT_PROGRAMS;
  const { layout, manifest, probe } = pitchReadouts(model, opts.notes);
  const total = programs.length * KEYBOARD_NOTES.length + INSTRUMENTS.length * KEYBOARD_NOTES.length + 2;
  let done = 0;
  const tick = () => opts.onProgress?.(++done, total);

  const recorded: Labelled[] = [];
  for (const program of programs) {
    for (const midi of KEYBOARD_NOTES) {
      opts.signal?.throwIfAborted();
      recorded.push({ samples: await soundfont.render([{ program, midi, velocity: 90, start: 0, duration: 1 }], { seconds: 1.5 }), midi, family: familyOfProgram(program) });
    }
  }
  const heldOut = figures(model, recorded, manifest, probe, layout, tick);
  const synthSounds: Labelled[] = INSTRUMENTS.flatMap((instrument) =>
    KEYBOARD_NOTES.map((midi) => ({ samples: synthesize({ instrument, midi, velocity: 0.9, duration: 1.5, seed: 0 }), midi, family: SYNTH_FAMILY[instrument], instrument })),
  );
  const synth = figures(model, synthSounds, manifest, probe, layout, tick);

  const melodies: MelodyFigures[] = [];
  for (const program of [programs[programs.length > 17 ? 17 : 0]!, 40]) {
    opts.signal?.throwIfAborted();
    melodies.push(await melodyFigures(model, soundfont, program, probe, layout, new Rng(`${opts.seed ?? 0}/melody/${program}`), opts.threads));
    tick();
  }
  return { heldOut: { ...heldOut, programs: [...programs] }, synth, melodies, seconds: (performance.now() - t0) / 1000 };
}

/** The two pitch read-outs of a latent: the model's anchored dims (null without anchors) and a linear probe fitted on the manifest. */
function pitchReadouts(model: TrackEncoder, notes: NotesManifest): { layout: AnchorLayout | null; manifest: ManifestPoints; probe: Probe } {
  const manifest = manifestPoints(notes);
  return { layout: (model.config as { anchors?: AnchorLayout }).anchors ?? null, manifest, probe: fitProbe(manifest.latents, manifest.midis, model.config.latentDim) };
}

interface ManifestPoints {
  latents: Float32Array[];
  midis: number[];
  families: number[];
  instruments: string[];
}

function manifestPoints(m: NotesManifest): ManifestPoints {
  const out: ManifestPoints = { latents: [], midis: [], families: [], instruments: [] };
  for (const instrument of m.instruments) {
    const familyName = m.families?.[instrument] ?? (instrument in SYNTH_FAMILY ? GM_FAMILIES[SYNTH_FAMILY[instrument as keyof typeof SYNTH_FAMILY]] : undefined);
    const family = familyName === undefined ? -1 : (GM_FAMILIES as readonly string[]).indexOf(familyName);
    for (const note of m.notes) {
      const v = m.latents[instrument]?.[note];
      if (!v) continue;
      out.latents.push(Float32Array.from(v));
      out.midis.push(parseNote(note));
      out.families.push(family);
      out.instruments.push(instrument);
    }
  }
  return out;
}

function figures(model: TrackEncoder, sounds: readonly Labelled[], manifest: ManifestPoints, probe: Probe, layout: AnchorLayout | null, tick: () => void): MusicSetFigures {
  let within = 0, exact = 0, family = 0, instrument = 0, anchored = 0;
  const probed: number[] = [], truth: number[] = [];
  const perFamily: MusicSetFigures['perFamily'] = {};
  for (const s of sounds) {
    const { z } = encodeClip(model, s.samples, chooseWindow(s.samples, { duration: WINDOW_SECONDS }), ANALYSIS_RATE);
    const k = nearest(manifest.latents, z);
    const okPitch = Math.abs(manifest.midis[k]! - s.midi) <= 1;
    const okFamily = manifest.families[k] === s.family;
    within += Number(okPitch);
    exact += Number(manifest.midis[k] === s.midi);
    family += Number(okFamily);
    // the synthesiser's own instruments are in the manifest as synth-<name> (notes.ts) or, in older manifests, as <name>
    if (s.instrument !== undefined) instrument += Number(manifest.instruments[k] === `synth-${s.instrument}` || manifest.instruments[k] === s.instrument);
    if (layout) anchored += Number(Math.abs(decodePitch(z, layout) - s.midi) <= 1);
    probed.push(probe(z));
    truth.push(s.midi);
    const f = (perFamily[GM_FAMILIES[s.family]!] ??= { n: 0, family: 0, pitchWithinSemitone: 0 });
    f.n++;
    f.family += Number(okFamily);
    f.pitchWithinSemitone += Number(okPitch);
    tick();
  }
  const n = sounds.length;
  for (const f of Object.values(perFamily)) {
    f.family /= f.n;
    f.pitchWithinSemitone /= f.n;
  }
  return {
    n,
    pitchWithinSemitone: within / n,
    pitchExact: exact / n,
    family: family / n,
    ...(sounds.some((s) => s.instrument !== undefined) ? { instrument: instrument / n } : {}),
    anchoredPitchWithinSemitone: layout ? anchored / n : null,
    probeCorrelation: pearson(probed, truth),
    perFamily,
  };
}

/**
 * The melody figure on more melodies than `nca eval`'s two (bench/family/melodies.mjs): each program's melody for
 * each seed, drawn as evaluateMusic draws its own (`<seed>/melody/<program>`), so seed `opts.seed` of programs 68
 * and 40 gives the eval's figures.
 */
export async function evaluateMelodies(model: TrackEncoder, opts: { notes: NotesManifest; programs: readonly number[]; seeds: ReadonlyArray<number | string>; soundfont?: Soundfont; threads?: number; onProgress?: (done: number, total: number) => void }): Promise<Array<MelodyFigures & { seed: number | string }>> {
  const soundfont = opts.soundfont ?? (await Soundfont.load());
  const { layout, probe } = pitchReadouts(model, opts.notes);
  const out: Array<MelodyFigures & { seed: number | string }> = [];
  for (const program of opts.programs) {
    for (const seed of opts.seeds) {
      out.push({ ...(await melodyFigures(model, soundfont, program, probe, layout, new Rng(`${seed}/melody/${program}`), opts.threads)), seed });
      opts.onProgress?.(out.length, opts.programs.length * opts.seeds.length);
    }
  }
  return out;
}

/** A 16-s melody (a seeded walk over F4..B5, notes of 0.3-0.6 s) played by `program`, encoded as a track at 10 points per second. */
async function melodyFigures(model: TrackEncoder, soundfont: Soundfont, program: number, probe: Probe, layout: AnchorLayout | null, rng: Rng, threads?: number): Promise<MelodyFigures> {
  const events: NoteEvent[] = [];
  let t = 0.5, midi = 74;
  while (t < 15.5) {
    const duration = 0.3 + 0.3 * rng.uniform();
    events.push({ program, midi, velocity: 80 + rng.int(30), start: t, duration: duration * 0.95 });
    t += duration;
    midi = Math.max(KEYBOARD_NOTES[0]!, Math.min(KEYBOARD_NOTES[KEYBOARD_NOTES.length - 1]!, midi + rng.int(9) - 4));
  }
  const seconds = 16.5;
  const samples = await soundfont.render(events, { seconds });
  const fps = 10;
  const track = await encodeTrack(model, samples, { fps, threads });
  // track point i encodes the window starting at i / fps - 1 s; its circles come from that window's opening (docs/design.md#training-data)
  const heard = (p: number): number | null => {
    const at = p / fps - WINDOW_SECONDS / 2 + 0.09;
    const e = events.find((ev) => ev.start <= at && at < ev.start + ev.duration);
    return e ? e.midi : null;
  };
  const decoded: number[] = [], probed: number[] = [], truth: number[] = [];
  let within = 0;
  track.forEach((point, i) => {
    const m = heard(i);
    if (m === null) return;
    truth.push(m);
    probed.push(probe(point.z));
    if (layout) {
      const d = decodePitch(point.z, layout);
      decoded.push(d);
      within += Number(Math.abs(d - m) <= 1);
    }
  });
  return {
    program,
    seconds,
    points: truth.length,
    pitchWithinSemitone: layout ? within / Math.max(1, truth.length) : null,
    correlation: layout ? pearson(decoded, truth) : null,
    probeCorrelation: pearson(probed, truth),
  };
}

function nearest(points: readonly Float32Array[], z: Float32Array): number {
  let best = 0, bestD = Infinity;
  points.forEach((p, k) => {
    let d = 0;
    for (let i = 0; i < z.length; i++) d += (p[i]! - z[i]!) ** 2;
    if (d < bestD) [best, bestD] = [k, d];
  });
  return best;
}

type Probe = (z: Float32Array) => number;

/** Ridge regression (lambda 1) from latents to MIDI numbers, solved by Gaussian elimination on the normal equations. */
function fitProbe(latents: readonly Float32Array[], midis: readonly number[], dim: number): Probe {
  const n = latents.length, d = dim + 1;
  const a = Array.from({ length: d }, () => new Float64Array(d + 1));
  const mean = midis.reduce((s, m) => s + m, 0) / Math.max(1, n);
  for (let k = 0; k < n; k++) {
    const x = [...latents[k]!, 1];
    const y = midis[k]! - mean;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) a[i]![j]! += x[i]! * x[j]!;
      a[i]![d]! += x[i]! * y;
    }
  }
  for (let i = 0; i < dim; i++) a[i]![i]! += 1;
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const pivot = a[c]![c]! || 1e-12;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = a[r]![c]! / pivot;
      for (let j = c; j <= d; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  const w = a.map((row, i) => row[d]! / (row[i]! || 1e-12));
  return (z) => {
    let s = mean + w[dim]!;
    for (let i = 0; i < dim; i++) s += w[i]! * z[i]!;
    return s;
  };
}
