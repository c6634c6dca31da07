import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FRAME_PROTOCOL, MotionTracker, PARAM_COUNT, Rng, UserError, buildNcaGraph, createEngine, latentVector, lerp, meanLatent, ncaParams,
  neighbourCorrelation, paramsToJson, perturbLatent, randomLatent, randomParams, referenceStep, render, slerp, spatialStd, trackAt,
  type LatentModel, type RenderOptions, type RenderSource,
} from '../src/index.js';
import { renderSheet, type SheetOptions } from '../src/core/sheet.js';

/**
 * The library boundary (issue 11): the public API refuses what the CLI refuses, before doing any
 * work, with a UserError naming the option as the API spells it (sharp style).
 */
const params = randomParams(new Rng(1));
const model: LatentModel = {
  hypernetwork: (_z, batch) => new Float32Array(batch * PARAM_COUNT),
  decodeFirstFrame: (_z, batch) => new Float32Array(batch * 16 * 32 * 32),
};
const z = randomLatent(new Rng(2));

async function refuses(call: () => unknown, message: RegExp): Promise<void> {
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  expect(error, String(message)).toBeInstanceOf(UserError);
  expect((error as Error).message).toMatch(message);
}

describe('render() checks every option with its API name', () => {
  it('refuses bad options before writing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-lib-'));
    const source: RenderSource = { kind: 'params', params };
    const base: RenderOptions = { width: 8, height: 8, steps: 4, out: join(dir, 'a.gif') };
    const bad: Array<[Partial<RenderOptions> | Record<string, unknown>, RegExp]> = [
      [{ every: 0 }, /for every but received 0/],
      [{ every: 1.5 }, /for every but received 1\.5/],
      [{ width: 0 }, /for width but received 0/],
      [{ height: -8 }, /for height but received -8/],
      [{ width: 8.5 }, /for width but received 8\.5/],
      [{ steps: 0 }, /for steps but received 0/],
      [{ steps: Infinity }, /for steps but received Infinity/],
      [{ scale: 0 }, /for scale but received 0/],
      [{ fps: 0 }, /for fps but received 0/],
      [{ fps: NaN }, /for fps but received NaN/],
      [{ perturb: 10 }, /for perturb but received 10/],
      [{ seed: -1 }, /for seed but received -1/],
      [{ threads: 0 }, /for threads but received 0/],
      [{ protocol: 'lava' }, /for protocol but received "lava"/],
      [{ out: '' }, /for out but received ""/],
      [{ init: { kind: 'lava' } }, /for init\.kind but received "lava"/],
      [{ init: { kind: 'image', image: { width: 2, height: 2, data: new Uint8Array(3) } } }, /for init\.image\.data/],
      [{ onProgress: 5 }, /for onProgress but received 5/],
      [{ signal: 'stop' }, /for signal but received "stop"/],
    ];
    for (const [patch, message] of bad) await refuses(() => render(source, { ...base, ...patch } as RenderOptions), message);
    await refuses(() => render({ kind: 'params', params: { flat: new Float32Array(PARAM_COUNT).fill(NaN) } } as RenderSource, base), /^source\.params\.flat\[0\] is NaN/);
    await refuses(() => render({ kind: 'lava' } as unknown as RenderSource, base), /for source\.kind but received "lava"/);
    await refuses(() => render({ kind: 'latent', latent: { z: new Float32Array(3), provenance: {} }, model }, base), /^source\.latent\.z has 3 numbers/);
    await refuses(() => render({ kind: 'latent', latent: { z, provenance: {} }, model: {} as LatentModel }, base), /for source\.model/);
    await refuses(() => render({ kind: 'params', params, protocol: 'x' as 'free' }, base), /for source\.protocol but received "x"/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('renderSheet() does the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-lib-'));
    const base: SheetOptions = { width: 8, height: 8, frames: [0, 2], out: join(dir, 's.png') };
    const rows = [{ label: 'a', z, seed: 1 }];
    const bad: Array<[Partial<SheetOptions> | Record<string, unknown>, RegExp]> = [
      [{ width: 0 }, /for width but received 0/],
      [{ scale: 0 }, /for scale but received 0/],
      [{ gutter: -1 }, /for gutter but received -1/],
      [{ blocks: 0 }, /for blocks but received 0/],
      [{ init: 'zeros' }, /for init but received "zeros"/],
      [{ protocol: 'x' }, /for protocol but received "x"/],
      [{ labels: 'yes' }, /for labels but received "yes"/],
      [{ threads: 100 }, /for threads but received 100/],
      [{ out: '' }, /for out but received ""/],
    ];
    for (const [patch, message] of bad) await refuses(() => renderSheet(model, rows, { ...base, ...patch } as SheetOptions), message);
    await refuses(() => renderSheet(model, [{ label: 'a', z: new Float32Array(64).fill(NaN), seed: 1 }], base), /^rows\[0\]\.z\[0\] is NaN/);
    await refuses(() => renderSheet(model, [{ label: 'a', z, seed: -2 }], base), /for rows\[0\]\.seed but received -2/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the other exported functions check their arguments', () => {
  it('engine, graph, reference step, metrics, latents and parameters', async () => {
    await refuses(() => createEngine(params, { width: 0, height: 8, protocol: FRAME_PROTOCOL, rng: new Rng(1) }), /for width but received 0/);
    await refuses(() => createEngine(params, { width: 8, height: 8, batch: 0, protocol: { kind: 'free' } }), /for batch but received 0/);
    await refuses(() => createEngine(params, { width: 8, height: 8, protocol: FRAME_PROTOCOL }), /for rng/);
    await refuses(() => createEngine(params, { width: 8, height: 8, protocol: { kind: 'carry', carry: 17, squash: 'none', hidden: 'zero' } }), /for protocol\.carry but received 17/);
    await refuses(() => createEngine(params, { width: 8, height: 8, stepsPerRun: 0, protocol: { kind: 'free' } }), /for stepsPerRun but received 0/);
    await refuses(() => buildNcaGraph({ batch: 1, width: 8, height: 8, steps: 0, protocol: { kind: 'free' } }), /for steps but received 0/);
    await refuses(() => referenceStep(params, new Float32Array(10), 8, 8), /^x must be a Float32Array of 1024 numbers/);
    await refuses(() => new MotionTracker(0, 8, 10), /for width but received 0/);
    await refuses(() => spatialStd(new Float32Array(3), 4), /for frame/);
    await refuses(() => neighbourCorrelation(new Float32Array(12), 2, 0), /for height but received 0/);
    await refuses(() => ncaParams(new Float32Array(PARAM_COUNT).fill(Infinity)), /^params\[0\] is Infinity/);
    await refuses(() => paramsToJson({ flat: new Float32Array(4) } as never), /^an NCA parameter vector has 4640 numbers, not 4/);
    await refuses(() => randomParams(new Rng(1), -1), /for bound but received -1/);
    await refuses(() => lerp(z, z, 2), /for t but received 2/);
    await refuses(() => slerp(z, new Float32Array(63), 0.5), /^b has 63 numbers/);
    await refuses(() => meanLatent([z, new Float32Array(2)]), /^zs\[1\] has 2 numbers/);
    await refuses(() => perturbLatent(z, -1, new Rng(1)), /for sigma but received -1/);
    await refuses(() => trackAt([], 0), /^track must be a non-empty array/);
    await refuses(() => latentVector({ provenance: {} }), /^latent must have exactly one of z/);
  });
});
