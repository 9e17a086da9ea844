/**
 * Parameters of every indicator, as users write them in a pipeline (`- rsi: { period: 14 }`). The
 * JSON Schema is generated from these interfaces (`npm run schema`): JSDoc text becomes the
 * description, tags the bounds and defaults. Defaults are TA-Lib's own (EMA keeps fxflow's 20).
 */
import type { MaType } from './momentum.js';
import type { PriceSource } from './price.js';

export type { MaType } from './momentum.js';

/**
 * Timeframes to compute an indicator on: a list (`[15m, 1h]`), a comma string (`"15m, 1h"`), or a
 * mapping from timeframe to on/off (`{ 1h: true, 4h: false }`, handy with `${vars.x}`).
 */
export type TimeframeSpec = string | string[] | Record<string, boolean>;

/** Options every indicator accepts. */
export interface IndicatorCommon {
  /**
   * Timeframes to compute the indicator on, each a multiple of the candles' timeframe (the candles'
   * own timeframe gives the plain column, others `<column>@<tf>`, e.g. `rsi_14@1h`): a list, a comma
   * string or a mapping timeframe → true/false. A higher-timeframe value joined to a bar is that of
   * the last higher-timeframe bar closed by the bar's close. Default: the candles' timeframe only.
   */
  timeframes?: TimeframeSpec;
}

/** Wilder's relative strength index (TA-Lib RSI). Column `rsi_<period>`. */
export interface RsiParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Exponential moving average seeded with an SMA (TA-Lib EMA). Column `ema_<period>`. */
export interface EmaParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 20
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Simple moving average (TA-Lib SMA). Column `sma_<period>`. */
export interface SmaParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 30
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Linearly weighted moving average (TA-Lib WMA). Column `wma_<period>`. */
export interface WmaParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 30
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Double exponential moving average (TA-Lib DEMA). Column `dema_<period>`. */
export interface DemaParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 30
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Triple exponential moving average (TA-Lib TEMA). Column `tema_<period>`. */
export interface TemaParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 30
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Triangular moving average (TA-Lib TRIMA). Column `trima_<period>`. */
export interface TrimaParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 30
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Kaufman adaptive moving average (TA-Lib KAMA). Column `kama_<period>`. */
export interface KamaParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 30
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Tillson T3 moving average (TA-Lib T3). Column `t3_<period>_<vfactor>`. */
export interface T3Params extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 5
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Volume factor a of the T3 coefficients.
   * @default 0.7
   * @minimum 0
   */
  vfactor: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** MACD line, signal line and histogram (TA-Lib MACD). Columns `macd_<f>_<s>_<sig>`, `macd_signal_…`, `macd_hist_…`. */
export interface MacdParams extends IndicatorCommon {
  /**
   * Period of the fast EMA in bars; must be below `slow`.
   * @default 12
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  fast: number;
  /**
   * Period of the slow EMA in bars.
   * @default 26
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  slow: number;
  /**
   * Period of the signal EMA of the MACD line in bars (TA-Lib allows 1).
   * @default 9
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  signal: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Percentage price oscillator (TA-Lib PPO): (fast MA − slow MA)/slow MA·100. Column `ppo_<fast>_<slow>`. */
export interface PpoParams extends IndicatorCommon {
  /**
   * Period of the fast MA in bars; must be below `slow`.
   * @default 12
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  fast: number;
  /**
   * Period of the slow MA in bars.
   * @default 26
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  slow: number;
  /**
   * Moving-average type (TA-Lib's default is sma).
   * @default "sma"
   */
  ma: MaType;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Absolute price oscillator (TA-Lib APO): fast MA − slow MA. Column `apo_<fast>_<slow>`. */
export interface ApoParams extends IndicatorCommon {
  /**
   * Period of the fast MA in bars; must be below `slow`.
   * @default 12
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  fast: number;
  /**
   * Period of the slow MA in bars.
   * @default 26
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  slow: number;
  /**
   * Moving-average type (TA-Lib's default is sma).
   * @default "sma"
   */
  ma: MaType;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Momentum x[t] − x[t−period] (TA-Lib MOM). Column `mom_<period>`. */
export interface MomParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 10
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Rate of change in percent (TA-Lib ROC). Column `roc_<period>`. */
export interface RocParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 10
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Chande momentum oscillator (TA-Lib CMO). Column `cmo_<period>`. */
export interface CmoParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** 1-bar rate of change of a triple EMA (TA-Lib TRIX). Column `trix_<period>`. */
export interface TrixParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 30
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Slow stochastic %K and %D (TA-Lib STOCH). Columns `stoch_k_<fastk>_<slowk>_<slowd>`, `stoch_d_…`. */
export interface StochParams extends IndicatorCommon {
  /**
   * Bars of the raw %K window.
   * @default 5
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  fastk: number;
  /**
   * Smoothing period of slow %K.
   * @default 3
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  slowk: number;
  /**
   * Smoothing period of slow %D.
   * @default 3
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  slowd: number;
  /**
   * Moving-average type (TA-Lib's default is sma).
   * @default "sma"
   */
  ma: MaType;
}

/** Fast stochastic %K and %D (TA-Lib STOCHF). Columns `stochf_k_<fastk>_<fastd>`, `stochf_d_…`. */
export interface StochfParams extends IndicatorCommon {
  /**
   * Bars of the %K window.
   * @default 5
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  fastk: number;
  /**
   * Smoothing period of %D.
   * @default 3
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  fastd: number;
  /**
   * Moving-average type (TA-Lib's default is sma).
   * @default "sma"
   */
  ma: MaType;
}

/** Stochastic RSI (TA-Lib STOCHRSI). Columns `stochrsi_k_<period>_<fastk>_<fastd>`, `stochrsi_d_…`. */
export interface StochrsiParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Bars of the %K window over the RSI.
   * @default 5
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  fastk: number;
  /**
   * Smoothing period of %D.
   * @default 3
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  fastd: number;
  /**
   * Moving-average type (TA-Lib's default is sma).
   * @default "sma"
   */
  ma: MaType;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Williams %R (TA-Lib WILLR). Column `willr_<period>`. */
export interface WillrParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** Commodity channel index (TA-Lib CCI). Column `cci_<period>`. */
export interface CciParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** Average directional index (TA-Lib ADX). Column `adx_<period>`. */
export interface AdxParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** Average directional index rating (TA-Lib ADXR). Column `adxr_<period>`. */
export interface AdxrParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** Directional movement index (TA-Lib DX). Column `dx_<period>`. */
export interface DxParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** Plus directional indicator (TA-Lib PLUS_DI). Column `plus_di_<period>`. */
export interface PlusDiParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** Minus directional indicator (TA-Lib MINUS_DI). Column `minus_di_<period>`. */
export interface MinusDiParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** Aroon up and down (TA-Lib AROON). Columns `aroon_up_<period>`, `aroon_down_<period>`. */
export interface AroonParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** Aroon oscillator (TA-Lib AROONOSC). Column `aroonosc_<period>`. */
export interface AroonoscParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** Ultimate oscillator (TA-Lib ULTOSC). Column `ultosc_<p1>_<p2>_<p3>`. */
export interface UltoscParams extends IndicatorCommon {
  /**
   * First (usually shortest) period.
   * @default 7
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  period1: number;
  /**
   * Second period.
   * @default 14
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  period2: number;
  /**
   * Third (usually longest) period.
   * @default 28
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  period3: number;
}

/** Balance of power (TA-Lib BOP). Column `bop`. */
export interface BopParams extends IndicatorCommon {}

/** Money flow index (TA-Lib MFI); needs volume. Column `mfi_<period>`. */
export interface MfiParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** On-balance volume (TA-Lib OBV); needs volume. Column `obv`. */
export interface ObvParams extends IndicatorCommon {
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Chaikin accumulation/distribution line (TA-Lib AD); needs volume. Column `ad`. */
export interface AdParams extends IndicatorCommon {}

/** Chaikin A/D oscillator (TA-Lib ADOSC); needs volume. Column `adosc_<fast>_<slow>`. */
export interface AdoscParams extends IndicatorCommon {
  /**
   * Period of the fast EMA of the A/D line.
   * @default 3
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  fast: number;
  /**
   * Period of the slow EMA of the A/D line.
   * @default 10
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  slow: number;
}

/** Average true range (TA-Lib ATR). Column `atr_<period>`. */
export interface AtrParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  period: number;
}

/** Normalised average true range in percent of close (TA-Lib NATR). Column `natr_<period>`. */
export interface NatrParams extends IndicatorCommon {
  /**
   * Period in bars, at least 2: TA-Lib's NATR with period 1 returns the true range in price units, not in percent of close; for that use `trange`.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
}

/** True range (TA-Lib TRANGE). Column `trange`. */
export interface TrangeParams extends IndicatorCommon {}

/** Bollinger bands (TA-Lib BBANDS). Columns `bb_upper_<period>_<dev>`, `bb_middle_…`, `bb_lower_…`. */
export interface BbandsParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 5
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Standard deviations above the middle band.
   * @default 2
   * @minimum 0
   */
  nbdev_up: number;
  /**
   * Standard deviations below the middle band.
   * @default 2
   * @minimum 0
   */
  nbdev_dn: number;
  /**
   * Moving-average type (TA-Lib's default is sma).
   * @default "sma"
   */
  ma: MaType;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Rolling population standard deviation times nbdev (TA-Lib STDDEV). Column `stddev_<period>` (`stddev_<period>_<nbdev>` when nbdev ≠ 1). */
export interface StddevParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 5
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Multiplier of the standard deviation.
   * @default 1
   * @minimum 0
   */
  nbdev: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Rolling population variance (TA-Lib VAR). Column `var_<period>`. */
export interface VarParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 5
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Linear regression over the window (TA-Lib LINEARREG, _SLOPE, _ANGLE, _INTERCEPT). Columns `linearreg_<period>`, `linearreg_slope_…`, `linearreg_angle_…`, `linearreg_intercept_…`. */
export interface LinearregParams extends IndicatorCommon {
  /**
   * Period in bars.
   * @default 14
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Parabolic SAR (TA-Lib SAR). Column `sar_<acceleration>_<maximum>`. */
export interface SarParams extends IndicatorCommon {
  /**
   * Acceleration factor step (and start).
   * @default 0.02
   * @minimum 0
   */
  acceleration: number;
  /**
   * Acceleration factor maximum.
   * @default 0.2
   * @minimum 0
   */
  maximum: number;
}

/** Candle shape: body, upper/lower shadow, range, and each relative to the range. Columns `candle_body`, `candle_upper`, `candle_lower`, `candle_range`, `candle_body_rel`, `candle_upper_rel`, `candle_lower_rel`. */
export interface CandleParams extends IndicatorCommon {}
