/**
 * Scoring a reconstruction: the NCA and the two baselines on the same video and the same arriving
 * pixels, PSNR and SSIM per frame; and choosing the prior baseline's settings on training videos.
 */
import { Rng } from '../rng.js';
import { PRIOR_GRID, holdBaseline, priorBaseline, type PriorSettings } from './baselines.js';
import { quality, type QualityReport } from './quality.js';
import { channelLayout, observationMasks, runScotopic, type ScotopicParams } from './scotopic.js';
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
}

/** The NCA (when `params` is given) and both baselines on `video`. */
export async function evaluateVideo(video: Video, o: { params?: ScotopicParams; keep: number; seed: number | string; prior: PriorSettings; threads?: number; onProgress?: (done: number, total: number) => void; signal?: AbortSignal }): Promise<Evaluation> {
  const masks = videoMasks(video, o.keep, o.seed);
  const { width, height } = video;
  const P = o.params ? channelLayout(o.params.config).P : video.channels;
  const holdFrames = holdBaseline(video.frames, masks, P);
  const priorFrames = priorBaseline(video.frames, masks, P, width, height, o.prior);
  const result: Evaluation = {
    masks,
    hold: { frames: holdFrames, quality: quality(holdFrames, video.frames, width, height) },
    prior: { frames: priorFrames, quality: quality(priorFrames, video.frames, width, height), settings: o.prior },
  };
  if (o.params) {
    const run = await runScotopic(o.params, video, masks, { threads: o.threads, onProgress: o.onProgress, signal: o.signal });
    result.nca = { frames: run.reconstruction, quality: quality(run.reconstruction, video.frames, width, height) };
  }
  return result;
}
