/**
 * Moving averages, TA-Lib exact (0.6, default compatibility): SMA, WMA, DEMA, TEMA, TRIMA, KAMA, T3.
 * Each kernel writes NaN over TA-Lib's lookback and skips leading NaNs of its input (the indices
 * below are relative to the first non-NaN value), so averages of averages chain as TA-Lib's do.
 */
import { ema } from './ema.js';
import { assertPeriod, firstValid, isZero, nanArray } from './util.js';

/** TA_SMA_Lookback. */
export const smaLookback = (period: number): number => period - 1;

/**
 * Simple moving average, TA_INT_SMA's running sum: add the new value, take the mean, subtract the
 * trailing one (in that order, for bit-identical results).
 */
export function sma(x: Float64Array, period: number): Float64Array {
  return smaState(x, period).out;
}

/** sma, also returning the running sum after the last row (null when no value exists yet). */
export function smaState(x: Float64Array, period: number): { out: Float64Array; state: { total: number } | null } {
  assertPeriod('sma', period, 1);
  const n = x.length;
  const out = nanArray(n);
  const f = firstValid(x);
  const start = f + period - 1;
  if (start >= n) return { out, state: null };
  let total = 0.0;
  let i = f;
  while (i < start) total += x[i++];
  const state = { total };
  smaAdvance(x, period, state, start, n, out);
  return { out, state };
}

/**
 * TA_SMA's running sum over rows [from, to): `state.total` is the sum of the period − 1 values
 * before `from` (as the loop leaves it, rounding included), updated in place. The full computation
 * and the continuation of a series that gained rows run this same loop.
 */
export function smaAdvance(x: Float64Array, period: number, state: { total: number }, from: number, to: number, out: Float64Array): void {
  let total = state.total;
  let trailing = from - period + 1;
  for (let i = from; i < to; i++) {
    total += x[i];
    const t = total;
    total -= x[trailing++];
    out[i] = t / period;
  }
  state.total = total;
}

/** TA_WMA_Lookback. */
export const wmaLookback = (period: number): number => period - 1;

/** Linearly weighted moving average (weights 1..period, newest heaviest), TA_WMA's running sums. */
export function wma(x: Float64Array, period: number): Float64Array {
  assertPeriod('wma', period, 1);
  const n = x.length;
  const out = nanArray(n);
  const f = firstValid(x);
  const start = f + period - 1;
  if (start >= n) return out;
  const divider = (period * (period + 1)) / 2;
  let periodSum = 0.0;
  let periodSub = 0.0;
  let inIdx = f;
  let w = 1;
  while (inIdx < start) {
    const v = x[inIdx++];
    periodSub += v;
    periodSum += v * w;
    w++;
  }
  let trailingIdx = f;
  let trailingValue = 0.0;
  while (inIdx < n) {
    const v = x[inIdx];
    periodSub += v;
    periodSub -= trailingValue;
    periodSum += v * period;
    trailingValue = x[trailingIdx++];
    out[inIdx++] = periodSum / divider;
    periodSum -= periodSub;
  }
  return out;
}

/** TA_DEMA_Lookback: two EMA lookbacks. */
export const demaLookback = (period: number): number => 2 * (period - 1);

/** Double EMA: 2·EMA(x) − EMA(EMA(x)); each EMA seeded with the SMA of its first `period` inputs. */
export function dema(x: Float64Array, period: number): Float64Array {
  assertPeriod('dema', period, 1);
  const e1 = ema(x, period);
  const e2 = ema(e1, period);
  const out = nanArray(x.length);
  for (let i = 0; i < x.length; i++) if (e2[i] === e2[i]) out[i] = 2.0 * e1[i] - e2[i];
  return out;
}

/** TA_TEMA_Lookback: three EMA lookbacks. */
export const temaLookback = (period: number): number => 3 * (period - 1);

/** Triple EMA: 3·E1 − 3·E2 + E3 (TA_TEMA writes E3 + (3·E1 − 3·E2)). */
export function tema(x: Float64Array, period: number): Float64Array {
  assertPeriod('tema', period, 1);
  const e1 = ema(x, period);
  const e2 = ema(e1, period);
  const e3 = ema(e2, period);
  const out = nanArray(x.length);
  for (let i = 0; i < x.length; i++) if (e3[i] === e3[i]) out[i] = e3[i] + (3.0 * e1[i] - 3.0 * e2[i]);
  return out;
}

/** TA_TRIMA_Lookback. */
export const trimaLookback = (period: number): number => period - 1;

/**
 * Triangular moving average: weights 1,2,…,m,…,2,1 (TA_TRIMA). It equals an SMA of an SMA: for an
 * odd period both of length (period+1)/2, for an even period period/2 then period/2+1; computed
 * that way in O(n) with the same values (the weights are the convolution of two boxes).
 */
export function trima(x: Float64Array, period: number): Float64Array {
  assertPeriod('trima', period, 1);
  if (period === 1) return sma(x, 1);
  const a = period % 2 === 1 ? (period + 1) / 2 : period / 2;
  const b = period % 2 === 1 ? a : a + 1;
  return sma(sma(x, a), b);
}

/** TA_KAMA_Lookback: `period` rows (the efficiency ratio needs period+1 values). */
export const kamaLookback = (period: number): number => period;

/**
 * Kaufman adaptive moving average, TA_KAMA exact: fast constant 2/(2+1), slow 2/(30+1);
 * ER = |x[t] − x[t−period]| / Σ|x[j] − x[j−1]| over the period (1 when the sum is zero or not above
 * the signed change), sc = (ER·(fast−slow) + slow)², KAMA[t] = KAMA[t−1] + sc·(x[t] − KAMA[t−1]),
 * with KAMA[period−1] taken as x[period−1].
 */
export function kama(x: Float64Array, period: number): Float64Array {
  assertPeriod('kama', period, 2);
  const n = x.length;
  const out = nanArray(n);
  const f = firstValid(x);
  const start = f + period;
  if (start >= n) return out;
  const constMax = 2.0 / (30.0 + 1.0);
  const constDiff = 2.0 / (2.0 + 1.0) - constMax;
  let sumROC1 = 0.0;
  let today = f;
  for (let i = period; i-- > 0; ) {
    let t = x[today++];
    t -= x[today];
    sumROC1 += Math.abs(t);
  }
  let prevKAMA = x[today - 1];
  let trailingIdx = f;
  let tempReal = x[today];
  let tempReal2 = x[trailingIdx++];
  let periodROC = tempReal - tempReal2;
  let trailingValue = tempReal2;
  let er = sumROC1 <= periodROC || isZero(sumROC1) ? 1.0 : Math.abs(periodROC / sumROC1);
  let sc = er * constDiff + constMax;
  sc *= sc;
  prevKAMA = (x[today++] - prevKAMA) * sc + prevKAMA;
  out[start] = prevKAMA;
  while (today < n) {
    tempReal = x[today];
    tempReal2 = x[trailingIdx++];
    periodROC = tempReal - tempReal2;
    sumROC1 -= Math.abs(trailingValue - tempReal2);
    sumROC1 += Math.abs(tempReal - x[today - 1]);
    trailingValue = tempReal2;
    er = sumROC1 <= periodROC || isZero(sumROC1) ? 1.0 : Math.abs(periodROC / sumROC1);
    sc = er * constDiff + constMax;
    sc *= sc;
    prevKAMA = (x[today] - prevKAMA) * sc + prevKAMA;
    out[today++] = prevKAMA;
  }
  return out;
}

/** TA_T3_Lookback: six EMA lookbacks. */
export const t3Lookback = (period: number): number => 6 * (period - 1);

/**
 * Tillson T3, TA_T3 exact: six chained EMAs e1..e6 (k = 2/(period+1), each seeded with the SMA of
 * the first `period` values of the previous one), T3 = c1·e6 + c2·e5 + c3·e4 + c4·e3 with
 * a = vFactor, c1 = −a³, c2 = 3a² + 3a³, c3 = −6a² − 3a − 3a³, c4 = 1 + 3a + a³ + 3a².
 */
export function t3(x: Float64Array, period: number, vFactor: number): Float64Array {
  assertPeriod('t3', period, 1);
  const n = x.length;
  const out = nanArray(n);
  const f = firstValid(x);
  const start = f + t3Lookback(period);
  if (start >= n) return out;
  const k = 2.0 / (period + 1.0);
  const omk = 1.0 - k;
  let today = f;
  let temp = x[today++];
  for (let i = period - 1; i > 0; i--) temp += x[today++];
  let e1 = temp / period;
  temp = e1;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * x[today++] + omk * e1;
    temp += e1;
  }
  let e2 = temp / period;
  temp = e2;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * x[today++] + omk * e1;
    e2 = k * e1 + omk * e2;
    temp += e2;
  }
  let e3 = temp / period;
  temp = e3;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * x[today++] + omk * e1;
    e2 = k * e1 + omk * e2;
    e3 = k * e2 + omk * e3;
    temp += e3;
  }
  let e4 = temp / period;
  temp = e4;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * x[today++] + omk * e1;
    e2 = k * e1 + omk * e2;
    e3 = k * e2 + omk * e3;
    e4 = k * e3 + omk * e4;
    temp += e4;
  }
  let e5 = temp / period;
  temp = e5;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * x[today++] + omk * e1;
    e2 = k * e1 + omk * e2;
    e3 = k * e2 + omk * e3;
    e4 = k * e3 + omk * e4;
    e5 = k * e4 + omk * e5;
    temp += e5;
  }
  let e6 = temp / period;
  const a = vFactor;
  const a2 = a * a;
  const c1 = -a2 * a;
  const c2 = 3.0 * (a2 - c1);
  const c3 = -6.0 * a2 - 3.0 * (a - c1);
  const c4 = 1.0 + 3.0 * a - c1 + 3.0 * a2;
  out[today - 1] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3;
  while (today < n) {
    e1 = k * x[today] + omk * e1;
    e2 = k * e1 + omk * e2;
    e3 = k * e2 + omk * e3;
    e4 = k * e3 + omk * e4;
    e5 = k * e4 + omk * e5;
    e6 = k * e5 + omk * e6;
    out[today++] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3;
  }
  return out;
}
