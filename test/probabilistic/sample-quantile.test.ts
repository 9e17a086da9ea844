/**
 * Quantiles of an ensemble's draws (core/distribution.ts sampleQuantile, read by sampleForecast and
 * the diffusion kinds): Hyndman & Fan type 6, h = p·(n + 1). Expectations: hand-worked order
 * statistics, and the closed form for draws and outcome from one distribution — the outcome falls
 * between X_(i) and X_(j) of n draws with probability (j − i)/(n + 1) — checked by simulation.
 */
import { describe, expect, it } from 'vitest';
import { sampleForecast, sampleQuantile } from '../../src/core/distribution.js';
import { makeRng } from '../../src/data/rng.js';

describe('sample quantiles (type 6)', () => {
  it('hand-worked: 4 draws 1, 2, 3, 4', () => {
    const s = [1, 2, 3, 4];
    expect(sampleQuantile(s, 0.5)).toBe(2.5); // h = 2.5: halfway between X_(2) and X_(3)
    expect(sampleQuantile(s, 0.3)).toBeCloseTo(1.5, 14); // h = 1.5
    expect(sampleQuantile(s, 0.05)).toBe(1); // h = 0.25 → clamped to X_(1)
    expect(sampleQuantile(s, 0.95)).toBe(4); // h = 4.75 → clamped to X_(4)
    expect(sampleQuantile(s, 0.7)).toBeCloseTo(3.5, 14); // h = 3.5
    expect(sampleQuantile([], 0.5)).toBeNaN();
    expect(sampleQuantile(s, 1.5)).toBeNaN();
    // sampleForecast sorts its draws first.
    expect(sampleForecast([4, 1, 3, 2]).quantile(0.3)).toBeCloseTo(1.5, 14);
  });

  it('the [5%, 95%] interval of 100 draws covers 90% of outcomes from the same distribution (NumPy’s default would give 88.2%)', () => {
    const rng = makeRng(11);
    const n = 100;
    const trials = 40_000;
    const draws = new Float64Array(n);
    let inside = 0;
    for (let t = 0; t < trials; t++) {
      for (let j = 0; j < n; j++) draws[j] = rng.next();
      const f = sampleForecast(draws);
      const y = rng.next();
      if (y >= f.quantile(0.05) && y <= f.quantile(0.95)) inside++;
    }
    // Closed form: h = 5.05 and 95.95; between the order statistics the outcome's probability
    // grows linearly, so the expected coverage is (95.95 − 5.05)/101 = 0.9000 (sd of the
    // estimate over 40,000 trials ≈ 0.0015).
    expect(Math.abs(inside / trials - 0.9)).toBeLessThan(0.006);
  });
});
