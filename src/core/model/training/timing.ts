/**
 * Where the seconds of a training iteration go: the NCA rollout's forward and backward (onnxruntime,
 * timed as the op calls them), the networks (tfjs forward + backward with the losses), the optimizer
 * (clipping, Adam, BatchNorm statistics) and the rest.
 */
import type { NcaRollout } from '../nca-op.js';

/** Seconds of a training iteration by part; rest = total - NCA forward - NCA backward (all the tfjs and JS work). */
export interface IterationSplit {
  total: number;
  ncaForward: number;
  ncaBackward: number;
  networks: number;
  optimizer: number;
  rest: number;
}

/** One iteration's seconds as measured (rest is derived). */
export type IterationTimes = Omit<IterationSplit, 'rest'>;

/** Seconds spent in rollouts' forward and backward since the last reset. */
export interface RolloutClock {
  forward: number;
  backward: number;
}

/** Makes `rollout`'s forward and backward add their seconds to `clock` (the same object, for the caller's convenience). */
export function timeRollout(rollout: NcaRollout, clock: RolloutClock): NcaRollout {
  const timed = <A extends unknown[], R>(fn: (...a: A) => R, key: keyof RolloutClock) => (...a: A): R => {
    const s = performance.now();
    try {
      return fn(...a);
    } finally {
      clock[key] += (performance.now() - s) / 1000;
    }
  };
  rollout.forward = timed(rollout.forward.bind(rollout), 'forward');
  rollout.backward = timed(rollout.backward.bind(rollout), 'backward');
  return rollout;
}

/** The upper median (the middle value, or the higher of the two middle ones); 0 for none. */
function upperMedian(xs: number[]): number {
  return xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : 0;
}

/** The medians of each part over a process's iterations, the first skipped as warm-up when there are more. */
export function medianSplit(perIteration: readonly IterationTimes[]): IterationSplit {
  const timed = perIteration.length > 1 ? perIteration.slice(1) : perIteration;
  return {
    total: upperMedian(timed.map((x) => x.total)),
    ncaForward: upperMedian(timed.map((x) => x.ncaForward)),
    ncaBackward: upperMedian(timed.map((x) => x.ncaBackward)),
    networks: upperMedian(timed.map((x) => x.networks)),
    optimizer: upperMedian(timed.map((x) => x.optimizer)),
    rest: upperMedian(timed.map((x) => x.total - x.ncaForward - x.ncaBackward)),
  };
}
