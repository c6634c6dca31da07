/**
 * Gravis UltraSound patches (.pat, "GF1PATCH110"): the format of the FreePats General-MIDI set (npm `freepats`,
 * GPL-2, one file per program), read and played as a simple sampler, so that a second recorded General-MIDI set
 * can stand beside the soundfont (docs/audio.md#a-second-recorded-set-freepats).
 *
 * Layout (little-endian; the offsets libtimidity reads): a 129-byte file header ("GF1PATCH110\0" or
 * "GF1PATCH100\0", "ID#000002\0", a 60-byte description, the instrument count at byte 82), a 63-byte instrument
 * header, a 47-byte layer header (its sample count at byte 198), then per sample a 96-byte header and its data:
 *
 * | bytes | field |
 * |---|---|
 * | 0-6, 7 | name, loop fractions (low nibble: start, high nibble: end, in 1/16 of a sample) |
 * | 8, 12, 16 | data size, loop start, loop end (bytes) |
 * | 20 | sample rate (Hz, uint16) |
 * | 22, 26, 30 | lowest, highest and root frequency (milli-Hz) |
 * | 37-42, 43-48 | envelope rates and offsets, 6 stages (0-2 attack/decay/sustain, 3-5 release) |
 * | 55 | modes: 1 16-bit, 2 unsigned, 4 looping, 8 ping-pong, 16 reverse, 32 sustain, 64 envelope |
 *
 * Playing (`renderPatchNote`) follows libtimidity where it matters for the sound: the sample whose frequency
 * range holds the note (else the nearest root), resampled linearly, looped while the envelope lasts; the
 * envelope's rates and offsets converted as libtimidity does (a rate byte: 6 bits of mantissa shifted by 9, 6, 3
 * or 0 by its top two bits; full scale 255 offset units), held at stage 2 while the key is down when the sustain
 * mode is set, and mapped to amplitude on a 48-dB exponential curve. Vibrato, tremolo, balance and the
 * frequency-scaling fields (drum kits) are not played.
 */
import { UserError } from '../errors.js';

export interface PatchSample {
  /** The wave, -1..1. */
  data: Float32Array;
  sampleRate: number;
  /** The frequency range this sample serves (Hz) and the pitch it was recorded at. */
  lowHz: number;
  highHz: number;
  rootHz: number;
  /** Loop points in samples (fractional), used when `looping`. */
  loopStart: number;
  loopEnd: number;
  looping: boolean;
  pingPong: boolean;
  sustain: boolean;
  envelope: boolean;
  /** Six stages: rate (offset units per millisecond) and target offset (0..255). */
  envelopeRates: number[];
  envelopeOffsets: number[];
}

export interface GusPatch {
  description: string;
  samples: PatchSample[];
}

const FILE_HEADER = 129, INSTRUMENT_HEADER = 63, LAYER_HEADER = 47, SAMPLE_HEADER = 96;
const MODE_16BIT = 1, MODE_UNSIGNED = 2, MODE_LOOPING = 4, MODE_PINGPONG = 8, MODE_REVERSE = 16, MODE_SUSTAIN = 32, MODE_ENVELOPE = 64;

/** libtimidity's envelope rate byte as offset units (0..255) per millisecond (its 44.1-kHz, 1-ms control scale). */
export function envelopeRate(byte: number): number {
  const shift = 3 * (3 - ((byte >> 6) & 3));
  // libtimidity: ((mantissa << shift) * 44100 / rate) * control_ratio << 9 volume units per control tick of
  // control_ratio = rate / 1000 samples, against a full scale of 255 << 22: (mantissa << shift) * 44100 * 512 /
  // 1000 / 2^22 * 255 / 255 offset units per millisecond
  return (((byte & 0x3f) << shift) * 44100 * 512) / 1000 / 2 ** 22;
}

/** Reads a .pat file; `name` is the file's name for the errors. */
export function parseGusPatch(bytes: Uint8Array, name = 'patch'): GusPatch {
  const bad = (what: string) => new UserError(`${name} is not a GUS patch (${what}); expected a .pat file such as those of the freepats package`);
  if (bytes.length < FILE_HEADER + INSTRUMENT_HEADER + LAYER_HEADER) throw bad(`${bytes.length} bytes`);
  const text = (at: number, n: number) => String.fromCharCode(...bytes.subarray(at, at + n)).replace(/\0.*$/s, '');
  const magic = text(0, 12);
  if (magic !== 'GF1PATCH110' && magic !== 'GF1PATCH100') throw bad(`it starts with ${JSON.stringify(magic.slice(0, 11))}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const description = text(22, 60).trim();
  const count = bytes[198]!;
  const samples: PatchSample[] = [];
  let at = FILE_HEADER + INSTRUMENT_HEADER + LAYER_HEADER;
  for (let s = 0; s < count; s++) {
    if (at + SAMPLE_HEADER > bytes.length) throw bad(`sample ${s} of ${count} is cut off`);
    const fractions = bytes[at + 7]!;
    const size = view.getUint32(at + 8, true);
    const modes = bytes[at + 55]!;
    const wide = (modes & MODE_16BIT) !== 0, unsigned = (modes & MODE_UNSIGNED) !== 0;
    const width = wide ? 2 : 1;
    const dataAt = at + SAMPLE_HEADER;
    if (dataAt + size > bytes.length) throw bad(`sample ${s}'s data is cut off`);
    const n = Math.floor(size / width), data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (wide) data[i] = unsigned ? (view.getUint16(dataAt + 2 * i, true) - 32768) / 32768 : view.getInt16(dataAt + 2 * i, true) / 32768;
      else data[i] = unsigned ? (bytes[dataAt + i]! - 128) / 128 : view.getInt8(dataAt + i) / 128;
    }
    const reversed = (modes & MODE_REVERSE) !== 0;
    if (reversed) data.reverse();
    const rates: number[] = [], offsets: number[] = [];
    for (let k = 0; k < 6; k++) {
      rates.push(envelopeRate(bytes[at + 37 + k]!));
      offsets.push(bytes[at + 43 + k]!);
    }
    samples.push({
      data,
      sampleRate: view.getUint16(at + 20, true),
      lowHz: view.getUint32(at + 22, true) / 1000,
      highHz: view.getUint32(at + 26, true) / 1000,
      rootHz: view.getUint32(at + 30, true) / 1000,
      // reversed data: the loop points mirrored with it
      ...loopPoints(view.getUint32(at + 12, true) / width + (fractions & 15) / 16, view.getUint32(at + 16, true) / width + (fractions >> 4) / 16, reversed ? n : 0),
      looping: (modes & MODE_LOOPING) !== 0,
      pingPong: (modes & MODE_PINGPONG) !== 0,
      sustain: (modes & MODE_SUSTAIN) !== 0,
      envelope: (modes & MODE_ENVELOPE) !== 0,
      envelopeRates: rates,
      envelopeOffsets: offsets,
    });
    at = dataAt + size;
  }
  if (samples.length === 0) throw bad('no samples');
  return { description, samples };
}

/** Loop points in samples; with `mirrorLength` (the sample's length, when its data was reversed) mirrored. */
function loopPoints(start: number, end: number, mirrorLength: number): { loopStart: number; loopEnd: number } {
  return mirrorLength > 0 ? { loopStart: mirrorLength - end, loopEnd: mirrorLength - start } : { loopStart: start, loopEnd: end };
}

/** The sample that plays frequency `hz`: the first whose range holds it, else the one with the nearest root. */
export function sampleFor(patch: GusPatch, hz: number): PatchSample {
  const inRange = patch.samples.find((s) => hz >= s.lowHz && hz <= s.highHz);
  if (inRange) return inRange;
  let best = patch.samples[0]!;
  for (const s of patch.samples) if (Math.abs(Math.log(hz / s.rootHz)) < Math.abs(Math.log(hz / best.rootHz))) best = s;
  return best;
}

export interface PatchNote {
  midi: number;
  /** MIDI velocity 1..127 (amplitude (velocity / 127)^2, as General-MIDI synthesisers scale it). */
  velocity: number;
  /** Seconds the key is held. */
  duration: number;
}

/** Amplitude of an envelope offset 0..255: 48 dB from offset 0 to 255 (0 at 0). */
function envelopeAmplitude(offset: number): number {
  return offset <= 0 ? 0 : 2 ** (8 * (offset / 255 - 1));
}

/**
 * One note of `patch`, `seconds` long at `outRate` Hz (the key held `note.duration` s, then released), added
 * into `out` (length `seconds * outRate`) from sample `start`. Returns `out`.
 */
export function renderPatchNote(patch: GusPatch, note: PatchNote, outRate: number, out: Float32Array, start = 0): Float32Array {
  if (!(note.midi >= 0 && note.midi <= 127)) throw new UserError(`note ${note.midi} is not a MIDI note number 0..127`);
  const hz = 440 * 2 ** ((note.midi - 69) / 12);
  const s = sampleFor(patch, hz);
  const step = (hz / s.rootHz) * (s.sampleRate / outRate);
  const gain = (Math.max(1, Math.min(127, note.velocity)) / 127) ** 2;
  const releaseAt = start + Math.round(note.duration * outRate);
  const msPerSample = 1000 / outRate;
  const loopLength = s.loopEnd - s.loopStart;
  const loops = s.looping && loopLength >= 1;
  const n = s.data.length;
  let pos = 0, dir = 1;
  // envelope: offset units, stage 0..5 (6 = finished); without the envelope mode: full level, a 10-ms fade at release
  let level = 0, stage = 0;
  const targets = s.envelopeOffsets, perSample = s.envelopeRates.map((r) => Math.max(r, 1e-3) * msPerSample);
  for (let t = start; t < out.length; t++) {
    const released = t >= releaseAt;
    if (s.envelope) {
      if (released && stage < 3) stage = 3;
      const target = targets[stage]!, rate = perSample[stage]!;
      if (level < target) level = Math.min(target, level + rate);
      else level = Math.max(target, level - rate);
      // a sustained patch holds stage 2's level while the key is down
      if (level === target && !(stage === 2 && s.sustain && !released)) stage++;
      if (stage >= 6) break; // the envelope ran out: libtimidity frees the voice, whatever its last offset
    } else {
      level = released ? Math.max(0, level - 255 * msPerSample / 10) : 255;
      if (released && level <= 0) break;
    }
    const i = Math.floor(pos), f = pos - i;
    if (i >= n) break;
    // the sample after the last one: the loop's start when looping (a loop may end between the last two samples)
    const next = i + 1 < n ? s.data[i + 1]! : loops ? s.data[Math.floor(s.loopStart)]! : 0;
    out[t] = out[t]! + gain * envelopeAmplitude(level) * (s.data[i]! * (1 - f) + next * f);
    pos += dir * step;
    if (loops) {
      if (s.pingPong) {
        if (dir > 0 && pos >= s.loopEnd) { pos = 2 * s.loopEnd - pos; dir = -1; }
        else if (dir < 0 && pos <= s.loopStart) { pos = 2 * s.loopStart - pos; dir = 1; }
      } else if (pos >= s.loopEnd) pos -= loopLength;
    }
  }
  return out;
}

export const PATCH_MODES = { MODE_16BIT, MODE_UNSIGNED, MODE_LOOPING, MODE_PINGPONG, MODE_REVERSE, MODE_SUSTAIN, MODE_ENVELOPE } as const;
