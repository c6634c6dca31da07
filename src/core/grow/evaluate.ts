/**
 * The growing NCA's figures (docs/grow.md#measured):
 * - growth: from one cell, the per-pixel RGBA MSE (clamp(state[0..3]) against the premultiplied target,
 *   over the whole grid, and over the target's bounding box) at steps 100 and 1000;
 * - regeneration: from the state grown for 1000 steps, `cuts` cuts (half squares as the tutorial's,
 *   half discs) each of 30% of the target's area centred on a random target cell; the step at which
 *   the MSE is back to <= 0.02 (within 100 steps, else a failure), and the share that made it.
 * Every draw (update masks, cut positions) from a seeded Rng: the same seed gives the same figures.
 */
import { Rng } from '../rng.js';
import { applyCut, areaCut } from './damage.js';
import { perSampleLoss } from './loss.js';
import { GROW_CHANNELS, type GrowWeights } from './params.js';
import { GrowPlayer } from './player.js';
import { seedStates } from './seed-state.js';
import type { GrowTarget } from './target.js';

export interface GrowEvaluation {
  mseAt100: number;
  mseAt1000: number;
  /** The same over the bounding box of the target's cells with alpha > 0. */
  boxMseAt100: number;
  boxMseAt1000: number;
  regeneration: {
    cuts: number;
    fraction: number;
    threshold: number;
    withinSteps: number;
    /** Share of cuts back to MSE <= threshold within `withinSteps` steps. */
    recovered: number;
    /** Median step at which a recovered cut got there. */
    medianSteps: number | null;
    byShape: Record<'square' | 'disc', { cuts: number; recovered: number }>;
  };
}

export const REGEN = { fraction: 0.3, threshold: 0.02, withinSteps: 100 } as const;

function boundingBox(target: GrowTarget): { x0: number; y0: number; x1: number; y1: number } {
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

/** MSE of sample b's visible channels against the target inside its bounding box. */
export function boxMse(state: Float32Array, b: number, target: GrowTarget): number {
  const { width: W, height: H, rgba } = target;
  const { x0, y0, x1, y1 } = boundingBox(target);
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
  const recoveredAt: Array<number | null> = shapes.map(() => null);
  const many = await GrowPlayer.create(weights, { batch: cuts, height: H, width: W }, { fireRate: opts.fireRate, rng: rng.fork(), threads: opts.threads });
  try {
    for (let t = 1; t <= REGEN.withinSteps; t++) {
      batchState = await many.step(batchState);
      const mse = perSampleLoss(batchState, target.rgba, cuts);
      mse.forEach((m, b) => {
        if (recoveredAt[b] === null && m <= REGEN.threshold) recoveredAt[b] = t;
      });
    }
  } finally {
    await many.dispose();
  }
  const got = recoveredAt.filter((t): t is number => t !== null).sort((a, b) => a - b);
  const byShape = { square: { cuts: 0, recovered: 0 }, disc: { cuts: 0, recovered: 0 } };
  shapes.forEach((s, b) => {
    byShape[s].cuts++;
    if (recoveredAt[b] !== null) byShape[s].recovered++;
  });
  return {
    grown,
    evaluation: {
      mseAt100,
      mseAt1000,
      boxMseAt100,
      boxMseAt1000,
      regeneration: { cuts, fraction: REGEN.fraction, threshold: REGEN.threshold, withinSteps: REGEN.withinSteps, recovered: got.length / cuts, medianSteps: got.length ? got[Math.floor((got.length - 1) / 2)]! : null, byShape },
    },
  };
}
