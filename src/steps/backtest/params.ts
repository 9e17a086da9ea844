/** Parameters of the `backtest` step: how predictions become positions and what trading costs. */
export interface BacktestParams {
  /**
   * Predicted return needed to trade: long when the prediction is above +threshold, short when below −threshold, else flat.
   * @default 0
   * @minimum 0
   */
  entry_threshold: number;
  /** Target whose predictions drive the signal (e.g. fwd_ret_1); default: the model's shortest horizon. */
  target?: string;
  /**
   * Which out-of-sample predictions are traded.
   * @default "test"
   */
  segment: 'test' | 'val';
  /**
   * Trading costs.
   * @default {"spread_pips":0}
   */
  costs: CostParams;
}

/** Trading costs of the simulation. */
export interface CostParams {
  /**
   * Bid-ask spread in pips; each fill pays half of it, so a round trip (entry and exit) costs one full spread.
   * @default 0
   * @minimum 0
   */
  spread_pips: number;
}
