/**
 * Training backends (issue 12): onnx is the default and really used; on the tfjs wasm backend the gradients
 * equal the cpu backend's to float rounding; on each backend the same seed gives the same weights; --resume
 * keeps the checkpoint's backend (cpu for checkpoints that record none). Tiny runs (batch 2, 4 NCA steps,
 * 2 iterations) on a 4-clip dataset.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Tensor, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDataset, defaultPlan, openDataset, type Dataset } from '../src/core/audio/dataset.js';
import { im2colConvs } from '../src/core/model/fast-convs.js';
import { DEFAULT_CONFIG, decoderForward, encoderForward, hypernetworkForward, initialWeights, weightSpecs } from '../src/core/model/networks.js';
import { loadTf, type TfBackend } from '../src/core/model/tf.js';
import { readLog, train } from '../src/core/model/train.js';
import { loadWeights } from '../src/core/model/weights.js';
import { Rng } from '../src/core/rng.js';

let root: string;
let data: Dataset;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'nca-train-backend-'));
  const plan = defaultPlan({ instruments: ['piano', 'flute'], notes: [60, 67], velocities: [0.8], seed: 1 });
  await buildDataset({ outDir: join(root, 'data'), plan, heldOut: 0, seed: 1 });
  data = await openDataset(join(root, 'data'));
});

const tiny = { batch: 2, steps: 4, seed: 5, threads: 1, iters: 2, checkpointEvery: 100, poolSize: 6, poolBatch: 2, poolSteps: 4, poolReset: 1 } as const;
const weightsOf = (dir: string) => readFileSync(join(dir, 'weights.bin'));

describe('loadTf({ backend })', () => {
  it('switches the process to the backend asked for, and loadTf() leaves it as it is', async () => {
    const tf = await loadTf({ backend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    expect((await loadTf()).getBackend()).toBe('wasm');
    expect((await loadTf({ backend: 'cpu' })).getBackend()).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('gradients on wasm', () => {
  /**
   * The networks' part of the trainer's loss graph with the trainer's forward functions (encoder in training mode,
   * reparameterisation, hypernetwork, KL, first-frame decoder with its MSE, the pool's hypernetwork), with the NCA
   * rollout's place taken by sum(params * G) for a fixed G, so that every network gets a gradient.
   */
  async function gradientsOn(backend: TfBackend): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
    const tf = await loadTf({ backend });
    expect(tf.getBackend()).toBe(backend); // not a silent fall-back to another backend
    const config = DEFAULT_CONFIG, B = 2, H = 32, W = 32;
    const named = initialWeights(new Rng('5/init'));
    const rng = new Rng('train-backend/gradients');
    const weights: Record<string, Tensor> = {};
    const vars: Variable[] = [];
    for (const { name, shape } of weightSpecs()) {
      const t = tf.tensor(named.get(name)!.data, shape);
      if (name.endsWith('.running_mean') || name.endsWith('.running_var')) weights[name] = t;
      else {
        const v = tf.variable(t, true, `${backend}/${name}`);
        t.dispose();
        weights[name] = v;
        vars.push(v);
      }
    }
    const context = tf.tensor4d(rng.fillUniform(new Float32Array(B * 3 * config.contextFrames * H * W)), [B, 3 * config.contextFrames, H, W]);
    const eps = tf.tensor2d(rng.normalArray(new Float32Array(B * config.latentDim)), [B, config.latentDim]);
    const poolZ = tf.tensor2d(rng.normalArray(new Float32Array(B * config.latentDim)), [B, config.latentDim]);
    const g = tf.tensor2d(rng.normalArray(new Float32Array(B * config.paramCount), 0, 1e-3), [B, config.paramCount]);
    const target = tf.tensor4d(rng.fillUniform(new Float32Array(B * config.channels * H * W)), [B, config.channels, H, W]);
    const convs = im2colConvs(tf);
    const { value, grads } = tf.variableGrads(() => {
      const enc = encoderForward(tf, weights, config, context as Tensor4D, { training: true, convs });
      const z = tf.add<Tensor2D>(enc.mu, tf.mul(tf.exp(tf.mul(enc.logvar, 0.5)), eps));
      const rolloutTerm = tf.sum(tf.mul(hypernetworkForward(tf, weights, config, z), g));
      const kl = tf.div(tf.sum(tf.mul(-0.5, tf.sub(tf.add(1, enc.logvar), tf.add(tf.square(enc.mu), tf.exp(enc.logvar))))), B);
      const decoderLoss = tf.mean(tf.square(tf.sub(decoderForward(tf, weights, config, z, { convs }), target)));
      const poolTerm = tf.sum(tf.mul(hypernetworkForward(tf, weights, config, poolZ as Tensor2D), g));
      return tf.addN([rolloutTerm, tf.mul(1e-4, kl), decoderLoss, tf.mul(0.05, poolTerm)]) as import('@tensorflow/tfjs').Scalar;
    }, vars);
    const out = new Map<string, Float32Array>();
    for (const [k, t] of Object.entries(grads)) out.set(k.slice(k.indexOf('/') + 1), Float32Array.from(t.dataSync()));
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads), ...Object.values(weights), context, eps, poolZ, g, target]);
    return { loss, grads: out };
  }

  it('of every network equal those on cpu to 1e-4 of each tensor\'s largest gradient', async () => {
    const wasm = await gradientsOn('wasm');
    const cpu = await gradientsOn('cpu');
    expect([...wasm.grads.keys()].sort()).toEqual([...cpu.grads.keys()].sort());
    for (const prefix of ['encoder.', 'hyper.', 'decoder.']) expect([...cpu.grads.keys()].some((k) => k.startsWith(prefix))).toBe(true);
    expect(Math.abs(wasm.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-5);
    let identical = true, worst = 0;
    for (const [name, c] of cpu.grads) {
      const w = wasm.grads.get(name)!;
      let maxDiff = 0, maxAbs = 0;
      for (let i = 0; i < c.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(w[i]! - c[i]!));
        maxAbs = Math.max(maxAbs, Math.abs(c[i]!));
        if (w[i] !== c[i]) identical = false;
      }
      // the encoder's conv biases feed a BatchNorm on batch statistics: their gradient is 0 up to rounding (~1e-9)
      if (/^encoder\.conv\d\.bias$/.test(name)) {
        expect(maxDiff, name).toBeLessThan(1e-6);
        continue;
      }
      expect(maxAbs, name).toBeGreaterThan(0);
      worst = Math.max(worst, maxDiff / maxAbs);
      expect(maxDiff / maxAbs, name).toBeLessThan(1e-4);
    }
    expect(worst).toBeLessThan(1e-4);
    expect(identical).toBe(false); // two different backends did the arithmetic
  });
});

describe('train: the default backend, wasm and cpu', () => {
  it('runs on onnx by default and records it; wasm and cpu are still selectable, each byte-stable for a seed; cpu follows wasm to rounding', async () => {
    const tf = await loadTf({ backend: 'cpu' });
    // the default is onnx, and it really computes there: the same bytes as an explicit onnx run, not those of wasm
    const d = await train({ ...tiny, data, outDir: join(root, 'default') });
    expect(d.backend).toBe('onnx');
    expect(d.settings.backend).toBe('onnx');
    expect((await loadWeights(join(root, 'default'))).config.training).toMatchObject({ backend: 'onnx' });
    const o = await train({ ...tiny, data, outDir: join(root, 'onnx'), backend: 'onnx' });
    expect(o.backend).toBe('onnx');
    expect(weightsOf(join(root, 'onnx')).equals(weightsOf(join(root, 'default')))).toBe(true);
    expect(tf.getBackend()).toBe('cpu'); // the caller's backend is back
    const a = await train({ ...tiny, data, outDir: join(root, 'wasm-a'), backend: 'wasm' });
    expect(a.backend).toBe('wasm');
    expect(a.settings.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('cpu');
    expect((await loadWeights(join(root, 'wasm-a'))).config.training).toMatchObject({ backend: 'wasm' });
    expect(weightsOf(join(root, 'wasm-a')).equals(weightsOf(join(root, 'default')))).toBe(false);
    const b = await train({ ...tiny, data, outDir: join(root, 'wasm-b'), backend: 'wasm' });
    expect(b.backend).toBe('wasm');
    expect(weightsOf(join(root, 'wasm-b')).equals(weightsOf(join(root, 'wasm-a')))).toBe(true);
    const c = await train({ ...tiny, data, outDir: join(root, 'cpu'), backend: 'cpu' });
    expect(c.backend).toBe('cpu');
    expect((await loadWeights(join(root, 'cpu'))).config.training).toMatchObject({ backend: 'cpu' });
    const c2 = await train({ ...tiny, data, outDir: join(root, 'cpu-2'), backend: 'cpu' });
    expect(c2.backend).toBe('cpu');
    expect(weightsOf(join(root, 'cpu-2')).equals(weightsOf(join(root, 'cpu')))).toBe(true);
    // float rounding differs between the backends: not the same bytes, the same losses to ~1e-5
    expect(weightsOf(join(root, 'cpu')).equals(weightsOf(join(root, 'wasm-a')))).toBe(false);
    const logA = await readLog(join(root, 'wasm-a', 'train-log.jsonl'));
    const logC = await readLog(join(root, 'cpu', 'train-log.jsonl'));
    expect(logA).toHaveLength(2);
    expect(Math.abs(logA[0]!.gradNorm - logC[0]!.gradNorm) / logC[0]!.gradNorm).toBeLessThan(1e-4);
    for (let i = 0; i < 2; i++) expect(Math.abs(logA[i]!.loss - logC[i]!.loss) / logC[i]!.loss, `iteration ${i + 1}`).toBeLessThan(1e-3);
    for (const e of logA) {
      expect(e.networks).toBeGreaterThan(0);
      expect(e.optimizer).toBeGreaterThan(0);
      expect(e.networks + e.optimizer + e.ncaForward + e.ncaBackward).toBeLessThanOrEqual(e.seconds * 1.001 + 1e-5);
    }
  });

  it('resumes on the checkpoint\'s backend, byte-identical to an uninterrupted run, and refuses another', async () => {
    // a cpu run stopped after 1 iteration resumes on cpu without being told, and ends where the uninterrupted cpu run did
    const parts = join(root, 'cpu-parts');
    expect((await train({ ...tiny, data, outDir: parts, backend: 'cpu', stopAfter: 1 })).finished).toBe(false);
    await expect(train({ ...tiny, data, outDir: parts, backend: 'wasm', resume: true })).rejects.toThrow(/trained on the tfjs cpu backend, not wasm: resume with --backend cpu/);
    const resumed = await train({ ...tiny, data, outDir: parts, resume: true });
    expect(resumed).toMatchObject({ finished: true, resumedFrom: 1, backend: 'cpu' });
    expect(weightsOf(parts).equals(weightsOf(join(root, 'cpu')))).toBe(true);
    // and a wasm checkpoint refuses cpu
    const wasmParts = join(root, 'wasm-parts');
    await train({ ...tiny, data, outDir: wasmParts, backend: 'wasm', stopAfter: 1 });
    await expect(train({ ...tiny, data, outDir: wasmParts, backend: 'cpu', resume: true })).rejects.toThrow(/trained on the tfjs wasm backend, not cpu: resume with --backend wasm/);
    const r = await train({ ...tiny, data, outDir: wasmParts, resume: true });
    expect(r.backend).toBe('wasm');
    expect(weightsOf(wasmParts).equals(weightsOf(join(root, 'wasm-a')))).toBe(true);
  });

  it('resumes a checkpoint that records no backend (written before backends existed) on cpu, not on the default', async () => {
    const old = join(root, 'old-parts');
    await train({ ...tiny, data, outDir: old, backend: 'cpu', stopAfter: 1 });
    // take the backend out of the checkpoint's header, as checkpoints of that time had none (spaces keep the layout)
    const path = join(old, 'checkpoint.bin');
    const bytes = readFileSync(path);
    const headerLength = bytes.readUInt32LE(8);
    const header = bytes.subarray(12, 12 + headerLength).toString('utf8');
    const without = header.replace(/,"backend":"cpu"|"backend":"cpu",/, (m) => ' '.repeat(m.length));
    expect(without).not.toBe(header);
    expect(JSON.parse(without).settings.backend).toBeUndefined();
    bytes.write(without, 12, 'utf8');
    writeFileSync(path, bytes);
    await expect(train({ ...tiny, data, outDir: old, backend: 'onnx', resume: true })).rejects.toThrow(/trained on the tfjs cpu backend, not onnx: resume with --backend cpu/);
    const r = await train({ ...tiny, data, outDir: old, resume: true });
    expect(r).toMatchObject({ finished: true, resumedFrom: 1, backend: 'cpu' });
    expect(weightsOf(old).equals(weightsOf(join(root, 'cpu')))).toBe(true);
  });

  it('nca train --backend takes wasm, cpu or onnx only', async () => {
    const bin = new URL('../bin/nca.js', import.meta.url).pathname;
    const r = await promisify(execFile)(process.execPath, [bin, 'train', '--data', join(root, 'data'), '--out', join(root, 'cli'), '--iters', '1', '--backend', 'gpu'], { encoding: 'utf8' }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^nca: .*one of wasm, cpu, onnx for --backend/);
  });
});
