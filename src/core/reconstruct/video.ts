import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { GifReader } from 'omggif';
import { UserError, requireInt } from '../errors.js';
import { fsReason } from '../io/fs-error.js';
import type { RgbaImage } from '../io/image.js';
import { readPng } from '../io/png.js';
import { readInput } from '../io/read.js';

/**
 * A video as the scotopic NCA reads it: `frames[t]` is Float32Array [channels][height][width]
 * (planar, CHW), values 0..1; channels 3 (R, G, B) or 1 (grey, ITU-R BT.601 luma).
 *
 * Sources: an animated GIF (omggif, frames composited as a browser shows them), a folder of PNG
 * images (sorted by name, all one size), or an MP4/WebM (through ffmpeg: see readVideo).
 */
export interface Video {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Frames per second the source gives (GIF delays), or 20 when it gives none. */
  fps: number;
  frames: Float32Array[];
}

/** The largest video nca reconstructs: frames x width x height (colour floats: 12 bytes a pixel -> at most ~1.5 GB). */
export const MAX_VIDEO_PIXELS = 2 ** 27;
/** Default frame rate when the source has none (PNG folders). */
export const DEFAULT_FPS = 20;

/** A file or folder is a video nca reads: .gif, .mp4, .webm, .mkv, .mov, or a folder of .png files. */
export type VideoKind = 'gif' | 'png-folder' | 'ffmpeg';

export const FFMPEG_EXTENSIONS = ['.mp4', '.webm', '.mkv', '.mov'] as const;

/** What kind of video `path` is (a UserError for anything else or a path that cannot be read). */
export async function videoKind(path: string): Promise<VideoKind> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new UserError(`cannot read video ${path}: ${fsReason(e)}`);
  }
  if (st.isDirectory()) return 'png-folder';
  const ext = extname(path).toLowerCase();
  if (ext === '.gif') return 'gif';
  if ((FFMPEG_EXTENSIONS as readonly string[]).includes(ext)) return 'ffmpeg';
  throw new UserError(`cannot read video ${path}: give a .gif, an ${FFMPEG_EXTENSIONS.join('/')} file or a folder of .png frames`);
}

export interface ReadVideoOptions {
  /** 'rgb' (default) or 'grey'. */
  colour?: 'rgb' | 'grey';
  /** Use at most this many frames (from the first). Default: all. */
  maxFrames?: number;
}

/**
 * Reads a GIF, a folder of PNGs, or an MP4/WebM/MKV/MOV through ffmpeg (found by src/core/video/ffmpeg.ts:
 * NCA_FFMPEG, PATH, then @ffmpeg-installer/ffmpeg; a UserError with the install hint when none).
 */
export async function readVideo(path: string, opts: ReadVideoOptions = {}): Promise<Video> {
  const colour = opts.colour ?? 'rgb';
  const maxFrames = opts.maxFrames === undefined ? Infinity : requireInt('maxFrames', opts.maxFrames, 1, 1e7);
  const kind = await videoKind(path);
  let images: RgbaImage[];
  let fps = DEFAULT_FPS;
  if (kind === 'gif') {
    const gif = decodeGif(await readInput(path, 'GIF video', 'binary'), path, maxFrames);
    images = gif.images;
    fps = gif.fps;
  } else if (kind === 'png-folder') {
    images = await readPngFolder(path, maxFrames);
  } else {
    const decoded = await decodeWithFfmpeg(path, maxFrames);
    images = decoded.images;
    fps = decoded.fps;
  }
  return videoFromImages(images, colour, fps);
}

/** RGBA images (one size) to a Video: colour planes or luma. */
export function videoFromImages(images: readonly RgbaImage[], colour: 'rgb' | 'grey', fps = DEFAULT_FPS): Video {
  const first = images[0];
  if (!first) throw new UserError('the video has no frames');
  const { width, height } = first;
  const channels = colour === 'grey' ? 1 : 3;
  if (images.length * width * height > MAX_VIDEO_PIXELS) throw new UserError(`the video is ${images.length} frames of ${width}x${height}, more than the ${MAX_VIDEO_PIXELS} pixels nca reconstructs; use fewer or smaller frames`);
  const plane = width * height;
  const frames = images.map((img, t) => {
    if (img.width !== width || img.height !== height) throw new UserError(`frame ${t} is ${img.width}x${img.height}, frame 0 is ${width}x${height}: every frame must have one size`);
    const out = new Float32Array(channels * plane);
    const d = img.data;
    for (let i = 0; i < plane; i++) {
      const r = d[4 * i]! / 255, g = d[4 * i + 1]! / 255, b = d[4 * i + 2]! / 255;
      if (channels === 1) out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
      else {
        out[i] = r;
        out[plane + i] = g;
        out[2 * plane + i] = b;
      }
    }
    return out;
  });
  return { width, height, channels, fps, frames };
}

/** GIF bytes to composited RGBA frames (disposal 2 clears a frame's rectangle to transparent black; 3 restores). */
export function decodeGif(bytes: Uint8Array, name: string, maxFrames = Infinity): { images: RgbaImage[]; fps: number } {
  let reader: GifReader;
  try {
    reader = new GifReader(bytes);
  } catch (e) {
    throw new UserError(`${name} is not a valid GIF (${(e as Error).message})`);
  }
  const { width, height } = reader;
  const count = Math.min(reader.numFrames(), maxFrames);
  if (count === 0) throw new UserError(`${name} has no frames`);
  if (count * width * height > MAX_VIDEO_PIXELS) throw new UserError(`${name} is ${count} frames of ${width}x${height}, more than the ${MAX_VIDEO_PIXELS} pixels nca reconstructs`);
  const canvas = new Uint8Array(width * height * 4);
  const images: RgbaImage[] = [];
  let delays = 0;
  try {
    for (let f = 0; f < count; f++) {
      const info = reader.frameInfo(f);
      const before = info.disposal === 3 ? canvas.slice() : null;
      reader.decodeAndBlitFrameRGBA(f, canvas);
      const img = new Uint8Array(canvas);
      // transparent pixels show black (the NCA reads RGB only)
      for (let i = 3; i < img.length; i += 4) if (img[i] === 0) img[i - 3] = img[i - 2] = img[i - 1] = 0;
      images.push({ width, height, data: img });
      delays += info.delay;
      if (info.disposal === 2) {
        for (let y = info.y; y < info.y + info.height; y++) canvas.fill(0, (y * width + info.x) * 4, (y * width + info.x + info.width) * 4);
      } else if (before) canvas.set(before);
    }
  } catch (e) {
    throw new UserError(`${name} is not a valid GIF (${(e as Error).message})`);
  }
  const meanDelayCs = delays / count;
  return { images, fps: meanDelayCs > 0 ? Math.min(50, 100 / meanDelayCs) : DEFAULT_FPS };
}

async function readPngFolder(dir: string, maxFrames: number): Promise<RgbaImage[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.png')).sort();
  } catch (e) {
    throw new UserError(`cannot read video folder ${dir}: ${fsReason(e)}`);
  }
  if (names.length === 0) throw new UserError(`the folder ${dir} has no .png frames; give a folder of PNG images (sorted by name) or a .gif`);
  const images: RgbaImage[] = [];
  for (const n of names.slice(0, Math.min(names.length, maxFrames))) images.push(await readPng(join(dir, n)));
  return images;
}

/**
 * Shrinks a video by an integer factor (area average of factor x factor blocks; a ragged right or
 * bottom edge is cropped) so that its larger side is at most `maxSide`. Returns `video` itself when
 * it already fits.
 */
export function fitVideo(video: Video, maxSide: number): Video {
  const factor = Math.ceil(Math.max(video.width, video.height) / maxSide);
  if (factor <= 1) return video;
  const width = Math.floor(video.width / factor), height = Math.floor(video.height / factor);
  const C = video.channels, inPlane = video.width * video.height, plane = width * height;
  const norm = 1 / (factor * factor);
  const frames = video.frames.map((src) => {
    const out = new Float32Array(C * plane);
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          let sum = 0;
          for (let dy = 0; dy < factor; dy++) {
            const row = c * inPlane + (y * factor + dy) * video.width + x * factor;
            for (let dx = 0; dx < factor; dx++) sum += src[row + dx]!;
          }
          out[c * plane + y * width + x] = sum * norm;
        }
      }
    }
    return out;
  });
  return { ...video, width, height, frames };
}

/** The same video in grey (luma) — returns `video` when it is grey already. */
export function toGrey(video: Video): Video {
  if (video.channels === 1) return video;
  const plane = video.width * video.height;
  const frames = video.frames.map((f) => {
    const out = new Float32Array(plane);
    for (let i = 0; i < plane; i++) out[i] = 0.299 * f[i]! + 0.587 * f[plane + i]! + 0.114 * f[2 * plane + i]!;
    return out;
  });
  return { ...video, channels: 1, frames };
}

/** Decodes a video file to RGBA frames with ffmpeg (size and frame rate from probeVideo). */
async function decodeWithFfmpeg(path: string, maxFrames: number): Promise<{ images: RgbaImage[]; fps: number }> {
  const { findFfmpeg } = await import('../video/ffmpeg.js');
  const { probeVideo } = await import('../video/probe.js');
  const { path: ffmpeg } = await findFfmpeg();
  const probe = await probeVideo(path);
  const stream = probe.streams.find((s) => s.type === 'video');
  if (!stream?.width || !stream.height) throw new UserError(`${path} has no video stream ffmpeg can read`);
  const { width, height } = stream;
  const frameBytes = width * height * 4;
  const limit = Math.min(maxFrames, Math.floor((MAX_VIDEO_PIXELS) / (width * height)));
  if (limit < 1) throw new UserError(`${path} is ${width}x${height}, more than the ${MAX_VIDEO_PIXELS} pixels nca reconstructs`);
  const args = ['-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-frames:v', String(limit), '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'];
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()).length > 65536 && (stderr = stderr.slice(-4096)));
    child.on('error', (e) => reject(new UserError(`cannot run ffmpeg to read ${path}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new UserError(`ffmpeg could not read ${path}: ${stderr.trim().split('\n').at(-1) ?? `exit code ${code}`}`))));
  });
  const count = Math.floor(bytes.length / frameBytes);
  if (count === 0) throw new UserError(`${path}: ffmpeg decoded no frames`);
  const images: RgbaImage[] = [];
  for (let f = 0; f < count; f++) images.push({ width, height, data: new Uint8Array(bytes.subarray(f * frameBytes, (f + 1) * frameBytes)) });
  return { images, fps: stream.fps ?? DEFAULT_FPS };
}
