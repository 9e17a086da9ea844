/**
 * The indicator table: one entry per indicator name, so the features step (and later others) loop
 * over one registry instead of a switch. Each entry names its output columns, its lookback, the
 * candle columns it reads and how to compute the outputs. Kernels are TA-Lib 0.6 exact (default
 * compatibility); see each kernel's comment for TA-Lib's conventions.
 */
import { candleShape } from './candle.js';
import { adxLookback, adxrLookback, adxr, atr, atrLookback, diLookback, directional, natr, trange } from './dm.js';
import { ema, emaLookback } from './ema.js';
import { dema, demaLookback, kama, kamaLookback, sma, smaLookback, t3, t3Lookback, tema, temaLookback, trima, trimaLookback, wma, wmaLookback } from './ma.js';
import { macd, macdLookback } from './macd.js';
import { aroon, aroonosc, bop, cci, cmo, mom, poLookback, priceOscillator, roc, trix, trixLookback, ultosc, willr } from './momentum.js';
import type * as P from './params.js';
import { priceSource, type PriceColumns, type PriceSource } from './price.js';
import { rsi, rsiLookback } from './rsi.js';
import { sar } from './sar.js';
import { bbands, linearreg, stddev, variance } from './stats.js';
import { stoch, stochf, stochfLookback, stochLookback, stochrsi, stochrsiLookback } from './stoch.js';
import { ad, adosc, adoscLookback, mfi, obv } from './volume.js';

export { logReturn, forwardLogReturn } from './returns.js';
export type { PriceSource, PriceColumns } from './price.js';

export interface IndicatorDef<P> {
  /** One line for docs and error hints. */
  description: string;
  /** Column names written for params p, in the order `compute` returns them. */
  outputs(p: P): string[];
  /** Leading rows that are NaN on a NaN-free input (TA-Lib's lookback). */
  lookback(p: P): number;
  /** Candle columns the indicator reads. */
  reads(p: P): string[];
  /** The output columns, each as long as the candles. */
  compute(cols: PriceColumns, p: P): Float64Array[];
}

/** Indicator name → the params its kernel reads. A new indicator adds a line here and an entry below. */
export interface IndicatorParamsMap {
  rsi: P.RsiParams;
  ema: P.EmaParams;
  sma: P.SmaParams;
  wma: P.WmaParams;
  dema: P.DemaParams;
  tema: P.TemaParams;
  trima: P.TrimaParams;
  kama: P.KamaParams;
  t3: P.T3Params;
  macd: P.MacdParams;
  ppo: P.PpoParams;
  apo: P.ApoParams;
  mom: P.MomParams;
  roc: P.RocParams;
  cmo: P.CmoParams;
  trix: P.TrixParams;
  stoch: P.StochParams;
  stochf: P.StochfParams;
  stochrsi: P.StochrsiParams;
  willr: P.WillrParams;
  cci: P.CciParams;
  adx: P.AdxParams;
  adxr: P.AdxrParams;
  dx: P.DxParams;
  plus_di: P.PlusDiParams;
  minus_di: P.MinusDiParams;
  aroon: P.AroonParams;
  aroonosc: P.AroonoscParams;
  ultosc: P.UltoscParams;
  bop: P.BopParams;
  mfi: P.MfiParams;
  obv: P.ObvParams;
  ad: P.AdParams;
  adosc: P.AdoscParams;
  atr: P.AtrParams;
  natr: P.NatrParams;
  trange: P.TrangeParams;
  bbands: P.BbandsParams;
  stddev: P.StddevParams;
  var: P.VarParams;
  linearreg: P.LinearregParams;
  sar: P.SarParams;
  candle: P.CandleParams;
}

export type IndicatorName = keyof IndicatorParamsMap;

/** `_hl2` etc. when an indicator reads something other than close, so names stay unique and readable. */
export function sourceSuffix(on: PriceSource): string {
  return on === 'close' ? '' : `_${on}`;
}

/** `_ema` when an indicator's MA type is not TA-Lib's default SMA. */
function maSuffix(ma: P.MaType): string {
  return ma === 'sma' ? '' : `_${ma}`;
}

/** Candle columns a price source reads. */
export function sourceReads(on: PriceSource): string[] {
  switch (on) {
    case 'hl2':
      return ['high', 'low'];
    case 'hlc3':
      return ['high', 'low', 'close'];
    case 'ohlc4':
      return ['open', 'high', 'low', 'close'];
    default:
      return [on];
  }
}

const HLC = ['high', 'low', 'close'];
const HLCV = ['high', 'low', 'close', 'volume'];
const OHLC = ['open', 'high', 'low', 'close'];

/** One output over a price source: `name_<period><_on>`. */
function single<Q extends { period: number; on: PriceSource }>(
  prefix: string,
  description: string,
  lookback: (period: number) => number,
  kernel: (x: Float64Array, period: number) => Float64Array,
): IndicatorDef<Q> {
  return {
    description,
    outputs: (p) => [`${prefix}_${p.period}${sourceSuffix(p.on)}`],
    lookback: (p) => lookback(p.period),
    reads: (p) => sourceReads(p.on),
    compute: (cols, p) => [kernel(priceSource(cols, p.on), p.period)],
  };
}

/** One output over high/low/close: `name_<period>`. */
function hlcPeriod<Q extends { period: number }>(
  prefix: string,
  description: string,
  lookback: (period: number) => number,
  kernel: (h: Float64Array, l: Float64Array, c: Float64Array, period: number) => Float64Array,
): IndicatorDef<Q> {
  return {
    description,
    outputs: (p) => [`${prefix}_${p.period}`],
    lookback: (p) => lookback(p.period),
    reads: () => HLC,
    compute: (c, p) => [kernel(c.high, c.low, c.close, p.period)],
  };
}

const same = (p: number): number => p;
const minus1 = (p: number): number => p - 1;

export const INDICATORS: { [K in IndicatorName]: IndicatorDef<IndicatorParamsMap[K]> } = {
  rsi: single('rsi', 'Wilder RSI (TA-Lib RSI)', rsiLookback, rsi),
  ema: single('ema', 'exponential moving average seeded with an SMA (TA-Lib EMA)', emaLookback, ema),
  sma: single('sma', 'simple moving average (TA-Lib SMA)', smaLookback, sma),
  wma: single('wma', 'weighted moving average (TA-Lib WMA)', wmaLookback, wma),
  dema: single('dema', 'double EMA (TA-Lib DEMA)', demaLookback, dema),
  tema: single('tema', 'triple EMA (TA-Lib TEMA)', temaLookback, tema),
  trima: single('trima', 'triangular moving average (TA-Lib TRIMA)', trimaLookback, trima),
  kama: single('kama', 'Kaufman adaptive moving average (TA-Lib KAMA)', kamaLookback, kama),
  t3: {
    description: 'Tillson T3 (TA-Lib T3)',
    outputs: (p) => [`t3_${p.period}_${p.vfactor}${sourceSuffix(p.on)}`],
    lookback: (p) => t3Lookback(p.period),
    reads: (p) => sourceReads(p.on),
    compute: (cols, p) => [t3(priceSource(cols, p.on), p.period, p.vfactor)],
  },
  macd: {
    description: 'MACD line, signal and histogram (TA-Lib MACD)',
    outputs: (p) => {
      const tag = `${p.fast}_${p.slow}_${p.signal}${sourceSuffix(p.on)}`;
      return [`macd_${tag}`, `macd_signal_${tag}`, `macd_hist_${tag}`];
    },
    lookback: (p) => macdLookback(p.fast, p.slow, p.signal),
    reads: (p) => sourceReads(p.on),
    compute: (cols, p) => {
      const r = macd(priceSource(cols, p.on), p.fast, p.slow, p.signal);
      return [r.macd, r.signal, r.hist];
    },
  },
  ppo: {
    description: 'percentage price oscillator (TA-Lib PPO)',
    outputs: (p) => [`ppo_${p.fast}_${p.slow}${maSuffix(p.ma)}${sourceSuffix(p.on)}`],
    lookback: (p) => poLookback(p.fast, p.slow),
    reads: (p) => sourceReads(p.on),
    compute: (cols, p) => [priceOscillator(priceSource(cols, p.on), p.fast, p.slow, p.ma, true)],
  },
  apo: {
    description: 'absolute price oscillator (TA-Lib APO)',
    outputs: (p) => [`apo_${p.fast}_${p.slow}${maSuffix(p.ma)}${sourceSuffix(p.on)}`],
    lookback: (p) => poLookback(p.fast, p.slow),
    reads: (p) => sourceReads(p.on),
    compute: (cols, p) => [priceOscillator(priceSource(cols, p.on), p.fast, p.slow, p.ma, false)],
  },
  mom: single('mom', 'momentum (TA-Lib MOM)', same, mom),
  roc: single('roc', 'rate of change in percent (TA-Lib ROC)', same, roc),
  cmo: single('cmo', 'Chande momentum oscillator (TA-Lib CMO)', same, cmo),
  trix: single('trix', 'TRIX (TA-Lib TRIX)', trixLookback, trix),
  stoch: {
    description: 'slow stochastic (TA-Lib STOCH)',
    outputs: (p) => {
      const tag = `${p.fastk}_${p.slowk}_${p.slowd}${maSuffix(p.ma)}`;
      return [`stoch_k_${tag}`, `stoch_d_${tag}`];
    },
    lookback: (p) => stochLookback(p.fastk, p.slowk, p.slowd),
    reads: () => HLC,
    compute: (c, p) => {
      const r = stoch(c.high, c.low, c.close, p.fastk, p.slowk, p.slowd, p.ma);
      return [r.k, r.d];
    },
  },
  stochf: {
    description: 'fast stochastic (TA-Lib STOCHF)',
    outputs: (p) => {
      const tag = `${p.fastk}_${p.fastd}${maSuffix(p.ma)}`;
      return [`stochf_k_${tag}`, `stochf_d_${tag}`];
    },
    lookback: (p) => stochfLookback(p.fastk, p.fastd),
    reads: () => HLC,
    compute: (c, p) => {
      const r = stochf(c.high, c.low, c.close, p.fastk, p.fastd, p.ma);
      return [r.k, r.d];
    },
  },
  stochrsi: {
    description: 'stochastic RSI (TA-Lib STOCHRSI)',
    outputs: (p) => {
      const tag = `${p.period}_${p.fastk}_${p.fastd}${maSuffix(p.ma)}${sourceSuffix(p.on)}`;
      return [`stochrsi_k_${tag}`, `stochrsi_d_${tag}`];
    },
    lookback: (p) => stochrsiLookback(p.period, p.fastk, p.fastd),
    reads: (p) => sourceReads(p.on),
    compute: (cols, p) => {
      const r = stochrsi(priceSource(cols, p.on), p.period, p.fastk, p.fastd, p.ma);
      return [r.k, r.d];
    },
  },
  willr: hlcPeriod('willr', 'Williams %R (TA-Lib WILLR)', minus1, willr),
  cci: hlcPeriod('cci', 'commodity channel index (TA-Lib CCI)', minus1, cci),
  adx: hlcPeriod('adx', 'average directional index (TA-Lib ADX)', adxLookback, (h, l, c, p) => directional(h, l, c, p).adx),
  adxr: hlcPeriod('adxr', 'ADX rating (TA-Lib ADXR)', adxrLookback, adxr),
  dx: hlcPeriod('dx', 'directional movement index (TA-Lib DX)', diLookback, (h, l, c, p) => directional(h, l, c, p).dx),
  plus_di: hlcPeriod('plus_di', 'plus directional indicator (TA-Lib PLUS_DI)', diLookback, (h, l, c, p) => directional(h, l, c, p).plusDi),
  minus_di: hlcPeriod('minus_di', 'minus directional indicator (TA-Lib MINUS_DI)', diLookback, (h, l, c, p) => directional(h, l, c, p).minusDi),
  aroon: {
    description: 'Aroon up/down (TA-Lib AROON)',
    outputs: (p) => [`aroon_up_${p.period}`, `aroon_down_${p.period}`],
    lookback: (p) => p.period,
    reads: () => ['high', 'low'],
    compute: (c, p) => {
      const r = aroon(c.high, c.low, p.period);
      return [r.up, r.down];
    },
  },
  aroonosc: {
    description: 'Aroon oscillator (TA-Lib AROONOSC)',
    outputs: (p) => [`aroonosc_${p.period}`],
    lookback: (p) => p.period,
    reads: () => ['high', 'low'],
    compute: (c, p) => [aroonosc(c.high, c.low, p.period)],
  },
  ultosc: {
    description: 'ultimate oscillator (TA-Lib ULTOSC)',
    outputs: (p) => [`ultosc_${p.period1}_${p.period2}_${p.period3}`],
    lookback: (p) => Math.max(p.period1, p.period2, p.period3),
    reads: () => HLC,
    compute: (c, p) => [ultosc(c.high, c.low, c.close, p.period1, p.period2, p.period3)],
  },
  bop: {
    description: 'balance of power (TA-Lib BOP)',
    outputs: () => ['bop'],
    lookback: () => 0,
    reads: () => OHLC,
    compute: (c) => [bop(c.open, c.high, c.low, c.close)],
  },
  mfi: {
    description: 'money flow index (TA-Lib MFI)',
    outputs: (p) => [`mfi_${p.period}`],
    lookback: (p) => p.period,
    reads: () => HLCV,
    compute: (c, p) => [mfi(c.high, c.low, c.close, c.volume, p.period)],
  },
  obv: {
    description: 'on-balance volume (TA-Lib OBV)',
    outputs: (p) => [`obv${sourceSuffix(p.on)}`],
    lookback: () => 0,
    reads: (p) => [...sourceReads(p.on), 'volume'],
    compute: (c, p) => [obv(priceSource(c, p.on), c.volume)],
  },
  ad: {
    description: 'Chaikin A/D line (TA-Lib AD)',
    outputs: () => ['ad'],
    lookback: () => 0,
    reads: () => HLCV,
    compute: (c) => [ad(c.high, c.low, c.close, c.volume)],
  },
  adosc: {
    description: 'Chaikin A/D oscillator (TA-Lib ADOSC)',
    outputs: (p) => [`adosc_${p.fast}_${p.slow}`],
    lookback: (p) => adoscLookback(p.fast, p.slow),
    reads: () => HLCV,
    compute: (c, p) => [adosc(c.high, c.low, c.close, c.volume, p.fast, p.slow)],
  },
  atr: hlcPeriod('atr', 'average true range (TA-Lib ATR)', atrLookback, atr),
  natr: hlcPeriod('natr', 'normalised ATR (TA-Lib NATR)', atrLookback, natr),
  trange: {
    description: 'true range (TA-Lib TRANGE)',
    outputs: () => ['trange'],
    lookback: () => 1,
    reads: () => HLC,
    compute: (c) => [trange(c.high, c.low, c.close)],
  },
  bbands: {
    description: 'Bollinger bands (TA-Lib BBANDS)',
    outputs: (p) => {
      const dev = p.nbdev_up === p.nbdev_dn ? `${p.nbdev_up}` : `${p.nbdev_up}_${p.nbdev_dn}`;
      const tag = `${p.period}_${dev}${maSuffix(p.ma)}${sourceSuffix(p.on)}`;
      return [`bb_upper_${tag}`, `bb_middle_${tag}`, `bb_lower_${tag}`];
    },
    lookback: (p) => p.period - 1,
    reads: (p) => sourceReads(p.on),
    compute: (c, p) => {
      const r = bbands(priceSource(c, p.on), p.period, p.nbdev_up, p.nbdev_dn, p.ma);
      return [r.upper, r.middle, r.lower];
    },
  },
  stddev: {
    description: 'rolling standard deviation (TA-Lib STDDEV)',
    outputs: (p) => [`stddev_${p.period}${p.nbdev === 1 ? '' : `_${p.nbdev}`}${sourceSuffix(p.on)}`],
    lookback: (p) => p.period - 1,
    reads: (p) => sourceReads(p.on),
    compute: (c, p) => [stddev(priceSource(c, p.on), p.period, p.nbdev)],
  },
  var: single('var', 'rolling variance (TA-Lib VAR)', minus1, variance),
  linearreg: {
    description: 'linear regression value, slope, angle and intercept (TA-Lib LINEARREG*)',
    outputs: (p) => {
      const tag = `${p.period}${sourceSuffix(p.on)}`;
      return [`linearreg_${tag}`, `linearreg_slope_${tag}`, `linearreg_angle_${tag}`, `linearreg_intercept_${tag}`];
    },
    lookback: (p) => p.period - 1,
    reads: (p) => sourceReads(p.on),
    compute: (c, p) => {
      const r = linearreg(priceSource(c, p.on), p.period);
      return [r.value, r.slope, r.angle, r.intercept];
    },
  },
  sar: {
    description: 'parabolic SAR (TA-Lib SAR)',
    outputs: (p) => [`sar_${p.acceleration}_${p.maximum}`],
    lookback: () => 1,
    reads: () => ['high', 'low'],
    compute: (c, p) => [sar(c.high, c.low, p.acceleration, p.maximum)],
  },
  candle: {
    description: 'candle shape: body, shadows, range, relative parts',
    outputs: () => ['candle_body', 'candle_upper', 'candle_lower', 'candle_range', 'candle_body_rel', 'candle_upper_rel', 'candle_lower_rel'],
    lookback: () => 0,
    reads: () => OHLC,
    compute: (c) => {
      const r = candleShape(c.open, c.high, c.low, c.close);
      return [r.body, r.upper, r.lower, r.range, r.bodyRel, r.upperRel, r.lowerRel];
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

export function indicatorReads<K extends IndicatorName>(name: K, p: IndicatorParamsMap[K]): string[] {
  return INDICATORS[name].reads(p);
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
