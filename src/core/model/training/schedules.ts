/**
 * The ramps of the loss over a run (iterations are 0-based): the scheduled-sampling probability and
 * the weight of the persistence loss. (The learning rate's cosine is the optimizer's: optimizer.ts.)
 */
import type { TrainSettings } from './settings.js';

/** Scheduled-sampling probability at an iteration: linear from 0 to samplingMax over samplingRamp x iters, then samplingMax. */
export function samplingProbability(s: Pick<TrainSettings, 'iters' | 'samplingMax' | 'samplingRamp'>, iteration: number): number {
  const rampIters = s.samplingRamp * s.iters;
  if (rampIters <= 0) return s.samplingMax;
  return s.samplingMax * Math.min(1, iteration / rampIters);
}

/** Weight of the persistence loss at an iteration: 0 when off, else linear up to persistWeight over persistRamp x iters (reached at the end of the ramp). */
export function persistenceWeight(s: Pick<TrainSettings, 'iters' | 'persistWeight' | 'persistRamp'>, iteration: number): number {
  if (!(s.persistWeight > 0)) return 0;
  const rampIters = s.persistRamp * s.iters;
  return s.persistWeight * (rampIters <= 0 ? 1 : Math.min(1, (iteration + 1) / rampIters));
}
