import { describe, expect, it } from 'vitest';
import { trainGrow } from '../src/core/grow/train.js';
import { textureObjective } from '../src/core/texture/objective.js';
import { measureTexture } from '../src/core/texture/measure.js';
import { styleNetwork, styleStats } from '../src/core/texture/style.js';
import { Rng } from '../src/core/rng.js';

const S = 16;
/** A periodic two-colour stripe texture [3][S][S]. */
const image = new Float64Array(3 * S * S);
for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
  const on = Math.sin((2 * Math.PI * (x + y)) / 8) > 0 ? 1 : 0;
  image[y * S + x] = 0.9 * on;
  image[S * S + y * S + x] = 0.2 + 0.5 * (1 - on);
  image[2 * S * S + y * S + x] = 0.1;
}

describe('texture NCA training (tiny)', () => {
  it('the style loss falls from noise, and the measure runs on the result', async () => {
    const net = styleNetwork('t', 16, 2);
    const objective = textureObjective(net, styleStats(net, image, S, S), 12, 12, new Rng(3));
    const r = await trainGrow({ target: { width: 12, height: 12 }, objective, settings: { iterations: 10, batch: 2, poolSize: 6, minSteps: 6, maxSteps: 10, lr: 5e-3, damagePerBatch: 0 }, seed: 4, threads: 1 });
    const first = r.log.slice(0, 2).reduce((s, l) => s + l.loss, 0) / 2;
    const last = r.log.slice(-2).reduce((s, l) => s + l.loss, 0) / 2;
    expect(last).toBeLessThan(0.7 * first);
    const m = await measureTexture({ weights: r.weights, fireRate: 0.5, image, width: S, height: S, steps: 20, renders: 1, threads: 1 });
    expect(m.shifted).toBeLessThan(m.random);
    expect(Number.isFinite(m.trained) && m.ratioToRandom > 0).toBe(true);
  });
});
