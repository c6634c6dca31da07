/**
 * Cutting regions out of growing-NCA states (every channel set to 0: the cells die), for training
 * (so that the rule learns to regenerate) and for the regeneration measure and `--damage`.
 * States are [B][16][H][W]; regions are given in cells.
 */
import { GROW_CHANNELS } from './params.js';
import type { Rng } from '../rng.js';

export type Cut = { shape: 'disc'; cx: number; cy: number; r: number } | { shape: 'square'; x0: number; y0: number; side: number };

export function inCut(cut: Cut, x: number, y: number): boolean {
  if (cut.shape === 'disc') return (x - cut.cx) ** 2 + (y - cut.cy) ** 2 < cut.r * cut.r;
  return x >= cut.x0 && x < cut.x0 + cut.side && y >= cut.y0 && y < cut.y0 + cut.side;
}

/** Zeroes every channel of sample `b` inside `cut`. Returns the number of cells cut. */
export function applyCut(state: Float32Array, b: number, width: number, height: number, cut: Cut): number {
  const plane = width * height;
  let n = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (!inCut(cut, x, y)) continue;
      n++;
      for (let c = 0; c < GROW_CHANNELS; c++) state[(b * GROW_CHANNELS + c) * plane + y * width + x] = 0;
    }
  return n;
}

/** The Growing-NCA article's training damage: a disc of radius (0.1..0.4) x side/2 centred in the middle half of the grid. */
export function trainingCut(rng: Rng, width: number, height: number): Cut {
  const half = Math.min(width, height) / 2;
  return { shape: 'disc', cx: width / 2 + (rng.uniform() - 0.5) * width / 2, cy: height / 2 + (rng.uniform() - 0.5) * height / 2, r: (0.1 + 0.3 * rng.uniform()) * half };
}

/**
 * A cut of `fraction` of the target's area (its cells with alpha > 0.1), square or disc, centred on a
 * random cell of the target: the regeneration measure's damage.
 */
export function areaCut(rng: Rng, shape: 'disc' | 'square', targetAlpha: Float32Array, width: number, fraction: number): Cut {
  const cells: number[] = [];
  for (let i = 0; i < targetAlpha.length; i++) if (targetAlpha[i]! > 0.1) cells.push(i);
  const area = fraction * cells.length;
  const centre = cells[rng.int(cells.length)] ?? 0;
  const cx = (centre % width) + 0.5, cy = Math.floor(centre / width) + 0.5;
  if (shape === 'disc') return { shape, cx, cy, r: Math.sqrt(area / Math.PI) };
  const side = Math.max(1, Math.round(Math.sqrt(area)));
  return { shape, x0: Math.round(cx - side / 2), y0: Math.round(cy - side / 2), side };
}
