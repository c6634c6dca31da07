import type { Command } from 'commander';
import { registerRender } from './render.js';
import { registerRandom } from './random.js';
import { registerInterpolate } from './interpolate.js';
import { registerDemo } from './demo.js';
import { registerBench } from './bench.js';
import { registerSynth } from './synth.js';
import { registerSpectrogram } from './spectrogram.js';
import { registerVisualize } from './visualize.js';
import { registerDataset } from './dataset.js';
import { registerTrain } from './train.js';
import { registerEval } from './eval.js';
import { registerEncode } from './encode.js';
import { registerGol } from './gol.js';
import { registerGolCheck } from './gol-check.js';
import { registerTrainGol } from './train-gol.js';
import { registerGallery } from './gallery.js';
import { registerSheet } from './sheet.js';
import { registerReconstruct } from './reconstruct.js';
import { registerPlay } from './play.js';
import { registerGrow } from './grow.js';
import { registerTexture } from './texture.js';

/** Every subcommand's register function, in the order `nca --help` lists them. */
export const commands: Array<(program: Command) => void> = [
  registerDemo,
  registerRender,
  registerRandom,
  registerInterpolate,
  registerGallery,
  registerSheet,
  registerPlay,
  registerSynth,
  registerSpectrogram,
  registerVisualize,
  registerDataset,
  registerEncode,
  registerTrain,
  registerEval,
  registerGol,
  registerGolCheck,
  registerTrainGol,
  registerGrow,
  registerTexture,
  registerReconstruct,
  registerBench,
];
