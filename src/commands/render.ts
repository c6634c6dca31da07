import { checkOutputPath } from '../core/io/output-path.js';
import { Option, type Command } from 'commander';
import { UserError, parseSize, requireChoice, requireInt } from '../core/errors.js';
import { interruptSignal } from './interrupt.js';
import { modelOption } from './model-option.js';
import { parseSeed, parseThreads, report, requireOne, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';
import type { InitSpec } from '../core/render.js';
import type { SourceSpec } from '../core/sources.js';

interface RenderOpts {
  latent?: string;
  audio?: string;
  soundfont?: string;
  params?: string;
  damage?: string;
  random?: boolean;
  model?: string;
  steps: string;
  size: string;
  scale: string;
  every: string;
  fps?: string;
  filter?: string;
  react?: string;
  smooth?: string;
  seed: string;
  perturb: string;
  init?: string;
  protocol?: string;
  out: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerRender(program: Command): void {
  const cmd = program
    .command('render')
    .description('run an NCA from a latent, a parameters file, a random draw or a song, and write a GIF, an MP4 or WebM video (with the song\'s sound), a PNG or a PNG sequence')
    .option('--latent <file>', 'latent file (a single latent or a track), through the model\'s hypernetwork')
    .option('--audio <song>', 'a WAV file, or a MIDI file (.mid) played by the TimGM6mb soundfont, encoded as a track of latents (nca encode --track) and played in time: one frame per 1/fps s, as many steps as the song lasts unless --steps is given')
    .option('--soundfont <file>', 'with a MIDI --audio: the .sf2 or .sf3 bank that plays it (default TimGM6mb)')
    .option('--params <file>', 'NCA parameters file (4640 weights; see nca random --params)')
    .option('--damage <step[,shape[,size[,x,y]]]>', 'with a growing-NCA --params file (nca grow): cut a square or disc at a step, e.g. 200,disc,0.3')
    .option('--random', 'a random latent z ~ N(0, I) (random NCA weights when no trained model is installed)')
    .addOption(modelOption())
    .addOption(sharedOptions.steps())
    .addOption(sharedOptions.size())
    .option('--scale <n>', 'pixel upscaling of the written frames (a video is scaled by ffmpeg, see --filter)', '1')
    .addOption(new Option('--filter <name>', 'video upscaling: smooth (Lanczos) or nearest (crisp cells); default smooth').choices(['smooth', 'nearest']))
    .option('--every <k>', 'write every k-th frame', '1')
    .option('--react <list>', 'with --audio into a video: strengths 0..4 of the reactions, e.g. pulse=1,energy=0.5,colour=2, or off (default 1 each; see docs/music-video.md)')
    .option('--smooth <seconds>', 'with --audio into a video: smoothing of loudness and colour, 0..10 s (default 0.2)')
    .option('--fps <n>', 'frames per second: a GIF 1..50 (default 20), a video 1..120 (default 30)')
    .addOption(sharedOptions.seed())
    .option('--perturb <0-9>', 'latent perturbation while playing (0 = off, 9 = most chaotic)', '0')
    .addOption(new Option('--init <kind>', 'initial grid: decoder | noise | zeros | image:FILE.png (default: decoder for latents, noise otherwise; a music video: noise, or decoder)'))
    .addOption(new Option('--protocol <name>', 'frame: RGB carried, hidden channels re-drawn each frame (the seed\'s viewer); free: the whole state is kept (default: the model\'s training protocol, else frame)').choices(['frame', 'free']))
    .addOption(sharedOptions.out('out/render.gif'))
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: RenderOpts, command: Command) => runRender(o, command.getOptionValueSource('steps') !== 'default'));
  withExamples(cmd, [
    'nca render --random --seed 1 --steps 200 --out out/a.gif',
    'nca render --latent z.json --steps 500 --size 128 --scale 2 --out a.gif',
    'nca render --params p.json --size 96x64 --every 5 --out frames/',
    'nca render --params fixtures/grow/lizard/params.json --steps 300 --damage 150,disc,0.25 --scale 4 --out lizard.gif',
    'nca render --latent z.json --perturb 5 --init image:face.png --out a.png --json',
    'nca render --audio song.wav --fps 12 --size 96 --scale 2 --out song.gif',
    'nca render --audio song.wav --size 640x360 --scale 2 --out song.mp4      # 1280x720, the song\'s sound, visuals that follow it',
    'nca render --audio song.wav --size 480x270 --scale 4 --react pulse=2,colour=0.5 --smooth 0.5 --out song.webm',
    'nca render --audio fixtures/songs/fur-elise.mid --size 320x180 --scale 4 --out fur-elise.mp4   # a MIDI file, with its sound',
    'nca render --random --seed 3 --steps 300 --size 480x270 --scale 4 --filter nearest --out a.webm',
  ]);
}

async function runRender(o: RenderOpts, stepsGiven = true): Promise<void> {
  const which = requireOne(['--latent', '--params', '--random', '--audio'], [o.latent, o.params, o.random, o.audio], 'what to render');
  const { width, height } = parseSize('--size', o.size, 4, 4096);
  let steps = requireInt('--steps', o.steps, 1, 1_000_000);
  const scale = requireInt('--scale', o.scale, 1, 16);
  const every = requireInt('--every', o.every, 1, 1_000_000);
  const { videoFormat } = await import('../core/video/writer.js');
  const video = videoFormat(o.out) !== null;
  // browsers slow GIF delays under 2/100 s down; a video takes up to 120 fps
  const fps = o.fps === undefined ? (video ? 30 : 20) : requireInt('--fps', o.fps, 1, video ? 120 : 50);
  const filter = o.filter === undefined ? undefined : requireChoice('--filter', o.filter, ['smooth', 'nearest'] as const);
  if (filter !== undefined && !video) throw new UserError('--filter chooses how a video is upscaled; write a .mp4 or .webm, or drop it (images are scaled nearest)');
  const perturb = requireInt('--perturb', o.perturb, 0, 9);
  const seed = parseSeed(o.seed);
  const threads = parseThreads(o.threads);
  const protocol = o.protocol === undefined ? undefined : requireChoice('--protocol', o.protocol, ['frame', 'free'] as const);
  const initImage = o.init?.startsWith('image:') ? o.init.slice('image:'.length) : undefined;
  await checkOutputPath(o.out, { kind: 'either', extensions: ['.gif', '.png', '.mp4', '.webm'], what: 'a .gif animation, a .mp4 or .webm video, a .png of the last frame or a folder of PNG frames', inputs: [o.latent, o.params, o.audio, initImage] });
  if (which === 1 && (await (await import('./grow.js')).renderIfGrowParams(o.params!, o, { steps, every, scale, fps, seed, threads, width, height }))) return;
  if (o.damage !== undefined) throw new UserError('--damage cuts a growing NCA: give --params with a params.json made by nca grow');
  if (video) {
    const { findFfmpeg } = await import('../core/video/ffmpeg.js');
    await findFfmpeg(); // no ffmpeg: say so before loading the model
  }

  if (o.soundfont !== undefined) {
    const { isMidiPath } = await import('../core/audio/song-file.js');
    if (o.audio === undefined || !isMidiPath(o.audio)) throw new UserError('--soundfont plays a MIDI file: give --audio song.mid (a WAV file already has its sound)');
  }
  const spec: SourceSpec =
    which === 0 ? { kind: 'latent-file', file: o.latent! }
    : which === 1 ? { kind: 'params', file: o.params! }
    : which === 2 ? { kind: 'random', seed }
    : { kind: 'audio-track', file: o.audio!, fps };
  const { SourceResolver } = await import('../core/sources.js');
  const resolver = new SourceResolver({ modelDir: o.model, threads, soundfont: o.soundfont });
  try {
    const { source, label, audio } = await resolver.resolve(spec);
    if (audio && !o.quiet) for (const w of audio.warnings) process.stderr.write(`nca: warning: ${w}\n`);
    // --audio: one frame per 1/fps s, as many as the audio lasts (step s shows time s / (fps * every))
    if (audio && !stepsGiven) steps = Math.max(1, Math.ceil(audio.seconds * fps) * every);
    if (perturb > 0 && source.kind !== 'latent') throw new UserError('--perturb adds noise to a latent; it needs --latent or --random with a trained model');

    let init: InitSpec | undefined;
    if (o.init !== undefined) {
      if (initImage !== undefined) {
        const { readPng } = await import('../core/io/png.js');
        init = { kind: 'image', image: await readPng(initImage) };
      } else {
        init = { kind: requireChoice('--init', o.init, ['decoder', 'noise', 'zeros'] as const) };
      }
    }
    if (video && audio && source.kind === 'latent' && source.latent.track) {
      // A music video: the reactive frames of the song with its sound (src/core/video/music-video.ts).
      if (perturb > 0 || every > 1) throw new UserError('--perturb and --every do not apply to a music video (--audio into a .mp4 or .webm); the reactions are set by --react and --smooth');
      const { MUSIC_VIDEO_INITS } = await import('../core/react/index.js');
      const videoInit = MUSIC_VIDEO_INITS.find((k) => k === init?.kind);
      if (init !== undefined && videoInit === undefined) throw new UserError(`--init ${o.init} does not apply to a music video; it starts from noise (the default) or --init decoder`);
      await musicVideo(o, { model: source.model, protocol: protocol ?? source.protocol, label, audio, track: source.latent.track, width, height, scale, filter, fps, seed, threads, frames: stepsGiven ? steps : undefined, ...(videoInit ? { init: videoInit } : {}) });
      return;
    }
    if (o.react !== undefined || o.smooth !== undefined) throw new UserError('--react and --smooth shape a music video: give --audio song.wav and a .mp4 or .webm --out');

    const bar = progressBar('render', o);
    try {
      const { render } = await import('../core/render.js');
      const summary = await render(source, {
        width, height, steps, every, scale, fps, seed, perturb, init, protocol, threads, ...(video ? { filter } : {}),
        out: o.out,
        onProgress: bar.onProgress,
        signal: interruptSignal(),
      });
      bar.stop();
      const px = summary.video ? `${summary.video.width}x${summary.video.height}, ${fps} fps${summary.video.audio ? ', with sound' : ''}` : `${width * scale}x${height * scale}`;
      await report(o, { source: label, ...summary }, [
        `wrote ${summary.out} (${summary.framesWritten} frame${summary.framesWritten === 1 ? '' : 's'}, ${px}) from ${label}`,
        // a shorter sequence over a longer one: the older frames numbered past it were removed
        ...(summary.removedStaleFrames ? [`removed ${summary.removedStaleFrames} older frames numbered past the new sequence`] : []),
        `${steps} steps in ${summary.seconds.simulate.toFixed(2)} s (${Math.round(summary.stepsPerSecond)} steps/s), total ${summary.seconds.total.toFixed(2)} s; final state: ${summary.motion.alive}${summary.motion.coherent ? ' (coherent)' : ''}`,
      ]);
    } finally {
      bar.stop();
    }
  } finally {
    resolver.dispose();
  }
}

interface MusicVideoArgs {
  model: import('../core/render.js').LatentModel;
  protocol?: 'frame' | 'free';
  label: string;
  audio: import('../core/audio/song-file.js').SongAudio;
  track: import('../core/latent.js').TrackPoint[];
  width: number;
  height: number;
  scale: number;
  filter?: 'smooth' | 'nearest';
  fps: number;
  seed: number | string;
  threads?: number;
  /** --steps given: the first this many frames. */
  frames?: number;
  /** --init noise | decoder (the core's default: noise). */
  init?: import('../core/react/index.js').MusicVideoInit;
}

/** nca render --audio song.wav --out song.mp4: the reactive frames with the song's sound. */
async function musicVideo(o: RenderOpts, a: MusicVideoArgs): Promise<void> {
  const { parseReact, parseSmooth } = await import('../core/react/index.js');
  const react = o.react === undefined ? undefined : parseReact(o.react);
  const smooth = o.smooth === undefined ? undefined : parseSmooth(o.smooth);
  const bar = progressBar('music video', o);
  try {
    const { writeMusicVideo } = await import('../core/video/music-video.js');
    const r = await writeMusicVideo(a.model, {
      sound: a.audio.sound, samples: a.audio.samples, sampleRate: a.audio.sampleRate, track: a.track,
      width: a.width, height: a.height, scale: a.scale, filter: a.filter, fps: a.fps, react, smooth, seed: a.seed, protocol: a.protocol, threads: a.threads,
      frames: a.frames, init: a.init, out: o.out, onProgress: bar.onProgress, signal: interruptSignal(),
    });
    bar.stop();
    const v = r.video;
    await report(o, { source: a.label, ...r }, [
      `wrote ${r.out} (${r.frames} frames, ${v.width}x${v.height}, ${v.fps} fps, ${r.duration.toFixed(2)} s with sound) from ${a.label}`,
      `${r.steps} NCA steps in ${r.seconds.simulate.toFixed(2)} s; ${r.seconds.total.toFixed(2)} s in all (${(r.seconds.total / r.duration).toFixed(2)}x the song's duration)`,
    ]);
  } finally {
    bar.stop();
  }
}
