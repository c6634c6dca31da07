/**
 * Renders one gallery job: turns its source into a latent (or NCA parameters) with src/core/sources.ts
 * and calls render(). A JobRenderer lives in each worker thread and loads the model (tfjs) and the
 * note manifest once, on the first job that needs them. A video job (mp4, webm) of an audio track
 * carries the track's sound.
 */
import type { SongAudio } from '../audio/song-file.js';
import { UserError } from '../errors.js';
import type { Latent, TrackPoint } from '../latent.js';
import type { InitSpec, RenderSource } from '../render.js';
import { SourceResolver, growParamsSource } from '../sources.js';
import type { GalleryJob } from './jobs.js';
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
  /** Loads the model and the note manifest once, turns point sources into latents (cached). */
  private readonly sources: SourceResolver;

  constructor(private readonly opts: RendererOptions) {
    this.sources = new SourceResolver({ modelDir: opts.modelDir, threads: opts.threads });
  }

  /**
   * Render `job` to `outPath` (absolute; its folder exists). Failures of the job itself (a missing
   * or malformed input, an impossible setting) come back as { ok: false }; an abort rejects.
   */
  async run(job: GalleryJob, outPath: string, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<JobOutcome> {
    const t0 = performance.now();
    try {
      const grow = job.source.kind === 'params' ? await growParamsSource(job.source.file) : null;
      if (grow !== null) return await this.runGrow(grow, job, outPath, t0, onProgress, signal);
      const { render } = await import('../render.js');
      const { source, steps, audio } = await this.renderSource(job);
      const s = job.settings;
      const video = s.format === 'mp4' || s.format === 'webm';
      // A video of an audio track carries its sound and lasts as long as it (or the frames, when steps is shorter).
      const sound = video && audio ? { audio: audio.sound, duration: Math.min(audio.seconds, (Math.floor(steps / s.every) + 1) / s.fps) } : {};
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
        ...sound,
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
        width: summary.video?.width ?? summary.width * s.scale,
        height: summary.video?.height ?? summary.height * s.scale,
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
    this.sources.dispose();
  }

  /**
   * A growing-NCA parameters file (nca grow / nca texture): played by src/core/grow/render.ts from one
   * cell on its training grid (a texture rule from noise on the job's size) to a .gif or .png.
   */
  private async runGrow(json: unknown, job: GalleryJob, outPath: string, t0: number, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<JobOutcome> {
    const s = job.settings;
    if (s.format !== 'gif' && s.format !== 'png') throw new UserError(`${job.name}: a growing-NCA parameters file renders to "format": "gif" or "png", not ${s.format}`);
    const { renderGrowFile } = await import('../grow/render.js');
    const r = await renderGrowFile(json, job.source.kind === 'params' ? job.source.file : job.name, {
      out: outPath,
      steps: s.steps === 'audio' ? 1 : s.steps,
      every: s.every,
      scale: s.scale,
      fps: s.fps,
      seed: s.seed,
      threads: this.opts.threads,
      size: { width: s.width, height: s.height },
      onProgress,
      signal,
    });
    const { stat } = await import('node:fs/promises');
    const { change: _change, ...motion } = r.motion;
    return { ok: true, seconds: (performance.now() - t0) / 1000, motion, width: r.width, height: r.height, steps: r.steps, frames: r.framesWritten, bytes: (await stat(outPath)).size };
  }

  /** The render source and step count of a job (and an audio track's sound, as a video carries it, and length). */
  private async renderSource(job: GalleryJob): Promise<{ source: RenderSource; steps: number; audio?: Pick<SongAudio, 'sound' | 'seconds'> }> {
    const src = job.source;
    const s = job.settings;
    if (src.kind === 'params') {
      const { source } = await this.sources.resolve({ kind: 'params', file: src.file });
      return { source, steps: s.steps === 'audio' ? 1 : s.steps };
    }
    let steps = s.steps === 'audio' ? 0 : s.steps;
    if (src.kind === 'audio' && src.track) {
      const { source, audio } = await this.sources.resolve({ kind: 'audio-track', file: src.file, fps: s.fps });
      if (s.steps === 'audio') steps = Math.max(1, Math.ceil(audio!.seconds * s.fps * s.every));
      if (source.kind === 'latent') source.latent.provenance = { command: 'gallery', source: src.file, fps: s.fps };
      return { source, steps, audio: { sound: audio!.sound, seconds: audio!.seconds } };
    }
    const { model, protocol } = await this.sources.model();
    let latent: Latent;
    if (src.kind === 'interpolate') {
      const { lerp, slerp } = await import('../latent.js');
      const [a, b] = await Promise.all([this.sources.latent(src.from), this.sources.latent(src.to)]);
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
      latent = { z: await this.sources.latent(src), provenance: { command: 'gallery' } };
    }
    return { source: { kind: 'latent', latent, model, protocol }, steps };
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
