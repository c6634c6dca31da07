import { expect } from 'vitest';
import { Rng } from '../src/core/rng.js';

/**
 * Checks an analytic gradient `grad` of `loss` at x against central differences (step 1e-3) at `count` entries
 * drawn from Rng(seed): |numeric - grad| < 2e-3 max(1, |grad|) + 1e-4.
 */
export function expectGradientMatches(loss: (x: Float32Array) => number, x: Float32Array, grad: Float32Array, count: number, seed: string): void {
  const rng = new Rng(seed);
  for (let k = 0; k < count; k++) {
    const i = rng.int(x.length);
    const h = 1e-3;
    const xp = Float32Array.from(x), xm = Float32Array.from(x);
    xp[i]! += h;
    xm[i]! -= h;
    const numeric = (loss(xp) - loss(xm)) / (xp[i]! - xm[i]!);
    expect(Math.abs(numeric - grad[i]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(grad[i]!)) + 1e-4);
  }
}
