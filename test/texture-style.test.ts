import { describe, expect, it } from 'vitest';
import { styleDistance, styleLossAndGrad, styleNetwork, styleStats } from '../src/core/texture/style.js';
import { Rng } from '../src/core/rng.js';

const W = 32, H = 32;

/** A stripy image, periodic on the grid (a circular shift has the same content), with a little noise. */
function stripes(seed: number): Float64Array {
  const rng = new Rng(seed);
  const img = new Float64Array(3 * W * H);
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) img[c * W * H + y * W + x] = 0.5 + 0.4 * Math.sin((2 * Math.PI * x * (1 + c)) / W + (2 * Math.PI * y) / H) + 0.05 * rng.uniform();
  return img;
}

describe('texture style loss (random multi-scale features, Gram + mean)', () => {
  it('gradient equals central finite differences', () => {
    const net = styleNetwork('t', 8, 2);
    const target = styleStats(net, stripes(1), W, H);
    const img = new Rng(2).fillUniform(new Float32Array(3 * W * H), 0.1, 0.9);
    const x = Float64Array.from(img);
    const grad = new Float64Array(x.length);
    const loss = styleLossAndGrad(net, target, x, W, H, grad);
    expect(loss).toBeCloseTo(styleDistance(styleStats(net, x, W, H), target), 10);
    const scale = Math.max(...grad.map(Math.abs));
    expect(scale).toBeGreaterThan(0);
    const eps = 1e-6;
    let worst = 0;
    for (let i = 0; i < x.length; i += 97) {
      const v = x[i]!;
      x[i] = v + eps;
      const up = styleDistance(styleStats(net, x, W, H), target);
      x[i] = v - eps;
      const down = styleDistance(styleStats(net, x, W, H), target);
      x[i] = v;
      worst = Math.max(worst, Math.abs((up - down) / (2 * eps) - grad[i]!) / scale);
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('a shifted copy of a texture is far closer than noise', () => {
    const net = styleNetwork('t', 16, 2);
    const target = styleStats(net, stripes(1), W, H);
    const image = stripes(1), rolled = new Float64Array(image.length);
    for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rolled[c * W * H + ((y + 2) % H) * W + ((x + 6) % W)] = image[c * W * H + y * W + x]!;
    const shifted = styleDistance(styleStats(net, rolled, W, H), target);
    const noise = styleDistance(styleStats(net, Float64Array.from(new Rng(4).fillUniform(new Float32Array(3 * W * H))), W, H), target);
    expect(noise).toBeGreaterThan(10 * shifted);
  });
});
