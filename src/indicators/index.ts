/**
 * The indicator table: one entry per indicator name, so the features step (and later others) loop
 * over one registry instead of a switch. Each entry names its output columns, its lookback and how
 * to compute them from candle columns. Kernels are TA-Lib exact; see each kernel's comment.
 */
import { ema, emaLookback } from './ema.js';
import { macd, macdLookback } from './macd.js';
import { priceSource, type PriceColumns, type PriceSource } from './price.js';
import { rsi, rsiLookback } from './rsi.js';

export { ema, emaLookback } from './ema.js';
export { rsi, rsiLookback } from './rsi.js';
export { macd, macdLookback, type MacdResult } from './macd.js';
export { logReturn, forwardLogReturn } from './returns.js';
export { priceSource, PRICE_SOURCES, type PriceSource, type PriceColumns } from './price.js';

export interface IndicatorDef<P> {
  /** One line for docs and error hints. */
  description: string;
  /** Column names written for params p, in the order `compute` returns them. */
  outputs(p: P): string[];
  /** Leading rows that are NaN on a NaN-free input (TA-Lib's lookback). */
  lookback(p: P): number;
  /** The output columns, each as long as the candles. */
  compute(cols: PriceColumns, p: P): Float64Array[];
}

/** Params of a one-period indicator over a price source. */
export interface PeriodOnParams {
  period: number;
  on: PriceSource;
}

export interface MacdOnParams {
  fast: number;
  slow: number;
  signal: number;
  on: PriceSource;
}

/** Indicator name → the params its kernel reads. A new indicator adds a line here and an entry below. */
export interface IndicatorParamsMap {
  rsi: PeriodOnParams;
  ema: PeriodOnParams;
  macd: MacdOnParams;
}

export type IndicatorName = keyof IndicatorParamsMap;

/** `_hl2` etc. when an indicator reads something other than close, so names stay unique and readable. */
export function sourceSuffix(on: PriceSource): string {
  return on === 'close' ? '' : `_${on}`;
}

export const INDICATORS: { [K in IndicatorName]: IndicatorDef<IndicatorParamsMap[K]> } = {
  rsi: {
    description: 'Wilder RSI (TA-Lib RSI)',
    outputs: (p) => [`rsi_${p.period}${sourceSuffix(p.on)}`],
    lookback: (p) => rsiLookback(p.period),
    compute: (cols, p) => [rsi(priceSource(cols, p.on), p.period)],
  },
  ema: {
    description: 'exponential moving average seeded with an SMA (TA-Lib EMA)',
    outputs: (p) => [`ema_${p.period}${sourceSuffix(p.on)}`],
    lookback: (p) => emaLookback(p.period),
    compute: (cols, p) => [ema(priceSource(cols, p.on), p.period)],
  },
  macd: {
    description: 'MACD line, signal and histogram (TA-Lib MACD)',
    outputs: (p) => {
      const tag = `${p.fast}_${p.slow}_${p.signal}${sourceSuffix(p.on)}`;
      return [`macd_${tag}`, `macd_signal_${tag}`, `macd_hist_${tag}`];
    },
    lookback: (p) => macdLookback(p.fast, p.slow, p.signal),
    compute: (cols, p) => {
      const r = macd(priceSource(cols, p.on), p.fast, p.slow, p.signal);
      return [r.macd, r.signal, r.hist];
    },
  },
};

export const INDICATOR_NAMES = Object.keys(INDICATORS) as IndicatorName[];

export function isIndicatorName(name: string): name is IndicatorName {
  return Object.prototype.hasOwnProperty.call(INDICATORS, name);
}

/** Output column names of one indicator (typed dispatch through the table). */
export function indicatorOutputs<K extends IndicatorName>(name: K, p: IndicatorParamsMap[K]): string[] {
  return INDICATORS[name].outputs(p);
}

export function indicatorLookback<K extends IndicatorName>(name: K, p: IndicatorParamsMap[K]): number {
  return INDICATORS[name].lookback(p);
}

export function computeIndicator<K extends IndicatorName>(name: K, cols: PriceColumns, p: IndicatorParamsMap[K]): Float64Array[] {
  return INDICATORS[name].compute(cols, p);
}

/** Feature column of a backward log return over `lag` bars. */
export function returnColumn(lag: number): string {
  return `ret_${lag}`;
}

/** Target column of a forward log return over `h` bars. */
export function forwardReturnColumn(h: number): string {
  return `fwd_ret_${h}`;
}
