import { assertPeriod, nanArray } from './util.js';

/** Backward log return over `lag` bars: ln(close[t] / close[t-lag]); NaN for t < lag. Known at bar t's close. */
export function logReturn(close: Float64Array, lag: number): Float64Array {
  assertPeriod('logReturn lag', lag, 1);
  const n = close.length;
  const out = nanArray(n);
  for (let t = lag; t < n; t++) out[t] = Math.log(close[t] / close[t - lag]);
  return out;
}

/**
 * Forward log return over `h` bars: ln(close[t+h] / close[t]); NaN for the last h rows (the future
 * is not known). A target only: it looks ahead by construction, so it must never be a feature.
 */
export function forwardLogReturn(close: Float64Array, h: number): Float64Array {
  assertPeriod('forwardLogReturn horizon', h, 1);
  const n = close.length;
  const out = nanArray(n);
  for (let t = 0; t + h < n; t++) out[t] = Math.log(close[t + h] / close[t]);
  return out;
}
