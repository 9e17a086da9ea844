/** Parameters of the `regime` step: which regime model, on which columns, fitted on which rows. */
export interface RegimeParams {
  /**
   * `hmm`: a Gaussian hidden Markov model on `columns` (Baum–Welch); `markov_switching`: a
   * Markov-switching mean/variance model of one column (returns), Hamilton filter, EM;
   * `rules`: volatility percentile bands (first of `columns`) and, with `trend_column`, trend
   * strength above `trend_threshold`.
   * @default "hmm"
   */
  method: 'hmm' | 'markov_switching' | 'rules';
  /**
   * Number of hidden states K (hmm, markov_switching). States are numbered by volatility: 0 is the
   * calmest.
   * @default 2
   * @integer
   * @minimum 1
   * @maximum 16
   */
  states: number;
  /**
   * Feature columns the model reads: hmm any number (e.g. `[ret_1, vol_24]`), markov_switching
   * exactly one (a return), rules one volatility measure (e.g. `vol_24` or `natr_14`).
   * @minItems 1
   */
  columns: string[];
  /**
   * hmm: `diag` (each state's columns independent) or `full` covariance.
   * @default "diag"
   */
  covariance: 'diag' | 'full';
  /**
   * markov_switching: a variance of its own for each regime (false: one variance, switching mean only).
   * @default true
   */
  switching_variance: boolean;
  /**
   * hmm, markov_switching: fit on this share of the rows, from the first (the default is the
   * training share of `split`'s default ratios). The fit window then moves with the data's length:
   * use `fit_until` for a fit that appending rows never changes.
   * @default 0.6
   * @exclusiveMinimum 0
   * @maximum 1
   */
  fit_rows: number;
  /**
   * hmm, markov_switching: fit on the rows before this timestamp (ISO-8601 date or date-time, UTC)
   * instead of `fit_rows`, e.g. the split's `val_start`. Rows from it on are out of sample: their
   * filtered probabilities use rows up to themselves only.
   * @pattern ^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?$
   */
  fit_until?: string;
  /**
   * Seed of the k-means++ initialisation; default the pipeline's seed.
   * @integer
   * @minimum 0
   * @maximum 4294967295
   */
  seed?: number;
  /**
   * EM stops when the log-likelihood gains less than `tol` · (1 + |log-likelihood|) in an iteration.
   * @default 1e-8
   * @exclusiveMinimum 0
   * @maximum 1
   */
  tol: number;
  /**
   * EM iteration cap.
   * @default 500
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  max_iter: number;
  /**
   * Name prefix of the output columns: `regime` gives `regime_p0` … `regime_p{K−1}` (filtered
   * probabilities) and `regime_state` (the most probable state).
   * @default "regime"
   * @pattern ^[A-Za-z][A-Za-z0-9_]*$
   */
  prefix: string;
  /**
   * rules: trailing window (rows) of the volatility percentile.
   * @default 500
   * @integer
   * @minimum 2
   * @maximum 100000
   */
  window: number;
  /**
   * rules: ascending percentile cut points in (0, 1); b of them give b + 1 volatility bands.
   * @default [0.8]
   * @minItems 1
   * @maxItems 8
   */
  vol_thresholds: number[];
  /** rules: a trend-strength column (e.g. `adx_14` from the features step's `adx` indicator). */
  trend_column?: string;
  /**
   * rules: trend strength at or above this is a trending regime.
   * @default 25
   */
  trend_threshold: number;
}
