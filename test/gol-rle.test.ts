import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { boardsEqual, emptyBoard } from '../src/core/gol/life.js';
import { formatRle, parseRle } from '../src/core/gol/rle.js';
import { Rng } from '../src/core/rng.js';

const cellsOf = (rle: string) => {
  const { board } = parseRle(rle);
  return Array.from({ length: board.height }, (_, y) => Array.from(board.cells.subarray(y * board.width, (y + 1) * board.width), (v) => (v ? 'o' : '.')).join(''));
};

describe('RLE reader', () => {
  it('reads a glider with comments, header and runs', () => {
    const p = parseRle('#N Glider\n#C a comment\n#O someone\nx = 3, y = 3, rule = B3/S23\nbob$2bo$3o!\n');
    expect(p.name).toBe('Glider');
    expect(p.comments).toEqual(['a comment', 'someone']);
    expect(cellsOf('x = 3, y = 3, rule = B3/S23\nbob$2bo$3o!')).toEqual(['.o.', '..o', 'ooo']);
  });

  it('accepts line breaks inside the data, run counts before $, no rule, old-style 23/3, text after !', () => {
    expect(cellsOf('x=4,y=4\n2o\n2$\n2b2o!')).toEqual(['oo..', '....', '..oo', '....']);
    expect(cellsOf('x = 2, y = 1, rule = 23/3\n2o! trailing words')).toEqual(['oo']);
    expect(cellsOf('x = 2, y = 1, rule = b3/s23\nbo!')).toEqual(['.o']);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['another rule', 'x = 3, y = 1, rule = B36/S23\n3o!', /rule B36\/S23 is not supported/],
    ['no header', '#C only a comment\n', /no "x = .., y = .." header/],
    ['malformed header', 'x = three, y = 1\n3o!', /header needs "x = <positive integer>"/],
    ['bad character', 'x = 3, y = 1\n2oz!', /unexpected character "z"/],
    ['missing !', 'x = 3, y = 1\n3o', /does not end with '!'/],
    ['row too long', 'x = 2, y = 1\n3o!', /outside the 2x1 box/],
    ['too many rows', 'x = 1, y = 1\no$o!', /outside the 1x1 box/],
    ['count before nothing', 'x = 1, y = 1\no3!', /run count just before '!'/],
    ['zero size', 'x = 0, y = 1\n!', /out of range/],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects ${what} with a UserError`, () => {
      expect(() => parseRle(text, 'p.rle')).toThrow(UserError);
      expect(() => parseRle(text, 'p.rle')).toThrow(message);
    });
  }
});

describe('RLE writer', () => {
  it('writes the standard form', () => {
    const b = parseRle('x = 3, y = 3\nbob$2bo$3o!').board;
    expect(formatRle(b, { name: 'Glider' })).toBe('#N Glider\nx = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n');
  });

  it('round-trips random boards, empty rows and lines of at most 70 characters', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 20; t++) {
      const w = 1 + rng.int(60);
      const h = 1 + rng.int(40);
      const density = [0, 0.05, 0.3, 0.9][t % 4]!;
      const b = emptyBoard(w, h);
      for (let i = 0; i < b.cells.length; i++) b.cells[i] = rng.uniform() < density ? 1 : 0;
      const text = formatRle(b);
      for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(70);
      const back = parseRle(text).board;
      expect(boardsEqual(back, b)).toBe(true);
    }
  });
});
