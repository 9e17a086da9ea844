import { describe, expect, it } from 'vitest';
import { erfc, normalCdf, normalQuantile } from '../../src/core/normal.js';

// Reference values: SciPy 1.17 (scipy.stats.norm.cdf / norm.ppf, scipy.special.erfc), printed with repr().
describe('standard normal', () => {
  it('CDF matches SciPy in the body and both tails', () => {
    const cases: [number, number][] = [
      [-8, 6.22096057427174e-16],
      [-3.5, 0.00023262907903552502],
      [-1, 0.15865525393145707],
      [0.3, 0.6179114221889526],
      [1.96, 0.9750021048517795],
      [6, 0.9999999990134123],
    ];
    for (const [x, want] of cases) expect(Math.abs(normalCdf(x) - want) / want).toBeLessThan(1e-13);
  });

  it('erfc matches SciPy, including a far-tail value', () => {
    expect(Math.abs(erfc(0.3) - 0.6713732405408726)).toBeLessThan(1e-15);
    expect(Math.abs(erfc(-1) - 1.8427007929497148)).toBeLessThan(1e-15);
    expect(Math.abs(erfc(6) - 2.1519736712498913e-17) / 2.1519736712498913e-17).toBeLessThan(1e-12);
  });

  it('quantile matches SciPy and inverts the CDF', () => {
    const cases: [number, number][] = [
      [1e-12, -7.034483825301131],
      [0.001, -3.090232306167813],
      [0.025, -1.9599639845400545],
      [0.3, -0.5244005127080409],
      [0.975, 1.959963984540054],
    ];
    for (const [p, want] of cases) expect(Math.abs(normalQuantile(p) - want)).toBeLessThan(1e-12);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(1.5)).toBeNaN();
  });
});
