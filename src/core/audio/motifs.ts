import { drawCircles, hsvToRgb, orbitCircles, type CircleState, type CirclesOptions } from './circles.js';
import type { ClipFeatures } from './features.js';
import { normaliseByMax } from './features.js';

/**
 * The motif pictures (docs/design.md#training-pictures): the second training visualisation, a pure
 * function of a clip's features like the circles (circles.ts), made so that the sounds of the space
 * look different from each other, not one family of spots.
 *
 * - **Colour is pitch class**: a partial of frequency f has hue 360 deg x frac(log2(f / C4)) (C red,
 *   E yellow-green, G# blue, ...), so the 12 pitch classes go once round the hue circle, an octave is the
 *   same colour, and a chord shows each of its notes in its own colour. Saturation 0.85, value
 *   0.35 + 0.65 x the partial's magnitude relative to the strongest.
 * - **Size is register**: scale = clamp(2^(-0.4 octave), 0.55, 1.9) with octave = log2(f0 / C4), f0 the
 *   lowest partial: low notes draw large shapes, high notes small ones.
 * - **Direction is pitch class too**: motion heads at the angle of the pitch-class circle (C to the
 *   right, E down-right, G# up-left ...; y points down), so the space does not all slide one way.
 * - **The motif is the sound's envelope and timbre** (`chooseMotif`):
 *   - `lattice` (the sound dies away: sustain below LATTICE_SUSTAIN): a lattice of spots, spacing
 *     10 x scale cells (rounded so that it tiles the torus), coloured partial by partial in a checkerboard,
 *     whose spots swell with the loudness and which slides slowly;
 *   - `waves` (a sustained bright sound: centroid over f0 above WAVES_BRIGHTNESS): up to two trains of soft
 *     stripes, one per strong partial, wavelength 9 x scale / (1 + 0.5 i) cells, heading at the pitch angle
 *     + 120 deg i, moving 0.3 + 0.9 loud cells per analysis frame;
 *   - `blobs` (a sustained dark sound below A3): up to three large soft blobs, radius (0.14 + 0.1 rel)
 *     S x scale, each travelling its own way (pitch angle + 120 deg i) at 0.15 + 0.5 loud cells per frame;
 *   - `orbit` (otherwise): the circles' partials on rings round a centre that drifts, as circles.ts
 *     draws them, with the colours, sizes and heading above.
 * Silence (no partials) gives black frames, as the circles do. Speeds are in cells of a 32-cell picture
 * and scale with S = min(width, height).
 */

export type Motif = 'orbit' | 'waves' | 'lattice' | 'blobs';
export const MOTIFS: readonly Motif[] = ['orbit', 'waves', 'lattice', 'blobs'];

/** Below this sustain (mean loudness relative to the peak, 0.12-0.44 s after it), a sound makes a lattice. */
export const LATTICE_SUSTAIN = 0.3;
/** Above this median ratio of spectral centroid to the lowest partial, a sustained sound makes waves. */
export const WAVES_BRIGHTNESS = 5;
/** Below this octave relative to C4 (a quarter octave below: A3), a sustained dark sound makes blobs. */
export const BLOBS_OCTAVE = -0.25;

const C4 = 261.6256;
/** The frames after the peak over which `sustain` is measured (hop 512 at 22050 Hz: 0.12-0.44 s). */
const SUSTAIN_FROM = 5, SUSTAIN_TO = 20;
/**
 * The peak is the first frame within this fraction of the loudest, not the loudest itself: a held note's flat
 * top has its maximum anywhere on it, even next to the note-off, and sustain measured from there reads the
 * release, so the same note held longer (or played harder) could turn into a lattice.
 */
export const PEAK_FRACTION = 0.9;

/** Hue in degrees of a frequency's pitch class: C = 0, each semitone 30 deg. */
export function pitchClassHue(frequency: number): number {
  const u = Math.log2(Math.max(1e-9, frequency) / C4);
  return 360 * (u - Math.floor(u));
}

/** Shape scale of a register: 1 at C4, larger below, smaller above. */
export function registerScale(frequency: number): number {
  return Math.min(1.9, Math.max(0.55, Math.pow(2, -0.4 * Math.log2(Math.max(1e-9, frequency) / C4))));
}

/** The descriptors a motif is chosen from. */
export interface SoundShape {
  /** Mean of RMS / max RMS over analysis frames 5..19 after the peak (0.12-0.44 s; 0 = gone, 1 = steady); the peak is the first frame at PEAK_FRACTION of the loudest. */
  sustain: number;
  /** Median spectral centroid over the lowest partial's frequency, over frames louder than 10% of the loudest. */
  brightness: number;
  /** log2(f0 / C4) of the lowest partial; NaN when there is none. */
  octave: number;
}

export function soundShape(features: ClipFeatures): SoundShape {
  const loud = normaliseByMax(features.rms);
  const n = loud.length;
  let peak = 0;
  while (peak < n - 1 && loud[peak]! < PEAK_FRACTION) peak++;
  let sum = 0, count = 0;
  for (let f = peak + SUSTAIN_FROM; f < Math.min(n, peak + SUSTAIN_TO); f++) { sum += loud[f]!; count++; }
  const f0 = features.harmonics[0]?.frequency ?? 0;
  const ratios: number[] = [];
  if (f0 > 0) for (let f = 0; f < n; f++) if (loud[f]! > 0.1 && features.centroid[f]! > 0) ratios.push(features.centroid[f]! / f0);
  ratios.sort((a, b) => a - b);
  return {
    sustain: count ? sum / count : 0,
    brightness: ratios.length ? ratios[Math.floor(ratios.length / 2)]! : 0,
    octave: f0 > 0 ? Math.log2(f0 / C4) : Number.NaN,
  };
}

export function chooseMotif(shape: SoundShape): Motif {
  if (shape.sustain < LATTICE_SUSTAIN) return 'lattice';
  if (shape.brightness > WAVES_BRIGHTNESS) return 'waves';
  if (shape.octave < BLOBS_OCTAVE) return 'blobs';
  return 'orbit';
}

/** The motif pictures of a clip: Float32Array (T, 3, height, width), as circlesFrames gives. */
export function motifFrames(features: ClipFeatures, opts: CirclesOptions = {}): Float32Array {
  const width = opts.width ?? 32, height = opts.height ?? 32;
  const T = opts.frames ?? 24, first = opts.firstFrame ?? 0, stride = opts.stride ?? 1;
  const partials = features.harmonics;
  if (partials.length === 0) return new Float32Array(T * 3 * width * height);
  const S = Math.min(width, height), unit = S / 32;
  const loudness = normaliseByMax(features.rms);
  const loud = (f: number): number => (f >= 0 && f < loudness.length ? loudness[f]! : 0);
  const f0 = partials[0]!.frequency;
  const scale = registerScale(f0);
  const heading = (pitchClassHue(f0) * Math.PI) / 180;
  const colours = partials.map((p) => hsvToRgb(pitchClassHue(p.frequency), 0.85, 0.35 + 0.65 * Math.min(1, Math.max(0, p.relative))));
  // the partials by magnitude, strongest first
  const strongest = partials.map((p, i) => ({ p, i })).sort((a, b) => b.p.relative - a.p.relative).map((e) => e.i);
  const frameOf = (t: number): number => first + t * stride;
  /** The distance travelled by each picture's analysis frame f at `speed(g)` cells per frame (summed over frames 1..f). */
  const travelled = (speed: (g: number) => number): Float64Array => {
    const out = new Float64Array(T);
    let d = 0;
    for (let t = 0, g = 0; t < T; t++) {
      for (; g < frameOf(t); ) d += speed(++g);
      out[t] = d;
    }
    return out;
  };
  const motif = chooseMotif(soundShape(features));
  if (motif === 'waves') return wavesFrames();
  const states: CircleState[][] = [];
  const distance = travelled(motif === 'lattice' ? () => 0.2 * unit : motif === 'blobs' ? (g) => unit * (0.15 + 0.5 * loud(g)) : () => unit * 0.25);
  for (let t = 0; t < T; t++) {
    const f = frameOf(t), l = loud(f), d = distance[t]!;
    let circles: CircleState[] = [];
    if (motif === 'lattice') {
      const cells = Math.max(2, Math.round(S / Math.min(16 * unit, Math.max(5 * unit, 10 * unit * scale))));
      const spacingX = width / cells, spacingY = height / Math.max(2, Math.round(height / spacingX));
      const ox = d * Math.cos(heading), oy = d * Math.sin(heading);
      const radius = Math.min(spacingX, spacingY) * (0.15 + 0.25 * l);
      const used = Math.min(3, partials.length);
      for (let gy = 0; gy < Math.round(height / spacingY); gy++) {
        for (let gx = 0; gx < cells; gx++) {
          const which = strongest[(gx + gy) % used]!;
          const twinkle = 0.5 + 0.5 * l;
          const rgb = colours[which]!.map((c) => c * twinkle) as [number, number, number];
          circles.push({ x: wrap((gx + 0.5) * spacingX + ox, width), y: wrap((gy + 0.5) * spacingY + oy, height), radius, rgb });
        }
      }
    } else if (motif === 'blobs') {
      const used = Math.min(3, partials.length);
      for (let k = 0; k < used; k++) {
        const i = strongest[k]!, rel = partials[i]!.relative;
        const angle = heading + (2 * Math.PI * k) / 3;
        const x0 = width / 2 + (S / 4) * Math.cos(angle + Math.PI / 3), y0 = height / 2 + (S / 4) * Math.sin(angle + Math.PI / 3);
        const radius = Math.min(0.3 * S, S * (0.14 + 0.1 * rel) * scale) * (0.6 + 0.4 * l);
        circles.push({ x: wrap(x0 + d * Math.cos(angle), width), y: wrap(y0 + d * Math.sin(angle), height), radius, rgb: colours[i]! });
      }
    } else {
      // orbit: the circles' geometry (circles.ts) with pitch colours, register sizes and a pitch heading
      circles = orbitCircles(partials, colours, l, f, { width, height, cx: width / 2 + d * Math.cos(heading), cy: height / 2 + d * Math.sin(heading), scale });
    }
    states.push(circles);
  }
  return drawCircles(states, width, height);

  function wavesFrames(): Float32Array {
    const plane = width * height, out = new Float32Array(T * 3 * plane);
    const trains = strongest.slice(0, Math.min(2, strongest.length)).map((i, k) => {
      const wavelength = Math.max(3 * unit, (9 * unit * scale) / (1 + 0.5 * k));
      const angle = heading + (2 * Math.PI * k) / 3;
      // whole wave numbers along x and y, so that the stripes wrap on the torus
      let m = Math.round((width / wavelength) * Math.cos(angle)), q = Math.round((height / wavelength) * Math.sin(angle));
      if (m === 0 && q === 0) m = 1;
      const perCell = Math.hypot(m / width, q / height); // cycles per cell along the wave's normal
      return { rgb: colours[i]!, m, q, perCell };
    });
    const shift = travelled((g) => unit * (0.3 + 0.9 * loud(g)));
    for (let t = 0; t < T; t++) {
      const gain = 0.35 + 0.65 * loud(frameOf(t));
      for (const w of trains) {
        const phase = 2 * Math.PI * w.perCell * shift[t]!;
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const c = 0.5 + 0.5 * Math.cos(2 * Math.PI * ((w.m * (x + 0.5)) / width + (w.q * (y + 0.5)) / height) - phase);
            const v = c * c * c * gain;
            const o = t * 3 * plane + y * width + x;
            for (let ch = 0; ch < 3; ch++) {
              const value = w.rgb[ch]! * v;
              if (value > out[o + ch * plane]!) out[o + ch * plane] = value;
            }
          }
        }
      }
    }
    return out;
  }
}

const wrap = (v: number, size: number): number => ((v % size) + size) % size;
