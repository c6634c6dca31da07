/**
 * Does the picture follow the music? Measured from the rendered frames and the audio alone
 * (docs/music-video.md#the-measure). Per video frame (features.ts for the audio):
 * - visual change: mean |frame_i - frame_{i-1}| over the RGB values (0..1); frame 0 has none;
 * - visual energy: mean luma (0.299 R + 0.587 G + 0.114 B, 0..1), i.e. brightness;
 * - hue: the angle of the frame's mean opponent colour (a = R - (G + B) / 2, b = sqrt(3) / 2 (G - B)),
 *   the circular mean of the pixels' hues weighted by their chroma.
 * Scores (frames 1.. only): Pearson r of onset strength and visual change at the best lag of 0..maxLag
 * frames (the picture after the sound); r of loudness (dB) and visual energy; the circular-linear
 * correlation (Mardia) of log2 spectral centroid and hue (and of the centroid in Hz); silent frames
 * (no centroid) keep the last sounding frame's centroid. Each with a control:
 * the same score with the audio features shifted circularly by `shiftSeconds`.
 */
import { invalidParameterError, requireInt, requireNumber } from '../errors.js';
import type { FrameFeatures } from './features.js';

export interface VisualSeries {
  change: Float32Array;
  energy: Float32Array;
  hue: Float32Array;
}

/** Collects the visual series of frames given one by one (RGBA bytes, width x height x 4). */
export class FrameMeter {
  private readonly previous: Uint8Array;
  private readonly change: number[] = [];
  private readonly energy: number[] = [];
  private readonly hue: number[] = [];

  constructor(readonly width: number, readonly height: number) {
    requireInt('width', width, 1, 16384);
    requireInt('height', height, 1, 16384);
    this.previous = new Uint8Array(width * height * 4);
  }

  push(rgba: Uint8Array): void {
    const n = this.width * this.height;
    if (!(rgba instanceof Uint8Array) || rgba.length !== n * 4) throw invalidParameterError('rgba', `${n * 4} bytes (RGBA)`, rgba instanceof Uint8Array ? `${rgba.length} bytes` : rgba);
    let diff = 0, luma = 0, sa = 0, sb = 0;
    const first = this.change.length === 0;
    for (let p = 0; p < n * 4; p += 4) {
      const r = rgba[p]!, g = rgba[p + 1]!, b = rgba[p + 2]!;
      if (!first) diff += Math.abs(r - this.previous[p]!) + Math.abs(g - this.previous[p + 1]!) + Math.abs(b - this.previous[p + 2]!);
      luma += 0.299 * r + 0.587 * g + 0.114 * b;
      sa += r - (g + b) / 2;
      sb += g - b;
    }
    this.previous.set(rgba);
    this.change.push(first ? 0 : diff / (3 * n * 255));
    this.energy.push(luma / (n * 255));
    this.hue.push(Math.atan2((Math.sqrt(3) / 2) * sb, sa));
  }

  series(): VisualSeries {
    return { change: Float32Array.from(this.change), energy: Float32Array.from(this.energy), hue: Float32Array.from(this.hue) };
  }
}

export interface Score {
  r: number;
  /** The same score with the audio shifted circularly by shiftSeconds. */
  control: number;
}

export interface ReactionScores {
  frames: number;
  shiftSeconds: number;
  onsetChange: Score & { lag: number; controlLag: number };
  loudnessEnergy: Score;
  centroidHue: Score;
  /** The centroid in Hz instead of log2 Hz. */
  centroidHzHue: Score;
  /**
   * How much the song resembles itself shifted by shiftSeconds: Pearson r of onset, loudness and log2
   * centroid with their shifted selves. A picture that follows the music perfectly has controls of about
   * r x these, so a song that repeats itself (a loop, a beat at a tempo dividing the shift) keeps high controls.
   */
  selfSimilarity: { onset: number; loudness: number; centroid: number };
  /** Degrees the hue moves over the excerpt: the 95th minus the 5th percentile of the unwrapped hue. */
  hueSwingDegrees: number;
}

/** The scores of a render (module comment); `features` and `visual` cover the same frames. */
export function reactionScores(features: FrameFeatures, visual: VisualSeries, opts: { shiftSeconds?: number; maxLag?: number } = {}): ReactionScores {
  const n = features.frames;
  if (visual.change.length !== n || visual.energy.length !== n || visual.hue.length !== n) {
    throw invalidParameterError('visual', `series of ${n} frames (one per audio frame)`, `${visual.change.length} frames`);
  }
  if (n < 8) throw invalidParameterError('frames', 'at least 8 frames to correlate', n);
  const shiftSeconds = requireNumber('shiftSeconds', opts.shiftSeconds ?? 7, 0, 1e6);
  const maxLag = requireInt('maxLag', opts.maxLag ?? 2, 0, 100);
  const shift = Math.round(shiftSeconds * features.fps) % n;
  const rolled = (a: Float32Array) => roll(a, shift);
  const hz = holdSilent(features.centroid);
  const logC = Float32Array.from(hz, (c) => Math.log2(c));
  const best = (onset: Float32Array) => {
    let r = -Infinity, lag = 0;
    for (let l = 0; l <= maxLag; l++) {
      const v = pearson(onset.subarray(1, n - l), visual.change.subarray(1 + l, n));
      if (v > r) (r = v), (lag = l);
    }
    return { r, lag };
  };
  const on = best(features.onset), onCtl = best(rolled(features.onset));
  const sub = (a: Float32Array) => a.subarray(1);
  return {
    frames: n,
    shiftSeconds,
    onsetChange: { r: on.r, lag: on.lag, control: onCtl.r, controlLag: onCtl.lag },
    loudnessEnergy: { r: pearson(sub(features.loudness), sub(visual.energy)), control: pearson(sub(rolled(features.loudness)), sub(visual.energy)) },
    centroidHue: { r: circularLinear(sub(logC), sub(visual.hue)), control: circularLinear(sub(rolled(logC)), sub(visual.hue)) },
    centroidHzHue: { r: circularLinear(sub(hz), sub(visual.hue)), control: circularLinear(sub(rolled(hz)), sub(visual.hue)) },
    selfSimilarity: {
      onset: pearson(sub(features.onset), sub(rolled(features.onset))),
      loudness: pearson(sub(features.loudness), sub(rolled(features.loudness))),
      centroid: pearson(sub(logC), sub(rolled(logC))),
    },
    hueSwingDegrees: hueSwing(visual.hue),
  };
}

/** Pearson correlation; 0 when either series is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = Math.min(x.length, y.length);
  if (n < 2) return 0;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) (mx += x[i]!), (my += y[i]!);
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]! - mx, b = y[i]! - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** Circular-linear correlation (Mardia 1976) of a linear x and angles theta (radians), 0..1. */
export function circularLinear(x: ArrayLike<number>, theta: ArrayLike<number>): number {
  const n = Math.min(x.length, theta.length);
  const c = new Float64Array(n), s = new Float64Array(n);
  for (let i = 0; i < n; i++) (c[i] = Math.cos(theta[i]!)), (s[i] = Math.sin(theta[i]!));
  const rxc = pearson(x, c), rxs = pearson(x, s), rcs = pearson(c, s);
  const den = 1 - rcs * rcs;
  if (!(den > 1e-12)) return Math.abs(rxc);
  return Math.sqrt(Math.max(0, (rxc * rxc + rxs * rxs - 2 * rxc * rxs * rcs) / den));
}

/** `a` shifted circularly by k: out[i] = a[(i + k) mod n]. */
export function roll(a: Float32Array, k: number): Float32Array {
  const n = a.length, out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = a[(((i + k) % n) + n) % n]!;
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
