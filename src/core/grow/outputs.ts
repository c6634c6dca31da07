/**
 * What `nca grow` writes after training: eval.json (evaluate.ts), growth.gif (from one cell, every
 * second step), regeneration.gif (grown, a square of 30% of the target cut out, regrowing, every second step) and strip.png (frames of
 * both side by side, for the README). Pictures: over white, each cell 3 x 3 pixels.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { writeGif } from '../io/gif.js';
import { hstack, type RgbaImage } from '../io/image.js';
import { writePng } from '../io/png.js';
import { Rng } from '../rng.js';
import { applyCut, areaCut } from './damage.js';
import { evaluateGrow, type GrowEvaluation } from './evaluate.js';
import type { GrowWeights } from './params.js';
import { GrowPlayer, stateToImage, targetToImage } from './player.js';
import { seedStates } from './seed-state.js';
import type { GrowTarget } from './target.js';

const SCALE = 3;

export async function writeGrowOutputs(opts: { weights: GrowWeights; target: GrowTarget; fireRate: number; outDir: string; seed: number | string; threads?: number; cuts: number }): Promise<{ evaluation: GrowEvaluation; files: string[] }> {
  const { weights, target, outDir } = opts;
  const { width: W, height: H } = target;
  const { evaluation } = await evaluateGrow({ weights, target, fireRate: opts.fireRate, seed: opts.seed, threads: opts.threads, cuts: opts.cuts });
  const rng = new Rng(`${opts.seed}/pictures`);
  const player = await GrowPlayer.create(weights, { batch: 1, height: H, width: W }, { fireRate: opts.fireRate, rng: rng.fork(), threads: opts.threads });
  const growth: RgbaImage[] = [];
  const regeneration: RgbaImage[] = [];
  const strip: RgbaImage[] = [targetToImage(target.rgba, W, H, SCALE)];
  const stripGrowth = new Set([0, 20, 40, 60, 100, 200]);
  const stripRegen = new Set([10, 30, 60, 100]);
  try {
    let state: Float32Array = seedStates(1, W, H);
    for (let t = 0; t <= 300; t++) {
      if (t % 2 === 0 && t <= 200) growth.push(stateToImage(state, 0, W, H, SCALE));
      if (stripGrowth.has(t)) strip.push(stateToImage(state, 0, W, H, SCALE));
      if (t < 300) state = await player.step(state);
    }
    applyCut(state, 0, W, H, areaCut(rng, 'square', target.rgba.subarray(3 * W * H), W, 0.3));
    strip.push(stateToImage(state, 0, W, H, SCALE));
    for (let t = 0; t <= 150; t++) {
      if (t % 2 === 0) regeneration.push(stateToImage(state, 0, W, H, SCALE));
      if (stripRegen.has(t)) strip.push(stateToImage(state, 0, W, H, SCALE));
      state = await player.step(state);
    }
  } finally {
    await player.dispose();
  }
  const files = ['eval.json', 'growth.gif', 'regeneration.gif', 'strip.png'].map((f) => join(outDir, f));
  await writeFileAtomic(files[0]!, JSON.stringify(evaluation, null, 2) + '\n');
  await writeGif(files[1]!, growth, { fps: 25 });
  await writeGif(files[2]!, regeneration, { fps: 25 });
  await writePng(files[3]!, hstack(strip, 4));
  return { evaluation, files };
}
