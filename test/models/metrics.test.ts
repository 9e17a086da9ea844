import { describe, it, expect } from 'vitest';
import { averageRanks, directionalAccuracy, horizonMetrics, mae, pearson, rmse, spearman } from '../../src/models/metrics.js';

describe('forecast metrics', () => {
  const pred = [0.1, -0.2, 0.3, 0, 0.5];
  const actual = [0.2, 0.1, 0, -0.1, 0.4];

  it('rmse and mae by hand', () => {
    // errors: -0.1, -0.3, 0.3, 0.1, 0.1
    const sq = 0.01 + 0.09 + 0.09 + 0.01 + 0.01;
    expect(rmse(pred, actual)).toBeCloseTo(Math.sqrt(sq / 5), 14);
    expect(mae(pred, actual)).toBeCloseTo((0.1 + 0.3 + 0.3 + 0.1 + 0.1) / 5, 14);
  });

  it('directional accuracy skips zero actuals and counts a zero prediction as a miss', () => {
    // Rows with non-zero actual: 0 (+,+ hit), 1 (−,+ miss), 3 (0,− miss), 4 (+,+ hit) → 2 / 4.
    expect(directionalAccuracy(pred, actual)).toBe(0.5);
    expect(directionalAccuracy([1], [0])).toBeNaN();
  });

  it('average ranks for ties', () => {
    expect(Array.from(averageRanks([1, 2, 2, 3, 4]))).toEqual([1, 2.5, 2.5, 4, 5]);
    expect(Array.from(averageRanks([7, 7, 7]))).toEqual([2, 2, 2]);
  });

  it('spearman with ties, worked by hand', () => {
    // x = [1, 2, 2, 3, 4] → ranks [1, 2.5, 2.5, 4, 5]; y = [2, 1, 3, 3, 5] → ranks [2, 1, 3.5, 3.5, 5].
    // Both rank means are 3; dx = [-2, -0.5, -0.5, 1, 2], dy = [-1, -2, 0.5, 0.5, 2].
    const sxy = 2 + 1 - 0.25 + 0.5 + 4; // 7.25
    const sxx = 4 + 0.25 + 0.25 + 1 + 4; // 9.5
    const syy = 1 + 4 + 0.25 + 0.25 + 4; // 9.5
    expect(spearman([1, 2, 2, 3, 4], [2, 1, 3, 3, 5])).toBeCloseTo(sxy / Math.sqrt(sxx * syy), 14);
  });

  it('spearman is 1 for any increasing map and NaN for a constant', () => {
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 14);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 14);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
  });

  it('horizonMetrics bundles the four', () => {
    const h = horizonMetrics('fwd_ret_1', 1, pred, actual);
    expect(h.target).toBe('fwd_ret_1');
    expect(h.horizon).toBe(1);
    expect(h.directionalAccuracy).toBe(0.5);
    expect(h.mae).toBeCloseTo(0.18, 14);
  });
});
