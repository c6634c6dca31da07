import { Option } from 'commander';
import type { NeuroModel } from '../core/model/networks.js';
import type { Protocol } from '../core/nca/params.js';

export const modelOption = () => new Option('--model <dir>', 'neuromusical model folder (default: the shipped fixtures/model)');

/**
 * Loads the model lazily (tfjs is imported only here), with the protocol it was trained with (its
 * config's `protocol`, checked on load), which renders play unless --protocol overrides it. Throws a
 * UserError when `dir` is not a model folder, or when no `dir` is given and no model is shipped.
 */
export async function loadLatentModel(dir?: string): Promise<{ model: NeuroModel; protocol?: Protocol }> {
  const networks = await import('../core/model/networks.js');
  const model = await networks.loadModel(dir);
  return { model, protocol: model.config.protocol };
}

/**
 * Whether there is a model to load (used by --random to pick a random latent or random NCA
 * weights): a --model that is given must be a model folder (a UserError otherwise, never a silent
 * fallback); without --model, whether the shipped model exists.
 */
export async function hasModel(dir?: string): Promise<boolean> {
  const networks = await import('../core/model/networks.js');
  return (await networks.findModel(dir)) !== null;
}
