/**
 * A music video (docs/video.md, docs/music-video.md): the audio-reactive frames of a song
 * (src/core/react: `renderReactive`, one frame per 1/fps s, ceil(duration x fps) frames) written by
 * the video writer with the song's sound muxed in, cut to the song's duration.
 */
import { invalidParameterError, optionalFunction, optionalSignal } from '../errors.js';
import type { LatentModel } from '../render.js';
import type { ReactiveOptions } from '../react/index.js';
import type { ScaleFilter, VideoAudio, VideoSummary } from './writer.js';

/**
 * The song's reactive render (renderReactive's options, less what the video decides: its frames go to the
 * writer), and the video's own: the song's sound, the upscaling, the output.
 */
export interface MusicVideoOptions extends Omit<ReactiveOptions, 'onFrame' | 'onProgress' | 'pulseKind' | 'colourMode' | 'sampleRate'> {
  /** The song's sound as the video carries it: a file ffmpeg reads (a WAV: its own channels and rate) or samples (a MIDI file's render). */
  sound: VideoAudio;
  /** The rate of `samples` (the analysis rate of audio/song-file.ts readSongAudio). */
  sampleRate: number;
  /** The video is width x scale by height x scale pixels (odd sides padded by one). */
  scale?: number;
  filter?: ScaleFilter;
  /** x264 preset of an MP4 (the writer's default: superfast). */
  preset?: string;
  /** `.mp4` or `.webm`. */
  out: string;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface MusicVideoSummary {
  out: string;
  video: VideoSummary;
  frames: number;
  steps: number;
  /** Seconds of audio in the video. */
  duration: number;
  /**
   * analysis: features and plan; simulate: the frames (NCA, reactions) including `waiting`, the time
   * the renderer waited for ffmpeg to take frames (backpressure: ffmpeg was the slower of the two).
   */
  seconds: { analysis: number; simulate: number; waiting: number; total: number };
}

/** Renders the reactive frames of a song into a video file with the song's sound. */
export async function writeMusicVideo(model: LatentModel, opts: MusicVideoOptions): Promise<MusicVideoSummary> {
  const t0 = performance.now();
  if (typeof opts !== 'object' || opts === null) throw invalidParameterError('options', 'an object { sound, samples, sampleRate, track, width, height, fps, out, ... }', opts);
  if (typeof opts.sound !== 'object' || opts.sound === null) throw invalidParameterError('sound', "the song's sound: { kind: 'file', path } or { kind: 'samples', samples, sampleRate }", opts.sound);
  if (!(opts.samples instanceof Float32Array) || opts.samples.length === 0) throw invalidParameterError('samples', 'the song\'s mono samples (a non-empty Float32Array)', opts.samples);
  const onProgress = optionalFunction('onProgress', opts.onProgress);
  const signal = optionalSignal('signal', opts.signal);
  const { renderReactive } = await import('../react/index.js');
  const { openVideoWriter } = await import('./writer.js');
  const songSeconds = opts.samples.length / opts.sampleRate;
  const duration = opts.frames === undefined ? songSeconds : Math.min(songSeconds, opts.frames / opts.fps);
  const writer = await openVideoWriter({
    out: opts.out, width: opts.width, height: opts.height, scale: opts.scale, filter: opts.filter, fps: opts.fps,
    audio: opts.sound, duration, preset: opts.preset, signal,
  });
  let waiting = 0;
  try {
    const r = await renderReactive(model, {
      samples: opts.samples, sampleRate: opts.sampleRate, track: opts.track, width: opts.width, height: opts.height, fps: opts.fps,
      react: opts.react, smooth: opts.smooth, seed: opts.seed, protocol: opts.protocol, threads: opts.threads, frames: opts.frames, init: opts.init,
      onFrame: async (rgba) => {
        const t = performance.now();
        await writer.addFrame(rgba);
        waiting += performance.now() - t;
      },
      onProgress, signal,
    });
    const video = await writer.finish();
    return { out: video.out, video, frames: r.frames, steps: r.steps, duration, seconds: { analysis: r.seconds.analysis, simulate: r.seconds.simulate, waiting: waiting / 1000, total: (performance.now() - t0) / 1000 } };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
