import { GROW_CHANNELS } from '../grow/params.js';
import type { Rng } from '../rng.js';

/**
 * The texture NCA's start state [1][16][H][W]: every cell alive (alpha 1) with the other channels
 * uniform noise in 0..1, so that the whole grid organises into the texture.
 */
export function textureStart(rng: Rng, width: number, height: number): Float32Array {
  const plane = width * height;
  const state = rng.fillUniform(new Float32Array(GROW_CHANNELS * plane), 0, 1);
  state.fill(1, 3 * plane, 4 * plane);
  return state;
}
