/**
 * Parameters of the `predict` step: the trading rule whose signal is given with each prediction,
 * and which bars are predicted. The features are recomputed exactly as the model's features step
 * made them (its params are filled in from the pipeline).
 */
export interface PredictParams {
  /**
   * How a prediction becomes a signal, as in `backtest`: `threshold` (long above +entry_threshold, short below −entry_threshold, kept until the prediction crosses exit_threshold), `sign`, or `quantile` (long in the top `quantile`, short in the bottom, cut-offs from the newest fold's validation predictions).
   * @default "threshold"
   */
  rule: 'threshold' | 'sign' | 'quantile';
  /**
   * Predicted return needed to enter (rule `threshold`).
   * @default 0
   * @minimum 0
   */
  entry_threshold: number;
  /**
   * Predicted return below which a long is closed (above −exit_threshold for a short), rule `threshold`; at most entry_threshold. Default: entry_threshold.
   * @minimum 0
   */
  exit_threshold?: number;
  /**
   * Share of predictions taken on each side (rule `quantile`).
   * @default 0.2
   * @exclusiveMinimum 0
   * @maximum 0.5
   */
  quantile: number;
  /**
   * `bar` re-decides at every bar; `horizon` keeps a signal for the target's horizon in bars, as `backtest` does.
   * @default "bar"
   */
  holding: 'bar' | 'horizon';
  /** Target whose predictions drive the signal; default: the model's shortest horizon. */
  target?: string;
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
   * The params of the features step the model was trained on: filled in from the pipeline (the features step upstream of `model`); not written by hand.
   */
  features?: Record<string, unknown>;
}
