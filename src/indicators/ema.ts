import { assertPeriod, firstValid, nanArray } from './util.js';

/** Rows before the first EMA value (TA-Lib TA_EMA_Lookback with no unstable period). */
export function emaLookback(period: number): number {
  return period - 1;
}

/**
 * EMA whose seed is the simple mean of x[seedStart .. seedStart+period-1], written at
 * seedStart+period-1, then out[i] = (x[i] - prev) * k + prev with k = 2/(period+1): TA_INT_EMA's
 * default-compatibility algorithm, in its operation order so results match it bit for bit.
 * Rows before the seed are left untouched in `out`. MACD uses this directly for its shifted fast seed.
 */
export function emaFrom(x: Float64Array, period: number, seedStart: number, out: Float64Array): void {
  const n = x.length;
  const seedEnd = seedStart + period - 1;
  if (seedStart < 0 || seedEnd >= n) return;
  const k = 2.0 / (period + 1);
  let sum = 0.0;
  for (let i = seedStart; i <= seedEnd; i++) sum += x[i];
  out[seedEnd] = sum / period;
  emaAdvance(x, k, out[seedEnd], seedEnd + 1, n, out);
}

/**
 * The EMA recurrence out[i] = (x[i] - prev) * k + prev over rows [from, to), from `prev`, the value
 * at from − 1 (the EMA's whole state); returns the last value. Continuing a series that gained rows
 * (src/indicators/stream.ts) runs this same loop from the old end: the full computation's values,
 * bit for bit.
 */
export function emaAdvance(x: Float64Array, k: number, prev: number, from: number, to: number, out: Float64Array): number {
  for (let i = from; i < to; i++) {
    prev = (x[i] - prev) * k + prev;
    out[i] = prev;
  }
  return prev;
}

/**
 * Exponential moving average, TA-Lib TA_EMA exact (default compatibility): the first value is the
 * SMA of the first `period` values, at index period-1; NaN before. Leading NaNs in x (an EMA of a
 * series that is itself warming up) are skipped: the seed window starts at the first non-NaN value.
 * period 1 is allowed (k = 1, a copy), as TA_INT_EMA allows it for MACD's signal line.
 */
export function ema(x: Float64Array, period: number): Float64Array {
  assertPeriod('ema', period, 1);
  const out = nanArray(x.length);
  emaFrom(x, period, firstValid(x), out);
  return out;
}
