// Writes, for each video of a folder, the inputs of bench/reconstruct/readout.py (docs/reconstruct.md step 17): one
// float32 file <video>.f32 holding the truth, then 15 causal estimates, each [T][3][H][W] with the frame's arriving
// pixels pasted in (hold; the Gaussian prior at sigma 0.75, 1.5, 3, 6 x decay 1, 0.9, 0.6; the motion prior at
// DEFAULT_MOTION, then at DUAL_MOTION), then the masks [T][H][W] (1 where a pixel arrived); keep 0.01. Beside it
// <video>.json: { frames, width, height }.
//   node bench/reconstruct/readout-features.mjs VIDEOS OUT [FILTER]   (SEED=n: mask seed; about 5 s a video)
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVideo } from '../../dist/core/reconstruct/video.js';
import { videoMasks } from '../../dist/core/reconstruct/evaluate.js';
import { pasteObserved } from '../../dist/core/reconstruct/scotopic.js';
import { causalEstimates } from './causal-estimates.mjs';

const [dir, out, filter = ''] = process.argv.slice(2);
const seed = Number(process.env.SEED ?? 0);
mkdirSync(out, { recursive: true });
for (const name of readdirSync(dir).filter((n) => n.endsWith('.gif') && n.includes(filter)).sort()) {
  const v = await readVideo(join(dir, name), { colour: 'rgb' });
  const { width: W, height: H, channels: P, frames } = v;
  const masks = videoMasks(v, 0.01, seed);
  const series = [frames, ...causalEstimates(v, masks).map((e) => e.map((f, t) => pasteObserved(f, frames[t], masks[t], P)))];
  const n = P * W * H, T = frames.length;
  const buf = new Float32Array(series.length * T * n + T * W * H);
  series.forEach((s, k) => s.forEach((f, t) => buf.set(f, (k * T + t) * n)));
  masks.forEach((m, t) => buf.set(m, series.length * T * n + t * W * H));
  writeFileSync(join(out, name.replace(/\.gif$/, '.f32')), buf);
  writeFileSync(join(out, name.replace(/\.gif$/, '.json')), JSON.stringify({ frames: T, width: W, height: H }));
  console.log(name, `${T} frames, ${W} x ${H}`);
}
