/**
 * Does the picture follow the music? Measured from the rendered frames and the audio alone
 * (docs/music-video.md#the-measure). Per video frame (features.ts for the audio):
 * - visual change: mean |frame_i - frame_{i-1}| over the RGB values (0..1); frame 0 has none;
 * - visual energy: mean luma (0.299 R + 0.587 G + 0.114 B, 0..1), i.e. brightness;
 * - contrast: the spatial standard deviation of luma (0..0.5): how much pattern the frame shows (a flat field
 *   is 0, whatever its brightness); frames under FLAT_CONTRAST count as flat (`flatFraction`);
 * - hue: the angle of the frame's mean opponent colour (a = R - (G + B) / 2, b = sqrt(3) / 2 (G - B)),
 *   the circular mean of the pixels' hues weighted by their chroma.
 * Scores (frames 1.. only): Pearson r of onset strength and visual change at the best lag of 0..maxLag
 * frames (the picture after the sound); r of loudness (dB) and visual energy; the circular-linear
 * correlation (Mardia) of log2 spectral centroid and hue (and of the centroid in Hz); silent frames
 * (no centroid) keep the last sounding frame's centroid.
 * Each with a control: the same score (the same lag search, the same circular-linear fit) with the audio
 * features shifted circularly, its median |value| over the shifts (controlShifts: every whole frame from 4
 * to 13 s, a grid tied to no tempo), and the control of a perfect follower over the same shifts: the
 * song's own floor, what a picture that followed the feature exactly would score on the shifted audio.
 */
import { invalidParameterError, requireInt, requireNumber } from '../errors.js';
import type { FrameFeatures } from './features.js';
import { levels } from './plan.js';
import { median, pearson } from '../stats.js';

export interface VisualSeries {
  change: Float32Array;
  energy: Float32Array;
  hue: Float32Array;
  contrast: Float32Array;
}

/**
 * A frame whose luma varies across it by less than this (spatial std, 0..1) shows no pattern to speak of: a flat
 * or nearly flat field (docs/music-video.md#flat-frames).
 */
export const FLAT_CONTRAST = 0.03;

/** The fraction of frames whose contrast is under FLAT_CONTRAST (0 for no frames). */
export function flatFraction(contrast: Float32Array): number {
  let flat = 0;
  for (const c of contrast) if (c < FLAT_CONTRAST) flat++;
  return contrast.length ? flat / contrast.length : 0;
}

/** Collects the visual series of frames given one by one (RGBA bytes, width x height x 4). */
export class FrameMeter {
  private readonly previous: Uint8Array;
  private readonly change: number[] = [];
  private readonly energy: number[] = [];
  private readonly hue: number[] = [];
  private readonly contrast: number[] = [];

  constructor(readonly width: number, readonly height: number) {
    requireInt('width', width, 1, 16384);
    requireInt('height', height, 1, 16384);
    this.previous = new Uint8Array(width * height * 4);
  }

  push(rgba: Uint8Array): void {
    const n = this.width * this.height;
    if (!(rgba instanceof Uint8Array) || rgba.length !== n * 4) throw invalidParameterError('rgba', `${n * 4} bytes (RGBA)`, rgba instanceof Uint8Array ? `${rgba.length} bytes` : rgba);
    let diff = 0, luma = 0, luma2 = 0, sa = 0, sb = 0;
    const first = this.change.length === 0;
    for (let p = 0; p < n * 4; p += 4) {
      const r = rgba[p]!, g = rgba[p + 1]!, b = rgba[p + 2]!;
      if (!first) diff += Math.abs(r - this.previous[p]!) + Math.abs(g - this.previous[p + 1]!) + Math.abs(b - this.previous[p + 2]!);
      const y = 0.299 * r + 0.587 * g + 0.114 * b;
      luma += y;
      luma2 += y * y;
      sa += r - (g + b) / 2;
      sb += g - b;
    }
    this.previous.set(rgba);
    this.change.push(first ? 0 : diff / (3 * n * 255));
    this.energy.push(luma / (n * 255));
    this.hue.push(Math.atan2((Math.sqrt(3) / 2) * sb, sa));
    const mean = luma / n;
    this.contrast.push(Math.sqrt(Math.max(0, luma2 / n - mean * mean)) / 255);
  }

  series(): VisualSeries {
    return { change: Float32Array.from(this.change), energy: Float32Array.from(this.energy), hue: Float32Array.from(this.hue), contrast: Float32Array.from(this.contrast) };
  }
}

/** The controls' shifts by default: every whole frame from 4 to 13 s (seconds). */
export const CONTROL_SECONDS: readonly [number, number] = [4, 13];

export interface Score {
  r: number;
  /** The median |score| with the audio features shifted circularly by each of the shifts. */
  control: number;
  /** The largest |score| over the shifts. */
  controlMax: number;
  /**
   * The control of a perfect follower (a picture whose change is the onset strength, whose brightness is
   * the loudness, whose hue is the log centroid over 240 deg between its 5th and 95th percentiles) over the
   * same shifts: how much the song resembles itself shifted. A picture that follows the music cannot be
   * expected to score under about r x this.
   */
  follower: number;
}

export interface ReactionScores {
  frames: number;
  /** The controls' circular shifts, frames. */
  shifts: number[];
  onsetChange: Score & { lag: number };
  loudnessEnergy: Score;
  centroidHue: Score;
  /** The centroid in Hz instead of log2 Hz. */
  centroidHzHue: Score;
  /**
   * How much the song resembles itself shifted: the median over the shifts of |Pearson r| of onset,
   * loudness and log2 centroid with their shifted selves (at lag 0).
   */
  selfSimilarity: { onset: number; loudness: number; centroid: number };
  /** Degrees the hue moves over the excerpt: the 95th minus the 5th percentile of the unwrapped hue. */
  hueSwingDegrees: number;
}

/**
 * The controls' circular shifts (frames) for a clip of `frames` frames: every whole frame from
 * fromSeconds to toSeconds (CONTROL_SECONDS), no knowledge of the song's tempo, so the shifts fall evenly
 * on every phase of any beat. Only shifts at least fromSeconds away both ways round the circle are kept
 * (a 10-s clip: 4..6 s); a clip under 2 x fromSeconds gets the half-way shift alone.
 */
export function controlShifts(frames: number, fps: number, fromSeconds = CONTROL_SECONDS[0], toSeconds = CONTROL_SECONDS[1]): number[] {
  requireInt('frames', frames, 2, 1e9);
  requireNumber('fps', fps, 1e-3, 1e4);
  requireNumber('fromSeconds', fromSeconds, 0, 1e6);
  requireNumber('toSeconds', toSeconds, fromSeconds, 1e6);
  const lo = Math.max(1, Math.round(fromSeconds * fps)), hi = Math.min(Math.round(toSeconds * fps), frames - lo);
  if (hi < lo) return [Math.floor(frames / 2)];
  return Array.from({ length: hi - lo + 1 }, (_, k) => lo + k);
}

/**
 * The scores of a render (module comment); `features` and `visual` cover the same frames. `shiftSeconds`
 * replaces the controls' shifts (each rounded to a whole frame), e.g. [4, 5, ..., 13] for the whole-second
 * grid of the first version of this measure.
 */
export function reactionScores(features: FrameFeatures, visual: Pick<VisualSeries, 'change' | 'energy' | 'hue'>, opts: { shiftSeconds?: number[]; maxLag?: number } = {}): ReactionScores {
  const n = features.frames;
  if (visual.change.length !== n || visual.energy.length !== n || visual.hue.length !== n) {
    throw invalidParameterError('visual', `series of ${n} frames (one per audio frame)`, `${visual.change.length} frames`);
  }
  if (n < 8) throw invalidParameterError('frames', 'at least 8 frames to correlate', n);
  const maxLag = requireInt('maxLag', opts.maxLag ?? 2, 0, 100);
  let shifts: number[];
  if (opts.shiftSeconds === undefined) shifts = controlShifts(n, features.fps);
  else {
    if (!Array.isArray(opts.shiftSeconds) || opts.shiftSeconds.length === 0) throw invalidParameterError('shiftSeconds', 'a non-empty array of seconds', opts.shiftSeconds);
    shifts = opts.shiftSeconds.map((s, i) => ((Math.round(requireNumber(`shiftSeconds[${i}]`, s, 0, 1e6) * features.fps) % n) + n) % n);
  }
  const hz = holdSilent(features.centroid);
  const logC = Float32Array.from(hz, (c) => Math.log2(c));
  const sub = (a: Float32Array) => a.subarray(1);
  const bestLag = (onset: Float32Array, change: Float32Array) => {
    let r = -Infinity, lag = 0;
    for (let l = 0; l <= maxLag; l++) {
      const v = pearson(onset.subarray(1, n - l), change.subarray(1 + l, n));
      if (v > r) (r = v), (lag = l);
    }
    return { r, lag };
  };
  // the perfect follower's hue: the log centroid over 240 deg between its 5th and 95th percentiles
  const followerHue = Float32Array.from(levels(logC, 0.05, 0.95), (v) => (v - 0.5) * ((240 * Math.PI) / 180));
  const hueFit = circularLinearWith(sub(visual.hue)), followerFit = circularLinearWith(sub(followerHue));

  // each control: the score of every shift, in one scratch buffer per feature
  const rolledOnset = new Float32Array(n), rolledLoudness = new Float32Array(n), rolledLogC = new Float32Array(n), rolledHz = new Float32Array(n);
  const per = { on: [] as number[], onF: [] as number[], ld: [] as number[], hue: [] as number[], hueF: [] as number[], hz: [] as number[], hzF: [] as number[], ssOn: [] as number[], ssLd: [] as number[], ssC: [] as number[] };
  for (const k of shifts) {
    rollInto(rolledOnset, features.onset, k);
    rollInto(rolledLoudness, features.loudness, k);
    rollInto(rolledLogC, logC, k);
    rollInto(rolledHz, hz, k);
    per.on.push(bestLag(rolledOnset, visual.change).r);
    per.onF.push(bestLag(rolledOnset, features.onset).r);
    per.ld.push(pearson(sub(rolledLoudness), sub(visual.energy)));
    per.hue.push(hueFit(sub(rolledLogC)));
    per.hueF.push(followerFit(sub(rolledLogC)));
    per.hz.push(hueFit(sub(rolledHz)));
    per.hzF.push(followerFit(sub(rolledHz)));
    per.ssOn.push(pearson(sub(features.onset), sub(rolledOnset)));
    per.ssLd.push(pearson(sub(features.loudness), sub(rolledLoudness)));
    per.ssC.push(pearson(sub(logC), sub(rolledLogC)));
  }
  const medianAbs = (v: number[]) => median(v.map(Math.abs));
  const score = (r: number, control: number[], follower: number[]): Score => ({ r, control: medianAbs(control), controlMax: Math.max(...control.map(Math.abs)), follower: medianAbs(follower) });
  const on = bestLag(features.onset, visual.change);
  return {
    frames: n,
    shifts,
    onsetChange: { ...score(on.r, per.on, per.onF), lag: on.lag },
    loudnessEnergy: score(pearson(sub(features.loudness), sub(visual.energy)), per.ld, per.ssLd),
    centroidHue: score(hueFit(sub(logC)), per.hue, per.hueF),
    centroidHzHue: score(hueFit(sub(hz)), per.hz, per.hzF),
    selfSimilarity: { onset: medianAbs(per.ssOn), loudness: medianAbs(per.ssLd), centroid: medianAbs(per.ssC) },
    hueSwingDegrees: hueSwing(visual.hue),
  };
}

/** Circular-linear correlation (Mardia 1976) of a linear x and angles theta (radians), 0..1. */
export function circularLinear(x: ArrayLike<number>, theta: ArrayLike<number>): number {
  const n = Math.min(x.length, theta.length);
  return circularLinearWith(Float64Array.from({ length: n }, (_, i) => theta[i]!))(x);
}

/** circularLinear against fixed angles (their cosines and sines computed once) for many x of their length. */
function circularLinearWith(theta: ArrayLike<number>): (x: ArrayLike<number>) => number {
  const n = theta.length;
  const c = new Float64Array(n), s = new Float64Array(n);
  for (let i = 0; i < n; i++) (c[i] = Math.cos(theta[i]!)), (s[i] = Math.sin(theta[i]!));
  const rcs = pearson(c, s), den = 1 - rcs * rcs;
  return (x) => {
    const rxc = pearson(x, c), rxs = pearson(x, s);
    if (!(den > 1e-12)) return Math.abs(rxc);
    return Math.sqrt(Math.max(0, (rxc * rxc + rxs * rxs - 2 * rxc * rxs * rcs) / den));
  };
}

/** `a` shifted circularly by k: out[i] = a[(i + k) mod n]. */
export function roll(a: Float32Array, k: number): Float32Array {
  return rollInto(new Float32Array(a.length), a, k);
}

/** roll into `out` (the same length as `a`). */
function rollInto(out: Float32Array, a: Float32Array, k: number): Float32Array {
  const n = a.length;
  const s = ((k % n) + n) % n;
  out.set(a.subarray(s), 0);
  out.set(a.subarray(0, s), n - s);
  return out;
}

/** Centroids with silent frames (0) given the last sounding frame's value (the first one's before it; 1 Hz when all are silent). */
function holdSilent(centroid: Float32Array): Float32Array {
  const out = Float32Array.from(centroid);
  const first = out.findIndex((c) => c > 0);
  if (first < 0) return out.fill(1);
  for (let i = 0; i < out.length; i++) if (!(out[i]! > 0)) out[i] = i < first ? out[first]! : out[i - 1]!;
  return out;
}

function hueSwing(hue: Float32Array): number {
  if (hue.length === 0) return 0;
  const u = new Float64Array(hue.length);
  u[0] = hue[0]!;
  for (let i = 1; i < hue.length; i++) {
    let d = hue[i]! - hue[i - 1]!;
    d -= 2 * Math.PI * Math.round(d / (2 * Math.PI));
    u[i] = u[i - 1]! + d;
  }
  const v = Array.from(u).sort((a, b) => a - b);
  const q = (p: number) => v[Math.round(p * (v.length - 1))]!;
  return ((q(0.95) - q(0.05)) * 180) / Math.PI;
}
