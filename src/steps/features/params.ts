import type * as P from '../../indicators/params.js';

export type { TimeframeSpec } from '../../indicators/params.js';

/**
 * Parameters of the `features` step: indicator features (optionally on higher timeframes), lagged
 * returns, volatility, z-scores, calendar and FX-session features, and the prediction targets.
 */
export interface FeaturesParams {
  /**
   * A ready-made feature set added before `indicators`: `default` (a sensible mix of trend, momentum,
   * volatility and volume indicators, calendar and session flags) or `alpha158` (Qlib's Alpha158
   * operators adapted to candles, windows 5, 10, 20, 30, 60: 157 of Qlib's 158 columns, VWAP0 needs a VWAP).
   * A preset gives its own columns only: the `indicators` and `returns` defaults are not added. Columns you also list are produced once.
   */
  preset?: 'default' | 'alpha158';
  /**
   * Indicators to compute, each a one-key map such as `rsi: { period: 14 }`; columns are named like `rsi_14`, `ema_20_hl2`, `rsi_14@1h`.
   * Default: `[{ rsi: { period: 14 } }]` without a preset, none with one.
   */
  indicators?: IndicatorSpec[];
  /**
   * Lags in bars of the backward log-return features ln(close[t]/close[t-lag]), named `ret_<lag>`.
   * Default: `[1]` without a preset, none with one.
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  returns?: number[];
  /**
   * Windows in bars of rolling volatility: the sample standard deviation of 1-bar log returns over the window, named `vol_<w>`.
   * @default []
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  volatility: number[];
  /**
   * Windows in bars of z-scores of the close against its rolling mean and (population) standard deviation, named `zscore_<w>`.
   * @default []
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  zscores: number[];
  /**
   * Calendar features of each bar's open time (UTC): `hour_sin`, `hour_cos` (hour of day with minutes), `dow_sin`, `dow_cos` (day of week).
   * @default false
   */
  calendar: boolean;
  /**
   * FX session flags (1/0) of each bar's open time: `session_tokyo` (00–09 UTC), `session_london` (08–17 London time), `session_newyork` (08–17 New York time), and the overlaps `overlap_tokyo_london`, `overlap_london_newyork`.
   * @default false
   */
  sessions: boolean;
  /**
   * What the models predict; target columns are never features.
   * @default {"forward_return":{"horizons":[1]}}
   */
  target: TargetSpec;
}

/** One indicator: its name as the only key, its params as the value. */
export type IndicatorSpec =
  | { rsi: P.RsiParams }
  | { ema: P.EmaParams }
  | { sma: P.SmaParams }
  | { wma: P.WmaParams }
  | { dema: P.DemaParams }
  | { tema: P.TemaParams }
  | { trima: P.TrimaParams }
  | { kama: P.KamaParams }
  | { t3: P.T3Params }
  | { macd: P.MacdParams }
  | { ppo: P.PpoParams }
  | { apo: P.ApoParams }
  | { mom: P.MomParams }
  | { roc: P.RocParams }
  | { cmo: P.CmoParams }
  | { trix: P.TrixParams }
  | { stoch: P.StochParams }
  | { stochf: P.StochfParams }
  | { stochrsi: P.StochrsiParams }
  | { willr: P.WillrParams }
  | { cci: P.CciParams }
  | { adx: P.AdxParams }
  | { adxr: P.AdxrParams }
  | { dx: P.DxParams }
  | { plus_di: P.PlusDiParams }
  | { minus_di: P.MinusDiParams }
  | { aroon: P.AroonParams }
  | { aroonosc: P.AroonoscParams }
  | { ultosc: P.UltoscParams }
  | { bop: P.BopParams }
  | { mfi: P.MfiParams }
  | { obv: P.ObvParams }
  | { ad: P.AdParams }
  | { adosc: P.AdoscParams }
  | { atr: P.AtrParams }
  | { natr: P.NatrParams }
  | { trange: P.TrangeParams }
  | { bbands: P.BbandsParams }
  | { stddev: P.StddevParams }
  | { var: P.VarParams }
  | { linearreg: P.LinearregParams }
  | { sar: P.SarParams }
  | { candle: P.CandleParams };

/** The prediction targets; any combination. */
export interface TargetSpec {
  /** Forward log returns ln(close[t+h]/close[t]), named `fwd_ret_<h>`. */
  forward_return?: ForwardReturnTarget;
  /** Direction classes of the forward log return: 1 up, −1 down, 0 inside the dead zone; named `dir_<h>`. */
  direction?: DirectionTarget;
  /** Triple-barrier labels (López de Prado): 1 profit-take hit first, −1 stop-loss first, 0 time limit; named `tb_<pt>_<sl>_<bars>`. */
  triple_barrier?: TripleBarrierTarget;
}

/** Forward-return targets. */
export interface ForwardReturnTarget {
  /**
   * Horizons h in bars, one target column each.
   * @integer
   * @minimum 1
   * @maximum 100000
   * @minItems 1
   */
  horizons: number[];
}

/** Direction-class targets. */
export interface DirectionTarget {
  /**
   * Horizons h in bars, one target column each.
   * @integer
   * @minimum 1
   * @maximum 100000
   * @minItems 1
   */
  horizons: number[];
  /**
   * Half-width of the dead zone in log-return units: |ln(close[t+h]/close[t])| ≤ dead_zone is class 0.
   * @default 0.0001
   * @minimum 0
   */
  dead_zone: number;
}

/** Triple-barrier labels with barriers as ATR multiples. */
export interface TripleBarrierTarget {
  /**
   * Profit-take barrier above the entry close, in ATR multiples.
   * @default 2
   * @exclusiveMinimum 0
   */
  profit_take: number;
  /**
   * Stop-loss barrier below the entry close, in ATR multiples.
   * @default 1
   * @exclusiveMinimum 0
   */
  stop_loss: number;
  /**
   * Time limit (vertical barrier) in bars.
   * @default 24
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  max_bars: number;
  /**
   * Period of the ATR (TA-Lib ATR at the entry bar) that scales the barriers.
   * @default 14
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  atr_period: number;
}
