/**
 * What a render plays, in one place: a source (a latent or track file, a parameters file, a random
 * draw, notes of the manifest, audio) turned into NCA weights or a latent for the model's
 * hypernetwork, and the one way to load "the model and its protocol".
 *
 * Used by `nca render`, the gallery's job renderer and `nca encode`; the model is loaded once per
 * SourceResolver, on the first source that needs it, and a `--model` that is not a model folder is
 * a UserError (never a silent fallback to random weights).
 */
import type { SongAudio } from './audio/song-file.js';
import { UserError } from './errors.js';
import type { Latent, TrackPoint } from './latent.js';
import type { NeuroModel } from './model/networks.js';
import type { NotesManifest } from './model/notes.js';
import type { Protocol } from './nca/params.js';
import type { RenderSource } from './render.js';

/** A model with the protocol it was trained with (its config's `protocol`), which renders play unless told otherwise. */
export interface LoadedModel {
  model: NeuroModel;
  protocol?: Protocol;
}

/**
 * Loads the model of `dir` (default: the shipped fixtures/model). A UserError when `dir` does not
 * exist, is not a model folder (no model.json), is damaged, or when no `dir` is given and none ships.
 */
export async function loadModel(dir?: string): Promise<LoadedModel> {
  const networks = await import('./model/networks.js');
  const model = await networks.loadModel(dir);
  return { model, protocol: model.config.protocol };
}

/**
 * Whether there is a model to load: a `dir` that is given must be a model folder (a UserError
 * otherwise); without `dir`, whether the shipped model exists.
 */
export async function hasModel(dir?: string): Promise<boolean> {
  const networks = await import('./model/networks.js');
  return (await networks.findModel(dir)) !== null;
}

/**
 * A growing-NCA parameters file (`nca grow`, `nca texture`: the other architecture) given where a
 * parameters file is expected: its parsed JSON, or null when `file` is anything else (including a file
 * that cannot be read or parsed: the usual parameters path reports that). Play it with
 * src/core/grow/render.ts (renderGrowFile).
 */
export async function growParamsSource(file: string): Promise<unknown> {
  const { readTextFile } = await import('./io/read.js');
  const { isGrowParams } = await import('./grow/params.js');
  try {
    const json: unknown = JSON.parse(await readTextFile(file, 'NCA parameters'));
    return isGrowParams(json) ? json : null;
  } catch {
    return null;
  }
}

/** One latent: from a file, the mean of notes of an instrument, a window of a WAV file, or a random draw. */
export type PointSpec =
  | { kind: 'latent'; file: string }
  | { kind: 'notes'; notes: string[]; instrument: string }
  | { kind: 'audio'; file: string; start?: number; duration?: number }
  | { kind: 'random'; seed: number | string };

/** What to render. */
export type SourceSpec =
  /** A latent file: a single latent, or a track played in time. */
  | { kind: 'latent-file'; file: string }
  | { kind: 'params'; file: string }
  /** A random latent z ~ N(0, I); random NCA weights (PyTorch's init) when no model is given and none ships. */
  | { kind: 'random'; seed: number | string }
  | { kind: 'notes'; notes: string[]; instrument: string }
  /** One window of a song (a WAV or MIDI file, audio/song-file.ts; default: the loudest 2 s). */
  | { kind: 'audio'; file: string; start?: number; duration?: number }
  /** A song (a WAV file, or a MIDI file played by the soundfont: audio/song-file.ts) as a track of latents, `fps` points per second. */
  | { kind: 'audio-track'; file: string; fps: number };

export interface ResolvedSource {
  source: RenderSource;
  /** For messages: "z.json", "random latent (seed 3)", "song.wav (31.2 s, 375 latents)". */
  label: string;
  /** An audio track's song: its mono samples at the analysis rate, length, warnings and the sound a video carries (audio/song-file.ts). */
  audio?: SongAudio;
}

export interface SourceResolverOptions {
  /** Model folder; undefined: the shipped fixtures/model. */
  modelDir?: string;
  /** onnxruntime threads for the encoder. */
  threads?: number;
  /** The SF2 / SF3 bank that plays MIDI songs (audio/song-file.ts; default TimGM6mb). */
  soundfont?: string;
}

/** Turns sources into render sources; loads the model and the note manifest once, when first needed. */
export class SourceResolver {
  private loaded: Promise<LoadedModel> | null = null;
  private notes: Promise<NotesManifest> | null = null;
  /** Latents of point sources by their canonical JSON (an interpolation's jobs share their two ends). */
  private readonly points = new Map<string, Float32Array>();

  constructor(private readonly opts: SourceResolverOptions = {}) {}

  /** The model (loaded on first use; a failed load is retried next time). */
  model(): Promise<LoadedModel> {
    this.loaded ??= loadModel(this.opts.modelDir);
    this.loaded.catch(() => (this.loaded = null));
    return this.loaded;
  }

  /** The model's note manifest (its folder's notes.json). */
  notesManifest(): Promise<NotesManifest> {
    this.notes ??= (async () => {
      const { loadNotes } = await import('./model/notes.js');
      const { DEFAULT_MODEL_DIR } = await import('./model/networks.js');
      return loadNotes(this.opts.modelDir ?? DEFAULT_MODEL_DIR);
    })();
    this.notes.catch(() => (this.notes = null));
    return this.notes;
  }

  async resolve(spec: SourceSpec): Promise<ResolvedSource> {
    switch (spec.kind) {
      case 'params': {
        const { loadParams } = await import('./nca/params.js');
        const p = await loadParams(spec.file);
        return { source: { kind: 'params', params: p.params, protocol: p.protocol }, label: spec.file };
      }
      case 'random': {
        if (!(await hasModel(this.opts.modelDir))) {
          const { randomParams } = await import('./nca/params.js');
          const { Rng } = await import('./rng.js');
          return { source: { kind: 'params', params: randomParams(new Rng(spec.seed)) }, label: `random NCA weights (seed ${spec.seed})` };
        }
        const z = await this.latent(spec);
        return this.withModel({ z, provenance: { command: 'random', seed: spec.seed } }, `random latent (seed ${spec.seed})`);
      }
      case 'latent-file': {
        const { loadLatent } = await import('./latent.js');
        const latent = await loadLatent(spec.file);
        return this.withModel(latent, spec.file);
      }
      case 'notes':
        return this.withModel({ z: await this.latent(spec), provenance: { command: 'notes', instrument: spec.instrument, notes: spec.notes } }, `${spec.instrument} ${spec.notes.join(',')}`);
      case 'audio':
        return this.withModel({ z: await this.latent(spec), provenance: { command: 'audio', source: spec.file } }, spec.file);
      case 'audio-track': {
        const { model } = await this.model();
        const { readSongAudio } = await import('./audio/song-file.js');
        const { encodeTrack } = await import('./model/encode.js');
        const song = await readSongAudio(spec.file, { soundfont: this.opts.soundfont });
        const track: TrackPoint[] = await encodeTrack(model, song.samples, { fps: spec.fps, sampleRate: song.sampleRate, threads: this.opts.threads });
        const r = await this.withModel({ track, provenance: { command: 'render --audio', source: spec.file, fps: spec.fps } }, `${spec.file} (${song.seconds.toFixed(1)} s, ${track.length} latents)`);
        return { ...r, audio: song };
      }
    }
  }

  /** The latent of a one-latent source (cached by the source). */
  async latent(p: PointSpec): Promise<Float32Array> {
    const key = JSON.stringify(p);
    const cached = this.points.get(key);
    if (cached) return cached;
    let z: Float32Array;
    switch (p.kind) {
      case 'latent': {
        const { loadLatent } = await import('./latent.js');
        const l = await loadLatent(p.file);
        if (!l.z) throw new UserError(`${p.file} is a track of latents; this source takes a single latent`);
        z = l.z;
        break;
      }
      case 'notes': {
        const { noteLatent } = await import('./model/notes.js');
        const { meanLatent } = await import('./latent.js');
        const m = await this.notesManifest();
        z = meanLatent(p.notes.map((n) => noteLatent(m, p.instrument, n)));
        break;
      }
      case 'audio': {
        const { model } = await this.model();
        const { readSongAudio } = await import('./audio/song-file.js');
        const enc = await import('./model/encode.js');
        const song = await readSongAudio(p.file, { soundfont: this.opts.soundfont });
        const window = enc.chooseWindow(song.samples, { start: p.start, duration: p.duration, sampleRate: song.sampleRate });
        z = enc.encodeClip(model, song.samples, window, song.sampleRate).z;
        break;
      }
      case 'random': {
        const { randomLatent } = await import('./latent.js');
        const { Rng } = await import('./rng.js');
        z = randomLatent(new Rng(p.seed));
        break;
      }
    }
    if (this.points.size > 64) this.points.clear();
    this.points.set(key, z);
    return z;
  }

  /** Releases the model (if it was loaded). */
  dispose(): void {
    void this.loaded?.then(({ model }) => model.dispose(), () => undefined);
    this.loaded = null;
  }

  private async withModel(latent: Latent, label: string): Promise<ResolvedSource> {
    const { model, protocol } = await this.model();
    return { source: { kind: 'latent', latent, model, protocol }, label };
  }
}
