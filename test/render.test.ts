import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ncaInProcess } from './nca-in-process.js';
import { latentToJson, randomLatent } from '../src/core/latent.js';
import { MotionTracker } from '../src/core/metrics.js';
import { createRandomModel, type NeuroModel } from '../src/core/model/networks.js';
import { paramsToJson, randomParams } from '../src/core/nca/params.js';
import { render } from '../src/core/render.js';
import { Rng } from '../src/core/rng.js';
import { encodePng } from '../src/core/io/png.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const nca = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
let dir: string;
let model: NeuroModel;
let modelDir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-render-'));
  // Trained weights come with a later issue: a randomly initialised model stands in.
  model = await createRandomModel(new Rng(1));
  modelDir = join(dir, 'model');
  await model.save(modelDir);
});

describe('rendering latents through the hypernetwork', () => {
  it('nca render --latent uses the model; --perturb changes the run; the same seed repeats it exactly', async () => {
    const z = join(dir, 'z.json');
    writeFileSync(z, latentToJson({ z: randomLatent(new Rng(4)), provenance: {} }));
    const base = ['render', '--latent', z, '--model', modelDir, '--steps', '24', '--size', '24', '--json'];
    const a = nca([...base, '--out', join(dir, 'a.gif')]);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    // the real bin once; the two perturbed runs in process (src/cli.ts main, test/nca-in-process.ts)
    const b = await ncaInProcess([...base, '--perturb', '9', '--out', join(dir, 'b.gif')]);
    const c = await ncaInProcess([...base, '--perturb', '9', '--out', join(dir, 'c.gif')]);
    expect(b.status).toBe(0);
    const bytes = (f: string) => readFileSync(join(dir, f));
    expect(bytes('b.gif').equals(bytes('c.gif'))).toBe(true);
    expect(bytes('a.gif').equals(bytes('b.gif'))).toBe(false);
    expect(JSON.parse(a.stdout).source).toBe(z);
  });

  it('a track changes the weights over time: its render differs from a render of its first latent', async () => {
    const rng = new Rng(5);
    const z0 = randomLatent(rng), z1 = randomLatent(rng);
    const opts = { width: 16, height: 16, steps: 40, seed: 3, fps: 10, out: join(dir, 't.png') };
    const still = await render({ kind: 'latent', latent: { z: z0, provenance: {} }, model }, opts);
    const moving = await render({ kind: 'latent', latent: { track: [{ t: 0, z: z0 }, { t: 1, z: z1 }], provenance: {} }, model }, opts);
    // Identical up to the first weight change at step 8, different after.
    expect(moving.motion.change.slice(0, 8)).toEqual(still.motion.change.slice(0, 8));
    expect(moving.motion.change.slice(10)).not.toEqual(still.motion.change.slice(10));
  });

  it('--init image puts the picture in the RGB channels (zero steps of change visible in the first frame)', async () => {
    const img = { width: 2, height: 2, data: new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]) };
    const png = join(dir, 'init.png');
    writeFileSync(png, encodePng(img));
    const seq = join(dir, 'seq');
    const r = nca(['render', '--params', writeParams(), '--init', `image:${png}`, '--size', '4', '--steps', '1', '--out', seq]);
    expect(r.status).toBe(0);
    const { readPng } = await import('../src/core/io/png.js');
    const first = await readPng(join(seq, 'frame-000000.png'));
    // Nearest resize 2x2 -> 4x4: top-left quadrant red, top-right green.
    expect(Array.from(first.data.subarray(0, 4))).toEqual([255, 0, 0, 255]);
    expect(Array.from(first.data.subarray(3 * 4, 3 * 4 + 4))).toEqual([0, 255, 0, 255]);
  });

  it('the free protocol keeps hidden state: a different run from the frame protocol', async () => {
    const params = randomParams(new Rng(8));
    const a = await render({ kind: 'params', params }, { width: 16, height: 16, steps: 20, out: join(dir, 'f.png'), protocol: 'frame' });
    const b = await render({ kind: 'params', params }, { width: 16, height: 16, steps: 20, out: join(dir, 'g.png'), protocol: 'free' });
    expect(a.protocol).toBe('frame');
    expect(b.protocol).toBe('free');
    expect(a.motion.change).not.toEqual(b.motion.change);
  });
});

function writeParams(): string {
  const p = join(dir, 'p.json');
  writeFileSync(p, paramsToJson(randomParams(new Rng(2))));
  return p;
}

describe('the alive measure', () => {
  const W = 32, H = 32, plane = W * H;
  const classify = (frameAt: (t: number) => Float32Array, steps = 200) => {
    const m = new MotionTracker(W, H, steps);
    for (let t = 0; t <= steps; t++) m.push(frameAt(t));
    return m.finish();
  };
  it('flat -> dead, frozen pattern -> static, white noise -> noise, travelling waves -> alive and coherent', () => {
    expect(classify(() => new Float32Array(3 * plane).fill(0.5)).alive).toBe('dead');
    const pattern = Float32Array.from({ length: 3 * plane }, (_, i) => 0.5 + 0.4 * Math.sin((i % W) / 3));
    expect(classify(() => pattern).alive).toBe('static');
    const rng = new Rng(1);
    expect(classify(() => rng.fillUniform(new Float32Array(3 * plane))).alive).toBe('noise');
    const wave = (t: number) => Float32Array.from({ length: 3 * plane }, (_, i) => 0.5 + 0.4 * Math.sin(((i % W) + t * 0.7) / 3) * Math.cos((Math.floor(i / W) % H) / 4 + t * 0.013));
    const r = classify(wave);
    expect(r.alive).toBe('alive');
    expect(r.coherent).toBe(true);
  });

  it('stripes travelling steadily are coherent although every 50-frame mean image is the same; stripes flickering in place are not', () => {
    // wavelength 8 cells moving 0.32 cells a frame: 2 periods per 50 frames, so both windows' means are flat
    const stripes = (shift: (t: number) => number, amplitude: (t: number) => number) => (t: number) =>
      Float32Array.from({ length: 3 * plane }, (_, i) => 0.5 + amplitude(t) * Math.sin((2 * Math.PI * ((i % W) + shift(t))) / 8));
    const travelling = classify(stripes((t) => 0.32 * t, () => 0.4));
    expect(travelling.alive).toBe('alive');
    expect(travelling.drift).toBeLessThan(0.01); // what the drift test alone read as "no longer moves"
    expect(travelling.persistence).toBeLessThan(0.05);
    expect(travelling.coherent).toBe(true);
    // the same stripes held in place, their contrast flickering 0.3 <-> 0.4 every frame: alive, not coherent
    const flickering = classify(stripes(() => 0, (t) => (t % 2 ? 0.3 : 0.4)));
    expect(flickering.alive).toBe('alive');
    expect(flickering.drift).toBeLessThan(0.01);
    expect(flickering.persistence).toBeGreaterThan(0.9);
    expect(flickering.coherent).toBe(false);
  });
});
