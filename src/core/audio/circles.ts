import type { ClipFeatures, Harmonic } from './features.js';
import { normaliseByMax } from './features.js';

/**
 * The circles visualisation (docs/design.md#training-data): frames 1..T of a training sequence, a pure
 * function of a clip's features. Picture t (0-based) shows analysis frame f = firstFrame + t x stride
 * (hop 512: "frame" in every formula below is the analysis-frame index, not the picture index).
 *
 * With S = min(width, height), loud/bright/onset = RMS, centroid and onset strength divided by
 * their maxima over the clip, and harmonics i = 0..n-1 (n <= 6, sorted by frequency, rel_i their
 * amplitude relative to the strongest):
 * - hue_i = 240 deg x clamp(log(f_i / 200) / log(5000 / 200), 0, 1): red below 200 Hz, orange/yellow
 *   for the keyboard's fundamentals (F4..B5), green, then blue for high harmonics (5 kHz and up);
 *   saturation 0.85; value 0.35 + 0.65 rel_i (brightness from magnitude);
 * - radius r_i(f) = S (0.045 + 0.085 rel_i (0.3 + 0.7 loud_f)) / (1 + 0.15 i);
 * - ring R_i = S (0.07 + 0.065 i), angle a_i(f) = 2 pi i / n + 0.07 (1 + i) f (speed grows with i);
 * - drift D(f) = sum over g = 1..f of S (0.004 + 0.04 onset_g) (cos 2 pi bright_g, sin 2 pi bright_g);
 * - centre c_i(f) = (W/2, H/2) + D(f) + R_i (cos a_i, sin a_i), wrapped on the torus;
 * - coverage: 1 inside r, falling smoothly (smoothstep) to 0 over an edge of max(0.75 S/32, 0.35 r);
 *   colour = rgb_i x coverage; circles combine by per-channel max on a black background.
 * Silence (no harmonics) gives black frames.
 */

export interface CirclesOptions {
  /** Picture size in cells. Default 32 x 32. */
  width?: number;
  height?: number;
  /** Number of pictures T. Default 24 (CIRCLE_FRAMES). */
  frames?: number;
  /** Analysis frame shown by the first picture. Default 0. */
  firstFrame?: number;
  /** Analysis frames between pictures. Default 1. */
  stride?: number;
}

/** Circle frames per training sequence (frames 1..T after the spectrogram frame 0). */
export const CIRCLE_FRAMES = 24;

export interface CircleState {
  /** Centre in cells (x, y), wrapped into [0, width) x [0, height). */
  x: number;
  y: number;
  radius: number;
  rgb: [number, number, number];
}

/** HSV (h in degrees, s and v in [0, 1]) to RGB in [0, 1]. */
export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const hh = (((h % 360) + 360) % 360) / 60;
  const c = v * s;
  const x = c * (1 - Math.abs((hh % 2) - 1));
  const m = v - c;
  const [r, g, b] = hh < 1 ? [c, x, 0] : hh < 2 ? [x, c, 0] : hh < 3 ? [0, c, x] : hh < 4 ? [0, x, c] : hh < 5 ? [x, 0, c] : [c, 0, x];
  return [r + m, g + m, b + m];
}

/** Colour of a harmonic: hue from its frequency, value from its relative magnitude. */
export function harmonicColour(frequency: number, relative: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Math.log(Math.max(1e-9, frequency) / 200) / Math.log(5000 / 200)));
  return hsvToRgb(240 * u, 0.85, 0.35 + 0.65 * Math.min(1, Math.max(0, relative)));
}

/** The circles of every picture: states[t][i] (positions, radii, colours). */
export function circleStates(features: ClipFeatures, opts: CirclesOptions = {}): CircleState[][] {
  const width = opts.width ?? 32;
  const height = opts.height ?? 32;
  const T = opts.frames ?? CIRCLE_FRAMES;
  const first = opts.firstFrame ?? 0;
  const stride = opts.stride ?? 1;
  const S = Math.min(width, height);
  const loud = normaliseByMax(features.rms);
  const bright = normaliseByMax(features.centroid);
  const onset = normaliseByMax(features.onset);
  const at = (a: Float32Array, f: number): number => (f >= 0 && f < a.length ? a[f]! : 0);
  const harmonics = features.harmonics;
  const colours = harmonics.map((h) => harmonicColour(h.frequency, h.relative));
  const states: CircleState[][] = [];
  // drift, accumulated over analysis frames 1..f
  let dx = 0;
  let dy = 0;
  let driftFrame = 0;
  for (let t = 0; t < T; t++) {
    const f = first + t * stride;
    for (; driftFrame < f; ) {
      driftFrame++;
      const speed = S * (0.004 + 0.04 * at(onset, driftFrame));
      const dir = 2 * Math.PI * at(bright, driftFrame);
      dx += speed * Math.cos(dir);
      dy += speed * Math.sin(dir);
    }
    states.push(orbitCircles(harmonics, colours, at(loud, f), f, { width, height, cx: width / 2 + dx, cy: height / 2 + dy }));
  }
  return states;
}

/**
 * The partials' circles at analysis frame f, orbiting (cx, cy) (the formulas of the module comment:
 * radius from magnitude and loudness `loud` 0..1, ring widening and speed growing with the index),
 * with shapes times `scale` (default 1; radii capped at S / 4, which scale 1 never reaches; rings
 * scaled by at most 1.3). Also the orbit motif of motifs.ts.
 */
export function orbitCircles(
  partials: readonly Harmonic[],
  colours: readonly [number, number, number][],
  loud: number,
  f: number,
  g: { width: number; height: number; cx: number; cy: number; scale?: number },
): CircleState[] {
  const S = Math.min(g.width, g.height), scale = g.scale ?? 1, n = partials.length;
  const out: CircleState[] = [];
  for (let i = 0; i < n; i++) {
    const rel = partials[i]!.relative;
    const radius = Math.min(0.25 * S, (S * (0.045 + 0.085 * rel * (0.3 + 0.7 * loud)) * scale) / (1 + 0.15 * i));
    const ring = S * (0.07 + 0.065 * i) * Math.min(1.3, scale);
    const angle = (2 * Math.PI * i) / n + 0.07 * (1 + i) * f;
    out.push({ x: wrap(g.cx + ring * Math.cos(angle), g.width), y: wrap(g.cy + ring * Math.sin(angle), g.height), radius, rgb: colours[i]! });
  }
  return out;
}

const wrap = (v: number, size: number): number => ((v % size) + size) % size;

/**
 * Render the circle pictures: Float32Array (T, 3, height, width) planar RGB in [0, 1]
 * (each picture is the [3][H][W] layout that planarToRgba takes).
 */
export function circlesFrames(features: ClipFeatures, opts: CirclesOptions = {}): Float32Array {
  return drawCircles(circleStates(features, opts), opts.width ?? 32, opts.height ?? 32);
}

/**
 * Draws pictures of soft circles on black, combined by a per-channel max, wrapped on the torus:
 * Float32Array (T, 3, height, width) for states[t] (the circles of picture t). Also the drawing of
 * the motif pictures (motifs.ts).
 */
export function drawCircles(states: readonly CircleState[][], width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(states.length * 3 * plane);
  const S = Math.min(width, height);
  const minEdge = 0.75 * (S / 32);
  states.forEach((circles, t) => {
    const base = t * 3 * plane;
    for (const c of circles) {
      const edge = Math.max(minEdge, 0.35 * c.radius);
      const reach = c.radius + edge / 2;
      // cells whose centres (x + 0.5, y + 0.5) may be covered, unwrapped
      const x0 = Math.floor(c.x - reach - 0.5);
      const x1 = Math.ceil(c.x + reach - 0.5);
      const y0 = Math.floor(c.y - reach - 0.5);
      const y1 = Math.ceil(c.y + reach - 0.5);
      for (let yy = y0; yy <= y1; yy++) {
        const py = wrap(yy, height);
        const ddy = yy + 0.5 - c.y;
        for (let xx = x0; xx <= x1; xx++) {
          const d = Math.hypot(xx + 0.5 - c.x, ddy);
          // smoothstep from the outer edge (0) to the inner edge (1)
          const u = (reach - d) / edge;
          if (u <= 0) continue;
          const cover = u >= 1 ? 1 : u * u * (3 - 2 * u);
          const px = wrap(xx, width);
          const o = base + py * width + px;
          for (let ch = 0; ch < 3; ch++) {
            const v = c.rgb[ch]! * cover;
            const idx = o + ch * plane;
            if (v > out[idx]!) out[idx] = v;
          }
        }
      }
    }
  });
  return out;
}
