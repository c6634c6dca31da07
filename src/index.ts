/**
 * nca as a library: the same engine the CLI uses.
 *
 *   import { render, loadLatent, loadModel } from 'nca';
 *   const model = await loadModel();                       // the shipped fixtures/model
 *   await render({ kind: 'latent', latent: await loadLatent('z.json'), model },
 *                { width: 128, height: 128, steps: 500, out: 'a.gif' });
 */
export { render, outputKind, LIMITS } from './core/render.js';
export { latentSchedule, PERTURB_SIGMA_MAX, WEIGHT_INTERVAL } from './core/latent-schedule.js';
export type { RenderOptions, RenderSource, RenderSummary, InitSpec, LatentModel } from './core/render.js';
export { loadLatent, parseLatent, latentToJson, latentVector, randomLatent, lerp, slerp, meanLatent, perturbLatent, trackAt, LATENT_DIM, LATENT_BOUND } from './core/latent.js';
export type { Latent, TrackPoint } from './core/latent.js';
export { loadParams, parseParams, paramsToJson, randomParams, ncaParams, PARAM_COUNT, PARAM_LAYOUT, CHANNELS } from './core/nca/params.js';
export type { NcaParams, Protocol } from './core/nca/params.js';
export { createEngine } from './core/nca/engine.js';
export type { NcaEngine, EngineOptions, OnStep } from './core/nca/engine.js';
export { FRAME_PROTOCOL, FREE_PROTOCOL, buildNcaGraph } from './core/nca/graph.js';
export type { StepProtocol } from './core/nca/graph.js';
export { referenceStep } from './core/nca/reference.js';
export { MotionTracker, neighbourCorrelation, spatialStd } from './core/metrics.js';
export type { AliveClass, RunStats } from './core/metrics.js';
export { Rng } from './core/rng.js';
export { UserError, FLOAT32_MAX } from './core/errors.js';
export { OUTPUT_LIMITS } from './core/limits.js';

/** Loads the neuromusical model (TensorFlow.js is imported only when this is called). */
export async function loadModel(dir?: string) {
  const networks = await import('./core/model/networks.js');
  return networks.loadModel(dir);
}
