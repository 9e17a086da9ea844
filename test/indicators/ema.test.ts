import { describe, expect, it } from 'vitest';
import { ema, emaLookback } from '../../src/indicators/ema.js';

const f64 = (xs: number[]) => Float64Array.from(xs);

describe('ema (TA-Lib EMA)', () => {
  it('EMA(3) over 6 values, worked by hand', () => {
    const x = [2, 4, 6, 5, 9, 3];
    // k = 2 / (3 + 1) = 0.5; seed at index 2 = SMA of the first 3 values.
    const k = 0.5;
    const e2 = (2 + 4 + 6) / 3; // 4
    const e3 = (5 - e2) * k + e2; // 4.5
    const e4 = (9 - e3) * k + e3; // 6.75
    const e5 = (3 - e4) * k + e4; // 4.875
    expect([e2, e3, e4, e5]).toEqual([4, 4.5, 6.75, 4.875]);
    const out = ema(f64(x), 3);
    expect(Array.from(out.slice(2))).toEqual([4, 4.5, 6.75, 4.875]);
    // NaN exactly over the lookback (period - 1 = 2 rows).
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1])).toBe(true);
    expect(emaLookback(3)).toBe(2);
  });

  it('EMA(4) with a non-dyadic k = 0.4', () => {
    const x = [10, 11, 12, 13, 10, 14];
    // seed at index 3: (10+11+12+13)/4 = 11.5
    // index 4: 11.5 + 0.4 * (10 - 11.5) = 11.5 - 0.6 = 10.9
    // index 5: 10.9 + 0.4 * (14 - 10.9) = 10.9 + 1.24 = 12.14
    const out = ema(f64(x), 4);
    expect(out.slice(0, 3).every(Number.isNaN)).toBe(true);
    expect(out[3]).toBeCloseTo(11.5, 12);
    expect(out[4]).toBeCloseTo(10.9, 12);
    expect(out[5]).toBeCloseTo(12.14, 12);
  });

  it('skips leading NaNs: the seed window starts at the first value', () => {
    const out = ema(f64([NaN, NaN, 2, 4, 6, 5, 9]), 3);
    expect(out.slice(0, 4).every(Number.isNaN)).toBe(true);
    // Same numbers as the hand-worked EMA(3) above, shifted by the two NaNs.
    expect(Array.from(out.slice(4))).toEqual([4, 4.5, 6.75]);
  });

  it('all NaN when the series is shorter than the period', () => {
    expect(ema(f64([1, 2]), 3).every(Number.isNaN)).toBe(true);
    expect(ema(f64([]), 3).length).toBe(0);
  });

  it('matches the closed form seed*(1-k)^m + sum k(1-k)^(t-j) x[j] on a long series', () => {
    const n = 300;
    const period = 10;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = 1.1 + 0.01 * Math.sin(i * 0.37) + 0.002 * Math.cos(i * 1.91);
    const out = ema(x, period);
    const k = 2 / (period + 1);
    let seed = 0;
    for (let i = 0; i < period; i++) seed += x[i] / period;
    for (const t of [period - 1, period, 50, 299]) {
      const m = t - (period - 1);
      let v = seed * Math.pow(1 - k, m);
      for (let j = period; j <= t; j++) v += k * Math.pow(1 - k, t - j) * x[j];
      expect(out[t]).toBeCloseTo(v, 12);
    }
    expect(out.slice(0, period - 1).every(Number.isNaN)).toBe(true);
  });

  it('refuses a bad period', () => {
    expect(() => ema(f64([1, 2, 3]), 0)).toThrow(RangeError);
    expect(() => ema(f64([1, 2, 3]), 2.5)).toThrow(RangeError);
  });
});
