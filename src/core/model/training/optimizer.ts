/**
 * The optimizer, as pure functions over Float32Arrays (no tfjs): the cosine-decayed learning rate,
 * global-norm gradient clipping and Adam with bias correction (Kingma & Ba 2015, Algorithm 1, in the
 * form with the corrections folded into the step size, as PyTorch's Adam computes it):
 *
 *   g  <- g * clip                       clip = clipNorm / ||g||  when ||g|| > clipNorm > 0, else 1
 *   m  <- beta1 m + (1 - beta1) g
 *   v  <- beta2 v + (1 - beta2) g^2
 *   w  <- w - (lr / (1 - beta1^t)) m / (sqrt(v / (1 - beta2^t)) + eps)      t = 1, 2, ... (the step)
 *
 * m and v are stored as float32, but each update of w uses their float64 values before rounding.
 */

/** Adam's constants (PyTorch's defaults). */
export const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** Learning rate at an iteration (0-based): cosine from lr at the first iteration down to lr x lrFinal at the last. */
export function learningRate(s: { iters: number; lr: number; lrFinal: number }, iteration: number): number {
  const f = s.iters <= 1 ? 0 : iteration / (s.iters - 1);
  return s.lr * (s.lrFinal + (1 - s.lrFinal) * 0.5 * (1 + Math.cos(Math.PI * f)));
}

/** The global L2 norm of all gradients together: sqrt(sum over every tensor and element of g^2), in float64. */
export function globalNorm(grads: Iterable<Float32Array>): number {
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  return Math.sqrt(sum);
}

/** The factor gradients are scaled by: clipNorm / gradNorm when gradNorm > clipNorm > 0, else 1. */
export function clipScale(gradNorm: number, clipNorm: number): number {
  return clipNorm > 0 && gradNorm > clipNorm ? clipNorm / gradNorm : 1;
}

/** One trained tensor: its values, its gradient and Adam's first and second moments, all of one length. */
export interface AdamSlot {
  value: Float32Array;
  grad: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export interface AdamStepOptions {
  /** The learning rate of this step (learningRate()). */
  lr: number;
  /** The 1-based step number t of the bias corrections (the first update is step 1). */
  step: number;
  /** Clip the gradients to this global L2 norm when larger (0 = never). */
  clipNorm: number;
  /**
   * The gradients' global L2 norm, if the caller has it (the trainer passes the one its tfjs backend
   * computes in float32, as every recorded run did); default: globalNorm() of the gradients.
   */
  gradNorm?: number;
}

/**
 * One Adam step with global-norm clipping over `slots`, in place: each value, m and v is updated
 * (the gradients are left as they are). Returns the gradients' global norm before clipping and the
 * clip factor applied.
 */
export function adamStep(slots: readonly AdamSlot[], opts: AdamStepOptions): { gradNorm: number; clip: number } {
  const { beta1, beta2, eps } = ADAM;
  if (!(Number.isInteger(opts.step) && opts.step >= 1)) throw new Error(`adamStep: step must be an integer >= 1, got ${opts.step}`);
  for (const s of slots) {
    if (s.grad.length !== s.value.length || s.m.length !== s.value.length || s.v.length !== s.value.length) throw new Error('adamStep: value, grad, m and v must have one length');
  }
  const gradNorm = opts.gradNorm ?? globalNorm(slots.map((s) => s.grad));
  const clip = clipScale(gradNorm, opts.clipNorm);
  // the bias corrections: 1 / (1 - beta1^t) folded into the step size, 1 - beta2^t under the square root
  const lr1 = opts.lr / (1 - beta1 ** opts.step), correction2 = 1 - beta2 ** opts.step;
  for (const { value: w, grad: g, m, v } of slots) {
    for (let i = 0; i < w.length; i++) {
      const gi = g[i]! * clip;
      const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * gi);
      const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi);
      w[i]! -= (lr1 * mi) / (Math.sqrt(vi / correction2) + eps);
    }
  }
  return { gradNorm, clip };
}
