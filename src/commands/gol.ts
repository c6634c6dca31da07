import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { basename, extname } from 'node:path';
import { UserError, parseSize, requireChoice, requireInt, requireNumber } from '../core/errors.js';
import { parseThreads, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';

interface GolOpts {
  generations: string;
  out?: string;
  compare?: boolean;
  size?: string;
  weights?: string;
  protocol?: string;
  scale?: string;
  fps: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerGol(program: Command): void {
  const cmd = program
    .command('gol')
    .description('run a Game of Life pattern (RLE) through the trained NCA on a torus: the final board as RLE, or the run as a GIF')
    .argument('<pattern>', 'pattern file in RLE (x = .., y = .., rule = B3/S23)')
    .option('--generations <n>', 'generations to run', '200')
    .addOption(sharedOptions.out())
    .option('--compare', 'GIF: the NCA (left) beside the exact rule (right)')
    .option('--size <WxH>', 'torus size (default: the pattern plus generations/4 cells on each side, 16 to 64, at least 32 a side)')
    .option('--weights <file>', 'parameters file (default: fixtures/gol.json)')
    .option('--protocol <name>', 'free (no rounding between steps) or rounded (default: the one recorded in the weights)')
    .option('--scale <n>', 'GIF pixels per cell (default: fit about 384 px)')
    .option('--fps <n>', 'GIF frames per second', '15')
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (file: string, o: GolOpts) => {
      const generations = requireInt('--generations', o.generations, 0, 1_000_000);
      const fps = requireNumber('--fps', o.fps, 0.01, 50);
      const threads = parseThreads(o.threads);
      if (o.out === undefined) throw new UserError('--out is required: a .rle file for the final board or a .gif for the run');
      await checkOutputPath(o.out, { extensions: ['.rle', '.gif'], what: 'the final board as RLE or the run as a GIF', inputs: [file, o.weights] });
      const kind = extname(o.out).toLowerCase();
      if (o.compare && kind !== '.gif') throw new UserError('--compare draws the NCA beside the exact rule in a GIF: use --out <name>.gif');

      const { parseRle, formatRle } = await import('../core/gol/rle.js');
      const { readTextFile } = await import('../core/io/read.js');
      const text = await readTextFile(file, 'pattern', 'text');
      const pattern = parseRle(text, file);
      const size = o.size !== undefined ? parseSize('--size', o.size, 3, 4096) : undefined;
      if (size && (pattern.board.width > size.width || pattern.board.height > size.height)) {
        throw new UserError(`the pattern is ${pattern.board.width}x${pattern.board.height}, larger than --size ${size.width}x${size.height}`);
      }
      const scale = o.scale !== undefined ? requireInt('--scale', o.scale, 1, 64) : undefined;

      const { loadParams } = await import('../core/nca/params.js');
      const { defaultGolWeights } = await import('../core/gol/patterns.js');
      const { readGolProtocol } = await import('../core/gol/net.js');
      const { playPattern } = await import('../core/gol/play.js');
      const weights = o.weights ?? defaultGolWeights();
      const { params, provenance } = await loadParams(weights);
      const rounding = o.protocol !== undefined ? requireChoice('--protocol', o.protocol, ['free', 'rounded'] as const) : (readGolProtocol(provenance)?.rounding ?? 'free');
      const bar = progressBar('gol', o);
      let run;
      try {
        run = await playPattern(params, pattern.board, {
          generations, ...size, rounding, threads, onProgress: bar.onProgress,
          ...(kind === '.gif' ? { gif: { fps, scale, compare: o.compare === true } } : {}),
        });
      } finally {
        bar.stop();
      }
      const { writeFileAtomic } = await import('../core/io/atomic.js');
      if (run.gif) await writeFileAtomic(o.out, run.gif);
      else {
        const name = pattern.name ?? basename(file, extname(file));
        const comments = [`${name} after ${generations} generations of the NCA (${basename(weights)}, ${rounding}) on a ${run.width}x${run.height} torus`];
        await writeFileAtomic(o.out, formatRle(run.final, { name: `${name}, generation ${generations}`, comments }));
      }
      const c = run.comparison;
      await report(
        o,
        { out: o.out, pattern: file, generations, width: run.width, height: run.height, rounding, population: run.population, mismatchedCells: c.mismatchedCells, firstMismatch: c.firstMismatch, maxDeviation: c.maxDeviation },
        [
          `ran ${file} for ${generations} generations on a ${run.width}x${run.height} torus (${rounding}); population ${run.population}; wrote ${o.out}`,
          c.mismatchedCells === 0 ? 'identical to the exact rule in every generation' : `differs from the exact rule: ${c.mismatchedCells} cells, first at generation ${c.firstMismatch!.generation}`,
        ],
      );
    });
  withExamples(cmd, [
    'nca gol fixtures/gol/gosper-glider-gun.rle --generations 200 --out gun.rle',
    'nca gol fixtures/gol/acorn.rle --generations 300 --compare --out acorn.gif',
    'nca gol my.rle --size 128x96 --generations 1000 --out run.gif',
  ]);
}
