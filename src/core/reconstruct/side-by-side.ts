/**
 * Pictures of a reconstruction: the side-by-side video (source | what the NCA sees | reconstruction,
 * optionally a baseline as a fourth panel) as a GIF or, through ffmpeg, an MP4/WebM; a still strip
 * of chosen frames as a PNG; and a plain video as a GIF. Frames are [P][H][W] planar (P = 1 grey or
 * 3 colour), values 0..1.
 */
import { extname } from 'node:path';
import { drawText, GLYPH_HEIGHT } from '../io/font.js';
import { GifWriter, writeGif } from '../io/gif.js';
import { writeFileAtomic } from '../io/atomic.js';
import { hstack, planarToRgba, upscaleNearest, type RgbaImage } from '../io/image.js';
import { encodePng } from '../io/png.js';

/** A frame as RGB planes (grey repeated), for planarToRgba. */
function rgbPlanes(frame: Float32Array, plane: number): Float32Array {
  if (frame.length >= 3 * plane) return frame;
  const out = new Float32Array(3 * plane);
  out.set(frame, 0);
  out.set(frame, plane);
  out.set(frame, 2 * plane);
  return out;
}

/** What the NCA sees of a frame: the arriving pixels, the rest dark grey. */
export function seenFrame(frame: Float32Array, mask: Uint8Array, P: number): Float32Array {
  const plane = mask.length;
  const out = new Float32Array(P * plane).fill(0.12);
  for (let i = 0; i < plane; i++) if (mask[i]) for (let c = 0; c < P; c++) out[c * plane + i] = frame[c * plane + i]!;
  return out;
}

export interface Panel {
  label: string;
  frames: readonly Float32Array[];
}

export interface SideBySideOptions {
  width: number;
  height: number;
  /** Pixels per cell (nearest), default 3. */
  scale?: number;
  /** Labels above the panels (default true). */
  labels?: boolean;
}

const GAP = 4;
const LABEL_SCALE = 1;

/** Frame t of the panels side by side, labels above. */
export function composeFrame(panels: readonly Panel[], t: number, o: SideBySideOptions): RgbaImage {
  const scale = o.scale ?? 3;
  const plane = o.width * o.height;
  const images = panels.map((p) => planarToRgba(rgbPlanes(p.frames[t]!, plane), o.width, o.height, scale));
  const row = hstack(images, GAP);
  if (o.labels === false) return row;
  const top = GLYPH_HEIGHT * LABEL_SCALE + 4;
  const out: RgbaImage = { width: row.width, height: row.height + top, data: new Uint8Array(row.width * (row.height + top) * 4) };
  for (let i = 3; i < out.data.length; i += 4) out.data[i] = 255;
  out.data.set(row.data, top * row.width * 4);
  panels.forEach((p, k) => drawText(out, p.label, k * (o.width * scale + GAP) + 1, 2, [230, 230, 230], LABEL_SCALE));
  return out;
}

/** Writes the panels as an animation: `.gif`, or `.mp4` / `.webm` through ffmpeg (src/core/video). */
export async function writeSideBySide(path: string, panels: readonly Panel[], o: SideBySideOptions & { fps: number; signal?: AbortSignal }): Promise<void> {
  const T = panels[0]!.frames.length;
  const ext = extname(path).toLowerCase();
  if (ext === '.mp4' || ext === '.webm') {
    const { openVideoWriter } = await import('../video/writer.js');
    const first = composeFrame(panels, 0, o);
    const writer = await openVideoWriter({ out: path, width: first.width, height: first.height, fps: Math.max(1, Math.round(o.fps)), filter: 'nearest', signal: o.signal });
    try {
      for (let t = 0; t < T; t++) await writer.addFrame(t === 0 ? first.data : composeFrame(panels, t, o).data);
      await writer.finish();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    return;
  }
  const first = composeFrame(panels, 0, o);
  const gif = new GifWriter({ width: first.width, height: first.height, fps: Math.min(50, o.fps) });
  gif.addFrame(first);
  for (let t = 1; t < T; t++) gif.addFrame(composeFrame(panels, t, o));
  await writeFileAtomic(path, gif.bytes());
}

/** A still PNG: the chosen frames as rows of the side-by-side panels (frame number at the left). */
export async function writeStrip(path: string, panels: readonly Panel[], frames: readonly number[], o: SideBySideOptions): Promise<void> {
  const rows = frames.map((t, i) => {
    const img = composeFrame(panels, t, { ...o, labels: i === 0 });
    drawText(img, `t${t}`, 1, img.height - GLYPH_HEIGHT - 1, [255, 255, 0], 1);
    return img;
  });
  const width = Math.max(...rows.map((r) => r.width));
  const height = rows.reduce((s, r) => s + r.height + GAP, -GAP);
  const out: RgbaImage = { width, height, data: new Uint8Array(width * height * 4) };
  for (let i = 3; i < out.data.length; i += 4) out.data[i] = 255;
  let y = 0;
  for (const r of rows) {
    for (let yy = 0; yy < r.height; yy++) out.data.set(r.data.subarray(yy * r.width * 4, (yy + 1) * r.width * 4), ((y + yy) * width) * 4);
    y += r.height + GAP;
  }
  await writeFileAtomic(path, encodePng(out));
}

/** A video's frames as a GIF (for the test videos), optionally upscaled. */
export async function writeVideoGif(path: string, video: { width: number; height: number; frames: readonly Float32Array[] }, o: { fps: number; scale?: number }): Promise<void> {
  const plane = video.width * video.height;
  const frames = video.frames.map((f) => upscaleNearest(planarToRgba(rgbPlanes(f, plane), video.width, video.height), o.scale ?? 1));
  await writeGif(path, frames, { fps: o.fps });
}
