import { readTextFile } from './io/read.js';
import { UserError, invalidParameterError, requireNumber, shown } from './errors.js';
import type { Rng } from './rng.js';

/** Dimension of every latent in nca. */
export const LATENT_DIM = 64;
export const LATENT_FORMAT = 'nca-latent';
export const LATENT_VERSION = 1;
/**
 * Every coordinate of a latent nca reads, computes or writes is a number in [-LATENT_BOUND, LATENT_BOUND].
 * Latents are z ~ N(0, I) (the shipped notes stay within +-4); the bound leaves room for any use and
 * keeps every computation on them finite in float32 (a coordinate of 1e308 would become Infinity).
 */
export const LATENT_BOUND = 1000;

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
  latent = requireLatent('latent', latent);
  const round = (z: Float32Array) => Array.from(z, (v) => Number(v.toPrecision(9)));
  const file: Record<string, unknown> = { format: LATENT_FORMAT, version: LATENT_VERSION, dim: LATENT_DIM };
  if (latent.track) file.track = latent.track.map((p) => ({ t: Number(p.t.toFixed(6)), z: round(p.z) }));
  else file.z = round(latent.z!);
  file.provenance = latent.provenance;
  return JSON.stringify(file) + '\n';
}

/**
 * A latent vector: an array (or Float32Array) of LATENT_DIM numbers in [-LATENT_BOUND, LATENT_BOUND].
 * `where` names it in errors ("z.json: track[2].z", "latent.z").
 */
function latentArray(v: unknown, where: string): Float32Array {
  if (!Array.isArray(v) && !(v instanceof Float32Array)) throw new UserError(`${where} must be an array of ${LATENT_DIM} numbers`);
  if (v.length !== LATENT_DIM) throw new UserError(`${where} has ${v.length} numbers, expected ${LATENT_DIM} (nca latents are ${LATENT_DIM}-d)`);
  const z = new Float32Array(LATENT_DIM);
  for (let i = 0; i < LATENT_DIM; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'number' || !(Math.abs(x) <= LATENT_BOUND)) {
      throw new UserError(`${where}[${i}] is ${shown(x)}, expected a number between -${LATENT_BOUND} and ${LATENT_BOUND} (latents are z ~ N(0, I))`);
    }
    z[i] = x;
  }
  return z;
}

/** A track: a non-empty array of { t: seconds >= 0, strictly increasing; z: a latent vector }. */
function latentTrack(v: unknown, where: string): TrackPoint[] {
  if (!Array.isArray(v) || v.length === 0) throw new UserError(`${where} must be a non-empty array of { "t": seconds, "z": [...] }`);
  const track: TrackPoint[] = v.map((p: unknown, i: number) => {
    const q = p as { t?: unknown; z?: unknown } | null;
    if (typeof q !== 'object' || q === null) throw new UserError(`${where}[${i}] must be an object { "t": seconds, "z": [...] }`);
    if (typeof q.t !== 'number' || !Number.isFinite(q.t) || q.t < 0) throw new UserError(`${where}[${i}].t is ${shown(q.t)}, expected seconds >= 0`);
    return { t: q.t, z: latentArray(q.z, `${where}[${i}].z`) };
  });
  for (let i = 1; i < track.length; i++) {
    if (track[i]!.t <= track[i - 1]!.t) throw new UserError(`${where} times must increase, but ${where}[${i}].t = ${track[i]!.t} follows ${track[i - 1]!.t}`);
  }
  return track;
}

/**
 * Checks a latent given to the API (exactly one of `z`, a vector of LATENT_DIM numbers in
 * [-LATENT_BOUND, LATENT_BOUND], and `track`; `provenance` an object) and returns a checked copy.
 * `name` is the argument's name in errors.
 */
export function requireLatent(name: string, latent: unknown): Latent {
  if (typeof latent !== 'object' || latent === null) throw invalidParameterError(name, 'a latent { z } or { track }', latent);
  const l = latent as Partial<Latent>;
  if ((l.z === undefined) === (l.track === undefined)) throw new UserError(`${name} must have exactly one of z (a latent) or track (timestamped latents)`);
  const provenance = l.provenance ?? {};
  if (typeof provenance !== 'object' || Array.isArray(provenance)) throw invalidParameterError(`${name}.provenance`, 'an object', provenance);
  return l.z !== undefined ? { z: latentArray(l.z, `${name}.z`), provenance } : { track: latentTrack(l.track, `${name}.track`), provenance };
}

/** Checks one latent vector given to the API (`name` in errors) and returns it as a Float32Array. */
export function requireLatentVector(name: string, z: unknown): Float32Array {
  return latentArray(z, name);
}

/** A computed latent, checked before it is returned: every coordinate within the bound (never NaN or Infinity). */
function checkedResult(fn: string, z: Float32Array): Float32Array {
  for (let i = 0; i < z.length; i++) {
    if (!(Math.abs(z[i]!) <= LATENT_BOUND)) throw new UserError(`${fn}: coordinate ${i} of the result is ${z[i]}, outside -${LATENT_BOUND}..${LATENT_BOUND} (latents are z ~ N(0, I))`);
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
  if (hasZ) return { z: latentArray(f.z, `${source}: z`), provenance: provenance as Record<string, unknown> };
  return { track: latentTrack(f.track, `${source}: track`), provenance: provenance as Record<string, unknown> };
}

export async function loadLatent(path: string): Promise<Latent> {
  return parseLatent(await readTextFile(path, 'latent file'), path);
}

/** The latent vector of a single latent, or the first point of a track. */
export function latentVector(latent: Latent): Float32Array {
  const l = requireLatent('latent', latent);
  return l.z ?? l.track![0]!.z;
}

/** z ~ N(0, I): the seed's "Random Latent". */
export function randomLatent(rng: Rng): Float32Array {
  if (typeof rng !== 'object' || rng === null || typeof rng.normalArray !== 'function') throw invalidParameterError('rng', 'an Rng', rng);
  return rng.normalArray(new Float32Array(LATENT_DIM));
}

/** (1 - t) a + t b, for latent vectors a and b and t in [0, 1]. */
export function lerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  a = requireLatentVector('a', a);
  b = requireLatentVector('b', b);
  requireNumber('t', t, 0, 1);
  return checkedResult('lerp', mix(a, b, t));
}

function mix(a: Float32Array, b: Float32Array, t: number): Float32Array {
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
  a = requireLatentVector('a', a);
  b = requireLatentVector('b', b);
  requireNumber('t', t, 0, 1);
  const na = norm(a), nb = norm(b);
  if (na === 0 || nb === 0) return checkedResult('slerp', mix(a, b, t));
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i]! / na) * (b[i]! / nb);
  const omega = Math.acos(Math.min(1, Math.max(-1, dot)));
  if (omega < 1e-6 || Math.PI - omega < 1e-6) return checkedResult('slerp', mix(a, b, t));
  const s = Math.sin(omega);
  const ka = Math.sin((1 - t) * omega) / s, kb = Math.sin(t * omega) / s;
  const r = (1 - t) * na + t * nb;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = r * (ka * (a[i]! / na) + kb * (b[i]! / nb));
  return checkedResult('slerp', out);
}

/** The mean of several latents: a chord. */
export function meanLatent(zs: Float32Array[]): Float32Array {
  if (!Array.isArray(zs)) throw invalidParameterError('zs', 'an array of latent vectors', zs);
  if (zs.length === 0) throw new UserError('a chord needs at least one latent');
  const checked = zs.map((z, i) => requireLatentVector(`zs[${i}]`, z));
  const out = new Float32Array(LATENT_DIM);
  for (const z of checked) for (let i = 0; i < out.length; i++) out[i]! += z[i]! / checked.length;
  return checkedResult('meanLatent', out);
}

/** z + sigma * n with n ~ N(0, I), sigma in [0, 100] (render's perturbation goes up to PERTURB_SIGMA_MAX = 0.9). */
export function perturbLatent(z: Float32Array, sigma: number, rng: Rng): Float32Array {
  z = requireLatentVector('z', z);
  requireNumber('sigma', sigma, 0, 100);
  if (typeof rng !== 'object' || rng === null || typeof rng.normal !== 'function') throw invalidParameterError('rng', 'an Rng', rng);
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = z[i]! + sigma * rng.normal();
  return checkedResult('perturbLatent', out);
}

/** The latent of a track at time t (seconds): linear between points, held at the ends. */
export function trackAt(track: TrackPoint[], t: number): Float32Array {
  return sampleTrack(latentTrack(track, 'track'), requireNumber('t', t, -Number.MAX_VALUE, Number.MAX_VALUE));
}

/** trackAt on a track already checked (requireLatent): for render, which samples it thousands of times. */
export function sampleTrack(track: TrackPoint[], t: number): Float32Array {
  if (t <= track[0]!.t) return track[0]!.z;
  for (let i = 1; i < track.length; i++) {
    const b = track[i]!;
    if (t <= b.t) {
      const a = track[i - 1]!;
      return checkedResult('trackAt', mix(a.z, b.z, (t - a.t) / (b.t - a.t)));
    }
  }
  return track[track.length - 1]!.z;
}

export function norm(z: Float32Array): number {
  let s = 0;
  for (const v of z) s += v * v;
  return Math.sqrt(s);
}
