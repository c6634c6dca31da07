/**
 * A small video probe without ffprobe (which @ffmpeg-installer does not ship): ffmpeg reads the file
 * (`ffmpeg -i FILE -map 0:<stream> -c copy -f null -`), and its banner and last progress line give
 * the container, the streams (codec, size, frame rate, sample rate, channels), each stream's
 * duration and the video's frame count. Used by the tests and the bench to check what was written.
 */
import { spawn } from 'node:child_process';
import { UserError } from '../errors.js';
import { findFfmpeg } from './ffmpeg.js';

export interface ProbedStream {
  index: number;
  type: 'video' | 'audio';
  /** Codec name as ffmpeg prints it: h264, vp9, aac, opus, ... */
  codec: string;
  width?: number;
  height?: number;
  pixelFormat?: string;
  /** Frames per second (video). */
  fps?: number;
  sampleRate?: number;
  /** 'mono', 'stereo', ... (audio). */
  channels?: string;
  /** Seconds: video, frames / fps; audio, the last packet's time (within one packet, ~21-23 ms). */
  duration: number;
  /** Packets copied (video: frames). */
  frames: number;
}

export interface ProbeResult {
  /** Container as ffmpeg names it: "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm". */
  container: string;
  /** The container's duration in seconds (null when it does not say). */
  duration: number | null;
  /** The container's start time in seconds. */
  start: number;
  streams: ProbedStream[];
}

/** Reads a video file's streams, frame rate and durations with ffmpeg. */
export async function probeVideo(path: string): Promise<ProbeResult> {
  const { path: ffmpeg } = await findFfmpeg();
  const head = await runFfmpeg(ffmpeg, ['-hide_banner', '-i', path]);
  const container = /Input #0, ([^,]+(?:,[^,\s]+)*), from/.exec(head)?.[1] ?? '';
  if (!container) throw new UserError(`${path} is not a video ffmpeg can read: ${head.trim().split('\n').at(-1) ?? ''}`);
  const dm = /Duration: (\d+):(\d+):([\d.]+)(?:, start: (-?[\d.]+))?/.exec(head);
  const duration = dm ? Number(dm[1]) * 3600 + Number(dm[2]) * 60 + Number(dm[3]) : null;
  const start = dm?.[4] ? Number(dm[4]) : 0;
  const streams: ProbedStream[] = [];
  for (const m of head.matchAll(/Stream #0:(\d+)[^:]*: (Video|Audio): ([^\n]+)/g)) {
    const index = Number(m[1]);
    const type = m[2] === 'Video' ? 'video' : 'audio';
    const info = m[3]!;
    const s: ProbedStream = { index, type, codec: /^(\w+)/.exec(info)?.[1] ?? '', duration: 0, frames: 0 };
    if (type === 'video') {
      const size = /, (\d+)x(\d+)/.exec(info);
      if (size) (s.width = Number(size[1])), (s.height = Number(size[2]));
      s.pixelFormat = /^\w+(?: \([^)]*\))*(?: \([^)]*\))?, (\w+)/.exec(info)?.[1];
      const fps = /([\d.]+) fps/.exec(info) ?? /([\d.]+) tbr/.exec(info);
      if (fps) s.fps = Number(fps[1]);
    } else {
      const rate = /(\d+) Hz/.exec(info);
      if (rate) s.sampleRate = Number(rate[1]);
      s.channels = /Hz, ([\w.()]+)/.exec(info)?.[1];
    }
    const copy = await runFfmpeg(ffmpeg, ['-hide_banner', '-nostdin', '-i', path, '-map', `0:${index}`, '-c', 'copy', '-f', 'null', '-']);
    const last = copy.split(/[\r\n]/).filter((l) => /time=/.test(l)).at(-1) ?? '';
    const t = /time=\s*(\d+):(\d+):([\d.]+)/.exec(last);
    if (t) s.duration = Number(t[1]) * 3600 + Number(t[2]) * 60 + Number(t[3]);
    const f = /frame=\s*(\d+)/.exec(last);
    if (f) s.frames = Number(f[1]);
    // A video lasts its frames x 1/fps (the last packet's time= is where the last frame starts).
    if (type === 'video' && s.fps && s.frames) s.duration = s.frames / s.fps;
    streams.push(s);
  }
  return { container, duration, start, streams };
}

/** Runs ffmpeg and returns its stderr (ffmpeg -i without an output exits 1: that is expected). */
function runFfmpeg(ffmpeg: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', () => resolve(err));
  });
}
