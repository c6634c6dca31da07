/**
 * Exhaustive proofs that a GoL NCA (net.ts) steps B3/S23 exactly.
 *
 * Rounded protocol (board rounded at 0.5 between steps): for all 2^25 binary 5x5 neighbourhoods the
 * centre output must be on the right side of 0.5. The output is b2 + centre + sum over the 9 hidden
 * positions p of w2[.,p] . relu(h(window_p)), and position p's window lies in rows py..py+2, so the
 * sum splits into three "bands" (py = 0, 1, 2), each a function of 3 rows = 15 bits: three tables of
 * 2^15 band sums make each neighbourhood three look-ups and two additions.
 *
 * Free running (no rounding): for every binary board b and every input x with |x - b| <= eps
 * cell-wise, the output must be within eps of the true next state; then by induction a run started
 * on a binary board stays within eps of the Life run forever. Bounds per neighbourhood:
 * - layer 1: the pre-activation z_j = c_j + w1_j . (x - b) of a window ranges over c_j +- eps*|w1_j|_1;
 *   a unit is stably active (z >= 0 on the whole box), stably inactive (z <= 0) or unstable;
 * - stably active units are linear in x, so their contribution is kept symbolically: the output is
 *   const + a . (x - b) + [U_lo, U_hi], where a (25 coefficients, the residual's +1 on the centre
 *   included) is the exact gradient of the linear part and U bounds the unstable units by
 *   interval arithmetic: v * relu(z) in [min(0, v*relu(hi)), max(0, v*relu(hi))];
 * - over the box, a . (x - b) ranges over +- eps * |a|_1 exactly.
 * The coefficient vector a also splits into the three bands (15 coefficients each).
 *
 * Float32 honesty: the engine computes in float32. Every pre-activation and output is widened by
 * a worst-case bound on float32 dot-product rounding (|error| <= gamma_n * sum|terms|, gamma_n =
 * n*u/(1-n*u), u = 2^-24, n = 145 terms, valid for any summation order, with or without FMA; not for
 * Winograd-style transforms, which to our knowledge onnxruntime's CPU convolution does not use). The proofs themselves
 * accumulate in float64 (relative error ~1e-16, far below every margin reported).
 */
import { CENTRE_BIT, UNITS, WINDOWS, lifeTarget, type GolNet } from './net.js';

/** Rows 0..3 of a neighbourhood: the outer loop runs over these 2^20 values, row 4 inside. */
export const OUTER = 1 << 20;
const BAND = 1 << 15;
const UNIT_ROUNDOFF = 2 ** -24;
/** Terms in one engine dot product: 16 channels x 9 taps + bias. */
const DOT_TERMS = 16 * 9 + 1;
const gamma = (n: number) => (n * UNIT_ROUNDOFF) / (1 - n * UNIT_ROUNDOFF);

/** Pre-activations c[w][j] = b1[j] + w1[j] . window(w): Float64Array [512][16]. */
export function windowPreactivations(net: GolNet): Float64Array {
  const c = new Float64Array(WINDOWS * UNITS);
  for (let w = 0; w < WINDOWS; w++) {
    for (let j = 0; j < UNITS; j++) {
      let z = net.b1[j]!;
      for (let k = 0; k < 9; k++) if ((w >>> k) & 1) z += net.w1[j * 9 + k]!;
      c[w * UNITS + j] = z;
    }
  }
  return c;
}

/** The window of band position px (0..2) in a band index q (rows r, r+1, r+2 as 3 x 5 bits). */
function bandWindow(q: number, px: number): number {
  return ((q >>> px) & 7) | (((q >>> (5 + px)) & 7) << 3) | (((q >>> (10 + px)) & 7) << 6);
}

/** Worst-case float32 rounding of the engine for inputs within eps of binary (see the file comment). */
export interface Float32Slack {
  /** Per hidden unit: bound on |engine pre-activation - exact|. */
  preactivation: Float64Array;
  /** Bound on |engine output - exact output given the engine's hidden values|, plus their propagated error. */
  output: number;
}

export function float32Slack(net: GolNet, eps: number, pre = windowPreactivations(net)): Float32Slack {
  const g = gamma(DOT_TERMS);
  const preactivation = new Float64Array(UNITS);
  let sumVH = 0;
  let propagated = 0;
  for (let j = 0; j < UNITS; j++) {
    let l1 = 0;
    for (let k = 0; k < 9; k++) l1 += Math.abs(net.w1[j * 9 + k]!);
    const d1 = g * (l1 * (1 + eps) + Math.abs(net.b1[j]!));
    preactivation[j] = d1;
    let hMax = 0;
    for (let w = 0; w < WINDOWS; w++) hMax = Math.max(hMax, pre[w * UNITS + j]! + eps * l1 + d1);
    let v1 = 0;
    for (let p = 0; p < 9; p++) v1 += Math.abs(net.w2[j * 9 + p]!);
    sumVH += v1 * hMax;
    propagated += v1 * d1;
  }
  const convAbs = sumVH + Math.abs(net.b2);
  // conv-2 dot product, then the residual Add (one more rounding of a value below 1 + eps + convAbs)
  const output = propagated + g * convAbs + UNIT_ROUNDOFF * (1 + eps + convAbs + g * convAbs);
  return { preactivation, output };
}

/**
 * A uniform sample of up to `max` of the neighbourhoods offered (reservoir sampling with a fixed
 * xorshift32 stream, so the sample is deterministic). Training draws counterexamples from it.
 */
export class Reservoir {
  readonly items: number[] = [];
  seen = 0;
  private state = 0x9e3779b9;
  constructor(readonly max: number) {}

  offer(n: number): void {
    this.seen++;
    if (this.items.length < this.max) {
      this.items.push(n);
      return;
    }
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    const j = this.state % this.seen;
    if (j < this.max) this.items[j] = n;
  }
}

/** Merges per-range samples into one of up to `max` items, each part contributing by its share of `seen`. */
function mergeSamples(parts: Array<{ collected: number[]; seen: number }>, max: number): number[] {
  const total = parts.reduce((a, p) => a + p.seen, 0);
  const out: number[] = [];
  for (const p of parts) {
    const share = total <= max ? p.collected.length : Math.round((max * p.seen) / total);
    out.push(...p.collected.slice(0, share));
  }
  return out.slice(0, max);
}

// ---------------------------------------------------------------------------------------------
// Rounded protocol

/** Band sums for the rounded proof: Float64Array [3][2^15], V[py][q] = sum_px w2[.,(py,px)] . relu(c[window]). */
export function roundedTables(net: GolNet): Float64Array {
  const pre = windowPreactivations(net);
  // Per position p and window w: sum_j w2[j][p] * relu(c[w][j])
  const pos = new Float64Array(9 * WINDOWS);
  for (let p = 0; p < 9; p++) {
    for (let w = 0; w < WINDOWS; w++) {
      let s = 0;
      for (let j = 0; j < UNITS; j++) {
        const z = pre[w * UNITS + j]!;
        if (z > 0) s += net.w2[j * 9 + p]! * z;
      }
      pos[p * WINDOWS + w] = s;
    }
  }
  const bands = new Float64Array(3 * BAND);
  for (let py = 0; py < 3; py++) {
    for (let q = 0; q < BAND; q++) {
      let s = 0;
      for (let px = 0; px < 3; px++) s += pos[(3 * py + px) * WINDOWS + bandWindow(q, px)]!;
      bands[py * BAND + q] = s;
    }
  }
  return bands;
}

/** B3/S23 of the centre of band index q1 (rows 1..3 of the neighbourhood): Uint8Array [2^15]. */
function targetTable(): Uint8Array {
  const t = new Uint8Array(BAND);
  for (let q = 0; q < BAND; q++) t[q] = lifeTarget(q << 5);
  return t;
}

/** Partial result of the rounded proof over a range of the outer loop (mergeable). */
export interface RoundedPart {
  mismatches: number;
  /** Lowest mismatching neighbourhood, -1 if none. */
  firstMismatch: number;
  /** Smallest (y - 0.5) * (2t - 1) over the range: the signed margin (negative = wrong side). */
  minMargin: number;
  minMarginAt: number;
  /** Neighbourhoods whose signed margin is below `collectBelow` (up to `collectMax`). */
  collected: number[];
  /** How many were below `collectBelow` (collected or not). */
  below: number;
}

/**
 * The rounded-protocol loop over outer indices [start, end) (rows 0..3), row 4 inside.
 * `bands` from roundedTables(); `collectBelow`: signed margins below it are collected (training).
 */
export function roundedPart(bands: Float64Array, b2: number, start: number, end: number, collectBelow = -Infinity, collectMax = 0): RoundedPart {
  const targets = targetTable();
  let mismatches = 0;
  let firstMismatch = -1;
  let minMargin = Infinity;
  let minMarginAt = -1;
  let below = 0;
  const sample = new Reservoir(collectMax);
  for (let hi = start; hi < end; hi++) {
    const q1 = hi >>> 5;
    const t = targets[q1]!;
    // Sign: margins are (y - 0.5) for live targets and (0.5 - y) for dead ones.
    const sign = t ? 1 : -1;
    const base = b2 + ((hi >>> CENTRE_BIT) & 1) + bands[hi & 0x7fff]! + bands[BAND + q1]! - 0.5;
    const q2 = (hi >>> 10) + 2 * BAND;
    for (let r4 = 0; r4 < 32; r4++) {
      const m = sign * (base + bands[q2 + (r4 << 10)]!);
      if (m < collectBelow) {
        below++;
        if (collectMax > 0) sample.offer(hi | (r4 << 20));
      }
      if (m < minMargin) {
        minMargin = m;
        minMarginAt = hi | (r4 << 20);
      }
      if (m < 0 || (m === 0 && !t)) {
        mismatches++;
        const n = hi | (r4 << 20);
        if (firstMismatch < 0 || n < firstMismatch) firstMismatch = n;
      }
    }
  }
  return { mismatches, firstMismatch, minMargin, minMarginAt, collected: sample.items, below };
}

export function mergeRounded(parts: RoundedPart[], collectMax = 0): RoundedPart {
  const out: RoundedPart = { mismatches: 0, firstMismatch: -1, minMargin: Infinity, minMarginAt: -1, collected: [], below: 0 };
  for (const p of parts) {
    out.mismatches += p.mismatches;
    if (p.firstMismatch >= 0 && (out.firstMismatch < 0 || p.firstMismatch < out.firstMismatch)) out.firstMismatch = p.firstMismatch;
    if (p.minMargin < out.minMargin || (p.minMargin === out.minMargin && p.minMarginAt < out.minMarginAt)) {
      out.minMargin = p.minMargin;
      out.minMarginAt = p.minMarginAt;
    }
    out.below += p.below;
  }
  out.collected = mergeSamples(parts.map((p) => ({ collected: p.collected, seen: p.below })), collectMax);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Free running

/**
 * Band tables of the free-running bound at eps, each indexed by band index q (3 rows, 15 bits):
 * `value` [3][2^15] (stably active units' output at the binary point), `lo`/`hi` [3][2^15]
 * (interval of the unstable units + float32 slack of the active ones), `coef` [3][2^15][15]
 * (gradient of the active units' contribution w.r.t. the band's 3x5 cells).
 */
export interface FreeTables {
  eps: number;
  value: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  coef: Float64Array;
  /** sum_c |coef[2][q][10 + c]|: the L1 norm of band 2's last row (which nothing else touches). */
  lastRowL1: Float64Array;
  /** Float32 output slack (added to both ends of the output interval). */
  outputSlack: number;
}

export function freeTables(net: GolNet, eps: number): FreeTables {
  const pre = windowPreactivations(net);
  const slack = float32Slack(net, eps, pre);
  const radius = new Float64Array(UNITS);
  for (let j = 0; j < UNITS; j++) {
    let l1 = 0;
    for (let k = 0; k < 9; k++) l1 += Math.abs(net.w1[j * 9 + k]!);
    radius[j] = eps * l1 + slack.preactivation[j]!;
  }
  // Per position p and window w.
  const pValue = new Float64Array(9 * WINDOWS);
  const pLo = new Float64Array(9 * WINDOWS);
  const pHi = new Float64Array(9 * WINDOWS);
  const pCoef = new Float64Array(9 * WINDOWS * 9);
  for (let p = 0; p < 9; p++) {
    for (let w = 0; w < WINDOWS; w++) {
      const at = p * WINDOWS + w;
      for (let j = 0; j < UNITS; j++) {
        const v = net.w2[j * 9 + p]!;
        const c = pre[w * UNITS + j]!;
        const r = radius[j]!;
        if (c - r >= 0) {
          // stably active: linear; the float32 error of its pre-activation goes into the interval
          pValue[at] += v * c;
          const e = Math.abs(v) * slack.preactivation[j]!;
          pLo[at] -= e;
          pHi[at] += e;
          for (let k = 0; k < 9; k++) pCoef[at * 9 + k] += v * net.w1[j * 9 + k]!;
        } else if (c + r > 0) {
          // unstable: relu(z) in [0, c + r]
          const top = v * (c + r);
          if (top > 0) pHi[at] += top;
          else pLo[at] += top;
        }
      }
    }
  }
  const value = new Float64Array(3 * BAND);
  const lo = new Float64Array(3 * BAND);
  const hi = new Float64Array(3 * BAND);
  const coef = new Float64Array(3 * BAND * 15);
  const lastRowL1 = new Float64Array(BAND);
  for (let py = 0; py < 3; py++) {
    for (let q = 0; q < BAND; q++) {
      const at = py * BAND + q;
      for (let px = 0; px < 3; px++) {
        const src = (3 * py + px) * WINDOWS + bandWindow(q, px);
        value[at] += pValue[src]!;
        lo[at] += pLo[src]!;
        hi[at] += pHi[src]!;
        for (let k = 0; k < 9; k++) coef[at * 15 + 5 * Math.floor(k / 3) + px + (k % 3)] += pCoef[src * 9 + k]!;
      }
      if (py === 2) {
        let s = 0;
        for (let c = 10; c < 15; c++) s += Math.abs(coef[at * 15 + c]!);
        lastRowL1[q] = s;
      }
    }
  }
  return { eps, value, lo, hi, coef, lastRowL1, outputSlack: slack.output };
}

/** Bounds of the centre output over the eps-box around one binary neighbourhood (the per-pattern form of the loop). */
export function freeBounds(t: FreeTables, b2: number, neighbourhood: number): { lo: number; hi: number; gradientL1: number; value: number } {
  const q = [neighbourhood & 0x7fff, (neighbourhood >>> 5) & 0x7fff, (neighbourhood >>> 10) & 0x7fff];
  const a = new Float64Array(25);
  a[CENTRE_BIT] = 1;
  let value = b2 + ((neighbourhood >>> CENTRE_BIT) & 1);
  let lo = 0, hi = 0;
  for (let py = 0; py < 3; py++) {
    const at = py * BAND + q[py]!;
    value += t.value[at]!;
    lo += t.lo[at]!;
    hi += t.hi[at]!;
    for (let c = 0; c < 15; c++) a[5 * py + c] += t.coef[at * 15 + c]!;
  }
  let l1 = 0;
  for (let i = 0; i < 25; i++) l1 += Math.abs(a[i]!);
  return { lo: value - t.eps * l1 + lo - t.outputSlack, hi: value + t.eps * l1 + hi + t.outputSlack, gradientL1: l1, value };
}

/** Partial result of the free-running proof at eps over a range of the outer loop. */
export interface FreePart {
  /** Neighbourhoods whose output interval is not within eps of the target. */
  failures: number;
  /** Smallest eps - (distance from the target to the far end of the output interval). */
  minSlack: number;
  minSlackAt: number;
  /**
   * Largest need / (1 - |a|_1) over the range, where need is the interval's excess at eps = 0:
   * with the same stability tables, every eps' in [minEps, eps] is proven too. Infinity when some
   * |a|_1 >= 1 (no contraction).
   */
  minEps: number;
  /** Failing neighbourhoods (up to `collectMax`). */
  collected: number[];
}

/** The free-running loop over outer indices [start, end). */
export function freePart(t: FreeTables, b2: number, start: number, end: number, collectMax = 0): FreePart {
  const targets = targetTable();
  const { value, lo, hi, coef, lastRowL1, eps } = t;
  const slack = t.outputSlack;
  let failures = 0;
  let minSlack = Infinity;
  let minSlackAt = -1;
  let minEps = 0;
  const sample = new Reservoir(collectMax);
  const row2 = new Float64Array(5);
  const row3 = new Float64Array(5);
  for (let h = start; h < end; h++) {
    const q0 = h & 0x7fff;
    const q1 = (h >>> 5) & 0x7fff;
    const target = targets[q1]!;
    const c0 = q0 * 15, c1 = (BAND + q1) * 15;
    // Rows 0 and 1 of a are complete once rows 0..3 are fixed.
    let l1Top = 0;
    for (let c = 0; c < 5; c++) l1Top += Math.abs(coef[c0 + c]!) + Math.abs(coef[c0 + 5 + c]! + coef[c1 + c]!);
    for (let c = 0; c < 5; c++) {
      row2[c] = coef[c0 + 10 + c]! + coef[c1 + 5 + c]!;
      row3[c] = coef[c1 + 10 + c]!;
    }
    row2[2] += 1; // the residual: d out / d centre
    const v01 = b2 + ((h >>> CENTRE_BIT) & 1) + value[q0]! + value[BAND + q1]! - target;
    const lo01 = lo[q0]! + lo[BAND + q1]! - slack;
    const hi01 = hi[q0]! + hi[BAND + q1]! + slack;
    const q2base = h >>> 10;
    for (let r4 = 0; r4 < 32; r4++) {
      const q2 = q2base | (r4 << 10);
      const at = 2 * BAND + q2;
      const c2 = at * 15;
      const l1 =
        l1Top +
        Math.abs(row2[0]! + coef[c2]!) + Math.abs(row2[1]! + coef[c2 + 1]!) + Math.abs(row2[2]! + coef[c2 + 2]!) + Math.abs(row2[3]! + coef[c2 + 3]!) + Math.abs(row2[4]! + coef[c2 + 4]!) +
        Math.abs(row3[0]! + coef[c2 + 5]!) + Math.abs(row3[1]! + coef[c2 + 6]!) + Math.abs(row3[2]! + coef[c2 + 7]!) + Math.abs(row3[3]! + coef[c2 + 8]!) + Math.abs(row3[4]! + coef[c2 + 9]!) +
        lastRowL1[q2]!;
      const d = v01 + value[at]!; // output at the binary point minus the target
      // excess of the interval beyond the target at eps = 0 (upper and lower ends)
      const needUp = d + hi01 + hi[at]!;
      const needDown = -(d + lo01 + lo[at]!);
      const need = needUp > needDown ? needUp : needDown;
      const s = eps - (need + eps * l1);
      if (s < minSlack) {
        minSlack = s;
        minSlackAt = h | (r4 << 20);
      }
      if (s < 0) {
        failures++;
        if (collectMax > 0) sample.offer(h | (r4 << 20));
      }
      const e = l1 < 1 ? need / (1 - l1) : Infinity;
      if (e > minEps) minEps = e;
    }
  }
  return { failures, minSlack, minSlackAt, minEps, collected: sample.items };
}

export function mergeFree(parts: FreePart[], collectMax = 0): FreePart {
  const out: FreePart = { failures: 0, minSlack: Infinity, minSlackAt: -1, minEps: 0, collected: [] };
  for (const p of parts) {
    out.failures += p.failures;
    if (p.minSlack < out.minSlack) {
      out.minSlack = p.minSlack;
      out.minSlackAt = p.minSlackAt;
    }
    if (p.minEps > out.minEps) out.minEps = p.minEps;
  }
  out.collected = mergeSamples(parts.map((p) => ({ collected: p.collected, seen: p.failures })), collectMax);
  return out;
}

