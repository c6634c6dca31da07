/**
 * The `onnx` training backend (issue 12): one iteration's loss and the gradient of every trained tensor,
 * computed without tfjs (training/onnx-loss.ts: the networks' onnxruntime graphs, the NCA op called
 * directly, the losses in JS), equal the tfjs-cpu trainer's (training/loss.ts) on the same batch, draws
 * and weights; `train({ backend: 'onnx' })` runs, the same seed gives the same bytes, and --resume is
 * byte-identical to an uninterrupted run (tiny runs: batch 2, 4 NCA steps, 3 iterations, 4 clips).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDataset, defaultPlan, openDataset, type Dataset } from '../src/core/audio/dataset.js';
import { readLog, train } from '../src/core/model/train.js';
import { im2colConvs } from '../src/core/model/fast-convs.js';
import { NcaRollout } from '../src/core/model/nca-op.js';
import { DEFAULT_CONFIG, decoderForward, initialWeights, weightSpecs, type ModelConfig } from '../src/core/model/networks.js';
import { loadTf, type Tf } from '../src/core/model/tf.js';
import { isStatistic, updateRunningStatistics } from '../src/core/model/training/batch-norm-stats.js';
import { disposeLoss, lossAndGradients, type LossGraph, type LossInputs } from '../src/core/model/training/loss.js';
import { buildState, disposeState, weightsRecord, type ModelState } from '../src/core/model/training/model-state.js';
import { updateRunningStatisticsArrays } from '../src/core/model/training/onnx-iteration.js';
import { onnxLossAndGradients, openOnnxNetworks, type OnnxNetworks } from '../src/core/model/training/onnx-loss.js';
import { PersistencePool } from '../src/core/model/training/pool.js';
import { resolveSettings } from '../src/core/model/training/settings.js';
import { loadWeights, type NamedArrays } from '../src/core/model/weights.js';
import { Rng } from '../src/core/rng.js';
import { rolloutNoise } from '../src/core/model/nca-op.js';

const B = 4, T = 4, H = 32, W = 32, P = 2, TP = 4;
const config: ModelConfig = { ...DEFAULT_CONFIG };

let tf: Tf;
let state: ModelState;
let rollout: NcaRollout;
let pool: PersistencePool;
let nets: OnnxNetworks;
let inputs: LossInputs;
let weights: NamedArrays;

/** max |a - b| / max |b| */
function relativeMaxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

describe('onnx training backend: one iteration', () => {
  beforeAll(async () => {
    tf = await loadTf({ backend: 'cpu' });
    // initial weights with every bias, LayerNorm / BatchNorm gamma and beta moved off its initial value (non-trivial gradients)
    const named = initialWeights(new Rng('train-onnx/init'));
    const rng = new Rng('train-onnx/weights');
    for (const [name, a] of named) {
      if (isStatistic(name)) continue;
      if (name.endsWith('.bias') || /(ln|bn)\d\.weight$/.test(name)) for (let i = 0; i < a.data.length; i++) a.data[i] = a.data[i]! + 0.2 * (rng.uniform() - 0.5);
      if (name === 'hyper.scale') a.data[0] = 0.37;
    }
    state = buildState(tf, named);
    weights = new Map();
    for (const { name, shape } of weightSpecs()) if (!isStatistic(name)) weights.set(name, { shape, data: state.values[name]! });

    // persistence weight 0.5, beta 0.05 and decoder weight 300 (the graphs below): large enough that dropping any term's
    // gradient, or scaling it by 1.01, moves some tensor's gradient past the tolerance (checked by hand: the pool's
    // hypernetwork gradients left out, the KL's, the decoder's dL/dz or the MSEs' x 1.01 each fail here)
    const settings = resolveSettings({ iters: 10, batch: B, steps: T, poolSize: 6, poolBatch: P, poolSteps: TP, poolReset: 1, persistWeight: 0.5, beta: 0.05, backend: 'cpu' }, 4 + T);
    rollout = await NcaRollout.create({ batch: B, width: W, height: H, steps: T, threads: 1 });
    pool = await PersistencePool.create(settings, { width: W, height: H, latentDim: config.latentDim, channels: config.channels }, null, { threads: 1, clock: { forward: 0, backward: 0 } });
    nets = await openOnnxNetworks(config, 1);

    const draws = new Rng('train-onnx/draws');
    const frame = 3 * H * W;
    const batch = {
      indices: [0, 1, 2, 3],
      batch: B,
      width: W,
      height: H,
      steps: T,
      context: draws.fillUniform(new Float32Array(B * config.contextFrames * frame)),
      start: draws.fillUniform(new Float32Array(B * frame)),
      targets: draws.fillUniform(new Float32Array(T * B * frame)),
    };
    const eps = draws.normalArray(new Float32Array(B * config.latentDim));
    const noise = rolloutNoise(draws, { batch: B, width: W, height: H, steps: T }, 0.1);
    const masks = new Float32Array((T - 1) * B).map(() => (draws.uniform() < 0.5 ? 1 : 0));
    const convs = im2colConvs(tf);
    const poolBatch = pool.draw(draws, batch.start, (zs, n) => tf.tidy(() => decoderForward(tf, weightsRecord(state), config, tf.tensor2d(zs, [n, config.latentDim]), { convs }).dataSync() as Float32Array));
    expect(poolBatch).not.toBeNull();
    inputs = { batch, eps, noise, masks, poolBatch, persistWeight: settings.persistWeight };
  }, 120_000);

  afterAll(async () => {
    await nets?.dispose();
    await rollout?.dispose();
    await pool?.dispose();
    if (state) disposeState(state); // its variables' names are global to tfjs: free them for the trainings below
  });

  it('gives the tfjs-cpu trainer\'s loss and the gradient of every trained tensor to 1e-4 of the tensor\'s largest', async () => {
    const graph: LossGraph = { tf, config, convs: im2colConvs(tf), rollout, pool, beta: 0.05, decoderWeight: 300, anchorWeight: 0 };
    const ref = lossAndGradients(graph, state, inputs);
    const refGrads = new Map<string, Float32Array>();
    for (const [name, v] of Object.entries(state.vars)) refGrads.set(name, Float32Array.from(ref.grads[v.name]!.dataSync()));
    const refLoss = { value: ref.value.dataSync()[0]!, rollout: ref.rollout.dataSync()[0]!, kl: ref.kl.dataSync()[0]!, decoder: ref.decoder.dataSync()[0]!, persist: ref.persist!.dataSync()[0]! };
    const refStats = ref.stats.map((s) => ({ mean: Float32Array.from(s.mean.dataSync()), variance: Float32Array.from(s.variance.dataSync()) }));
    const refPoolPred = Float32Array.from(ref.poolPred!.dataSync());
    for (const s of ref.stats) tf.dispose([s.mean, s.variance]);
    disposeLoss(ref);

    const onnx = await onnxLossAndGradients({ config, nets, rollout, pool, beta: 0.05, decoderWeight: 300, anchorWeight: 0 }, weights, inputs);

    // the loss and each of its parts
    for (const k of ['rollout', 'kl', 'decoder', 'persist', 'value'] as const) {
      expect(Math.abs(onnx[k]! - refLoss[k]) / Math.abs(refLoss[k]), k).toBeLessThan(1e-5);
    }
    // every term weighs in the total (so dropping one would show)
    expect(refLoss.kl * 0.05 / refLoss.value).toBeGreaterThan(1e-3);
    expect(refLoss.persist * 0.5 / refLoss.value).toBeGreaterThan(1e-3);
    expect(relativeMaxDiff(onnx.poolPred!, refPoolPred).diff).toBeLessThan(1e-5);
    onnx.stats.forEach((s, l) => {
      for (const k of ['mean', 'variance'] as const) {
        const { diff, scale } = relativeMaxDiff(s[k], refStats[l]![k]);
        expect(diff / scale, `bn${l + 1} ${k}`).toBeLessThan(1e-5);
      }
    });

    // the gradients: the same tensors, each within 1e-4 of its largest value
    expect([...onnx.grads.keys()].sort()).toEqual([...refGrads.keys()].sort());
    const rows: string[] = [];
    let worst = 0;
    for (const [name, r] of refGrads) {
      const { diff, scale } = relativeMaxDiff(onnx.grads.get(name)!, r);
      rows.push(`${name} ${(diff / scale).toExponential(2)} (max ${scale.toExponential(2)})`);
      // the encoder's conv biases feed a BatchNorm on batch statistics: 0 in exact arithmetic, rounding noise on both sides
      if (/^encoder\.conv\d\.bias$/.test(name)) {
        const weightScale = relativeMaxDiff(r, refGrads.get(name.replace('.bias', '.weight'))!).scale;
        expect(diff / weightScale, name).toBeLessThan(1e-4);
        continue;
      }
      expect(scale, name).toBeGreaterThan(0);
      expect(diff / scale, name).toBeLessThan(1e-4);
      worst = Math.max(worst, diff / scale);
    }
    console.log(`onnx vs tfjs-cpu, max |diff| / max |grad| per tensor (worst ${worst.toExponential(2)}):\n  ${rows.join('\n  ')}`);
  }, 120_000);
});

describe('BatchNorm running statistics on arrays', () => {
  it('equal batch-norm-stats.ts\' tfjs update bit for bit', async () => {
    const tf = await loadTf({ backend: 'cpu' });
    const rng = new Rng('train-onnx/bn');
    const channels = [32, 64, 128];
    const arrays = new Map<string, Float32Array>(), tensors: Record<string, import('@tensorflow/tfjs').Tensor> = {};
    channels.forEach((c, i) => {
      for (const k of ['running_mean', 'running_var']) {
        const a = rng.fillUniform(new Float32Array(c), 0.1, 2);
        arrays.set(`encoder.bn${i + 1}.${k}`, a.slice());
        tensors[`encoder.bn${i + 1}.${k}`] = tf.tensor(a);
      }
    });
    const batch = channels.map((c) => ({ mean: rng.fillUniform(new Float32Array(c), -1, 1), variance: rng.fillUniform(new Float32Array(c), 0.01, 3) }));
    updateRunningStatisticsArrays(arrays, batch, 8 * 16 * 16, 0.1);
    updateRunningStatistics(tf, tensors, batch.map((s) => ({ mean: tf.tensor1d(s.mean), variance: tf.tensor1d(s.variance) })), 8 * 16 * 16, 0.1);
    for (const [name, a] of arrays) {
      expect(Array.from(a), name).toEqual(Array.from(tensors[name]!.dataSync()));
      tensors[name]!.dispose();
    }
  });
});

describe('train on onnx', () => {
  let root: string;
  let data: Dataset;
  const tiny = { batch: 2, steps: 4, seed: 5, threads: 1, iters: 3, checkpointEvery: 100, poolSize: 6, poolBatch: 2, poolSteps: 4, poolReset: 1 } as const;
  const weightsOf = (dir: string) => readFileSync(join(dir, 'weights.bin'));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'nca-train-onnx-'));
    const plan = defaultPlan({ instruments: ['piano', 'flute'], notes: [60, 67], velocities: [0.8], seed: 1 });
    await buildDataset({ outDir: join(root, 'data'), plan, heldOut: 0, seed: 1 });
    data = await openDataset(join(root, 'data'));
  }, 120_000);

  it('runs and records the backend; the same seed gives the same bytes; the losses follow the cpu backend\'s', async () => {
    const a = await train({ ...tiny, data, outDir: join(root, 'onnx-a'), backend: 'onnx' });
    expect(a).toMatchObject({ finished: true, backend: 'onnx' });
    expect(a.settings.backend).toBe('onnx');
    const b = await train({ ...tiny, data, outDir: join(root, 'onnx-b'), backend: 'onnx' });
    expect(weightsOf(join(root, 'onnx-b')).equals(weightsOf(join(root, 'onnx-a')))).toBe(true);
    expect(readFileSync(join(root, 'onnx-b', 'checkpoint.bin')).equals(readFileSync(join(root, 'onnx-a', 'checkpoint.bin')))).toBe(true);
    await train({ ...tiny, data, outDir: join(root, 'cpu'), backend: 'cpu' });
    expect(weightsOf(join(root, 'cpu')).equals(weightsOf(join(root, 'onnx-a')))).toBe(false);
    const logO = await readLog(join(root, 'onnx-a', 'train-log.jsonl'));
    const logC = await readLog(join(root, 'cpu', 'train-log.jsonl'));
    expect(logO).toHaveLength(3);
    expect(Math.abs(logO[0]!.loss - logC[0]!.loss) / logC[0]!.loss).toBeLessThan(1e-5);
    expect(Math.abs(logO[0]!.gradNorm - logC[0]!.gradNorm) / logC[0]!.gradNorm).toBeLessThan(1e-4);
    for (let i = 0; i < 3; i++) expect(Math.abs(logO[i]!.loss - logC[i]!.loss) / logC[i]!.loss, `iteration ${i + 1}`).toBeLessThan(1e-3);
    for (const e of logO) {
      expect(e.networks).toBeGreaterThan(0);
      expect(e.optimizer).toBeGreaterThan(0);
      expect(e.persist).toBeGreaterThan(0);
    }
  }, 300_000);

  it('moves the BatchNorm running statistics as the cpu backend does', async () => {
    // after one iteration (later ones differ by more: the encoder's conv biases get rounding-noise gradients, which Adam turns into +-lr steps)
    const one = { ...tiny, iters: 1 };
    await train({ ...one, data, outDir: join(root, 'onnx-1'), backend: 'onnx' });
    await train({ ...one, data, outDir: join(root, 'cpu-1'), backend: 'cpu' });
    const statsO = (await loadWeights(join(root, 'onnx-1'))).tensors, statsC = (await loadWeights(join(root, 'cpu-1'))).tensors;
    const init = initialWeights(new Rng('5/init'));
    let checked = 0;
    for (const [name, c] of statsC) {
      if (!isStatistic(name)) continue;
      const { diff, scale } = relativeMaxDiff(statsO.get(name)!.data, c.data);
      expect(diff / scale, name).toBeLessThan(1e-5);
      expect(relativeMaxDiff(init.get(name)!.data, c.data).diff, name).toBeGreaterThan(1e-3);
      checked++;
    }
    expect(checked).toBe(6);
  }, 300_000);

  it('resumes on onnx byte-identical to an uninterrupted run, and refuses another backend', async () => {
    const parts = join(root, 'onnx-parts');
    expect((await train({ ...tiny, data, outDir: parts, backend: 'onnx', stopAfter: 2 })).finished).toBe(false);
    await expect(train({ ...tiny, data, outDir: parts, backend: 'wasm', resume: true })).rejects.toThrow(/trained on the onnx backend, not wasm: resume with --backend onnx/);
    const resumed = await train({ ...tiny, data, outDir: parts, resume: true });
    expect(resumed).toMatchObject({ finished: true, resumedFrom: 2, backend: 'onnx' });
    expect(weightsOf(parts).equals(weightsOf(join(root, 'onnx-a')))).toBe(true);
    expect(readFileSync(join(parts, 'checkpoint.bin')).equals(readFileSync(join(root, 'onnx-a', 'checkpoint.bin')))).toBe(true);
  }, 300_000);
});
