import { UserError, invalidParameterError } from '../errors.js';
import { Rng } from '../rng.js';

/**
 * The instruments nca synthesises its training sounds with (docs/design.md#training-data). Each is a small
 * physical or spectral model with its own harmonic spectrum, envelope and quirks:
 *
 * | instrument | model |
 * |---|---|
 * | piano | stiff-string partials f_n = n f0 sqrt(1 + B n^2) (inharmonicity B grows with pitch), hammer-position comb, per-partial exponential decay (faster for high partials), two detuned strings beating, hammer thump |
 * | violin | bowed sawtooth spectrum (1/n) shaped by body resonances, slow bow attack, delayed 5.5 Hz vibrato, bow noise, slow bow-pressure wobble |
 * | guitar | Karplus-Strong plucked string: noise burst (pluck position comb, velocity-dependent brightness) in a tuned delay loop with averaging loss and an allpass fractional delay |
 * | flute | nearly sinusoidal (weak 2nd/3rd harmonics), band-passed breath noise with an attack "chiff", delayed vibrato with tremolo |
 * | clarinet | odd harmonics strong, even ones weak (closed cylindrical bore), roll-off above ~1.8 kHz, quick attack, no vibrato |
 * | xylophone | inharmonic bar modes (1, 3, 6.27, 9.92 x f0) each with a fast exponential decay, mallet click |
 * | organ | drawbar additive (16', 8', 5 1/3', 4', 2 2/3', 2', 1 3/5', 1 1/3', 1'), flat sustain, key click, rotary tremolo |
 * | trumpet | brass spectrum with a formant near 1.2 kHz, tilted by velocity, whose high partials enter later in the attack (env^(1 + 0.35 (n-1))), pitch scoop, vibrato |
 *
 * Output is mono float in [-1, 1] at `sampleRate`, deterministic for the seed (noise uses Rng).
 * Peak level is (0.3 + 0.6 x velocity).
 */

export const INSTRUMENTS = ['piano', 'violin', 'guitar', 'flute', 'clarinet', 'xylophone', 'organ', 'trumpet'] as const;
export type Instrument = (typeof INSTRUMENTS)[number];

export interface SynthOptions {
  instrument: Instrument;
  /** MIDI note number (69 = A4 = 440 Hz), 12..120 (fractional allowed). */
  midi: number;
  /** Length of the clip in seconds, (0, 60]. Default 2. */
  duration?: number;
  /** Velocity in [0, 1]: loudness and brightness. Default 0.8. */
  velocity?: number;
  /** Sample rate in Hz. Default 22050. */
  sampleRate?: number;
  /** Seed for the noise components. Default 0. */
  seed?: number | string;
}

const NOTE_OFFSETS: Record<string, number> = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };
const SHARP_NAMES = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];

/**
 * Parse a note. Either a name: a letter A-G (either case), at most one accidental (# or s for
 * sharp, b for flat, or ♯ ♭), an octave from -1 to 9, and optionally a detune in cents from -50 to
 * +50 ("A4", "F#4", "Bb3", "C-1", "a4", "A4+50c", "C#5-25c"); or a MIDI number from 0 to 127,
 * fractions allowed ("69", "69.5"). Scientific pitch: C4 = 60, A4 = 69. Returns the MIDI number
 * (fractional for a detuned or fractional note; noteName labels it with its cents).
 */
export function parseNote(text: string, optionName = '--note'): number {
  const s = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    if (n < 0 || n > 127) throw invalidParameterError(optionName, 'a MIDI number between 0 and 127 or a note name like A4, F#4, Bb3', text);
    return n;
  }
  const m = /^([A-Ga-g])(#|b|♯|♭|s)?(-1|\d)(?:([+-]\d{1,2})c)?$/.exec(s);
  if (!m) throw invalidParameterError(optionName, 'a note name like A4, F#4, Bb3 (a letter, at most one accidental, an octave from -1 to 9) or a MIDI number like 69', text);
  const accidental = m[2] === undefined ? 0 : m[2] === 'b' || m[2] === '♭' ? -1 : 1;
  const cents = m[4] === undefined ? 0 : Number(m[4]);
  if (cents < -50 || cents > 50) throw invalidParameterError(optionName, 'a detune between -50c and +50c (past that, name the next note)', text);
  const midi = (Number(m[3]) + 1) * 12 + NOTE_OFFSETS[m[1]!.toUpperCase()]! + accidental + cents / 100;
  if (midi < 0 || midi > 127) throw invalidParameterError(optionName, 'a note between C-1 and G9', text);
  return midi;
}

/**
 * Name of a MIDI note with sharps: 69 -> "A4", 66 -> "F#4". A fractional MIDI number is named by
 * its nearest note and the detune in cents, so the label says the pitch that sounds:
 * 69.25 -> "A4+25c", 69.5 -> "A#4-50c" (452.9 Hz). parseNote reads these names back.
 */
export function noteName(midi: number): string {
  const n = Math.round(midi);
  const cents = Math.round((midi - n) * 100);
  const name = `${SHARP_NAMES[((n % 12) + 12) % 12]}${Math.floor(n / 12) - 1}`;
  return cents === 0 ? name : `${name}${cents > 0 ? '+' : ''}${cents}c`;
}

/** Equal-tempered frequency of a MIDI note (A4 = 440 Hz). */
export function midiToHz(midi: number): number {
  return 440 * 2 ** ((midi - 69) / 12);
}

/** The 19 notes of the seed's keyboard: F4 (65) .. B5 (83). */
export const KEYBOARD_NOTES: readonly number[] = Array.from({ length: 19 }, (_, i) => 65 + i);

/** Synthesise one note. Returns Float32Array (round(duration * sampleRate)) mono samples. */
export function synthesize(opts: SynthOptions): Float32Array {
  const sampleRate = opts.sampleRate ?? 22050;
  const duration = opts.duration ?? 2;
  const velocity = opts.velocity ?? 0.8;
  if (!(INSTRUMENTS as readonly string[]).includes(opts.instrument)) throw invalidParameterError('--instrument', `one of ${INSTRUMENTS.join(', ')}`, opts.instrument);
  if (!(opts.midi >= 12 && opts.midi <= 120)) throw invalidParameterError('--note', 'a note between C0 (12) and C9 (120)', opts.midi);
  if (!(duration > 0 && duration <= 60)) throw invalidParameterError('--duration', 'a number of seconds in (0, 60]', duration);
  if (!(velocity >= 0 && velocity <= 1)) throw invalidParameterError('--velocity', 'a number between 0 and 1', velocity);
  if (!(sampleRate >= 8000 && sampleRate <= 192000)) throw invalidParameterError('sampleRate', 'a rate between 8000 and 192000 Hz', sampleRate);
  const n = Math.max(1, Math.round(duration * sampleRate));
  const ctx: Ctx = { sr: sampleRate, n, f0: midiToHz(opts.midi), midi: opts.midi, velocity, duration, rng: new Rng(opts.seed ?? 0) };
  const out = new Float32Array(n);
  VOICES[opts.instrument](ctx, out);
  finish(out, sampleRate, 0.3 + 0.6 * velocity);
  return out;
}

interface Ctx {
  sr: number;
  n: number;
  f0: number;
  midi: number;
  velocity: number;
  duration: number;
  rng: Rng;
}

const TWO_PI = 2 * Math.PI;

/** Highest partial frequency synthesised: below 0.45 x the sample rate (no aliasing). */
const maxPartialHz = (sr: number): number => 0.45 * sr;

/**
 * Attack-sustain-release envelope over the clip: linear attack to 1, hold, exponential-ish release
 * that starts `release` s before the end (the note is let go then). Float32Array (n).
 */
function asrEnvelope(ctx: Ctx, attack: number, release: number): Float32Array {
  const env = new Float32Array(ctx.n);
  const releaseStart = Math.max(attack, ctx.duration - release);
  for (let i = 0; i < ctx.n; i++) {
    const t = i / ctx.sr;
    let a = t < attack ? t / attack : 1;
    if (t > releaseStart) a *= Math.max(0, 1 - (t - releaseStart) / release) ** 2;
    env[i] = a;
  }
  return env;
}

/** Vibrato as a relative frequency deviation per sample, fading in after `delay` s. Float32Array (n). */
function vibrato(ctx: Ctx, rate: number, depth: number, delay: number): Float32Array {
  const v = new Float32Array(ctx.n);
  const phase = ctx.rng.uniform() * TWO_PI;
  for (let i = 0; i < ctx.n; i++) {
    const t = i / ctx.sr;
    const ramp = t < delay ? 0 : Math.min(1, (t - delay) / 0.3);
    v[i] = depth * ramp * Math.sin(TWO_PI * rate * t + phase);
  }
  return v;
}

/**
 * Add one sinusoidal partial: out[i] += amp * env[i] * sin(phase), the phase advancing by
 * 2 pi freq (1 + fm[i]) / sr. env and fm are optional (1 and 0).
 */
function addPartial(out: Float32Array, sr: number, freq: number, amp: number, env: Float32Array | null, fm: Float32Array | null, phase0 = 0): void {
  const inc = (TWO_PI * freq) / sr;
  let phase = phase0;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    out[i] += amp * (env ? env[i]! : 1) * Math.sin(phase);
    phase += fm ? inc * (1 + fm[i]!) : inc;
    if (phase > TWO_PI) phase -= TWO_PI;
  }
}

/** Add a partial with exponential decay exp(-rate t) times an optional envelope. */
function addDecayingPartial(out: Float32Array, sr: number, freq: number, amp: number, rate: number, env: Float32Array | null, phase0 = 0): void {
  const inc = (TWO_PI * freq) / sr;
  const decay = Math.exp(-rate / sr);
  let phase = phase0;
  let a = amp;
  for (let i = 0; i < out.length; i++) {
    out[i] += a * (env ? env[i]! : 1) * Math.sin(phase);
    phase += inc;
    if (phase > TWO_PI) phase -= TWO_PI;
    a *= decay;
    if (a < 1e-7 * amp) break;
  }
}

/** Filtered noise: white noise through a two-pole resonator at `centre` Hz with bandwidth `bandwidth` Hz. */
function bandNoise(ctx: Ctx, centre: number, bandwidth: number): Float32Array {
  const noise = new Float32Array(ctx.n);
  ctx.rng.fillNormal(noise);
  const r = Math.exp((-Math.PI * bandwidth) / ctx.sr);
  const c = Math.min(0.999, centre / (ctx.sr / 2));
  const a1 = -2 * r * Math.cos(Math.PI * c);
  const a2 = r * r;
  const gain = 1 - r;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < ctx.n; i++) {
    const y = gain * noise[i]! - a1 * y1 - a2 * y2;
    y2 = y1;
    y1 = y;
    noise[i] = y;
  }
  return noise;
}

/** Normalise the peak to `level` and fade the last 10 ms (no click at the cut). */
function finish(out: Float32Array, sr: number, level: number): void {
  const fade = Math.min(out.length, Math.round(0.01 * sr));
  for (let i = 0; i < fade; i++) out[out.length - 1 - i] *= i / fade;
  let peak = 0;
  for (let i = 0; i < out.length; i++) peak = Math.max(peak, Math.abs(out[i]!));
  if (peak > 0) {
    const g = level / peak;
    for (let i = 0; i < out.length; i++) out[i] *= g;
  }
}

const VOICES: Record<Instrument, (ctx: Ctx, out: Float32Array) => void> = {
  piano(ctx, out) {
    const { sr, f0, velocity } = ctx;
    // Inharmonicity grows with pitch (shorter, stiffer strings).
    const B = 1.5e-4 * 2 ** ((ctx.midi - 60) / 18);
    const strike = 1 / 7.3; // hammer at ~1/7 of the string: partials near 7, 14 are weak
    const rolloff = 1.5 - 0.7 * velocity; // harder strike -> brighter
    const baseDecay = 0.9 + 0.045 * Math.max(0, ctx.midi - 48); // 1/s
    const damper = asrEnvelope(ctx, 0.003, 0.12);
    for (const detune of [1 - 0.0007, 1 + 0.0007]) {
      for (let k = 1; k <= 40; k++) {
        const f = k * f0 * Math.sqrt(1 + B * k * k) * detune;
        if (f > maxPartialHz(sr)) break;
        const amp = (0.5 * Math.abs(Math.sin(Math.PI * k * strike))) / k ** rolloff;
        addDecayingPartial(out, sr, f, amp, baseDecay * (1 + 0.35 * (k - 1) + (f / 3000) ** 2), damper, ctx.rng.uniform() * TWO_PI);
      }
    }
    // hammer thump: a short low-passed noise burst
    const thump = bandNoise(ctx, Math.min(3000, 4 * f0), 2000);
    const len = Math.round(0.015 * sr);
    for (let i = 0; i < len && i < out.length; i++) out[i] += 0.6 * velocity * thump[i]! * (1 - i / len);
  },

  violin(ctx, out) {
    const { sr, f0, velocity } = ctx;
    const env = asrEnvelope(ctx, 0.09 + 0.08 * (1 - velocity), 0.15);
    // slow random bow-pressure wobble (a smoothed random walk, +-6 %)
    const wobble = new Float32Array(ctx.n);
    let w = 0;
    let target = 0;
    for (let i = 0; i < ctx.n; i++) {
      if (i % 2205 === 0) target = (ctx.rng.uniform() - 0.5) * 0.12;
      w += (target - w) * 0.0005;
      wobble[i] = env[i]! * (1 + w);
    }
    const vib = vibrato(ctx, 5.5, 0.006, 0.25);
    // body resonances (Hz, width, gain)
    const body: Array<[number, number, number]> = [
      [280, 60, 1.2],
      [460, 90, 1.5],
      [1100, 250, 0.6],
      [2800, 500, 1.3],
      [3600, 600, 0.8],
    ];
    const bodyGain = (f: number): number => 0.35 + body.reduce((s, [c, wd, g]) => s + g / (1 + ((f - c) / wd) ** 2), 0);
    for (let k = 1; k <= 60; k++) {
      const f = k * f0;
      if (f * 1.01 > maxPartialHz(sr)) break;
      addPartial(out, sr, f, (bodyGain(f) / k) * (k === 1 ? 0.8 : 1), wobble, vib, ctx.rng.uniform() * TWO_PI);
    }
    const bow = bandNoise(ctx, 3000, 3000);
    for (let i = 0; i < ctx.n; i++) out[i] += 0.15 * bow[i]! * env[i]!;
  },

  guitar(ctx, out) {
    const { sr, f0, velocity } = ctx;
    // Loop delay L = sr / f0 = N (buffer) + rho (the two-tap loss filter) + frac (allpass).
    // rho < 0.5 damps high partials less than plain averaging; high notes (few samples per
    // period, where averaging would kill the string in a fraction of a second) get a small rho.
    const rho = Math.min(0.45, Math.max(0.08, 0.45 - 0.012 * (ctx.midi - 45)));
    const L = sr / f0;
    let N = Math.floor(L - rho);
    let frac = L - rho - N;
    if (frac < 0.1) {
      N -= 1;
      frac += 1;
    }
    const C = (1 - frac) / (1 + frac);
    // Loss per period so that the note falls 60 dB in t60 seconds (shorter for high notes).
    const t60 = Math.max(1.5, 7 - 0.08 * (ctx.midi - 40));
    const loss = 10 ** (-3 / (t60 * f0));
    // Excitation: a noise burst one period long, low-passed (softer = duller), with a pluck-position comb.
    const burst = new Float32Array(N);
    const smooth = 0.15 + 0.6 * (1 - velocity);
    let s = 0;
    for (let i = 0; i < N; i++) {
      s += (1 - smooth) * (ctx.rng.uniform() * 2 - 1 - s);
      burst[i] = s;
    }
    const pluck = Math.max(1, Math.round(N * 0.13));
    const excitation = new Float32Array(N);
    for (let i = 0; i < N; i++) excitation[i] = burst[i]! - (i >= pluck ? burst[i - pluck]! : 0);
    const mean = excitation.reduce((a, v) => a + v, 0) / N;
    for (let i = 0; i < N; i++) excitation[i] -= mean; // no DC circulating in the loop
    const buffer = new Float32Array(N + 2); // circular delay line
    let write = 0;
    let apIn = 0;
    let apOut = 0;
    const damper = asrEnvelope(ctx, 0.0005, 0.08);
    for (let i = 0; i < ctx.n; i++) {
      const size = N + 2;
      const a = buffer[(write - N + size * 2) % size]!;
      const b = buffer[(write - N - 1 + size * 2) % size]!;
      const avg = ((1 - rho) * a + rho * b) * loss;
      const ap = C * avg + apIn - C * apOut;
      apIn = avg;
      apOut = ap;
      const y = (i < N ? excitation[i]! : 0) + ap;
      buffer[write] = y;
      write = (write + 1) % size;
      out[i] = y * damper[i]!;
    }
    // a touch of body (one-pole low-pass blended in), then a DC blocker
    let lp = 0;
    let x1 = 0;
    let y1 = 0;
    const r = 1 - (TWO_PI * 20) / sr;
    for (let i = 0; i < ctx.n; i++) {
      lp += 0.2 * (out[i]! - lp);
      const x = 0.7 * out[i]! + 0.6 * lp;
      y1 = x - x1 + r * y1;
      x1 = x;
      out[i] = y1;
    }
  },

  flute(ctx, out) {
    const { sr, f0, velocity } = ctx;
    const env = asrEnvelope(ctx, 0.07 + 0.05 * (1 - velocity), 0.12);
    const vib = vibrato(ctx, 5.0, 0.004, 0.3);
    const tremolo = new Float32Array(ctx.n);
    for (let i = 0; i < ctx.n; i++) tremolo[i] = env[i]! * (1 + 4 * vib[i]!);
    const amps = [1, 0.22 + 0.15 * velocity, 0.1, 0.04, 0.025];
    amps.forEach((a, j) => {
      const f = (j + 1) * f0;
      if (f < maxPartialHz(sr)) addPartial(out, sr, f, a, tremolo, vib, ctx.rng.uniform() * TWO_PI);
    });
    // breath: band noise around the 2nd harmonic plus a broadband hiss, louder in the attack (chiff)
    const breath = bandNoise(ctx, Math.min(0.4 * sr, 2 * f0), 600);
    const hiss = bandNoise(ctx, Math.min(0.4 * sr, 5000), 4000);
    for (let i = 0; i < ctx.n; i++) {
      const t = i / sr;
      const chiff = Math.exp(-t / 0.05);
      out[i] += env[i]! * (0.35 * breath[i]! + 0.12 * hiss[i]!) + 0.3 * chiff * hiss[i]! * Math.min(1, t / 0.01);
    }
  },

  clarinet(ctx, out) {
    const { sr, f0, velocity } = ctx;
    const env = asrEnvelope(ctx, 0.035, 0.08);
    const cutoff = 1200 + 1200 * velocity;
    for (let k = 1; k <= 40; k++) {
      const f = k * f0;
      if (f > maxPartialHz(sr)) break;
      const odd = k % 2 === 1;
      const amp = ((odd ? 1 : 0.04) / k ** 0.7) / (1 + (f / cutoff) ** 2);
      addPartial(out, sr, f, amp, env, null, ctx.rng.uniform() * TWO_PI);
    }
    const breath = bandNoise(ctx, 2500, 2000);
    for (let i = 0; i < ctx.n; i++) out[i] += 0.04 * breath[i]! * env[i]!;
  },

  xylophone(ctx, out) {
    const { sr, f0, velocity } = ctx;
    const ratios = [1, 3.0, 6.27, 9.92, 14.2];
    const amps = [1, 0.45 * (0.5 + velocity), 0.2 * velocity + 0.05, 0.12 * velocity, 0.06 * velocity];
    const pitchScale = 2 ** ((ctx.midi - 72) / 24);
    const rates = [4, 12, 22, 35, 50].map((r) => r * pitchScale);
    const attack = asrEnvelope(ctx, 0.001, 0.05);
    ratios.forEach((ratio, j) => {
      const f = ratio * f0;
      if (f < maxPartialHz(sr)) addDecayingPartial(out, sr, f, amps[j]!, rates[j]!, attack, ctx.rng.uniform() * TWO_PI);
    });
    // mallet click
    const click = bandNoise(ctx, Math.min(0.4 * sr, 3500 + 3000 * velocity), 4000);
    const len = Math.round(0.006 * sr);
    for (let i = 0; i < len && i < out.length; i++) out[i] += 1.5 * velocity * click[i]! * (1 - i / len);
  },

  organ(ctx, out) {
    const { sr, f0 } = ctx;
    const env = asrEnvelope(ctx, 0.008, 0.05);
    // rotary tremolo, 6 Hz +-10 %
    const rot = new Float32Array(ctx.n);
    for (let i = 0; i < ctx.n; i++) rot[i] = env[i]! * (1 + 0.1 * Math.sin((TWO_PI * 6 * i) / sr));
    const drawbars: Array<[number, number]> = [
      [0.5, 0.55],
      [1, 1],
      [1.5, 0.6],
      [2, 0.55],
      [3, 0.3],
      [4, 0.35],
      [5, 0.12],
      [6, 0.12],
      [8, 0.2],
    ];
    for (const [ratio, level] of drawbars) {
      const f = ratio * f0;
      if (f < maxPartialHz(sr)) addPartial(out, sr, f, level, rot, null, ctx.rng.uniform() * TWO_PI);
    }
    // key click
    const click = bandNoise(ctx, 2500, 5000);
    const len = Math.round(0.004 * sr);
    for (let i = 0; i < len && i < out.length; i++) out[i] += 0.8 * click[i]! * (1 - i / len);
  },

  trumpet(ctx, out) {
    const { sr, f0, velocity } = ctx;
    const env = asrEnvelope(ctx, 0.045, 0.1);
    const vib = vibrato(ctx, 5.2, 0.003, 0.35);
    // pitch scoop: starts 3 % flat, settles in 50 ms
    for (let i = 0; i < ctx.n; i++) vib[i] -= 0.03 * Math.exp(-i / sr / 0.02);
    const formant = (f: number): number => 0.4 + 1.6 * Math.exp(-(((f - 1200) / 700) ** 2));
    const partialEnv = new Float32Array(ctx.n);
    for (let k = 1; k <= 40; k++) {
      const f = k * f0;
      if (f * 1.01 > maxPartialHz(sr)) break;
      // high partials grow faster than linearly with loudness: brassy brightening
      const exponent = 1 + (0.35 + 0.25 * (1 - velocity)) * (k - 1);
      for (let i = 0; i < ctx.n; i++) partialEnv[i] = env[i]! ** exponent;
      // softer playing tilts the spectrum down (fewer strong high partials)
      addPartial(out, sr, f, formant(f) / k ** (0.3 + 0.9 * (1 - velocity)), partialEnv, vib, ctx.rng.uniform() * TWO_PI);
    }
  },
};

/** Check an instrument name (for commands). */
export function parseInstrument(value: unknown, optionName = '--instrument'): Instrument {
  const v = String(value).toLowerCase();
  if (!(INSTRUMENTS as readonly string[]).includes(v)) throw new UserError(`expected one of ${INSTRUMENTS.join(', ')} for ${optionName} but received ${JSON.stringify(value)}`);
  return v as Instrument;
}
