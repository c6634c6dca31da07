import { Option } from 'commander';
import type { LoadedModel } from '../core/sources.js';

export const modelOption = () => new Option('--model <dir>', 'neuromusical model folder (default: the shipped fixtures/model)');

/**
 * The model of --model (default: the shipped one) with the protocol it was trained with, which
 * renders play unless --protocol overrides it: src/core/sources.ts's loadModel, the one loader (a
 * UserError when `dir` is not a model folder, or when no `dir` is given and no model is shipped).
 */
export async function loadLatentModel(dir?: string): Promise<LoadedModel> {
  const { loadModel } = await import('../core/sources.js');
  return loadModel(dir);
}

/**
 * Whether there is a model to load (used by --random to pick a random latent or random NCA
 * weights): a --model that is given must be a model folder (a UserError otherwise, never a silent
 * fallback); without --model, whether the shipped model exists.
 */
export async function hasModel(dir?: string): Promise<boolean> {
  const { hasModel } = await import('../core/sources.js');
  return hasModel(dir);
}
