import { normalCdf, normalPdf } from '../core/normal.js';
import type { DistributionForm, RowForecast } from '../core/distribution.js';

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

/**
 * CRPS of a distribution given by its quantile function: 2∫₀¹ ρ_τ(y − Q(τ)) dτ by the midpoint rule
 * on `grid` levels. For quantile forecasts read through core/distribution's piecewise-linear
 * quantile function this is close to the CRPS of the distribution they describe even with a few
 * levels (a true Gaussian's 0.05/0.5/0.95 quantiles score within 2% of its closed form), where
 * crpsQuantiles on the same three levels is 30% low.
 */
export function crpsQuantileFunction(quantile: (level: number) => number, y: number, grid = 100): number {
  let s = 0;
  for (let j = 0; j < grid; j++) {
    const tau = (j + 0.5) / grid;
    s += pinball(tau, quantile(tau), y);
  }
  return (2 * s) / grid;
}

/** Nominal levels of the central intervals scored. */
export const COVERAGE_LEVELS = [0.5, 0.8, 0.9] as const;

/** Levels pinball is reported at when the model has no quantile levels of its own. */
export const DEFAULT_PINBALL_LEVELS = [0.05, 0.5, 0.95] as const;

export interface DistributionScores {
  n: number;
  crps: number;
  coverage: { nominal: number; coverage: number; width: number }[];
  pinball: { level: number; loss: number }[];
  pit: number[];
}

/**
 * Scores rows' forecast distributions against outcomes: mean CRPS (closed form for a Gaussian, the
 * fair ensemble form for samples, the quantile function's for quantiles), central-interval coverage
 * and width at COVERAGE_LEVELS, mean pinball at `levels`, and a 10-bin PIT histogram. Rows without
 * a forecast or a finite outcome are skipped.
 */
export function scoreDistributions(
  rows: number,
  forecast: (i: number) => RowForecast | undefined,
  y: ArrayLike<number>,
  form: DistributionForm,
  levels: readonly number[],
  exact?: { samples?: (i: number) => ArrayLike<number>; gaussian?: (i: number) => [number, number] },
): DistributionScores {
  let n = 0;
  let crps = 0;
  const inside = COVERAGE_LEVELS.map(() => 0);
  const width = COVERAGE_LEVELS.map(() => 0);
  const pin = levels.map(() => 0);
  const pit: number[] = [];
  const scratch = new Float64Array(1024);
  for (let i = 0; i < rows; i++) {
    const f = forecast(i);
    const yi = y[i];
    if (!f || !Number.isFinite(yi)) continue;
    let c: number;
    if (form === 'gaussian' && exact?.gaussian) {
      const [m, sd] = exact.gaussian(i);
      c = crpsGaussian(m, sd, yi);
    } else if (form === 'samples' && exact?.samples) {
      const s = exact.samples(i);
      c = crpsSamples(s, yi, s.length <= scratch.length ? scratch : undefined);
    } else c = crpsQuantileFunction((t) => f.quantile(t), yi);
    if (!Number.isFinite(c)) continue;
    n++;
    crps += c;
    COVERAGE_LEVELS.forEach((nominal, j) => {
      const lo = f.quantile((1 - nominal) / 2);
      const hi = f.quantile((1 + nominal) / 2);
      if (yi >= lo && yi <= hi) inside[j]++;
      width[j] += hi - lo;
    });
    levels.forEach((l, j) => (pin[j] += pinball(l, f.quantile(l), yi)));
    pit.push(f.cdf(yi));
  }
  return {
    n,
    crps: n ? crps / n : NaN,
    coverage: COVERAGE_LEVELS.map((nominal, j) => ({ nominal, coverage: n ? inside[j] / n : NaN, width: n ? width[j] / n : NaN })),
    pinball: levels.map((level, j) => ({ level, loss: n ? pin[j] / n : NaN })),
    pit: pitHistogram(pit),
  };
}
