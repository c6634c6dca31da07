import { readTextFile } from './io/read.js';
import { UserError } from './errors.js';
import type { Rng } from './rng.js';

/** Dimension of every latent in nca. */
export const LATENT_DIM = 64;
export const LATENT_FORMAT = 'nca-latent';
export const LATENT_VERSION = 1;

/** One point of a latent track: the latent `z` at time `t` seconds. */
export interface TrackPoint {
  t: number;
  z: Float32Array;
}

/**
 * A latent: a single 64-d vector, or a track of timestamped vectors (audio that changes over time).
 * Exactly one of `z` and `track` is set.
 */
export interface Latent {
  z?: Float32Array;
  track?: TrackPoint[];
  /** Where it came from: source file, instrument, note, clip window, model id, command... */
  provenance: Record<string, unknown>;
}

/**
 * The latent file (JSON):
 * `{ "format": "nca-latent", "version": 1, "dim": 64, "z": [64 numbers], "provenance": {...} }`
 * or with `"track": [{ "t": seconds, "z": [64 numbers] }, ...]` (times strictly increasing) instead of `z`.
 */
export function latentToJson(latent: Latent): string {
  const round = (z: Float32Array) => Array.from(z, (v) => Number(v.toPrecision(9)));
  const file: Record<string, unknown> = { format: LATENT_FORMAT, version: LATENT_VERSION, dim: LATENT_DIM };
  if (latent.track) file.track = latent.track.map((p) => ({ t: Number(p.t.toFixed(6)), z: round(p.z) }));
  else file.z = round(latent.z!);
  file.provenance = latent.provenance;
  return JSON.stringify(file) + '\n';
}

function parseVector(v: unknown, where: string, source: string): Float32Array {
  if (!Array.isArray(v)) throw new UserError(`${source}: ${where} must be an array of ${LATENT_DIM} numbers`);
  if (v.length !== LATENT_DIM) throw new UserError(`${source}: ${where} has ${v.length} numbers, expected ${LATENT_DIM} (nca latents are ${LATENT_DIM}-d)`);
  const z = new Float32Array(LATENT_DIM);
  for (let i = 0; i < LATENT_DIM; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new UserError(`${source}: ${where}[${i}] is ${JSON.stringify(x)}, expected a finite number`);
    z[i] = x;
  }
  return z;
}

/** Parse and validate a latent file's text; `source` names the file in errors. */
export function parseLatent(text: string, source: string): Latent {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UserError(`${source} is not valid JSON; expected a latent file (nca random or nca encode write one)`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UserError(`${source} is not a latent file: expected a JSON object with "format": "${LATENT_FORMAT}"`);
  const f = data as Record<string, unknown>;
  if (f.format !== LATENT_FORMAT) {
    const hint = f.format === 'nca-params' ? ' (it is an NCA parameters file: use --params)' : '';
    throw new UserError(`${source} has format ${JSON.stringify(f.format)}, expected "${LATENT_FORMAT}"${hint}`);
  }
  if (f.version !== LATENT_VERSION) throw new UserError(`${source} has version ${JSON.stringify(f.version)}; this nca reads latent version ${LATENT_VERSION}`);
  if (f.dim !== LATENT_DIM) throw new UserError(`${source} has dim ${JSON.stringify(f.dim)}, expected ${LATENT_DIM}`);
  const provenance = f.provenance === undefined ? {} : f.provenance;
  if (typeof provenance !== 'object' || provenance === null || Array.isArray(provenance)) throw new UserError(`${source}: "provenance" must be an object`);
  const hasZ = f.z !== undefined, hasTrack = f.track !== undefined;
  if (hasZ === hasTrack) throw new UserError(`${source} must have exactly one of "z" (a latent) or "track" (timestamped latents)`);
  if (hasZ) return { z: parseVector(f.z, 'z', source), provenance: provenance as Record<string, unknown> };
  if (!Array.isArray(f.track) || f.track.length === 0) throw new UserError(`${source}: "track" must be a non-empty array of { "t": seconds, "z": [...] }`);
  const track: TrackPoint[] = f.track.map((p: unknown, i: number) => {
    const q = p as { t?: unknown; z?: unknown } | null;
    if (typeof q !== 'object' || q === null) throw new UserError(`${source}: track[${i}] must be an object { "t": seconds, "z": [...] }`);
    if (typeof q.t !== 'number' || !Number.isFinite(q.t) || q.t < 0) throw new UserError(`${source}: track[${i}].t is ${JSON.stringify(q.t)}, expected seconds >= 0`);
    return { t: q.t, z: parseVector(q.z, `track[${i}].z`, source) };
  });
  for (let i = 1; i < track.length; i++) {
    if (track[i]!.t <= track[i - 1]!.t) throw new UserError(`${source}: track times must increase, but track[${i}].t = ${track[i]!.t} follows ${track[i - 1]!.t}`);
  }
  return { track, provenance: provenance as Record<string, unknown> };
}

export async function loadLatent(path: string): Promise<Latent> {
  return parseLatent(await readTextFile(path, 'latent file'), path);
}

/** The latent vector of a single latent, or the first point of a track. */
export function latentVector(latent: Latent): Float32Array {
  return latent.z ?? latent.track![0]!.z;
}

/** z ~ N(0, I): the seed's "Random Latent". */
export function randomLatent(rng: Rng): Float32Array {
  return rng.normalArray(new Float32Array(LATENT_DIM));
}

/** (1 - t) a + t b. */
export function lerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i]! + t * b[i]!;
  return out;
}

/**
 * Spherical interpolation: follows the great circle between a and b with the norm interpolated
 * linearly, so walks between N(0, I) samples keep a typical norm instead of cutting through the
 * low-density centre. Falls back to lerp when a and b are (anti)parallel.
 */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  const na = norm(a), nb = norm(b);
  if (na === 0 || nb === 0) return lerp(a, b, t);
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i]! / na) * (b[i]! / nb);
  const omega = Math.acos(Math.min(1, Math.max(-1, dot)));
  if (omega < 1e-6 || Math.PI - omega < 1e-6) return lerp(a, b, t);
  const s = Math.sin(omega);
  const ka = Math.sin((1 - t) * omega) / s, kb = Math.sin(t * omega) / s;
  const r = (1 - t) * na + t * nb;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = r * (ka * (a[i]! / na) + kb * (b[i]! / nb));
  return out;
}

/** The mean of several latents: a chord. */
export function meanLatent(zs: Float32Array[]): Float32Array {
  if (zs.length === 0) throw new UserError('a chord needs at least one latent');
  const out = new Float32Array(zs[0]!.length);
  for (const z of zs) for (let i = 0; i < out.length; i++) out[i]! += z[i]! / zs.length;
  return out;
}

/** z + sigma * n with n ~ N(0, I). */
export function perturbLatent(z: Float32Array, sigma: number, rng: Rng): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = z[i]! + sigma * rng.normal();
  return out;
}

/** The latent of a track at time t (seconds): linear between points, held at the ends. */
export function trackAt(track: TrackPoint[], t: number): Float32Array {
  if (t <= track[0]!.t) return track[0]!.z;
  for (let i = 1; i < track.length; i++) {
    const b = track[i]!;
    if (t <= b.t) {
      const a = track[i - 1]!;
      return lerp(a.z, b.z, (t - a.t) / (b.t - a.t));
    }
  }
  return track[track.length - 1]!.z;
}

export function norm(z: Float32Array): number {
  let s = 0;
  for (const v of z) s += v * v;
  return Math.sqrt(s);
}
