/**
 * The scotopic NCA (docs/reconstruct.md): a video is shown to a grid of cells one frame at a time,
 * with all but a fraction `keep` of its pixels removed at random each frame; every cell estimates
 * its own pixel.
 *
 * Cell state, C = 2P + N + 1 + G(P + 1) channels (P = 3 colour or 1 grey, N hidden, G = config.priors.length):
 *   [0, P)          the estimate of the cell's pixel
 *   [P, P+N)        hidden channels, the NCA's own
 *   [P+N, 2P+N)     the input register: the last value observed at this cell (0 before any)
 *   2P+N            freshness: 1 when a pixel arrives, multiplied by `freshDecay` every frame without one
 *   then per prior  the Gaussian-prior estimate of baselines.ts (P) and log(its weight + 1e-3) / 5 (1)
 *   then, with `motion`, the motion-compensated prior of motion.ts: its estimate (P), its confidence (1)
 *                   and its velocity / 2 (2, x then y)
 *
 * Frame t: (1) the pixels that arrive are written into the register and freshness channels, the
 * priors are updated, and the estimate starts from the motion-compensated prior (with `motion`) or
 * else the first prior, with the arriving pixels pasted in (without either: only the arriving pixels
 * are written into the estimate);
 * (2) `stepsPerFrame` NCA steps (scotopic-graph.ts) update the estimate and hidden channels;
 * (3) the estimate channels are the NCA's picture of frame t, which is also its prediction of
 * frame t+1. The loss (L2): against the pixels of frame t+1 that arrive next ('kept', the seed's
 * loss, the only one possible on the video being reconstructed) or against every pixel of frame t
 * ('all', for training videos known in full). The reconstruction shown for frame t is the estimate
 * with frame t's arriving pixels pasted in.
 */
import type ort from 'onnxruntime-node';
import { UserError, invalidParameterError, requireChoice, requireInt, requireNumber } from '../errors.js';
import { onnxSessionOptions } from '../onnx-session.js';
import { Rng } from '../rng.js';
import { adamStep, learningRate, type AdamSlot } from '../model/training/optimizer.js';
import { PriorTracker, type PriorSettings } from './baselines.js';
import { DEFAULT_MOTION, MotionTracker, requireDualParts, type MotionSettings } from './motion.js';
import type { CameraPathSettings } from './camera-path.js';
import { buildStepBackwardGraph, buildStepGraph, stepNames, type ScotopicShape } from './scotopic-graph.js';
import type { Video } from './video.js';

export interface ScotopicConfig {
  colour: 'rgb' | 'grey';
  /** Hidden channels N. */
  hidden: number;
  /** Features F of the 3x3 layer. */
  features: number;
  /** NCA steps between two frames. */
  stepsPerFrame: number;
  /** Freshness kept per frame without an observation (0..1). */
  freshDecay: number;
  /**
   * Gaussian priors (baselines.ts) the cells read as inputs; the estimate starts every frame from
   * the first, so the NCA with w2 = 0 IS that prior baseline (with the arriving pixels pasted in) and
   * training learns a correction. Empty or absent: the estimate carries over from frame to frame.
   */
  priors?: PriorSettings[];
  /**
   * The motion-compensated prior (motion.ts, falling back to the first prior) as inputs; the estimate
   * starts every frame from it, so the NCA with w2 = 0 IS that baseline. Absent: none.
   */
  motion?: MotionSettings;
}

/** The prior baseline's width and decay chosen on the training videos (docs/reconstruct.md). */
export const DEFAULT_PRIOR: PriorSettings = { sigma: 3, decay: 0.6 };

export const DEFAULT_CONFIG: ScotopicConfig = {
  colour: 'rgb', hidden: 12, features: 32, stepsPerFrame: 4, freshDecay: 0.9,
  priors: [DEFAULT_PRIOR, { sigma: 1.5, decay: 0.9 }], motion: DEFAULT_MOTION,
};

/** Trained weights: w1 [F][C][3][3], b1 [F], w2 [U][F] (a 1x1 conv), b2 [U]. */
export interface ScotopicParams {
  config: ScotopicConfig;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/**
 * Channel counts of a config: P prediction/register planes, C all, U written by the NCA; the first
 * channel of the register, of freshness and of the priors' inputs (each P estimate + 1 weight).
 */
export function channelLayout(config: ScotopicConfig): { P: number; N: number; C: number; U: number; register: number; fresh: number; priors: number; motion: number } {
  const P = config.colour === 'rgb' ? 3 : 1;
  const N = config.hidden;
  const G = config.priors?.length ?? 0;
  const motion = 2 * P + N + 1 + G * (P + 1);
  return { P, N, C: motion + (config.motion ? P + 3 : 0), U: P + N, register: P + N, fresh: 2 * P + N, priors: 2 * P + N + 1, motion };
}

/** Checks a config (hidden 0..64, features 1..256, steps 1..64, freshDecay 0..1, at most 4 priors of sigma 0.25..16, decay 0..1). */
export function requireConfig(config: ScotopicConfig): ScotopicConfig {
  if (typeof config !== 'object' || config === null) throw invalidParameterError('config', 'a scotopic NCA config', config);
  const priors = config.priors ?? [];
  if (!Array.isArray(priors) || priors.length > 4) throw invalidParameterError('priors', 'a list of at most 4 {sigma, decay}', priors);
  const m = config.motion;
  if (m !== undefined && (typeof m !== 'object' || m === null)) throw invalidParameterError('motion', 'motion-prior settings', m);
  const motion: MotionSettings | undefined = m && {
    radius: requireNumber('motion radius', m.radius, 0, 4),
    step: requireNumber('motion step', m.step, 0.05, 4),
    matchSigma: requireNumber('motion matchSigma', m.matchSigma, 0.25, 64),
    matchMemory: requireNumber('motion matchMemory', m.matchMemory, 0, 1),
    memoryDecay: requireNumber('motion memoryDecay', m.memoryDecay, 0, 1),
    spread: requireNumber('motion spread', m.spread, 0.25, 16),
    priorWeight: requireNumber('motion priorWeight', m.priorWeight, 1e-6, 100),
    ...(m.refine === undefined ? {} : { refine: requireBoolean('motion refine', m.refine) }),
    ...(m.carry === undefined ? {} : { carry: requireChoice('motion carry', m.carry, ['grid', 'points'] as const) }),
    ...(m.blendSigma === undefined ? {} : { blendSigma: requireNumber('motion blendSigma', m.blendSigma, 0.25, 64) }),
    ...(m.blendPower === undefined ? {} : { blendPower: requireNumber('motion blendPower', m.blendPower, 0.25, 16) }),
    ...(m.blendVelocity === undefined ? {} : { blendVelocity: requireChoice('motion blendVelocity', m.blendVelocity, ['current', 'previous'] as const) }),
    ...(m.path === undefined ? {} : { path: requireCameraPath(m.path) }),
    ...(m.dual === undefined ? {} : { dual: requireBoolean('motion dual', m.dual) }),
  };
  if (motion) requireDualParts(motion);
  if (motion && (2 * motion.radius) / motion.step > 16) throw invalidParameterError('motion step', `at most 17 candidates a side (radius ${motion.radius})`, motion.step);
  if (motion?.path && (2 * motion.radius) / motion.path.step > 32) throw invalidParameterError('motion path step', `at most 33 candidates a side (radius ${motion.radius})`, motion.path.step);
  return {
    colour: requireChoice('colour', config.colour, ['rgb', 'grey'] as const),
    hidden: requireInt('hidden', config.hidden, 0, 64),
    features: requireInt('features', config.features, 1, 256),
    stepsPerFrame: requireInt('--steps-per-frame', config.stepsPerFrame, 1, 64),
    freshDecay: requireNumber('freshDecay', config.freshDecay, 0, 1),
    priors: priors.map((p: PriorSettings) => ({ sigma: requireNumber('prior sigma', p?.sigma, 0.25, 16), decay: requireNumber('prior decay', p?.decay, 0, 1) })),
    ...(motion ? { motion } : {}),
  };
}

/** Checks the camera-path settings of a motion prior (camera-path.ts). */
function requireCameraPath(path: CameraPathSettings): CameraPathSettings {
  if (typeof path !== 'object' || path === null) throw invalidParameterError('motion path', 'camera-path settings', path);
  return {
    lags: requireInt('motion path lags', path.lags, 1, 64),
    memory: requireNumber('motion path memory', path.memory, 0, 1),
    step: requireNumber('motion path step', path.step, 0.05, 4),
    zoom: requireNumber('motion path zoom', path.zoom, 0, 0.5),
    zoomSteps: requireInt('motion path zoomSteps', path.zoomSteps, 1, 16),
    spread: requireNumber('motion path spread', path.spread, 0.25, 16),
    ...(path.margin === undefined ? {} : { margin: requireNumber('motion path margin', path.margin, 0, 100) }),
  };
}

function requireBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidParameterError(name, 'true or false', value);
  return value;
}

/** One tracker per prior of the config for a grid of width x height cells (observe's `priors`). */
export function priorTrackers(config: ScotopicConfig, width: number, height: number): PriorTracker[] {
  const { P } = channelLayout(config);
  return (config.priors ?? []).map((p) => new PriorTracker(P, width, height, p));
}

/** The motion-compensated prior of a config for a grid of width x height cells (null without `motion`). */
export function motionTracker(config: ScotopicConfig, width: number, height: number): MotionTracker | null {
  if (!config.motion) return null;
  return new MotionTracker(channelLayout(config).P, width, height, config.motion, config.priors?.[0] ?? DEFAULT_PRIOR);
}

/** Fresh weights: w1 ~ U(+-1/sqrt(9C)), w2 = 0 (the NCA starts as the identity), biases 0. */
export function initParams(config: ScotopicConfig, rng: Rng): ScotopicParams {
  config = requireConfig(config);
  const { C, U } = channelLayout(config);
  const F = config.features;
  const bound = 1 / Math.sqrt(9 * C);
  return {
    config,
    w1: rng.fillUniform(new Float32Array(F * C * 9), -bound, bound),
    b1: new Float32Array(F),
    w2: new Float32Array(U * F),
    b2: new Float32Array(U),
  };
}

/** The start state of B grids: prediction 0.5, everything else 0. Float32Array [B][C][H][W]. */
export function startState(config: ScotopicConfig, batch: number, plane: number): Float32Array {
  const { P, C } = channelLayout(config);
  const s = new Float32Array(batch * C * plane);
  for (let b = 0; b < batch; b++) s.fill(0.5, b * C * plane, (b * C + P) * plane);
  return s;
}

/**
 * Which pixels arrive: each pixel of each frame independently with probability `keep`
 * (all of a pixel's colour channels together). Uint8Array [H*W] per frame, 1 = kept.
 */
export function observationMasks(frames: number, plane: number, keep: number, rng: Rng): Uint8Array[] {
  requireNumber('--keep', keep, 0, 1);
  return Array.from({ length: frames }, () => {
    const m = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) m[i] = rng.uniform() < keep ? 1 : 0;
    return m;
  });
}

/**
 * Writes the arriving pixels of one frame into grid `b` of `state` ([B][C][plane]): register = the
 * pixel, freshness = 1 where `mask` is 1; freshness x= freshDecay elsewhere. With priors (`trackers`
 * from priorTrackers, this grid's, fed every frame in order): each prior takes the frame, its
 * estimate and weight are written into its input channels, and the estimate channels become the
 * first prior's estimate. With `motion` (this grid's tracker from motionTracker), the motion prior takes
 * the frame, its estimate, confidence and velocity / 2 go into its channels and the estimate channels
 * become its estimate. Then the estimate = the pixel where `mask` is 1. (Without priors the NCA with
 * w2 = 0 is the hold baseline, with them the first prior baseline, with motion the motion baseline:
 * training starts from it.) `frame` is [P][plane].
 */
export function observe(state: Float32Array, b: number, frame: Float32Array, mask: Uint8Array, config: ScotopicConfig, trackers: readonly PriorTracker[] = [], motion: MotionTracker | null = null): void {
  const { P, C, register, fresh, priors, motion: motionAt } = channelLayout(config);
  const plane = mask.length;
  const base = b * C * plane;
  const f0 = base + fresh * plane;
  if (trackers.length !== (config.priors?.length ?? 0)) throw new RangeError('observe: one tracker per prior of the config');
  trackers.forEach((tracker, k) => {
    tracker.add(frame, mask);
    const at = base + (priors + k * (P + 1)) * plane;
    state.set(tracker.estimate, at);
    const w = tracker.weight;
    for (let i = 0; i < plane; i++) state[at + P * plane + i] = Math.log(w[i]! + 1e-3) / 5;
    if (k === 0) state.set(tracker.estimate, base);
  });
  if (!!config.motion !== !!motion) throw new RangeError('observe: a motion tracker exactly when the config has motion');
  if (motion) {
    motion.add(frame, mask);
    const at = base + motionAt * plane;
    state.set(motion.estimate, at);
    state.set(motion.confidence, at + P * plane);
    for (let i = 0; i < 2 * plane; i++) state[at + (P + 1) * plane + i] = motion.velocity[i]! / 2;
    state.set(motion.estimate, base);
  }
  for (let i = 0; i < plane; i++) {
    if (mask[i]) {
      for (let c = 0; c < P; c++) state[base + (register + c) * plane + i] = state[base + c * plane + i] = frame[c * plane + i]!;
      state[f0 + i] = 1;
    } else state[f0 + i] *= config.freshDecay;
  }
}

type Session = ort.InferenceSession;
type OrtModule = typeof ort;

/** The step's forward (and, for training, backward) sessions for one batch shape. */
export class ScotopicRunner {
  private constructor(
    private readonly ortModule: OrtModule,
    readonly shape: ScotopicShape,
    private readonly forwardSession: Session,
    private readonly backwardSession: Session | null,
  ) {}

  static async create(config: ScotopicConfig, size: { batch: number; width: number; height: number }, opts: { backward: boolean; threads?: number }): Promise<ScotopicRunner> {
    const { C, U } = channelLayout(config);
    const shape: ScotopicShape = { ...size, channels: C, updated: U, features: config.features };
    const ortModule = (await import('onnxruntime-node')).default;
    const options = onnxSessionOptions(opts.threads ?? 2);
    const forward = await ortModule.InferenceSession.create(buildStepGraph(shape), options);
    const backward = opts.backward ? await ortModule.InferenceSession.create(buildStepBackwardGraph(shape), options) : null;
    return new ScotopicRunner(ortModule, shape, forward, backward);
  }

  private weights(params: ScotopicParams): Record<string, ort.Tensor> {
    const { C, U, F } = { C: this.shape.channels, U: this.shape.updated, F: this.shape.features };
    const T = this.ortModule.Tensor;
    return {
      [stepNames.w1]: new T('float32', params.w1, [F, C, 3, 3]),
      [stepNames.b1]: new T('float32', params.b1, [F]),
      [stepNames.w2]: new T('float32', params.w2, [U, F, 1, 1]),
      [stepNames.b2]: new T('float32', params.b2, [U]),
    };
  }

  private stateTensor(name: string, data: Float32Array, channels: number): Record<string, ort.Tensor> {
    const { batch: B, height: H, width: W } = this.shape;
    return { [name]: new this.ortModule.Tensor('float32', data, [B, channels, H, W]) };
  }

  /** One NCA step: the next state and the hidden activations h (for the backward pass). */
  async step(state: Float32Array, params: ScotopicParams): Promise<{ next: Float32Array; hidden: Float32Array }> {
    const out = await this.forwardSession.run({ ...this.weights(params), ...this.stateTensor(stepNames.state, state, this.shape.channels) });
    return { next: out[stepNames.next]!.data as Float32Array, hidden: out[stepNames.hidden]!.data as Float32Array };
  }

  /** dL/d(state) of one step from dL/d(next), and the step's weight gradients added into `grads`. */
  async backward(state: Float32Array, hidden: Float32Array, gradNext: Float32Array, params: ScotopicParams, grads: ParamGrads): Promise<Float32Array> {
    if (!this.backwardSession) throw new Error('ScotopicRunner: created without a backward session');
    const w = this.weights(params);
    const out = await this.backwardSession.run({
      [stepNames.w1]: w[stepNames.w1]!,
      [stepNames.w2]: w[stepNames.w2]!,
      ...this.stateTensor(stepNames.state, state, this.shape.channels),
      ...this.stateTensor(stepNames.hidden, hidden, this.shape.features),
      ...this.stateTensor(stepNames.gradNext, gradNext, this.shape.channels),
    });
    addInto(grads.w1, out[stepNames.gw1]!.data as Float32Array);
    addInto(grads.b1, out[stepNames.gb1]!.data as Float32Array);
    addInto(grads.w2, out[stepNames.gw2]!.data as Float32Array);
    addInto(grads.b2, out[stepNames.gb2]!.data as Float32Array);
    return out[stepNames.gradState]!.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.forwardSession.release();
    await this.backwardSession?.release();
  }
}

export interface ParamGrads {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

function addInto(acc: Float32Array, g: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i]! += g[i]!;
}

export interface ReconstructionRun {
  /** The NCA's estimate of each frame after its pixels arrived and stepsPerFrame steps ran, [P][H][W] per frame. */
  predictions: Float32Array[];
  /** The predictions with the arriving pixels pasted in: what `nca reconstruct` shows and scores. */
  reconstruction: Float32Array[];
}

/**
 * Runs a trained NCA over a whole video (one grid of the video's size) given the observation masks.
 * The video must have the params' colour (1 or 3 channels).
 */
export async function runScotopic(params: ScotopicParams, video: Video, masks: readonly Uint8Array[], opts: { threads?: number; onProgress?: (done: number, total: number) => void; signal?: AbortSignal } = {}): Promise<ReconstructionRun> {
  const config = params.config;
  const { P, C } = channelLayout(config);
  if (video.channels !== P) throw new UserError(`the NCA was trained on ${config.colour === 'rgb' ? 'colour' : 'grey'} video; this one is ${video.channels === 3 ? 'colour' : 'grey'}`);
  if (masks.length !== video.frames.length) throw new RangeError('runScotopic: one mask per frame');
  const plane = video.width * video.height;
  const runner = await ScotopicRunner.create(config, { batch: 1, width: video.width, height: video.height }, { backward: false, threads: opts.threads });
  try {
    let state = startState(config, 1, plane);
    const trackers = priorTrackers(config, video.width, video.height);
    const motion = motionTracker(config, video.width, video.height);
    const predictions: Float32Array[] = [];
    const reconstruction: Float32Array[] = [];
    for (let t = 0; t < video.frames.length; t++) {
      opts.signal?.throwIfAborted();
      const frame = video.frames[t]!, mask = masks[t]!;
      observe(state, 0, frame, mask, config, trackers, motion);
      for (let k = 0; k < config.stepsPerFrame; k++) state = (await runner.step(state, params)).next;
      const estimate = state.slice(0, P * plane);
      predictions.push(estimate);
      reconstruction.push(pasteObserved(estimate, frame, mask, P));
      opts.onProgress?.(t + 1, video.frames.length);
    }
    return { predictions, reconstruction };
  } finally {
    await runner.dispose();
  }
}

/** A copy of `estimate` ([P][plane]) with the pixels where `mask` is 1 taken from `frame`. */
export function pasteObserved(estimate: Float32Array, frame: Float32Array, mask: Uint8Array, P: number): Float32Array {
  const out = estimate.slice();
  const plane = mask.length;
  for (let i = 0; i < plane; i++) if (mask[i]) for (let c = 0; c < P; c++) out[c * plane + i] = frame[c * plane + i]!;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Training

export interface TrainOptions {
  /** Iterations (Adam steps). */
  iters: number;
  /** Grids per iteration, each a crop of a training video, carried from one iteration to the next. */
  batch?: number;
  /** Crop side in cells (default 32; at most the smallest video's side). */
  crop?: number;
  /** Frames per iteration (the truncation window of backpropagation through time). Default 8. */
  window?: number;
  /** Fraction of pixels that arrive (default 0.01). */
  keep: number;
  /**
   * Where the loss is taken: 'kept' (the pixels that arrive, as the seed does; the only choice when
   * training on the video being reconstructed) or 'all' (every pixel: for training videos whose
   * frames are known in full). Default 'kept'.
   */
  lossPixels?: 'kept' | 'all';
  /**
   * Each stream sees its crop mirrored, transposed and with its colour channels permuted at random
   * (one choice per stream, kept along its video): 48 views of every training video. Default false.
   */
  augment?: boolean;
  /** Adam's learning rate (default 2e-3), cosine-decayed to lr x 0.1. */
  lr?: number;
  seed: number | string;
  threads?: number;
  /** Start from these weights (their config is used) instead of fresh ones. */
  init?: ScotopicParams;
  onProgress?: (iteration: number, total: number, loss: number) => void;
  /** Called every `checkpointEvery` iterations and at the end with the weights so far. */
  onCheckpoint?: (params: ScotopicParams, iteration: number) => Promise<void>;
  checkpointEvery?: number;
  signal?: AbortSignal;
}

/** One grid of the training batch: which video, where its crop is, the next frame, the carried state. */
interface Stream {
  video: number;
  x0: number;
  y0: number;
  /** The stream's view of its crop (augment): mirror x, mirror y, swap the axes, the order of the colour channels. */
  view: CropView;
  t: number;
}

/**
 * Trains the scotopic NCA on `videos` (all of the config's colour) with truncated backpropagation
 * through time: each iteration runs `window` frames of `batch` crops, the state carried over from
 * the previous iteration (a stream restarts from the start state on a random video and crop when
 * its video ends). Returns the weights and the loss of every iteration (mean squared error over the
 * loss pixels).
 */
export async function trainScotopic(videos: readonly Video[], config: ScotopicConfig, opts: TrainOptions): Promise<{ params: ScotopicParams; losses: number[] }> {
  if (videos.length === 0) throw new UserError('training needs at least one video');
  const iters = requireInt('--iters', opts.iters, 1, 1e7);
  const B = requireInt('batch', opts.batch ?? 4, 1, 256);
  const L = requireInt('window', opts.window ?? 8, 1, 1024);
  const keep = requireNumber('--keep', opts.keep, 0, 1);
  const lossPixels = requireChoice('lossPixels', opts.lossPixels ?? 'kept', ['kept', 'all'] as const);
  const lr0 = requireNumber('lr', opts.lr ?? 2e-3, 0, 1);
  const rng = new Rng(opts.seed);
  const initRng = rng.fork(), streamRng = rng.fork(), maskRng = rng.fork();
  const params = opts.init ? cloneParams(opts.init) : initParams(config, initRng);
  config = params.config;
  const { P, C, register } = channelLayout(config);
  const withPriors = (config.priors?.length ?? 0) > 0 || !!config.motion;
  const K = config.stepsPerFrame;
  for (const v of videos) {
    if (v.channels !== P) throw new UserError(`every training video must be ${config.colour === 'rgb' ? 'colour' : 'grey'}`);
    if (v.frames.length < L + 1) throw new UserError(`a training video has ${v.frames.length} frames; training windows need at least ${L + 1}`);
  }
  const minSide = Math.min(...videos.map((v) => Math.min(v.width, v.height)));
  const S = Math.min(requireInt('crop', opts.crop ?? 32, 4, 4096), minSide);
  const plane = S * S;
  const runner = await ScotopicRunner.create(config, { batch: B, width: S, height: S }, { backward: true, threads: opts.threads });

  // b2 is not trained (it stays 0): a bias on a residual update integrates into a drift of the
  // state over a long video (measured: the loss climbed along every carried stream with it).
  const slots: AdamSlot[] = (['w1', 'b1', 'w2'] as const).map((k) => ({ value: params[k], grad: new Float32Array(params[k].length), m: new Float32Array(params[k].length), v: new Float32Array(params[k].length) }));
  const grads: ParamGrads = { w1: slots[0]!.grad, b1: slots[1]!.grad, w2: slots[2]!.grad, b2: new Float32Array(params.b2.length) };
  const newStream = (): Stream => {
    const video = streamRng.int(videos.length);
    const v = videos[video]!;
    const x0 = streamRng.int(v.width - S + 1), y0 = streamRng.int(v.height - S + 1);
    if (!opts.augment) return { video, x0, y0, t: 0, view: IDENTITY_VIEW };
    const order = [0, 1, 2].slice(0, P);
    for (let i = P - 1; i > 0; i--) {
      const j = streamRng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return { video, x0, y0, t: 0, view: { flipX: streamRng.uniform() < 0.5, flipY: streamRng.uniform() < 0.5, transpose: streamRng.uniform() < 0.5, channels: order } };
  };
  const streams = Array.from({ length: B }, newStream);
  const trackers = streams.map(() => priorTrackers(config, S, S));
  const motions = streams.map(() => motionTracker(config, S, S));
  let state = startState(config, B, plane);
  const crops = Array.from({ length: L + 1 }, () => Array.from({ length: B }, () => new Float32Array(P * plane)));
  const masks = Array.from({ length: L + 1 }, () => Array.from({ length: B }, () => new Uint8Array(plane)));
  const losses: number[] = [];
  const everyCheckpoint = opts.checkpointEvery ?? 0;

  try {
    for (let it = 0; it < iters; it++) {
      opts.signal?.throwIfAborted();
      // streams whose video has no full window left restart from the start state
      for (let b = 0; b < B; b++) {
        const st = streams[b]!;
        if (st.t + L + 1 > videos[st.video]!.frames.length) {
          streams[b] = newStream();
          for (const tr of trackers[b]!) tr.reset();
          motions[b]?.reset();
          state.fill(0, b * C * plane, (b + 1) * C * plane);
          state.fill(0.5, b * C * plane, (b * C + P) * plane);
        }
      }
      // this window's frames (cropped) and arriving pixels; one frame more for the 'kept' loss
      for (let f = 0; f <= L; f++) {
        for (let b = 0; b < B; b++) {
          const st = streams[b]!;
          cropFrame(videos[st.video]!, st.t + f, st.x0, st.y0, S, st.view, crops[f]![b]!);
          const m = masks[f]![b]!;
          for (let i = 0; i < plane; i++) m[i] = maskRng.uniform() < keep ? 1 : 0;
        }
      }
      // forward: observe, K steps (keeping each step's input and hidden), then the loss on the estimate
      const stepInputs: Float32Array[] = [];
      const hiddens: Float32Array[] = [];
      const lossGrads: Float32Array[] = [];
      let sse = 0, count = 0;
      for (let f = 0; f < L; f++) {
        state = state.slice();
        for (let b = 0; b < B; b++) observe(state, b, crops[f]![b]!, masks[f]![b]!, config, trackers[b]!, motions[b]!);
        for (let k = 0; k < K; k++) {
          const out = await runner.step(state, params);
          stepInputs.push(state);
          hiddens.push(out.hidden);
          state = out.next;
        }
        // 'all': the estimate against every pixel of this frame; 'kept': against the pixels of the
        // next frame that arrive next (predicting them before they arrive, as the seed does)
        const g = new Float32Array(B * C * plane);
        for (let b = 0; b < B; b++) {
          const y = lossPixels === 'all' ? crops[f]![b]! : crops[f + 1]![b]!, m = masks[f + 1]![b]!;
          for (let c = 0; c < P; c++) {
            const off = (b * C + c) * plane;
            for (let i = 0; i < plane; i++) {
              if (lossPixels === 'kept' && !m[i]) continue;
              const e = state[off + i]! - y[c * plane + i]!;
              sse += e * e;
              count++;
              g[off + i] = 2 * e;
            }
          }
        }
        lossGrads.push(g);
      }
      const norm = count > 0 ? 1 / count : 0;
      losses.push(count > 0 ? sse / count : 0);
      // backward through time
      for (const g of [grads.w1, grads.b1, grads.w2, grads.b2]) g.fill(0);
      let g: Float32Array = new Float32Array(B * C * plane);
      for (let f = L - 1; f >= 0; f--) {
        const lg = lossGrads[f]!;
        for (let i = 0; i < g.length; i++) g[i]! += lg[i]! * norm;
        for (let k = K - 1; k >= 0; k--) g = await runner.backward(stepInputs[f * K + k]!, hiddens[f * K + k]!, g, params, grads);
        g = g.slice();
        // observing overwrites the register, freshness and prior inputs, and the estimate where a pixel
        // arrived (everywhere with priors): no gradient to the state before
        for (let b = 0; b < B; b++) {
          g.fill(0, (b * C + register) * plane, (b * C + C) * plane);
          if (withPriors) g.fill(0, b * C * plane, (b * C + P) * plane);
          const m = masks[f]![b]!;
          for (let c = 0; c < P; c++) for (let i = 0; i < plane; i++) if (m[i]) g[(b * C + c) * plane + i] = 0;
        }
      }
      adamStep(slots, { lr: learningRate({ iters, lr: lr0, lrFinal: 0.1 }, it), step: it + 1, clipNorm: 1 });
      for (const st of streams) st.t += L;
      opts.onProgress?.(it + 1, iters, losses[it]!);
      if (opts.onCheckpoint && ((everyCheckpoint > 0 && (it + 1) % everyCheckpoint === 0) || it + 1 === iters)) await opts.onCheckpoint(params, it + 1);
    }
  } finally {
    await runner.dispose();
  }
  return { params, losses };
}

interface CropView {
  flipX: boolean;
  flipY: boolean;
  transpose: boolean;
  /** Output channel c is input channel channels[c]. */
  channels: number[];
}

const IDENTITY_VIEW: CropView = { flipX: false, flipY: false, transpose: false, channels: [0, 1, 2] };

/** Frame t of `video`, the S x S crop at (x0, y0) seen through `view`, into `out` [P][S][S]. */
function cropFrame(video: Video, t: number, x0: number, y0: number, S: number, view: CropView, out: Float32Array): void {
  const src = video.frames[t]!;
  const inPlane = video.width * video.height;
  for (let c = 0; c < video.channels; c++) {
    const from = view.channels[c]! * inPlane;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let sx = view.transpose ? y : x, sy = view.transpose ? x : y;
        if (view.flipX) sx = S - 1 - sx;
        if (view.flipY) sy = S - 1 - sy;
        out[c * S * S + y * S + x] = src[from + (y0 + sy) * video.width + x0 + sx]!;
      }
    }
  }
}

export function cloneParams(p: ScotopicParams): ScotopicParams {
  return { config: { ...p.config }, w1: p.w1.slice(), b1: p.b1.slice(), w2: p.w2.slice(), b2: p.b2.slice() };
}

// ---------------------------------------------------------------------------------------------
// Parameters file

export const SCOTOPIC_FORMAT = 'nca-scotopic';

/** The parameters file: JSON { format, version: 1, config, w1, b1, w2, b2, trainedOn? }. */
export function paramsToJson(p: ScotopicParams, meta: Record<string, unknown> = {}): string {
  return JSON.stringify({ format: SCOTOPIC_FORMAT, version: 1, config: p.config, ...meta, w1: Array.from(p.w1), b1: Array.from(p.b1), w2: Array.from(p.w2), b2: Array.from(p.b2) });
}

/** Parses a parameters file written by paramsToJson (a UserError naming `source` otherwise). */
export function paramsFromJson(value: unknown, source: string): ScotopicParams {
  const o = value as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || o.format !== SCOTOPIC_FORMAT || o.version !== 1) throw new UserError(`${source} is not a scotopic NCA parameters file (format "${SCOTOPIC_FORMAT}", version 1): give the params.json that nca reconstruct wrote`);
  let config: ScotopicConfig;
  try {
    config = requireConfig(o.config as ScotopicConfig);
  } catch (e) {
    throw new UserError(`${source}: config: ${(e as Error).message}`);
  }
  const { C, U } = channelLayout(config);
  const F = config.features;
  const arr = (name: string, n: number): Float32Array => {
    const a = o[name];
    if (!Array.isArray(a) || a.length !== n || !a.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new UserError(`${source}: ${name} must be ${n} finite numbers`);
    return Float32Array.from(a as number[]);
  };
  return { config, w1: arr('w1', F * C * 9), b1: arr('b1', F), w2: arr('w2', U * F), b2: arr('b2', U) };
}
