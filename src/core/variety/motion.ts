/**
 * The motion type of a render, from its last frames (each Float32Array [3][H][W], CHW, values 0..1).
 *
 * Block flow: the grid is cut into square tiles of B = max(4, round(min(W, H) / 8)) cells (8 at 64 x 64);
 * for a pair of frames (a, b) `lag` frames apart, each tile of b is matched against a shifted by every
 * d in [-B/2, B/2]^2 (torus), by the sum of squared differences over RGB; the best shift (the smallest of
 * those within 2% of the way from the best SSD to the unshifted one: stripes match all along themselves, and
 * a wave moves across them) is refined to a fraction of a cell by a parabola through its neighbours on each axis. Pairs end at the last frame and
 * 16 and 32 frames before it (those that fit in the window); lags 1, 2, 4, 8 and 16 frames.
 *
 * - explained: the share of the pairs' change that the tiles' shifts explain,
 *   1 - sum SSD(best shift) / sum SSD(no shift), at the lag where it is largest. A pattern that moves
 *   as a whole or in pieces (waves, gliders, swirls) scores near 1; a pattern that stays in place
 *   (flicker, shimmer) scores near 0 (no shift beats none); new structure appearing (chaos) scores low
 *   (the best of the 81 shifts of unrelated pictures explains ~0.1-0.3 by chance).
 * - displacement: the tiles' mean shift at that lag (cells); speed = displacement / lag (cells per frame).
 * - rotation: the share of the flow's gradient that is rotation, curl^2 / (div^2 + curl^2 + shear^2)
 *   (the four parts of the 2 x 2 gradient of the tile shifts, by central differences between interior
 *   tiles, summed over the grid): 1 for a swirl (rigid rotation), 0 for a uniform translation, ~0.25
 *   for unrelated shifts; and turn, the mean |curl| / 2 (radians per lag).
 * - persistence: the spatial variance of the window's mean image over the frames' mean spatial
 *   variance: ~1 when the structure stays where it is, ~0 when it moves or renews.
 *
 * Classes, in order: still (mean change per frame < STILL_CHANGE); travelling or rotating (explained
 * >= 0.5 and displacement >= 0.5 cells; rotating when rotation >= 0.5 and turn >= 0.02 rad); flickering
 * (persistence >= 0.5: it changes in place); chaotic (otherwise).
 */

import { PERSISTENCE_IN_PLACE, channelMoments } from '../metrics.js';

export type MotionType = 'still' | 'flickering' | 'travelling' | 'rotating' | 'chaotic';
export const MOTION_TYPES: readonly MotionType[] = ['still', 'flickering', 'travelling', 'rotating', 'chaotic'];

export const MOTION_THRESHOLDS = {
  /** Mean absolute change per frame (per value) below which a render is still (the look's "still"). */
  stillChange: 0.003,
  explained: 0.5,
  displacement: 0.5,
  growth: 1.5,
  rotation: 0.5,
  turn: 0.02,
  persistence: PERSISTENCE_IN_PLACE,
} as const;

export const MOTION_LAGS = [1, 2, 4, 8, 16] as const;
/** Among shifts nearly as good as the best (within this share of the way to no shift), the smallest is taken. */
const APERTURE_TOLERANCE = 0.02;
/** Pairs end this many frames before the last one. */
const PAIR_ENDS = [0, 16, 32] as const;

export interface MotionMeasure {
  type: MotionType;
  /** Share of the change explained by tile shifts at the best lag, 0..1. */
  explained: number;
  /** The lag (frames) where the shifts explain most. */
  lag: number;
  /** Mean tile shift at that lag (cells). */
  displacement: number;
  /** displacement / lag (cells per frame). */
  speed: number;
  /** |mean tile shift| / mean |tile shift| at that lag: 1 when the whole field moves one way (a wave, a drift), ~0 for shifts in all directions. */
  uniformity: number;
  /** Direction of the mean tile shift, degrees (0 = +x, 90 = +y, i.e. down the picture). */
  heading: number;
  /** How the shifts grow with the lag: the slope of the tile shifts at the best lag on those at half of it (2 for motion). */
  growth: number;
  /** Rotation's share of the flow gradient, 0..1. */
  rotation: number;
  /** Mean |curl| / 2 of the tile shifts (radians per lag). */
  turn: number;
  persistence: number;
}

/** One lag's block flow over its pairs. */
interface LagFlow {
  explained: number;
  /** Mean shift per tile over the pairs, [tilesY][tilesX][2] (dx, dy). */
  flow: Float64Array;
  displacement: number;
}

/**
 * Classify the motion of a window of frames (oldest first, at least 2; every one [3][H][W]), whose
 * mean change per frame is `change`.
 */
export function measureMotion(frames: readonly Float32Array[], width: number, height: number, change: number): MotionMeasure {
  const persistence = framePersistence(frames, width * height);
  const B = Math.max(4, Math.round(Math.min(width, height) / 8));
  const flows: Array<LagFlow & { lag: number }> = [];
  const last = frames.length - 1;
  for (const lag of MOTION_LAGS) {
    const pairs = PAIR_ENDS.filter((e) => last - e - lag >= 0).map((e) => [frames[last - e - lag]!, frames[last - e]!] as const);
    if (pairs.length > 0) flows.push({ ...lagFlow(pairs, width, height, B), lag });
  }
  const tilesX = Math.floor(width / B), tilesY = Math.floor(height / B);
  // growth at lag i: the shifts at lag i against those at half of it (the lags double)
  const growths = flows.map((f, i) => (i > 0 ? flowGrowth(flows[i - 1]!.flow, f.flow) : 0));
  const T = MOTION_THRESHOLDS;
  const moves = (i: number) => flows[i]!.explained >= T.explained && flows[i]!.displacement >= T.displacement && growths[i]! >= T.growth;
  // the lag shown: the best-explained among those that move, else the best-explained of all
  let at = -1;
  flows.forEach((f, i) => {
    if (moves(i) && (at < 0 || f.explained > flows[at]!.explained)) at = i;
  });
  const moving = at >= 0;
  if (!moving) at = flows.reduce((b, f, i) => (f.explained > flows[b]!.explained ? i : b), 0);
  const best = flows[at];
  const growth = growths[at] ?? 0;
  const { rotation, turn } = best ? flowRotation(best.flow, tilesX, tilesY, B) : { rotation: 0, turn: 0 };
  const explained = best?.explained ?? 0, displacement = best?.displacement ?? 0, lag = best?.lag ?? 1;
  let type: MotionType;
  if (!(change >= T.stillChange)) type = 'still';
  else if (moving) type = rotation >= T.rotation && turn >= T.turn ? 'rotating' : 'travelling';
  else if (persistence >= T.persistence) type = 'flickering';
  else type = 'chaotic';
  return { type, explained, lag, displacement, speed: displacement / lag, uniformity: best ? flowUniformity(best.flow) : 0, heading: best ? flowHeading(best.flow) : 0, growth, rotation, turn, persistence };
}

/** Spatial variance of the frames' mean image over their mean spatial variance (pooled over RGB). */
export function framePersistence(frames: readonly Float32Array[], plane: number): number {
  const n = 3 * plane, mean = new Float64Array(n);
  let frameVariance = 0;
  for (const f of frames) {
    for (let i = 0; i < n; i++) mean[i]! += f[i]!;
    frameVariance += channelVariance(f, plane);
  }
  for (let i = 0; i < n; i++) mean[i]! /= frames.length;
  frameVariance /= frames.length;
  return frameVariance > 1e-12 ? channelVariance(mean, plane) / frameVariance : 0;
}


/** Block flow of tiles B x B between each pair (a earlier, b later), shifts within +-B/2. */
function lagFlow(pairs: ReadonlyArray<readonly [Float32Array, Float32Array]>, W: number, H: number, B: number): LagFlow {
  const R = Math.floor(B / 2), S = 2 * R + 1, plane = W * H;
  const tilesX = Math.floor(W / B), tilesY = Math.floor(H / B);
  const flow = new Float64Array(tilesX * tilesY * 2);
  const ssd = new Float64Array(S * S);
  let bestSum = 0, zeroSum = 0, displacement = 0;
  for (const [a, b] of pairs) {
    for (let ty = 0; ty < tilesY; ty++) {
      for (let tx = 0; tx < tilesX; tx++) {
        // SSD of tile (tx, ty) of b against a shifted by (dx, dy): b[p] vs a[p - d]
        ssd.fill(0);
        for (let c = 0; c < 3; c++) {
          const o = c * plane;
          for (let y = ty * B; y < (ty + 1) * B; y++) {
            for (let x = tx * B; x < (tx + 1) * B; x++) {
              const v = b[o + y * W + x]!;
              for (let dy = -R; dy <= R; dy++) {
                const row = o + ((y - dy + H) % H) * W;
                const base = (dy + R) * S + R;
                for (let dx = -R; dx <= R; dx++) {
                  const e = v - a[row + ((x - dx + W) % W)]!;
                  ssd[base + dx]! += e * e;
                }
              }
            }
          }
        }
        // the smallest shift whose SSD is within APERTURE_TOLERANCE of the way from the best to no shift
        // (stripes match equally well all along themselves: take the shift across them)
        const zero = ssd[R * S + R]!;
        let min = zero;
        for (let j = 0; j < ssd.length; j++) if (ssd[j]! < min) min = ssd[j]!;
        const tolerance = min + APERTURE_TOLERANCE * (zero - min);
        let k = R * S + R, kNorm = 0;
        for (let j = 0; j < ssd.length; j++) {
          if (ssd[j]! > tolerance) continue;
          const norm = (Math.floor(j / S) - R) ** 2 + ((j % S) - R) ** 2;
          if (ssd[k]! > tolerance || norm < kNorm || (norm === kNorm && ssd[j]! < ssd[k]!)) {
            k = j;
            kNorm = norm;
          }
        }
        const iy = Math.floor(k / S), ix = k % S;
        bestSum += ssd[k]!;
        zeroSum += ssd[R * S + R]!;
        const fx = ix - R + subCell(ix > 0 && ix < S - 1 ? ssd[k - 1]! : NaN, ssd[k]!, ix > 0 && ix < S - 1 ? ssd[k + 1]! : NaN);
        const fy = iy - R + subCell(iy > 0 && iy < S - 1 ? ssd[k - S]! : NaN, ssd[k]!, iy > 0 && iy < S - 1 ? ssd[k + S]! : NaN);
        const t = (ty * tilesX + tx) * 2;
        flow[t]! += fx / pairs.length;
        flow[t + 1]! += fy / pairs.length;
        displacement += Math.hypot(fx, fy);
      }
    }
  }
  const explained = zeroSum > 1e-9 ? Math.max(0, 1 - bestSum / zeroSum) : 0;
  return { explained, flow, displacement: displacement / (pairs.length * tilesX * tilesY) };
}

/** |mean vector| / mean |vector| of a flow [tiles][2]. */
function flowUniformity(flow: Float64Array): number {
  let sx = 0, sy = 0, norm = 0;
  for (let i = 0; i < flow.length; i += 2) {
    sx += flow[i]!;
    sy += flow[i + 1]!;
    norm += Math.hypot(flow[i]!, flow[i + 1]!);
  }
  return norm > 1e-12 ? Math.hypot(sx, sy) / norm : 0;
}

/** Direction of the mean vector of a flow [tiles][2], degrees 0..360. */
function flowHeading(flow: Float64Array): number {
  let sx = 0, sy = 0;
  for (let i = 0; i < flow.length; i += 2) {
    sx += flow[i]!;
    sy += flow[i + 1]!;
  }
  const h = (Math.atan2(sy, sx) * 180) / Math.PI;
  return h < 0 ? h + 360 : h;
}

/** Least-squares slope of the tile shifts `longer` on `shorter` (both [tiles][2]): sum(l . s) / sum(|s|^2). */
function flowGrowth(shorter: Float64Array, longer: Float64Array): number {
  let dot = 0, ss = 0;
  for (let i = 0; i < shorter.length; i++) {
    dot += longer[i]! * shorter[i]!;
    ss += shorter[i]! * shorter[i]!;
  }
  return ss > 1e-12 ? dot / ss : 0;
}

/** Offset (-0.5..0.5) of a parabola's minimum through (-1, l), (0, m), (1, r); 0 when undefined. */
function subCell(l: number, m: number, r: number): number {
  const den = l - 2 * m + r;
  if (!Number.isFinite(den) || den <= 1e-12) return 0;
  return Math.max(-0.5, Math.min(0.5, (0.5 * (l - r)) / den));
}

/** Rotation's share of the gradient of a tile flow [tilesY][tilesX][2], and the mean |curl| / 2. */
function flowRotation(flow: Float64Array, tilesX: number, tilesY: number, B: number): { rotation: number; turn: number } {
  let curl2 = 0, all2 = 0, curlAbs = 0, n = 0;
  const at = (x: number, y: number, k: number) => flow[(y * tilesX + x) * 2 + k]!;
  for (let y = 1; y < tilesY - 1; y++) {
    for (let x = 1; x < tilesX - 1; x++) {
      const a = (at(x + 1, y, 0) - at(x - 1, y, 0)) / (2 * B); // d(dx)/dx
      const b = (at(x, y + 1, 0) - at(x, y - 1, 0)) / (2 * B); // d(dx)/dy
      const c = (at(x + 1, y, 1) - at(x - 1, y, 1)) / (2 * B); // d(dy)/dx
      const d = (at(x, y + 1, 1) - at(x, y - 1, 1)) / (2 * B); // d(dy)/dy
      const div = a + d, curl = c - b, s1 = a - d, s2 = b + c;
      curl2 += curl * curl;
      all2 += div * div + curl * curl + s1 * s1 + s2 * s2;
      curlAbs += Math.abs(curl);
      n++;
    }
  }
  return { rotation: all2 > 1e-12 ? curl2 / all2 : 0, turn: n ? curlAbs / n / 2 : 0 };
}

/** Spatial variance per channel (per-channel mean removed), averaged over the 3 channels (metrics.ts' channelMoments). */
function channelVariance(x: ArrayLike<number>, plane: number): number {
  const m = channelMoments(x, plane);
  return (m[3]! + m[4]! + m[5]!) / 3;
}
