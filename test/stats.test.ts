import { describe, expect, it } from 'vitest';
import { median, signTest } from '../src/core/stats.js';

describe('stats', () => {
  it('median of odd, even and empty lists', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('the sign test: exact two-sided binomial tail of the discordant pairs', () => {
    expect(signTest(0, 0)).toBe(1);
    expect(signTest(0, 5)).toBeCloseTo(2 / 32, 12); // both all-one-way splits of 5 flips
    expect(signTest(3, 3)).toBe(1);
    expect(signTest(16, 14)).toBeCloseTo(0.8555, 4); // bench/family/chords.mjs: TWR10 against N75
    expect(signTest(42, 19)).toBeCloseTo(0.00444, 5); // TW01 against N75
    expect(signTest(19, 8)).toBe(signTest(8, 19));
  });
});
