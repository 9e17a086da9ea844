/** Volume indicators, TA-Lib exact (0.6): MFI, OBV, AD, ADOSC. */
import { assertPeriod, firstValid, firstValidAll, nanArray } from './util.js';

/**
 * Money flow index, TA_MFI: typical price tp = (h+l+c)/3, money flow tp·volume counted positive
 * when tp rises, negative when it falls (neither when unchanged), summed over the last `period`
 * bars; MFI = 100·pos/(pos + neg), and 0 when pos + neg < 1 (TA-Lib 0.6's literal guard, which
 * also zeroes MFI on volume-less data). Lookback `period`.
 */
export function mfi(high: Float64Array, low: Float64Array, close: Float64Array, volume: Float64Array, period: number): Float64Array {
  assertPeriod('mfi', period, 2);
  const n = close.length;
  const out = nanArray(n);
  const f = firstValidAll(high, low, close, volume);
  if (f + period >= n) return out;
  const pos = new Float64Array(n);
  const neg = new Float64Array(n);
  let prevTp = (high[f] + low[f] + close[f]) / 3.0;
  for (let i = f + 1; i < n; i++) {
    const tp = (high[i] + low[i] + close[i]) / 3.0;
    const d = tp - prevTp;
    prevTp = tp;
    const mf = tp * volume[i];
    if (d < 0) neg[i] = mf;
    else if (d > 0) pos[i] = mf;
  }
  let posSum = 0.0;
  let negSum = 0.0;
  for (let i = f + 1; i <= f + period; i++) {
    posSum += pos[i];
    negSum += neg[i];
  }
  for (let t = f + period; t < n; t++) {
    if (t > f + period) {
      posSum -= pos[t - period];
      negSum -= neg[t - period];
      posSum += pos[t];
      negSum += neg[t];
    }
    const s = posSum + negSum;
    out[t] = s < 1.0 ? 0.0 : 100.0 * (posSum / s);
  }
  return out;
}

/** On-balance volume, TA_OBV: starts at the first bar's volume, ± volume as the price rises/falls. Lookback 0. */
export function obv(x: Float64Array, volume: Float64Array): Float64Array {
  const n = x.length;
  const out = nanArray(n);
  const f = Math.max(firstValid(x), firstValid(volume));
  if (f >= n) return out;
  let acc = volume[f];
  let prev = x[f];
  for (let i = f; i < n; i++) {
    const v = x[i];
    if (v > prev) acc += volume[i];
    else if (v < prev) acc -= volume[i];
    out[i] = acc;
    prev = v;
  }
  return out;
}

/** Accumulation/distribution step of bar i: ((c−l) − (h−c))/(h−l)·volume, 0 when h ≤ l. */
function adStep(high: Float64Array, low: Float64Array, close: Float64Array, volume: Float64Array, i: number): number {
  const h = high[i];
  const l = low[i];
  const r = h - l;
  const c = close[i];
  return r > 0.0 ? ((c - l - (h - c)) / r) * volume[i] : 0.0;
}

/** Chaikin A/D line, TA_AD: cumulative sum of adStep from the first bar. Lookback 0. */
export function ad(high: Float64Array, low: Float64Array, close: Float64Array, volume: Float64Array): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  let acc = 0.0;
  for (let i = firstValidAll(high, low, close, volume); i < n; i++) {
    acc += adStep(high, low, close, volume, i);
    out[i] = acc;
  }
  return out;
}

/** TA_ADOSC_Lookback: the slower EMA's lookback. */
export const adoscLookback = (fast: number, slow: number): number => Math.max(fast, slow) - 1;

/**
 * Chaikin A/D oscillator, TA_ADOSC: EMA(AD, fast) − EMA(AD, slow), where (unlike TA_EMA) both EMAs
 * are seeded with the first AD value, not an SMA: e = k·ad + (1−k)·e from the second bar on.
 */
export function adosc(high: Float64Array, low: Float64Array, close: Float64Array, volume: Float64Array, fast: number, slow: number): Float64Array {
  assertPeriod('adosc fast', fast, 2);
  assertPeriod('adosc slow', slow, 2);
  const n = close.length;
  const out = nanArray(n);
  const f = firstValidAll(high, low, close, volume);
  const start = f + adoscLookback(fast, slow);
  if (start >= n) return out;
  const fk = 2.0 / (fast + 1);
  const sk = 2.0 / (slow + 1);
  const omf = 1.0 - fk;
  const oms = 1.0 - sk;
  let acc = adStep(high, low, close, volume, f);
  let fe = acc;
  let se = acc;
  for (let i = f + 1; i < n; i++) {
    acc += adStep(high, low, close, volume, i);
    fe = fk * acc + omf * fe;
    se = sk * acc + oms * se;
    if (i >= start) out[i] = fe - se;
  }
  return out;
}
