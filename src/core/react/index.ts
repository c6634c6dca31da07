/**
 * Audio-reactive rendering: a frame producer for music videos (docs/music-video.md).
 *
 * `renderReactive(model, opts)` analyses the audio (features.ts), makes the plan (plan.ts) and plays it
 * through the engine (src/core/nca/engine.ts, weights fed per frame): per video frame i,
 *   1. the weights of the frame's latent (hypernetwork, in batches of 256 frames);
 *   2. steps_i NCA steps (0..4: loudness is speed, gathered on the onsets);
 *   3. on an onset, the NCA's RGB state zoomed from the centre by PULSE_ZOOM x pulse_i (the NCA grows on from it);
 *   4. the shown picture: the RGB state with the pulse's rings (effects.ts; max(pulse_i, PULSE_DECAY x the last
 *      frame's)), the colour grade (its own chroma-weighted mean hue taken out, GRADE_CENTRE + hue_i set) and the
 *      exposure: the gamma that gives the frame the mean luma brightness_i (ExposureAim, within the plan's bounds);
 *      `onFrame(rgba, i)` receives it (width x height x 4 bytes, one pixel per cell; valid during the call).
 * Frame i shows the audio at i / fps; there are ceil(duration x fps) frames.
 */
import { UserError, invalidParameterError, optionalFunction, optionalInt, optionalSignal, requireInt, requireNumber } from '../errors.js';
import { LATENT_DIM, sampleTrack, type TrackPoint } from '../latent.js';
import { protocolSteps } from '../nca/graph.js';
import { requireProtocol, type Protocol } from '../nca/params.js';
import { Rng } from '../rng.js';
import { sigmoid } from '../nca/reference.js';
import { logit, startState } from '../start-state.js';
import type { LatentModel } from '../render.js';
import { applyPulse, meanOpponent, ExposureAim, rotateHue, showFrame, wrapAngle, PlaneZoom, type PulseKind, PULSE_KINDS } from './effects.js';
import { frameFeatures, type FrameFeatures } from './features.js';
import { frameWeights } from './weights.js';
import { DEFAULT_SMOOTH, reactPlan, requireStrengths, type ReactPlan, type ReactStrengths } from './plan.js';

export { parseReact, parseSmooth, DEFAULT_REACT, DEFAULT_SMOOTH, type ReactStrengths, type ReactPlan } from './plan.js';
export { frameFeatures, type FrameFeatures } from './features.js';

/** The colour grade's hue at the song's middle centroid level, radians (the measure's hue: red 0, yellow 60 deg, green 120 deg, blue -120 deg). */
export const GRADE_CENTRE = 0;
/** The grade's memory of the picture's own mean colour: own_i = mean_i + GRADE_MEMORY x own_(i-1), so a pale frame keeps the last hue. */
export const GRADE_MEMORY = 0.5;
/** The pulse's zoom at full strength: the picture grows by 10 % from the centre. */
export const PULSE_ZOOM = 0.1;
/**
 * The exposure's ducking of the rings: its log2 gamma is this share of the gamma that gives the picture with the
 * rings the aimed brightness, the rest that of the picture without them; so a flash brightens the frame and
 * dims the picture around the rings, each by half (docs/music-video.md#the-exposure-aims-at-a-brightness).
 */
export const RING_DUCKING = 0.5;
/** The pulse's rings fade by this factor per frame on the shown picture. */
export const PULSE_DECAY = 0.5;

/**
 * How the colour reaction reaches the picture: `grade` (default) takes the shown picture's own mean hue out and
 * sets the centroid's; `display` turns the shown picture's hue by the centroid's angle on top of its own; `state`
 * turns the NCA's RGB state (the NCA then carries it).
 */
export type ColourMode = 'grade' | 'display' | 'state';
export type ExposureMode = 'aim' | 'gamma';

export interface ReactiveOptions {
  /** Mono samples of the song and their rate (default 22050). */
  samples: Float32Array;
  sampleRate?: number;
  /** The model's latent track (nca encode --track; points at any times, sampled at i / fps). */
  track: TrackPoint[];
  /** Grid (and frame) size in cells, 4..4096. */
  width: number;
  height: number;
  /** Video frames per second, 1..120. */
  fps: number;
  /** Strengths of pulse, energy, colour (parseReact; default 1 each). */
  react?: ReactStrengths;
  /** Seconds, 0..10 (default DEFAULT_SMOOTH). */
  smooth?: number;
  seed?: number | string;
  /** The model's protocol (default frame). */
  protocol?: Protocol;
  threads?: number;
  /** Frames to render (default: ceil(duration x fps)); fewer renders the start of the song. */
  frames?: number;
  /** Experiments (docs/music-video.md#what-was-tried): the pulse's pattern and where the colour applies. */
  pulseKind?: PulseKind;
  colourMode?: ColourMode;
  /**
   * Experiments: the share of the step budget moved onto onsets (default plan.ts ONSET_STEPS; 0 spreads the steps
   * evenly), the pulse's zoom (default PULSE_ZOOM; 0: none), and the rings' fade per frame on the shown picture
   * (default PULSE_DECAY) or 'state' (pushed into the NCA's state, kept until its next step).
   */
  onsetSteps?: number;
  /** Experiment: reactPlan's hueHighPass (seconds; 0 = off). */
  hueHighPass?: number;
  /** reactPlan's pulseLoudness (default PULSE_LOUDNESS). */
  pulseLoudness?: number;
  /**
   * Experiment: `aim` (default) sets each frame's gamma so that the shown picture has the plan's brightness;
   * `gamma` applies the plan's open-loop gamma (the first exposure, which did not look at the picture).
   */
  exposureMode?: ExposureMode;
  /** How much of the rings' flash the exposure takes back, 0..1 (default RING_DUCKING; 0: the rings brighten the frame on top of the aim, 1: the frame keeps the aimed brightness). */
  ringDucking?: number;
  pulseZoom?: number;
  pulseDecay?: number | 'state';
  /**
   * The start grid (start-state.ts): `noise` (default; uniform noise, as the alive and variety measures and
   * `nca sheet` start) or `decoder` (the first latent's first-frame decoder grid, the start before; with the look
   * model a quiet piano opening grew only a few spots from it and stayed nearly black for tens of seconds:
   * docs/music-video.md#the-start-from-noise).
   */
  init?: MusicVideoInit;
  onFrame: (rgba: Uint8Array, index: number) => void | Promise<void>;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Where a music video starts: uniform noise or the first latent's first-frame decoder grid. */
export type MusicVideoInit = 'noise' | 'decoder';
export const MUSIC_VIDEO_INITS: readonly MusicVideoInit[] = ['noise', 'decoder'];

export interface ReactiveSummary {
  frames: number;
  width: number;
  height: number;
  fps: number;
  steps: number;
  seconds: { analysis: number; simulate: number; total: number };
  plan: ReactPlan;
  features: FrameFeatures;
}

/** The track's latents at t_i = i / fps: Float32Array (frames, 64). */
export function trackLatents(track: TrackPoint[], frames: number, fps: number): Float32Array {
  if (!Array.isArray(track) || track.length === 0) throw invalidParameterError('track', 'a non-empty latent track (encodeTrack)', track);
  const out = new Float32Array(frames * LATENT_DIM);
  for (let i = 0; i < frames; i++) out.set(sampleTrack(track, i / fps), i * LATENT_DIM);
  return out;
}

/** Renders the reactive video's frames (see the module comment). */
export async function renderReactive(model: LatentModel, opts: ReactiveOptions): Promise<ReactiveSummary> {
  const t0 = performance.now();
  if (typeof opts !== 'object' || opts === null) throw invalidParameterError('options', 'an object { samples, track, width, height, fps, onFrame, ... }', opts);
  if (typeof model !== 'object' || model === null || typeof model.hypernetwork !== 'function' || typeof model.decodeFirstFrame !== 'function') {
    throw invalidParameterError('model', 'a model with hypernetwork() and decodeFirstFrame() (see loadModel)', model);
  }
  const W = requireInt('width', opts.width, 4, 4096);
  const H = requireInt('height', opts.height, 4, 4096);
  const fps = requireNumber('fps', opts.fps, 1, 120);
  const sampleRate = optionalInt('sampleRate', opts.sampleRate, 1000, 768000, 22050);
  const threads = opts.threads === undefined ? undefined : requireInt('threads', opts.threads, 1, 64);
  const protocolName = requireProtocol('protocol', opts.protocol ?? 'frame');
  const pulseKind = opts.pulseKind ?? 'rings';
  if (!PULSE_KINDS.includes(pulseKind)) throw invalidParameterError('pulseKind', `one of ${PULSE_KINDS.join(', ')}`, pulseKind);
  const init = opts.init ?? 'noise';
  if (!MUSIC_VIDEO_INITS.includes(init)) throw invalidParameterError('init', `one of ${MUSIC_VIDEO_INITS.join(', ')}`, init);
  const colourMode = opts.colourMode ?? 'grade';
  if (colourMode !== 'display' && colourMode !== 'state' && colourMode !== 'grade') throw invalidParameterError('colourMode', 'display, state or grade', colourMode);
  const exposureMode = opts.exposureMode ?? 'aim';
  if (exposureMode !== 'aim' && exposureMode !== 'gamma') throw invalidParameterError('exposureMode', 'aim or gamma', exposureMode);
  const pulseZoom = requireNumber('pulseZoom', opts.pulseZoom ?? PULSE_ZOOM, 0, 1);
  const pulseDecay = opts.pulseDecay === 'state' ? 'state' : requireNumber('pulseDecay', opts.pulseDecay ?? PULSE_DECAY, 0, 0.99);
  // a reseeded disc is new state (fresh noise for the NCA), never a shown overlay
  const pulseInState = pulseDecay === 'state' || pulseKind === 'reseed';
  const ringDecay = typeof pulseDecay === 'number' ? pulseDecay : 0;
  const onFrame = optionalFunction('onFrame', opts.onFrame);
  if (!onFrame) throw invalidParameterError('onFrame', 'a function (rgba, index) => void', opts.onFrame);
  const onProgress = optionalFunction('onProgress', opts.onProgress);
  const signal = optionalSignal('signal', opts.signal);
  const strengths = requireStrengths('react', opts.react ?? { pulse: 1, energy: 1, colour: 1 });
  if (W * H > 2048 * 2048) throw new UserError(`a ${W}x${H} grid has ${W * H} cells, more than the ${2048 * 2048} nca renders; use a smaller size`);

  const features = frameFeatures(opts.samples, { sampleRate, fps, frames: opts.frames });
  const frames = features.frames;
  const rng = new Rng(opts.seed ?? 0);
  const plan = reactPlan(features, { strengths, smooth: opts.smooth ?? DEFAULT_SMOOTH, seed: rng.nextUint32(), track: trackLatents(opts.track, frames, fps), onsetSteps: opts.onsetSteps, hueHighPass: opts.hueHighPass, pulseLoudness: opts.pulseLoudness });
  const tAnalysis = performance.now();

  const plane = W * H;
  const free = protocolName === 'free';
  const effectRng = rng.fork();
  // The start: uniform noise, or the first-frame decoder's grid of the first latent tiled over the torus.
  const state = await startState({ kind: init }, { width: W, height: H, protocol: protocolName, rng: rng.fork(), decoder: { model, z: plan.latents.slice(0, LATENT_DIM) } });
  // Weights per frame, computed 256 frames at a time.
  const weights = await frameWeights(model, plan.latents, frames, threads);
  const { createEngine } = await import('../nca/engine.js');
  const engine = await createEngine(await weights.at(0), { width: W, height: H, protocol: protocolSteps(protocolName), threads, dynamicWeights: true, rng: rng.fork() }).catch(async (e: unknown) => {
    await weights.dispose();
    throw e;
  });
  const rgb = new Float32Array(3 * plane);
  const rgba = new Uint8Array(plane * 4);
  const opponent = new Float64Array(2);
  const aim = new ExposureAim();
  const ringDucking = requireNumber('ringDucking', opts.ringDucking ?? RING_DUCKING, 0, 1);
  // the picture before the shown rings, for the exposure's ducking (not needed when the rings are in the state or fully ducked)
  const ducked = exposureMode === 'aim' && !pulseInState && ringDucking < 1;
  const base = new Float32Array(ducked ? 3 * plane : 0);
  let ownA = 0, ownB = 0;
  let shownPulse = 0;
  const zoom = pulseZoom > 0 ? new PlaneZoom(W, H) : null;
  let x: Float32Array = state;
  let steps = 0;
  let shownHue = 0;
  let lastReport = 0;
  try {
    for (let i = 0; i < frames; i++) {
      signal?.throwIfAborted();
      if (i > 0) await engine.setParams(await weights.at(i));
      const n = plan.steps[i]!;
      if (n > 0) x = await engine.run(x, n, undefined, signal);
      steps += n;
      // the reactions that reach the NCA's RGB state (0..1; free protocol: the sigmoid of its logits): shown now, grown from next
      readRgb(x, rgb, free);
      let changed = false;
      if (plan.pulse[i]! > 0) {
        zoom?.apply(rgb, pulseZoom * Math.min(1, plan.pulse[i]!));
        if (pulseInState) applyPulse(rgb, W, H, plan.pulse[i]!, pulseKind, (i / fps) * 0.5, effectRng);
        changed = pulseZoom > 0 || pulseInState;
      }
      if (colourMode === 'state' && plan.hue[i] !== shownHue) {
        rotateHue(rgb, plane, plan.hue[i]! - shownHue);
        shownHue = plan.hue[i]!;
        changed = true;
      }
      if (changed) writeRgb(rgb, x, free);
      if (!pulseInState) {
        // the rings on the shown picture only: they appear with the onset and fade by ringDecay per frame
        shownPulse = Math.max(plan.pulse[i]!, ringDecay * shownPulse);
        if (shownPulse > 0.01) {
          if (ducked) base.set(rgb);
          applyPulse(rgb, W, H, shownPulse, pulseKind, (i / fps) * 0.5, effectRng);
        }
      }
      // the shown picture: hue turned (display mode), exposure, RGBA bytes
      let angle = colourMode === 'display' ? plan.hue[i]! : 0;
      if (colourMode === 'grade' && strengths.colour > 0) {
        // the frame's own mean hue out, the centroid's in (the picture's hue contrasts kept)
        meanOpponent(rgb, plane, opponent);
        ownA = opponent[0]! + GRADE_MEMORY * ownA;
        ownB = opponent[1]! + GRADE_MEMORY * ownB;
        angle = wrapAngle(GRADE_CENTRE + plan.hue[i]! - Math.atan2(ownB, ownA));
      }
      const [gLo, gHi] = plan.gammaBounds;
      let gamma = plan.exposure[i]!;
      if (exposureMode === 'aim') {
        gamma = ducked && shownPulse > 0.01
          ? aim.duckedGamma(base, rgb, plane, angle, plan.brightness[i]!, gLo, gHi, ringDucking)
          : aim.gamma(rgb, plane, angle, plan.brightness[i]!, gLo, gHi);
      }
      showFrame(rgb, plane, angle, gamma, rgba);
      await onFrame(rgba, i);
      if (onProgress && (i === frames - 1 || performance.now() - lastReport > 100)) {
        lastReport = performance.now();
        onProgress(i + 1, frames);
      }
    }
  } finally {
    await engine.dispose();
    await weights.dispose();
  }
  const tEnd = performance.now();
  return {
    frames, width: W, height: H, fps, steps,
    seconds: { analysis: (tAnalysis - t0) / 1000, simulate: (tEnd - tAnalysis) / 1000, total: (tEnd - t0) / 1000 },
    plan, features,
  };
}

/** Channels 0..2 of a state [16][H][W] as RGB in 0..1 (the free protocol keeps logits there). */
function readRgb(state: Float32Array, rgb: Float32Array, free: boolean): void {
  if (!free) return void rgb.set(state.subarray(0, rgb.length));
  for (let i = 0; i < rgb.length; i++) rgb[i] = sigmoid(state[i]!);
}

function writeRgb(rgb: Float32Array, state: Float32Array, free: boolean): void {
  if (!free) return void state.set(rgb);
  for (let i = 0; i < rgb.length; i++) state[i] = logit(rgb[i]!);
}
