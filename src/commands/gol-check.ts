import type { Command } from 'commander';
import { requireChoice, requireInt } from '../core/errors.js';
import { parseThreads, report, sharedOptions, withExamples } from './options.js';

interface GolCheckOpts {
  weights?: string;
  protocol?: string;
  proofsOnly?: boolean;
  generations: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerGolCheck(program: Command): void {
  const cmd = program
    .command('gol-check')
    .description("prove that a Game of Life NCA steps Conway's rule exactly: all 2^25 neighbourhoods, free running by interval bounds, soups and classic patterns on the engine (exit 0 only when everything holds)")
    .option('--weights <file>', 'parameters file to check (default: the trained fixtures/gol.json shipped with nca)')
    .option('--protocol <name>', 'protocol that must hold: free (no rounding between steps) or rounded (default: the one recorded in the weights, else free)')
    .option('--proofs-only', 'skip the engine simulations (soups and patterns)')
    .option('--generations <n>', 'generations per soup', '300')
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: GolCheckOpts) => {
      const generations = requireInt('--generations', o.generations, 1, 100_000);
      const threads = parseThreads(o.threads);
      const { loadParams } = await import('../core/nca/params.js');
      const { defaultGolWeights } = await import('../core/gol/patterns.js');
      const { readGolProtocol } = await import('../core/gol/net.js');
      const { runGolCheck } = await import('../core/gol/gol-check.js');
      const weights = o.weights ?? defaultGolWeights();
      const { params, provenance } = await loadParams(weights);
      const recorded = readGolProtocol(provenance);
      const rounding = o.protocol !== undefined ? requireChoice('--protocol', o.protocol, ['free', 'rounded'] as const) : (recorded?.rounding ?? 'free');
      const verbose = !o.json && !o.quiet && process.stderr.isTTY;
      const r = await runGolCheck(params, {
        rounding,
        epsHint: recorded?.eps,
        threads,
        generations,
        skipSimulation: o.proofsOnly,
        onStage: verbose ? (s) => process.stderr.write(`  ${s}...\n`) : undefined,
      });

      const lines: string[] = [`weights: ${weights} (protocol: ${rounding === 'free' ? 'free running' : 'rounded at 0.5 between steps'})`];
      const rp = r.rounded;
      if (rp.mismatches === 0) {
        lines.push(`rounded:  0 mismatches over ${rp.checked} binary 5x5 neighbourhoods (all boards, all sizes, all steps); smallest margin from 0.5: ${rp.minMargin.toFixed(4)} (float32 error bound ${rp.float32Error.toExponential(1)})`);
      } else {
        const m = rp.firstMismatchReport!;
        lines.push(`rounded:  ${rp.mismatches} of ${rp.checked} neighbourhoods are WRONG; the first (centre in brackets) should become ${m.expected ? 'alive' : 'dead'}, the NCA gives ${m.output.toFixed(4)}:`);
        lines.push(...m.picture.map((row, i) => '            ' + (i === 2 ? row.slice(0, 2) + '[' + row[2] + ']' + row.slice(3) : row.slice(0, 2) + ' ' + row[2] + ' ' + row.slice(3))));
      }
      if (r.free) {
        lines.push(
          r.free.eps > 0
            ? `free:     proven for every eps in [${r.free.minEps.toFixed(4)}, ${r.free.eps.toFixed(4)}]: any state within eps of a Life board steps to within eps of the next one, so free running from a binary board is exact forever (float32 error bound ${r.free.float32Error.toExponential(1)} included)`
            : `free:     no eps proven (worst neighbourhood misses by ${(-r.free.proof.minSlack).toFixed(4)} at eps ${r.free.proof.eps.toFixed(4)})`,
        );
      } else {
        lines.push('free:     not attempted (the rounded proof fails, and free running implies it)');
      }
      if (r.soups.length) {
        const bad = r.soups.filter((s) => s.mismatchedCells > 0);
        const dev = Math.max(...r.soups.map((s) => s.maxDeviation));
        lines.push(`soups:    ${r.soups.length - bad.length}/${r.soups.length} exact for ${generations} generations (${r.soups.map((s) => `${s.width}x${s.height}`).filter((v, i, a) => a.indexOf(v) === i).join(', ')}; densities ${[...new Set(r.soups.map((s) => s.density))].join(', ')}); largest distance of a cell from 0/1: ${dev.toExponential(2)}`);
      }
      if (r.patterns.length) {
        const bad = r.patterns.filter((p) => p.mismatchedCells > 0 || p.behaviour);
        lines.push(`patterns: ${r.patterns.length - bad.length}/${r.patterns.length} exact and behaving (${r.patterns.map((p) => p.name).join(', ')})`);
      }
      lines.push(`time:     ${r.seconds.total.toFixed(1)} s (proofs ${r.seconds.proofs.toFixed(1)} s, simulations ${r.seconds.simulations.toFixed(1)} s)`);
      lines.push(r.holds ? 'OK: the NCA is exactly Conway\'s Game of Life' : `FAILED:\n  ${r.failures.slice(0, 12).join('\n  ')}${r.failures.length > 12 ? `\n  ... and ${r.failures.length - 12} more` : ''}`);
      await report(o, { weights, ...r }, lines);
      if (!r.holds) process.exitCode = 1;
    });
  withExamples(cmd, ['nca gol-check', 'nca gol-check --weights my-gol.json --json', 'nca gol-check --protocol rounded --proofs-only']);
}
