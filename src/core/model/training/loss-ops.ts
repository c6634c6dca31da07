/**
 * Losses as single tfjs ops with plain-loop gradients (tfjs.customGrad): cheaper than composing them
 * from tfjs-cpu ops, whose broadcasting in the gradients dominated the iteration.
 */
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { persistenceLoss, type PersistenceFloors, type PersistenceParts, type RolloutShape, type StyleTargets } from '../persistence.js';
import type { Tf } from '../tf.js';

/**
 * Mean squared error of x against a constant target as one tfjs op with a plain-loop gradient
 * (tfjs-cpu's broadcasting multiply in the gradient of tf.mean(tf.squaredDifference) took ~0.1 s
 * at [21][8][3][32][32]). With `part`, only the first `used` values of each of the `blocks`
 * blocks of `blockSize` count (e.g. the RGB channels of 16-channel states); the others get zero gradient.
 */
export function mseOp(tf: Tf, x: Tensor, target: Float32Array, part?: { blocks: number; blockSize: number; used: number }): Scalar {
  const blocks = part?.blocks ?? 1, blockSize = part?.blockSize ?? target.length, used = part?.used ?? target.length;
  if (x.size !== target.length || blocks * blockSize !== target.length) throw new Error(`mseOp: ${x.size} predictions for ${target.length} targets`);
  const n = blocks * used;
  const op = tf.customGrad((...inputs) => {
    const xs = (inputs[0] as Tensor).dataSync() as Float32Array;
    let sum = 0;
    for (let b = 0; b < blocks; b++) {
      for (let i = b * blockSize, end = i + used; i < end; i++) {
        const d = xs[i]! - target[i]!;
        sum += d * d;
      }
    }
    const shape = x.shape;
    return {
      value: tf.scalar(sum / n),
      gradFunc: (dy: Tensor) => {
        const scale = (2 * (dy.dataSync()[0] ?? 0)) / n;
        const g = new Float32Array(xs.length);
        for (let b = 0; b < blocks; b++) for (let i = b * blockSize, end = i + used; i < end; i++) g[i] = scale * (xs[i]! - target[i]!);
        return [tf.tensor(g, shape)];
      },
    };
  });
  return op(x) as Scalar;
}

/** The persistence loss (persistence.ts) of pred [T][B][3][H][W] as one tfjs op with its analytic gradient; `onParts` receives its parts. */
export function persistenceOp(tf: Tf, x: Tensor, shape: RolloutShape, floors: PersistenceFloors, style: StyleTargets, onParts: (p: PersistenceParts) => void): Scalar {
  const op = tf.customGrad((...inputs) => {
    const r = persistenceLoss((inputs[0] as Tensor).dataSync() as Float32Array, shape, floors, style);
    onParts(r.parts);
    return {
      value: tf.scalar(r.loss),
      gradFunc: (dy: Tensor) => {
        const k = dy.dataSync()[0] ?? 0;
        const g = new Float32Array(r.grad.length);
        for (let i = 0; i < g.length; i++) g[i] = k * r.grad[i]!;
        return [tf.tensor(g, x.shape)];
      },
    };
  });
  return op(x) as Scalar;
}
