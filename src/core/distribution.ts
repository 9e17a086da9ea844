import type { PredictiveDistribution } from './artifacts.js';
import { normalCdf, normalQuantile } from './normal.js';

/**
 * One row's forecast distribution, whatever form the model gave it in (quantiles, samples, or a
 * Gaussian around a point forecast): its CDF, quantile function and spread. The one reader of
 * PredictiveDistribution, shared by the scores (src/evaluation/probabilistic.ts), the backtest's
 * probability rules and sizing, and the report's fan chart.
 *
 * Quantile forecasts are read as a piecewise-linear quantile function through the given levels,
 * extended linearly to levels 0 and 1 with the slope of the outermost segment (a bounded
 * distribution: with levels 0.05 … 0.95 it puts the last 5% of each tail within half a segment).
 */
export interface RowForecast {
  /** P(Y ≤ x). */
  cdf(x: number): number;
  /** The `level`-quantile, level in [0, 1]. */
  quantile(level: number): number;
  /** Standard deviation (quantiles: the outermost central interval's width over the Gaussian's). */
  sd(): number;
}

export type DistributionForm = 'quantiles' | 'samples' | 'gaussian';

/** Which form a row's distribution comes in for a target (the richest present), or undefined: a point forecast only. */
export function distributionForm(d: PredictiveDistribution | undefined, target: string): DistributionForm | undefined {
  if (d?.samples?.values[target]) return 'samples';
  if (d?.quantiles?.values[target]) return 'quantiles';
  if (d?.gaussian?.sd[target]) return 'gaussian';
  return undefined;
}

/** Row `row`'s forecast of `target`; `mean` is the point forecast (the Gaussian's centre). Undefined without a distribution. */
export function rowForecast(d: PredictiveDistribution | undefined, target: string, row: number, mean: number): RowForecast | undefined {
  switch (distributionForm(d, target)) {
    case 'samples': {
      const s = d!.samples!;
      return sampleForecast(s.values[target].subarray(row * s.count, (row + 1) * s.count));
    }
    case 'quantiles': {
      const q = d!.quantiles!;
      const L = q.levels.length;
      const v = q.values[target].subarray(row * L, (row + 1) * L);
      // NaN quantiles: a row the model gave no forecast (a neural kind's row without a full window).
      return Number.isFinite(v[0]) && Number.isFinite(v[L - 1]) ? quantileForecast(q.levels, v) : undefined;
    }
    case 'gaussian': {
      const sd = d!.gaussian!.sd[target][row];
      return sd > 0 && Number.isFinite(mean) ? gaussianForecast(mean, sd) : undefined;
    }
    default:
      return undefined;
  }
}

/** Φ⁻¹ of the few levels every row asks for (interval ends, pinball levels), computed once each. */
const zOf = new Map<number, number>();
function z(p: number): number {
  let v = zOf.get(p);
  if (v === undefined) {
    v = normalQuantile(p);
    if (zOf.size < 4096) zOf.set(p, v);
  }
  return v;
}

export function gaussianForecast(mean: number, sd: number): RowForecast {
  return {
    cdf: (x) => (sd > 0 ? normalCdf((x - mean) / sd) : x >= mean ? 1 : 0),
    quantile: (p) => mean + sd * z(p),
    sd: () => sd,
  };
}

/** The quantile function through (levels, q) with linear tails to levels 0 and 1; `levels` ascending in (0, 1), `q` monotone. */
export function quantileForecast(levels: readonly number[], q: ArrayLike<number>): RowForecast {
  const L = levels.length;
  // Knots: level 0, the given levels, level 1.
  const lv = new Float64Array(L + 2);
  const qv = new Float64Array(L + 2);
  for (let j = 0; j < L; j++) {
    lv[j + 1] = levels[j];
    qv[j + 1] = q[j];
  }
  lv[L + 1] = 1;
  if (L >= 2) {
    const s0 = (q[1] - q[0]) / (levels[1] - levels[0]);
    const s1 = (q[L - 1] - q[L - 2]) / (levels[L - 1] - levels[L - 2]);
    qv[0] = q[0] - levels[0] * s0;
    qv[L + 1] = q[L - 1] + (1 - levels[L - 1]) * s1;
  } else {
    qv[0] = q[0];
    qv[L + 1] = q[0];
  }
  return {
    quantile(p) {
      if (!(p >= 0 && p <= 1)) return NaN;
      let j = 1;
      while (j < L + 1 && lv[j] < p) j++;
      const a = lv[j - 1];
      const b = lv[j];
      return b > a ? qv[j - 1] + ((qv[j] - qv[j - 1]) * (p - a)) / (b - a) : qv[j];
    },
    cdf(x) {
      if (!(x >= qv[0])) return Number.isNaN(x) ? NaN : 0;
      if (x >= qv[L + 1]) return 1;
      let j = 1;
      while (j < L + 1 && qv[j] < x) j++;
      const a = qv[j - 1];
      const b = qv[j];
      // A flat stretch of the quantile function (a point mass): its upper level.
      return b > a ? lv[j - 1] + ((lv[j] - lv[j - 1]) * (x - a)) / (b - a) : lv[j];
    },
    sd() {
      if (L < 2) return 0;
      const lo = levels[0];
      const hi = levels[L - 1];
      return (q[L - 1] - q[0]) / (normalQuantile(hi) - normalQuantile(lo));
    },
  };
}

/**
 * The p-quantile of n ascending draws as the order statistic X_(h), h = p·(n + 1), interpolated
 * (Hyndman & Fan type 6, NumPy's `method="weibull"`): for draws from the outcome's distribution
 * E F(X_(h)) = p, so [p = 0.05, p = 0.95] covers 90% of outcomes. NumPy's default (type 7,
 * h = 1 + p·(n − 1)) narrows that interval: a perfect sampler's 100 draws cover 88.2%.
 */
export function sampleQuantile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0 || !(p >= 0 && p <= 1)) return NaN;
  const h = Math.min(n, Math.max(1, p * (n + 1)));
  const i = Math.floor(h);
  return i >= n ? sorted[n - 1] : sorted[i - 1] + (h - i) * (sorted[i] - sorted[i - 1]);
}

/** An ensemble's empirical distribution (quantiles: sampleQuantile's order statistics). */
export function sampleForecast(samples: ArrayLike<number>): RowForecast {
  const m = samples.length;
  let sorted: Float64Array | undefined;
  const order = (): Float64Array => (sorted ??= Float64Array.from(samples).sort());
  return {
    cdf(x) {
      let below = 0;
      for (let i = 0; i < m; i++) if (samples[i] <= x) below++;
      return m ? below / m : NaN;
    },
    quantile(p) {
      return m === 0 ? NaN : sampleQuantile(order(), p);
    },
    sd() {
      if (m < 2) return 0;
      let mean = 0;
      for (let i = 0; i < m; i++) mean += samples[i];
      mean /= m;
      let ss = 0;
      for (let i = 0; i < m; i++) ss += (samples[i] - mean) ** 2;
      return Math.sqrt(ss / (m - 1));
    },
  };
}

/**
 * Sorts each row's quantiles into ascending order in place (rows × L, row-major): the
 * rearrangement of Chernozhukov, Fernández-Val & Galichon (2010), which brings crossing quantile
 * curves no farther from the true ones. Models fitted one level at a time can cross. Returns the
 * rows that needed it.
 */
export function rearrangeQuantiles(values: Float64Array, L: number): number {
  let crossed = 0;
  const row = new Float64Array(L);
  for (let o = 0; o + L <= values.length; o += L) {
    let sorted = true;
    for (let j = 1; j < L; j++) if (values[o + j] < values[o + j - 1]) sorted = false;
    if (sorted) continue;
    crossed++;
    row.set(values.subarray(o, o + L));
    row.sort();
    values.set(row, o);
  }
  return crossed;
}
