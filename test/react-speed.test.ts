// The music video's faster paths give what the slower ones gave (docs/video.md#profile).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planarToRgba } from '../src/core/io/image.js';
import { LATENT_DIM } from '../src/core/latent.js';
import { loadModel, type NeuroModel } from '../src/core/model/networks.js';
import { PARAM_COUNT } from '../src/core/nca/params.js';
import { applyExposure, rotateHue, showFrame } from '../src/core/react/effects.js';
import { WEIGHT_BATCH, frameWeights } from '../src/core/react/weights.js';
import type { LatentModel } from '../src/core/render.js';
import { Rng } from '../src/core/rng.js';

describe('showFrame', () => {
  it('gives the bytes of rotateHue, applyExposure and planarToRgba one after the other', () => {
    const W = 37, H = 23, plane = W * H;
    const rng = new Rng(3);
    const rgb = rng.fillUniform(new Float32Array(3 * plane), -0.2, 1.2); // out-of-range values are clipped the same way
    for (const [angle, gamma] of [[0, 1], [1.3, 1], [0, 0.41], [-2.1, 2.46], [0.5, 1.7]] as const) {
      const slow = rgb.slice();
      rotateHue(slow, plane, angle);
      applyExposure(slow, gamma);
      const want = planarToRgba(slow, W, H, 1).data;
      const got = new Uint8Array(plane * 4);
      showFrame(rgb, plane, angle, gamma, got);
      expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    }
    // the input is left as it was
    expect(rgb[0]).toBe(new Rng(3).fillUniform(new Float32Array(1), -0.2, 1.2)[0]);
  });
});

describe('frameWeights', () => {
  let model: NeuroModel;
  beforeAll(async () => {
    model = await loadModel();
  });
  afterAll(() => model.dispose());

  it("runs a trained model's hypernetwork on onnxruntime: the model's own weights to float rounding, block by block", async () => {
    const frames = WEIGHT_BATCH + 3; // two blocks
    const latents = new Rng(7).fillNormal(new Float32Array(frames * LATENT_DIM));
    const want = await model.hypernetwork(latents, frames);
    const weights = await frameWeights(model, latents, frames, 1);
    try {
      for (const i of [0, 1, WEIGHT_BATCH - 1, WEIGHT_BATCH, frames - 1]) {
        const got = (await weights.at(i)).flat;
        const ref = want.subarray(i * PARAM_COUNT, (i + 1) * PARAM_COUNT);
        let worst = 0, scale = 0;
        for (let k = 0; k < PARAM_COUNT; k++) {
          worst = Math.max(worst, Math.abs(got[k]! - ref[k]!));
          scale = Math.max(scale, Math.abs(ref[k]!));
        }
        expect(worst).toBeLessThan(1e-5 * Math.max(1, scale));
      }
    } finally {
      await weights.dispose();
    }
  });

  it('asks any other model through its hypernetwork()', async () => {
    const calls: number[] = [];
    const stand: LatentModel = {
      hypernetwork: (_z, batch) => {
        calls.push(batch);
        return new Float32Array(batch * PARAM_COUNT).fill(calls.length * 0.01);
      },
      decodeFirstFrame: () => new Float32Array(16 * 32 * 32),
    };
    const weights = await frameWeights(stand, new Float32Array(300 * LATENT_DIM), 300);
    expect((await weights.at(0)).flat[0]).toBeCloseTo(0.01);
    expect((await weights.at(299)).flat[0]).toBeCloseTo(0.02);
    expect(calls).toEqual([WEIGHT_BATCH, 300 - WEIGHT_BATCH]);
    await weights.dispose();
  });
});
