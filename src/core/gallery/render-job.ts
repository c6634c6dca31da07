/**
 * Renders one gallery job: turns its source into a latent (or NCA parameters) and calls render().
 * A JobRenderer lives in each worker thread and loads the model (tfjs) and the note manifest once,
 * on the first job that needs them.
 */
import { UserError } from '../errors.js';
import type { Latent, TrackPoint } from '../latent.js';
import type { NeuroModel } from '../model/networks.js';
import type { NotesManifest } from '../model/notes.js';
import type { Protocol } from '../nca/params.js';
import type { InitSpec, RenderSource } from '../render.js';
import type { GalleryJob, PointSource } from './jobs.js';
import type { GalleryRecord } from './record.js';

/** What a finished job adds to its record. */
export type JobOutcome =
  | { ok: true; seconds: number; motion: NonNullable<GalleryRecord['motion']>; width: number; height: number; steps: number; frames: number; bytes: number }
  | { ok: false; seconds: number; error: string };

export interface RendererOptions {
  /** Model folder (absolute); undefined: the shipped fixtures/model. */
  modelDir?: string;
  /** onnxruntime threads per render. */
  threads: number;
}

export class JobRenderer {
  private model: Promise<{ model: NeuroModel; protocol?: Protocol }> | null = null;
  private notes: Promise<NotesManifest> | null = null;
  /** Latents of interpolation ends, by their canonical JSON (a walk's n jobs share two ends). */
  private readonly points = new Map<string, Float32Array>();

  constructor(private readonly opts: RendererOptions) {}

  /**
   * Render `job` to `outPath` (absolute; its folder exists). Failures of the job itself (a missing
   * or malformed input, an impossible setting) come back as { ok: false }; an abort rejects.
   */
  async run(job: GalleryJob, outPath: string, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<JobOutcome> {
    const t0 = performance.now();
    try {
      const { render } = await import('../render.js');
      const { source, steps } = await this.renderSource(job);
      const s = job.settings;
      const summary = await render(source, {
        width: s.width,
        height: s.height,
        steps,
        every: s.every,
        scale: s.scale,
        fps: s.fps,
        seed: s.seed,
        perturb: s.perturb,
        init: await initSpec(s.init),
        protocol: s.protocol,
        threads: this.opts.threads,
        out: outPath,
        onProgress,
        signal,
      });
      const { stat } = await import('node:fs/promises');
      const { change: _change, ...motion } = summary.motion;
      return {
        ok: true,
        seconds: (performance.now() - t0) / 1000,
        motion,
        width: summary.width * s.scale,
        height: summary.height * s.scale,
        steps: summary.steps,
        frames: summary.framesWritten,
        bytes: (await stat(outPath)).size,
      };
    } catch (e) {
      if (signal?.aborted || (e instanceof Error && e.name === 'AbortError')) throw e;
      const message = e instanceof UserError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
      return { ok: false, seconds: (performance.now() - t0) / 1000, error: message.split('\n')[0]! };
    }
  }

  dispose(): void {
    void this.model?.then(({ model }) => model.dispose(), () => undefined);
    this.model = null;
  }

  private loadModel(): Promise<{ model: NeuroModel; protocol?: Protocol }> {
    this.model ??= (async () => {
      const networks = await import('../model/networks.js');
      const model = await networks.loadModel(this.opts.modelDir);
      return { model, protocol: model.config.protocol };
    })();
    this.model.catch(() => (this.model = null));
    return this.model;
  }

  private loadNotes(): Promise<NotesManifest> {
    this.notes ??= (async () => {
      const { loadNotes } = await import('../model/notes.js');
      const { DEFAULT_MODEL_DIR } = await import('../model/networks.js');
      return loadNotes(this.opts.modelDir ?? DEFAULT_MODEL_DIR);
    })();
    this.notes.catch(() => (this.notes = null));
    return this.notes;
  }

  /** The render source and step count of a job. */
  private async renderSource(job: GalleryJob): Promise<{ source: RenderSource; steps: number }> {
    const src = job.source;
    const s = job.settings;
    if (src.kind === 'params') {
      const { loadParams } = await import('../nca/params.js');
      const p = await loadParams(src.file);
      return { source: { kind: 'params', params: p.params, protocol: p.protocol }, steps: s.steps === 'audio' ? 1 : s.steps };
    }
    const { model, protocol } = await this.loadModel();
    let latent: Latent;
    let steps = s.steps === 'audio' ? 0 : s.steps;
    if (src.kind === 'audio' && src.track) {
      const { readWav } = await import('../audio/wav.js');
      const { encodeTrack } = await import('../model/encode.js');
      const decoded = await readWav(src.file);
      const seconds = decoded.samples.length / decoded.sampleRate;
      const track = await encodeTrack(model, decoded.samples, { fps: s.fps, sampleRate: decoded.sampleRate, threads: this.opts.threads });
      if (s.steps === 'audio') steps = Math.max(1, Math.ceil(seconds * s.fps * s.every));
      latent = { track, provenance: { command: 'gallery', source: src.file, fps: s.fps } };
    } else if (src.kind === 'interpolate') {
      const { lerp, slerp } = await import('../latent.js');
      const [a, b] = await Promise.all([this.pointLatent(src.from, model), this.pointLatent(src.to, model)]);
      const walk = (i: number) => (src.slerp ? slerp : lerp)(a, b, i / (src.frames - 1));
      if (src.track) {
        // The walk spread over the render: the track's times run from 0 to the render's length in seconds.
        const seconds = steps / (s.fps * s.every);
        const track: TrackPoint[] = Array.from({ length: src.frames }, (_, i) => ({ t: (i / (src.frames - 1)) * seconds, z: walk(i) }));
        latent = { track, provenance: { command: 'gallery', interpolate: src.frames } };
      } else {
        latent = { z: walk(src.frame ?? 0), provenance: { command: 'gallery', interpolate: src.frames, frame: src.frame } };
      }
    } else {
      latent = { z: await this.pointLatent(src, model), provenance: { command: 'gallery' } };
    }
    return { source: { kind: 'latent', latent, model, protocol }, steps };
  }

  /** The latent of a one-latent source. */
  private async pointLatent(p: PointSource, model: NeuroModel): Promise<Float32Array> {
    const key = JSON.stringify(p);
    const cached = this.points.get(key);
    if (cached) return cached;
    let z: Float32Array;
    switch (p.kind) {
      case 'latent': {
        const { loadLatent } = await import('../latent.js');
        const l = await loadLatent(p.file);
        if (!l.z) throw new UserError(`${p.file} is a track of latents; this source takes a single latent`);
        z = l.z;
        break;
      }
      case 'notes': {
        const { noteLatent } = await import('../model/notes.js');
        const { meanLatent } = await import('../latent.js');
        const m = await this.loadNotes();
        z = meanLatent(p.notes.map((n) => noteLatent(m, p.instrument, n)));
        break;
      }
      case 'audio': {
        const { readWav } = await import('../audio/wav.js');
        const enc = await import('../model/encode.js');
        const decoded = await readWav(p.file);
        const window = enc.chooseWindow(decoded.samples, { start: p.start, duration: p.duration, sampleRate: decoded.sampleRate });
        z = enc.encodeClip(model, decoded.samples, window, decoded.sampleRate).z;
        break;
      }
      case 'random': {
        const { randomLatent } = await import('../latent.js');
        const { Rng } = await import('../rng.js');
        z = randomLatent(new Rng(p.seed));
        break;
      }
    }
    if (this.points.size > 64) this.points.clear();
    this.points.set(key, z);
    return z;
  }
}

async function initSpec(init: GalleryJob['settings']['init']): Promise<InitSpec | undefined> {
  if (init === undefined) return undefined;
  if (typeof init === 'object') {
    const { readPng } = await import('../io/png.js');
    return { kind: 'image', image: await readPng(init.image) };
  }
  return { kind: init };
}
