/**
 * The loss of one iteration and its gradients (tfjs autodiff around the NCA rollout op, whose
 * backward runs on onnxruntime). For a batch of B clips, T predicted frames, frames H x W:
 *
 *   context [B][3C][H][W] -> encoder (BatchNorm on batch statistics) -> mu, logvar [B][latentDim]
 *   z = mu + exp(logvar / 2) * eps            eps [B][latentDim] drawn by the caller
 *   pred = NCA rollout of hypernetwork(z) from the start frame [B][3][H][W]: [T][B][3][H][W]
 *   loss = MSE(pred, targets)
 *        + beta * KL(N(mu, sigma^2) || N(0, I))                    (summed over dimensions, mean over the batch)
 *        + decoderWeight * MSE(decoder(z) RGB, start frame)        (channels 0..2 of each decoded state)
 *        + persistWeight * persistence(pool rollout)               (when the pool drew a batch; its grid is
 *                                                                   poolGrid x poolGrid, not necessarily H x W)
 *
 * The pool's latents are constants: the persistence term trains the hypernetwork (and through it what
 * every latent does).
 */
import type { NamedTensorMap, Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { ncaRolloutOp, type NcaRollout } from '../nca-op.js';
import { decoderForward, encoderForward, hypernetworkForward, type ConvOps, type ModelConfig } from '../networks.js';
import type { PersistenceParts } from '../persistence.js';
import type { SequenceBatch } from '../dataset-batches.js';
import type { Tf } from '../tf.js';
import { weightsRecord, type ModelState } from './model-state.js';
import type { NamedArrays } from '../weights.js';
import { mseOp, persistenceOp } from './loss-ops.js';
import type { PersistencePool, PoolBatch } from './pool.js';

/** What stays the same across iterations. */
export interface LossGraph {
  tf: Tf;
  config: ModelConfig;
  convs: ConvOps;
  /** The rollout of the batch's clips (batch B, T steps). */
  rollout: NcaRollout;
  pool: PersistencePool;
  beta: number;
  decoderWeight: number;
  /** Weight of the latent anchors (anchors.ts). */
  anchorWeight: number;
}

/** One iteration's inputs. */
export interface LossInputs {
  batch: SequenceBatch;
  /** [B][latentDim] standard normal draws of the reparameterisation. */
  eps: Float32Array;
  /** The rollout's hidden-channel noise [T][B][13][H][W] and scheduled-sampling masks [T-1][B]. */
  noise: Float32Array;
  masks: Float32Array;
  /** The pool's entries (null: no persistence term) and the term's weight. */
  poolBatch: PoolBatch | null;
  persistWeight: number;
  /** The latent-anchor targets and mask [B][latentDim] (null: no anchor term). */
  anchors?: { target: Float32Array; mask: Float32Array } | null;
  /** The twin term (twins.ts; the onnx backend only): the pairs at the batch's start and its weight. */
  twins?: { pairs: number; weight: number } | null;
  /** The hold term (hold.ts; the onnx backend only): its weight, the reference encoder's weights and the rows it holds (B values, 1 = held). */
  hold?: { weight: number; reference: NamedArrays; held: Uint8Array } | null;
  /** The held songs' term (held-songs.ts; the onnx backend only): their windows' contexts [count][12][32][32], its weight and the reference encoder's weights. */
  heldSongs?: { contexts: Float32Array; count: number; weight: number; reference: NamedArrays } | null;
}

/** The loss, its gradients by variable name, and its parts (scalars and tensors the caller disposes with disposeLoss). */
export interface LossResult {
  value: Scalar;
  grads: NamedTensorMap;
  rollout: Scalar;
  kl: Scalar;
  decoder: Scalar;
  /** The latent-anchor term, weighted (when the batch has labels). */
  anchor?: Scalar;
  /** The persistence loss (unweighted), its parts and the pool rollout [Tp][P][3][G][G] (G = poolGrid): when the pool drew a batch. */
  persist?: Scalar;
  persistParts?: PersistenceParts;
  poolPred?: Tensor;
  /** The encoder's mu [B][latentDim]. */
  mu: Tensor;
  /** Each encoder BatchNorm's batch mean and biased variance per channel, in layer order (for batch-norm-stats.ts, which disposes them). */
  stats: Array<{ mean: Tensor1D; variance: Tensor1D }>;
}

/** Runs the networks, the rollout and the losses on `inputs` and differentiates the loss with respect to the state's variables. */
export function lossAndGradients(graph: LossGraph, state: ModelState, inputs: LossInputs): LossResult {
  const { tf, config, convs } = graph;
  const { batch, eps, poolBatch } = inputs;
  const { batch: B, width: W, height: H } = batch;
  const C = config.contextFrames, D = config.latentDim;
  const parts: Partial<LossResult> = {};
  const context = tf.tensor4d(batch.context, [B, 3 * C, H, W]);
  const startFrame = tf.tensor4d(batch.start, [B, 3, H, W]);
  const epsT = tf.tensor2d(eps, [B, D]);
  const decoderTarget = padChannels(batch.start, B, 3, config.channels, H * W);
  const { batch: P, width: Wp, height: Hp } = graph.pool.shape;
  const poolZ = poolBatch ? tf.tensor2d(poolBatch.z, [P, D]) : null;
  const poolRgb = poolBatch ? tf.tensor4d(poolBatch.rgb, [P, 3, Hp, Wp]) : null;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const weights = weightsRecord(state);
      const enc = encoderForward(tf, weights, config, context, { training: true, convs });
      parts.stats = enc.batchStats.map((s) => ({ mean: tf.keep(s.mean), variance: tf.keep(s.variance) }));
      const z = tf.add<Tensor2D>(enc.mu, tf.mul(tf.exp(tf.mul(enc.logvar, 0.5)), epsT));
      const params = hypernetworkForward(tf, weights, config, z);
      const pred = ncaRolloutOp(tf, graph.rollout, params, startFrame, { targets: batch.targets, noise: inputs.noise, masks: inputs.masks });
      const rolloutLoss = mseOp(tf, pred, batch.targets);
      // KL(N(mu, sigma^2) || N(0, I)): summed over dimensions, averaged over the batch
      const kl = tf.div(tf.sum(tf.mul(-0.5, tf.sub(tf.add(1, enc.logvar), tf.add(tf.square(enc.mu), tf.exp(enc.logvar))))), B) as Scalar;
      const decoded = decoderForward(tf, weights, config, z, { convs });
      // MSE over the RGB channels (0..2 of 16) only
      const decoderLoss = mseOp(tf, decoded, decoderTarget, { blocks: B, blockSize: config.channels * H * W, used: 3 * H * W });
      parts.rollout = tf.keep(rolloutLoss);
      parts.kl = tf.keep(kl);
      parts.decoder = tf.keep(decoderLoss);
      parts.mu = tf.keep(enc.mu);
      const terms: Tensor[] = [rolloutLoss, tf.mul(graph.beta, kl), tf.mul(graph.decoderWeight, decoderLoss)];
      if (inputs.anchors && graph.anchorWeight > 0) {
        // weight x sum(mask (mu - target)^2) / B (anchors.ts' anchorLossAndGrad)
        const diff = tf.mul(tf.sub(enc.mu, tf.tensor2d(inputs.anchors.target, [B, D])), tf.tensor2d(inputs.anchors.mask, [B, D]));
        const anchor = tf.mul(tf.div(tf.sum(tf.square(diff)), B), graph.anchorWeight) as Scalar;
        parts.anchor = tf.keep(anchor);
        terms.push(anchor);
      }
      const { pool } = graph;
      if (pool.rollout && poolZ && poolRgb && poolBatch) {
        const poolParams = hypernetworkForward(tf, weights, config, poolZ);
        const poolPred = ncaRolloutOp(tf, pool.rollout, poolParams, poolRgb, { targets: pool.targets, noise: pool.noise, masks: pool.masks });
        parts.poolPred = tf.keep(poolPred);
        const persistLoss = persistenceOp(tf, poolPred, pool.shape, pool.floors, poolBatch.style, (p) => (parts.persistParts = p));
        parts.persist = tf.keep(persistLoss);
        terms.push(tf.mul(inputs.persistWeight, persistLoss));
      }
      return tf.addN(terms) as Scalar;
    }, Object.values(state.vars));
    return { ...(parts as Omit<LossResult, 'value' | 'grads'>), value, grads };
  } finally {
    for (const t of [context, startFrame, epsT, poolZ, poolRgb]) t?.dispose();
  }
}

/** Disposes the loss, its gradients and its kept parts (not the BatchNorm statistics: batch-norm-stats.ts disposes those). */
export function disposeLoss(r: LossResult): void {
  for (const t of [r.value, r.rollout, r.kl, r.decoder, r.anchor, r.persist, r.poolPred, r.mu, ...Object.values(r.grads)]) t?.dispose();
}

/** [B][from][plane] -> [B][to][plane] with zeros in the extra channels. */
function padChannels(x: Float32Array, batch: number, from: number, to: number, plane: number): Float32Array {
  const out = new Float32Array(batch * to * plane);
  for (let b = 0; b < batch; b++) out.set(x.subarray(b * from * plane, (b + 1) * from * plane), b * to * plane);
  return out;
}
