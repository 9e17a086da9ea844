/**
 * Statistics, TA-Lib exact (0.6): VAR, STDDEV, BBANDS, LINEARREG (value, slope, angle, intercept).
 *
 * TA-Lib computes a window's variance as mean(x²) − mean(x)² from running sums. On prices like
 * EURUSD (≈1.1, variance ≈1e-9 per few minutes) that formula keeps only about 7 significant digits
 * of the variance; we reproduce it operation for operation, so our values match TA-Lib's, not a
 * two-pass textbook variance, to the last bits.
 */
import { movingAverage, type MaType } from './momentum.js';
import { assertPeriod, firstValid, isZeroOrNeg, nanArray } from './util.js';

/** Population variance over `period` bars, TA_INT_VAR's running sums. Lookback period−1. */
export function variance(x: Float64Array, period: number): Float64Array {
  assertPeriod('var', period, 1);
  const n = x.length;
  const out = nanArray(n);
  const f = firstValid(x);
  const start = f + period - 1;
  if (start >= n) return out;
  let t1 = 0.0;
  let t2 = 0.0;
  let i = f;
  while (i < start) {
    const v = x[i++];
    t1 += v;
    t2 += v * v;
  }
  let trailing = f;
  for (; i < n; i++) {
    const v = x[i];
    t1 += v;
    t2 += v * v;
    const m1 = t1 / period;
    const m2 = t2 / period;
    const w = x[trailing++];
    t1 -= w;
    t2 -= w * w;
    out[i] = m2 - m1 * m1;
  }
  return out;
}

/** STDDEV, TA_STDDEV: √VAR·nbDev, and 0 where the variance is below 1e-14 (TA_IS_ZERO_OR_NEG). */
export function stddev(x: Float64Array, period: number, nbDev: number): Float64Array {
  const v = variance(x, period);
  for (let i = 0; i < v.length; i++) {
    const s = v[i];
    if (s === s) v[i] = !isZeroOrNeg(s) ? Math.sqrt(s) * nbDev : 0.0;
  }
  return v;
}

export interface BbandsResult {
  upper: Float64Array;
  middle: Float64Array;
  lower: Float64Array;
}

/**
 * Bollinger bands, TA_BBANDS: middle = MA(period), upper/lower = middle ± nbDev·σ with σ the
 * population standard deviation of the window. With an SMA, σ is TA_INT_stddev_using_precalc_ma:
 * √(mean(x²) − SMA²), 0 below 1e-14; otherwise TA_STDDEV. Lookback period−1.
 */
export function bbands(x: Float64Array, period: number, nbDevUp: number, nbDevDn: number, maType: MaType): BbandsResult {
  assertPeriod('bbands', period, 2);
  const n = x.length;
  const middle = movingAverage(x, period, maType);
  const upper = nanArray(n);
  const lower = nanArray(n);
  const f = firstValid(x);
  const start = f + period - 1;
  if (start >= n) return { upper, middle, lower };
  let sd: Float64Array;
  if (maType === 'sma') {
    sd = nanArray(n);
    let t2 = 0.0;
    for (let i = f; i < start; i++) t2 += x[i] * x[i];
    for (let i = start; i < n; i++) {
      const v = x[i];
      t2 += v * v;
      let m2 = t2 / period;
      const w = x[i - period + 1];
      t2 -= w * w;
      const m = middle[i];
      m2 -= m * m;
      sd[i] = !isZeroOrNeg(m2) ? Math.sqrt(m2) : 0.0;
    }
  } else {
    sd = stddev(x, period, 1.0);
  }
  for (let i = start; i < n; i++) {
    const m = middle[i];
    const s = sd[i];
    if (nbDevUp === nbDevDn) {
      if (nbDevUp === 1.0) {
        upper[i] = m + s;
        lower[i] = m - s;
      } else {
        const d = s * nbDevUp;
        upper[i] = m + d;
        lower[i] = m - d;
      }
    } else {
      upper[i] = m + s * nbDevUp;
      lower[i] = m - s * nbDevDn;
    }
  }
  // The MA may start earlier than TA-Lib outputs (never for SMA/EMA, kept for safety).
  for (let i = 0; i < start; i++) middle[i] = NaN;
  return { upper, middle, lower };
}

export interface LinearRegResult {
  /** Fitted value at the last bar (TA_LINEARREG). */
  value: Float64Array;
  /** Slope per bar (TA_LINEARREG_SLOPE). */
  slope: Float64Array;
  /** atan(slope) in degrees (TA_LINEARREG_ANGLE). */
  angle: Float64Array;
  /** Fitted value at the first bar of the window (TA_LINEARREG_INTERCEPT). */
  intercept: Float64Array;
}

/**
 * Least-squares line over the last `period` bars, TA_LINEARREG*: with i = bars back from t
 * (0..period−1), SumX = period(period−1)/2, SumXSqr = period(period−1)(2period−1)/6,
 * Divisor = SumX² − period·SumXSqr, m = (period·ΣiY − SumX·ΣY)/Divisor, b = (ΣY − m·SumX)/period;
 * value = b + m·(period−1). Sums are recomputed per bar in TA-Lib's order (no running-sum drift).
 * Lookback period−1.
 */
export function linearreg(x: Float64Array, period: number): LinearRegResult {
  assertPeriod('linearreg', period, 2);
  const n = x.length;
  const value = nanArray(n);
  const slope = nanArray(n);
  const angle = nanArray(n);
  const intercept = nanArray(n);
  const f = firstValid(x);
  const sumX = period * (period - 1) * 0.5;
  const sumXSqr = (period * (period - 1) * (2 * period - 1)) / 6;
  const divisor = sumX * sumX - period * sumXSqr;
  const toDeg = 180.0 / 3.14159265358979323846;
  for (let t = f + period - 1; t < n; t++) {
    let sumXY = 0.0;
    let sumY = 0.0;
    for (let i = period; i-- !== 0; ) {
      const v = x[t - i];
      sumY += v;
      sumXY += i * v;
    }
    const m = (period * sumXY - sumX * sumY) / divisor;
    const b = (sumY - m * sumX) / period;
    value[t] = b + m * (period - 1);
    slope[t] = m;
    angle[t] = Math.atan(m) * toDeg;
    intercept[t] = b;
  }
  return { value, slope, angle, intercept };
}
