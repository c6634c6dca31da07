import type { Command } from 'commander';
import { report, sharedOptions, withExamples } from './options.js';

interface BenchOpts {
  quick?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function registerBench(program: Command): void {
  const cmd = program
    .command('bench')
    .description('measure the engine (steps/s, GFLOP/s, % of peak at 1 and 2 threads), whole renders, GIF encoding and audio')
    .option('--quick', 'one size, one repeat')
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: BenchOpts) => {
      const { runBenchmarks } = await import('../core/bench.js');
      const log = (s: string) => {
        if (!o.quiet && !o.json) process.stderr.write(`  ${s}...\n`);
      };
      const r = await runBenchmarks({ quick: o.quick, onProgress: log });
      const extras = await import('./bench-extras.js');
      Object.assign(r.extra, await extras.extraBenchmarks(log, o.quick ?? false));
      const lines = [
        `machine: ${r.machine.cores} cores, node ${r.machine.node}, peak ${r.machine.peakGflops} GFLOP/s, load average ${r.machine.loadAverage.before.toFixed(2)} before / ${r.machine.loadAverage.after.toFixed(2)} after (figures are noisy when it is above ~0.5)`,
        '',
        '| grid | protocol | threads | steps/s | GFLOP/s | % of peak |',
        '|---|---|---|---|---|---|',
        ...r.engine.map((e) => `| ${e.size}x${e.size} | ${e.protocol} | ${e.threads} | ${e.stepsPerSecond.toFixed(0)} | ${e.gflops.toFixed(1)} | ${e.percentOfPeak.toFixed(0)}% |`),
        '',
        '| whole render | steps | seconds | steps/s |',
        '|---|---|---|---|',
        ...r.render.map((x) => `| ${x.size}x${x.size} to ${x.format} | ${x.steps} | ${x.seconds.toFixed(2)} | ${x.stepsPerSecond.toFixed(0)} |`),
        '',
        ...Object.entries(r.extra).map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
      ];
      const twoThreads = r.engine.filter((e) => e.size === 128 && e.protocol === 'frame');
      if (twoThreads.length === 2) lines.push(`2 threads vs 1 at 128x128 (frame protocol): ${(twoThreads[1]!.stepsPerSecond / twoThreads[0]!.stepsPerSecond).toFixed(2)}x`);
      await report(o, r, lines);
    });
  withExamples(cmd, ['nca bench', 'nca bench --quick --json > bench.json']);
}
