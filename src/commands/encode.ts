import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { UserError, requireInt, requireNumber } from '../core/errors.js';
import type { Latent } from '../core/latent.js';
import { modelOption } from './model-option.js';
import { report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';

interface EncodeOpts {
  out?: string;
  start?: string;
  duration?: string;
  track?: boolean;
  fps: string;
  context?: string;
  note?: string;
  notes?: string;
  instrument: string;
  list?: boolean;
  makeNotes?: boolean;
  soundfont?: string;
  model?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerEncode(program: Command): void {
  const cmd = program
    .command('encode [file]')
    .description('sound -> latent: encode a WAV file or a MIDI file played by the soundfont (loudest 2-s window, or a track over the whole file), or a note or chord of the synthesiser from the model\'s note manifest')
    .addOption(sharedOptions.out())
    .option('--start <seconds>', 'start of the window (default: the loudest 2 s)')
    .option('--duration <seconds>', 'length of the window (at most 2 s are used; shorter is padded with silence)')
    .option('--track', 'a track of latents over the whole file (a sliding 2-s window), played in time by nca render')
    .option('--soundfont <file>', 'for a MIDI file: the .sf2 or .sf3 bank that plays it (default TimGM6mb)')
    .option('--fps <n>', 'track points per second', '12')
    .option('--context <png>', 'also save the encoder\'s 4 input frames (spectrogram + 3 circle frames) as a PNG')
    .option('--note <name>', 'a key of the note manifest, e.g. A4 (no audio needed)')
    .option('--notes <list>', 'a chord: comma-separated keys, e.g. F4,A4,C5 (the mean of their latents)')
    .option('--instrument <name>', 'instrument for --note / --notes', 'piano')
    .option('--list', 'list the instruments and notes of the manifest')
    .option('--make-notes', 'compute the note manifest (notes.json) of the model folder')
    .addOption(modelOption())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (file: string | undefined, o: EncodeOpts) => runEncode(file, o));
  withExamples(cmd, [
    'nca encode song.wav --out z.json',
    'nca encode song.wav --start 30 --out z.json --context ctx.png',
    'nca encode song.wav --track --fps 12 --out track.json && nca render --latent track.json --steps 1200 --fps 12 --out video.gif',
    'nca encode fixtures/songs/the-entertainer.mid --track --out entertainer.json   # a MIDI file, played by the TimGM6mb soundfont',
    'nca encode --note A4 --instrument violin --out a4.json',
    'nca encode --notes F4,A4,C5 --out chord.json',
    'nca encode --list',
  ]);
}

function warn(o: EncodeOpts, message: string): void {
  if (!o.quiet) process.stderr.write(`nca: warning: ${message}\n`);
}

async function runEncode(file: string | undefined, o: EncodeOpts): Promise<void> {
  const networks = await import('../core/model/networks.js');
  const dir = o.model ?? networks.DEFAULT_MODEL_DIR;
  const notesLib = await import('../core/model/notes.js');
  if (o.makeNotes) {
    const r = await notesLib.writeNotesManifest(dir);
    await report(o, r, `wrote ${r.path} in ${r.seconds.toFixed(1)} s`);
    return;
  }
  if (o.list) {
    const m = await notesLib.loadNotes(dir);
    await report(o, { instruments: m.instruments, notes: m.notes }, [`instruments: ${m.instruments.join(', ')}`, `notes: ${m.notes.join(', ')}`]);
    return;
  }
  const sources = [file, o.note, o.notes].filter((x) => x !== undefined).length;
  if (sources === 0) throw new UserError('give a WAV or MIDI file, --note or --notes (see nca encode --help)');
  if (sources > 1) throw new UserError('give only one of a WAV or MIDI file, --note, --notes');
  if (o.out === undefined) throw new UserError('give --out z.json (where to write the latent)');
  await checkOutputPath(o.out, { extensions: ['.json'], what: 'the latent', inputs: [file] });
  if (o.context !== undefined) await checkOutputPath(o.context, { option: '--context', extensions: ['.png'], what: 'the encoder\'s input frames', inputs: [file, o.out] });
  const { latentToJson } = await import('../core/latent.js');
  const { writeFileAtomic } = await import('../core/io/atomic.js');

  let latent: Latent;
  let summary: Record<string, unknown>;
  if (o.note !== undefined || o.notes !== undefined) {
    if (o.track || o.start !== undefined || o.duration !== undefined || o.context) throw new UserError('--track, --start, --duration and --context apply to a WAV file, not to --note/--notes');
    const { noteName, parseNote } = await import('../core/audio/synth.js');
    const names = (o.note ?? o.notes!).split(',').map((s) => noteName(parseNote(s.trim(), o.note !== undefined ? '--note' : '--notes')));
    const instrument = o.instrument.toLowerCase();
    const { SourceResolver } = await import('../core/sources.js');
    const z = await new SourceResolver({ modelDir: dir }).latent({ kind: 'notes', notes: names, instrument });
    latent = { z, provenance: { command: 'encode', instrument, notes: names, ...(names.length > 1 ? { chord: 'mean of the notes\' latents' } : {}), model: dir, manifest: 'notes.json' } };
    summary = { out: o.out, instrument, notes: names };
  } else {
    const fps = requireInt('--fps', o.fps, 1, 100);
    const start = o.start === undefined ? undefined : requireNumber('--start', o.start, 0, 1e7);
    const duration = o.duration === undefined ? undefined : requireNumber('--duration', o.duration, 0.01, 1e7);
    if (o.track && (start !== undefined || duration !== undefined)) throw new UserError('--track covers the whole file; drop --start/--duration');
    const { readSongAudio, isMidiPath } = await import('../core/audio/song-file.js');
    if (o.soundfont !== undefined && !isMidiPath(file!)) throw new UserError('--soundfont plays a MIDI file: give a .mid file (a WAV file already has its sound)');
    const decoded = await readSongAudio(file!, { soundfont: o.soundfont });
    for (const w of decoded.warnings) warn(o, w);
    const enc = await import('../core/model/encode.js');
    const { model } = await (await import('../core/sources.js')).loadModel(dir);
    const seconds = decoded.samples.length / decoded.sampleRate;
    try {
      if (o.track) {
        if (o.context) throw new UserError('--context saves one window\'s frames; use it without --track');
        if (seconds < enc.WINDOW_SECONDS) warn(o, `${file} is ${seconds.toFixed(2)} s long, shorter than the ${enc.WINDOW_SECONDS}-s window: padded with silence`);
        const bar = progressBar('encode', o);
        const t0 = performance.now();
        let track;
        try {
          track = await enc.encodeTrack(model, decoded.samples, { fps, sampleRate: decoded.sampleRate, onProgress: bar.onProgress });
        } finally {
          bar.stop();
        }
        latent = { track, provenance: { command: 'encode', source: file, fps, window: `${enc.WINDOW_SECONDS} s centred on each point`, seconds, model: dir } };
        summary = { out: o.out, points: track.length, fps, seconds, encodeSeconds: (performance.now() - t0) / 1000 };
      } else {
        const window = enc.chooseWindow(decoded.samples, { start, duration, sampleRate: decoded.sampleRate });
        if (window.padded) warn(o, `the window of ${file} is ${window.duration.toFixed(2)} s, shorter than ${enc.WINDOW_SECONDS} s: padded with silence`);
        const { z, context } = enc.encodeClip(model, decoded.samples, window, decoded.sampleRate);
        if (peak(enc.windowSamples(decoded.samples, window, decoded.sampleRate)) < 1e-4) warn(o, `the window of ${file} is silent: its latent is that of silence`);
        if (o.context) await saveContext(o.context, context, model.config.frameSize);
        latent = { z, provenance: { command: 'encode', source: file, window: { start: round(window.start), duration: round(window.duration), chosen: start === undefined ? 'loudest' : 'given' }, model: dir } };
        summary = { out: o.out, window, ...(o.context ? { context: o.context } : {}) };
      }
    } finally {
      model.dispose();
    }
  }
  await writeFileAtomic(o.out, latentToJson(latent));
  await report(o, summary, `wrote ${o.out}${latent.track ? ` (a track of ${latent.track.length} latents)` : ''}`);
}

function round(x: number): number {
  return Number(x.toFixed(4));
}

function peak(samples: Float32Array): number {
  let p = 0;
  for (const v of samples) p = Math.max(p, Math.abs(v));
  return p;
}

/** The 4 context frames [4][3][S][S] side by side, each scaled up 4x, 2-pixel gaps. */
async function saveContext(path: string, context: Float32Array, size: number): Promise<void> {
  const { planarToRgba, hstack } = await import('../core/io/image.js');
  const { writePng } = await import('../core/io/png.js');
  const frame = 3 * size * size;
  const images = Array.from({ length: context.length / frame }, (_, f) => planarToRgba(context.subarray(f * frame, (f + 1) * frame), size, size, 4));
  await writePng(path, hstack(images, 2));
}
