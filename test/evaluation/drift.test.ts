import { describe, it, expect } from 'vitest';
import { driftMetrics, driftReport, kolmogorovQ, ksPValue, ksStatistic } from '../../src/evaluation/drift.js';

describe('two-sample Kolmogorov–Smirnov', () => {
  it('statistic, hand-worked with ties', () => {
    // a = 1 2 2 3, b = 2 3 3 4. ECDFs at the distinct values:
    //   x=1: Fa 1/4, Fb 0   → 0.25
    //   x=2: Fa 3/4, Fb 1/4 → 0.5
    //   x=3: Fa 1,   Fb 3/4 → 0.25
    //   x=4: Fa 1,   Fb 1   → 0
    // D = 0.5 (scipy.stats.ks_2samp gives statistic 0.5). Stepping one tie at a time would give 0.75.
    expect(ksStatistic([1, 2, 2, 3], [2, 3, 3, 4])).toBe(0.5);
    expect(ksStatistic([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(ksStatistic([1, 2], [5, 6, 7])).toBe(1);
    // a = 1..4, b = 3..6: x=2: 2/4 − 0; x=3: 3/4 − 1/4; x=4: 1 − 2/4 → 0.5
    expect(ksStatistic([1, 2, 3, 4], [3, 4, 5, 6])).toBe(0.5);
  });

  it('Kolmogorov distribution: published critical values K(0.90)=1.2238, K(0.95)=1.3581, K(0.99)=1.6276', () => {
    expect(kolmogorovQ(1.2238)).toBeCloseTo(0.1, 4);
    expect(kolmogorovQ(1.3581)).toBeCloseTo(0.05, 4);
    expect(kolmogorovQ(1.6276)).toBeCloseTo(0.01, 4);
    expect(kolmogorovQ(0.1)).toBe(1);
    expect(kolmogorovQ(10)).toBeLessThan(1e-80); // 2·e^{−200}
  });

  it('p-value with the Stephens correction: Q((√Ne + 0.12 + 0.11/√Ne)·D)', () => {
    // n = m = 50: Ne = 25, √Ne = 5, λ = (5 + 0.12 + 0.022)·D. For λ = 1.3581, D = 1.3581/5.142.
    const d = 1.3581 / 5.142;
    expect(ksPValue(d, 50, 50)).toBeCloseTo(0.05, 4);
  });
});

describe('drift report', () => {
  // One feature: rows 0..9 = 0..9 (train), rows 10..14 = 100..104 (test, fully shifted),
  // second feature: rows cycle 0,1,0,1… (same distribution on train and test rows 10..13).
  const n = 14;
  const X = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    X[i * 2] = i < 10 ? i : 100 + i;
    X[i * 2 + 1] = i % 2;
  }
  const rep = driftReport(X, 2, [{ train: [{ start: 0, end: 10 }], val: { start: 10, end: 10 }, test: [{ start: 10, end: 14 }] }]);

  it('KS per feature between train and test; empty val skipped', () => {
    expect(rep.segments).toHaveLength(1);
    const s = rep.segments[0];
    expect(s.segment).toBe('test');
    expect(s.ks[0]).toBe(1);
    expect(s.ks[1]).toBe(0); // train: five 0s and five 1s; test rows 10..13: 0 1 0 1
    expect(s.pValue[1]).toBe(1);
    // D = 1 with n 10, m 4: Ne = 40/14, λ = (√Ne + 0.12 + 0.11/√Ne) ≈ 1.875 → p ≈ 0.0018
    const en = Math.sqrt(40 / 14);
    const lam = en + 0.12 + 0.11 / en;
    let q = 0;
    for (let k = 1; k < 50; k++) q += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k * lam * lam);
    expect(s.pValue[0]).toBeCloseTo(q, 12);
  });

  it('metrics: the largest statistic and the count of shifted features', () => {
    const m = driftMetrics(rep, 2);
    expect(m.drift_ks_max_test).toBe(1);
    expect(m.drift_shifted_test).toBe(1);
    expect(m.drift_shifted_test_share).toBe(0.5);
    expect(m.drift_ks_max_val).toBeUndefined();
  });
});

describe('drift report on a wide matrix', () => {
  it('equals per-feature KS on plainly gathered and sorted columns (19 features, NaNs, split train ranges)', () => {
    const p = 19;
    const n = 900;
    const X = new Float64Array(n * p);
    let seed = 5;
    const r = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) {
        // Later rows shifted by j/10: a drift that differs per feature; some cells missing.
        X[i * p + j] = r() < 0.03 ? NaN : (j % 3 === 0 ? Math.round(r() * 5) : r()) + (i >= 600 ? j / 10 : 0);
      }
    }
    const fold = {
      train: [
        { start: 0, end: 300 },
        { start: 350, end: 500 },
      ],
      val: { start: 500, end: 600 },
      test: [{ start: 600, end: 900 }],
    };
    const rep = driftReport(X, p, [fold]);
    const column = (j: number, ranges: { start: number; end: number }[]): number[] => {
      const out: number[] = [];
      for (const g of ranges) for (let i = g.start; i < g.end; i++) if (!Number.isNaN(X[i * p + j])) out.push(X[i * p + j]);
      return out.sort((a, b) => a - b);
    };
    for (const seg of rep.segments) {
      const rows = seg.segment === 'val' ? [fold.val] : fold.test;
      for (let j = 0; j < p; j++) {
        const a = column(j, fold.train);
        const b = column(j, rows);
        expect(seg.ks[j]).toBe(ksStatistic(a, b));
        expect(seg.pValue[j]).toBe(ksPValue(ksStatistic(a, b), a.length, b.length));
      }
    }
    expect(rep.segments.map((s) => s.segment)).toEqual(['val', 'test']);
    // Features 10 and 13 are uniform on [0, 1) in train and shifted by ≥ 1 in test: disjoint
    // samples, D = 1; on val (unshifted rows) they are not.
    expect(rep.segments[1].ks[10]).toBe(1);
    expect(rep.segments[1].ks[13]).toBe(1);
    expect(rep.segments[0].ks[10]).toBeLessThan(1);
  });
});
