import { mkdtemp, readFile, rm, writeFile, cp, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { PARAM_COUNT } from '../src/core/nca/params.js';
import { loadTf } from '../src/core/model/tf.js';
import type { NamedArrays } from '../src/core/model/weights.js';
import {
  DEFAULT_MODEL_DIR,
  NeuroModel,
  createRandomModel,
  encoderForward,
  hypernetworkForward,
  initialWeights,
  loadModel,
  modelFromWeights,
} from '../src/core/model/networks.js';

// ---------------------------------------------------------------------------------------------
// Plain-JS reference implementations (float64), written from the PyTorch definitions.

/** y[b][o] = sum_i x[b][i] W[o][i] + bias[o]. */
function linearRef(x: ArrayLike<number>, w: Float32Array, bias: Float32Array, inF: number, outF: number, batch: number): Float64Array {
  const y = new Float64Array(batch * outF);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outF; o++) {
      let s = bias[o]!;
      for (let i = 0; i < inF; i++) s += x[b * inF + i]! * w[o * inF + i]!;
      y[b * outF + o] = s;
    }
  }
  return y;
}

/** PyTorch Conv2d on one image x [C][H][W], weight OIHW [O][C][k][k], zero padding. */
function conv2dRef(x: ArrayLike<number>, c: number, h: number, wd: number, weight: Float32Array, bias: Float32Array, o: number, k: number, stride: number, pad: number): Float64Array {
  const ho = Math.floor((h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((wd + 2 * pad - k) / stride) + 1;
  const y = new Float64Array(o * ho * wo);
  for (let oc = 0; oc < o; oc++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let s = bias[oc]!;
        for (let ic = 0; ic < c; ic++) {
          for (let ky = 0; ky < k; ky++) {
            const iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = ox * stride - pad + kx;
              if (ix < 0 || ix >= wd) continue;
              s += x[(ic * h + iy) * wd + ix]! * weight[((oc * c + ic) * k + ky) * k + kx]!;
            }
          }
        }
        y[(oc * ho + oy) * wo + ox] = s;
      }
    }
  }
  return y;
}

/** PyTorch ConvTranspose2d on one image x [I][H][W], weight IOHW [I][O][k][k]. */
function convTranspose2dRef(x: ArrayLike<number>, inC: number, h: number, wd: number, weight: Float32Array, bias: Float32Array, outC: number, k: number, stride: number, pad: number): Float64Array {
  const ho = (h - 1) * stride - 2 * pad + k;
  const wo = (wd - 1) * stride - 2 * pad + k;
  const y = new Float64Array(outC * ho * wo);
  for (let oc = 0; oc < outC; oc++) y.fill(bias[oc]!, oc * ho * wo, (oc + 1) * ho * wo);
  for (let ic = 0; ic < inC; ic++) {
    for (let iy = 0; iy < h; iy++) {
      for (let ix = 0; ix < wd; ix++) {
        const v = x[(ic * h + iy) * wd + ix]!;
        for (let oc = 0; oc < outC; oc++) {
          for (let ky = 0; ky < k; ky++) {
            const oy = iy * stride - pad + ky;
            if (oy < 0 || oy >= ho) continue;
            for (let kx = 0; kx < k; kx++) {
              const ox = ix * stride - pad + kx;
              if (ox < 0 || ox >= wo) continue;
              y[(oc * ho + oy) * wo + ox] += v * weight[((ic * outC + oc) * k + ky) * k + kx]!;
            }
          }
        }
      }
    }
  }
  return y;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

function get(named: NamedArrays, name: string): Float32Array {
  const t = named.get(name);
  if (!t) throw new Error(`no ${name}`);
  return t.data;
}

/** Encoder on one sample x [12][32][32]: BatchNorm with running stats, eps 1e-5, LeakyReLU 0.2. */
function encoderRef(named: NamedArrays, x: ArrayLike<number>): { mu: Float64Array; logvar: Float64Array } {
  const channels = [12, 32, 64, 128];
  let act: ArrayLike<number> = x;
  let side = 32;
  for (let l = 1; l <= 3; l++) {
    const y = conv2dRef(act, channels[l - 1]!, side, side, get(named, `encoder.conv${l}.weight`), get(named, `encoder.conv${l}.bias`), channels[l]!, 3, 2, 1);
    side /= 2;
    const gamma = get(named, `encoder.bn${l}.weight`);
    const beta = get(named, `encoder.bn${l}.bias`);
    const mean = get(named, `encoder.bn${l}.running_mean`);
    const variance = get(named, `encoder.bn${l}.running_var`);
    for (let c = 0; c < channels[l]!; c++) {
      for (let p = 0; p < side * side; p++) {
        const i = c * side * side + p;
        const v = ((y[i]! - mean[c]!) / Math.sqrt(variance[c]! + 1e-5)) * gamma[c]! + beta[c]!;
        y[i] = v > 0 ? v : 0.2 * v;
      }
    }
    act = y;
  }
  // act is [128][4][4] CHW: flattened channel-major as it lies.
  return {
    mu: linearRef(act, get(named, 'encoder.fc_mu.weight'), get(named, 'encoder.fc_mu.bias'), 2048, 64, 1),
    logvar: linearRef(act, get(named, 'encoder.fc_logvar.weight'), get(named, 'encoder.fc_logvar.bias'), 2048, 64, 1),
  };
}

/** LayerNorm over each row of x [B][n], biased variance, eps 1e-5. */
function layerNormRef(x: Float64Array, gamma: Float32Array, beta: Float32Array, n: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let b = 0; b < x.length / n; b++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[b * n + i]!;
    mean /= n;
    let variance = 0;
    for (let i = 0; i < n; i++) variance += (x[b * n + i]! - mean) ** 2;
    variance /= n;
    for (let i = 0; i < n; i++) y[b * n + i] = ((x[b * n + i]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[i]! + beta[i]!;
  }
  return y;
}

const relu = (a: Float64Array): Float64Array => a.map((v) => Math.max(0, v));

function hypernetworkRef(named: NamedArrays, z: Float32Array, batch: number): Float64Array {
  let h = linearRef(z, get(named, 'hyper.fc1.weight'), get(named, 'hyper.fc1.bias'), 64, 256, batch);
  h = relu(layerNormRef(h, get(named, 'hyper.ln1.weight'), get(named, 'hyper.ln1.bias'), 256));
  h = linearRef(h, get(named, 'hyper.fc2.weight'), get(named, 'hyper.fc2.bias'), 256, 256, batch);
  h = relu(layerNormRef(h, get(named, 'hyper.ln2.weight'), get(named, 'hyper.ln2.bias'), 256));
  const out = linearRef(h, get(named, 'hyper.fc3.weight'), get(named, 'hyper.fc3.bias'), 256, PARAM_COUNT, batch);
  const scale = get(named, 'hyper.scale')[0]!;
  return out.map((v) => v * scale);
}

/** Decoder on one latent: [16][32][32] CHW. */
function decoderRef(named: NamedArrays, z: ArrayLike<number>): Float64Array {
  let x: Float64Array = linearRef(z, get(named, 'decoder.fc.weight'), get(named, 'decoder.fc.bias'), 64, 2048, 1); // (128, 4, 4)
  const channels = [128, 64, 32, 16];
  let side = 4;
  for (let l = 1; l <= 3; l++) {
    x = convTranspose2dRef(x, channels[l - 1]!, side, side, get(named, `decoder.deconv${l}.weight`), get(named, `decoder.deconv${l}.bias`), channels[l]!, 4, 2, 1);
    side *= 2;
    if (l < 3) x = relu(x);
  }
  return x.map((v, i) => (i < 3 * 32 * 32 ? sigmoid(v) : 0.1 * Math.tanh(v)));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Bit-identical float arrays (a fast toEqual for millions of values). */
function sameFloats(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Random inputs. */
function normals(rng: Rng, n: number, std = 1): Float32Array {
  return rng.normalArray(new Float32Array(n), 0, std);
}

/** Replace some default-initialised tensors (ones/zeros) by random values so the test sees them used. */
function randomiseNorms(named: NamedArrays, rng: Rng): NamedArrays {
  for (const [name, t] of named) {
    if (/\.(bn|ln)\d\.(weight|bias)$|running_mean$/.test(name)) rng.fillUniform(t.data, -1, 1);
    if (name.endsWith('running_var')) rng.fillUniform(t.data, 0.3, 3);
    if (name.endsWith('.weight') && name.includes('.bn')) rng.fillUniform(t.data, 0.5, 2);
    if (name === 'hyper.scale') t.data[0] = 1.7;
    if (name === 'hyper.fc3.bias') rng.fillUniform(t.data, -0.1, 0.1);
  }
  return named;
}

// Total floats: encoder 359008 + hypernetwork 1275937 + decoder 305264 (shapes of docs/design.md#the-model).
const TOTAL_WEIGHTS = 1_940_209;

// ---------------------------------------------------------------------------------------------

describe('loadTf', () => {
  it('loads tfjs on the cpu backend once and prints nothing', async () => {
    const spies = (['log', 'warn', 'info', 'error'] as const).map((m) => vi.spyOn(console, m));
    try {
      const tf = await loadTf();
      expect(await loadTf()).toBe(tf);
      expect(tf.getBackend()).toBe('cpu');
      // The banner is printed on the cpu backend's first tensor write.
      tf.tensor([1, 2, 3]).dispose();
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe('networks against plain-JS references', () => {
  let named: NamedArrays;
  let model: NeuroModel;

  beforeAll(async () => {
    named = randomiseNorms(initialWeights(new Rng(11)), new Rng(12));
    model = await modelFromWeights(named);
  });
  afterAll(() => model.dispose());

  it('encoder: conv/BatchNorm/LeakyReLU/flatten/heads match PyTorch semantics', () => {
    const rng = new Rng(1);
    const batch = 2;
    const context = rng.fillUniform(new Float32Array(batch * 12 * 32 * 32));
    const { mu, logvar } = model.encode(context, batch);
    expect(mu).toBeInstanceOf(Float32Array);
    expect(mu.length).toBe(batch * 64);
    expect(logvar.length).toBe(batch * 64);
    for (let b = 0; b < batch; b++) {
      const ref = encoderRef(named, context.subarray(b * 12 * 1024, (b + 1) * 12 * 1024));
      const scale = Math.max(1, maxAbs(ref.mu));
      expect(maxAbsDiff(mu.subarray(b * 64, (b + 1) * 64), ref.mu)).toBeLessThan(2e-4 * scale);
      expect(maxAbsDiff(logvar.subarray(b * 64, (b + 1) * 64), ref.logvar)).toBeLessThan(2e-4 * Math.max(1, maxAbs(ref.logvar)));
    }
    // The two samples differ, and batch rows do not leak into each other.
    expect(maxAbsDiff(mu.subarray(0, 64), mu.subarray(64))).toBeGreaterThan(1e-3);
  });

  it('hypernetwork: the MLP (LayerNorm eps 1e-5, ReLU, scale) matches a plain-JS one', () => {
    const batch = 3;
    const z = normals(new Rng(2), batch * 64);
    const out = model.hypernetwork(z, batch);
    expect(out.length).toBe(batch * PARAM_COUNT);
    const ref = hypernetworkRef(named, z, batch);
    expect(maxAbs(ref)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(out, ref)).toBeLessThan(1e-4);
    // One batched call equals one call per latent.
    const single = model.hypernetwork(z.subarray(64, 128), 1);
    expect(maxAbsDiff(single, out.subarray(PARAM_COUNT, 2 * PARAM_COUNT))).toBeLessThan(1e-6);
  });

  it('decoder: linear, (128,4,4) view, transposed convs IOHW k4 s2 p1, activations', () => {
    const batch = 2;
    const z = normals(new Rng(3), batch * 64);
    const out = model.decodeFirstFrame(z, batch);
    expect(out.length).toBe(batch * 16 * 32 * 32);
    for (let b = 0; b < batch; b++) {
      const ref = decoderRef(named, z.subarray(b * 64, (b + 1) * 64));
      expect(maxAbsDiff(out.subarray(b * 16384, (b + 1) * 16384), ref)).toBeLessThan(1e-5);
    }
  });

  it('decoder: RGB channels in [0, 1], hidden channels in [-0.1, 0.1], even when saturated', async () => {
    // Scale the last layer up so that pre-activations reach far beyond the squashing ranges.
    const loud = initialWeights(new Rng(13));
    for (const v of ['decoder.deconv3.weight', 'decoder.deconv3.bias']) get(loud, v).forEach((x, i, a) => (a[i] = x * 300));
    const loudModel = await modelFromWeights(loud);
    const batch = 4;
    const out = loudModel.decodeFirstFrame(normals(new Rng(4), batch * 64, 3), batch);
    loudModel.dispose();
    const range = (from: number, to: number): [number, number] => {
      let lo = Infinity;
      let hi = -Infinity;
      for (let b = 0; b < batch; b++) {
        for (const v of out.subarray((b * 16 + from) * 1024, (b * 16 + to) * 1024)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
      return [lo, hi];
    };
    const [rgbLo, rgbHi] = range(0, 3);
    expect(rgbLo).toBeGreaterThanOrEqual(0);
    expect(rgbHi).toBeLessThanOrEqual(1);
    expect(rgbHi - rgbLo).toBeGreaterThan(0.95);
    const [hiddenLo, hiddenHi] = range(3, 16);
    expect(hiddenLo).toBeGreaterThanOrEqual(-Math.fround(0.1)); // 0.1 in float32
    expect(hiddenHi).toBeLessThanOrEqual(Math.fround(0.1));
    expect(hiddenHi - hiddenLo).toBeGreaterThan(0.19);
  });

  it('frees every intermediate tensor', async () => {
    const tf = await loadTf();
    const z = normals(new Rng(5), 2 * 64);
    model.hypernetwork(z, 2); // warm-up: kernels may cache on first use
    const before = tf.memory().numTensors;
    model.hypernetwork(z, 2);
    model.decodeFirstFrame(z, 2);
    model.encode(new Float32Array(2 * 12 * 1024), 2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects inputs whose length does not match the batch', () => {
    expect(() => model.hypernetwork(new Float32Array(63), 1)).toThrow(RangeError);
    expect(() => model.encode(new Float32Array(12 * 1024), 2)).toThrow(/context has 12288 values/);
  });
});

describe('training hooks', () => {
  it('forward functions take variables and give gradients; encoder training mode returns batch statistics', async () => {
    const tf = await loadTf();
    const model = await createRandomModel(new Rng(21));
    const variables: Record<string, import('@tensorflow/tfjs').Variable> = {};
    for (const [name, t] of Object.entries(model.weights)) variables[name] = tf.variable(t, true, `t_${name}`);
    const z = tf.tensor2d(normals(new Rng(22), 4 * 64), [4, 64]);
    const { grads, value } = tf.variableGrads(() => tf.mean(tf.square(hypernetworkForward(tf, variables, model.config, z))) as import('@tensorflow/tfjs').Scalar);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    for (const name of ['hyper.fc1.weight', 'hyper.ln2.bias', 'hyper.fc3.weight', 'hyper.scale']) {
      expect(maxAbs(grads[`t_${name}`]!.dataSync()), name).toBeGreaterThan(0);
    }
    const context = tf.randomUniform([3, 12, 32, 32], 0, 1, 'float32', 23) as import('@tensorflow/tfjs').Tensor4D;
    const out = encoderForward(tf, variables, model.config, context, { training: true });
    expect(out.batchStats.map((s) => s.mean.shape[0])).toEqual([32, 64, 128]);
    expect(out.mu.shape).toEqual([3, 64]);
    tf.dispose([z, context, value, out.mu, out.logvar, out.batchStats.flatMap((s) => [s.mean, s.variance]), grads, Object.values(variables)]);
    model.dispose();
  });
});

describe('random initialisation', () => {
  it('same seed gives the same weights, another seed different ones', () => {
    const a = initialWeights(new Rng(7));
    const b = initialWeights(new Rng(7));
    const c = initialWeights(new Rng(8));
    for (const [name, t] of a) expect(sameFloats(b.get(name)!.data, t.data), name).toBe(true);
    expect(sameFloats(c.get('hyper.fc3.weight')!.data, a.get('hyper.fc3.weight')!.data)).toBe(false);
    expect(sameFloats(c.get('encoder.conv1.weight')!.data, a.get('encoder.conv1.weight')!.data)).toBe(false);
  });

  it('follows the PyTorch defaults and the hypernetwork rule of docs/design.md', () => {
    const w = initialWeights(new Rng(9));
    let total = 0;
    for (const t of w.values()) total += t.data.length;
    expect(total).toBe(TOTAL_WEIGHTS);
    const fc3 = get(w, 'hyper.fc3.weight');
    const std = Math.sqrt(fc3.reduce((s, v) => s + v * v, 0) / fc3.length);
    expect(std).toBeGreaterThan(0.0198);
    expect(std).toBeLessThan(0.0202);
    expect(maxAbs(get(w, 'hyper.fc3.bias'))).toBe(0);
    expect(get(w, 'hyper.scale')).toEqual(new Float32Array([0.1]));
    expect(w.get('hyper.scale')!.shape).toEqual([]);
    expect(maxAbs(get(w, 'encoder.conv1.weight'))).toBeLessThanOrEqual(1 / Math.sqrt(12 * 9));
    expect(maxAbs(get(w, 'encoder.conv1.weight'))).toBeGreaterThan(0.9 / Math.sqrt(12 * 9));
    expect(maxAbs(get(w, 'hyper.fc1.weight'))).toBeLessThanOrEqual(1 / 8);
    expect(maxAbs(get(w, 'decoder.deconv1.weight'))).toBeLessThanOrEqual(1 / Math.sqrt(64 * 16));
    expect(get(w, 'encoder.bn2.running_var').every((v) => v === 1)).toBe(true);
    expect(w.get('decoder.deconv1.weight')!.shape).toEqual([128, 64, 4, 4]);
    expect(w.get('encoder.conv3.weight')!.shape).toEqual([128, 64, 3, 3]);
  });
});

describe('save and load', () => {
  let dir: string;
  let modelDir: string;
  let model: NeuroModel;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nca-model-test-'));
    modelDir = join(dir, 'saved', 'model');
    model = await createRandomModel(new Rng(31), { protocol: 'free', protocolDetails: { kind: 'carry', carry: 3 } });
    await model.save(modelDir);
  });
  afterAll(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the saved model with one file changed. */
  async function variant(name: string, edit: (folder: string) => Promise<void>): Promise<string> {
    const folder = join(dir, name);
    await cp(modelDir, folder, { recursive: true });
    await edit(folder);
    return folder;
  }

  async function editManifest(folder: string, edit: (m: Record<string, any>) => void): Promise<void> {
    const path = join(folder, 'model.json');
    const m = JSON.parse(await readFile(path, 'utf8'));
    edit(m);
    await writeFile(path, JSON.stringify(m));
  }

  it('writes the documented format', async () => {
    const manifest = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
    expect(manifest.format).toBe('nca-model');
    expect(manifest.version).toBe(1);
    expect(manifest.config).toMatchObject({ latentDim: 64, paramCount: 4640, layerNormEps: 1e-5, protocol: 'free', protocolDetails: { kind: 'carry', carry: 3 } });
    expect(manifest.weightsManifest).toHaveLength(1);
    expect(manifest.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(manifest.weightsManifest[0].weights[0]).toEqual({ name: 'encoder.conv1.weight', shape: [32, 12, 3, 3], dtype: 'float32' });
    expect((await stat(join(modelDir, 'weights.bin'))).size).toBe(4 * TOTAL_WEIGHTS);
    // Little-endian float32 in manifest order: the first float is encoder.conv1.weight[0].
    const bin = await readFile(join(modelDir, 'weights.bin'));
    expect(bin.readFloatLE(0)).toBe(model.namedArrays().get('encoder.conv1.weight')!.data[0]);
  });

  it('round trip gives identical weights and identical outputs', async () => {
    const loaded = await loadModel(modelDir);
    try {
      expect(loaded.config).toEqual(model.config);
      const a = model.namedArrays();
      const b = loaded.namedArrays();
      for (const [name, t] of a) expect(sameFloats(b.get(name)!.data, t.data), name).toBe(true);
      const z = normals(new Rng(32), 2 * 64);
      expect(sameFloats(loaded.hypernetwork(z, 2), model.hypernetwork(z, 2))).toBe(true);
      expect(sameFloats(loaded.decodeFirstFrame(z, 2), model.decodeFirstFrame(z, 2))).toBe(true);
      const context = new Rng(33).fillUniform(new Float32Array(12 * 1024));
      const [x, y] = [loaded.encode(context, 1), model.encode(context, 1)];
      expect(sameFloats(x.mu, y.mu) && sameFloats(x.logvar, y.logvar)).toBe(true);
    } finally {
      loaded.dispose();
    }
  });

  const broken: [string, (folder: string) => Promise<void>, RegExp][] = [
    ['missing weights.bin', async (f) => rm(join(f, 'weights.bin')), /cannot read .*weights\.bin \(ENOENT\).*--model DIR/],
    ['missing model.json', async (f) => rm(join(f, 'model.json')), /is not a model folder: it has no model\.json/],
    [
      'truncated weights.bin',
      async (f) => writeFile(join(f, 'weights.bin'), (await readFile(join(f, 'weights.bin'))).subarray(0, 1000)),
      /weights\.bin has 1000 bytes but .*model\.json describes 7760836: the files are truncated/,
    ],
    [
      'a NaN in weights.bin',
      async (f) => {
        const bin = await readFile(join(f, 'weights.bin'));
        bin.writeFloatLE(NaN, 4 * 5);
        await writeFile(join(f, 'weights.bin'), bin);
      },
      /weights\.bin: tensor encoder\.conv1\.weight holds NaN at index 5/,
    ],
    ['model.json that is not JSON', async (f) => writeFile(join(f, 'model.json'), '{"format": "nca-model",'), /model\.json is not valid JSON/],
    ['a wrong format', async (f) => editManifest(f, (m) => (m.format = 'nca-latent')), /model\.json has format "nca-latent", not "nca-model"/],
    ['a newer version', async (f) => editManifest(f, (m) => (m.version = 2)), /model\.json has version 2; this nca reads version 1/],
    ['a wrong dtype', async (f) => editManifest(f, (m) => (m.weightsManifest[0].weights[0].dtype = 'float16')), /dtype "float16"/],
    ['a path outside the folder', async (f) => editManifest(f, (m) => (m.weightsManifest[0].paths = ['../weights.bin'])), /not a file name in the model folder/],
    [
      'a tensor of the wrong shape',
      async (f) => editManifest(f, (m) => (m.weightsManifest[0].weights[0].shape = [12, 32, 3, 3])),
      /tensor encoder\.conv1\.weight has shape \[12, 32, 3, 3\], expected \[32, 12, 3, 3\]/,
    ],
    [
      'a missing tensor',
      async (f) =>
        editManifest(f, (m) => {
          const w = m.weightsManifest[0].weights;
          w[w.length - 1].name = 'decoder.deconv9.bias';
        }),
      /has no tensor decoder\.deconv3\.bias/,
    ],
    ['another latent size', async (f) => editManifest(f, (m) => (m.config.latentDim = 32)), /has latentDim 32; this nca runs models with latentDim 64/],
  ];

  it.each(broken)('%s is a UserError naming the file', async (name, edit, message) => {
    const folder = await variant(name.replace(/\W+/g, '-'), edit);
    const error = await loadModel(folder).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('loadModel says how to get a model when there is none', async () => {
    const missing = join(dir, 'no-model-here');
    await expect(loadModel(missing)).rejects.toThrow(new UserError(`no model folder at ${missing}: no such file or folder; check the path (a model folder holds model.json and weights.bin, as nca train writes them)`));
  });

  it('DEFAULT_MODEL_DIR is fixtures/model in the package root', () => {
    expect(DEFAULT_MODEL_DIR.endsWith(join('fixtures', 'model'))).toBe(true);
    expect(existsSync(join(dirname(dirname(DEFAULT_MODEL_DIR)), 'package.json'))).toBe(true);
  });
});
