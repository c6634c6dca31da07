/**
 * One training iteration, i (0-based), in order: its draws from `new Rng("<seed>/iteration/<i>")`
 * (batch, eps, hidden noise, scheduled-sampling masks, then the pool's entries and noise, then the held songs'
 * windows), the loss
 * and its gradients (loss.ts), the optimizer step (optimizer.ts), the BatchNorm running statistics
 * (batch-norm-stats.ts) and the pool's update; it returns the iteration's log entry.
 */
import type { Scalar } from '@tensorflow/tfjs';
import { Rng } from '../../rng.js';
import { makeBatch, sampleIndices, type SequenceBatch, type SequenceSource } from '../dataset-batches.js';
import { anchorTargets } from '../anchors.js';
import { rolloutNoise } from '../nca-op.js';
import { decoderForward } from '../networks.js';
import type { PersistenceParts } from '../persistence.js';
import type { NamedArrays } from '../weights.js';
import { updateRunningStatistics } from './batch-norm-stats.js';
import type { LogEntry } from './log.js';
import { disposeLoss, lossAndGradients, type LossGraph } from './loss.js';
import { applyGradients, weightsRecord, type ModelState } from './model-state.js';
import { learningRate } from './optimizer.js';
import type { PoolBatch } from './pool.js';
import { persistenceWeight, samplingProbability } from './schedules.js';
import { encoderTrains, trainsWeight, type TrainSettings } from './settings.js';
import { drawHeldWindows, type HeldSongWindows } from './held-songs.js';
import { drawTwins, twinPairs } from './twins.js';
import type { RolloutClock } from './timing.js';

/** What every iteration of a run uses. */
export interface RunContext {
  settings: TrainSettings;
  data: SequenceSource;
  /** The training clips' indices. */
  clips: readonly number[];
  /** The training clips grouped by the note they play, groups of two or more (twins.ts); null when the twin term is off. */
  twins: number[][] | null;
  /** Every clip of those groups (the hold term leaves them free: hold.ts); empty when the twin term is off. */
  twinClips: ReadonlySet<number>;
  /** The initFrom model's weights, the reference encoder of the hold term (hold.ts) and the held songs' term; null when neither is on. */
  holdReference: NamedArrays | null;
  /** The held songs' windows (held-songs.ts) and the buffer of each iteration's draw of B of them; null without holdSongs. */
  heldSongs: { windows: HeldSongWindows; drawn: Float32Array } | null;
  state: ModelState;
  graph: LossGraph;
  /** The rollouts' clock (reset by each iteration). */
  clock: RolloutClock;
  /** Buffers each iteration fills: eps [B][latentDim], noise [T][B][13][H][W], masks [T-1][B]. */
  eps: Float32Array;
  noise: Float32Array;
  masks: Float32Array;
}

/** One iteration's draws (iteration.ts' order, from `new Rng("<seed>/iteration/<i>")`); they fill the run's eps, noise and masks buffers. */
export interface IterationDraws {
  batch: SequenceBatch;
  /** The scheduled-sampling probability and learning rate of the iteration. */
  sampling: number;
  lr: number;
  poolBatch: PoolBatch | null;
  /** The batch's latent-anchor targets and mask [B][latentDim] (anchors.ts), null when the dataset has no labels or the weight is 0. */
  anchors: { target: Float32Array; mask: Float32Array } | null;
  /** The pairs of twins at the batch's start (twins.ts; 0 when the twin term is off). */
  twinPairs: number;
  /** B held songs' windows' contexts (the run's heldSongs.drawn), drawn last; null without holdSongs. */
  heldSongContexts: Float32Array | null;
}

/** The latent-anchor targets of a batch's clips, from the dataset manifest's labels (null when none is labelled). */
export function batchAnchors(run: Pick<RunContext, 'data' | 'settings' | 'graph'>, indices: readonly number[]): IterationDraws['anchors'] {
  const clips = run.data.manifest.clips;
  if (!clips || !(run.settings.anchorWeight > 0)) return null;
  const a = anchorTargets(indices.map((i) => clips[i] ?? {}), run.graph.config.latentDim);
  return a.labelled ? { target: a.target, mask: a.mask } : null;
}

/**
 * Draws iteration `iteration`'s batch, eps, hidden noise, scheduled-sampling masks and the pool's entries,
 * in this order. `decode(zs, n)` is the first-frame decoder's forward of n fresh pool latents (PersistencePool.draw).
 */
export function drawIteration(run: RunContext, iteration: number, decode: (zs: Float32Array, n: number) => Float32Array): IterationDraws {
  const { settings, eps, noise, masks } = run;
  const { batch: B, steps: T } = settings;
  const { width: W, height: H } = run.data.manifest;
  const rng = new Rng(`${settings.seed}/iteration/${iteration}`);
  // with the twin term: pairs of twins first, then clips drawn as without it
  const pairs = run.twins ? twinPairs(B) : 0;
  const twins = run.twins ? drawTwins(rng, run.twins, pairs) : [];
  const batch = makeBatch(run.data, [...twins, ...sampleIndices(rng, run.clips, B - twins.length)], { contextFrames: run.graph.config.contextFrames, steps: T });
  rng.normalArray(eps);
  rolloutNoise(rng, { batch: B, width: W, height: H, steps: T }, settings.noiseStd, noise);
  const sampling = samplingProbability(settings, iteration);
  for (let i = 0; i < masks.length; i++) masks[i] = rng.uniform() < sampling ? 1 : 0;
  const lr = learningRate(settings, iteration);
  const poolBatch = run.graph.pool.draw(rng, batch.start, decode);
  // last, so that a run without held songs draws what it drew before they existed
  const heldSongContexts = run.heldSongs ? drawHeldWindows(rng, run.heldSongs.windows, B, run.heldSongs.drawn) : null;
  return { batch, sampling, lr, poolBatch, anchors: batchAnchors(run, batch.indices), twinPairs: pairs, heldSongContexts };
}

/** An iteration's log entry (seconds 0: the caller sets it) from its losses and timings. */
export function iterationEntry(step: number, losses: { loss: number; rollout: number; kl: number; decoder: number; anchor?: number; twin?: number; hold?: number; holdSongs?: number; persistParts?: PersistenceParts }, draws: Pick<IterationDraws, 'sampling' | 'lr'>, gradNorm: number, times: { ncaForward: number; ncaBackward: number; networks: number; optimizer: number }): LogEntry {
  const parts = losses.persistParts;
  return {
    iteration: step,
    loss: losses.loss,
    rollout: losses.rollout,
    kl: losses.kl,
    decoder: losses.decoder,
    anchor: losses.anchor ?? 0,
    ...(losses.twin !== undefined ? { twin: losses.twin } : {}),
    ...(losses.hold !== undefined ? { hold: losses.hold } : {}),
    ...(losses.holdSongs !== undefined ? { holdSongs: losses.holdSongs } : {}),
    persist: parts?.loss ?? 0,
    persistStd: parts?.std ?? 0,
    persistCorrelation: parts?.correlation ?? 0,
    persistDrift: parts?.drift ?? 0,
    persistStyle: parts?.style ?? 0,
    persistScale: parts?.scale ?? 0,
    persistTravel: parts?.travel ?? 0,
    sampling: draws.sampling,
    lr: draws.lr,
    gradNorm,
    seconds: 0,
    ...times,
  };
}

/**
 * PersistencePool.draw's `decode`: the first-frame decoder's forward of n fresh pool latents on tfjs, with the
 * state's current weights (`before` brings them up to date first, for the onnx backend), its seconds added to
 * `spent.network`.
 */
export function poolDecoder(run: Pick<RunContext, 'state' | 'graph'>, spent: { network: number }, before?: () => void): (zs: Float32Array, n: number) => Float32Array {
  const { state, graph: { tf, config, convs } } = run;
  return (zs, n) => {
    const start = performance.now();
    before?.();
    const decoded = tf.tidy(() => decoderForward(tf, weightsRecord(state), config, tf.tensor2d(zs, [n, config.latentDim]), { convs }).dataSync() as Float32Array);
    spent.network += (performance.now() - start) / 1000;
    return decoded;
  };
}

/** Runs iteration `iteration` (0-based) and returns its log entry (unrounded; `seconds`: its wall-clock time). Throws when the loss is not finite. */
export function runIteration(run: RunContext, iteration: number): LogEntry {
  const { settings, state, graph, clock, eps, noise, masks } = run;
  const { tf, config, convs, pool } = graph;
  const { batch: B, steps: T } = settings;
  const { width: W, height: H } = run.data.manifest;
  const itStart = performance.now();
  clock.forward = clock.backward = 0;

  // the draws, in this order, from the iteration's own Rng
  const spent = { network: 0 };
  const draws = drawIteration(run, iteration, poolDecoder(run, spent));
  const { batch, poolBatch } = draws;

  // loss and gradients (the NCA op runs inside: its seconds are the rollouts' own)
  const gradsStart = performance.now();
  const loss = lossAndGradients(graph, state, { batch, eps, noise, masks, poolBatch, anchors: draws.anchors, persistWeight: persistenceWeight(settings, iteration) });
  spent.network += (performance.now() - gradsStart) / 1000 - clock.forward - clock.backward;

  // clip to the global norm, Adam step, BatchNorm running statistics
  const optimizerStart = performance.now();
  const step = iteration + 1;
  const gradNorm = applyGradients(state, loss.grads, { lr: draws.lr, step, clipNorm: settings.clipNorm }, (name) => trainsWeight(settings, name));
  if (encoderTrains(settings)) updateRunningStatistics(tf, state.stats, loss.stats, B * (H / 2) * (W / 2), settings.bnMomentum);
  else {
    for (const s of loss.stats) {
      s.mean.dispose();
      s.variance.dispose();
    }
  }
  const optimizerSeconds = (performance.now() - optimizerStart) / 1000;

  const read = (t: Scalar | undefined) => (t ? t.dataSync()[0]! : NaN);
  const entry = iterationEntry(step, { loss: loss.value.dataSync()[0]!, rollout: read(loss.rollout), kl: read(loss.kl), decoder: read(loss.decoder), anchor: loss.anchor ? read(loss.anchor) : 0, persistParts: loss.persistParts }, draws, gradNorm, {
    ncaForward: clock.forward,
    ncaBackward: clock.backward,
    networks: spent.network,
    optimizer: optimizerSeconds,
  });
  if (loss.poolPred && poolBatch) pool.update(poolBatch.picks, loss.poolPred.dataSync() as Float32Array);
  pool.rememberEncoded(Float32Array.from(loss.mu.dataSync()), batch.targets, B, T);
  disposeLoss(loss);
  if (!Number.isFinite(entry.loss)) throw new Error(`training diverged at iteration ${step} (loss ${entry.loss}); try a smaller learning rate`);
  entry.seconds = (performance.now() - itStart) / 1000;
  return entry;
}
