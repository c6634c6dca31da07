import { describe, expect, it } from 'vitest';
import { PersistencePool } from '../src/core/model/training/pool.js';
import { resolveSettings } from '../src/core/model/training/settings.js';
import { Rng } from '../src/core/rng.js';

const W = 8, H = 8, D = 64, CHANNELS = 16, B = 2, T = 4;

/**
 * The look terms asked of a pool batch's entries: per pick, whether its latent is one of the encoded clips'
 * (the pool's latents are compared with the remembered mu) and its scale target, travel and floor.
 */
async function drawLooks(looksForClips: boolean) {
  const settings = resolveSettings({ iters: 1, poolSize: 8, poolBatch: 8, poolSteps: 4, poolReset: 8, persistWeight: 1, scaleWeight: 1, travelWeight: 1, travelLag: 2, floorStdPower: 1, scaleFine: 4, looksForClips }, 24);
  const pool = await PersistencePool.create(settings, { width: W, height: H, latentDim: D, channels: CHANNELS }, null, { threads: 1, clock: { forward: 0, backward: 0 } });
  try {
    const rng = new Rng('pool-looks');
    // two clips' latents, both asked to travel (dim 19 > 0) and low (pitch height -2: the coarse end)
    const mu = new Float32Array(B * D);
    for (let b = 0; b < B; b++) {
      mu[b * D + 2] = -2;
      mu[b * D + 19] = 1;
      mu[b * D + 20] = b === 0 ? 1 : -1;
    }
    pool.rememberEncoded(mu, rng.fillUniform(new Float32Array(T * B * 3 * H * W)), B, T);
    const drawn = pool.draw(rng, rng.fillUniform(new Float32Array(B * 3 * H * W)), (_, n) => new Float32Array(n * CHANNELS * H * W).fill(0.5))!;
    const looks = drawn.style.looks!;
    return drawn.picks.map((_, k) => {
      const z = drawn.z.subarray(k * D, (k + 1) * D);
      const fromClip = [0, 1].some((b) => z.every((v, j) => v === mu[b * D + j]));
      return { fromClip, scale: looks.scale[k]!, travel: [looks.travel[2 * k]!, looks.travel[2 * k + 1]!], floor: looks.floor![k]! };
    });
  } finally {
    await pool.dispose();
  }
}

describe('the look terms for clips\' latents (looksForClips)', () => {
  it('asks them of every pool entry by default, and of random latents only when off (clips\' latents: no scale, no travel, the plain floor)', async () => {
    const all = await drawLooks(true), randomOnly = await drawLooks(false);
    // the same draws either way: both kinds of entry are among the 8 picks
    expect(all.map((r) => r.fromClip)).toEqual(randomOnly.map((r) => r.fromClip));
    expect(all.some((r) => r.fromClip) && all.some((r) => !r.fromClip)).toBe(true);
    for (const [k, r] of all.entries()) {
      expect(Number.isFinite(r.scale)).toBe(true);
      if (r.fromClip) {
        expect(r.travel).not.toEqual([0, 0]);
        expect(r.floor).toBeGreaterThan(0.08); // the coarse end's raised floor
        expect(randomOnly[k]!.scale).toBeNaN();
        expect(randomOnly[k]!.travel).toEqual([0, 0]);
        expect(randomOnly[k]!.floor).toBeCloseTo(0.08, 6); // the plain floor (DEFAULT_FLOORS.std)
      } else {
        expect(randomOnly[k]!).toEqual(r);
      }
    }
  });

  it('is refused when not a boolean', () => {
    expect(() => resolveSettings({ iters: 1, looksForClips: 'no' as unknown as boolean }, 24)).toThrow(/looksForClips must be true or false/);
  });
});
