/**
 * Scoring a reconstruction: the NCA and the two baselines on the same video and the same arriving
 * pixels, PSNR and SSIM per frame; and choosing the prior baseline's settings on training videos.
 */
import { Rng } from '../rng.js';
import { PRIOR_GRID, holdBaseline, priorBaseline, type PriorSettings } from './baselines.js';
import { quality, type QualityReport } from './quality.js';
import { DEFAULT_MOTION, motionBaseline, type MotionSettings } from './motion.js';
import { channelLayout, observationMasks, pasteObserved, runScotopic, type ScotopicParams } from './scotopic.js';
import type { Video } from './video.js';

/** The arriving pixels of a video for a keep fraction and seed (the "masks" substream of the seed). */
export function videoMasks(video: Video, keep: number, seed: number | string): Uint8Array[] {
  return observationMasks(video.frames.length, video.width * video.height, keep, new Rng(`${String(seed)}/masks`));
}

/**
 * The prior's width and decay with the best mean PSNR over `videos` (PRIOR_GRID), each video seen
 * through its own masks. Use training videos only.
 */
export function choosePrior(videos: readonly Video[], keep: number, seed: number | string): PriorSettings & { meanPsnr: number } {
  let best: PriorSettings & { meanPsnr: number } = { sigma: 1, decay: 1, meanPsnr: -Infinity };
  const masks = videos.map((v) => videoMasks(v, keep, seed));
  for (const sigma of PRIOR_GRID.sigmas) {
    for (const decay of PRIOR_GRID.decays) {
      let sum = 0;
      videos.forEach((v, k) => {
        const est = priorBaseline(v.frames, masks[k]!, v.channels, v.width, v.height, { sigma, decay });
        sum += quality(est, v.frames, v.width, v.height).meanPsnr;
      });
      const meanPsnr = sum / videos.length;
      if (meanPsnr > best.meanPsnr) best = { sigma, decay, meanPsnr };
    }
  }
  return best;
}

export interface Evaluation {
  masks: Uint8Array[];
  nca?: { frames: Float32Array[]; quality: QualityReport };
  hold: { frames: Float32Array[]; quality: QualityReport };
  prior: { frames: Float32Array[]; quality: QualityReport; settings: PriorSettings };
  /** The motion-compensated prior (motion.ts) falling back to `prior`. */
  motion: { frames: Float32Array[]; quality: QualityReport; settings: MotionSettings };
}

/**
 * The NCA (when `params` is given) and the baselines on `video`: hold, the prior (`prior`) and the
 * motion-compensated prior (`motion`, default the NCA's own settings or DEFAULT_MOTION).
 */
export async function evaluateVideo(video: Video, o: { params?: ScotopicParams; keep: number; seed: number | string; prior: PriorSettings; motion?: MotionSettings; threads?: number; onProgress?: (done: number, total: number) => void; signal?: AbortSignal }): Promise<Evaluation> {
  const masks = videoMasks(video, o.keep, o.seed);
  const { width, height } = video;
  const P = o.params ? channelLayout(o.params.config).P : video.channels;
  const holdFrames = holdBaseline(video.frames, masks, P);
  // every method shows the pixels that arrived as they are (the NCA's reconstruction does; so must the baselines)
  const paste = (frames: Float32Array[]): Float32Array[] => frames.map((e, t) => pasteObserved(e, video.frames[t]!, masks[t]!, P));
  const priorFrames = paste(priorBaseline(video.frames, masks, P, width, height, o.prior));
  const motion = o.motion ?? o.params?.config.motion ?? DEFAULT_MOTION;
  const motionFrames = paste(motionBaseline(video.frames, masks, P, width, height, motion, o.prior));
  const result: Evaluation = {
    masks,
    hold: { frames: holdFrames, quality: quality(holdFrames, video.frames, width, height) },
    prior: { frames: priorFrames, quality: quality(priorFrames, video.frames, width, height), settings: o.prior },
    motion: { frames: motionFrames, quality: quality(motionFrames, video.frames, width, height), settings: motion },
  };
  if (o.params) {
    const run = await runScotopic(o.params, video, masks, { threads: o.threads, onProgress: o.onProgress, signal: o.signal });
    result.nca = { frames: run.reconstruction, quality: quality(run.reconstruction, video.frames, width, height) };
  }
  return result;
}
