/**
 * Training of the neuromusical model (docs/design.md): encoder + hypernetwork + first-frame
 * decoder, with the NCA rollout inside the loss.
 *
 * One iteration, for a batch of B training clips:
 *   context frames 0..3 -> encoder (BatchNorm on batch statistics) -> mu, logvar
 *   z = mu + exp(logvar / 2) * eps           (eps from the seeded Rng, not tf.random)
 *   params = hypernetwork(z)                 [B][4640]
 *   pred = NCA rollout from frame 3 under the frame protocol (fresh hidden noise each frame),
 *          T = 21 steps predicting frames 4..24; scheduled sampling: each step starts from the
 *          model's own previous frame with probability p (ramping 0 -> samplingMax), else from
 *          the ground truth
 *   loss = MSE(pred, frames 4..24) + beta * KL(q(z|x) || N(0, I)) + decoderWeight * MSE(decoder(z) RGB, frame 3)
 * then the gradients (tfjs autodiff around the rollout op, whose backward runs on onnxruntime),
 * clipped to a global norm, and an Adam step with a cosine-decayed learning rate.
 *
 * Why frame 3 for the first-frame decoder: the renderer starts a latent's NCA from the decoder's
 * picture (`--init decoder`), and the NCA was trained to continue from frame 3 (a circles picture),
 * not from frame 0 (a spectrogram, which the NCA never sees as a state). So the decoder learns to
 * draw the picture the NCA knows how to continue.
 *
 * Determinism: every random draw of iteration i (batch, eps, hidden noise, masks) comes from
 * `new Rng("<seed>/iteration/<i>")`, so a run resumed from a checkpoint draws exactly what an
 * uninterrupted run draws. Initial weights come from `new Rng("<seed>/init")`.
 *
 * Files in the output folder: model.json + weights.bin (the final model, written at the end),
 * checkpoint.bin (weights + Adam state + iteration, written atomically every checkpointEvery
 * iterations), train-log.jsonl (one JSON line per iteration, rewritten atomically with each
 * checkpoint and at the end), loss-curve.png.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readInput, readTextFile } from '../io/read.js';
import { Rng } from '../rng.js';
import { checkDatasetFits, makeBatch, maxRolloutSteps, sampleIndices, type SequenceSource } from './dataset-batches.js';
import { im2colConvs } from './fast-convs.js';
import { lossCurvePng } from './loss-curve.js';
import { NcaRollout, ncaRolloutOp, rolloutNoise } from './nca-op.js';
import { DEFAULT_FLOORS, DEFAULT_POOL, StatePool, frameStyle, persistenceLoss, type PersistenceFloors, type PersistenceParts, type StyleTargets } from './persistence.js';
import { DEFAULT_CONFIG, decoderForward, encoderForward, hypernetworkForward, initialWeights, weightSpecs, type ModelConfig } from './networks.js';
import { TF_BACKENDS, loadTf, type Tf, type TfBackend } from './tf.js';
import { loadWeights, saveWeights, shapeSize, type NamedArrays } from './weights.js';

/** The settings of a run (stored in the checkpoint and in the model's config). */
export interface TrainSettings {
  iters: number;
  batch: number;
  seed: number | string;
  /** Adam learning rate at the start; decays along a cosine to lrFinal x lr. */
  lr: number;
  lrFinal: number;
  /** KL weight. */
  beta: number;
  /** Weight of the first-frame decoder's MSE. */
  decoderWeight: number;
  /** Gradients are scaled down to this global L2 norm when larger. */
  clipNorm: number;
  /** Scheduled sampling: the probability of feeding back a prediction ramps linearly from 0 ... */
  samplingMax: number;
  /** ... to samplingMax over this fraction of the iterations, then stays. */
  samplingRamp: number;
  /** Std of the fresh hidden channels each frame (docs/design.md: 0.1). */
  noiseStd: number;
  /** NCA steps per rollout (frames predicted after the start frame); default: every frame of the clips. */
  steps: number;
  checkpointEvery: number;
  /** BatchNorm running-statistics momentum (PyTorch's 0.1). */
  bnMomentum: number;
  /**
   * Persistence training (src/core/model/persistence.ts): weight of the pool rollout's structure /
   * smoothness / motion floors (0 = off), ramped up linearly over the first persistRamp of the run.
   */
  persistWeight: number;
  persistRamp: number;
  /** The state pool: entries, entries per iteration, frames per iteration, entries refreshed per iteration. */
  poolSize: number;
  poolBatch: number;
  poolSteps: number;
  poolReset: number;
  /** The floors: spatial std, neighbour correlation, RMS drift between the halves of a pool rollout. */
  floorStd: number;
  floorCorrelation: number;
  floorDrift: number;
  /** Weight of the colour term inside the persistence loss (0 = off). */
  styleWeight: number;
  /** Start from this model folder's weights instead of random ones ('' = random; Adam starts fresh). */
  initFrom: string;
  /**
   * The tfjs backend of the networks' forward and backward: 'wasm' (XNNPACK, 2-3x faster) or 'cpu'. Backends
   * differ by float rounding, so a run resumes on its checkpoint's backend (checkpoints without one: 'cpu').
   */
  backend: TfBackend;
}

export const DEFAULT_SETTINGS: Omit<TrainSettings, 'iters' | 'steps'> = {
  batch: 8,
  seed: 0,
  lr: 1e-3,
  lrFinal: 0.1,
  beta: 1e-4,
  decoderWeight: 1,
  clipNorm: 1,
  samplingMax: 0.5,
  samplingRamp: 0.5,
  noiseStd: 0.1,
  checkpointEvery: 100,
  bnMomentum: 0.1,
  persistWeight: 0.05,
  persistRamp: 0.1,
  poolSize: DEFAULT_POOL.size,
  poolBatch: DEFAULT_POOL.batch,
  poolSteps: DEFAULT_POOL.steps,
  poolReset: DEFAULT_POOL.reset,
  floorStd: DEFAULT_FLOORS.std,
  floorCorrelation: DEFAULT_FLOORS.correlation,
  floorDrift: DEFAULT_FLOORS.drift,
  styleWeight: 10,
  initFrom: '',
  backend: 'wasm',
};

/** One line of train-log.jsonl. */
export interface LogEntry {
  iteration: number;
  /** Total loss (the optimised value). */
  loss: number;
  rollout: number;
  kl: number;
  decoder: number;
  /** The persistence loss (unweighted) and its three parts; 0 when off. */
  persist: number;
  persistStd: number;
  persistCorrelation: number;
  persistDrift: number;
  persistStyle: number;
  /** Scheduled-sampling probability used. */
  sampling: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Wall-clock seconds of the iteration, and its NCA forward / backward shares. */
  seconds: number;
  ncaForward: number;
  ncaBackward: number;
  /** Its tfjs shares: the networks' forward + backward with the losses (NCA excluded), and clipping + Adam + BatchNorm statistics. */
  networks: number;
  optimizer: number;
}

export interface TrainProgress {
  iteration: number;
  iters: number;
  entry: LogEntry;
  /** Mean seconds per iteration over this process's iterations so far. */
  secondsPerIteration: number;
}

export interface TrainOptions extends Partial<Omit<TrainSettings, 'iters'>> {
  iters: number;
  data: SequenceSource & { indices(split: 'train' | 'test'): number[]; manifest: { sha256?: string } };
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
  /** The tfjs backend the iterations ran on (tf.getBackend() during the loop). */
  backend: string;
  files: string[];
}

/** Where the seconds of a training iteration go (see TrainResult.secondsPerIteration). */
export interface IterationSplit {
  total: number;
  ncaForward: number;
  ncaBackward: number;
  networks: number;
  optimizer: number;
  rest: number;
}

export const CHECKPOINT_FILE = 'checkpoint.bin';
export const LOG_FILE = 'train-log.jsonl';
export const CURVE_FILE = 'loss-curve.png';
const CHECKPOINT_MAGIC = 'NCACKPT1';

/** Names of tensors that are not trained by gradients (BatchNorm statistics). */
function isStatistic(name: string): boolean {
  return name.endsWith('.running_mean') || name.endsWith('.running_var');
}

/** Scheduled-sampling probability at an iteration (0-based). */
export function samplingProbability(s: Pick<TrainSettings, 'iters' | 'samplingMax' | 'samplingRamp'>, iteration: number): number {
  const rampIters = s.samplingRamp * s.iters;
  if (rampIters <= 0) return s.samplingMax;
  return s.samplingMax * Math.min(1, iteration / rampIters);
}

/** Learning rate at an iteration: cosine from lr down to lr * lrFinal at the last iteration. */
export function learningRate(s: Pick<TrainSettings, 'iters' | 'lr' | 'lrFinal'>, iteration: number): number {
  const f = s.iters <= 1 ? 0 : iteration / (s.iters - 1);
  return s.lr * (s.lrFinal + (1 - s.lrFinal) * 0.5 * (1 + Math.cos(Math.PI * f)));
}

/** Validated settings with defaults filled in. */
export function resolveSettings(opts: TrainOptions, framesPerClip: number): TrainSettings {
  const maxSteps = maxRolloutSteps(framesPerClip, DEFAULT_CONFIG.contextFrames);
  const s: TrainSettings = { ...DEFAULT_SETTINGS, steps: maxSteps, ...stripUndefined(opts), iters: opts.iters };
  const intIn = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new UserError(`${name} must be an integer in ${lo}..${hi}, got ${v}`);
  };
  intIn('iters', s.iters, 1, 10_000_000);
  intIn('batch', s.batch, 1, 256);
  intIn('steps', s.steps, 1, maxSteps);
  intIn('checkpointEvery', s.checkpointEvery, 1, 10_000_000);
  intIn('poolSize', s.poolSize, 1, 100_000);
  intIn('poolBatch', s.poolBatch, 1, Math.min(256, s.poolSize));
  intIn('poolSteps', s.poolSteps, 2, 256);
  intIn('poolReset', s.poolReset, 0, s.poolBatch);
  for (const [name, v, lo, hi] of [['persistWeight', s.persistWeight, 0, 1000], ['persistRamp', s.persistRamp, 0, 1], ['floorStd', s.floorStd, 1e-6, 1], ['floorCorrelation', s.floorCorrelation, -1, 1], ['floorDrift', s.floorDrift, 1e-6, 1], ['styleWeight', s.styleWeight, 0, 1e4]] as const) {
    if (!(Number.isFinite(v) && v >= lo && v <= hi)) throw new UserError(`${name} must be a number in ${lo}..${hi}, got ${v}`);
  }
  for (const [name, v, lo, hi] of [['lr', s.lr, 0, 1], ['lrFinal', s.lrFinal, 0, 1], ['beta', s.beta, 0, 100], ['decoderWeight', s.decoderWeight, 0, 100], ['clipNorm', s.clipNorm, 0, 1e6], ['samplingMax', s.samplingMax, 0, 1], ['samplingRamp', s.samplingRamp, 0, 1], ['noiseStd', s.noiseStd, 0, 10], ['bnMomentum', s.bnMomentum, 0, 1]] as const) {
    if (!(Number.isFinite(v) && v >= lo && v <= hi)) throw new UserError(`${name} must be a number in ${lo}..${hi}, got ${v}`);
  }
  if (!TF_BACKENDS.includes(s.backend)) throw new UserError(`backend must be one of ${TF_BACKENDS.join(', ')}, got ${String(s.backend)}`);
  return s;
}

function stripUndefined(o: TrainOptions): Partial<TrainSettings> {
  const keys = ['batch', 'seed', 'lr', 'lrFinal', 'beta', 'decoderWeight', 'clipNorm', 'samplingMax', 'samplingRamp', 'noiseStd', 'steps', 'checkpointEvery', 'bnMomentum', 'persistWeight', 'persistRamp', 'poolSize', 'poolBatch', 'poolSteps', 'poolReset', 'floorStd', 'floorCorrelation', 'floorDrift', 'styleWeight', 'initFrom', 'backend'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out as Partial<TrainSettings>;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: one binary file, magic + u32 header length + JSON header + float32 LE tensors

interface CheckpointHeader {
  iteration: number;
  settings: TrainSettings;
  tensors: Array<{ name: string; shape: number[] }>;
}

function encodeCheckpoint(header: CheckpointHeader, named: NamedArrays): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  let floats = 0;
  for (const { data } of named.values()) floats += data.length;
  const pre = CHECKPOINT_MAGIC.length + 4 + json.length;
  const pad = (4 - (pre % 4)) % 4;
  const bytes = new Uint8Array(pre + pad + 4 * floats);
  bytes.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  new DataView(bytes.buffer).setUint32(CHECKPOINT_MAGIC.length, json.length + pad, true);
  bytes.set(json, CHECKPOINT_MAGIC.length + 4);
  bytes.fill(0x20, pre, pre + pad); // spaces: still valid JSON when read back
  const view = new DataView(bytes.buffer);
  let off = pre + pad;
  for (const { data } of named.values()) {
    for (let i = 0; i < data.length; i++, off += 4) view.setFloat32(off, data[i]!, true);
  }
  return bytes;
}

function decodeCheckpoint(bytes: Uint8Array, source: string): { header: CheckpointHeader; named: NamedArrays } {
  const bad = (why: string) => new UserError(`${source} is not a usable checkpoint (${why}); train again without --resume`);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== CHECKPOINT_MAGIC) throw bad('wrong magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint32(8, true);
  if (12 + len > bytes.length) throw bad('truncated header');
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as CheckpointHeader;
  } catch {
    throw bad('header is not JSON');
  }
  const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
  if (typeof header !== 'object' || header === null || !Number.isInteger(header.iteration) || header.iteration < 0) throw bad('no iteration in the header');
  if (typeof header.settings !== 'object' || header.settings === null) throw bad('no settings in the header');
  if (!Array.isArray(header.tensors) || !header.tensors.every((t) => typeof t === 'object' && t !== null && typeof t.name === 'string' && isShape(t.shape))) throw bad('no tensor list in the header');
  const named: NamedArrays = new Map();
  let off = 12 + len;
  for (const { name, shape } of header.tensors) {
    const n = shapeSize(shape);
    if (off + 4 * n > bytes.length) throw bad('truncated');
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++, off += 4) data[i] = view.getFloat32(off, true);
    named.set(name, { shape, data });
  }
  if (off !== bytes.length) throw bad('size mismatch');
  return { header, named };
}

// ---------------------------------------------------------------------------------------------
// The training loop

interface State {
  tf: Tf;
  /** Trainable variables by name. */
  vars: Record<string, Variable>;
  /** Master copies of the trainable values, and Adam's first and second moments (plain arrays: a fused JS update is ~50x faster than a dozen tfjs-cpu ops per tensor). */
  values: Record<string, Float32Array>;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  /** BatchNorm running statistics by name (replaced each iteration). */
  stats: Record<string, Tensor>;
}

function buildState(tf: Tf, named: NamedArrays, moments?: { m: NamedArrays; v: NamedArrays }): State {
  const state: State = { tf, vars: {}, values: {}, m: {}, v: {}, stats: {} };
  for (const { name, shape } of weightSpecs()) {
    const a = named.get(name);
    if (!a) throw new UserError(`the checkpoint has no tensor ${name}; train again without --resume`);
    if (a.data.length !== shapeSize(shape)) throw new UserError(`the checkpoint's tensor ${name} has shape [${a.shape.join(', ')}], expected [${shape.join(', ')}]; train again without --resume`);
    if (isStatistic(name)) {
      state.stats[name] = tf.tensor(a.data, shape);
      continue;
    }
    state.values[name] = Float32Array.from(a.data);
    state.vars[name] = tf.variable(tf.tensor(a.data, shape), true, `w/${name}`);
    const size = shapeSize(shape);
    const moment = (which: NamedArrays): Float32Array => {
      const a = which.get(name);
      if (!a || a.data.length !== size) throw new UserError(`the checkpoint has no Adam state for ${name}; train again without --resume`);
      return Float32Array.from(a.data);
    };
    state.m[name] = moments ? moment(moments.m) : new Float32Array(size);
    state.v[name] = moments ? moment(moments.v) : new Float32Array(size);
  }
  return state;
}

function weightsRecord(state: State): Record<string, Tensor> {
  return { ...state.vars, ...state.stats };
}

function namedWeights(state: State): NamedArrays {
  const named: NamedArrays = new Map();
  const all = weightsRecord(state);
  for (const { name } of weightSpecs()) {
    const t = all[name]!;
    named.set(name, { shape: [...t.shape], data: new Float32Array(t.dataSync()) });
  }
  return named;
}

function checkpointArrays(state: State): NamedArrays {
  const named = namedWeights(state);
  for (const { name, shape } of weightSpecs()) {
    if (isStatistic(name)) continue;
    named.set(`adam.m/${name}`, { shape, data: state.m[name]! });
    named.set(`adam.v/${name}`, { shape, data: state.v[name]! });
  }
  return named;
}

function disposeState(state: State): void {
  for (const group of [state.vars, state.stats]) for (const t of Object.values(group)) t.dispose();
}

const median = (xs: number[]): number => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : 0);

/** The model config written with the weights: architecture, render protocol, training settings. */
export function trainedConfig(settings: TrainSettings, extra: Record<string, unknown>): ModelConfig {
  return {
    ...DEFAULT_CONFIG,
    protocol: 'frame',
    protocolDetails: { kind: 'carry', carry: 3, squash: 'sigmoid', hidden: 'noise', noiseStd: settings.noiseStd, stepsPerFrame: 1, start: 'frame 3 (context frames 0..3)' },
    training: { ...settings, ...extra },
  };
}

/**
 * Runs (or resumes) a training; see the module comment. The iterations run on `backend` (tfjs's backend
 * is one per process); the process's previous backend is back in force when it returns or throws.
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
  const pool = data.indices('train');
  if (pool.length === 0) throw new UserError('the dataset has no training clips (all held out); rebuild it with a smaller --held-out');
  const config: ModelConfig = { ...DEFAULT_CONFIG };

  // Initial weights, or the checkpoint's.
  let start = 0;
  let state: State;
  let log: LogEntry[] = [];
  let resumedPool: NamedArrays | null = null;
  const checkpointPath = join(outDir, CHECKPOINT_FILE);
  const resumed = opts.resume ? decodeCheckpoint(await readCheckpoint(checkpointPath, `no checkpoint at ${checkpointPath} to resume from; run nca train without --resume`), checkpointPath) : null;
  if (resumed) {
    // the backend: the checkpoint's (those written before backends were recorded were trained on 'cpu')
    const trainedOn = resumed.header.settings.backend ?? 'cpu';
    if (opts.backend !== undefined && opts.backend !== trainedOn) {
      throw new UserError(`the checkpoint was trained on the tfjs ${trainedOn} backend, not ${opts.backend}: resume with --backend ${trainedOn} (backends differ by float rounding, so the resumed run would not match an uninterrupted one), or train again without --resume`);
    }
    settings.backend = trainedOn;
  }
  const tf = await loadTf({ backend: settings.backend });
  const backend = tf.getBackend();
  if (resumed) {
    const { header, named } = resumed;
    for (const k of Object.keys(header.settings) as Array<keyof TrainSettings>) {
      if (k === 'iters' || k === 'checkpointEvery' || k === 'backend') continue;
      if (JSON.stringify(header.settings[k]) !== JSON.stringify(settings[k])) {
        throw new UserError(`the checkpoint was trained with ${k} ${JSON.stringify(header.settings[k])}, not ${JSON.stringify(settings[k])}: resume with the same settings`);
      }
    }
    if (header.iteration > settings.iters) throw new UserError(`the checkpoint is at iteration ${header.iteration}, past --iters ${settings.iters}`);
    start = header.iteration;
    const pick = (prefix: string): NamedArrays => {
      const out: NamedArrays = new Map();
      for (const [name, a] of named) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), a);
      return out;
    };
    state = buildState(tf, named, { m: pick('adam.m/'), v: pick('adam.v/') });
    resumedPool = pick('pool/');
    log = await readLog(join(outDir, LOG_FILE), start);
  } else if (settings.initFrom) {
    // fine-tuning: another model's weights (e.g. the next-frame model, then persistence training)
    state = buildState(tf, (await loadWeights(settings.initFrom)).tensors);
  } else {
    state = buildState(tf, initialWeights(new Rng(`${settings.seed}/init`)));
  }

  const B = settings.batch;
  const T = settings.steps;
  const shape = { batch: B, width: W, height: H, steps: T };
  // time the rollouts' forward and backward as the op calls them
  const timing = { forward: 0, backward: 0 };
  const timed = (r: NcaRollout): NcaRollout => {
    const clock = <A extends unknown[], R>(fn: (...a: A) => R, key: keyof typeof timing) => (...a: A): R => {
      const s = performance.now();
      try {
        return fn(...a);
      } finally {
        timing[key] += (performance.now() - s) / 1000;
      }
    };
    r.forward = clock(r.forward.bind(r), 'forward');
    r.backward = clock(r.backward.bind(r), 'backward');
    return r;
  };
  const rollout = timed(await NcaRollout.create({ ...shape, threads: opts.threads }));

  // persistence training: a pool of long-running states under no-ground-truth floors
  const persist = settings.persistWeight > 0;
  const P = settings.poolBatch, Tp = settings.poolSteps;
  const poolShape = { batch: P, width: W, height: H, steps: Tp };
  const floors: PersistenceFloors = { std: settings.floorStd, correlation: settings.floorCorrelation, drift: settings.floorDrift };
  const poolRollout = persist ? timed(await NcaRollout.create({ ...poolShape, threads: opts.threads })) : null;
  const statePool = new StatePool(
    { size: settings.poolSize, batch: P, steps: Tp, reset: settings.poolReset },
    config.latentDim, W, H,
    resumedPool?.has('z') ? { z: resumedPool.get('z')!.data, rgb: resumedPool.get('rgb')!.data, age: resumedPool.get('age')!.data, style: resumedPool.get('style')?.data, styled: resumedPool.get('styled')?.data } : undefined,
  );
  /**
   * The previous iteration's encoded mu [B][latentDim] and its clips' styles [B][6] (frameStyle of
   * their target frames): where fresh pool latents are drawn from (besides N(0, I)).
   */
  const encoded: { z: Float32Array; style: Float32Array } = { z: resumedPool?.get('mu')?.data ?? new Float32Array(0), style: resumedPool?.get('muStyle')?.data ?? new Float32Array(0) };
  const poolNoise = new Float32Array(persist ? Tp * P * 13 * W * H : 0);
  const poolTargets = new Float32Array(persist ? Tp * P * 3 * W * H : 0); // unused: every step feeds on its own frame
  const poolMasks = new Float32Array(persist ? (Tp - 1) * P : 0).fill(1);

  const convs = im2colConvs(tf);
  const noise = new Float32Array(T * B * 13 * W * H);
  const masks = new Float32Array((T - 1) * B);
  const eps = new Float32Array(B * config.latentDim);
  const names = Object.keys(state.vars);
  const varList = names.map((n) => state.vars[n]!);
  const beta1 = 0.9, beta2 = 0.999, adamEps = 1e-8;
  const perIter: Array<Omit<IterationSplit, 'rest'>> = [];
  const files: string[] = [];
  let iteration = start;
  const stopAt = opts.stopAfter === undefined ? settings.iters : Math.min(settings.iters, start + opts.stopAfter);

  const writeCheckpoint = async () => {
    const header: CheckpointHeader = { iteration, settings, tensors: [] };
    const named = checkpointArrays(state);
    named.set('pool/z', { shape: [settings.poolSize, config.latentDim], data: statePool.z });
    named.set('pool/rgb', { shape: [settings.poolSize, 3, H, W], data: statePool.rgb });
    named.set('pool/age', { shape: [settings.poolSize], data: statePool.age });
    named.set('pool/style', { shape: [settings.poolSize, 6], data: statePool.style });
    named.set('pool/styled', { shape: [settings.poolSize], data: statePool.styled });
    named.set('pool/mu', { shape: [encoded.z.length / config.latentDim, config.latentDim], data: encoded.z });
    named.set('pool/muStyle', { shape: [encoded.style.length / 6, 6], data: encoded.style });
    header.tensors = [...named].map(([name, a]) => ({ name, shape: a.shape }));
    await writeFileAtomic(checkpointPath, encodeCheckpoint(header, named));
    await writeFileAtomic(join(outDir, LOG_FILE), log.map((e) => JSON.stringify(e)).join('\n') + (log.length ? '\n' : ''));
  };

  try {
    while (iteration < stopAt) {
      opts.signal?.throwIfAborted();
      const itStart = performance.now();
      timing.forward = timing.backward = 0;
      let networkSeconds = 0;
      const rng = new Rng(`${settings.seed}/iteration/${iteration}`);
      const batch = makeBatch(data, sampleIndices(rng, pool, B), { contextFrames: C, steps: T });
      rng.normalArray(eps);
      rolloutNoise(rng, shape, settings.noiseStd, noise);
      const p = samplingProbability(settings, iteration);
      for (let i = 0; i < masks.length; i++) masks[i] = rng.uniform() < p ? 1 : 0;
      const lr = learningRate(settings, iteration);
      let picks: number[] = [];
      let poolStart: { z: Float32Array; rgb: Float32Array; style: StyleTargets } | null = null;
      if (persist) {
        const drawn = statePool.draw(rng, encoded, batch.start);
        picks = drawn.picks;
        if (drawn.freshRandom.length > 0) {
          // a random latent's colours: those of the first-frame decoder's picture of it
          const n = drawn.freshRandom.length, plane = H * W;
          const zs = new Float32Array(n * config.latentDim);
          const decodeStart = performance.now();
          drawn.freshRandom.forEach((i, k) => zs.set(statePool.z.subarray(i * config.latentDim, (i + 1) * config.latentDim), k * config.latentDim));
          const decoded = tf.tidy(() => decoderForward(tf, weightsRecord(state), config, tf.tensor2d(zs, [n, config.latentDim]), { convs }).dataSync() as Float32Array);
          networkSeconds += (performance.now() - decodeStart) / 1000;
          drawn.freshRandom.forEach((i, k) => statePool.setStyle(i, frameStyle(decoded.subarray(k * config.channels * plane, (k * config.channels + 3) * plane), 1, plane)));
        }
        poolStart = statePool.gather(picks);
        poolStart.style.scale = settings.styleWeight;
        rolloutNoise(rng, poolShape, settings.noiseStd, poolNoise);
      }
      const rampIters = settings.persistRamp * settings.iters;
      const persistWeight = persist ? settings.persistWeight * (rampIters <= 0 ? 1 : Math.min(1, (iteration + 1) / rampIters)) : 0;

      const parts: { rollout?: Scalar; kl?: Scalar; decoder?: Scalar; persist?: Scalar; persistParts?: PersistenceParts; poolPred?: Tensor; mu?: Tensor; stats?: Array<{ mean: Tensor1D; variance: Tensor1D }> } = {};
      const context = tf.tensor4d(batch.context, [B, 3 * C, H, W]);
      const startFrame = tf.tensor4d(batch.start, [B, 3, H, W]);
      const epsT = tf.tensor2d(eps, [B, config.latentDim]);
      const decoderTarget = padChannels(batch.start, B, 3, config.channels, H * W);
      const poolZ = poolStart ? tf.tensor2d(poolStart.z, [P, config.latentDim]) : null;
      const poolRgb = poolStart ? tf.tensor4d(poolStart.rgb, [P, 3, H, W]) : null;
      const gradsStart = performance.now();
      const { value, grads } = tf.variableGrads(() => {
        const weights = weightsRecord(state);
        const enc = encoderForward(tf, weights, config, context, { training: true, convs });
        parts.stats = enc.batchStats.map((s) => ({ mean: tf.keep(s.mean), variance: tf.keep(s.variance) }));
        const z = tf.add<Tensor2D>(enc.mu, tf.mul(tf.exp(tf.mul(enc.logvar, 0.5)), epsT));
        const params = hypernetworkForward(tf, weights, config, z);
        const pred = ncaRolloutOp(tf, rollout, params, startFrame, { targets: batch.targets, noise, masks });
        const rolloutLoss = mseOp(tf, pred, batch.targets);
        // KL(N(mu, sigma^2) || N(0, I)): summed over dimensions, averaged over the batch
        const kl = tf.div(tf.sum(tf.mul(-0.5, tf.sub(tf.add(1, enc.logvar), tf.add(tf.square(enc.mu), tf.exp(enc.logvar))))), B) as Scalar;
        const decoded = decoderForward(tf, weights, config, z, { convs });
        // MSE over the RGB channels (0..2 of 16) only
        const decoderLoss = mseOp(tf, decoded, decoderTarget, { blocks: B, blockSize: config.channels * H * W, used: 3 * H * W });
        parts.rollout = tf.keep(rolloutLoss);
        parts.kl = tf.keep(kl);
        parts.decoder = tf.keep(decoderLoss);
        parts.mu = tf.keep(enc.mu);
        const terms: Tensor[] = [rolloutLoss, tf.mul(settings.beta, kl), tf.mul(settings.decoderWeight, decoderLoss)];
        if (poolRollout && poolZ && poolRgb) {
          // the pool's latents are constants: this term trains the hypernetwork (and through it what every latent does)
          const poolParams = hypernetworkForward(tf, weights, config, poolZ);
          const poolPred = ncaRolloutOp(tf, poolRollout, poolParams, poolRgb, { targets: poolTargets, noise: poolNoise, masks: poolMasks });
          parts.poolPred = tf.keep(poolPred);
          const persistLoss = persistenceOp(tf, poolPred, poolShape, floors, poolStart!.style, (p) => (parts.persistParts = p));
          parts.persist = tf.keep(persistLoss);
          terms.push(tf.mul(persistWeight, persistLoss));
        }
        return tf.addN(terms) as Scalar;
      }, varList);
      networkSeconds += (performance.now() - gradsStart) / 1000 - timing.forward - timing.backward; // the NCA op runs inside
      const optimizerStart = performance.now();
      const grad = (n: string): Tensor => {
        const g = grads[state.vars[n]!.name];
        if (!g) throw new Error(`no gradient for ${n}`);
        return g;
      };

      // clip to the global norm, Adam step
      const gradNorm = tf.tidy(() => Math.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grad(n))))).dataSync()[0]!));
      const clip = settings.clipNorm > 0 && gradNorm > settings.clipNorm ? settings.clipNorm / gradNorm : 1;
      const step = iteration + 1;
      const lr1 = lr / (1 - beta1 ** step), correction2 = 1 - beta2 ** step;
      for (const n of names) {
        const g = grad(n).dataSync() as Float32Array;
        const w = state.values[n]!, m = state.m[n]!, v = state.v[n]!;
        for (let i = 0; i < w.length; i++) {
          const gi = g[i]! * clip;
          const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * gi);
          const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi);
          w[i]! -= (lr1 * mi) / (Math.sqrt(vi / correction2) + adamEps);
        }
        const variable = state.vars[n]!;
        tf.tidy(() => variable.assign(tf.tensor(w.slice(), variable.shape))); // a copy: tfjs-cpu would keep a reference to w
      }
      // BatchNorm running statistics (PyTorch: momentum 0.1, unbiased variance)
      const count = B * (H / 2) * (W / 2);
      parts.stats!.forEach((s, i) => {
        const l = i + 1;
        const n = count / 4 ** i; // spatial size halves each layer
        const meanName = `encoder.bn${l}.running_mean`, varName = `encoder.bn${l}.running_var`;
        const oldMean = state.stats[meanName]!, oldVar = state.stats[varName]!;
        const mom = settings.bnMomentum;
        state.stats[meanName] = tf.tidy(() => tf.add(tf.mul(oldMean, 1 - mom), tf.mul(s.mean, mom)));
        state.stats[varName] = tf.tidy(() => tf.add(tf.mul(oldVar, 1 - mom), tf.mul(s.variance, (mom * n) / Math.max(1, n - 1))));
        oldMean.dispose();
        oldVar.dispose();
        s.mean.dispose();
        s.variance.dispose();
      });
      const optimizerSeconds = (performance.now() - optimizerStart) / 1000;
      const read = (t: Scalar | undefined) => (t ? t.dataSync()[0]! : NaN);
      const entry: LogEntry = {
        iteration: step,
        loss: value.dataSync()[0]!,
        rollout: read(parts.rollout),
        kl: read(parts.kl),
        decoder: read(parts.decoder),
        persist: parts.persistParts?.loss ?? 0,
        persistStd: parts.persistParts?.std ?? 0,
        persistCorrelation: parts.persistParts?.correlation ?? 0,
        persistDrift: parts.persistParts?.drift ?? 0,
        persistStyle: parts.persistParts?.style ?? 0,
        sampling: p,
        lr,
        gradNorm,
        seconds: 0,
        ncaForward: timing.forward,
        ncaBackward: timing.backward,
        networks: networkSeconds,
        optimizer: optimizerSeconds,
      };
      if (parts.poolPred) {
        const pred = parts.poolPred.dataSync() as Float32Array;
        statePool.update(picks, pred.subarray((Tp - 1) * P * 3 * H * W), Tp);
      }
      if (parts.mu) {
        encoded.z = Float32Array.from(parts.mu.dataSync());
        encoded.style = new Float32Array(B * 6);
        const frame = 3 * H * W, clipFrames = new Float32Array(T * frame);
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) clipFrames.set(batch.targets.subarray((t * B + b) * frame, (t * B + b + 1) * frame), t * frame);
          frameStyle(clipFrames, T, H * W, encoded.style.subarray(b * 6, (b + 1) * 6));
        }
      }
      for (const t of [value, context, startFrame, epsT, poolZ, poolRgb, parts.rollout, parts.kl, parts.decoder, parts.persist, parts.poolPred, parts.mu, ...Object.values(grads)]) t?.dispose();
      if (!Number.isFinite(entry.loss)) throw new Error(`training diverged at iteration ${step} (loss ${entry.loss}); try a smaller learning rate`);
      entry.seconds = (performance.now() - itStart) / 1000;
      log.push(roundEntry(entry));
      perIter.push({ total: entry.seconds, ncaForward: entry.ncaForward, ncaBackward: entry.ncaBackward, networks: entry.networks, optimizer: entry.optimizer });
      iteration = step;
      opts.onProgress?.({ iteration, iters: settings.iters, entry, secondsPerIteration: perIter.reduce((a, b) => a + b.total, 0) / perIter.length });
      if (iteration % settings.checkpointEvery === 0 || iteration === stopAt) await writeCheckpoint();
    }

    const finished = iteration === settings.iters;
    const curve = lossCurvePng(log);
    await writeFileAtomic(join(outDir, CURVE_FILE), curve);
    files.push(join(outDir, CHECKPOINT_FILE), join(outDir, LOG_FILE), join(outDir, CURVE_FILE));
    const timed = perIter.length > 1 ? perIter.slice(1) : perIter;
    const secondsPerIteration: IterationSplit = {
      total: median(timed.map((x) => x.total)),
      ncaForward: median(timed.map((x) => x.ncaForward)),
      ncaBackward: median(timed.map((x) => x.ncaBackward)),
      networks: median(timed.map((x) => x.networks)),
      optimizer: median(timed.map((x) => x.optimizer)),
      rest: median(timed.map((x) => x.total - x.ncaForward - x.ncaBackward)),
    };
    if (finished) {
      const extra = { ...opts.extraConfig, iterationsDone: iteration, datasetSha256: data.manifest.sha256, secondsPerIteration, ...(settings.initFrom ? { initFromModel: await modelIdentity(settings.initFrom) } : {}) };
      await saveWeights(outDir, trainedConfig(settings, extra), namedWeights(state));
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
    await rollout.dispose();
    await poolRollout?.dispose();
    disposeState(state);
  }
}

/**
 * Mean squared error of x against a constant target as one tfjs op with a plain-loop gradient
 * (tfjs-cpu's broadcasting multiply in the gradient of tf.mean(tf.squaredDifference) took ~0.1 s
 * at [21][8][3][32][32]). With `blocks`, only the first `used` values of each of the `blocks`
 * blocks of `blockSize` count (e.g. the RGB channels of 16-channel states); the others get zero gradient.
 */
function mseOp(tf: Tf, x: Tensor, target: Float32Array, part?: { blocks: number; blockSize: number; used: number }): Scalar {
  const blocks = part?.blocks ?? 1, blockSize = part?.blockSize ?? target.length, used = part?.used ?? target.length;
  if (x.size !== target.length || blocks * blockSize !== target.length) throw new Error(`mseOp: ${x.size} predictions for ${target.length} targets`);
  const n = blocks * used;
  const op = tf.customGrad((...inputs) => {
    const xs = (inputs[0] as Tensor).dataSync() as Float32Array;
    let sum = 0;
    for (let b = 0; b < blocks; b++) {
      for (let i = b * blockSize, end = i + used; i < end; i++) {
        const d = xs[i]! - target[i]!;
        sum += d * d;
      }
    }
    const shape = x.shape;
    return {
      value: tf.scalar(sum / n),
      gradFunc: (dy: Tensor) => {
        const scale = (2 * (dy.dataSync()[0] ?? 0)) / n;
        const g = new Float32Array(xs.length);
        for (let b = 0; b < blocks; b++) for (let i = b * blockSize, end = i + used; i < end; i++) g[i] = scale * (xs[i]! - target[i]!);
        return [tf.tensor(g, shape)];
      },
    };
  });
  return op(x) as Scalar;
}

/** What a fine-tuning started from: the model folder, its weights' SHA-256 and its own training settings. */
async function modelIdentity(dir: string): Promise<Record<string, unknown>> {
  const { createHash } = await import('node:crypto');
  const { config } = await loadWeights(dir);
  const weights = await readInput(join(dir, 'weights.bin'), 'model weights', 'binary');
  return { dir, weightsSha256: createHash('sha256').update(weights).digest('hex'), training: config.training };
}

/** The persistence loss (persistence.ts) of pred [T][B][3][H][W] as one tfjs op with its analytic gradient. */
function persistenceOp(tf: Tf, x: Tensor, shape: { steps: number; batch: number; width: number; height: number }, floors: PersistenceFloors, style: StyleTargets, onParts: (p: PersistenceParts) => void): Scalar {
  const op = tf.customGrad((...inputs) => {
    const r = persistenceLoss((inputs[0] as Tensor).dataSync() as Float32Array, shape, floors, style);
    onParts(r.parts);
    return {
      value: tf.scalar(r.loss),
      gradFunc: (dy: Tensor) => {
        const k = dy.dataSync()[0] ?? 0;
        const g = new Float32Array(r.grad.length);
        for (let i = 0; i < g.length; i++) g[i] = k * r.grad[i]!;
        return [tf.tensor(g, x.shape)];
      },
    };
  });
  return op(x) as Scalar;
}

/** [B][from][plane] -> [B][to][plane] with zeros in the extra channels. */
function padChannels(x: Float32Array, batch: number, from: number, to: number, plane: number): Float32Array {
  const out = new Float32Array(batch * to * plane);
  for (let b = 0; b < batch; b++) out.set(x.subarray(b * from * plane, (b + 1) * from * plane), b * to * plane);
  return out;
}

/**
 * Write the weights of `<trainDir>/checkpoint.bin` as a model folder `modelDir` (model.json +
 * weights.bin), e.g. to evaluate a run while it trains or to ship a run that could not finish.
 */
export async function exportCheckpoint(trainDir: string, modelDir: string): Promise<{ iteration: number }> {
  const path = join(trainDir, CHECKPOINT_FILE);
  const bytes = await readCheckpoint(path, `no checkpoint at ${path}: give the folder of a training run (nca train --out writes checkpoint.bin)`);
  const { header, named } = decodeCheckpoint(bytes, path);
  const weights: NamedArrays = new Map();
  for (const { name } of weightSpecs()) {
    const a = named.get(name);
    if (!a) throw new UserError(`${path} has no tensor ${name}`);
    weights.set(name, a);
  }
  await saveWeights(modelDir, trainedConfig(header.settings, { iterationsDone: header.iteration, exportedFromCheckpoint: true }), weights);
  return { iteration: header.iteration };
}

function roundEntry(e: LogEntry): LogEntry {
  const r = (v: number) => Number(v.toPrecision(6));
  return { iteration: e.iteration, loss: r(e.loss), rollout: r(e.rollout), kl: r(e.kl), decoder: r(e.decoder), persist: r(e.persist), persistStd: r(e.persistStd), persistCorrelation: r(e.persistCorrelation), persistDrift: r(e.persistDrift), persistStyle: r(e.persistStyle ?? 0), sampling: r(e.sampling), lr: r(e.lr), gradNorm: r(e.gradNorm), seconds: r(e.seconds), ncaForward: r(e.ncaForward), ncaBackward: r(e.ncaBackward), networks: r(e.networks), optimizer: r(e.optimizer) };
}

/** The log entries up to `iteration` (a resumed run drops the lines written after its checkpoint). */
export async function readLog(path: string, iteration = Infinity): Promise<LogEntry[]> {
  if (!(await exists(path))) return [];
  const text = await readTextFile(path, 'training log', 'json');
  const entries: LogEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      e = null;
    }
    if (typeof e !== 'object' || e === null || typeof (e as LogEntry).iteration !== 'number') {
      throw new UserError(`${path}: line ${i + 1} is not a log entry (a JSON object with an iteration); remove that line or the file (the weights are in the checkpoint)`);
    }
    if ((e as LogEntry).iteration <= iteration) entries.push(e as LogEntry);
  });
  return entries;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

/** The bytes of a checkpoint file (a regular file within the binary input limit); `missing` is the message when there is none. */
async function readCheckpoint(path: string, missing: string): Promise<Uint8Array> {
  if (!(await exists(path))) throw new UserError(missing);
  return readInput(path, 'checkpoint', 'binary');
}

/**
 * Seconds per training iteration (medians, the first iteration skipped) split into NCA forward,
 * NCA backward, the networks, the optimizer and the rest (IterationSplit), for `nca bench`:
 * `iters` iterations at the shipped settings (batch 8, 21 steps, persistence on) on random pictures
 * on the tfjs `backend` (default wasm), in a temporary folder that is removed afterwards. `timed`
 * holds the split of each timed iteration (the log's figures, 6 digits).
 */
export async function benchmarkTraining(opts: { iters?: number; batch?: number; threads?: number; backend?: TfBackend } = {}): Promise<IterationSplit & { iters: number; batch: number; backend: string; timed: Array<Omit<IterationSplit, 'rest'>> }> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const iters = Math.max(2, opts.iters ?? 6);
  const batch = opts.batch ?? DEFAULT_SETTINGS.batch;
  const F = 25, size = DEFAULT_CONFIG.frameSize, clipSize = F * 3 * size * size;
  const count = 2 * batch;
  const pixels = new Rng('bench/training').fillUniform(new Float32Array(count * clipSize));
  const data = {
    count,
    manifest: { framesPerClip: F, width: size, height: size, sha256: 'benchmark' },
    clip: (i: number, out?: Float32Array) => {
      const res = out ?? new Float32Array(clipSize);
      res.set(pixels.subarray(i * clipSize, (i + 1) * clipSize));
      return res;
    },
    indices: (split: 'train' | 'test') => (split === 'train' ? Array.from({ length: count }, (_, i) => i) : []),
  };
  const dir = await mkdtemp(join(tmpdir(), 'nca-bench-train-'));
  try {
    const r = await train({ data, outDir: dir, iters, batch, threads: opts.threads, checkpointEvery: iters + 1, stopAfter: iters, ...(opts.backend ? { backend: opts.backend } : {}) });
    const timed = (await readLog(join(dir, LOG_FILE))).slice(1).map((e) => ({ total: e.seconds, ncaForward: e.ncaForward, ncaBackward: e.ncaBackward, networks: e.networks, optimizer: e.optimizer }));
    return { ...r.secondsPerIteration, iters, batch, backend: r.backend, timed };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
