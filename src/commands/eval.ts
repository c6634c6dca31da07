import type { Command } from 'commander';
import { join } from 'node:path';
import { requireInt } from '../core/errors.js';
import { interruptSignal } from './interrupt.js';
import { parseSeed, parseThreads, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';
import type { AliveCounts } from '../core/model/eval.js';
import type { LatentMeaningResult } from '../core/model/latent-meaning.js';

interface EvalOpts {
  model?: string;
  data: string;
  n: string;
  steps: string;
  size: string;
  seed: string;
  write: boolean;
  threads?: string;
  meaning?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate a model: next-frame error on held-out clips vs copying the last frame, and the alive fraction of random latents, encoded latents and random-weight NCAs')
    .option('--model <dir>', 'model folder (default: the shipped fixtures/model)')
    .option('--data <dir>', 'dataset folder written by nca dataset (its held-out clips are used)', 'data')
    .option('--n <count>', 'renders per group for the alive fraction', '100')
    .addOption(sharedOptions.steps('500'))
    .option('--size <list>', 'sides of the alive renders in cells, comma-separated', '64,128')
    .addOption(sharedOptions.seed())
    .option('--no-meaning', 'skip the latent-meaning measure (instruments x notes and chords, 4 seeds each; docs/latent-meaning.md)')
    .option('--no-write', 'do not write eval.json into the model folder')
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: EvalOpts) => runEval(o));
  withExamples(cmd, ['nca eval --data data/', 'nca eval --model my-model/ --data data/ --n 30 --size 64 --no-meaning --json']);
}

async function runEval(o: EvalOpts): Promise<void> {
  const n = requireInt('--n', o.n, 1, 100_000);
  const steps = requireInt('--steps', o.steps, 2, 1_000_000);
  const sizes = String(o.size).split(',').map((v) => requireInt('--size', v.trim(), 4, 1024));
  const seed = parseSeed(o.seed);
  const threads = parseThreads(o.threads);
  const networks = await import('../core/model/networks.js');
  const dir = o.model ?? networks.DEFAULT_MODEL_DIR;
  const model = await networks.loadModel(dir);
  const { openDataset } = await import('../core/audio/dataset.js');
  const data = await openDataset(o.data);
  const { evaluate } = await import('../core/model/eval.js');
  const bar = progressBar('eval', o);
  let result;
  try {
    result = await evaluate({ model, data, n, steps, sizes, seed, threads, onProgress: bar.onProgress, signal: interruptSignal() });
  } finally {
    bar.stop();
  }
  let meaning = null;
  try {
    if (o.meaning !== false) {
      const { latentMeaning } = await import('../core/model/latent-meaning.js');
      const { loadNotes } = await import('../core/model/notes.js');
      const meaningBar = progressBar('meaning', o);
      try {
        meaning = await latentMeaning(model, { notes: await loadNotes(dir), seed, threads, onProgress: meaningBar.onProgress, signal: interruptSignal() });
      } finally {
        meaningBar.stop();
      }
    }
  } finally {
    model.dispose();
  }
  const out = { model: o.model ?? 'fixtures/model (the shipped model)', data: o.data, ...result, ...(meaning ? { meaning } : {}) };
  if (o.write) {
    const { writeFileAtomic } = await import('../core/io/atomic.js');
    await writeFileAtomic(join(dir, 'eval.json'), JSON.stringify(out, null, 1) + '\n');
  }
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const a = result.alive;
  const line = (name: string, c: AliveCounts) => `  ${name}: ${pct(c.aliveFraction)} alive (${c.alive}/${c.n}; coherent ${c.coherent}, dead ${c.dead}, static ${c.static}, noise ${c.noise})`;
  await report(o, out, [
    `held-out clips: ${result.heldOutClips}`,
    `next-frame error: model ${result.nextFrame.model.toFixed(5)} vs copy-last-frame ${result.nextFrame.copyLast.toFixed(5)} (${result.nextFrame.ratio.toFixed(2)}x); another clip's latent: ${result.nextFrame.latentSwap.toFixed(5)} (+${pct(result.nextFrame.swapRatio - 1)})`,
    `8-frame free rollout: model ${result.rollout8.model.toFixed(5)} vs copy-last-frame ${result.rollout8.copyLast.toFixed(5)} (${result.rollout8.ratio.toFixed(2)}x)`,
    ...a.flatMap((r) => [
      `alive after ${r.steps} frames at ${r.size}x${r.size} from uniform noise:`,
      line('random latents', r.randomLatents),
      line('encoded held-out latents', r.encodedLatents),
      line('random-weight NCAs', r.randomWeights),
    ]),
    ...(meaning ? meaningLines(meaning) : []),
    ...(o.write ? [`wrote ${join(dir, 'eval.json')}`] : []),
  ]);
}

function meaningLines(m: LatentMeaningResult): string[] {
  const d = m.distinct, x = (v: number) => `${v.toFixed(1)}x`, pct = (v: number) => `${(100 * v).toFixed(0)}%`;
  return [
    `latent meaning (${m.settings.instruments.length} instruments x ${m.settings.notes.length} notes, ${m.settings.seeds} seeds, ${m.settings.steps} frames at ${m.settings.size}x${m.settings.size}):`,
    `  renders of different latents are ${x(d.between.all.ratio)} farther apart than one latent's renders under different seeds (same note, other instrument ${x(d.between.sameNote.ratio)}; same instrument, other note ${x(d.between.sameInstrument.ratio)})`,
    `  a render identifies its latent ${pct(d.identification.accuracy)} of the time (chance ${pct(d.identification.chance)}), its instrument ${pct(d.identification.instrumentAccuracy)}, its note ${pct(d.identification.noteAccuracy)}`,
    `  chords between their notes: ${pct(m.chords.betweenFraction)} of ${m.chords.n} (unrelated notes passing the same test: ${pct(m.chords.controlBetweenFraction)})`,
  ];
}
