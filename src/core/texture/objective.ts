/**
 * The texture NCA's training objective (grow/train.ts's Objective): the style loss (style.ts) of each
 * final state's visible RGB, clamp(x[0..2], 0, 1), against the image's statistics, plus ALIVE_WEIGHT x
 * the mean of (alpha - 1)^2 so the grid stays alive (the growing NCA's alive mask is kept unchanged).
 * Pool samples start as textureStart (noise, alpha 1).
 */
import type { Rng } from '../rng.js';
import { GROW_CHANNELS } from '../grow/params.js';
import type { Objective } from '../grow/train.js';
import { styleLossAndGrad, type StyleNetwork, type StyleStats } from './style.js';
import { textureStart } from './start.js';

export const ALIVE_WEIGHT = 0.1;

export function textureObjective(net: StyleNetwork, target: StyleStats, width: number, height: number, rng: Rng): Objective {
  const plane = width * height, sample = GROW_CHANNELS * plane;
  const rgb = new Float64Array(3 * plane), grad = new Float64Array(3 * plane);
  return {
    loss(final, batch, gradOut) {
      gradOut.fill(0);
      const perSample = new Float64Array(batch);
      let total = 0;
      for (let b = 0; b < batch; b++) {
        const base = b * sample;
        for (let i = 0; i < 3 * plane; i++) rgb[i] = Math.min(1, Math.max(0, final[base + i]!));
        let l = styleLossAndGrad(net, target, rgb, width, height, grad);
        for (let i = 0; i < 3 * plane; i++) {
          const v = final[base + i]!;
          if (v >= 0 && v <= 1) gradOut[base + i] = grad[i]! / batch;
        }
        for (let i = 0; i < plane; i++) {
          const d = final[base + 3 * plane + i]! - 1;
          l += (ALIVE_WEIGHT * d * d) / plane;
          gradOut[base + 3 * plane + i] = (2 * ALIVE_WEIGHT * d) / plane / batch;
        }
        perSample[b] = l;
        total += l / batch;
      }
      return { loss: total, perSample };
    },
    seed(pool, index) {
      pool.set(textureStart(rng, width, height), index * sample);
    },
  };
}
