import { assertPeriod, firstValid, isZero, nanArray } from './util.js';

/** Rows before the first RSI value (TA-Lib TA_RSI_Lookback with no unstable period). */
export function rsiLookback(period: number): number {
  return period;
}

/**
 * TA_RSI and TA_CMO write 0 (not 50, not NaN) when average gain + average loss is zero by
 * TA_IS_ZERO (|v| < 1e-14 since TA-Lib 0.6), i.e. over a flat stretch; kept to stay TA-Lib exact.
 * RSI = 100·G/(G + L); CMO = 100·(G − L)/(G + L).
 */
function oscValue(gain: number, loss: number, cmo: boolean): number {
  const s = gain + loss;
  if (isZero(s)) return 0.0;
  return cmo ? 100.0 * ((gain - loss) / s) : 100.0 * (gain / s);
}

/**
 * Wilder-smoothed average gain G and loss L of `x`'s changes, TA-Lib exact (default, non-Metastock
 * compatibility), turned into RSI or CMO: the first averages are the simple means of the first
 * `period` changes, then avg = (avg * (period-1) + change) / period in TA-Lib's operation order
 * (bit-identical results). First value at index `period`; NaN before. Leading NaNs are skipped.
 */
export function wilderOscillator(x: Float64Array, period: number, cmo: boolean): Float64Array {
  return wilderOscillatorState(x, period, cmo).out;
}

/** Wilder's averages after a row: what continuing the oscillator needs besides the input. */
export interface WilderState {
  gain: number;
  loss: number;
}

/** wilderOscillator, also returning the averages after the last row (null when no value exists yet). */
export function wilderOscillatorState(x: Float64Array, period: number, cmo: boolean): { out: Float64Array; state: WilderState | null } {
  assertPeriod(cmo ? 'cmo' : 'rsi', period, 2);
  const n = x.length;
  const out = nanArray(n);
  const f = firstValid(x);
  if (f + period >= n) return { out, state: null };
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
  out[f + period] = oscValue(gain, loss, cmo);
  const state = { gain, loss };
  wilderAdvance(x, period, cmo, state, f + period + 1, n, out);
  return { out, state };
}

/**
 * The smoothing loop over rows [from, to), from the averages after row from-1 (updated in place):
 * the full computation and the continuation of a series that gained rows run this same code.
 */
export function wilderAdvance(x: Float64Array, period: number, cmo: boolean, state: WilderState, from: number, to: number, out: Float64Array): void {
  let { gain, loss } = state;
  let prevValue = x[from - 1];
  const m = period - 1;
  for (let i = from; i < to; i++) {
    const d = x[i] - prevValue;
    prevValue = x[i];
    loss *= m;
    gain *= m;
    if (d < 0) loss -= d;
    else gain += d;
    loss /= period;
    gain /= period;
    out[i] = oscValue(gain, loss, cmo);
  }
  state.gain = gain;
  state.loss = loss;
}

/** Wilder RSI, TA-Lib TA_RSI exact (see wilderOscillator). */
export function rsi(x: Float64Array, period: number): Float64Array {
  return wilderOscillator(x, period, false);
}
