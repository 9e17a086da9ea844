import { describe, expect, it } from 'vitest';
import { fitBins } from '../../src/models/gbm/binning.js';
import { makeRng } from '../../src/data/rng.js';

/**
 * fitBins on a wide matrix (features gathered several at a time) against the rule written out
 * per feature: ≤ maxBins distinct values → midpoints; otherwise the distinct values at the
 * quantiles i/maxBins of the sorted column, below its maximum.
 */
function naiveCuts(col: number[], maxBins: number): number[] {
  const s = col.filter((v) => v === v).sort((a, b) => a - b);
  const uniq = [...new Set(s)];
  if (uniq.length <= maxBins) return uniq.slice(1).map((v, i) => uniq[i] + (v - uniq[i]) / 2);
  const out: number[] = [];
  for (let i = 1; i < maxBins; i++) {
    const v = s[Math.floor((i * s.length) / maxBins)];
    if (v < s[s.length - 1] && (out.length === 0 || v > out[out.length - 1])) out.push(v);
  }
  return out;
}

describe('fitBins', () => {
  it('gives every feature of a 21-column matrix the cuts of the per-feature rule, on a row range, with NaNs and few-valued columns', () => {
    const rng = makeRng(3);
    const n = 700;
    const p = 21;
    const X = new Float64Array(n * p);
    for (let r = 0; r < n; r++) {
      for (let f = 0; f < p; f++) {
        const u = rng.normal();
        X[r * p + f] = f % 5 === 0 ? Math.round(u * 2) : f % 7 === 3 && r % 11 === 0 ? NaN : u * (f + 1);
      }
    }
    const start = 50;
    const end = 650;
    const m = fitBins(X, p, start, end, 16);
    for (let f = 0; f < p; f++) {
      const col: number[] = [];
      for (let r = start; r < end; r++) col.push(X[r * p + f]);
      const want = naiveCuts(col, 16);
      expect(Array.from(m.cuts[f]), `feature ${f}`).toEqual(want);
      expect(m.nBins[f]).toBe(want.length + 1);
    }
  });
});
