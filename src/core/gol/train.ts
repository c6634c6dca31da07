/**
 * Training the NCA on Conway's Game of Life with TensorFlow.js (docs/gol.md, "Training").
 *
 * Under the GoL protocol only channel 0 is input and only channel 0 of the output is read, so the
 * live network is conv 1->16, relu, conv 16->1 plus the residual, and a cell's next state depends on
 * its 5x5 neighbourhood only. Training therefore samples 5x5 neighbourhoods, not boards, and writes
 * the two convolutions as matrix products on the 9 overlapping 3x3 windows of each neighbourhood:
 *   Z = X W1 + b1   X: [N*9][9] window cells, W1: [9][16]     (the 9 hidden cells of each sample)
 *   y = centre + b2 + relu(Z) reshaped [N][144] . W2           W2: [144] = w2[0][j][p] at p*16+j
 * (no convolution kernels: the tfjs wasm backend has fast matMul but no conv filter gradient).
 *
 * Clamp pairs: the 16 hidden units are trained as 8 tied pairs. Unit j+8 shares unit j's input
 * weights, has its bias lowered by a learnt width D[j], and the opposite output weights, so each pair
 * computes v * clamp(w . x + b, 0, D): a ramp that is flat on both sides. Free running needs a
 * network that is flat around every binary board (a perturbation must shrink, not grow); in our runs
 * untied relu units learnt single-kink ramps that stay sloped at the cells that become alive (the
 * output's gradient there has L1 norm ~9) and did not pass the free-running proof (docs/gol.md).
 * The trained parameters are an ordinary 4640-float NCA.
 *
 * Two phases, on neighbourhoods whose live-cell density is drawn from all of (0, 1) (a quarter at
 * the near-critical 0.375), mixed with a sample of the neighbourhoods the last exhaustive proof found
 * wrong (counterexample-guided):
 * 1. rounding: a squared hinge pushing outputs below 0.1 (dead) or above 0.9 (alive), until the
 *    rounded proof passes on all 2^25 neighbourhoods (a few hundred iterations);
 * 2. free running: every cell of each sampled neighbourhood gets uniform noise (amplitude annealed
 *    from 0.1 to 0.02), and the output must stay within a band around 0 or 1 that shrinks to
 *    0.25 * eps (squared excess, plus the hinge). The learning rate halves every 3000 iterations.
 *    Training stops when the free-running proof holds at the target eps (checked every 200).
 *
 * Determinism: the initial weights and every sampled board come from Rng(seed); tfjs's own random
 * functions are never used; the proof's counterexample sample does not depend on the thread count.
 * Same seed + same backend -> same weights.
 */
import { loadTf, type Tf, type TfBackend } from '../model/tf.js';
import { CHANNELS, ncaParams, randomParams, type NcaParams } from '../nca/params.js';
import { Rng } from '../rng.js';
import { ProofPool, proveFree, proveRounded } from './proof-pool.js';
import { golNet, lifeTarget } from './net.js';

export type TrainBackend = TfBackend;

export interface GolTrainOptions {
  seed: number | string;
  /** Upper limit on iterations (default 12000: about 4 minutes on one core). */
  maxIterations?: number;
  /** Neighbourhoods per iteration (default 4096). */
  batch?: number;
  /** Adam learning rate (default 0.01; halved every 3000 iterations of phase 2, down to 5%). */
  learningRate?: number;
  /** The free-running proof's target radius (default 0.01). */
  eps?: number;
  /** Run the exhaustive proof every this many iterations (default 200). */
  checkEvery?: number;
  /** Share of each batch drawn from the proof's counterexamples (default 0.25). */
  hardShare?: number;
  /** Train in tied clamp pairs (default true; false trains 16 free relu units, for comparison). */
  tied?: boolean;
  backend?: TrainBackend;
  /** Worker threads of the periodic proofs (default: cores). */
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called after every exhaustive check (for logs). */
  onCheck?: (check: TrainCheck) => void;
  signal?: AbortSignal;
}

/** One periodic exhaustive check during training. */
export interface TrainCheck {
  iteration: number;
  seconds: number;
  phase: 'rounding' | 'free';
  loss: number;
  /** Rounded protocol: mismatching neighbourhoods out of 2^25, and the smallest signed margin. */
  mismatches: number;
  minMargin: number;
  /** Free running at the target eps (only once rounding is exact): failing neighbourhoods. */
  freeFailures?: number;
  freeMinSlack?: number;
  /** Input noise amplitude (phase 2). */
  noise?: number;
}

export interface GolTrainResult {
  params: NcaParams;
  seed: number | string;
  iterations: number;
  seconds: number;
  /** True when both proofs passed at the last check (rounded exact, free running at `eps`). */
  proven: boolean;
  roundedExact: boolean;
  eps: number;
  checks: TrainCheck[];
  backend: TrainBackend;
  tied: boolean;
}

const TRAIN_DEFAULTS = { maxIterations: 12000, batch: 4096, learningRate: 0.01, eps: 0.01, checkEvery: 200, hardShare: 0.25, tied: true };
/** Phase 2: noise amplitude annealed linearly from NOISE_START to NOISE_END over NOISE_DECAY iterations. */
const NOISE_START = 0.1;
const NOISE_END = 0.02;
const NOISE_DECAY = 3000;
/** Phase 2: the band ramps from +-0.5 down to +-BAND_FACTOR * eps over BAND_RAMP iterations. */
const BAND_RAMP = 1000;
const BAND_FACTOR = 0.25;
/** Phase 2: learning rate half-life and floor. */
const LR_HALF_LIFE = 3000;
const LR_FLOOR = 0.05;
/** Initial ramp width of a clamp pair. */
const CLAMP_WIDTH = 0.25;
/** Phase 1 hinge bands: dead below 0.1, alive above 0.9. */
const HINGE_LOW = 0.1;
const HINGE_HIGH = 0.9;
/** Counterexample sample size. */
const POOL_MAX = 1 << 16;

/** Live weights of a full parameter vector in training layout: W1 [9][16], b1 [16], W2 [144] (p*16+j), b2. */
export function liveWeights(params: NcaParams): { w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: number } {
  const w1 = new Float32Array(9 * 16);
  const w2 = new Float32Array(144);
  for (let j = 0; j < 16; j++) {
    for (let k = 0; k < 9; k++) {
      w1[k * 16 + j] = params.w1[(j * CHANNELS + 0) * 9 + k]!;
      w2[k * 16 + j] = params.w2[(0 * CHANNELS + j) * 9 + k]!;
    }
  }
  return { w1, b1: params.b1.slice(), w2, b2: params.b2[0]! };
}

/** Writes trained live weights back into (a copy of) the full parameter vector; the rest is untouched. */
export function withLiveWeights(params: NcaParams, live: { w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: number }): NcaParams {
  const out = ncaParams(params.flat.slice());
  for (let j = 0; j < 16; j++) {
    for (let k = 0; k < 9; k++) {
      out.w1[(j * CHANNELS + 0) * 9 + k] = live.w1[k * 16 + j]!;
      out.w2[(0 * CHANNELS + j) * 9 + k] = live.w2[k * 16 + j]!;
    }
  }
  out.b1.set(live.b1);
  out.b2[0] = live.b2;
  return out;
}

/**
 * Draws one training neighbourhood: 25 cells alive with a density drawn from (0, 1), or the
 * near-critical 0.375 for a quarter of them.
 */
function sampleNeighbourhood(rng: Rng): number {
  const density = rng.uniform() < 0.25 ? 0.375 : rng.uniform();
  const threshold = density * 16777216;
  let n = 0;
  for (let i = 0; i < 25; i++) if (rng.nextUint32() >>> 8 < threshold) n |= 1 << i;
  return n;
}

/**
 * Fills the window matrix X [N*9][9], the centres [N] and the targets [N] for a batch of
 * neighbourhoods. With `noise` > 0 every cell of each 5x5 neighbourhood gets its own U(-noise, noise)
 * offset (shared by the windows that overlap on it).
 */
function fillBatch(neighbourhoods: Int32Array, x: Float32Array, centre: Float32Array, target: Float32Array, noise = 0, rng?: Rng): void {
  const cells = new Float32Array(25);
  for (let s = 0; s < neighbourhoods.length; s++) {
    const n = neighbourhoods[s]!;
    for (let i = 0; i < 25; i++) cells[i] = ((n >>> i) & 1) + (noise > 0 ? noise * (2 * rng!.uniform() - 1) : 0);
    centre[s] = cells[12]!;
    target[s] = lifeTarget(n);
    let o = s * 81;
    for (let py = 0; py < 3; py++) {
      for (let px = 0; px < 3; px++) {
        for (let ky = 0; ky < 3; ky++) {
          const c = 5 * (py + ky) + px;
          x[o++] = cells[c]!;
          x[o++] = cells[c + 1]!;
          x[o++] = cells[c + 2]!;
        }
      }
    }
  }
}

export async function trainGol(options: GolTrainOptions): Promise<GolTrainResult> {
  const o = { ...TRAIN_DEFAULTS, ...options };
  const backend = o.backend ?? 'wasm';
  const tf = await loadTf({ backend });
  type Tensor = import('@tensorflow/tfjs').Tensor;
  type Scalar = import('@tensorflow/tfjs').Scalar;
  const started = performance.now();
  const rng = new Rng(o.seed);
  const init = randomParams(rng.fork());
  const sampler = rng.fork();
  const live = liveWeights(init);
  const pool = new ProofPool(o.threads);

  const N = o.batch;
  // Variables. Untied: the live weights. Tied: units 0..7 (their random initial values) and the pair widths.
  const firstHalf = (a: Float32Array, rows: number) => {
    const out = new Float32Array(rows * 8);
    for (let r = 0; r < rows; r++) for (let c = 0; c < 8; c++) out[r * 8 + c] = a[r * 16 + c]!;
    return out;
  };
  const W1 = tf.variable(o.tied ? tf.tensor2d(firstHalf(live.w1, 9), [9, 8]) : tf.tensor2d(live.w1, [9, 16]), true, 'w1');
  const B1 = tf.variable(tf.tensor1d(o.tied ? live.b1.slice(0, 8) : live.b1), true, 'b1');
  const W2 = tf.variable(o.tied ? tf.tensor2d(firstHalf(live.w2, 9), [9, 8]) : tf.tensor2d(live.w2, [144, 1]), true, 'w2');
  const B2 = tf.variable(tf.scalar(live.b2), true, 'b2');
  const D = o.tied ? tf.variable(tf.fill([8], CLAMP_WIDTH), true, 'clampWidth') : null;
  /** The effective live weights: W1 [9][16], b1 [16], W2 [144][1] (fresh tensors when tied). */
  const effective = (): { w1: Tensor; b1: Tensor; w2: Tensor } =>
    D ? { w1: tf.concat([W1, W1], 1), b1: tf.concat([B1, tf.sub(B1, D)]), w2: tf.concat([W2, tf.neg(W2)], 1).reshape([144, 1]) } : { w1: W1, b1: B1, w2: W2 };
  const optimizer = tf.train.adam(o.learningRate);

  const xBuf = new Float32Array(N * 81);
  const centreBuf = new Float32Array(N);
  const targetBuf = new Float32Array(N);
  const batchN = new Int32Array(N);
  let counterexamples: number[] = [];

  const checks: TrainCheck[] = [];
  let phase: 'rounding' | 'free' = 'rounding';
  let phaseStart = 0;
  let proven = false;
  let roundedExact = false;
  let iteration = 0;

  const snapshot = (): NcaParams => {
    const e = effective();
    const p = withLiveWeights(init, { w1: e.w1.dataSync() as Float32Array, b1: e.b1.dataSync() as Float32Array, w2: e.w2.dataSync() as Float32Array, b2: (B2.dataSync() as Float32Array)[0]! });
    if (D) tf.dispose([e.w1, e.b1, e.w2]);
    return p;
  };

  try {
    while (iteration < o.maxIterations) {
      o.signal?.throwIfAborted();
      // Batch: fresh random neighbourhoods plus counterexamples from the last proof.
      const hard = counterexamples.length ? Math.floor(N * o.hardShare) : 0;
      for (let s = 0; s < N; s++) batchN[s] = s < hard ? counterexamples[sampler.int(counterexamples.length)]! : sampleNeighbourhood(sampler);
      const t2 = iteration - phaseStart; // iterations into phase 2
      const noise = phase === 'free' ? NOISE_END + (NOISE_START - NOISE_END) * Math.max(0, 1 - t2 / NOISE_DECAY) : 0;
      fillBatch(batchN, xBuf, centreBuf, targetBuf, noise, sampler);
      const band = Math.max(o.eps * BAND_FACTOR, 0.5 * (1 - (t2 + 1) / BAND_RAMP));
      if (phase === 'free') {
        // Adam reads its learning rate on every step.
        (optimizer as unknown as { learningRate: number }).learningRate = o.learningRate * Math.max(LR_FLOOR, 0.5 ** (t2 / LR_HALF_LIFE));
      }

      const cost = tf.tidy(() => {
        const X = tf.tensor2d(xBuf, [N * 9, 9]);
        const centre = tf.tensor1d(centreBuf);
        const target = tf.tensor1d(targetBuf);
        return optimizer.minimize(() => {
          const { w1, b1, w2 } = effective();
          const Z = tf.add(tf.matMul(X, w1), b1); // [N*9][16]
          const y = tf.add(tf.add(tf.matMul(tf.relu(Z).reshape([N, 144]), w2).reshape([N]), B2), centre);
          // squared hinge: dead -> below 0.1, alive -> above 0.9
          const alive = tf.mul(target, tf.square(tf.relu(tf.sub(HINGE_HIGH, y))));
          const dead = tf.mul(tf.sub(1, target), tf.square(tf.relu(tf.sub(y, HINGE_LOW))));
          const hinge = tf.mean(tf.add(alive, dead));
          if (phase === 'rounding') return hinge as Scalar;
          // noisy inputs: the output must stay within +-band of the target anywhere in the box
          const excess = tf.relu(tf.sub(tf.abs(tf.sub(y, target)), band));
          return tf.add(hinge, tf.mean(tf.square(excess))) as Scalar;
        }, true) as Scalar;
      });
      iteration++;
      o.onProgress?.(iteration, o.maxIterations);
      if (iteration % o.checkEvery !== 0 && iteration !== o.maxIterations) {
        cost.dispose();
        continue;
      }

      const loss = (await cost.data())[0]!;
      cost.dispose();
      const net = golNet(snapshot());
      const rounded = await proveRounded(net, pool, { below: 0.25, max: POOL_MAX });
      roundedExact = rounded.mismatches === 0 && rounded.minMargin > 0;
      const free = roundedExact ? await proveFree(net, o.eps, pool, { collectMax: POOL_MAX }) : undefined;
      const check: TrainCheck = {
        iteration,
        seconds: (performance.now() - started) / 1000,
        phase,
        loss,
        mismatches: rounded.mismatches,
        minMargin: rounded.minMargin,
        ...(free ? { freeFailures: free.failures, freeMinSlack: free.minSlack } : {}),
        ...(phase === 'free' ? { noise } : {}),
      };
      checks.push(check);
      o.onCheck?.(check);
      if (free?.holds && rounded.holds) {
        proven = true;
        break;
      }
      if (phase === 'rounding' && roundedExact) {
        phase = 'free';
        phaseStart = iteration;
      }
      // Counterexamples for the next batches: wrong (or tight) under the current phase's proof.
      counterexamples = phase === 'free' && free ? free.collected : rounded.collected;
    }
    return { params: snapshot(), seed: o.seed, iterations: iteration, seconds: (performance.now() - started) / 1000, proven, roundedExact, eps: o.eps, checks, backend, tied: o.tied };
  } finally {
    tf.dispose([W1, B1, W2, B2, ...(D ? [D] : [])]);
    optimizer.dispose();
    await pool.close();
  }
}
