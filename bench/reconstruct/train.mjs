// Trains the scotopic NCA on the train-*.gif videos of a folder (bench/reconstruct/make-videos.mjs)
// and checkpoints params.json into OUT every 25 iterations (a log in OUT/log.jsonl).
//   node bench/reconstruct/train.mjs VIDEOS OUT [iters] [keep] [loss: kept|all] [stepsPerFrame] [batch] [lr] [priors: on|off] [augment: on|off] [motion: on|off]
// (priors on: DEFAULT_CONFIG's Gaussian-prior inputs; motion on: its motion-compensated prior too, the estimate starting from it each frame)
// MOTION=dual: the motion prior at DUAL_MOTION (motion.ts; two memories, docs/reconstruct.md steps 14-16) instead of DEFAULT_MOTION.
import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVideo } from '../../dist/core/reconstruct/video.js';
import { DEFAULT_CONFIG, paramsToJson, trainScotopic } from '../../dist/core/reconstruct/scotopic.js';
import { DUAL_MOTION } from '../../dist/core/reconstruct/motion.js';

const [dir, out, iters = '600', keep = '0.01', lossPixels = 'kept', spf = '4', batch = '4', lr = '3e-3', priors = 'on', augment = 'off', motion = 'on'] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const names = readdirSync(dir).filter((n) => n.startsWith('train-') && n.endsWith('.gif')).sort();
const videos = [];
for (const n of names) videos.push(await readVideo(join(dir, n)));
if (process.env.MOTION !== undefined && process.env.MOTION !== 'dual') throw new Error(`MOTION: 'dual' or unset, not ${process.env.MOTION}`);
const config = { ...DEFAULT_CONFIG, stepsPerFrame: Number(spf), priors: priors === 'on' ? DEFAULT_CONFIG.priors : [], ...(process.env.MOTION === 'dual' ? { motion: DUAL_MOTION } : {}) };
if (motion !== 'on') delete config.motion;
const settings = { iters: Number(iters), batch: Number(batch), crop: 32, window: 8, keep: Number(keep), lossPixels, lr: Number(lr), augment: augment === 'on', seed: 1, threads: 1 };
writeFileSync(join(out, 'settings.json'), JSON.stringify({ config, settings, videos: names }, null, 2));
const t0 = Date.now();
let recent = [];
await trainScotopic(videos, config, {
  ...settings,
  checkpointEvery: 25,
  onProgress: (it, total, loss) => {
    recent.push(loss);
    if (it % 25 === 0 || it === total) {
      const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
      recent = [];
      appendFileSync(join(out, 'log.jsonl'), JSON.stringify({ it, loss: mean, seconds: (Date.now() - t0) / 1000 }) + '\n');
    }
  },
  onCheckpoint: async (params, it) => writeFileSync(join(out, 'params.json'), paramsToJson(params, { iterations: it, trainedOn: names, keep: Number(keep), lossPixels })),
});
