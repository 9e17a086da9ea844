import { describe, expect, it } from 'vitest';
import { normalQuantile } from '../../src/core/normal.js';
import { crpsGaussian, crpsQuantiles, crpsSamples, intervalCoverage, pinball, pitHistogram, pitSamples } from '../../src/evaluation/probabilistic.js';

describe('CRPS', () => {
  it('Gaussian closed form equals the integral definition ∫(F − 1{x ≥ y})² dx', () => {
    // SciPy quad of the definition for N(0.2, 1.5²) at y = −0.7: 0.559733821403632.
    expect(Math.abs(crpsGaussian(0.2, 1.5, -0.7) - 0.559733821403632)).toBeLessThan(1e-12);
  });

  it('sample form converges to the closed form (10k stratified draws, to 1e-3)', () => {
    const m = 10_000;
    const draws = new Float64Array(m);
    for (let i = 0; i < m; i++) draws[i] = 0.2 + 1.5 * normalQuantile((i + 0.5) / m);
    for (const y of [-0.7, 0.2, 3.1]) expect(Math.abs(crpsSamples(draws, y) - crpsGaussian(0.2, 1.5, y))).toBeLessThan(1e-3);
  });

  it('sample form, hand-worked: draws {0, 1, 4}, y = 2 → 5/3 − 16/12 = 1/3', () => {
    expect(crpsSamples([4, 0, 1], 2)).toBeCloseTo(1 / 3, 15);
    // One draw: the absolute error.
    expect(crpsSamples([1.5], 2)).toBe(0.5);
  });

  it('a point forecast (zero spread) scores its absolute error', () => {
    expect(crpsGaussian(1, 0, 3.5)).toBe(2.5);
  });

  it('quantile form: 2 × mean pinball, hand-worked', () => {
    // levels 0.1, 0.5, 0.9 at q = −1, 0, 1 and y = 0.5: pinball 0.1·1.5, 0.5·0.5, 0.9·(−0.5)→(0.9−1)(−0.5)
    const want = (2 * (0.15 + 0.25 + 0.05)) / 3;
    expect(crpsQuantiles([0.1, 0.5, 0.9], [-1, 0, 1], 0.5)).toBeCloseTo(want, 15);
  });
});

describe('pinball, coverage, PIT', () => {
  it('pinball loss, hand-worked', () => {
    expect(pinball(0.9, 1, 3)).toBeCloseTo(1.8, 15);
    expect(pinball(0.9, 1, 0)).toBeCloseTo(0.1, 15);
    expect(pinball(0.5, 2, 2)).toBe(0);
  });

  it('interval coverage counts ends as inside and skips missing outcomes', () => {
    const r = intervalCoverage([0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 2, NaN]);
    expect(r).toEqual({ coverage: 2 / 3, width: 1, n: 3 });
  });

  it('PIT counts ties half; the histogram bins [0, 1]', () => {
    expect(pitSamples([1, 2, 2, 3], 2)).toBe(0.5);
    expect(pitHistogram([0, 0.05, 0.5, 0.99, 1], 2)).toEqual([2, 3]);
  });
});
