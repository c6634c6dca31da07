import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BAND_CELLS, createEngine, defaultStepsPerRun } from '../src/core/nca/engine.js';
import { FRAME_PROTOCOL, type StepProtocol } from '../src/core/nca/graph.js';
import { CHANNELS, randomParams } from '../src/core/nca/params.js';
import { Rng } from '../src/core/rng.js';

/** Runs `steps` steps with the given engine options; returns the final state and every visible frame. */
async function runWith(protocol: StepProtocol, W: number, H: number, steps: number, extra: { bandCells?: number; stepsPerRun?: number; dynamicWeights?: boolean }, swapAt?: number) {
  const rng = new Rng(7);
  const p1 = randomParams(rng, 0.15);
  const p2 = randomParams(rng, 0.15);
  const state = new Rng(8).normalArray(new Float32Array(CHANNELS * W * H), 0, 0.5);
  const engine = await createEngine(p1, { width: W, height: H, protocol, threads: 1, rng: new Rng(9), ...extra });
  const frames: Float32Array[] = [];
  let x = await engine.run(state, swapAt ?? steps, (_k, v) => frames.push(v.slice()));
  if (swapAt !== undefined) {
    await engine.setParams(p2);
    x = await engine.run(x, steps - swapAt, (_k, v) => frames.push(v.slice()));
  }
  const bands = engine.bands;
  await engine.dispose();
  return { x, frames, bands };
}

const maxDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('large grids run in bands of rows with the same results', () => {
  // 37 x 29 cells in bands of ~200 cells: 6 bands of 4-5 rows, each with 2 rows of halo from the torus.
  const W = 37, H = 29;
  for (const [name, protocol] of [['frame', FRAME_PROTOCOL], ['free', { kind: 'free' } as StepProtocol]] as const) {
    for (const dynamicWeights of [false, true]) {
      it(`${name} protocol, ${dynamicWeights ? 'fed' : 'baked'} weights, new weights after 3 of 7 steps`, async () => {
        const whole = await runWith(protocol, W, H, 7, { stepsPerRun: 4, dynamicWeights }, 3);
        const banded = await runWith(protocol, W, H, 7, { bandCells: 200, dynamicWeights }, 3);
        expect(whole.bands).toBe(1);
        expect(banded.bands).toBe(6);
        expect(banded.frames.length).toBe(7);
        // the same noise draws and the same arithmetic per cell: equal to float32 rounding of the conv order
        for (let k = 0; k < 7; k++) expect(maxDiff(banded.frames[k]!, whole.frames[k]!)).toBeLessThan(1e-5);
        expect(maxDiff(banded.x, whole.x)).toBeLessThan(1e-4);
      });
    }
  }

  it('1920 x 1080 runs in bands and fewer unrolled steps are the default above 512 x 512', async () => {
    expect(defaultStepsPerRun(256 * 256)).toBe(8);
    expect(defaultStepsPerRun(1280 * 720)).toBe(2);
    expect(defaultStepsPerRun(1920 * 1080)).toBe(1);
    const engine = await createEngine(randomParams(new Rng(1)), { width: 1920, height: 1080, protocol: FRAME_PROTOCOL, threads: 1, rng: new Rng(2) });
    expect(engine.bands).toBe(Math.ceil((1920 * 1080) / BAND_CELLS));
    await engine.dispose();
  });

  it('one frame-protocol step at 1920 x 1080 cells stays under 1 GB resident (a child process, not timed)', () => {
    const script = `
      import { createEngine } from './dist/core/nca/engine.js';
      import { FRAME_PROTOCOL } from './dist/core/nca/graph.js';
      import { randomParams } from './dist/core/nca/params.js';
      import { Rng } from './dist/core/rng.js';
      const W = 1920, H = 1080;
      const e = await createEngine(randomParams(new Rng(1)), { width: W, height: H, protocol: FRAME_PROTOCOL, rng: new Rng(2), threads: 2 });
      const x = new Float32Array(16 * W * H).fill(0.5);
      await e.run(x, 1);
      // the child's own peak since exec (getrusage's maxRSS would also count this test process's RSS at the fork)
      const { readFileSync } = await import('node:fs');
      const kb = Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
      console.log(JSON.stringify({ peakKb: kb }));`;
    // dist/ is built by the global setup
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: process.cwd() });
    expect(r.status, r.stderr).toBe(0);
    const { peakKb } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { peakKb: number };
    expect(peakKb).toBeGreaterThan(100 * 1024); // the grid alone is 133 MB: a figure, not a failed read
    expect(peakKb * 1024).toBeLessThan(1024 ** 3);
  }, 120_000);
});
