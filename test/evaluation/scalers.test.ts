import { describe, it, expect } from 'vitest';
import { applyScaler, fitScaler, quantileSorted } from '../../src/evaluation/scalers.js';

/** A 6 × 2 row-major matrix: column 0 = [1, 2, 3, 4, 100, −50], column 1 = [3, −1, 7, 7, 0, 0]. */
const X = Float64Array.from([1, 3, 2, -1, 3, 7, 4, 7, 100, 0, -50, 0]);

describe('scalers fitted on training rows only', () => {
  it('zscore over rows [0,4): mean and population std of those rows, rows 4..5 ignored', () => {
    // col 0: 1 2 3 4 → mean 2.5, var (2.25+0.25+0.25+2.25)/4 = 1.25
    // col 1: 3 −1 7 7 → mean 4, var (1+25+9+9)/4 = 11
    const s = fitScaler(X, 2, { start: 0, end: 4 }, 'zscore');
    expect(s.center).toEqual([2.5, 4]);
    expect(s.scale[0]).toBeCloseTo(Math.sqrt(1.25), 15);
    expect(s.scale[1]).toBeCloseTo(Math.sqrt(11), 15);
  });

  it('zscore over two ranges [0,2) ∪ [4,6): rows 1, 2, 100, −50 of col 0', () => {
    // mean (1+2+100−50)/4 = 13.25; deviations −12.25 −11.25 86.75 −63.25
    const s = fitScaler(
      X,
      2,
      [
        { start: 0, end: 2 },
        { start: 4, end: 6 },
      ],
      'zscore',
    );
    expect(s.center[0]).toBe(13.25);
    const v = (12.25 ** 2 + 11.25 ** 2 + 86.75 ** 2 + 63.25 ** 2) / 4;
    expect(s.scale[0]).toBeCloseTo(Math.sqrt(v), 12);
  });

  it('robust: median and interquartile range, NumPy linear interpolation', () => {
    // col 0 rows [0,5): 1 2 3 4 100 → median 3, q25 at position 1 → 2, q75 at position 3 → 4: IQR 2.
    // (numpy.percentile([1,2,3,4,100], [25, 50, 75]) = [2, 3, 4])
    const s = fitScaler(X, 2, { start: 0, end: 5 }, 'robust');
    expect(s.center[0]).toBe(3);
    expect(s.scale[0]).toBe(2);
    // col 1 rows [0,4): sorted −1 3 7 7 → median at 1.5 → 5; q25 at 0.75 → −1 + 0.75·4 = 2; q75 at 2.25 → 7: IQR 5.
    const t = fitScaler(X, 2, { start: 0, end: 4 }, 'robust');
    expect(t.center[1]).toBe(5);
    expect(t.scale[1]).toBe(5);
    // numpy.percentile([1,2,3,4], [25, 75]) = [1.75, 3.25]
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantileSorted([1, 2, 3, 4], 0.75)).toBe(3.25);
  });

  it('minmax: center = min, scale = max − min of the training rows', () => {
    // col 0 rows [0,4): min 1, max 4 → scale 3 (the 100 and −50 of later rows are not seen)
    const s = fitScaler(X, 2, { start: 0, end: 4 }, 'minmax');
    expect(s.center).toEqual([1, -1]);
    expect(s.scale).toEqual([3, 8]);
    const Z = X.slice();
    applyScaler(Z, 2, s);
    expect(Array.from(Z.subarray(0, 8))).toEqual([0, 0.5, 1 / 3, 0, 2 / 3, 1, 1, 1]);
    expect(Z[8]).toBe(33); // (100 − 1)/3: rows outside training may leave [0, 1]
  });

  it('a constant training column gets scale 1 with every method; none is the identity', () => {
    for (const m of ['zscore', 'robust', 'minmax'] as const) {
      const s = fitScaler(X, 2, { start: 2, end: 4 }, m); // col 1 rows 2,3 = 7, 7
      expect(s.scale[1]).toBe(1);
      expect(s.center[1]).toBe(7);
    }
    expect(fitScaler(X, 2, { start: 0, end: 6 }, 'none')).toEqual({ method: 'none', center: [0, 0], scale: [1, 1] });
  });
});
