import type { BacktestParams } from '../backtest/params.js';
import type { TrainParams } from '../train/params.js';

/**
 * Parameters of the `replay` step: the model refitted (a `train` step's params), when and on which
 * rows it is refitted (`retrain:`), and how its predictions are traded (a `backtest` step's params).
 */
export interface ReplayParams {
  /**
   * The model fitted at every retrain, written as a `train` step's `with:` (`model:` and that kind's
   * params). Tabular kinds; `online:` and `by_regime` are the train step's and are refused here.
   */
  train: TrainParams;
  /** When to retrain and on which rows. */
  retrain: RetrainParams;
  /**
   * How the replayed predictions are traded, written as a `backtest` step's `with:` (rule, sizing,
   * costs, …): the backtest's own code trades them. `segments` does not apply (every replayed row is traded).
   * @default {}
   */
  backtest: BacktestParams;
  /**
   * Feature scaling refitted on each retrain's training rows, as the split step's `scale`.
   * @default "zscore"
   */
  scale: 'zscore' | 'robust' | 'minmax' | 'none';
  /**
   * The leakage probe over the steps that make the features, as the split step's `probe`: `auto`
   * runs it when a plugin step makes them.
   * @default "auto"
   */
  probe: 'auto' | boolean;
  /**
   * Timestamps the probe samples.
   * @default 20
   * @integer
   * @minimum 1
   * @maximum 10000
   */
  probe_samples: number;
}

/** The retraining policy. */
export interface RetrainParams {
  /**
   * The schedule: `1w` (the first bar of every FX week, which opens Sunday 17:00 New York), `2w`,
   * `1d` (the FX day turns at 17:00 New York), or a bar count such as `500 bars`. The first model
   * is fitted at the first replayed bar whatever the schedule.
   * @default "1w"
   */
  every: string;
  /**
   * `expanding` fits on every row before the validation rows; `rolling` on the last `train_bars` only.
   * @default "expanding"
   */
  window: 'expanding' | 'rolling';
  /**
   * Training rows of the first window (expanding) or of every window (rolling), the `horizon` rows
   * purged at its end included, as the split's walk_forward `train_bars`.
   * @integer
   * @minimum 2
   * @maximum 100000000
   */
  train_bars: number;
  /**
   * Validation rows after each training window (early stopping; the rows a challenger is judged on).
   * @default 0
   * @integer
   * @minimum 0
   * @maximum 100000000
   */
  val_bars: number;
  /** Replay from this date (UTC; ISO-8601), or from the first row with a full training window if that is later. Default: that row. */
  start?: string;
  /** Replay the bars before this date (UTC; ISO-8601, exclusive). Default: to the last bar. */
  end?: string;
  /**
   * Triggers are evaluated every this many rows (scheduled retrains happen on their row).
   * @default 24
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  check_every: number;
  /**
   * Rows after any retrain before a trigger may ask for another.
   * @default 24
   * @integer
   * @minimum 0
   * @maximum 100000000
   */
  cooldown: number;
  /** Retrain when the features drift from the champion's training rows. */
  drift?: DriftParams;
  /** Retrain when the champion's forecast decays. */
  decay?: DecayParams;
  /** Retrain when the regime changes (a `regime` step's state column). */
  regime?: RegimeTriggerParams;
  /** Judge every retrained model against the champion before it replaces it. */
  challenger?: ChallengerParams;
}

/** Feature drift: PSI and KS of the last `window` rows against the champion's training rows. */
export interface DriftParams {
  /**
   * Live rows compared (the last rows up to the current bar).
   * @default 500
   * @integer
   * @minimum 10
   * @maximum 10000000
   */
  window: number;
  /**
   * Fire when the population stability index exceeds this (0.25: a large shift by the usual rule of thumb).
   * @minimum 0
   */
  psi?: number;
  /**
   * Fire when the two-sample Kolmogorov–Smirnov statistic exceeds this.
   * @minimum 0
   * @maximum 1
   */
  ks?: number;
  /**
   * `any`: one feature over a threshold fires (thresholds per feature); `mean`: the mean over the features must exceed it (pooled).
   * @default "any"
   */
  pool: 'any' | 'mean';
  /**
   * Quantile bins of the PSI (of the training rows).
   * @default 10
   * @integer
   * @minimum 2
   * @maximum 1000
   */
  bins: number;
  /** Features watched (default: all). */
  features?: string[];
}

/** Performance decay: the champion's score over its last `window` rows whose targets are known. */
export interface DecayParams {
  /**
   * `ic` (Spearman rank correlation), `da` (directional accuracy), `sharpe` (annualised, of trading the sign, no costs).
   * @default "ic"
   */
  metric: 'ic' | 'da' | 'sharpe';
  /**
   * Rows scored.
   * @default 500
   * @integer
   * @minimum 10
   * @maximum 10000000
   */
  window: number;
  /** Fire when the score is below this. */
  below: number;
}

/** A regime change: the state column differs from its value at the last retrain for `persist` rows in a row. */
export interface RegimeTriggerParams {
  /** The regime state feature, e.g. `regime_state`. */
  column: string;
  /**
   * Rows the new state must hold.
   * @default 24
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  persist: number;
}

/** Champion/challenger: a retrained model replaces the champion only if it scores better by `margin`. */
export interface ChallengerParams {
  /**
   * Score on the retrain's validation rows (which neither model was fitted on): `ic`, `da`, `rmse` or `sharpe`.
   * @default "ic"
   */
  metric: 'ic' | 'da' | 'rmse' | 'sharpe';
  /**
   * How much better the challenger must score (RMSE: lower by).
   * @default 0
   * @minimum 0
   */
  margin: number;
  /**
   * Rows a winning challenger predicts beside the champion (which still trades) before it is judged
   * again on them and promoted only if it wins again; 0: promoted at once.
   * @default 0
   * @integer
   * @minimum 0
   * @maximum 10000000
   */
  shadow: number;
}
