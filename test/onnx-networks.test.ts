/**
 * The networks' training graphs on onnxruntime (src/core/model/onnx-networks/): forward outputs and
 * every gradient against tfjs autodiff (reference.ts: tf.grads through networks.ts's forward functions,
 * tfjs cpu), with random non-trivial weights and random upstream gradients, batch 8; and the speed of
 * both (benchOnnxNetworks), logged.
 */
import { execFileSync } from 'node:child_process';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { im2colConvs } from '../src/core/model/fast-convs.js';
import { DEFAULT_CONFIG, initialWeights } from '../src/core/model/networks.js';
import { benchNetworksIteration, benchOnnxNetworks } from '../src/core/model/onnx-networks/bench.js';
import { DECODER_WEIGHTS, buildDecoderGraph, createOnnxDecoder } from '../src/core/model/onnx-networks/decoder.js';
import { ENCODER_WEIGHTS, buildEncoderTrainGraph, createOnnxEncoderTrain, type OnnxEncoderTrain } from '../src/core/model/onnx-networks/encoder.js';
import type { OnnxNetwork } from '../src/core/model/onnx-networks/graph.js';
import { HYPER_WEIGHTS, buildHypernetworkGraph, createOnnxHypernetwork } from '../src/core/model/onnx-networks/hypernetwork.js';
import { tfjsDecoderTrain, tfjsEncoderTrain, tfjsHypernetworkTrain } from '../src/core/model/onnx-networks/reference.js';
import { loadTf, type Tf } from '../src/core/model/tf.js';
import type { NamedArrays } from '../src/core/model/weights.js';
import { Rng } from '../src/core/rng.js';

/** Max |diff| / max |reference| allowed per tensor (tfjs cpu and wasm differ by ~1e-6, docs/training-speed.md). */
const TOLERANCE = 1e-4;
const BATCH = 8;
const config = { ...DEFAULT_CONFIG };
let tf: Tf;

beforeAll(async () => {
  tf = await loadTf({ backend: 'cpu' });
});

/** Largest |a - b| over largest |b|: the error relative to the reference's scale. */
function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function uniform(rng: Rng, size: number, lo: number, hi: number): Float32Array {
  return rng.fillUniform(new Float32Array(size), lo, hi);
}

/** Logs the errors and checks each against TOLERANCE. */
function expectClose(what: string, errors: Record<string, number>, extra = ''): void {
  console.log(`${what}, max |diff| / max |tfjs| per tensor: ${Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}${extra}`);
  for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(TOLERANCE);
}

/** forwardSaved + backward (two runs, no second forward) give what the one-run forward + backward gives. */
function expectSameGrads(split: Map<string, Float32Array>, oneRun: Map<string, Float32Array>): void {
  expect([...split.keys()].sort()).toEqual([...oneRun.keys()].sort());
  for (const [name, g] of oneRun) expect(relErr(split.get(name)!, g), name).toBeLessThan(1e-6);
}

/**
 * The model's initial weights with the tensors that start trivial made non-trivial: LayerNorm and
 * BatchNorm gamma / beta away from 1 / 0, hyper.fc3.bias and hyper.scale away from 0 and 0.1, and
 * larger decoder biases (some ReLUs off, sigmoid / tanh away from their centre).
 */
function randomWeights(seed: number): NamedArrays {
  const rng = new Rng(seed);
  const named = initialWeights(rng);
  const set = (name: string, lo: number, hi: number) => named.get(name)!.data.set(uniform(rng, named.get(name)!.data.length, lo, hi));
  for (const l of [1, 2]) {
    set(`hyper.ln${l}.weight`, 0.5, 1.5);
    set(`hyper.ln${l}.bias`, -0.3, 0.3);
  }
  set('hyper.fc3.bias', -0.05, 0.05);
  named.get('hyper.scale')!.data[0] = 0.37;
  for (const l of [1, 2, 3]) {
    set(`encoder.bn${l}.weight`, 0.5, 1.5);
    set(`encoder.bn${l}.bias`, -0.3, 0.3);
    set(`decoder.deconv${l}.bias`, -0.5, 0.5);
  }
  return named;
}

describe('hypernetwork on onnxruntime: forward + hand-derived backward', () => {
  const named = randomWeights(5);
  const rng = new Rng(6);
  const z = uniform(rng, BATCH * 64, -2, 2);
  const upstream = uniform(rng, BATCH * 4640, -1, 1);
  let hyper: OnnxNetwork;
  beforeAll(async () => {
    hyper = await createOnnxHypernetwork(config, { threads: 1 });
  });
  afterAll(async () => {
    await hyper?.dispose();
  });

  it('gives the params and dL/dz, dL/d(every weight) of tfjs autodiff', async () => {
    const ref = tfjsHypernetworkTrain(tf, named, config, z, BATCH, upstream);
    const ours = await hyper.run(z, BATCH, named, upstream);
    const errors: Record<string, number> = { params: relErr(ours.output, ref.output) };
    for (const name of ['z', ...HYPER_WEIGHTS.map((w) => w.name)]) errors[name] = relErr(ours.grads!.get(name)!, ref.grads!.get(name)!);
    expectClose('hypernetwork', errors);
    expect(ours.grads!.size).toBe(HYPER_WEIGHTS.length + 1);
    // the forward-only session gives the same params; other batch sizes run on the same sessions
    expect(relErr((await hyper.run(z, BATCH, named)).output, ours.output)).toBeLessThan(1e-6);
    const one = await hyper.run(z.subarray(0, 64), 1, named, upstream.subarray(0, 4640));
    expect(relErr(one.output, ours.output.subarray(0, 4640))).toBeLessThan(1e-5);
  });

  it('gives the same in two runs: forwardSaved, then backward from the saved activations', async () => {
    const ours = await hyper.run(z, BATCH, named, upstream);
    const { output, saved } = await hyper.forwardSaved(z, BATCH, named);
    expect(relErr(output, ours.output)).toBeLessThan(1e-6);
    expect(Object.keys(saved.feeds).sort()).toEqual(['saved.h1', 'saved.h2', 'saved.ln1.rstd', 'saved.ln1.xhat', 'saved.ln2.rstd', 'saved.ln2.xhat', 'saved.o']);
    expectSameGrads(await hyper.backward(saved, z, named, upstream), ours.grads!);
  });

  it('is deterministic: the same run twice gives bit-identical outputs and gradients (what --resume relies on)', async () => {
    const a = await hyper.run(z, BATCH, named, upstream);
    const b = await hyper.run(z, BATCH, named, upstream);
    expect(Buffer.from(b.output.buffer).equals(Buffer.from(a.output.buffer))).toBe(true);
    for (const [name, g] of a.grads!) expect(Buffer.from(b.grads!.get(name)!.buffer).equals(Buffer.from(g.buffer)), name).toBe(true);
  });

  it('rejects inputs of the wrong size, a bad batch and missing or misshapen weights', async () => {
    await expect(hyper.run(z, BATCH + 1, named)).rejects.toThrow(/z has 512 values; expected \[9\]\[64\]/);
    await expect(hyper.run(z, 0, named)).rejects.toThrow(/batch must be a positive integer/);
    await expect(hyper.run(z, BATCH, named, upstream.subarray(1))).rejects.toThrow(/gradParams has/);
    const missing = new Map(named);
    missing.delete('hyper.scale');
    await expect(hyper.run(z, BATCH, missing)).rejects.toThrow(/no tensor hyper\.scale/);
    const misshapen = new Map(named);
    misshapen.set('hyper.fc1.weight', { shape: [64, 256], data: named.get('hyper.fc1.weight')!.data });
    await expect(hyper.run(z, BATCH, misshapen)).rejects.toThrow(/hyper\.fc1\.weight has shape \[64, 256\], expected \[256, 64\]/);
  });
});

describe('decoder on onnxruntime: forward + hand-derived backward', () => {
  const named = randomWeights(7);
  const rng = new Rng(8);
  const z = uniform(rng, BATCH * 64, -2, 2);
  const upstream = uniform(rng, BATCH * 16 * 32 * 32, -1, 1);
  let decoder: OnnxNetwork;
  beforeAll(async () => {
    decoder = await createOnnxDecoder(config, { threads: 1 });
  });
  afterAll(async () => {
    await decoder?.dispose();
  });

  // The reference uses the im2col convolutions of training (fast-convs.ts, checked against tf.conv2dTranspose in
  // train.test.ts): with tf.conv2dTranspose tfjs alone takes ~12 s here (it agreed as closely, docs/onnx-networks.md).
  it('gives the state and dL/dz, dL/d(every weight) of tfjs autodiff', async () => {
    const ref = tfjsDecoderTrain(tf, named, config, z, BATCH, upstream, im2colConvs(tf));
    const ours = await decoder.run(z, BATCH, named, upstream);
    const errors: Record<string, number> = { state: relErr(ours.output, ref.output) };
    for (const name of ['z', ...DECODER_WEIGHTS.map((w) => w.name)]) errors[name] = relErr(ours.grads!.get(name)!, ref.grads!.get(name)!);
    expectClose('decoder', errors);
    // the output is not flat: RGB spread out, hidden channels away from 0
    const red = ours.output.subarray(0, 1024);
    expect(Math.max(...red) - Math.min(...red)).toBeGreaterThan(0.05);
    expect(maxAbs(ours.output.subarray(3 * 1024, 4 * 1024))).toBeGreaterThan(0.01);
    expect(relErr((await decoder.run(z, BATCH, named)).output, ours.output)).toBeLessThan(1e-6);
    const two = await decoder.run(z.subarray(0, 128), 2, named, upstream.subarray(0, 2 * 16384));
    expect(relErr(two.output, ours.output.subarray(0, 2 * 16384))).toBeLessThan(1e-5);
    // the same in two runs (forwardSaved, backward)
    const { output, saved } = await decoder.forwardSaved(z, BATCH, named);
    expect(relErr(output, ours.output)).toBeLessThan(1e-6);
    expect(Object.keys(saved.feeds).sort()).toEqual(['saved.u3', 'saved.x0', 'saved.x1', 'saved.x2']);
    expectSameGrads(await decoder.backward(saved, z, named, upstream), ours.grads!);
  });
});

describe('encoder in training mode on onnxruntime: forward, batch statistics, hand-derived backward', () => {
  const named = randomWeights(9);
  const rng = new Rng(10);
  const context = uniform(rng, BATCH * 12 * 32 * 32, 0, 1);
  const upstream = { gradMu: uniform(rng, BATCH * 64, -1, 1), gradLogvar: uniform(rng, BATCH * 64, -1, 1) };
  let encoder: OnnxEncoderTrain;
  beforeAll(async () => {
    encoder = await createOnnxEncoderTrain(config, { threads: 1 });
  });
  afterAll(async () => {
    await encoder?.dispose();
  });

  it('gives mu, logvar, the batch statistics and every weight gradient of tfjs autodiff', async () => {
    const ref = tfjsEncoderTrain(tf, named, config, context, BATCH, upstream, im2colConvs(tf));
    const ours = await encoder.run(context, BATCH, named, upstream);
    const errors: Record<string, number> = { mu: relErr(ours.mu, ref.mu), logvar: relErr(ours.logvar, ref.logvar) };
    ours.batchStats.forEach((s, i) => {
      errors[`bn${i + 1}.mean`] = relErr(s.mean, ref.batchStats[i]!.mean);
      errors[`bn${i + 1}.variance`] = relErr(s.variance, ref.batchStats[i]!.variance);
    });
    // The conv biases feed a BatchNorm on batch statistics: their gradient is 0 in exact arithmetic and both sides
    // return rounding noise, so it is checked against the scale of the layer's weight gradient instead.
    const biasNoise: Record<string, number> = {};
    for (const { name } of ENCODER_WEIGHTS) {
      const g = ours.grads!.get(name)!;
      if (/conv\d\.bias/.test(name)) biasNoise[name] = maxAbs(g) / maxAbs(ref.grads!.get(name.replace('bias', 'weight'))!);
      else errors[name] = relErr(g, ref.grads!.get(name)!);
    }
    expectClose('encoder (training mode)', errors, `; conv bias gradients / max |weight gradient|: ${Object.entries(biasNoise).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
    for (const [name, noise] of Object.entries(biasNoise)) expect(noise, name).toBeLessThan(1e-4);
    // the forward-only session gives the same outputs and statistics, and no gradients
    const forwardOnly = await encoder.run(context, BATCH, named);
    expect(relErr(forwardOnly.mu, ours.mu)).toBeLessThan(1e-6);
    expect(relErr(forwardOnly.batchStats[2]!.variance, ours.batchStats[2]!.variance)).toBeLessThan(1e-6);
    expect(forwardOnly.grads).toBeUndefined();
    await expect(encoder.run(context, BATCH, named, { gradMu: upstream.gradMu, gradLogvar: upstream.gradLogvar.subarray(2) })).rejects.toThrow(/gradLogvar has 510 values/);
    // the same in two runs (forwardSaved, backward)
    const split = await encoder.forwardSaved(context, BATCH, named);
    expect(relErr(split.mu, ours.mu)).toBeLessThan(1e-6);
    expect(relErr(split.batchStats[0]!.mean, ours.batchStats[0]!.mean)).toBeLessThan(1e-6);
    expect(Object.keys(split.saved.feeds).length).toBe(9); // x, xhat, rstd of 3 layers
    expectSameGrads(await encoder.backward(split.saved, context, named, upstream), ours.grads!);
  });
});

describe('the backward graphs do not run the forward again', () => {
  /** The op types and input names of an encoded graph. */
  const contents = (bytes: Uint8Array) => {
    const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
    return { ops: new Set(graph.node!.map((n) => n.opType)), inputs: graph.input!.map((i) => i.name) };
  };

  it('keeps only the nodes and inputs their gradients need', () => {
    const hyper = contents(buildHypernetworkGraph(config, 'backward'));
    for (const op of ['Relu', 'Sqrt', 'Gemm']) expect(hyper.ops.has(op), op).toBe(op === 'Gemm'); // Gemm: the weight gradients
    expect(hyper.inputs).not.toContain('hyper.fc1.bias'); // read by the forward only
    expect(hyper.inputs).toContain('saved.o');
    const decoder = contents(buildDecoderGraph(config, 'backward'));
    expect(decoder.ops.has('ConvTranspose')).toBe(false);
    expect(decoder.inputs).not.toContain('decoder.deconv3.bias');
    const encoder = contents(buildEncoderTrainGraph(config, 'backward'));
    for (const op of ['LeakyRelu', 'Sqrt', 'ReduceMean']) expect(encoder.ops.has(op), op).toBe(op === 'ReduceMean'); // ReduceMean: the BatchNorm backward
    expect(encoder.inputs).not.toContain('encoder.conv1.bias');
    // the one-run graph keeps the forward
    expect(contents(buildHypernetworkGraph(config)).ops.has('Relu')).toBe(true);
  });
});

describe('speed', () => {
  // tfjs is not timed here (seconds); docs/onnx-networks.md has the comparison from benchOnnxNetworks.
  it('onnxruntime forward and forward + backward, batch 8 (logged)', async () => {
    const times = await benchOnnxNetworks(tf, { threads: 1, batch: BATCH, reps: 11, tfjsReps: 0 });
    const load = execFileSync('uptime', { encoding: 'utf8' }).trim().replace(/.*load average: /, 'load ');
    for (const t of times) {
      console.log(
        `${t.network} batch ${BATCH}, median ms: onnxruntime 1 thread forward ${t.ortForward.toFixed(2)}, forward + backward ${t.ortTrain.toFixed(2)} (one run), ${t.ortSplit.toFixed(2)} (forwardSaved + backward); ${load}`,
      );
      expect(t.ortTrain).toBeGreaterThan(0);
    }
    const iteration = await benchNetworksIteration({ threads: 1, batch: BATCH, reps: 11 });
    console.log(`the networks' share of one training iteration (4 forwards kept, 1 plain forward, 4 backwards), batch ${BATCH}: ${iteration.toFixed(1)} ms; ${load}`);
    expect(iteration).toBeGreaterThan(0);
  });
});
