/** The model folder a training writes (model.json + weights.bin): its config, and a checkpoint exported as one. */
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { ANCHORS } from '../anchors.js';
import { DEFAULT_PICTURES, type PictureStyle } from '../../audio/pictures.js';
import { readInput } from '../../io/read.js';
import { DEFAULT_CONFIG, weightSpecs, type ModelConfig } from '../networks.js';
import { loadWeights, saveWeights, type NamedArrays } from '../weights.js';
import { readCheckpoint } from './checkpoint.js';
import { CHECKPOINT_FILE } from './files.js';
import type { TrainSettings } from './settings.js';

/** The model config written with the weights: architecture, render protocol, training settings (+ `extra`). */
export function trainedConfig(settings: TrainSettings, extra: Record<string, unknown>, pictures?: PictureStyle): ModelConfig {
  return {
    ...DEFAULT_CONFIG,
    protocol: 'frame',
    ...(pictures && pictures !== DEFAULT_PICTURES ? { pictures } : {}),
    protocolDetails: { kind: 'carry', carry: 3, squash: 'sigmoid', hidden: 'noise', noiseStd: settings.noiseStd, stepsPerFrame: 1, start: 'frame 3 (context frames 0..3)' },
    ...(settings.anchorWeight > 0 ? { anchors: ANCHORS } : {}),
    training: { ...settings, ...extra },
  };
}

/** What a fine-tuning started from: the model folder, its weights' SHA-256 and its own training settings. */
export async function modelIdentity(dir: string): Promise<Record<string, unknown>> {
  const { createHash } = await import('node:crypto');
  const { config } = await loadWeights(dir);
  const weights = await readInput(join(dir, 'weights.bin'), 'model weights', 'binary');
  return { dir, weightsSha256: createHash('sha256').update(weights).digest('hex'), training: config.training };
}

/**
 * Write the weights of `<trainDir>/checkpoint.bin` as a model folder `modelDir` (model.json +
 * weights.bin), e.g. to evaluate a run while it trains or to ship a run that could not finish.
 */
export async function exportCheckpoint(trainDir: string, modelDir: string): Promise<{ iteration: number }> {
  const path = join(trainDir, CHECKPOINT_FILE);
  const { header, named } = await readCheckpoint(path, `no checkpoint at ${path}: give the folder of a training run (nca train --out writes checkpoint.bin)`);
  const weights: NamedArrays = new Map();
  for (const { name } of weightSpecs()) {
    const a = named.get(name);
    if (!a) throw new UserError(`${path} has no tensor ${name}`);
    weights.set(name, a);
  }
  await saveWeights(modelDir, trainedConfig(header.settings, { iterationsDone: header.iteration, exportedFromCheckpoint: true }, header.pictures), weights);
  return { iteration: header.iteration };
}
