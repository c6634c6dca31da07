import { stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { UserError, invalidParameterError, optionalFunction, optionalInt, optionalSignal, requireInt, requirePath } from './errors.js';
import { OUTPUT_LIMITS, checkGifSize, checkImageSize } from './limits.js';
import { protocolSteps } from './nca/graph.js';
import { ncaParams, requireParams, requireProtocol, type NcaParams, type Protocol } from './nca/params.js';
import { requireLatent, type Latent } from './latent.js';
import { WEIGHT_INTERVAL, latentSchedule } from './latent-schedule.js';
import { MotionTracker, type AliveClass } from './metrics.js';
import { Rng } from './rng.js';
import type { RgbaImage } from './io/image.js';
import { checkInit, startRgb, startState, type InitSpec } from './start-state.js';
import type { ScaleFilter, VideoAudio, VideoSummary } from './video/writer.js';

export type { InitSpec } from './start-state.js';

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

/** Every option is checked by render() with these names and ranges (the CLI's ranges). */
export interface RenderOptions {
  /** Grid size in cells, integers 4..LIMITS.maxSide, at most LIMITS.maxCells cells. */
  width: number;
  height: number;
  /** NCA steps, 1..LIMITS.maxSteps; one step per frame. */
  steps: number;
  /** Write every K-th frame, 1..1_000_000 (default 1). */
  every?: number;
  /** Pixel upscaling of written frames, 1..16 (default 1); frames stay within OUTPUT_LIMITS. Nearest for images; for video see `filter`. */
  scale?: number;
  /** Video only: the upscaling filter, 'smooth' (Lanczos, default) or 'nearest'. */
  filter?: ScaleFilter;
  /** Frames per second (and a track's time base): a GIF 1..50 (default 20), a video 1..120 (default 30). */
  fps?: number;
  /** Video only: the sound track muxed in (a WAV file, or samples). */
  audio?: VideoAudio;
  /** Video only: cut the video to this many seconds (the audio's length). */
  duration?: number;
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
  /** `.gif` (animation), `.mp4` / `.webm` (video, needs ffmpeg), `.png` (last frame) or a folder (PNG sequence); not empty. */
  out: string;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface RenderSummary {
  out: string;
  format: 'gif' | 'png' | 'png-sequence' | 'mp4' | 'webm';
  width: number;
  height: number;
  steps: number;
  framesWritten: number;
  /** PNG sequence only: older `frame-NNNNNN.png` files numbered past this sequence, removed after it was written. */
  removedStaleFrames?: number;
  protocol: Protocol;
  /** A video's output size, filter, fps and whether it has sound. */
  video?: Omit<VideoSummary, 'out' | 'format' | 'frames'>;
  seconds: { setup: number; simulate: number; total: number };
  stepsPerSecond: number;
  motion: { meanChange: number; lastChange: number; lastStd: number; correlation: number; drift: number; persistence: number; alive: AliveClass; coherent: boolean; change: number[] };
}

/** Grid limits of a render (cells per side, cells, steps); its output images stay within OUTPUT_LIMITS (src/core/limits.ts). */
export const LIMITS = { maxSide: 4096, maxCells: 2048 * 2048, maxSteps: 1_000_000, maxGifBytes: OUTPUT_LIMITS.maxGifBytes };

/** Where a render writes: by extension, or a folder when there is none (or it is an existing folder). */
export async function outputKind(out: string): Promise<RenderSummary['format']> {
  requirePath('out', out);
  const ext = extname(out).toLowerCase();
  if (ext === '.gif') return 'gif';
  if (ext === '.png') return 'png';
  if (ext === '.mp4') return 'mp4';
  if (ext === '.webm') return 'webm';
  const isDir = await stat(out).then((s) => s.isDirectory(), () => false);
  if (ext === '' || out.endsWith('/') || isDir) return 'png-sequence';
  throw new UserError(`cannot write ${out}: use a .gif (animation), a .mp4 or .webm (video), a .png (last frame) or a folder name (PNG sequence)`);
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
  const out = requirePath('out', opts.out);
  const format = await outputKind(out);
  const video = format === 'mp4' || format === 'webm';
  // browsers slow GIF delays under 2/100 s down; a video takes up to 120 fps
  const fps = video ? optionalInt('fps', opts.fps, 1, 120, 30) : optionalInt('fps', opts.fps, 1, 50, 20);
  if (!video && (opts.audio !== undefined || opts.duration !== undefined || opts.filter !== undefined)) {
    throw new UserError(`sound, a duration and a scaling filter need a video output (.mp4 or .webm), not ${out}`);
  }
  const perturb = optionalInt('perturb', opts.perturb, 0, 9, 0);
  const seed = opts.seed === undefined || typeof opts.seed === 'string' ? opts.seed ?? 0 : requireInt('seed', opts.seed, 0, 2 ** 32 - 1);
  const threads = opts.threads === undefined ? undefined : requireInt('threads', opts.threads, 1, 64);
  const optProtocol = opts.protocol === undefined ? undefined : requireProtocol('protocol', opts.protocol);
  const onProgress = optionalFunction('onProgress', opts.onProgress);
  const signal = optionalSignal('signal', opts.signal);
  const rng = new Rng(seed);
  const plane = W * H;
  if (W * H > LIMITS.maxCells) throw new UserError(`a ${W}x${H} grid has ${W * H} cells, more than the ${LIMITS.maxCells} nca renders; use a smaller --size`);
  const init = checkInit(opts.init ?? (source.kind === 'latent' ? { kind: 'decoder' } : { kind: 'noise' }), source.kind === 'latent');
  // The output's size, before anything is built.
  const fix = 'use a smaller --scale or --size';
  checkImageSize(`a frame of ${W}x${H} cells at --scale ${scale}`, W * scale, H * scale, fix);
  const framesToWrite = format === 'png' ? 1 : Math.floor(steps / every) + 1;
  if (format === 'gif') checkGifSize(framesToWrite, W * scale, H * scale, 'use --every, a smaller --scale or a PNG sequence');
  const protocolName: Protocol = optProtocol ?? source.protocol ?? 'frame';
  const protocol = protocolSteps(protocolName);

  // Weights: fixed, or a schedule recomputed every WEIGHT_INTERVAL steps (latent tracks, perturbation).
  const schedule = source.kind === 'latent' ? latentSchedule(source.latent, source.model, { steps, perturb, secondsPerStep: 1 / (fps * every) }, rng.fork()) : null;
  const firstParams = source.kind === 'params' ? source.params : await schedule!.paramsAt(0);
  const dynamic = schedule !== null && schedule.changing;

  // Initial state [16][H][W]: an RGB image in channels 0..2 (logits under the free protocol), hidden N(0, 0.1^2).
  const decoder = source.kind === 'latent' ? { model: source.model, z: source.latent.z ?? source.latent.track![0]!.z } : undefined;
  const state = await startState(init, { width: W, height: H, protocol: protocolName, rng: rng.fork(), decoder });

  const { createEngine } = await import('./nca/engine.js');
  const engine = await createEngine(firstParams, { width: W, height: H, protocol, threads, dynamicWeights: dynamic, rng: rng.fork() });
  let sink: FrameSink;
  try {
    sink = video
      ? await openVideoSink({ out, width: W, height: H, scale, filter: opts.filter, fps, audio: opts.audio, duration: opts.duration, signal })
      : await openSink(format, out, W * scale, H * scale, fps);
  } catch (e) {
    await engine.dispose();
    throw e;
  }
  const tracker = new MotionTracker(W, H, steps);
  // A video gets frames at the grid's size (ffmpeg scales them); images are scaled here.
  const pixelScale = video ? 1 : scale;
  const image = { width: W * pixelScale, height: H * pixelScale, data: new Uint8Array(W * pixelScale * H * pixelScale * 4) };
  const { planarToRgba } = await import('./io/image.js');
  let written = 0;
  const emit = (visible: Float32Array) => {
    planarToRgba(visible, W, H, pixelScale, image.data);
    sink.add(image);
    written++;
  };
  const initialRgb = startRgb(state, plane, protocolName);
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
    // In chunks of WEIGHT_INTERVAL steps (the same noise draws as one long run): new weights between
    // chunks when they change, and the sink's backpressure (a video encoder) between chunks.
    for (let done = 0; done < steps; done += WEIGHT_INTERVAL) {
      const n = Math.min(WEIGHT_INTERVAL, steps - done);
      if (dynamic && done > 0) await engine.setParams(await schedule!.paramsAt(done));
      x = await engine.run(x, n, (k, v) => onStep(done + k, v), signal);
      await sink.flush();
    }
    const tSim = performance.now();
    const removedStaleFrames = await sink.finish();
    const videoInfo = sink.video?.();
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
      ...(videoInfo ? { video: { width: videoInfo.width, height: videoInfo.height, padded: videoInfo.padded, fps: videoInfo.fps, filter: videoInfo.filter, audio: videoInfo.audio, ffmpeg: videoInfo.ffmpeg } } : {}),
      seconds: { setup: (tSetup - t0) / 1000, simulate: (tSim - tSetup) / 1000, total: (performance.now() - t0) / 1000 },
      stepsPerSecond: steps / ((tSim - tSetup) / 1000),
      motion: {
        meanChange: mean(stats.change),
        lastChange: stats.change.at(-1) ?? 0,
        lastStd: stats.std.at(-1) ?? 0,
        correlation: stats.correlation,
        drift: stats.drift,
        persistence: stats.persistence,
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

interface FrameSink {
  add(img: RgbaImage): void;
  /** Waits until the frames given so far are taken (a video encoder's backpressure); failures surface here. */
  flush(): Promise<void>;
  /** A video's summary, once finished. */
  video?(): VideoSummary | undefined;
  /** Writes what is left; resolves to the number of stale frames removed (PNG sequence), else 0. */
  finish(): Promise<number>;
  abort(): Promise<void>;
}

async function openSink(format: RenderSummary['format'], out: string, width: number, height: number, fps: number): Promise<FrameSink> {
  if (format === 'gif') {
    const { GifWriter } = await import('./io/gif.js');
    const { writeFileAtomic } = await import('./io/atomic.js');
    const gif = new GifWriter({ width, height, fps });
    return { add: (img) => gif.addFrame(img), flush: async () => {}, finish: async () => (await writeFileAtomic(out, gif.bytes()), 0), abort: async () => {} };
  }
  const { encodePng, frameFileName, removeStaleFrames } = await import('./io/png.js');
  const { writeFileAtomic } = await import('./io/atomic.js');
  if (format === 'png') {
    let last: Uint8Array | null = null;
    return { add: (img) => (last = encodePng(img)), flush: async () => {}, finish: async () => (await writeFileAtomic(out, last!), 0), abort: async () => {} };
  }
  // PNG sequence: frame-000000.png ... each written atomically as it comes; once all are written,
  // older frames numbered past the new sequence (a longer earlier render) are removed.
  const pending: Promise<void>[] = [];
  let index = 0;
  return {
    add: (img) => {
      pending.push(writeFileAtomic(join(out, frameFileName(index++)), encodePng(img)));
    },
    flush: async () => {},
    finish: async () => {
      await Promise.all(pending);
      return removeStaleFrames(out, index);
    },
    abort: async () => {
      await Promise.allSettled(pending);
    },
  };
}

/** A video sink: frames to ffmpeg (src/core/video/writer.ts), awaited between engine chunks. */
async function openVideoSink(opts: { out: string; width: number; height: number; scale: number; filter?: ScaleFilter; fps: number; audio?: VideoAudio; duration?: number; signal?: AbortSignal }): Promise<FrameSink> {
  const { openVideoWriter } = await import('./video/writer.js');
  const writer = await openVideoWriter(opts);
  let pending: Promise<void>[] = [];
  let summary: VideoSummary | undefined;
  const flush = async () => {
    const p = pending;
    pending = [];
    await Promise.all(p);
  };
  return {
    add: (img) => {
      const p = writer.addFrame(img.data);
      p.catch(() => undefined); // reported by flush()
      pending.push(p);
    },
    flush,
    finish: async () => {
      await flush();
      summary = await writer.finish();
      return 0;
    },
    abort: () => writer.abort(),
    video: () => summary,
  };
}
