import { describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { decodeWav } from '../src/core/audio/wav.js';
import { resample } from '../src/core/audio/resample.js';
import { UserError } from '../src/core/errors.js';

const { WaveFile } = wavefile;

/** A sine of `freq` Hz, amplitude `amp`, `seconds` long at `rate`. */
function tone(freq: number, rate: number, seconds: number, amp = 0.5): Float64Array {
  const n = Math.round(rate * seconds);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

/** Integer samples for a bit depth from floats in [-1, 1]. */
function quantise(x: Float64Array, bits: number): number[] {
  const full = 2 ** (bits - 1);
  return Array.from(x, (v) => (bits === 8 ? Math.round(v * 127 + 128) : Math.round(v * (full - 1))));
}

/** RMS of the difference between decoded samples and the reference (same rate). */
function rmsError(a: Float32Array, b: Float64Array): number {
  const n = Math.min(a.length, b.length);
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s / n);
}

function amplitudeAt(x: Float32Array, freq: number, rate: number, from = 0.1, to = 0.9): number {
  // Single-bin DFT over the middle of the signal (avoids filter edges).
  const a = Math.floor(x.length * from);
  const b = Math.floor(x.length * to);
  let re = 0;
  let im = 0;
  for (let i = a; i < b; i++) {
    re += x[i]! * Math.cos((2 * Math.PI * freq * i) / rate);
    im += x[i]! * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / (b - a);
}

/** Build a WAV by hand: RIFF header + the given chunks (id, body), with pad bytes. */
function riff(chunks: Array<[string, Uint8Array]>, opts: { pad?: boolean; magic?: string } = {}): Uint8Array {
  const parts: number[] = [];
  const push4 = (s: string) => parts.push(...Array.from(s, (c) => c.charCodeAt(0)));
  const push32 = (v: number) => parts.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  push4(opts.magic ?? 'RIFF');
  push32(0);
  push4('WAVE');
  for (const [id, body] of chunks) {
    push4(id);
    push32(body.length);
    parts.push(...body);
    if (body.length % 2 && opts.pad !== false) parts.push(0);
  }
  const out = Uint8Array.from(parts);
  new DataView(out.buffer).setUint32(4, out.length - 8, true);
  return out;
}

function fmtBody(tag: number, channels: number, rate: number, bits: number, blockAlign: number, extra: number[] = []): Uint8Array {
  const b = new Uint8Array(16 + (extra.length ? 2 + extra.length : 0));
  const v = new DataView(b.buffer);
  v.setUint16(0, tag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * blockAlign, true);
  v.setUint16(12, blockAlign, true);
  v.setUint16(14, bits, true);
  if (extra.length) {
    v.setUint16(16, extra.length, true);
    b.set(extra, 18);
  }
  return b;
}

function int16Bytes(samples: number[]): Uint8Array {
  const b = new Uint8Array(samples.length * 2);
  const v = new DataView(b.buffer);
  samples.forEach((s, i) => v.setInt16(2 * i, s, true));
  return b;
}

function expectUserError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(UserError);
  expect((caught as Error).message).toMatch(pattern);
}

describe('decodeWav: formats', () => {
  const rate = 22050;
  const ref = tone(440, rate, 0.5);

  it.each([8, 16, 24, 32])('%i-bit PCM mono decodes to the same waveform', (bits) => {
    const wav = new WaveFile();
    wav.fromScratch(1, rate, String(bits), quantise(ref, bits));
    const out = decodeWav(wav.toBuffer());
    expect(out.sampleRate).toBe(22050);
    expect(out.samples.length).toBe(ref.length);
    expect(out.source.codec).toBe(`${bits}-bit PCM`);
    expect(rmsError(out.samples, ref)).toBeLessThan(bits === 8 ? 0.01 : 1e-4);
    expect(out.warnings).toEqual([]);
  });

  it.each(['32f', '64'])('%s float decodes exactly', (code) => {
    const wav = new WaveFile();
    wav.fromScratch(1, rate, code, Array.from(ref));
    const out = decodeWav(wav.toBuffer());
    expect(out.source.codec).toMatch(/IEEE float/);
    expect(rmsError(out.samples, ref)).toBeLessThan(1e-6);
  });

  it('stereo is mixed to mono by averaging the channels', () => {
    const left = quantise(ref, 16);
    const right = left.map(() => 0);
    const wav = new WaveFile();
    wav.fromScratch(2, rate, '16', [left, right]);
    const out = decodeWav(wav.toBuffer());
    expect(out.source.channels).toBe(2);
    expect(out.samples.length).toBe(ref.length);
    expect(amplitudeAt(out.samples, 440, rate)).toBeCloseTo(0.25, 2);
  });

  it('WAVE_FORMAT_EXTENSIBLE with 6 channels and 24-bit samples', () => {
    const chans = Array.from({ length: 6 }, () => quantise(ref, 24));
    const wav = new WaveFile();
    wav.fromScratch(6, rate, '24', chans);
    const bytes = wav.toBuffer();
    // wavefile writes the 40-byte extensible fmt chunk but tag 1; make it the real 0xFFFE.
    new DataView(bytes.buffer, bytes.byteOffset).setUint16(20, 0xfffe, true);
    const out = decodeWav(bytes);
    expect(out.source.extensible).toBe(true);
    expect(out.source.channels).toBe(6);
    expect(rmsError(out.samples, ref)).toBeLessThan(1e-5);
  });

  it('12-bit PCM left-justified in 2-byte containers (extensible, valid bits 12) decodes', () => {
    const extra = new Array(22).fill(0);
    extra[0] = 12; // valid bits per sample
    extra[6] = 0x01; // PCM sub-format GUID 01 00 00 00 ...
    const samples = quantise(ref, 12).map((v) => v * 16);
    const out = decodeWav(riff([['fmt ', fmtBody(0xfffe, 1, rate, 16, 2, extra)], ['data', int16Bytes(samples)]]));
    expect(out.source.extensible).toBe(true);
    expect(rmsError(out.samples, ref)).toBeLessThan(1e-3);
  });

  it('big-endian RIFX decodes', () => {
    const wav = new WaveFile();
    wav.fromScratch(1, rate, '16', quantise(ref, 16), { container: 'RIFX' });
    const out = decodeWav(wav.toBuffer());
    expect(out.source.container).toBe('RIFX');
    expect(rmsError(out.samples, ref)).toBeLessThan(1e-4);
  });

  it.each([
    ['A-law', (w: InstanceType<typeof WaveFile>) => w.toALaw()],
    ['mu-law', (w: InstanceType<typeof WaveFile>) => w.toMuLaw()],
  ])('%s decodes close to the original', (codec, encode) => {
    const wav = new WaveFile();
    wav.fromScratch(1, rate, '16', quantise(ref, 16));
    encode(wav);
    const out = decodeWav(wav.toBuffer());
    expect(out.source.codec).toBe(codec);
    // wavefile pads the odd-sized data chunk with one code.
    expect(out.samples.length - ref.length).toBeGreaterThanOrEqual(0);
    expect(out.samples.length - ref.length).toBeLessThanOrEqual(1);
    // G.711 is ~13-14 bits near this level: error well below 1 %.
    expect(rmsError(out.samples, ref)).toBeLessThan(0.006);
    // Agrees with wavefile's own decoder.
    const back = new WaveFile(wav.toBuffer());
    if (codec === 'A-law') back.fromALaw();
    else back.fromMuLaw();
    const theirs = back.getSamples(false, Float64Array) as unknown as Float64Array;
    expect(rmsError(out.samples, Float64Array.from(theirs, (v) => v / 32768))).toBeLessThan(1e-6);
  });

  // wavefile's IMA ADPCM encoder does not follow the standard (its header predictor is not the
  // encoder's state, and it skips two samples per block), so the reference encoder below is used:
  // decoding must reproduce its reconstruction exactly.
  it('IMA ADPCM mono decodes bit-exactly to the encoder reconstruction', () => {
    const ref8k = quantise(tone(440, 8000, 0.5), 16);
    const { bytes, recon } = imaEncode([ref8k]);
    const body = fmtBody(0x11, 1, 8000, 4, 256, [0xf9, 0x01]); // samplesPerBlock 505
    const out = decodeWav(riff([['fmt ', body], ['data', bytes]]), { targetRate: null });
    expect(out.source.codec).toBe('IMA ADPCM');
    expect(out.sampleRate).toBe(8000);
    expect(out.samples.length).toBe(recon[0]!.length);
    expect(maxDiff(out.samples, recon[0]!.map((v) => v / 32768))).toBeLessThan(1e-7);
    expect(rmsError(out.samples, Float64Array.from(ref8k, (v) => v / 32768))).toBeLessThan(0.03);
  });

  it('IMA ADPCM: the fact chunk trims the padding of the last block', () => {
    const samples = quantise(tone(440, 8000, 0.1), 16); // 800 frames: 2 blocks, the second padded
    const { bytes } = imaEncode([samples]);
    const body = fmtBody(0x11, 1, 8000, 4, 256, [0xf9, 0x01]);
    const fact = new Uint8Array(4);
    new DataView(fact.buffer).setUint32(0, 800, true);
    const out = decodeWav(riff([['fmt ', body], ['fact', fact], ['data', bytes]]), { targetRate: null });
    expect(out.samples.length).toBe(800);
  });

  it('IMA ADPCM stereo decodes both channels (mono mix = mean of the reconstructions)', () => {
    const left = quantise(tone(300, 8000, 0.2), 16);
    const right = quantise(tone(1200, 8000, 0.2, 0.3), 16);
    const { bytes, recon } = imaEncode([left, right]);
    const body = fmtBody(0x11, 2, 8000, 4, 512, [0xf9, 0x01]);
    const out = decodeWav(riff([['fmt ', body], ['data', bytes]]), { targetRate: null });
    const expected = recon[0]!.map((v, i) => (v + recon[1]![i]!) / 2 / 32768);
    expect(out.samples.length).toBe(expected.length);
    expect(maxDiff(out.samples, expected)).toBeLessThan(1e-7);
  });

  it('odd chunk layouts: LIST before fmt, odd-sized chunk without pad, fmt after data', () => {
    const pcm = int16Bytes(quantise(ref, 16));
    const fmt = fmtBody(1, 1, rate, 16, 2);
    const list = new TextEncoder().encode('INFOISFT\u0005\u0000\u0000\u0000abcde');
    for (const bytes of [
      riff([['LIST', list], ['fmt ', fmt], ['data', pcm]]),
      riff([['junk', Uint8Array.of(1, 2, 3)], ['fmt ', fmt], ['data', pcm]], { pad: false }),
      // no pad byte before 'data', whose size byte happens to be printable ('ata' + '"' would look like an id)
      riff([['fmt ', fmt], ['LIST', Uint8Array.of(1, 2, 3)], ['data', pcm.subarray(0, 34)]], { pad: false }),
      riff([['data', pcm], ['fmt ', fmt]]),
    ]) {
      const out = decodeWav(bytes);
      expect(rmsError(out.samples, ref)).toBeLessThan(1e-4);
    }
  });

  it('RF64 with a ds64 chunk (sizes 0xFFFFFFFF) decodes', () => {
    const pcm = int16Bytes(quantise(ref, 16));
    const ds64 = new Uint8Array(28);
    const v = new DataView(ds64.buffer);
    v.setUint32(0, 0, true); // riff size (low, high) - unused here
    v.setUint32(8, pcm.length, true); // data size low
    v.setUint32(12, 0, true); // data size high
    const bytes = riff([['ds64', ds64], ['fmt ', fmt16()], ['data', pcm]], { magic: 'RF64' });
    const view = new DataView(bytes.buffer);
    view.setUint32(4, 0xffffffff, true);
    view.setUint32(bytes.length - pcm.length - 4, 0xffffffff, true);
    const out = decodeWav(bytes);
    expect(out.source.container).toBe('RF64');
    expect(out.warnings).toEqual([]);
    expect(rmsError(out.samples, ref)).toBeLessThan(1e-4);
  });

  it('a recording never closed properly (data size 0, samples follow) decodes with a warning', () => {
    const pcm = int16Bytes(quantise(ref, 16));
    const bytes = riff([['fmt ', fmt16()], ['data', pcm]]);
    new DataView(bytes.buffer).setUint32(bytes.length - pcm.length - 4, 0, true);
    const out = decodeWav(bytes, { name: 'rec.wav' });
    expect(out.samples.length).toBe(ref.length);
    expect(out.warnings[0]).toMatch(/rec\.wav declares an empty data chunk but 22050 bytes follow/);
  });

  it('misaligned 16-bit data (odd offset) decodes', () => {
    const pcm = int16Bytes(quantise(ref, 16));
    const out = decodeWav(riff([['fmt ', fmt16()], ['abc ', Uint8Array.of(7)], ['data', pcm]]));
    expect(rmsError(out.samples, ref)).toBeLessThan(1e-4);
  });
});

function fmt16(): Uint8Array {
  return fmtBody(1, 1, 22050, 16, 2);
}

function maxDiff(a: Float32Array, b: number[]): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Reference IMA ADPCM encoder (Microsoft/DVI layout): 505 samples per block per channel, 4-byte
 * header per channel, then 4-byte groups of 8 samples per channel in turn, low nibble first.
 * Returns the bytes and the decoder-side reconstruction of each channel.
 */
function imaEncode(chans: number[][]): { bytes: Uint8Array; recon: number[][] } {
  const idxTable = [-1, -1, -1, -1, 2, 4, 6, 8, -1, -1, -1, -1, 2, 4, 6, 8];
  const steps = [
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230,
    253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327,
    3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794,
    32767,
  ];
  const state = chans.map(() => ({ p: 0, i: 0 }));
  const recon: number[][] = chans.map(() => []);
  const enc = (s: number, c: number): number => {
    const st = state[c]!;
    const step = steps[st.i]!;
    let diff = s - st.p;
    let nib = 0;
    if (diff < 0) {
      nib = 8;
      diff = -diff;
    }
    let delta = step >> 3;
    if (diff >= step) {
      nib |= 4;
      diff -= step;
      delta += step;
    }
    if (diff >= step >> 1) {
      nib |= 2;
      diff -= step >> 1;
      delta += step >> 1;
    }
    if (diff >= step >> 2) {
      nib |= 1;
      delta += step >> 2;
    }
    st.p = Math.max(-32768, Math.min(32767, st.p + (nib & 8 ? -delta : delta)));
    st.i = Math.max(0, Math.min(88, st.i + idxTable[nib]!));
    recon[c]!.push(st.p);
    return nib;
  };
  const out: number[] = [];
  const length = chans[0]!.length;
  for (let start = 0; start < length; start += 505) {
    chans.forEach((samples, c) => {
      const first = samples[start]!;
      state[c]!.p = first;
      recon[c]!.push(first);
      out.push(first & 255, (first >> 8) & 255, state[c]!.i, 0);
    });
    for (let g = start + 1; g < Math.min(start + 505, length); g += 8) {
      chans.forEach((samples, c) => {
        for (let k = 0; k < 8; k += 2) {
          const a = enc(samples[g + k] ?? 0, c);
          const b = enc(samples[g + k + 1] ?? 0, c);
          out.push(a | (b << 4));
        }
      });
    }
  }
  return { bytes: Uint8Array.from(out), recon };
}

describe('decodeWav: bad files give clear errors', () => {
  const rate = 22050;
  const pcm = int16Bytes(quantise(tone(440, rate, 0.2), 16));

  it('empty file', () => expectUserError(() => decodeWav(new Uint8Array(0), { name: 'a.wav' }), /a\.wav is empty/));
  it('text file', () => expectUserError(() => decodeWav(new TextEncoder().encode('hello, this is not audio'), { name: 'x.wav' }), /x\.wav is not a WAV file/));
  it('an MP3 renamed .wav', () => expectUserError(() => decodeWav(Uint8Array.of(0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0), { name: 's.wav' }), /s\.wav is an MP3 file/));
  it('a header cut short', () => expectUserError(() => decodeWav(new TextEncoder().encode('RIFF\u0000\u0000'), { name: 'c.wav' }), /cut short/));
  it('no data chunk', () => expectUserError(() => decodeWav(riff([['fmt ', fmt16()]])), /no 'data' chunk/));
  it('no fmt chunk', () => expectUserError(() => decodeWav(riff([['data', pcm]])), /no 'fmt ' chunk/));
  it('zero-length data', () => expectUserError(() => decodeWav(riff([['fmt ', fmt16()], ['data', new Uint8Array(0)]])), /no audio samples/));

  it.each([
    [0x0002, /MS ADPCM codec \(format 0x0002\)/],
    [0x0031, /GSM 6\.10 codec \(format 0x0031\)/],
    [0x0055, /MP3 \(MPEG Layer III\) codec \(format 0x0055\)/],
    [0x1234, /unknown \(0x1234\) codec/],
  ])('unsupported codec 0x%s is named', (tag, pattern) => {
    const bytes = riff([['fmt ', fmtBody(tag, 1, 22050, 4, 256, [0, 0])], ['data', new Uint8Array(512)]]);
    expectUserError(() => decodeWav(bytes, { name: 'x.wav' }), pattern);
  });

  it('MS ADPCM inside WAVE_FORMAT_EXTENSIBLE is named too', () => {
    const extra = new Array(22).fill(0);
    extra[0] = 16; // valid bits
    extra[6] = 0x02; // sub-format GUID starts 02 00
    const bytes = riff([['fmt ', fmtBody(0xfffe, 1, 22050, 16, 2, extra)], ['data', pcm]]);
    expectUserError(() => decodeWav(bytes), /MS ADPCM/);
  });

  it('truncated data: decodes what is there with a warning, or refuses with strict', () => {
    const full = riff([['fmt ', fmt16()], ['data', pcm]]);
    const cut = full.subarray(0, full.length - 1000);
    const out = decodeWav(cut, { name: 't.wav' });
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatch(/t\.wav is truncated: the data chunk declares 8820 bytes but only 7820 are present/);
    expect(out.samples.length).toBe(3910);
    expectUserError(() => decodeWav(cut, { name: 't.wav', strict: true }), /truncated.*leaving out --strict/);
  });
});

describe('resample', () => {
  it('44.1 kHz -> 22050 keeps a 1 kHz tone and removes a 15 kHz tone (above the new Nyquist)', () => {
    const rate = 44100;
    const low = tone(1000, rate, 1, 0.5);
    const high = tone(15000, rate, 1, 0.5);
    const out = resample(Float32Array.from(low, (v, i) => v + high[i]!), rate, 22050);
    expect(out.length).toBe(22050);
    expect(amplitudeAt(out, 1000, 22050)).toBeCloseTo(0.5, 2);
    // 15 kHz would alias to 7050 Hz: it must be at least 70 dB down.
    expect(amplitudeAt(out, 7050, 22050)).toBeLessThan(0.5 * 10 ** (-70 / 20));
  });

  it('48 kHz -> 22050 (ratio 147/320) keeps the tone and blocks 13 kHz (would alias to 9050 Hz)', () => {
    const rate = 48000;
    const x = tone(440, rate, 1, 0.5);
    const y = tone(13000, rate, 1, 0.5);
    const out = resample(Float32Array.from(x, (v, i) => v + y[i]!), rate, 22050);
    expect(out.length).toBe(22050);
    expect(amplitudeAt(out, 440, 22050)).toBeCloseTo(0.5, 2);
    expect(amplitudeAt(out, 22050 - 13000, 22050)).toBeLessThan(0.5 * 10 ** (-60 / 20));
  });

  it('upsampling 8 kHz -> 22050 keeps a tone in place', () => {
    const out = resample(Float32Array.from(tone(1000, 8000, 1)), 8000, 22050);
    expect(out.length).toBe(22050);
    expect(amplitudeAt(out, 1000, 22050)).toBeCloseTo(0.5, 2);
    // No images at 8000 - 1000 = 7000 Hz.
    expect(amplitudeAt(out, 7000, 22050)).toBeLessThan(1e-3);
  });

  it('an odd rate (22051 Hz) is handled', () => {
    const out = resample(Float32Array.from(tone(1000, 22051, 1)), 22051, 22050);
    expect(Math.abs(out.length - 22050)).toBeLessThanOrEqual(1);
    expect(amplitudeAt(out, 1000, 22050)).toBeCloseTo(0.5, 2);
  });

  it('decodeWav resamples a 44.1 kHz stereo file to 22050 mono', () => {
    const t = tone(440, 44100, 1);
    const wav = new WaveFile();
    wav.fromScratch(2, 44100, '16', [quantise(t, 16), quantise(t, 16)]);
    const out = decodeWav(wav.toBuffer());
    expect(out.sampleRate).toBe(22050);
    expect(out.samples.length).toBe(22050);
    expect(out.source.sampleRate).toBe(44100);
    expect(amplitudeAt(out.samples, 440, 22050)).toBeCloseTo(0.5, 2);
  });

  // Its speed is a benchmark figure (README: decode + mel of a 3-minute file), not a timed test.
  it('a 3-minute 44.1 kHz stereo 16-bit file decodes to 22050 mono of the right length', () => {
    const frames = 44100 * 180;
    const header = riff([['fmt ', fmtBody(1, 2, 44100, 16, 4)], ['data', new Uint8Array(0)]]);
    const bytes = new Uint8Array(header.length + frames * 4);
    bytes.set(header);
    const view = new DataView(bytes.buffer);
    view.setUint32(header.length - 4, frames * 4, true);
    const pcm = new Int16Array(bytes.buffer, header.length, frames * 2);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin(i * 0.01));
    const out = decodeWav(bytes);
    expect(out.samples.length).toBe(22050 * 180);
    expect(out.sampleRate).toBe(22050);
  });
});
