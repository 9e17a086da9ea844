/** Stochastics, TA-Lib exact (0.6): STOCH (slow %K/%D), STOCHF (fast %K/%D), STOCHRSI. */
import { highestLowest, movingAverage, type MaType } from './momentum.js';
import { rsi } from './rsi.js';
import { assertPeriod, blank, firstValidAll, nanArray } from './util.js';

/** MA lookback as TA_MA_Lookback (period−1; period 1 is a copy). */
const maLb = (p: number): number => p - 1;

/** TA_STOCH_Lookback. */
export const stochLookback = (fastK: number, slowK: number, slowD: number): number => fastK - 1 + maLb(slowK) + maLb(slowD);
/** TA_STOCHF_Lookback. */
export const stochfLookback = (fastK: number, fastD: number): number => fastK - 1 + maLb(fastD);
/** TA_STOCHRSI_Lookback: RSI's lookback plus STOCHF's. */
export const stochrsiLookback = (period: number, fastK: number, fastD: number): number => period + stochfLookback(fastK, fastD);

/**
 * Raw %K as TA-Lib computes it: (close − LL)/((HH − LL)/100) over the last `fastK` bars, 0 when
 * HH = LL. NaN before fastK−1 (relative to the first bar where all inputs have values).
 */
export function fastK(high: Float64Array, low: Float64Array, close: Float64Array, period: number): Float64Array {
  assertPeriod('stoch fastk', period, 1);
  const n = close.length;
  const out = nanArray(n);
  const start = firstValidAll(high, low, close) + period - 1;
  if (start >= n) return out;
  const { hi, lo } = highestLowest(high, low, period, start);
  for (let t = start; t < n; t++) {
    const l = low[lo[t]];
    const diff = (high[hi[t]] - l) / 100.0;
    out[t] = diff !== 0.0 ? (close[t] - l) / diff : 0.0;
  }
  return out;
}

/**
 * Slow stochastic, TA_STOCH: slow %K = MA(raw %K, slowK), slow %D = MA(slow %K, slowD), both
 * output from the total lookback (TA-Lib outputs nothing earlier).
 */
export function stoch(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  fastKPeriod: number,
  slowKPeriod: number,
  slowDPeriod: number,
  maType: MaType,
): { k: Float64Array; d: Float64Array } {
  const k = movingAverage(fastK(high, low, close, fastKPeriod), slowKPeriod, maType);
  const d = movingAverage(k, slowDPeriod, maType);
  const first = firstValidAll(high, low, close) + stochLookback(fastKPeriod, slowKPeriod, slowDPeriod);
  blank(k, first);
  return { k, d };
}

/** Fast stochastic, TA_STOCHF: raw %K and %D = MA(%K, fastD), both output from the total lookback. */
export function stochf(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  fastKPeriod: number,
  fastDPeriod: number,
  maType: MaType,
): { k: Float64Array; d: Float64Array } {
  const k = fastK(high, low, close, fastKPeriod);
  const d = movingAverage(k, fastDPeriod, maType);
  blank(k, firstValidAll(high, low, close) + stochfLookback(fastKPeriod, fastDPeriod));
  return { k, d };
}

/** Stochastic RSI, TA_STOCHRSI: STOCHF with high = low = close = RSI(period). */
export function stochrsi(x: Float64Array, period: number, fastKPeriod: number, fastDPeriod: number, maType: MaType): { k: Float64Array; d: Float64Array } {
  const r = rsi(x, period);
  return stochf(r, r, r, fastKPeriod, fastDPeriod, maType);
}
