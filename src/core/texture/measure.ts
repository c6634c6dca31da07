/**
 * The texture figures (docs/grow.md#texture): the style distance, under a DIFFERENT random network
 * than the training loss (seed 'texture-eval', 64 features, 3 scales), between the image and
 *   - renders of the trained NCA (from noise, `steps` steps, on the image's size),
 *   - renders of random NCAs (both layers at PyTorch's default initialisation, the same steps),
 *   - the image itself shifted circularly by half its size (the best a texture can do: same content, other place).
 */
import { Rng } from '../rng.js';
import { HIDDEN, initialGrowWeights, type GrowWeights } from '../grow/params.js';
import { GrowPlayer } from '../grow/player.js';
import { styleDistance, styleNetwork, styleStats, type StyleStats } from './style.js';
import { textureStart } from './start.js';

export interface TextureMeasure {
  steps: number;
  renders: number;
  /** Median distances to the image. */
  trained: number;
  random: number;
  shifted: number;
  /** random / trained: how many times closer the trained NCA is (the target is >= 5). */
  ratioToRandom: number;
}

export const EVAL_NETWORK = { seed: 'texture-eval', features: 64, scales: 3 } as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/** The RGB planes [3][H][W] of sample 0 of a state, clamped to 0..1. */
export function visibleRgb(state: Float32Array, width: number, height: number): Float64Array {
  const out = new Float64Array(3 * width * height);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, state[i]!));
  return out;
}

async function renderTexture(weights: GrowWeights, fireRate: number, width: number, height: number, steps: number, seed: string, threads?: number): Promise<Float64Array> {
  const rng = new Rng(seed);
  const player = await GrowPlayer.create(weights, { batch: 1, height, width }, { fireRate, rng: rng.fork(), threads });
  let state: Float32Array = textureStart(rng.fork(), width, height);
  try {
    for (let t = 0; t < steps; t++) state = await player.step(state);
  } finally {
    await player.dispose();
  }
  return visibleRgb(state, width, height);
}

export function randomNcaWeights(rng: Rng): GrowWeights {
  const w = initialGrowWeights(rng);
  const bound = 1 / Math.sqrt(HIDDEN);
  rng.fillUniform(w.w2, -bound, bound);
  rng.fillUniform(w.b2, -bound, bound);
  return w;
}

export async function measureTexture(opts: { weights: GrowWeights; fireRate: number; image: Float64Array; width: number; height: number; steps?: number; renders?: number; threads?: number }): Promise<TextureMeasure> {
  const { width: W, height: H, image } = opts;
  const steps = opts.steps ?? 200, renders = opts.renders ?? 3;
  const net = styleNetwork(EVAL_NETWORK.seed, EVAL_NETWORK.features, EVAL_NETWORK.scales);
  const target: StyleStats = styleStats(net, image, W, H);
  const dist = (rgb: Float64Array) => styleDistance(styleStats(net, rgb, W, H), target);
  const trained: number[] = [], random: number[] = [];
  for (let r = 0; r < renders; r++) {
    trained.push(dist(await renderTexture(opts.weights, opts.fireRate, W, H, steps, `texture-measure-${r}`, opts.threads)));
    random.push(dist(await renderTexture(randomNcaWeights(new Rng(`random-nca-${r}`)), opts.fireRate, W, H, steps, `texture-measure-${r}`, opts.threads)));
  }
  const shiftedImage = new Float64Array(image.length);
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) shiftedImage[c * W * H + ((y + (H >> 1)) % H) * W + ((x + (W >> 1)) % W)] = image[c * W * H + y * W + x]!;
  const t = median(trained), rnd = median(random);
  return { steps, renders, trained: t, random: rnd, shifted: dist(shiftedImage), ratioToRandom: rnd / t };
}
