import { MODEL_DEFAULTS } from './defaults.generated.js';
import { binFold, fitGbm, gainImportance, gbmPredict, type GbmParams, type GbmState } from './gbm/gbm.js';
import { fitForest, forestPredict, type ForestState } from './gbm/forest.js';
import { fitElasticNetMulti, fitLogistic, sigmoid } from './linear.js';
import type { FoldData, ModelKind, ParamValue } from './kind.js';
import type { ParamIssue } from '../core/diagnostics.js';
import { quantileForecast, rearrangeQuantiles } from '../core/distribution.js';
import { fitRidgeMulti } from './ridge.js';
import { fitQuantReg } from './quantreg.js';

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
  rowwise: true,
  fit: (d, prm) => ({ state: ridgeFit(d, num(prm.alpha), 'ridge') }),
  predict: linearPredictAny,
};

export const ols: ModelKind = {
  name: 'ols',
  description: 'ordinary least squares, closed form (minimum-norm solution when singular)',
  defaults: { ...MODEL_DEFAULTS.ols },
  seeded: false,
  rowwise: true,
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
  rowwise: true,
  fit: (d, prm) => ({ state: enetFit(d, num(prm.alpha), 1, 'lasso') }),
  predict: linearPredictAny,
};

export const elasticNet: ModelKind = {
  name: 'elastic_net',
  description: 'L1 + L2 penalised least squares by coordinate descent (scikit-learn ElasticNet)',
  defaults: { ...MODEL_DEFAULTS.elastic_net },
  seeded: false,
  rowwise: true,
  fit: (d, prm) => ({ state: enetFit(d, num(prm.alpha), num(prm.l1_ratio), 'elastic_net') }),
  predict: linearPredictAny,
};

export const logistic: ModelKind = {
  name: 'logistic',
  description: 'L2 logistic regression of the direction (target > 0), scikit-learn LogisticRegression(C = 1/alpha); predicts P(up) − P(not up)',
  defaults: { ...MODEL_DEFAULTS.logistic },
  seeded: false,
  rowwise: true,
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
  /**
   * With `quantiles:`: the levels, and per target one pinball-loss ensemble per level; `targets`
   * is then empty and the point forecast is the median of the quantile function.
   */
  quantiles?: { levels: number[]; targets: GbmState[][] };
}

/** The `quantiles:` param: ascending distinct levels in (0, 1), or [] (point forecasts). */
export function quantileLevels(v: ParamValue | undefined): number[] {
  return Array.isArray(v) ? [...new Set(v as number[])].sort((a, b) => a - b) : [];
}

/** Checks `quantiles:` (each level in (0, 1), no repeats). */
export function checkQuantiles(prm: Record<string, ParamValue>): ParamIssue[] {
  const v = prm.quantiles;
  if (!Array.isArray(v) || v.length === 0) return [];
  const bad = (v as number[]).findIndex((x) => !(x > 0 && x < 1));
  if (bad >= 0) return [{ path: ['quantiles', bad], message: `quantile level ${v[bad]} is not in (0, 1)`, hint: 'e.g. `quantiles: [0.05, 0.5, 0.95]`' }];
  if (new Set(v).size !== v.length) return [{ path: ['quantiles'], message: 'a quantile level is listed twice' }];
  return [];
}

/**
 * Quantile forecasts of m rows from per-level predictions (each a function of the level's model),
 * rearranged into ascending order where fitted levels cross; also the median of each row.
 */
export function quantileRows(
  levels: readonly number[],
  k: number,
  m: number,
  predictLevel: (t: number, j: number) => Float64Array,
): { values: Float64Array[]; median: Float64Array[] } {
  const L = levels.length;
  const values: Float64Array[] = [];
  const median: Float64Array[] = [];
  for (let t = 0; t < k; t++) {
    const v = new Float64Array(m * L);
    for (let j = 0; j < L; j++) {
      const q = predictLevel(t, j);
      for (let r = 0; r < m; r++) v[r * L + j] = q[r];
    }
    rearrangeQuantiles(v, L);
    const med = new Float64Array(m);
    const at = levels.indexOf(0.5);
    for (let r = 0; r < m; r++) med[r] = at >= 0 ? v[r * L + at] : quantileForecast(levels, v.subarray(r * L, (r + 1) * L)).quantile(0.5);
    values.push(v);
    median.push(med);
  }
  return { values, median };
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
  rowwise: true,
  check(prm) {
    const q = checkQuantiles(prm);
    if (q.length) return q;
    if (prm.loss === 'logistic' && quantileLevels(prm.quantiles).length)
      return [{ path: ['quantiles'], message: '`quantiles:` needs `loss: squared_error` (each level is fitted with the pinball loss instead)' }];
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
    const levels = quantileLevels(prm.quantiles);
    if (levels.length) {
      // One pinball-loss ensemble per target and level (LightGBM's objective: quantile).
      const q = Array.from({ length: d.k }, (_, t) =>
        levels.map((alpha, j) =>
          fitGbm(
            d.X,
            d.p,
            d.Y,
            d.k,
            t,
            d.train,
            d.val,
            binned,
            { ...params, loss: 'quantile', alpha },
            (d.seed + t * 0x9e3779b1 + j * 0x7f4a7c15) >>> 0,
            d.signal,
          ),
        ),
      );
      const importance = q.map((ts) => {
        const imp = new Float64Array(d.p);
        for (const s of ts) gainImportance(s.trees, d.p).forEach((v, i) => (imp[i] += v));
        return imp;
      });
      return { state: { targets: [], quantiles: { levels, targets: q } } satisfies GbmFoldState, importance };
    }
    const targets: GbmState[] = [];
    for (let t = 0; t < d.k; t++) {
      targets.push(fitGbm(d.X, d.p, d.Y, d.k, t, d.train, d.val, binned, params, (d.seed + t * 0x9e3779b1) >>> 0, d.signal));
    }
    return { state: { targets } satisfies GbmFoldState, importance: targets.map((s) => gainImportance(s.trees, d.p)) };
  },
  predict(s, X, m, p) {
    const st = s as GbmFoldState;
    if (st.quantiles) return gbmQuantiles(st.quantiles, X, m, p).median;
    return st.targets.map((g) => gbmPredict(g, X, m, p));
  },
  // In the raw (margin) units: log-odds for the logistic loss (quantile models: not explained).
  treeEnsembles: (s) => (s as GbmFoldState).targets.map((g) => ({ base: g.baseScore, scale: 1, trees: g.trees })),
  predictDistribution(s, X, m, p) {
    const q = (s as GbmFoldState).quantiles;
    return q && { quantiles: { levels: [...q.levels], values: gbmQuantiles(q, X, m, p).values } };
  },
};

function gbmQuantiles(q: NonNullable<GbmFoldState['quantiles']>, X: ArrayLike<number>, m: number, p: number) {
  return quantileRows(q.levels, q.targets.length, m, (t, j) => gbmPredict(q.targets[t][j], X, m, p));
}

/** Fitted state of a random forest for one fold: one forest per target. */
export interface ForestFoldState {
  targets: ForestState[];
}

export const randomForest: ModelKind = {
  name: 'random_forest',
  description: 'bagged regression trees on the histogram tree code (bootstrap rows, max_features per node)',
  defaults: { ...MODEL_DEFAULTS.random_forest },
  seeded: true,
  rowwise: true,
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

/** Fitted state of a linear quantile regression for one fold: per target, one linear model per level. */
export interface LinearQuantileState {
  levels: number[];
  /** Per target, per level. */
  models: LinearState[][];
}

function linearQuantiles(s: LinearQuantileState, X: ArrayLike<number>, m: number, p: number) {
  const perLevel = s.levels.map((_, j) =>
    linearPredict({ coef: s.models.map((t) => t[j].coef[0]), intercept: s.models.map((t) => t[j].intercept[0]) }, X, m, p),
  );
  return quantileRows(s.levels, s.models.length, m, (t, j) => perLevel[j][t]);
}

export const linearQuantile: ModelKind = {
  name: 'linear_quantile',
  description: 'linear quantile regression per level (pinball loss; statsmodels QuantReg), levels kept in order; predicts the median',
  defaults: { ...MODEL_DEFAULTS.linear_quantile },
  seeded: false,
  rowwise: true,
  check: checkQuantiles,
  fit(d, prm) {
    const levels = quantileLevels(prm.quantiles);
    const models = Array.from({ length: d.k }, (_, t) =>
      levels.map((tau): LinearState => {
        const f = fitQuantReg(d.X, d.p, d.Y, d.k, t, d.train, tau, { maxIter: num(prm.max_iter), tol: num(prm.tol) });
        if (!f.converged)
          d.warn(`fold ${d.fold}, ${d.targetNames[t]}: quantile regression at level ${tau} stopped after ${f.iterations} iterations without converging`);
        return { coef: [Array.from(f.coef)], intercept: [f.intercept] };
      }),
    );
    return { state: { levels, models } satisfies LinearQuantileState };
  },
  predict: (s, X, m, p) => linearQuantiles(s as LinearQuantileState, X, m, p).median,
  predictDistribution(s, X, m, p) {
    const st = s as LinearQuantileState;
    return { quantiles: { levels: [...st.levels], values: linearQuantiles(st, X, m, p).values } };
  },
};

export const BUILTIN_MODEL_KINDS: ModelKind[] = [ridge, ols, lasso, elasticNet, logistic, linearQuantile, gbm, randomForest];
