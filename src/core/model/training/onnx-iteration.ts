/**
 * One training iteration on the `onnx` backend: iteration.ts' iteration with the loss and gradients of
 * onnx-loss.ts (no tfjs), the pure optimizer (optimizer.ts) on the master copies and the BatchNorm running
 * statistics as plain arrays. The draws are iteration.ts' own, from the same Rng substreams in the same
 * order, so the numbers are comparable with the tfjs backends'.
 *
 * tfjs is still used for two things outside the loss: the first-frame decoder's forward for the pool's fresh
 * random latents (their colour targets; the pool's draw calls it synchronously, and onnxruntime-node runs only
 * asynchronously on the main thread) and the model state's tensors, which are brought up to date only when a
 * checkpoint or the model is written (syncState).
 */
import { weightSpecs } from '../networks.js';
import type { TfBackend } from '../tf.js';
import type { NamedArrays } from '../weights.js';
import { isStatistic } from './batch-norm-stats.js';
import { drawIteration, iterationEntry, poolDecoder, type RunContext } from './iteration.js';
import type { LogEntry } from './log.js';
import type { ModelState } from './model-state.js';
import { onnxLossAndGradients, openOnnxNetworks, type OnnxNetworks } from './onnx-loss.js';
import { heldRows } from './hold.js';
import { adamStep } from './optimizer.js';
import { encoderTrains, trainsWeight } from './settings.js';
import { persistenceWeight } from './schedules.js';

const f32 = Math.fround;

/** The tfjs backend of the onnx backend's side work (the fresh pool latents' decoder forward): the faster one. */
export const ONNX_TFJS_BACKEND: TfBackend = 'wasm';

/** The onnx backend's side of a run: the networks' sessions, the weights as onnxruntime feeds and the running statistics. */
export interface OnnxTrainer {
  nets: OnnxNetworks;
  /** Every trained tensor by name: views of the state's master copies (Adam updates them in place). */
  weights: NamedArrays;
  /** The BatchNorm running statistics by name (the state's tensors are updated from them by syncState). */
  stats: Map<string, Float32Array>;
  dispose(): Promise<void>;
}

/** The onnx side of a run on `state` (whose master copies it reads and the optimizer updates). */
export async function createOnnxTrainer(run: Pick<RunContext, 'state' | 'graph'>): Promise<OnnxTrainer> {
  const nets = await openOnnxNetworks(run.graph.config);
  const weights: NamedArrays = new Map(), stats = new Map<string, Float32Array>();
  for (const { name, shape } of weightSpecs()) {
    if (isStatistic(name)) stats.set(name, Float32Array.from(run.state.stats[name]!.dataSync()));
    else weights.set(name, { shape, data: run.state.values[name]! });
  }
  return { nets, weights, stats, dispose: () => nets.dispose() };
}

/** Brings the state's tfjs variables and statistics up to the trainer's values (before a checkpoint or the model is written). */
export function syncState(state: ModelState, trainer: OnnxTrainer, names?: readonly string[]): void {
  const { tf } = state;
  for (const name of names ?? Object.keys(state.vars)) {
    const variable = state.vars[name]!;
    tf.tidy(() => variable.assign(tf.tensor(state.values[name]!.slice(), variable.shape)));
  }
  if (names) return;
  for (const [name, data] of trainer.stats) {
    const old = state.stats[name]!;
    state.stats[name] = tf.tensor(data.slice(), old.shape);
    old.dispose();
  }
}

/**
 * batch-norm-stats.ts' update on plain arrays, rounded as its tfjs ops round: moves the running statistics
 * towards the batch's mean and (unbiased) variance of each encoder BatchNorm.
 */
export function updateRunningStatisticsArrays(stats: Map<string, Float32Array>, batchStats: ReadonlyArray<{ mean: Float32Array; variance: Float32Array }>, firstLayerCount: number, momentum: number): void {
  batchStats.forEach((s, i) => {
    const l = i + 1;
    const n = firstLayerCount / 4 ** i;
    const keep = f32(1 - momentum), meanScale = f32(momentum), varScale = f32((momentum * n) / Math.max(1, n - 1));
    const mean = stats.get(`encoder.bn${l}.running_mean`)!, variance = stats.get(`encoder.bn${l}.running_var`)!;
    for (let c = 0; c < mean.length; c++) {
      mean[c] = f32(mean[c]! * keep) + f32(s.mean[c]! * meanScale);
      variance[c] = f32(variance[c]! * keep) + f32(s.variance[c]! * varScale);
    }
  });
}

const DECODER_VARIABLES = weightSpecs().map((s) => s.name).filter((n) => n.startsWith('decoder.'));

/** Runs iteration `iteration` (0-based) on onnxruntime and returns its log entry (as runIteration does). */
export async function runOnnxIteration(run: RunContext, trainer: OnnxTrainer, iteration: number): Promise<LogEntry> {
  const { settings, state, graph, clock, eps, noise, masks } = run;
  const { config, pool } = graph;
  const { batch: B, steps: T } = settings;
  const { width: W, height: H } = run.data.manifest;
  const itStart = performance.now();
  clock.forward = clock.backward = 0;

  // the draws of iteration.ts, in its order; the fresh pool latents' pictures from the decoder on tfjs (see the module comment)
  const spent = { network: 0 };
  const draws = drawIteration(run, iteration, poolDecoder(run, spent, () => syncState(state, trainer, DECODER_VARIABLES)));
  const { batch, poolBatch } = draws;

  // loss and gradients without tfjs (the NCA op's seconds are the rollouts' own)
  const gradsStart = performance.now();
  const lossGraph = { config, nets: trainer.nets, rollout: graph.rollout, pool, beta: graph.beta, decoderWeight: graph.decoderWeight, anchorWeight: graph.anchorWeight };
  const loss = await onnxLossAndGradients(lossGraph, trainer.weights, { batch, eps, noise, masks, poolBatch, anchors: draws.anchors, twins: draws.twinPairs ? { pairs: draws.twinPairs, weight: settings.twinWeight } : null, hold: run.holdReference && settings.holdWeight > 0 ? { weight: settings.holdWeight, reference: run.holdReference, held: heldRows(batch.indices, 2 * draws.twinPairs, run.twinClips) } : null, heldSongs: run.holdReference && draws.heldSongContexts ? { contexts: draws.heldSongContexts, count: B, weight: settings.holdSongsWeight, reference: run.holdReference } : null, persistWeight: persistenceWeight(settings, iteration) });
  spent.network += (performance.now() - gradsStart) / 1000 - clock.forward - clock.backward;

  // clip to the global norm (float64), Adam step on the master copies, BatchNorm running statistics
  const optimizerStart = performance.now();
  const step = iteration + 1;
  // a fixed encoder (encoderFrom) takes no step, and its norm no part in the clipping; its statistics stay too
  const slots = Object.keys(state.vars).filter((n) => trainsWeight(settings, n)).map((n) => ({ value: state.values[n]!, grad: loss.grads.get(n)!, m: state.m[n]!, v: state.v[n]! }));
  const { gradNorm } = adamStep(slots, { lr: draws.lr, step, clipNorm: settings.clipNorm });
  if (encoderTrains(settings)) updateRunningStatisticsArrays(trainer.stats, loss.stats, B * (H / 2) * (W / 2), settings.bnMomentum);
  const optimizerSeconds = (performance.now() - optimizerStart) / 1000;

  const entry = iterationEntry(step, { ...loss, loss: loss.value }, draws, gradNorm, { ncaForward: clock.forward, ncaBackward: clock.backward, networks: spent.network, optimizer: optimizerSeconds });
  if (loss.poolPred && poolBatch) pool.update(poolBatch.picks, loss.poolPred);
  pool.rememberEncoded(Float32Array.from(loss.mu), batch.targets, B, T);
  if (!Number.isFinite(entry.loss)) throw new Error(`training diverged at iteration ${step} (loss ${entry.loss}); try a smaller learning rate`);
  entry.seconds = (performance.now() - itStart) / 1000;
  return entry;
}
