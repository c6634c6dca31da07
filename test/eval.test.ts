import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDataset, defaultPlan, openDataset, type Dataset } from '../src/core/audio/dataset.js';
import { evaluate } from '../src/core/model/eval.js';
import { createRandomModel, type NeuroModel } from '../src/core/model/networks.js';
import { Rng } from '../src/core/rng.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });

let dir: string;
let data: Dataset;
let model: NeuroModel;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-eval-'));
  const plan = defaultPlan({ instruments: ['guitar', 'organ'], notes: [62, 70], velocities: [0.8], seed: 2 });
  await buildDataset({ outDir: join(dir, 'data'), plan, heldOut: 0.5, seed: 2 });
  data = await openDataset(join(dir, 'data'));
  model = await createRandomModel(new Rng(8));
  await model.save(join(dir, 'model'));
});

/** The copy-last-frame baseline computed directly from the clips. */
function copyLastError(indices: number[]): { next: number; rollout8: number } {
  const frame = 3 * 32 * 32;
  const mse = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length;
  let next = 0, rollout8 = 0;
  for (const i of indices) {
    const clip = data.clip(i);
    const f = (t: number) => clip.subarray(t * frame, (t + 1) * frame);
    for (let t = 4; t <= 24; t++) next += mse(f(t - 1), f(t)) / 21;
    for (let t = 4; t < 12; t++) rollout8 += mse(f(3), f(t)) / 8;
  }
  return { next: next / indices.length, rollout8: rollout8 / indices.length };
}

describe('evaluate', () => {
  it('compares the model with copy-last-frame on held-out clips and classifies renders of three groups', async () => {
    const opts = { model, data, n: 2, steps: 30, sizes: [16, 12], seed: 1, threads: 1 };
    const r = await evaluate(opts);
    expect(r.heldOutClips).toBe(2);
    const base = copyLastError(data.indices('test'));
    expect(r.nextFrame.copyLast).toBeCloseTo(base.next, 6);
    expect(r.rollout8.copyLast).toBeCloseTo(base.rollout8, 6);
    expect(r.nextFrame.ratio).toBeCloseTo(r.nextFrame.model / r.nextFrame.copyLast, 10);
    expect(r.nextFrame.model).toBeGreaterThan(0);
    // an untrained model does not beat copying the last frame
    expect(r.nextFrame.ratio).toBeGreaterThan(1);
    expect(r.alive.map((a) => a.size)).toEqual([16, 12]);
    for (const a of r.alive) {
      for (const g of [a.randomLatents, a.encodedLatents, a.randomWeights]) {
        expect(g.n).toBe(2);
        expect(g.dead + g.static + g.noise + g.alive).toBe(2);
      }
    }
    // deterministic for a seed
    expect(await evaluate(opts)).toMatchObject({ nextFrame: r.nextFrame, rollout8: r.rollout8, alive: r.alive });
  });

  it('nca eval --json writes eval.json into the model folder', () => {
    const res = run(['eval', '--model', join(dir, 'model'), '--data', join(dir, 'data'), '--n', '1', '--steps', '20', '--size', '16', '--threads', '1', '--no-meaning', '--no-music', '--no-variety', '--json']);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const printed = JSON.parse(res.stdout);
    expect(JSON.parse(readFileSync(join(dir, 'model', 'eval.json'), 'utf8'))).toEqual(printed);
    expect(printed.alive).toHaveLength(1);
    expect(printed.alive[0].randomWeights.n).toBe(1);
    expect(printed.alive[0].steps).toBe(20);
  });
});
