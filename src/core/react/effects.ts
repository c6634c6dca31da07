/**
 * What a reaction does to the pictures: RGB planes [3][H][W] in 0..1 (docs/music-video.md#how-each-reaction-works).
 *
 * - pulse (`applyPulse`): on an onset the NCA's RGB state is pushed towards white, through a pattern
 *   of rings around the centre (`rings`, the default), uniformly (`flash`), or a disc of the grid is
 *   replaced by fresh noise (`reseed`); the NCA then grows from what was injected.
 * - colour (`rotateHue`): a rotation of every pixel's colour about the grey axis (R = G = B) by an
 *   angle: the hue turns by exactly that angle, brightness (R + G + B) is kept, values are clipped to 0..1.
 * - exposure (`applyExposure`): every value v -> v^gamma (gamma < 1 brightens, > 1 darkens; black and white stay);
 *   `ExposureAim` finds the gamma that gives the shown picture a wanted mean luma.
 */
import type { Rng } from '../rng.js';

export type PulseKind = 'rings' | 'flash' | 'reseed';
export const PULSE_KINDS: readonly PulseKind[] = ['rings', 'flash', 'reseed'];

/** Rings per grid radius of the `rings` pulse. */
const RINGS = 4;

/**
 * Pushes `rgb` towards white by `amount` (0..1+; clipped to a push of 0.9) with the pattern of `kind`.
 * `phase` (0..1) moves the rings outward between pulses; `rng` places a reseeded disc.
 */
export function applyPulse(rgb: Float32Array, width: number, height: number, amount: number, kind: PulseKind, phase: number, rng: Rng): void {
  if (!(amount > 0)) return;
  const a = Math.min(0.9, amount);
  const plane = width * height;
  if (kind === 'reseed') {
    // a disc of a quarter of the short side at a random place, refilled with uniform noise
    const r = Math.max(2, Math.min(width, height) * (0.15 + 0.2 * a));
    const px = rng.uniform() * width, py = rng.uniform() * height;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const dx = Math.min(Math.abs(x - px), width - Math.abs(x - px)), dy = Math.min(Math.abs(y - py), height - Math.abs(y - py));
      if (dx * dx + dy * dy > r * r) continue;
      for (let c = 0; c < 3; c++) rgb[c * plane + y * width + x] = rng.uniform();
    }
    return;
  }
  // rings: m = 0.5 + 0.5 cos(2 pi (RINGS r - phase)) = 0.5 + 0.5 (cos(2 pi RINGS r) cos(2 pi phase) + sin(...) sin(...))
  const rings = kind === 'rings' ? ringPlanes(width, height) : null;
  const cp = Math.cos(2 * Math.PI * phase), sp = Math.sin(2 * Math.PI * phase);
  for (let i = 0; i < plane; i++) {
    const k = rings ? a * (0.5 + 0.5 * (rings.cos[i]! * cp + rings.sin[i]! * sp)) : a;
    for (let c = 0; c < 3; c++) rgb[c * plane + i] = rgb[c * plane + i]! + k * (1 - rgb[c * plane + i]!);
  }
}

/** cos and sin of 2 pi RINGS r per cell (r: distance from the centre over the half-diagonal), kept for the last grid size. */
let ringCache: { width: number; height: number; cos: Float32Array; sin: Float32Array } | null = null;
function ringPlanes(width: number, height: number): { cos: Float32Array; sin: Float32Array } {
  if (ringCache && ringCache.width === width && ringCache.height === height) return ringCache;
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  const rMax = Math.hypot(cx, cy) || 1;
  const cos = new Float32Array(width * height), sin = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const angle = 2 * Math.PI * RINGS * (Math.hypot(x - cx, y - cy) / rMax);
    cos[y * width + x] = Math.cos(angle);
    sin[y * width + x] = Math.sin(angle);
  }
  ringCache = { width, height, cos, sin };
  return ringCache;
}

/**
 * The rotation by `angle` radians about the grey axis (1, 1, 1) / sqrt(3) (Rodrigues), as its three distinct
 * entries [d, e, f]: R' = d R + e G + f B, G' = f R + d G + e B, B' = e R + f G + d B.
 */
function greyAxisTurn(angle: number): [number, number, number] {
  const c = Math.cos(angle), s = Math.sin(angle) / Math.sqrt(3), t = (1 - c) / 3;
  return [c + t, t - s, t + s];
}

/** Rotates every pixel's colour about the grey axis by `angle` radians (hue + angle, same R + G + B), clipped to 0..1; in place. */
export function rotateHue(rgb: Float32Array, plane: number, angle: number): void {
  if (angle === 0) return;
  const [d, e, f] = greyAxisTurn(angle);
  for (let i = 0; i < plane; i++) {
    const r = rgb[i]!, g = rgb[plane + i]!, b = rgb[2 * plane + i]!;
    rgb[i] = clip01(d * r + e * g + f * b);
    rgb[plane + i] = clip01(f * r + d * g + e * b);
    rgb[2 * plane + i] = clip01(e * r + f * g + d * b);
  }
}

/** Levels of the exposure's table: finer than the 8-bit frames it feeds (max error 1/8190 before rounding to bytes). */
const EXPOSURE_LEVELS = 4096;
const exposureTable = new Float32Array(EXPOSURE_LEVELS + 1);

/** v -> v^gamma for every value (clipped to 0..1), through a table of EXPOSURE_LEVELS + 1 steps; in place. */
export function applyExposure(rgb: Float32Array, gamma: number): void {
  if (gamma === 1) return;
  for (let k = 0; k <= EXPOSURE_LEVELS; k++) exposureTable[k] = (k / EXPOSURE_LEVELS) ** gamma;
  for (let i = 0; i < rgb.length; i++) {
    const v = rgb[i]!;
    rgb[i] = exposureTable[v <= 0 ? 0 : v >= 1 ? EXPOSURE_LEVELS : (v * EXPOSURE_LEVELS + 0.5) | 0]!;
  }
}

/** Most pixels `ExposureAim` reads per frame (an even subsample of larger grids). */
const AIM_SAMPLES = 16384;
/** Bisection steps of `ExposureAim` on log2 gamma (the gamma to within 2^-16 of its range). */
const AIM_ITERATIONS = 16;

/**
 * The exposure that aims at a brightness: the gamma in [lo, hi] whose v -> v^gamma gives the shown picture
 * (`rgb` [3][plane] turned by `angle` about the grey axis, as showFrame shows it) a mean luma
 * (0.299 R + 0.587 G + 0.114 B, the measure's visual energy) nearest `target`; lo when even lo gives less,
 * hi when even hi gives more. The picture is read once (at most AIM_SAMPLES pixels, evenly spaced) into a
 * luma-weighted histogram of 256 levels; the mean luma falls as gamma rises, so a bisection on log2 gamma
 * finds it. One histogram, allocated once.
 */
export class ExposureAim {
  private readonly histogram = new Float64Array(256);

  gamma(rgb: Float32Array, plane: number, angle: number, target: number, lo: number, hi: number): number {
    if (!(lo > 0 && hi >= lo)) throw new RangeError(`ExposureAim: gamma bounds ${lo}..${hi} must be positive and ordered`);
    if (lo === hi) return lo;
    const h = this.histogram.fill(0);
    const stride = Math.max(1, Math.floor(plane / AIM_SAMPLES));
    const turn = angle !== 0;
    const [d, e, f] = greyAxisTurn(angle);
    let n = 0;
    for (let i = 0; i < plane; i += stride, n++) {
      let r = rgb[i]!, g = rgb[plane + i]!, b = rgb[2 * plane + i]!;
      if (turn) {
        const r1 = clip01(d * r + e * g + f * b), g1 = clip01(f * r + d * g + e * b), b1 = clip01(e * r + f * g + d * b);
        r = r1;
        g = g1;
        b = b1;
      }
      h[toByte(r)]! += 0.299;
      h[toByte(g)]! += 0.587;
      h[toByte(b)]! += 0.114;
    }
    const luma = (gamma: number): number => {
      let sum = 0;
      for (let k = 1; k < 256; k++) if (h[k]! > 0) sum += h[k]! * (k / 255) ** gamma;
      return sum / n;
    };
    if (luma(lo) <= target) return lo;
    if (luma(hi) >= target) return hi;
    let a = Math.log2(lo), z = Math.log2(hi);
    for (let k = 0; k < AIM_ITERATIONS; k++) {
      const m = (a + z) / 2;
      if (luma(2 ** m) > target) a = m;
      else z = m;
    }
    return 2 ** ((a + z) / 2);
  }

  /**
   * The gamma of a frame whose shown picture `shown` is `base` with a flash on it (the pulse's rings): log2 gamma
   * is `ducking` (0..1) x that aimed on `shown` + (1 - ducking) x that aimed on `base`. Ducking 1 holds the frame at
   * the target (the flash dims the rest); 0 aims the picture under the flash and lets the flash brighten the frame.
   */
  duckedGamma(base: Float32Array, shown: Float32Array, plane: number, angle: number, target: number, lo: number, hi: number, ducking: number): number {
    const onShown = ducking > 0 ? this.gamma(shown, plane, angle, target, lo, hi) : 1;
    const onBase = ducking < 1 ? this.gamma(base, plane, angle, target, lo, hi) : 1;
    return onBase ** (1 - ducking) * onShown ** ducking;
  }
}

/** Bytes of the exposure table's levels: toByte(level^gamma), for the gamma the table was last built for. */
const exposureBytes = new Uint8Array(EXPOSURE_LEVELS + 1);
let exposureBytesGamma = NaN;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The shown picture in one pass: `rgb` [3][plane] (0..1) with the hue turned by `angle` (rotateHue) and
 * the exposure `gamma` applied (applyExposure), as opaque RGBA bytes into `out` (plane x 4 bytes, starting
 * on a 4-byte boundary); `rgb` is not changed. The same bytes as rotateHue, applyExposure and planarToRgba
 * one after the other (each float rounded to float32 where they store it), without their three passes.
 */
export function showFrame(rgb: Float32Array, plane: number, angle: number, gamma: number, out: Uint8Array): void {
  if (out.length !== plane * 4 || out.byteOffset % 4 !== 0) throw new RangeError(`showFrame: out must be ${plane * 4} bytes on a 4-byte boundary`);
  const px = new Uint32Array(out.buffer, out.byteOffset, plane);
  const turn = angle !== 0;
  const [d, e, f] = greyAxisTurn(angle);
  const table = gamma !== 1;
  if (table && gamma !== exposureBytesGamma) {
    for (let k = 0; k <= EXPOSURE_LEVELS; k++) exposureBytes[k] = toByte(Math.fround((k / EXPOSURE_LEVELS) ** gamma));
    exposureBytesGamma = gamma;
  }
  const fr = Math.fround;
  for (let i = 0; i < plane; i++) {
    let r = rgb[i]!, g = rgb[plane + i]!, b = rgb[2 * plane + i]!;
    if (turn) {
      const r1 = fr(clip01(d * r + e * g + f * b)), g1 = fr(clip01(f * r + d * g + e * b)), b1 = fr(clip01(e * r + f * g + d * b));
      r = r1;
      g = g1;
      b = b1;
    }
    let R: number, G: number, B: number;
    if (table) {
      R = exposureBytes[r <= 0 ? 0 : r >= 1 ? EXPOSURE_LEVELS : (r * EXPOSURE_LEVELS + 0.5) | 0]!;
      G = exposureBytes[g <= 0 ? 0 : g >= 1 ? EXPOSURE_LEVELS : (g * EXPOSURE_LEVELS + 0.5) | 0]!;
      B = exposureBytes[b <= 0 ? 0 : b >= 1 ? EXPOSURE_LEVELS : (b * EXPOSURE_LEVELS + 0.5) | 0]!;
    } else {
      R = toByte(r);
      G = toByte(g);
      B = toByte(b);
    }
    px[i] = LITTLE_ENDIAN ? (0xff000000 | (B << 16) | (G << 8) | R) >>> 0 : ((R << 24) | (G << 16) | (B << 8) | 0xff) >>> 0;
  }
}

/** 0..1 to a byte, as planarToRgba (src/core/io/image.ts) rounds. */
function toByte(v: number): number {
  return v >= 1 ? 255 : v > 0 ? (v * 255 + 0.5) | 0 : 0;
}

function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/**
 * The mean opponent colour of RGB planes [3][plane], per pixel: a = R - (G + B) / 2, b = sqrt(3) / 2 (G - B)
 * (the measure's hue is atan2(b, a): the chroma-weighted mean hue); written to out[0], out[1].
 */
export function meanOpponent(rgb: Float32Array, plane: number, out: Float64Array): void {
  let sa = 0, sb = 0;
  for (let i = 0; i < plane; i++) {
    const r = rgb[i]!, g = rgb[plane + i]!, b = rgb[2 * plane + i]!;
    sa += r - 0.5 * (g + b);
    sb += g - b;
  }
  out[0] = sa / plane;
  out[1] = ((Math.sqrt(3) / 2) * sb) / plane;
}

/** An angle wrapped to -pi..pi. */
export function wrapAngle(a: number): number {
  return a - 2 * Math.PI * Math.round(a / (2 * Math.PI));
}

/**
 * Zooms RGB planes [3][height][width] into the centre, bilinear, in place: the pulse's surge, every structure
 * moving outward at once. Its buffers (a plane and the per-column source indices) are allocated once per grid.
 */
export class PlaneZoom {
  private readonly scratch: Float32Array;
  private readonly x0: Int32Array;
  private readonly x1: Int32Array;
  private readonly fx: Float32Array;

  constructor(readonly width: number, readonly height: number) {
    this.scratch = new Float32Array(width * height);
    this.x0 = new Int32Array(width);
    this.x1 = new Int32Array(width);
    this.fx = new Float32Array(width);
  }

  /** `zoom` 0.1: the picture grows 10 %; 0 or less leaves it as it is. */
  apply(rgb: Float32Array, zoom: number): void {
    if (!(zoom > 0)) return;
    const { width, height, scratch, x0, x1, fx } = this;
    const plane = width * height;
    const s = 1 / (1 + zoom);
    const cx = (width - 1) / 2, cy = (height - 1) / 2;
    for (let x = 0; x < width; x++) {
      const sx = cx + (x - cx) * s;
      x0[x] = Math.floor(sx);
      x1[x] = Math.min(width - 1, x0[x]! + 1);
      fx[x] = sx - x0[x]!;
    }
    for (let c = 0; c < 3; c++) {
      const src = rgb.subarray(c * plane, (c + 1) * plane);
      scratch.set(src);
      for (let y = 0; y < height; y++) {
        const sy = cy + (y - cy) * s, y0 = Math.floor(sy), fy = sy - y0, y1 = Math.min(height - 1, y0 + 1);
        const r0 = y0 * width, r1 = y1 * width, row = y * width;
        for (let x = 0; x < width; x++) {
          const a = x0[x]!, b = x1[x]!, f = fx[x]!;
          const top = scratch[r0 + a]! + f * (scratch[r0 + b]! - scratch[r0 + a]!);
          const bottom = scratch[r1 + a]! + f * (scratch[r1 + b]! - scratch[r1 + a]!);
          src[row + x] = top + fy * (bottom - top);
        }
      }
    }
  }
}
