/**
 * Video files (docs/video.md): RGBA frames piped to ffmpeg's standard input (no temporary images),
 * upscaled and encoded by ffmpeg, with an audio track muxed in.
 *
 * - `.mp4`: H.264 (libx264, yuv420p, CRF 20, preset superfast: half veryfast's CPU for the same size on
 *   NCA frames, docs/video.md#profile; smooth frames at scale >= 4 without 4x4 intra partitions and
 *   adaptive B-frames, x264Tuning) + AAC 192 kb/s, `+faststart`.
 * - `.webm`: VP9 (libvpx-vp9, CRF 32, realtime deadline, row threads) + Opus 128 kb/s at 48 kHz.
 * - Frames arrive at the grid's size (cells) as RGBA bytes [H][W][4]; ffmpeg scales them by `scale`
 *   with `neighbor` (nearest: crisp cells) or `lanczos` (smooth), then pads an odd side by one black
 *   pixel (4:2:0 chroma needs even sizes) and converts to yuv420p.
 * - Audio: a file ffmpeg reads itself (the user's WAV, all its channels and its own rate) or mono
 *   float samples piped on a second pipe (fd 3). Both streams start at 0; `duration` cuts the output
 *   to the audio's length (the caller writes ceil(duration x fps) frames).
 * - Atomic: ffmpeg writes the io layer's temporary name beside the target (src/core/io/atomic.ts),
 *   renamed on success and removed on failure, on abort (the signal kills ffmpeg) and on a second
 *   Ctrl-C (cleanupTempFiles). An existing character device or FIFO is written into (fragmented MP4).
 * - Backpressure: a pool of frame buffers (frameBuffers(): 3..32, ~16 MB); `addFrame` waits while that
 *   many frames wait for ffmpeg, so a slow encoder slows the render instead of filling memory, and a
 *   renderer's slow frame does not leave ffmpeg idle.
 * - ffmpeg's stderr is kept (the last 8 KB) and its last lines are the error message when it fails.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { UserError, invalidParameterError, optionalInt, optionalSignal, requireInt, requireNumber, requirePath } from '../errors.js';
import { checkImageSize } from '../limits.js';
import { withAtomicOutput } from '../io/atomic.js';
import { findFfmpeg } from './ffmpeg.js';

export type VideoFormat = 'mp4' | 'webm';
/** How frames are upscaled: `nearest` keeps cells as crisp squares, `smooth` is Lanczos. */
export type ScaleFilter = 'nearest' | 'smooth';
export const SCALE_FILTERS: readonly ScaleFilter[] = ['nearest', 'smooth'];
/** ffmpeg's scaler flag for each filter. */
const SWS_FLAGS: Record<ScaleFilter, string> = { nearest: 'neighbor', smooth: 'lanczos' };

export type VideoAudio =
  /** A file ffmpeg decodes itself (a WAV): the song's own channels and rate. */
  | { kind: 'file'; path: string }
  /** Samples in [-1, 1] at `sampleRate` Hz, piped as 32-bit float: mono, or `channels: 2` interleaved left, right. */
  | { kind: 'samples'; samples: Float32Array; sampleRate: number; channels?: 1 | 2 };

export interface VideoWriterOptions {
  /** A `.mp4` or `.webm` path (or an existing device / FIFO). */
  out: string;
  /** Size of the frames given to addFrame (cells), 2..4096. */
  width: number;
  height: number;
  /** Upscaling by ffmpeg, 1..16 (default 1). */
  scale?: number;
  /** Upscaling filter (default 'smooth'). */
  filter?: ScaleFilter;
  /** Frames per second, 1..120. */
  fps: number;
  audio?: VideoAudio;
  /** Cut the output to this many seconds (the audio's duration), 0 < d <= 86400. */
  duration?: number;
  /** x264 preset (mp4 only): ultrafast .. veryslow (default DEFAULT_X264_PRESET, superfast). */
  preset?: string;
  signal?: AbortSignal;
}

export interface VideoSummary {
  out: string;
  format: VideoFormat;
  /** Output size in pixels (scaled, padded to even). */
  width: number;
  height: number;
  /** Whether an odd side was padded by a pixel. */
  padded: boolean;
  fps: number;
  frames: number;
  filter: ScaleFilter;
  audio: boolean;
  ffmpeg: string;
}

export interface VideoWriter {
  readonly format: VideoFormat;
  /** Output size in pixels. */
  readonly width: number;
  readonly height: number;
  /** One frame [height][width][4] RGBA at the grid's size; resolves once ffmpeg can take the next one. */
  addFrame(rgba: Uint8Array): Promise<void>;
  /** Closes the input, waits for ffmpeg and puts the file in place. */
  finish(): Promise<VideoSummary>;
  /** Kills ffmpeg and removes the temporary file (safe to call more than once, and after a failure). */
  abort(): Promise<void>;
}

export const VIDEO_EXTENSIONS = ['.mp4', '.webm'] as const;
/** superfast: on NCA frames half the CPU of veryfast for the same file size (SSIM 0.982 against 0.984; docs/video.md#profile). */
export const DEFAULT_X264_PRESET = 'superfast';
export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;

/**
 * x264 settings added to the default preset when every cell is a smooth patch of at least 4 x 4 pixels
 * (filter smooth, scale >= 4: the music video's 320 x 180 and 480 x 270 cells x 4): no 4 x 4 intra
 * partitions (at superfast's subme 1 they are chosen without rate-distortion and do not pay on smooth
 * patches) and a fixed B-frame pattern instead of the adaptive decision. On the bench song's frames:
 * x264's CPU 0.76x at 1080p and 0.81x at 720p, 11-12% smaller files, SSIM within 0.0007 (luma 0.9831 against
 * 0.9828 at 1080p); docs/video.md#profile. Cells shown at 1 pixel keep the preset as it is (there the
 * 4 x 4 partitions are worth 0.006 SSIM).
 */
export const SMOOTH_X264_PARAMS = 'partitions=i8x8:b-adapt=0';
export const SMOOTH_X264_MIN_SCALE = 4;

/** The -x264-params nca adds for a preset, filter and scale, or null (see SMOOTH_X264_PARAMS). */
export function x264Tuning(preset: string, filter: ScaleFilter, scale: number): string | null {
  return preset === DEFAULT_X264_PRESET && filter === 'smooth' && scale >= SMOOTH_X264_MIN_SCALE ? SMOOTH_X264_PARAMS : null;
}

/** The video format of an output path by its extension, or null when it is not a video. */
export function videoFormat(out: string): VideoFormat | null {
  const ext = extname(out).toLowerCase();
  return ext === '.mp4' ? 'mp4' : ext === '.webm' ? 'webm' : null;
}

/** Output size of a video: the grid x scale, each side rounded up to even. */
export function videoSize(width: number, height: number, scale: number): { width: number; height: number; padded: boolean } {
  const w = width * scale, h = height * scale;
  return { width: w + (w % 2), height: h + (h % 2), padded: w % 2 === 1 || h % 2 === 1 };
}

/**
 * Frames that may wait in the pipe for ffmpeg: enough to ride over the renderer's uneven frames (0-4
 * NCA steps each, a hypernetwork block every 256 frames) without stalling it, at most ~16 MB of
 * them: 32 frames up to 360 x 360 cells, 3 at 1920 x 1080 cells.
 */
export function frameBuffers(frameBytes: number): number {
  return Math.max(3, Math.min(32, Math.floor((16 << 20) / frameBytes)));
}
const STDERR_KEEP = 8192;

/** Starts ffmpeg writing `opts.out`; give it frames with addFrame, then finish() (or abort()). */
export async function openVideoWriter(opts: VideoWriterOptions): Promise<VideoWriter> {
  if (typeof opts !== 'object' || opts === null) throw invalidParameterError('options', 'an object { out, width, height, fps, ... }', opts);
  const out = requirePath('out', opts.out);
  const format = videoFormat(out) ?? (opts.out.startsWith('/dev/') ? 'mp4' : null);
  if (!format) throw new UserError(`cannot write ${out} as a video: use a .mp4 (H.264 + AAC) or .webm (VP9 + Opus) name`);
  const W = requireInt('width', opts.width, 2, 4096);
  const H = requireInt('height', opts.height, 2, 4096);
  const scale = optionalInt('scale', opts.scale, 1, 16, 1);
  const fps = requireInt('fps', opts.fps, 1, 120);
  const filter = opts.filter ?? 'smooth';
  if (!SCALE_FILTERS.includes(filter)) throw invalidParameterError('filter', 'one of nearest, smooth', filter);
  const duration = opts.duration === undefined ? undefined : requireNumber('duration', opts.duration, 1e-3, 86400);
  const preset = opts.preset ?? DEFAULT_X264_PRESET;
  if (!(X264_PRESETS as readonly string[]).includes(preset)) throw invalidParameterError('preset', X264_PRESETS.join(', '), preset);
  const signal = optionalSignal('signal', opts.signal);
  const audio = checkAudio(opts.audio);
  const size = videoSize(W, H, scale);
  checkImageSize(`a video frame of ${W}x${H} cells at --scale ${scale}`, size.width, size.height, 'use a smaller --scale or --size');
  signal?.throwIfAborted();
  const ffmpeg = await findFfmpeg();

  const frameBytes = W * H * 4;
  let child: ChildProcessByStdio<Writable, null, Readable> | null = null;
  let stderr = '';
  let failure: Error | null = null;
  let frames = 0;
  let finished = false;
  const FRAME_BUFFERS = frameBuffers(frameBytes);
  const freeBuffers: Buffer[] = [Buffer.allocUnsafe(frameBytes)];
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  const wakeUp = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  let started!: () => void;
  const spawned = new Promise<void>((resolve) => (started = resolve));
  const describe = () => summariseStderr(stderr);
  // The whole ffmpeg run is the body of an atomic output: the file is renamed into place when it exits 0.
  const done = withAtomicOutput(out, async (path, file) => {
    if (!file.direct) await (await open(path, file.flag)).close(); // a folder we cannot write fails here, as an io error on the output
    const args = ffmpegArgs({ path, direct: file.direct, format, W, H, scale, filter, fps, audio, duration, preset, size });
    await new Promise<void>((resolve, reject) => {
      const stdio: ('pipe' | 'ignore')[] = ['pipe', 'ignore', 'pipe'];
      if (audio?.kind === 'samples') stdio.push('pipe');
      // detached: its own process group, so a Ctrl-C on the terminal reaches nca (which stops it) and not ffmpeg
      const c = spawn(ffmpeg.path, args, { stdio, detached: true }) as unknown as ChildProcessByStdio<Writable, null, Readable>;
      child = c;
      c.stderr.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-STDERR_KEEP);
      });
      c.stdin.on('error', (e) => {
        failure ??= e;
        wakeUp();
      });
      c.on('error', (e) => {
        failure ??= e;
        wakeUp();
        reject(new UserError(`cannot run ffmpeg (${ffmpeg.path}): ${e.message}; check NCA_FFMPEG or your ffmpeg install`));
      });
      c.on('close', (code, sig) => {
        child = null;
        wakeUp();
        if (code === 0 && finished) resolve();
        else if (signal?.aborted) reject(abortError(signal));
        else reject(new UserError(`ffmpeg could not write ${out}${sig ? ` (killed by ${sig})` : ` (exit code ${code})`}: ${describe()}`));
      });
      if (audio?.kind === 'samples') {
        const pipe = c.stdio[3] as Writable;
        pipe.on('error', () => undefined); // ffmpeg stopping early is reported by its exit code
        const s = audio.samples;
        pipe.end(Buffer.from(s.buffer, s.byteOffset, s.byteLength));
      }
      started();
    });
  });
  // withAtomicOutput may fail before ffmpeg starts (an unwritable output): report that at once.
  let settled = false;
  done.then(() => (settled = true), () => (settled = true));
  await Promise.race([spawned, done.then(() => undefined)]);
  const onAbort = () => kill();
  signal?.addEventListener('abort', onAbort, { once: true });

  function kill(): void {
    const c = child as ChildProcessByStdio<Writable, null, Readable> | null;
    if (c && c.exitCode === null) {
      c.stdin.destroy();
      c.kill('SIGKILL');
    }
    wakeUp();
  }

  const failed = async (): Promise<never> => {
    kill();
    await done; // rejects with ffmpeg's own message (or the abort)
    throw failure ?? new UserError(`ffmpeg stopped before the end of ${out}: ${describe()}`);
  };

  return {
    format,
    width: size.width,
    height: size.height,
    async addFrame(rgba) {
      if (!(rgba instanceof Uint8Array) || rgba.length !== frameBytes) throw invalidParameterError('frame', `a Uint8Array of ${frameBytes} bytes (${W}x${H} RGBA)`, rgba instanceof Uint8Array ? `${rgba.length} bytes` : rgba);
      signal?.throwIfAborted();
      const c = child as ChildProcessByStdio<Writable, null, Readable> | null;
      if (failure || !c || settled) return failed();
      // Copied at once (the caller reuses its buffer); a frame beyond the pool gets a new buffer, dropped once written.
      const buf = freeBuffers.pop() ?? Buffer.allocUnsafe(frameBytes); // the pool grows to FRAME_BUFFERS as frames wait
      buf.set(rgba);
      frames++;
      inFlight++;
      c.stdin.write(buf, (err) => {
        if (err) failure ??= err;
        inFlight--;
        if (freeBuffers.length < FRAME_BUFFERS) freeBuffers.push(buf);
        wakeUp();
      });
      // Backpressure: resolve once ffmpeg holds at most FRAME_BUFFERS frames not yet taken.
      while (inFlight > FRAME_BUFFERS && !failure && child && !settled) await new Promise<void>((r) => waiters.push(r));
      signal?.throwIfAborted();
      if (failure) return failed();
    },
    async finish() {
      signal?.throwIfAborted();
      const c = child as ChildProcessByStdio<Writable, null, Readable> | null;
      if (failure || !c) return failed();
      finished = true;
      c.stdin.end();
      try {
        await done;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      return { out, format, width: size.width, height: size.height, padded: size.padded, fps, frames, filter, audio: audio !== undefined, ffmpeg: ffmpeg.path };
    },
    async abort() {
      kill();
      signal?.removeEventListener('abort', onAbort);
      await done.catch(() => undefined);
    },
  };
}

function checkAudio(audio: VideoAudio | undefined): VideoAudio | undefined {
  if (audio === undefined) return undefined;
  if (typeof audio !== 'object' || audio === null) throw invalidParameterError('audio', "{ kind: 'file', path } or { kind: 'samples', samples, sampleRate }", audio);
  if (audio.kind === 'file') return { kind: 'file', path: requirePath('audio.path', audio.path) };
  if (audio.kind === 'samples') {
    const channels = requireInt('audio.channels', audio.channels ?? 1, 1, 2) as 1 | 2;
    if (!(audio.samples instanceof Float32Array) || audio.samples.length % channels !== 0) throw invalidParameterError('audio.samples', channels === 2 ? 'a Float32Array of interleaved left, right pairs' : 'a Float32Array (mono)', audio.samples);
    return { kind: 'samples', samples: audio.samples, sampleRate: requireInt('audio.sampleRate', audio.sampleRate, 8000, 384000), channels };
  }
  throw invalidParameterError('audio.kind', 'one of file, samples', (audio as { kind?: unknown }).kind);
}

interface ArgsSpec {
  path: string;
  direct: boolean;
  format: VideoFormat;
  W: number;
  H: number;
  scale: number;
  filter: ScaleFilter;
  fps: number;
  audio: VideoAudio | undefined;
  duration: number | undefined;
  preset: string;
  size: { width: number; height: number; padded: boolean };
}

/** ffmpeg's command line: raw RGBA on stdin (+ audio), scale, pad, yuv420p, the codecs of the format. */
function ffmpegArgs(s: ArgsSpec): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${s.W}x${s.H}`, '-framerate', String(s.fps), '-i', 'pipe:0');
  if (s.audio?.kind === 'file') args.push('-i', s.audio.path);
  if (s.audio?.kind === 'samples') args.push('-f', 'f32le', '-ar', String(s.audio.sampleRate), '-ac', String(s.audio.channels ?? 1), '-i', 'pipe:3');
  const chain: string[] = [];
  if (s.scale > 1) chain.push(`scale=${s.W * s.scale}:${s.H * s.scale}:flags=${SWS_FLAGS[s.filter]}`);
  if (s.size.padded) chain.push(`pad=${s.size.width}:${s.size.height}:0:0:black`);
  chain.push('format=yuv420p');
  args.push('-map', '0:v:0');
  if (s.audio) args.push('-map', '1:a:0');
  args.push('-vf', chain.join(','));
  if (s.format === 'mp4') {
    args.push('-c:v', 'libx264', '-preset', s.preset, '-crf', '20', '-pix_fmt', 'yuv420p');
    const tuning = x264Tuning(s.preset, s.filter, s.scale);
    if (tuning) args.push('-x264-params', tuning);
    if (s.audio) args.push('-c:a', 'aac', '-b:a', '192k');
    args.push('-movflags', s.direct ? 'frag_keyframe+empty_moov' : '+faststart');
  } else {
    args.push('-c:v', 'libvpx-vp9', '-b:v', '0', '-crf', '32', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-pix_fmt', 'yuv420p');
    if (s.audio) args.push('-c:a', 'libopus', '-b:a', '128k', '-ar', '48000');
  }
  if (s.duration !== undefined) args.push('-t', s.duration.toFixed(6));
  args.push('-f', s.format, s.path);
  return args;
}

/** The last meaningful lines of ffmpeg's stderr, on one line. */
export function summariseStderr(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !/^(frame=|size=|video:|\[.*\] (frame|kb\/s))/.test(l));
  const text = lines.slice(-3).join('; ');
  return text ? (text.length > 400 ? '...' + text.slice(-400) : text) : 'no message (see ffmpeg -version)';
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : Object.assign(new Error('aborted'), { name: 'AbortError' });
}
