/**
 * The loss of one iteration and its gradients WITHOUT tfjs (the `onnx` training backend): the same
 * loss as loss.ts, computed as
 *
 *   encoder forward-saved (training-mode BatchNorm: batch statistics)     onnxruntime (onnx-networks/)
 *   z = mu + exp(logvar / 2) eps                                          JS
 *   hypernetwork forward-saved (batch clips, then the pool's latents)     onnxruntime
 *   NCA rollouts forward (NcaRollout.forward)                            onnxruntime worker
 *   decoder forward-saved                                                 onnxruntime
 *   the losses and dL/d(their inputs): rollout MSE, KL, decoder MSE,      JS (the same formulas as loss-ops.ts,
 *     persistence (persistence.ts), anchors, twins, hold (onnx only)      mseOp / persistenceOp / the KL of loss.ts)
 *   the held songs' windows (onnx only): encoder forward-saved on them     onnxruntime
 *     and on the reference weights, the hold term, encoder backward
 *   then backward in reverse order: NCA backward, hypernetwork / decoder backward (their grad.z summed
 *   into dL/dz), through the reparameterisation to dL/dmu and dL/dlogvar, encoder backward.
 *
 * Gradients of tensors used twice (the hypernetwork: batch and pool) are summed. Each scalar step is
 * rounded to float32 as the tfjs graph does (Math.fround), so the loss agrees with loss.ts to float32
 * rounding and the gradients to ~1e-6 of each tensor's largest (test/train-onnx.test.ts).
 */
import { anchorLossAndGrad } from '../anchors.js';
import { holdLossAndGrad } from './hold.js';
import { twinLossAndGrad } from './twins.js';
import { persistenceLoss, type PersistenceParts } from '../persistence.js';
import type { ModelConfig } from '../networks.js';
import type { NcaRollout } from '../nca-op.js';
import { createOnnxDecoder } from '../onnx-networks/decoder.js';
import { createOnnxEncoderTrain, type OnnxEncoderTrain } from '../onnx-networks/encoder.js';
import type { OnnxNetwork } from '../onnx-networks/graph.js';
import { createOnnxHypernetwork } from '../onnx-networks/hypernetwork.js';
import type { NamedArrays } from '../weights.js';
import type { LossInputs } from './loss.js';
import type { PersistencePool } from './pool.js';

const f32 = Math.fround;

/** The three networks' training graphs on onnxruntime (forward-saved and backward sessions). */
export interface OnnxNetworks {
  encoder: OnnxEncoderTrain;
  hyper: OnnxNetwork;
  decoder: OnnxNetwork;
  dispose(): Promise<void>;
}

/**
 * Opens the networks' sessions on `threads` onnxruntime threads each (default 1: fixed, so that the same
 * seed gives the same bytes and --resume matches an uninterrupted run; 2 threads were not faster here).
 */
export async function openOnnxNetworks(config: ModelConfig, threads = 1): Promise<OnnxNetworks> {
  const [encoder, hyper, decoder] = await Promise.all([createOnnxEncoderTrain(config, { threads }), createOnnxHypernetwork(config, { threads }), createOnnxDecoder(config, { threads })]);
  return {
    encoder,
    hyper,
    decoder,
    async dispose() {
      await Promise.all([encoder.dispose(), hyper.dispose(), decoder.dispose()]);
    },
  };
}

/** What stays the same across iterations (loss.ts' LossGraph without tfjs). */
export interface OnnxLossGraph {
  config: ModelConfig;
  nets: OnnxNetworks;
  rollout: NcaRollout;
  pool: PersistencePool;
  beta: number;
  decoderWeight: number;
  anchorWeight: number;
}

/** The loss, its parts and every trained tensor's gradient by name (plain arrays; loss.ts' LossResult). */
export interface OnnxLossResult {
  value: number;
  rollout: number;
  kl: number;
  decoder: number;
  /** The latent-anchor term, weighted (0 without labels). */
  anchor: number;
  /** The twin term, weighted (twins.ts), when it is on. */
  twin?: number;
  /** The hold term, weighted (hold.ts), when it is on. */
  hold?: number;
  /** The hold term on the held songs' windows, weighted (held-songs.ts), when they are held. */
  holdSongs?: number;
  persist?: number;
  persistParts?: PersistenceParts;
  /** The pool rollout [Tp][P][3][G][G] (G = poolGrid), when the pool drew a batch. */
  poolPred?: Float32Array;
  /** The encoder's mu [B][latentDim]. */
  mu: Float32Array;
  /** Each encoder BatchNorm's batch mean and biased variance per channel, in layer order. */
  stats: Array<{ mean: Float32Array; variance: Float32Array }>;
  /** dL/d(weight) for every trained weight (not the running statistics). */
  grads: Map<string, Float32Array>;
}

/**
 * Mean squared error of x against target over the first `used` values of each of `blocks` blocks of
 * `blockSize` (loss-ops.ts' mseOp): the loss (float32) and dL/dx for an upstream gradient `dy`.
 */
export function mseAndGrad(x: Float32Array, target: Float32Array, dy: number, part?: { blocks: number; blockSize: number; used: number }): { loss: number; grad: Float32Array } {
  const blocks = part?.blocks ?? 1, blockSize = part?.blockSize ?? target.length, used = part?.used ?? target.length;
  if (x.length !== target.length || blocks * blockSize !== target.length) throw new Error(`mseAndGrad: ${x.length} predictions for ${target.length} targets`);
  const n = blocks * used;
  const scale = (2 * f32(dy)) / n;
  const grad = new Float32Array(x.length);
  let sum = 0;
  for (let b = 0; b < blocks; b++) {
    for (let i = b * blockSize, end = i + used; i < end; i++) {
      const d = x[i]! - target[i]!;
      sum += d * d;
      grad[i] = scale * d;
    }
  }
  return { loss: f32(sum / n), grad };
}

/** Runs the networks, the rollouts and the losses on `inputs` with `weights` (every trained tensor by name) and returns the loss and its gradients. */
export async function onnxLossAndGradients(graph: OnnxLossGraph, weights: NamedArrays, inputs: LossInputs): Promise<OnnxLossResult> {
  const { config, nets, pool } = graph;
  const { batch, eps, poolBatch } = inputs;
  const { batch: B, width: W, height: H } = batch;
  const D = config.latentDim;
  const beta = f32(graph.beta), decoderWeight = f32(graph.decoderWeight), persistWeight = f32(inputs.persistWeight);

  // forward
  const enc = await nets.encoder.forwardSaved(batch.context, B, weights);
  const { mu, logvar } = enc;
  const sigma = new Float32Array(B * D), z = new Float32Array(B * D);
  for (let i = 0; i < z.length; i++) {
    sigma[i] = Math.exp(f32(logvar[i]! * 0.5));
    z[i] = mu[i]! + f32(sigma[i]! * eps[i]!);
  }
  const clip = await nets.hyper.forwardSaved(z, B, weights);
  const pred = graph.rollout.forward(clip.output, batch.start, { targets: batch.targets, noise: inputs.noise, masks: inputs.masks });
  const rollout = mseAndGrad(pred, batch.targets, 1);
  // KL(N(mu, sigma^2) || N(0, I)): summed over dimensions, averaged over the batch
  let klSum = 0;
  for (let i = 0; i < mu.length; i++) klSum += f32(-0.5 * f32(f32(1 + logvar[i]!) - f32(f32(mu[i]! * mu[i]!) + f32(Math.exp(logvar[i]!)))));
  const kl = f32(f32(klSum) / B);
  const decoded = await nets.decoder.forwardSaved(z, B, weights);
  const plane = H * W;
  const decoderTarget = new Float32Array(B * config.channels * plane);
  for (let b = 0; b < B; b++) decoderTarget.set(batch.start.subarray(b * 3 * plane, (b + 1) * 3 * plane), b * config.channels * plane);
  const decoder = mseAndGrad(decoded.output, decoderTarget, decoderWeight, { blocks: B, blockSize: config.channels * plane, used: 3 * plane });
  let value = f32(f32(rollout.loss + f32(beta * kl)) + f32(decoderWeight * decoder.loss));
  const anchor = inputs.anchors && graph.anchorWeight > 0 ? anchorLossAndGrad(mu, inputs.anchors.target, inputs.anchors.mask, B, graph.anchorWeight) : null;
  if (anchor) value = f32(value + anchor.loss);
  const twin = inputs.twins && inputs.twins.weight > 0 ? twinLossAndGrad(mu, D, inputs.twins.pairs, inputs.twins.weight) : null;
  if (twin) value = f32(value + twin.loss);
  // the hold term: the reference encoder on the same batch, in the same (training) mode
  const hold = inputs.hold && inputs.hold.weight > 0 ? holdLossAndGrad(mu, (await nets.encoder.forwardSaved(batch.context, B, inputs.hold.reference)).mu, D, inputs.hold.held, inputs.hold.weight) : null;
  if (hold) value = f32(value + hold.loss);
  // the held songs' windows: their own forward (their own batch statistics, which do not move the running ones) and backward
  let songGrads: Map<string, Float32Array> | null = null, holdSongs: number | undefined;
  if (inputs.heldSongs && inputs.heldSongs.weight > 0) {
    const { contexts, count, reference, weight } = inputs.heldSongs;
    const songs = await nets.encoder.forwardSaved(contexts, count, weights);
    const songHold = holdLossAndGrad(songs.mu, (await nets.encoder.forwardSaved(contexts, count, reference)).mu, D, new Uint8Array(count).fill(1), weight);
    holdSongs = songHold.loss;
    value = f32(value + songHold.loss);
    songGrads = await nets.encoder.backward(songs.saved, contexts, weights, { gradMu: songHold.grad, gradLogvar: new Float32Array(songHold.grad.length) });
  }
  const result: Omit<OnnxLossResult, 'value' | 'grads'> = { rollout: rollout.loss, kl, decoder: decoder.loss, anchor: anchor?.loss ?? 0, ...(twin ? { twin: twin.loss } : {}), ...(hold ? { hold: hold.loss } : {}), ...(holdSongs !== undefined ? { holdSongs } : {}), mu, stats: enc.batchStats };

  // the pool's term (its latents are constants)
  let poolGrads: Map<string, Float32Array> | null = null;
  if (pool.rollout && poolBatch) {
    const P = pool.shape.batch;
    const poolHyper = await nets.hyper.forwardSaved(poolBatch.z, P, weights);
    const poolPred = pool.rollout.forward(poolHyper.output, poolBatch.rgb, { targets: pool.targets, noise: pool.noise, masks: pool.masks });
    const persist = persistenceLoss(poolPred, pool.shape, pool.floors, poolBatch.style);
    const persistLoss = f32(persist.loss);
    value = f32(value + f32(persistWeight * persistLoss));
    Object.assign(result, { persist: persistLoss, persistParts: persist.parts, poolPred });
    const gradPoolPred = new Float32Array(persist.grad.length);
    for (let i = 0; i < gradPoolPred.length; i++) gradPoolPred[i] = persistWeight * persist.grad[i]!;
    const { gradParams } = pool.rollout.backward(poolHyper.output, gradPoolPred);
    poolGrads = await nets.hyper.backward(poolHyper.saved, poolBatch.z, weights, gradParams);
  }

  // backward: the rollout, the hypernetwork, the decoder, the reparameterisation, the encoder
  const { gradParams } = graph.rollout.backward(clip.output, rollout.grad);
  const hyperGrads = await nets.hyper.backward(clip.saved, z, weights, gradParams);
  const decoderGrads = await nets.decoder.backward(decoded.saved, z, weights, decoder.grad);
  const gradZ = new Float32Array(B * D);
  const hz = hyperGrads.get('z')!, dz = decoderGrads.get('z')!;
  for (let i = 0; i < gradZ.length; i++) gradZ[i] = hz[i]! + dz[i]!;
  const klScale = f32(beta / B);
  const gradMu = new Float32Array(B * D), gradLogvar = new Float32Array(B * D);
  for (let i = 0; i < gradMu.length; i++) {
    gradMu[i] = gradZ[i]! + f32(klScale * mu[i]!) + (anchor ? anchor.grad[i]! : 0) + (twin ? twin.grad[i]! : 0) + (hold ? hold.grad[i]! : 0);
    gradLogvar[i] = f32(f32(gradZ[i]! * eps[i]!) * sigma[i]!) * 0.5 + f32(klScale * f32(-0.5 * f32(1 - Math.exp(logvar[i]!))));
  }
  const encoderGrads = await nets.encoder.backward(enc.saved, batch.context, weights, { gradMu, gradLogvar });

  const grads = new Map<string, Float32Array>();
  for (const [name, g] of [...encoderGrads, ...hyperGrads, ...decoderGrads]) if (name !== 'z') grads.set(name, g);
  for (const extra of [poolGrads, songGrads]) {
    if (!extra) continue;
    for (const [name, g] of extra) {
      if (name === 'z') continue;
      const sum = grads.get(name)!;
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + g[i]!;
    }
  }
  return { ...result, value, grads };
}
