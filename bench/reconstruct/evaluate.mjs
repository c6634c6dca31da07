// Scores a trained scotopic NCA against the three baselines (hold, prior, motion-compensated prior) on the test-*.gif videos of a folder
// (never trained on), with the prior's width and decay chosen on the train-*.gif videos.
//   node bench/reconstruct/evaluate.mjs VIDEOS PARAMS.json OUT [keep] [seed]
// Writes OUT/eval.json, OUT/<video>.gif (source | seen | NCA | prior | motion) and OUT/<video>-strip.png.
// ONLY=test skips the training videos. MOTION=dual: the motion baseline at DUAL_MOTION instead of DEFAULT_MOTION
// (the NCA reads its own params' motion settings either way).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVideo } from '../../dist/core/reconstruct/video.js';
import { paramsFromJson } from '../../dist/core/reconstruct/scotopic.js';
import { choosePrior, evaluateVideo } from '../../dist/core/reconstruct/evaluate.js';
import { DEFAULT_MOTION, DUAL_MOTION } from '../../dist/core/reconstruct/motion.js';
import { seenFrame, writeSideBySide, writeStrip } from '../../dist/core/reconstruct/side-by-side.js';

const [dir, paramsPath, out, keepArg = '0.01', seedArg = '0'] = process.argv.slice(2);
const keep = Number(keepArg), seed = Number(seedArg);
mkdirSync(out, { recursive: true });
const params = paramsFromJson(JSON.parse(readFileSync(paramsPath, 'utf8')), paramsPath);
const colour = params.config.colour;
const list = (prefix) => readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith('.gif')).sort();
const train = [];
for (const n of list('train-')) train.push(await readVideo(join(dir, n), { colour }));
// PRIOR=sigma,decay skips the choice (use only settings that choosePrior returned on the training videos)
if (process.env.MOTION !== undefined && process.env.MOTION !== 'dual') throw new Error(`MOTION: 'dual' or unset, not ${process.env.MOTION}`);
const baselineMotion = process.env.MOTION === 'dual' ? DUAL_MOTION : DEFAULT_MOTION;
const prior = process.env.PRIOR ? { sigma: Number(process.env.PRIOR.split(',')[0]), decay: Number(process.env.PRIOR.split(',')[1]) } : choosePrior(train, keep, seed);
console.log(`prior chosen on ${train.length} training videos: sigma ${prior.sigma}, decay ${prior.decay} (train PSNR ${prior.meanPsnr?.toFixed(2) ?? "given"} dB)`);
const rows = [];
for (const split of process.env.ONLY === 'test' ? ['test-'] : ['test-', 'train-']) {
  for (const n of list(split)) {
    const video = await readVideo(join(dir, n), { colour });
    // the motion baseline at the settings chosen on the training videos (DEFAULT_MOTION; MOTION=dual: DUAL_MOTION), whatever the NCA reads
    const e = await evaluateVideo(video, { params, keep, seed, prior, motion: baselineMotion, threads: 1 });
    // PSNR: the median over frames (the README's table) and the mean; SSIM: the mean
    const q = { nca: e.nca.quality, hold: e.hold.quality, prior: e.prior.quality, motion: e.motion.quality };
    const row = { video: n };
    for (const [k, v] of Object.entries(q)) Object.assign(row, { [k]: v.medianPsnr, [`${k}Mean`]: v.meanPsnr, [`${k}Ssim`]: v.meanSsim });
    row.margin = row.nca - Math.max(row.hold, row.prior);
    row.marginAll = row.nca - Math.max(row.hold, row.prior, row.motion);
    row.marginMean = row.ncaMean - Math.max(row.holdMean, row.priorMean);
    rows.push(row);
    const sg = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
    console.log(`${n.padEnd(36)} median PSNR: NCA ${row.nca.toFixed(2)} (SSIM ${row.ncaSsim.toFixed(3)})  hold ${row.hold.toFixed(2)} (${row.holdSsim.toFixed(3)})  prior ${row.prior.toFixed(2)} (${row.priorSsim.toFixed(3)})  motion ${row.motion.toFixed(2)} (${row.motionSsim.toFixed(3)})  vs hold/prior ${sg(row.margin)}  vs all ${sg(row.marginAll)}  (mean ${sg(row.marginMean)})`);
    if (split === 'test-') {
      const P = video.channels;
      const panels = [
        { label: 'source', frames: video.frames },
        { label: `seen ${keep}`, frames: video.frames.map((f, t) => seenFrame(f, e.masks[t], P)) },
        { label: 'NCA', frames: e.nca.frames },
        { label: 'prior', frames: e.prior.frames },
        { label: 'motion', frames: e.motion.frames },
      ];
      const base = n.replace(/\.gif$/, '');
      await writeSideBySide(join(out, `${base}.gif`), panels, { width: video.width, height: video.height, scale: 2, fps: 10 });
      await writeStrip(join(out, `${base}-strip.png`), panels, [4, 16, 32, 47].filter((t) => t < video.frames.length), { width: video.width, height: video.height, scale: 2 });
    }
  }
}
writeFileSync(join(out, 'eval.json'), JSON.stringify({ params: paramsPath, keep, seed, prior, motion: baselineMotion, rows }, null, 2));
