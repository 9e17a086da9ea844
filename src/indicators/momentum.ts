/**
 * Momentum oscillators, TA-Lib exact (0.6, default compatibility): MOM, ROC, CMO, TRIX, APO/PPO,
 * WILLR, CCI, BOP, ULTOSC, AROON, AROONOSC. Single-series kernels skip leading NaNs; multi-series
 * kernels start where every input has a value.
 */
import { ema } from './ema.js';
import { wilderOscillator } from './rsi.js';
import { sma } from './ma.js';
import { assertPeriod, firstValid, firstValidAll, isZero, isZeroOrNeg, nanArray } from './util.js';

/** TA-Lib MA types offered where an indicator takes one (TA-Lib's default is SMA everywhere). */
export type MaType = 'sma' | 'ema';

/** TA_MA for the supported types. */
export function movingAverage(x: Float64Array, period: number, type: MaType): Float64Array {
  if (period === 1) return Float64Array.from(x);
  return type === 'ema' ? ema(x, period) : sma(x, period);
}

/** MOM: x[t] − x[t−period]. Lookback `period`. */
export function mom(x: Float64Array, period: number): Float64Array {
  assertPeriod('mom', period, 1);
  const n = x.length;
  const out = nanArray(n);
  for (let t = firstValid(x) + period; t < n; t++) out[t] = x[t] - x[t - period];
  return out;
}

/** ROC: (x[t]/x[t−period] − 1)·100, 0 where x[t−period] is 0 (TA_ROC). Lookback `period`. */
export function roc(x: Float64Array, period: number): Float64Array {
  assertPeriod('roc', period, 1);
  const n = x.length;
  const out = nanArray(n);
  for (let t = firstValid(x) + period; t < n; t++) {
    const prev = x[t - period];
    out[t] = prev !== 0.0 ? (x[t] / prev - 1.0) * 100.0 : 0.0;
  }
  return out;
}

/**
 * Chande momentum oscillator, TA_CMO (default compatibility): Wilder-smoothed gains and losses
 * exactly as RSI, CMO = 100·(G − L)/(G + L), 0 when G + L is zero. Lookback `period`.
 */
export function cmo(x: Float64Array, period: number): Float64Array {
  return wilderOscillator(x, period, true);
}

/** TA_TRIX_Lookback: three EMA lookbacks plus one for the 1-bar ROC. */
export const trixLookback = (period: number): number => 3 * (period - 1) + 1;

/** TRIX: 1-bar ROC (in %) of a triple EMA, each EMA seeded with an SMA. */
export function trix(x: Float64Array, period: number): Float64Array {
  assertPeriod('trix', period, 1);
  return roc(ema(ema(ema(x, period), period), period), 1);
}

/** TA_APO_Lookback / TA_PPO_Lookback: the slow MA's lookback. */
export const poLookback = (fast: number, slow: number): number => Math.max(fast, slow) - 1;

/**
 * TA_INT_PO: the fast and the slow MA each computed over the whole series from its first bar (each
 * EMA seeded with the SMA of its own first `period` values), output from the slow MA's first value.
 * Unlike MACD, TA_APO/TA_PPO do not move the fast EMA's seed to the slow one's start: TA_INT_MACD
 * raises startIdx to its lookback before calling TA_INT_EMA, TA_INT_PO passes the caller's 0.
 * `percent`: PPO = (fast − slow)/slow·100 (0 where slow is zero); otherwise APO = fast − slow.
 * fast/slow are swapped when fast > slow, as TA-Lib does.
 */
export function priceOscillator(x: Float64Array, fast: number, slow: number, type: MaType, percent: boolean): Float64Array {
  assertPeriod('po fast', fast, 2);
  assertPeriod('po slow', slow, 2);
  if (slow < fast) [fast, slow] = [slow, fast];
  const n = x.length;
  const out = nanArray(n);
  const f = firstValid(x);
  const start = f + slow - 1;
  if (start >= n) return out;
  const fastMa = type === 'ema' ? ema(x, fast) : sma(x, fast);
  const slowMa = type === 'ema' ? ema(x, slow) : sma(x, slow);
  for (let i = start; i < n; i++) {
    const s = slowMa[i];
    if (percent) out[i] = !isZero(s) ? ((fastMa[i] - s) / s) * 100.0 : 0.0;
    else out[i] = fastMa[i] - s;
  }
  return out;
}

/**
 * Index of the highest (`sign` = 1) or lowest (`sign` = −1) value of x over each window
 * [t−span+1, t], TA-Lib's tracking: on a tie the latest index wins. Writes idx[t] for t ≥ from.
 */
function extremeIndex(x: Float64Array, span: number, from: number, sign: 1 | -1, idx: Int32Array): void {
  const n = x.length;
  let best = -1;
  let bestVal = 0.0;
  for (let t = from; t < n; t++) {
    const trailing = t - span + 1;
    const v = x[t];
    if (best < trailing) {
      best = trailing;
      bestVal = x[best];
      for (let i = best + 1; i <= t; i++) {
        const w = x[i];
        if (sign === 1 ? w >= bestVal : w <= bestVal) {
          best = i;
          bestVal = w;
        }
      }
    } else if (sign === 1 ? v >= bestVal : v <= bestVal) {
      best = t;
      bestVal = v;
    }
    idx[t] = best;
  }
}

/** Highest high / lowest low index over windows of `span` bars ending at each t ≥ from. */
export function highestLowest(high: Float64Array, low: Float64Array, span: number, from: number): { hi: Int32Array; lo: Int32Array } {
  const hi = new Int32Array(high.length);
  const lo = new Int32Array(low.length);
  extremeIndex(high, span, from, 1, hi);
  extremeIndex(low, span, from, -1, lo);
  return { hi, lo };
}

/** Williams %R, TA_WILLR: (HH − close)/((HH − LL)/−100), 0 when HH = LL. Lookback period−1. */
export function willr(high: Float64Array, low: Float64Array, close: Float64Array, period: number): Float64Array {
  assertPeriod('willr', period, 2);
  const n = close.length;
  const out = nanArray(n);
  const start = firstValidAll(high, low, close) + period - 1;
  if (start >= n) return out;
  const { hi, lo } = highestLowest(high, low, period, start);
  for (let t = start; t < n; t++) {
    const h = high[hi[t]];
    const diff = (h - low[lo[t]]) / -100.0;
    out[t] = diff !== 0.0 ? (h - close[t]) / diff : 0.0;
  }
  return out;
}

/**
 * Commodity channel index, TA_CCI: typical price tp = (h+l+c)/3, its `period` SMA m and mean
 * absolute deviation d = Σ|tp − m|/period; CCI = (tp − m)/(0.015·d), 0 when either is 0.
 * Lookback period−1. Both sums run in TA-Lib's order: it keeps the window in a circular buffer
 * whose slot for bar j is (j − first) mod period and sums slots 0…period−1, not bars oldest first.
 * The order matters where tp almost equals m: the rounding then decides between TA-Lib's exact 0
 * and a residue like −2e-11 (EURUSD H1 2013-05-27 15:00).
 */
export function cci(high: Float64Array, low: Float64Array, close: Float64Array, period: number): Float64Array {
  assertPeriod('cci', period, 2);
  const n = close.length;
  const out = nanArray(n);
  const f = firstValidAll(high, low, close);
  const start = f + period - 1;
  if (start >= n) return out;
  const tp = new Float64Array(n);
  for (let i = f; i < n; i++) tp[i] = (high[i] + low[i] + close[i]) / 3;
  for (let t = start; t < n; t++) {
    const lo = t - period + 1;
    // Slot 0 holds the window's bar j0 with (j0 − f) mod period = 0; slots run j0…t, then lo…j0−1.
    const j0 = lo + ((period - ((lo - f) % period)) % period);
    let avg = 0.0;
    for (let j = j0; j <= t; j++) avg += tp[j];
    for (let j = lo; j < j0; j++) avg += tp[j];
    avg /= period;
    let dev = 0.0;
    for (let j = j0; j <= t; j++) dev += Math.abs(tp[j] - avg);
    for (let j = lo; j < j0; j++) dev += Math.abs(tp[j] - avg);
    const diff = tp[t] - avg;
    out[t] = diff !== 0.0 && dev !== 0.0 ? diff / (0.015 * (dev / period)) : 0.0;
  }
  return out;
}

/** Balance of power, TA_BOP: (close − open)/(high − low), 0 when the range is (near) zero. Lookback 0. */
export function bop(open: Float64Array, high: Float64Array, low: Float64Array, close: Float64Array): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  for (let i = firstValidAll(open, high, low, close); i < n; i++) {
    const r = high[i] - low[i];
    out[i] = isZeroOrNeg(r) ? 0.0 : (close[i] - open[i]) / r;
  }
  return out;
}

/**
 * Ultimate oscillator, TA_ULTOSC: buying pressure bp = close − min(low, prevClose), true range
 * tr = max(high, prevClose) − min(low, prevClose); a_k = Σbp/Σtr over each period (sorted, the
 * shortest weighted 4, the middle 2, the longest 1), UO = 100·(4a₁ + 2a₂ + a₃)/7, a term left out
 * when its Σtr is zero. Lookback = the longest period.
 */
export function ultosc(high: Float64Array, low: Float64Array, close: Float64Array, p1: number, p2: number, p3: number): Float64Array {
  for (const p of [p1, p2, p3]) assertPeriod('ultosc', p, 1);
  const [s1, s2, s3] = [p1, p2, p3].sort((a, b) => a - b);
  const n = close.length;
  const out = nanArray(n);
  const f = firstValidAll(high, low, close);
  const start = f + s3;
  if (start >= n) return out;
  const bp = new Float64Array(n);
  const tr = new Float64Array(n);
  for (let i = f + 1; i < n; i++) {
    const pc = close[i - 1];
    const tl = low[i] < pc ? low[i] : pc;
    bp[i] = close[i] - tl;
    let r = high[i] - low[i];
    const d1 = Math.abs(pc - high[i]);
    if (d1 > r) r = d1;
    const d2 = Math.abs(pc - low[i]);
    if (d2 > r) r = d2;
    tr[i] = r;
  }
  let a1 = 0.0,
    b1 = 0.0,
    a2 = 0.0,
    b2 = 0.0,
    a3 = 0.0,
    b3 = 0.0; // prettier-ignore
  // Sums over the s-1 bars before `start`, then the sliding loop adds today and drops the trailing.
  for (let i = start - s1 + 1; i < start; i++) (a1 += bp[i]), (b1 += tr[i]);
  for (let i = start - s2 + 1; i < start; i++) (a2 += bp[i]), (b2 += tr[i]);
  for (let i = start - s3 + 1; i < start; i++) (a3 += bp[i]), (b3 += tr[i]);
  for (let t = start; t < n; t++) {
    a1 += bp[t];
    b1 += tr[t];
    a2 += bp[t];
    b2 += tr[t];
    a3 += bp[t];
    b3 += tr[t];
    let o = 0.0;
    if (!isZero(b1)) o += 4.0 * (a1 / b1);
    if (!isZero(b2)) o += 2.0 * (a2 / b2);
    if (!isZero(b3)) o += a3 / b3;
    out[t] = 100.0 * (o / 7.0);
    let j = t - s1 + 1;
    a1 -= bp[j];
    b1 -= tr[j];
    j = t - s2 + 1;
    a2 -= bp[j];
    b2 -= tr[j];
    j = t - s3 + 1;
    a3 -= bp[j];
    b3 -= tr[j];
  }
  return out;
}

/**
 * Aroon, TA_AROON: over the period+1 bars [t−period, t], up = 100/period·(period − bars since the
 * highest high), down likewise with the lowest low; ties pick the latest bar. Lookback `period`.
 */
export function aroon(high: Float64Array, low: Float64Array, period: number): { up: Float64Array; down: Float64Array } {
  assertPeriod('aroon', period, 2);
  const n = high.length;
  const up = nanArray(n);
  const down = nanArray(n);
  const start = firstValidAll(high, low) + period;
  if (start >= n) return { up, down };
  const { hi, lo } = highestLowest(high, low, period + 1, start);
  const factor = 100.0 / period;
  for (let t = start; t < n; t++) {
    up[t] = factor * (period - (t - hi[t]));
    down[t] = factor * (period - (t - lo[t]));
  }
  return { up, down };
}

/** Aroon oscillator, TA_AROONOSC: 100/period·(index of highest − index of lowest). Lookback `period`. */
export function aroonosc(high: Float64Array, low: Float64Array, period: number): Float64Array {
  assertPeriod('aroonosc', period, 2);
  const n = high.length;
  const out = nanArray(n);
  const start = firstValidAll(high, low) + period;
  if (start >= n) return out;
  const { hi, lo } = highestLowest(high, low, period + 1, start);
  const factor = 100.0 / period;
  for (let t = start; t < n; t++) out[t] = factor * (hi[t] - lo[t]);
  return out;
}
