import { Option } from 'commander';
import type { NeuroModel } from '../core/model/networks.js';
import type { Protocol } from '../core/nca/params.js';

export const modelOption = () => new Option('--model <dir>', 'neuromusical model folder (default: the shipped fixtures/model)');

/**
 * Loads the model lazily (tfjs is imported only here), with the protocol it was trained with (its
 * config's `protocol`), which renders play unless --protocol overrides it. Throws a UserError when
 * no model is available.
 */
export async function loadLatentModel(dir?: string): Promise<{ model: NeuroModel; protocol?: Protocol }> {
  const networks = await import('../core/model/networks.js');
  const model = dir ? await networks.loadModel(dir) : await networks.loadDefaultModel();
  const trained = model.config.protocol;
  return { model, protocol: trained === 'frame' || trained === 'free' ? trained : undefined };
}

/** Whether a model can be loaded without error (used by --random to pick latent or weights). */
export async function hasModel(dir?: string): Promise<boolean> {
  const networks = await import('../core/model/networks.js');
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  return existsSync(join(dir ?? networks.DEFAULT_MODEL_DIR, 'model.json'));
}
