import { MODEL_DEFAULTS } from './defaults.generated.js';
import { binFold, fitGbm, gainImportance, gbmPredict, type GbmParams, type GbmState } from './gbm/gbm.js';
import { fitForest, forestPredict, type ForestState } from './gbm/forest.js';
import { fitElasticNetMulti, fitLogistic, sigmoid } from './linear.js';
import type { FoldData, ModelKind, ParamValue } from './kind.js';
import { fitRidgeMulti } from './ridge.js';

/** The linear and tree model kinds (listed in ./registry.ts). */

/** Fitted state of a linear model (ridge, ols, lasso, elastic_net, logistic) for one fold. */
export interface LinearState {
  /** Coefficients per target (parallel to targetNames), each parallel to featureNames. */
  coef: number[][];
  /** Intercept per target. */
  intercept: number[];
  /** `logistic`: the prediction is 2·σ(x·w + b) − 1 = P(up) − P(not up); absent: x·w + b. */
  link?: 'logistic';
}

export function linearPredict(s: LinearState, X: ArrayLike<number>, m: number, p: number): Float64Array[] {
  return s.coef.map((w, t) => {
    const out = new Float64Array(m);
    for (let r = 0; r < m; r++) {
      let z = s.intercept[t];
      for (let j = 0; j < p; j++) z += X[r * p + j] * w[j];
      out[r] = s.link === 'logistic' ? 2 * sigmoid(z) - 1 : z;
    }
    return out;
  });
}

function ridgeFit(d: FoldData, alpha: number, name: string): LinearState {
  const fit = fitRidgeMulti(d.X, d.n, d.p, d.Y, d.k, alpha, true, d.train, { threads: d.threads });
  if (fit.singular) {
    d.warn(
      `fold ${d.fold}: the normal equations are singular (${name}${alpha ? ` alpha ${alpha}` : ''}, ${d.train.end - d.train.start} rows, ${d.p} features, rank ${fit.rank}: ` +
        `a constant or duplicated feature?); took the minimum-norm least-squares solution`,
    );
  }
  return { coef: fit.coef.map((c) => Array.from(c)), intercept: [...fit.intercept] };
}

const num = (v: ParamValue): number => v as number;

const linearPredictAny = (s: unknown, X: ArrayLike<number>, m: number, p: number): Float64Array[] => linearPredict(s as LinearState, X, m, p);

export const ridge: ModelKind = {
  name: 'ridge',
  description: 'closed-form L2-penalised least squares (scikit-learn Ridge: unpenalised intercept)',
  defaults: { ...MODEL_DEFAULTS.ridge },
  seeded: false,
  fit: (d, prm) => ({ state: ridgeFit(d, num(prm.alpha), 'ridge') }),
  predict: linearPredictAny,
};

export const ols: ModelKind = {
  name: 'ols',
  description: 'ordinary least squares, closed form (minimum-norm solution when singular)',
  defaults: { ...MODEL_DEFAULTS.ols },
  seeded: false,
  fit: (d) => ({ state: ridgeFit(d, 0, 'ols') }),
  predict: linearPredictAny,
};

function enetFit(d: FoldData, alpha: number, l1Ratio: number, name: string): LinearState {
  const fits = fitElasticNetMulti(d.X, d.n, d.p, d.Y, d.k, alpha, l1Ratio, d.train, undefined, { threads: d.threads });
  fits.forEach((f, t) => {
    if (!f.converged) d.warn(`fold ${d.fold}, ${d.targetNames[t]}: ${name} coordinate descent stopped after ${f.iterations} sweeps without converging`);
  });
  return { coef: fits.map((f) => Array.from(f.coef)), intercept: fits.map((f) => f.intercept) };
}

export const lasso: ModelKind = {
  name: 'lasso',
  description: 'L1-penalised least squares by coordinate descent (scikit-learn Lasso)',
  defaults: { ...MODEL_DEFAULTS.lasso },
  seeded: false,
  fit: (d, prm) => ({ state: enetFit(d, num(prm.alpha), 1, 'lasso') }),
  predict: linearPredictAny,
};

export const elasticNet: ModelKind = {
  name: 'elastic_net',
  description: 'L1 + L2 penalised least squares by coordinate descent (scikit-learn ElasticNet)',
  defaults: { ...MODEL_DEFAULTS.elastic_net },
  seeded: false,
  fit: (d, prm) => ({ state: enetFit(d, num(prm.alpha), num(prm.l1_ratio), 'elastic_net') }),
  predict: linearPredictAny,
};

export const logistic: ModelKind = {
  name: 'logistic',
  description: 'L2 logistic regression of the direction (target > 0), scikit-learn LogisticRegression(C = 1/alpha); predicts P(up) − P(not up)',
  defaults: { ...MODEL_DEFAULTS.logistic },
  seeded: false,
  fit(d, prm) {
    const coef: number[][] = [];
    const intercept: number[] = [];
    for (let t = 0; t < d.k; t++) {
      const y = new Float64Array(d.n);
      for (let r = d.train.start; r < d.train.end; r++) y[r] = d.Y[r * d.k + t] > 0 ? 1 : 0;
      const f = fitLogistic(d.X, d.n, d.p, y, num(prm.alpha), d.train);
      if (!f.converged)
        d.warn(`fold ${d.fold}, ${d.targetNames[t]}: logistic regression did not converge in ${f.iterations} Newton steps (separable classes? raise alpha)`);
      coef.push(Array.from(f.coef));
      intercept.push(f.intercept);
    }
    const state: LinearState = { coef, intercept, link: 'logistic' };
    return { state };
  },
  predict: linearPredictAny,
};

/** Fitted state of a gbm for one fold: one boosted ensemble per target. */
export interface GbmFoldState {
  targets: GbmState[];
}

export function gbmParamsOf(prm: Record<string, ParamValue>): GbmParams {
  return {
    nEstimators: num(prm.n_estimators),
    learningRate: num(prm.learning_rate),
    maxDepth: num(prm.max_depth),
    maxLeaves: num(prm.max_leaves),
    growth: prm.growth as GbmParams['growth'],
    maxBins: num(prm.max_bins),
    lambda: num(prm.reg_lambda),
    minSplitGain: num(prm.min_split_gain),
    minChildWeight: num(prm.min_child_weight),
    subsample: num(prm.subsample),
    colsample: num(prm.colsample),
    earlyStoppingRounds: num(prm.early_stopping_rounds),
    loss: prm.loss as GbmParams['loss'],
    threads: num(prm.threads),
  };
}

export const gbm: ModelKind = {
  name: 'gbm',
  description: 'histogram gradient-boosted trees (XGBoost hist / LightGBM algorithm), early stopping on the validation rows',
  defaults: { ...MODEL_DEFAULTS.gbm },
  seeded: true,
  check(prm) {
    if (prm.growth === 'lossguide' && prm.max_leaves === 0 && prm.max_depth === 0) {
      return [{ path: ['max_leaves'], message: '`growth: lossguide` needs `max_leaves` or `max_depth` to bound the tree', hint: 'e.g. `max_leaves: 31`' }];
    }
    if (prm.growth === 'depthwise' && prm.max_depth === 0 && prm.max_leaves === 0) {
      return [{ path: ['max_depth'], message: '`growth: depthwise` needs `max_depth` or `max_leaves` to bound the tree', hint: 'e.g. `max_depth: 6`' }];
    }
    return [];
  },
  fit(d, prm) {
    const params = { ...gbmParamsOf(prm), threads: num(prm.threads) || (d.threads ?? 0) };
    const binned = binFold(d.X, d.p, d.train, params.maxBins);
    const targets: GbmState[] = [];
    for (let t = 0; t < d.k; t++) {
      targets.push(fitGbm(d.X, d.p, d.Y, d.k, t, d.train, d.val, binned, params, (d.seed + t * 0x9e3779b1) >>> 0, d.signal));
    }
    return { state: { targets } satisfies GbmFoldState, importance: targets.map((s) => gainImportance(s.trees, d.p)) };
  },
  predict: (s, X, m, p) => (s as GbmFoldState).targets.map((g) => gbmPredict(g, X, m, p)),
  // In the raw (margin) units: log-odds for the logistic loss.
  treeEnsembles: (s) => (s as GbmFoldState).targets.map((g) => ({ base: g.baseScore, scale: 1, trees: g.trees })),
};

/** Fitted state of a random forest for one fold: one forest per target. */
export interface ForestFoldState {
  targets: ForestState[];
}

export const randomForest: ModelKind = {
  name: 'random_forest',
  description: 'bagged regression trees on the histogram tree code (bootstrap rows, max_features per node)',
  defaults: { ...MODEL_DEFAULTS.random_forest },
  seeded: true,
  fit(d, prm) {
    const binned = binFold(d.X, d.p, d.train, num(prm.max_bins));
    const targets: ForestState[] = [];
    for (let t = 0; t < d.k; t++) {
      targets.push(
        fitForest(
          d.p,
          d.Y,
          d.k,
          t,
          d.train,
          binned,
          {
            nEstimators: num(prm.n_estimators),
            maxDepth: num(prm.max_depth),
            maxFeatures: num(prm.max_features),
            minChildWeight: num(prm.min_child_weight),
            threads: num(prm.threads) || (d.threads ?? 0),
          },
          (d.seed + t * 0x9e3779b1) >>> 0,
          d.signal,
        ),
      );
    }
    return { state: { targets } satisfies ForestFoldState, importance: targets.map((s) => gainImportance(s.trees, d.p)) };
  },
  predict: (s, X, m, p) => (s as ForestFoldState).targets.map((f) => forestPredict(f, X, m, p)),
  treeEnsembles: (s) => (s as ForestFoldState).targets.map((f) => ({ base: 0, scale: 1 / f.trees.length, trees: f.trees })),
};

export const BUILTIN_MODEL_KINDS: ModelKind[] = [ridge, ols, lasso, elasticNet, logistic, gbm, randomForest];
