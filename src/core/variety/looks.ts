/**
 * Distinct looks in a set of renders: k-means on a descriptor of each render's variety features, and
 * the member nearest each cluster's centre as its representative (for a gallery of named looks).
 *
 * The descriptor (standardised over the set, each feature's spread floored so that invisible
 * differences stay small): colour as a point in the hue disc (saturation x cos hue, saturation x sin hue;
 * grey at the centre), brightness, log2 wavelength, log10 change, and the motion's speed, uniformity,
 * persistence and rotation share. k-means++ seeding from a seeded Rng, Lloyd iterations until nothing
 * moves (at most 100): the same set and seed give the same looks.
 */
import { invalidParameterError, requireInt } from '../errors.js';
import { Rng } from '../rng.js';
import type { RenderFeatures } from '../variety.js';

export const LOOK_DESCRIPTOR = ['hueX', 'hueY', 'brightness', 'log2Wavelength', 'log10Change', 'speed', 'uniformity', 'persistence', 'rotation'] as const;
/** Floors of each feature's spread, in LOOK_DESCRIPTOR's order. */
const SPREAD_FLOOR = [0.1, 0.1, 0.03, 0.15, 0.1, 0.05, 0.1, 0.1, 0.1];

export interface LookCluster {
  /** Index (into the features given) of the render nearest the cluster's centre. */
  representative: number;
  /** Indices of every render in the cluster, nearest the centre first. */
  members: number[];
}

/** The descriptor of one render, in LOOK_DESCRIPTOR's order (not standardised). */
export function lookDescriptor(f: RenderFeatures): number[] {
  const h = ((f.hue ?? 0) * Math.PI) / 180, s = f.hue === null ? 0 : f.saturation;
  return [s * Math.cos(h), s * Math.sin(h), f.brightness, Math.log2(f.wavelength), Math.log10(f.change + 1e-4), f.motion.speed, f.motion.uniformity, f.motion.persistence, f.motion.rotation];
}

/** Up to `k` clusters of distinct looks, largest first. */
export function distinctLooks(features: readonly RenderFeatures[], opts: { k: number; seed?: number | string }): LookCluster[] {
  if (!Array.isArray(features) || features.length === 0) throw invalidParameterError('features', 'a non-empty array of render features', features);
  const k = Math.min(requireInt('k', opts.k, 1, 1000), features.length);
  const rng = new Rng(opts.seed ?? 0);
  const x = standardise(features.map(lookDescriptor));
  const d2 = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0);
  // k-means++ seeding
  const centres: number[][] = [x[Math.floor(rng.uniform() * x.length)]!.slice()];
  while (centres.length < k) {
    const w = x.map((p) => Math.min(...centres.map((c) => d2(p, c))));
    const total = w.reduce((a, b) => a + b, 0);
    if (!(total > 0)) break; // fewer distinct points than k
    let r = rng.uniform() * total, i = 0;
    while (i < w.length - 1 && (r -= w[i]!) > 0) i++;
    centres.push(x[i]!.slice());
  }
  // Lloyd iterations
  let assign = new Array<number>(x.length).fill(-1);
  for (let it = 0; it < 100; it++) {
    const next = x.map((p) => centres.reduce((b, c, j) => (d2(p, c) < d2(p, centres[b]!) ? j : b), 0));
    if (next.every((a, i) => a === assign[i])) break;
    assign = next;
    centres.forEach((c, j) => {
      const members = x.filter((_, i) => assign[i] === j);
      if (members.length) for (let f = 0; f < c.length; f++) c[f] = members.reduce((s, p) => s + p[f]!, 0) / members.length;
    });
  }
  const clusters = centres.map((c, j) => {
    const members = x.map((_, i) => i).filter((i) => assign[i] === j).sort((a, b) => d2(x[a]!, c) - d2(x[b]!, c));
    return { representative: members[0] ?? -1, members };
  });
  return clusters.filter((c) => c.members.length > 0).sort((a, b) => b.members.length - a.members.length || a.representative - b.representative);
}

/** z-scores per feature over the set, each spread floored by SPREAD_FLOOR. */
function standardise(rows: number[][]): number[][] {
  const n = rows.length, F = rows[0]!.length;
  const mean = Array.from({ length: F }, (_, f) => rows.reduce((s, r) => s + r[f]!, 0) / n);
  const std = Array.from({ length: F }, (_, f) => Math.max(SPREAD_FLOOR[f] ?? 0.1, Math.sqrt(rows.reduce((s, r) => s + (r[f]! - mean[f]!) ** 2, 0) / n)));
  return rows.map((r) => r.map((v, f) => (Number.isFinite(v) ? (v - mean[f]!) / std[f]! : 0)));
}
