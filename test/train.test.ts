import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDataset, defaultPlan, openDataset, type Dataset } from '../src/core/audio/dataset.js';
import { makeBatch, sampleIndices } from '../src/core/model/dataset-batches.js';
import { im2colConvs } from '../src/core/model/fast-convs.js';
import { loadModel } from '../src/core/model/networks.js';
import { loadTf } from '../src/core/model/tf.js';
import { CHECKPOINT_FILE, exportCheckpoint, learningRate, readLog, samplingProbability, train } from '../src/core/model/train.js';
import { loadWeights } from '../src/core/model/weights.js';
import { readCheckpoint } from '../src/core/model/training/checkpoint.js';
import { Rng } from '../src/core/rng.js';
import { ncaInProcess } from './nca-in-process.js';

let root: string;
let data: Dataset;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'nca-train-'));
  // 4 synthesised clips (2 instruments x 2 notes), all for training
  const plan = defaultPlan({ instruments: ['piano', 'flute'], notes: [60, 67], velocities: [0.8], seed: 1 });
  await buildDataset({ outDir: join(root, 'data'), plan, heldOut: 0, seed: 1 });
  data = await openDataset(join(root, 'data'));
});

// tiny runs: batch 2, 4 NCA steps
const tiny = { batch: 2, steps: 4, seed: 5, threads: 1 } as const;

describe('batches', () => {
  it('cut context frames 0..3, the start frame 3 and time-major targets 4.. from the clips', () => {
    const b = makeBatch(data, [2, 0], { contextFrames: 4, steps: 3 });
    const frame = 3 * 32 * 32;
    const clip2 = data.clip(2), clip0 = data.clip(0);
    expect(b.context.length).toBe(2 * 12 * 32 * 32);
    expect(b.context.subarray(0, 4 * frame)).toEqual(clip2.subarray(0, 4 * frame));
    expect(b.start.subarray(frame)).toEqual(clip0.subarray(3 * frame, 4 * frame));
    // targets[t][b]: t = 1, b = 0 -> clip 2 frame 5
    expect(b.targets.subarray((1 * 2 + 0) * frame, (1 * 2 + 1) * frame)).toEqual(clip2.subarray(5 * frame, 6 * frame));
    expect(() => makeBatch(data, [0], { contextFrames: 4, steps: 22 })).toThrow(/do not fit/);
  });

  it('draw distinct clips per batch, deterministically', () => {
    const a = sampleIndices(new Rng(3), [10, 11, 12, 13], 3);
    expect(new Set(a).size).toBe(3);
    expect(sampleIndices(new Rng(3), [10, 11, 12, 13], 3)).toEqual(a);
  });
});

describe('schedules', () => {
  it('ramp the sampling probability from 0 to its maximum over the ramp, and decay the learning rate along a cosine', () => {
    const s = { iters: 100, samplingMax: 0.5, samplingRamp: 0.5, lr: 1e-3, lrFinal: 0.1 };
    expect(samplingProbability(s, 0)).toBe(0);
    expect(samplingProbability(s, 25)).toBeCloseTo(0.25);
    expect(samplingProbability(s, 80)).toBe(0.5);
    expect(learningRate(s, 0)).toBeCloseTo(1e-3);
    expect(learningRate(s, 99)).toBeCloseTo(1e-4);
  });
});

describe('im2col convolutions (training)', () => {
  it('equal tf.conv2d stride 2 and tf.conv2dTranspose k4 s2 p1, values and gradients', async () => {
    const tf = await loadTf();
    const convs = im2colConvs(tf);
    const rng = new Rng(9);
    const rand = (shape: number[]) => tf.tensor(rng.normalArray(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
    const x = rand([2, 8, 6, 3]) as import('@tensorflow/tfjs').Tensor4D;
    const f = rand([3, 3, 3, 5]) as import('@tensorflow/tfjs').Tensor4D;
    const w = rand([3, 4, 4, 4]) as import('@tensorflow/tfjs').Tensor4D; // IOHW: 3 in, 4 out
    const gx = tf.grads((a, b) => tf.sum(tf.square(tf.conv2d(a as never, b as never, 2, 1))));
    const gy = tf.grads((a, b) => tf.sum(tf.square(convs.conv3x3s2(a as never, b as never))));
    // max |difference| relative to max |reference|
    const maxDiff = (a: import('@tensorflow/tfjs').Tensor, b: import('@tensorflow/tfjs').Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / tf.max(tf.abs(a)).dataSync()[0]!;
    expect(maxDiff(tf.conv2d(x, f, 2, 1), convs.conv3x3s2(x, f))).toBeLessThan(1e-6);
    const [ga, gb] = gx([x, f]), [ha, hb] = gy([x, f]);
    expect(maxDiff(ga!, ha!)).toBeLessThan(1e-5);
    expect(maxDiff(gb!, hb!)).toBeLessThan(1e-5);
    const ref = (a: import('@tensorflow/tfjs').Tensor4D, b: import('@tensorflow/tfjs').Tensor4D) => tf.conv2dTranspose(a, tf.transpose(b, [2, 3, 1, 0]) as never, [2, 16, 12, 4], 2, 1);
    expect(maxDiff(ref(x, w), convs.deconv4x4s2(x, w))).toBeLessThan(1e-5);
    const [da, db] = tf.grads((a, b) => tf.sum(tf.square(ref(a as never, b as never))))([x, w]);
    const [ea, eb] = tf.grads((a, b) => tf.sum(tf.square(convs.deconv4x4s2(a as never, b as never))))([x, w]);
    expect(maxDiff(da!, ea!)).toBeLessThan(1e-5);
    expect(maxDiff(db!, eb!)).toBeLessThan(1e-5);
  });
});

describe('train', () => {
  it('lowers the loss over 20 iterations on a 4-clip dataset and writes the model, log, curve and checkpoint', async () => {
    const out = join(root, 'run');
    const seen: number[] = [];
    const r = await train({ ...tiny, data, outDir: out, iters: 20, lr: 3e-3, checkpointEvery: 10, onProgress: (p) => seen.push(p.iteration) });
    expect(r.finished).toBe(true);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const log = await readLog(join(out, 'train-log.jsonl'));
    expect(log.map((e) => e.iteration)).toEqual(seen);
    const mean = (es: typeof log) => es.reduce((a, e) => a + e.loss, 0) / es.length;
    expect(mean(log.slice(-5))).toBeLessThan(0.7 * mean(log.slice(0, 5)));
    for (const e of log) expect(e.ncaForward).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'loss-curve.png')).subarray(1, 4).toString()).toBe('PNG');
    const { config } = await loadWeights(out);
    expect(config.protocol).toBe('frame');
    expect(config.training).toMatchObject({ iters: 20, batch: 2, steps: 4, seed: 5, iterationsDone: 20 });
    const model = await loadModel(out); // a valid model folder
    model.dispose();
    expect(r.secondsPerIteration.total).toBeGreaterThan(r.secondsPerIteration.ncaForward + r.secondsPerIteration.ncaBackward);
    expect(readdirSync(out).filter((f) => f.includes('.nca-tmp-'))).toEqual([]);
  });

  it('is deterministic, and a run resumed from its checkpoint ends with the same weights as an uninterrupted one', async () => {
    const whole = join(root, 'whole');
    const parts = join(root, 'parts');
    await train({ ...tiny, data, outDir: whole, iters: 6, checkpointEvery: 100 });
    const first = await train({ ...tiny, data, outDir: parts, iters: 6, checkpointEvery: 100, stopAfter: 3 });
    expect(first.finished).toBe(false);
    expect(existsSync(join(parts, CHECKPOINT_FILE))).toBe(true);
    expect(existsSync(join(parts, 'model.json'))).toBe(false);
    const second = await train({ ...tiny, data, outDir: parts, iters: 6, checkpointEvery: 100, resume: true });
    expect(second).toMatchObject({ finished: true, resumedFrom: 3, iterations: 6, backend: 'onnx' }); // the default backend
    expect(readFileSync(join(parts, 'weights.bin')).equals(readFileSync(join(whole, 'weights.bin')))).toBe(true);
    expect((await readLog(join(parts, 'train-log.jsonl'))).map((e) => e.loss)).toEqual((await readLog(join(whole, 'train-log.jsonl'))).map((e) => e.loss));
    // the checkpoint exports as a model folder
    expect(await exportCheckpoint(parts, join(root, 'exported'))).toEqual({ iteration: 6 });
    expect(readFileSync(join(root, 'exported', 'weights.bin')).equals(readFileSync(join(whole, 'weights.bin')))).toBe(true);
  });

  it('fine-tunes from a model folder with persistence training, and records where it started', async () => {
    const { createHash } = await import('node:crypto');
    const base = join(root, 'whole'); // written by the test above
    const small = { ...tiny, data, iters: 3, checkpointEvery: 100, initFrom: base, poolSize: 6, poolBatch: 2, poolSteps: 4, poolReset: 1 };
    await train({ ...small, outDir: join(root, 'tuned'), persistWeight: 1 });
    await train({ ...small, outDir: join(root, 'plain'), persistWeight: 0 });
    const tuned = await readLog(join(root, 'tuned', 'train-log.jsonl'));
    const plain = await readLog(join(root, 'plain', 'train-log.jsonl'));
    // the pool starts from uniform noise or clip frames: noise has no neighbour correlation, so the loss bites at once
    expect(tuned[0]!.persist).toBeGreaterThan(0);
    expect(tuned[0]!.persist).toBeCloseTo(tuned[0]!.persistStd + tuned[0]!.persistCorrelation + tuned[0]!.persistDrift + tuned[0]!.persistStyle, 4);
    for (const e of plain) expect(e.persist).toBe(0);
    // the first iteration starts from the base weights either way; the persistence gradient changes where it goes
    expect(tuned[0]!.rollout).toBeCloseTo(plain[0]!.rollout, 6);
    expect(readFileSync(join(root, 'tuned', 'weights.bin')).equals(readFileSync(join(root, 'plain', 'weights.bin')))).toBe(false);
    // the look terms (look-targets.ts) reach the pool's loss when on, and are logged apart
    await train({ ...small, outDir: join(root, 'looks'), persistWeight: 1, scaleWeight: 1, travelWeight: 1, travelLag: 2 });
    const looks = await readLog(join(root, 'looks', 'train-log.jsonl'));
    expect(looks[0]!.persistScale).toBeGreaterThan(0);
    expect(looks[0]!.persist).toBeCloseTo(looks[0]!.persistStd + looks[0]!.persistCorrelation + looks[0]!.persistDrift + looks[0]!.persistStyle + looks[0]!.persistScale! + (looks[0]!.persistTravel ?? 0), 4);
    expect(looks[0]!.persist).toBeGreaterThan(tuned[0]!.persist);
    // the structure floor tied to the scale target (--floor-std-power) and a wider fine end (--scale-fine) reach it too
    await train({ ...small, outDir: join(root, 'floor'), persistWeight: 1, scaleWeight: 1, travelWeight: 1, travelLag: 2, floorStdPower: 1, scaleFine: 4 });
    const floor = await readLog(join(root, 'floor', 'train-log.jsonl'));
    expect(floor[0]!.persistStd).toBeGreaterThan(looks[0]!.persistStd);
    expect(floor[0]!.persistScale).not.toBe(looks[0]!.persistScale);
    expect((await loadWeights(join(root, 'floor'))).config.training).toMatchObject({ floorStdPower: 1, scaleFine: 4 });
    const { config } = await loadWeights(join(root, 'tuned'));
    const from = (config.training as { initFromModel: { weightsSha256: string; training: { iters: number } } }).initFromModel;
    expect(from.weightsSha256).toBe(createHash('sha256').update(readFileSync(join(base, 'weights.bin'))).digest('hex'));
    expect(from.training.iters).toBe(6);
  });

  it('takes a fixed encoder from another model (--encoder-from): its tensors and statistics stay, the rest trains, on both backends', async () => {
    const { createHash } = await import('node:crypto');
    const base = join(root, 'whole'), other = join(root, 'run'); // written by the tests above: 6 and 20 iterations, different encoders
    const small = { ...tiny, data, checkpointEvery: 100, initFrom: base, encoderFrom: other, poolSize: 6, poolBatch: 2, poolSteps: 4, poolReset: 1, persistWeight: 1, scaleWeight: 1 };
    const baseW = (await loadWeights(base)).tensors, otherW = (await loadWeights(other)).tensors;
    for (const [backend, iters] of [['onnx', 3], ['wasm', 2]] as const) {
      const out = join(root, `encoder-from-${backend}`);
      await train({ ...small, iters, backend, outDir: out });
      const { tensors, config } = await loadWeights(out);
      let encoders = 0;
      for (const [name, t] of tensors) {
        if (name.startsWith('encoder.')) {
          encoders++;
          expect(t.data, `${backend} ${name}`).toEqual(otherW.get(name)!.data);
        }
      }
      expect(encoders).toBe(22); // 3 convs + 3 BatchNorms (4 tensors each) + mu and logvar layers
      expect(otherW.get('encoder.conv1.weight')!.data).not.toEqual(baseW.get('encoder.conv1.weight')!.data);
      expect(tensors.get('hyper.fc3.weight')!.data).not.toEqual(baseW.get('hyper.fc3.weight')!.data);
      expect(tensors.get('decoder.fc.weight')!.data).not.toEqual(baseW.get('decoder.fc.weight')!.data);
      const from = (config.training as { encoderFrom: string; encoderFromModel: { weightsSha256: string } });
      expect(from.encoderFrom).toBe(other);
      expect(from.encoderFromModel.weightsSha256).toBe(createHash('sha256').update(readFileSync(join(other, 'weights.bin'))).digest('hex'));
    }
    const missing = await ncaInProcess(['train', '--data', join(root, 'data'), '--out', join(root, 'cli-encoder'), '--iters', '1', '--encoder-from', join(root, 'no-such-model')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^nca: --encoder-from: no model folder at .*no-such-model[^\n]*model\.json[^\n]*\n$/);
    expect(existsSync(join(root, 'cli-encoder'))).toBe(false);
  });

  it('runs the pool on a grid larger than the clips (--pool-grid 48): trains, logs, checkpoints the pool at 48 x 48 and resumes', async () => {
    const base = join(root, 'whole'); // written by the test above
    const grid = { ...tiny, data, iters: 3, checkpointEvery: 100, initFrom: base, poolSize: 6, poolBatch: 2, poolSteps: 4, poolReset: 1, persistWeight: 1, scaleWeight: 1, travelWeight: 1, travelLag: 2, poolGrid: 48 };
    const parts = join(root, 'grid48');
    expect((await train({ ...grid, outDir: parts, stopAfter: 2 })).finished).toBe(false);
    const { named } = await readCheckpoint(join(parts, CHECKPOINT_FILE), 'no checkpoint');
    expect(named.get('pool/rgb')!.shape).toEqual([6, 3, 48, 48]);
    expect(named.get('pool/age')!.data.some((a) => a > 0)).toBe(true); // entries ran and were written back at 48 x 48
    await expect(train({ ...grid, outDir: parts, poolGrid: 64, resume: true })).rejects.toThrow(/trained with poolGrid 48, not 64/);
    expect(await train({ ...grid, outDir: parts, resume: true })).toMatchObject({ finished: true, resumedFrom: 2 });
    await train({ ...grid, outDir: join(root, 'grid48-whole') });
    expect(readFileSync(join(parts, 'weights.bin')).equals(readFileSync(join(root, 'grid48-whole', 'weights.bin')))).toBe(true);
    const log = await readLog(join(parts, 'train-log.jsonl'));
    expect(log.map((e) => e.iteration)).toEqual([1, 2, 3]);
    for (const e of log) expect(e.persistScale).toBeGreaterThan(0);
    // the tfjs path (loss.ts) builds the pool's tensors at the pool's grid too: its first iteration is the onnx one's, to float rounding
    await train({ ...grid, iters: 1, outDir: join(root, 'grid48-wasm'), backend: 'wasm' });
    expect((await readLog(join(root, 'grid48-wasm', 'train-log.jsonl')))[0]!.persist).toBeCloseTo(log[0]!.persist, 3);
    // the same run on the clips' grid (the default, recorded as 32) differs from the first iteration's pool loss on
    const at32 = await readLog(join(root, 'looks', 'train-log.jsonl')); // the test above: the same settings, grid 32
    expect(log[0]!.persist).not.toBeCloseTo(at32[0]!.persist, 4);
    expect(log[0]!.rollout).toBeCloseTo(at32[0]!.rollout, 6);
    expect((await loadWeights(parts)).config.training).toMatchObject({ poolGrid: 48 });
    expect((await loadWeights(join(root, 'looks'))).config.training).toMatchObject({ poolGrid: 32 });
    const cli = await ncaInProcess(['train', '--data', join(root, 'data'), '--out', join(root, 'cli-grid'), '--iters', '1', '--pool-grid', '12']);
    expect(cli.status).toBe(2);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/^nca: .*--pool-grid/);
    // --pool-reset reaches the settings (recorded in the config) and is refused outside 0..poolBatch
    const reset = await ncaInProcess(['train', '--data', join(root, 'data'), '--out', join(root, 'cli-reset'), '--iters', '1', '--batch', '2', '--steps', '4', '--pool-steps', '4', '--pool-reset', '1', '--pool-fade-std', '0.05', '--pool-encoded', '0.75', '--looks-random-only', '--scale-coarse', '20', '--no-notes', '--threads', '1']);
    expect(reset.status).toBe(0);
    expect((await loadWeights(join(root, 'cli-reset'))).config.training).toMatchObject({ poolReset: 1, poolSteps: 4, poolFadeStd: 0.05, poolEncoded: 0.75, looksForClips: false, scaleCoarse: 20, scaleFine: 5.5 });
    // a coarse end finer than the fine end is refused in one line, naming both flags
    const coarseRefused = await ncaInProcess(['train', '--data', join(root, 'data'), '--out', join(root, 'cli-reset-bad'), '--iters', '1', '--scale-fine', '8', '--scale-coarse', '6']);
    expect(coarseRefused.status).toBe(2);
    expect(coarseRefused.stderr).toMatch(/^nca: --scale-coarse 6 is finer than --scale-fine 8[^\n]*\n$/);
    const fadeRefused = await ncaInProcess(['train', '--data', join(root, 'data'), '--out', join(root, 'cli-reset-bad'), '--iters', '1', '--pool-fade-std', '2']);
    expect(fadeRefused.status).toBe(2);
    expect(fadeRefused.stderr).toMatch(/^nca: .*--pool-fade-std[^\n]*\n$/);
    const encodedRefused = await ncaInProcess(['train', '--data', join(root, 'data'), '--out', join(root, 'cli-reset-bad'), '--iters', '1', '--pool-encoded', '1.5']);
    expect(encodedRefused.status).toBe(2);
    expect(encodedRefused.stderr).toMatch(/^nca: .*--pool-encoded[^\n]*\n$/);
    for (const bad of ['9', '-1', '1.5']) {
      const refused = await ncaInProcess(['train', '--data', join(root, 'data'), '--out', join(root, 'cli-reset-bad'), '--iters', '1', '--pool-reset', bad]);
      expect(refused.status).toBe(2);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/^nca: .*--pool-reset/);
    }
    expect(existsSync(join(root, 'cli-reset-bad'))).toBe(false);
  });

  it('refuses to resume with other settings or without a checkpoint', async () => {
    await expect(train({ ...tiny, data, outDir: join(root, 'parts'), iters: 6, batch: 3, resume: true })).rejects.toThrow(/trained with batch 2, not 3/);
    await expect(train({ ...tiny, data, outDir: join(root, 'nothing'), iters: 6, resume: true })).rejects.toThrow(/no checkpoint/);
    await expect(train({ ...tiny, data, outDir: join(root, 'x'), iters: 6, steps: 30 })).rejects.toThrow(/was made with --frames 24 \(25 frames per clip\), but training with steps 30 needs 34 .*--frames 33 \(or more\) or lower --steps/);
  });
});
