import { stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { UserError, invalidParameterError, optionalFunction, optionalInt, optionalSignal, requireInt, requirePath } from './errors.js';
import { OUTPUT_LIMITS, checkGifSize, checkImageSize } from './limits.js';
import { protocolSteps } from './nca/graph.js';
import { CHANNELS, ncaParams, requireParams, requireProtocol, type NcaParams, type Protocol } from './nca/params.js';
import { LATENT_DIM, requireLatent, sampleTrack, type Latent } from './latent.js';
import { MotionTracker, type AliveClass } from './metrics.js';
import { Rng } from './rng.js';
import type { RgbaImage } from './io/image.js';

/** What a render needs of the neuromusical model (src/core/model/networks.ts implements it). */
export interface LatentModel {
  /** z [B][64] -> NCA parameter vectors [B][4640]. */
  hypernetwork(z: Float32Array, batch: number): Float32Array | Promise<Float32Array>;
  /** z [B][64] -> initial grids [B][16][32][32] (RGB channels in 0..1). */
  decodeFirstFrame(z: Float32Array, batch: number): Float32Array | Promise<Float32Array>;
  /** Identifies the weights in provenance. */
  readonly id?: string;
}

export type RenderSource =
  | { kind: 'params'; params: NcaParams; protocol?: Protocol }
  | { kind: 'latent'; latent: Latent; model: LatentModel; protocol?: Protocol };

/** Initial state: the model's first-frame decoder, uniform noise, zeros, or an image file. */
export type InitSpec = { kind: 'decoder' } | { kind: 'noise' } | { kind: 'zeros' } | { kind: 'image'; image: RgbaImage };

/** Every option is checked by render() with these names and ranges (the CLI's ranges). */
export interface RenderOptions {
  /** Grid size in cells, integers 4..LIMITS.maxSide, at most LIMITS.maxCells cells. */
  width: number;
  height: number;
  /** NCA steps, 1..LIMITS.maxSteps; one step per frame. */
  steps: number;
  /** Write every K-th frame, 1..1_000_000 (default 1). */
  every?: number;
  /** Nearest-neighbour pixel upscaling of written frames, 1..16 (default 1); frames stay within OUTPUT_LIMITS. */
  scale?: number;
  /** Frames per second of a GIF (and a track's time base), 1..50 (default 20). */
  fps?: number;
  /** An integer 0..2^32-1 or any string (default 0). */
  seed?: number | string;
  /** Latent perturbation level 0..9 (0 = off; a parameters source has no latent to perturb); see PERTURB_SIGMA_MAX. */
  perturb?: number;
  /** The start grid (default: decoder for a latent, noise for parameters); an image's data holds width x height x 4 bytes. */
  init?: InitSpec;
  /** Overrides the source's protocol: 'frame' or 'free'. */
  protocol?: Protocol;
  /** onnxruntime threads, 1..64 (default: the number of cores). */
  threads?: number;
  /** `.gif` (animation), `.png` (last frame) or a folder (PNG sequence); not empty. */
  out: string;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface RenderSummary {
  out: string;
  format: 'gif' | 'png' | 'png-sequence';
  width: number;
  height: number;
  steps: number;
  framesWritten: number;
  /** PNG sequence only: older `frame-NNNNNN.png` files numbered past this sequence, removed after it was written. */
  removedStaleFrames?: number;
  protocol: Protocol;
  seconds: { setup: number; simulate: number; total: number };
  stepsPerSecond: number;
  motion: { meanChange: number; lastChange: number; lastStd: number; correlation: number; drift: number; alive: AliveClass; coherent: boolean; change: number[] };
}

/** Perturbation level 9 adds noise of this std to the latent (z ~ N(0, I) has std 1 per dimension). */
export const PERTURB_SIGMA_MAX = 0.9;
/** While perturbing or following a track, the weights are recomputed every this many steps. */
export const WEIGHT_INTERVAL = 8;
/** Perturbation noise is an AR(1) walk per interval, n' = a n + sqrt(1 - a^2) e: stationary N(0, I), smooth. */
export const PERTURB_AR = 0.9;

/** Grid limits of a render (cells per side, cells, steps); its output images stay within OUTPUT_LIMITS (src/core/limits.ts). */
export const LIMITS = { maxSide: 4096, maxCells: 2048 * 2048, maxSteps: 1_000_000, maxGifBytes: OUTPUT_LIMITS.maxGifBytes };

/** Where a render writes: by extension, or a folder when there is none (or it is an existing folder). */
export async function outputKind(out: string): Promise<RenderSummary['format']> {
  requirePath('out', out);
  const ext = extname(out).toLowerCase();
  if (ext === '.gif') return 'gif';
  if (ext === '.png') return 'png';
  const isDir = await stat(out).then((s) => s.isDirectory(), () => false);
  if (ext === '' || out.endsWith('/') || isDir) return 'png-sequence';
  throw new UserError(`cannot write ${out}: use a .gif (animation), a .png (last frame) or a folder name (PNG sequence)`);
}

/**
 * Runs an NCA from a latent or a parameter vector and writes the frames.
 * One NCA step per frame; frames are written at steps 0, every, 2*every, ... <= steps.
 */
export async function render(source: RenderSource, opts: RenderOptions): Promise<RenderSummary> {
  const t0 = performance.now();
  if (typeof opts !== 'object' || opts === null) throw invalidParameterError('options', 'an object { width, height, steps, out, ... }', opts);
  source = checkSource(source);
  // Ranges: as nca render's options (src/commands/render.ts) and a gallery job's settings.
  const W = requireInt('width', opts.width, 4, LIMITS.maxSide);
  const H = requireInt('height', opts.height, 4, LIMITS.maxSide);
  const steps = requireInt('steps', opts.steps, 1, LIMITS.maxSteps);
  const every = optionalInt('every', opts.every, 1, 1_000_000, 1);
  const scale = optionalInt('scale', opts.scale, 1, 16, 1);
  const fps = optionalInt('fps', opts.fps, 1, 50, 20); // browsers slow GIF delays under 2/100 s down
  const perturb = optionalInt('perturb', opts.perturb, 0, 9, 0);
  const seed = opts.seed === undefined || typeof opts.seed === 'string' ? opts.seed ?? 0 : requireInt('seed', opts.seed, 0, 2 ** 32 - 1);
  const threads = opts.threads === undefined ? undefined : requireInt('threads', opts.threads, 1, 64);
  const optProtocol = opts.protocol === undefined ? undefined : requireProtocol('protocol', opts.protocol);
  const onProgress = optionalFunction('onProgress', opts.onProgress);
  const signal = optionalSignal('signal', opts.signal);
  const out = requirePath('out', opts.out);
  const rng = new Rng(seed);
  const plane = W * H;
  if (W * H > LIMITS.maxCells) throw new UserError(`a ${W}x${H} grid has ${W * H} cells, more than the ${LIMITS.maxCells} nca renders; use a smaller --size`);
  const format = await outputKind(out);
  const init = checkInit(opts.init ?? (source.kind === 'latent' ? { kind: 'decoder' } : { kind: 'noise' }), source);
  // The output's size, before anything is built.
  const fix = 'use a smaller --scale or --size';
  checkImageSize(`a frame of ${W}x${H} cells at --scale ${scale}`, W * scale, H * scale, fix);
  const framesToWrite = format === 'png' ? 1 : Math.floor(steps / every) + 1;
  if (format === 'gif') checkGifSize(framesToWrite, W * scale, H * scale, 'use --every, a smaller --scale or a PNG sequence');
  const protocolName: Protocol = optProtocol ?? source.protocol ?? 'frame';
  const protocol = protocolSteps(protocolName);

  // Weights: fixed, or a schedule recomputed every WEIGHT_INTERVAL steps (latent tracks, perturbation).
  const schedule = source.kind === 'latent' ? latentSchedule(source, steps, perturb, every, fps, rng.fork()) : null;
  const firstParams = source.kind === 'params' ? source.params : await schedule!.paramsAt(0);
  const dynamic = schedule !== null && schedule.changing;

  // Initial state [16][H][W]: an RGB image in channels 0..2 (logits under the free protocol), hidden N(0, 0.1^2).
  const state = await initialState(init, source, W, H, rng.fork());
  if (protocolName === 'free') for (let i = 0; i < 3 * plane; i++) state[i] = logit(state[i]!);

  const { createEngine } = await import('./nca/engine.js');
  const engine = await createEngine(firstParams, { width: W, height: H, protocol, threads, dynamicWeights: dynamic, rng: rng.fork() });
  const sink = await openSink(format, out, W * scale, H * scale, fps);
  const tracker = new MotionTracker(W, H, steps);
  const image = { width: W * scale, height: H * scale, data: new Uint8Array(W * scale * H * scale * 4) };
  const { planarToRgba } = await import('./io/image.js');
  let written = 0;
  const emit = (visible: Float32Array) => {
    planarToRgba(visible, W, H, scale, image.data);
    sink.add(image);
    written++;
  };
  const initialRgb = state.slice(0, 3 * plane);
  if (protocolName === 'free') for (let i = 0; i < initialRgb.length; i++) initialRgb[i] = sigmoid(initialRgb[i]!);
  tracker.push(initialRgb);
  if (format !== 'png') emit(initialRgb);
  const tSetup = performance.now();

  let lastReport = 0;
  const onStep = (k: number, visible: Float32Array) => {
    tracker.push(visible);
    if (format === 'png' ? k === steps : k % every === 0) emit(visible);
    if (onProgress && (k === steps || performance.now() - lastReport > 100)) {
      lastReport = performance.now();
      onProgress(k, steps);
    }
  };
  let x = state;
  try {
    if (!dynamic) {
      x = await engine.run(x, steps, onStep, signal);
    } else {
      for (let done = 0; done < steps; done += WEIGHT_INTERVAL) {
        const n = Math.min(WEIGHT_INTERVAL, steps - done);
        if (done > 0) await engine.setParams(await schedule!.paramsAt(done));
        x = await engine.run(x, n, (k, v) => onStep(done + k, v), signal);
      }
    }
    const tSim = performance.now();
    const removedStaleFrames = await sink.finish();
    const stats = tracker.finish();
    const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : 0);
    return {
      out,
      format,
      width: W,
      height: H,
      steps,
      framesWritten: written,
      ...(format === 'png-sequence' ? { removedStaleFrames } : {}),
      protocol: protocolName,
      seconds: { setup: (tSetup - t0) / 1000, simulate: (tSim - tSetup) / 1000, total: (performance.now() - t0) / 1000 },
      stepsPerSecond: steps / ((tSim - tSetup) / 1000),
      motion: {
        meanChange: mean(stats.change),
        lastChange: stats.change.at(-1) ?? 0,
        lastStd: stats.std.at(-1) ?? 0,
        correlation: stats.correlation,
        drift: stats.drift,
        alive: stats.alive,
        coherent: stats.coherent,
        change: stats.change.filter((_, i) => (i + 1) % every === 0).map((v) => Number(v.toPrecision(4))),
      },
    };
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    await engine.dispose();
  }
}

/** Checks the source given to render() and returns a checked copy (its latent or parameters validated). */
function checkSource(source: RenderSource): RenderSource {
  if (typeof source !== 'object' || source === null) throw invalidParameterError('source', "{ kind: 'params', params } or { kind: 'latent', latent, model }", source);
  const protocol = source.protocol === undefined ? undefined : requireProtocol('source.protocol', source.protocol);
  if (source.kind === 'params') return { kind: 'params', params: requireParams('source.params', source.params), protocol };
  if (source.kind === 'latent') {
    const model = source.model as Partial<LatentModel> | undefined;
    if (typeof model !== 'object' || model === null || typeof model.hypernetwork !== 'function' || typeof model.decodeFirstFrame !== 'function') {
      throw invalidParameterError('source.model', 'a model with hypernetwork() and decodeFirstFrame() (see loadModel)', model);
    }
    return { kind: 'latent', latent: requireLatent('source.latent', source.latent), model: source.model, protocol };
  }
  throw invalidParameterError('source.kind', 'one of params, latent', (source as { kind?: unknown }).kind);
}

/** Checks the init option: a kind of start, an image with width x height x 4 bytes of data. */
function checkInit(init: InitSpec, source: RenderSource): InitSpec {
  if (typeof init !== 'object' || init === null) throw invalidParameterError('init', "{ kind: 'decoder' | 'noise' | 'zeros' | 'image' }", init);
  switch (init.kind) {
    case 'decoder':
      if (source.kind !== 'latent') throw new UserError('--init decoder needs a latent (the first-frame decoder runs on it); use --init noise with --params');
      return init;
    case 'noise':
    case 'zeros':
      return init;
    case 'image': {
      const img = init.image as Partial<RgbaImage> | undefined;
      if (typeof img !== 'object' || img === null) throw invalidParameterError('init.image', 'an RGBA image { width, height, data }', img);
      const w = requireInt('init.image.width', img.width, 1, OUTPUT_LIMITS.maxSide);
      const h = requireInt('init.image.height', img.height, 1, OUTPUT_LIMITS.maxSide);
      if (!(img.data instanceof Uint8Array) || img.data.length !== w * h * 4) {
        throw invalidParameterError('init.image.data', `a Uint8Array of ${w * h * 4} bytes (RGBA)`, img.data instanceof Uint8Array ? `${img.data.length} bytes` : img.data);
      }
      return init;
    }
    default:
      throw invalidParameterError('init.kind', 'one of decoder, noise, zeros, image', (init as { kind?: unknown }).kind);
  }
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

function logit(p: number): number {
  const q = Math.min(1 - 1e-4, Math.max(1e-4, p));
  return Math.log(q / (1 - q));
}

/**
 * The latents over time of a latent render and their NCA weights. The latent at step s is the
 * track's latent at time s / (fps * every) seconds (each written frame shows `every` steps), plus
 * sigma * n with n an AR(1) walk redrawn every WEIGHT_INTERVAL steps.
 */
function latentSchedule(source: Extract<RenderSource, { kind: 'latent' }>, steps: number, perturb: number, every: number, fps: number, rng: Rng) {
  const { latent, model } = source;
  const sigma = (perturb / 9) * PERTURB_SIGMA_MAX;
  const changing = sigma > 0 || (latent.track !== undefined && latent.track.length > 1);
  const intervals = Math.max(1, Math.ceil(steps / WEIGHT_INTERVAL));
  const walk = new Float32Array(LATENT_DIM);
  if (sigma > 0) rng.normalArray(walk);
  const zAll = new Float32Array(intervals * LATENT_DIM);
  const a = PERTURB_AR, b = Math.sqrt(1 - PERTURB_AR * PERTURB_AR);
  for (let i = 0; i < intervals; i++) {
    const t = (i * WEIGHT_INTERVAL) / (fps * every);
    const base = latent.z ?? sampleTrack(latent.track!, t);
    if (i > 0 && sigma > 0) for (let d = 0; d < LATENT_DIM; d++) walk[d] = a * walk[d]! + b * rng.normal();
    for (let d = 0; d < LATENT_DIM; d++) zAll[i * LATENT_DIM + d] = base[d]! + sigma * walk[d]!;
    if (!changing) break;
  }
  // The hypernetwork runs in batches of up to 256 intervals, as the render reaches them.
  const BATCH = 256;
  const cache = new Map<number, Float32Array>();
  return {
    changing,
    firstLatent: zAll.slice(0, LATENT_DIM),
    async paramsAt(step: number): Promise<NcaParams> {
      const i = changing ? Math.floor(step / WEIGHT_INTERVAL) : 0;
      const start = Math.floor(i / BATCH) * BATCH;
      let block = cache.get(start);
      if (!block) {
        cache.clear();
        const n = Math.min(BATCH, (changing ? intervals : 1) - start);
        block = await model.hypernetwork(zAll.subarray(start * LATENT_DIM, (start + n) * LATENT_DIM), n);
        cache.set(start, block);
      }
      const off = (i - start) * 4640;
      return ncaParams(block.slice(off, off + 4640), `the model's NCA weights for the latent at step ${step}`);
    },
  };
}

/** The initial state [16][H][W]: RGB image (0..1) in channels 0..2, hidden channels ~ N(0, 0.1^2) or the decoder's. */
async function initialState(init: InitSpec, source: RenderSource, W: number, H: number, rng: Rng): Promise<Float32Array> {
  const plane = W * H;
  const state = new Float32Array(CHANNELS * plane);
  rng.fillNormal(state.subarray(3 * plane), 0, 0.1);
  switch (init.kind) {
    case 'zeros':
      state.fill(0);
      break;
    case 'noise':
      rng.fillUniform(state.subarray(0, 3 * plane));
      break;
    case 'image': {
      // Nearest-neighbour resize of the image to the grid.
      const img = init.image;
      for (let y = 0; y < H; y++) {
        const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / H));
        for (let x = 0; x < W; x++) {
          const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / W));
          for (let c = 0; c < 3; c++) state[c * plane + y * W + x] = img.data[(sy * img.width + sx) * 4 + c]! / 255;
        }
      }
      break;
    }
    case 'decoder': {
      if (source.kind !== 'latent') throw new Error('initialState: decoder start without a latent (checkInit refuses it)');
      const z = source.latent.z ?? source.latent.track![0]!.z;
      const grid = await source.model.decodeFirstFrame(z, 1); // [16][32][32]
      const G = 32;
      // Tile the decoder's 32x32 grid over the torus (keeps the scale the NCA was trained at).
      for (let c = 0; c < CHANNELS; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) state[c * plane + y * W + x] = grid[c * G * G + (y % G) * G + (x % G)]!;
      break;
    }
  }
  return state;
}

interface FrameSink {
  add(img: RgbaImage): void;
  /** Writes what is left; resolves to the number of stale frames removed (PNG sequence), else 0. */
  finish(): Promise<number>;
  abort(): Promise<void>;
}

async function openSink(format: RenderSummary['format'], out: string, width: number, height: number, fps: number): Promise<FrameSink> {
  if (format === 'gif') {
    const { GifWriter } = await import('./io/gif.js');
    const { writeFileAtomic } = await import('./io/atomic.js');
    const gif = new GifWriter({ width, height, fps });
    return { add: (img) => gif.addFrame(img), finish: async () => (await writeFileAtomic(out, gif.bytes()), 0), abort: async () => {} };
  }
  const { encodePng, frameFileName, removeStaleFrames } = await import('./io/png.js');
  const { writeFileAtomic } = await import('./io/atomic.js');
  if (format === 'png') {
    let last: Uint8Array | null = null;
    return { add: (img) => (last = encodePng(img)), finish: async () => (await writeFileAtomic(out, last!), 0), abort: async () => {} };
  }
  // PNG sequence: frame-000000.png ... each written atomically as it comes; once all are written,
  // older frames numbered past the new sequence (a longer earlier render) are removed.
  const pending: Promise<void>[] = [];
  let index = 0;
  return {
    add: (img) => {
      pending.push(writeFileAtomic(join(out, frameFileName(index++)), encodePng(img)));
    },
    finish: async () => {
      await Promise.all(pending);
      return removeStaleFrames(out, index);
    },
    abort: async () => {
      await Promise.allSettled(pending);
    },
  };
}
