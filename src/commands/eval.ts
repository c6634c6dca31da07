import type { Command } from 'commander';
import { join } from 'node:path';
import { requireInt } from '../core/errors.js';
import { interruptSignal } from './interrupt.js';
import { parseSeed, parseThreads, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';
import type { AliveCounts } from '../core/model/eval.js';
import type { LatentMeaningResult } from '../core/model/latent-meaning.js';
import type { MusicEvalResult, MusicSetFigures } from '../core/model/music-eval.js';
import type { VarietyReport } from '../core/variety.js';

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
  music?: boolean;
  variety?: boolean;
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
    .option('--no-music', 'skip the real-music measure: pitch and family of General-MIDI programs held out of training, the own synthesiser, melodies (docs/training.md#real-music)')
    .option('--no-variety', 'skip the variety measure of 32 random latents (hue, wavelength, looks, motion; docs/variety.md)')
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
  let meaning = null, music = null, variety = null;
  try {
    const { loadNotes } = await import('../core/model/notes.js');
    const notes = o.meaning !== false || o.music !== false ? await loadNotes(dir) : null;
    if (notes && o.meaning !== false) {
      const { latentMeaning } = await import('../core/model/latent-meaning.js');
      const { INSTRUMENTS } = await import('../core/audio/synth.js');
      // the measure's instruments: the own synthesiser's 8 names (a manifest may hold many more)
      const named = INSTRUMENTS.filter((i) => notes.instruments.includes(i));
      const meaningBar = progressBar('meaning', o);
      try {
        meaning = await latentMeaning(model, { notes, ...(named.length >= 2 ? { instruments: named } : {}), seed, threads, onProgress: meaningBar.onProgress, signal: interruptSignal() });
      } finally {
        meaningBar.stop();
      }
    }
    if (notes && o.music !== false) {
      const { evaluateMusic } = await import('../core/model/music-eval.js');
      const musicBar = progressBar('music', o);
      try {
        music = await evaluateMusic(model, { notes, seed, threads, onProgress: musicBar.onProgress, signal: interruptSignal() });
      } finally {
        musicBar.stop();
      }
    }
    if (o.variety !== false) {
      const { varietyOfModel } = await import('../core/variety.js');
      const varietyBar = progressBar('variety', o);
      try {
        const { perRender: _perRender, ...summary } = await varietyOfModel(model, { n: 32, size: 64, frames: 300, seed: typeof seed === 'number' ? seed : 0, threads, onProgress: varietyBar.onProgress, signal: interruptSignal() });
        variety = summary;
      } finally {
        varietyBar.stop();
      }
    }
  } finally {
    model.dispose();
  }
  const out = { model: o.model ?? 'fixtures/model (the shipped model)', data: o.data, ...result, ...(meaning ? { meaning } : {}), ...(music ? { music } : {}), ...(variety ? { variety } : {}) };
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
    ...(music ? musicLines(music) : []),
    ...(variety ? varietyLines(variety) : []),
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

function musicLines(m: MusicEvalResult): string[] {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(0)}%`);
  const set = (name: string, f: MusicSetFigures) =>
    `  ${name}: nearest note in notes.json within a semitone ${pct(f.pitchWithinSemitone)} (exact ${pct(f.pitchExact)}), family ${pct(f.family)}${f.instrument !== undefined ? `, instrument ${pct(f.instrument)}` : ''}; anchored pitch within a semitone ${pct(f.anchoredPitchWithinSemitone)}; linear pitch probe r ${f.probeCorrelation.toFixed(2)}`;
  return [
    `real music (${m.heldOut.n} notes of ${m.heldOut.programs.length} General-MIDI programs held out of training, F4..B5):`,
    set('held-out recorded instruments', m.heldOut),
    `  by family (family / pitch within a semitone): ${Object.entries(m.heldOut.perFamily).map(([k, v]) => `${k} ${pct(v.family)}/${pct(v.pitchWithinSemitone)}`).join(', ')}`,
    set('own synthesiser', m.synth),
    ...m.melodies.map((x) => `  melody of program ${x.program} as a track: anchored pitch within a semitone of the note heard ${pct(x.pitchWithinSemitone)} (r ${x.correlation?.toFixed(2) ?? 'n/a'}), linear probe r ${x.probeCorrelation.toFixed(2)}`),
  ];
}

function varietyLines(v: Omit<VarietyReport, 'perRender'>): string[] {
  return [
    `variety of ${v.renders} random latents (64x64, 300 frames from noise): ${v.hueBinsCovered} of 12 hue bins, wavelength ${v.wavelength.p10.toFixed(1)}-${v.wavelength.p90.toFixed(1)} px (${v.wavelength.span.toFixed(2)}x), ${v.effectiveLooks.toFixed(1)} effective looks, commonest ${(100 * v.commonestLookShare).toFixed(0)}%, travelling or rotating without whole-field drift ${(100 * v.travellingOrRotatingWithoutDriftShare).toFixed(0)}%`,
  ];
}
