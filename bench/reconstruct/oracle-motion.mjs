// Diagnostic: the motion-compensated prior (motion.ts) on the training pans of make-videos.mjs given
// the camera's true velocity (from pannedImageVideo's path) instead of the matched one, against the
// matched one and the prior baseline: how much a better velocity could give, measured on training videos.
// Also the matched velocity's error: the mean over cells of |u - true u|, averaged over frames 12-47.
//   node bench/reconstruct/oracle-motion.mjs VIDEOS ['[{"carry":"points"}, ...]']   (SEED=n: another mask seed)
import { join } from 'node:path';
import { readVideo } from '../../dist/core/reconstruct/video.js';
import { priorBaseline } from '../../dist/core/reconstruct/baselines.js';
import { MotionTracker, DEFAULT_MOTION } from '../../dist/core/reconstruct/motion.js';
import { videoMasks } from '../../dist/core/reconstruct/evaluate.js';
import { psnr } from '../../dist/core/reconstruct/quality.js';
import { median } from '../../dist/core/stats.js';
import { pasteObserved } from '../../dist/core/reconstruct/scotopic.js';

const [dir, cfgArg = '[{}]'] = process.argv.slice(2);
const seed = Number(process.env.SEED ?? 0);
const S = 64, T = 48;
// the paths of make-videos.mjs
const pans = {
  'train-emoji-sunrise-pan': { from: [0.3, 0.4], to: [0.7, 0.6], zoomFrom: 0.5, zoomTo: 0.5 },
  'train-emoji-city-zoom': { from: [0.5, 0.5], to: [0.4, 0.55], zoomFrom: 0.9, zoomTo: 0.4 },
  'train-emoji-volcano-pan': { from: [0.65, 0.35], to: [0.35, 0.65], zoomFrom: 0.6, zoomTo: 0.7 },
};
// the true velocity field into frame t: where the image point seen at cell p in frame t was in frame t - 1
function trueVelocity(path, t, out) {
  const at = (k) => { const u = k / (T - 1); return [path.from[0] + (path.to[0] - path.from[0]) * u, path.from[1] + (path.to[1] - path.from[1]) * u, path.zoomFrom + (path.zoomTo - path.zoomFrom) * u]; };
  const [cx1, cy1, z1] = at(t), [cx0, cy0, z0] = at(t - 1);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    // image coordinate (in image widths) of cell (x, y) at t, then the cell showing it at t - 1
    const X = cx1 + ((x + 0.5) / S - 0.5) * z1, Y = cy1 + ((y + 0.5) / S - 0.5) * z1;
    const x0 = S * ((X - cx0) / z0 + 0.5) - 0.5, y0 = S * ((Y - cy0) / z0 + 0.5) - 0.5;
    out[y * S + x] = x - x0;
    out[S * S + y * S + x] = y - y0;
  }
}
const prior = { sigma: 3, decay: 0.6 };
for (const cfg of JSON.parse(cfgArg)) {
  const settings = { ...DEFAULT_MOTION, ...cfg };
  const out = [];
  for (const [name, path] of Object.entries(pans)) {
    const v = await readVideo(join(dir, `${name}.gif`));
    const masks = videoMasks(v, 0.01, seed);
    const score = (frames) => median(frames.map((e, t) => psnr(pasteObserved(e, v.frames[t], masks[t], 3), v.frames[t])));
    const truth = new Float32Array(2 * S * S);
    let velocityError = 0;
    const run = (oracle) => {
      // the oracle replaces the whole velocity step (the per-cell matching and the camera path)
      const tracker = new MotionTracker(3, S, S, oracle ? { ...settings, path: undefined } : settings, prior);
      let t = 0;
      if (oracle) tracker.matchVelocity = () => trueVelocity(path, t, tracker.velocity);
      return v.frames.map((f, k) => {
        t = k;
        tracker.add(f, masks[k]);
        if (!oracle && k >= 12) {
          trueVelocity(path, k, truth);
          let e = 0;
          for (let i = 0; i < S * S; i++) e += Math.hypot(tracker.velocity[i] - truth[i], tracker.velocity[S * S + i] - truth[S * S + i]);
          velocityError += e / (S * S) / (T - 12);
        }
        return tracker.estimate.slice();
      });
    };
    const p = score(priorBaseline(v.frames, masks, 3, S, S, prior));
    const matched = score(run(false)) - p;
    out.push(`${name} matched ${matched.toFixed(2)} true ${(score(run(true)) - p).toFixed(2)} velocity error ${velocityError.toFixed(2)}`);
  }
  console.log(JSON.stringify(cfg), '|', out.join(' | '));
}
