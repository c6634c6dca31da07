import { ALPHA, GROW_CHANNELS } from './params.js';

/**
 * The tutorial's seed: all zero but alpha = 1 at the centre cell (floor(W/2), floor(H/2)), written
 * into sample `b` of `state` [B][16][H][W].
 */
export function writeSeed(state: Float32Array, b: number, width: number, height: number): void {
  const plane = width * height;
  state.fill(0, b * GROW_CHANNELS * plane, (b + 1) * GROW_CHANNELS * plane);
  state[(b * GROW_CHANNELS + ALPHA) * plane + Math.floor(height / 2) * width + Math.floor(width / 2)] = 1;
}

/** A batch of `batch` seeds. */
export function seedStates(batch: number, width: number, height: number): Float32Array {
  const state = new Float32Array(batch * GROW_CHANNELS * width * height);
  for (let b = 0; b < batch; b++) writeSeed(state, b, width, height);
  return state;
}
