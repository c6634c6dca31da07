/**
 * The training run: set-up (settings, where it starts, the rollouts, the pool), the iterations
 * (iteration.ts) with a log line each and a checkpoint every checkpointEvery iterations
 * (checkpoint.ts), then the loss curve and, when all iterations are done, the model (trained-model.ts).
 */
import type { PictureStyle } from '../../audio/pictures.js';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { checkDatasetFits, type SequenceSource } from '../dataset-batches.js';
import { im2colConvs } from '../fast-convs.js';
import { lossCurvePng } from '../loss-curve.js';
import { NcaRollout } from '../nca-op.js';
import { DEFAULT_CONFIG, type ModelConfig } from '../networks.js';
import { loadTf } from '../tf.js';
import { loadWeights, saveWeights } from '../weights.js';
import { encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { CHECKPOINT_FILE, CURVE_FILE, LOG_FILE } from './files.js';
import { logText, roundEntry, type LogEntry } from './log.js';
import { runIteration, type RunContext } from './iteration.js';
import { createOnnxTrainer, runOnnxIteration, syncState, ONNX_TFJS_BACKEND, type OnnxTrainer } from './onnx-iteration.js';
import type { LossGraph } from './loss.js';
import { checkpointArrays, disposeState, namedWeights } from './model-state.js';
import { PersistencePool } from './pool.js';
import { resolveSettings, type TrainSettings } from './settings.js';
import { heldSongWindows } from './held-songs.js';
import { twinGroups } from './twins.js';
import { checkpointToResume, runStart } from './start.js';
import { medianSplit, timeRollout, type IterationSplit, type IterationTimes, type RolloutClock } from './timing.js';
import { modelIdentity, trainedConfig } from './trained-model.js';

export interface TrainProgress {
  iteration: number;
  iters: number;
  entry: LogEntry;
  /** Mean seconds per iteration over this process's iterations so far. */
  secondsPerIteration: number;
}

export interface TrainOptions extends Partial<Omit<TrainSettings, 'iters'>> {
  iters: number;
  data: SequenceSource & { indices(split: 'train' | 'test'): number[]; manifest: { sha256?: string; recipe?: { pictures?: PictureStyle } } };
  outDir: string;
  /** Continue from <outDir>/checkpoint.bin (same settings required, except iters may grow). */
  resume?: boolean;
  /** onnxruntime threads for the rollout (default: the number of cores). */
  threads?: number;
  /** Stop after this many iterations in this process (tests of --resume); a checkpoint is written there. */
  stopAfter?: number;
  /** Extra keys for the model config (e.g. provenance). */
  extraConfig?: Record<string, unknown>;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface TrainResult {
  outDir: string;
  iterations: number;
  /** True when all `iters` iterations are done and the final model was written. */
  finished: boolean;
  resumedFrom: number;
  seconds: number;
  /**
   * Medians over this process's iterations (the first is skipped as warm-up when there are more): the whole
   * iteration, NCA forward and backward (onnxruntime), the networks (tfjs forward + backward and losses),
   * the optimizer (clipping, Adam, BatchNorm statistics), and rest = total - NCA (all the tfjs and JS work).
   */
  secondsPerIteration: IterationSplit;
  finalLoss: { loss: number; rollout: number; kl: number; decoder: number };
  settings: TrainSettings;
  /** The backend the iterations ran on: 'onnx', or the tfjs backend (tf.getBackend() during the loop). */
  backend: string;
  files: string[];
}

/**
 * Runs (or resumes) a training; see src/core/model/train.ts. The iterations run on `backend` (tfjs's
 * backend is one per process); the process's previous backend is back in force when it returns or throws.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const tf = await loadTf();
  const previous = tf.getBackend();
  try {
    return await trainOnBackend(opts);
  } finally {
    if (tf.getBackend() !== previous) await tf.setBackend(previous);
  }
}

async function trainOnBackend(opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const { data, outDir } = opts;
  const { framesPerClip, width: W, height: H } = data.manifest;
  const C = DEFAULT_CONFIG.contextFrames;
  // the dataset must fit the model and hold the context + the frames to predict (steps; default: all there are)
  const stepsAsked = typeof opts.steps === 'number' && Number.isInteger(opts.steps) && opts.steps >= 1 ? opts.steps : undefined;
  checkDatasetFits(data, {
    use: stepsAsked === undefined ? 'training' : `training with steps ${stepsAsked}`,
    frameSize: DEFAULT_CONFIG.frameSize,
    contextFrames: C,
    steps: stepsAsked ?? 1,
    stepsFix: stepsAsked === undefined ? undefined : 'or lower --steps',
  });
  const settings = resolveSettings(opts, framesPerClip);
  const clips = data.indices('train');
  if (clips.length === 0) throw new UserError('the dataset has no training clips (all held out); rebuild it with a smaller --held-out');
  const config: ModelConfig = { ...DEFAULT_CONFIG };

  // initial weights, or the checkpoint's (whose backend the run keeps)
  let resumed: Checkpoint | null = null;
  if (opts.resume) {
    const r = await checkpointToResume(outDir, opts.backend);
    resumed = r.checkpoint;
    settings.backend = r.backend;
    const onnxOnly = [settings.twinWeight > 0 && 'twin', (settings.holdWeight > 0 || settings.holdSongs > 0) && 'hold'].filter(Boolean);
    if (onnxOnly.length && settings.backend !== 'onnx') throw new UserError(`the checkpoint was trained on the tfjs ${settings.backend} backend, and the ${onnxOnly.join(' and ')} term${onnxOnly.length > 1 ? 's run' : ' runs'} on onnx only: train again without --resume`);
  }
  // the twin term's groups: training clips that play the same note (twins.ts)
  const twins = settings.twinWeight > 0 ? twinGroups(data.manifest.clips ?? [], clips, settings.twinSources) : null;
  if (twins && twins.length === 0) throw new UserError(`the twin term needs notes played more than once (another velocity or length) among the training clips, and this dataset has none${settings.twinSources === 'synth' ? ' of the own synthesiser' : ''}: rebuild it with nca dataset (its default plan has them) or leave the twin weight at 0`);
  // the hold terms' reference encoder (clips and held songs): the initFrom model's weights (hold.ts), the same on --resume
  // (held songs at weight 0 would add nothing: they are neither rendered nor drawn)
  const holdsSongs = settings.holdSongs > 0 && settings.holdSongsWeight > 0;
  const holdReference = settings.holdWeight > 0 || holdsSongs ? (await loadWeights(settings.initFrom)).tensors : null;
  // the held songs' windows (held-songs.ts), composed and rendered once
  const heldSongs = holdsSongs ? await heldSongWindows(settings.holdSongs, { contextFrames: C, pictures: data.manifest.recipe?.pictures }) : null;
  const onnx = settings.backend === 'onnx';
  const tf = await loadTf({ backend: settings.backend === 'onnx' ? ONNX_TFJS_BACKEND : settings.backend });
  const backend = onnx ? 'onnx' : tf.getBackend();
  const begun = await runStart(tf, settings, resumed, outDir);
  const { state, log } = begun;
  const start = begun.iteration;

  const B = settings.batch;
  const T = settings.steps;
  const shape = { batch: B, width: W, height: H, steps: T };
  const clock: RolloutClock = { forward: 0, backward: 0 };
  const rollout = timeRollout(await NcaRollout.create({ ...shape, threads: opts.threads }), clock);
  const pool = await PersistencePool.create(settings, { width: W, height: H, latentDim: config.latentDim, channels: config.channels }, begun.pool, { threads: opts.threads, clock });
  const convs = im2colConvs(tf);
  const graph: LossGraph = { tf, config, convs, rollout, pool, beta: settings.beta, decoderWeight: settings.decoderWeight, anchorWeight: settings.anchorWeight };

  // the buffers of each iteration's draws, made once
  const run: RunContext = { settings, data, clips, twins, twinClips: new Set(twins?.flat() ?? []), holdReference, heldSongs: heldSongs ? { windows: heldSongs, drawn: new Float32Array(settings.batch * heldSongs.size) } : null, state, graph, clock, eps: new Float32Array(B * config.latentDim), noise: new Float32Array(T * B * 13 * W * H), masks: new Float32Array((T - 1) * B) };
  let onnxTrainer: OnnxTrainer | null = null;
  const perIter: IterationTimes[] = [];
  const files: string[] = [];
  let iteration = start;
  const stopAt = opts.stopAfter === undefined ? settings.iters : Math.min(settings.iters, start + opts.stopAfter);
  const checkpointPath = join(outDir, CHECKPOINT_FILE);

  const writeCheckpoint = async () => {
    if (onnxTrainer) syncState(state, onnxTrainer);
    const named = checkpointArrays(state);
    for (const [name, a] of pool.checkpointArrays()) named.set(name, a);
    await writeFileAtomic(checkpointPath, encodeCheckpoint(iteration, settings, named, data.manifest.recipe?.pictures));
    await writeFileAtomic(join(outDir, LOG_FILE), logText(log));
  };

  try {
    if (onnx) onnxTrainer = await createOnnxTrainer(run);
    while (iteration < stopAt) {
      opts.signal?.throwIfAborted();
      const entry = onnxTrainer ? await runOnnxIteration(run, onnxTrainer, iteration) : runIteration(run, iteration);
      log.push(roundEntry(entry));
      perIter.push({ total: entry.seconds, ncaForward: entry.ncaForward, ncaBackward: entry.ncaBackward, networks: entry.networks, optimizer: entry.optimizer });
      iteration = entry.iteration;
      opts.onProgress?.({ iteration, iters: settings.iters, entry, secondsPerIteration: perIter.reduce((a, b) => a + b.total, 0) / perIter.length });
      if (iteration % settings.checkpointEvery === 0 || iteration === stopAt) await writeCheckpoint();
    }

    const finished = iteration === settings.iters;
    await writeFileAtomic(join(outDir, CURVE_FILE), lossCurvePng(log));
    files.push(checkpointPath, join(outDir, LOG_FILE), join(outDir, CURVE_FILE));
    const secondsPerIteration = medianSplit(perIter);
    if (finished) {
      if (onnxTrainer) syncState(state, onnxTrainer);
      const extra = { ...opts.extraConfig, iterationsDone: iteration, datasetSha256: data.manifest.sha256, secondsPerIteration, ...(settings.initFrom ? { initFromModel: await modelIdentity(settings.initFrom) } : {}), ...(settings.encoderFrom ? { encoderFromModel: await modelIdentity(settings.encoderFrom) } : {}) };
      await saveWeights(outDir, trainedConfig(settings, extra, data.manifest.recipe?.pictures), namedWeights(state));
      files.unshift(join(outDir, 'model.json'), join(outDir, 'weights.bin'));
    }
    const last = log.slice(-Math.min(50, log.length));
    const avg = (k: 'loss' | 'rollout' | 'kl' | 'decoder') => (last.length ? last.reduce((a, e) => a + e[k], 0) / last.length : NaN);
    return {
      outDir,
      iterations: iteration,
      finished,
      resumedFrom: start,
      seconds: (performance.now() - t0) / 1000,
      secondsPerIteration,
      finalLoss: { loss: avg('loss'), rollout: avg('rollout'), kl: avg('kl'), decoder: avg('decoder') },
      settings,
      backend,
      files,
    };
  } catch (e) {
    // keep what was learnt: an interrupted run leaves a checkpoint at the last finished iteration
    if (opts.signal?.aborted && iteration > start && iteration % settings.checkpointEvery !== 0) await writeCheckpoint().catch(() => undefined);
    throw e;
  } finally {
    await onnxTrainer?.dispose();
    await rollout.dispose();
    await pool.dispose();
    disposeState(state);
  }
}
