/**
 * What recordings add to a clean note, applied to training clips (docs/audio.md#augmentation): a room
 * (a small Schroeder reverb), an EQ tilt (a one-pole shelf towards bass or treble), background noise
 * at a signal-to-noise ratio, and a gain. Detune and vibrato are played by the soundfont's pitch wheel
 * (soundfont.ts), not here. Every draw comes from the Rng given, so a dataset is deterministic.
 */
import type { Rng } from '../rng.js';

/** The augmentation of one clip; each part is off when absent. */
export interface Augmentation {
  /** Wet share 0..1 and decay time (seconds to -60 dB) of the room. */
  reverb?: { wet: number; seconds: number };
  /** -1 (dull: treble cut) .. +1 (bright: bass cut). */
  tilt?: number;
  /** Background noise (white or pink) this many dB below the clip's RMS. */
  noise?: { snrDb: number; colour: 'white' | 'pink' };
  /** Peak level 0..1 after everything else. */
  peak?: number;
}

/** How often each part is drawn, and its ranges (chosen before training; docs/audio.md says why). */
export const AUGMENT_RECIPE = {
  reverb: { p: 0.5, wet: [0.1, 0.45], seconds: [0.2, 1.6] },
  tilt: { p: 0.5, range: 0.8 },
  noise: { p: 0.4, snrDb: [15, 40] },
  peak: [0.2, 0.95],
  detune: { p: 0.5, cents: 20 },
  vibrato: { p: 0.3, cents: [5, 35], rateHz: [4, 7] },
} as const;

const between = (rng: Rng, [lo, hi]: readonly [number, number]) => lo + (hi - lo) * rng.uniform();

/** Draws an augmentation for one clip (AUGMENT_RECIPE). */
export function drawAugmentation(rng: Rng): Augmentation {
  const r = AUGMENT_RECIPE;
  const a: Augmentation = { peak: between(rng, r.peak) };
  if (rng.uniform() < r.reverb.p) a.reverb = { wet: between(rng, r.reverb.wet), seconds: between(rng, r.reverb.seconds) };
  if (rng.uniform() < r.tilt.p) a.tilt = (2 * rng.uniform() - 1) * r.tilt.range;
  if (rng.uniform() < r.noise.p) a.noise = { snrDb: between(rng, r.noise.snrDb), colour: rng.uniform() < 0.5 ? 'white' : 'pink' };
  return a;
}

/** Draws the pitch-wheel part of an augmentation: detune in cents and an optional vibrato. */
export function drawPitchWobble(rng: Rng): { detuneCents: number; vibrato?: { cents: number; rateHz: number } } {
  const r = AUGMENT_RECIPE;
  const detuneCents = rng.uniform() < r.detune.p ? (2 * rng.uniform() - 1) * r.detune.cents : 0;
  const vibrato = rng.uniform() < r.vibrato.p ? { cents: between(rng, r.vibrato.cents), rateHz: between(rng, r.vibrato.rateHz) } : undefined;
  return vibrato ? { detuneCents, vibrato } : { detuneCents };
}

/** Applies `a` to mono samples in place (and returns them). `rng` draws the noise. */
export function augment(samples: Float32Array, sampleRate: number, a: Augmentation, rng: Rng): Float32Array {
  if (a.tilt !== undefined && a.tilt !== 0) tiltInPlace(samples, sampleRate, a.tilt);
  if (a.reverb) reverbInPlace(samples, sampleRate, a.reverb.wet, a.reverb.seconds);
  if (a.noise) addNoise(samples, a.noise.snrDb, a.noise.colour, rng);
  if (a.peak !== undefined) {
    let peak = 0;
    for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]!));
    if (peak > 0) {
      const g = a.peak / peak;
      for (let i = 0; i < samples.length; i++) samples[i] = samples[i]! * g;
    }
  }
  return samples;
}

/** A one-pole split at ~800 Hz: tilt > 0 lowers the lows, tilt < 0 lowers the highs, by up to |tilt| x 100%. */
function tiltInPlace(x: Float32Array, sampleRate: number, tilt: number): void {
  const k = Math.exp((-2 * Math.PI * 800) / sampleRate);
  let low = 0;
  for (let i = 0; i < x.length; i++) {
    low = (1 - k) * x[i]! + k * low;
    const high = x[i]! - low;
    x[i] = tilt > 0 ? high + (1 - tilt) * low : low + (1 + tilt) * high;
  }
}

/** Schroeder's reverb: four parallel feedback combs, then two all-passes; `seconds` sets the combs' decay to -60 dB. */
function reverbInPlace(x: Float32Array, sampleRate: number, wet: number, seconds: number): void {
  const scale = sampleRate / 44100;
  const combs = [1557, 1617, 1491, 1422].map((d) => Math.max(1, Math.round(d * scale)));
  const allpasses = [225, 556].map((d) => Math.max(1, Math.round(d * scale)));
  const out = new Float32Array(x.length);
  for (const d of combs) {
    const g = Math.pow(10, (-3 * d) / (seconds * sampleRate));
    const line = new Float32Array(d);
    for (let i = 0, j = 0; i < x.length; i++, j = j + 1 === d ? 0 : j + 1) {
      const y = line[j]!;
      line[j] = x[i]! + g * y;
      out[i] = out[i]! + y / combs.length;
    }
  }
  for (const d of allpasses) {
    const g = 0.5;
    const line = new Float32Array(d);
    for (let i = 0, j = 0; i < out.length; i++, j = j + 1 === d ? 0 : j + 1) {
      const delayed = line[j]!;
      const v = out[i]! + g * delayed;
      line[j] = v;
      out[i] = delayed - g * v;
    }
  }
  for (let i = 0; i < x.length; i++) x[i] = (1 - wet) * x[i]! + wet * out[i]!;
}

/** Adds white or pink (Paul Kellet's filter) noise `snrDb` below the signal's RMS. */
function addNoise(x: Float32Array, snrDb: number, colour: 'white' | 'pink', rng: Rng): void {
  let power = 0;
  for (let i = 0; i < x.length; i++) power += x[i]! * x[i]!;
  const rms = Math.sqrt(power / Math.max(1, x.length));
  if (rms === 0) return;
  const noise = new Float32Array(x.length);
  rng.fillNormal(noise);
  if (colour === 'pink') {
    let b0 = 0, b1 = 0, b2 = 0;
    for (let i = 0; i < noise.length; i++) {
      const w = noise[i]!;
      b0 = 0.99765 * b0 + w * 0.099046;
      b1 = 0.963 * b1 + w * 0.2965164;
      b2 = 0.57 * b2 + w * 1.0526913;
      noise[i] = b0 + b1 + b2 + w * 0.1848;
    }
  }
  let np = 0;
  for (let i = 0; i < noise.length; i++) np += noise[i]! * noise[i]!;
  const g = (rms * Math.pow(10, -snrDb / 20)) / Math.sqrt(np / noise.length);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + g * noise[i]!;
}
