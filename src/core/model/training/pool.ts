/**
 * Persistence training's side of an iteration: the state pool (persistence.ts' StatePool) of
 * long-running (latent, RGB) states, the rollout the pool runs on, its noise and the previous
 * batch's encodings the pool draws fresh latents from. The pool is kept (and checkpointed) even when
 * persistence training is off (persistWeight 0); then nothing is drawn and no rollout is made.
 */
import { ANCHORS, type AnchorLayout } from '../anchors.js';
import { lookTargets } from '../look-targets.js';
import { NcaRollout, rolloutNoise } from '../nca-op.js';
import { StatePool, frameStyle, type PersistenceFloors, type RolloutShape, type StyleTargets } from '../persistence.js';
import type { Rng } from '../../rng.js';
import type { NamedArrays } from '../weights.js';
import type { TrainSettings } from './settings.js';
import { timeRollout, type RolloutClock } from './timing.js';

/** The pool entries of one iteration: their indices, latents [P][latentDim], start RGB [P][3][G][G] (G = poolGrid) and colour targets. */
export interface PoolBatch {
  picks: number[];
  z: Float32Array;
  rgb: Float32Array;
  style: StyleTargets;
}

/** The clips' geometry (the pool's grid is settings.poolGrid, its own). */
export interface PoolGeometry {
  /** The clips' frames (start frames, the first-frame decoder's pictures, the encoded clips' targets). */
  width: number;
  height: number;
  latentDim: number;
  /** Channels of a decoded state (the first three are RGB). */
  channels: number;
}

export class PersistencePool {
  /** The pool rollout's shape: P entries, Tp frames, poolGrid x poolGrid cells. */
  readonly shape: RolloutShape;
  readonly floors: PersistenceFloors;
  /** Hidden-channel noise [Tp][P][13][G][G] (redrawn each iteration), targets (unused: every step feeds on its own frame) and masks (all 1). */
  readonly noise: Float32Array;
  readonly targets: Float32Array;
  readonly masks: Float32Array;
  private readonly pool: StatePool;
  /**
   * The previous iteration's encoded mu [B][latentDim] and its clips' styles [B][6] (frameStyle of
   * their target frames): where fresh pool latents are drawn from (besides N(0, I)).
   */
  private encoded: { z: Float32Array; style: Float32Array };

  private constructor(
    private readonly settings: TrainSettings,
    private readonly geometry: PoolGeometry,
    /** The rollout of the pool's states; null when persistence training is off. */
    readonly rollout: NcaRollout | null,
    resumed: NamedArrays | null,
  ) {
    const { latentDim } = geometry;
    this.shape = poolShape(settings);
    const { batch: P, steps: Tp, width: W, height: H } = this.shape;
    const on = rollout !== null;
    this.floors = { std: settings.floorStd, correlation: settings.floorCorrelation, drift: settings.floorDrift };
    this.pool = new StatePool(
      { size: settings.poolSize, batch: P, steps: Tp, reset: settings.poolReset, fadeStd: settings.poolFadeStd, encodedShare: settings.poolEncoded },
      latentDim, W, H,
      resumed?.has('z') ? { z: resumed.get('z')!.data, rgb: resumed.get('rgb')!.data, age: resumed.get('age')!.data, style: resumed.get('style')?.data, styled: resumed.get('styled')?.data, fromClip: resumed.get('fromClip')?.data } : undefined,
    );
    this.encoded = { z: resumed?.get('mu')?.data ?? new Float32Array(0), style: resumed?.get('muStyle')?.data ?? new Float32Array(0) };
    this.noise = new Float32Array(on ? Tp * P * 13 * W * H : 0);
    this.targets = new Float32Array(on ? Tp * P * 3 * W * H : 0);
    this.masks = new Float32Array(on ? (Tp - 1) * P : 0).fill(1);
  }

  /**
   * The pool of a run, from the checkpoint's `pool/` tensors (by their names without the prefix) or
   * empty; with persistence training on, its rollout on `threads` onnxruntime threads, timed into `clock`.
   */
  static async create(settings: TrainSettings, geometry: PoolGeometry, resumed: NamedArrays | null, opts: { threads?: number; clock: RolloutClock }): Promise<PersistencePool> {
    const on = settings.persistWeight > 0;
    const rollout = on ? timeRollout(await NcaRollout.create({ ...poolShape(settings), threads: opts.threads }), opts.clock) : null;
    return new PersistencePool(settings, geometry, rollout, resumed);
  }

  /**
   * This iteration's entries (refilling some: StatePool.draw from `rng`, then the pool noise from
   * `rng`), or null when persistence training is off (nothing drawn). `startFrames` [B][3][H][W] are
   * the batch's start frames (clip-sized: tiled onto the pool's grid); `decode(zs, n)` gives the first-frame
   * decoder's states [n][channels][H][W] of n latents, whose colours become the style of fresh random latents.
   */
  draw(rng: Rng, startFrames: Float32Array, decode: (zs: Float32Array, n: number) => Float32Array): PoolBatch | null {
    if (!this.rollout) return null;
    const { latentDim: D, channels, width: W, height: H } = this.geometry;
    const drawn = this.pool.draw(rng, this.encoded, startFrames, this.geometry);
    if (drawn.freshRandom.length > 0) {
      // a random latent's colours: those of the first-frame decoder's picture of it
      const n = drawn.freshRandom.length, plane = H * W;
      const zs = new Float32Array(n * D);
      drawn.freshRandom.forEach((i, k) => zs.set(this.pool.z.subarray(i * D, (i + 1) * D), k * D));
      const decoded = decode(zs, n);
      drawn.freshRandom.forEach((i, k) => {
        const style = frameStyle(decoded.subarray(k * channels * plane, (k * channels + 3) * plane), 1, plane);
        if (this.settings.hueStyle > 0) hueStyle(style, this.pool.z.subarray(i * D, (i + 1) * D), this.settings.hueStyle);
        this.pool.setStyle(i, style);
      });
    }
    const start = this.pool.gather(drawn.picks);
    start.style.scale = this.settings.styleWeight;
    const { scaleWeight, travelWeight, travelLag, scaleFine, scaleCoarse, scaleHeightRange, floorStd, floorStdPower } = this.settings;
    if (scaleWeight > 0 || travelWeight > 0) {
      const P = drawn.picks.length;
      // the structure floor tied to the scale target only when both are asked (floorStdPower 0: the plain floor)
      const floor = scaleWeight > 0 && floorStdPower > 0 ? new Float32Array(P) : undefined;
      const looks = { scale: new Float32Array(P), scaleWeight, travel: new Float32Array(2 * P), travelWeight, lag: travelLag, ...(floor ? { floor } : {}) };
      lookTargets(start.z, P, D, looks.scale, looks.travel, undefined, { fine: scaleFine, coarse: scaleCoarse, range: scaleHeightRange, floorStd, power: floorStdPower }, floor);
      if (!this.settings.looksForClips) {
        // a clip's latent: nothing asked (scale NaN, travel 0, 0) and the plain floor
        drawn.picks.forEach((i, k) => {
          if (this.pool.fromClip[i] !== 1) return;
          looks.scale[k] = NaN;
          looks.travel[2 * k] = 0;
          looks.travel[2 * k + 1] = 0;
          if (floor) floor[k] = floorStd;
        });
      }
      start.style.looks = looks;
    }
    rolloutNoise(rng, this.shape, this.settings.noiseStd, this.noise);
    return { picks: drawn.picks, ...start };
  }

  /** Writes back the last frame of the pool rollout `pred` [Tp][P][3][G][G] into the drawn entries. */
  update(picks: readonly number[], pred: Float32Array): void {
    const { batch: P, steps: Tp, width: W, height: H } = this.shape;
    this.pool.update(picks, pred.subarray((Tp - 1) * P * 3 * H * W), Tp);
  }

  /** Keeps the batch's encoded mu [B][latentDim] and the styles of its clips' target frames `targets` [T][B][3][H][W]. */
  rememberEncoded(mu: Float32Array, targets: Float32Array, batch: number, steps: number): void {
    const { width: W, height: H } = this.geometry;
    const style = new Float32Array(batch * 6);
    const frame = 3 * H * W, clipFrames = new Float32Array(steps * frame);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < steps; t++) clipFrames.set(targets.subarray((t * batch + b) * frame, (t * batch + b + 1) * frame), t * frame);
      frameStyle(clipFrames, steps, H * W, style.subarray(b * 6, (b + 1) * 6));
    }
    this.encoded = { z: mu, style };
  }

  /** The pool's arrays as the checkpoint stores them (`pool/...`), in order. */
  checkpointArrays(): NamedArrays {
    const { poolSize } = this.settings, { latentDim: D } = this.geometry, { width: W, height: H } = this.shape;
    const { z, rgb, age, style, styled, fromClip } = this.pool;
    return new Map([
      ['pool/z', { shape: [poolSize, D], data: z }],
      ['pool/rgb', { shape: [poolSize, 3, H, W], data: rgb }],
      ['pool/age', { shape: [poolSize], data: age }],
      ['pool/style', { shape: [poolSize, 6], data: style }],
      ['pool/styled', { shape: [poolSize], data: styled }],
      ['pool/fromClip', { shape: [poolSize], data: fromClip }],
      ['pool/mu', { shape: [this.encoded.z.length / D, D], data: this.encoded.z }],
      ['pool/muStyle', { shape: [this.encoded.style.length / 6, 6], data: this.encoded.style }],
    ]);
  }

  async dispose(): Promise<void> {
    await this.rollout?.dispose();
  }
}

/** The pool rollout's shape: poolBatch entries of poolGrid x poolGrid cells, poolSteps frames. */
export function poolShape(settings: Pick<TrainSettings, 'poolBatch' | 'poolSteps' | 'poolGrid'>): RolloutShape {
  return { batch: settings.poolBatch, width: settings.poolGrid, height: settings.poolGrid, steps: settings.poolSteps };
}

/** The least chroma a hue-styled colour keeps, relative to its grey level (hueStyle). */
export const HUE_STYLE_MIN_CHROMA = 0.5;

/**
 * Turns a style ([6]: RGB means, then RGB spatial stds) towards the hue of the latent's pitch-class angle
 * atan2(z[pitch + 1], z[pitch]) (anchors.ts), in place: each RGB triple keeps its grey level (the mean of its
 * three values) and its chroma (the rest, at least HUE_STYLE_MIN_CHROMA x the grey), and its chroma is turned to
 * that hue; then the result is blended with the original by `strength`. A dark picture with bright spots stays
 * one, with spots of the latent's hue.
 */
export function hueStyle(style: Float32Array, z: Float32Array, strength: number, layout: AnchorLayout = ANCHORS): void {
  const angle = Math.atan2(z[layout.pitchDim + 1]!, z[layout.pitchDim]!);
  // an orthonormal basis of the chroma plane (perpendicular to grey): red at angle 0
  const e1 = [2 / Math.sqrt(6), -1 / Math.sqrt(6), -1 / Math.sqrt(6)], e2 = [0, 1 / Math.SQRT2, -1 / Math.SQRT2];
  for (const at of [0, 3]) {
    const grey = (style[at]! + style[at + 1]! + style[at + 2]!) / 3;
    let a = 0, b = 0;
    for (let c = 0; c < 3; c++) {
      a += (style[at + c]! - grey) * e1[c]!;
      b += (style[at + c]! - grey) * e2[c]!;
    }
    const chroma = Math.max(Math.hypot(a, b), HUE_STYLE_MIN_CHROMA * grey);
    for (let c = 0; c < 3; c++) {
      const hued = Math.min(0.98, Math.max(0, grey + chroma * (Math.cos(angle) * e1[c]! + Math.sin(angle) * e2[c]!)));
      style[at + c] = (1 - strength) * style[at + c]! + strength * hued;
    }
  }
}
