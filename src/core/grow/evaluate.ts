/**
 * The growing NCA's figures (docs/grow.md#measured):
 * - growth: from one cell, the per-pixel RGBA MSE (clamp(state[0..3]) against the premultiplied target)
 *   over the target's box (the image's rectangle, e.g. the emoji's 40 x 40; the honest figure) and over
 *   the whole grid (padding included, which dilutes it), at steps 100 and 1000;
 * - regeneration: from the state grown for 1000 steps, `cuts` cuts (half squares as the tutorial's,
 *   half discs) each of 30% of the target's area centred on a random target cell; the step at which
 *   the box MSE is back to <= 0.02 (within 100 steps, else a failure), and the share that made it;
 *   the same with the grid MSE beside it.
 * Every draw (update masks, cut positions) from a seeded Rng: the same seed gives the same figures.
 */
import { Rng } from '../rng.js';
import { applyCut, areaCut } from './damage.js';
import { perSampleLoss } from './loss.js';
import { GROW_CHANNELS, type GrowWeights } from './params.js';
import { GrowPlayer } from './player.js';
import { seedStates } from './seed-state.js';
import type { GrowTarget } from './target.js';

export interface RegenerationCount {
  /** Share of cuts back to MSE <= threshold within `withinSteps` steps. */
  recovered: number;
  /** Median step at which a recovered cut got there. */
  medianSteps: number | null;
  byShape: Record<'square' | 'disc', { cuts: number; recovered: number }>;
}

export interface GrowEvaluation {
  /** Over the whole grid. */
  mseAt100: number;
  mseAt1000: number;
  /** Over the target's box (`box`). */
  boxMseAt100: number;
  boxMseAt1000: number;
  box: { x0: number; y0: number; width: number; height: number };
  grid: { width: number; height: number };
  /** Measured with the box MSE; `grid` the same with the grid MSE. */
  regeneration: {
    over: 'box';
    cuts: number;
    fraction: number;
    threshold: number;
    withinSteps: number;
    /** Share of cuts back to MSE <= threshold within `withinSteps` steps. */
    recovered: number;
    /** Median step at which a recovered cut got there. */
    medianSteps: number | null;
    byShape: Record<'square' | 'disc', { cuts: number; recovered: number }>;
    grid: RegenerationCount;
  };
}

export const REGEN = { fraction: 0.3, threshold: 0.02, withinSteps: 100 } as const;

/** The target's box, inclusive corners: the image's rectangle when known, else the bounding box of alpha > 0. */
export function targetBox(target: GrowTarget): { x0: number; y0: number; x1: number; y1: number } {
  if (target.box) return { x0: target.box.x0, y0: target.box.y0, x1: target.box.x0 + target.box.width - 1, y1: target.box.y0 + target.box.height - 1 };
  const { width: W, height: H, rgba } = target;
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      if (rgba[3 * W * H + y * W + x]! > 0) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  return { x0, y0, x1, y1 };
}

/** MSE of sample b's visible channels against the target inside its box (targetBox). */
export function boxMse(state: Float32Array, b: number, target: GrowTarget, box = targetBox(target)): number {
  const { width: W, height: H, rgba } = target;
  const { x0, y0, x1, y1 } = box;
  const plane = W * H, base = b * GROW_CHANNELS * plane;
  let s = 0, n = 0;
  for (let c = 0; c < 4; c++)
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        const i = y * W + x;
        const v = Math.min(1, Math.max(0, state[base + c * plane + i]!));
        s += (v - rgba[c * plane + i]!) ** 2;
        n++;
      }
  return n ? s / n : NaN;
}

export async function evaluateGrow(opts: { weights: GrowWeights; target: GrowTarget; fireRate: number; seed?: number | string; threads?: number; cuts?: number; onProgress?: (label: string) => void }): Promise<{ evaluation: GrowEvaluation; grown: Float32Array }> {
  const { target, weights } = opts;
  const { width: W, height: H } = target;
  const rng = new Rng(opts.seed ?? 0);
  const sample = GROW_CHANNELS * W * H;
  const one = await GrowPlayer.create(weights, { batch: 1, height: H, width: W }, { fireRate: opts.fireRate, rng: rng.fork(), threads: opts.threads });
  let state: Float32Array = seedStates(1, W, H);
  let mseAt100 = NaN, boxMseAt100 = NaN;
  try {
    for (let t = 1; t <= 1000; t++) {
      state = await one.step(state);
      if (t === 100) {
        mseAt100 = perSampleLoss(state, target.rgba, 1)[0]!;
        boxMseAt100 = boxMse(state, 0, target);
      }
    }
  } finally {
    await one.dispose();
  }
  const grown = state;
  const mseAt1000 = perSampleLoss(grown, target.rgba, 1)[0]!;
  const boxMseAt1000 = boxMse(grown, 0, target);

  const cuts = opts.cuts ?? 50;
  const cutRng = rng.fork();
  const alpha = target.rgba.subarray(3 * W * H);
  const shapes = Array.from({ length: cuts }, (_, i) => (i % 2 === 0 ? 'square' : 'disc') as 'square' | 'disc');
  let batchState: Float32Array = new Float32Array(cuts * sample);
  shapes.forEach((shape, b) => {
    batchState.set(grown, b * sample);
    applyCut(batchState, b, W, H, areaCut(cutRng, shape, alpha, W, REGEN.fraction));
  });
  const box = targetBox(target);
  const recoveredAt: Array<number | null> = shapes.map(() => null);
  const recoveredGridAt: Array<number | null> = shapes.map(() => null);
  const many = await GrowPlayer.create(weights, { batch: cuts, height: H, width: W }, { fireRate: opts.fireRate, rng: rng.fork(), threads: opts.threads });
  try {
    for (let t = 1; t <= REGEN.withinSteps; t++) {
      batchState = await many.step(batchState);
      const mse = perSampleLoss(batchState, target.rgba, cuts);
      mse.forEach((m, b) => {
        if (recoveredGridAt[b] === null && m <= REGEN.threshold) recoveredGridAt[b] = t;
        if (recoveredAt[b] === null && boxMse(batchState, b, target, box) <= REGEN.threshold) recoveredAt[b] = t;
      });
    }
  } finally {
    await many.dispose();
  }
  const count = (at: Array<number | null>): RegenerationCount => {
    const got = at.filter((t): t is number => t !== null).sort((a, b) => a - b);
    const byShape = { square: { cuts: 0, recovered: 0 }, disc: { cuts: 0, recovered: 0 } };
    shapes.forEach((s, b) => {
      byShape[s].cuts++;
      if (at[b] !== null) byShape[s].recovered++;
    });
    return { recovered: got.length / cuts, medianSteps: got.length ? got[Math.floor((got.length - 1) / 2)]! : null, byShape };
  };
  return {
    grown,
    evaluation: {
      mseAt100,
      mseAt1000,
      boxMseAt100,
      boxMseAt1000,
      box: { x0: box.x0, y0: box.y0, width: box.x1 - box.x0 + 1, height: box.y1 - box.y0 + 1 },
      grid: { width: W, height: H },
      regeneration: { over: 'box', cuts, fraction: REGEN.fraction, threshold: REGEN.threshold, withinSteps: REGEN.withinSteps, ...count(recoveredAt), grid: count(recoveredGridAt) },
    },
  };
}
