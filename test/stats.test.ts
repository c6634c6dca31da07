import { describe, expect, it } from 'vitest';
import { median, pearson, signTest } from '../src/core/stats.js';

describe('median', () => {
  it('is the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median(Float32Array.from([5]))).toBe(5);
  });
  it('does not reorder its input and is NaN for nothing', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
    expect(median([])).toBeNaN();
  });
});

describe('pearson', () => {
  it('is 1 / -1 for exact linear relations and 0 for a constant series', () => {
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4], [8, 6, 4, 2])).toBeCloseTo(-1, 12);
    expect(pearson([1, 2, 3], [5, 5, 5])).toBe(0);
  });
  it('matches the textbook formula and uses the shorter length', () => {
    const x = [0.3, 1.2, -0.7, 2.2, 0.9], y = [1.1, 0.4, -0.2, 1.9, 0.3, 99];
    const n = 5, mx = x.reduce((a, b) => a + b) / n, my = y.slice(0, n).reduce((a, b) => a + b) / n;
    let sxy = 0, sxx = 0, syy = 0;
    for (let i = 0; i < n; i++) (sxy += (x[i]! - mx) * (y[i]! - my)), (sxx += (x[i]! - mx) ** 2), (syy += (y[i]! - my) ** 2);
    expect(pearson(x, y)).toBeCloseTo(sxy / Math.sqrt(sxx * syy), 12);
  });
});

describe('signTest', () => {
  it('is the exact two-sided binomial tail of the discordant pairs', () => {
    expect(signTest(0, 0)).toBe(1);
    expect(signTest(0, 5)).toBeCloseTo(2 / 32, 12); // both all-one-way splits of 5 flips
    expect(signTest(3, 3)).toBe(1);
    expect(signTest(16, 14)).toBeCloseTo(0.8555, 4); // bench/family/chords.mjs: TWR10 against N75
    expect(signTest(42, 19)).toBeCloseTo(0.00444, 5); // TW01 against N75
    expect(signTest(19, 8)).toBe(signTest(8, 19));
  });
});
