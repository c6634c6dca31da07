import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PATCH_MODES, envelopeRate, parseGusPatch, renderPatchNote, sampleFor } from '../src/core/audio/gus-patch.js';
import { UserError } from '../src/core/errors.js';

const RATE = 22050;

interface FakeSample { hz: number; rootHz: number; lowHz: number; highHz: number; periods: number; modes: number; rates?: number[]; offsets?: number[]; loop?: [number, number] }

/** A .pat file by the layout gus-patch.ts documents: one 16-bit sine per sample, `periods` whole periods, looped whole. */
function fakePatch(samples: FakeSample[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(129 + 63 + 47);
  head.set(new TextEncoder().encode('GF1PATCH110\0ID#000002\0'), 0);
  head.set(new TextEncoder().encode('a test patch'), 22);
  head[82] = 1; // instruments
  head[151] = 1; // layers
  head[198] = samples.length;
  parts.push(head);
  for (const s of samples) {
    const n = Math.round((s.periods * RATE) / s.hz);
    const h = new Uint8Array(96), v = new DataView(h.buffer);
    v.setUint32(8, 2 * n, true);
    v.setUint32(12, 2 * (s.loop?.[0] ?? 0), true);
    v.setUint32(16, 2 * (s.loop?.[1] ?? n), true);
    v.setUint16(20, RATE, true);
    v.setUint32(22, Math.round(s.lowHz * 1000), true);
    v.setUint32(26, Math.round(s.highHz * 1000), true);
    v.setUint32(30, Math.round(s.rootHz * 1000), true);
    (s.rates ?? [63, 63, 63, 63, 63, 63]).forEach((r, k) => (h[37 + k] = r));
    (s.offsets ?? [246, 246, 246, 0, 0, 0]).forEach((o, k) => (h[43 + k] = o));
    h[55] = s.modes;
    const data = new Uint8Array(2 * n), dv = new DataView(data.buffer);
    for (let i = 0; i < n; i++) dv.setInt16(2 * i, Math.round(16000 * Math.sin((2 * Math.PI * s.hz * i) / RATE)), true);
    parts.push(h, data);
  }
  const out = new Uint8Array(parts.reduce((m, p) => m + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** Frequency from upward zero crossings over samples a..b. */
function frequency(x: Float32Array, from: number, to: number): number {
  const a = Math.round(from), b = Math.round(to);
  const ups: number[] = [];
  for (let i = a + 1; i < b; i++) if (x[i - 1]! < 0 && x[i]! >= 0) ups.push(i - x[i]! / (x[i]! - x[i - 1]!));
  return (RATE * (ups.length - 1)) / (ups[ups.length - 1]! - ups[0]!);
}

function rms(x: Float32Array, from: number, to: number): number {
  const a = Math.round(from), b = Math.round(to);
  let s = 0;
  for (let i = a; i < b; i++) s += x[i]! ** 2;
  return Math.sqrt(s / (b - a));
}

const { MODE_16BIT, MODE_LOOPING, MODE_SUSTAIN, MODE_ENVELOPE } = PATCH_MODES;
const HELD = MODE_16BIT | MODE_LOOPING | MODE_SUSTAIN | MODE_ENVELOPE;

describe('GUS patches (gus-patch.ts)', () => {
  it('reads the header fields: rates, frequency ranges, loop points, modes', () => {
    const p = parseGusPatch(fakePatch([{ hz: 220, rootHz: 220, lowHz: 100, highHz: 300, periods: 50, modes: HELD }, { hz: 440, rootHz: 440, lowHz: 300, highHz: 900, periods: 100, modes: MODE_16BIT }]));
    expect(p.description).toBe('a test patch');
    expect(p.samples).toHaveLength(2);
    const [a, b] = p.samples;
    expect(a!.sampleRate).toBe(RATE);
    expect([a!.lowHz, a!.highHz, a!.rootHz]).toEqual([100, 300, 220]);
    expect(a!.loopEnd).toBe(a!.data.length);
    expect([a!.looping, a!.sustain, a!.envelope, b!.looping]).toEqual([true, true, true, false]);
    expect(Math.max(...a!.data)).toBeCloseTo(16000 / 32768, 2);
    expect(sampleFor(p, 440)).toBe(b);
    expect(sampleFor(p, 150)).toBe(a);
    expect(sampleFor(p, 2000)).toBe(b); // out of every range: the nearest root
    // a reversed sample: its data and its loop points mirrored
    const r = parseGusPatch(fakePatch([{ hz: 220, rootHz: 220, lowHz: 20, highHz: 5000, periods: 50, modes: HELD | PATCH_MODES.MODE_REVERSE, loop: [100, 300] }])).samples[0]!;
    const n = r.data.length;
    expect([r.loopStart, r.loopEnd]).toEqual([n - 300, n - 100]);
    expect(r.data[n - 1]).toBe(0); // the first sample written (sin 0) is now the last
  });

  it('plays a note at its pitch from a sample recorded at another (resampled, looped past the sample\'s end)', () => {
    const p = parseGusPatch(fakePatch([{ hz: 220, rootHz: 220, lowHz: 20, highHz: 5000, periods: 20, modes: HELD }]));
    for (const midi of [57, 64, 69]) {
      const out = renderPatchNote(p, { midi, velocity: 127, duration: 1 }, RATE, new Float32Array(RATE));
      const want = 440 * 2 ** ((midi - 69) / 12);
      // the sample is 0.09 s long: the second half of the note is played from the loop
      expect(frequency(out, RATE / 2, RATE - 100)).toBeCloseTo(want, 0);
    }
  });

  it('holds the sustain level while the key is down and fades after the release, at the envelope rates', () => {
    // release rate byte 0x80 | 20: mantissa 20 shifted by 3 -> envelopeRate = 160 * 44100 * 512 / 1000 / 2^22 units per ms
    const rates = [63, 63, 63, 0x80 | 20, 63, 63];
    const p = parseGusPatch(fakePatch([{ hz: 220, rootHz: 220, lowHz: 20, highHz: 5000, periods: 20, modes: HELD, rates }]));
    const out = renderPatchNote(p, { midi: 57, velocity: 127, duration: 0.5 }, RATE, new Float32Array(RATE));
    const held1 = rms(out, 0.1 * RATE, 0.2 * RATE), held2 = rms(out, 0.35 * RATE, 0.45 * RATE);
    expect(held2 / held1).toBeCloseTo(1, 2);
    const perMs = envelopeRate(0x80 | 20);
    expect(perMs).toBeCloseTo((160 * 44100 * 512) / 1000 / 2 ** 22, 9);
    const releaseMs = 246 / perMs; // ~287 ms from offset 246 to 0
    const mid = 0.5 * RATE + Math.round((releaseMs / 2000) * RATE);
    expect(rms(out, mid - 200, mid + 200)).toBeLessThan(held1 / 2); // half-way down the offsets: 24 dB down
    expect(rms(out, mid - 200, mid + 200)).toBeGreaterThan(held1 / 100);
    const after = 0.5 * RATE + Math.ceil(((releaseMs + 5) / 1000) * RATE);
    expect(rms(out, after, RATE)).toBe(0);
  });

  it('ends the note when the envelope runs out, even at a release offset above 0 (as libtimidity frees the voice)', () => {
    const rates = [63, 63, 63, 0x80 | 20, 63, 63];
    const p = parseGusPatch(fakePatch([{ hz: 220, rootHz: 220, lowHz: 20, highHz: 5000, periods: 20, modes: HELD, rates, offsets: [246, 246, 246, 8, 8, 8] }]));
    const out = renderPatchNote(p, { midi: 57, velocity: 127, duration: 0.5 }, RATE, new Float32Array(RATE));
    const releaseMs = (246 - 8) / envelopeRate(0x80 | 20);
    expect(rms(out, 0.5 * RATE + ((releaseMs - 20) / 1000) * RATE, 0.5 * RATE + ((releaseMs - 5) / 1000) * RATE)).toBeGreaterThan(0);
    expect(rms(out, 0.5 * RATE + ((releaseMs + 5) / 1000) * RATE, RATE)).toBe(0);
  });

  it('scales by velocity squared and adds into the buffer from `start`', () => {
    const p = parseGusPatch(fakePatch([{ hz: 220, rootHz: 220, lowHz: 20, highHz: 5000, periods: 20, modes: HELD }]));
    const loud = renderPatchNote(p, { midi: 57, velocity: 127, duration: 0.3 }, RATE, new Float32Array(RATE / 2));
    const soft = renderPatchNote(p, { midi: 57, velocity: 64, duration: 0.3 }, RATE, new Float32Array(RATE / 2));
    expect(rms(soft, 1000, 5000) / rms(loud, 1000, 5000)).toBeCloseTo((64 / 127) ** 2, 2);
    const late = renderPatchNote(p, { midi: 57, velocity: 127, duration: 0.1 }, RATE, new Float32Array(RATE / 2).fill(0.25), 1000);
    expect(late[999]).toBe(0.25);
    expect(late[1000 + 3]).not.toBe(0.25);
  });

  it('refuses a file that is not a patch, in one line that names it', () => {
    expect(() => parseGusPatch(new TextEncoder().encode('RIFF....WAVEfmt '.repeat(20)), 'song.wav')).toThrow(UserError);
    expect(() => parseGusPatch(new TextEncoder().encode('RIFF....WAVEfmt '.repeat(20)), 'song.wav')).toThrow(/^song\.wav is not a GUS patch \(it starts with "RIFF\.\.\.\.WAV"\)/);
    const cut = fakePatch([{ hz: 220, rootHz: 220, lowHz: 20, highHz: 5000, periods: 20, modes: HELD }]);
    expect(() => parseGusPatch(cut.subarray(0, cut.length - 10), 'cut.pat')).toThrow(/sample 0's data is cut off/);
    const p = parseGusPatch(cut);
    expect(() => renderPatchNote(p, { midi: 130, velocity: 90, duration: 1 }, RATE, new Float32Array(10))).toThrow(/not a MIDI note/);
  });

  it('reads every FreePats patch and plays A4 at 440 Hz from each pitched one', () => {
    const dir = join(dirname(createRequire(import.meta.url).resolve('freepats/package.json')), 'Tone_000');
    const files = readdirSync(dir).filter((f) => f.endsWith('.pat'));
    expect(files.length).toBe(72);
    let pitched = 0;
    for (const f of files) {
      const p = parseGusPatch(readFileSync(join(dir, f)), f);
      expect(p.samples.length).toBeGreaterThan(0);
      const program = Number(f.slice(0, 3));
      // pianos, guitars, basses, bowed strings, brass, reeds: steady pitched notes (bells and drums are inharmonic)
      if (!(program < 8 || (program >= 24 && program < 44) || (program >= 56 && program < 72))) continue;
      const out = renderPatchNote(p, { midi: 69, velocity: 90, duration: 1 }, RATE, new Float32Array(RATE));
      // the autocorrelation's peak over periods of 300..1000 Hz (a rich tone has harmonics, so no zero crossings)
      const a = out.subarray(0.1 * RATE, 0.4 * RATE);
      let bestLag = 0, best = -Infinity;
      for (let lag = Math.floor(RATE / 1000); lag <= Math.ceil(RATE / 300); lag++) {
        let sum = 0;
        for (let i = 0; i + lag < a.length; i++) sum += a[i]! * a[i + lag]!;
        if (sum > best) (best = sum), (bestLag = lag);
      }
      expect(RATE / bestLag, f).toBeGreaterThan(440 * 0.98);
      expect(RATE / bestLag, f).toBeLessThan(440 * 1.02);
      pitched++;
    }
    expect(pitched).toBeGreaterThan(30);
  });
});
