import { describe, expect, it } from 'vitest';
import { ema } from '../../src/indicators/ema.js';
import { macd, macdLookback } from '../../src/indicators/macd.js';

const f64 = (xs: number[]) => Float64Array.from(xs);

describe('macd (TA-Lib MACD)', () => {
  // MACD(fast 2, slow 3, signal 2) on 7 closes, following TA-Lib's alignment: both EMAs start at
  // index slow-1 = 2; the fast EMA's seed is the mean of the 2 values ENDING at index 2.
  const x = [1, 3, 2, 5, 4, 6, 8];
  const kSlow = 2 / (3 + 1); // 0.5
  const kFast = 2 / (2 + 1); // 2/3
  const kSig = 2 / (2 + 1); // 2/3

  // slow EMA(3): seed at index 2 = (1+3+2)/3
  const slow: number[] = [];
  slow[2] = (1 + 3 + 2) / 3; // 2
  for (let i = 3; i < 7; i++) slow[i] = (x[i] - slow[i - 1]) * kSlow + slow[i - 1]; // 3.5, 3.75, 4.875, 6.4375
  // fast EMA(2): seed at index 2 = (x[1] + x[2]) / 2 = (3+2)/2 = 2.5   (not (1+3)/2 then a step)
  const fast: number[] = [];
  fast[2] = (3 + 2) / 2;
  for (let i = 3; i < 7; i++) fast[i] = (x[i] - fast[i - 1]) * kFast + fast[i - 1]; // 25/6, 73/18, 289/54, 1153/162
  const line: number[] = [];
  for (let i = 2; i < 7; i++) line[i] = fast[i] - slow[i]; // 0.5, 2/3, 11/36, 103/216, 881/1296
  // signal EMA(2) of the MACD line: seed at index 3 = mean of line[2], line[3]
  const sig: number[] = [];
  sig[3] = (line[2] + line[3]) / 2; // 7/12
  for (let i = 4; i < 7; i++) sig[i] = (line[i] - sig[i - 1]) * kSig + sig[i - 1];

  it('hand-worked intermediate values are the fractions written above', () => {
    expect(slow.slice(2)).toEqual([2, 3.5, 3.75, 4.875, 6.4375]);
    expect(fast[3]).toBeCloseTo(25 / 6, 14);
    expect(fast[6]).toBeCloseTo(1153 / 162, 13);
    expect(line[3]).toBeCloseTo(2 / 3, 14);
    expect(line[6]).toBeCloseTo(881 / 1296, 13);
    expect(sig[3]).toBeCloseTo(7 / 12, 14);
    expect(sig[4]).toBeCloseTo(43 / 108, 14);
  });

  it('MACD(2,3,2) matches the hand-worked series, NaN over the lookback', () => {
    const r = macd(f64(x), 2, 3, 2);
    // lookback = (slow-1) + (signal-1) = 3; first output at slow+signal-2 = 3
    expect(macdLookback(2, 3, 2)).toBe(3);
    for (const s of [r.macd, r.signal, r.hist]) expect(s.slice(0, 3).every(Number.isNaN)).toBe(true);
    for (let i = 3; i < 7; i++) {
      expect(r.macd[i]).toBeCloseTo(line[i], 13);
      expect(r.signal[i]).toBeCloseTo(sig[i], 13);
      expect(r.hist[i]).toBeCloseTo(line[i] - sig[i], 13);
    }
  });

  it('differs from fast/slow EMAs each seeded at the start (the TA-Lib quirk is really there)', () => {
    const r = macd(f64(x), 2, 3, 2);
    const naive = ema(f64(x), 2)[3] - ema(f64(x), 3)[3];
    // naive fast EMA: seed (1+3)/2 = 2 at index 1, then 2 + (2-2)*2/3 = 2, then 2 + (5-2)*2/3 = 4 → 4 - 3.5 = 0.5
    expect(naive).toBeCloseTo(0.5, 14);
    expect(r.macd[3]).toBeCloseTo(2 / 3, 14);
  });

  it('swaps fast and slow when fast > slow, as TA-Lib does', () => {
    const a = macd(f64(x), 2, 3, 2);
    const b = macd(f64(x), 3, 2, 2);
    expect(Array.from(b.macd)).toEqual(Array.from(a.macd));
    expect(Array.from(b.hist)).toEqual(Array.from(a.hist));
  });

  it('lookback of the default 12/26/9 is 33', () => {
    const n = 60;
    const s = new Float64Array(n);
    for (let i = 0; i < n; i++) s[i] = 1 + 0.01 * Math.sin(i);
    const r = macd(s, 12, 26, 9);
    expect(macdLookback(12, 26, 9)).toBe(25 + 8);
    expect(r.macd.slice(0, 33).every(Number.isNaN)).toBe(true);
    expect(r.signal.slice(0, 33).every(Number.isNaN)).toBe(true);
    expect(r.macd.slice(33).some(Number.isNaN)).toBe(false);
    expect(r.hist.slice(33).some(Number.isNaN)).toBe(false);
  });

  it('all NaN when too short', () => {
    const r = macd(f64([1, 2, 3]), 2, 3, 2);
    expect(r.macd.every(Number.isNaN) && r.signal.every(Number.isNaN) && r.hist.every(Number.isNaN)).toBe(true);
  });
});
