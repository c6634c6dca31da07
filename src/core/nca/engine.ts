import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { PAD, PADDED_INPUT, buildNcaGraph, graphNames, graphWeights, requireStepProtocol, type StepProtocol } from './graph.js';
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
  /**
   * NCA steps unrolled per session run (default: 8, fewer on large grids so that K x cells stays
   * within MAX_UNROLLED_CELLS: 1 at 1920x1080; see docs/video.md#memory-at-hd).
   */
  stepsPerRun?: number;
  /**
   * Weights fed on every run instead of baked into the graph: `setParams` is then free, at ~0.6x the
   * speed. Use it when the weights change while playing (perturbation, latent tracks).
   */
  dynamicWeights?: boolean;
  /**
   * Grids of batch 1 with more cells than this run one step at a time in bands of rows of about
   * this many cells (default BAND_CELLS = 2^19; same results, onnxruntime's memory bounded by a
   * band). Ignored when stepsPerRun is given.
   */
  bandCells?: number;
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
  /** Bands of rows a step runs in: 1, or more on a large grid (see BAND_CELLS). */
  readonly bands: number;
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
  const K = optionalInt('stepsPerRun', opts.stepsPerRun, 1, 1000, defaultStepsPerRun(N * W * H));
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

  // Sessions by (unrolled steps, grid height): a banded engine runs one step on bands of rows.
  const session = async (steps: number, height = H): Promise<Session> => {
    const key = steps * 65536 + height;
    let s = sessions.get(key);
    if (!s) {
      const graph = buildNcaGraph({ batch: N, width: W, height, steps, protocol, params: dynamic ? undefined : current, form: 'engine' });
      s = await ort.InferenceSession.create(graph, sessionOptions);
      sessions.set(key, s);
    }
    return s;
  };
  const rebuildSessions = async () => {
    const keys = [...sessions.keys()];
    await Promise.all([...sessions.values()].map((s) => s.release()));
    sessions.clear();
    for (const k of keys) await session(Math.floor(k / 65536), k % 65536);
  };
  const bandCells = optionalInt('bandCells', opts.bandCells, 64, MAX_ENGINE_CELLS, BAND_CELLS);
  const bands = opts.stepsPerRun === undefined && N === 1 && W * H > bandCells && H >= 2 * Math.ceil((W * H) / bandCells) ? bandLayout(W, H, bandCells) : null;
  if (bands) {
    for (const h of new Set(bands.map((b) => b.rows))) await session(1, h + 2 * BAND_HALO);
    const runBanded = bandedRunner({ W, H, protocol, bands, rng: opts.rng, noiseStd, session, weightFeeds: () => weightFeeds });
    return {
      width: W,
      height: H,
      batch: N,
      protocol,
      threads,
      bands: bands.length,
      run: runBanded,
      async setParams(p) {
        p = requireParams('params', p);
        current = p;
        setWeightFeeds(p);
        if (!dynamic) await rebuildSessions();
      },
      async dispose() {
        await Promise.all([...sessions.values()].map((s) => s.release()));
        sessions.clear();
      },
    };
  }
  await session(K);

  // The graph's inputs but the state, in two sets: one is read by the running session while the next
  // one's noise is drawn. Each: the first step's input [N][inW1][H+4][W+4] (the carried channels and
  // the step's noise, padded by PAD cells of torus) and the later steps' noise [N][16-carry][H+4][W+4].
  const inW1 = free || noise ? CHANNELS : carry;
  const [PH, PW] = [H + 2 * PAD, W + 2 * PAD];
  const hidden = CHANNELS - carry;
  const sets = [0, 1].map(() => ({
    padded: new Float32Array(N * inW1 * PH * PW),
    noise: noise ? Array.from({ length: K - 1 }, () => new Float32Array(N * hidden * PH * PW)) : [],
  }));
  let oddWidthScratch: Float32Array | null = null;
  const scratch = () => (oddWidthScratch ??= new Float32Array(hiddenSize));
  /** The noise of `count` steps, in the order of K arrays [N][16-carry][H][W] drawn one after the other. */
  const fillNoise = (set: (typeof sets)[number], count: number) => {
    for (let k = 0; k < count; k++) {
      const dst = k === 0 ? (n: number) => set.padded.subarray((n * inW1 + carry) * PH * PW) : (n: number) => set.noise[k - 1]!.subarray(n * hidden * PH * PW);
      drawPaddedNoise(opts.rng!, N, hidden, H, W, noiseStd, dst, scratch);
    }
  };

  return {
    width: W,
    height: H,
    batch: N,
    protocol,
    threads,
    bands: 1,
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
      if (noise) fillNoise(sets[0]!, Math.min(K, steps));
      while (done < steps) {
        signal?.throwIfAborted();
        const count = Math.min(K, steps - done);
        const s = await session(count);
        const inputs = sets[set]!;
        for (let n = 0; n < N; n++) torusRows(carried.subarray(n * carry * plane), carry, H, W, 0, H, inputs.padded.subarray(n * inW1 * PH * PW));
        const feeds: Record<string, ort.Tensor> = {
          ...weightFeeds,
          [graphNames.state]: new ort.Tensor('float32', carried, [N, carry, H, W]),
          [PADDED_INPUT]: new ort.Tensor('float32', inputs.padded, [N, inW1, PH, PW]),
        };
        for (let k = 1; k < count && noise; k++) feeds[graphNames.noise(k)] = new ort.Tensor('float32', inputs.noise[k - 1]!, [N, hidden, PH, PW]);
        const pending = s.run(feeds);
        // Fill the other noise set while onnxruntime computes this chunk.
        const nextCount = Math.min(K, steps - done - count);
        if (noise && nextCount > 0) fillNoise(sets[1 - set]!, nextCount);
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
      if (!dynamic) await rebuildSessions();
    },
    async dispose() {
      await Promise.all([...sessions.values()].map((s) => s.release()));
      sessions.clear();
    },
  };
}

/**
 * Unrolled steps x cells per session run at most, for the default stepsPerRun: every unrolled step
 * keeps its hidden-noise input and its frame output alive for the whole run, 64 bytes per cell
 * (16 channels) each, so 8 steps at 1920x1080 needed 4.85 GB. 8 x 512 x 512: 8 steps up to
 * 512 x 512, 2 at 1280 x 720, 1 at 1920 x 1080.
 */
export const MAX_UNROLLED_CELLS = 8 * 512 * 512;

/** The default steps per session run for a grid of `cells` (batch x width x height): 1..8. */
export function defaultStepsPerRun(cells: number): number {
  return Math.max(1, Math.min(8, Math.floor(MAX_UNROLLED_CELLS / cells)));
}

/** The most cells (batch x width x height) an engine runs: a 4 GB float32 state of 16 channels. */
export const MAX_ENGINE_CELLS = 2 ** 26;

/** How many visible channels `onStep` receives per grid. */
export function visibleChannels(protocol: StepProtocol): number {
  return protocol.kind === 'free' ? 3 : protocol.carry;
}

/**
 * Large grids run in bands of rows (docs/video.md#memory-at-hd): above BAND_CELLS cells, one step at
 * a time, each band of ~BAND_CELLS cells with BAND_HALO rows of the torus above and below it (the
 * rule sees 2 cells away: two 3x3 convolutions), its inner rows kept. onnxruntime's buffers then
 * hold one band, not the grid: 1920 x 1080 runs in 4 bands of 270 rows. The result is the same as
 * one run over the whole grid (the same noise draws, the same arithmetic per cell).
 */
export const BAND_CELLS = 2 ** 19;
/** Rows of context above and below a band: the 5 x 5 receptive field of one step. */
export const BAND_HALO = 2;

interface Band {
  /** First row and number of rows of the band (without halo). */
  y0: number;
  rows: number;
}

/** Bands of about `bandCells` cells covering H rows, as equal as possible. */
function bandLayout(W: number, H: number, bandCells: number): Band[] {
  const count = Math.ceil((W * H) / bandCells);
  const bands: Band[] = [];
  for (let b = 0, y0 = 0; b < count; b++) {
    const rows = Math.floor(H / count) + (b < H % count ? 1 : 0);
    bands.push({ y0, rows });
    y0 += rows;
  }
  return bands;
}

/** The run() of a banded engine (batch 1). Buffers are allocated once, here. */
function bandedRunner(o: {
  W: number;
  H: number;
  protocol: StepProtocol;
  bands: Band[];
  rng: Rng | undefined;
  noiseStd: number;
  session: (steps: number, height: number) => Promise<Session>;
  weightFeeds: () => Record<string, ort.Tensor>;
}): NcaEngine['run'] {
  const { W, H, protocol, bands } = o;
  const plane = W * H;
  const free = protocol.kind === 'free';
  const carry = free ? CHANNELS : protocol.carry;
  const hidden = CHANNELS - carry;
  const noise = !free && protocol.hidden === 'noise';
  const visible = free ? 3 : carry;
  const maxRows = Math.max(...bands.map((b) => b.rows)) + 2 * BAND_HALO;
  // [carry][H][W] twice (this step's and the next), the step's hidden noise [hidden][H][W], one band's inputs.
  let cur = new Float32Array(carry * plane);
  let nxt = new Float32Array(carry * plane);
  const frame = free ? new Float32Array(3 * plane) : null;
  const noiseFull = noise ? new Float32Array(hidden * plane) : null;
  const bandState = new Float32Array(carry * maxRows * W);
  const inW1 = free || noise ? CHANNELS : carry;
  const bandPadded = new Float32Array(inW1 * (maxRows + 2 * PAD) * (W + 2 * PAD));
  /** Rows y0 - HALO .. y0 + rows + HALO - 1 (wrapped) of each of `channels` planes of `src` into `dst` [channels][rows + 2 HALO][W]. */
  const gather = (src: Float32Array, channels: number, band: Band, dst: Float32Array) => {
    const R = band.rows + 2 * BAND_HALO;
    for (let c = 0; c < channels; c++) {
      for (let r = 0; r < R; r++) {
        const y = (band.y0 - BAND_HALO + r + H) % H;
        dst.set(src.subarray(c * plane + y * W, c * plane + (y + 1) * W), (c * R + r) * W);
      }
    }
  };
  /** The inner rows of a band's output [channels][rows + 2 HALO][W] into `dst` [channels][H][W]. */
  const scatter = (src: Float32Array, channels: number, band: Band, dst: Float32Array) => {
    const R = band.rows + 2 * BAND_HALO;
    for (let c = 0; c < channels; c++) {
      dst.set(src.subarray((c * R + BAND_HALO) * W, (c * R + BAND_HALO + band.rows) * W), c * plane + band.y0 * W);
    }
  };
  return async (state, steps, onStep, signal) => {
    if (!(state instanceof Float32Array)) throw invalidParameterError('state', `a Float32Array of ${CHANNELS * plane} numbers`, state);
    requireInt('steps', steps, 0, Number.MAX_SAFE_INTEGER);
    if (onStep !== undefined && typeof onStep !== 'function') throw invalidParameterError('onStep', 'a function', onStep);
    if (state.length !== CHANNELS * plane) throw new UserError(`state has ${state.length} numbers, expected ${CHANNELS * plane} ([1][${CHANNELS}][${H}][${W}])`);
    cur.set(state.subarray(0, carry * plane));
    for (let k = 1; k <= steps; k++) {
      signal?.throwIfAborted();
      if (noiseFull) o.rng!.fillNormal(noiseFull, 0, o.noiseStd);
      for (const band of bands) {
        const R = band.rows + 2 * BAND_HALO;
        const s = await o.session(1, R);
        gather(cur, carry, band, bandState);
        const feeds: Record<string, ort.Tensor> = { ...o.weightFeeds(), [graphNames.state]: new ort.Tensor('float32', bandState.subarray(0, carry * R * W), [1, carry, R, W]) };
        // the graph's padded input: the band's rows and PAD more each side from the torus, PAD columns left and right
        const padded = bandPadded.subarray(0, inW1 * (R + 2 * PAD) * (W + 2 * PAD));
        torusRows(cur, carry, H, W, band.y0 - BAND_HALO, R, padded);
        if (noiseFull) torusRows(noiseFull, hidden, H, W, band.y0 - BAND_HALO, R, padded.subarray(carry * (R + 2 * PAD) * (W + 2 * PAD)));
        feeds[PADDED_INPUT] = new ort.Tensor('float32', padded, [1, inW1, R + 2 * PAD, W + 2 * PAD]);
        const out = await s.run(feeds);
        scatter(out[graphNames.next]!.data as Float32Array, carry, band, nxt);
        if (frame) scatter(out[graphNames.frame(0)]!.data as Float32Array, visible, band, frame);
      }
      [cur, nxt] = [nxt, cur];
      onStep?.(k, frame ?? cur);
    }
    const result = new Float32Array(CHANNELS * plane);
    result.set(cur);
    return result;
  };
}

const mod = (a: number, n: number) => ((a % n) + n) % n;

/**
 * Draws the hidden noise of one step for N grids, the same numbers in the same order as rng.fillNormal on
 * an unpadded [N][hidden][H][W] array, into `dst(n)` ([hidden][H + 2 PAD][W + 2 PAD] for grid n), each
 * plane padded by PAD cells of torus (the 'engine' graph's input). Row by row when W is even (fillNormal
 * draws two numbers at a time), else through `scratch()` ([N][hidden][H][W]).
 */
export function drawPaddedNoise(rng: Rng, N: number, hidden: number, H: number, W: number, std: number, dst: (n: number) => Float32Array, scratch: () => Float32Array): void {
  const PW = W + 2 * PAD, PH = H + 2 * PAD;
  if (W % 2 === 1) {
    const s = rng.fillNormal(scratch(), 0, std);
    for (let n = 0; n < N; n++) torusRows(s.subarray(n * hidden * H * W), hidden, H, W, 0, H, dst(n));
    return;
  }
  for (let n = 0; n < N; n++) {
    const d = dst(n);
    for (let c = 0; c < hidden; c++) {
      for (let y = 0; y < H; y++) {
        const o = (c * PH + y + PAD) * PW + PAD;
        rng.fillNormal(d.subarray(o, o + W), 0, std);
      }
    }
    // the border from the inner cells: columns of the inner rows, then whole rows (corners included)
    for (let c = 0; c < hidden; c++) {
      const base = c * PH * PW;
      for (let y = PAD; y < PAD + H; y++) wrapColumns(d, base + y * PW, W);
      for (let r = 0; r < PH; r++) {
        if (r >= PAD && r < PAD + H) continue;
        const from = base + (PAD + mod(r - PAD, H)) * PW;
        d.copyWithin(base + r * PW, from, from + PW);
      }
    }
  }
}

/** The PAD cells left and right of the inner W cells of the padded row at `row`, from the torus. */
function wrapColumns(buf: Float32Array, row: number, W: number): void {
  for (let x = 0; x < PAD; x++) {
    buf[row + x] = buf[row + PAD + mod(x - PAD, W)]!;
    buf[row + PAD + W + x] = buf[row + PAD + mod(x, W)]!;
  }
}

/**
 * Rows y0 - PAD .. y0 + rows + PAD - 1 (on the torus of H rows) of each of `planes` planes [H][W] of `src`,
 * each with PAD columns of torus left and right, into `dst` [planes][rows + 2 PAD][W + 2 PAD].
 */
function torusRows(src: Float32Array, planes: number, H: number, W: number, y0: number, rows: number, dst: Float32Array): void {
  const PW = W + 2 * PAD, R = rows + 2 * PAD;
  for (let c = 0; c < planes; c++) {
    for (let r = 0; r < R; r++) {
      const from = (c * H + mod(y0 - PAD + r, H)) * W;
      const row = (c * R + r) * PW;
      dst.set(src.subarray(from, from + W), row + PAD);
      wrapColumns(dst, row, W);
    }
  }
}
