import { Option, type Command } from 'commander';
import { UserError, requireInt, requireNumber } from '../core/errors.js';
import { checkOutputPath } from '../core/io/output-path.js';
import type { MotionPriorName } from '../core/reconstruct/motion.js';
import { interruptSignal } from './interrupt.js';
import { parseSeed, parseThreads, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';

interface ReconstructOpts {
  out?: string;
  keep: string;
  params?: string;
  stepsPerFrame?: string;
  grey?: boolean;
  motion?: MotionPriorName;
  iters: string;
  frames?: string;
  size: string;
  mp4: boolean;
  seed: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerReconstruct(program: Command): void {
  const cmd = program
    .command('reconstruct')
    .description("seed 004's scotopic NCA: rebuild a video from a small random fraction of its pixels, against three baselines (PSNR, SSIM)")
    .argument('<video>', 'a .gif, an .mp4/.webm (needs ffmpeg), or a folder of .png frames')
    .addOption(new Option('-o, --out <dir>', 'output folder: side-by-side.gif (+ .mp4 with ffmpeg), metrics.json, params.json when trained').makeOptionMandatory())
    .option('--keep <fraction>', 'fraction of pixels that arrive each frame, at random', '0.01')
    .option('--params <file>', "a trained NCA (params.json of an earlier run, or fixtures/reconstruct/params.json): apply it without training")
    .option('--steps-per-frame <n>', 'NCA steps between frames (default 4, or the trained NCA\'s)')
    .option('--grey', 'work in grey (luma) instead of colour (when training)')
    .addOption(new Option('--motion <prior>', 'the motion-compensated prior a new NCA starts each frame from: local (per-cell velocities; default) or dual (also a memory carried along one camera path: pans and zooms)').choices(['local', 'dual'] satisfies MotionPriorName[]))
    .option('--iters <n>', 'training iterations when no --params is given (self-supervised on the kept pixels)', '300')
    .option('--frames <n>', 'use only the first n frames')
    .option('--size <n>', 'shrink larger videos (by an integer factor) to at most n cells a side', '64')
    .option('--no-mp4', 'do not write side-by-side.mp4 even when ffmpeg is available')
    .addOption(sharedOptions.seed())
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (video: string, o: ReconstructOpts) => runReconstruct(video, o));
  withExamples(cmd, [
    'nca reconstruct clip.gif --keep 0.01 --out rec/                                  # train on the clip, then rebuild it',
    'nca reconstruct other.gif --params fixtures/reconstruct/params.json --out rec2/  # the shipped NCA, no training',
    'nca reconstruct frames/ --keep 0.05 --steps-per-frame 4 --grey --iters 500 --out rec3/ --json',
    'nca reconstruct pan.mp4 --motion dual --out rec4/                                # a camera pan or zoom: the prior with a second memory along the camera path',
  ]);
}

async function runReconstruct(video: string, o: ReconstructOpts): Promise<void> {
  const keep = requireNumber('--keep', o.keep, 1e-6, 1);
  const iters = requireInt('--iters', o.iters, 1, 1_000_000);
  const maxSide = requireInt('--size', o.size, 8, 1024);
  const stepsPerFrame = o.stepsPerFrame === undefined ? undefined : requireInt('--steps-per-frame', o.stepsPerFrame, 1, 64);
  const maxFrames = o.frames === undefined ? undefined : requireInt('--frames', o.frames, 2, 1_000_000);
  const seed = parseSeed(o.seed);
  const threads = parseThreads(o.threads);
  if (o.grey && o.params) throw new UserError('--grey chooses the colour of a new NCA; a trained one (--params) keeps its own: drop --grey');
  await checkOutputPath(o.out, { kind: 'folder', what: 'the reconstruction folder', inputs: [video, o.params] });
  const { reconstruct } = await import('../core/reconstruct/run.js');
  const bar = progressBar('reconstruct', o, ' | loss {loss}');
  let s;
  try {
    s = await reconstruct({
      video, out: o.out!, keep, params: o.params, colour: o.grey ? 'grey' : undefined, motion: o.motion, stepsPerFrame, iters, maxFrames, maxSide, seed, threads,
      mp4: o.mp4, onProgress: bar.onProgress, signal: interruptSignal(),
    });
  } finally {
    bar.stop();
  }
  const f = (x: number) => x.toFixed(2);
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${f(x)}`;
  await report(o, s, [
    `${s.video}: ${s.frames} frames of ${s.width}x${s.height} ${s.colour === 'rgb' ? 'colour' : 'grey'}, ${+(s.keep * 100).toPrecision(3)}% of pixels kept, ${s.stepsPerFrame} NCA steps per frame, motion prior ${s.motionPrior}`,
    s.trained ? `trained ${s.trained.iterations} iterations on the kept pixels (loss ${s.trained.firstLoss.toFixed(4)} -> ${s.trained.lastLoss.toFixed(4)})` : `NCA from ${s.params}`,
    `mean PSNR / SSIM: NCA ${f(s.nca.meanPsnr)} dB / ${s.nca.meanSsim.toFixed(3)}, hold ${f(s.hold.meanPsnr)} dB / ${s.hold.meanSsim.toFixed(3)}, prior (sigma ${s.prior.sigma}, decay ${s.prior.decay}) ${f(s.priorBaseline.meanPsnr)} dB / ${s.priorBaseline.meanSsim.toFixed(3)}, motion-compensated prior ${f(s.motionBaseline.meanPsnr)} dB / ${s.motionBaseline.meanSsim.toFixed(3)}`,
    `NCA vs the better of hold and prior: ${sign(s.margin)} dB; vs the best of all three baselines: ${sign(s.marginAll)} dB`,
    `wrote ${s.outputs.join(', ')}${s.mp4 === 'written' ? '' : ` (mp4 ${s.mp4})`} in ${s.seconds.toFixed(1)} s`,
  ]);
}
