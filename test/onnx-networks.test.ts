/**
 * The networks' training graphs on onnxruntime (src/core/model/onnx-networks/): forward outputs and
 * every gradient against tfjs autodiff (tf.grads through networks.ts's forward functions, tfjs cpu),
 * with random non-trivial weights and a random upstream gradient; plus the speed of both, logged.
 */
import { execFileSync } from 'node:child_process';
import type { Tensor } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { im2colConvs } from '../src/core/model/fast-convs.js';
import { DEFAULT_CONFIG, decoderForward, encoderForward, hypernetworkForward, initialWeights, type Weights } from '../src/core/model/networks.js';
import { ENCODER_WEIGHTS, createOnnxEncoderTrain } from '../src/core/model/onnx-networks/encoder.js';
import { DECODER_WEIGHTS, createOnnxDecoder } from '../src/core/model/onnx-networks/decoder.js';
import type { OnnxNetwork } from '../src/core/model/onnx-networks/graph.js';
import { HYPER_WEIGHTS, buildHypernetworkGraph, createOnnxHypernetwork, hyperNames } from '../src/core/model/onnx-networks/hypernetwork.js';
import { loadTf, type Tf } from '../src/core/model/tf.js';
import type { NamedArrays } from '../src/core/model/weights.js';
import { Rng } from '../src/core/rng.js';

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

/** Median wall-clock ms of `reps` calls after `warm` warm-ups (onnxruntime's first runs grow its arena). */
async function medianMs(reps: number, fn: () => unknown, warm = 1): Promise<number> {
  for (let w = 0; w < warm; w++) await fn();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(reps / 2)]!;
}

const load = () => execFileSync('uptime', { encoding: 'utf8' }).trim().replace(/.*load average: /, 'load ');

/** Random arrays of the given shape, uniform in [lo, hi). */
function uniform(rng: Rng, size: number, lo: number, hi: number): Float32Array {
  return rng.fillUniform(new Float32Array(size), lo, hi);
}

/**
 * dL/d(input) and dL/d(every named weight) by tfjs autodiff, L = sum(forward(...) * upstream);
 * returns the forward's value too.
 */
function tfjsGrads(tf: Tf, named: NamedArrays, names: readonly string[], input: Tensor, upstream: Tensor, forward: (weights: Weights, input: Tensor) => Tensor) {
  const tensors = names.map((name) => tf.tensor(named.get(name)!.data, named.get(name)!.shape));
  const weightsOf = (xs: Tensor[]) => Object.fromEntries(names.map((name, i) => [name, xs[i]!]));
  const value = forward(weightsOf(tensors), input);
  const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(forward(weightsOf(xs.slice(1)), xs[0]!), upstream)))([input, ...tensors]);
  const result = {
    value: value.dataSync() as Float32Array,
    gradInput: grads[0]!.dataSync() as Float32Array,
    grads: new Map(names.map((name, i) => [name, grads[i + 1]!.dataSync() as Float32Array])),
  };
  tf.dispose([...tensors, ...grads, value]);
  return result;
}

let tf: Tf;
const config = { ...DEFAULT_CONFIG };
const BATCH = 8;
/** Max |diff| / max |reference| allowed per tensor (tfjs cpu vs wasm differ by ~1e-6, docs/training-speed.md). */
const TOLERANCE = 1e-4;

beforeAll(async () => {
  tf = await loadTf({ backend: 'cpu' });
});

/** The model's initial weights with every LayerNorm / scale / zero-initialised tensor made non-trivial. */
function randomWeights(seed: number): NamedArrays {
  const rng = new Rng(seed);
  const named = initialWeights(rng);
  for (const l of [1, 2]) {
    named.get(`hyper.ln${l}.weight`)!.data.set(uniform(rng, 256, 0.5, 1.5));
    named.get(`hyper.ln${l}.bias`)!.data.set(uniform(rng, 256, -0.3, 0.3));
  }
  named.get('hyper.fc3.bias')!.data.set(uniform(rng, 4640, -0.05, 0.05));
  named.get('hyper.scale')!.data[0] = 0.37;
  for (const l of [1, 2, 3]) {
    const c = named.get(`encoder.bn${l}.weight`)!.data.length;
    named.get(`encoder.bn${l}.weight`)!.data.set(uniform(rng, c, 0.5, 1.5));
    named.get(`encoder.bn${l}.bias`)!.data.set(uniform(rng, c, -0.3, 0.3));
  }
  // larger decoder biases so that some ReLUs are off and the sigmoid / tanh are not all near 0
  for (const l of [1, 2, 3]) named.get(`decoder.deconv${l}.bias`)!.data.set(uniform(rng, named.get(`decoder.deconv${l}.bias`)!.data.length, -0.5, 0.5));
  return named;
}

describe('hypernetwork on onnxruntime: forward + hand-derived backward', () => {
  const named = randomWeights(5);
  const rng = new Rng(6);
  const z = uniform(rng, BATCH * 64, -2, 2);
  const upstream = uniform(rng, BATCH * 4640, -1, 1);
  const names = HYPER_WEIGHTS.map((w) => w.name);
  let hyper: OnnxNetwork;

  beforeAll(async () => {
    hyper = await createOnnxHypernetwork(config, { threads: 1 });
  });
  afterAll(async () => {
    await hyper?.dispose();
  });

  it('gives the params and dL/dz, dL/d(every weight) of tfjs autodiff', async () => {
    const ref = tfjsGrads(tf, named, names, tf.tensor2d(z, [BATCH, 64]), tf.tensor2d(upstream, [BATCH, 4640]), (w, x) => hypernetworkForward(tf, w, config, x as never));
    const { output: params, grads } = await hyper.run(z, BATCH, named, upstream);
    const errors: Record<string, number> = { params: relErr(params, ref.value), z: relErr(grads!.get('z')!, ref.gradInput) };
    for (const name of names) errors[name] = relErr(grads!.get(name)!, ref.grads.get(name)!);
    console.log('hypernetwork, max |diff| / max |tfjs| per tensor:', Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
    for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(TOLERANCE);
    // the forward-only session gives the same params
    const forwardOnly = await hyper.run(z, BATCH, named);
    expect(relErr(forwardOnly.output, params)).toBeLessThan(1e-6);
    // other batch sizes run on the same sessions (symbolic batch)
    const one = await hyper.run(z.subarray(0, 64), 1, named, upstream.subarray(0, 4640));
    expect(relErr(one.output, params.subarray(0, 4640))).toBeLessThan(1e-5);
  });

  it('rejects inputs of the wrong size and missing weights', async () => {
    await expect(hyper.run(z, BATCH + 1, named)).rejects.toThrow(/z has 512 values/);
    await expect(hyper.run(z, BATCH, named, upstream.subarray(1))).rejects.toThrow(/gradParams has/);
    const missing = new Map(named);
    missing.delete('hyper.scale');
    await expect(hyper.run(z, BATCH, missing)).rejects.toThrow(/no tensor hyper\.scale/);
    expect(buildHypernetworkGraph(config).length).toBeGreaterThan(100);
    expect(hyperNames.gradZ).toBe('grad.z');
  });

  it('times forward + backward against tfjs cpu (logged)', async () => {
    const ort = await medianMs(21, () => hyper.run(z, BATCH, named, upstream), 5);
    const zt = tf.tensor2d(z, [BATCH, 64]);
    const gt = tf.tensor2d(upstream, [BATCH, 4640]);
    const cpu = await medianMs(5, () => tfjsGrads(tf, named, names, zt, gt, (w, x) => hypernetworkForward(tf, w, config, x as never)));
    tf.dispose([zt, gt]);
    console.log(`hypernetwork forward + backward, batch ${BATCH}: onnxruntime 1 thread ${ort.toFixed(2)} ms, tfjs cpu ${cpu.toFixed(1)} ms (${(cpu / ort).toFixed(0)}x); ${load()}`);
    expect(ort).toBeGreaterThan(0);
  });
});

describe('decoder on onnxruntime: forward + hand-derived backward', () => {
  const named = randomWeights(7);
  const rng = new Rng(8);
  const z = uniform(rng, BATCH * 64, -2, 2);
  const upstream = uniform(rng, BATCH * 16 * 32 * 32, -1, 1);
  const names = DECODER_WEIGHTS.map((w) => w.name);
  let decoder: OnnxNetwork;

  beforeAll(async () => {
    decoder = await createOnnxDecoder(config, { threads: 1 });
  });
  afterAll(async () => {
    await decoder?.dispose();
  });

  // The reference runs the im2col convolutions of training (fast-convs.ts, checked against tf.conv2dTranspose in
  // train.test.ts): with tf.conv2dTranspose the tfjs gradient alone takes ~12 s here (it agreed as closely, see
  // docs/onnx-networks.md).
  it('gives the state and dL/dz, dL/d(every weight) of tfjs autodiff', async () => {
    const convs = im2colConvs(tf);
    const ref = tfjsGrads(tf, named, names, tf.tensor2d(z, [BATCH, 64]), tf.tensor4d(upstream, [BATCH, 16, 32, 32]), (w, x) => decoderForward(tf, w, config, x as never, { convs }));
    const { output, grads } = await decoder.run(z, BATCH, named, upstream);
    const errors: Record<string, number> = { state: relErr(output, ref.value), z: relErr(grads!.get('z')!, ref.gradInput) };
    for (const name of names) errors[name] = relErr(grads!.get(name)!, ref.grads.get(name)!);
    console.log('decoder, max |diff| / max |tfjs| per tensor:', Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
    for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(TOLERANCE);
    // the output is not flat: RGB spread out, hidden channels away from 0
    const red = output.subarray(0, 1024);
    expect(Math.max(...red) - Math.min(...red)).toBeGreaterThan(0.05);
    expect(Math.max(...output.subarray(3 * 1024, 4 * 1024).map(Math.abs))).toBeGreaterThan(0.01);
    const forwardOnly = await decoder.run(z, BATCH, named);
    expect(relErr(forwardOnly.output, output)).toBeLessThan(1e-6);
    const two = await decoder.run(z.subarray(0, 128), 2, named, upstream.subarray(0, 2 * 16384));
    expect(relErr(two.output, output.subarray(0, 2 * 16384))).toBeLessThan(1e-5);
  });

  it('times forward + backward against tfjs cpu with the im2col convolutions of training (logged)', async () => {
    const ort = await medianMs(11, () => decoder.run(z, BATCH, named, upstream), 3);
    const zt = tf.tensor2d(z, [BATCH, 64]);
    const gt = tf.tensor4d(upstream, [BATCH, 16, 32, 32]);
    const convs = im2colConvs(tf);
    const cpu = await medianMs(3, () => tfjsGrads(tf, named, names, zt, gt, (w, x) => decoderForward(tf, w, config, x as never, { convs })));
    tf.dispose([zt, gt]);
    console.log(`decoder forward + backward, batch ${BATCH}: onnxruntime 1 thread ${ort.toFixed(2)} ms, tfjs cpu ${cpu.toFixed(1)} ms (${(cpu / ort).toFixed(0)}x); ${load()}`);
    expect(ort).toBeGreaterThan(0);
  });
});

describe('encoder in training mode on onnxruntime: forward, batch statistics, hand-derived backward', () => {
  const named = randomWeights(9);
  const rng = new Rng(10);
  const context = uniform(rng, BATCH * 12 * 32 * 32, 0, 1);
  const gradMu = uniform(rng, BATCH * 64, -1, 1);
  const gradLogvar = uniform(rng, BATCH * 64, -1, 1);
  const names = ENCODER_WEIGHTS.map((w) => w.name);
  let encoder: Awaited<ReturnType<typeof createOnnxEncoderTrain>>;

  beforeAll(async () => {
    encoder = await createOnnxEncoderTrain(config, { threads: 1 });
  });
  afterAll(async () => {
    await encoder?.dispose();
  });

  /** tfjs autodiff of L = sum(mu gradMu) + sum(logvar gradLogvar) through encoderForward in training mode (im2col convs). */
  function reference() {
    const convs = im2colConvs(tf);
    const constants = Object.fromEntries([...named].filter(([name]) => !names.includes(name) && name.startsWith('encoder.')).map(([name, t]) => [name, tf.tensor(t.data, t.shape)]));
    const tensors = names.map((name) => tf.tensor(named.get(name)!.data, named.get(name)!.shape));
    const [x, gm, gl] = [tf.tensor4d(context, [BATCH, 12, 32, 32]), tf.tensor2d(gradMu, [BATCH, 64]), tf.tensor2d(gradLogvar, [BATCH, 64])];
    const forward = (xs: Tensor[]) => encoderForward(tf, { ...constants, ...Object.fromEntries(names.map((name, i) => [name, xs[i]!])) }, config, x, { training: true, convs });
    const out = forward(tensors);
    const grads = tf.grads((...xs: Tensor[]) => {
      const { mu, logvar } = forward(xs);
      return tf.add(tf.sum(tf.mul(mu, gm)), tf.sum(tf.mul(logvar, gl)));
    })(tensors);
    const result = {
      mu: out.mu.dataSync() as Float32Array,
      logvar: out.logvar.dataSync() as Float32Array,
      stats: out.batchStats.map((s) => ({ mean: s.mean.dataSync() as Float32Array, variance: s.variance.dataSync() as Float32Array })),
      grads: new Map(names.map((name, i) => [name, grads[i]!.dataSync() as Float32Array])),
    };
    tf.dispose([...tensors, ...grads, ...Object.values(constants), x, gm, gl, out.mu, out.logvar, ...out.batchStats.flatMap((s) => [s.mean, s.variance])]);
    return result;
  }

  it('gives mu, logvar, the batch statistics and every weight gradient of tfjs autodiff', async () => {
    const ref = reference();
    const ours = await encoder.run(context, BATCH, named, { gradMu, gradLogvar });
    const errors: Record<string, number> = { mu: relErr(ours.mu, ref.mu), logvar: relErr(ours.logvar, ref.logvar) };
    ours.batchStats.forEach((s, i) => {
      errors[`bn${i + 1}.mean`] = relErr(s.mean, ref.stats[i]!.mean);
      errors[`bn${i + 1}.variance`] = relErr(s.variance, ref.stats[i]!.variance);
    });
    // The conv biases feed a BatchNorm on batch statistics: their gradient is 0 in exact arithmetic, both sides
    // return rounding noise, so they are checked against the scale of their layer's weight gradient instead.
    const biasNoise: Record<string, number> = {};
    for (const name of names) {
      const g = ours.grads!.get(name)!;
      if (/conv\d\.bias/.test(name)) {
        const w = ref.grads.get(name.replace('bias', 'weight'))!;
        biasNoise[name] = Math.max(...g.map(Math.abs)) / Math.max(...w.map(Math.abs));
      } else errors[name] = relErr(g, ref.grads.get(name)!);
    }
    const show = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ');
    console.log(`encoder (training mode), max |diff| / max |tfjs| per tensor: ${show(errors)}; conv bias gradients / max |weight gradient|: ${show(biasNoise)}`);
    for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(TOLERANCE);
    for (const [name, noise] of Object.entries(biasNoise)) expect(noise, name).toBeLessThan(1e-4);
    // the forward-only session gives the same outputs and statistics
    const forwardOnly = await encoder.run(context, BATCH, named);
    expect(relErr(forwardOnly.mu, ours.mu)).toBeLessThan(1e-6);
    expect(relErr(forwardOnly.batchStats[2]!.variance, ours.batchStats[2]!.variance)).toBeLessThan(1e-6);
    expect(forwardOnly.grads).toBeUndefined();
  });

  it('times forward + backward against tfjs cpu with the im2col convolutions of training (logged)', async () => {
    const ort = await medianMs(11, () => encoder.run(context, BATCH, named, { gradMu, gradLogvar }), 3);
    const cpu = await medianMs(3, reference);
    console.log(`encoder (training mode) forward + backward, batch ${BATCH}: onnxruntime 1 thread ${ort.toFixed(2)} ms, tfjs cpu ${cpu.toFixed(1)} ms (${(cpu / ort).toFixed(0)}x); ${load()}`);
    expect(ort).toBeGreaterThan(0);
  });
});
