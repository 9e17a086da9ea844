/** Rolling statistics of returns and prices used as features (not TA-Lib functions). */
import { assertPeriod, nanArray } from './util.js';

/**
 * Rolling volatility: sample standard deviation (n−1) of the 1-bar log returns ln(c[j]/c[j−1]) over
 * the last `window` bars, so the value at t uses closes t−window … t. Lookback `window`. Each window
 * is summed afresh around its own mean (two passes) so no drift accumulates over long series.
 */
export function rollingVolatility(close: Float64Array, window: number): Float64Array {
  assertPeriod('volatility window', window, 2);
  const n = close.length;
  const out = nanArray(n);
  const r = new Float64Array(n);
  for (let i = 1; i < n; i++) r[i] = Math.log(close[i] / close[i - 1]);
  for (let t = window; t < n; t++) {
    let s = 0.0;
    for (let j = t - window + 1; j <= t; j++) s += r[j];
    const m = s / window;
    let ss = 0.0;
    for (let j = t - window + 1; j <= t; j++) {
      const d = r[j] - m;
      ss += d * d;
    }
    out[t] = Math.sqrt(ss / (window - 1));
  }
  return out;
}

/**
 * Z-score of x against its rolling mean and population standard deviation over the last `window`
 * values (including t); 0 where the window is flat. Lookback window−1. Two passes per window.
 */
export function rollingZscore(x: Float64Array, window: number): Float64Array {
  assertPeriod('zscore window', window, 2);
  const n = x.length;
  const out = nanArray(n);
  for (let t = window - 1; t < n; t++) {
    let s = 0.0;
    for (let j = t - window + 1; j <= t; j++) s += x[j];
    const m = s / window;
    let ss = 0.0;
    for (let j = t - window + 1; j <= t; j++) {
      const d = x[j] - m;
      ss += d * d;
    }
    const sd = Math.sqrt(ss / window);
    out[t] = sd > 0 ? (x[t] - m) / sd : 0.0;
  }
  return out;
}
