/** How predictions become positions: the rule `backtest` trades and `predict` signals with. */
export interface SignalRuleParams {
  /**
   * How a prediction becomes a position: `threshold` (long above +entry_threshold, short below −entry_threshold, kept until the prediction crosses exit_threshold), `sign` (the sign of the prediction), `quantile` (long in the top `quantile` of predictions, short in the bottom; the cut-offs are the quantiles of the fold's validation predictions (in `predict`: the newest fold's)). On the forecast distribution (docs/probabilistic.md): `probability` (long when P(return over the horizon > round-trip costs) ≥ `probability`, short when P(return < −costs) ≥ `probability`), `quantile_band` (long when the `band` quantile of the forecast clears the costs, short when the 1 − `band` quantile is below −costs).
   * @default "threshold"
   */
  rule: 'threshold' | 'sign' | 'quantile' | 'probability' | 'quantile_band';
  /**
   * Predicted return needed to enter (rule `threshold`): long when the prediction is above +entry_threshold, short when below −entry_threshold.
   * @default 0
   * @minimum 0
   */
  entry_threshold: number;
  /**
   * Predicted return below which a long is closed (above −exit_threshold for a short), rule `threshold`; at most entry_threshold. Default: entry_threshold (no hysteresis).
   * @minimum 0
   */
  exit_threshold?: number;
  /**
   * Share of predictions traded on each side (rule `quantile`): long above the (1 − quantile) quantile of the fold's validation predictions, short below the `quantile` quantile.
   * @default 0.2
   * @exclusiveMinimum 0
   * @maximum 0.5
   */
  quantile: number;
  /**
   * Probability the forecast must give a move beyond the round-trip costs (rule `probability`).
   * @default 0.6
   * @exclusiveMinimum 0.5
   * @maximum 1
   */
  probability: number;
  /**
   * Quantile level of the forecast that must clear the costs (rule `quantile_band`): long when its `band` quantile is above the costs, short when its 1 − `band` quantile is below −costs.
   * @default 0.1
   * @exclusiveMinimum 0
   * @exclusiveMaximum 0.5
   */
  band: number;
  /**
   * Holding period: `bar` re-decides at every bar; `horizon` keeps a position (a signal, in `predict`) for the target's horizon in bars after the signal that took it, then re-decides.
   * @default "bar"
   */
  holding: 'bar' | 'horizon';
  /** Target whose predictions drive the signal (e.g. fwd_ret_1); default: the model's shortest horizon. */
  target?: string;
}

/** Parameters of the `backtest` step: which predictions are traded, how they become positions and what trading costs. */
export interface BacktestParams extends SignalRuleParams {
  /**
   * Which out-of-sample predictions are traded: the test segment, or the val and test segments; every fold of a walk-forward dataset is stitched into one series in time order.
   * @default ["test"]
   * @minItems 1
   * @maxItems 2
   */
  segments: ('val' | 'test')[];
  /**
   * Position size, fixed when a trade is entered and kept while it lasts: `fixed` units of account equity, or `vol_target` (target annual volatility / forecast volatility).
   * @default {"fixed":{"units":1}}
   */
  sizing: SizingParams;
  /**
   * Largest position, in units of account equity (notional / account size). Default: no cap.
   * @exclusiveMinimum 0
   */
  max_leverage?: number;
  /**
   * Trading costs.
   * @default {"spread_pips":0,"commission_per_million":0,"commission_per_lot":0,"slippage_pips":0}
   */
  costs: CostParams;
  /**
   * Pip size; default: the candles' (0.0001, 0.01 for JPY pairs).
   * @exclusiveMinimum 0
   */
  pip?: number;
  /**
   * Account size in the quote currency, for the PnL in account currency.
   * @default 100000
   * @exclusiveMinimum 0
   */
  account_size: number;
  /**
   * A regime column of the dataset's features (e.g. `regime_state` from a `regime` step): the
   * metrics of the bars in each regime (the state at each signal) are added as
   * `regime_<k>_sharpe`, `_hit_rate`, `_exposure`, `_trades`, `_bars`, `_total_return`.
   */
  by_regime?: string;
}

/** A position sizing rule. */
export type SizingParams = { fixed: FixedSizing } | { vol_target: VolTargetSizing } | { kelly: KellySizing } | { forecast_vol: ForecastVolSizing };

/**
 * Kelly sizing from the forecast distribution: fraction × edge / variance, the edge being the
 * forecast's centre in the trade's direction less the round-trip costs and the variance the
 * forecast's (both over the target's horizon, log returns); a trade with no edge is not taken.
 */
export interface KellySizing {
  /**
   * Share of the full Kelly size taken (full Kelly is too aggressive when the forecast is estimated).
   * @default 0.5
   * @exclusiveMinimum 0
   * @maximum 1
   */
  fraction: number;
  /**
   * Largest position, in units of account equity.
   * @default 1
   * @exclusiveMinimum 0
   */
  cap: number;
}

/** Inverse-volatility sizing from the forecast distribution: annual_vol / (forecast sd per bar × √bars per year), the sd per bar being the horizon's sd / √horizon. */
export interface ForecastVolSizing {
  /**
   * Target annualised volatility of the position, e.g. 0.1 for 10%.
   * @default 0.1
   * @exclusiveMinimum 0
   */
  annual_vol: number;
}

/** Fixed-size positions. */
export interface FixedSizing {
  /**
   * Position size in units of account equity (1 = a notional equal to the account).
   * @default 1
   * @exclusiveMinimum 0
   */
  units: number;
}

/** Volatility-targeted positions: size = annual_vol / (forecast per-bar volatility × √bars per year), known at the signal's close. */
export interface VolTargetSizing {
  /**
   * Target annualised volatility of the position, e.g. 0.1 for 10%.
   * @default 0.1
   * @exclusiveMinimum 0
   */
  annual_vol: number;
  /**
   * Volatility forecast: `std` (sample std of the last `window` close-to-close log returns) or `atr` (ATR over `window` bars / close).
   * @default "std"
   */
  estimator: 'std' | 'atr';
  /**
   * Bars in the volatility window.
   * @default 20
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  window: number;
}

/** Trading costs of the simulation, in FX units. */
export interface CostParams {
  /**
   * Bid-ask spread in pips; each fill pays half of it, so a round trip (entry and exit) costs one full spread.
   * @default 0
   * @minimum 0
   */
  spread_pips: number;
  /** A column of the candles holding each bar's spread in pips; used instead of spread_pips, at the fill bar. */
  spread_column?: string;
  /**
   * Commission per side, in account currency per million of notional traded.
   * @default 0
   * @minimum 0
   */
  commission_per_million: number;
  /**
   * Commission per side, in account (quote) currency per standard lot (100,000 units of the base currency) traded.
   * @default 0
   * @minimum 0
   */
  commission_per_lot: number;
  /**
   * Slippage per fill, in pips, against the trade.
   * @default 0
   * @minimum 0
   */
  slippage_pips: number;
  /** Overnight financing (swap/rollover) of positions held through 17:00 New York; reported as its own line, `financing`. */
  swap?: SwapParams;
}

/** Swap rates: what a position earns (positive) or pays (negative) per night, as brokers quote them. */
export interface SwapParams {
  /**
   * Swap of a long position per night, per unit of base currency held, in `unit` (MetaTrader's sign: negative is charged).
   * @default 0
   */
  long: number;
  /**
   * Swap of a short position per night, in `unit`.
   * @default 0
   */
  short: number;
  /** A column of the candles with each bar's long swap rate (in `unit`), used instead of `long`. */
  long_column?: string;
  /** A column of the candles with each bar's short swap rate, used instead of `short`. */
  short_column?: string;
  /**
   * `points` (MetaTrader's: price steps of `point`), `pips`, or `annual_pct` (% a year of the position's notional, on a `day_count`-day year).
   * @default "points"
   */
  unit: 'points' | 'pips' | 'annual_pct';
  /**
   * Price of one point; default: a tenth of the pip (5-digit quotes).
   * @exclusiveMinimum 0
   */
  point?: number;
  /**
   * The day whose rollover counts three nights (spot settles T+2, so it carries the weekend).
   * @default "wednesday"
   */
  triple_day: 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday';
  /**
   * Days a year for `annual_pct`: 360 (USD, EUR, JPY, CHF money markets) or 365 (GBP, AUD, NZD, CAD…).
   * @default 360
   */
  day_count: 360 | 365;
}
