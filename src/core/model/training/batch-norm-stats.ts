/**
 * The encoder's BatchNorm running statistics: not trained by gradients but moved each iteration
 * towards the batch's statistics, as PyTorch does in training mode (momentum 0.1, unbiased variance):
 *
 *   running_mean <- (1 - momentum) running_mean + momentum mean
 *   running_var  <- (1 - momentum) running_var  + momentum var * n / (n - 1)
 *
 * where mean and var (biased) are over the n = batch x height x width values of each channel.
 */
import type { Tensor, Tensor1D } from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';

/** Whether a weight is a BatchNorm statistic (`*.running_mean`, `*.running_var`) rather than a trained tensor. */
export function isStatistic(name: string): boolean {
  return name.endsWith('.running_mean') || name.endsWith('.running_var');
}

/**
 * Moves `stats` (by name; each replaced by a new tensor, the old one disposed) towards `batchStats`,
 * the per-channel mean and biased variance of encoder layer l = 1, 2, ... in order, and disposes
 * those. The encoder's first BatchNorm sees `firstLayerCount` values per channel
 * (batch x H/2 x W/2); each next layer a quarter as many (the spatial size halves).
 */
export function updateRunningStatistics(tf: Tf, stats: Record<string, Tensor>, batchStats: ReadonlyArray<{ mean: Tensor1D; variance: Tensor1D }>, firstLayerCount: number, momentum: number): void {
  batchStats.forEach((s, i) => {
    const l = i + 1;
    const n = firstLayerCount / 4 ** i;
    const meanName = `encoder.bn${l}.running_mean`, varName = `encoder.bn${l}.running_var`;
    const oldMean = stats[meanName]!, oldVar = stats[varName]!;
    stats[meanName] = tf.tidy(() => tf.add(tf.mul(oldMean, 1 - momentum), tf.mul(s.mean, momentum)));
    stats[varName] = tf.tidy(() => tf.add(tf.mul(oldVar, 1 - momentum), tf.mul(s.variance, (momentum * n) / Math.max(1, n - 1))));
    oldMean.dispose();
    oldVar.dispose();
    s.mean.dispose();
    s.variance.dispose();
  });
}
