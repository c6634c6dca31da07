import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDataset, defaultPlan, openDataset, type Dataset } from '../src/core/audio/dataset.js';
import { createOnnxEncoder, encoderWeights } from '../src/core/model/encoder-onnx.js';
import { DEFAULT_CONFIG } from '../src/core/model/networks.js';
import { makeBatch } from '../src/core/model/dataset-batches.js';
import { readLog, train } from '../src/core/model/train.js';
import { heldRows, holdLossAndGrad } from '../src/core/model/training/hold.js';
import { HELD_SONG_SEED, drawHeldWindows, heldSongWindows, type HeldSongWindows } from '../src/core/model/training/held-songs.js';
import { renderSong } from '../src/core/audio/song.js';
import { Soundfont } from '../src/core/audio/soundfont.js';
import { contextFrames } from '../src/core/model/encode.js';
import { Rng } from '../src/core/rng.js';
import { resolveSettings } from '../src/core/model/training/settings.js';
import { twinGroups } from '../src/core/model/training/twins.js';
import { loadWeights } from '../src/core/model/weights.js';
import { expectRefusal, ncaInProcess } from './nca-in-process.js';

describe('the hold term: the clips that are not twins keep their latents', () => {
  it('is the held rows\' mean squared distance to the reference over the reference\'s spread; its gradient matches finite differences and is 0 on the free rows', () => {
    const D = 2;
    const reference = Float32Array.from([0, 0, 2, 0, 0, 2, 2, 2]); // 4 rows, spread: mean (1, 1), each row 2 away squared
    const mu = Float32Array.from([5, 5, 2, 1, 1, 2, 2, 3]);
    const held = Uint8Array.from([0, 1, 1, 0]); // rows 1 and 2 held: squared distances 1, 1
    const { loss, grad } = holdLossAndGrad(mu, reference, D, held, 0.5);
    expect(loss).toBeCloseTo((0.5 * (1 + 1)) / 2 / 2, 6);
    expect(Array.from(grad.subarray(0, D))).toEqual([0, 0]); // row 0 (a twin) is free
    expect(Array.from(grad.subarray(3 * D))).toEqual([0, 0]); // row 3 (in a twin group) is free
    const h = 1e-3;
    for (let i = 0; i < mu.length; i++) {
      const up = Float32Array.from(mu), down = Float32Array.from(mu);
      up[i]! += h;
      down[i]! -= h;
      const fd = (holdLossAndGrad(up, reference, D, held, 0.5).loss - holdLossAndGrad(down, reference, D, held, 0.5).loss) / (2 * h);
      expect(grad[i]!).toBeCloseTo(fd, 3);
    }
    expect(holdLossAndGrad(reference, reference, D, Uint8Array.from([1, 1, 1, 1]), 3).loss).toBe(0);
    expect(holdLossAndGrad(mu, reference, D, new Uint8Array(4), 3).loss).toBe(0); // no row held
    expect(() => holdLossAndGrad(mu, reference.subarray(2), D, held, 1)).toThrow(/holdLossAndGrad/);
    expect(() => holdLossAndGrad(mu, reference, D, held.subarray(1), 1)).toThrow(/3 rows marked/);
  });

  it('holds the rows after the pairs whose clips are in no twin group', () => {
    // batch: pair (clips 4, 5), then clips 7 (a twin's sibling drawn alone), 2 and 9 (lone notes, chords, phrases)
    expect(Array.from(heldRows([4, 5, 7, 2, 9], 2, new Set([4, 5, 7, 8])))).toEqual([0, 0, 0, 1, 1]);
    expect(Array.from(heldRows([1, 2, 3], 0, new Set()))).toEqual([1, 1, 1]); // the twin term off: every row
  });

  it('settings: the onnx backend, an initFrom model and an encoder that trains', () => {
    expect(() => resolveSettings({ iters: 1, holdWeight: 1, initFrom: 'm', backend: 'wasm' }, 25)).toThrow(/onnx backend only/);
    expect(() => resolveSettings({ iters: 1, holdWeight: 1 }, 25)).toThrow(/give initFrom/);
    expect(() => resolveSettings({ iters: 1, holdWeight: 1, initFrom: 'm', encoderFrom: 'e' }, 25)).toThrow(/give one of them/);
    expect(() => resolveSettings({ iters: 1, holdWeight: -1, initFrom: 'm' }, 25)).toThrow(/holdWeight must be a number in 0..100/);
    expect(resolveSettings({ iters: 1, holdWeight: 1, initFrom: 'm' }, 25).holdWeight).toBe(1);
    expect(() => resolveSettings({ iters: 1, holdSongs: 2 }, 25)).toThrow(/holdSongs holds the latents where the initFrom model's encoder puts them: give initFrom/);
    expect(() => resolveSettings({ iters: 1, holdSongs: 2, initFrom: 'm', backend: 'wasm' }, 25)).toThrow(/holdSongs runs on the onnx backend only/);
    expect(() => resolveSettings({ iters: 1, initFrom: 'm', holdSongs: 65 }, 25)).toThrow(/holdSongs must be an integer in 0..64/);
    expect(() => resolveSettings({ iters: 1, initFrom: 'm', holdSongs: 1, holdSongsWeight: -1 }, 25)).toThrow(/holdSongsWeight must be a number in 0..100/);
    expect(resolveSettings({ iters: 1, initFrom: 'm', holdSongs: 3 }, 25)).toMatchObject({ holdSongs: 3, holdSongsWeight: 1, holdWeight: 0 });
  });

  it('the held songs: every second\'s 2-s window of songs composed by code as encoder contexts, the same each time; a draw copies whole windows', async () => {
    const soundfont = await Soundfont.load();
    const held = await heldSongWindows(1, { contextFrames: 4, soundfont });
    // 30 s: windows starting at 0, 1, ..., 28 s
    expect(held.count).toBe(29);
    expect(held.size).toBe(12 * 32 * 32);
    const { samples } = await renderSong(soundfont, { style: 'rock', seconds: 30, seed: HELD_SONG_SEED }, 22050);
    expect(held.contexts.subarray(5 * held.size, 6 * held.size)).toEqual(contextFrames(samples.subarray(5 * 22050, 7 * 22050), 22050, 4));
    expect((await heldSongWindows(1, { contextFrames: 4, soundfont })).contexts).toEqual(held.contexts);
    const drawn = drawHeldWindows(new Rng(1), held, 3, new Float32Array(3 * held.size));
    for (let r = 0; r < 3; r++) {
      const row = drawn.subarray(r * held.size, (r + 1) * held.size);
      expect([...Array(held.count).keys()].some((w) => held.contexts.subarray(w * held.size, (w + 1) * held.size).every((v, i) => v === row[i]))).toBe(true);
    }
    expect(() => drawHeldWindows(new Rng(1), held, 3, new Float32Array(5))).toThrow(/drawHeldWindows/);
  }, 60_000);

  const tiny = { batch: 4, steps: 4, seed: 5, threads: 1, checkpointEvery: 100, anchorWeight: 0.05 } as const;
  let root: string, data: Dataset;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'nca-hold-'));
    const dir = join(root, 'data');
    // 2 instruments x 1 note x 2 velocities (twins), and 2 notes played once, which the hold term holds
    const twins = defaultPlan({ instruments: ['piano', 'flute'], notes: [64], velocities: [0.4, 0.95], seed: 2 });
    const lone = defaultPlan({ instruments: ['guitar', 'organ'], notes: [67], velocities: [0.7], seed: 3 });
    await buildDataset({ outDir: dir, plan: [...twins, ...lone], heldOut: 0, seed: 1 });
    data = await openDataset(dir);
  }, 120_000);

  it('with the twin term, the clips in no twin group move less from where the starting encoder put them', async () => {
    const start = join(root, 'start');
    await train({ ...tiny, data, iters: 20, lr: 3e-3, persistWeight: 0, outDir: start });
    const common = { ...tiny, data, iters: 30, lr: 3e-3, persistWeight: 0, initFrom: start, encoderOnly: true, twinWeight: 1 };
    const held = join(root, 'held'), free = join(root, 'free');
    await train({ ...common, holdWeight: 10, outDir: held });
    await train({ ...common, outDir: free });
    // a batch's two free slots draw a lone note in most iterations (4 of the 6 clips are twins)
    expect((await readLog(join(held, 'train-log.jsonl'))).filter((e) => e.hold! > 0).length).toBeGreaterThan(10);
    expect((await readLog(join(free, 'train-log.jsonl')))[0]!.hold).toBeUndefined();
    // every clip's mu (inference mode): how far it moved from the start, relative to the start's spread
    const all = data.indices('train');
    const mus = async (dir: string) => {
      const batch = makeBatch(data, all, { contextFrames: 4, steps: 1 });
      const encoder = await createOnnxEncoder(encoderWeights((await loadWeights(dir)).tensors), DEFAULT_CONFIG, { threads: 1 });
      const { mu } = await encoder.encode(batch.context, all.length);
      await encoder.dispose();
      return mu;
    };
    const [m0, mHeld, mFree] = [await mus(start), await mus(held), await mus(free)];
    const inGroups = new Set(twinGroups(data.manifest.clips, all).flat());
    const loneRows = all.map((clip, row) => (inGroups.has(clip) ? -1 : row)).filter((row) => row >= 0);
    expect(inGroups.size).toBe(4);
    expect(loneRows).toHaveLength(2);
    const D = DEFAULT_CONFIG.latentDim;
    const moved = (m: Float32Array) => loneRows.reduce((s, row) => s + m.subarray(row * D, (row + 1) * D).reduce((t, v, d) => t + (v - m0[row * D + d]!) ** 2, 0), 0);
    expect(moved(mHeld)).toBeLessThan(0.5 * moved(mFree));
  }, 180_000);

  it('with --hold-songs the held songs\' windows move less from where the starting encoder put them', async () => {
    const start = join(root, 'start'), held = join(root, 'held'), songs = join(root, 'songs');
    await train({ ...tiny, data, iters: 30, lr: 3e-3, persistWeight: 0, initFrom: start, encoderOnly: true, twinWeight: 1, holdWeight: 10, holdSongs: 1, holdSongsWeight: 10, outDir: songs });
    const log = await readLog(join(songs, 'train-log.jsonl'));
    expect(log.every((e) => e.holdSongs! >= 0)).toBe(true);
    expect(log.filter((e) => e.holdSongs! > 0).length).toBeGreaterThan(25);
    expect((await readLog(join(held, 'train-log.jsonl')))[0]!.holdSongs).toBeUndefined();
    expect((await loadWeights(songs)).config.training).toMatchObject({ holdWeight: 10, holdSongs: 1, holdSongsWeight: 10 });
    // the song's windows' mu (inference mode), as the run drew them
    const windows: HeldSongWindows = await heldSongWindows(1, { contextFrames: 4, pictures: data.manifest.recipe?.pictures });
    const mus = async (dir: string) => {
      const encoder = await createOnnxEncoder(encoderWeights((await loadWeights(dir)).tensors), DEFAULT_CONFIG, { threads: 1 });
      const { mu } = await encoder.encode(windows.contexts, windows.count);
      await encoder.dispose();
      return mu;
    };
    const [m0, mHeld, mSongs] = [await mus(start), await mus(held), await mus(songs)];
    const moved = (m: Float32Array) => m.reduce((s, v, i) => s + (v - m0[i]!) ** 2, 0);
    expect(moved(mSongs)).toBeLessThan(0.5 * moved(mHeld));
  }, 180_000);

  it('the CLI takes --hold-weight and --hold-songs; mistakes are one line, exit 2, nothing written', async () => {
    const dataDir = join(root, 'data');
    const start = join(root, 'start');
    const ok = await ncaInProcess(['train', '--data', dataDir, '--out', join(root, 'cli-ok'), '--init-from', start, '--iters', '1', '--batch', '4', '--steps', '4', '--encoder-only', '--twin-weight', '0.1', '--hold-weight', '2', '--hold-songs', '1', '--hold-songs-weight', '3', '--no-notes', '--threads', '1', '--json']);
    expect(ok.status, ok.stderr).toBe(0);
    expect((await loadWeights(join(root, 'cli-ok'))).config.training).toMatchObject({ encoderOnly: true, twinWeight: 0.1, holdWeight: 2, holdSongs: 1, holdSongsWeight: 3 });
    for (const [args, pattern] of [
      [['--hold-weight', '1'], /^nca: holdWeight holds the latents where the initFrom model's encoder puts them: give initFrom/],
      [['--hold-weight', 'x'], /^nca: .*--hold-weight/],
      [['--hold-songs', '2'], /^nca: holdSongs holds the latents where the initFrom model's encoder puts them: give initFrom \(--init-from MODEL\)\n$/],
      [['--hold-songs', '65'], /^nca: .*--hold-songs/],
      [['--init-from', start, '--hold-songs', '1', '--hold-songs-weight', 'x'], /^nca: .*--hold-songs-weight/],
    ] as const) {
      const out = join(root, `cli-bad-${args.join('')}`);
      await expectRefusal(['train', '--data', dataDir, '--out', out, '--iters', '1', '--steps', '4', '--no-notes', '--threads', '1', ...args], pattern, out);
    }
  }, 60_000);
});
