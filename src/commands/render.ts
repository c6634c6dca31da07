import { checkOutputPath } from '../core/io/output-path.js';
import { Option, type Command } from 'commander';
import { UserError, parseSize, requireChoice, requireInt } from '../core/errors.js';
import { interruptSignal } from './interrupt.js';
import { hasModel, loadLatentModel, modelOption } from './model-option.js';
import { parseSeed, parseThreads, report, requireOne, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';
import type { InitSpec, RenderSource } from '../core/render.js';

interface RenderOpts {
  latent?: string;
  audio?: string;
  params?: string;
  random?: boolean;
  model?: string;
  steps: string;
  size: string;
  scale: string;
  every: string;
  fps: string;
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
    .description('run an NCA from a latent, a parameters file or a random draw, and write a GIF, a PNG or a PNG sequence')
    .option('--latent <file>', 'latent file (a single latent or a track), through the model\'s hypernetwork')
    .option('--audio <wav>', 'a WAV file, encoded as a track of latents (nca encode --track) and played in time: one frame per 1/fps s, as many steps as the audio lasts unless --steps is given')
    .option('--params <file>', 'NCA parameters file (4640 weights; see nca random --params)')
    .option('--random', 'a random latent z ~ N(0, I) (random NCA weights when no trained model is installed)')
    .addOption(modelOption())
    .addOption(sharedOptions.steps())
    .addOption(sharedOptions.size())
    .option('--scale <n>', 'nearest-neighbour pixel upscaling of the written frames', '1')
    .option('--every <k>', 'write every k-th frame', '1')
    .option('--fps <n>', 'GIF frames per second', '20')
    .addOption(sharedOptions.seed())
    .option('--perturb <0-9>', 'latent perturbation while playing (0 = off, 9 = most chaotic)', '0')
    .addOption(new Option('--init <kind>', 'initial grid: decoder | noise | zeros | image:FILE.png (default: decoder for latents, noise otherwise)'))
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
    'nca render --latent z.json --perturb 5 --init image:face.png --out a.png --json',
    'nca render --audio song.wav --fps 12 --size 96 --scale 2 --out song.gif',
  ]);
}

async function runRender(o: RenderOpts, stepsGiven = true): Promise<void> {
  const which = requireOne(['--latent', '--params', '--random', '--audio'], [o.latent, o.params, o.random, o.audio], 'what to render');
  const { width, height } = parseSize('--size', o.size, 4, 4096);
  let steps = requireInt('--steps', o.steps, 1, 1_000_000);
  const scale = requireInt('--scale', o.scale, 1, 16);
  const every = requireInt('--every', o.every, 1, 1_000_000);
  const fps = requireInt('--fps', o.fps, 1, 50); // browsers slow GIF delays under 2/100 s down
  const perturb = requireInt('--perturb', o.perturb, 0, 9);
  const seed = parseSeed(o.seed);
  const threads = parseThreads(o.threads);
  const protocol = o.protocol === undefined ? undefined : requireChoice('--protocol', o.protocol, ['frame', 'free'] as const);
  const initImage = o.init?.startsWith('image:') ? o.init.slice('image:'.length) : undefined;
  await checkOutputPath(o.out, { kind: 'either', extensions: ['.gif', '.png'], what: 'a .gif animation, a .png of the last frame or a folder of PNG frames', inputs: [o.latent, o.params, o.audio, initImage] });

  const { Rng } = await import('../core/rng.js');
  let source: RenderSource;
  let dispose = () => {};
  let label: string;
  if (which === 1) {
    const { loadParams } = await import('../core/nca/params.js');
    const p = await loadParams(o.params!);
    source = { kind: 'params', params: p.params, protocol: p.protocol };
    label = o.params!;
  } else if (which === 2 && !(await hasModel(o.model))) {
    const { randomParams } = await import('../core/nca/params.js');
    source = { kind: 'params', params: randomParams(new Rng(seed)) };
    label = `random NCA weights (seed ${seed})`;
  } else if (which === 3) {
    // --audio: encode + render in one go, frames synced to the audio's timeline (step s shows time s / (fps * every))
    const { model, protocol } = await loadLatentModel(o.model);
    dispose = () => model.dispose();
    const { readWav } = await import('../core/audio/wav.js');
    const decoded = await readWav(o.audio!);
    if (!o.quiet) for (const w of decoded.warnings) process.stderr.write(`nca: warning: ${w}\n`);
    const seconds = decoded.samples.length / decoded.sampleRate;
    const { encodeTrack } = await import('../core/model/encode.js');
    const track = await encodeTrack(model, decoded.samples, { fps, sampleRate: decoded.sampleRate, threads });
    if (!stepsGiven) steps = Math.max(1, Math.ceil(seconds * fps * every));
    source = { kind: 'latent', latent: { track, provenance: { command: 'render --audio', source: o.audio, fps } }, model, protocol };
    label = `${o.audio} (${seconds.toFixed(1)} s, ${track.length} latents)`;
  } else {
    // the model plays the way it was trained: its config's protocol, unless --protocol overrides it
    const { model, protocol } = await loadLatentModel(o.model);
    dispose = () => model.dispose();
    const { loadLatent, randomLatent } = await import('../core/latent.js');
    const latent = which === 0 ? await loadLatent(o.latent!) : { z: randomLatent(new Rng(seed)), provenance: { command: 'random', seed } };
    source = { kind: 'latent', latent, model, protocol };
    label = which === 0 ? o.latent! : `random latent (seed ${seed})`;
  }
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

  const bar = progressBar('render', o);
  try {
    const { render } = await import('../core/render.js');
    const summary = await render(source, {
      width, height, steps, every, scale, fps, seed, perturb, init, protocol, threads,
      out: o.out,
      onProgress: bar.onProgress,
      signal: interruptSignal(),
    });
    bar.stop();
    // a shorter sequence over a longer one: remove the older frames numbered past it
    await report(o, { source: label, ...summary }, [
      `wrote ${summary.out} (${summary.framesWritten} frame${summary.framesWritten === 1 ? '' : 's'}, ${width * scale}x${height * scale}) from ${label}`,
      ...(summary.removedStaleFrames ? [`removed ${summary.removedStaleFrames} older frames numbered past the new sequence`] : []),
      `${steps} steps in ${summary.seconds.simulate.toFixed(2)} s (${Math.round(summary.stepsPerSecond)} steps/s), total ${summary.seconds.total.toFixed(2)} s; final state: ${summary.motion.alive}${summary.motion.coherent ? ' (coherent)' : ''}`,
    ]);
  } finally {
    bar.stop();
    dispose();
  }
}
