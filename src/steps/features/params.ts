import type { PriceSource } from '../../indicators/price.js';

/** Parameters of the `features` step: indicator features, lagged returns and forward-return targets. */
export interface FeaturesParams {
  /**
   * Indicators to compute, each a one-key map such as `rsi: { period: 14 }`; columns are named like `rsi_14`, `ema_20_hl2`.
   * @default [{"rsi":{"period":14}}]
   */
  indicators: IndicatorSpec[];
  /**
   * Lags in bars of the backward log-return features ln(close[t]/close[t-lag]), named `ret_<lag>`.
   * @default [1]
   * @integer
   * @minimum 1
   */
  returns: number[];
  /**
   * What the models predict; target columns are never features.
   * @default {"forward_return":{"horizons":[1]}}
   */
  target: TargetSpec;
}

/** One indicator: its name as the only key, its params as the value. */
export type IndicatorSpec = { rsi: RsiParams } | { ema: EmaParams } | { macd: MacdParams };

/** Wilder's relative strength index (TA-Lib RSI). */
export interface RsiParams {
  /**
   * Smoothing period in bars.
   * @default 14
   * @integer
   * @minimum 2
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** Exponential moving average seeded with a simple average (TA-Lib EMA). */
export interface EmaParams {
  /**
   * Period in bars (k = 2 / (period + 1)).
   * @default 20
   * @integer
   * @minimum 2
   */
  period: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** MACD line, signal line and histogram (TA-Lib MACD). */
export interface MacdParams {
  /**
   * Period of the fast EMA in bars; must be below `slow`.
   * @default 12
   * @integer
   * @minimum 2
   */
  fast: number;
  /**
   * Period of the slow EMA in bars.
   * @default 26
   * @integer
   * @minimum 2
   */
  slow: number;
  /**
   * Period of the signal EMA of the MACD line in bars (TA-Lib allows 1).
   * @default 9
   * @integer
   * @minimum 1
   */
  signal: number;
  /**
   * Price the indicator reads: a candle column or hl2, hlc3, ohlc4.
   * @default "close"
   */
  on: PriceSource;
}

/** The prediction target. */
export interface TargetSpec {
  /** Forward log returns ln(close[t+h]/close[t]), named `fwd_ret_<h>`. */
  forward_return: ForwardReturnTarget;
}

/** Forward-return targets. */
export interface ForwardReturnTarget {
  /**
   * Horizons h in bars, one target column each.
   * @integer
   * @minimum 1
   * @minItems 1
   */
  horizons: number[];
}
