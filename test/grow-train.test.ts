import { describe, expect, it } from 'vitest';
import { trainGrow } from '../src/core/grow/train.js';
import { imageToTarget, circleTarget, twemojiFileName } from '../src/core/grow/target.js';
import { boxMse, evaluateGrow, targetBox } from '../src/core/grow/evaluate.js';
import { checkSettings, normalisePerVariable, worstFirst, TUTORIAL_SETTINGS, type Objective } from '../src/core/grow/train.js';
import { lossAndGrad } from '../src/core/grow/loss.js';
import { writeSeed } from '../src/core/grow/seed-state.js';
import { renderGrowParams } from '../src/core/grow/render.js';
import { growParamsJson, isGrowParams, parseGrowParams } from '../src/core/grow/params.js';
import { applyCut, areaCut } from '../src/core/grow/damage.js';

/** A tiny training: a 12 x 12 circle, short rollouts, a small pool. */
const tiny = { iterations: 12, batch: 2, poolSize: 8, minSteps: 8, maxSteps: 12, lr: 5e-3, damagePerBatch: 1 };

describe('growing NCA training (tiny target)', () => {
  it('the loss falls, and the same seed gives the same weights', async () => {
    const target = circleTarget(12);
    const a = await trainGrow({ target, settings: tiny, seed: 5, threads: 1 });
    const first = a.log.slice(0, 3).reduce((s, l) => s + l.loss, 0) / 3;
    const last = a.log.slice(-3).reduce((s, l) => s + l.loss, 0) / 3;
    expect(last).toBeLessThan(0.8 * first);
    expect(a.log.every((l) => l.steps >= 8 && l.steps < 12)).toBe(true);
    const b = await trainGrow({ target, settings: { ...tiny, iterations: 3 }, seed: 5, threads: 1 });
    const c = await trainGrow({ target, settings: { ...tiny, iterations: 3 }, seed: 5, threads: 1 });
    expect(Buffer.from(b.weights.w2.buffer).equals(Buffer.from(c.weights.w2.buffer))).toBe(true);
    expect(Buffer.from(b.weights.w1.buffer).equals(Buffer.from(c.weights.w1.buffer))).toBe(true);
    expect(b.weights.w2.some((v) => v !== 0)).toBe(true);

    // the regrowth measure runs end to end on the trained rule (values are whatever the tiny rule does)
    const { evaluation } = await evaluateGrow({ weights: a.weights, target, fireRate: 0.5, seed: 1, threads: 1, cuts: 4 });
    expect(evaluation.regeneration.cuts).toBe(4);
    expect(evaluation.regeneration.byShape.square.cuts + evaluation.regeneration.byShape.disc.cuts).toBe(4);
    expect(Number.isFinite(evaluation.mseAt100) && Number.isFinite(evaluation.mseAt1000)).toBe(true);

    // the parameters file round-trips and plays, with a cut at a chosen step
    const json = JSON.parse(growParamsJson(a.weights, { kind: 'grow', width: 12, height: 12, fireRate: 0.5 }));
    expect(isGrowParams(json)).toBe(true);
    expect(parseGrowParams(json, 'x').weights.w1).toEqual(a.weights.w1);
    const alive: number[] = [];
    const info = await renderGrowParams(json, 'x', {
      steps: 6,
      seed: 2,
      threads: 1,
      damage: { step: 4, shape: 'square', x: 0.5, y: 0.5, size: 1 },
      onFrame: (img) => {
        let n = 0;
        for (let i = 0; i < img.data.length; i += 4) if (img.data[i]! < 255 || img.data[i + 1]! < 255 || img.data[i + 2]! < 255) n++;
        alive.push(n);
      },
    });
    expect(info.frames).toBe(7);
    expect(alive[0]).toBe(1); // one cell
    expect(alive[4]).toBe(0); // everything cut at step 4
  });

  it('--reseed: the K worst samples of each batch go back to the pool as seeds', async () => {
    expect(worstFirst(Float64Array.from([0.2, 0.5, 0.1, 0.5]))).toEqual([1, 3, 0, 2]);
    const target = circleTarget(12);
    for (const reseed of [0, 1, 3]) {
      const seeded: number[] = [];
      const objective: Objective = {
        loss: (final, batch, grad) => lossAndGrad(final, target.rgba, batch, grad, false),
        seed: (pool, i) => {
          seeded.push(i);
          writeSeed(pool, i, 12, 12);
        },
      };
      await trainGrow({ target, objective, settings: { ...tiny, iterations: 3, batch: 4, reseed }, seed: 5, threads: 1 });
      expect(seeded.length).toBe(tiny.poolSize + 3 * reseed); // the initial pool, then reseed per iteration
    }
    expect(() => checkSettings({ ...TUTORIAL_SETTINGS, batch: 4, reseed: 5 })).toThrow(/--reseed/);
    expect(() => checkSettings({ ...TUTORIAL_SETTINGS, minSteps: 64, lossFrom: 65 })).toThrow(/--loss-from/);
  });

  it('--loss-from: the loss over several steps changes the training, the logged loss stays the final state\'s', async () => {
    const target = circleTarget(12);
    const settings = { ...tiny, iterations: 2, damagePerBatch: 0, minSteps: 8, maxSteps: 9 }; // always 8 steps
    const same = (a: { weights: { w2: Float32Array } }, b: { weights: { w2: Float32Array } }) => Buffer.from(a.weights.w2.buffer).equals(Buffer.from(b.weights.w2.buffer));
    const last = await trainGrow({ target, settings, seed: 5, threads: 1 });
    const lastOnly = await trainGrow({ target, settings: { ...settings, lossFrom: 8 }, seed: 5, threads: 1 });
    const many = await trainGrow({ target, settings: { ...settings, lossFrom: 4 }, seed: 5, threads: 1 });
    expect(same(lastOnly, last)).toBe(true); // from the last step = the final state only
    expect(many.log[0]!.loss).toBe(last.log[0]!.loss); // same first rollout, same final-state loss
    expect(same(many, last)).toBe(false);
  });

  it('--warm-pool: 3 of 4 pool samples start grown by the --init rule', async () => {
    const target = circleTarget(12);
    const rule = (await trainGrow({ target, settings: { ...tiny, iterations: 6 }, seed: 5, threads: 1 })).weights;
    const live = (batch: Float32Array) => Array.from({ length: 4 }, (_, b) => batch.subarray((b * 16 + 3) * 144, (b * 16 + 4) * 144).filter((a) => a > 0.1).length);
    const firstBatch = async (warmPool: number) => {
      let seen: number[] = [];
      const objective: Objective = {
        // with --damage the batch's loss is taken before the rollout: the first call sees the pool samples as drawn
        loss: (state, batch, grad) => {
          if (seen.length === 0) seen = live(state);
          return lossAndGrad(state, target.rgba, batch, grad, false);
        },
        seed: (pool, i) => writeSeed(pool, i, 12, 12),
      };
      await trainGrow({ target, objective, initial: rule, settings: { ...tiny, iterations: 1, batch: 4, poolSize: 16, warmPool }, seed: 3, threads: 1 });
      return seen;
    };
    expect(await firstBatch(0)).toEqual([1, 1, 1, 1]);
    expect((await firstBatch(20)).some((n) => n > 1)).toBe(true);
    await expect(trainGrow({ target, settings: { ...tiny, warmPool: 20 }, threads: 1 })).rejects.toThrow(/--init/);
  });

  it('per-variable gradient normalisation scales each tensor to unit norm and returns the norm before', () => {
    const slots = [new Float32Array([3, 4]), new Float32Array([0, 0, 12, 5])].map((g) => ({ value: new Float32Array(g.length), grad: g, m: new Float32Array(g.length), v: new Float32Array(g.length) }));
    expect(normalisePerVariable(slots)).toBeCloseTo(Math.sqrt(25 + 169), 5);
    expect(Array.from(slots[0]!.grad)).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
    expect(Math.hypot(...slots[1]!.grad)).toBeCloseTo(1, 6);
  });

  it('cuts cover the asked share of the target; targets put the seed cell on the shape', () => {
    const target = circleTarget(32);
    const alpha = target.rgba.subarray(3 * 32 * 32);
    const area = alpha.reduce((n, a) => n + (a > 0.1 ? 1 : 0), 0);
    const rng = { uniform: () => 0.3, int: (n: number) => Math.floor(n / 2) } as never;
    for (const shape of ['disc', 'square'] as const) {
      const state = new Float32Array(16 * 32 * 32).fill(1);
      const cut = applyCut(state, 0, 32, 32, areaCut(rng, shape, alpha, 32, 0.3));
      expect(Math.abs(cut - 0.3 * area) / area).toBeLessThan(0.05);
    }
    // an image empty at its centre: the grid's centre lands on its nearest opaque pixel
    const img = { width: 9, height: 9, data: new Uint8Array(9 * 9 * 4) };
    img.data[(4 * 9 + 7) * 4 + 3] = 255;
    const t = imageToTarget(img, 2, 'ring');
    expect(t.rgba[3 * t.width * t.height + Math.floor(t.height / 2) * t.width + Math.floor(t.width / 2)]).toBe(1);
    // the measures' box is the image's rectangle on the grid (not the padding), and a perfect state scores 0 in it
    expect(t.box).toEqual({ x0: Math.floor(t.width / 2) - 7, y0: Math.floor(t.height / 2) - 4, width: 9, height: 9 });
    expect(targetBox(t)).toEqual({ x0: t.box!.x0, y0: t.box!.y0, x1: t.box!.x0 + 8, y1: t.box!.y0 + 8 });
    const perfect = new Float32Array(16 * t.width * t.height);
    perfect.set(t.rgba);
    expect(boxMse(perfect, 0, t)).toBe(0);
    perfect[3 * t.width * t.height + t.box!.y0 * t.width + t.box!.x0] = 1; // one wrong alpha in the box: 1 / (4 x 81)
    expect(boxMse(perfect, 0, t)).toBeCloseTo(1 / 324, 9);
    expect(twemojiFileName('🦎')).toBe('1f98e.svg');
    expect(twemojiFileName('❤️')).toBe('2764.svg');
  });
});
