import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { interruptSignal } from './interrupt.js';
import { hasModel, loadLatentModel } from './model-option.js';
import { parseThreads, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';

interface DemoOpts {
  out: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

/**
 * What the demo renders: with the shipped model, a random latent played with perturbation, as
 * the seed's viewer does; without one, random NCA weights of a seed picked because they stay lively
 * under the free protocol (seed 13 grows drifting stripes; nearly all random weights die under the
 * frame protocol).
 */
export const DEMO = { latentSeed: 1, perturb: 5, paramsSeed: 13, size: 128, scale: 2, steps: 300, every: 2, fps: 25 };

export function registerDemo(program: Command): void {
  const cmd = program
    .command('demo')
    .description('render the built-in demo to out/demo.gif (no input needed)')
    .addOption(sharedOptions.out('out/demo.gif'))
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: DemoOpts) => {
      const { render } = await import('../core/render.js');
      const { Rng } = await import('../core/rng.js');
      const threads = parseThreads(o.threads);
      await checkOutputPath(o.out, { kind: 'either', extensions: ['.gif', '.png'], what: 'a .gif animation, a .png of the last frame or a folder of PNG frames' });
      const bar = progressBar('demo', o);
      let dispose = () => {};
      try {
        let summary;
        let what: string;
        const opts = { width: DEMO.size, height: DEMO.size, steps: DEMO.steps, every: DEMO.every, scale: DEMO.scale, fps: DEMO.fps, out: o.out, threads, onProgress: bar.onProgress, signal: interruptSignal() };
        if (await hasModel()) {
          const { model, protocol } = await loadLatentModel();
          dispose = () => model.dispose();
          const { randomLatent } = await import('../core/latent.js');
          const latent = { z: randomLatent(new Rng(DEMO.latentSeed)), provenance: { command: 'nca demo' } };
          summary = await render({ kind: 'latent', latent, model, protocol }, { ...opts, seed: DEMO.latentSeed, perturb: DEMO.perturb });
          what = `a random latent (seed ${DEMO.latentSeed}) through the shipped model, perturbation ${DEMO.perturb}`;
        } else {
          const { randomParams } = await import('../core/nca/params.js');
          summary = await render({ kind: 'params', params: randomParams(new Rng(DEMO.paramsSeed)), protocol: 'free' }, { ...opts, seed: DEMO.paramsSeed });
          what = `random NCA weights (seed ${DEMO.paramsSeed}, free protocol)`;
        }
        bar.stop();
        await report(o, { what, ...summary }, `wrote ${summary.out}: ${what}, ${summary.steps} steps in ${summary.seconds.total.toFixed(2)} s`);
      } finally {
        bar.stop();
        dispose();
      }
    });
  withExamples(cmd, ['nca demo', 'nca demo --out my-demo.gif']);
}
