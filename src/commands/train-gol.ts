import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { join } from 'node:path';
import { UserError, requireChoice, requireInt, requireNumber } from '../core/errors.js';
import { parseSeed, parseThreads, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';

interface TrainGolOpts {
  seed: string;
  seeds?: string;
  out?: string;
  iters: string;
  eps: string;
  untied?: boolean;
  backend: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

/** One seed's outcome, as printed and as --json. */
interface SeedSummary {
  seed: number | string;
  proven: boolean;
  roundedExact: boolean;
  iterations: number;
  seconds: number;
  out?: string;
}

export function registerTrainGol(program: Command): void {
  const cmd = program
    .command('train-gol')
    .description("train the NCA on Conway's Game of Life (tfjs, from a random initialisation) until the exhaustive proofs pass")
    .addOption(sharedOptions.seed())
    .option('--seeds <n>', 'train seeds 1..n one after the other and report how many reach a proven-exact network (with --out: a folder)')
    .addOption(sharedOptions.out())
    .option('--iters <n>', 'iteration limit per seed (the proof is checked every 200)', '12000')
    .option('--eps <x>', 'free-running radius the training must prove', '0.01')
    .option('--untied', 'train 16 free relu units instead of 8 tied clamp pairs (for comparison: not expected to prove free running)')
    .option('--backend <name>', 'tfjs backend: wasm (fast matMul) or cpu', 'wasm')
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: TrainGolOpts) => {
      const maxIterations = requireInt('--iters', o.iters, 200, 1_000_000);
      const eps = requireNumber('--eps', o.eps, 1e-4, 0.45);
      const backend = requireChoice('--backend', o.backend, ['wasm', 'cpu'] as const);
      const threads = parseThreads(o.threads);
      const seeds: Array<number | string> = o.seeds !== undefined ? Array.from({ length: requireInt('--seeds', o.seeds, 1, 1000) }, (_, i) => i + 1) : [parseSeed(o.seed)];
      if (o.seeds === undefined && o.out === undefined) throw new UserError('--out is required: where to write the trained weights (e.g. --out fixtures/gol.json)');
      if (o.out !== undefined) await checkOutputPath(o.out, o.seeds !== undefined ? { kind: 'folder', what: 'a folder for gol-seed<n>.json files' } : { extensions: ['.json'], what: 'the trained weights' });

      const { trainGol } = await import('../core/gol/train.js');
      const { paramsToJson } = await import('../core/nca/params.js');
      const { golProtocolInfo } = await import('../core/gol/net.js');
      const { writeFileAtomic } = await import('../core/io/atomic.js');

      const summaries: SeedSummary[] = [];
      for (const seed of seeds) {
        const bar = progressBar(seeds.length > 1 ? `seed ${seed}` : 'train-gol', o);
        let result;
        try {
          result = await trainGol({ seed, maxIterations, eps, backend, threads, tied: !o.untied, onProgress: bar.onProgress });
        } finally {
          bar.stop();
        }
        const out = o.seeds !== undefined ? (o.out ? join(o.out, `gol-seed${seed}.json`) : undefined) : o.out;
        const last = result.checks.at(-1);
        if (out) {
          const provenance = {
            command: `nca train-gol --seed ${seed} --eps ${eps}${o.untied ? ' --untied' : ''}`,
            seed,
            protocol: golProtocolInfo(result.proven ? 'free' : 'rounded', eps),
            training: {
              backend: result.backend,
              tied: result.tied,
              iterations: result.iterations,
              seconds: Number(result.seconds.toFixed(1)),
              proven: result.proven,
              roundedExact: result.roundedExact,
              ...(last ? { lastCheck: last } : {}),
            },
          };
          await writeFileAtomic(out, paramsToJson(result.params, { provenance }));
        }
        const summary: SeedSummary = { seed, proven: result.proven, roundedExact: result.roundedExact, iterations: result.iterations, seconds: Number(result.seconds.toFixed(1)), ...(out ? { out } : {}) };
        summaries.push(summary);
        if (seeds.length > 1 && !o.json && !o.quiet) {
          process.stderr.write(`seed ${seed}: ${describe(summary, eps)}\n`);
        }
      }

      if (seeds.length === 1) {
        const s = summaries[0]!;
        await report(o, { ...s, eps }, [`${describe(s, eps)}${s.out ? `; wrote ${s.out}` : ''}`, ...(s.proven ? [`check it: nca gol-check --weights ${s.out}`] : [])]);
        if (!s.proven) process.exitCode = 1;
        return;
      }
      const proven = summaries.filter((s) => s.proven);
      const times = proven.map((s) => s.seconds).sort((a, b) => a - b);
      const median = times.length ? times[Math.floor((times.length - 1) / 2)]! : null;
      await report(
        o,
        { seeds: summaries, proven: proven.length, total: summaries.length, medianSecondsProven: median, eps },
        [
          ...summaries.map((s) => `seed ${s.seed}: ${describe(s, eps)}`),
          `${proven.length}/${summaries.length} seeds reached a proven-exact network (rounded and free running at eps ${eps})${median !== null ? `; median time ${median} s` : ''}`,
        ],
      );
    });
  withExamples(cmd, ['nca train-gol --seed 1 --out fixtures/gol.json', 'nca train-gol --seeds 10 --json > seeds.json', 'nca train-gol --seed 2 --untied --iters 4000 --out untied.json']);
}

function describe(s: SeedSummary, eps: number): string {
  const what = s.proven ? `proven exact (rounded, and free running at eps ${eps})` : s.roundedExact ? 'exact under rounding only (free-running proof not reached)' : 'not exact';
  return `${what} after ${s.iterations} iterations, ${s.seconds} s`;
}
