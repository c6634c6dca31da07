/**
 * Videos for training and evaluating the scotopic NCA, made by nca itself from inputs that ship
 * with it (nothing downloaded):
 * - circlesVideo: the circles pictures of a synthesised note (audio/circles.ts): coloured discs
 *   orbiting and drifting on black, moving fast;
 * - pannedImageVideo: a still image (e.g. a Twemoji graphic from @twemoji/svg rasterised with sharp)
 *   seen through a moving, zooming camera: smooth global motion over detailed content no NCA made.
 * (NCA renders come from `nca render ... --out x.gif` and are read as GIFs.)
 */
import { clipFeatures } from '../audio/features.js';
import { circlesFrames } from '../audio/circles.js';
import { synthesize, type Instrument } from '../audio/synth.js';
import type { Video } from './video.js';

export interface CirclesVideoOptions {
  instrument: Instrument;
  /** MIDI note. */
  midi: number;
  frames: number;
  size: number;
  /** Analysis frames (hop 512 at 22.05 kHz, ~23 ms) between pictures: the speed of the motion. Default 2. */
  stride?: number;
  seed?: number;
}

/** The circles pictures of one synthesised note as a colour video. */
export function circlesVideo(o: CirclesVideoOptions): Video {
  const stride = o.stride ?? 2;
  const duration = Math.max(1, ((o.frames * stride + 8) * 512) / 22050);
  const samples = synthesize({ instrument: o.instrument, midi: o.midi, duration, seed: o.seed ?? 0 });
  const features = clipFeatures(samples);
  const all = circlesFrames(features, { width: o.size, height: o.size, frames: o.frames, stride });
  const per = 3 * o.size * o.size;
  const frames = Array.from({ length: o.frames }, (_, t) => all.slice(t * per, (t + 1) * per));
  return { width: o.size, height: o.size, channels: 3, fps: 20, frames };
}

/** An RGB image [3][H][W] (planar, 0..1) to sample from. */
export interface PlanarImage {
  width: number;
  height: number;
  planes: Float32Array;
}

/**
 * Rasterises an SVG file with sharp at `side` x `side` pixels over a background colour, as a planar image.
 * sharp is imported only here (the renderer never needs it).
 */
export async function rasteriseSvg(svg: Uint8Array, side: number, background: [number, number, number]): Promise<PlanarImage> {
  const sharp = (await import('sharp')).default;
  const { data, info } = await sharp(Buffer.from(svg), { density: 72 * (side / 36) })
    .resize(side, side)
    .flatten({ background: { r: background[0], g: background[1], b: background[2] } })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = info.width * info.height;
  const planes = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) planes[c * plane + i] = data[i * info.channels + c]! / 255;
  return { width: info.width, height: info.height, planes };
}

export interface CameraPath {
  frames: number;
  /** Output side in cells. */
  size: number;
  /** Camera centre at t = 0 and t = frames - 1, as fractions of the image (0..1). */
  from: [number, number];
  to: [number, number];
  /** Window side as a fraction of the image at the start and end (zoom). */
  zoomFrom: number;
  zoomTo: number;
}

/** A still image through a camera moving linearly from `from` to `to` while its window zooms (bilinear sampling, edges clamped). */
export function pannedImageVideo(img: PlanarImage, path: CameraPath): Video {
  const { size: S, frames: T } = path;
  const plane = img.width * img.height;
  const frames: Float32Array[] = [];
  for (let t = 0; t < T; t++) {
    const u = T === 1 ? 0 : t / (T - 1);
    const cx = (path.from[0] + (path.to[0] - path.from[0]) * u) * img.width;
    const cy = (path.from[1] + (path.to[1] - path.from[1]) * u) * img.height;
    const span = (path.zoomFrom + (path.zoomTo - path.zoomFrom) * u) * img.width;
    const out = new Float32Array(3 * S * S);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const sx = Math.min(img.width - 1.001, Math.max(0, cx + ((x + 0.5) / S - 0.5) * span - 0.5));
        const sy = Math.min(img.height - 1.001, Math.max(0, cy + ((y + 0.5) / S - 0.5) * span - 0.5));
        const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
        for (let c = 0; c < 3; c++) {
          const p = img.planes.subarray(c * plane);
          const i = y0 * img.width + x0;
          const top = p[i]! * (1 - fx) + p[i + 1]! * fx;
          const bottom = p[i + img.width]! * (1 - fx) + p[i + img.width + 1]! * fx;
          out[c * S * S + y * S + x] = top * (1 - fy) + bottom * fy;
        }
      }
    }
    frames.push(out);
  }
  return { width: S, height: S, channels: 3, fps: 20, frames };
}
