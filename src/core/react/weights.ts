/**
 * The NCA weights of every video frame of a reactive render: the hypernetwork of each frame's latent,
 * computed 256 frames at a time as the render reaches them (docs/music-video.md#the-frames-indexts).
 *
 * A trained model (a NeuroModel: its weights by name and its config) runs the hypernetwork's forward
 * graph on onnxruntime (src/core/model/onnx-networks/hypernetwork.ts: the same math as the model's
 * tfjs `hypernetwork()`, to float rounding), 17x less CPU than tfjs's CPU backend: 0.1 against 1.8-1.9
 * CPU seconds for the 600 frames of a 20-s song (docs/video.md#profile). Any other LatentModel (a test's stand-in) is asked
 * through its own `hypernetwork()`.
 */
import type { LatentModel } from '../render.js';
import { LATENT_DIM } from '../latent.js';
import { PARAM_COUNT, ncaParams, type NcaParams } from '../nca/params.js';
import type { NamedArrays } from '../model/weights.js';

/** Frames per hypernetwork call: 256 x 4640 floats = 4.75 MB of weights held at a time. */
export const WEIGHT_BATCH = 256;

/** What the onnxruntime path needs of a model: its weights by name and its LayerNorm epsilon (NeuroModel has both). */
interface NamedModel extends LatentModel {
  namedArrays(): NamedArrays;
  readonly config: { layerNormEps: number };
}

function hasNamedWeights(model: LatentModel): model is NamedModel {
  const m = model as Partial<NamedModel>;
  return typeof m.namedArrays === 'function' && typeof m.config === 'object' && m.config !== null && typeof m.config.layerNormEps === 'number';
}

export interface FrameWeights {
  /** The weights of frame i (frames are asked for in order; a new block is computed every WEIGHT_BATCH frames). */
  at(i: number): Promise<NcaParams>;
  dispose(): Promise<void>;
}

/** The weights of `frames` latents ([frames][64] in `latents`), block by block (see the module comment). */
export async function frameWeights(model: LatentModel, latents: Float32Array, frames: number, threads?: number): Promise<FrameWeights> {
  let hyper: (z: Float32Array, batch: number) => Promise<Float32Array>;
  let dispose = async () => {};
  if (hasNamedWeights(model)) {
    const { buildHypernetworkGraph, HYPER_WEIGHTS, hyperNames } = await import('../model/onnx-networks/hypernetwork.js');
    const { openGraphSession, weightFeed } = await import('../model/onnx-networks/graph.js');
    const session = await openGraphSession(buildHypernetworkGraph({ layerNormEps: model.config.layerNormEps }, 'forward'), { threads });
    const named = model.namedArrays();
    const feeds = Object.fromEntries(HYPER_WEIGHTS.map(({ name, shape }) => [name, weightFeed(named, name, shape)]));
    hyper = async (z, batch) => (await session.run({ ...feeds, [hyperNames.z]: { data: z, dims: [batch, LATENT_DIM] } }, [hyperNames.params]))[hyperNames.params]!;
    dispose = () => session.dispose();
  } else {
    hyper = async (z, batch) => model.hypernetwork(z, batch);
  }
  let block: Float32Array = new Float32Array(0);
  let blockStart = -1;
  return {
    async at(i) {
      const start = Math.floor(i / WEIGHT_BATCH) * WEIGHT_BATCH;
      if (start !== blockStart) {
        const n = Math.min(WEIGHT_BATCH, frames - start);
        block = await hyper(latents.subarray(start * LATENT_DIM, (start + n) * LATENT_DIM), n);
        blockStart = start;
      }
      const off = (i - start) * PARAM_COUNT;
      return ncaParams(block.slice(off, off + PARAM_COUNT), `the model's NCA weights for frame ${i}`);
    },
    dispose,
  };
}
