// Sound -> latent in the browser, as `nca encode --track` (docs/play.md): the encoder's input
// pictures of each 2-s window come from the project's own compiled SlidingContexts
// (dist/core/audio/sliding-contexts.js: the shared STFT with 2 grid phases, as the track encoder
// uses), and the encoder is model.js's. The latent of time t is that of the window starting at
// t - 1 s (silence before the start).
import { CONTEXT_HOP, SlidingContexts, TRACK_PHASES, trackLength, trackWindowStart } from './dist/core/audio/sliding-contexts.js';
import { ANALYSIS_RATE, CLIP_SECONDS } from './dist/core/audio/spectrogram.js';

/**
 * The latents of a whole signal at 22050 Hz, one per 1/fps s: [{ t, z }] as `nca encode --track`.
 * `pictures` is the model's config.pictures (the encoder's context pictures; undefined: circles).
 */
export function encodeTrack(encode, samples, fps, pictures) {
  const sliding = new SlidingContexts(samples, { sampleRate: ANALYSIS_RATE, contextFrames: 4, width: 32, height: 32, phases: TRACK_PHASES, pictures });
  const context = new Float32Array(sliding.contextSize);
  const points = [];
  for (let i = 0; i < trackLength(samples.length, fps); i++) {
    sliding.context(trackWindowStart(i, fps), context);
    points.push({ t: i / fps, z: encode(context) });
  }
  return points;
}

/**
 * A live signal (the microphone), appended to as it arrives: `latest()` is the latent of the newest
 * track point whose window has been heard in full, computed over a hop-aligned slice of the signal so
 * its STFT grid is the whole signal's (as encode.ts trackPart): equal to `nca encode --track` of the
 * recorded audio at that point.
 */
export class LiveTrack {
  constructor(encode, fps = 12, keepSeconds = 4, pictures = undefined) {
    this.encode = encode;
    this.pictures = pictures;
    this.fps = fps;
    this.buffer = new Float32Array(Math.round(keepSeconds * ANALYSIS_RATE) + 4 * CONTEXT_HOP);
    this.length = 0; // samples in the buffer
    this.offset = 0; // index in the whole signal of buffer[0] (a multiple of CONTEXT_HOP)
    this.total = 0; // samples heard
    this.point = -1; // the last point encoded
    this.context = null;
  }

  push(chunk) {
    if (this.length + chunk.length > this.buffer.length) {
      // keep the newest part, dropping whole hops
      const drop = Math.ceil((this.length + chunk.length - this.buffer.length) / CONTEXT_HOP) * CONTEXT_HOP;
      this.buffer.copyWithin(0, drop, this.length);
      this.length -= drop;
      this.offset += drop;
    }
    this.buffer.set(chunk, this.length);
    this.length += chunk.length;
    this.total += chunk.length;
  }

  /** The newest complete point: { i, t, z } (null before 1 s has been heard), or the same as before if no new point. */
  latest() {
    const n = CLIP_SECONDS * ANALYSIS_RATE;
    // the newest i with trackWindowStart(i) + n <= total
    let i = Math.floor(((this.total - n) / ANALYSIS_RATE + CLIP_SECONDS / 2) * this.fps);
    while (i >= 0 && trackWindowStart(i, this.fps) + n > this.total) i--;
    if (i < 0) return null;
    if (i === this.point) return this.last;
    const start = trackWindowStart(i, this.fps);
    const from = Math.max(this.offset, Math.floor((start - CONTEXT_HOP) / CONTEXT_HOP) * CONTEXT_HOP);
    const to = Math.min(this.total, start + n + CONTEXT_HOP);
    const slice = this.buffer.subarray(from - this.offset, to - this.offset);
    const sliding = new SlidingContexts(slice, { sampleRate: ANALYSIS_RATE, contextFrames: 4, width: 32, height: 32, phases: TRACK_PHASES, pictures: this.pictures });
    this.context ??= new Float32Array(sliding.contextSize);
    sliding.context(start - from, this.context);
    this.point = i;
    this.last = { i, t: i / this.fps, z: this.encode(this.context) };
    return this.last;
  }
}
