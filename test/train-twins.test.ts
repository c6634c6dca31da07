import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDataset, defaultPlan, openDataset, type Dataset } from '../src/core/audio/dataset.js';
import { createOnnxEncoder, encoderWeights } from '../src/core/model/encoder-onnx.js';
import { DEFAULT_CONFIG } from '../src/core/model/networks.js';
import { makeBatch } from '../src/core/model/dataset-batches.js';
import { readLog, train } from '../src/core/model/train.js';
import { resolveSettings, trainsWeight } from '../src/core/model/training/settings.js';
import { drawTwins, noteKey, twinGroups, twinLossAndGrad, twinPairs } from '../src/core/model/training/twins.js';
import { loadWeights } from '../src/core/model/weights.js';
import { Rng } from '../src/core/rng.js';
import { expectRefusal, ncaInProcess } from './nca-in-process.js';

describe('twins: two renderings of one note', () => {
  const clips = [
    { source: 'synth', instrument: 'piano', midi: 60 },
    { source: 'synth', instrument: 'piano', midi: 60 },
    { source: 'synth', instrument: 'piano', midi: 62 },
    { source: 'soundfont', kind: 'note', program: 40, midi: 60 },
    { source: 'soundfont', kind: 'chord', program: 40, midi: 60 },
    { source: 'soundfont', kind: 'note', program: 40, midi: 60 },
    { source: 'soundfont', kind: 'note', program: 41, midi: 60 },
    { source: 'file' },
    { source: 'synth', instrument: 'piano', midi: 60 },
  ];

  it('group the clips that play the same note on the same instrument; chords, phrases, files and lone notes have none', () => {
    expect(noteKey(clips[0]!)).toBe('synth/piano/60');
    expect(noteKey(clips[3]!)).toBe('gm40/60');
    expect(noteKey(clips[4]!)).toBeNull();
    expect(noteKey(clips[7]!)).toBeNull();
    expect(twinGroups(clips, clips.map((_, i) => i))).toEqual([[0, 1, 8], [3, 5]]);
    // only the clips given (the training split) count
    expect(twinGroups(clips, [0, 2, 3, 5, 6])).toEqual([[3, 5]]);
    // the own synthesiser's notes only
    expect(twinGroups(clips, clips.map((_, i) => i), 'synth')).toEqual([[0, 1, 8]]);
    expect(twinGroups(clips, [0, 2, 3, 5, 6], 'synth')).toEqual([]);
    expect(twinPairs(8)).toBe(2);
    expect(twinPairs(16)).toBe(4);
  });

  it('draw pairs of two different clips of one group, the same for the same seed', () => {
    const groups = twinGroups(clips, clips.map((_, i) => i));
    const pairs = drawTwins(new Rng(3), groups, 50);
    expect(pairs).toHaveLength(100);
    for (let p = 0; p < 50; p++) {
      const a = pairs[2 * p]!, b = pairs[2 * p + 1]!;
      expect(a).not.toBe(b);
      expect(noteKey(clips[a]!)).toBe(noteKey(clips[b]!));
    }
    expect(new Set(pairs)).toEqual(new Set([0, 1, 8, 3, 5]));
    expect(drawTwins(new Rng(3), groups, 50)).toEqual(pairs);
    expect(() => drawTwins(new Rng(3), [], 1)).toThrow(/no note is played twice/);
  });

  it('the term is the pairs\' mean squared distance over the batch\'s spread: its gradient matches finite differences, it pulls a pair together, and shrinking every latent does not lower it', () => {
    const D = 3;
    // two pairs, then a row that is no pair's
    const mu = Float32Array.from([1, 2, 3, 1, 0, 3, 0, 0, 0, 2, 2, 2, 5, 5, 5]);
    const { loss, grad } = twinLossAndGrad(mu, D, 2, 0.5);
    const rows = [0, 1, 2, 3, 4].map((b) => Array.from(mu.subarray(b * D, (b + 1) * D)));
    const mean = [0, 1, 2].map((d) => rows.reduce((a, r) => a + r[d]!, 0) / 5);
    const spread = rows.reduce((a, r) => a + r.reduce((s, v, d) => s + (v - mean[d]!) ** 2, 0), 0) / 5;
    expect(loss).toBeCloseTo((0.5 * ((0 + 4 + 0) + (4 + 4 + 4))) / 2 / spread, 6);
    const h = 1e-3;
    for (let i = 0; i < mu.length; i++) {
      const plus = Float64Array.from(mu), minus = Float64Array.from(mu);
      plus[i]! += h;
      minus[i]! -= h;
      const numeric = (twinLossAndGrad(Float32Array.from(plus), D, 2, 0.5).loss - twinLossAndGrad(Float32Array.from(minus), D, 2, 0.5).loss) / (2 * h);
      expect(grad[i]!, `value ${i}`).toBeCloseTo(numeric, 3);
    }
    // the row that is no pair's is pushed away from the mean (the spread grows), not left alone
    expect(Math.hypot(...grad.subarray(12))).toBeGreaterThan(0);
    const stepped = mu.map((v, i) => v - 0.1 * grad[i]!);
    expect(twinLossAndGrad(stepped, D, 2, 0.5).loss).toBeLessThan(loss);
    expect(twinLossAndGrad(mu.map((v) => 0.25 * v), D, 2, 0.5).loss).toBeCloseTo(loss, 5);
    expect(twinLossAndGrad(mu, D, 0, 0.5).loss).toBe(0);
  });
});

describe('the twin term and --encoder-only in a training run', () => {
  let root: string;
  let data: Dataset;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'nca-twins-'));
    // 2 instruments x 1 note x 2 velocities: two groups of twins
    const plan = defaultPlan({ instruments: ['piano', 'flute'], notes: [64], velocities: [0.4, 0.95], seed: 2 });
    await buildDataset({ outDir: join(root, 'data'), plan, heldOut: 0, seed: 1 });
    data = await openDataset(join(root, 'data'));
  }, 60_000);

  const tiny = { batch: 4, steps: 4, seed: 5, threads: 1, checkpointEvery: 100, anchorWeight: 0.05 } as const;

  it('settings: encoder-only needs the persistence term off and no encoderFrom; twins need onnx and a batch of 4', () => {
    expect(() => resolveSettings({ iters: 1, encoderOnly: true }, 25)).toThrow(/give persistWeight 0, not 0.05/);
    expect(() => resolveSettings({ iters: 1, encoderOnly: true, persistWeight: 0, encoderFrom: 'm' }, 25)).toThrow(/give one of them/);
    expect(() => resolveSettings({ iters: 1, twinWeight: 0.1, backend: 'wasm' }, 25)).toThrow(/onnx backend only/);
    expect(() => resolveSettings({ iters: 1, twinWeight: 0.1, batch: 2 }, 25)).toThrow(/batch of at least 4/);
    expect(() => resolveSettings({ iters: 1, twinWeight: -1 }, 25)).toThrow(/twinWeight must be a number in 0..100/);
    expect(() => resolveSettings({ iters: 1, twinSources: 'piano' as 'all' }, 25)).toThrow(/twinSources must be one of all, synth, got piano/);
    const only = resolveSettings({ iters: 1, encoderOnly: true, persistWeight: 0 }, 25);
    expect(trainsWeight(only, 'encoder.conv1.weight')).toBe(true);
    expect(trainsWeight(only, 'hyper.fc3.weight')).toBe(false);
    expect(trainsWeight(only, 'decoder.fc.weight')).toBe(false);
    expect(trainsWeight(resolveSettings({ iters: 1 }, 25), 'hyper.fc3.weight')).toBe(true);
  });

  it('encoder-only holds the hypernetwork and decoder byte for byte; the twin term brings the twins\' latents together', async () => {
    const start = join(root, 'start');
    await train({ ...tiny, data, iters: 20, lr: 3e-3, persistWeight: 0, outDir: start });
    const twins = join(root, 'twins'), plain = join(root, 'plain');
    const common = { ...tiny, data, iters: 30, lr: 3e-3, persistWeight: 0, initFrom: start, encoderOnly: true };
    await train({ ...common, twinWeight: 1, outDir: twins });
    await train({ ...common, outDir: plain });
    const before = (await loadWeights(start)).tensors;
    for (const dir of [twins, plain]) {
      const after = (await loadWeights(dir)).tensors;
      let held = 0;
      for (const [name, t] of after) {
        if (name.startsWith('encoder.')) continue;
        held++;
        expect(t.data, `${dir} ${name}`).toEqual(before.get(name)!.data);
      }
      expect(held).toBeGreaterThan(10);
      expect(after.get('encoder.conv1.weight')!.data).not.toEqual(before.get('encoder.conv1.weight')!.data);
      expect((await loadWeights(dir)).config.training).toMatchObject({ encoderOnly: true, persistWeight: 0 });
    }
    // the twin term is logged (weighted) only when it is on
    expect((await readLog(join(twins, 'train-log.jsonl')))[0]!.twin).toBeGreaterThan(0);
    expect((await readLog(join(plain, 'train-log.jsonl')))[0]!.twin).toBeUndefined();
    // the twins' mu (inference mode: the running statistics), relative to the two notes' distance, are closer after the twin term than without it
    const groups = twinGroups(data.manifest.clips, [0, 1, 2, 3]);
    expect(groups).toHaveLength(2);
    const distance = async (dir: string) => {
      const batch = makeBatch(data, groups.flat(), { contextFrames: 4, steps: 1 });
      const encoder = await createOnnxEncoder(encoderWeights((await loadWeights(dir)).tensors), DEFAULT_CONFIG, { threads: 1 });
      const { mu } = await encoder.encode(batch.context, groups.flat().length);
      await encoder.dispose();
      // rows 0, 1 are one note's twins, rows 2, 3 the other's: the twins' squared distance over the notes'
      const row = (r: number) => mu.subarray(r * DEFAULT_CONFIG.latentDim, (r + 1) * DEFAULT_CONFIG.latentDim);
      const d2 = (a: number, b: number) => row(a).reduce((s, v, k) => s + (v - row(b)[k]!) ** 2, 0);
      return (d2(0, 1) + d2(2, 3)) / (d2(0, 2) + d2(1, 3));
    };
    const [dStart, dTwins, dPlain] = [await distance(start), await distance(twins), await distance(plain)];
    expect(dTwins).toBeLessThan(0.5 * dStart);
    expect(dTwins).toBeLessThan(0.5 * dPlain);
  }, 120_000);

  it('--bn-momentum 0 keeps the starting encoder\'s running statistics byte for byte while its weights move; the default moves them', async () => {
    const start = join(root, 'start');
    const common = { ...tiny, data, iters: 5, lr: 3e-3, persistWeight: 0, initFrom: start, encoderOnly: true, twinWeight: 1 };
    const kept = join(root, 'bn-kept'), moved = join(root, 'bn-moved');
    await train({ ...common, bnMomentum: 0, outDir: kept });
    await train({ ...common, outDir: moved });
    const before = (await loadWeights(start)).tensors;
    const [k, m] = [(await loadWeights(kept)).tensors, (await loadWeights(moved)).tensors];
    const stats = [...before.keys()].filter((n) => /^encoder\.bn\d\.running_/.test(n));
    expect(stats).toHaveLength(6);
    for (const n of stats) {
      expect(k.get(n)!.data, n).toEqual(before.get(n)!.data);
      expect(m.get(n)!.data, n).not.toEqual(before.get(n)!.data);
    }
    // the weights take the same steps either way: the running statistics are not used in training
    for (const [n, t] of k) if (!stats.includes(n)) expect(t.data, n).toEqual(m.get(n)!.data);
    expect(k.get('encoder.conv1.weight')!.data).not.toEqual(before.get('encoder.conv1.weight')!.data);
    expect((await loadWeights(kept)).config.training).toMatchObject({ bnMomentum: 0 });
  }, 120_000);

  it('the CLI takes --encoder-only (persistence off unless asked) --twin-weight, --twin-sources and --bn-momentum; mistakes are one line, exit 2, nothing written', async () => {
    const dataDir = join(root, 'data');
    const ok = await ncaInProcess(['train', '--data', dataDir, '--out', join(root, 'cli-ok'), '--iters', '1', '--batch', '4', '--steps', '4', '--encoder-only', '--twin-weight', '0.1', '--twin-sources', 'synth', '--bn-momentum', '0', '--no-notes', '--threads', '1', '--json']);
    expect(ok.status).toBe(0);
    expect((await loadWeights(join(root, 'cli-ok'))).config.training).toMatchObject({ encoderOnly: true, twinWeight: 0.1, twinSources: 'synth', persistWeight: 0, bnMomentum: 0 });
    for (const [args, pattern] of [
      [['--encoder-only', '--persist', '0.05'], /^nca: --encoder-only holds the hypernetwork.*--persist 0\n$/],
      [['--twin-weight', '0.1', '--batch', '2'], /^nca: twinWeight needs a batch of at least 4/],
      [['--twin-weight', 'x'], /^nca: .*--twin-weight/],
      [['--twin-weight', '0.1', '--twin-sources', 'gm'], /^nca: expected one of all, synth for --twin-sources/],
      [['--bn-momentum', '2'], /^nca: .*--bn-momentum/],
    ] as const) {
      const out = join(root, `cli-bad-${args.join('')}`);
      await expectRefusal(['train', '--data', dataDir, '--out', out, '--iters', '1', '--steps', '4', '--no-notes', '--threads', '1', ...args], pattern, out);
    }
  }, 60_000);

  it('a dataset without twins is refused in one line when the twin term is on', async () => {
    const dir = join(root, 'lonely');
    await buildDataset({ outDir: dir, plan: defaultPlan({ instruments: ['piano', 'flute'], notes: [60, 67], velocities: [0.8], seed: 1 }), heldOut: 0, seed: 1 });
    await expect(train({ ...tiny, data: await openDataset(dir), iters: 1, persistWeight: 0, twinWeight: 1, outDir: join(root, 'lonely-run') })).rejects.toThrow(/notes played more than once/);
    expect(existsSync(join(root, 'lonely-run'))).toBe(false);
  }, 60_000);
});
