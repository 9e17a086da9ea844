import { describe, expect, it } from 'vitest';
import { rsi, rsiLookback } from '../../src/indicators/rsi.js';

const f64 = (xs: number[]) => Float64Array.from(xs);

describe('rsi (TA-Lib Wilder RSI)', () => {
  it('RSI(3) on 8 closes, worked by hand', () => {
    const closes = [10, 11, 10.5, 11.5, 12, 11, 11.5, 13];
    // changes: +1, -0.5, +1, +0.5, -1, +0.5, +1.5
    // first averages = simple mean of the first 3 changes (+1, -0.5, +1):
    let g = (1 + 0 + 1) / 3; // 2/3
    let l = (0 + 0.5 + 0) / 3; // 1/6
    const r3 = (100 * g) / (g + l); // 100 * (2/3) / (5/6) = 80
    expect(r3).toBeCloseTo(80, 12);
    // Wilder step: avg = (prev * (period-1) + current) / period
    g = (g * 2 + 0.5) / 3; // change +0.5 → 11/18
    l = (l * 2 + 0) / 3; // 1/9
    const r4 = (100 * g) / (g + l); // 100 * 11/13
    expect(r4).toBeCloseTo(1100 / 13, 12);
    g = (g * 2 + 0) / 3; // change -1 → 11/27
    l = (l * 2 + 1) / 3; // 11/27
    const r5 = (100 * g) / (g + l); // 50
    expect(r5).toBeCloseTo(50, 12);
    g = (g * 2 + 0.5) / 3; // change +0.5 → 71/162
    l = (l * 2 + 0) / 3; // 44/162
    const r6 = (100 * g) / (g + l); // 100 * 71/115
    expect(r6).toBeCloseTo(7100 / 115, 12);
    g = (g * 2 + 1.5) / 3; // change +1.5 → 385/486
    l = (l * 2 + 0) / 3; // 88/486
    const r7 = (100 * g) / (g + l); // 100 * 385/473
    expect(r7).toBeCloseTo(38500 / 473, 12);

    const out = rsi(f64(closes), 3);
    // NaN exactly over the lookback (period = 3 rows); first value at index `period`.
    expect(out.slice(0, 3).every(Number.isNaN)).toBe(true);
    expect(rsiLookback(3)).toBe(3);
    expect(out[3]).toBeCloseTo(80, 12);
    expect(out[4]).toBeCloseTo(1100 / 13, 12);
    expect(out[5]).toBeCloseTo(50, 12);
    expect(out[6]).toBeCloseTo(7100 / 115, 12);
    expect(out[7]).toBeCloseTo(38500 / 473, 12);
  });

  it('TA-Lib convention: 0 (not 50 or NaN) when there is neither gain nor loss', () => {
    const out = rsi(f64([5, 5, 5, 5, 5, 5]), 3);
    expect(Array.from(out.slice(3))).toEqual([0, 0, 0]);
  });

  it('100 when there are only gains, 0 when only losses', () => {
    expect(Array.from(rsi(f64([1, 2, 3, 4, 5]), 2).slice(2))).toEqual([100, 100, 100]);
    expect(Array.from(rsi(f64([5, 4, 3, 2, 1]), 2).slice(2))).toEqual([0, 0, 0]);
  });

  it('agrees with the textbook form 100 - 100/(1+RS) on a long series', () => {
    const n = 200;
    const period = 14;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = 1.3 + 0.004 * Math.sin(i * 0.5) + 0.001 * Math.sin(i * 2.3);
    const out = rsi(x, period);
    // Independent: up/down moves as separate arrays, averages via RS.
    let up = 0;
    let down = 0;
    for (let i = 1; i <= period; i++) {
      const d = x[i] - x[i - 1];
      up += Math.max(d, 0);
      down += Math.max(-d, 0);
    }
    up /= period;
    down /= period;
    expect(out[period]).toBeCloseTo(100 - 100 / (1 + up / down), 9);
    for (let i = period + 1; i < n; i++) {
      const d = x[i] - x[i - 1];
      up = up + (Math.max(d, 0) - up) / period;
      down = down + (Math.max(-d, 0) - down) / period;
      expect(out[i]).toBeCloseTo(100 - 100 / (1 + up / down), 9);
    }
  });

  it('skips leading NaNs and is all NaN when too short', () => {
    const out = rsi(f64([NaN, 10, 11, 10.5, 11.5]), 3);
    expect(out.slice(0, 4).every(Number.isNaN)).toBe(true);
    expect(out[4]).toBeCloseTo(80, 12); // the hand-worked first value above
    expect(rsi(f64([1, 2, 3]), 3).every(Number.isNaN)).toBe(true);
  });

  it('refuses period 1 (TA-Lib would copy the input)', () => {
    expect(() => rsi(f64([1, 2, 3]), 1)).toThrow(RangeError);
  });
});
