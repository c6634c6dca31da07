/**
 * Training of the neuromusical model (docs/design.md): encoder + hypernetwork + first-frame
 * decoder, with the NCA rollout inside the loss. The public entry of the training wing in
 * ./training/, one concept a file:
 *
 *   loop.ts             train(): set-up, the iterations with log and checkpoints, the final model
 *   iteration.ts        one iteration: its draws, loss, optimizer step, statistics, log entry
 *   settings.ts         TrainSettings: meaning, defaults, ranges (resolveSettings)
 *   schedules.ts        scheduled-sampling probability and persistence weight over the run
 *   loss.ts             the loss graph of an iteration and its gradients (tfjs autodiff)
 *   loss-ops.ts         MSE and persistence losses as tfjs ops with plain-loop gradients
 *   optimizer.ts        learning-rate cosine, global-norm clipping, Adam (pure, over Float32Arrays)
 *   model-state.ts      the weights while training: tfjs variables, master copies, Adam moments
 *   batch-norm-stats.ts the encoder's BatchNorm running statistics
 *   pool.ts             persistence training's state pool and its rollout
 *   start.ts            where a run starts: checkpoint (--resume), initFrom, or seeded initial weights
 *   checkpoint.ts       the checkpoint.bin format
 *   log.ts              train-log.jsonl
 *   trained-model.ts    the model folder written at the end (config), exportCheckpoint
 *   timing.ts           where an iteration's seconds go (IterationSplit)
 *   files.ts            the names of the files in a run's folder
 *
 * One iteration, for a batch of B training clips:
 *   context frames 0..3 -> encoder (BatchNorm on batch statistics) -> mu, logvar
 *   z = mu + exp(logvar / 2) * eps           (eps from the seeded Rng, not tf.random)
 *   params = hypernetwork(z)                 [B][4640]
 *   pred = NCA rollout from frame 3 under the frame protocol (fresh hidden noise each frame),
 *          T = 21 steps predicting frames 4..24; scheduled sampling: each step starts from the
 *          model's own previous frame with probability p (ramping 0 -> samplingMax), else from
 *          the ground truth
 *   loss = MSE(pred, frames 4..24) + beta * KL(q(z|x) || N(0, I)) + decoderWeight * MSE(decoder(z) RGB, frame 3)
 * then the gradients (tfjs autodiff around the rollout op, whose backward runs on onnxruntime),
 * clipped to a global norm, and an Adam step with a cosine-decayed learning rate.
 *
 * Why frame 3 for the first-frame decoder: the renderer starts a latent's NCA from the decoder's
 * picture (`--init decoder`), and the NCA was trained to continue from frame 3 (a circles picture),
 * not from frame 0 (a spectrogram, which the NCA never sees as a state). So the decoder learns to
 * draw the picture the NCA knows how to continue.
 *
 * Determinism: every random draw of iteration i (batch, eps, hidden noise, masks) comes from
 * `new Rng("<seed>/iteration/<i>")`, so a run resumed from a checkpoint draws exactly what an
 * uninterrupted run draws. Initial weights come from `new Rng("<seed>/init")`.
 *
 * Files in the output folder: model.json + weights.bin (the final model, written at the end),
 * checkpoint.bin (weights + Adam state + iteration, written atomically every checkpointEvery
 * iterations), train-log.jsonl (one JSON line per iteration, rewritten atomically with each
 * checkpoint and at the end), loss-curve.png.
 */
export { train, type TrainOptions, type TrainProgress, type TrainResult } from './training/loop.js';
export { DEFAULT_SETTINGS, resolveSettings, type TrainSettings } from './training/settings.js';
export { samplingProbability } from './training/schedules.js';
export { learningRate } from './training/optimizer.js';
export { CHECKPOINT_FILE, CURVE_FILE, LOG_FILE } from './training/files.js';
export { readLog, type LogEntry } from './training/log.js';
export { exportCheckpoint, trainedConfig } from './training/trained-model.js';
export type { IterationSplit } from './training/timing.js';
export { benchmarkTraining } from './bench-train.js';
