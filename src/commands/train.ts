import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { progressBar } from './progress.js';
import { UserError, requireChoice, requireInt, requireNumber } from '../core/errors.js';
import { DEFAULT_FLOORS } from '../core/model/persistence.js';
import { SCALE_WAVELENGTH_LOW } from '../core/model/look-targets.js';
import { DEFAULT_SETTINGS, POOL_GRID_MAX, POOL_GRID_MIN, SCALE_COARSE_MAX, SCALE_FINE_MIN, SCALE_HEIGHT_RANGE_MAX, SCALE_HEIGHT_RANGE_MIN } from '../core/model/training/settings.js';
import { HELD_SONGS_MAX, HELD_SONG_SEED } from '../core/model/training/held-songs.js';
import { TWIN_SOURCES } from '../core/model/training/twins.js';
import { interruptSignal } from './interrupt.js';
import { parseSeed, parseThreads, report, sharedOptions, withExamples } from './options.js';

interface TrainOpts {
  data: string;
  out: string;
  iters: string;
  batch: string;
  seed: string;
  lr: string;
  beta: string;
  samplingMax: string;
  steps?: string;
  persist?: string;
  persistRamp: string;
  poolSteps: string;
  poolReset: string;
  poolGrid: string;
  style: string;
  hueStyle: string;
  scaleWeight: string;
  travelWeight: string;
  travelLag: string;
  scaleFine: string;
  scaleCoarse: string;
  scaleHeightRange: string;
  floorStd: string;
  floorStdPower: string;
  poolFadeStd: string;
  poolEncoded: string;
  looksRandomOnly?: boolean;
  anchor: string;
  initFrom?: string;
  encoderFrom?: string;
  encoderOnly?: boolean;
  twinWeight: string;
  twinSources: string;
  bnMomentum: string;
  holdWeight: string;
  holdSongs: string;
  holdSongsWeight: string;
  checkpointEvery: string;
  logEvery: string;
  resume?: boolean;
  backend?: string;
  notes?: boolean;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description('train the neuromusical model (encoder + hypernetwork + first-frame decoder, the NCA in the loss) on nca dataset output')
    .option('--data <dir>', 'dataset folder written by nca dataset', 'data')
    .addOption(sharedOptions.out('fixtures/model'))
    .option('--iters <n>', 'training iterations (the shipped model: 3200, then 800 of fine-tuning)', '3200')
    .option('--batch <n>', 'clips per iteration', '8')
    .addOption(sharedOptions.seed())
    .option('--lr <x>', 'Adam learning rate (cosine-decayed to 0.1x)', '0.001')
    .option('--beta <x>', 'KL weight', '0.0001')
    .option('--sampling-max <p>', 'scheduled sampling: final probability of feeding back a prediction (ramps from 0 over the first half)', '0.5')
    .option('--steps <n>', 'NCA steps per rollout (default: every frame after the context, 21)')
    .option('--persist <w>', `weight of persistence training: a pool of long-running states kept above structure / smoothness / motion floors (0 = off; default ${DEFAULT_SETTINGS.persistWeight}, 0 with --encoder-only)`)
    .option('--persist-ramp <f>', 'the persistence weight ramps up over this fraction of the run', '0.1')
    .option('--pool-steps <n>', 'frames each pool state runs per iteration', '16')
    .option('--pool-reset <n>', `pool entries replaced by fresh ones per iteration, 0..${DEFAULT_SETTINGS.poolBatch} (of the ${DEFAULT_SETTINGS.poolBatch} drawn from ${DEFAULT_SETTINGS.poolSize}); an entry lives about ${DEFAULT_SETTINGS.poolBatch} / n x --pool-steps frames (0: never replaced once the pool is full)`, String(DEFAULT_SETTINGS.poolReset))
    .option('--pool-grid <n>', `the pool states' grid, n x n cells, ${POOL_GRID_MIN}..${POOL_GRID_MAX} (the default is the clips' size); larger gives the look terms' large wavelengths more than one period`, String(DEFAULT_SETTINGS.poolGrid))
    .option('--style <w>', 'weight of the colour term of persistence training: each pool state keeps its latent\'s colours and contrast', '10')
    .option('--hue-style <0-1>', 'turn fresh random pool latents\' colour targets towards the hue of their pitch-class angle, so random latents cover the hue circle (0 = off)', '0')
    .option('--scale-weight <w>', 'weight of the scale term of persistence training: low notes draw large patterns, high notes fine ones (pitch-height dim; 0 = off)', '0')
    .option('--travel-weight <w>', 'weight of the travel term: latents whose motion dim 19 is > 0 move their pattern one cell every --travel-lag frames, each its own way (0 = off)', '0')
    .option('--travel-lag <n>', 'frames per cell of travel asked by --travel-weight', '4')
    .option('--scale-fine <cells>', `the wavelength --scale-weight asks of the highest notes, ${SCALE_FINE_MIN}..${SCALE_COARSE_MAX} cells`, String(DEFAULT_SETTINGS.scaleFine))
    .option('--scale-coarse <cells>', `the wavelength --scale-weight asks of the lowest notes, --scale-fine..${SCALE_COARSE_MAX} cells (${SCALE_WAVELENGTH_LOW}: one period of the default pool grid)`, String(DEFAULT_SETTINGS.scaleCoarse))
    .option('--scale-height-range <h>', `the pitch-height code (1.5 per octave from A4; a random latent's is N(0, 1)) at which the scale map reaches --scale-fine and --scale-coarse, +-h, ${SCALE_HEIGHT_RANGE_MIN}..${SCALE_HEIGHT_RANGE_MAX}; smaller asks more random latents for the two ends`, String(DEFAULT_SETTINGS.scaleHeightRange))
    .option('--floor-std <s>', 'persistence training\'s structure floor: the spatial std each pool frame is kept above', String(DEFAULT_FLOORS.std))
    .option('--pool-fade-std <s>', 'refill a pool state when next drawn once its spatial std has faded under s, so the loss sees fades from their start (0..1; 0 = off)', String(DEFAULT_SETTINGS.poolFadeStd))
    .option('--pool-encoded <share>', 'the share of fresh pool states that take an encoded training clip\'s latent rather than a random one (0..1); more keeps the latents of real sounds alive, fewer the random ones', String(DEFAULT_SETTINGS.poolEncoded))
    .option('--floor-std-power <a>', 'with --scale-weight: each pool frame\'s structure floor is --floor-std x (its target wavelength / --scale-fine)^a, so large patterns must hold more contrast (0..2; 0 = the plain floor)', String(DEFAULT_SETTINGS.floorStdPower))
    .option('--looks-random-only', 'ask the look terms (--scale-weight, --travel-weight, --floor-std-power) of random latents only; encoded clips\' latents keep the looks their pictures taught')
    .option('--anchor <w>', 'weight of the latent anchors: pitch and General-MIDI family dims pulled towards each clip\'s labels (docs/design.md#latent-anchors; 0 = off)', '0.02')
    .option('--init-from <dir>', 'start from this model folder\'s weights (fine-tuning) instead of random ones')
    .option('--encoder-from <dir>', 'take the encoder from this model folder and keep it fixed: only the hypernetwork and decoder train (a look fine-tune then keeps the encoder\'s pitch, family and melody figures)')
    .option('--encoder-only', 'train the encoder alone: the hypernetwork and decoder are held, so every random latent keeps its look (persistence training is then off)')
    .option('--twin-weight <w>', 'weight of the twin term: the encoder gives two renderings of one note (another velocity or length) one latent, relative to how far apart the batch\'s latents lie; a quarter of each batch is pairs of them (0 = off; the onnx backend)', String(DEFAULT_SETTINGS.twinWeight))
    .option('--twin-sources <which>', `which notes make the twin term's pairs: ${TWIN_SOURCES.join(' or ')} (the own synthesiser's notes only)`, DEFAULT_SETTINGS.twinSources)
    .option('--hold-weight <w>', 'weight of the hold term: the clips that are not twins keep the latents the --init-from model\'s encoder gives them, relative to the batch\'s spread (0 = off; the onnx backend)', String(DEFAULT_SETTINGS.holdWeight))
    .option('--hold-songs <n>', `the hold term also holds the 2-s windows of n songs composed by code (seeds from ${HELD_SONG_SEED}; the music-video benches use 1-10) where the --init-from model's encoder puts them (0 = none; the onnx backend)`, String(DEFAULT_SETTINGS.holdSongs))
    .option('--hold-songs-weight <w>', 'weight of the held songs\' term, relative to their batch\'s spread as --hold-weight is', String(DEFAULT_SETTINGS.holdSongsWeight))
    .option('--bn-momentum <m>', 'how far each iteration moves the encoder\'s BatchNorm running statistics (what encoding uses) towards the batch\'s; 0 keeps the --init-from model\'s', String(DEFAULT_SETTINGS.bnMomentum))
    .option('--checkpoint-every <n>', 'write checkpoint.bin every n iterations', '100')
    .option('--log-every <n>', 'without a terminal: a progress line on stderr every n iterations', '50')
    .option('--resume', 'continue from <out>/checkpoint.bin')
    .option('--backend <name>', "where the networks run: onnx (onnxruntime graphs, no tfjs; ~1.8x faster than wasm), tfjs wasm (XNNPACK, ~2x faster than cpu) or tfjs cpu (default: onnx; with --resume: the checkpoint's, cpu for checkpoints that record none)")
    .option('--no-notes', 'skip computing notes.json (the latents of the 19 keys x 8 instruments) at the end')
    .addOption(sharedOptions.threads())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: TrainOpts) => runTrain(o));
  withExamples(cmd, [
    'nca dataset --out data/ && nca train --data data/ --out base/ --iters 3200 --persist 0   # the shipped model, stage 1 (next frame)',
    'nca train --data data/ --out fixtures/model/ --init-from base/ --iters 800 --lr 0.0003   # stage 2 (persistence)',
    'nca train --data data/ --out my-model/ --iters 4000 --resume',
    'nca train --data data-motifs/ --out look/ --init-from fixtures/model/ --iters 2000 --scale-weight 2 --travel-weight 6 --pool-grid 64   # look terms on a 64 x 64 pool',
    'nca train --data data-motifs/ --out look/ --init-from fixtures/model/ --iters 2000 --scale-weight 2 --pool-reset 1 --pool-steps 32   # pool states that live ~256 frames',
    'nca train --data data-motifs/ --out look/ --init-from fixtures/model/ --iters 2000 --scale-weight 2 --pool-reset 1 --floor-std 0.12 --floor-std-power 0.25   # large patterns hold more contrast',
    'nca train --data data-motifs/ --out look2/ --init-from look/ --encoder-from fixtures/model/ --iters 1500 --scale-weight 2 --looks-random-only   # looks only: the encoder stays fixtures/model\'s',
    'nca train --data data-motifs/ --out twins/ --init-from look/ --encoder-only --twin-weight 3 --twin-sources synth --hold-weight 1 --bn-momentum 0 --batch 16 --iters 1000 --lr 0.0002 --anchor 0.05   # the shipped encoder: two renderings of an own-synthesiser note get one latent, the rest held',
    'nca train --data data/ --out /tmp/m --iters 20 --batch 4 --json',
  ]);
}

async function runTrain(o: TrainOpts): Promise<void> {
  const iters = requireInt('--iters', o.iters, 1, 10_000_000);
  const batch = requireInt('--batch', o.batch, 1, 256);
  const seed = parseSeed(o.seed);
  const lr = requireNumber('--lr', o.lr, 0, 1);
  const beta = requireNumber('--beta', o.beta, 0, 100);
  const samplingMax = requireNumber('--sampling-max', o.samplingMax, 0, 1);
  const steps = o.steps === undefined ? undefined : requireInt('--steps', o.steps, 1, 256);
  const persistWeight = requireNumber('--persist', o.persist ?? (o.encoderOnly ? '0' : String(DEFAULT_SETTINGS.persistWeight)), 0, 1000);
  if (o.encoderOnly && persistWeight > 0) throw new UserError(`--encoder-only holds the hypernetwork, the only network persistence training trains: drop --persist ${o.persist} or give --persist 0`);
  if (o.encoderOnly && o.encoderFrom !== undefined) throw new UserError('--encoder-only trains the encoder alone and --encoder-from holds it fixed: give one of them');
  const twinWeight = requireNumber('--twin-weight', o.twinWeight, 0, 100);
  const holdWeight = requireNumber('--hold-weight', o.holdWeight, 0, 100);
  const twinSources = requireChoice('--twin-sources', o.twinSources, TWIN_SOURCES);
  const holdSongs = requireInt('--hold-songs', o.holdSongs, 0, HELD_SONGS_MAX);
  const bnMomentum = requireNumber('--bn-momentum', o.bnMomentum, 0, 1);
  const holdSongsWeight = requireNumber('--hold-songs-weight', o.holdSongsWeight, 0, 100);
  const persistRamp = requireNumber('--persist-ramp', o.persistRamp, 0, 1);
  const poolSteps = requireInt('--pool-steps', o.poolSteps, 2, 256);
  const poolReset = requireInt('--pool-reset', o.poolReset, 0, DEFAULT_SETTINGS.poolBatch);
  const poolGrid = requireInt('--pool-grid', o.poolGrid, POOL_GRID_MIN, POOL_GRID_MAX);
  const styleWeight = requireNumber('--style', o.style, 0, 1e4);
  const hueStyle = requireNumber('--hue-style', o.hueStyle, 0, 1);
  const anchorWeight = requireNumber('--anchor', o.anchor, 0, 100);
  const scaleWeight = requireNumber('--scale-weight', o.scaleWeight, 0, 1e4);
  const travelWeight = requireNumber('--travel-weight', o.travelWeight, 0, 1e4);
  const floorStd = requireNumber('--floor-std', o.floorStd, 1e-6, 1);
  const scaleFine = requireNumber('--scale-fine', o.scaleFine, SCALE_FINE_MIN, SCALE_COARSE_MAX);
  const scaleCoarse = requireNumber('--scale-coarse', o.scaleCoarse, SCALE_FINE_MIN, SCALE_COARSE_MAX);
  if (scaleCoarse < scaleFine) throw new UserError(`--scale-coarse ${scaleCoarse} is finer than --scale-fine ${scaleFine}; the lowest notes' wavelength must be at least the highest notes'`);
  const scaleHeightRange = requireNumber('--scale-height-range', o.scaleHeightRange, SCALE_HEIGHT_RANGE_MIN, SCALE_HEIGHT_RANGE_MAX);
  const floorStdPower = requireNumber('--floor-std-power', o.floorStdPower, 0, 2);
  const poolFadeStd = requireNumber('--pool-fade-std', o.poolFadeStd, 0, 1);
  const poolEncoded = requireNumber('--pool-encoded', o.poolEncoded, 0, 1);
  const travelLag = requireInt('--travel-lag', o.travelLag, 1, travelWeight > 0 ? poolSteps - 1 : 256);
  const { findModel } = await import('../core/model/networks.js');
  for (const [flag, dir] of [['--init-from', o.initFrom], ['--encoder-from', o.encoderFrom]] as const) {
    if (dir === undefined) continue;
    try {
      await findModel(dir);
    } catch (e) {
      throw e instanceof UserError ? new UserError(`${flag}: ${e.message}`) : e;
    }
  }
  const checkpointEvery = requireInt('--checkpoint-every', o.checkpointEvery, 1, 10_000_000);
  const logEvery = requireInt('--log-every', o.logEvery, 1, 10_000_000);
  const threads = parseThreads(o.threads);
  const backend = o.backend === undefined ? undefined : requireChoice('--backend', o.backend, ['wasm', 'cpu', 'onnx'] as const);
  await checkOutputPath(o.out, { kind: 'folder', what: 'the model folder', inputs: [o.data, o.initFrom, o.encoderFrom] });

  const { openDataset } = await import('../core/audio/dataset.js');
  const { train } = await import('../core/model/train.js');
  const data = await openDataset(o.data);
  const bar = progressBar('train', o, ' | loss {loss} | {spi} s/it');
  const t0 = performance.now();
  let result;
  try {
    result = await train({
      data, outDir: o.out, iters, batch, seed, lr, beta, samplingMax, steps, checkpointEvery, threads, persistWeight, persistRamp, poolSteps, poolReset, poolGrid, styleWeight, hueStyle, anchorWeight, scaleWeight, travelWeight, travelLag, floorStd, scaleFine, scaleCoarse, scaleHeightRange, floorStdPower, poolFadeStd, poolEncoded, looksForClips: !o.looksRandomOnly, encoderOnly: o.encoderOnly === true, twinWeight, twinSources, holdWeight, holdSongs, holdSongsWeight, bnMomentum,
      ...(o.initFrom !== undefined ? { initFrom: o.initFrom } : {}),
      ...(o.encoderFrom !== undefined ? { encoderFrom: o.encoderFrom } : {}),
      ...(backend !== undefined ? { backend } : {}),
      resume: o.resume === true,
      signal: interruptSignal(),
      onProgress: ({ iteration, iters: total, entry, secondsPerIteration }) => {
        if (bar.active) {
          bar.onProgress(iteration, total, { loss: entry.loss.toFixed(5), spi: secondsPerIteration.toFixed(2) });
        } else if (!o.quiet && !o.json && (iteration % logEvery === 0 || iteration === total)) {
          const eta = (total - iteration) * secondsPerIteration;
          process.stderr.write(
            `train ${iteration}/${total} loss ${entry.loss.toFixed(5)} (rollout ${entry.rollout.toFixed(5)}, decoder ${entry.decoder.toFixed(5)}, kl ${entry.kl.toFixed(1)}, anchor ${(entry.anchor ?? 0).toFixed(4)}${entry.twin !== undefined ? `, twin ${entry.twin.toFixed(4)}` : ''}${entry.hold !== undefined ? `, hold ${entry.hold.toFixed(4)}` : ''}${entry.holdSongs !== undefined ? `, songs ${entry.holdSongs.toFixed(4)}` : ''}, ` +
              `persist ${entry.persist.toFixed(3)} = std ${entry.persistStd.toFixed(3)} corr ${entry.persistCorrelation.toFixed(3)} drift ${entry.persistDrift.toFixed(3)} style ${entry.persistStyle.toFixed(4)}${entry.persistScale || entry.persistTravel ? ` scale ${(entry.persistScale ?? 0).toFixed(4)} travel ${(entry.persistTravel ?? 0).toFixed(4)}` : ''}) ` +
              `p ${entry.sampling.toFixed(2)} lr ${entry.lr.toExponential(2)} | ${secondsPerIteration.toFixed(3)} s/it (nca fwd ${entry.ncaForward.toFixed(3)} bwd ${entry.ncaBackward.toFixed(3)}, networks ${entry.networks.toFixed(3)}, optimizer ${entry.optimizer.toFixed(3)}) | ` +
              `elapsed ${((performance.now() - t0) / 60000).toFixed(1)} min, ETA ${(eta / 60).toFixed(1)} min\n`,
          );
        }
      },
    });
  } finally {
    bar.stop();
  }
  let notes: { path: string; seconds: number } | null = null;
  if (result.finished && o.notes !== false) {
    const { writeNotesManifest } = await import('../core/model/notes.js');
    notes = await writeNotesManifest(o.out);
  }
  const s = result.secondsPerIteration;
  await report(o, { ...result, notes }, [
    result.finished ? `trained ${result.iterations} iterations into ${o.out} in ${(result.seconds / 60).toFixed(1)} min` : `stopped at iteration ${result.iterations}; continue with --resume`,
    `loss (mean of the last 50 iterations) ${result.finalLoss.loss.toFixed(5)}: rollout ${result.finalLoss.rollout.toFixed(5)}, decoder ${result.finalLoss.decoder.toFixed(5)}, KL ${result.finalLoss.kl.toFixed(2)}`,
    `${s.total.toFixed(3)} s/iteration on ${result.backend === 'onnx' ? 'onnxruntime' : `tfjs ${result.backend}`}: NCA forward ${s.ncaForward.toFixed(3)}, NCA backward ${s.ncaBackward.toFixed(3)}, networks ${s.networks.toFixed(3)}, optimizer ${s.optimizer.toFixed(3)} (the rest, tfjs and JS: ${s.rest.toFixed(3)})`,
    ...(notes ? [`wrote ${notes.path} in ${notes.seconds.toFixed(1)} s`] : []),
  ]);
}
