/**
 * True range and Wilder's directional movement family, TA-Lib exact (0.6): TRANGE, ATR, NATR,
 * PLUS_DI, MINUS_DI, DX, ADX, ADXR.
 *
 * Directional movement of bar t: up = high[t] − high[t−1], down = low[t−1] − low[t]; −DM = down if
 * down > 0 and up < down, else +DM = up if up > 0 and up > down (ties give neither). The smoothed
 * sums start as plain sums of the first period−1 one-bar values and then follow Wilder's
 * S = S − S/period + value; DI = 100·DM/TR (0 when TR is zero).
 */
import { assertPeriod, firstValidAll, isZero, nanArray } from './util.js';

/** True range of bar i (i ≥ 1), TA_TRANGE's operation order. */
function trueRange(high: Float64Array, low: Float64Array, close: Float64Array, i: number): number {
  const h = high[i];
  const l = low[i];
  const pc = close[i - 1];
  let g = h - l;
  const v2 = Math.abs(pc - h);
  if (v2 > g) g = v2;
  const v3 = Math.abs(pc - l);
  if (v3 > g) g = v3;
  return g;
}

/** TRANGE: max(high, prevClose) − min(low, prevClose). Lookback 1. */
export function trange(high: Float64Array, low: Float64Array, close: Float64Array): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  for (let i = firstValidAll(high, low, close) + 1; i < n; i++) out[i] = trueRange(high, low, close, i);
  return out;
}

/** TA_ATR_Lookback. */
export const atrLookback = (period: number): number => period;

/**
 * Average true range, TA_ATR: the first value (index `period`) is the mean of the first `period`
 * true ranges, then ATR = (ATR·(period−1) + TR)/period. Period 1 is TRANGE.
 */
export function atr(high: Float64Array, low: Float64Array, close: Float64Array, period: number): Float64Array {
  assertPeriod('atr', period, 1);
  if (period === 1) return trange(high, low, close);
  const n = close.length;
  const out = nanArray(n);
  const f = firstValidAll(high, low, close);
  const start = f + period;
  if (start >= n) return out;
  // Seed: TA_INT_SMA over the first `period` true ranges (bars f+1 … f+period).
  let sum = 0.0;
  for (let i = f + 1; i <= start; i++) sum += trueRange(high, low, close, i);
  out[start] = sum / period;
  atrAdvance(high, low, close, period, start + 1, n, out);
  return out;
}

/**
 * Wilder's ATR recurrence over rows [from, to) from out[from − 1], its whole state: the full
 * computation and the continuation of a series that gained rows run this same loop.
 */
export function atrAdvance(high: Float64Array, low: Float64Array, close: Float64Array, period: number, from: number, to: number, out: Float64Array): void {
  let prev = out[from - 1];
  for (let i = from; i < to; i++) {
    prev *= period - 1;
    prev += trueRange(high, low, close, i);
    prev /= period;
    out[i] = prev;
  }
}

/**
 * Normalised ATR, TA_NATR: 100·ATR/close (0 where close is zero). Lookback `period`. Period ≥ 2:
 * TA_NATR with period 1 returns TRANGE unnormalised (ta_NATR.c), a column in price units under a
 * percent name, so fxflow refuses it (params minimum 2) rather than copy or silently differ.
 */
export function natr(high: Float64Array, low: Float64Array, close: Float64Array, period: number): Float64Array {
  assertPeriod('natr', period, 2);
  const a = atr(high, low, close, period);
  natrOf(a, close, 0, a.length, a);
  return a;
}

/** NATR from ATR over rows [from, to): 100·ATR/close, 0 where close is zero (out may be atr). */
export function natrOf(atr: Float64Array, close: Float64Array, from: number, to: number, out: Float64Array): void {
  for (let i = from; i < to; i++) {
    const a = atr[i];
    if (a === a) out[i] = !isZero(close[i]) ? (a / close[i]) * 100.0 : 0.0;
  }
}

/** Lookbacks (TA_PLUS_DI / TA_MINUS_DI / TA_DX, TA_ADX, TA_ADXR). */
export const diLookback = (period: number): number => period;
export const adxLookback = (period: number): number => 2 * period - 1;
export const adxrLookback = (period: number): number => adxLookback(period) + period - 1;

export interface DirectionalSeries {
  plusDi: Float64Array;
  minusDi: Float64Array;
  dx: Float64Array;
  adx: Float64Array;
}

/**
 * One pass computing +DI, −DI, DX (from index `period`) and ADX (from 2·period−1), with TA-Lib's
 * conventions: DX = 100·|−DI − +DI|/(−DI + +DI); when TR or the DI sum is zero DX keeps its
 * previous value (0 for the first) and ADX is not updated; the first ADX is the mean of the first
 * `period` DX values (a zero-TR DX counting as 0), then ADX = (ADX·(period−1) + DX)/period.
 */
export function directional(high: Float64Array, low: Float64Array, close: Float64Array, period: number): DirectionalSeries {
  return directionalState(high, low, close, period).series;
}

/** What the directional loop carries from row to row (besides the previous bar). */
export interface DirectionalState {
  /** First valid bar: DX's first row and ADX's seed end are counted from it. */
  f: number;
  pDM: number;
  mDM: number;
  tr: number;
  prevDx: number;
  sumDx: number;
  adxVal: number;
}

/** directional, also returning its state after the last row (null when no value exists yet). */
export function directionalState(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  period: number,
): { series: DirectionalSeries; state: DirectionalState | null } {
  assertPeriod('adx', period, 2);
  const n = close.length;
  const series = { plusDi: nanArray(n), minusDi: nanArray(n), dx: nanArray(n), adx: nanArray(n) };
  const f = firstValidAll(high, low, close);
  if (f + period >= n) return { series, state: null };
  let pDM = 0.0;
  let mDM = 0.0;
  let tr = 0.0;
  let today = f;
  let prevHigh = high[today];
  let prevLow = low[today];
  for (let i = period - 1; i-- > 0; ) {
    today++;
    const up = high[today] - prevHigh;
    prevHigh = high[today];
    const down = prevLow - low[today];
    prevLow = low[today];
    if (down > 0 && up < down) mDM += down;
    else if (up > 0 && up > down) pDM += up;
    tr += trueRange(high, low, close, today);
  }
  const state = { f, pDM, mDM, tr, prevDx: 0.0, sumDx: 0.0, adxVal: 0.0 };
  directionalAdvance(high, low, close, period, state, today + 1, n, series);
  return { series, state };
}

/**
 * The directional loop over rows [from, to), from its state after row from − 1 (updated in
 * place): the full computation and the continuation of a series that gained rows run this code.
 */
export function directionalAdvance(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  period: number,
  state: DirectionalState,
  from: number,
  to: number,
  out: DirectionalSeries,
): void {
  const { plusDi, minusDi, dx, adx } = out;
  let { pDM, mDM, tr, prevDx, sumDx, adxVal } = state;
  const f = state.f;
  let prevHigh = high[from - 1];
  let prevLow = low[from - 1];
  const adxStart = f + 2 * period - 1;
  for (let today = from; today < to; today++) {
    const up = high[today] - prevHigh;
    prevHigh = high[today];
    const down = prevLow - low[today];
    prevLow = low[today];
    mDM -= mDM / period;
    pDM -= pDM / period;
    if (down > 0 && up < down) mDM += down;
    else if (up > 0 && up > down) pDM += up;
    tr = tr - tr / period + trueRange(high, low, close, today);
    let dxNow = prevDx;
    let valid = false;
    if (!isZero(tr)) {
      const m = 100.0 * (mDM / tr);
      const p = 100.0 * (pDM / tr);
      minusDi[today] = m;
      plusDi[today] = p;
      const s = m + p;
      if (!isZero(s)) {
        dxNow = 100.0 * (Math.abs(m - p) / s);
        valid = true;
      } else if (today === f + period) dxNow = 0.0;
    } else {
      minusDi[today] = 0.0;
      plusDi[today] = 0.0;
    }
    dx[today] = dxNow;
    prevDx = dxNow;
    if (today < adxStart) {
      if (valid) sumDx += dxNow;
    } else if (today === adxStart) {
      if (valid) sumDx += dxNow;
      adxVal = sumDx / period;
      adx[today] = adxVal;
    } else {
      if (valid) adxVal = (adxVal * (period - 1) + dxNow) / period;
      adx[today] = adxVal;
    }
  }
  Object.assign(state, { pDM, mDM, tr, prevDx, sumDx, adxVal });
}

/** ADXR, TA_ADXR: (ADX[t] + ADX[t−(period−1)])/2. Lookback 3·period−2. */
export function adxr(high: Float64Array, low: Float64Array, close: Float64Array, period: number): Float64Array {
  const { adx } = directional(high, low, close, period);
  const n = close.length;
  const out = nanArray(n);
  const start = firstValidAll(high, low, close) + adxrLookback(period);
  for (let t = start; t < n; t++) out[t] = (adx[t] + adx[t - (period - 1)]) / 2.0;
  return out;
}
