/**
 * The settings of a training run: what each means, its default and its range. They are stored in
 * the checkpoint (a resumed run must match them) and in the trained model's config.
 */
import { UserError } from '../../errors.js';
import { maxRolloutSteps } from '../dataset-batches.js';
import { DEFAULT_CONFIG, isEncoderWeight } from '../networks.js';
import { DEFAULT_FLOORS, DEFAULT_POOL } from '../persistence.js';
import { SCALE_HEIGHT_RANGE, SCALE_WAVELENGTH_HIGH, SCALE_WAVELENGTH_LOW } from '../look-targets.js';
import { TF_BACKENDS, type TfBackend } from '../tf.js';
import { HELD_SONGS_MAX } from './held-songs.js';
import { TWIN_SOURCES, type TwinSources } from './twins.js';

/** Where the networks' forward and backward run: a tfjs backend, or 'onnx' (onnxruntime graphs, no tfjs: onnx-iteration.ts). */
export type TrainBackend = TfBackend | 'onnx';
export const TRAIN_BACKENDS: readonly TrainBackend[] = [...TF_BACKENDS, 'onnx'];

/** The settings of a run (stored in the checkpoint and in the model's config). */
export interface TrainSettings {
  iters: number;
  batch: number;
  seed: number | string;
  /** Adam learning rate at the start; decays along a cosine to lrFinal x lr. */
  lr: number;
  lrFinal: number;
  /** KL weight. */
  beta: number;
  /** Weight of the first-frame decoder's MSE. */
  decoderWeight: number;
  /** Weight of the latent anchors (src/core/model/anchors.ts: pitch and family dims pulled towards the clips' labels; 0 = off). */
  anchorWeight: number;
  /** Gradients are scaled down to this global L2 norm when larger. */
  clipNorm: number;
  /** Scheduled sampling: the probability of feeding back a prediction ramps linearly from 0 ... */
  samplingMax: number;
  /** ... to samplingMax over this fraction of the iterations, then stays. */
  samplingRamp: number;
  /** Std of the fresh hidden channels each frame (docs/design.md: 0.1). */
  noiseStd: number;
  /** NCA steps per rollout (frames predicted after the start frame); default: every frame of the clips. */
  steps: number;
  checkpointEvery: number;
  /**
   * BatchNorm running-statistics momentum (PyTorch's 0.1): each iteration moves the encoder's running statistics,
   * which encoding uses, that far towards the batch's. 0 keeps the starting model's (an encoder fine-tune whose
   * batches are not the music it will encode: docs/training.md, "Twins").
   */
  bnMomentum: number;
  /**
   * Persistence training (src/core/model/persistence.ts): weight of the pool rollout's structure /
   * smoothness / motion floors (0 = off), ramped up linearly over the first persistRamp of the run.
   */
  persistWeight: number;
  persistRamp: number;
  /** The state pool: entries, entries per iteration, frames per iteration, entries refreshed per iteration. */
  poolSize: number;
  poolBatch: number;
  poolSteps: number;
  poolReset: number;
  /**
   * The pool's grid, poolGrid x poolGrid cells (default: the clips' size, FRAME_SIZE): larger than the clips, a
   * pattern of the look terms' largest wavelengths (32 cells) has more than one period in a pool state. Fresh
   * entries are uniform noise or a clip's start frame tiled on the torus (persistence.ts' tileFrame).
   */
  poolGrid: number;
  /**
   * A pool entry whose last frame's spatial std falls under this is refilled when next drawn (persistence.ts'
   * PoolSettings.fadeStd; 0 = off): the loss sees fading states from their start, not dead ones.
   */
  poolFadeStd: number;
  /**
   * 0..1: the share of refilled pool entries that take an encoded training clip's latent (the rest: random
   * N(0, I) latents); persistence.ts' PoolSettings.encodedShare. More keeps the latents real music produces
   * alive, fewer the random ones.
   */
  poolEncoded: number;
  /** The floors: spatial std, neighbour correlation, RMS drift between the halves of a pool rollout. */
  floorStd: number;
  floorCorrelation: number;
  floorDrift: number;
  /** Weight of the colour term inside the persistence loss (0 = off). */
  styleWeight: number;
  /**
   * 0..1: how far a fresh random latent's colour target turns towards the hue of its pitch-class angle
   * (anchors.ts' dims 0, 1), so that random latents cover the whole hue circle (pool.ts' hueStyle; 0 = the
   * first-frame decoder's colours only).
   */
  hueStyle: number;
  /**
   * Weights of the look terms inside the persistence loss (look-targets.ts; 0 = off): the scale each latent's
   * pitch height asks for, and the travel its motion dims ask for (one cell every travelLag frames).
   */
  scaleWeight: number;
  travelWeight: number;
  travelLag: number;
  /**
   * The fine end of the scale term's wavelength map (look-targets.ts' targetWavelength): the cells asked of
   * the highest notes (default SCALE_WAVELENGTH_HIGH, 5.5).
   */
  scaleFine: number;
  /**
   * The coarse end of that map: the cells asked of the lowest notes (default SCALE_WAVELENGTH_LOW, 32, one
   * period of the default pool grid), scaleFine..SCALE_COARSE_MAX.
   */
  scaleCoarse: number;
  /**
   * The pitch-height code at which that map reaches its ends, +-scaleHeightRange (default SCALE_HEIGHT_RANGE, 1.5:
   * 7% of random latents asked for each end; 1: 16%), SCALE_HEIGHT_RANGE_MIN..SCALE_HEIGHT_RANGE_MAX.
   */
  scaleHeightRange: number;
  /**
   * With the scale term on: each pool frame's structure floor is floorStd x (its target wavelength /
   * scaleFine)^floorStdPower (look-targets.ts' structureFloor), so a large target needs more contrast than a
   * fine one (0 = the plain floor floorStd for every frame).
   */
  floorStdPower: number;
  /**
   * Whether the look terms (scaleWeight, travelWeight, floorStdPower) apply to pool states of encoded clips'
   * latents too (true, as before) or to random latents only (false): the clips' latents then keep the looks
   * their pictures taught, under the plain floors.
   */
  looksForClips: boolean;
  /** Start from this model folder's weights instead of random ones ('' = random; Adam starts fresh). */
  initFrom: string;
  /**
   * Take the encoder (its weights and BatchNorm statistics) from this model folder and hold it fixed: only the
   * hypernetwork and the decoder train ('' = the encoder trains too). A look fine-tune so keeps the encoder's
   * figures (pitch, family, melody tracks) exactly; give the initFrom folder to freeze its own encoder.
   */
  encoderFrom: string;
  /**
   * Only the encoder trains: the hypernetwork and the decoder are held (their weights take no step), so every
   * random latent draws exactly what it drew before. The persistence term reaches the hypernetwork only, so it
   * must be off (persistWeight 0).
   */
  encoderOnly: boolean;
  /**
   * Weight of the twin term (twins.ts): the squared distance between the encoder's mu of two renderings of one
   * note (same instrument or program and MIDI note, another velocity, length or augmentation), averaged over the
   * batch's pairs and divided by the batch's spread; 0 = off. With it on, half of each batch's slots are pairs of
   * twins (twins.ts' twinPairs). The onnx backend only.
   */
  twinWeight: number;
  /** Which notes make the twin term's pairs: 'all' (the own synthesiser's and the soundfont's) or 'synth' (twins.ts). */
  twinSources: TwinSources;
  /**
   * Weight of the hold term (hold.ts): the squared distance between the encoder's mu of each clip in no twin group
   * and the mu the initFrom model's encoder gives the same batch, divided by that batch's spread; 0 = off.
   * It keeps the latents the twin term does not ask to move where they were. The onnx backend only; needs
   * initFrom, and an encoder that trains (no encoderFrom).
   */
  holdWeight: number;
  /**
   * Songs composed by code whose 2-second windows are held where the initFrom model's encoder puts them
   * (held-songs.ts): a batch of B windows each iteration beside the clips, the hold term's formula on them with
   * weight holdSongsWeight; 0 = none. The onnx backend only; needs initFrom, and an encoder that trains.
   */
  holdSongs: number;
  /** Weight of the held songs' term (with holdSongs > 0). */
  holdSongsWeight: number;
  /**
   * Where the networks' forward and backward run: 'onnx' (the default: onnxruntime graphs and the losses in JS,
   * onnx-iteration.ts, ~1.8x faster than wasm) or the tfjs backend 'wasm' (XNNPACK, 2-3x faster than cpu) or 'cpu'.
   * Backends differ by float rounding, so a run resumes on its checkpoint's backend (checkpoints without one: 'cpu').
   */
  backend: TrainBackend;
}

export const DEFAULT_SETTINGS: Omit<TrainSettings, 'iters' | 'steps'> = {
  batch: 8,
  seed: 0,
  lr: 1e-3,
  lrFinal: 0.1,
  beta: 1e-4,
  decoderWeight: 1,
  anchorWeight: 0.02,
  clipNorm: 1,
  samplingMax: 0.5,
  samplingRamp: 0.5,
  noiseStd: 0.1,
  checkpointEvery: 100,
  bnMomentum: 0.1,
  persistWeight: 0.05,
  persistRamp: 0.1,
  poolSize: DEFAULT_POOL.size,
  poolBatch: DEFAULT_POOL.batch,
  poolSteps: DEFAULT_POOL.steps,
  poolReset: DEFAULT_POOL.reset,
  poolGrid: DEFAULT_CONFIG.frameSize,
  poolFadeStd: 0,
  poolEncoded: 0.5,
  floorStd: DEFAULT_FLOORS.std,
  floorCorrelation: DEFAULT_FLOORS.correlation,
  floorDrift: DEFAULT_FLOORS.drift,
  styleWeight: 10,
  hueStyle: 0,
  scaleWeight: 0,
  travelWeight: 0,
  travelLag: 4,
  scaleFine: SCALE_WAVELENGTH_HIGH,
  scaleCoarse: SCALE_WAVELENGTH_LOW,
  scaleHeightRange: SCALE_HEIGHT_RANGE,
  floorStdPower: 0,
  looksForClips: true,
  initFrom: '',
  encoderFrom: '',
  encoderOnly: false,
  twinWeight: 0,
  twinSources: 'all',
  holdWeight: 0,
  holdSongs: 0,
  holdSongsWeight: 1,
  backend: 'onnx',
};

/** The finest wavelength scaleFine may ask (cells): 2 is the grid's Nyquist limit. */
export const SCALE_FINE_MIN = 2;
/** The coarsest wavelength scaleCoarse may ask (cells): one period of a 64-cell pool grid. */
export const SCALE_COARSE_MAX = 64;

/** The range of scaleHeightRange: from a step between the two ends (0.25) to 3 sd of a random latent. */
export const SCALE_HEIGHT_RANGE_MIN = 0.25;
export const SCALE_HEIGHT_RANGE_MAX = 3;

/** The range of poolGrid: at least 16 cells (the clips' 32 cropped to half), at most 128 (16x the default's work per pool frame). */
export const POOL_GRID_MIN = 16;
export const POOL_GRID_MAX = 128;

/** What a caller may set: any setting, iters required (extra keys, e.g. TrainOptions' data, are ignored). */
export type SettingsInput = Partial<Omit<TrainSettings, 'iters'>> & { iters: number };

/** The keys a caller may set besides iters (iters is always given). */
const SETTABLE = ['batch', 'seed', 'lr', 'lrFinal', 'beta', 'decoderWeight', 'anchorWeight', 'clipNorm', 'samplingMax', 'samplingRamp', 'noiseStd', 'steps', 'checkpointEvery', 'bnMomentum', 'persistWeight', 'persistRamp', 'poolSize', 'poolBatch', 'poolSteps', 'poolReset', 'poolGrid', 'poolFadeStd', 'poolEncoded', 'floorStd', 'floorCorrelation', 'floorDrift', 'styleWeight', 'hueStyle', 'scaleWeight', 'travelWeight', 'travelLag', 'scaleFine', 'scaleCoarse', 'scaleHeightRange', 'floorStdPower', 'looksForClips', 'initFrom', 'encoderFrom', 'encoderOnly', 'twinWeight', 'twinSources', 'holdWeight', 'holdSongs', 'holdSongsWeight', 'backend'] as const;

/** Validated settings with defaults filled in; steps defaults to (and may not exceed) what clips of framesPerClip frames hold. */
export function resolveSettings(opts: SettingsInput, framesPerClip: number): TrainSettings {
  const maxSteps = maxRolloutSteps(framesPerClip, DEFAULT_CONFIG.contextFrames);
  const s: TrainSettings = { ...DEFAULT_SETTINGS, steps: maxSteps, ...definedSettings(opts), iters: opts.iters };
  const intIn = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new UserError(`${name} must be an integer in ${lo}..${hi}, got ${v}`);
  };
  intIn('iters', s.iters, 1, 10_000_000);
  intIn('batch', s.batch, 1, 256);
  intIn('steps', s.steps, 1, maxSteps);
  intIn('checkpointEvery', s.checkpointEvery, 1, 10_000_000);
  intIn('poolSize', s.poolSize, 1, 100_000);
  intIn('poolBatch', s.poolBatch, 1, Math.min(256, s.poolSize));
  intIn('poolSteps', s.poolSteps, 2, 256);
  intIn('poolReset', s.poolReset, 0, s.poolBatch);
  intIn('poolGrid', s.poolGrid, POOL_GRID_MIN, POOL_GRID_MAX);
  intIn('holdSongs', s.holdSongs, 0, HELD_SONGS_MAX);
  // the travel term compares frames travelLag apart inside one pool rollout (only checked when it is on)
  intIn('travelLag', s.travelLag, 1, s.travelWeight > 0 ? s.poolSteps - 1 : 256);
  for (const [name, v, lo, hi] of [['persistWeight', s.persistWeight, 0, 1000], ['persistRamp', s.persistRamp, 0, 1], ['floorStd', s.floorStd, 1e-6, 1], ['floorCorrelation', s.floorCorrelation, -1, 1], ['floorDrift', s.floorDrift, 1e-6, 1], ['styleWeight', s.styleWeight, 0, 1e4], ['hueStyle', s.hueStyle, 0, 1], ['scaleWeight', s.scaleWeight, 0, 1e4], ['travelWeight', s.travelWeight, 0, 1e4], ['scaleFine', s.scaleFine, SCALE_FINE_MIN, SCALE_COARSE_MAX], ['scaleCoarse', s.scaleCoarse, SCALE_FINE_MIN, SCALE_COARSE_MAX], ['scaleHeightRange', s.scaleHeightRange, SCALE_HEIGHT_RANGE_MIN, SCALE_HEIGHT_RANGE_MAX], ['floorStdPower', s.floorStdPower, 0, 2], ['poolFadeStd', s.poolFadeStd, 0, 1], ['poolEncoded', s.poolEncoded, 0, 1]] as const) {
    if (!(Number.isFinite(v) && v >= lo && v <= hi)) throw new UserError(`${name} must be a number in ${lo}..${hi}, got ${v}`);
  }
  for (const [name, v, lo, hi] of [['lr', s.lr, 0, 1], ['lrFinal', s.lrFinal, 0, 1], ['beta', s.beta, 0, 100], ['decoderWeight', s.decoderWeight, 0, 100], ['anchorWeight', s.anchorWeight, 0, 100], ['twinWeight', s.twinWeight, 0, 100], ['holdWeight', s.holdWeight, 0, 100], ['holdSongsWeight', s.holdSongsWeight, 0, 100], ['clipNorm', s.clipNorm, 0, 1e6], ['samplingMax', s.samplingMax, 0, 1], ['samplingRamp', s.samplingRamp, 0, 1], ['noiseStd', s.noiseStd, 0, 10], ['bnMomentum', s.bnMomentum, 0, 1]] as const) {
    if (!(Number.isFinite(v) && v >= lo && v <= hi)) throw new UserError(`${name} must be a number in ${lo}..${hi}, got ${v}`);
  }
  if (s.scaleCoarse < s.scaleFine) throw new UserError(`scaleCoarse (${s.scaleCoarse} cells, the lowest notes' wavelength) must be at least scaleFine (${s.scaleFine}, the highest notes')`);
  if (typeof s.encoderFrom !== 'string') throw new UserError(`encoderFrom must be a model folder or '', got ${String(s.encoderFrom)}`);
  if (typeof s.looksForClips !== 'boolean') throw new UserError(`looksForClips must be true or false, got ${String(s.looksForClips)}`);
  if (!TRAIN_BACKENDS.includes(s.backend)) throw new UserError(`backend must be one of ${TRAIN_BACKENDS.join(', ')}, got ${String(s.backend)}`);
  if (typeof s.encoderOnly !== 'boolean') throw new UserError(`encoderOnly must be true or false, got ${String(s.encoderOnly)}`);
  if (s.encoderOnly && s.encoderFrom) throw new UserError('encoderOnly trains the encoder alone and encoderFrom holds it fixed: give one of them');
  if (s.encoderOnly && s.persistWeight > 0) throw new UserError(`encoderOnly holds the hypernetwork, the only network the persistence term trains: give persistWeight 0, not ${s.persistWeight}`);
  if (s.twinWeight > 0 && s.backend !== 'onnx') throw new UserError(`twinWeight runs on the onnx backend only, not ${s.backend}: leave the backend at onnx`);
  if (!TWIN_SOURCES.includes(s.twinSources)) throw new UserError(`twinSources must be one of ${TWIN_SOURCES.join(', ')}, got ${String(s.twinSources)}`);
  if (s.twinWeight > 0 && s.batch < 4) throw new UserError(`twinWeight needs a batch of at least 4 (a quarter of it is pairs of twins), got ${s.batch}`);
  for (const [name, on] of [['holdWeight', s.holdWeight > 0], ['holdSongs', s.holdSongs > 0]] as const) {
    if (!on) continue;
    if (s.backend !== 'onnx') throw new UserError(`${name} runs on the onnx backend only, not ${s.backend}: leave the backend at onnx`);
    if (!s.initFrom) throw new UserError(`${name} holds the latents where the initFrom model's encoder puts them: give initFrom (--init-from MODEL)`);
    if (s.encoderFrom) throw new UserError(`${name} holds a training encoder near its start, and encoderFrom holds the encoder fixed: give one of them`);
  }
  return s;
}

/** The settable keys the caller gave a value (undefined = the default). */
function definedSettings(o: SettingsInput): Partial<TrainSettings> {
  const out: Record<string, unknown> = {};
  for (const k of SETTABLE) if (o[k] !== undefined) out[k] = o[k];
  return out as Partial<TrainSettings>;
}

/** Whether the encoder trains under `settings` (its weights step and its BatchNorm statistics move): not when encoderFrom holds it fixed. */
export function encoderTrains(settings: Pick<TrainSettings, 'encoderFrom'>): boolean {
  return settings.encoderFrom === '';
}

/**
 * Whether the weight `name` trains under `settings`: every weight does, except the encoder's when encoderFrom
 * holds it fixed, and only the encoder's with encoderOnly.
 */
export function trainsWeight(settings: Pick<TrainSettings, 'encoderFrom' | 'encoderOnly'>, name: string): boolean {
  if (settings.encoderOnly) return isEncoderWeight(name);
  return encoderTrains(settings) || !isEncoderWeight(name);
}
