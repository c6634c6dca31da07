/**
 * The classic patterns of fixtures/gol/ (RLE) and what each must do. gol-check runs every one through
 * the NCA engine, compares it with the exact rule cell by cell, and checks the behaviour on the
 * NCA's own output: oscillators return, spaceships return translated, the diehard dies at
 * generation 130 (not before), the Gosper gun adds one glider (5 cells) every 30 generations.
 */
import { fileURLToPath } from 'node:url';
import { readTextFile } from '../io/read.js';
import { boardsEqual, isTranslate, placePattern, population, type LifeBoard } from './life.js';
import { parseRle } from './rle.js';

export type PatternExpectation =
  | { kind: 'period'; period: number; shift?: [number, number] }
  | { kind: 'vanish'; at: number }
  | { kind: 'gun'; period: number; cellsPerPeriod: number }
  | { kind: 'exact-only' };

export interface PatternSpec {
  /** File name in fixtures/gol/. */
  file: string;
  name: string;
  /** Torus the pattern runs on, and where its top-left corner goes. */
  width: number;
  height: number;
  x: number;
  y: number;
  generations: number;
  expect: PatternExpectation;
}

/** Every pattern on a 64 x 64 torus (the gun on 96 x 64, so that its gliders fly free for 120 generations). */
export const PATTERNS: PatternSpec[] = [
  { file: 'glider.rle', name: 'glider', width: 64, height: 64, x: 10, y: 10, generations: 120, expect: { kind: 'period', period: 4, shift: [1, 1] } },
  { file: 'lwss.rle', name: 'LWSS', width: 64, height: 64, x: 40, y: 30, generations: 120, expect: { kind: 'period', period: 4, shift: [-2, 0] } },
  { file: 'blinker.rle', name: 'blinker', width: 64, height: 64, x: 30, y: 30, generations: 60, expect: { kind: 'period', period: 2 } },
  { file: 'toad.rle', name: 'toad', width: 64, height: 64, x: 30, y: 30, generations: 60, expect: { kind: 'period', period: 2 } },
  { file: 'beacon.rle', name: 'beacon', width: 64, height: 64, x: 30, y: 30, generations: 60, expect: { kind: 'period', period: 2 } },
  { file: 'pulsar.rle', name: 'pulsar', width: 64, height: 64, x: 25, y: 25, generations: 60, expect: { kind: 'period', period: 3 } },
  { file: 'pentadecathlon.rle', name: 'pentadecathlon', width: 64, height: 64, x: 27, y: 30, generations: 60, expect: { kind: 'period', period: 15 } },
  { file: 'r-pentomino.rle', name: 'R-pentomino', width: 64, height: 64, x: 30, y: 30, generations: 300, expect: { kind: 'exact-only' } },
  { file: 'acorn.rle', name: 'acorn', width: 64, height: 64, x: 28, y: 30, generations: 300, expect: { kind: 'exact-only' } },
  { file: 'diehard.rle', name: 'diehard', width: 64, height: 64, x: 28, y: 30, generations: 140, expect: { kind: 'vanish', at: 130 } },
  { file: 'gosper-glider-gun.rle', name: 'Gosper glider gun', width: 96, height: 64, x: 2, y: 2, generations: 120, expect: { kind: 'gun', period: 30, cellsPerPeriod: 5 } },
];

/** The folder of the pattern files, resolved from this module (src/ or dist/): <package>/fixtures/gol/. */
export function patternsDir(): URL {
  return new URL('../../../fixtures/gol/', import.meta.url);
}

/** Loads a spec's pattern and places it on its torus. */
export async function loadPatternBoard(spec: PatternSpec): Promise<LifeBoard> {
  const url = new URL(spec.file, patternsDir());
  const text = await readTextFile(fileURLToPath(url), 'pattern', 'text');
  const { board } = parseRle(text, `fixtures/gol/${spec.file}`);
  return placePattern(board, spec.width, spec.height, spec.x, spec.y);
}

/**
 * Checks a run's boards (index = generation, 0 = the start) against the expectation. Returns null
 * when it holds, else what went wrong.
 */
export function checkExpectation(spec: PatternSpec, history: LifeBoard[]): string | null {
  const e = spec.expect;
  const at = (g: number) => history[g]!;
  switch (e.kind) {
    case 'period': {
      for (let g = e.period; g < history.length; g += e.period) {
        const k = g / e.period;
        const ok = e.shift ? isTranslate(at(0), at(g), e.shift[0] * k, e.shift[1] * k) : boardsEqual(at(0), at(g));
        if (!ok) return `generation ${g} is not generation 0 ${e.shift ? `moved by (${e.shift[0] * k}, ${e.shift[1] * k})` : 'again'} (period ${e.period})`;
      }
      return null;
    }
    case 'vanish': {
      for (let g = 0; g < e.at; g++) if (population(at(g)) === 0) return `empty at generation ${g}, before ${e.at}`;
      for (let g = e.at; g < history.length; g++) if (population(at(g)) !== 0) return `not empty at generation ${g}`;
      return null;
    }
    case 'gun': {
      for (let g = e.period; g < history.length; g += e.period) {
        const grown = population(at(g)) - population(at(g - e.period));
        if (grown !== e.cellsPerPeriod) return `population grew by ${grown} from generation ${g - e.period} to ${g}, expected ${e.cellsPerPeriod} (one glider)`;
      }
      return null;
    }
    case 'exact-only':
      return null;
  }
}

/** The trained weights shipped with nca: <package>/fixtures/gol.json. */
export function defaultGolWeights(): string {
  return fileURLToPath(new URL('../../../fixtures/gol.json', import.meta.url));
}
