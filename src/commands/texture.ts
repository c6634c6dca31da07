import type { Command } from 'commander';
import { UserError, requireInt, requireNumber } from '../core/errors.js';
import { checkOutputPath } from '../core/io/output-path.js';
import { parseSeed, parseThreads, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';

interface TextureOpts {
  out?: string;
  grid: string;
  maxSide: string;
  iterations: string;
  batch: string;
  lr: string;
  checkpointEvery: string;
  seed: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerTexture(program: Command): void {
  const cmd = program
    .command('texture')
    .description("train an NCA (the growing NCA's architecture) whose state organises into the texture of an image, with a style loss of a fixed random network (nothing downloaded)")
    .argument('<image>', 'the texture, a PNG (scaled down to --max-side)')
    .addOption(sharedOptions.out())
    .option('--grid <n>', 'training grid side in cells', '48')
    .option('--max-side <n>', 'larger images are scaled down to this side', '64')
    .option('--iterations <n>', 'training iterations', '300')
    .option('--batch <n>', 'pool samples per iteration', '4')
    .option('--lr <x>', 'Adam learning rate', '2e-3')
    .option('--checkpoint-every <n>', 'write params.json and log.json every n iterations', '25')
    .addOption(sharedOptions.seed())
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (imagePath: string, o: TextureOpts) => {
      if (o.out === undefined) throw new UserError('--out is required: the folder to write params.json, log.json, measure.json, texture.gif and texture.png to');
      await checkOutputPath(o.out, { kind: 'folder', what: 'the training folder', inputs: [imagePath] });
      const grid = requireInt('--grid', o.grid, 8, 256);
      const maxSide = requireInt('--max-side', o.maxSide, 8, 512);
      const settings = { iterations: requireInt('--iterations', o.iterations, 1, 1e7), batch: requireInt('--batch', o.batch, 1, 64), lr: requireNumber('--lr', o.lr, 1e-7, 1) };
      const checkpointEvery = requireInt('--checkpoint-every', o.checkpointEvery, 1, 1e7);
      const { readTextureImage, runTexture } = await import('../core/texture/run.js');
      const image = await readTextureImage(imagePath, maxSide);
      const bar = progressBar('texture', o, ' | loss {loss}');
      let r;
      try {
        r = await runTexture({ image, outDir: o.out, grid, settings, seed: parseSeed(o.seed), threads: parseThreads(o.threads) ?? 2, checkpointEvery, onProgress: (d, t, loss) => bar.onProgress(d, t, { loss: loss.toPrecision(4) }) });
      } finally {
        bar.stop();
      }
      const m = r.measure;
      await report(o, r, [
        `trained ${r.iterations} iterations in ${r.seconds.toFixed(0)} s (final loss ${r.finalLoss.toPrecision(4)}) -> ${r.files.join(', ')}`,
        `texture distance to the image (median of ${m.renders} renders, ${m.steps} steps): trained ${m.trained.toPrecision(3)}, random NCA ${m.random.toPrecision(3)} (${m.ratioToRandom.toFixed(1)}x farther), the image shifted ${m.shifted.toPrecision(3)}`,
      ]);
    });
  withExamples(cmd, ['nca texture fixtures/grow/texture-source.png --out spots/', 'nca texture stones.png --grid 32 --iterations 100 --out stones/']);
}
