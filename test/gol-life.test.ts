import { describe, expect, it } from 'vitest';
import { cloneBoard, emptyBoard, isTranslate, lifeRule, lifeRun, lifeStep, placePattern, population, type LifeBoard } from '../src/core/gol/life.js';
import { CENTRE_BIT, lifeTarget } from '../src/core/gol/net.js';
import { PATTERNS, checkExpectation, loadPatternBoard, patternsDir } from '../src/core/gol/patterns.js';
import { parseRle } from '../src/core/gol/rle.js';
import { readFile } from 'node:fs/promises';

function board(rows: string[]): LifeBoard {
  const b = emptyBoard(rows[0]!.length, rows.length);
  rows.forEach((r, y) => [...r].forEach((c, x) => (b.cells[y * b.width + x] = c === '#' ? 1 : 0)));
  return b;
}
const draw = (b: LifeBoard) => Array.from({ length: b.height }, (_, y) => Array.from(b.cells.subarray(y * b.width, (y + 1) * b.width), (v) => (v ? '#' : '.')).join(''));

describe('exact Life (B3/S23 on a torus)', () => {
  it('applies the rule: birth on 3, survival on 2 or 3', () => {
    for (let n = 0; n <= 8; n++) {
      expect(lifeRule(0, n)).toBe(n === 3 ? 1 : 0);
      expect(lifeRule(1, n)).toBe(n === 2 || n === 3 ? 1 : 0);
    }
  });

  it('blinks a blinker and keeps a block', () => {
    const b = board(['.....', '.....', '.###.', '.....', '.....']);
    expect(draw(lifeStep(b))).toEqual(['.....', '..#..', '..#..', '..#..', '.....']);
    const block = board(['....', '.##.', '.##.', '....']);
    expect(draw(lifeStep(block))).toEqual(draw(block));
  });

  it('wraps around the torus edges', () => {
    // a horizontal blinker split across the left/right edge turns vertical in column 0
    const wrapped = board(['.....', '.....', '##..#', '.....', '.....']);
    expect(draw(lifeStep(wrapped))).toEqual(['.....', '#....', '#....', '#....', '.....']);
  });

  it('moves a glider one cell diagonally every 4 generations, across the edges', () => {
    const g = placePattern(board(['.#.', '..#', '###']), 8, 8, 5, 5);
    let cur = cloneBoard(g);
    for (let k = 1; k <= 8; k++) {
      cur = lifeRun(cur, 4);
      expect(isTranslate(g, cur, k, k)).toBe(true);
    }
  });

  it('agrees with the neighbourhood target used by the proof', () => {
    for (let n = 0; n < 1 << 9; n++) {
      // put the 3x3 pattern n around the centre of a 5x5 neighbourhood
      let nb = 0;
      for (let k = 0; k < 9; k++) if ((n >> k) & 1) nb |= 1 << (5 * (1 + Math.floor(k / 3)) + 1 + (k % 3));
      const b = emptyBoard(5, 5);
      for (let i = 0; i < 25; i++) b.cells[i] = (nb >> i) & 1;
      expect(lifeStep(b).cells[CENTRE_BIT]).toBe(lifeTarget(nb));
    }
  });
});

describe('classic patterns (fixtures/gol/*.rle) under the exact rule', () => {
  for (const spec of PATTERNS) {
    it(`${spec.name}: ${spec.expect.kind === 'period' ? `period ${spec.expect.period}` : spec.expect.kind}`, async () => {
      const start = await loadPatternBoard(spec);
      const history = [start];
      for (let g = 1; g <= spec.generations; g++) history.push(lifeStep(history[g - 1]!));
      expect(checkExpectation(spec, history)).toBeNull();
    });
  }

  it('checkExpectation notices a wrong history', async () => {
    const spec = PATTERNS.find((p) => p.name === 'diehard')!;
    const start = await loadPatternBoard(spec);
    const frozen = Array.from({ length: spec.generations + 1 }, () => start);
    expect(checkExpectation(spec, frozen)).toMatch(/not empty/);
    const gun = PATTERNS.find((p) => p.name === 'Gosper glider gun')!;
    const gunStart = await loadPatternBoard(gun);
    expect(checkExpectation(gun, Array.from({ length: gun.generations + 1 }, () => gunStart))).toMatch(/grew by 0/);
  });

  it('R-pentomino: 116 cells at generation 1103 on a torus large enough for its gliders', async () => {
    const { board: rp } = parseRle(await readFile(new URL('r-pentomino.rle', patternsDir()), 'utf8'));
    expect(population(rp)).toBe(5);
    expect(population(lifeRun(placePattern(rp, 600, 600, 300, 300), 1103))).toBe(116);
  });
});
