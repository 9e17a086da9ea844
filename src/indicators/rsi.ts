import { assertPeriod, firstValid, isZero, nanArray } from './util.js';

/** Rows before the first RSI value (TA-Lib TA_RSI_Lookback with no unstable period). */
export function rsiLookback(period: number): number {
  return period;
}

/**
 * TA_RSI writes 0 (not 50, not NaN) when average gain + average loss is zero by TA_IS_ZERO
 * (|v| < 1e-14 since TA-Lib 0.6), i.e. over a flat stretch; we keep that to stay TA-Lib exact.
 */
function rsiValue(gain: number, loss: number): number {
  const s = gain + loss;
  return isZero(s) ? 0.0 : 100.0 * (gain / s);
}

/**
 * Wilder RSI, TA-Lib TA_RSI exact (default, non-Metastock compatibility): the first average
 * gain/loss is the simple mean of the first `period` changes, then
 * avg = (avg * (period-1) + change) / period; RSI = 100 * avgGain / (avgGain + avgLoss).
 * First value at index `period`; NaN before. Leading NaNs in x are skipped like in `ema`.
 */
export function rsi(x: Float64Array, period: number): Float64Array {
  assertPeriod('rsi', period, 2);
  const n = x.length;
  const out = nanArray(n);
  const f = firstValid(x);
  if (f + period >= n) return out;
  let prevValue = x[f];
  let gain = 0.0;
  let loss = 0.0;
  for (let i = f + 1; i <= f + period; i++) {
    const d = x[i] - prevValue;
    prevValue = x[i];
    if (d < 0) loss -= d;
    else gain += d;
  }
  loss /= period;
  gain /= period;
  out[f + period] = rsiValue(gain, loss);
  const m = period - 1;
  for (let i = f + period + 1; i < n; i++) {
    const d = x[i] - prevValue;
    prevValue = x[i];
    // Same multiply / add / divide order as TA_RSI, for bit-identical results.
    loss *= m;
    gain *= m;
    if (d < 0) loss -= d;
    else gain += d;
    loss /= period;
    gain /= period;
    out[i] = rsiValue(gain, loss);
  }
  return out;
}
