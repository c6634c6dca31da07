/**
 * Playing a growing NCA forward (no gradient): a batch of states stepped on onnxruntime with
 * stochastic updates drawn from a seeded Rng, and the visible picture of a state.
 */
import type { RgbaImage } from '../io/image.js';
import type { Rng } from '../rng.js';
import { ALPHA, GROW_CHANNELS, type GrowWeights } from './params.js';
import { GrowRollout, fillUpdateMask, type GridShape } from './rollout.js';

export class GrowPlayer {
  private readonly mask: Float32Array;
  private constructor(
    private readonly rollout: GrowRollout,
    private readonly weights: GrowWeights,
    readonly shape: GridShape,
    private readonly fireRate: number,
    private readonly rng: Rng,
  ) {
    this.mask = new Float32Array(shape.batch * shape.height * shape.width);
  }

  static async create(weights: GrowWeights, shape: GridShape, opts: { fireRate: number; rng: Rng; threads?: number }): Promise<GrowPlayer> {
    return new GrowPlayer(await GrowRollout.create({ threads: opts.threads ?? 2 }), weights, shape, opts.fireRate, opts.rng);
  }

  /** One step of every sample; returns the new state. */
  async step(state: Float32Array): Promise<Float32Array> {
    return this.rollout.step(state, fillUpdateMask(this.rng, this.mask, this.fireRate), this.weights, this.shape);
  }

  dispose(): Promise<void> {
    return this.rollout.dispose();
  }
}

/**
 * The visible picture of sample `b` of `state` [B][16][H][W]: premultiplied RGBA composited over white
 * (rgb + 1 - alpha, clamped), each cell a `scale` x `scale` block.
 */
export function stateToImage(state: Float32Array, b: number, width: number, height: number, scale = 1): RgbaImage {
  const plane = width * height;
  const out = new Uint8Array(width * scale * height * scale * 4);
  const byte = (v: number) => (v >= 1 ? 255 : v > 0 ? Math.round(v * 255) : 0);
  const base = b * GROW_CHANNELS * plane;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const a = Math.min(1, Math.max(0, state[base + ALPHA * plane + i]!));
      const px = [0, 1, 2].map((c) => byte(Math.min(1, Math.max(0, state[base + c * plane + i]!)) + 1 - a));
      for (let sy = 0; sy < scale; sy++)
        for (let sx = 0; sx < scale; sx++) {
          const o = ((y * scale + sy) * width * scale + x * scale + sx) * 4;
          out[o] = px[0]!;
          out[o + 1] = px[1]!;
          out[o + 2] = px[2]!;
          out[o + 3] = 255;
        }
    }
  return { width: width * scale, height: height * scale, data: out };
}

/** The target planes [4][H][W] as a state-like picture (for side-by-side figures). */
export function targetToImage(rgba: Float32Array, width: number, height: number, scale = 1): RgbaImage {
  const state = new Float32Array(GROW_CHANNELS * width * height);
  state.set(rgba);
  return stateToImage(state, 0, width, height, scale);
}
