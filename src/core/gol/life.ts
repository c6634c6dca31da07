/**
 * Conway's Game of Life (B3/S23), exact, on a torus: the ground truth the NCA is checked against.
 *
 * A board is `Uint8Array [H][W]` row-major with one byte per cell, 0 = dead, 1 = alive. Every
 * operation is integer-only, so there is nothing to round and nothing to trust but the rule.
 */

/** A Life board: `cells` is Uint8Array [height][width] row-major, 0 dead / 1 alive. */
export interface LifeBoard {
  width: number;
  height: number;
  cells: Uint8Array;
}

export function emptyBoard(width: number, height: number): LifeBoard {
  return { width, height, cells: new Uint8Array(width * height) };
}

/** B3/S23: a dead cell with exactly 3 live neighbours is born, a live one with 2 or 3 survives. */
export function lifeRule(alive: number, neighbours: number): 0 | 1 {
  return neighbours === 3 || (alive !== 0 && neighbours === 2) ? 1 : 0;
}

/**
 * One generation on the torus. Writes into `out` (allocated when absent; must not be `board`)
 * and returns it.
 */
export function lifeStep(board: LifeBoard, out?: LifeBoard): LifeBoard {
  const { width: W, height: H, cells } = board;
  const next = out ?? emptyBoard(W, H);
  if (next.cells === cells) throw new Error('lifeStep: out must not alias the input board');
  const dst = next.cells;
  const count = (up: number, row: number, down: number, l: number, x: number, r: number) =>
    cells[up + l]! + cells[up + x]! + cells[up + r]! + cells[row + l]! + cells[row + r]! + cells[down + l]! + cells[down + x]! + cells[down + r]!;
  for (let y = 0; y < H; y++) {
    const up = ((y + H - 1) % H) * W;
    const row = y * W;
    const down = ((y + 1) % H) * W;
    // the two edge columns wrap; the interior needs no modulo
    dst[row] = lifeRule(cells[row]!, count(up, row, down, W - 1, 0, 1 % W));
    for (let x = 1; x < W - 1; x++) {
      const n = cells[up + x - 1]! + cells[up + x]! + cells[up + x + 1]! + cells[row + x - 1]! + cells[row + x + 1]! + cells[down + x - 1]! + cells[down + x]! + cells[down + x + 1]!;
      dst[row + x] = n === 3 || (n === 2 && cells[row + x] === 1) ? 1 : 0;
    }
    if (W > 1) dst[row + W - 1] = lifeRule(cells[row + W - 1]!, count(up, row, down, W - 2, W - 1, 0));
  }
  return next;
}

/** Runs `generations` steps and returns the final board (the input is not modified). */
export function lifeRun(board: LifeBoard, generations: number): LifeBoard {
  let a = cloneBoard(board);
  let b = emptyBoard(board.width, board.height);
  for (let g = 0; g < generations; g++) {
    lifeStep(a, b);
    [a, b] = [b, a];
  }
  return a;
}

export function cloneBoard(board: LifeBoard): LifeBoard {
  return { width: board.width, height: board.height, cells: board.cells.slice() };
}

export function population(board: LifeBoard): number {
  let n = 0;
  for (let i = 0; i < board.cells.length; i++) n += board.cells[i]!;
  return n;
}

export function boardsEqual(a: LifeBoard, b: LifeBoard): boolean {
  if (a.width !== b.width || a.height !== b.height) return false;
  for (let i = 0; i < a.cells.length; i++) if (a.cells[i] !== b.cells[i]) return false;
  return true;
}

/** True when `b` is `a` translated by (dx, dy) on the torus. */
export function isTranslate(a: LifeBoard, b: LifeBoard, dx: number, dy: number): boolean {
  const { width: W, height: H } = a;
  if (b.width !== W || b.height !== H) return false;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const tx = (((x + dx) % W) + W) % W;
      const ty = (((y + dy) % H) + H) % H;
      if (a.cells[y * W + x] !== b.cells[ty * W + tx]) return false;
    }
  }
  return true;
}

/** Bounding box of the live cells, or null for an empty board (no wrap-around handling). */
export function liveBounds(board: LifeBoard): { x: number; y: number; width: number; height: number } | null {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < board.height; y++) {
    for (let x = 0; x < board.width; x++) {
      if (board.cells[y * board.width + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Copies `pattern` into a new `width` x `height` board with its top-left corner at (x, y) (wrapping). */
export function placePattern(pattern: LifeBoard, width: number, height: number, x: number, y: number): LifeBoard {
  const board = emptyBoard(width, height);
  for (let py = 0; py < pattern.height; py++) {
    for (let px = 0; px < pattern.width; px++) {
      if (pattern.cells[py * pattern.width + px]) board.cells[((y + py) % height) * width + ((x + px) % width)] = 1;
    }
  }
  return board;
}

/** Index of the first cell where the boards differ, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
