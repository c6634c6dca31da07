/**
 * `nca reconstruct` end to end: read a video, train the scotopic NCA on it (or load trained
 * weights), run it and the baselines on the same arriving pixels, and write into the output folder:
 *   params.json         the trained weights (only when trained here)
 *   side-by-side.gif    source | what the NCA sees | reconstruction | prior baseline | motion-compensated prior
 *   side-by-side.mp4    the same through ffmpeg, when ffmpeg is found (else skipped, said in the summary)
 *   metrics.json        PSNR and SSIM per frame (and their means, the PSNR's median) for the NCA and each baseline
 * Every file is written atomically; nothing is written before the work succeeded.
 */
import { join } from 'node:path';
import { UserError, requireInt, requireNumber } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { makeDirs } from '../io/dirs.js';
import { readTextFile } from '../io/read.js';
import type { PriorSettings } from './baselines.js';
import { evaluateVideo } from './evaluate.js';
import { MOTION_PRIORS, type MotionPriorName } from './motion.js';
import { DEFAULT_CONFIG, DEFAULT_PRIOR, paramsFromJson, paramsToJson, trainScotopic, type ScotopicParams } from './scotopic.js';
import { seenFrame, writeSideBySide } from './side-by-side.js';
import { fitVideo, readVideo } from './video.js';

/**
 * The prior baseline's width and decay when the weights do not carry their own: the best of
 * PRIOR_GRID at keep 0.01 on the training videos of docs/reconstruct.md (bench/reconstruct/evaluate.mjs).
 */
export { DEFAULT_PRIOR };

export interface ReconstructOptions {
  video: string;
  out: string;
  /** Fraction of pixels that arrive each frame, (0, 1]. Default 0.01. */
  keep?: number;
  /** Trained weights (a params.json of nca reconstruct); without them the NCA is trained on the video. */
  params?: string;
  colour?: 'rgb' | 'grey';
  /**
   * The motion-compensated prior a new NCA starts every frame from (MOTION_PRIORS in motion.ts): 'local' (default)
   * or 'dual'. A trained NCA (`params`) carries its own.
   */
  motion?: MotionPriorName;
  stepsPerFrame?: number;
  /** Training iterations when training (default 300). */
  iters?: number;
  /** Frames used (default all) and the largest side (default 64; larger videos are shrunk by an integer factor). */
  maxFrames?: number;
  maxSide?: number;
  seed?: number | string;
  threads?: number;
  /** Also write side-by-side.mp4 when ffmpeg is available (default true). */
  mp4?: boolean;
  onProgress?: (done: number, total: number, payload?: Record<string, string>) => void;
  signal?: AbortSignal;
}

export interface MethodScore {
  meanPsnr: number;
  medianPsnr: number;
  meanSsim: number;
  psnr: number[];
  ssim: number[];
}

export interface ReconstructSummary {
  video: string;
  width: number;
  height: number;
  frames: number;
  colour: 'rgb' | 'grey';
  keep: number;
  stepsPerFrame: number;
  /** The NCA's motion-compensated prior: 'dual' with a second memory, else 'local'; 'none' (params trained without one). */
  motionPrior: MotionPriorName | 'none';
  trained: { iterations: number; firstLoss: number; lastLoss: number } | null;
  params: string;
  prior: PriorSettings;
  nca: MethodScore;
  hold: MethodScore;
  priorBaseline: MethodScore;
  /** The motion-compensated prior (motion.ts). */
  motionBaseline: MethodScore;
  /** NCA mean PSNR minus the better of seed 004's two baselines, hold and prior (dB). */
  margin: number;
  /** NCA mean PSNR minus the best of all three baselines (dB). */
  marginAll: number;
  outputs: string[];
  mp4: 'written' | string;
  seconds: number;
}

export async function reconstruct(o: ReconstructOptions): Promise<ReconstructSummary> {
  const t0 = performance.now();
  const keep = requireNumber('--keep', o.keep ?? 0.01, 1e-6, 1);
  const seed = o.seed ?? 0;
  const iters = requireInt('--iters', o.iters ?? 300, 1, 1e6);
  const maxSide = requireInt('--size', o.maxSide ?? 64, 8, 1024);
  if (o.motion !== undefined && !Object.hasOwn(MOTION_PRIORS, o.motion)) throw new UserError(`--motion must be ${Object.keys(MOTION_PRIORS).join(' or ')}, not ${String(o.motion)}`);
  let loaded: ScotopicParams | undefined;
  let prior = DEFAULT_PRIOR;
  if (o.params) {
    const text = await readTextFile(o.params, 'parameters file');
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new UserError(`${o.params} is not valid JSON (${(e as Error).message}); give the params.json that nca reconstruct wrote`);
    }
    loaded = paramsFromJson(json, o.params);
    const p = json.prior as PriorSettings | undefined;
    if (p && typeof p.sigma === 'number' && typeof p.decay === 'number') prior = { sigma: p.sigma, decay: p.decay };
  }
  if (loaded && o.motion) throw new UserError(`${o.params} carries its own motion prior: drop --motion, or train a new NCA with it`);
  const colour = loaded ? loaded.config.colour : (o.colour ?? 'rgb');
  if (loaded && o.colour && o.colour !== colour) throw new UserError(`${o.params} is a ${colour === 'rgb' ? 'colour' : 'grey'} NCA: drop --grey/--colour or train a new one`);
  const video = fitVideo(await readVideo(o.video, { colour, maxFrames: o.maxFrames }), maxSide);
  if (video.frames.length < 2) throw new UserError(`${o.video} has ${video.frames.length} frame; a video needs at least 2`);
  await makeDirs(o.out, 'the output folder');

  let params = loaded;
  let trained: ReconstructSummary['trained'] = null;
  const stepsPerFrame = requireInt('--steps-per-frame', o.stepsPerFrame ?? loaded?.config.stepsPerFrame ?? DEFAULT_CONFIG.stepsPerFrame, 1, 64);
  if (params) params = { ...params, config: { ...params.config, stepsPerFrame } };
  else {
    // self-supervised on the video itself: the loss only ever sees the pixels that arrive
    const window = Math.min(8, video.frames.length - 1);
    const result = await trainScotopic([video], { ...DEFAULT_CONFIG, colour, stepsPerFrame, motion: MOTION_PRIORS[o.motion ?? 'local'] }, {
      iters, batch: 4, crop: 32, window, keep, lossPixels: 'kept', lr: 3e-3, seed, threads: o.threads, signal: o.signal,
      onProgress: (i, n, loss) => o.onProgress?.(i, n + video.frames.length, { loss: loss.toFixed(4) }),
    });
    params = result.params;
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    const w = Math.max(1, Math.floor(iters / 10));
    trained = { iterations: iters, firstLoss: mean(result.losses.slice(0, w)), lastLoss: mean(result.losses.slice(-w)) };
  }
  const done = trained ? iters : 0;
  const total = done + video.frames.length;
  const e = await evaluateVideo(video, { params, keep, seed, prior, threads: o.threads, signal: o.signal, onProgress: (d) => o.onProgress?.(done + d, total, { loss: '-' }) });
  const nca = e.nca!;
  const score = (q: typeof nca.quality): MethodScore => ({ meanPsnr: q.meanPsnr, medianPsnr: q.medianPsnr, meanSsim: q.meanSsim, psnr: q.psnr, ssim: q.ssim });

  // outputs
  const outputs: string[] = [];
  const P = video.channels;
  const panels = [
    { label: 'source', frames: video.frames },
    { label: `seen ${keep}`, frames: video.frames.map((f, t) => seenFrame(f, e.masks[t]!, P)) },
    { label: 'NCA', frames: nca.frames },
    { label: 'prior', frames: e.prior.frames },
    { label: 'motion', frames: e.motion.frames },
  ];
  const scale = Math.max(1, Math.min(4, Math.floor(192 / Math.max(video.width, video.height))));
  const gif = join(o.out, 'side-by-side.gif');
  await writeSideBySide(gif, panels, { width: video.width, height: video.height, scale, fps: Math.min(50, video.fps) });
  outputs.push(gif);
  let mp4: ReconstructSummary['mp4'] = 'skipped';
  if (o.mp4 !== false) {
    const { findFfmpeg } = await import('../video/ffmpeg.js');
    const found = await findFfmpeg().then(() => true, (err: unknown) => (mp4 = `skipped: ${(err as Error).message}`, false));
    if (found) {
      const path = join(o.out, 'side-by-side.mp4');
      await writeSideBySide(path, panels, { width: video.width, height: video.height, scale, fps: video.fps, signal: o.signal });
      outputs.push(path);
      mp4 = 'written';
    }
  }
  const paramsPath = o.params ?? join(o.out, 'params.json');
  if (trained) {
    await writeFileAtomic(paramsPath, paramsToJson(params, { iterations: iters, keep, lossPixels: 'kept', trainedOn: [o.video], prior }));
    outputs.push(paramsPath);
  }
  const motion = params.config.motion;
  const motionPrior = !motion ? 'none' : motion.dual ? 'dual' : 'local';
  const summary: ReconstructSummary = {
    video: o.video, width: video.width, height: video.height, frames: video.frames.length, colour, keep, stepsPerFrame, motionPrior, trained, params: paramsPath, prior,
    nca: score(nca.quality), hold: score(e.hold.quality), priorBaseline: score(e.prior.quality), motionBaseline: score(e.motion.quality),
    margin: nca.quality.meanPsnr - Math.max(e.hold.quality.meanPsnr, e.prior.quality.meanPsnr),
    marginAll: nca.quality.meanPsnr - Math.max(e.hold.quality.meanPsnr, e.prior.quality.meanPsnr, e.motion.quality.meanPsnr),
    outputs, mp4, seconds: 0,
  };
  const metrics = join(o.out, 'metrics.json');
  outputs.push(metrics);
  summary.seconds = (performance.now() - t0) / 1000;
  await writeFileAtomic(metrics, JSON.stringify(summary, null, 2) + '\n');
  return summary;
}
