/**
 * Renders for the variety measure, kept in memory: each run plays one NCA on one grid and streams its
 * visible frames (Float32Array [3][H][W]) to a callback, without writing a file.
 *
 * A run with seed s is the render `nca render` makes with `--seed s` and the same size, init, protocol
 * and perturbation (steps = frames x stepsPerFrame, --every stepsPerFrame): the seed's generator is
 * forked in render's order (the latent schedule's walk for a latent, then the start, then the hidden
 * noise), with render's latent schedule (src/core/latent-schedule.ts) and start states (src/core/start-state.ts:
 * uniform noise or the decoder's grid tiled over the torus; docs/design.md#protocols-how-a-latent-is-played).
 * So a run worth keeping is rendered at length with `nca render --random --seed s --init noise`.
 */
import { invalidParameterError } from '../errors.js';
import { WEIGHT_INTERVAL, latentSchedule } from '../latent-schedule.js';
import { protocolSteps } from '../nca/graph.js';
import type { NcaParams, Protocol } from '../nca/params.js';
import type { LatentModel } from '../render.js';
import { Rng } from '../rng.js';
import { checkInit, startRgb, startState } from '../start-state.js';

/** What one run plays: a latent through the model, or an NCA parameter vector; `seed` as nca render's --seed. */
export type VarietySource =
  | { kind: 'latent'; z: Float32Array; seed: number | string }
  | { kind: 'params'; params: NcaParams; seed: number | string };

export interface RunSettings {
  width: number;
  height: number;
  /** Frames shown after the start (each stepsPerFrame NCA steps). */
  frames: number;
  stepsPerFrame: number;
  /** Latent perturbation level 0..9 (render's --perturb). */
  perturb: number;
  init: 'noise' | 'decoder';
  protocol: Protocol;
  threads?: number;
  signal?: AbortSignal;
}

/**
 * Play `source` and call `onFrame(frame)` with the start frame and then every shown frame
 * (frames + 1 calls; the array is valid during the call only).
 */
export async function playRun(source: VarietySource, model: LatentModel | null, s: RunSettings, onFrame: (frame: Float32Array) => void): Promise<void> {
  const { width: W, height: H } = s;
  const steps = s.frames * s.stepsPerFrame;
  const rng = new Rng(source.seed);
  // Weights: fixed for parameters; for a latent, render's schedule (one vector per WEIGHT_INTERVAL steps when perturbed).
  if (source.kind === 'latent' && model === null) throw invalidParameterError('model', 'a model (the source is a latent)', model);
  const schedule = source.kind === 'latent' ? latentSchedule({ z: source.z }, model!, { steps, perturb: s.perturb, secondsPerStep: 0 }, rng.fork()) : null;
  const init = checkInit({ kind: s.init }, source.kind === 'latent' && model !== null);
  const decoder = source.kind === 'latent' ? { model: model!, z: source.z } : undefined;
  const state = await startState(init, { width: W, height: H, protocol: s.protocol, rng: rng.fork(), decoder });
  onFrame(startRgb(state, W * H, s.protocol));

  const { createEngine } = await import('../nca/engine.js');
  const firstParams = source.kind === 'params' ? source.params : await schedule!.paramsAt(0);
  const engine = await createEngine(firstParams, { width: W, height: H, protocol: protocolSteps(s.protocol), threads: s.threads, dynamicWeights: schedule?.changing ?? false, rng: rng.fork() });
  const onStep = (k: number, visible: Float32Array) => {
    if (k % s.stepsPerFrame === 0) onFrame(visible);
  };
  try {
    let x: Float32Array = state;
    // In chunks of WEIGHT_INTERVAL steps with new weights between them, as render (the same noise draws as one run).
    for (let done = 0; done < steps; done += WEIGHT_INTERVAL) {
      const n = Math.min(WEIGHT_INTERVAL, steps - done);
      if (schedule?.changing && done > 0) await engine.setParams(await schedule.paramsAt(done));
      x = await engine.run(x, n, (k, v) => onStep(done + k, v), s.signal);
    }
  } finally {
    await engine.dispose();
  }
}
