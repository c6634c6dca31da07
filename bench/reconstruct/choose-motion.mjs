// Scores settings of the motion-compensated prior (src/core/reconstruct/motion.ts) against the prior
// baseline (sigma 3, decay 0.6) on the videos of a folder whose names contain FILTER (default
// "train-": choose settings on training videos only): per video, the median PSNR over frames of each
// (the arriving pixels pasted into both) and the difference; then the mean difference.
//   node bench/reconstruct/choose-motion.mjs VIDEOS [FILTER] ['[{"matchSigma":32}, ...]']   (SEED=n: another mask seed)
// Each JSON object overrides DEFAULT_MOTION; one with a `dual` key overrides DUAL_MOTION instead (two memories
// blended by prediction error, docs/reconstruct.md steps 14-15: '[{}, {"dual": true}]' compares the two) and
// prints each video's mean blend weights [cell memory / path memory / prior].
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readVideo } from '../../dist/core/reconstruct/video.js';
import { priorBaseline } from '../../dist/core/reconstruct/baselines.js';
import { motionBaseline, DEFAULT_MOTION, DUAL_MOTION } from '../../dist/core/reconstruct/motion.js';
import { videoMasks } from '../../dist/core/reconstruct/evaluate.js';
import { psnr } from '../../dist/core/reconstruct/quality.js';
import { median } from '../../dist/core/stats.js';
import { pasteObserved } from '../../dist/core/reconstruct/scotopic.js';

const [dir, filter = 'train-', cfgArg = '[{}]'] = process.argv.slice(2);
const seed = Number(process.env.SEED ?? 0);
const names = readdirSync(dir).filter((n) => n.endsWith('.gif') && filter.split(',').some((f) => n.includes(f))).sort();
const videos = [];
for (const n of names) videos.push(await readVideo(join(dir, n)));
const prior = { sigma: 3, decay: 0.6 };

/** motionBaseline's estimates, and its blend weights per candidate averaged over cells and frames. */
function track(v, masks, settings) {
  const plane = v.width * v.height;
  const share = [];
  const frames = motionBaseline(v.frames, masks, v.channels, v.width, v.height, settings, prior, (tracker) => {
    const K = tracker.blendWeights.length / plane;
    for (let k = 0; k < K; k++) for (let i = 0; i < plane; i++) share[k] = (share[k] ?? 0) + tracker.blendWeights[k * plane + i] / (plane * v.frames.length);
  });
  return { frames, share };
}

for (const cfg of JSON.parse(cfgArg)) {
  const settings = { ...(cfg.dual ? DUAL_MOTION : DEFAULT_MOTION), ...cfg };
  const t0 = Date.now();
  const out = [];
  let sum = 0;
  videos.forEach((v, k) => {
    const masks = videoMasks(v, 0.01, seed);
    const P = v.channels;
    const score = (frames) => median(frames.map((e, t) => psnr(pasteObserved(e, v.frames[t], masks[t], P), v.frames[t])));
    const { frames, share } = track(v, masks, settings);
    const d = score(frames) - score(priorBaseline(v.frames, masks, P, v.width, v.height, prior));
    sum += d;
    out.push(`${names[k].replace(/\.gif$/, '')} ${d >= 0 ? '+' : ''}${d.toFixed(2)}` + (cfg.dual ? ` [${share.map((x) => x.toFixed(2)).join('/')}]` : ''));
  });
  console.log(JSON.stringify(cfg), `mean ${(sum / videos.length).toFixed(2)} dB |`, out.join(' | '), `(${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
