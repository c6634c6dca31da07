/**
 * Speed of the networks' onnxruntime graphs against tfjs autodiff on the current tfjs backend:
 * median wall-clock ms of the forward alone and of forward + backward, per network, same batch,
 * same random weights and inputs (docs/onnx-networks.md quotes its figures).
 */
import { im2colConvs } from '../fast-convs.js';
import { DEFAULT_CONFIG, initialWeights } from '../networks.js';
import type { Tf } from '../tf.js';
import { Rng } from '../../rng.js';
import { createOnnxDecoder } from './decoder.js';
import { createOnnxEncoderTrain } from './encoder.js';
import { createOnnxHypernetwork } from './hypernetwork.js';
import { tfjsDecoderTrain, tfjsEncoderTrain, tfjsHypernetworkTrain } from './reference.js';

export interface NetworkTimes {
  network: 'hypernetwork' | 'decoder' | 'encoder';
  /** onnxruntime, forward alone / forward + backward in one run (median ms). */
  ortForward: number;
  ortTrain: number;
  /** onnxruntime, forwardSaved then backward: the two runs together (median ms). */
  ortSplit: number;
  /** tfjs autodiff forward + backward (median ms; the im2col convolutions of training); NaN when not timed. */
  tfjsTrain: number;
}

export interface BenchOptions {
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  batch?: number;
  /**
   * Timed repetitions for onnxruntime (default 21, after 10 warm-ups: its first runs of a session are
   * several times slower) and tfjs (default 5, after 1; 0 = do not time tfjs).
   */
  reps?: number;
  tfjsReps?: number;
}

/** Median ms of `reps` awaited calls after `warm` warm-ups. */
export async function medianMs(reps: number, fn: () => unknown, warm = 1): Promise<number> {
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

const WARM = 10;

const tfjsMs = (reps: number, fn: () => unknown): Promise<number> => (reps > 0 ? medianMs(reps, fn) : Promise.resolve(Number.NaN));

/** Times the three networks (seed-0 initial weights, random inputs and upstream gradients). */
export async function benchOnnxNetworks(tf: Tf, opts: BenchOptions = {}): Promise<NetworkTimes[]> {
  const { threads = 1, batch = 8, reps = 21, tfjsReps = 5 } = opts;
  const config = { ...DEFAULT_CONFIG };
  const named = initialWeights(new Rng(0));
  const rng = new Rng(1);
  const rand = (size: number, lo = -1, hi = 1) => rng.fillUniform(new Float32Array(size), lo, hi);
  const z = rand(batch * 64);
  const convs = im2colConvs(tf);
  const results: NetworkTimes[] = [];

  const hyper = await createOnnxHypernetwork(config, { threads });
  try {
    const g = rand(batch * 4640);
    results.push({
      network: 'hypernetwork',
      ortForward: await medianMs(reps, () => hyper.run(z, batch, named), WARM),
      ortTrain: await medianMs(reps, () => hyper.run(z, batch, named, g), WARM),
      ortSplit: await medianMs(reps, async () => hyper.backward((await hyper.forwardSaved(z, batch, named)).saved, z, named, g), WARM),
      tfjsTrain: await tfjsMs(tfjsReps, () => tfjsHypernetworkTrain(tf, named, config, z, batch, g)),
    });
  } finally {
    await hyper.dispose();
  }
  const decoder = await createOnnxDecoder(config, { threads });
  try {
    const g = rand(batch * 16 * 32 * 32);
    results.push({
      network: 'decoder',
      ortForward: await medianMs(reps, () => decoder.run(z, batch, named), WARM),
      ortTrain: await medianMs(reps, () => decoder.run(z, batch, named, g), WARM),
      ortSplit: await medianMs(reps, async () => decoder.backward((await decoder.forwardSaved(z, batch, named)).saved, z, named, g), WARM),
      tfjsTrain: await tfjsMs(tfjsReps, () => tfjsDecoderTrain(tf, named, config, z, batch, g, convs)),
    });
  } finally {
    await decoder.dispose();
  }
  const encoder = await createOnnxEncoderTrain(config, { threads });
  try {
    const context = rand(batch * 12 * 32 * 32, 0, 1);
    const upstream = { gradMu: rand(batch * 64), gradLogvar: rand(batch * 64) };
    results.push({
      network: 'encoder',
      ortForward: await medianMs(reps, () => encoder.run(context, batch, named), WARM),
      ortTrain: await medianMs(reps, () => encoder.run(context, batch, named, upstream), WARM),
      ortSplit: await medianMs(reps, async () => encoder.backward((await encoder.forwardSaved(context, batch, named)).saved, context, named, upstream), WARM),
      tfjsTrain: await tfjsMs(tfjsReps, () => tfjsEncoderTrain(tf, named, config, context, batch, upstream, convs)),
    });
  } finally {
    await encoder.dispose();
  }
  return results;
}

/**
 * The networks' share of one training iteration, composed as the trainer would run it (median ms):
 * encoder forwardSaved; hypernetwork forwardSaved for the clip and for the pool; decoder forwardSaved;
 * decoder forward for 2 fresh pool latents; then the four backwards. The losses, the reparameterisation
 * and the NCA in between are left out (random upstream gradients stand in for them).
 */
export async function benchNetworksIteration(opts: Omit<BenchOptions, 'tfjsReps'> = {}): Promise<number> {
  const { threads = 1, batch = 8, reps = 21 } = opts;
  const config = { ...DEFAULT_CONFIG };
  const named = initialWeights(new Rng(0));
  const rng = new Rng(2);
  const rand = (size: number, lo = -1, hi = 1) => rng.fillUniform(new Float32Array(size), lo, hi);
  const context = rand(batch * 12 * 32 * 32, 0, 1);
  const zPool = rand(batch * 64);
  const zFresh = rand(2 * 64);
  const gradParams = rand(batch * 4640);
  const gradState = rand(batch * 16 * 32 * 32);
  const upstream = { gradMu: rand(batch * 64), gradLogvar: rand(batch * 64) };
  const [encoder, hyper, decoder] = await Promise.all([createOnnxEncoderTrain(config, { threads }), createOnnxHypernetwork(config, { threads }), createOnnxDecoder(config, { threads })]);
  try {
    return await medianMs(
      reps,
      async () => {
        const enc = await encoder.forwardSaved(context, batch, named);
        const clip = await hyper.forwardSaved(enc.mu, batch, named);
        const pool = await hyper.forwardSaved(zPool, batch, named);
        const first = await decoder.forwardSaved(enc.mu, batch, named);
        await decoder.run(zFresh, 2, named);
        await hyper.backward(pool.saved, zPool, named, gradParams);
        await hyper.backward(clip.saved, enc.mu, named, gradParams);
        await decoder.backward(first.saved, enc.mu, named, gradState);
        await encoder.backward(enc.saved, context, named, upstream);
      },
      WARM,
    );
  } finally {
    await Promise.all([encoder.dispose(), hyper.dispose(), decoder.dispose()]);
  }
}
