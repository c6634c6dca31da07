/**
 * Songs composed by code, for measuring music videos (docs/music-video.md#songs): drums on the GM
 * percussion channel, bass, chords and a melody, in sections whose density and loudness change (intro,
 * verse, chorus, break), rendered by a SoundFont (soundfont.ts; the default TimGM6mb).
 *
 * Sections are 4 bars (2 in the ballad). Styles (tempo range, instruments as GM programs):
 * - rock: 100-130 bpm, kick / snare / closed hat in eighths, crash on section starts; fingered bass (33),
 *   overdriven guitar power chords (29), lead guitar (30) in the chorus;
 * - jazz: 120-160 bpm swung, ride cymbal and brushed snare, walking acoustic bass (32), piano comping (0)
 *   on ii-V-I changes, tenor sax melody (66);
 * - electronic: 120-128 bpm four on the floor, open hats on the off-beats, claps, synth bass (38), pad (89),
 *   saw lead (81), a break without drums;
 * - ballad: 66-80 bpm, piano (0) arpeggios, strings (48), soft kick and rim, a flute melody (73).
 * Deterministic for a seed.
 */
import { UserError, invalidParameterError, requireInt, requireNumber } from '../errors.js';
import { Rng } from '../rng.js';
import type { BasicMIDI } from 'spessasynth_core';
import type { NoteEvent, Soundfont } from './soundfont.js';

export type SongStyle = 'rock' | 'jazz' | 'electronic' | 'ballad';
export const SONG_STYLES: readonly SongStyle[] = ['rock', 'jazz', 'electronic', 'ballad'];

export interface SongSpec {
  style: SongStyle;
  /** Seconds, 4..600 (default 30). */
  seconds?: number;
  seed?: number;
}

export interface Song {
  style: SongStyle;
  tempo: number;
  seconds: number;
  events: NoteEvent[];
  /** Section starts in seconds and their names. */
  sections: Array<{ start: number; name: string }>;
}

interface Section {
  name: 'intro' | 'verse' | 'chorus' | 'break';
  /** 0..1: velocity scale and how many parts play. */
  level: number;
}

// GM percussion keys
const KICK = 36, SNARE = 38, RIM = 37, CLAP = 39, HAT = 42, OPEN_HAT = 46, CRASH = 49, RIDE = 51;

/** Chord progressions per style: root offsets from the key and chord qualities (semitones above the root). */
const PROGRESSIONS: Record<SongStyle, Array<[number, number[]]>> = {
  rock: [[0, [0, 7, 12]], [-2, [0, 7, 12]], [5, [0, 7, 12]], [0, [0, 7, 12]]],
  jazz: [[2, [0, 3, 7, 10]], [7, [0, 4, 7, 10]], [0, [0, 4, 7, 11]], [9, [0, 3, 7, 10]]],
  electronic: [[0, [0, 3, 7]], [-4, [0, 4, 7]], [-7, [0, 4, 7]], [-2, [0, 4, 7]]],
  ballad: [[0, [0, 4, 7]], [7, [0, 4, 7]], [9, [0, 3, 7]], [5, [0, 4, 7]]],
};
const TEMPI: Record<SongStyle, [number, number]> = { rock: [100, 130], jazz: [120, 160], electronic: [120, 128], ballad: [66, 80] };
const SCALES: Record<SongStyle, number[]> = {
  rock: [0, 3, 5, 7, 10], jazz: [0, 2, 3, 5, 7, 9, 10], electronic: [0, 2, 3, 5, 7, 8, 10], ballad: [0, 2, 4, 7, 9],
};

/** Composes a song (see the module comment). */
export function composeSong(spec: SongSpec): Song {
  if (typeof spec !== 'object' || spec === null) throw invalidParameterError('song', '{ style, seconds?, seed? }', spec);
  if (!SONG_STYLES.includes(spec.style)) throw invalidParameterError('style', `one of ${SONG_STYLES.join(', ')}`, spec.style);
  const seconds = requireNumber('seconds', spec.seconds ?? 30, 4, 600);
  const rng = new Rng(requireInt('seed', spec.seed ?? 0, 0, 2 ** 32 - 1) ^ hashStyle(spec.style));
  const style = spec.style;
  const [tLo, tHi] = TEMPI[style];
  const tempo = Math.round(tLo + rng.uniform() * (tHi - tLo));
  const beat = 60 / tempo;
  const bar = 4 * beat;
  const key = 40 + rng.int(8); // E2..B2 for the bass
  const events: NoteEvent[] = [];
  const add = (e: NoteEvent) => {
    if (e.start < seconds) events.push({ ...e, velocity: Math.max(1, Math.min(127, Math.round(e.velocity))), duration: Math.min(e.duration, seconds - e.start + 0.01) });
  };
  // Sections of 4 bars (2 for the slow ballad): intro, verse, chorus, break, verse, chorus ...
  const sectionBars = style === 'ballad' ? 2 : 4;
  const plan: Section[] = [{ name: 'intro', level: 0.45 }];
  const cycle: Section[] = [{ name: 'verse', level: 0.7 }, { name: 'chorus', level: 1 }, { name: 'break', level: 0.35 }, { name: 'verse', level: 0.7 }, { name: 'chorus', level: 1 }];
  const bars = Math.ceil(seconds / bar);
  while (plan.length * sectionBars < bars) plan.push(cycle[(plan.length - 1) % cycle.length]!);
  const sections = plan.map((s, i) => ({ start: i * sectionBars * bar, name: s.name }));
  const scale = SCALES[style];
  const swing = style === 'jazz' ? 0.62 : 0.5; // the off-beat eighth's place in the beat

  let melodyNote = 0; // scale degree
  for (let b = 0; b < bars; b++) {
    const section = plan[Math.floor(b / sectionBars)]!;
    const L = section.level;
    const t0 = b * bar;
    const [rootOff, quality] = PROGRESSIONS[style][b % 4]!;
    const root = key + rootOff;
    const vel = (v: number) => v * (0.55 + 0.45 * L) * (0.92 + 0.16 * rng.uniform());
    const drums = section.name !== 'break' || style === 'ballad';
    const eighth = (k: number) => t0 + Math.floor(k / 2) * beat + (k % 2 ? swing * beat : 0);

    // drums
    if (drums && !(section.name === 'intro' && style === 'ballad')) {
      if (b % sectionBars === 0 && section.name === 'chorus') add({ program: 0, midi: CRASH, velocity: vel(110), start: t0, duration: 1, drum: true });
      for (let k = 0; k < 8; k++) {
        const t = eighth(k);
        if (style === 'electronic') {
          if (k % 2 === 0) add({ program: 0, midi: KICK, velocity: vel(120), start: t, duration: 0.2, drum: true });
          else if (section.name !== 'intro') add({ program: 0, midi: OPEN_HAT, velocity: vel(80), start: t, duration: 0.15, drum: true });
          if ((k === 2 || k === 6) && section.name !== 'intro') add({ program: 0, midi: CLAP, velocity: vel(105), start: t, duration: 0.2, drum: true });
        } else if (style === 'jazz') {
          if (k % 2 === 0 || k === 3 || k === 7) add({ program: 0, midi: RIDE, velocity: vel(k % 4 === 3 ? 70 : 85), start: t, duration: 0.3, drum: true });
          if (k === 2 || k === 6) add({ program: 0, midi: HAT, velocity: vel(60), start: t, duration: 0.1, drum: true });
          if (rng.uniform() < 0.15 * L) add({ program: 0, midi: SNARE, velocity: vel(70), start: t, duration: 0.1, drum: true });
          if (k === 0 && rng.uniform() < 0.5) add({ program: 0, midi: KICK, velocity: vel(75), start: t, duration: 0.1, drum: true });
        } else if (style === 'rock') {
          add({ program: 0, midi: HAT, velocity: vel(k % 2 ? 70 : 90), start: t, duration: 0.1, drum: true });
          if (k === 0 || k === 5 || (k === 4 && rng.uniform() < 0.4)) add({ program: 0, midi: KICK, velocity: vel(118), start: t, duration: 0.2, drum: true });
          if (k === 2 || k === 6) add({ program: 0, midi: SNARE, velocity: vel(115), start: t, duration: 0.2, drum: true });
        } else {
          if (k === 0 || k === 5) add({ program: 0, midi: KICK, velocity: vel(85), start: t, duration: 0.2, drum: true });
          if (k === 4) add({ program: 0, midi: RIM, velocity: vel(70), start: t, duration: 0.1, drum: true });
        }
      }
    }

    // bass
    const bassProgram = style === 'rock' ? 33 : style === 'jazz' ? 32 : style === 'electronic' ? 38 : 32;
    if (style === 'jazz') {
      for (let q = 0; q < 4; q++) {
        const step = q === 0 ? 0 : [quality[1]!, quality[2]!, q === 3 ? 11 : quality[3]!][q - 1]!;
        add({ program: bassProgram, midi: root + step, velocity: vel(95), start: t0 + q * beat, duration: beat * 0.9 });
      }
    } else if (style === 'electronic') {
      for (let k = 0; k < 8; k++) if (k % 2 === 1 || section.name === 'chorus') add({ program: bassProgram, midi: root + (k === 7 ? 12 : 0), velocity: vel(100), start: eighth(k), duration: beat * 0.4 });
    } else if (style === 'rock') {
      if (section.name !== 'intro') for (let k = 0; k < 8; k++) add({ program: bassProgram, midi: root, velocity: vel(100), start: eighth(k), duration: beat * 0.45 });
    } else {
      add({ program: bassProgram, midi: root, velocity: vel(80), start: t0, duration: bar * 0.95 });
    }

    // chords
    const chordRoot = root + 12 + (style === 'rock' ? 0 : 12);
    if (style === 'rock') {
      const program = 29;
      const hits = section.name === 'chorus' ? [0, 1, 2, 3, 4, 5, 6, 7] : section.name === 'break' ? [0] : [0, 3, 6];
      for (const k of hits) for (const q of quality) add({ program, midi: chordRoot + q, velocity: vel(95), start: eighth(k), duration: section.name === 'break' ? bar : beat * 0.5 });
    } else if (style === 'jazz') {
      const hits = [0, 3, 5].filter(() => rng.uniform() < 0.5 + 0.4 * L);
      for (const k of hits) for (const q of quality) add({ program: 0, midi: chordRoot + q, velocity: vel(72), start: eighth(k), duration: beat * 0.6 });
    } else if (style === 'electronic') {
      for (const q of quality) add({ program: 89, midi: chordRoot + q, velocity: vel(70), start: t0, duration: bar });
    } else {
      for (let k = 0; k < 8; k++) add({ program: 0, midi: chordRoot + quality[k % quality.length]! + (k >= 4 ? 12 : 0), velocity: vel(70), start: eighth(k), duration: beat * 1.5 });
      if (section.name !== 'intro') for (const q of quality) add({ program: 48, midi: chordRoot + q - 12, velocity: vel(65), start: t0, duration: bar });
    }

    // melody: a random walk on the scale, higher and denser in the chorus
    if (section.name === 'intro') continue;
    const program = style === 'rock' ? 30 : style === 'jazz' ? 66 : style === 'electronic' ? 81 : 73;
    if (style === 'rock' && section.name === 'verse') continue;
    const base = key + 24 + (section.name === 'chorus' ? 12 : 0);
    for (let k = 0; k < 8; k++) {
      if (rng.uniform() > (section.name === 'chorus' ? 0.75 : 0.45)) continue;
      melodyNote = Math.max(0, Math.min(2 * scale.length, melodyNote + rng.int(5) - 2));
      const midi = base + 12 * Math.floor(melodyNote / scale.length) + scale[melodyNote % scale.length]!;
      add({ program, midi, velocity: vel(100), start: eighth(k), duration: beat * (0.4 + rng.uniform() * 0.8) });
    }
  }
  return { style, tempo, seconds, events, sections };
}

/** Composes and renders a song through a soundfont: mono samples at `sampleRate` (default 22050), `seconds` long. */
export async function renderSong(soundfont: Soundfont, spec: SongSpec, sampleRate = 22050): Promise<{ song: Song; samples: Float32Array }> {
  const song = composeSong(spec);
  const samples = await soundfont.render(song.events, { sampleRate, seconds: song.seconds });
  return { song, samples };
}

function hashStyle(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A Standard MIDI File (type 0 or 1) parsed by spessasynth; a file that is not MIDI, or holds no notes, is a UserError. */
export async function parseMidiFile(bytes: Uint8Array, source = 'the MIDI file'): Promise<BasicMIDI> {
  const { BasicMIDI } = await import('spessasynth_core');
  let midi: BasicMIDI;
  try {
    midi = BasicMIDI.fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  } catch (e) {
    const why = String((e as Error).message ?? 'unreadable').replace(/[^\x20-\x7e]+/g, ' ').trim();
    throw new UserError(`${source} is not a Standard MIDI File nca can read (${why}); give a .mid file`);
  }
  const hasNote = midi.tracks.some((t) => t.events.some((e) => (e.statusByte & 0xf0) === 0x90 && (e.data[1] ?? 0) > 0));
  if (!hasNote) throw new UserError(`${source} holds no notes; give a MIDI file with note events`);
  return midi;
}

/** A parsed MIDI file's length in seconds from its first note to its last event (what Soundfont.renderMidi plays). */
export function midiSeconds(midi: BasicMIDI): number {
  return midi.duration - midi.midiTicksToSeconds(midi.firstNoteOn);
}

/**
 * The notes of a Standard MIDI File (type 0 or 1) as note events for a soundfont: note times from
 * spessasynth's reader (tempo changes applied), each channel's first program change as its program (0
 * when none), channel 10 as drums. Controllers (the sustain pedal, volume) are not notes and are left
 * out: Soundfont.renderMidi plays a file with all of them. A file that is not MIDI is a UserError.
 */
export async function midiFileEvents(bytes: Uint8Array, source = 'the MIDI file'): Promise<NoteEvent[]> {
  const midi = await parseMidiFile(bytes, source);
  const programs = new Array<number>(16).fill(-1);
  for (const track of midi.tracks) {
    for (const ev of track.events) {
      if ((ev.statusByte & 0xf0) === 0xc0 && programs[ev.statusByte & 0x0f] === -1) programs[ev.statusByte & 0x0f] = ev.data[0]! & 0x7f;
    }
  }
  const events: NoteEvent[] = [];
  midi.getNoteTimes(0.05).forEach((notes, channel) => {
    for (const n of notes) {
      if (!(n.length > 0) || n.velocity < 1) continue;
      events.push({ program: Math.max(0, programs[channel % 16]!), midi: n.midiNote, velocity: Math.min(127, n.velocity), start: n.start, duration: n.length, drum: channel % 16 === 9 });
    }
  });
  if (events.length === 0) throw new UserError(`${source} holds no notes; give a MIDI file with note events`);
  return events.sort((a, b) => a.start - b.start);
}
