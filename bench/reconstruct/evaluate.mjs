// Scores a trained scotopic NCA against the two baselines on the test-*.gif videos of a folder
// (never trained on), with the prior's width and decay chosen on the train-*.gif videos.
//   node bench/reconstruct/evaluate.mjs VIDEOS PARAMS.json OUT [keep] [seed]
// Writes OUT/eval.json, OUT/<video>.gif (source | seen | NCA | prior) and OUT/<video>-strip.png.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVideo } from '../../dist/core/reconstruct/video.js';
import { paramsFromJson } from '../../dist/core/reconstruct/scotopic.js';
import { choosePrior, evaluateVideo } from '../../dist/core/reconstruct/evaluate.js';
import { seenFrame, writeSideBySide, writeStrip } from '../../dist/core/reconstruct/side-by-side.js';

const [dir, paramsPath, out, keepArg = '0.01', seedArg = '0'] = process.argv.slice(2);
const keep = Number(keepArg), seed = Number(seedArg);
mkdirSync(out, { recursive: true });
const params = paramsFromJson(JSON.parse(readFileSync(paramsPath, 'utf8')), paramsPath);
const colour = params.config.colour;
const list = (prefix) => readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith('.gif')).sort();
const train = [];
for (const n of list('train-')) train.push(await readVideo(join(dir, n), { colour }));
const prior = choosePrior(train, keep, seed);
console.log(`prior chosen on ${train.length} training videos: sigma ${prior.sigma}, decay ${prior.decay} (train PSNR ${prior.meanPsnr.toFixed(2)} dB)`);
const rows = [];
for (const split of ['test-', 'train-']) {
  for (const n of list(split)) {
    const video = await readVideo(join(dir, n), { colour });
    const e = await evaluateVideo(video, { params, keep, seed, prior, threads: 1 });
    const row = { video: n, nca: e.nca.quality.meanPsnr, hold: e.hold.quality.meanPsnr, prior: e.prior.quality.meanPsnr, ncaSsim: e.nca.quality.meanSsim, holdSsim: e.hold.quality.meanSsim, priorSsim: e.prior.quality.meanSsim };
    row.margin = row.nca - Math.max(row.hold, row.prior);
    rows.push(row);
    console.log(`${n.padEnd(36)} NCA ${row.nca.toFixed(2)} dB (SSIM ${row.ncaSsim.toFixed(3)})  hold ${row.hold.toFixed(2)} (${row.holdSsim.toFixed(3)})  prior ${row.prior.toFixed(2)} (${row.priorSsim.toFixed(3)})  margin ${row.margin >= 0 ? '+' : ''}${row.margin.toFixed(2)} dB`);
    if (split === 'test-') {
      const P = video.channels;
      const panels = [
        { label: 'source', frames: video.frames },
        { label: `seen ${keep}`, frames: video.frames.map((f, t) => seenFrame(f, e.masks[t], P)) },
        { label: 'NCA', frames: e.nca.frames },
        { label: 'prior', frames: e.prior.frames },
      ];
      const base = n.replace(/\.gif$/, '');
      await writeSideBySide(join(out, `${base}.gif`), panels, { width: video.width, height: video.height, scale: 2, fps: 10 });
      await writeStrip(join(out, `${base}-strip.png`), panels, [4, 16, 32, 47].filter((t) => t < video.frames.length), { width: video.width, height: video.height, scale: 2 });
    }
  }
}
writeFileSync(join(out, 'eval.json'), JSON.stringify({ params: paramsPath, keep, seed, prior, rows }, null, 2));
