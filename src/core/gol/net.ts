/**
 * The part of an NCA that matters under the Game of Life protocol (docs/gol.md):
 * the board is channel 0, hidden channels 1..15 are zero at the start of every step, and the next
 * board is channel 0 of the step's output. So only input column 0 of w1 and output row 0 of w2
 * (and b2[0]) are live:
 *
 *   h_j(y,x) = relu(b1[j] + sum_{ky,kx} w1[j][0][ky][kx] * board(y+ky-1, x+kx-1))     j = 0..15
 *   next(y,x) = board(y,x) + b2[0] + sum_{j,ky,kx} w2[0][j][ky][kx] * h_j(y+ky-1, x+kx-1)
 *
 * A cell's next value depends on its 5x5 neighbourhood only. Neighbourhoods are numbered as
 * 25-bit integers: bit (5*row + col) is the cell at (row, col), the centre is (2, 2) = bit 12.
 */
import { CHANNELS, type NcaParams } from '../nca/params.js';

/** Hidden units (= NCA channels). */
export const UNITS = CHANNELS;
/** Cells of a 3x3 window. */
export const WINDOW_CELLS = 9;
/** Distinct binary 3x3 windows. */
export const WINDOWS = 1 << WINDOW_CELLS;
/** Cells of the 5x5 receptive field. */
export const NEIGHBOURHOOD_CELLS = 25;
/** Distinct binary 5x5 neighbourhoods: 2^25. */
export const NEIGHBOURHOODS = 1 << NEIGHBOURHOOD_CELLS;
/** Bit of the centre cell (2, 2) in a neighbourhood number. */
export const CENTRE_BIT = 12;

/** The live weights, as float64 copies of the float32 parameters. */
export interface GolNet {
  /** w1[j][0][ky][kx]: Float64Array [16][9], window cell k = 3*ky + kx. */
  w1: Float64Array;
  /** b1: Float64Array [16]. */
  b1: Float64Array;
  /** w2[0][j][ky][kx]: Float64Array [16][9], position p = 3*ky + kx. */
  w2: Float64Array;
  /** b2[0]. */
  b2: number;
}

export function golNet(params: NcaParams): GolNet {
  const w1 = new Float64Array(UNITS * 9);
  const w2 = new Float64Array(UNITS * 9);
  for (let j = 0; j < UNITS; j++) {
    for (let k = 0; k < 9; k++) {
      w1[j * 9 + k] = params.w1[(j * CHANNELS + 0) * 9 + k]!;
      w2[j * 9 + k] = params.w2[(0 * CHANNELS + j) * 9 + k]!;
    }
  }
  return { w1, b1: Float64Array.from(params.b1), w2, b2: params.b2[0]! };
}

/** B3/S23 on the centre of a 5x5 neighbourhood number. */
export function lifeTarget(neighbourhood: number): 0 | 1 {
  const centre = (neighbourhood >>> CENTRE_BIT) & 1;
  let n = 0;
  for (const bit of [6, 7, 8, 11, 13, 16, 17, 18]) n += (neighbourhood >>> bit) & 1;
  return n === 3 || (centre === 1 && n === 2) ? 1 : 0;
}

/**
 * The exact (float64) next value of the centre cell for real-valued inputs on the 5x5 field
 * (`cells`: 25 numbers, row-major), hidden channels zero: the reference the tables are checked against.
 */
export function centreOutput(net: GolNet, cells: ArrayLike<number>): number {
  let y = cells[CENTRE_BIT]! + net.b2;
  for (let p = 0; p < 9; p++) {
    const py = Math.floor(p / 3), px = p % 3;
    for (let j = 0; j < UNITS; j++) {
      let z = net.b1[j]!;
      for (let k = 0; k < 9; k++) z += net.w1[j * 9 + k]! * cells[5 * (py + Math.floor(k / 3)) + px + (k % 3)]!;
      if (z > 0) y += net.w2[j * 9 + p]! * z;
    }
  }
  return y;
}

/** The 25 cells of a neighbourhood number as 0/1 floats. */
export function neighbourhoodCells(neighbourhood: number): Float64Array {
  const cells = new Float64Array(NEIGHBOURHOOD_CELLS);
  for (let i = 0; i < NEIGHBOURHOOD_CELLS; i++) cells[i] = (neighbourhood >>> i) & 1;
  return cells;
}

/** A neighbourhood drawn as 5 lines of '#' (alive) and '.' (dead). */
export function drawNeighbourhood(neighbourhood: number): string[] {
  const lines: string[] = [];
  for (let r = 0; r < 5; r++) {
    let s = '';
    for (let c = 0; c < 5; c++) s += (neighbourhood >>> (5 * r + c)) & 1 ? '#' : '.';
    lines.push(s);
  }
  return lines;
}

/** How a GoL parameters file is played: stored as `provenance.protocol` (docs/gol.md). */
export interface GolProtocolInfo {
  name: 'gol-b3s23';
  board: string;
  hidden: string;
  next: string;
  /** 'free': the output is fed back unrounded; 'rounded': thresholded at 0.5 between steps. */
  rounding: 'free' | 'rounded';
  /** The radius the free-running proof was trained for. */
  eps?: number;
}

export function golProtocolInfo(rounding: 'free' | 'rounded', eps?: number): GolProtocolInfo {
  return {
    name: 'gol-b3s23',
    board: 'channel 0: 0 = dead, 1 = alive',
    hidden: 'channels 1..15 are zero at the start of every step',
    next: 'channel 0 of the step output (residual included)',
    rounding,
    ...(eps !== undefined ? { eps } : {}),
  };
}

/** Reads `provenance.protocol` of a GoL parameters file, if it is one. */
export function readGolProtocol(provenance: Record<string, unknown> | undefined): GolProtocolInfo | null {
  const p = provenance?.protocol as Partial<GolProtocolInfo> | undefined;
  if (!p || p.name !== 'gol-b3s23' || (p.rounding !== 'free' && p.rounding !== 'rounded')) return null;
  return p as GolProtocolInfo;
}
