import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/data/rng.js';
import { fitWindowScale, normaliseTargets, windowScales } from '../../src/models/diffusion/scale.js';

/**
 * `scale: window` (src/models/diffusion/scale.ts): a series whose volatility switches between
 * regimes (σ = 0.5 and 2, 200 bars each), feature = the bar's return, target = the next bar's
 * return. The fitted scale must follow the regime (its ratio across regimes near 4, the truth's),
 * use no bar after the window's end, and the normalised targets must be back near one spread.
 */
const n = 2000;
const L = 16;
const rng = makeRng(11);
const sigma = Float64Array.from({ length: n + 1 }, (_, t) => (Math.floor(t / 200) % 2 ? 2 : 0.5));
const r = Float64Array.from(sigma, (s) => s * rng.normal());
const X = r.subarray(0, n);
const Y = r.subarray(1, n + 1);
const ends = Int32Array.from({ length: n - L + 1 }, (_, i) => i + L - 1);
const mean = [0];
const std = [Math.sqrt(Y.reduce((a, y) => a + y * y, 0) / n)];

describe('diffusion window scale', () => {
  const ws = fitWindowScale(X, 1, L, Y, 1, ends, mean, std);
  const s = windowScales(ws, X, 1, L, ends)[0];

  it('follows the volatility regime of the window (calm vs wild ≈ 1 : 4)', () => {
    // Windows wholly inside one regime (not straddling a switch).
    const inRegime = (hi: number) => Array.from(ends.keys()).filter((i) => ends[i] % 200 >= L && sigma[ends[i] + 1] === hi);
    const geo = (ix: number[]) => Math.exp(ix.reduce((a, i) => a + Math.log(s[i]), 0) / ix.length);
    const ratio = geo(inRegime(2)) / geo(inRegime(0.5));
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(5);
  });

  it('uses only the bars up to the window end (no look-ahead)', () => {
    const changed = Float64Array.from(X);
    for (let t = 1000; t < n; t++) changed[t] = 100;
    const s2 = windowScales(ws, changed, 1, L, ends)[0];
    ends.forEach((e, i) => {
      if (e < 1000) expect(s2[i]).toBe(s[i]);
    });
  });

  it('normalised targets have about one spread in both regimes', () => {
    const Yn = normaliseTargets(Y, 1, mean, [{ ends, scales: [s] }]);
    const sd = (hi: number) => {
      const ix = Array.from(ends).filter((e) => e % 200 >= L && sigma[e + 1] === hi);
      return Math.sqrt(ix.reduce((a, e) => a + Yn[e] ** 2, 0) / ix.length);
    };
    expect(sd(2) / sd(0.5)).toBeGreaterThan(0.75);
    expect(sd(2) / sd(0.5)).toBeLessThan(1.33);
  });
});
