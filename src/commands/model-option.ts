import { Option } from 'commander';
import type { LatentModel } from '../core/render.js';

export const modelOption = () => new Option('--model <dir>', 'neuromusical model folder (default: the shipped fixtures/model)');

/** Loads the model lazily (tfjs is imported only here). Throws a UserError when none is available. */
export async function loadLatentModel(dir?: string): Promise<LatentModel & { dispose(): void }> {
  const networks = await import('../core/model/networks.js');
  return dir ? networks.loadModel(dir) : networks.loadDefaultModel();
}

/** Whether a model can be loaded without error (used by --random to pick latent or weights). */
export async function hasModel(dir?: string): Promise<boolean> {
  const networks = await import('../core/model/networks.js');
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  return existsSync(join(dir ?? networks.DEFAULT_MODEL_DIR, 'model.json'));
}
