/**
 * The colour of a frame (Float32Array [3][H][W], CHW, values 0..1) in three numbers:
 *
 * - hue: the saturation-weighted circular mean of the pixels' HSV hues, in degrees 0..360
 *   (0 red, 60 yellow, 120 green, 180 cyan, 240 blue, 300 magenta). Each pixel weighs its chroma
 *   max(r, g, b) - min(r, g, b) (= HSV saturation x value), so near-black and grey pixels, whose hue is
 *   noise, count little.
 * - saturation: the frame's chroma over its value, sum(max - min) / sum(max), 0..1 (independent of
 *   brightness: a dark but coloured frame is as saturated as a bright one). Below GREY_SATURATION the
 *   frame is called grey and has no hue.
 * - brightness: the mean of all values (R, G and B), 0..1.
 */

/** A frame whose saturation is below this is grey (its hue is not counted). */
export const GREY_SATURATION = 0.1;

export interface FrameColour {
  /** Degrees 0..360, or null when the frame is grey. */
  hue: number | null;
  saturation: number;
  brightness: number;
}

/** HSV hue of one pixel in degrees 0..360 (its chroma max - min must be > 0). */
export function pixelHue(r: number, g: number, b: number): number {
  const max = Math.max(r, g, b), min = Math.min(r, g, b), c = max - min;
  let h: number;
  if (max === r) h = (g - b) / c;
  else if (max === g) h = 2 + (b - r) / c;
  else h = 4 + (r - g) / c;
  h *= 60;
  return h < 0 ? h + 360 : h;
}

/** The colour of a frame [3][H][W] of `plane` = H x W pixels. */
export function frameColour(frame: Float32Array, plane: number): FrameColour {
  let sx = 0, sy = 0, chroma = 0, value = 0, sum = 0;
  for (let i = 0; i < plane; i++) {
    const r = frame[i]!, g = frame[plane + i]!, b = frame[2 * plane + i]!;
    const max = Math.max(r, g, b), c = max - Math.min(r, g, b);
    sum += r + g + b;
    value += max;
    if (c > 0) {
      const h = (pixelHue(r, g, b) * Math.PI) / 180;
      sx += c * Math.cos(h);
      sy += c * Math.sin(h);
      chroma += c;
    }
  }
  const saturation = value > 0 ? chroma / value : 0;
  const brightness = sum / (3 * plane);
  if (!(saturation >= GREY_SATURATION)) return { hue: null, saturation: Number.isFinite(saturation) ? saturation : 0, brightness };
  let hue = (Math.atan2(sy, sx) * 180) / Math.PI;
  if (hue < 0) hue += 360;
  return { hue, saturation, brightness };
}
