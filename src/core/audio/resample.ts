/**
 * Sample-rate conversion by a polyphase windowed-sinc filter (Kaiser window).
 *
 * The rate ratio is reduced to up / down (e.g. 44100 -> 22050 is 1/2, 48000 -> 22050 is 147/320).
 * Conceptually the input is upsampled by `up` (zeros inserted), low-pass filtered at the lower of
 * the two Nyquist frequencies and decimated by `down`; the polyphase form computes only the outputs
 * that are kept, each from `tapsPerPhase` input samples. When the reduced ratio has too many phases
 * (e.g. 22051 Hz), the input rate is treated as the nearest rate with at most MAX_PHASES phases
 * (pitch error below 0.03 %).
 *
 * Design: passband edge 0.45 x the lower rate, stopband edge 0.55 x the lower rate, so aliases of
 * energy above the new Nyquist fold only into 0.45..0.5 of the output band (the top 10 % of the mel
 * range), and are attenuated by the Kaiser stopband (beta 8, about -80 dB) everywhere else.
 */

/** Largest number of filter phases before the ratio is approximated. */
const MAX_PHASES = 2048;
/** Kaiser beta: about 80 dB of stopband attenuation. */
const KAISER_BETA = 8.0;
/** Passband and stopband edges as fractions of the lower sample rate. */
const PASS_EDGE = 0.45;
const STOP_EDGE = 0.55;

export interface ResampleOptions {
  /** Filter quality: 'fast' halves the filter length (about -50 dB stopband). Default 'high'. */
  quality?: 'high' | 'fast';
}

interface PolyphaseFilter {
  up: number;
  down: number;
  /** Taps per phase. */
  taps: number;
  /** Coefficients [up][taps] row-major (see designFilter). */
  coefficients: Float32Array;
  /** Index of the filter centre on the upsampled grid (length / 2). */
  centre: number;
}

const filterCache = new Map<string, PolyphaseFilter>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** Reduce inRate/outRate to up/down, approximating if it needs more than MAX_PHASES phases. */
export function rateRatio(inRate: number, outRate: number): { up: number; down: number } {
  const a = Math.round(inRate);
  const b = Math.round(outRate);
  const g = gcd(a, b);
  let up = b / g;
  let down = a / g;
  if (up > MAX_PHASES) {
    // Best rational approximation of outRate / inRate with denominator-free numerator <= MAX_PHASES.
    const ratio = outRate / inRate;
    let best = { up: 1, down: Math.max(1, Math.round(1 / ratio)), err: Infinity };
    for (let u = 1; u <= MAX_PHASES; u++) {
      const d = Math.max(1, Math.round(u / ratio));
      const err = Math.abs(u / d - ratio);
      if (err < best.err) best = { up: u, down: d, err };
    }
    up = best.up;
    down = best.down;
  }
  return { up, down };
}

function designFilter(up: number, down: number, quality: 'high' | 'fast'): PolyphaseFilter {
  const key = `${up}/${down}/${quality}`;
  const cached = filterCache.get(key);
  if (cached) return cached;
  // Frequencies in cycles per input sample; the cutoff is the lower Nyquist of the two rates.
  const lower = Math.min(1, up / down); // the lower of the two rates, in units of the input rate
  const cutoff = (0.5 * (PASS_EDGE + STOP_EDGE)) * lower; // cycles per input sample, centre of transition
  const transition = (STOP_EDGE - PASS_EDGE) * lower; // cycles per input sample
  // Kaiser length estimate: N = (A - 8) / (2.285 * 2 pi * df), A = 80 dB (half for 'fast').
  const atten = quality === 'high' ? 80 : 50;
  const beta = quality === 'high' ? KAISER_BETA : 4.55;
  let tapsPerPhase = Math.ceil((atten - 8) / (2.285 * 2 * Math.PI * transition));
  tapsPerPhase += tapsPerPhase % 2;
  const length = tapsPerPhase * up; // filter length at the upsampled rate
  const centre = length / 2; // integer: output m lines up exactly with upsampled index m*down
  const proto = new Float64Array(length);
  const i0Beta = besselI0(beta);
  for (let n = 0; n < length; n++) {
    const t = (n - centre) / up; // time in input samples
    const x = 2 * cutoff * t;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const r = (n - centre) / centre;
    proto[n] = sinc * (besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta);
  }
  // Phase p of row-major coefficients[p][j] = proto[p + (taps-1-j)*up], normalised to unit DC
  // gain, so that y[m] = sum_j coefficients[p][j] * x[i0 + j] is a forward dot product.
  const coefficients = new Float32Array(up * tapsPerPhase);
  for (let p = 0; p < up; p++) {
    let sum = 0;
    for (let k = 0; k < tapsPerPhase; k++) sum += proto[p + k * up]!;
    for (let k = 0; k < tapsPerPhase; k++) coefficients[p * tapsPerPhase + (tapsPerPhase - 1 - k)] = proto[p + k * up]! / sum;
  }
  const filter = { up, down, taps: tapsPerPhase, coefficients, centre };
  filterCache.set(key, filter);
  return filter;
}

/**
 * Resample `input` (mono, any rate) to `outRate`. Returns a new Float32Array of
 * round(input.length * outRate / inRate) samples; returns a copy when the rates are equal.
 * Samples outside the input are treated as zeros.
 */
export function resample(input: Float32Array, inRate: number, outRate: number, opts: ResampleOptions = {}): Float32Array {
  if (!(inRate > 0) || !(outRate > 0)) throw new RangeError(`sample rates must be positive (got ${inRate} -> ${outRate})`);
  if (Math.round(inRate) === Math.round(outRate)) return input.slice();
  const { up, down } = rateRatio(inRate, outRate);
  const filter = designFilter(up, down, opts.quality ?? 'high');
  const outLength = Math.round((input.length * up) / down);
  if (up === 1) return decimate(input, filter, outLength);
  const out = new Float32Array(outLength);
  const { taps, coefficients: h, centre } = filter;
  const n = input.length;
  for (let m = 0; m < outLength; m++) {
    // Output m sits at upsampled index m*down; the newest input sample under the filter is
    // iMax = floor((m*down + centre) / up), at phase p = (m*down + centre) mod up.
    const pos = m * down + centre;
    const iMax = Math.floor(pos / up);
    const row = (pos - iMax * up) * taps;
    const i0 = iMax - taps + 1;
    let acc = 0;
    if (i0 >= 0 && iMax < n) {
      for (let j = 0; j < taps; j++) acc += h[row + j]! * input[i0 + j]!;
    } else {
      for (let j = 0; j < taps; j++) {
        const i = i0 + j;
        if (i >= 0 && i < n) acc += h[row + j]! * input[i]!;
      }
    }
    out[m] = acc;
  }
  return out;
}

/**
 * The integer-decimation case (up = 1, e.g. 44100 -> 22050): one symmetric filter, folded so each
 * output costs taps/2 multiplies, and with the taps that are exactly zero skipped (every other one
 * for a half-band decimator by 2).
 */
function decimate(input: Float32Array, filter: PolyphaseFilter, outLength: number): Float32Array {
  const { down, taps, coefficients: h, centre } = filter;
  // coefficients[j] = proto[taps-1-j]; proto is symmetric about `centre`, so g[d] = proto[centre+d].
  const folded: number[] = [];
  const offsets: number[] = [];
  for (let d = 1; d < centre; d++) {
    const g = h[taps - 1 - (centre + d)]!;
    if (Math.abs(g) > 1e-9) {
      folded.push(g);
      offsets.push(d);
    }
  }
  const g0 = h[taps - 1 - centre]!;
  // Renormalise the folded filter to unit DC gain (the dropped end tap and skipped zeros).
  let dc = g0;
  for (const g of folded) dc += 2 * g;
  const gains = Float32Array.from(folded, (g) => g / dc);
  const offs = Int32Array.from(offsets);
  const gCentre = g0 / dc;
  const out = new Float32Array(outLength);
  const n = input.length;
  const reach = centre;
  const count = gains.length;
  // Offsets are evenly spaced (1, 2, 3... or 1, 3, 5... for a half-band): use the stride directly.
  const first = offs[0] ?? 1;
  const stride = count > 1 ? offs[1]! - first : 1;
  const regular = offs.every((d, j) => d === first + j * stride);
  for (let m = 0; m < outLength; m++) {
    const c = m * down;
    let acc = gCentre * (c < n ? input[c]! : 0);
    if (regular && c - reach >= 0 && c + reach < n) {
      let lo = c - first;
      let hi = c + first;
      for (let j = 0; j < count; j++, lo -= stride, hi += stride) acc += gains[j]! * (input[lo]! + input[hi]!);
    } else {
      for (let j = 0; j < count; j++) {
        const d = offs[j]!;
        const a = c - d >= 0 && c - d < n ? input[c - d]! : 0;
        const b = c + d < n ? input[c + d]! : 0;
        acc += gains[j]! * (a + b);
      }
    }
    out[m] = acc;
  }
  return out;
}
