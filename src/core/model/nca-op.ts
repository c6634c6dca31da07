/**
 * The NCA rollout as a differentiable TensorFlow.js operation, computed on onnxruntime.
 *
 * Training needs the gradient of a loss on T predicted frames with respect to the per-sample NCA
 * parameters (the hypernetwork's output) of a batch. tfjs computes it ~60x slower than onnxruntime,
 * so the rollout's forward and analytic backward (src/core/nca/rollout-graph.ts) run as ONNX graphs
 * and tfjs sees one custom operation:
 *
 *   const pred = ncaRolloutOp(tf, rollout, params [B][4640], rgb0 [B][3][H][W], data);  // [T][B][3][H][W]
 *
 * inside `tf.variableGrads` / `tf.grads`, with any loss written in tfjs on `pred`.
 *
 * Design: tfjs's `customGrad` is synchronous, onnxruntime-node's `session.run` is asynchronous. The
 * onnxruntime sessions live in a worker thread; `NcaRollout` posts a request and blocks on
 * `Atomics.wait` until the worker answers, so forward and backward are ordinary synchronous calls
 * (onnxruntime-node's run is itself a blocking native call scheduled with setImmediate, so the main
 * thread loses nothing it had). This keeps ONE tfjs forward pass per training iteration, instead of
 * running the encoder and hypernetwork twice (once for the parameters' values, once under the tape).
 * The activations the backward pass needs (16 + 16 channels per step and grid, 32 MB at T = 32,
 * B = 8, 32 x 32) stay in the worker between the two calls; only frames and gradients cross.
 *
 * Without tfjs: `rollout.forward(...)`, `rollout.backward(gradPred)` and `rolloutLossAndGrads(...)`
 * (MSE by default) work on Float32Arrays.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Tensor, Tensor2D, Tensor4D, Tensor5D } from '@tensorflow/tfjs';
import { PARAM_COUNT } from '../nca/params.js';
import { onnxSessionOptions } from '../onnx-session.js';
import { HIDDEN, RGB, buildRolloutBackward, buildRolloutForward, rolloutNames, type ForwardConv } from '../nca/rollout-graph.js';
import type { Rng } from '../rng.js';
import type { Tf } from './tf.js';

export interface RolloutOptions {
  /** Grids per batch, each with its own parameters. */
  batch: number;
  width: number;
  height: number;
  /** Frames (NCA steps) per rollout, 1..256. */
  steps: number;
  /** onnxruntime intra-op threads (default: the number of cores). */
  threads?: number;
  /** Forward convolution strategy (default 'group', the faster one here; see docs/training-op.md). */
  forwardConv?: ForwardConv;
}

/** The data of one rollout besides the differentiable inputs (params and rgb0). */
export interface RolloutData {
  /**
   * [T][B][3][H][W]: the ground truth of each predicted frame. Frame t - 1 (t = 1..T-1) is also what
   * step t starts from where masks say "teacher" (values 0..1 like the predictions).
   */
  targets: Float32Array;
  /** [T][B][13][H][W]: the hidden channels of each step (docs/design.md: fresh N(0, 0.1^2) every frame). */
  noise: Float32Array;
  /**
   * [T-1][B] (empty when T = 1): masks[t-1][b] for step t = 1..T-1: 1 = start from the model's own
   * previous prediction, 0 = from the ground truth targets[t-1] (teacher forcing). Values in
   * between mix linearly. Gradients flow through the prediction's share.
   */
  masks: Float32Array;
}

export interface RolloutGrads {
  /** [B][4640] dL/dparams (rows 3..15 of w2 and b2 do not reach the frames: zero). */
  gradParams: Float32Array;
  /** [B][3][H][W] dL/drgb0. */
  gradRgb0: Float32Array;
}

/** A loss on the predictions: its value and dL/dpred (same layout as pred). */
export type RolloutLoss = (pred: Float32Array, targets: Float32Array) => { loss: number; grad: Float32Array };

/** Mean squared error over every value of the T x B frames: mean((pred - target)^2). */
export const mseLoss: RolloutLoss = (pred, targets) => {
  const n = pred.length;
  const grad = new Float32Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = pred[i]! - targets[i]!;
    sum += d * d;
    grad[i] = (2 / n) * d;
  }
  return { loss: sum / n, grad };
};

/** Fresh hidden noise for a rollout: [T][B][13][H][W] ~ N(0, std^2) (default std 0.1, docs/design.md#the-model). */
export function rolloutNoise(rng: Rng, opts: { batch: number; width: number; height: number; steps: number }, std = 0.1, out?: Float32Array): Float32Array {
  const size = opts.steps * opts.batch * HIDDEN * opts.width * opts.height;
  const buffer = out ?? new Float32Array(size);
  if (buffer.length !== size) throw new Error(`rolloutNoise: out has ${buffer.length} floats, expected ${size}`);
  return rng.fillNormal(buffer, 0, std);
}

// ---------------------------------------------------------------------------------------------
// onnxruntime in a worker thread, called synchronously

/**
 * The worker: owns the sessions and the tensors kept between runs. One request at a time; every
 * answer is posted on the port, then the shared flag is raised to wake the blocked caller.
 * Plain JavaScript (a worker cannot load the TypeScript sources under test).
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
const sessions = new Map();
const kept = new Map();
async function handle(msg) {
  if (msg.kind === 'load') {
    sessions.set(msg.id, await ort.InferenceSession.create(msg.model, msg.options));
    return {};
  }
  if (msg.kind === 'run') {
    const session = sessions.get(msg.id);
    const feeds = {};
    for (const name of Object.keys(msg.feeds)) feeds[name] = new ort.Tensor('float32', msg.feeds[name].data, msg.feeds[name].dims);
    for (const name of msg.keptFeeds) {
      const t = kept.get(name);
      if (!t) throw new Error('no kept tensor ' + name);
      feeds[name] = t;
    }
    const out = await session.run(feeds);
    for (const name of msg.keep) kept.set(name, out[name]);
    const outputs = {};
    for (const name of msg.fetch) outputs[name] = out[name].data;
    return { outputs };
  }
  if (msg.kind === 'dispose') {
    kept.clear();
    for (const s of sessions.values()) await s.release();
    sessions.clear();
    return {};
  }
  throw new Error('unknown request ' + msg.kind);
}
port.on('message', (msg) => {
  handle(msg)
    .catch((e) => ({ error: e && e.message ? e.message : String(e) }))
    .then((reply) => {
      port.postMessage(reply);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    });
});
`;

interface Feed {
  data: Float32Array;
  dims: number[];
}

/** Longest a request may take before the caller gives up (a dead worker would block forever). */
const REQUEST_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Blocks until flag[0] is raised (non-zero) or `timeoutMs` pass (then throws, naming `what`). It waits for the flag,
 * not for a wake-up: the worker raises the flag and then notifies, so the previous answer's notify can arrive late,
 * after the caller has lowered the flag for its next request (it saw the flag up, took that answer and posted the
 * next request in between); such a wake-up finds the flag down and waits on.
 */
export function waitForFlag(flag: Int32Array, timeoutMs: number, what: string): void {
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(flag, 0) === 0) {
    const left = deadline - Date.now();
    if (left <= 0 || Atomics.wait(flag, 0, 0, left) === 'timed-out') throw new Error(`the onnxruntime worker did not answer ${what} within ${timeoutMs / 1000} s`);
  }
}

class SyncOrtWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private exited: Error | null = null;

  constructor() {
    const require = createRequire(import.meta.url);
    const flagBuffer = new SharedArrayBuffer(4);
    this.flag = new Int32Array(flagBuffer);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ortPath: require.resolve('onnxruntime-node'), flag: flagBuffer, port: port2 },
      transferList: [port2],
    });
    this.worker.on('error', (e) => (this.exited = e));
    this.worker.on('exit', (code) => (this.exited ??= new Error(`the onnxruntime worker exited (code ${code})`)));
    // Neither keeps the process alive.
    this.worker.unref();
    this.port.unref();
  }

  /** Posts one request and blocks until the answer. */
  call(msg: Record<string, unknown>): Record<string, unknown> {
    if (this.exited) throw this.exited;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(msg);
    waitForFlag(this.flag, REQUEST_TIMEOUT_MS, String(msg.kind));
    // posted before the flag was raised, so it is here
    const reply = receiveMessageOnPort(this.port)?.message as Record<string, unknown> | undefined;
    if (!reply) throw new Error('the onnxruntime worker answered nothing');
    if (typeof reply.error === 'string') throw new Error(`onnxruntime: ${reply.error}`);
    return reply;
  }

  run(id: string, feeds: Record<string, Feed>, opts: { keptFeeds?: string[]; keep?: string[]; fetch: string[] }): Record<string, Float32Array> {
    const reply = this.call({ kind: 'run', id, feeds, keptFeeds: opts.keptFeeds ?? [], keep: opts.keep ?? [], fetch: opts.fetch });
    return reply.outputs as Record<string, Float32Array>;
  }

  async terminate(): Promise<void> {
    if (!this.exited) {
      try {
        this.call({ kind: 'dispose' });
      } catch {
        // the worker is going away regardless
      }
    }
    this.port.close();
    await this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// The rollout

/**
 * Forward and backward of the training rollout for fixed (batch, width, height, steps).
 * Create once per shape (about 0.3-1 s: graph building and session set-up), reuse every iteration.
 */
export class NcaRollout {
  readonly batch: number;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  readonly threads: number;
  /** Incremented by every forward(); backward() differentiates the latest one. */
  private generation = 0;
  private hasForward = false;
  private masks = new Float32Array(0);
  private disposed = false;

  private constructor(
    private readonly worker: SyncOrtWorker,
    opts: Required<Pick<RolloutOptions, 'batch' | 'width' | 'height' | 'steps' | 'threads'>>,
  ) {
    this.batch = opts.batch;
    this.width = opts.width;
    this.height = opts.height;
    this.steps = opts.steps;
    this.threads = opts.threads;
  }

  static async create(opts: RolloutOptions): Promise<NcaRollout> {
    const { batch, width, height, steps } = opts;
    for (const [name, v, max] of [['batch', batch, 4096], ['width', width, 4096], ['height', height, 4096], ['steps', steps, 256]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`NcaRollout: ${name} must be an integer in 1..${max}, got ${v}`);
    }
    if (width < 2 || height < 2) throw new Error(`NcaRollout: grids must be at least 2 x 2, got ${width} x ${height}`);
    const threads = opts.threads ?? availableParallelism();
    const spec = { batch, width, height, steps, forwardConv: opts.forwardConv };
    const options = onnxSessionOptions(threads);
    const worker = new SyncOrtWorker();
    try {
      worker.call({ kind: 'load', id: 'forward', model: buildRolloutForward(spec), options });
      worker.call({ kind: 'load', id: 'backward', model: buildRolloutBackward(spec), options });
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    return new NcaRollout(worker, { batch, width, height, steps, threads });
  }

  /** Number of floats of one [T][B][C][H][W] array. */
  private size(channels: number, steps = this.steps): number {
    return steps * this.batch * channels * this.width * this.height;
  }

  private check(name: string, a: Float32Array, expected: number): void {
    if (!(a instanceof Float32Array)) throw new Error(`NcaRollout: ${name} must be a Float32Array`);
    if (a.length !== expected) throw new Error(`NcaRollout: ${name} has ${a.length} floats, expected ${expected}`);
  }

  /**
   * Runs the rollout: returns the predicted frames [T][B][3][H][W] (sigmoid RGB, frame t = after
   * step t + 1), and keeps what backward() needs. params [B][4640], rgb0 [B][3][H][W].
   */
  forward(params: Float32Array, rgb0: Float32Array, data: RolloutData): Float32Array {
    if (this.disposed) throw new Error('NcaRollout: used after dispose()');
    const { batch: B, width: W, height: H, steps: T } = this;
    this.check('params', params, B * PARAM_COUNT);
    this.check('rgb0', rgb0, this.size(RGB, 1));
    this.check('targets', data.targets, this.size(RGB));
    this.check('noise', data.noise, this.size(HIDDEN));
    this.check('masks', data.masks, (T - 1) * B);
    const n = rolloutNames;
    const feeds: Record<string, Feed> = {
      [n.params]: { data: params, dims: [B, PARAM_COUNT] },
      [n.rgb0]: { data: rgb0, dims: [B, RGB, H, W] },
      [n.noise]: { data: data.noise, dims: [T, B, HIDDEN, H, W] },
    };
    if (T > 1) {
      feeds[n.teacher] = { data: data.targets.subarray(0, this.size(RGB, T - 1)), dims: [T - 1, B, RGB, H, W] };
      feeds[n.masks] = { data: data.masks, dims: [T - 1, B] };
    }
    const keep = [n.pred];
    for (let t = 0; t < T; t++) keep.push(n.state(t), n.hidden(t));
    const out = this.worker.run('forward', feeds, { keep, fetch: [n.pred] });
    this.generation++;
    this.hasForward = true;
    this.masks = data.masks.slice();
    return out[n.pred]!;
  }

  /** The generation of the latest forward() (to check that a backward() matches it). */
  get forwardGeneration(): number {
    return this.generation;
  }

  /**
   * Backpropagates dL/dpred [T][B][3][H][W] through the latest forward(): the gradients with
   * respect to its params and rgb0. params must be the ones given to forward().
   */
  backward(params: Float32Array, gradPred: Float32Array): RolloutGrads {
    if (this.disposed) throw new Error('NcaRollout: used after dispose()');
    if (!this.hasForward) throw new Error('NcaRollout: backward() before forward()');
    const { batch: B, width: W, height: H, steps: T } = this;
    this.check('params', params, B * PARAM_COUNT);
    this.check('gradPred', gradPred, this.size(RGB));
    const n = rolloutNames;
    const feeds: Record<string, Feed> = {
      [n.params]: { data: params, dims: [B, PARAM_COUNT] },
      [n.gradPred]: { data: gradPred, dims: [T, B, RGB, H, W] },
    };
    if (T > 1) feeds[n.masks] = { data: this.masks, dims: [T - 1, B] };
    const keptFeeds = [n.pred];
    for (let t = 0; t < T; t++) keptFeeds.push(n.state(t), n.hidden(t));
    const out = this.worker.run('backward', feeds, { keptFeeds, fetch: [n.gradParams, n.gradRgb0] });
    return { gradParams: out[n.gradParams]!, gradRgb0: out[n.gradRgb0]! };
  }

  /** Releases the sessions and stops the worker. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.worker.terminate();
  }
}

/**
 * Forward, loss and backward in one call, without tfjs: the loss (MSE against data.targets by
 * default), the predictions [T][B][3][H][W] and the gradients for params [B][4640] and rgb0.
 */
export function rolloutLossAndGrads(
  rollout: NcaRollout,
  params: Float32Array,
  rgb0: Float32Array,
  data: RolloutData,
  lossFn: RolloutLoss = mseLoss,
): { loss: number; predictions: Float32Array } & RolloutGrads {
  const predictions = rollout.forward(params, rgb0, data);
  const { loss, grad } = lossFn(predictions, data.targets);
  return { loss, predictions, ...rollout.backward(params, grad) };
}

/**
 * The rollout as a tfjs operation: predictions [T][B][3][H][W] of `params` [B][4640] (e.g. the
 * hypernetwork's output) started from `rgb0` [B][3][H][W], differentiable with respect to both.
 * The forward pass runs on onnxruntime when the op is called; its gradient runs the ORT backward
 * when tfjs asks for it. If another forward() ran on the same rollout in between, the gradient
 * re-runs this call's forward first (correct, one extra forward).
 */
export function ncaRolloutOp(tf: Tf, rollout: NcaRollout, params: Tensor2D, rgb0: Tensor4D, data: RolloutData): Tensor5D {
  const { batch: B, width: W, height: H, steps: T } = rollout;
  const expect = (name: string, t: Tensor, shape: number[]) => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new Error(`ncaRolloutOp: ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  };
  expect('params', params, [B, PARAM_COUNT]);
  expect('rgb0', rgb0, [B, RGB, H, W]);
  const op = tf.customGrad((...inputs) => {
    const [p, r] = inputs as [Tensor, Tensor];
    const paramsData = Float32Array.from(p.dataSync());
    const rgb0Data = Float32Array.from(r.dataSync());
    const pred = rollout.forward(paramsData, rgb0Data, data);
    const generation = rollout.forwardGeneration;
    const value = tf.tensor5d(pred, [T, B, RGB, H, W]);
    const gradFunc = (dy: Tensor): Tensor[] => {
      if (rollout.forwardGeneration !== generation) rollout.forward(paramsData, rgb0Data, data);
      const grads = rollout.backward(paramsData, Float32Array.from(dy.dataSync()));
      return [tf.tensor2d(grads.gradParams, [B, PARAM_COUNT]), tf.tensor4d(grads.gradRgb0, [B, RGB, H, W])];
    };
    return { value, gradFunc };
  });
  return op(params, rgb0) as Tensor5D;
}
