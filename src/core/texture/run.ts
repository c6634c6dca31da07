/**
 * `nca texture`: train a texture NCA on an image and write its folder (docs/grow.md#texture):
 *   params.json (architecture growing-nca, kind texture), log.json, measure.json (measure.ts),
 *   texture.gif (from noise) and texture.png (the image beside a render, a random NCA's render).
 * The NCA is the growing NCA's (the same architecture, rollout and trainer); only the objective differs.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { makeDirs } from '../io/dirs.js';
import { writeGif } from '../io/gif.js';
import { hstack, type RgbaImage } from '../io/image.js';
import { readPng, writePng } from '../io/png.js';
import { Rng } from '../rng.js';
import { growParamsJson } from '../grow/params.js';
import { GrowPlayer, stateToImage } from '../grow/player.js';
import { trainGrow, type GrowTrainSettings, type IterationLog } from '../grow/train.js';
import { measureTexture, randomNcaWeights, type TextureMeasure } from './measure.js';
import { textureObjective } from './objective.js';
import { textureStart } from './start.js';
import { styleNetwork, styleStats } from './style.js';

export const TEXTURE_SETTINGS: Partial<GrowTrainSettings> = { minSteps: 32, maxSteps: 64, damagePerBatch: 0, lrFinal: 0.2 };
export const TRAIN_NETWORK = { seed: 'texture-train', features: 32, scales: 3 } as const;

export interface TextureImage {
  width: number;
  height: number;
  /** RGB planes [3][H][W], 0..1 (alpha ignored). */
  rgb: Float64Array;
  source: string;
}

export async function readTextureImage(path: string, maxSide = 64): Promise<TextureImage> {
  let img = await readPng(path);
  if (img.width > maxSide || img.height > maxSide) {
    const sharp = (await import('sharp')).default;
    const { data, info } = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 4 } }).resize(maxSide, maxSide, { fit: 'inside' }).raw().toBuffer({ resolveWithObject: true });
    img = { width: info.width, height: info.height, data: new Uint8Array(data) };
  }
  const plane = img.width * img.height;
  const rgb = new Float64Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) rgb[c * plane + i] = img.data[i * 4 + c]! / 255;
  return { width: img.width, height: img.height, rgb, source: `PNG ${path}, ${img.width}x${img.height}` };
}

export interface TextureRunOptions {
  image: TextureImage;
  outDir: string;
  /** Training grid side (the rule runs on any grid). */
  grid: number;
  settings: Partial<GrowTrainSettings>;
  seed: number | string;
  threads?: number;
  checkpointEvery: number;
  onProgress?: (done: number, total: number, loss: number) => void;
}

export async function runTexture(opts: TextureRunOptions): Promise<{ iterations: number; seconds: number; finalLoss: number; measure: TextureMeasure; files: string[] }> {
  await makeDirs(opts.outDir, 'the output folder');
  const { image } = opts;
  const settings = { ...TEXTURE_SETTINGS, ...opts.settings };
  const net = styleNetwork(TRAIN_NETWORK.seed, TRAIN_NETWORK.features, TRAIN_NETWORK.scales);
  const stats = styleStats(net, image.rgb, image.width, image.height);
  const rng = new Rng(opts.seed);
  const G = opts.grid;
  const log: IterationLog[] = [];
  const files = ['params.json', 'log.json', 'measure.json', 'texture.gif', 'texture.png'].map((f) => join(opts.outDir, f));
  const info = (s: GrowTrainSettings, extra: object = {}) => ({ kind: 'texture' as const, width: G, height: G, fireRate: s.fireRate, image: image.source, seed: opts.seed, styleNetwork: TRAIN_NETWORK, training: { ...s, iterationsDone: log.length }, ...extra });
  const writeLog = () => writeFileAtomic(files[1]!, JSON.stringify({ image: image.source, log: log.map((l) => ({ iteration: l.iteration, loss: Number(l.loss.toPrecision(5)), steps: l.steps, seconds: Number((l.forward + l.backward + l.rest).toFixed(3)) })) }) + '\n');
  let full: GrowTrainSettings | null = null;
  const result = await trainGrow({
    target: { width: G, height: G },
    objective: textureObjective(net, stats, G, G, rng.fork()),
    settings,
    seed: opts.seed,
    threads: opts.threads,
    onSettings: (s) => (full = s),
    onIteration: async (entry, weights) => {
      log.push(entry);
      opts.onProgress?.(entry.iteration + 1, full!.iterations, entry.loss);
      if ((entry.iteration + 1) % opts.checkpointEvery === 0) {
        await writeFileAtomic(files[0]!, growParamsJson(weights, info(full!)));
        await writeLog();
      }
    },
  });
  const measure = await measureTexture({ weights: result.weights, fireRate: result.settings.fireRate, image: image.rgb, width: image.width, height: image.height, threads: opts.threads });
  await writeFileAtomic(files[0]!, growParamsJson(result.weights, info(result.settings, { measure })));
  await writeLog();
  await writeFileAtomic(files[2]!, JSON.stringify(measure, null, 2) + '\n');
  // pictures: the texture forming from noise at the image's size, and image | render | random NCA
  const { width: W, height: H } = image;
  const frames: RgbaImage[] = [];
  const play = async (weights: typeof result.weights, steps: number, keep: boolean) => {
    const prng = new Rng(`${opts.seed}/pictures`);
    const player = await GrowPlayer.create(weights, { batch: 1, height: H, width: W }, { fireRate: result.settings.fireRate, rng: prng.fork(), threads: opts.threads });
    let state: Float32Array = textureStart(prng.fork(), W, H);
    try {
      for (let t = 0; t <= steps; t++) {
        if (keep && t % 2 === 0) frames.push(stateToImage(state, 0, W, H, 3));
        if (t < steps) state = await player.step(state);
      }
    } finally {
      await player.dispose();
    }
    return stateToImage(state, 0, W, H, 3);
  };
  const rendered = await play(result.weights, 200, true);
  const random = await play(randomNcaWeights(new Rng('random-nca-0')), 200, false);
  const imageState = new Float32Array(16 * W * H);
  imageState.set(Float32Array.from(image.rgb));
  imageState.fill(1, 3 * W * H, 4 * W * H);
  await writeGif(files[3]!, frames, { fps: 25 });
  await writePng(files[4]!, hstack([stateToImage(imageState, 0, W, H, 3), rendered, random], 6));
  return { iterations: result.log.length, seconds: result.seconds, finalLoss: result.log.at(-1)?.loss ?? NaN, measure, files };
}
