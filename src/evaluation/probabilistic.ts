import { normalCdf, normalPdf } from '../core/normal.js';

/**
 * Scores of forecast distributions: CRPS (Gaussian closed form, sample and quantile forms),
 * pinball loss, interval coverage and the probability integral transform. Lower CRPS is better;
 * for a point forecast CRPS equals the absolute error, so it is in the target's units.
 */

/** CRPS of N(mean, sd²) at y: sd·[z(2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − mean)/sd (Gneiting & Raftery 2007). */
export function crpsGaussian(mean: number, sd: number, y: number): number {
  if (!(sd > 0)) return Math.abs(y - mean);
  const z = (y - mean) / sd;
  return sd * (z * (2 * normalCdf(z) - 1) + 2 * normalPdf(z) - 1 / Math.sqrt(Math.PI));
}

/**
 * CRPS of an ensemble at y, unbiased ("fair") form: mean|Xᵢ − y| − Σᵢⱼ|Xᵢ − Xⱼ| / (2m(m − 1)).
 * The pair sum is Σᵢ (2i − m + 1)·x₍ᵢ₎ over the sorted sample, so the cost is one sort.
 * `scratch` (length ≥ m) avoids an allocation per row.
 */
export function crpsSamples(samples: ArrayLike<number>, y: number, scratch?: Float64Array): number {
  const m = samples.length;
  if (m === 0) return NaN;
  const xs = scratch && scratch.length >= m ? scratch.subarray(0, m) : new Float64Array(m);
  let absErr = 0;
  for (let i = 0; i < m; i++) {
    xs[i] = samples[i];
    absErr += Math.abs(samples[i] - y);
  }
  if (m === 1) return absErr;
  xs.sort();
  let pairs = 0;
  for (let i = 0; i < m; i++) pairs += (2 * i - m + 1) * xs[i];
  // Σ over ordered pairs is twice the sorted sum.
  return absErr / m - (2 * pairs) / (2 * m * (m - 1));
}

/** Pinball (quantile) loss of quantile forecast q at level tau for outcome y. */
export function pinball(tau: number, q: number, y: number): number {
  const u = y - q;
  return u >= 0 ? tau * u : (tau - 1) * u;
}

/**
 * CRPS from quantile forecasts: 2 × the mean pinball loss over the levels, the quantile
 * decomposition of CRPS (exact in the limit of a dense, evenly spaced grid of levels).
 */
export function crpsQuantiles(levels: readonly number[], quantiles: ArrayLike<number>, y: number): number {
  let s = 0;
  for (let k = 0; k < levels.length; k++) s += pinball(levels[k], quantiles[k], y);
  return (2 * s) / levels.length;
}

/** Share of outcomes inside [lower, upper] (ends included) and the mean width, over rows with a finite outcome. */
export function intervalCoverage(lower: ArrayLike<number>, upper: ArrayLike<number>, y: ArrayLike<number>): { coverage: number; width: number; n: number } {
  let inside = 0;
  let width = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) continue;
    n++;
    if (y[i] >= lower[i] && y[i] <= upper[i]) inside++;
    width += upper[i] - lower[i];
  }
  return { coverage: n ? inside / n : NaN, width: n ? width / n : NaN, n };
}

/** PIT of y under an ensemble: share of samples below y, ties counted half (a calibrated forecast gives a uniform PIT). */
export function pitSamples(samples: ArrayLike<number>, y: number): number {
  let below = 0;
  let ties = 0;
  for (let i = 0; i < samples.length; i++) {
    if (samples[i] < y) below++;
    else if (samples[i] === y) ties++;
  }
  return (below + 0.5 * ties) / samples.length;
}

/** Counts of PIT values in `bins` equal bins of [0, 1] (1 falls in the last). */
export function pitHistogram(pit: ArrayLike<number>, bins = 10): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < pit.length; i++) {
    const v = pit[i];
    if (!(v >= 0 && v <= 1)) continue;
    counts[Math.min(bins - 1, Math.floor(v * bins))]++;
  }
  return counts;
}
