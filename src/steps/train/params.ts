/**
 * Parameters of the `train` step: `model` names the model kind, and the other keys are that kind's
 * own parameters, flat (`with: { model: gbm, max_depth: 4 }`). A parameter left out takes the
 * kind's default, given in each description; a parameter of another kind is an error.
 */
export interface TrainParams {
  /**
   * Model kind: `ridge` (closed-form L2 least squares), `ols`, `lasso` and `elastic_net`
   * (coordinate descent), `logistic` (L2 logistic regression of the direction), `gbm`
   * (histogram gradient-boosted trees), `random_forest` (bagged histogram trees). One model per
   * target horizon, fitted on each fold's training rows. Neural (TensorFlow.js, on windows of
   * `lookback` bars, one network with an output per target): `mlp`, `lstm`, `gru`, `tcn`
   * (dilated causal convolutions), `transformer` (self-attention encoder). Feature encoder:
   * `autoencoder` (reconstructs the scaled features, forecasts nothing; an `encode` step turns it
   * into latent feature columns).
   * @default "ridge"
   */
  model: 'ridge' | 'ols' | 'lasso' | 'elastic_net' | 'logistic' | 'gbm' | 'random_forest' | 'mlp' | 'lstm' | 'gru' | 'tcn' | 'transformer' | 'autoencoder';
  /**
   * Penalty strength (ridge, lasso, elastic_net, logistic). ridge: α‖w‖² added to the squared
   * error (default 1; 0 is OLS). lasso / elastic_net: scikit-learn's α of
   * (1/2n)‖y − Xw‖² + α·l1_ratio·‖w‖₁ + α(1 − l1_ratio)/2·‖w‖² (default 0.0001). logistic: L2
   * penalty α/2·‖w‖², i.e. scikit-learn's C = 1/α (default 1).
   * @minimum 0
   */
  alpha?: number;
  /**
   * elastic_net: share of the penalty that is L1 (1 = lasso, 0 = ridge). Default 0.5.
   * @minimum 0
   * @maximum 1
   */
  l1_ratio?: number;
  /**
   * gbm, random_forest: number of trees (gbm: boosting rounds before early stopping). Default 200
   * (gbm), 100 (random_forest).
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  n_estimators?: number;
  /**
   * gbm: shrinkage of each tree's output. Default 0.05. Neural kinds: Adam's step size (the peak,
   * with `lr_schedule: cosine`). Default 0.001 (autoencoder: 0.003).
   * @exclusiveMinimum 0
   * @maximum 1
   */
  learning_rate?: number;
  /**
   * gbm, random_forest: deepest level a split may create (the root is depth 0); 0 = unlimited.
   * Default 6 (gbm), 8 (random_forest).
   * @integer
   * @minimum 0
   * @maximum 64
   */
  max_depth?: number;
  /**
   * gbm: most leaves per tree; 0 = unlimited (bound by max_depth). Default 0; set it with
   * `growth: lossguide`, e.g. 31.
   * @integer
   * @minimum 0
   * @maximum 65536
   */
  max_leaves?: number;
  /**
   * gbm: `depthwise` grows level by level (XGBoost's default), `lossguide` always splits the leaf
   * with the largest gain (LightGBM's leaf-wise growth). Default `depthwise`.
   */
  growth?: 'depthwise' | 'lossguide';
  /**
   * gbm, random_forest: most bins per feature (quantiles of the training rows). Default 255.
   * @integer
   * @minimum 2
   * @maximum 255
   */
  max_bins?: number;
  /**
   * gbm: L2 regularisation λ of leaf outputs (XGBoost's reg_lambda). Default 1.
   * @minimum 0
   */
  reg_lambda?: number;
  /**
   * gbm: least loss reduction for a split (XGBoost's gamma). Default 0.
   * @minimum 0
   */
  min_split_gain?: number;
  /**
   * gbm, random_forest: least hessian sum in a child (rows, for squared error; bootstrap weight
   * for random_forest). Default 1.
   * @minimum 0
   */
  min_child_weight?: number;
  /**
   * gbm: fraction of training rows drawn (seeded) for each tree. Default 1.
   * @exclusiveMinimum 0
   * @maximum 1
   */
  subsample?: number;
  /**
   * gbm: fraction of features drawn (seeded) for each tree. Default 1.
   * @exclusiveMinimum 0
   * @maximum 1
   */
  colsample?: number;
  /**
   * gbm: stop after this many rounds without a better validation loss, keeping the best round's
   * trees; 0 = off. Default 20.
   * @integer
   * @minimum 0
   * @maximum 100000
   */
  early_stopping_rounds?: number;
  /**
   * gbm: `squared_error` regresses the target; `logistic` classifies its direction (target > 0)
   * and predicts P(up) − P(not up). Default `squared_error`.
   */
  loss?: 'squared_error' | 'logistic';
  /**
   * gbm, random_forest: threads building the trees' histograms, this one included; 0 = the step's
   * share of `fxflow run --jobs` (default: every core; 1 per variant when a sweep's variants run
   * side by side). Any count gives bit-identical models, so it is a speed setting only and not
   * part of the cache key. Default 0.
   * @integer
   * @minimum 0
   * @maximum 256
   */
  threads?: number;
  /**
   * random_forest: fraction of features drawn at each node. Default 1 (scikit-learn's default
   * for regression).
   * @exclusiveMinimum 0
   * @maximum 1
   */
  max_features?: number;
  /**
   * Neural kinds: where to train. `auto` takes the first that works of tfjs-node-gpu (a CUDA GPU),
   * tfjs-node (CPU), wasm, pure-JS cpu; `gpu` fails with the reason when no GPU backend loads;
   * `cpu` skips the GPU. The backend that ran is logged and stored with the model. Default `auto`.
   */
  device?: 'auto' | 'gpu' | 'cpu';
  /**
   * Neural kinds: bars per input window (the window ends at the bar whose targets it predicts and
   * never crosses a segment, fold or time-gap boundary). Default 32 (mlp: 8, autoencoder: 1).
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  lookback?: number;
  /**
   * Neural kinds: units per layer (LSTM/GRU state size, MLP width, TCN channels, transformer
   * model width; autoencoder: width of the stages between input and latent). Default 32 (mlp: 64).
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  hidden?: number;
  /**
   * Neural kinds: stacked layers (recurrent layers, hidden dense layers, convolution levels with
   * dilation 2^level, encoder blocks; autoencoder: encoding stages, the last `latent` wide and the
   * others `hidden` wide). Default 1 (mlp: 2, tcn: 3, autoencoder: 2).
   * @integer
   * @minimum 1
   * @maximum 64
   */
  layers?: number;
  /**
   * Neural kinds: passes over the training windows (autoencoder: per stage). Default 20
   * (autoencoder: 30).
   * @integer
   * @minimum 1
   * @maximum 100000
   */
  epochs?: number;
  /**
   * Neural kinds: windows per gradient step. Default 256.
   * @integer
   * @minimum 1
   * @maximum 1000000
   */
  batch_size?: number;
  /** Neural kinds: `adam`, or `adamw` (Adam with decoupled weight decay). Default `adam`. */
  optimizer?: 'adam' | 'adamw';
  /**
   * Neural kinds with `optimizer: adamw`: decoupled weight decay of the weight matrices, per step
   * times the learning rate. Default 0.01.
   * @minimum 0
   */
  weight_decay?: number;
  /**
   * Neural kinds: `constant`; `cosine` (linear warm-up over `warmup_epochs`, then cosine decay to
   * 0); `plateau` (halve the rate after 2 epochs without a better validation loss). Default
   * `constant`.
   */
  lr_schedule?: 'constant' | 'cosine' | 'plateau';
  /**
   * Neural kinds with `lr_schedule: cosine`: epochs of linear warm-up. Default 0.
   * @integer
   * @minimum 0
   * @maximum 100000
   */
  warmup_epochs?: number;
  /**
   * Neural kinds: clip the gradient to this global L2 norm; 0 = off. Default 1.
   * @minimum 0
   */
  clip_norm?: number;
  /**
   * Neural kinds: stop after this many epochs without a better validation loss and keep the best
   * epoch's weights; 0 = run every epoch. Default 5.
   * @integer
   * @minimum 0
   * @maximum 100000
   */
  patience?: number;
  /**
   * Neural kinds: batches whose gradients are averaged into one optimizer step. Default 1.
   * @integer
   * @minimum 1
   * @maximum 10000
   */
  grad_accum?: number;
  /**
   * Neural kinds: the longest time between consecutive bars a window may span, in hours. A
   * weekend (~49 h on FX) is within the default; a data outage longer than it splits windows.
   * Default 72.
   * @exclusiveMinimum 0
   */
  max_gap_hours?: number;
  /**
   * Neural kinds: checkpoints kept (after every epoch, in the store) besides the latest, the best
   * by validation loss. A killed run resumes from the latest when rerun. Default 2.
   * @integer
   * @minimum 1
   * @maximum 1000
   */
  keep_checkpoints?: number;
  /**
   * tcn: taps of each dilated causal convolution. Default 3.
   * @integer
   * @minimum 1
   * @maximum 64
   */
  kernel_size?: number;
  /**
   * transformer: attention heads; must divide `hidden`. Default 4.
   * @integer
   * @minimum 1
   * @maximum 256
   */
  heads?: number;
  /**
   * autoencoder: width of the latent vector, the features an `encode` step adds. Default 8.
   * @integer
   * @minimum 1
   * @maximum 4096
   */
  latent?: number;
}
