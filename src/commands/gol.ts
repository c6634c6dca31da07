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

/**
 * Automatic torus: the pattern plus a margin of generations/4 cells on each side (how far a glider
 * travels), between 16 and 64, and at least 32 cells a side.
 */
const autoMargin = (generations: number) => Math.min(64, Math.max(16, Math.ceil(generations / 4)));
const AUTO_MIN_SIDE = 32;

export function registerGol(program: Command): void {
  const cmd = program
    .command('gol')
    .description('run a Game of Life pattern (RLE) through the trained NCA on a torus: the final board as RLE, or the run as a GIF')
    .argument('<pattern>', 'pattern file in RLE (x = .., y = .., rule = B3/S23)')
    .option('--generations <n>', 'generations to run', '200')
    .addOption(sharedOptions.out())
    .option('--compare', 'GIF: the NCA (left) beside the exact rule (right)')
    .option('--size <WxH>', `torus size (default: the pattern plus generations/4 cells on each side, 16 to 64, at least ${AUTO_MIN_SIDE} a side)`)
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
      const p = pattern.board;
      const size = o.size !== undefined ? parseSize('--size', o.size, 3, 4096) : { width: Math.max(AUTO_MIN_SIDE, p.width + 2 * autoMargin(generations)), height: Math.max(AUTO_MIN_SIDE, p.height + 2 * autoMargin(generations)) };
      if (p.width > size.width || p.height > size.height) throw new UserError(`the pattern is ${p.width}x${p.height}, larger than --size ${size.width}x${size.height}`);

      const { loadParams } = await import('../core/nca/params.js');
      const { defaultGolWeights } = await import('../core/gol/patterns.js');
      const { readGolProtocol } = await import('../core/gol/net.js');
      const { placePattern, lifeStep, emptyBoard } = await import('../core/gol/life.js');
      const { compareWithLife } = await import('../core/gol/simulate.js');
      const weights = o.weights ?? defaultGolWeights();
      const { params, provenance } = await loadParams(weights);
      const rounding = o.protocol !== undefined ? requireChoice('--protocol', o.protocol, ['free', 'rounded'] as const) : (readGolProtocol(provenance)?.rounding ?? 'free');
      const start = placePattern(p, size.width, size.height, Math.floor((size.width - p.width) / 2), Math.floor((size.height - p.height) / 2));

      // GIF frames are encoded as the run goes (generation 0 first).
      let gif: import('../core/io/gif.js').GifWriter | null = null;
      let drawFrame: ((raw: Float32Array, exact: Uint8Array) => void) | null = null;
      if (kind === '.gif') {
        const { GifWriter } = await import('../core/io/gif.js');
        const { hstack } = await import('../core/io/image.js');
        const side = Math.max(size.width, size.height);
        const scale = o.scale !== undefined ? requireInt('--scale', o.scale, 1, 64) : Math.max(1, Math.floor(384 / side));
        const gap = o.compare ? Math.max(2, scale) : 0;
        const w = o.compare ? 2 * size.width * scale + gap : size.width * scale;
        gif = new GifWriter({ width: w, height: size.height * scale, fps });
        const writer = gif;
        drawFrame = (raw, exact) => {
          const nca = cellsImage(raw, size.width, size.height, scale);
          writer.addFrame(o.compare ? hstack([nca, cellsImage(exact, size.width, size.height, scale)], gap) : nca);
        };
      }
      let exact: import('../core/gol/life.js').LifeBoard = { ...start, cells: start.cells.slice() };
      let spare = emptyBoard(size.width, size.height);
      drawFrame?.(Float32Array.from(start.cells), start.cells);
      const bar = progressBar('gol', o);
      let result;
      try {
        result = await compareWithLife(params, [start], {
          generations,
          rounding,
          threads,
          onGeneration: (g, _boards, raw) => {
            lifeStep(exact, spare);
            [exact, spare] = [spare, exact];
            drawFrame?.(raw, exact.cells);
            bar.onProgress(g, generations);
          },
        });
      } finally {
        bar.stop();
      }
      const c = result.comparisons[0];
      const final = result.finals[0] ?? start;
      const { writeFileAtomic } = await import('../core/io/atomic.js');
      if (gif) await writeFileAtomic(o.out, gif.bytes());
      else {
        const name = pattern.name ?? basename(file, extname(file));
        const comments = [`${name} after ${generations} generations of the NCA (${basename(weights)}, ${rounding}) on a ${size.width}x${size.height} torus`];
        await writeFileAtomic(o.out, formatRle(final, { name: `${name}, generation ${generations}`, comments }));
      }
      const mismatched = c?.mismatchedCells ?? 0;
      let population = 0;
      for (const v of final.cells) population += v;
      await report(
        o,
        { out: o.out, pattern: file, generations, width: size.width, height: size.height, rounding, population, mismatchedCells: mismatched, firstMismatch: c?.firstMismatch ?? null, maxDeviation: c?.maxDeviation ?? 0 },
        [
          `ran ${file} for ${generations} generations on a ${size.width}x${size.height} torus (${rounding}); population ${population}; wrote ${o.out}`,
          mismatched === 0 ? 'identical to the exact rule in every generation' : `differs from the exact rule: ${mismatched} cells, first at generation ${c!.firstMismatch!.generation}`,
        ],
      );
    });
  withExamples(cmd, [
    'nca gol fixtures/gol/gosper-glider-gun.rle --generations 200 --out gun.rle',
    'nca gol fixtures/gol/acorn.rle --generations 300 --compare --out acorn.gif',
    'nca gol my.rle --size 128x96 --generations 1000 --out run.gif',
  ]);
}

/** Cells (0..1 values, [H][W]) as an RGBA image: dead dark blue-grey, alive warm white, in between blended. */
function cellsImage(values: ArrayLike<number>, width: number, height: number, scale: number): import('../core/io/image.js').RgbaImage {
  const W = width * scale;
  const data = new Uint8Array(W * height * scale * 4);
  const dead = [18, 22, 32];
  const alive = [250, 236, 200];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = Math.min(1, Math.max(0, values[y * width + x]!));
      const r = dead[0]! + (alive[0]! - dead[0]!) * v;
      const g = dead[1]! + (alive[1]! - dead[1]!) * v;
      const b = dead[2]! + (alive[2]! - dead[2]!) * v;
      for (let sy = 0; sy < scale; sy++) {
        let o = ((y * scale + sy) * W + x * scale) * 4;
        for (let sx = 0; sx < scale; sx++) {
          data[o++] = r;
          data[o++] = g;
          data[o++] = b;
          data[o++] = 255;
        }
      }
    }
  }
  return { width: W, height: height * scale, data };
}
