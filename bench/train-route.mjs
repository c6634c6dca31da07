#!/usr/bin/env node
/**
 * Issue 12: which route makes a training iteration fast? Measures, on this machine, against the built dist/:
 *
 *   1. today's split of one iteration of the shipped recipe (batch 8, 21 frames, 32 x 32, frame protocol,
 *      persistence on as in the shipped fine-tune): benchmarkTraining() of dist for the whole iteration and its
 *      NCA forward / backward, then the pieces of the tfjs part timed alone (encoder, hypernetwork, decoder
 *      forward and forward + backward, the whole networks graph, BatchNorm statistics, gradient norm + Adam);
 *   2. the same networks graph (forward + backward through tf.variableGrads, im2col convolutions as in
 *      training, a loss of the same form) on the tfjs 'wasm' backend against 'cpu', with the gradients compared;
 *   3. clipping + Adam as one fused loop over a single Float32Array of all trainable parameters, against the
 *      current per-tensor path (tfjs norm, a JS loop per tensor, variable.assign per tensor);
 *   4. the hypernetwork (64 -> 256 -> 256 -> 4640, LayerNorm) forward + backward written by hand on
 *      Float32Arrays (gradients checked against tfjs autodiff), and the GEMMs of its largest layer and the
 *      encoder's forward on onnxruntime-node: the ceilings of a no-tfjs route.
 *
 * Figures are medians of >= 5 repetitions after warm-up, with the 1-minute load average beside each
 * (the machine has 2 cores shared with other jobs: compare ratios measured in the same run).
 *
 *   node bench/train-route.mjs            # full run (a few minutes)
 *   node bench/train-route.mjs --quick    # 5 repetitions, 1 warm-up, no benchmarkTraining (about a minute when idle)
 *   node bench/train-route.mjs --json out.json   # also write every figure as JSON
 *   NCA_DIST=/path/to/dist node bench/train-route.mjs   # another build of the library than ../dist
 */
process.env.NCA_TFJS = 'cpu'; // the trainer's own backend choice: pure-JS tfjs on 'cpu'
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { pathToFileURL } from 'node:url';

// the built library: ../dist, or NCA_DIST=<folder> (e.g. a stable build while others rebuild dist/)
const DIST = process.env.NCA_DIST ? pathToFileURL(`${process.env.NCA_DIST.replace(/\/$/, '')}/`).href : new URL('../dist/', import.meta.url).href;
const lib = async (path) => import(new URL(path, DIST).href);
const { DEFAULT_CONFIG, decoderForward, encoderForward, hypernetworkForward, initialWeights, weightSpecs } = await lib('core/model/networks.js');
const { im2colConvs } = await lib('core/model/fast-convs.js');
const { benchmarkTraining } = await lib('core/model/train.js');
const { buildEncoderGraph, encoderWeights } = await lib('core/model/encoder-onnx.js');
const { Rng } = await lib('core/rng.js');
const { NcaRollout, mseLoss, ncaRolloutOp, rolloutNoise } = await lib('core/model/nca-op.js');
const { persistenceLoss } = await lib('core/model/persistence.js');

const quick = process.argv.includes('--quick');
const jsonAt = process.argv.indexOf('--json');
const jsonOut = jsonAt > 0 ? process.argv[jsonAt + 1] : undefined;
const REPS = quick ? 5 : 9;
const WARM = quick ? 1 : 2;
const TRAIN_ITERS = quick ? 6 : 12; // benchmarkTraining skips the first (warm-up): 5 / 11 timed iterations

tf.enableProdMode();
const config = { ...DEFAULT_CONFIG };
const B = 8, H = 32, W = 32, C = config.contextFrames, P = 8; // clip batch, grid, context frames, pool batch
const load = () => loadavg()[0].toFixed(2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { machine: {}, figures: {} };
const ms = (s) => (s * 1000).toFixed(1);

/** Median and min of `reps` timed calls after `warm` untimed ones, in seconds, with the load average after. */
function time(fn, reps = REPS, warm = WARM) {
  for (let i = 0; i < warm; i++) fn();
  const xs = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    xs.push((performance.now() - t) / 1000);
  }
  return { median: median(xs), min: Math.min(...xs), reps, load: Number(load()) };
}
async function timeAsync(fn, reps = REPS, warm = WARM) {
  for (let i = 0; i < warm; i++) await fn();
  const xs = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    xs.push((performance.now() - t) / 1000);
  }
  return { median: median(xs), min: Math.min(...xs), reps, load: Number(load()) };
}
function record(key, r, label) {
  results.figures[key] = r;
  console.log(`  ${label.padEnd(58)} ${ms(r.median).padStart(8)} ms  (min ${ms(r.min)}, n=${r.reps}, load ${r.load.toFixed(2)})`);
  return r;
}
const uptime = () => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
};

// ---------------------------------------------------------------------------------------------
// Shared inputs: the initial weights of seed 0, one batch of random clips, a fixed stand-in for the NCA's gradient

const named = initialWeights(new Rng('0/init'));
const specs = weightSpecs();
const isStat = (n) => n.endsWith('.running_mean') || n.endsWith('.running_var');
const trainable = specs.filter((s) => !isStat(s.name));
const paramCount = trainable.reduce((a, s) => a + named.get(s.name).data.length, 0);
const rng = new Rng('bench/train-route');
const inputs = {
  context: rng.fillUniform(new Float32Array(B * 3 * C * H * W)),
  start: rng.fillUniform(new Float32Array(B * 3 * H * W)),
  eps: rng.normalArray(new Float32Array(B * config.latentDim)),
  poolZ: rng.normalArray(new Float32Array(P * config.latentDim)),
  // dL/dparams of the rollout and of the pool's rollout: stand-ins of the size the NCA op hands back
  gParams: rng.normalArray(new Float32Array(B * config.paramCount), 0, 1e-3),
  gPool: rng.normalArray(new Float32Array(P * config.paramCount), 0, 1e-3),
};
const decoderTarget = new Float32Array(B * config.channels * H * W);
for (let b = 0; b < B; b++) decoderTarget.set(inputs.start.subarray(b * 3 * H * W, (b + 1) * 3 * H * W), b * config.channels * H * W);

/** train.ts's mseOp (a custom op with a plain-loop gradient), over the first `used` of each block. */
function mseOp(x, target, blocks, blockSize, used) {
  const n = blocks * used;
  return tf.customGrad((xIn) => {
    const xs = xIn.dataSync();
    let sum = 0;
    for (let b = 0; b < blocks; b++) for (let i = b * blockSize, e = i + used; i < e; i++) sum += (xs[i] - target[i]) ** 2;
    return {
      value: tf.scalar(sum / n),
      gradFunc: (dy) => {
        const k = (2 * dy.dataSync()[0]) / n;
        const g = new Float32Array(xs.length);
        for (let b = 0; b < blocks; b++) for (let i = b * blockSize, e = i + used; i < e; i++) g[i] = k * (xs[i] - target[i]);
        return [tf.tensor(g, xIn.shape)];
      },
    };
  })(x);
}
/** The NCA op's place in the graph: value sum(params * g), gradient g (what the rollout's backward returns). */
function standInOp(params, g) {
  return tf.customGrad((p) => {
    const v = p.dataSync();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * g[i];
    return { value: tf.scalar(s), gradFunc: (dy) => [tf.mul(tf.tensor(g, p.shape), dy)] };
  })(params);
}

/** Variables, statistics and input tensors on the current backend. */
let setCount = 0;
function makeSet() {
  const vars = {}, stats = {};
  const id = `${tf.getBackend()}${setCount++}`;
  for (const { name, shape } of specs) {
    const data = named.get(name).data;
    if (isStat(name)) stats[name] = tf.tensor(data, shape);
    else vars[name] = tf.variable(tf.tensor(data, shape), true, `${id}/${name}`);
  }
  const t = {
    context: tf.tensor4d(inputs.context, [B, 3 * C, H, W]),
    eps: tf.tensor2d(inputs.eps, [B, config.latentDim]),
    poolZ: tf.tensor2d(inputs.poolZ, [P, config.latentDim]),
  };
  const group = (prefix) => Object.keys(vars).filter((n) => n.startsWith(prefix)).map((n) => vars[n]);
  return { vars, stats, weights: { ...vars, ...stats }, t, enc: group('encoder.'), hyp: group('hyper.'), dec: group('decoder.'), all: Object.values(vars) };
}
function disposeSet(set) {
  for (const x of [...Object.values(set.vars), ...Object.values(set.stats), ...Object.values(set.t)]) x.dispose();
}

/** The networks' part of train.ts's loss graph: everything but the NCA rollout, whose place a stand-in op takes. */
function networksLoss(set, convs, keepStats) {
  const enc = encoderForward(tf, set.weights, config, set.t.context, { training: true, convs });
  if (keepStats) keepStats.push(...enc.batchStats.map((s) => ({ mean: tf.keep(s.mean), variance: tf.keep(s.variance) })));
  const z = tf.add(enc.mu, tf.mul(tf.exp(tf.mul(enc.logvar, 0.5)), set.t.eps));
  const params = hypernetworkForward(tf, set.weights, config, z);
  const rolloutTerm = standInOp(params, inputs.gParams);
  const kl = tf.div(tf.sum(tf.mul(-0.5, tf.sub(tf.add(1, enc.logvar), tf.add(tf.square(enc.mu), tf.exp(enc.logvar))))), B);
  const decoded = decoderForward(tf, set.weights, config, z, { convs });
  const decoderLoss = mseOp(decoded, decoderTarget, B, config.channels * H * W, 3 * H * W);
  const poolParams = hypernetworkForward(tf, set.weights, config, set.t.poolZ);
  const poolTerm = standInOp(poolParams, inputs.gPool);
  return tf.addN([rolloutTerm, tf.mul(1e-4, kl), decoderLoss, tf.mul(0.05, poolTerm)]);
}

/** Times forward, forward + backward of each network and of the whole graph on the current backend. */
function measureNetworks(tag, convs) {
  const set = makeSet();
  const out = {};
  const run = (fn) => () => tf.tidy(() => void fn().dataSync());
  const grads = (f, list) => () => {
    const { value, grads } = tf.variableGrads(f, list);
    for (const g of Object.values(grads)) g.dataSync();
    value.dispose();
    tf.dispose(grads);
  };
  const gMu = tf.tensor2d(inputs.gParams.subarray(0, B * 64), [B, 64]);
  const z = tf.tensor2d(inputs.eps, [B, config.latentDim]);
  const gHyp = tf.tensor2d(inputs.gParams, [B, config.paramCount]);
  out.encF = record(`${tag}.encoder.forward`, time(run(() => encoderForward(tf, set.weights, config, set.t.context, { training: true, convs }).mu)), `${tag}: encoder forward (batch 8)`);
  out.encFB = record(`${tag}.encoder.fwdbwd`, time(grads(() => {
    const e = encoderForward(tf, set.weights, config, set.t.context, { training: true, convs });
    return tf.add(tf.sum(tf.mul(e.mu, gMu)), tf.sum(tf.mul(e.logvar, gMu)));
  }, set.enc)), `${tag}: encoder forward + backward`);
  out.hypF = record(`${tag}.hyper.forward`, time(run(() => hypernetworkForward(tf, set.weights, config, z))), `${tag}: hypernetwork forward (batch 8)`);
  out.hypFB = record(`${tag}.hyper.fwdbwd`, time(grads(() => tf.sum(tf.mul(hypernetworkForward(tf, set.weights, config, z), gHyp)), set.hyp)), `${tag}: hypernetwork forward + backward (batch 8; x2 per iteration)`);
  out.decF = record(`${tag}.decoder.forward`, time(run(() => decoderForward(tf, set.weights, config, z, { convs }))), `${tag}: decoder forward (batch 8)`);
  out.decFB = record(`${tag}.decoder.fwdbwd`, time(grads(() => mseOp(decoderForward(tf, set.weights, config, z, { convs }), decoderTarget, B, config.channels * H * W, 3 * H * W), set.dec)), `${tag}: decoder forward + backward`);
  out.allFB = record(`${tag}.networks.fwdbwd`, time(grads(() => networksLoss(set, convs), set.all)), `${tag}: whole networks graph forward + backward`);
  // gradients once more, kept for the comparison between backends and for the optimizer section
  const { value, grads: g } = tf.variableGrads(() => networksLoss(set, convs), set.all);
  out.loss = value.dataSync()[0];
  out.grads = {};
  for (const [k, v] of Object.entries(g)) out.grads[k.slice(k.indexOf('/') + 1)] = new Float32Array(v.dataSync());
  value.dispose();
  tf.dispose(g);
  // BatchNorm running statistics as train.ts updates them (6 small tfjs ops per layer)
  const kept = [];
  tf.tidy(() => void networksLoss(set, convs, kept));
  const count = B * (H / 2) * (W / 2);
  out.bn = record(`${tag}.bnStats`, time(() => {
    kept.forEach((s, i) => {
      const n = count / 4 ** i, mom = 0.1, l = i + 1;
      const mName = `encoder.bn${l}.running_mean`, vName = `encoder.bn${l}.running_var`;
      const oldM = set.stats[mName], oldV = set.stats[vName];
      set.stats[mName] = tf.tidy(() => tf.add(tf.mul(oldM, 1 - mom), tf.mul(s.mean, mom)));
      set.stats[vName] = tf.tidy(() => tf.add(tf.mul(oldV, 1 - mom), tf.mul(s.variance, (mom * n) / Math.max(1, n - 1))));
      set.stats[mName].dataSync();
      set.stats[vName].dataSync();
      oldM.dispose();
      oldV.dispose();
    });
  }), `${tag}: BatchNorm running statistics (3 layers)`);
  for (const s of kept) tf.dispose([s.mean, s.variance]);
  tf.dispose([gMu, z, gHyp]);
  return { out, set };
}

// ---------------------------------------------------------------------------------------------

/**
 * One iteration of train.ts rebuilt from dist's pieces (the same graph: encoder in training mode, reparameterisation,
 * hypernetwork, the NCA op on onnxruntime with the rollout MSE, KL, decoder MSE, the pool's hypernetwork + rollout +
 * persistence loss; the decoder forward for fresh pool latents; the noise draws; BatchNorm statistics; clipping +
 * Adam), timed phase by phase, on the current tfjs backend. `fusedAdam` swaps the per-tensor optimizer for the fused one.
 */
async function makeReplica() {
  const T = 21, Tp = 16, plane = H * W;
  const rollout = await NcaRollout.create({ batch: B, width: W, height: H, steps: T });
  const poolRollout = await NcaRollout.create({ batch: P, width: W, height: H, steps: Tp });
  const timing = { forward: 0, backward: 0 };
  for (const r of [rollout, poolRollout]) {
    for (const key of ['forward', 'backward']) {
      const fn = r[key].bind(r);
      r[key] = (...a) => {
        const t = performance.now();
        try {
          return fn(...a);
        } finally {
          timing[key] += (performance.now() - t) / 1000;
        }
      };
    }
  }
  const data = {
    targets: rng.fillUniform(new Float32Array(T * B * 3 * plane)),
    noise: new Float32Array(T * B * 13 * plane),
    masks: Float32Array.from({ length: (T - 1) * B }, () => (rng.uniform() < 0.25 ? 1 : 0)),
  };
  const poolData = { targets: new Float32Array(Tp * P * 3 * plane), noise: new Float32Array(Tp * P * 13 * plane), masks: new Float32Array((Tp - 1) * P).fill(1) };
  const poolRgb0 = rng.fillUniform(new Float32Array(P * 3 * plane));
  const style = { target: rng.fillUniform(new Float32Array(P * 6)), weight: new Float32Array(P).fill(1), scale: 10 };
  const persistenceOp = (x) => tf.customGrad((xIn) => {
    const r = persistenceLoss(xIn.dataSync(), { steps: Tp, batch: P, width: W, height: H }, undefined, style);
    return { value: tf.scalar(r.loss), gradFunc: (dy) => [tf.mul(tf.tensor(r.grad, xIn.shape), dy)] };
  })(x);
  let k = 0;
  const run = (set, convs, opt) => {
    const ph = {};
    let t = performance.now();
    const lap = (name) => {
      const now = performance.now();
      ph[name] = (now - t) / 1000;
      t = now;
    };
    timing.forward = timing.backward = 0;
    const r = new Rng(`0/iteration/${k++}`);
    rolloutNoise(r, { batch: B, width: W, height: H, steps: T }, 0.1, data.noise);
    rolloutNoise(r, { batch: P, width: W, height: H, steps: Tp }, 0.1, poolData.noise);
    lap('noise');
    // two fresh random pool latents: their colours from the decoder's picture (as train.ts)
    tf.tidy(() => decoderForward(tf, set.weights, config, tf.tensor2d(inputs.poolZ.subarray(0, 2 * 64), [2, 64]), { convs }).dataSync());
    lap('poolDecoder');
    const startFrame = tf.tensor4d(inputs.start, [B, 3, H, W]), poolRgb = tf.tensor4d(poolRgb0, [P, 3, H, W]);
    const kept = [];
    const { value, grads } = tf.variableGrads(() => {
      const enc = encoderForward(tf, set.weights, config, set.t.context, { training: true, convs });
      kept.push(...enc.batchStats.map((s) => ({ mean: tf.keep(s.mean), variance: tf.keep(s.variance) })));
      const z = tf.add(enc.mu, tf.mul(tf.exp(tf.mul(enc.logvar, 0.5)), set.t.eps));
      const params = hypernetworkForward(tf, set.weights, config, z);
      const pred = ncaRolloutOp(tf, rollout, params, startFrame, data);
      const rolloutLoss = mseOp(pred, data.targets, 1, data.targets.length, data.targets.length);
      const kl = tf.div(tf.sum(tf.mul(-0.5, tf.sub(tf.add(1, enc.logvar), tf.add(tf.square(enc.mu), tf.exp(enc.logvar))))), B);
      const decoded = decoderForward(tf, set.weights, config, z, { convs });
      const decoderLoss = mseOp(decoded, decoderTarget, B, config.channels * H * W, 3 * H * W);
      const poolParams = hypernetworkForward(tf, set.weights, config, set.t.poolZ);
      const poolPred = ncaRolloutOp(tf, poolRollout, poolParams, poolRgb, poolData);
      return tf.addN([rolloutLoss, tf.mul(1e-4, kl), decoderLoss, tf.mul(0.05, persistenceOp(poolPred))]);
    }, set.all);
    value.dataSync();
    lap('graph');
    ph.ncaForward = timing.forward;
    ph.ncaBackward = timing.backward;
    ph.networks = ph.graph - ph.ncaForward - ph.ncaBackward;
    opt(grads);
    lap('optimizer');
    const count = B * (H / 2) * (W / 2);
    kept.forEach((s, i) => {
      const n = count / 4 ** i, mom = 0.1, l = i + 1;
      const mName = `encoder.bn${l}.running_mean`, vName = `encoder.bn${l}.running_var`;
      const oldM = set.stats[mName], oldV = set.stats[vName];
      set.stats[mName] = tf.tidy(() => tf.add(tf.mul(oldM, 1 - mom), tf.mul(s.mean, mom)));
      set.stats[vName] = tf.tidy(() => tf.add(tf.mul(oldV, 1 - mom), tf.mul(s.variance, (mom * n) / Math.max(1, n - 1))));
      tf.dispose([oldM, oldV, s.mean, s.variance]);
    });
    set.weights = { ...set.vars, ...set.stats };
    lap('bnStats');
    tf.dispose([value, startFrame, poolRgb, ...Object.values(grads)]);
    ph.total = ph.noise + ph.poolDecoder + ph.graph + ph.optimizer + ph.bnStats;
    return ph;
  };
  return { run, dispose: async () => { await rollout.dispose(); await poolRollout.dispose(); } };
}

const beta1 = 0.9, beta2 = 0.999, adamEps = 1e-8, LR = 1e-3, CLIP = 1;
/** The fused optimizer: one pass for the global norm, one for clip + bias-corrected Adam, all parameters in one array. */
function fusedAdam(w, g, m, v, t) {
  let sq = 0;
  for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  const norm = Math.sqrt(sq);
  const clip = norm > CLIP ? CLIP / norm : 1;
  const lr1 = LR / (1 - beta1 ** t), rc2 = 1 / Math.sqrt(1 - beta2 ** t);
  const a = 1 - beta1, b = 1 - beta2;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] * clip;
    const mi = (m[i] = beta1 * m[i] + a * gi);
    const vi = (v[i] = beta2 * v[i] + b * gi * gi);
    w[i] -= (lr1 * mi) / (Math.sqrt(vi) * rc2 + adamEps);
  }
  return norm;
}
/** train.ts's optimizer today: the norm by tfjs ops, a JS loop per tensor, an assign per tensor. */
function currentOptimizer(set) {
  const names = Object.keys(set.vars);
  const values = Object.fromEntries(names.map((n) => [n, Float32Array.from(named.get(n).data)]));
  const m = Object.fromEntries(names.map((n) => [n, new Float32Array(values[n].length)]));
  const v = Object.fromEntries(names.map((n) => [n, new Float32Array(values[n].length)]));
  let step = 0;
  return (grads) => {
    const grad = (n) => grads[set.vars[n].name];
    const gradNorm = tf.tidy(() => Math.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grad(n))))).dataSync()[0]));
    const clip = gradNorm > CLIP ? CLIP / gradNorm : 1;
    step++;
    const lr1 = LR / (1 - beta1 ** step), c2 = 1 - beta2 ** step;
    for (const n of names) {
      const g = grad(n).dataSync(), w = values[n], mm = m[n], vv = v[n];
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * clip;
        const mi = (mm[i] = beta1 * mm[i] + (1 - beta1) * gi);
        const vi = (vv[i] = beta2 * vv[i] + (1 - beta2) * gi * gi);
        w[i] -= (lr1 * mi) / (Math.sqrt(vi / c2) + adamEps);
      }
      const variable = set.vars[n];
      tf.tidy(() => variable.assign(tf.tensor(w.slice(), variable.shape)));
    }
  };
}
/** The fused optimizer as a tfjs route would call it: gradients gathered into one array, weights assigned back. */
function fusedOptimizer(set) {
  const names = Object.keys(set.vars);
  const offsets = {};
  let o = 0;
  for (const n of names) {
    offsets[n] = o;
    o += named.get(n).data.length;
  }
  const w = new Float32Array(o), g = new Float32Array(o), m = new Float32Array(o), v = new Float32Array(o);
  for (const n of names) w.set(named.get(n).data, offsets[n]);
  let step = 0;
  return (grads) => {
    for (const n of names) g.set(grads[set.vars[n].name].dataSync(), offsets[n]);
    fusedAdam(w, g, m, v, ++step);
    for (const n of names) {
      const variable = set.vars[n];
      tf.tidy(() => variable.assign(tf.tensor(w.slice(offsets[n], offsets[n] + named.get(n).data.length), variable.shape)));
    }
  };
}
/** Medians per phase over `reps` iterations after `warm`. */
function timeReplica(replica, set, convs, opt, reps = REPS, warm = WARM) {
  for (let i = 0; i < warm; i++) replica.run(set, convs, opt);
  const runs = [];
  for (let i = 0; i < reps; i++) runs.push(replica.run(set, convs, opt));
  const out = { reps, load: Number(load()) };
  for (const key of Object.keys(runs[0])) out[key] = { median: median(runs.map((r) => r[key])), min: Math.min(...runs.map((r) => r[key])) };
  return out;
}
function printReplica(tag, r) {
  results.figures[`replica.${tag}`] = r;
  const line = (label, key) => console.log(`  ${label.padEnd(58)} ${ms(r[key].median).padStart(8)} ms  (min ${ms(r[key].min)})`);
  console.log(`  ${tag}: n=${r.reps}, load ${r.load.toFixed(2)}`);
  line('iteration total (sum of the phases)', 'total');
  line('  NCA forward (clip 21 steps + pool 16 steps, onnxruntime)', 'ncaForward');
  line('  NCA backward', 'ncaBackward');
  line('  networks fwd+bwd, losses, tape (graph minus NCA)', 'networks');
  line('  clipping + Adam', 'optimizer');
  line('  BatchNorm statistics', 'bnStats');
  line('  noise draws', 'noise');
  line('  decoder forward for 2 fresh pool latents', 'poolDecoder');
}

console.log(`train-route: ${quick ? 'quick' : 'full'} run, ${REPS} repetitions after ${WARM} warm-up; node ${process.version}`);
console.log(`  ${uptime()}`);
results.machine = { start: uptime(), node: process.version, quick, reps: REPS, warm: WARM };
console.log(`  trainable parameters: ${paramCount}`);

// 1. the whole iteration as the trainer runs it (dist's benchmarkTraining: persistence on, defaults of the shipped fine-tune)
await tf.setBackend('cpu');
console.log('\n1. One iteration of the shipped recipe, trainer as it is (benchmarkTraining: batch 8, 21 steps, 32 x 32, frame protocol, persistence on)');
if (quick) console.log('  (--quick: skipped; the rebuilt iteration below measures the same graph)');
else {
  const l0 = load();
  const t = performance.now();
  const r = await benchmarkTraining({ iters: TRAIN_ITERS, backend: 'cpu' });
  const l1 = load();
  results.figures.iteration = { ...r, load: `${l0} -> ${l1}`, wall: (performance.now() - t) / 1000 };
  console.log(`  ${'iteration total'.padEnd(58)} ${ms(r.total).padStart(8)} ms  (median of ${r.iters - 1}, load ${l0} -> ${l1})`);
  console.log(`  ${'  NCA forward (clip + pool rollouts, onnxruntime)'.padEnd(58)} ${ms(r.ncaForward).padStart(8)} ms`);
  console.log(`  ${'  NCA backward'.padEnd(58)} ${ms(r.ncaBackward).padStart(8)} ms`);
  console.log(`  ${'  the rest (tfjs networks, losses, BN stats, Adam, pool)'.padEnd(58)} ${ms(r.rest).padStart(8)} ms`);
}

console.log('\n   The same iteration rebuilt from dist\'s pieces (makeReplica below), phase by phase');
const replica = await makeReplica();
{
  const set = makeSet();
  printReplica('cpu+currentAdam', timeReplica(replica, set, im2colConvs(tf), currentOptimizer(set)));
  disposeSet(set);
}

// the pieces of the rest, tfjs 'cpu', im2col convolutions as in training
console.log('\n   The pieces of the rest on tfjs-cpu (im2col convolutions, as train.ts)');
const cpu = measureNetworks('cpu', im2colConvs(tf));

// per-iteration work outside the networks (plain JS in train.ts): random draws, the losses on the rollouts
console.log('\n   Other per-iteration work of train.ts, outside the networks (plain JS)');
{
  const T = 21, Tp = 16, plane = H * W;
  const noise = new Float32Array(T * B * 13 * plane), poolNoise = new Float32Array(Tp * P * 13 * plane);
  let k = 0;
  record('other.noise', time(() => {
    const r = new Rng(`0/iteration/${k++}`);
    rolloutNoise(r, { batch: B, width: W, height: H, steps: T }, 0.1, noise);
    rolloutNoise(r, { batch: P, width: W, height: H, steps: Tp }, 0.1, poolNoise);
  }), 'hidden noise of both rollouts (3.9 M normal draws, seeded Rng)');
  const pred = rng.fillUniform(new Float32Array(T * B * 3 * plane)), target = rng.fillUniform(new Float32Array(T * B * 3 * plane));
  record('other.mse', time(() => mseLoss(pred, target)), 'rollout MSE + its gradient [21][8][3][32][32]');
  const poolPred = rng.fillUniform(new Float32Array(Tp * P * 3 * plane));
  const style = { target: rng.fillUniform(new Float32Array(P * 6)), weight: new Float32Array(P).fill(1), scale: 10 };
  record('other.persistence', time(() => persistenceLoss(poolPred, { steps: Tp, batch: P, width: W, height: H }, undefined, style)), 'persistence loss + gradient [16][8][3][32][32]');
}

// 3. optimizer: current per-tensor path (on cpu tensors) against one fused loop over a flat array
console.log('\n3. Gradient norm + clipping + Adam over all trainable parameters');
{
  const { set } = cpu;
  const names = Object.keys(set.vars);
  const gradT = Object.fromEntries(names.map((n) => [n, tf.tensor(cpu.out.grads[n], set.vars[n].shape)]));
  const byVariable = Object.fromEntries(names.map((n) => [set.vars[n].name, gradT[n]])); // as tf.variableGrads returns them
  const currentStep = currentOptimizer(set);
  const cur = record('adam.current', time(() => currentStep(byVariable)), 'current: tfjs norm + JS loop per tensor + assign per tensor');
  // fused: every parameter, gradient and moment in one Float32Array each
  const N = paramCount;
  const fw = new Float32Array(N), fg = new Float32Array(N), fm = new Float32Array(N), fv = new Float32Array(N);
  for (let n = 0, o = 0; n < names.length; o += named.get(names[n]).data.length, n++) {
    fw.set(named.get(names[n]).data, o);
    fg.set(cpu.out.grads[names[n]], o);
  }
  let fstep = 0;
  const fused = record('adam.fused', time(() => fusedAdam(fw, fg, fm, fv, ++fstep)), 'fused: norm + clip + Adam, one Float32Array of all parameters');
  // the fused loop as a tfjs route would use it: gradients gathered from tensors, weights assigned back
  const fusedStep = fusedOptimizer(set);
  const fusedTf = record('adam.fusedWithTfjs', time(() => fusedStep(byVariable)), 'fused + gradients gathered from / weights assigned to tfjs');
  console.log(`  ratio current / fused: ${(cur.median / fused.median).toFixed(1)}x; current / fused-with-tfjs: ${(cur.median / fusedTf.median).toFixed(1)}x`);
  // the fused update equals the per-tensor one? (same gradients, same start, one step)
  {
    const w1 = new Float32Array(N), w2 = new Float32Array(N);
    const g = Float32Array.from(fg), m1 = new Float32Array(N), v1 = new Float32Array(N), m2 = new Float32Array(N), v2 = new Float32Array(N);
    for (let i = 0; i < N; i++) w1[i] = w2[i] = Math.sin(i);
    fusedAdam(w1, g, m1, v1, 1);
    let sq = 0;
    for (let i = 0; i < N; i++) sq += g[i] * g[i];
    const clip = Math.sqrt(sq) > CLIP ? CLIP / Math.sqrt(sq) : 1;
    let worst = 0;
    for (let i = 0; i < N; i++) {
      const gi = g[i] * clip;
      m2[i] = (1 - beta1) * gi;
      v2[i] = (1 - beta2) * gi * gi;
      w2[i] -= ((LR / (1 - beta1)) * m2[i]) / (Math.sqrt(v2[i] / (1 - beta2)) + adamEps);
      worst = Math.max(worst, Math.abs(w1[i] - w2[i]));
    }
    console.log(`  fused vs per-tensor formula after one step: max |w difference| ${worst.toExponential(2)}`);
    results.figures.adamAgreement = worst;
  }
  tf.dispose(Object.values(gradT));
}
disposeSet(cpu.set);

// 2. the wasm backend
console.log('\n2. The same networks on tfjs-wasm (XNNPACK, SIMD; no threads in Node)');
let wasm = null;
if (await tf.setBackend('wasm')) {
  console.log(`  backend ${tf.getBackend()}, SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}`);
  wasm = measureNetworks('wasm', im2colConvs(tf));
  {
    const set = makeSet();
    printReplica('wasm+fusedAdam', timeReplica(replica, set, im2colConvs(tf), fusedOptimizer(set)));
    disposeSet(set);
  }
  // gradients: wasm against cpu. The encoder's conv biases feed a BatchNorm on batch statistics: their gradient is
  // zero in exact arithmetic and rounding noise (~1e-9) on both backends, so they are reported apart.
  const zeroInExact = (n) => /^encoder\.conv\d\.bias$/.test(n);
  let worst = { name: '', rel: 0 }, worstZero = 0;
  let num = 0, den = 0;
  for (const [name, gc] of Object.entries(cpu.out.grads)) {
    const gw = wasm.out.grads[name];
    let maxAbs = 0, maxDiff = 0;
    for (let i = 0; i < gc.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(gc[i]));
      maxDiff = Math.max(maxDiff, Math.abs(gc[i] - gw[i]));
      num += (gc[i] - gw[i]) ** 2;
      den += gc[i] ** 2;
    }
    if (zeroInExact(name)) {
      worstZero = Math.max(worstZero, maxAbs, ...gw.map(Math.abs));
      continue;
    }
    const rel = maxAbs > 0 ? maxDiff / maxAbs : maxDiff;
    if (rel > worst.rel) worst = { name, rel };
  }
  results.figures.wasmGradAgreement = { worstTensor: worst.name, maxRelative: worst.rel, globalRelativeL2: Math.sqrt(num / den), convBiasMaxAbs: worstZero, lossCpu: cpu.out.loss, lossWasm: wasm.out.loss };
  console.log(`  gradients wasm vs cpu: worst tensor ${worst.name}: max |diff| / max |grad| = ${worst.rel.toExponential(2)}; all gradients: relative L2 ${Math.sqrt(num / den).toExponential(2)}; encoder conv biases (zero in exact arithmetic): |grad| <= ${worstZero.toExponential(1)}; loss ${cpu.out.loss.toPrecision(7)} vs ${wasm.out.loss.toPrecision(7)}`);
  // tfjs's own convolutions on wasm (no im2col): are their gradients there at all?
  try {
    const set = makeSet();
    const r = time(() => {
      const { value, grads } = tf.variableGrads(() => networksLoss(set, undefined), set.all);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    }, Math.min(REPS, 5), 1);
    record('wasm.networks.fwdbwd.nativeConvs', r, 'wasm: whole graph with tf.conv2d / conv2dTranspose');
    disposeSet(set);
  } catch (e) {
    console.log(`  wasm with tf.conv2d / tf.conv2dTranspose gradients: fails (${String(e.message ?? e).split('\n')[0].slice(0, 100)})`);
    results.figures['wasm.networks.fwdbwd.nativeConvs'] = `fails: ${String(e.message ?? e).split('\n')[0]}`;
  }
  disposeSet(wasm.set);
  await tf.setBackend('cpu');
} else console.log('  the wasm backend did not initialise');

// 4. hand-written hypernetwork, and GEMMs on onnxruntime
console.log('\n4. Ceilings of a no-tfjs route');
const hand = handHypernetwork();
const ortFig = await onnxFigures();
await replica.dispose();

// ---------------------------------------------------------------------------------------------
// Summary and projection

const f = results.figures;
const it = f.iteration;
const pick = (r, k) => (r === undefined ? undefined : typeof r === 'number' ? r : r[k]);
const ort3 = (key) => (f[key] ? { median: 3 * f[key].median, min: 3 * f[key].min } : undefined); // fwd + bwd ~ 3x the forward's multiply-adds
const rows = [
  ['encoder forward', f['cpu.encoder.forward'], f['wasm.encoder.forward'], undefined, f['encoder.forward.ort1']],
  ['encoder fwd+bwd', f['cpu.encoder.fwdbwd'], f['wasm.encoder.fwdbwd'], undefined, ort3('encoder.forward.ort1')],
  ['hypernetwork forward', f['cpu.hyper.forward'], f['wasm.hyper.forward'], undefined, f['hyper.forward.ort1']],
  ['hypernetwork fwd+bwd', f['cpu.hyper.fwdbwd'], f['wasm.hyper.fwdbwd'], f['hand.hyper.fwdbwd'], ort3('hyper.forward.ort1')],
  ['decoder forward', f['cpu.decoder.forward'], f['wasm.decoder.forward'], undefined, f['decoder.forward.ort1']],
  ['decoder fwd+bwd', f['cpu.decoder.fwdbwd'], f['wasm.decoder.fwdbwd'], undefined, ort3('decoder.forward.ort1')],
  ['whole networks graph fwd+bwd', f['cpu.networks.fwdbwd'], f['wasm.networks.fwdbwd'], undefined, undefined],
  ['BatchNorm statistics', f['cpu.bnStats'], f['wasm.bnStats'], undefined, undefined],
  ['norm + clip + Adam (1.94 M)', f['adam.current'], undefined, f['adam.fused'], undefined],
  ['fc3 GEMMs fwd+bwd', f['gemm.tfjsCpu'], f['gemm.wasm'], undefined, f['gemm.ort1']],
  ['noise draws (JS, any route)', f['other.noise'], undefined, undefined, undefined],
  ['rollout MSE + persistence (JS)', f['other.mse'] && { median: f['other.mse'].median + f['other.persistence'].median, min: f['other.mse'].min + f['other.persistence'].min }, undefined, undefined, undefined],
];
for (const k of ['median', 'min']) {
  console.log(`\nSummary: ${k === 'median' ? 'medians' : 'minimum (the least disturbed repetition)'}, ms, batch 8; ratio = cpu / other; ORT fwd+bwd = 3 x its measured forward (estimate); load at the end ${load()}`);
  console.log(`  ${'component'.padEnd(30)} ${'cpu'.padStart(8)} ${'wasm'.padStart(8)} ${'hand/fused'.padStart(10)} ${'ORT 1 thr'.padStart(10)} ${'cpu/wasm'.padStart(9)} ${'cpu/hand'.padStart(9)} ${'cpu/ORT'.padStart(8)}`);
  for (const [name, c, w, h, o] of rows) {
    const cell = (r) => (pick(r, k) === undefined ? '-' : ms(pick(r, k)));
    const ratio = (r) => (pick(r, k) === undefined || pick(c, k) === undefined ? '' : `${(pick(c, k) / pick(r, k)).toFixed(1)}x`);
    console.log(`  ${name.padEnd(30)} ${cell(c).padStart(8)} ${cell(w).padStart(8)} ${cell(h).padStart(10)} ${cell(o).padStart(10)} ${ratio(w).padStart(9)} ${ratio(h).padStart(9)} ${ratio(o).padStart(8)}`);
  }
}

// projection: the rebuilt iteration with the parts a route replaces swapped for what they cost there
const rc = f['replica.cpu+currentAdam'], rw = f['replica.wasm+fusedAdam'];
const med = (r) => r.median;
const ncaR = med(rc.ncaForward) + med(rc.ncaBackward);
const js = med(rc.noise) + f['other.mse'].median + f['other.persistence'].median; // stays in JS on any route
const routes = [
  { route: 'today: tfjs-cpu networks, per-tensor Adam (rebuilt iteration, measured)', seconds: med(rc.total) },
];
if (rw) routes.push({ route: 'tfjs-wasm networks + fused Adam (rebuilt iteration, measured)', seconds: med(rw.total) });
const handRatio = f['cpu.hyper.fwdbwd'].median / f['hand.hyper.fwdbwd'].median;
routes.push({ route: `hand-written JS networks (today's networks / ${handRatio.toFixed(1)}, the hypernetwork's ratio) + fused Adam`, seconds: ncaR + js + (med(rc.networks) + med(rc.poolDecoder)) / handRatio + f['adam.fused'].median });
let ortNets;
if (f['encoder.forward.ort1'] && f['hyper.forward.ort1'] && f['decoder.forward.ort1']) {
  // fwd + bwd ~ 3x the forward's multiply-adds; the hypernetwork runs twice (clip batch and pool); 4 worker round trips ~1 ms each
  ortNets = 3 * (f['encoder.forward.ort1'].median + 2 * f['hyper.forward.ort1'].median + f['decoder.forward.ort1'].median) + f['decoder.forward.ort1'].median + 0.004;
  routes.push({ route: 'onnxruntime networks (fwd+bwd = 3x forward, estimated) + fused Adam + the JS losses and noise', seconds: ncaR + js + ortNets + f['adam.fused'].median });
}
results.projection = { ncaSeconds: ncaR, jsSeconds: js, ortNetworksSeconds: ortNets, routes };
console.log(`\nIterations by route, medians (NCA fwd+bwd ${ms(ncaR)} ms, noise + JS losses ${ms(js)} ms, both measured in this run; target 1.5 x PyTorch)`);
for (const r of routes) console.log(`  ${r.route.padEnd(100)} ${ms(r.seconds).padStart(8)} ms  ${(med(rc.total) / r.seconds).toFixed(1).padStart(5)}x faster than today`);
if (it) console.log(`  (benchmarkTraining of dist, the trainer itself, at the start of this run: ${ms(it.total)} ms)`);
results.machine.end = uptime();
console.log(`  ${results.machine.end}`);
if (jsonOut) {
  const strip = (o) => JSON.parse(JSON.stringify(o, (k, v) => (k === 'grads' ? undefined : v)));
  writeFileSync(jsonOut, JSON.stringify(strip(results), null, 1));
}

// ---------------------------------------------------------------------------------------------

/**
 * The hypernetwork forward + backward on plain Float32Arrays (row-major, PyTorch layouts), batch 8, with the
 * gradient of sum(out * G) checked against tfjs autodiff on 'cpu'.
 */
function handHypernetwork() {
  const D = config.latentDim, Hd = config.hyperHidden, O = config.paramCount, eps = config.layerNormEps;
  const w = (n) => named.get(n).data;
  const W1 = w('hyper.fc1.weight'), b1 = w('hyper.fc1.bias'), g1 = w('hyper.ln1.weight'), be1 = w('hyper.ln1.bias');
  const W2 = w('hyper.fc2.weight'), b2 = w('hyper.fc2.bias'), g2 = w('hyper.ln2.weight'), be2 = w('hyper.ln2.bias');
  const W3 = w('hyper.fc3.weight'), b3 = w('hyper.fc3.bias');
  const scale = w('hyper.scale')[0];
  const z = inputs.eps, G = inputs.gParams, Bn = B;
  /** Y[B][O] = X[B][I] W[O][I]^T + b */
  const linF = (X, Wt, bias, Y, rows, I, Od) => {
    for (let o = 0; o < Od; o++) {
      const wo = o * I;
      for (let r = 0; r < rows; r += 4) {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const x0 = r * I, x1 = x0 + I, x2 = x1 + I, x3 = x2 + I;
        for (let i = 0; i < I; i++) {
          const wi = Wt[wo + i];
          s0 += X[x0 + i] * wi;
          s1 += X[x1 + i] * wi;
          s2 += X[x2 + i] * wi;
          s3 += X[x3 + i] * wi;
        }
        const bo = bias[o];
        Y[r * Od + o] = s0 + bo;
        Y[(r + 1) * Od + o] = s1 + bo;
        Y[(r + 2) * Od + o] = s2 + bo;
        Y[(r + 3) * Od + o] = s3 + bo;
      }
    }
  };
  /** dW[O][I] = dY^T X, db[O] = sum dY, dX[B][I] = dY W (dX optional) */
  const linB = (X, Wt, dY, dW, db, dX, rows, I, Od) => {
    dW.fill(0);
    db.fill(0);
    if (dX) dX.fill(0);
    for (let o = 0; o < Od; o++) {
      const wo = o * I;
      for (let r = 0; r < rows; r++) {
        const d = dY[r * Od + o];
        if (d === 0) continue;
        db[o] += d;
        const xr = r * I;
        for (let i = 0; i < I; i++) dW[wo + i] += d * X[xr + i];
        if (dX) for (let i = 0; i < I; i++) dX[xr + i] += d * Wt[wo + i];
      }
    }
  };
  const lnF = (X, gamma, beta, A, Nrm, rstd, rows, F) => {
    for (let r = 0; r < rows; r++) {
      let mean = 0;
      for (let i = 0; i < F; i++) mean += X[r * F + i];
      mean /= F;
      let v = 0;
      for (let i = 0; i < F; i++) v += (X[r * F + i] - mean) ** 2;
      const rs = 1 / Math.sqrt(v / F + eps);
      rstd[r] = rs;
      for (let i = 0; i < F; i++) {
        const n = (X[r * F + i] - mean) * rs;
        Nrm[r * F + i] = n;
        A[r * F + i] = Math.max(0, n * gamma[i] + beta[i]); // LayerNorm then ReLU
      }
    }
  };
  /** dA (w.r.t. the ReLU output) -> dX of the LayerNorm input, dgamma, dbeta */
  const lnB = (dA, A, Nrm, rstd, gamma, dX, dg, dbeta, rows, F) => {
    dg.fill(0);
    dbeta.fill(0);
    const dn = new Float32Array(F);
    for (let r = 0; r < rows; r++) {
      let m1 = 0, m2 = 0;
      for (let i = 0; i < F; i++) {
        const k = r * F + i;
        const da = A[k] > 0 ? dA[k] : 0;
        dg[i] += da * Nrm[k];
        dbeta[i] += da;
        dn[i] = da * gamma[i];
        m1 += dn[i];
        m2 += dn[i] * Nrm[k];
      }
      m1 /= F;
      m2 /= F;
      for (let i = 0; i < F; i++) dX[r * F + i] = rstd[r] * (dn[i] - m1 - Nrm[r * F + i] * m2);
    }
  };
  const h1 = new Float32Array(Bn * Hd), n1 = new Float32Array(Bn * Hd), a1 = new Float32Array(Bn * Hd), r1 = new Float32Array(Bn);
  const h2 = new Float32Array(Bn * Hd), n2 = new Float32Array(Bn * Hd), a2 = new Float32Array(Bn * Hd), r2 = new Float32Array(Bn);
  const o3 = new Float32Array(Bn * O);
  const grads = {
    'hyper.fc1.weight': new Float32Array(Hd * D), 'hyper.fc1.bias': new Float32Array(Hd), 'hyper.ln1.weight': new Float32Array(Hd), 'hyper.ln1.bias': new Float32Array(Hd),
    'hyper.fc2.weight': new Float32Array(Hd * Hd), 'hyper.fc2.bias': new Float32Array(Hd), 'hyper.ln2.weight': new Float32Array(Hd), 'hyper.ln2.bias': new Float32Array(Hd),
    'hyper.fc3.weight': new Float32Array(O * Hd), 'hyper.fc3.bias': new Float32Array(O), 'hyper.scale': new Float32Array(1),
  };
  const dO = new Float32Array(Bn * O), da2 = new Float32Array(Bn * Hd), dh2 = new Float32Array(Bn * Hd), da1 = new Float32Array(Bn * Hd), dh1 = new Float32Array(Bn * Hd), dz = new Float32Array(Bn * D);
  const forwardBackward = () => {
    linF(z, W1, b1, h1, Bn, D, Hd);
    lnF(h1, g1, be1, a1, n1, r1, Bn, Hd);
    linF(a1, W2, b2, h2, Bn, Hd, Hd);
    lnF(h2, g2, be2, a2, n2, r2, Bn, Hd);
    linF(a2, W3, b3, o3, Bn, Hd, O);
    // out = o3 * scale; loss = sum(out * G)
    let ds = 0;
    for (let i = 0; i < dO.length; i++) {
      ds += G[i] * o3[i];
      dO[i] = G[i] * scale;
    }
    grads['hyper.scale'][0] = ds;
    linB(a2, W3, dO, grads['hyper.fc3.weight'], grads['hyper.fc3.bias'], da2, Bn, Hd, O);
    lnB(da2, a2, n2, r2, g2, dh2, grads['hyper.ln2.weight'], grads['hyper.ln2.bias'], Bn, Hd);
    linB(a1, W2, dh2, grads['hyper.fc2.weight'], grads['hyper.fc2.bias'], da1, Bn, Hd, Hd);
    lnB(da1, a1, n1, r1, g1, dh1, grads['hyper.ln1.weight'], grads['hyper.ln1.bias'], Bn, Hd);
    linB(z, W1, dh1, grads['hyper.fc1.weight'], grads['hyper.fc1.bias'], dz, Bn, D, Hd); // dz flows on into the encoder
  };
  const r = record('hand.hyper.fwdbwd', time(forwardBackward), 'hand-written JS: hypernetwork forward + backward (batch 8)');
  // check against tfjs autodiff (cpu)
  forwardBackward();
  const vars = {};
  for (const name of Object.keys(grads)) vars[name] = tf.variable(tf.tensor(named.get(name).data, named.get(name).shape), true, `check/${name}`);
  const zT = tf.tensor2d(z, [Bn, D]), GT = tf.tensor2d(G, [Bn, O]);
  const { value, grads: ref } = tf.variableGrads(() => tf.sum(tf.mul(hypernetworkForward(tf, vars, config, zT), GT)), Object.values(vars));
  let worst = { name: '', rel: 0 };
  for (const [k, g] of Object.entries(ref)) {
    const name = k.slice(k.indexOf('/') + 1), a = g.dataSync(), h = grads[name];
    let maxAbs = 0, maxDiff = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i]));
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - h[i]));
    }
    const rel = maxAbs > 0 ? maxDiff / maxAbs : maxDiff;
    if (rel > worst.rel) worst = { name, rel };
  }
  console.log(`  hand-written gradients vs tfjs autodiff: worst tensor ${worst.name}: max |diff| / max |grad| = ${worst.rel.toExponential(2)}`);
  results.figures.handGradAgreement = worst;
  tf.dispose([value, zT, GT, ...Object.values(ref), ...Object.values(vars)]);
  // the GEMM rate of the hand-written code on fc3 (forward + both backward products)
  const macs = 3 * Bn * Hd * O;
  console.log(`  (fc3 alone is ${((3 * Bn * Hd * O) / 1e6).toFixed(1)} M multiply-adds of the ${(((3 * Bn * (D * Hd + Hd * Hd + Hd * O)) / 1e6)).toFixed(1)} M of the hypernetwork's forward + backward)`);
  results.figures.hyperMacs = macs;
  return r;
}

/**
 * onnxruntime-node (1 thread, as the trainer's NCA would share the 2 cores) on the GEMMs of fc3 forward + backward
 * (Y = X W^T, dX = dY W, dW = dY^T X, weights fed as inputs as they change every step), against the same three
 * products on tfjs cpu and wasm; and the encoder's forward (encoder-onnx.ts) against tfjs-cpu at batch 8.
 */
async function onnxFigures() {
  const { onnx } = onnxProto;
  const Hd = config.hyperHidden, O = config.paramCount;
  const tfWeights = Object.fromEntries(specs.map((sp) => [sp.name, tf.tensor(named.get(sp.name).data, sp.shape)]));
  const vi = (name, dims) => onnx.ValueInfoProto.create({ name, type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: onnx.TensorProto.DataType.FLOAT, shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => onnx.TensorShapeProto.Dimension.create({ dimValue: d })) }) }) }) });
  const attrI = (name, i) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
  const graph = onnx.GraphProto.create({
    name: 'fc3',
    node: [
      onnx.NodeProto.create({ opType: 'Gemm', input: ['X', 'W'], output: ['Y'], attribute: [attrI('transB', 1)], name: 'fwd' }),
      onnx.NodeProto.create({ opType: 'MatMul', input: ['dY', 'W'], output: ['dX'], name: 'dx' }),
      onnx.NodeProto.create({ opType: 'Gemm', input: ['dY', 'X'], output: ['dW'], attribute: [attrI('transA', 1)], name: 'dw' }),
    ],
    input: [vi('X', [B, Hd]), vi('W', [O, Hd]), vi('dY', [B, O])],
    output: [vi('Y', [B, O]), vi('dX', [B, Hd]), vi('dW', [O, Hd])],
  });
  const model = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })], graph, producerName: 'train-route' })).finish();
  const opts = (threads) => ({ intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3, extra: { session: { intra_op: { allow_spinning: '0' } } } });
  let session;
  try {
    session = await ort.InferenceSession.create(model, opts(1));
  } catch (e) {
    console.log(`  onnxruntime: the GEMM graph did not load (${String(e.message ?? e).slice(0, 100)})`);
    return false;
  }
  const X = inputs.gParams.subarray(0, B * Hd), Wt = named.get('hyper.fc3.weight').data, dY = inputs.gParams;
  const feeds = { X: new ort.Tensor('float32', Float32Array.from(X), [B, Hd]), W: new ort.Tensor('float32', Wt, [O, Hd]), dY: new ort.Tensor('float32', dY, [B, O]) };
  const r1 = record('gemm.ort1', await timeAsync(() => session.run(feeds)), 'onnxruntime 1 thread: fc3 GEMMs forward + backward');
  const session2 = await ort.InferenceSession.create(model, opts(2));
  record('gemm.ort2', await timeAsync(() => session2.run(feeds)), 'onnxruntime 2 threads: the same');
  const out = await session.run(feeds);
  const tfGemms = (tag) => {
    const x = tf.tensor2d(X, [B, Hd]), w = tf.tensor2d(Wt, [O, Hd]), dy = tf.tensor2d(dY, [B, O]);
    const r = time(() => tf.tidy(() => {
      const y = tf.matMul(x, w, false, true), dx = tf.matMul(dy, w), dw = tf.matMul(dy, x, true, false);
      y.dataSync();
      dx.dataSync();
      dw.dataSync();
    }));
    const dwT = tf.tidy(() => tf.matMul(dy, x, true, false));
    const a = dwT.dataSync(), b = out.dW.data;
    let maxAbs = 0, maxDiff = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i]));
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    }
    tf.dispose([x, w, dy, dwT]);
    record(`gemm.${tag}`, r, `tfjs ${tf.getBackend()}: the same three products (dW vs ORT: ${(maxDiff / maxAbs).toExponential(1)})`);
    return r;
  };
  await tf.setBackend('cpu');
  const c = tfGemms('tfjsCpu');
  if (await tf.setBackend('wasm')) tfGemms('wasm');
  await tf.setBackend('cpu');
  const macs = 3 * B * Hd * O;
  console.log(`  fc3 GEMMs: ${(macs / 1e6).toFixed(1)} M multiply-adds; GMAC/s: ORT 1 thread ${(macs / r1.median / 1e9).toFixed(2)}, tfjs-cpu ${(macs / c.median / 1e9).toFixed(2)}${results.figures['gemm.wasm'] ? `, wasm ${(macs / results.figures['gemm.wasm'].median / 1e9).toFixed(2)}` : ''}`);
  await session.release();
  await session2.release();
  // the encoder's forward on onnxruntime (inference graph: running statistics) against tfjs-cpu's
  const encSession = await ort.InferenceSession.create(buildEncoderGraph(encoderWeights(named), config, { logvar: true }), opts(1));
  const ctx = { context: new ort.Tensor('float32', inputs.context, [B, 3 * C, H, W]) };
  record('encoder.forward.ort1', await timeAsync(() => encSession.run(ctx)), 'onnxruntime 1 thread: encoder forward (batch 8, inference)');
  await encSession.release();
  // the hypernetwork's and the decoder's forward as onnxruntime graphs, weights fed as inputs (they change every step)
  const weightInputs = (prefix) => specs.filter((sp) => sp.name.startsWith(prefix)).map((sp) => ({ name: sp.name, dims: sp.shape, data: named.get(sp.name).data }));
  const build = (nodes, ins, outs) => {
    const g = onnx.GraphProto.create({
      name: 'net',
      node: nodes.map(([opType, input, output, attribute = []], k) => onnx.NodeProto.create({ opType, input, output, attribute, name: `n${k}` })),
      input: ins.map((i) => vi(i.name, i.dims)),
      output: outs.map((o) => vi(o.name, o.dims)),
    });
    return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })], graph: g, producerName: 'train-route' })).finish();
  };
  const attrF = (name, f) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f });
  const attrInts = (name, ints) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints });
  const D = config.latentDim;
  const hypIns = [{ name: 'z', dims: [B, D], data: inputs.eps }, ...weightInputs('hyper.')];
  const hyp = build([
    ['Gemm', ['z', 'hyper.fc1.weight', 'hyper.fc1.bias'], ['h1'], [attrI('transB', 1)]],
    ['LayerNormalization', ['h1', 'hyper.ln1.weight', 'hyper.ln1.bias'], ['n1'], [attrI('axis', -1), attrF('epsilon', config.layerNormEps)]],
    ['Relu', ['n1'], ['a1']],
    ['Gemm', ['a1', 'hyper.fc2.weight', 'hyper.fc2.bias'], ['h2'], [attrI('transB', 1)]],
    ['LayerNormalization', ['h2', 'hyper.ln2.weight', 'hyper.ln2.bias'], ['n2'], [attrI('axis', -1), attrF('epsilon', config.layerNormEps)]],
    ['Relu', ['n2'], ['a2']],
    ['Gemm', ['a2', 'hyper.fc3.weight', 'hyper.fc3.bias'], ['o'], [attrI('transB', 1)]],
    ['Mul', ['o', 'hyper.scale'], ['params']],
  ], hypIns, [{ name: 'params', dims: [B, O] }]);
  const mask = new Float32Array(config.channels).map((_, c) => (c < 3 ? 1 : 0));
  const decIns = [{ name: 'z', dims: [B, D], data: inputs.eps }, ...weightInputs('decoder.'), { name: 'shape', dims: [4] }, { name: 'rgbMask', dims: [1, config.channels, 1, 1], data: mask }, { name: 'hiddenMask', dims: [1, config.channels, 1, 1], data: mask.map((m) => (1 - m) * config.hiddenScale) }];
  const deconv = (l, x, y) => ['ConvTranspose', [x, `decoder.deconv${l}.weight`, `decoder.deconv${l}.bias`], [y], [attrInts('strides', [2, 2]), attrInts('pads', [1, 1, 1, 1]), attrInts('kernel_shape', [4, 4])]];
  const dec = build([
    ['Gemm', ['z', 'decoder.fc.weight', 'decoder.fc.bias'], ['f'], [attrI('transB', 1)]],
    ['Reshape', ['f', 'shape'], ['x0']],
    deconv(1, 'x0', 'y1'), ['Relu', ['y1'], ['x1']],
    deconv(2, 'x1', 'y2'), ['Relu', ['y2'], ['x2']],
    deconv(3, 'x2', 'y3'),
    ['Sigmoid', ['y3'], ['s']], ['Tanh', ['y3'], ['t']],
    ['Mul', ['s', 'rgbMask'], ['sm']], ['Mul', ['t', 'hiddenMask'], ['tm']], ['Add', ['sm', 'tm'], ['out']],
  ], decIns.map((i) => (i.name === 'shape' ? { ...i, dims: [4] } : i)), [{ name: 'out', dims: [B, config.channels, H, W] }]);
  const feedsOf = (ins) => Object.fromEntries(ins.map((i) => [i.name, i.name === 'shape' ? new ort.Tensor('int64', BigInt64Array.from([B, 128, 4, 4].map(BigInt)), [4]) : new ort.Tensor('float32', i.data, i.dims)]));
  // 'shape' is an int64 input: declare it so
  const fixShape = (bytes) => {
    const m = onnx.ModelProto.decode(bytes);
    for (const i of m.graph.input) if (i.name === 'shape') i.type.tensorType.elemType = onnx.TensorProto.DataType.INT64;
    return onnx.ModelProto.encode(m).finish();
  };
  for (const [key, label, bytes, ins, check] of [
    ['hyper.forward.ort1', 'hypernetwork forward (batch 8)', hyp, hypIns, (z) => hypernetworkForward(tf, tfWeights, config, z)],
    ['decoder.forward.ort1', 'decoder forward (batch 8)', fixShape(dec), decIns, (z) => decoderForward(tf, tfWeights, config, z)],
  ]) {
    try {
      const sess = await ort.InferenceSession.create(bytes, opts(1));
      const feeds = feedsOf(ins);
      record(key, await timeAsync(() => sess.run(feeds)), `onnxruntime 1 thread: ${label}, weights as inputs`);
      const got = Object.values(await sess.run(feeds))[0].data;
      const want = tf.tidy(() => check(tf.tensor2d(inputs.eps, [B, D])).dataSync());
      let maxAbs = 0, maxDiff = 0;
      for (let i = 0; i < want.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(want[i]));
        maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
      }
      console.log(`    (agrees with tfjs-cpu: max |diff| / max |value| = ${(maxDiff / maxAbs).toExponential(1)})`);
      await sess.release();
    } catch (e) {
      console.log(`  onnxruntime ${label}: failed (${String(e.message ?? e).split('\n')[0].slice(0, 120)})`);
    }
  }
  return true;
}
