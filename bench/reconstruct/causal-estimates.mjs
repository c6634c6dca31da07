// The 15 causal estimates of docs/reconstruct.md step 17, each a list of frames [P][H][W] computed from the arriving
// pixels alone: hold; the Gaussian prior at sigma 0.75, 1.5, 3, 6 x decay 1, 0.9, 0.6 (index 9: sigma 3, decay 0.6, the
// prior baseline); the motion prior at DEFAULT_MOTION (13), then at DUAL_MOTION (14). Shared by ceiling.mjs and
// readout-features.mjs.
import { holdBaseline, priorBaseline } from '../../dist/core/reconstruct/baselines.js';
import { motionBaseline, DEFAULT_MOTION, DUAL_MOTION } from '../../dist/core/reconstruct/motion.js';

export const PRIOR = { sigma: 3, decay: 0.6 };

export function causalEstimates(video, masks) {
  const { width: W, height: H, channels: P, frames } = video;
  const estimates = [holdBaseline(frames, masks, P)];
  for (const sigma of [0.75, 1.5, 3, 6]) for (const decay of [1, 0.9, 0.6]) estimates.push(priorBaseline(frames, masks, P, W, H, { sigma, decay }));
  estimates.push(motionBaseline(frames, masks, P, W, H, DEFAULT_MOTION, PRIOR), motionBaseline(frames, masks, P, W, H, DUAL_MOTION, PRIOR));
  return estimates;
}
