import type { CostParams, SignalRuleParams, SizingParams } from '../backtest/params.js';

/**
 * Parameters of the `predict` step: the trading rule whose signal is given with each prediction,
 * and which bars are predicted. The features are recomputed exactly as the model's features step
 * made them (its params are filled in from the pipeline).
 */
export interface PredictParams extends SignalRuleParams {
  /** First bar to predict (UTC, inclusive), e.g. 2020-06-01; earlier bars still feed the warm-up. */
  from?: string;
  /** Predict bars opening before this instant (UTC, exclusive). */
  to?: string;
  /**
   * Predict only the newest N bars (of those in `from`/`to`).
   * @integer
   * @minimum 1
   * @maximum 100000000
   */
  last?: number;
  /**
   * Trading costs, as the backtest's: rules `probability` and `quantile_band` enter only when the forecast clears their round trip. Default: none.
   */
  costs?: CostParams;
  /**
   * Pip size of the costs; default: the candles' (0.0001, 0.01 for JPY pairs).
   * @exclusiveMinimum 0
   */
  pip?: number;
  /**
   * Position sizing, as the backtest's (`kelly`, `forecast_vol`, `vol_target`): each bar then gets the size the backtest would hold, `size` (a `fixed` size is not repeated per bar).
   */
  sizing?: SizingParams;
  /**
   * Largest size, in units of account equity. Default: no cap.
   * @exclusiveMinimum 0
   */
  max_leverage?: number;
  /**
   * The params of the features step the model was trained on: filled in from the pipeline (the features step upstream of `model`); not written by hand.
   */
  features?: Record<string, unknown>;
}
