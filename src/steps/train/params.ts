/**
 * Parameters of the `train` step: `model` names the model kind, and the other keys are that kind's
 * own parameters, flat (`with: { model: gbm, max_depth: 4 }`). One interface per kind, each with
 * its own defaults and bounds as JSDoc tags: the generated schema picks the branch by `model`, fills
 * that kind's defaults, and rejects a parameter of another kind. The kinds are listed once, in
 * `TrainParams` below; each is implemented by the model kind of the same name (src/models/).
 */
export type TrainParams =
  | RidgeParams
  | OlsParams
  | LassoParams
  | ElasticNetParams
  | LogisticParams
  | LinearQuantileParams
  | GbmParams
  | RandomForestParams
  | MlpParams
  | LstmParams
  | GruParams
  | TcnParams
  | TransformerParams
  | DiffusionParams
  | SssdParams
  | AutoencoderParams;

/** Parameters every model kind takes. */
interface TrainCommon {
  /**
   * One model per regime: the name of an integer regime column of the dataset (a `regime` step's
   * `regime_state`). Each fold fits one model per value of the column on the training rows in that
   * regime (the column itself left out of its features, constant there), and predicts each row with
   * the model of the regime at that bar; a regime with fewer than max(2 × features, 30) training
   * rows falls back to the model fitted on all rows (with a warning). Tabular kinds only (linear,
   * logistic, gbm, random_forest), without `online:`; such a model is scored and backtested, but
   * not yet exported or used by `predict`. docs/regimes.md.
   */
  by_regime?: string;
  /**
   * Explain the model on each fold's most recent validation rows: permutation importance (any kind:
   * the rise in validation MSE when a feature is shuffled) and exact TreeSHAP values (gbm,
   * random_forest: mean |SHAP| per feature and the top features' dependence, drawn in the backtest
   * report). Added to the model's importances (methods `permutation`, `shap`). docs/evaluation.md.
   */
  explain?: ExplainParams;
}

/** What `explain:` computes. */
export interface ExplainParams {
  /**
   * Shuffles of each feature (0: no permutation importance).
   * @default 5
   * @minimum 0
   * @maximum 100
   */
  permutation: number;
  /**
   * Exact TreeSHAP values for tree kinds (ignored by other kinds).
   * @default true
   */
  shap: boolean;
  /**
   * At most this many validation rows per fold, the most recent.
   * @default 2000
   * @minimum 10
   * @maximum 1000000
   */
  rows: number;
}

/** `ridge`: closed-form L2-penalised least squares (scikit-learn Ridge, unpenalised intercept). */
export interface RidgeParams extends TrainCommon {
  /**
   * Model kind: `ridge` (closed-form L2 least squares), `ols`, `lasso` and `elastic_net`
   * (coordinate descent), `logistic` (L2 logistic regression of the direction), `linear_quantile`
   * (linear quantile regression), `gbm`
   * (histogram gradient-boosted trees), `random_forest` (bagged histogram trees). One model per
   * target horizon, fitted on each fold's training rows. Neural (TensorFlow.js, on windows of
   * `lookback` bars, one network with an output per target): `mlp`, `lstm`, `gru`, `tcn`
   * (dilated causal convolutions), `transformer` (self-attention encoder). Feature encoder:
   * `autoencoder` (reconstructs the scaled features, forecasts nothing; an `encode` step turns it
   * into latent feature columns). Each kind takes only its own parameters.
   * @default "ridge"
   */
  model: 'ridge';
  /**
   * Penalty strength: α‖w‖² added to the squared error (0 is OLS).
   * @default 1
   * @minimum 0
   */
  alpha: number;
  /** Update the fitted model online while scoring the validation and test rows (docs/online.md). */
  online?: RlsOnlineParams;
}

/** `ols`: ordinary least squares, closed form (the minimum-norm solution when singular). */
export interface OlsParams extends TrainCommon {
  model: 'ols';
  /** Update the fitted model online while scoring the validation and test rows (docs/online.md). */
  online?: RlsOnlineParams;
}

/** `lasso`: L1-penalised least squares by coordinate descent (scikit-learn Lasso). */
export interface LassoParams extends TrainCommon {
  model: 'lasso';
  /**
   * scikit-learn's α of (1/2n)‖y − Xw‖² + α‖w‖₁.
   * @default 0.0001
   * @minimum 0
   */
  alpha: number;
}

/** `elastic_net`: L1 + L2 penalised least squares by coordinate descent (scikit-learn ElasticNet). */
export interface ElasticNetParams extends TrainCommon {
  model: 'elastic_net';
  /**
   * scikit-learn's α of (1/2n)‖y − Xw‖² + α·l1_ratio·‖w‖₁ + α(1 − l1_ratio)/2·‖w‖².
   * @default 0.0001
   * @minimum 0
   */
  alpha: number;
  /**
   * Share of the penalty that is L1 (1 = lasso, 0 = ridge).
   * @default 0.5
   * @minimum 0
   * @maximum 1
   */
  l1_ratio: number;
}

/** `logistic`: L2 logistic regression of the direction (target > 0); predicts P(up) − P(not up). */
export interface LogisticParams extends TrainCommon {
  model: 'logistic';
  /**
   * L2 penalty α/2·‖w‖², i.e. scikit-learn's C = 1/α.
   * @default 1
   * @minimum 0
   */
  alpha: number;
  /** Update the fitted model online while scoring the validation and test rows (docs/online.md). */
  online?: SgdOnlineParams;
}

/**
 * `linear_quantile`: linear quantile regression, one model per level (min Σ pinball loss; the
 * statsmodels QuantReg fit), crossing levels rearranged into order; the point forecast is the median.
 */
export interface LinearQuantileParams extends TrainCommon {
  model: 'linear_quantile';
  /**
   * Quantile levels to forecast, each in (0, 1).
   * @default [0.05,0.5,0.95]
   * @minItems 1
   * @maxItems 99
   */
  quantiles: number[];
  /**
   * Most reweighted least-squares iterations per level.
   * @default 1000
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  max_iter: number;
  /**
   * Convergence: no coefficient moves more than tol × (1 + its size) in an iteration.
   * @default 0.000001
   * @exclusiveMinimum 0
   */
  tol: number;
}

/**
 * `online:` of ridge and ols. Each fold's validation and test rows are scored in time order, and
 * each row's targets are absorbed by recursive least squares once they are known (after the
 * longest target horizon, in rows): the prediction of a row never uses its own target or a later
 * one. Starts from the batch fit; its α is the ridge prior (and decays with the forgetting).
 */
export interface RlsOnlineParams {
  /** `rls`: recursive least squares (exactly a weighted ridge refit at every row). */
  method: 'rls';
  /**
   * Forgetting factor λ: a row's weight is λ^(rows since); 1 keeps every row at full weight,
   * 0.999 halves a row's weight after ≈ 693 rows.
   * @exclusiveMinimum 0
   * @maximum 1
   */
  forgetting: number;
}

/**
 * `online:` of logistic: stochastic gradient steps on the log-loss over the validation and test
 * rows in time order, each row once its targets are known (after the longest horizon), from the
 * batch fit's weights.
 */
export interface SgdOnlineParams {
  /** `sgd`: one gradient step per row. */
  method: 'sgd';
  /**
   * Step size η₀.
   * @exclusiveMinimum 0
   */
  learning_rate: number;
  /** `constant` (absent) or `invscaling`: η₀ / (steps + 1)^power. */
  schedule?: 'constant' | 'invscaling';
  /**
   * Exponent of the `invscaling` schedule; absent: 0.5.
   * @minimum 0
   */
  power?: number;
  /**
   * L2 pull on the weights per step; absent: α / training rows (the batch objective's share per row).
   * @minimum 0
   */
  l2?: number;
}

/** Tree kinds' parameters that gbm and random_forest share. */
interface TreeParams extends TrainCommon {
  /**
   * Most bins per feature (quantiles of the training rows).
   * @default 255
   * @integer
   * @minimum 2
   * @maximum 255
   */
  max_bins: number;
  /**
   * Least hessian sum in a child (rows, for squared error; bootstrap weight for random_forest).
   * @default 1
   * @minimum 0
   */
  min_child_weight: number;
  /**
   * Threads building the trees' histograms, this one included; 0 = the step's share of `fxflow run
   * --jobs` (default: every core; 1 per variant when a sweep's variants run side by side). Any
   * count gives bit-identical models, so it is a speed setting only and not part of the cache key.
   * @default 0
   * @integer
   * @minimum 0
   * @maximum 256
   */
  threads: number;
}

/** `gbm`: histogram gradient-boosted trees (XGBoost hist / LightGBM), early stopping on the validation rows. */
export interface GbmParams extends TreeParams {
  model: 'gbm';
  /**
   * Boosting rounds (before early stopping).
   * @default 200
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  n_estimators: number;
  /**
   * Shrinkage of each tree's output.
   * @default 0.05
   * @exclusiveMinimum 0
   * @maximum 1
   */
  learning_rate: number;
  /**
   * Deepest level a split may create (the root is depth 0); 0 = unlimited.
   * @default 6
   * @integer
   * @minimum 0
   * @maximum 64
   */
  max_depth: number;
  /**
   * Most leaves per tree; 0 = unlimited (bound by max_depth). Set it with `growth: lossguide`,
   * e.g. 31.
   * @default 0
   * @integer
   * @minimum 0
   * @maximum 65536
   */
  max_leaves: number;
  /**
   * `depthwise` grows level by level (XGBoost's default), `lossguide` always splits the leaf with
   * the largest gain (LightGBM's leaf-wise growth).
   * @default "depthwise"
   */
  growth: 'depthwise' | 'lossguide';
  /**
   * L2 regularisation λ of leaf outputs (XGBoost's reg_lambda).
   * @default 1
   * @minimum 0
   */
  reg_lambda: number;
  /**
   * Least loss reduction for a split (XGBoost's gamma).
   * @default 0
   * @minimum 0
   */
  min_split_gain: number;
  /**
   * Fraction of training rows drawn (seeded) for each tree.
   * @default 1
   * @exclusiveMinimum 0
   * @maximum 1
   */
  subsample: number;
  /**
   * Fraction of features drawn (seeded) for each tree.
   * @default 1
   * @exclusiveMinimum 0
   * @maximum 1
   */
  colsample: number;
  /**
   * Stop after this many rounds without a better validation loss, keeping the best round's
   * trees; 0 = off.
   * @default 20
   * @integer
   * @minimum 0
   * @maximum 100000
   */
  early_stopping_rounds: number;
  /**
   * `squared_error` regresses the target; `logistic` classifies its direction (target > 0) and
   * predicts P(up) − P(not up).
   * @default "squared_error"
   */
  loss: 'squared_error' | 'logistic';
  /**
   * Quantile levels to forecast, e.g. [0.05, 0.5, 0.95], each in (0, 1): one pinball-loss
   * ensemble per level and target (LightGBM's quantile objective), crossing levels rearranged into
   * order; the point forecast is then the median. [] = point forecasts only.
   * @default []
   * @maxItems 99
   */
  quantiles: number[];
  /** Update the fitted model online while scoring the validation and test rows (docs/online.md). */
  online?: GbmOnlineParams;
}

/**
 * `online:` of gbm: while the validation and test rows are scored in time order, every `every`
 * rows whose targets have become known (after the longest horizon), each ensemble gets `trees`
 * trees fitted on its residuals over the last `window` known rows, with the kind's tree params and
 * no early stopping.
 */
export interface GbmOnlineParams {
  /** `append`: boost on from the current ensemble. */
  method: 'append';
  /**
   * Known rows between appends.
   * @integer
   * @minimum 1
   * @maximum 100000000
   */
  every: number;
  /**
   * Trees per append.
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  trees: number;
  /**
   * Rows each append fits on: the latest known ones (training rows included when it reaches back).
   * @integer
   * @minimum 1
   * @maximum 100000000
   */
  window: number;
  /**
   * Most trees an ensemble may hold; at the cap appending stops, or with `prune` the oldest go.
   * @integer
   * @minimum 1
   * @maximum 1000000
   */
  max_trees: number;
  /** Drop the oldest trees at the cap (biases predictions away from the recent rows: docs/online.md). */
  prune?: boolean;
}

/** `random_forest`: bagged regression trees on the histogram tree code (bootstrap rows, max_features per node). */
export interface RandomForestParams extends TreeParams {
  model: 'random_forest';
  /**
   * Number of trees.
   * @default 100
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  n_estimators: number;
  /**
   * Deepest level a split may create (the root is depth 0); 0 = unlimited.
   * @default 8
   * @integer
   * @minimum 0
   * @maximum 64
   */
  max_depth: number;
  /**
   * Fraction of features drawn at each node (1 is scikit-learn's default for regression).
   * @default 1
   * @exclusiveMinimum 0
   * @maximum 1
   */
  max_features: number;
}

/** Parameters every neural kind takes (the autoencoder's too); a kind redeclares one to change its default. */
interface NeuralParams extends TrainCommon {
  /**
   * Where to train. `auto` takes the first that works of tfjs-node-gpu (a CUDA GPU), tfjs-node
   * (CPU), wasm, pure-JS cpu; `gpu` fails with the reason when no GPU backend loads; `cpu` skips
   * the GPU. The backend that ran is logged and stored with the model. Default: the pipeline's
   * `device` (top-level `device:` or `fxflow run --device`), else `auto`.
   */
  device?: 'auto' | 'gpu' | 'cpu';
  /**
   * Bars per input window (the window ends at the bar whose targets it predicts and never crosses
   * a segment, fold or time-gap boundary).
   * @default 32
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  lookback: number;
  /**
   * Units per layer (LSTM/GRU state size, MLP width, TCN channels, transformer model width).
   * @default 32
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  hidden: number;
  /**
   * Stacked layers (recurrent layers, hidden dense layers, convolution levels with dilation
   * 2^level, encoder blocks).
   * @default 1
   * @integer
   * @minimum 1
   * @maximum 64
   */
  layers: number;
  /**
   * Passes over the training windows.
   * @default 20
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  epochs: number;
  /**
   * Windows per gradient step.
   * @default 256
   * @integer
   * @minimum 1
   * @maximum 1000000
   */
  batch_size: number;
  /**
   * Adam's step size (the peak, with `lr_schedule: cosine`).
   * @default 0.001
   * @exclusiveMinimum 0
   * @maximum 1
   */
  learning_rate: number;
  /**
   * `adam`, or `adamw` (Adam with decoupled weight decay).
   * @default "adam"
   */
  optimizer: 'adam' | 'adamw';
  /**
   * With `optimizer: adamw`: decoupled weight decay of the weight matrices, per step times the
   * learning rate.
   * @default 0.01
   * @minimum 0
   */
  weight_decay: number;
  /**
   * `constant`; `cosine` (linear warm-up over `warmup_epochs`, then cosine decay to 0); `plateau`
   * (halve the rate after 2 epochs without a better validation loss).
   * @default "constant"
   */
  lr_schedule: 'constant' | 'cosine' | 'plateau';
  /**
   * With `lr_schedule: cosine`: epochs of linear warm-up.
   * @default 0
   * @integer
   * @minimum 0
   * @maximum 100000
   */
  warmup_epochs: number;
  /**
   * Clip the gradient to this global L2 norm; 0 = off.
   * @default 1
   * @minimum 0
   */
  clip_norm: number;
  /**
   * Stop after this many epochs without a better validation loss and keep the best epoch's
   * weights; 0 = run every epoch.
   * @default 5
   * @integer
   * @minimum 0
   * @maximum 100000
   */
  patience: number;
  /**
   * Batches whose gradients are averaged into one optimizer step.
   * @default 1
   * @integer
   * @minimum 1
   * @maximum 10000
   */
  grad_accum: number;
  /**
   * The longest time between consecutive bars a window may span, in hours. A weekend (~49 h on FX)
   * is within the default; a data outage longer than it splits windows.
   * @default 72
   * @exclusiveMinimum 0
   */
  max_gap_hours: number;
  /**
   * Checkpoints kept (after every epoch, in the store) besides the latest, the best by validation
   * loss. A killed run resumes from the latest when rerun.
   * @default 2
   * @integer
   * @minimum 1
   * @maximum 1000
   */
  keep_checkpoints: number;
}

/** Parameters of the neural forecasters (`mlp`, `lstm`, `gru`, `tcn`, `transformer`): the head's outputs. */
interface NetForecastParams extends NeuralParams {
  /**
   * Quantile levels to forecast, e.g. [0.05, 0.5, 0.95], each in (0, 1): the head gets one output
   * per target and level, trained on the mean pinball loss (early stopping too), crossing levels
   * rearranged into order; the point forecast is then the median. [] = point forecasts (MSE).
   * @default []
   * @maxItems 99
   */
  quantiles: number[];
  /** Fine-tune the fitted network online while scoring the validation and test rows (docs/online.md). */
  online?: FinetuneOnlineParams;
}

/**
 * `online:` of the neural forecasters: while the validation and test rows are scored in time order,
 * every `every` rows whose targets have become known (after the longest horizon), the network trains
 * on from its current weights for `steps` optimizer steps on the windows ending in the last `window`
 * known rows (the kind's optimizer, batch size and clipping; batches seeded by the pipeline's seed,
 * the fold and the update).
 */
export interface FinetuneOnlineParams {
  /** `finetune`: continue training the current network. */
  method: 'finetune';
  /**
   * Known rows between updates.
   * @integer
   * @minimum 1
   * @maximum 100000000
   */
  every: number;
  /**
   * Optimizer steps per update; 0 leaves the network as fitted.
   * @integer
   * @minimum 0
   * @maximum 1000000
   */
  steps: number;
  /**
   * Rows whose windows an update trains on: the latest known ones (training rows included when it reaches back).
   * @integer
   * @minimum 1
   * @maximum 100000000
   */
  window: number;
  /**
   * Learning rate of the updates (constant); absent: the kind's `learning_rate`.
   * @exclusiveMinimum 0
   */
  learning_rate?: number;
}

/** `mlp`: multi-layer perceptron (ReLU) on the flattened window of lookback bars × features. */
export interface MlpParams extends NetForecastParams {
  model: 'mlp';
  /**
   * Bars per input window (the window ends at the bar whose targets it predicts and never crosses
   * a segment, fold or time-gap boundary).
   * @default 8
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  lookback: number;
  /**
   * Width of each hidden dense layer.
   * @default 64
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  hidden: number;
  /**
   * Hidden dense layers.
   * @default 2
   * @integer
   * @minimum 1
   * @maximum 64
   */
  layers: number;
}

/** `lstm`: stacked LSTM over the window; the last state feeds a linear head with one output per target. */
export interface LstmParams extends NetForecastParams {
  model: 'lstm';
}

/** `gru`: stacked GRU (PyTorch formulation) over the window; linear multi-horizon head. */
export interface GruParams extends NetForecastParams {
  model: 'gru';
}

/** `tcn`: temporal convolutional network: dilated causal convolutions (dilation 2^level), residual, ReLU. */
export interface TcnParams extends NetForecastParams {
  model: 'tcn';
  /**
   * Convolution levels, level l dilated 2^l.
   * @default 3
   * @integer
   * @minimum 1
   * @maximum 64
   */
  layers: number;
  /**
   * Taps of each dilated causal convolution.
   * @default 3
   * @integer
   * @minimum 1
   * @maximum 64
   */
  kernel_size: number;
}

/** `transformer`: encoder with multi-head self-attention, sinusoidal positions, post-LayerNorm; the last bar feeds the head. */
export interface TransformerParams extends NetForecastParams {
  model: 'transformer';
  /**
   * Attention heads; must divide `hidden`.
   * @default 4
   * @integer
   * @minimum 1
   * @maximum 256
   */
  heads: number;
}

/** Parameters of the diffusion kinds (`diffusion`, `sssd`); docs/diffusion.md. */
interface DiffusionCommon extends NeuralParams {
  /**
   * Channels of the noise predictor.
   * @default 32
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  hidden: number;
  /**
   * Residual blocks of the noise predictor.
   * @default 3
   * @integer
   * @minimum 1
   * @maximum 64
   */
  layers: number;
  /**
   * Passes over the training windows (each draws new diffusion steps and noise per window).
   * @default 50
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  epochs: number;
  /**
   * Stop after this many epochs without a better validation loss (v or ε; its draws are the same every
   * epoch) and keep the best epoch's weights; 0 = run every epoch.
   * @default 10
   * @integer
   * @minimum 0
   * @maximum 100000
   */
  patience: number;
  /**
   * Training diffusion steps T of the cosine noise schedule.
   * @default 1000
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  diffusion_steps: number;
  /**
   * Draws per forecast (kept in the predictions as the forecast distribution).
   * @default 100
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  samples: number;
  /**
   * The point forecast (`values`, what rules and metrics of point forecasts use): the draws' `mean`
   * or `median`.
   * @default "mean"
   */
  point: 'mean' | 'median';
  /**
   * What the network predicts: `v` = √ᾱ·ε − √(1 − ᾱ)·x₀ (Salimans & Ho 2022), or the noise `eps`
   * (Ho et al. 2020). With `eps`, x̂₀ = (x_t − √(1 − ᾱ)·ε̂)/√ᾱ multiplies the network's errors by up
   * to 1/√ᾱ at the noisy steps, which shifts the draws' centre (docs/diffusion.md); `v` does not.
   * @default "v"
   */
  prediction: 'v' | 'eps';
  /**
   * `val`: after training, draw for the validation windows and scale each row's draws around their
   * median by one factor per target, the smallest that makes the validation 90% intervals cover 90%
   * (fitted on validation rows only; the test rows are never seen). A post-hoc fix of a model's
   * remaining mis-dispersion, not of its cause (docs/diffusion.md). `none`: the draws as sampled.
   * @default "none"
   */
  calibrate: 'none' | 'val';
}

/** `diffusion`: conditional DDPM of the target patch (the k targets) given the window; 1-D convolutional denoiser; DDIM sampling. */
export interface DiffusionParams extends DiffusionCommon {
  model: 'diffusion';
  /**
   * DDIM steps per draw (η = 0); at most `diffusion_steps`. Fewer is faster, more follows the
   * trained model's distribution more closely: with few steps deterministic DDIM narrows the draws
   * (on the AR–GARCH test at this kind's defaults, draws' sd over σ 0.97 / 1.01 / 1.02 / 1.03 at
   * 20 / 50 / 100 / 1000 steps, seed 7; coverage 87.5 → 89.3%: docs/diffusion.md). 100 here (5× the
   * sampling time of 20); `sssd` keeps 20.
   * @default 100
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  sampling_steps: number;
  /**
   * Taps of each convolution over the target patch ("same" padding).
   * @default 3
   * @integer
   * @minimum 1
   * @maximum 64
   */
  kernel_size: number;
  /**
   * `window`: learn each window's targets divided by a scale estimated from that window's bars only
   * (each feature's sd over the window and over its last quarter, weighted by a log-linear fit of
   * the targets' size on the training windows), and multiply the draws back (RevIN-style), so the
   * draws' spread follows the window's volatility. `revin`: that, and the network is fed each
   * window instance-normalised (each feature's z-scores over the window, with its log sd and mean
   * over the window as extra inputs: the input half of RevIN), so a window wilder than any in
   * training is not outside the range the network learned on. Off by default here: on the AR–GARCH
   * test `window` tracks σ better but does not raise `diffusion`'s coverage, and `revin` tracks σ
   * best and scores the best CRPS but its draws are uniformly too narrow at some seeds
   * (docs/diffusion.md). `none`: the targets as they are.
   * @default "none"
   */
  scale: 'window' | 'revin' | 'none';
  /**
   * Decay of an exponential moving average of the network's weights, updated after every optimizer
   * step s with min(ema, (1 + s)/(10 + s)) (the warm-up: until the cap it averages about the last
   * tenth of the steps so far); the validation loss, early stopping and the fitted model use the
   * averaged weights (DDPM's EMA, Ho et al. 2020). On by default here: on the AR–GARCH test it
   * undoes the narrowing of the draws as training goes on (coverage 85.5 / 87.9 / 89.2% → 88.0 /
   * 88.3 / 89.4% at seeds 7 / 8 / 9; docs/diffusion.md). 0 = off.
   * @default 0.999
   * @minimum 0
   * @maximum 0.99999
   */
  ema: number;
}

/** `sssd`: the same diffusion with S4D state-space layers over the window and the noisy patch as one sequence (SSSD). */
export interface SssdParams extends DiffusionCommon {
  model: 'sssd';
  /**
   * DDIM steps per draw (η = 0); at most `diffusion_steps`. Fewer is faster, more follows the
   * trained model's distribution more closely (`diffusion` defaults to 100: docs/diffusion.md).
   * @default 20
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  sampling_steps: number;
  /**
   * Complex modes of each channel's diagonal state matrix (S4D's N/2).
   * @default 16
   * @integer
   * @minimum 1
   * @maximum 1024
   */
  state_size: number;
  /**
   * `window`: learn each window's targets divided by a scale estimated from that window's bars only
   * (each feature's sd over the window and over its last quarter, weighted by a log-linear fit of
   * the targets' size on the training windows), and multiply the draws back (RevIN-style), so the
   * draws' spread follows the window's volatility. `revin`: that, and the network is fed each
   * window instance-normalised (each feature's z-scores over the window, with its log sd and mean
   * over the window as extra inputs: the input half of RevIN). `window` is the default here: on the
   * AR–GARCH test it raises `sssd`'s coverage or leaves it; `revin` does about as well, not better
   * (docs/diffusion.md). `none`: the targets as they are.
   * @default "window"
   */
  scale: 'window' | 'revin' | 'none';
  /**
   * Decay of an exponential moving average of the network's weights, updated after every optimizer
   * step s with min(ema, (1 + s)/(10 + s)); the validation loss, early stopping and the fitted model
   * use the averaged weights (DDPM's EMA). Off by default here: `sssd` covers 87–93% on the AR–GARCH
   * test without it (with `ema: 0.999` too: docs/diffusion.md). 0 = off.
   * @default 0
   * @minimum 0
   * @maximum 0.99999
   */
  ema: number;
}

/** `autoencoder`: a feature encoder (dense + ReLU stages, x → hidden → latent) reconstructing a window's scaled features. */
export interface AutoencoderParams extends NeuralParams {
  model: 'autoencoder';
  /**
   * Bars per input window (the window ends at the bar it encodes).
   * @default 1
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  lookback: number;
  /**
   * Width of the stages between input and latent.
   * @default 32
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  hidden: number;
  /**
   * Encoding stages, the last `latent` wide and the others `hidden` wide.
   * @default 2
   * @integer
   * @minimum 1
   * @maximum 64
   */
  layers: number;
  /**
   * Passes over the training windows, per stage.
   * @default 30
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  epochs: number;
  /**
   * Adam's step size (the peak, with `lr_schedule: cosine`).
   * @default 0.003
   * @exclusiveMinimum 0
   * @maximum 1
   */
  learning_rate: number;
  /**
   * Width of the latent vector, the features an `encode` step adds.
   * @default 8
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  latent: number;
}
