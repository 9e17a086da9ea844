/**
 * The named artifact types that flow along the DAG's edges. The compiler checks every edge against
 * these names before anything runs; the store serialises any of them (plain JSON plus typed arrays)
 * without per-type code.
 *
 * Conventions: time is UTC epoch milliseconds in a Float64Array; a bar's timestamp is its open time
 * and its values are known only after it closes. Columns are Float64Array; NaN marks "no value".
 */

/** Names of artifact types, as written in a step's `inputs`/`output`. */
export type ArtifactType = 'Candles' | 'Features' | 'Dataset' | 'Model' | 'Report' | 'Predictions';

export const ARTIFACT_TYPES: readonly ArtifactType[] = ['Candles', 'Features', 'Dataset', 'Model', 'Report', 'Predictions'];

/** A time index plus named columns of equal length. */
export interface Frame {
  /** UTC epoch ms of each row (a bar's open time), strictly increasing. */
  index: Float64Array;
  columns: Record<string, Float64Array>;
}

/** A counted data-quality finding of a fetch, e.g. `{ kind: 'zero_rows', count: 63, action: 'drop' }`. */
export interface QualityNote {
  kind: string;
  count: number;
  action: string;
  /** A readable detail, e.g. the first offending row. */
  detail?: string;
}

export interface Candles extends Frame {
  type: 'Candles';
  symbol: string;
  /** Canonical timeframe string, e.g. `1h`. */
  timeframe: string;
  /** Where the bars came from, e.g. `csv:EURUSD_H1.csv` or `synthetic(seed=42)`. */
  source: string;
  /** Pip size of the symbol (0.0001; 0.01 for JPY pairs). */
  pip: number;
  quality: QualityNote[];
  // columns has open, high, low, close, volume.
}

export interface Features extends Frame {
  type: 'Features';
  symbol: string;
  timeframe: string;
  /** Columns that are model inputs, in order. */
  featureNames: string[];
  /** Columns that are targets (never features), in order, e.g. `fwd_ret_1`. */
  targetNames: string[];
  /** Forward horizon in bars of each target, parallel to targetNames. */
  targetHorizons: number[];
  /** Rows dropped at the start because some feature was still warming up (NaN). */
  warmupDropped: number;
  /** Rows dropped at the end because a forward target is not known yet. */
  tailDropped: number;
  /**
   * Columns whose rows before `until` come from a model fitted on those rows (a `regime` step's
   * fit window), so they depend on every row of the window, as a scaler fitted on training rows
   * does; rows from `until` on depend on rows ≤ themselves only. The leakage probe checks these
   * columns from `until` on.
   */
  inSample?: InSampleColumns[];
  /** What each `regime` step on the way fitted, in pipeline order. */
  regimes?: RegimeInfo[];
}

/** Columns fitted in-sample before a timestamp (see Features.inSample). */
export interface InSampleColumns {
  columns: string[];
  /** UTC epoch ms of the first row after the fit window. */
  until: number;
}

/** A fitted regime model (src/regimes), as the summary, metrics and report read it. */
export interface RegimeInfo {
  /** `hmm`, `markov_switching` or `rules`. */
  method: string;
  /** The columns it was fitted on, in order. */
  columns: string[];
  /** Its output columns: the probabilities of states 0…K−1, then the state. */
  outputs: string[];
  states: number;
  /** Row-major K × K, P[i·K + j] = Pr(state j at t | state i at t − 1) (rules: counted over all rows). */
  transition: number[];
  /** Per state, per column (K × d); rules: empty. */
  means: number[];
  /** Per state, per column (K × d, the covariance's diagonal); rules: empty. */
  variances: number[];
  /** Log-likelihood of the fitted rows (NaN for rules). */
  logLik: number;
  iterations: number;
  converged: boolean;
  /** Rows fitted, and the timestamps of the first and last. */
  fitRows: number;
  fitFrom: number;
  fitTo: number;
  /** Share of all rows in each state (by the most probable state). */
  share: number[];
}

export type SegmentName = 'train' | 'val' | 'test';

/** Half-open row range [start, end) into the dataset's rows. */
export interface RowRange {
  start: number;
  end: number;
}

export interface Scaler {
  /** `zscore` (mean, population std), `robust` (median, IQR), `minmax` (min, max − min) or `none`. */
  method: 'zscore' | 'robust' | 'minmax' | 'none';
  /** Per feature, parallel to featureNames. */
  center: number[];
  scale: number[];
}

export interface Fold {
  train: RowRange;
  val: RowRange;
  test: RowRange;
  /** Fitted on this fold's training rows only. */
  scaler: Scaler;
  /**
   * The training rows when they are not one range (purged k-fold, CPCV: rows on both sides of the
   * test rows), in time order; `train` is then the longest of them, so a reader that only knows
   * `train` still trains leak-free on a subset.
   */
  trainRanges?: RowRange[];
  /** The test rows when they are not one range (CPCV: k groups); `test` is then the first of them. */
  testRanges?: RowRange[];
  /** Training rows dropped by purging and embargo in this fold. */
  purged?: number;
}

/** Kolmogorov–Smirnov drift of each feature between a fold's training rows and one evaluation segment. */
export interface DriftSegment {
  fold: number;
  segment: 'val' | 'test';
  /** Two-sample KS statistic per feature, parallel to the dataset's featureNames. */
  ks: number[];
  /** Asymptotic p-value of each statistic (small: the distributions differ). */
  pValue: number[];
}

export interface DriftReport {
  test: 'ks';
  segments: DriftSegment[];
}

/** How the rows of a combinatorial purged cross-validation form groups and backtest paths. */
export interface CpcvLayout {
  /** The N contiguous groups. */
  groups: RowRange[];
  /** Test groups of each fold (split), parallel to folds. */
  testGroups: number[][];
  /** paths[j][g]: the fold whose test predictions of group g belong to backtest path j. */
  paths: number[][];
}

export interface Dataset {
  type: 'Dataset';
  symbol: string;
  timeframe: string;
  /** UTC epoch ms of each row. */
  index: Float64Array;
  featureNames: string[];
  targetNames: string[];
  targetHorizons: number[];
  /** Scaled features, row-major: X[row * featureNames.length + j]. */
  X: Float64Array;
  /** Targets, row-major: Y[row * targetNames.length + k] (unscaled). */
  Y: Float64Array;
  method: string;
  folds: Fold[];
  /**
   * Unscaled features, row-major like X, when the folds have scalers of their own (walk-forward,
   * k-fold, CPCV): X is scaled with folds[0].scaler, and fold f's features are
   * (raw − folds[f].scaler.center) / folds[f].scaler.scale (src/evaluation/scalers.ts foldFeatures).
   */
  raw?: Float64Array;
  /** Longest target horizon: rows purged before each evaluation segment (split v2+). */
  purge?: number;
  /** Rows dropped from training after each evaluation segment (split v2+). */
  embargo?: number;
  /** Feature drift between training and evaluation rows (split v2+). */
  drift?: DriftReport;
  /** Groups and backtest paths of a `cpcv` split. */
  cpcv?: CpcvLayout;
}

/** Out-of-sample predictions of a model, per target. */
export interface Predictions {
  /** UTC epoch ms of each predicted row. */
  index: Float64Array;
  /** 1 = val, 2 = test (0 = train, when present). */
  segment: Uint8Array;
  /** Fold number of each row. */
  fold: Uint16Array;
  /** Per target name, the prediction of each row. */
  values: Record<string, Float64Array>;
  /** The forecast distribution of each row, for probabilistic models (`values` then holds its median or mean). */
  distribution?: PredictiveDistribution;
}

/** A forecast distribution per predicted row; a model fills the form it produces. */
export interface PredictiveDistribution {
  /** Quantile forecasts: `levels` ascending in (0, 1); per target, row-major [rows × levels.length], monotone in the level. */
  quantiles?: { levels: number[]; values: Record<string, Float64Array> };
  /** Sample forecasts (e.g. a diffusion model's draws): per target, row-major [rows × count]. */
  samples?: { count: number; values: Record<string, Float32Array> };
  /**
   * A Gaussian around the point forecast (`values`), for kinds that forecast points only: per target,
   * the standard deviation of each row (the fold's validation residuals' RMS, so every model gets a CRPS).
   */
  gaussian?: { sd: Record<string, Float64Array> };
}

/** Scores of a forecast distribution on one segment, for one target (train step; src/evaluation/probabilistic.ts). */
export interface ProbabilisticMetrics {
  target: string;
  horizon: number;
  segment: 'val' | 'test';
  /** The form scored: the model's quantiles or samples, or the Gaussian of a point model. */
  form: 'quantiles' | 'samples' | 'gaussian';
  /** Rows scored (a finite outcome and forecast). */
  n: number;
  /** Mean CRPS, in the target's units (lower is better; a point forecast's is its MAE). */
  crps: number;
  /** Central intervals: nominal level (0.5, 0.8, 0.9), share of outcomes inside, mean width. */
  coverage: { nominal: number; coverage: number; width: number }[];
  /** Mean pinball loss per level (the model's quantile levels, else 0.05, 0.5, 0.95). */
  pinball: { level: number; loss: number }[];
  /** PIT histogram: counts in 10 equal bins of [0, 1] (flat when calibrated). */
  pit: number[];
}

export interface HorizonMetrics {
  target: string;
  horizon: number;
  rmse: number;
  mae: number;
  /** Share of rows where sign(prediction) = sign(actual), over rows with a non-zero actual. */
  directionalAccuracy: number;
  /** Spearman rank correlation of prediction and actual. */
  ic: number;
}

export interface Model {
  type: 'Model';
  kind: string;
  params: Record<string, unknown>;
  featureNames: string[];
  targetNames: string[];
  targetHorizons: number[];
  /** Model-kind specific fitted state, per fold (plain JSON and typed arrays). */
  state: unknown[];
  /** Validation-segment metrics per target (over all folds). */
  valMetrics: HorizonMetrics[];
  /** Predictions on the val and test segments. */
  predictions: Predictions;
  /** The dataset's scaler of each fold (parallel to state), so a model can score raw features. */
  scalers?: Scaler[];
  /** Validation metrics of each fold separately (parallel to state), per target. */
  foldMetrics?: HorizonMetrics[][];
  /** Test-segment metrics per target (over all folds). */
  testMetrics?: HorizonMetrics[];
  /** Scores of the forecast distribution per target and segment (val, test), pooled over folds. */
  probabilistic?: ProbabilisticMetrics[];
  /** Feature importances per target, summed over folds (tree models: total split gain), and those of `explain:` (permutation, shap). */
  importance?: FeatureImportance[];
  /** With `explain:` on a tree kind: the top features' SHAP dependence (the first target). */
  dependence?: ShapDependence[];
  /** The compute backend that trained it (neural kinds: `tensorflow-gpu`, `tensorflow`, `wasm` or `cpu`). */
  backend?: string;
  /**
   * Present when the model is a feature encoder (`autoencoder`): it forecasts no target, so
   * targetNames, valMetrics and predictions are empty and its quality is the reconstruction error.
   */
  encoder?: EncoderInfo;
  /**
   * With the train step's `online:` (docs/online.md, "The stored state"): the newest fold's online
   * learner as it ended, which predict, `fxflow predict` and ONNX export score with in place of
   * that fold's batch fit. Absent (models without `online:`, and online models stored before this
   * field existed): the batch fit in `state` scores.
   */
  online?: OnlineFinal;
}

/** An online learner's final model (Model.online). */
export interface OnlineFinal {
  /** The fold it continues: the newest, state.length − 1. */
  fold: number;
  /**
   * The kind's fitted state, in the form of state[fold] (linear weights; gbm ensembles), after the
   * fold's walk forward and then every later row of the dataset: all of them have known targets at
   * the end of the data (the features step drops the rows whose targets are not known yet).
   */
  state: unknown;
  /** Rows offered to the learner after the fold's training rows (a row with a non-finite value is skipped by the learner). */
  rows: number;
  /** UTC epoch ms of the last row absorbed: the dataset's last row. */
  through: number;
  /**
   * What the learner needs beyond `state` (OnlineResume of src/models/online/walk.ts: the RLS or
   * SGD state; for gbm appends and fine-tuning the cadence position and the last rows an update
   * reaches), from which predict goes on absorbing the rows whose targets become known on later
   * bars. Absent in models stored before it existed: later bars are then scored with `state` alone.
   */
  resume?: unknown;
}

/** Reconstruction RMSE of each segment, in the dataset's scaled feature units (NaN: no rows). */
export interface ReconstructionRmse {
  train: number;
  val: number;
  test: number;
}

/** What the `encode` step and the run history need to know of a feature encoder. */
export interface EncoderInfo {
  /** Width of the latent vector. */
  latent: number;
  /** Reconstruction error pooled over folds. */
  rmse: ReconstructionRmse;
  /** Reconstruction error of each fold (parallel to state). */
  foldRmse: ReconstructionRmse[];
  /**
   * Per fold, the timestamps (UTC epoch ms) of the last training row the encoder was fitted on and
   * of the last row it looked at (validation rows, for early stopping): `encode` refuses a dataset
   * whose training rows end earlier, since the latent columns would then carry later rows.
   */
  seen: { trainLast: number; lastSeen: number }[];
}

/** Importance of each feature for one target's model. */
/** SHAP values of one feature against its (unscaled) values, over the newest fold's explained validation rows. */
export interface ShapDependence {
  target: string;
  feature: string;
  x: Float64Array;
  shap: Float64Array;
}

export interface FeatureImportance {
  target: string;
  /** How it was measured, e.g. `gain` (total loss reduction of the feature's splits). */
  method: string;
  /** Parallel to the model's featureNames. */
  values: number[];
}

export interface Report {
  type: 'Report';
  symbol: string;
  /** Headline numbers, stored as run metrics: sharpe, max_drawdown, total_return, hit_rate, trades… */
  metrics: Record<string, number>;
  /** Per-bar series of the simulated segment. */
  index: Float64Array;
  position: Float64Array;
  /** Equity curve in return units (cumulative sum of net per-bar returns). */
  equity: Float64Array;
  /** Buy-and-hold cumulative return over the same bars. */
  benchmark: Float64Array;
  /** Free-form notes printed with the report (conventions used). */
  notes: string[];
  /** Per-bar net log return (gross − costs), parallel to index (backtest v2+). */
  net?: Float64Array;
  /** Per-bar costs paid, return units, parallel to index (backtest v2+). */
  cost?: Float64Array;
  /** The traded model's importances and SHAP dependence, when its train step had `explain:`. */
  explain?: { featureNames: string[]; importance: FeatureImportance[]; dependence: ShapDependence[] };
  /** Per-bar overnight financing paid (negative: earned), return units, parallel to index; only with swap rates. */
  financing?: Float64Array;
  /** The simulated trades (backtest v2+). */
  trades?: ReportTrades;
  /** Forecast quality per target on the traded rows (backtest v2+). */
  forecast?: HorizonMetrics[];
  /** Forecast quality per target on the validation segment, as the model measured it, for comparison (backtest v2+). */
  valForecast?: HorizonMetrics[];
  /** Bars per year used to annualise (backtest v2+). */
  barsPerYear?: number;
  /** Drift findings between the validation and the traded segments, one line each (backtest v2+). */
  drift?: string[];
  /** With `by_regime`: the regime column and its state at each bar's signal, parallel to index. */
  regime?: { column: string; state: Float64Array };
  /** A CPCV split's backtest paths, each traded on its own: their Sharpe ratios and total returns. */
  paths?: { sharpe: number[]; totalReturn: number[] };
  /** A `replay` step's retrain timeline: every model fitted, and why. */
  retrain?: RetrainTimeline;
  /** The traded target's forecast distribution on the test segment and the model's scores of it (fan chart, calibration). */
  distribution?: ReportDistribution;
}

/** What the report draws of a forecast distribution. */
export interface ReportDistribution {
  target: string;
  horizon: number;
  /**
   * The newest test-segment forecasts (at most FAN_ROWS): at each, the time of bar t + horizon, its
   * realised close, and close[t]·exp(q) for each level (the target is a log return from close[t]).
   */
  fan: { index: Float64Array; realised: Float64Array; levels: number[]; bands: Float64Array[] };
  /** The train step's scores of the model's distributions, every target and segment. */
  scores: ProbabilisticMetrics[];
}

/** What a replay retrained, when and why (src/replay/loop.ts), in timestamps. */
export interface RetrainTimeline {
  /** The policy, in words. */
  policy: string;
  events: RetrainTimelineEvent[];
  models: RetrainTimelineModel[];
  /** Retrains asked for during a challenger's shadow period (not done). */
  skipped: number;
  /**
   * The fitted state of every model that became the champion (`champion` or `promoted`), so each
   * is in the model registry (`fxflow models`, `predict`) with the replay's lineage. Absent in
   * reports of replay version 1.
   */
  champions?: RetrainChampions;
}

/** The replay's champions and the columns they read and forecast. */
export interface RetrainChampions {
  featureNames: string[];
  targetNames: string[];
  targetHorizons: number[];
  models: RetrainChampion[];
}

/** A replayed champion, as it scores rows: the scaler fitted on its training rows and its state. */
export interface RetrainChampion {
  /** The model's id in `models` and `events`. */
  id: number;
  scaler: Scaler;
  /** Model-kind specific fitted state (as one fold of a Model's `state`). */
  state: unknown;
  /** Its validation rows (UTC ms) and its predictions of them, per target (a quantile signal rule's cut-offs). */
  valIndex: Float64Array;
  valPred: Float64Array[];
}

export interface RetrainTimelineEvent {
  /** UTC epoch ms of the bar it happened at (before that bar was predicted). */
  ts: number;
  /** `start`, `schedule`, `drift`, `decay`, `regime`, or `shadow` (the end of a shadow period). */
  reason: string;
  /** Why, in words, with the numbers. */
  detail: string;
  numbers: Record<string, number>;
  /** The model fitted (at a shadow's end: the challenger judged). */
  model: number;
  /** `champion` (no comparison), `promoted`, `kept` (the champion stayed), `shadow` (won; predicting beside the champion). */
  decision: string;
  /** Both models' scores on the same rows (UTC ms of the first and last), and the margin asked. */
  compare?: { metric: string; from: number; to: number; champion: number; challenger: number; margin: number };
}

export interface RetrainTimelineModel {
  id: number;
  /** UTC epoch ms of the bar it was fitted at. */
  ts: number;
  reason: string;
  /** First and last training row (UTC ms), and counts. */
  trainFrom: number;
  trainTo: number;
  trainRows: number;
  valRows: number;
  /** Rows it predicted as the champion. */
  served: number;
}

/** The trades of a backtest, parallel arrays, one entry per trade. */
export interface ReportTrades {
  /** UTC epoch ms of the entry fill (the open of the first bar held). */
  entry: Float64Array;
  /** UTC epoch ms of the exit fill (the open after the last bar held). */
  exit: Float64Array;
  /** Signed position at entry. */
  position: Float64Array;
  /** Bars held. */
  bars: Float64Array;
  /** Net log return of the trade, costs included. */
  pnl: Float64Array;
  /** Net PnL in pips. */
  pips: Float64Array;
  /** Net PnL in account currency. */
  account: Float64Array;
}

/**
 * A trained model's predictions on bars, made by the `predict` step (or `fxflow predict`) from candles
 * the model may never have seen: the features recomputed as in training, the newest fold's scaler and
 * state, and the signal the training pipeline's backtest rule would take.
 */
export interface BarPredictions {
  type: 'Predictions';
  symbol: string;
  timeframe: string;
  /** UTC epoch ms of each predicted bar (its open time; the prediction is made at its close). */
  index: Float64Array;
  /** Per target name, the prediction of each bar. */
  values: Record<string, Float64Array>;
  /** Target names, parallel to targetHorizons. */
  targetNames: string[];
  targetHorizons: number[];
  /** The fold whose scaler and state made them (the newest). */
  fold: number;
  /** Direction the rule takes at each bar: 1 long, −1 short, 0 flat. */
  signal: Int8Array;
  /**
   * With a sizing: the size (units of account equity, ≥ 0) the backtest would hold at each bar, fixed
   * when it entered the position; 0 when flat or when the sizing would not take the entry (Kelly: no
   * edge after costs). The position is signal × size.
   */
  size?: Float64Array;
  /** The forecast distribution of each bar, for a model fitted to give one (quantile kinds): rows as `index`. */
  distribution?: PredictiveDistribution;
  /** The target the signal reads, and the rule, in words. */
  signalTarget: string;
  rule: string;
  /** Bars of warm-up (and a partial last bar) left out, and other notes on how they were made. */
  notes: string[];
}

export interface ArtifactMap {
  Candles: Candles;
  Features: Features;
  Dataset: Dataset;
  Model: Model;
  Report: Report;
  Predictions: BarPredictions;
}

export type Artifact = ArtifactMap[ArtifactType];
