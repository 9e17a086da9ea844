/** Parameters of the `split` step: how feature rows become train/val/test segments and how they are scaled. */
export interface SplitParams {
  /**
   * How rows are assigned to segments, always leak-free: `temporal` (train, then val, then test, by
   * `ratios` or by `val_start`/`test_start` dates); `walk_forward` (folds of a training window
   * followed by val and test windows, moved forward by `step_bars`); `purged_kfold` (`folds`
   * contiguous test groups, training on the rest, purged and embargoed); `cpcv` (combinatorial purged
   * CV: `groups` groups, every choice of `test_groups` of them as the test rows). A parameter of one
   * method written under another is an error.
   * @default "temporal"
   */
  method: 'temporal' | 'walk_forward' | 'purged_kfold' | 'cpcv';
  /**
   * temporal: shares of the rows for train, val and test, in time order; each above 0, summing to 1.
   * @default [0.6,0.2,0.2]
   * @minItems 3
   * @maxItems 3
   */
  ratios: number[];
  /**
   * temporal: the first timestamp of the val segment (ISO-8601 date or date-time, UTC), instead of
   * `ratios`; give it with `test_start`.
   * @pattern ^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?$
   */
  val_start?: string;
  /**
   * temporal: the first timestamp of the test segment (ISO-8601 date or date-time, UTC), instead of
   * `ratios`; give it with `val_start`.
   * @pattern ^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?$
   */
  test_start?: string;
  /**
   * walk_forward: `expanding` trains each fold on every row before its val window; `rolling` on the
   * last `train_bars` rows only.
   * @default "expanding"
   */
  window: 'expanding' | 'rolling';
  /**
   * walk_forward: training rows of the first fold (expanding) or of every fold (rolling).
   * @integer
   * @minimum 1
   * @maximum 100000000
   */
  train_bars?: number;
  /**
   * walk_forward: validation rows after each training window (0: no validation segment).
   * @default 0
   * @integer
   * @minimum 0
   * @maximum 100000000
   */
  val_bars: number;
  /**
   * walk_forward: test rows after each validation window.
   * @integer
   * @minimum 1
   * @maximum 100000000
   */
  test_bars?: number;
  /**
   * walk_forward: rows the window moves forward between folds; default `test_bars`, so the test
   * windows tile the data.
   * @integer
   * @minimum 1
   * @maximum 100000000
   */
  step_bars?: number;
  /**
   * walk_forward: keep at most this many folds (the most recent).
   * @integer
   * @minimum 1
   * @maximum 10000
   */
  max_folds?: number;
  /**
   * purged_kfold: number of contiguous folds (each the test rows of one fold).
   * @default 5
   * @integer
   * @minimum 2
   * @maximum 1000
   */
  folds: number;
  /**
   * cpcv: number of contiguous groups N.
   * @default 6
   * @integer
   * @minimum 2
   * @maximum 64
   */
  groups: number;
  /**
   * cpcv: test groups per split k; C(N, k) splits form C(N − 1, k − 1) backtest paths.
   * @default 2
   * @integer
   * @minimum 1
   * @maximum 63
   */
  test_groups: number;
  /**
   * purged_kfold, cpcv: bars dropped from training after each evaluation segment (temporal and
   * walk-forward never train after they evaluate, so it is refused there). `auto`: the longest target horizon. A number must
   * be at least that horizon, or the training rows right after a test segment would overlap its
   * label windows.
   * @default "auto"
   * @minimum 0
   * @maximum 100000000
   */
  embargo: 'auto' | number;
  /**
   * Feature scaling fitted on each fold's training rows only: `zscore` (mean 0, population std 1),
   * `robust` (median 0, interquartile range 1), `minmax` (training range → [0, 1]) or `none`.
   * @default "zscore"
   */
  scale: 'zscore' | 'robust' | 'minmax' | 'none';
  /**
   * Compute the drift report: per feature and fold, the Kolmogorov–Smirnov statistic and p-value
   * between the training rows and each evaluation segment (stored with the dataset; headline numbers
   * as metrics).
   * @default true
   */
  drift: boolean;
  /**
   * The leakage probe: recompute the steps that make this split's features (built-in and plugin)
   * from candles truncated at sampled timestamps, and fail if any feature row differs from its
   * full-data row (it read a later bar), naming the step and the column. `auto` runs it when a
   * plugin step is among those steps; `true` always; `false` never (look-ahead is then unchecked).
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
