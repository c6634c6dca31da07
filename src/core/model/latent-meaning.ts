/**
 * "The latent still means something" (issue 7): do different instruments and notes give measurably
 * different renders, and does a chord's render lie between its notes'?
 *
 * Method.
 * - Latents: the note manifest's latents of `instruments` x `noteNames` (default: the 8 instruments
 *   x F4 A4 C5 E5 G5), and per instrument the chords `chords` (default F4+A4+C5, A4+C5+E5,
 *   C5+E5+G5), each the mean of its notes' latents (`meanLatent`, docs/design.md#the-model).
 * - Renders: every latent -> hypernetwork -> NCA, `steps` frames (default 300) at `size` x `size`
 *   (default 64) under the model's protocol, from uniform noise, `seeds` times (default 4). Seed k
 *   is a start (uniform noise drawn from "<seed>/meaning/start/k") and a hidden-noise stream (slot k
 *   of the stream "<seed>/meaning/hidden", restarted for every latent): the same for every latent, so
 *   a difference between latents is not a difference of luck. The seeds of one latent run as one
 *   batch of the engine.
 * - Each render is summarised by its descriptor (src/core/descriptor.ts: colour, contrast, structure
 *   scale, speed and drift over the last 100 frames), standardised over all renders; distances are
 *   RMS z-score differences.
 *
 * Distinctness (note latents only):
 * - `withinSpread`: the mean distance between two renders of one latent under different seeds;
 * - `between.*.distance`: the mean distance between renders of two different latents, over pairs of
 *   renders with different seeds (so both figures compare renders from different noise), for all
 *   pairs and split into same note / different instrument, same instrument / different note, and
 *   both different; `ratio` = distance / withinSpread (> 1: the latents are told apart);
 * - `identification`: leave-one-out nearest centroid: each render is given to the latent whose
 *   other renders' mean descriptor is nearest; the fraction that find their own latent, their own
 *   instrument and their own note, with the chance levels;
 * - all of it again over the note latents whose renders are all alive (`aliveOnly`): a dead render
 *   is a flat colour that differs by latent but hardly by seed, an easy and dull way to differ.
 *
 * Chords (criterion): for a chord of notes n_1..n_k of one instrument, with N_i the mean descriptor
 * of note i's renders, M the mean of the N_i and C the mean descriptor of the chord's renders, the
 * chord lies between its notes when |C - M| < mean_i |N_i - M|: its render is nearer the notes'
 * centre than the notes themselves are. Control: the same test for every other note latent (other
 * instruments, and this instrument's notes outside the chord) in place of C; the criterion means
 * something only if the chords pass it clearly more often than the control does. Also reported:
 * the fraction of features where C lies inside the notes' range [min_i N_i, max_i N_i], for chords
 * and for the control.
 */
import { DESCRIPTOR_FEATURES, DescriptorTracker, centroid, descriptorDistance, standardise } from '../descriptor.js';
import { UserError } from '../errors.js';
import { meanLatent } from '../latent.js';
import { MotionTracker, type AliveClass } from '../metrics.js';
import { protocolSteps, type StepProtocol } from '../nca/graph.js';
import { CHANNELS, PARAM_COUNT, ncaParams } from '../nca/params.js';
import { Rng } from '../rng.js';
import { logit } from '../start-state.js';
import { noteLatent, type NotesManifest } from './notes.js';

/** What the measure needs of the model (NeuroModel has it). */
export interface MeaningModel {
  /** z [B][64] -> NCA parameter vectors [B][4640]. */
  hypernetwork(z: Float32Array, batch: number): Float32Array;
  readonly config?: { readonly [key: string]: unknown };
}

export const DEFAULT_MEANING_NOTES = ['F4', 'A4', 'C5', 'E5', 'G5'] as const;
export const DEFAULT_CHORDS: readonly (readonly string[])[] = [['F4', 'A4', 'C5'], ['A4', 'C5', 'E5'], ['C5', 'E5', 'G5']];

export interface LatentMeaningOptions {
  notes: NotesManifest;
  /** Default: every instrument of the manifest. */
  instruments?: readonly string[];
  /** Default DEFAULT_MEANING_NOTES; every note of `chords` is added. */
  noteNames?: readonly string[];
  /** Chords played on every instrument (default DEFAULT_CHORDS; [] for none). Their notes are rendered too. */
  chords?: readonly (readonly string[])[];
  /** Renders per latent (default 4, at least 2). */
  seeds?: number;
  /** Frames per render (default 300) and grid side (default 64, at least 16). */
  steps?: number;
  size?: number;
  /** Frames at the end of each render that its descriptor looks at (default 100). */
  window?: number;
  seed?: number | string;
  threads?: number;
  /** Default: the model's config.protocol (protocolSteps; 'frame' when absent). */
  protocol?: StepProtocol;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface PairStats {
  /** Mean distance between renders of two different latents (pairs of renders with different seeds). */
  distance: number;
  /** distance / withinSpread. */
  ratio: number;
  /** Latent pairs in the group. */
  pairs: number;
}

export interface Distinctness {
  latents: number;
  withinSpread: number;
  between: { all: PairStats; sameNote: PairStats; sameInstrument: PairStats; differentBoth: PairStats };
  identification: { accuracy: number; chance: number; instrumentAccuracy: number; instrumentChance: number; noteAccuracy: number; noteChance: number };
}

export interface AliveTally {
  dead: number;
  static: number;
  noise: number;
  alive: number;
}

export interface ChordItem {
  instrument: string;
  notes: string[];
  /** |C - M|: the chord's mean descriptor to the notes' centre. */
  chordDistance: number;
  /** mean_i |N_i - M|: the notes' own distance to their centre. */
  notesDistance: number;
  /** Whether chordDistance < notesDistance. */
  between: boolean;
  /** Fraction of features where C lies within the notes' range. */
  insideBox: number;
}

export interface LatentMeaningResult {
  settings: { size: number; steps: number; seeds: number; window: number; seed: number | string; protocol: StepProtocol; instruments: string[]; notes: string[]; chords: string[][] };
  features: readonly string[];
  /** Renders made: (note latents + chords) x seeds. */
  renders: number;
  /** Alive classes (src/core/metrics.ts) of the renders, at the end of `steps` frames. */
  alive: { notes: AliveTally; chords: AliveTally };
  /**
   * Over every note latent, and over the note latents whose renders are all alive (null when fewer
   * than 2): dead renders are flat colours that differ by latent but hardly by seed, which makes
   * latents easy to tell apart for a reason no one would watch.
   */
  distinct: Distinctness & { aliveOnly: Distinctness | null };
  chords: {
    n: number;
    /** Fraction of chords that lie between their notes (the criterion above). */
    betweenFraction: number;
    /** The same test passed by other note latents (the control). */
    controlBetweenFraction: number;
    /** Mean of chordDistance / notesDistance; the control's mean of |other - M| / notesDistance. */
    distanceRatio: number;
    controlDistanceRatio: number;
    insideBox: number;
    controlInsideBox: number;
    items: ChordItem[];
  };
  seconds: { total: number; render: number; perRender: number };
}

/** The step protocol a model plays: its config's `protocol` ('free' or, by default, 'frame'). */
export function modelStepProtocol(model: MeaningModel): StepProtocol {
  return protocolSteps(model.config?.protocol === 'free' ? 'free' : 'frame');
}

export interface DescriptorRunOptions {
  seeds: number;
  steps: number;
  size: number;
  protocol: StepProtocol;
  window?: number;
  seed?: number | string;
  threads?: number;
  /** Called after each parameter vector's renders. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Render every NCA parameter vector (Float32Array [4640] each) under `seeds` seeds and return the
 * raw descriptors [params][seed] (Float32Array [12] each) and alive classes. Seed k is the same
 * start and hidden-noise stream for every parameter vector (see the file comment).
 */
export async function renderDescriptors(params: readonly Float32Array[], opts: DescriptorRunOptions): Promise<{ descriptors: Float32Array[][]; alive: AliveClass[][] }> {
  const { seeds: S, steps, size, protocol } = opts;
  const seed = opts.seed ?? 0;
  const plane = size * size;
  const free = protocol.kind === 'free';
  const visible = free ? 3 : protocol.carry; // channels per grid in onStep's frames
  // Starts: [S][16][H][W], RGB uniform in 0..1 (logits under the free protocol), hidden N(0, 0.1^2).
  const start = new Float32Array(S * CHANNELS * plane);
  for (let k = 0; k < S; k++) {
    const rng = new Rng(`${seed}/meaning/start/${k}`);
    const grid = start.subarray(k * CHANNELS * plane, (k + 1) * CHANNELS * plane);
    rng.fillUniform(grid.subarray(0, 3 * plane));
    rng.fillNormal(grid.subarray(3 * plane), 0, 0.1);
  }
  const startRgb = Array.from({ length: S }, (_, k) => start.slice(k * CHANNELS * plane, k * CHANNELS * plane + 3 * plane));
  if (free) for (let i = 0; i < start.length; i++) if (i % (CHANNELS * plane) < 3 * plane) start[i] = logit(start[i]!);

  const hidden = new RestartableRng(`${seed}/meaning/hidden`);
  const { createEngine } = await import('../nca/engine.js');
  const engine = await createEngine(ncaParams(params[0] ?? new Float32Array(PARAM_COUNT)), {
    width: size, height: size, batch: S, protocol, threads: opts.threads, dynamicWeights: true, rng: hidden, stepsPerRun: 25,
  });
  const descriptors: Float32Array[][] = [];
  const alive: AliveClass[][] = [];
  try {
    for (let p = 0; p < params.length; p++) {
      opts.signal?.throwIfAborted();
      await engine.setParams(ncaParams(params[p]!));
      hidden.restart();
      const trackers = startRgb.map((rgb) => {
        const d = new DescriptorTracker(size, size, steps, { window: opts.window });
        const m = new MotionTracker(size, size, steps);
        d.push(rgb);
        m.push(rgb);
        return { d, m };
      });
      await engine.run(start, steps, (_, frames) => {
        for (let k = 0; k < S; k++) {
          const rgb = frames.subarray(k * visible * plane, (k * visible + 3) * plane);
          trackers[k]!.d.push(rgb);
          trackers[k]!.m.push(rgb);
        }
      }, opts.signal);
      descriptors.push(trackers.map((t) => t.d.finish()));
      alive.push(trackers.map((t) => t.m.finish().alive));
      opts.onProgress?.(p + 1, params.length);
    }
  } finally {
    await engine.dispose();
  }
  return { descriptors, alive };
}

interface LatentEntry {
  instrument: string;
  notes: string[];
  kind: 'note' | 'chord';
  z: Float32Array;
}

/** Measure how much the latent means for the renders (see the file comment). */
export async function latentMeaning(model: MeaningModel, opts: LatentMeaningOptions): Promise<LatentMeaningResult> {
  const t0 = performance.now();
  const m = opts.notes;
  const seeds = opts.seeds ?? 4;
  const steps = opts.steps ?? 300;
  const size = opts.size ?? 64;
  const window = Math.min(opts.window ?? 100, steps);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seeds) || seeds < 2) throw new UserError(`the latent-meaning measure needs at least 2 seeds per latent (a spread), got ${seeds}`);
  if (!Number.isInteger(size) || size < 16) throw new UserError(`the latent-meaning measure needs grids of at least 16 x 16 (its structure lags reach 8 cells), got ${size}`);
  if (!Number.isInteger(steps) || steps < 2) throw new UserError(`the latent-meaning measure needs at least 2 frames per render, got ${steps}`);
  const protocol = opts.protocol ?? modelStepProtocol(model);
  const instruments = [...(opts.instruments ?? m.instruments)];
  const chords = (opts.chords ?? DEFAULT_CHORDS).map((c) => [...c]);
  const noteNames = [...new Set([...(opts.noteNames ?? DEFAULT_MEANING_NOTES), ...chords.flat()])];
  if (instruments.length * noteNames.length < 2) throw new UserError('the latent-meaning measure needs at least 2 note latents (instruments x notes)');

  // Latents: notes first (instrument-major), then chords.
  const latents: LatentEntry[] = [];
  for (const instrument of instruments) for (const note of noteNames) latents.push({ instrument, notes: [note], kind: 'note', z: noteLatent(m, instrument, note) });
  const noteCount = latents.length;
  const indexOf = (instrument: string, note: string) => instruments.indexOf(instrument) * noteNames.length + noteNames.indexOf(note);
  for (const instrument of instruments) {
    for (const c of chords) latents.push({ instrument, notes: c, kind: 'chord', z: meanLatent(c.map((n) => latents[indexOf(instrument, n)]!.z)) });
  }

  // NCA parameters of every latent, in one hypernetwork batch.
  const zAll = new Float32Array(latents.length * 64);
  latents.forEach((l, i) => zAll.set(l.z, i * 64));
  const flat = model.hypernetwork(zAll, latents.length);
  const params = latents.map((_, i) => flat.subarray(i * PARAM_COUNT, (i + 1) * PARAM_COUNT));

  const t1 = performance.now();
  const runs = await renderDescriptors(params, { seeds, steps, size, protocol, window, seed, threads: opts.threads, onProgress: opts.onProgress, signal: opts.signal });
  const tRender = (performance.now() - t1) / 1000;

  // Standardise over every render, then regroup as [latent][seed].
  const z = standardise(runs.descriptors.flat());
  const D = latents.map((_, i) => z.slice(i * seeds, (i + 1) * seeds));
  const notes = D.slice(0, noteCount);
  const aliveOnly = notes.map((_, i) => i).filter((i) => runs.alive[i]!.every((c) => c === 'alive'));

  const result: LatentMeaningResult = {
    settings: { size, steps, seeds, window, seed, protocol, instruments, notes: noteNames, chords },
    features: DESCRIPTOR_FEATURES,
    renders: latents.length * seeds,
    alive: { notes: tally(runs.alive.slice(0, noteCount)), chords: tally(runs.alive.slice(noteCount)) },
    distinct: { ...distinctness(notes, latents.slice(0, noteCount)), aliveOnly: aliveOnly.length >= 2 ? distinctness(aliveOnly.map((i) => notes[i]!), aliveOnly.map((i) => latents[i]!)) : null },
    chords: chordStats(D, latents, noteCount, indexOf),
    seconds: { total: 0, render: tRender, perRender: tRender / (latents.length * seeds) },
  };
  result.seconds.total = (performance.now() - t0) / 1000;
  return result;
}

function distinctness(D: Float32Array[][], latents: LatentEntry[]): Distinctness {
  const L = D.length, S = D[0]!.length;
  // within: pairs of seeds of one latent
  let within = 0, withinPairs = 0;
  for (const renders of D) {
    for (let s = 0; s < S; s++) for (let t = s + 1; t < S; t++) {
      within += descriptorDistance(renders[s]!, renders[t]!);
      withinPairs++;
    }
  }
  const withinSpread = within / Math.max(1, withinPairs);
  // between: pairs of latents, renders with different seeds
  const groups = { all: [0, 0], sameNote: [0, 0], sameInstrument: [0, 0], differentBoth: [0, 0] } as Record<'all' | 'sameNote' | 'sameInstrument' | 'differentBoth', [number, number]>;
  for (let a = 0; a < L; a++) {
    for (let b = a + 1; b < L; b++) {
      let d = 0;
      for (let s = 0; s < S; s++) for (let t = 0; t < S; t++) if (s !== t) d += descriptorDistance(D[a]![s]!, D[b]![t]!);
      d /= S * (S - 1);
      const sameInstrument = latents[a]!.instrument === latents[b]!.instrument;
      const sameNote = latents[a]!.notes[0] === latents[b]!.notes[0];
      const group = sameNote ? 'sameNote' : sameInstrument ? 'sameInstrument' : 'differentBoth';
      for (const g of ['all', group] as const) {
        groups[g][0] += d;
        groups[g][1]++;
      }
    }
  }
  const stats = (g: [number, number]): PairStats => {
    const distance = g[1] ? g[0] / g[1] : 0;
    return { distance, ratio: withinSpread > 0 ? distance / withinSpread : distance > 0 ? Infinity : 0, pairs: g[1] };
  };
  // leave-one-out nearest centroid
  const sums = D.map((renders) => {
    const s = new Float64Array(renders[0]!.length);
    for (const r of renders) for (let f = 0; f < s.length; f++) s[f]! += r[f]!;
    return s;
  });
  const centroids = D.map((renders) => centroid(renders));
  let hit = 0, hitInstrument = 0, hitNote = 0;
  const loo = new Float32Array(D[0]![0]!.length);
  for (let a = 0; a < L; a++) {
    for (let s = 0; s < S; s++) {
      const r = D[a]![s]!;
      for (let f = 0; f < loo.length; f++) loo[f] = (sums[a]![f]! - r[f]!) / (S - 1);
      let best = a, bestD = descriptorDistance(r, loo);
      for (let b = 0; b < L; b++) {
        if (b === a) continue;
        const d = descriptorDistance(r, centroids[b]!);
        if (d < bestD) {
          bestD = d;
          best = b;
        }
      }
      if (best === a) hit++;
      if (latents[best]!.instrument === latents[a]!.instrument) hitInstrument++;
      if (latents[best]!.notes[0] === latents[a]!.notes[0]) hitNote++;
    }
  }
  const n = L * S;
  const instrumentCount = new Set(latents.map((l) => l.instrument)).size;
  const noteCount = new Set(latents.map((l) => l.notes[0])).size;
  return {
    latents: L,
    withinSpread,
    between: { all: stats(groups.all), sameNote: stats(groups.sameNote), sameInstrument: stats(groups.sameInstrument), differentBoth: stats(groups.differentBoth) },
    identification: {
      accuracy: hit / n,
      chance: 1 / L,
      instrumentAccuracy: hitInstrument / n,
      instrumentChance: 1 / instrumentCount,
      noteAccuracy: hitNote / n,
      noteChance: 1 / noteCount,
    },
  };
}

function chordStats(D: Float32Array[][], latents: LatentEntry[], noteCount: number, indexOf: (instrument: string, note: string) => number): LatentMeaningResult['chords'] {
  const centroids = D.map((renders) => centroid(renders));
  const items: ChordItem[] = [];
  let ratio = 0, controlRatio = 0, controlBetween = 0, controlInside = 0, controls = 0;
  for (let i = noteCount; i < latents.length; i++) {
    const { instrument, notes } = latents[i]!;
    const members = notes.map((n) => indexOf(instrument, n));
    const N = members.map((j) => centroids[j]!);
    const M = centroid(N);
    const notesDistance = N.reduce((s, c) => s + descriptorDistance(c, M), 0) / N.length;
    const C = centroids[i]!;
    const chordDistance = descriptorDistance(C, M);
    const item: ChordItem = { instrument, notes, chordDistance, notesDistance, between: chordDistance < notesDistance, insideBox: insideBox(C, N) };
    items.push(item);
    ratio += notesDistance > 0 ? chordDistance / notesDistance : 0;
    for (let j = 0; j < noteCount; j++) {
      if (members.includes(j)) continue;
      const d = descriptorDistance(centroids[j]!, M);
      if (d < notesDistance) controlBetween++;
      controlRatio += notesDistance > 0 ? d / notesDistance : 0;
      controlInside += insideBox(centroids[j]!, N);
      controls++;
    }
  }
  const n = items.length;
  const mean = (x: number, k: number) => (k ? x / k : 0);
  return {
    n,
    betweenFraction: mean(items.filter((c) => c.between).length, n),
    controlBetweenFraction: mean(controlBetween, controls),
    distanceRatio: mean(ratio, n),
    controlDistanceRatio: mean(controlRatio, controls),
    insideBox: mean(items.reduce((s, c) => s + c.insideBox, 0), n),
    controlInsideBox: mean(controlInside, controls),
    items,
  };
}

/** Fraction of features where x lies within [min, max] of the points. */
function insideBox(x: Float32Array, points: Float32Array[]): number {
  let inside = 0;
  for (let f = 0; f < x.length; f++) {
    let lo = Infinity, hi = -Infinity;
    for (const p of points) {
      lo = Math.min(lo, p[f]!);
      hi = Math.max(hi, p[f]!);
    }
    if (x[f]! >= lo && x[f]! <= hi) inside++;
  }
  return inside / x.length;
}

function tally(classes: AliveClass[][]): AliveTally {
  const t: AliveTally = { dead: 0, static: 0, noise: 0, alive: 0 };
  for (const c of classes.flat()) t[c]++;
  return t;
}

/**
 * The engine's hidden-noise source, restarted before every parameter vector so that seed k sees
 * the same noise stream whatever the latent. Every draw goes to the inner generator.
 */
class RestartableRng extends Rng {
  private inner: Rng;
  constructor(private readonly streamSeed: string) {
    super(streamSeed);
    this.inner = new Rng(streamSeed);
  }
  restart(): void {
    this.inner = new Rng(this.streamSeed);
  }
  override nextUint32(): number {
    return this.inner.nextUint32();
  }
  override normal(): number {
    return this.inner.normal();
  }
  override fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    return this.inner.fillNormal(out, mean, std);
  }
}
