import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { buildNcaGraph, graphNames, graphWeights, requireStepProtocol, type StepProtocol } from './graph.js';
import { UserError, invalidParameterError, optionalInt, requireInt } from '../errors.js';
import { onnxSessionOptions } from '../onnx-session.js';
import { CHANNELS, requireParams, type NcaParams } from './params.js';
import type { Rng } from '../rng.js';

export type { StepProtocol } from './graph.js';

export interface EngineOptions {
  width: number;
  height: number;
  /** Independent grids run together with the same weights (default 1). */
  batch?: number;
  /** onnxruntime intra-op threads (default: the number of cores). Spinning is always off. */
  threads?: number;
  protocol: StepProtocol;
  /** NCA steps unrolled per session run (default 8). */
  stepsPerRun?: number;
  /**
   * Weights fed on every run instead of baked into the graph: `setParams` is then free, at ~0.6x the
   * speed. Use it when the weights change while playing (perturbation, latent tracks).
   */
  dynamicWeights?: boolean;
  /** Source of the hidden-channel noise (required when protocol.hidden is 'noise'). */
  rng?: Rng;
}

/** Called after every step with the visible planes: [N][3][H][W] (sigmoid RGB) or [N][carry][H][W]. Valid during the call only. */
export type OnStep = (step: number, visible: Float32Array) => void;

export interface NcaEngine {
  readonly width: number;
  readonly height: number;
  readonly batch: number;
  readonly protocol: StepProtocol;
  readonly threads: number;
  /**
   * Advances `state` ([N][16][H][W], CHW per grid) by `steps` NCA steps and returns the new state
   * (a new array). Under a carry protocol only channels 0..carry-1 are carried; the returned hidden
   * channels are zero.
   */
  run(state: Float32Array, steps: number, onStep?: OnStep, signal?: AbortSignal): Promise<Float32Array>;
  /** Replace the weights (cheap with dynamicWeights, otherwise the sessions are rebuilt). */
  setParams(params: NcaParams): Promise<void>;
  dispose(): Promise<void>;
}

type Session = ort.InferenceSession;

/** Creates an onnxruntime engine that runs the NCA of `params` on grids of the given size. */
export async function createEngine(params: NcaParams, opts: EngineOptions): Promise<NcaEngine> {
  params = requireParams('params', params);
  if (typeof opts !== 'object' || opts === null) throw invalidParameterError('options', 'an object { width, height, protocol, ... }', opts);
  // Grids of 1..16384 cells per side; the whole batch's state ([N][16][H][W] float32) at most 4 GB.
  const W = requireInt('width', opts.width, 1, 16384);
  const H = requireInt('height', opts.height, 1, 16384);
  const N = optionalInt('batch', opts.batch, 1, 65536, 1);
  if (N * W * H > MAX_ENGINE_CELLS) throw new UserError(`batch x width x height is ${N * W * H} cells, more than the ${MAX_ENGINE_CELLS} an engine runs`);
  const protocol = requireStepProtocol('protocol', opts.protocol);
  const K = optionalInt('stepsPerRun', opts.stepsPerRun, 1, 1000, 8);
  const threads = optionalInt('threads', opts.threads, 1, 64, availableParallelism());
  if (opts.dynamicWeights !== undefined && typeof opts.dynamicWeights !== 'boolean') throw invalidParameterError('dynamicWeights', 'a boolean', opts.dynamicWeights);
  const dynamic = opts.dynamicWeights ?? false;
  const free = protocol.kind === 'free';
  const carry = free ? CHANNELS : protocol.carry;
  const noise = !free && protocol.hidden === 'noise';
  const noiseStd = !free && protocol.noiseStd !== undefined ? protocol.noiseStd : 0.1;
  if (noise && (typeof opts.rng !== 'object' || opts.rng === null || typeof opts.rng.fillNormal !== 'function')) throw invalidParameterError('rng', 'an Rng (the protocol draws hidden noise)', opts.rng);
  const plane = H * W;
  const hiddenSize = N * (CHANNELS - carry) * plane;
  const frameChannels = free ? 3 : carry;

  const sessionOptions = onnxSessionOptions(threads);
  let current = params;
  const sessions = new Map<number, Session>();
  let weightFeeds: Record<string, ort.Tensor> = {};
  const setWeightFeeds = (p: NcaParams) => {
    const w = graphWeights(p, protocol);
    weightFeeds = dynamic
      ? {
          w1: new ort.Tensor('float32', w.w1, [CHANNELS, w.inW1, 3, 3]),
          b1: new ort.Tensor('float32', w.b1, [CHANNELS]),
          w2: new ort.Tensor('float32', w.w2, [w.outW2, CHANNELS, 3, 3]),
          b2: new ort.Tensor('float32', w.b2, [w.outW2]),
        }
      : {};
  };
  setWeightFeeds(params);

  const session = async (steps: number): Promise<Session> => {
    let s = sessions.get(steps);
    if (!s) {
      const graph = buildNcaGraph({ batch: N, width: W, height: H, steps, protocol, params: dynamic ? undefined : current });
      s = await ort.InferenceSession.create(graph, sessionOptions);
      sessions.set(steps, s);
    }
    return s;
  };
  await session(K);

  // Two sets of noise buffers: one is read by the running session while the next is filled.
  const noiseSets: Float32Array[][] = noise ? [0, 1].map(() => Array.from({ length: K }, () => new Float32Array(hiddenSize))) : [];
  const fillNoise = (set: Float32Array[], count: number) => {
    for (let k = 0; k < count; k++) opts.rng!.fillNormal(set[k]!, 0, noiseStd);
  };

  return {
    width: W,
    height: H,
    batch: N,
    protocol,
    threads,
    async run(state, steps, onStep, signal) {
      if (!(state instanceof Float32Array)) throw invalidParameterError('state', `a Float32Array of ${N * CHANNELS * plane} numbers`, state);
      requireInt('steps', steps, 0, Number.MAX_SAFE_INTEGER);
      if (onStep !== undefined && typeof onStep !== 'function') throw invalidParameterError('onStep', 'a function', onStep);
      if (state.length !== N * CHANNELS * plane) throw new UserError(`state has ${state.length} numbers, expected ${N * CHANNELS * plane} ([${N}][${CHANNELS}][${H}][${W}])`);
      // Carried channels only: [N][carry][H][W]
      let carried: Float32Array;
      if (free) carried = state.slice();
      else {
        carried = new Float32Array(N * carry * plane);
        for (let n = 0; n < N; n++) carried.set(state.subarray(n * CHANNELS * plane, (n * CHANNELS + carry) * plane), n * carry * plane);
      }
      let done = 0;
      let set = 0;
      if (noise) fillNoise(noiseSets[0]!, Math.min(K, steps));
      while (done < steps) {
        signal?.throwIfAborted();
        const count = Math.min(K, steps - done);
        const s = await session(count);
        const feeds: Record<string, ort.Tensor> = { ...weightFeeds, [graphNames.state]: new ort.Tensor('float32', carried, [N, carry, H, W]) };
        if (noise) for (let k = 0; k < count; k++) feeds[graphNames.noise(k)] = new ort.Tensor('float32', noiseSets[set]![k]!, [N, CHANNELS - carry, H, W]);
        const pending = s.run(feeds);
        // Fill the other noise set while onnxruntime computes this chunk.
        const nextCount = Math.min(K, steps - done - count);
        if (noise && nextCount > 0) fillNoise(noiseSets[1 - set]!, nextCount);
        const out = await pending;
        if (onStep) for (let k = 0; k < count; k++) onStep(done + k + 1, out[graphNames.frame(k)]!.data as Float32Array);
        carried = out[graphNames.next]!.data as Float32Array;
        done += count;
        set = 1 - set;
      }
      if (free) return carried;
      const next = new Float32Array(N * CHANNELS * plane);
      for (let n = 0; n < N; n++) next.set(carried.subarray(n * carry * plane, (n + 1) * carry * plane), n * CHANNELS * plane);
      return next;
    },
    async setParams(p) {
      p = requireParams('params', p);
      current = p;
      setWeightFeeds(p);
      if (!dynamic) {
        const ks = [...sessions.keys()];
        await Promise.all([...sessions.values()].map((s) => s.release()));
        sessions.clear();
        for (const k of ks) await session(k);
      }
    },
    async dispose() {
      await Promise.all([...sessions.values()].map((s) => s.release()));
      sessions.clear();
    },
  };
}

/** The most cells (batch x width x height) an engine runs: a 4 GB float32 state of 16 channels. */
export const MAX_ENGINE_CELLS = 2 ** 26;

/** How many visible channels `onStep` receives per grid. */
export function visibleChannels(protocol: StepProtocol): number {
  return protocol.kind === 'free' ? 3 : protocol.carry;
}
