/**
 * How varied a set of renders is, measured from their frames alone (docs/variety.md).
 *
 * Per render (frames Float32Array [3][H][W], CHW, values 0..1; the last VARIETY_WINDOW + 1 are used):
 * - hue, saturation, brightness of the last frame (src/core/variety/colour.ts: the saturation-weighted
 *   mean hue; grey when the saturation is below GREY_SATURATION);
 * - wavelength: the dominant spatial wavelength of the last frame in cells, the peak of its radial
 *   power spectrum (src/core/variety/spectrum.ts);
 * - change: the mean absolute change per frame (per value) over the last VARIETY_WINDOW frames;
 * - motion: still / flickering / travelling / rotating / chaotic (src/core/variety/motion.ts);
 * - look: hue bin (6 of 60 degrees, or grey) x wavelength (< 6, 6-16, > 16 cells) x change
 *   (still < 0.003, slow, fast > 0.03), e.g. `hue60-120/6-16px/slow`.
 *
 * Over a set of renders (`measureVariety`, `varietyOfFeatures`): the 30-degree hue bins covered (of 12),
 * the 10th-90th percentile span of the wavelength (p90 / p10), the effective number of looks
 * exp(entropy of the looks' shares), the commonest look's share, and the share of travelling or
 * rotating renders. `varietyOfModel` renders n random latents of a model and measures them.
 */
import { UserError, invalidParameterError, optionalFunction, optionalInt, optionalSignal, requireChoice, requireInt } from './errors.js';
import { frameColour } from './variety/colour.js';
import { MOTION_TYPES, measureMotion, type MotionMeasure, type MotionType } from './variety/motion.js';
import { RadialSpectrum } from './variety/spectrum.js';
import { playRun, type RunSettings, type VarietySource } from './variety/runs.js';
import { randomLatent } from './latent.js';
import { randomParams, requireProtocol, type Protocol } from './nca/params.js';
import type { LatentModel } from './render.js';
import { Rng } from './rng.js';

export { GREY_SATURATION } from './variety/colour.js';
export { MOTION_THRESHOLDS, MOTION_TYPES, type MotionMeasure, type MotionType } from './variety/motion.js';
export type { VarietySource } from './variety/runs.js';
export { LOOK_DESCRIPTOR, distinctLooks, lookDescriptor, type LookCluster } from './variety/looks.js';

/** Frames at the end of a render that its change and motion are measured over. */
export const VARIETY_WINDOW = 50;
/** A travelling render whose tile shifts have at least this uniformity slides as a whole (src/core/variety/motion.ts). */
export const DRIFT_UNIFORMITY = 0.8;
/** Look boundaries: wavelength classes (cells) and change classes (mean absolute change per frame). */
export const LOOK_BOUNDS = { shortWavelength: 6, longWavelength: 16, stillChange: 0.003, fastChange: 0.03 } as const;

export interface RenderFeatures {
  /** Saturation-weighted mean hue of the last frame, degrees 0..360; null when grey. */
  hue: number | null;
  saturation: number;
  brightness: number;
  /** Dominant spatial wavelength of the last frame (cells). */
  wavelength: number;
  /** Mean absolute change per frame over the last VARIETY_WINDOW frames. */
  change: number;
  motion: MotionMeasure;
  look: string;
}

/** A render's frames, oldest first (at least 2), each Float32Array [3][H][W]. */
export interface RenderFrames {
  width: number;
  height: number;
  frames: readonly Float32Array[];
}

export interface Spread {
  min: number;
  p10: number;
  median: number;
  p90: number;
  max: number;
}

export interface VarietySummary {
  renders: number;
  /** Renders per 30-degree hue bin (bin i: [30 i, 30 i + 30) degrees), grey renders apart. */
  hueBins: number[];
  hueBinsCovered: number;
  grey: number;
  wavelength: Spread & { span: number };
  brightness: Spread;
  change: Spread;
  /** Renders per look, commonest first. */
  looks: Array<{ look: string; count: number }>;
  effectiveLooks: number;
  commonestLookShare: number;
  motion: Record<MotionType, number>;
  travellingOrRotatingShare: number;
  /**
   * Travelling renders whose whole field slides one way (uniformity >= DRIFT_UNIFORMITY): their share of
   * all renders, and how much their headings agree (the mean resultant length of the heading angles:
   * 1 = every render slides the same way, ~0 = no preferred direction).
   */
  wholeFieldDrift: { share: number; headingAgreement: number };
  /** Travelling or rotating renders that do not slide as a whole field (gliders, swirls, waves against a background). */
  travellingOrRotatingWithoutDriftShare: number;
}

/** Accumulates one render's frames as they go by (keeping only the last VARIETY_WINDOW + 1), then `finish()`. */
export class VarietyTracker {
  private readonly ring: Float32Array[] = [];
  private count = 0;
  private readonly spectrum: RadialSpectrum;

  constructor(readonly width: number, readonly height: number) {
    requireInt('width', width, 4, 4096);
    requireInt('height', height, 4, 4096);
    this.spectrum = new RadialSpectrum(width, height);
  }

  /** Push the next frame's visible planes [3][H][W] (extra planes after them are ignored); non-finite values count as 0. */
  push(frame: Float32Array): void {
    const n = 3 * this.width * this.height;
    if (!(frame instanceof Float32Array) || frame.length < n) throw invalidParameterError('frame', `a Float32Array of ${n} numbers ([3][H][W])`, frame instanceof Float32Array ? `${frame.length} numbers` : frame);
    const slot = this.count % (VARIETY_WINDOW + 1);
    const copy = this.ring[slot] ?? (this.ring[slot] = new Float32Array(n));
    for (let i = 0; i < n; i++) {
      const v = frame[i]!;
      copy[i] = Number.isFinite(v) ? v : 0;
    }
    this.count++;
  }

  finish(): RenderFeatures {
    if (this.count < 2) throw new UserError(`the variety measure needs at least 2 frames of a render, got ${this.count}`);
    const kept = Math.min(this.count, VARIETY_WINDOW + 1);
    const frames = Array.from({ length: kept }, (_, i) => this.ring[(this.count - kept + i) % (VARIETY_WINDOW + 1)]!);
    const plane = this.width * this.height, n = 3 * plane;
    let change = 0;
    for (let t = 1; t < kept; t++) {
      const a = frames[t - 1]!, b = frames[t]!;
      let d = 0;
      for (let i = 0; i < n; i++) d += Math.abs(b[i]! - a[i]!);
      change += d / n;
    }
    change /= kept - 1;
    const last = frames[kept - 1]!;
    const { hue, saturation, brightness } = frameColour(last, plane);
    const { wavelength } = this.spectrum.peak(last);
    const motion = measureMotion(frames, this.width, this.height, change);
    return { hue, saturation, brightness, wavelength, change, motion, look: lookOf(hue, wavelength, change) };
  }
}

/** The look of a render: hue bin (60 degrees, or grey) / wavelength class / change class. */
export function lookOf(hue: number | null, wavelength: number, change: number): string {
  const b = LOOK_BOUNDS;
  const h = hue === null ? 'grey' : `hue${Math.floor(hue / 60) * 60}-${Math.floor(hue / 60) * 60 + 60}`;
  const w = wavelength < b.shortWavelength ? '<6px' : wavelength <= b.longWavelength ? '6-16px' : '>16px';
  const c = change < b.stillChange ? 'still' : change > b.fastChange ? 'fast' : 'slow';
  return `${h}/${w}/${c}`;
}

/** The features of one render from its frames (oldest first). */
export function renderFeatures(render: RenderFrames): RenderFeatures {
  if (typeof render !== 'object' || render === null || !Array.isArray(render.frames)) throw invalidParameterError('render', '{ width, height, frames: Float32Array[] }', render);
  const tracker = new VarietyTracker(render.width, render.height);
  for (const f of render.frames.slice(-(VARIETY_WINDOW + 1))) tracker.push(f);
  return tracker.finish();
}

/** The variety of a set of renders, from their frames. */
export function measureVariety(renders: readonly RenderFrames[]): VarietySummary & { perRender: RenderFeatures[] } {
  if (!Array.isArray(renders)) throw invalidParameterError('renders', 'an array of { width, height, frames }', renders);
  const perRender = renders.map(renderFeatures);
  return { ...varietyOfFeatures(perRender), perRender };
}

/** The variety of a set of renders, from their features. */
export function varietyOfFeatures(features: readonly RenderFeatures[]): VarietySummary {
  if (features.length === 0) throw new UserError('the variety measure needs at least one render');
  const n = features.length;
  const hueBins = new Array<number>(12).fill(0);
  let grey = 0;
  for (const f of features) {
    if (f.hue === null) grey++;
    else hueBins[Math.min(11, Math.floor(f.hue / 30))]!++;
  }
  const tally = new Map<string, number>();
  for (const f of features) tally.set(f.look, (tally.get(f.look) ?? 0) + 1);
  const looks = [...tally].map(([look, count]) => ({ look, count })).sort((a, b) => b.count - a.count || a.look.localeCompare(b.look));
  const entropy = -looks.reduce((s, { count }) => s + (count / n) * Math.log(count / n), 0);
  const motion = Object.fromEntries(MOTION_TYPES.map((t) => [t, 0])) as Record<MotionType, number>;
  for (const f of features) motion[f.motion.type]++;
  const wavelength = spread(features.map((f) => f.wavelength));
  return {
    renders: n,
    hueBins,
    hueBinsCovered: hueBins.filter((c) => c > 0).length,
    grey,
    wavelength: { ...wavelength, span: wavelength.p90 / wavelength.p10 },
    brightness: spread(features.map((f) => f.brightness)),
    change: spread(features.map((f) => f.change)),
    looks,
    effectiveLooks: Math.exp(entropy),
    commonestLookShare: looks[0]!.count / n,
    motion,
    travellingOrRotatingShare: (motion.travelling + motion.rotating) / n,
    wholeFieldDrift: wholeFieldDrift(features),
    travellingOrRotatingWithoutDriftShare: features.filter((f) => f.motion.type === 'rotating' || (f.motion.type === 'travelling' && f.motion.uniformity < DRIFT_UNIFORMITY)).length / n,
  };
}

function wholeFieldDrift(features: readonly RenderFeatures[]): VarietySummary['wholeFieldDrift'] {
  const drifting = features.filter((f) => f.motion.type === 'travelling' && f.motion.uniformity >= DRIFT_UNIFORMITY);
  let sx = 0, sy = 0;
  for (const f of drifting) {
    sx += Math.cos((f.motion.heading * Math.PI) / 180);
    sy += Math.sin((f.motion.heading * Math.PI) / 180);
  }
  return { share: drifting.length / features.length, headingAgreement: drifting.length ? Math.hypot(sx, sy) / drifting.length : 0 };
}

/** Minimum, 10th percentile, median, 90th percentile and maximum (linear interpolation between order statistics). */
export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => {
    const x = p * (s.length - 1), i = Math.floor(x), f = x - i;
    return i + 1 < s.length ? s[i]! * (1 - f) + s[i + 1]! * f : s[i]!;
  };
  return { min: s[0]!, p10: q(0.1), median: q(0.5), p90: q(0.9), max: s[s.length - 1]! };
}

/** What varietyOfModel needs of a model: the render API's networks and, optionally, its config's protocol. */
export type VarietyModel = LatentModel & { readonly config?: { readonly protocol?: Protocol } };

/** Every option is checked by varietyOfModel / varietyOfSources with these names and ranges. */
export interface VarietyOptions {
  /** Random latents (varietyOfModel), 1..10000 (default 32). */
  n?: number;
  /** Grid side in cells, 8..1024 (default 64). */
  size?: number;
  /** Frames shown after the start, 2..100000 (default 300). */
  frames?: number;
  /** Render k's seed is seed + k, 0..2^32 - 1 - n (default 0): latent z ~ N(0, I) from Rng(seed + k), as nca random/render --random. */
  seed?: number;
  /** Latent perturbation while playing, 0..9 (default 0), as nca render --perturb. */
  perturb?: number;
  /** Start grid: 'noise' (default, the alive measure's start) or 'decoder'. */
  init?: 'noise' | 'decoder';
  /** 'frame' or 'free' (default: the model's config, else 'frame'). */
  protocol?: Protocol;
  /** NCA steps per shown frame, 1..64 (default 1); as nca render --steps frames x k --every k. */
  stepsPerFrame?: number;
  /** onnxruntime threads, 1..64 (default: the number of cores). */
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface VarietyReport extends VarietySummary {
  perRender: Array<RenderFeatures & { seed: number }>;
  settings: { size: number; frames: number; seed: number; perturb: number; init: 'noise' | 'decoder'; protocol: Protocol; stepsPerFrame: number };
  seconds: number;
}

/**
 * Render `n` random latents of `model` (latent k = randomLatent(new Rng(seed + k)), render seed seed + k)
 * and measure their variety. Render k is `nca render --random --seed <seed + k> --init noise --size <size>
 * --steps <frames>` (with --perturb, --protocol, and --steps frames x k --every k for stepsPerFrame k).
 */
export async function varietyOfModel(model: VarietyModel, opts: VarietyOptions = {}): Promise<VarietyReport> {
  if (typeof model !== 'object' || model === null || typeof model.hypernetwork !== 'function' || typeof model.decodeFirstFrame !== 'function') {
    throw invalidParameterError('model', 'a model with hypernetwork() and decodeFirstFrame() (see loadModel)', model);
  }
  const n = optionalInt('n', opts?.n, 1, 10000, 32);
  const seed = optionalInt('seed', opts?.seed, 0, 2 ** 32 - 1 - n, 0);
  const sources: VarietySource[] = Array.from({ length: n }, (_, k) => ({ kind: 'latent', z: randomLatent(new Rng(seed + k)), seed: seed + k }));
  const protocol = opts.protocol ?? (model.config?.protocol === 'free' ? 'free' : 'frame');
  return varietyOfSources(sources, model, { ...opts, protocol });
}

/**
 * Render `n` random NCA weight vectors (randomParams(new Rng(seed + k)), as `nca random --params --seed`)
 * from noise and measure their variety; the baseline uses protocol 'free'.
 */
export async function varietyOfRandomWeights(opts: VarietyOptions = {}): Promise<VarietyReport> {
  const n = optionalInt('n', opts?.n, 1, 10000, 32);
  const seed = optionalInt('seed', opts?.seed, 0, 2 ** 32 - 1 - n, 0);
  const sources: VarietySource[] = Array.from({ length: n }, (_, k) => ({ kind: 'params', params: randomParams(new Rng(seed + k)), seed: seed + k }));
  return varietyOfSources(sources, null, { ...opts, init: 'noise' });
}

/** Render each source (latents need `model`) and measure the variety of the set. */
export async function varietyOfSources(sources: readonly VarietySource[], model: LatentModel | null, opts: VarietyOptions = {}): Promise<VarietyReport> {
  const t0 = performance.now();
  if (typeof opts !== 'object' || opts === null) throw invalidParameterError('options', 'an object { n, size, frames, seed, ... }', opts);
  if (!Array.isArray(sources) || sources.length === 0) throw invalidParameterError('sources', 'a non-empty array of latents or parameter vectors', sources);
  const size = optionalInt('size', opts.size, 8, 1024, 64);
  const frames = optionalInt('frames', opts.frames, 2, 100_000, 300);
  const seed = optionalInt('seed', opts.seed, 0, 2 ** 32 - 1, 0);
  const perturb = optionalInt('perturb', opts.perturb, 0, 9, 0);
  const init = opts.init === undefined ? 'noise' : requireChoice('init', opts.init, ['noise', 'decoder'] as const);
  const protocol = opts.protocol === undefined ? 'frame' : requireProtocol('protocol', opts.protocol);
  const stepsPerFrame = optionalInt('stepsPerFrame', opts.stepsPerFrame, 1, 64, 1);
  const threads = opts.threads === undefined ? undefined : requireInt('threads', opts.threads, 1, 64);
  const onProgress = optionalFunction('onProgress', opts.onProgress);
  const signal = optionalSignal('signal', opts.signal);
  const settings: RunSettings = { width: size, height: size, frames, stepsPerFrame, perturb, init, protocol, threads, signal };
  const perRender: Array<RenderFeatures & { seed: number }> = [];
  for (const [k, source] of sources.entries()) {
    signal?.throwIfAborted();
    const tracker = new VarietyTracker(size, size);
    await playRun(source, model, settings, (f) => tracker.push(f));
    perRender.push({ ...tracker.finish(), seed: typeof source.seed === 'number' ? source.seed : seed + k });
    onProgress?.(k + 1, sources.length);
  }
  return { ...varietyOfFeatures(perRender), perRender, settings: { size, frames, seed, perturb, init, protocol, stepsPerFrame }, seconds: (performance.now() - t0) / 1000 };
}
