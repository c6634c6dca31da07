import type { Command } from 'commander';
import type { TrainingBackendsBench } from '../core/model/bench-train.js';
import { report, sharedOptions, withExamples } from './options.js';

interface BenchOpts {
  quick?: boolean;
  full?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function registerBench(program: Command): void {
  const cmd = program
    .command('bench')
    .description('measure the engine (steps/s, GFLOP/s, % of peak at 1 and 2 threads), whole renders, GIF encoding and audio')
    .option('--quick', 'one size, one repeat')
    .option('--full', 'the music-video bench renders a whole 3-minute song (default: a 20-s excerpt)')
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
      log('growing NCA: training iterations of the tutorial recipe (64x64 circle, batch 4, 64-96 steps)');
      r.extra.growIteration = await (await import('../core/grow/bench.js')).benchGrowIteration({ iterations: o.quick ? 3 : 6 });
      Object.assign(r.extra, { play: await import('../core/play/bench.js').then((b) => b.benchmarkPlay({ quick: o.quick, onProgress: log })).catch((e: Error) => ({ skipped: e.message })) });
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
        ...Object.entries(r.extra).filter(([k]) => k !== 'trainingIteration').map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
        ...trainingLines(r.extra.trainingIteration as TrainingBackendsBench | undefined),
      ];
      const video = await import('../core/video/bench.js').then((b) => b.benchVideo({ full: o.full, quick: o.quick, onProgress: log }).then((v) => ({ v, lines: ['', ...b.videoBenchLines(v)] }))).catch((e: Error) => ({ v: { skipped: e.message }, lines: [`music video: skipped (${e.message})`] }));
      Object.assign(r, { video: video.v });
      lines.push(...video.lines);
      const twoThreads = r.engine.filter((e) => e.size === 128 && e.protocol === 'frame');
      if (twoThreads.length === 2) lines.push(`2 threads vs 1 at 128x128 (frame protocol): ${(twoThreads[1]!.stepsPerSecond / twoThreads[0]!.stepsPerSecond).toFixed(2)}x`);
      // music video: reactive renders of code-composed songs and two real pieces (MIDI, fixtures/songs: one
      // played with dynamics and pedal, one strict rag) through the soundfont, scored from their frames and audio
      const musicVideo = await import('../core/react/bench.js');
      const { SONGS_DIR } = await import('../core/audio/song-file.js');
      const { join } = await import('node:path');
      const pieces = ['fur-elise.mid', 'the-entertainer.mid'].map((f) => join(SONGS_DIR, f));
      const mv = await musicVideo.runReactMeasure({ styles: ['rock', 'jazz', 'electronic', ...pieces], seconds: o.quick ? 10 : 30, onProgress: log });
      r.extra.musicVideo = mv;
      lines.push('', ...musicVideo.reactMeasureLines(mv));
      await report(o, r, lines);
    });
  withExamples(cmd, ['nca bench', 'nca bench --quick --json > bench.json']);
}

/** The training iteration on each backend as a table (the split, medians), with each backend's ratio to onnx and the load. */
function trainingLines(t: TrainingBackendsBench | undefined): string[] {
  if (!t) return [];
  const ms = (s: number) => (s * 1000).toFixed(0);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
  return [
    '',
    `| training iteration, batch ${t.batch}, 21 steps, persistence on (medians, ms) | total | min | NCA forward | NCA backward | networks | optimizer | rest - networks - optimizer |`,
    '|---|---|---|---|---|---|---|---|',
    ...t.runs.map((x) => `| ${x.name}${x.backend === 'onnx' ? ', the default' : ''} (${x.iterations} iterations) | ${ms(x.total)} | ${ms(x.minTotal)} | ${ms(x.ncaForward)} | ${ms(x.ncaBackward)} | ${ms(x.networks)} | ${ms(x.optimizer)} | ${ms(x.rest - x.networks - x.optimizer)} |`),
    `training iteration ${t.ratios.map((r) => `${r.backend} / ${t.runs[0]!.backend}: ${r.total.toFixed(2)}x (networks ${r.networks.toFixed(2)}x)`).join('; ')}`,
    `  rounds: ${t.order.map((o) => o.join(', ')).join(' | ')}; load average ${load(t.loadAverage.before)} before, ${load(t.loadAverage.after)} after`,
  ];
}
