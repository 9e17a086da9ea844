import { describe, expect, it } from 'vitest';
import { normalCdf, normalQuantile } from '../../src/core/normal.js';
import {
  combinations,
  dailyAligned,
  deflatedSharpe,
  expectedMaxSharpe,
  moments,
  overfitStats,
  pboCscv,
  probabilisticSharpe,
} from '../../src/evaluation/overfitting.js';

describe('standard normal', () => {
  it('matches table values of Φ and Φ⁻¹', () => {
    // Abramowitz & Stegun table 26.1 / any normal table.
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1)).toBeCloseTo(0.8413447460685429, 14);
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 14);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301, 15);
    expect(normalCdf(-8)).toBeCloseTo(6.22096057427178e-16, 25);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(0.99)).toBeCloseTo(2.3263478740408408, 12);
    expect(normalQuantile(0.05)).toBeCloseTo(-1.6448536269514722, 12);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 9);
  });
});

describe('probabilistic and deflated Sharpe ratio', () => {
  it('PSR closed form on a hand-worked case', () => {
    // SR 0.5, skew 0.5, kurtosis 5: 1 − 0.5·0.5 + (5 − 1)/4 · 0.25 = 1, so z = 0.5 · √(17 − 1) = 2.
    expect(probabilisticSharpe(0.5, 0, 17, 0.5, 5)).toBeCloseTo(0.9772498680518208, 12);
    // Against a benchmark of 0.25: z = 0.25 · 4 / 1 = 1.
    expect(probabilisticSharpe(0.5, 0.25, 17, 0.5, 5)).toBeCloseTo(0.8413447460685429, 12);
  });

  it("reproduces the numerical example of Bailey & López de Prado (2014), 'The deflated Sharpe ratio', §5", () => {
    // N = 100 trials, variance of the trials' annualised Sharpe 0.5, selected annualised SR 2.5 over
    // T = 1250 daily observations (250 a year), skewness −3, kurtosis 10. The paper: SR0 ≈ 0.1132
    // (daily), DSR ≈ 0.90.
    const daily = 2.5 / Math.sqrt(250);
    const variance = 0.5 / 250;
    expect(expectedMaxSharpe(100, variance)).toBeCloseTo(0.1132, 4);
    const { sr0, dsr } = deflatedSharpe({ sr: daily, n: 1250, skew: -3, kurtosis: 10, trials: 100, variance });
    expect(sr0).toBeCloseTo(0.1132, 4);
    expect(dsr).toBeCloseTo(0.9, 2);
  });

  it('expected max Sharpe of one trial is 0, and grows with the trials', () => {
    expect(expectedMaxSharpe(1, 1)).toBe(0);
    expect(expectedMaxSharpe(1000, 1)).toBeGreaterThan(expectedMaxSharpe(10, 1));
  });
});

describe('PBO by CSCV', () => {
  it('a hand-worked 4 variants × 4 blocks example', () => {
    // One period per block; performance = mean return (sums compare the same way).
    //           A  B  C  D
    // block 1:  4  1  2  3
    // block 2:  1  2  3  4
    // block 3:  2  3  1  4
    // block 4:  3  4  1  2.5
    // in-sample  IS sums (A B C D)   best  OOS sums (A B C D)   OOS rank of best  ω = r/5  λ = ln(ω/(1−ω))
    // {1,2}      5  3  5  7           D     5  7  2  6.5         3                 0.6      ln 1.5 =  0.405
    // {1,3}      6  4  3  7           D     4  6  4  6.5         4                 0.8      ln 4   =  1.386
    // {1,4}      7  5  3  5.5         A     3  5  4  8           1                 0.2      ln 1/4 = −1.386
    // {2,3}      3  5  4  8           D     7  5  3  5.5         3                 0.6      0.405
    // {2,4}      4  6  4  6.5         D     6  4  3  7           4                 0.8      1.386
    // {3,4}      5  7  2  6.5         B     5  3  5  7           1                 0.2      −1.386
    // λ ≤ 0 in 2 of 6 splits: PBO = 1/3.
    const series = [
      [4, 1, 2, 3],
      [1, 2, 3, 4],
      [2, 3, 1, 1],
      [3, 4, 4, 2.5],
    ];
    const r = pboCscv(series, 4, (n, sum) => sum / n);
    expect(r.splits).toBe(6);
    const l15 = Math.log(1.5);
    const l4 = Math.log(4);
    const expected = [l15, l4, -l4, l15, l4, -l4];
    r.logits.forEach((l, i) => expect(l).toBeCloseTo(expected[i], 12));
    expect(r.pbo).toBeCloseTo(1 / 3, 12);
  });

  it('a variant that dominates in every block is never overfit', () => {
    const good = Array.from({ length: 64 }, (_, i) => 1 + 0.1 * Math.sin(i));
    const bad = Array.from({ length: 64 }, (_, i) => 0.1 * Math.cos(i));
    expect(pboCscv([bad, good, bad.map((x) => x - 0.5)], 8).pbo).toBe(0);
  });

  it('enumerates C(n, k) subsets', () => {
    expect([...combinations(4, 2)]).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    expect([...combinations(16, 8)].length).toBe(12870);
  });

  it('refuses an odd number of blocks and unequal series', () => {
    expect(() =>
      pboCscv(
        [
          [1, 2, 3],
          [1, 2, 3],
        ],
        3,
      ),
    ).toThrow(/even/);
    expect(() =>
      pboCscv(
        [
          [1, 2, 3, 4],
          [1, 2, 3],
        ],
        2,
      ),
    ).toThrow(/same periods/);
  });
});

describe('moments and daily alignment', () => {
  it('skewness and kurtosis of a hand-worked sample', () => {
    // x = 0,0,0,4: mean 1, deviations −1,−1,−1,3; m2 = 12/4 = 3, m3 = (−3 + 27)/4 = 6, m4 = (3 + 81)/4 = 21.
    const m = moments([0, 0, 0, 4]);
    expect(m.mean).toBe(1);
    expect(m.sd).toBeCloseTo(2, 14);
    expect(m.skew).toBeCloseTo(6 / 3 ** 1.5, 14);
    expect(m.kurtosis).toBeCloseTo(21 / 9, 14);
  });

  it('sums bars into UTC days, aligned on the union of days', () => {
    const H = 3_600_000;
    const D = 24 * H;
    const a = { index: [0, H, D + H], net: [0.01, 0.02, -0.01] };
    const b = { index: [D, 2 * D], net: [0.5, 0.25] };
    const { days, series } = dailyAligned([a, b]);
    expect(days).toEqual([0, 1, 2]);
    expect([...series[0]].map((x) => Number(x.toFixed(12)))).toEqual([0.03, -0.01, 0]);
    expect([...series[1]]).toEqual([0, 0.5, 0.25]);
  });

  it('overfitStats puts them together', () => {
    const s = [Float64Array.from({ length: 200 }, (_, i) => Math.sin(i * 1.7) + 0.05), Float64Array.from({ length: 200 }, (_, i) => Math.cos(i * 2.3))];
    const o = overfitStats(s, 0);
    expect(o.trials).toBe(2);
    expect(o.periods).toBe(200);
    expect(o.pboSplits).toBe(12870);
    expect(o.dsr).toBeLessThanOrEqual(o.psr);
  });
});
