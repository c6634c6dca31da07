// Diagnostic (docs/reconstruct.md, step 17 "How far +2 dB is"): how much an estimator could know of each video,
// measured with the truth. Per video, the median PSNR over frames (the frame's arriving pixels pasted in, as every
// method is scored) of
//   hold, prior        the seed's two baselines (the prior at sigma 3, decay 0.6, as chosen on the training videos)
//   bar                the better of the two + 2 dB: the target
//   last frame known   frame t-1 exactly, every pixel of it (an estimator that had recovered the whole previous frame
//                      and knew nothing of the motion)
//   with the prior     the last frame known, mixed with the prior: a (last frame) + (1 - a) (prior), the best a of
//                      0, 0.25, .., 1 for the video (an oracle twice over: the truth and a weight chosen on it)
//   two frames back    frame t-2 exactly
//   linear oracle      the best linear combination of 15 causal estimates (hold; the prior at sigma 0.75, 1.5, 3, 6 x
//                      decay 1, 0.9, 0.6; the motion prior at DEFAULT_MOTION and DUAL_MOTION; each with the arriving
//                      pixels pasted in), every channel of each over a (2R+1) x (2R+1) neighbourhood (zero outside),
//                      plus a constant, its weights fitted by least squares on the video's own truth (all frames,
//                      per output channel): what those estimators know, combined by an oracle. R = 1 and 2.
// Nothing is chosen on these figures: they say how far the target is from what the estimators and the past frames hold.
//   node bench/reconstruct/ceiling.mjs VIDEOS [FILTER]   (FILTER: names containing it, default "test-"; SEED=n: mask seed;
//   RADII=1,2 the oracle's neighbourhoods, RADII= none; at 5 x 5 about three minutes a video)
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readVideo } from '../../dist/core/reconstruct/video.js';
import { videoMasks } from '../../dist/core/reconstruct/evaluate.js';
import { psnr } from '../../dist/core/reconstruct/quality.js';
import { median } from '../../dist/core/stats.js';
import { pasteObserved } from '../../dist/core/reconstruct/scotopic.js';
import { causalEstimates } from './causal-estimates.mjs';

const [dir, filter = 'test-'] = process.argv.slice(2);
const seed = Number(process.env.SEED ?? 0);
const radii = (process.env.RADII ?? '1,2').split(',').filter(Boolean).map(Number);
const names = readdirSync(dir).filter((n) => n.endsWith('.gif') && n.includes(filter)).sort();
const fmt = (x) => x.toFixed(2);
const signed = (x) => `${x >= 0 ? '+' : ''}${fmt(x)}`;

/**
 * Least squares over the rows of `features(t, y, x, row)` (F values, the last one the constant) for the P channels
 * of the truth: normal equations accumulated in float64, solved by Cholesky with a ridge of 1e-9 of the mean diagonal
 * (the estimates are nearly collinear in places). Returns the fitted estimate of every frame, [P][H][W] each.
 */
function linearOracle(video, F, features) {
  const { width: W, height: H, channels: P, frames } = video;
  const G = new Float64Array(F * F), B = new Float64Array(P * F), row = new Float64Array(F);
  // rows in blocks, stored feature-major, so that G's entries are dot products over a block (G stays out of the row loop)
  const BLOCK = 256, X = new Float64Array(F * BLOCK), Y = new Float64Array(P * BLOCK);
  let n = 0;
  const flush = () => {
    for (let i = 0; i < F; i++) {
      const xi = i * BLOCK;
      let j = i;
      for (; j + 3 < F; j += 4) {
        const x0 = j * BLOCK, x1 = x0 + BLOCK, x2 = x1 + BLOCK, x3 = x2 + BLOCK;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let r = 0; r < n; r++) {
          const a = X[xi + r];
          s0 += a * X[x0 + r];
          s1 += a * X[x1 + r];
          s2 += a * X[x2 + r];
          s3 += a * X[x3 + r];
        }
        G[i * F + j] += s0;
        G[i * F + j + 1] += s1;
        G[i * F + j + 2] += s2;
        G[i * F + j + 3] += s3;
      }
      for (; j < F; j++) {
        const xj = j * BLOCK;
        let s = 0;
        for (let r = 0; r < n; r++) s += X[xi + r] * X[xj + r];
        G[i * F + j] += s;
      }
      for (let c = 0; c < P; c++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += X[xi + r] * Y[c * BLOCK + r];
        B[c * F + i] += s;
      }
    }
    n = 0;
  };
  for (let t = 0; t < frames.length; t++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    features(t, y, x, row);
    for (let i = 0; i < F; i++) X[i * BLOCK + n] = row[i];
    for (let c = 0; c < P; c++) Y[c * BLOCK + n] = frames[t][c * W * H + y * W + x];
    if (++n === BLOCK) flush();
  }
  if (n) flush();
  let trace = 0;
  for (let i = 0; i < F; i++) trace += G[i * F + i];
  for (let i = 0; i < F; i++) {
    G[i * F + i] += (1e-9 * trace) / F;
    for (let j = 0; j < i; j++) G[i * F + j] = G[j * F + i];
  }
  // Cholesky G = L L^T in place (lower triangle)
  for (let j = 0; j < F; j++) {
    let d = G[j * F + j];
    for (let k = 0; k < j; k++) d -= G[j * F + k] ** 2;
    const l = Math.sqrt(Math.max(d, 1e-300));
    G[j * F + j] = l;
    for (let i = j + 1; i < F; i++) {
      let s = G[i * F + j];
      for (let k = 0; k < j; k++) s -= G[i * F + k] * G[j * F + k];
      G[i * F + j] = s / l;
    }
  }
  const weights = [];
  for (let c = 0; c < P; c++) {
    const z = B.slice(c * F, (c + 1) * F);
    for (let i = 0; i < F; i++) { for (let k = 0; k < i; k++) z[i] -= G[i * F + k] * z[k]; z[i] /= G[i * F + i]; }
    for (let i = F - 1; i >= 0; i--) { for (let k = i + 1; k < F; k++) z[i] -= G[k * F + i] * z[k]; z[i] /= G[i * F + i]; }
    weights.push(z);
  }
  return frames.map((_, t) => {
    const out = new Float32Array(P * W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      features(t, y, x, row);
      for (let c = 0; c < P; c++) {
        let s = 0;
        for (let i = 0; i < F; i++) s += weights[c][i] * row[i];
        out[c * W * H + y * W + x] = s;
      }
    }
    return out;
  });
}

console.log(['video', 'hold', 'prior', 'bar (better + 2)', 'last frame known', 'with the prior (a)', 'two frames back', ...radii.map((r) => `linear oracle ${2 * r + 1}x${2 * r + 1}`)].join(' | '));
for (const name of names) {
  const v = await readVideo(join(dir, name));
  const { width: W, height: H, channels: P } = v;
  const masks = videoMasks(v, 0.01, seed);
  const pasted = (estimates) => estimates.map((e, t) => pasteObserved(e, v.frames[t], masks[t], P));
  const score = (estimates) => median(pasted(estimates).map((e, t) => psnr(e, v.frames[t])));
  const zero = new Float32Array(v.frames[0].length);
  const back = (k) => v.frames.map((_, t) => (t >= k ? v.frames[t - k] : zero));
  const last = back(1);
  const estimates = causalEstimates(v, masks);
  const holdFrames = estimates[0], priorFrames = estimates[9];
  const hold = score(holdFrames), prior = score(priorFrames);
  const bar = Math.max(hold, prior) + 2;
  const lastKnown = score(last);
  const mixed = [0, 0.25, 0.5, 0.75, 1].map((a) => ({ a, psnr: score(last.map((l, t) => l.map((x, i) => a * x + (1 - a) * priorFrames[t][i]))) }))
    .reduce((best, m) => (m.psnr > best.psnr ? m : best));
  const cells = [name.replace(/\.gif$/, ''), fmt(hold), fmt(prior), fmt(bar), `${fmt(lastKnown)} (${signed(lastKnown - bar)})`, `${fmt(mixed.psnr)} (a ${mixed.a})`, fmt(score(back(2)))];
  if (radii.length) {
    const inputs = estimates.map(pasted);
    for (const R of radii) {
      const side = 2 * R + 1, F = inputs.length * P * side * side + 1;
      const features = (t, y, x, row) => {
        let f = 0;
        for (const e of inputs) for (let c = 0; c < P; c++) for (let dy = -R; dy <= R; dy++) for (let dx = -R; dx <= R; dx++) {
          const yy = y + dy, xx = x + dx;
          row[f++] = yy >= 0 && yy < H && xx >= 0 && xx < W ? e[t][c * W * H + yy * W + xx] : 0;
        }
        row[f] = 1;
      };
      const fitted = score(linearOracle(v, F, features));
      cells.push(`${fmt(fitted)} (${signed(fitted - bar)})`);
    }
  }
  console.log(cells.join(' | '));
}
