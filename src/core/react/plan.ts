/**
 * The reaction plan: what every video frame of a music video does, from the audio features
 * (features.ts) and the model's latent track (docs/music-video.md#the-plan).
 *
 * Per frame i (all Float32Array (frames) unless said):
 * - latent [frames][64]: the track's latent at t_i, smoothed (zero-phase, time constant 2 x smooth),
 *   plus sigma_i x an AR(1) walk (the render's perturbation, redrawn per frame);
 * - steps (Uint8Array): NCA steps this frame, from the speed 0.25 + 2.25 x loud (energy = 1; 1 at
 *   energy 0) accumulated so that fractional speeds average out; at pulse 1, ONSET_STEPS of the budget
 *   moves onto the onsets (weight 1 - beta + beta x onset level / its 2-s mean) and the frames between
 *   onsets take at most OFFBEAT_STEPS, the rest waiting for the next onset (0..4 a frame): the rule moves on the beat;
 * - perturb: sigma_i = 0.6 x energy x loud;
 * - brightness: the mean luma the exposure aims the shown picture at, BRIGHTNESS_QUIET .. BRIGHTNESS_LOUD
 *   with loud at energy 1 (about their middle, swinging energy times as far, at other strengths); the render
 *   finds the frame's gamma (v -> v^gamma) within 2^(+-1.3 x energy) that gives it (effects.ts ExposureAim);
 * - exposure: the gamma of the first exposure (an experiment now, docs/music-video.md#what-was-tried), which
 *   did not look at the picture: 2^(-1.3 x energy x (2 loud - 1)), 0.41 at the loudest, 2.46 at the quietest;
 * - pulse: pulse x onset level x (0.7 + 0.3 loud) (onset level 0..1, 0 below the song's median onset strength);
 * - hue: radians, colour x (centroid level - 0.5) x 240 deg, smoothed (time constant smooth);
 * where loud = the frame's loudness between the song's 10th and 98th percentiles (0..1, smoothed with
 * time constant smooth / 2), centroid level = log2(centroid) between its 5th and 95th percentiles.
 */
import { UserError, invalidParameterError, requireNumber } from '../errors.js';
import { LATENT_DIM } from '../latent.js';
import { Rng } from '../rng.js';
import type { FrameFeatures } from './features.js';

/** Strength of each reaction, 0 (off) .. 4; 1 is the default look. */
export interface ReactStrengths {
  pulse: number;
  energy: number;
  colour: number;
}

export const DEFAULT_REACT: Readonly<ReactStrengths> = Object.freeze({ pulse: 1, energy: 1, colour: 1 });
/** Default --smooth, seconds. */
export const DEFAULT_SMOOTH = 0.2;
export const MAX_STRENGTH = 4;
export const MAX_SMOOTH = 10;
/** Hue swing over the song's centroid range (5th to 95th percentile) at colour = 1, radians (240 deg). */
export const HUE_RANGE = (240 * Math.PI) / 180;
/** How much the pulse's size follows the loudness level (0: onset strength alone; 1: onset x loud). */
export const PULSE_LOUDNESS = 0.3;
/** The exposure's gamma swing at energy 1: 2^-x .. 2^x. */
export const EXPOSURE_OCTAVES = 1.3;
/** The shown picture's mean luma the exposure aims at in the song's quietest and loudest parts (energy 1). */
export const BRIGHTNESS_QUIET = 0.08;
export const BRIGHTNESS_LOUD = 0.4;
/** Share of the NCA's step budget spent on onsets at pulse 1 (0: steps spread evenly). */
export const ONSET_STEPS = 0.5;
/** Most NCA steps on a frame without an onset (onset level under OFFBEAT_LEVEL) when steps follow onsets. */
export const OFFBEAT_STEPS = 1;
export const OFFBEAT_LEVEL = 0.25;
/** Most NCA steps in one video frame. */
export const MAX_STEPS_PER_FRAME = 4;

const REACT_KEYS = ['pulse', 'energy', 'colour'] as const;
const REACT_EXAMPLE = 'e.g. --react pulse=1,energy=0.5,colour=2';

/**
 * Parses `--react`: comma-separated `name=strength` for pulse, energy, colour (or color), each a
 * decimal 0..4; names not given keep 1; `off` turns all three off. Errors are one line naming the fix.
 */
export function parseReact(text: unknown, name = '--react'): ReactStrengths {
  if (typeof text !== 'string') throw invalidParameterError(name, `name=strength pairs (${REACT_EXAMPLE})`, text);
  const s = text.trim();
  if (s === 'off' || s === 'none') return { pulse: 0, energy: 0, colour: 0 };
  if (s === '') throw new UserError(`${name} is empty; give name=strength pairs for pulse, energy, colour (${REACT_EXAMPLE})`);
  const out: ReactStrengths = { ...DEFAULT_REACT };
  const seen = new Set<string>();
  for (const part of s.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*(\S*)\s*$/i.exec(part);
    if (!m) throw new UserError(`${name}: "${part.trim()}" is not name=strength (${REACT_EXAMPLE})`);
    let key = m[1]!.toLowerCase();
    if (key === 'color') key = 'colour';
    if (!(REACT_KEYS as readonly string[]).includes(key)) throw new UserError(`${name}: unknown reaction "${m[1]}"; use pulse, energy or colour (${REACT_EXAMPLE})`);
    if (seen.has(key)) throw new UserError(`${name}: ${key} is given twice; give each reaction once`);
    seen.add(key);
    const v = m[2]!;
    if (!/^[+]?(?:\d+\.?\d*|\.\d+)$/.test(v) || Number(v) > MAX_STRENGTH) {
      throw new UserError(`${name}: ${key}=${v} is not a strength; use a number from 0 (off) to ${MAX_STRENGTH} (1 is the default)`);
    }
    out[key as keyof ReactStrengths] = Number(v);
  }
  return out;
}

/** Checks strengths given to the library (each 0..4). */
export function requireStrengths(name: string, v: unknown): ReactStrengths {
  if (typeof v !== 'object' || v === null) throw invalidParameterError(name, '{ pulse, energy, colour } strengths 0..4', v);
  const r = v as Partial<ReactStrengths>;
  return {
    pulse: requireNumber(`${name}.pulse`, r.pulse ?? 1, 0, MAX_STRENGTH),
    energy: requireNumber(`${name}.energy`, r.energy ?? 1, 0, MAX_STRENGTH),
    colour: requireNumber(`${name}.colour`, r.colour ?? 1, 0, MAX_STRENGTH),
  };
}

/** Checks `--smooth` (seconds, 0..10; 0 = no smoothing). */
export function parseSmooth(v: unknown, name = '--smooth'): number {
  return requireNumber(name, v, 0, MAX_SMOOTH);
}

export interface ReactPlan {
  fps: number;
  frames: number;
  strengths: ReactStrengths;
  smooth: number;
  /** Float32Array (frames, 64): the latent each frame plays. */
  latents: Float32Array;
  steps: Uint8Array;
  perturb: Float32Array;
  /** The mean luma the exposure aims at (0..1) and the gamma bounds it may use, [lo, hi] (1, 1 at energy 0). */
  brightness: Float32Array;
  gammaBounds: readonly [number, number];
  /** The first, open-loop exposure's gamma (the `gamma` exposure experiment). */
  exposure: Float32Array;
  pulse: Float32Array;
  hue: Float32Array;
}

export interface PlanOptions {
  strengths?: ReactStrengths;
  /** Seconds, 0..10 (default DEFAULT_SMOOTH). */
  smooth?: number;
  /** Seed of the perturbation walk (default 0). */
  seed?: number | string;
  /** The model's latents at the frames' times, Float32Array (frames, 64). */
  track: Float32Array;
  /** Share of the step budget moved onto onsets at pulse 1, 0..1 (default ONSET_STEPS; 0 spreads the steps evenly). */
  onsetSteps?: number;
  /**
   * Experiment (docs/music-video.md#what-was-tried, not used): seconds; the hue then follows the log centroid
   * minus its own zero-phase smoothing over this time constant (its changes, not its sections). 0 (default): off.
   */
  hueHighPass?: number;
  /** Share of a pulse's size that follows the loudness, 0..1 (default PULSE_LOUDNESS): size = pulse x onset level x (1 - s + s loud). */
  pulseLoudness?: number;
}

/** The plan of every frame (see the module comment); deterministic for a seed. */
export function reactPlan(features: FrameFeatures, opts: PlanOptions): ReactPlan {
  const { fps, frames } = features;
  const strengths = requireStrengths('strengths', opts.strengths ?? DEFAULT_REACT);
  const smooth = parseSmooth(opts.smooth ?? DEFAULT_SMOOTH, 'smooth');
  if (!(opts.track instanceof Float32Array) || opts.track.length !== frames * LATENT_DIM) {
    throw invalidParameterError('track', `a Float32Array of ${frames} x ${LATENT_DIM} latents`, opts.track instanceof Float32Array ? `${opts.track.length} numbers` : opts.track);
  }
  const { pulse: P, energy: E, colour: C } = strengths;

  const loud = smoothZeroPhase(levels(features.loudness, 0.1, 0.98), (smooth / 2) * fps);
  const onsetLevel = levels(features.onset, 0.5, 0.99);
  const logCentroid = Float32Array.from(features.centroid, (c) => (c > 0 ? Math.log2(c) : NaN));
  holdGaps(logCentroid);
  const highPass = requireNumber('hueHighPass', opts.hueHighPass ?? 0, 0, 60);
  const pulseLoudness = requireNumber('pulseLoudness', opts.pulseLoudness ?? PULSE_LOUDNESS, 0, 1);
  if (highPass > 0) {
    const slow = smoothZeroPhase(logCentroid, highPass * fps);
    for (let i = 0; i < frames; i++) logCentroid[i]! -= slow[i]!;
  }
  const centroidLevel = smoothZeroPhase(levels(logCentroid, 0.05, 0.95), smooth * fps);

  // Onset weights of the step budget: w = (1 - beta) + beta x onset level / its local mean (2-s time constant), mean ~1.
  const beta = Math.min(1, P) * requireNumber('onsetSteps', opts.onsetSteps ?? ONSET_STEPS, 0, 1);
  const onsetMean = smoothZeroPhase(onsetLevel, 2 * fps);
  const steps = new Uint8Array(frames);
  const perturb = new Float32Array(frames), exposure = new Float32Array(frames), brightness = new Float32Array(frames), pulse = new Float32Array(frames), hue = new Float32Array(frames);
  let acc = 0;
  for (let i = 0; i < frames; i++) {
    const l = loud[i]!;
    const speed = E > 0 ? Math.min(1, E) * (0.25 + 2.25 * l) + (1 - Math.min(1, E)) : 1;
    // with onsets near (their local mean level over 0.02), the budget moves onto them and the frames between (onset level under OFFBEAT_LEVEL) take at most OFFBEAT_STEPS
    const near = beta > 0 && onsetMean[i]! > 0.02;
    const w = near ? 1 - beta + (beta * onsetLevel[i]!) / onsetMean[i]! : 1;
    acc += Math.min(MAX_STEPS_PER_FRAME, speed * w);
    // at least one step on the first frame: it shows the NCA, not the start grid (whose first step is a large change)
    const take = Math.max(i === 0 ? 1 : 0, Math.min(near && onsetLevel[i]! < OFFBEAT_LEVEL ? OFFBEAT_STEPS : MAX_STEPS_PER_FRAME, Math.floor(acc)));
    steps[i] = take;
    acc = Math.min(MAX_STEPS_PER_FRAME, acc - take);
    perturb[i] = 0.6 * E * l;
    exposure[i] = 2 ** (-EXPOSURE_OCTAVES * E * (2 * l - 1));
    brightness[i] = Math.min(0.9, Math.max(0.02, (BRIGHTNESS_QUIET + BRIGHTNESS_LOUD) / 2 + E * (l - 0.5) * (BRIGHTNESS_LOUD - BRIGHTNESS_QUIET)));
    pulse[i] = P * onsetLevel[i]! * (1 - pulseLoudness + pulseLoudness * l);
    hue[i] = C * (centroidLevel[i]! - 0.5) * HUE_RANGE;
  }

  // Latents: the track smoothed, plus the perturbation walk.
  const latents = new Float32Array(frames * LATENT_DIM);
  const dim = new Float32Array(frames);
  for (let d = 0; d < LATENT_DIM; d++) {
    for (let i = 0; i < frames; i++) dim[i] = opts.track[i * LATENT_DIM + d]!;
    const s = smoothZeroPhase(dim, 2 * smooth * fps);
    for (let i = 0; i < frames; i++) latents[i * LATENT_DIM + d] = s[i]!;
  }
  const rng = new Rng(opts.seed ?? 0);
  const walk = rng.normalArray(new Float32Array(LATENT_DIM));
  const a = Math.exp(-1 / (0.3 * fps)), b = Math.sqrt(1 - a * a); // AR(1) with a 0.3-s time constant
  for (let i = 0; i < frames; i++) {
    if (i > 0) for (let d = 0; d < LATENT_DIM; d++) walk[d] = a * walk[d]! + b * rng.normal();
    for (let d = 0; d < LATENT_DIM; d++) latents[i * LATENT_DIM + d]! += perturb[i]! * walk[d]!;
  }
  const gammaBounds = [2 ** (-EXPOSURE_OCTAVES * E), 2 ** (EXPOSURE_OCTAVES * E)] as const;
  return { fps, frames, strengths, smooth, latents, steps, perturb, brightness, gammaBounds, exposure, pulse, hue };
}

/** The q-quantile (0..1) of the finite values (linear between order statistics); 0 when there are none. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const v = Array.from(values).filter(Number.isFinite).sort((x, y) => x - y);
  if (v.length === 0) return 0;
  const p = q * (v.length - 1), lo = Math.floor(p), hi = Math.ceil(p);
  return v[lo]! + (v[hi]! - v[lo]!) * (p - lo);
}

/** Values mapped to 0..1 between their lo-quantile and hi-quantile (clipped); all 0 when the range is empty. */
export function levels(values: Float32Array, lo: number, hi: number): Float32Array {
  const a = quantile(values, lo), b = quantile(values, hi);
  const out = new Float32Array(values.length);
  if (!(b - a > 1e-9)) return out;
  for (let i = 0; i < values.length; i++) out[i] = Math.min(1, Math.max(0, (values[i]! - a) / (b - a)));
  return out;
}

/** Forward-then-backward exponential smoothing (no lag) with a time constant of `tau` frames; a copy when tau < 0.5. */
export function smoothZeroPhase(values: Float32Array, tau: number): Float32Array {
  const out = Float32Array.from(values);
  if (!(tau >= 0.5) || out.length === 0) return out;
  const a = Math.exp(-1 / tau);
  for (let i = 1; i < out.length; i++) out[i] = a * out[i - 1]! + (1 - a) * out[i]!;
  for (let i = out.length - 2; i >= 0; i--) out[i] = a * out[i + 1]! + (1 - a) * out[i]!;
  return out;
}

/** Fills NaN gaps (silent frames without a centroid) with the previous value (the next one at the start; 0 when all are NaN). */
function holdGaps(v: Float32Array): void {
  const first = v.findIndex(Number.isFinite);
  if (first < 0) return void v.fill(0);
  for (let i = 0; i < first; i++) v[i] = v[first]!;
  for (let i = first + 1; i < v.length; i++) if (!Number.isFinite(v[i]!)) v[i] = v[i - 1]!;
}
