/**
 * The start grid of a run (docs/design.md#protocols-how-a-latent-is-played), in one place: what
 * `nca render`, `nca sheet` and the gallery start from.
 *
 * A start state is [16][H][W] float32 (CHW): the RGB image (0..1) in channels 0..2 and the hidden
 * channels 3..15 ~ N(0, 0.1^2), except
 * - `decoder`: all 16 channels are the first-frame decoder's [16][G][G] grid, tiled over the torus
 *   (the scale the NCA was trained at; G = 32 for the shipped model, read from the grid's length);
 * - `zeros`: every channel 0;
 * - `noise`: RGB ~ U(0, 1);
 * - `image`: the image resized (nearest) into RGB.
 * Under the free protocol the RGB channels hold logits (the state is shown through a sigmoid).
 *
 * Draw order (kept so that renders stay byte-identical for a seed): the hidden noise first, then the
 * RGB noise, both from the `rng` given.
 */
import { UserError, invalidParameterError, requireInt } from './errors.js';
import { OUTPUT_LIMITS } from './limits.js';
import type { RgbaImage } from './io/image.js';
import { CHANNELS, type Protocol } from './nca/params.js';
import { sigmoid } from './nca/reference.js';
import type { Rng } from './rng.js';

/** The start grid: the model's first-frame decoder, uniform noise, zeros, or an image. */
export type InitSpec = { kind: 'decoder' } | { kind: 'noise' } | { kind: 'zeros' } | { kind: 'image'; image: RgbaImage };

/** The std of the hidden channels' start noise (as the frame protocol's fresh noise). */
export const HIDDEN_START_STD = 0.1;

/** What the decoder start needs: a model's first-frame decoder and the latent. */
export interface DecoderInput {
  model: { decodeFirstFrame(z: Float32Array, batch: number): Float32Array | Promise<Float32Array> };
  z: Float32Array;
}

/** Checks an init spec; `decoder` needs a latent (`hasLatent`); an image needs width x height x 4 bytes. */
export function checkInit(init: InitSpec, hasLatent: boolean): InitSpec {
  if (typeof init !== 'object' || init === null) throw invalidParameterError('init', "{ kind: 'decoder' | 'noise' | 'zeros' | 'image' }", init);
  switch (init.kind) {
    case 'decoder':
      if (!hasLatent) throw new UserError('--init decoder needs a latent (the first-frame decoder runs on it); use --init noise with --params');
      return init;
    case 'noise':
    case 'zeros':
      return init;
    case 'image': {
      const img = init.image as Partial<RgbaImage> | undefined;
      if (typeof img !== 'object' || img === null) throw invalidParameterError('init.image', 'an RGBA image { width, height, data }', img);
      const w = requireInt('init.image.width', img.width, 1, OUTPUT_LIMITS.maxSide);
      const h = requireInt('init.image.height', img.height, 1, OUTPUT_LIMITS.maxSide);
      if (!(img.data instanceof Uint8Array) || img.data.length !== w * h * 4) {
        throw invalidParameterError('init.image.data', `a Uint8Array of ${w * h * 4} bytes (RGBA)`, img.data instanceof Uint8Array ? `${img.data.length} bytes` : img.data);
      }
      return init;
    }
    default:
      throw invalidParameterError('init.kind', 'one of decoder, noise, zeros, image', (init as { kind?: unknown }).kind);
  }
}

/** The start state [16][H][W] of `init` (checked by checkInit first). */
export async function startState(init: InitSpec, opts: { width: number; height: number; protocol: Protocol; rng: Rng; decoder?: DecoderInput }): Promise<Float32Array> {
  const { width: W, height: H, rng } = opts;
  const plane = W * H;
  const state = new Float32Array(CHANNELS * plane);
  rng.fillNormal(state.subarray(3 * plane), 0, HIDDEN_START_STD);
  switch (init.kind) {
    case 'zeros':
      state.fill(0);
      break;
    case 'noise':
      rng.fillUniform(state.subarray(0, 3 * plane));
      break;
    case 'image': {
      const img = init.image;
      for (let y = 0; y < H; y++) {
        const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / H));
        for (let x = 0; x < W; x++) {
          const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / W));
          for (let c = 0; c < 3; c++) state[c * plane + y * W + x] = img.data[(sy * img.width + sx) * 4 + c]! / 255;
        }
      }
      break;
    }
    case 'decoder': {
      if (!opts.decoder) throw new Error('startState: a decoder start without a latent (checkInit refuses it)');
      const grid = await opts.decoder.model.decodeFirstFrame(opts.decoder.z, 1); // [16][G][G]
      const G = Math.round(Math.sqrt(grid.length / CHANNELS));
      for (let c = 0; c < CHANNELS; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) state[c * plane + y * W + x] = grid[c * G * G + (y % G) * G + (x % G)]!;
      break;
    }
  }
  if (opts.protocol === 'free') for (let i = 0; i < 3 * plane; i++) state[i] = logit(state[i]!);
  return state;
}

/** The visible RGB planes [3][H][W] (0..1) of a start state: a copy (a sigmoid of the logits under the free protocol). */
export function startRgb(state: Float32Array, plane: number, protocol: Protocol): Float32Array {
  const rgb = state.slice(0, 3 * plane);
  if (protocol === 'free') for (let i = 0; i < rgb.length; i++) rgb[i] = sigmoid(rgb[i]!);
  return rgb;
}

/** The logit of p, clamped to 1e-4..1-1e-4 (so 0 and 1 stay finite). */
export function logit(p: number): number {
  const q = Math.min(1 - 1e-4, Math.max(1e-4, p));
  return Math.log(q / (1 - q));
}
