import type { RowRange } from '../core/artifacts.js';
import type { ParamIssue } from '../core/diagnostics.js';
import type { TreeEnsemble } from './treeshap.js';

/**
 * The contract a model kind implements (what `train` fits and `predict` scores with). The kinds
 * themselves are listed once, in src/models/registry.ts.
 */

/** What a kind's `fit` sees for one fold: the whole dataset, and which rows are the fold's. */
export interface FoldData {
  /** Scaled features, row-major n × p. */
  X: Float64Array;
  n: number;
  p: number;
  /** Targets, row-major n × k. */
  Y: Float64Array;
  k: number;
  featureNames: readonly string[];
  targetNames: readonly string[];
  train: RowRange;
  /** The fold's validation rows (for early stopping); may be empty. */
  val: RowRange;
  fold: number;
  /** A seed for this fold, derived from the pipeline's seed. */
  seed: number;
  signal: AbortSignal;
  warn(message: string): void;
  /** Timestamps (UTC epoch ms) of X's rows, where the caller has them (sequence models check gaps). */
  index?: ArrayLike<number>;
  /** The training rows as the separate pieces they were gathered from (purged k-fold, CPCV), in X's rows; absent: `train` is one piece. */
  trainPieces?: RowRange[];
  /** Compute threads the fit may use (the step's share of `--jobs`), for kinds whose `threads` param is 0 (auto). */
  threads?: number;
  /** A directory the fit may keep files in across runs (checkpoints), derived from the step's cache key. */
  workDir?: string;
  /** A line for the run log. */
  log?(message: string): void;
  /** Progress of this fold's fit in [0, 1]. */
  progress?(fraction: number, message?: string): void;
}

export interface FoldFit {
  /** Kind-specific fitted state for every target: plain JSON and typed arrays. */
  state: unknown;
  /** Per target, a non-negative importance per feature (e.g. total split gain), if the kind has one. */
  importance?: Float64Array[];
  /** The compute backend that fitted it (neural kinds: `wasm`, `tensorflow-gpu`, …). */
  backend?: string;
}

/** Draws from the forecast distributions of m rows (ModelKind.sample). */
export interface SampledForecast {
  count: number;
  /** Per target, the point forecast of each row. */
  point: Float64Array[];
  /** Per target, row-major [m × count]. */
  samples: Float32Array[];
}

/** A parameter value as written in `with:` (a list: e.g. `quantiles: [0.05, 0.5, 0.95]`). */
export type ParamValue = number | string | boolean | readonly number[];

export interface ModelKind {
  /** The value of `model:`. */
  name: string;
  /** One line for `fxflow models kinds` and errors. */
  description: string;
  /** Every parameter the kind takes (besides `model`) with its default. */
  defaults: Record<string, ParamValue>;
  /** True if fitting draws random numbers (subsampling, bootstrap). */
  seeded: boolean;
  /** Cross-field checks on the kind's resolved params; paths are relative to `with`. */
  check?(params: Record<string, ParamValue>): ParamIssue[];
  /** Fits every target of the dataset on one fold's training rows. */
  fit(data: FoldData, params: Record<string, ParamValue>): FoldFit | Promise<FoldFit>;
  /**
   * True when a row's prediction (and distribution) depends on that row's features alone: scoring
   * rows [a, b) of X gives the bits scoring all of X gives there, so bars appended to a series need
   * only their own rows scored (src/steps/predict/core.ts). Sequence and neural kinds leave it out.
   */
  rowwise?: boolean;
  /** Predictions of every target for m rows of row-major X (p scaled features), with the rows' timestamps where known. */
  predict(state: unknown, X: ArrayLike<number>, m: number, p: number, index?: ArrayLike<number>): Float64Array[];
  /** Tree kinds: the fold's fitted ensemble of each target, for exact SHAP values (./treeshap.ts). */
  treeEnsembles?(state: unknown): TreeEnsemble[];
  /**
   * Forecast distributions of every target for the same rows as `predict` (whose values are then
   * their median or mean), for kinds fitted to give them; undefined when this state gives none.
   */
  predictDistribution?(state: unknown, X: ArrayLike<number>, m: number, p: number, index?: ArrayLike<number>): RowsDistribution | undefined;
  /**
   * Present on probabilistic kinds (`diffusion`, `sssd`): `count` draws from each row's forecast
   * distribution, per target row-major [m × count], and the point forecast `predict` gives (their
   * mean or median). The train step calls it instead of `predict` and keeps the draws.
   */
  sample?(state: unknown, X: ArrayLike<number>, m: number, p: number, index?: ArrayLike<number>): SampledForecast;
  /**
   * Present on feature encoders (`autoencoder`): they forecast no target, so the train step scores
   * their reconstruction instead and the `encode` step turns rows into latent columns with them.
   */
  encoder?: EncoderOps;
}

/** Forecast distributions of m rows, per target (parallel to targetNames), as PredictiveDistribution holds them. */
export interface RowsDistribution {
  /** Levels ascending in (0, 1); per target, row-major m × levels.length, monotone in the level. */
  quantiles?: { levels: number[]; values: Float64Array[] };
  /** Per target, row-major m × count. */
  samples?: { count: number; values: Float32Array[] };
}

/** What a feature-encoder kind does besides fitting, on X's rows (scaled as in the fold it was fitted on). */
export interface EncoderOps {
  /** Width of the latent vector. */
  dim(state: unknown): number;
  /**
   * Latent vectors of rows [range.start, range.end) of row-major X (p features), row-major
   * (range length × dim). Every row gets one, from rows at or before it only.
   */
  encode(state: unknown, X: ArrayLike<number>, p: number, range: RowRange, index?: ArrayLike<number>): Float64Array;
  /** Summed squared reconstruction error and the number of values it sums, over the rows of `ranges` the encoder can score. */
  reconstructionError(state: unknown, X: ArrayLike<number>, p: number, ranges: readonly RowRange[], index?: ArrayLike<number>): { sse: number; count: number };
}
