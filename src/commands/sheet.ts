import { checkOutputPath } from '../core/io/output-path.js';
import { Option, type Command } from 'commander';
import { basename, extname } from 'node:path';
import { UserError, parseSize, requireChoice, requireInt } from '../core/errors.js';
import { interruptSignal } from './interrupt.js';
import { loadLatentModel, modelOption } from './model-option.js';
import { parseSeed, parseThreads, report, requireOne, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';
import type { SheetRow } from '../core/sheet.js';

interface SheetOpts {
  random?: string;
  latent?: string[];
  notesGrid?: boolean;
  instruments?: string;
  notes: string;
  model?: string;
  frames: string;
  size: string;
  scale: string;
  gutter: string;
  labels: boolean;
  blocks: string;
  init: string;
  protocol?: string;
  seed: string;
  fps?: string;
  out: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerSheet(program: Command): void {
  const cmd = program
    .command('sheet')
    .description('a contact sheet PNG: one row per latent, one column per chosen frame, each row classified by the alive measure; or an animated sheet (.mp4 / .webm): every row playing side by side')
    .option('--random <n>', 'n random latents z ~ N(0, I), drawn with seeds seed..seed+n-1 (row i = nca render --random --seed seed+i)')
    .option('--latent <files...>', 'latent files, one row each (a track plays its first latent)')
    .option('--notes-grid', 'the note manifest\'s latents: one row per instrument x note (see --instruments, --notes)')
    .option('--instruments <list>', 'with --notes-grid: comma-separated instruments (default: all of the manifest)')
    .option('--notes <list>', 'with --notes-grid: comma-separated notes', 'F4,A4,C5')
    .addOption(modelOption())
    .option('--frames <list>', 'comma-separated frames to show, ascending (0 = the start grid); the renders run to the last', '0,100,250,500')
    .addOption(sharedOptions.size('64'))
    .option('--scale <n>', 'nearest-neighbour pixel upscaling of each cell', '1')
    .option('--gutter <px>', 'pixels between and around the cells', '2')
    .option('--blocks <k>', 'lay the rows out in k side-by-side blocks (16 rows in 2 blocks of 8: a wider, shorter image)', '1')
    .option('--no-labels', 'no frame numbers above the columns and no row labels (seed, file name, or instrument and note)')
    .addOption(new Option('--init <kind>', 'start grid: uniform noise (as nca eval\'s alive measure) or the model\'s first-frame decoder').choices(['noise', 'decoder']).default('noise'))
    .addOption(new Option('--protocol <name>', 'override the model\'s training protocol (frame | free)').choices(['frame', 'free']))
    .addOption(sharedOptions.seed())
    .option('--fps <n>', 'an animated sheet (.mp4 / .webm --out): steps per second, 1..120 (default 30); it plays from step 0 to the last of --frames')
    .addOption(sharedOptions.out('out/sheet.png'))
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: SheetOpts) => runSheet(o));
  withExamples(cmd, [
    'nca sheet --random 16 --seed 1 --frames 0,100,250,500 --size 64 --scale 2 --out sheet.png',
    'nca sheet --random 16 --seed 1 --blocks 2 --out sheet-wide.png',
    'nca sheet --latent a.json b.json c.json --frames 0,50,100,200,400 --out abc.png',
    'nca sheet --notes-grid --instruments piano,violin,flute --notes F4,C5,G5 --init decoder --out notes.png --json',
    'nca sheet --random 16 --seed 1 --blocks 4 --frames 0,300 --scale 2 --out sheet.mp4   # 16 latents playing, 300 steps at 30 fps',
  ]);
}

async function runSheet(o: SheetOpts): Promise<void> {
  const which = requireOne(['--random', '--latent', '--notes-grid'], [o.random, o.latent, o.notesGrid], 'the latents of the rows');
  const frames = o.frames.split(',').map((f) => requireInt('--frames', f.trim(), 0, 1_000_000));
  const { width, height } = parseSize('--size', o.size, 4, 1024);
  const scale = requireInt('--scale', o.scale, 1, 16);
  const gutter = requireInt('--gutter', o.gutter, 0, 64);
  const blocks = requireInt('--blocks', o.blocks, 1, 64);
  const init = requireChoice('--init', o.init, ['noise', 'decoder'] as const);
  const protocolOverride = o.protocol === undefined ? undefined : requireChoice('--protocol', o.protocol, ['frame', 'free'] as const);
  const seed = parseSeed(o.seed);
  const threads = parseThreads(o.threads);
  const { checkFrames, renderSheet } = await import('../core/sheet.js');
  checkFrames(frames);
  await checkOutputPath(o.out, { extensions: ['.png', '.mp4', '.webm'], what: 'the contact sheet, or an animated one', inputs: o.latent });
  const { videoFormat } = await import('../core/video/writer.js');
  const fps = o.fps === undefined ? undefined : requireInt('--fps', o.fps, 1, 120);
  if (fps !== undefined && !videoFormat(o.out)) throw new UserError('--fps sets the speed of an animated sheet: give a .mp4 or .webm --out');
  if (videoFormat(o.out)) await import('../core/video/ffmpeg.js').then((f) => f.findFfmpeg());

  const { model, protocol } = await loadLatentModel(o.model);
  try {
    const rows: SheetRow[] = [];
    if (which === 0) {
      const n = requireInt('--random', o.random, 1, 1024);
      if (typeof seed !== 'number') throw new UserError('--random draws with seeds seed..seed+n-1: give an integer --seed');
      const { Rng } = await import('../core/rng.js');
      const { randomLatent } = await import('../core/latent.js');
      for (let i = 0; i < n; i++) rows.push({ label: String(seed + i), z: randomLatent(new Rng(seed + i)), seed: seed + i });
    } else if (which === 1) {
      const { latentVector, loadLatent } = await import('../core/latent.js');
      for (const file of o.latent!) rows.push({ label: basename(file, extname(file)).slice(0, 16), z: latentVector(await loadLatent(file)), seed });
    } else {
      const { loadNotes, noteLatent } = await import('../core/model/notes.js');
      const networks = await import('../core/model/networks.js');
      const manifest = await loadNotes(o.model ?? networks.DEFAULT_MODEL_DIR);
      const instruments = o.instruments ? o.instruments.split(',').map((s) => s.trim()) : manifest.instruments;
      const notes = o.notes.split(',').map((s) => s.trim());
      for (const instrument of instruments) for (const note of notes) rows.push({ label: `${instrument} ${note}`, z: noteLatent(manifest, instrument, note), seed });
    }
    const bar = progressBar('sheet', o);
    let summary;
    try {
      summary = await renderSheet(model, rows, {
        width, height, frames, scale, gutter, blocks, labels: o.labels, init, protocol: protocolOverride ?? protocol, threads, out: o.out, fps,
        onProgress: bar.onProgress, signal: interruptSignal(),
      });
    } finally {
      bar.stop();
    }
    const last = frames[frames.length - 1];
    await report(o, summary, [
      summary.video
        ? `wrote ${summary.out} (${summary.width}x${summary.height} px, ${summary.video.frames} frames at ${summary.video.fps} fps): ${rows.length} row${rows.length === 1 ? '' : 's'} playing steps 0..${last} at ${width}x${height}, ${init} start, ${summary.protocol} protocol, in ${summary.seconds.total.toFixed(1)} s`
        : `wrote ${summary.out} (${summary.width}x${summary.height} px): ${rows.length} row${rows.length === 1 ? '' : 's'} x frames ${frames.join(', ')} at ${width}x${height}, ${init} start, ${summary.protocol} protocol, in ${summary.seconds.total.toFixed(1)} s`,
      `alive at frame ${last}: ${summary.alive}/${rows.length} (coherent ${summary.coherent})`,
      ...summary.rows.map((r, i) => `  row ${i + 1} ${r.label}: ${r.alive}${r.coherent ? ' (coherent)' : ''}`),
    ]);
  } finally {
    model.dispose();
  }
}
