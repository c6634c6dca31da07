import { basename } from 'node:path';
import { UserError } from '../errors.js';
import { readInput } from '../io/read.js';
import { resample } from './resample.js';
import { ANALYSIS_RATE } from './spectrogram.js';

/**
 * WAV decoding: RIFF / RIFX / RF64 containers, PCM 8/16/24/32-bit (and 12/20-bit in wider
 * containers), IEEE float 32/64, A-law, mu-law, IMA ADPCM, WAVE_FORMAT_EXTENSIBLE, any number of
 * channels (mixed to mono by averaging) and any rate (resampled, by default to 22050 Hz).
 *
 * The container is walked chunk by chunk here (not by wavefile, whose sample conversion is slow
 * and which does not report truncated data), so odd layouts work: `fmt ` after `data`, unknown
 * chunks anywhere, odd-sized chunks with or without their pad byte. Samples are converted straight
 * from the data bytes with typed arrays.
 */

/** The most channels nca reads from a WAV file (mixed to mono); the format allows 65535. */
export const MAX_WAV_CHANNELS = 256;

export interface WavSourceInfo {
  /** Container: 'RIFF', 'RIFX' (big-endian) or 'RF64'. */
  container: 'RIFF' | 'RIFX' | 'RF64';
  /** Codec name, e.g. 'PCM', 'IEEE float', 'A-law', 'mu-law', 'IMA ADPCM'. */
  codec: string;
  /** The format tag (the sub-format's for WAVE_FORMAT_EXTENSIBLE). */
  formatTag: number;
  extensible: boolean;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Sample frames decoded (per channel). */
  frames: number;
  durationSeconds: number;
}

export interface DecodedAudio {
  /** Mono samples in [-1, 1] (float; not clipped), at `sampleRate`. */
  samples: Float32Array;
  sampleRate: number;
  source: WavSourceInfo;
  /** Problems that did not stop decoding (e.g. truncated data), one line each. */
  warnings: string[];
}

export interface DecodeOptions {
  /** Name used in messages (a file name). Default 'input'. */
  name?: string;
  /** Output rate in Hz, or null to keep the file's rate. Default 22050. */
  targetRate?: number | null;
  /**
   * Refuse truncated data and non-finite float samples (NaN, infinity) instead of decoding with a
   * warning (what is there; non-finite samples as 0). Default false.
   */
  strict?: boolean;
}

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_ALAW = 0x0006;
const FORMAT_MULAW = 0x0007;
const FORMAT_IMA_ADPCM = 0x0011;
const FORMAT_EXTENSIBLE = 0xfffe;

/** Names of codecs nca does not decode, for the error message. */
const UNSUPPORTED_CODECS: Record<number, string> = {
  0x0002: 'MS ADPCM',
  0x0010: 'OKI ADPCM',
  0x0020: 'Yamaha ADPCM',
  0x0022: 'DSP Group TrueSpeech',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0042: 'G.723.1',
  0x0045: 'G.726 ADPCM',
  0x0050: 'MPEG audio',
  0x0055: 'MP3 (MPEG Layer III)',
  0x0064: 'G.726 ADPCM',
  0x0065: 'G.722 ADPCM',
  0x00ff: 'AAC',
  0x0160: 'WMA v1',
  0x0161: 'WMA',
  0x0162: 'WMA Pro',
  0x0163: 'WMA Lossless',
  0x1610: 'HE-AAC',
  0x2000: 'Dolby AC-3',
  0x2001: 'DTS',
  0xf1ac: 'FLAC',
};

const CONVERT_HINT = 'convert it to 16-bit PCM WAV first (e.g. ffmpeg -i in.wav -c:a pcm_s16le out.wav)';

/** Read and decode a WAV file (see decodeWav); the file must be a regular file within the WAV input limit. */
export async function readWav(path: string, opts: Omit<DecodeOptions, 'name'> = {}): Promise<DecodedAudio> {
  const bytes = await readInput(path, 'WAV file', 'wav');
  return decodeWav(bytes, { ...opts, name: path });
}

/** Recognise common non-WAV files by their first bytes, for a helpful message. */
function sniffFormat(b: Uint8Array): string | null {
  const ascii = (o: number, n: number): string => String.fromCharCode(...b.subarray(o, o + n));
  if (b.length >= 3 && ascii(0, 3) === 'ID3') return 'an MP3 file';
  if (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0) return 'an MP3/AAC stream';
  if (b.length >= 4 && ascii(0, 4) === 'fLaC') return 'a FLAC file';
  if (b.length >= 4 && ascii(0, 4) === 'OggS') return 'an Ogg file';
  if (b.length >= 12 && ascii(0, 4) === 'FORM' && (ascii(8, 4) === 'AIFF' || ascii(8, 4) === 'AIFC')) return 'an AIFF file';
  if (b.length >= 8 && ascii(4, 4) === 'ftyp') return 'an MP4/M4A file';
  if (b.length >= 4 && ascii(0, 4) === 'caff') return 'a Core Audio (CAF) file';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 4) !== 'WAVE') return `a RIFF '${ascii(8, 4)}' file`;
  return null;
}

interface FmtChunk {
  formatTag: number;
  extensible: boolean;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
  validBits: number;
  samplesPerBlock: number;
}

/** Chunk ids seen in WAV files, to tell a missing pad byte from a real chunk. */
const KNOWN_CHUNKS = new Set(['fmt ', 'data', 'LIST', 'fact', 'cue ', 'smpl', 'bext', 'id3 ', 'ID3 ', 'JUNK', 'junk', 'PAD ', 'inst', 'acid', 'iXML', 'plst', 'labl', 'note', 'ltxt', 'DISP', 'PEAK', 'ds64', 'umid', 'axml', '_PMX', 'cart', 'levl', 'FLLR']);

const isChunkId = (b: Uint8Array, o: number): boolean => {
  if (o + 4 > b.length) return false;
  for (let i = 0; i < 4; i++) {
    const c = b[o + i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
};

/**
 * Decode WAV bytes to mono float samples at `targetRate` (default 22050 Hz).
 * Throws UserError for anything that is not a decodable WAV; returns warnings for truncated data.
 */
export function decodeWav(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedAudio {
  const name = opts.name ? basename(opts.name) : 'input';
  const targetRate = opts.targetRate === undefined ? ANALYSIS_RATE : opts.targetRate;
  const warnings: string[] = [];
  if (bytes.length === 0) throw new UserError(`${name} is empty (0 bytes); give a WAV file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (o: number): string => String.fromCharCode(bytes[o]!, bytes[o + 1]!, bytes[o + 2]!, bytes[o + 3]!);
  const magic = bytes.length >= 4 ? ascii(0) : '';
  if (bytes.length < 12 || !['RIFF', 'RIFX', 'RF64'].includes(magic) || ascii(8) !== 'WAVE') {
    const other = sniffFormat(bytes);
    if (other) throw new UserError(`${name} is ${other}, not a WAV file; ${CONVERT_HINT.replace('in.wav', name)}`);
    if (bytes.length < 12 && ['RIFF', 'RIFX', 'RF64'].includes(magic)) throw new UserError(`${name} is cut short (${bytes.length} bytes): not a complete WAV file`);
    throw new UserError(`${name} is not a WAV file (it does not start with a RIFF/WAVE header)`);
  }
  const container = magic as 'RIFF' | 'RIFX' | 'RF64';
  const little = container !== 'RIFX';
  const u32 = (o: number): number => view.getUint32(o, little);

  // --- walk the chunks
  let fmt: FmtChunk | null = null;
  let dataOffset = -1;
  let dataDeclared = 0;
  let rf64DataSize: number | null = null;
  let factFrames: number | null = null; // frames per channel, for compressed formats
  let offset = 12;
  let padded = false; // whether the previous chunk was odd-sized (a pad byte may or may not follow)
  while (offset + 8 <= bytes.length) {
    if (padded && !KNOWN_CHUNKS.has(ascii(offset)) && KNOWN_CHUNKS.has(ascii(offset - 1))) {
      offset -= 1; // the writer left out the pad byte after an odd-sized chunk
    } else if (!isChunkId(bytes, offset)) {
      if (padded && isChunkId(bytes, offset - 1)) offset -= 1;
      else break; // trailing garbage
    }
    const id = ascii(offset);
    const size = u32(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') fmt = parseFmt(view, body, Math.min(size, bytes.length - body), little, name);
    else if (id === 'fact' && size >= 4 && body + 4 <= bytes.length) factFrames = u32(body);
    else if (id === 'ds64' && container === 'RF64' && body + 16 <= bytes.length) {
      rf64DataSize = view.getUint32(body + 8, true) + view.getUint32(body + 12, true) * 2 ** 32;
    } else if (id === 'data' && dataOffset < 0) {
      dataOffset = body;
      dataDeclared = container === 'RF64' && size === 0xffffffff && rf64DataSize !== null ? rf64DataSize : size;
      if (size === 0xffffffff && container !== 'RF64') dataDeclared = bytes.length - body; // streamed, length unknown
      // A streamed recording whose size was never filled in: size 0 but samples follow (not another chunk).
      const rest = bytes.length - body;
      if (size === 0 && rest >= 2 && !(isChunkId(bytes, body) && rest >= 8 && u32(body + 4) <= rest - 8)) {
        dataDeclared = rest;
        warnings.push(`${name} declares an empty data chunk but ${rest} bytes follow (a recording that was not closed properly?); decoded them`);
      }
    }
    const span = id === 'data' ? dataDeclared : size;
    padded = span % 2 === 1;
    offset = body + span + (span % 2);
  }
  if (!fmt) throw new UserError(`${name} has no 'fmt ' chunk: the WAV header is missing or damaged`);
  if (dataOffset < 0) throw new UserError(`${name} has no 'data' chunk: the file holds no audio (or was cut short)`);

  // --- codec
  const codec = codecName(fmt.formatTag, fmt.bitsPerSample);
  const supported = [FORMAT_PCM, FORMAT_FLOAT, FORMAT_ALAW, FORMAT_MULAW, FORMAT_IMA_ADPCM].includes(fmt.formatTag);
  if (!supported) {
    throw new UserError(`${name} uses the ${codec} codec (format 0x${fmt.formatTag.toString(16).padStart(4, '0')}), which nca cannot decode; ${CONVERT_HINT.replace('in.wav', name)}`);
  }
  if (fmt.channels < 1) throw new UserError(`${name} declares ${fmt.channels} channels; the header is damaged`);
  if (fmt.channels > MAX_WAV_CHANNELS) {
    throw new UserError(`${name} declares ${fmt.channels} channels; nca reads 1 to ${MAX_WAV_CHANNELS} channels (the header is damaged, or mix the file down first, e.g. ffmpeg -i ${name} -ac 1 mono.wav)`);
  }
  if (!(fmt.sampleRate >= 1000 && fmt.sampleRate <= 768000)) {
    throw new UserError(`${name} declares a sample rate of ${fmt.sampleRate} Hz (expected 1000 to 768000); the header is damaged`);
  }
  if (fmt.formatTag === FORMAT_FLOAT && fmt.bitsPerSample !== 32 && fmt.bitsPerSample !== 64) {
    throw new UserError(`${name} is ${fmt.bitsPerSample}-bit float; nca reads 32- and 64-bit float WAV`);
  }
  if (fmt.formatTag === FORMAT_PCM && (fmt.bitsPerSample < 1 || fmt.bitsPerSample > 32)) {
    throw new UserError(`${name} declares ${fmt.bitsPerSample}-bit PCM; nca reads 8- to 32-bit PCM`);
  }

  // --- truncation
  const available = Math.max(0, bytes.length - dataOffset);
  let dataBytes = dataDeclared;
  if (dataDeclared > available) {
    const message = `${name} is truncated: the data chunk declares ${dataDeclared} bytes but only ${available} are present`;
    if (opts.strict) throw new UserError(`${message} (decode what is there by leaving out --strict)`);
    warnings.push(`${message}; decoded the ${available} bytes present`);
    dataBytes = available;
  }
  const data = bytes.subarray(dataOffset, dataOffset + dataBytes);

  // --- samples (mono mix)
  let mono: Float32Array;
  switch (fmt.formatTag) {
    case FORMAT_PCM:
    case FORMAT_FLOAT: {
      const frameBytes = linearFrameBytes(fmt);
      if (data.length > 0 && data.length < frameBytes) {
        throw new UserError(`${name} holds ${data.length} bytes of audio, less than one sample frame (${frameBytes} bytes for ${fmt.channels} channel(s) of ${fmt.bitsPerSample}-bit ${fmt.formatTag === FORMAT_FLOAT ? 'float' : 'PCM'}); the file is cut short or its header is damaged`);
      }
      const decoded = decodeLinear(data, fmt, little);
      mono = decoded.samples;
      if (decoded.nonFinite > 0) {
        const total = decoded.samples.length * fmt.channels;
        const message = `${name} has ${decoded.nonFinite} of ${total} float samples that are not finite numbers (NaN or infinity)`;
        if (opts.strict) throw new UserError(`${message}; the file is damaged (leave out --strict to read them as silence)`);
        warnings.push(`${message}; read them as 0 (silence)`);
      }
      break;
    }
    case FORMAT_ALAW:
    case FORMAT_MULAW:
      mono = decodeCompanded(data, fmt.channels, fmt.formatTag === FORMAT_ALAW ? alawTable() : mulawTable());
      break;
    default:
      mono = decodeImaAdpcm(data, fmt, name);
      // the last block is padded: the fact chunk says how many frames are real
      if (factFrames !== null && factFrames > 0 && factFrames < mono.length) mono = mono.subarray(0, factFrames);
  }
  if (mono.length === 0) {
    throw new UserError(
      data.length === 0
        ? `${name} contains no audio samples (the data chunk is empty)`
        : `${name} contains no complete audio sample: its ${data.length} data bytes are less than one sample frame of ${fmt.channels} channel(s) (the file is cut short or its header is damaged)`,
    );
  }

  const source: WavSourceInfo = {
    container,
    codec,
    formatTag: fmt.formatTag,
    extensible: fmt.extensible,
    channels: fmt.channels,
    sampleRate: fmt.sampleRate,
    bitsPerSample: fmt.bitsPerSample,
    frames: mono.length,
    durationSeconds: mono.length / fmt.sampleRate,
  };
  if (targetRate !== null && targetRate !== fmt.sampleRate) {
    return { samples: resample(mono, fmt.sampleRate, targetRate), sampleRate: targetRate, source, warnings };
  }
  return { samples: mono, sampleRate: fmt.sampleRate, source, warnings };
}

function parseFmt(view: DataView, o: number, size: number, little: boolean, name: string): FmtChunk {
  if (size < 16) throw new UserError(`${name} has a damaged 'fmt ' chunk (${size} bytes, expected at least 16)`);
  let formatTag = view.getUint16(o, little);
  const channels = view.getUint16(o + 2, little);
  const sampleRate = view.getUint32(o + 4, little);
  const blockAlign = view.getUint16(o + 12, little);
  const bitsPerSample = view.getUint16(o + 14, little);
  let validBits = bitsPerSample;
  let samplesPerBlock = 0;
  let extensible = false;
  const cbSize = size >= 18 ? view.getUint16(o + 16, little) : 0;
  if (formatTag === FORMAT_EXTENSIBLE) {
    if (size < 40 || cbSize < 22) throw new UserError(`${name} declares WAVE_FORMAT_EXTENSIBLE but its 'fmt ' chunk is too short (${size} bytes)`);
    extensible = true;
    validBits = view.getUint16(o + 18, little) || bitsPerSample;
    formatTag = view.getUint16(o + 24, little); // first two bytes of the sub-format GUID
  }
  if (formatTag === FORMAT_IMA_ADPCM && size >= 20) samplesPerBlock = view.getUint16(o + 18, little);
  return { formatTag, extensible, channels, sampleRate, blockAlign, bitsPerSample, validBits, samplesPerBlock };
}

function codecName(tag: number, bits: number): string {
  switch (tag) {
    case FORMAT_PCM:
      return `${bits}-bit PCM`;
    case FORMAT_FLOAT:
      return `${bits}-bit IEEE float`;
    case FORMAT_ALAW:
      return 'A-law';
    case FORMAT_MULAW:
      return 'mu-law';
    case FORMAT_IMA_ADPCM:
      return 'IMA ADPCM';
    default:
      return UNSUPPORTED_CODECS[tag] ?? `unknown (0x${tag.toString(16).padStart(4, '0')})`;
  }
}

/** Bytes per sample of one channel: from the block alignment when it is consistent (12-bit in 2 bytes, 20-bit in 3...). */
function linearContainerBytes(fmt: FmtChunk): number {
  const ch = fmt.channels;
  return fmt.blockAlign >= ch && fmt.blockAlign % ch === 0 ? fmt.blockAlign / ch : Math.ceil(fmt.bitsPerSample / 8);
}

/** Bytes of one sample frame (all channels) of PCM or float data. */
function linearFrameBytes(fmt: FmtChunk): number {
  return linearContainerBytes(fmt) * fmt.channels;
}

/**
 * PCM (8-bit unsigned; 16/24/32-bit signed, any container) and float 32/64, mixed to mono.
 * Non-finite float samples count as 0; `nonFinite` says how many there were.
 */
function decodeLinear(data: Uint8Array, fmt: FmtChunk, little: boolean): { samples: Float32Array; nonFinite: number } {
  const ch = fmt.channels;
  const isFloat = fmt.formatTag === FORMAT_FLOAT;
  const containerBytes = linearContainerBytes(fmt);
  const frameBytes = containerBytes * ch;
  const frames = Math.floor(data.length / frameBytes);
  const out = new Float32Array(frames);
  const gain = 1 / ch;
  const n = frames * ch;

  // Fast paths: little-endian 16-bit and 32-bit float through aligned typed-array views.
  if (little && containerBytes === 2 && !isFloat) {
    const s = alignedView(data, n * 2, 2, (buf, off, len) => new Int16Array(buf, off, len / 2));
    const scale = gain / 32768;
    if (ch === 1) for (let i = 0; i < frames; i++) out[i] = s[i]! * scale;
    else if (ch === 2) for (let i = 0, j = 0; i < frames; i++, j += 2) out[i] = (s[j]! + s[j + 1]!) * scale;
    else
      for (let i = 0, j = 0; i < frames; i++) {
        let acc = 0;
        for (let c = 0; c < ch; c++) acc += s[j++]!;
        out[i] = acc * scale;
      }
    return { samples: out, nonFinite: 0 };
  }
  let nonFinite = 0;
  if (little && isFloat && containerBytes === 4) {
    const s = alignedView(data, n * 4, 4, (buf, off, len) => new Float32Array(buf, off, len / 4));
    for (let i = 0, j = 0; i < frames; i++) {
      let acc = 0;
      for (let c = 0; c < ch; c++) {
        const v = s[j++]!;
        if (v - v === 0) acc += v; // false for NaN and +-Infinity
        else nonFinite++;
      }
      out[i] = acc * gain;
    }
    return { samples: out, nonFinite };
  }
  // General path through a DataView.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let read: (o: number) => number;
  if (isFloat) read = containerBytes === 8 ? (o) => view.getFloat64(o, little) : (o) => view.getFloat32(o, little);
  else if (containerBytes === 1) read = (o) => (data[o]! - 128) / 128;
  else if (containerBytes === 2) read = (o) => view.getInt16(o, little) / 32768;
  else if (containerBytes === 3)
    read = little
      ? (o) => (((data[o + 2]! << 24) | (data[o + 1]! << 16) | (data[o]! << 8)) >> 8) / 8388608
      : (o) => (((data[o]! << 24) | (data[o + 1]! << 16) | (data[o + 2]! << 8)) >> 8) / 8388608;
  else if (containerBytes === 4) read = (o) => view.getInt32(o, little) / 2147483648;
  else throw new UserError(`${containerBytes}-byte PCM samples are not supported; ${CONVERT_HINT}`);
  for (let i = 0, o = 0; i < frames; i++) {
    let acc = 0;
    for (let c = 0; c < ch; c++, o += containerBytes) {
      const v = read(o);
      if (v - v === 0) acc += v; // false for NaN and +-Infinity (only float samples can be)
      else nonFinite++;
    }
    out[i] = acc * gain;
  }
  return { samples: out, nonFinite };
}

/** A typed-array view of the first `length` bytes of `data`, copying only when misaligned. */
function alignedView<T>(data: Uint8Array, length: number, align: number, make: (buf: ArrayBufferLike, offset: number, length: number) => T): T {
  if (data.byteOffset % align === 0) return make(data.buffer, data.byteOffset, length);
  const copy = data.slice(0, length);
  return make(copy.buffer, 0, length);
}

let alaw: Float32Array | null = null;
let mulaw: Float32Array | null = null;

/** G.711 A-law: the 256 code -> sample values, scaled to [-1, 1]. */
function alawTable(): Float32Array {
  if (alaw) return alaw;
  alaw = new Float32Array(256);
  for (let code = 0; code < 256; code++) {
    const a = code ^ 0x55;
    const exponent = (a & 0x70) >> 4;
    const mantissa = a & 0x0f;
    let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
    magnitude = a & 0x80 ? magnitude : -magnitude;
    alaw[code] = magnitude / 32768;
  }
  return alaw;
}

/** G.711 mu-law: the 256 code -> sample values, scaled to [-1, 1]. */
function mulawTable(): Float32Array {
  if (mulaw) return mulaw;
  mulaw = new Float32Array(256);
  for (let code = 0; code < 256; code++) {
    const u = ~code & 0xff;
    const exponent = (u >> 4) & 0x07;
    const mantissa = u & 0x0f;
    const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    mulaw[code] = (u & 0x80 ? -magnitude : magnitude) / 32768;
  }
  return mulaw;
}

function decodeCompanded(data: Uint8Array, ch: number, table: Float32Array): Float32Array {
  const frames = Math.floor(data.length / ch);
  const out = new Float32Array(frames);
  const gain = 1 / ch;
  for (let i = 0, j = 0; i < frames; i++) {
    let acc = 0;
    for (let c = 0; c < ch; c++) acc += table[data[j++]!]!;
    out[i] = acc * gain;
  }
  return out;
}

const IMA_INDEX = [-1, -1, -1, -1, 2, 4, 6, 8, -1, -1, -1, -1, 2, 4, 6, 8];
const IMA_STEP = [
  7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230,
  253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327,
  3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794,
  32767,
];

/**
 * Microsoft IMA ADPCM (format 0x0011), 4 bits per sample, any channel count. Each block starts with
 * a 4-byte header per channel (int16 predictor, uint8 step index, reserved), then groups of 4 bytes
 * (8 samples, low nibble first) per channel in turn. A partial last block is decoded as far as it goes.
 */
function decodeImaAdpcm(data: Uint8Array, fmt: FmtChunk, name: string): Float32Array {
  const ch = fmt.channels;
  const blockAlign = fmt.blockAlign;
  if (fmt.bitsPerSample !== 4) throw new UserError(`${name} is ${fmt.bitsPerSample}-bit IMA ADPCM; nca reads the 4-bit kind`);
  if (blockAlign < 4 * ch + 4 * ch || blockAlign % (4 * ch) !== 0) {
    throw new UserError(`${name} has an IMA ADPCM block size of ${blockAlign} bytes, which does not fit ${ch} channel(s); the header is damaged`);
  }
  const perBlock = fmt.samplesPerBlock || ((blockAlign - 4 * ch) * 8) / (4 * ch) + 1;
  const blocks = Math.ceil(data.length / blockAlign);
  const out = new Float32Array(blocks * perBlock);
  const gain = 1 / (ch * 32768);
  let written = 0;
  const predictor = new Int32Array(ch);
  const index = new Int32Array(ch);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockAlign;
    const end = Math.min(start + blockAlign, data.length);
    if (end - start < 4 * ch) break;
    for (let c = 0; c < ch; c++) {
      const h = start + 4 * c;
      predictor[c] = ((data[h]! | (data[h + 1]! << 8)) << 16) >> 16;
      index[c] = Math.min(88, data[h + 2]!);
      out[written] += predictor[c]! * gain;
    }
    let produced = 1;
    // Groups: for each 8-sample step, 4 bytes per channel in turn.
    for (let g = start + 4 * ch; g + 4 * ch <= end && produced < perBlock; g += 4 * ch) {
      for (let c = 0; c < ch; c++) {
        let p = predictor[c]!;
        let idx = index[c]!;
        for (let k = 0; k < 8; k++) {
          const byte = data[g + 4 * c + (k >> 1)]!;
          const nibble = k & 1 ? byte >> 4 : byte & 0x0f;
          const step = IMA_STEP[idx]!;
          let diff = step >> 3;
          if (nibble & 4) diff += step;
          if (nibble & 2) diff += step >> 1;
          if (nibble & 1) diff += step >> 2;
          p += nibble & 8 ? -diff : diff;
          p = p > 32767 ? 32767 : p < -32768 ? -32768 : p;
          idx += IMA_INDEX[nibble]!;
          idx = idx < 0 ? 0 : idx > 88 ? 88 : idx;
          const at = written + produced + k;
          if (at < out.length) out[at] += p * gain;
        }
        predictor[c] = p;
        index[c] = idx;
      }
      produced += 8;
    }
    written += Math.min(produced, perBlock);
  }
  return out.subarray(0, written).slice();
}
