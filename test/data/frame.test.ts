import { describe, it, expect } from 'vitest';
import type { Frame } from '../../src/core/artifacts.js';
import { RunError } from '../../src/core/diagnostics.js';
import { checkFrame, frameLength, isoUtc, sliceFrame } from '../../src/data/frame.js';
import { makeRng } from '../../src/data/rng.js';

function frame(index: number[], cols: Record<string, number[]>): Frame {
  const columns: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(cols)) columns[k] = Float64Array.from(v);
  return { index: Float64Array.from(index), columns };
}

describe('frame helpers', () => {
  const f = frame([10, 20, 30, 40, 50], { a: [1, 2, 3, 4, 5], b: [5, 4, 3, 2, 1] });

  it('frameLength is the number of rows', () => {
    expect(frameLength(f)).toBe(5);
    expect(frameLength(frame([], { a: [] }))).toBe(0);
  });

  it('sliceFrame takes rows [start, end) of every column and keeps other fields', () => {
    const s = sliceFrame({ ...f, extra: 'kept' }, 1, 3);
    expect(Array.from(s.index)).toEqual([20, 30]);
    expect(Array.from(s.columns.a)).toEqual([2, 3]);
    expect(Array.from(s.columns.b)).toEqual([4, 3]);
    expect(s.extra).toBe('kept');
    expect(Array.from(sliceFrame(f, -2).index)).toEqual([40, 50]);
    expect(Array.from(sliceFrame(f, 3, 100).columns.a)).toEqual([4, 5]);
    expect(frameLength(sliceFrame(f, 4, 2))).toBe(0);
  });

  it('checkFrame accepts a good frame', () => {
    expect(() => checkFrame(f)).not.toThrow();
  });

  it('checkFrame refuses unequal column lengths', () => {
    const bad = frame([1, 2, 3], { a: [1, 2] });
    expect(() => checkFrame(bad, 'candles')).toThrow(RunError);
    expect(() => checkFrame(bad, 'candles')).toThrow(/candles: column "a" has 2 rows but the index has 3/);
  });

  it('checkFrame refuses a repeated or decreasing index', () => {
    expect(() => checkFrame(frame([1, 2, 2], { a: [1, 2, 3] }))).toThrow(/not strictly increasing at row 2/);
    expect(() => checkFrame(frame([1, 3, 2], { a: [1, 2, 3] }))).toThrow(/not strictly increasing at row 2/);
    expect(() => checkFrame(frame([1, NaN], { a: [1, 2] }))).toThrow(/row 1 is NaN/);
  });

  it('isoUtc prints minutes in UTC', () => {
    expect(isoUtc(Date.UTC(2012, 11, 19, 3, 0))).toBe('2012-12-19 03:00');
  });
});

describe('makeRng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = makeRng(7);
    const b = makeRng(7);
    const c = makeRng(8);
    const xa = Array.from({ length: 20 }, () => a.next());
    const xb = Array.from({ length: 20 }, () => b.next());
    const xc = Array.from({ length: 20 }, () => c.next());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
    for (const x of xa) expect(x >= 0 && x < 1).toBe(true);
  });

  it('normal() has mean ≈ 0 and variance ≈ 1 (n = 200k, tolerances ~5 standard errors)', () => {
    const r = makeRng(123);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let s4 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
      s4 += z * z * z * z;
    }
    const mean = s / n;
    const varc = s2 / n - mean * mean;
    // SE of the mean is 1/sqrt(n) ≈ 0.0022; of the variance sqrt(2/n) ≈ 0.0032; kurtosis 3 ± ~0.03.
    expect(Math.abs(mean)).toBeLessThan(0.012);
    expect(Math.abs(varc - 1)).toBeLessThan(0.016);
    expect(Math.abs(s4 / n - 3)).toBeLessThan(0.1);
  });

  it('int(n) covers [0, n) evenly', () => {
    const r = makeRng(5);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.int(6)]++;
    // Each count is Binomial(60000, 1/6): 10000 ± 91; allow 5 sd.
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(460);
  });
});
