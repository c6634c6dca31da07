import type { Command } from 'commander';
import { UserError, requireInt, requireNumber } from '../core/errors.js';
import { checkOutputPath } from '../core/io/output-path.js';
import { parseSeed, parseThreads, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';

interface GrowOpts {
  emoji?: string;
  circle?: string;
  out?: string;
  size: string;
  padding: string;
  iterations: string;
  batch: string;
  pool: string;
  minSteps: string;
  maxSteps: string;
  lr: string;
  lrFinal: string;
  damage: string;
  reseed: string;
  lossFrom: string;
  warmPool: string;
  fireRate: string;
  gradNorm: string;
  lossGrad: string;
  checkpointEvery: string;
  cuts: string;
  init?: string;
  outputs: boolean;
  seed: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerGrow(program: Command): void {
  const cmd = program
    .command('grow')
    .description('train a growing NCA (16 channels, Sobel perception, pool training) that grows an image from one cell and regenerates it')
    .argument('[target]', 'a PNG with an alpha channel (or use --emoji / --circle)')
    .option('--emoji <char>', 'grow a Twemoji graphic (CC-BY 4.0), e.g. 🦎')
    .option('--circle <n>', "the tutorial's circle target on an n x n grid (benchmarks)")
    .addOption(sharedOptions.out())
    .option('--size <n>', 'the target image side in cells (emoji rasterised at this size, larger PNGs scaled down)', '40')
    .option('--padding <n>', 'empty cells around the target on every side', '16')
    .option('--iterations <n>', 'training iterations (0: only evaluate and picture the --init weights)', '2000')
    .option('--batch <n>', 'pool samples per iteration', '4')
    .option('--pool <n>', 'pool size', '256')
    .option('--min-steps <n>', 'fewest NCA steps per iteration', '64')
    .option('--max-steps <n>', 'steps per iteration are drawn below this', '96')
    .option('--lr <x>', 'Adam learning rate', '2e-3')
    .option('--lr-final <x>', 'cosine decay of the learning rate to lr x this at the end (1 = constant)', '0.1')
    .option('--damage <n>', 'samples of each batch damaged before the rollout (0: growing only)', '1')
    .option('--reseed <n>', 'samples of each batch reseeded after the rollout, the worst first (1: the tutorial; more trains the growth from one cell more often)', '1')
    .option('--loss-from <step>', 'the loss is the mean over the rollout from this step to its end (0: the final state only, the tutorial)', '0')
    .option('--warm-pool <steps>', 'with --init: 3 of 4 pool samples start as states the --init rule grew for up to this many steps (0: all seeds, the tutorial)', '0')
    .option('--fire-rate <x>', 'probability that a cell updates in a step', '0.5')
    .option('--grad-norm <mode>', "clip (global norm to 1, the tutorial) or per-variable (each tensor's gradient to unit norm, the article's notebook)", 'per-variable')
    .option('--loss-grad <mode>', 'gradient of the clamped MSE (the tutorial) or the raw MSE (the article)', 'clamped')
    .option('--checkpoint-every <n>', 'write params.json and log.json every n iterations', '50')
    .option('--cuts <n>', 'cuts of the regeneration measure', '50')
    .option('--init <params.json>', 'start from these weights (e.g. a checkpoint)')
    .option('--no-outputs', 'skip the GIFs and the evaluation at the end')
    .addOption(sharedOptions.seed())
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (targetPng: string | undefined, o: GrowOpts) => {
      const given = [targetPng, o.emoji, o.circle].filter((v) => v !== undefined).length;
      if (given !== 1) throw new UserError('give one target: a PNG with alpha, --emoji 🦎 or --circle 64');
      if (o.out === undefined) throw new UserError('--out is required: the folder to write params.json, log.json, the GIFs and eval.json to');
      await checkOutputPath(o.out, { kind: 'folder', what: 'the training folder', inputs: [targetPng, o.init] });
      const size = requireInt('--size', o.size, 3, 512);
      const padding = requireInt('--padding', o.padding, 0, 256);
      const settings = {
        iterations: requireInt('--iterations', o.iterations, 0, 1e7),
        batch: requireInt('--batch', o.batch, 1, 256),
        poolSize: requireInt('--pool', o.pool, 1, 1e5),
        minSteps: requireInt('--min-steps', o.minSteps, 1, 10000),
        maxSteps: requireInt('--max-steps', o.maxSteps, 2, 10001),
        lr: requireNumber('--lr', o.lr, 1e-7, 1),
        lrFinal: requireNumber('--lr-final', o.lrFinal, 0, 1),
        damagePerBatch: requireInt('--damage', o.damage, 0, 255),
        reseed: requireInt('--reseed', o.reseed, 0, 256),
        lossFrom: requireInt('--loss-from', o.lossFrom, 0, 10000),
        warmPool: requireInt('--warm-pool', o.warmPool, 0, 100000),
        fireRate: requireNumber('--fire-rate', o.fireRate, 0.01, 1),
        gradNorm: o.gradNorm as 'clip' | 'per-variable',
        lossGrad: o.lossGrad as 'clamped' | 'raw',
      };
      const checkpointEvery = requireInt('--checkpoint-every', o.checkpointEvery, 1, 1e7);
      const cuts = requireInt('--cuts', o.cuts, 1, 1000);
      const seed = parseSeed(o.seed);
      const threads = parseThreads(o.threads) ?? 2;

      const targets = await import('../core/grow/target.js');
      const target = o.emoji !== undefined ? await targets.emojiTarget(o.emoji, size, padding) : o.circle !== undefined ? targets.circleTarget(requireInt('--circle', o.circle, 8, 1024)) : await targets.pngTarget(targetPng!, size, padding);
      let initial;
      if (o.init !== undefined) {
        const { readGrowParamsFile } = await import('../core/grow/render.js');
        initial = (await readGrowParamsFile(o.init)).weights;
      }
      const { runGrow } = await import('../core/grow/run.js');
      const bar = progressBar('grow', o, ' | loss {loss}');
      let result;
      try {
        result = await runGrow({ target, outDir: o.out, settings, seed, threads, checkpointEvery, cuts, skipOutputs: !o.outputs, initial, onProgress: (done, total, loss) => bar.onProgress(done, total, { loss: loss.toFixed(5) }) });
      } finally {
        bar.stop();
      }
      const e = result.evaluation;
      await report(o, result, [
        `${result.iterations ? `trained ${result.iterations} iterations` : 'evaluated --init'} in ${result.seconds.toFixed(0)} s (final loss ${result.finalLoss.toFixed(5)}) -> ${result.files.join(', ')}`,
        ...(e
          ? [
              `growth from one cell: MSE over the target's ${e.box.width}x${e.box.height} box ${e.boxMseAt100.toFixed(4)} at step 100, ${e.boxMseAt1000.toFixed(4)} at step 1000 (over the ${e.grid.width}x${e.grid.height} grid: ${e.mseAt100.toFixed(4)}, ${e.mseAt1000.toFixed(4)})`,
              `regeneration: ${(100 * e.regeneration.recovered).toFixed(0)}% of ${e.regeneration.cuts} cuts of 30% back to box MSE <= ${e.regeneration.threshold} within ${e.regeneration.withinSteps} steps (median ${e.regeneration.medianSteps ?? '-'} steps; grid MSE: ${(100 * e.regeneration.grid.recovered).toFixed(0)}%)`,
            ]
          : []),
      ]);
    });
  withExamples(cmd, ['nca grow --emoji 🦎 --out lizard/', 'nca grow shape.png --size 32 --iterations 500 --out shape/', 'nca grow --circle 64 --damage 0 --lr-final 1 --iterations 500 --out circle/   # the tutorial exactly']);
}

/**
 * `nca render --params FILE` when FILE is a growing-NCA parameters file (nca grow / nca texture):
 * plays it and reports; returns false (nothing done) for any other file, which render handles as before.
 */
export async function renderIfGrowParams(
  file: string,
  o: { out: string; damage?: string; json?: boolean; quiet?: boolean },
  a: { steps: number; every: number; scale: number; fps: number; seed: number | string; threads?: number; width: number; height: number },
): Promise<boolean> {
  const { readTextFile } = await import('../core/io/read.js');
  let json: unknown;
  try {
    json = JSON.parse(await readTextFile(file, 'NCA parameters'));
  } catch {
    return false; // not JSON or unreadable: the usual params path says what is wrong
  }
  const { isGrowParams, renderGrowFile } = await import('../core/grow/render.js');
  if (!isGrowParams(json)) return false;
  const bar = progressBar('render', o);
  try {
    const r = await renderGrowFile(json, file, { out: o.out, steps: a.steps, every: a.every, scale: a.scale, fps: a.fps, seed: a.seed, threads: a.threads, size: { width: a.width, height: a.height }, damage: o.damage, onProgress: bar.onProgress });
    bar.stop();
    await report(o, { source: file, architecture: 'growing-nca', ...r }, [`wrote ${r.out} (${r.framesWritten} frame${r.framesWritten === 1 ? '' : 's'}, ${r.width}x${r.height}) from ${file} (growing NCA) in ${r.seconds.toFixed(2)} s`]);
  } finally {
    bar.stop();
  }
  return true;
}
