/**
 * The few statistics nca's measures and benchmarks share, defined once: the median, Pearson's r and the sign test.
 */

/** The median of a list: the middle value, or the mean of the middle two for an even length; NaN when empty. */
export function median(values: ArrayLike<number>): number {
  const s = Array.from(values).sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Pearson's correlation of the first min(|x|, |y|) values; 0 when either series is constant or shorter than 2. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = Math.min(x.length, y.length);
  if (n < 2) return 0;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) (mx += x[i]!), (my += y[i]!);
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx, dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/**
 * The exact two-sided sign test on a split (a, b) of discordant pairs (those where two models disagree): the
 * probability that a + b fair coin flips split at least as unevenly; 1 when there are none.
 */
export function signTest(a: number, b: number): number {
  const n = a + b, k = Math.min(a, b);
  if (n === 0) return 1;
  let p = 0, c = 1; // c = C(n, i)
  for (let i = 0; i <= k; i++) {
    p += c;
    c = (c * (n - i)) / (i + 1);
  }
  return Math.min(1, (2 * p) / 2 ** n);
}
