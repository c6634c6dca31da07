/** Shared by the click tests (react-clicks, video-clicks): a clip with clicks at known times and a stand-in model. */
import { CHANNELS, PARAM_COUNT } from '../src/core/nca/params.js';
import type { LatentModel } from '../src/core/render.js';
import { Rng } from '../src/core/rng.js';

export const CLICK_RATE = 22050;
/** Click times in seconds: frames 10, 24, 38 and 50 at 20 fps. */
export const CLICKS = [0.5, 1.2, 1.9, 2.5];

/** 3 s of a soft tone with loud clicks at CLICKS, at CLICK_RATE. */
export function clickClip(): Float32Array {
  const x = new Float32Array(3 * CLICK_RATE);
  const rng = new Rng(9);
  for (let i = 0; i < x.length; i++) x[i] = 0.03 * Math.sin((2 * Math.PI * 330 * i) / CLICK_RATE);
  for (const c of CLICKS) for (let j = 0; j < 300; j++) x[Math.round(c * CLICK_RATE) + j]! += 0.9 * (rng.uniform() * 2 - 1) * Math.exp(-j / 60);
  return x;
}

/** A stand-in for the model: every latent gets the same random NCA weights, the start grid is noise. */
export function fakeModel(): LatentModel {
  const params = new Rng(4).fillUniform(new Float32Array(PARAM_COUNT), -1 / 12, 1 / 12);
  return {
    hypernetwork: (_z, batch) => {
      const out = new Float32Array(batch * PARAM_COUNT);
      for (let b = 0; b < batch; b++) out.set(params, b * PARAM_COUNT);
      return out;
    },
    decodeFirstFrame: () => {
      const grid = new Float32Array(CHANNELS * 32 * 32);
      new Rng(5).fillUniform(grid.subarray(0, 3 * 32 * 32));
      return grid;
    },
  };
}
