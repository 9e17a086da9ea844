/**
 * Prediction targets. They look ahead by construction: never features. NaN where the future needed
 * is beyond the data.
 */
import { assertPeriod, nanArray } from './util.js';

/** 1 / −1 when ln(close[t+h]/close[t]) is above deadZone / below −deadZone, else 0; NaN for the last h rows. */
export function directionClass(close: Float64Array, h: number, deadZone: number): Float64Array {
  assertPeriod('direction horizon', h, 1);
  const n = close.length;
  const out = nanArray(n);
  for (let t = 0; t + h < n; t++) {
    const r = Math.log(close[t + h] / close[t]);
    out[t] = r > deadZone ? 1 : r < -deadZone ? -1 : 0;
  }
  return out;
}

/**
 * Triple-barrier label of an entry at bar t's close: upper barrier close[t] + pt·atr[t], lower
 * close[t] − sl·atr[t], vertical barrier t + maxBars. Scanning bars t+1 … t+maxBars, the first bar
 * whose high reaches the upper barrier gives 1, whose low reaches the lower gives −1 (both in one
 * bar: −1, the conservative reading, since the order inside a bar is unknown); none gives 0. NaN
 * where atr[t] is NaN or t + maxBars is beyond the data.
 */
export function tripleBarrier(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  atr: Float64Array,
  pt: number,
  sl: number,
  maxBars: number,
): Float64Array {
  assertPeriod('triple barrier max_bars', maxBars, 1);
  const n = close.length;
  const out = nanArray(n);
  for (let t = 0; t + maxBars < n; t++) {
    const a = atr[t];
    if (a !== a) continue;
    const up = close[t] + pt * a;
    const dn = close[t] - sl * a;
    let label = 0;
    for (let j = t + 1; j <= t + maxBars; j++) {
      if (low[j] <= dn) {
        label = -1;
        break;
      }
      if (high[j] >= up) {
        label = 1;
        break;
      }
    }
    out[t] = label;
  }
  return out;
}
