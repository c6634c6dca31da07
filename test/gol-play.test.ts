import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { AUTO_MIN_SIDE, autoTorus, playPattern } from '../src/core/gol/play.js';
import { defaultGolWeights } from '../src/core/gol/patterns.js';
import { parseRle } from '../src/core/gol/rle.js';
import { loadParams } from '../src/core/nca/params.js';

describe('playPattern (nca gol without the command line)', () => {
  const glider = parseRle('x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!', 'glider').board;

  it('sizes the torus from the pattern and the generations', () => {
    // a margin of generations / 4 cells, 16 to 64, on each side
    expect(autoTorus({ width: 3, height: 3 }, 40)).toEqual({ width: 3 + 2 * 16, height: 3 + 2 * 16 });
    expect(autoTorus({ width: 3, height: 3 }, 40).width).toBeGreaterThanOrEqual(AUTO_MIN_SIDE);
    expect(autoTorus({ width: 10, height: 4 }, 400)).toEqual({ width: 10 + 2 * 64, height: 4 + 2 * 64 });
  });

  it('plays a glider exactly, with a GIF of generations + 1 frames on request', async () => {
    const { params } = await loadParams(defaultGolWeights());
    const run = await playPattern(params, glider, { generations: 8, width: 12, height: 12, rounding: 'free', threads: 1, gif: { fps: 10, scale: 2, compare: true } });
    expect(run.comparison.mismatchedCells).toBe(0);
    expect(run.population).toBe(5);
    expect(run.gif).not.toBeNull();
    expect(Buffer.from(run.gif!.subarray(0, 6)).toString('latin1')).toBe('GIF89a');
    const plain = await playPattern(params, glider, { generations: 8, width: 12, height: 12, rounding: 'free', threads: 1 });
    expect(plain.gif).toBeNull();
    expect(Array.from(plain.final.cells)).toEqual(Array.from(run.final.cells));
  });

  it('checks its own inputs with its own names', async () => {
    const { params } = await loadParams(defaultGolWeights());
    await expect(playPattern(params, glider, { generations: -1, rounding: 'free' })).rejects.toThrow(/generations/);
    await expect(playPattern(params, glider, { generations: 4, width: 2, height: 12, rounding: 'free' })).rejects.toThrow(UserError);
    await expect(playPattern(params, glider, { generations: 4, rounding: 'free', gif: { fps: 10, scale: 0 } })).rejects.toThrow(/gif\.scale/);
  });
});
