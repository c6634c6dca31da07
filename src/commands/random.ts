import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { parseSeed, report, sharedOptions, withExamples } from './options.js';

interface RandomOpts {
  params?: boolean;
  seed: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerRandom(program: Command): void {
  const cmd = program
    .command('random')
    .description('draw a random latent z ~ N(0, I), or random NCA weights with --params (written to --out, or stdout)')
    .option('--params', 'random NCA weights ~ U(-1/12, 1/12) (PyTorch\'s default conv init) instead of a latent')
    .addOption(sharedOptions.seed())
    .addOption(sharedOptions.out())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: RandomOpts) => {
      const seed = parseSeed(o.seed);
      if (o.out !== undefined) await checkOutputPath(o.out, { extensions: ['.json'], what: o.params ? 'the NCA weights' : 'the latent' });
      const { Rng } = await import('../core/rng.js');
      const rng = new Rng(seed);
      const provenance = { command: `nca random${o.params ? ' --params' : ''} --seed ${seed}`, seed };
      let text: string;
      if (o.params) {
        const { randomParams, paramsToJson } = await import('../core/nca/params.js');
        text = paramsToJson(randomParams(rng), { provenance });
      } else {
        const { randomLatent, latentToJson } = await import('../core/latent.js');
        text = latentToJson({ z: randomLatent(rng), provenance });
      }
      if (o.out === undefined) {
        const { writeStdout } = await import('../core/io/stdout.js');
        await writeStdout(text);
        return;
      }
      const { writeFileAtomic } = await import('../core/io/atomic.js');
      await writeFileAtomic(o.out, text);
      await report(o, { out: o.out, kind: o.params ? 'params' : 'latent', seed }, `wrote ${o.params ? 'random NCA weights' : 'a random latent'} to ${o.out}`);
    });
  withExamples(cmd, ['nca random --seed 7 --out z.json', 'nca random --params --seed 7 --out p.json', 'nca random --seed 3 > z.json']);
}
