import type { Dataset, FeatureImportance, RowRange, ShapDependence } from '../../core/artifacts.js';
import { permutationImportance } from '../../evaluation/importance.js';
import type { ModelKind } from '../../models/kind.js';
import { ensembleShap } from '../../models/treeshap.js';
import type { ExplainParams } from './params.js';

/** Features whose SHAP dependence is kept for the report. */
const TOP = 3;

/**
 * `explain:` of the train step: permutation importance and TreeSHAP on each fold's most recent
 * validation rows, averaged over folds weighted by their rows; the SHAP dependence of the top
 * features from the newest fold.
 */
export class Explainer {
  private readonly p: number;
  private readonly k: number;
  private readonly perm: Float64Array[];
  private readonly shap: Float64Array[];
  private rowsPerm = 0;
  private rowsShap = 0;
  private dependence: ShapDependence[] = [];

  constructor(
    private readonly dataset: Dataset,
    private readonly params: ExplainParams,
    private readonly kind: ModelKind,
  ) {
    this.p = dataset.featureNames.length;
    this.k = dataset.targetNames.length;
    this.perm = dataset.targetNames.map(() => new Float64Array(this.p));
    this.shap = dataset.targetNames.map(() => new Float64Array(this.p));
  }

  /** Explains fold f's fitted state on its validation rows (Xf: the fold's scaled features). */
  addFold(f: number, state: unknown, Xf: Float64Array, val: RowRange, seed: number): void {
    const { p, k, dataset, kind } = this;
    const m = Math.min(this.params.rows, Math.max(0, val.end - val.start));
    if (m === 0) return;
    const start = val.end - m;
    const X = Xf.subarray(start * p, val.end * p);
    const index = dataset.index.subarray(start, val.end);
    if (this.params.permutation > 0) {
      const actual = dataset.targetNames.map((_, t) => Float64Array.from({ length: m }, (_, i) => dataset.Y[(start + i) * k + t]));
      const imp = permutationImportance((Z, rows) => kind.predict(state, Z, rows, p, index), X, m, p, actual, this.params.permutation, seed);
      imp.mean.forEach((v, t) => v.forEach((x, j) => (this.perm[t][j] += x * m)));
      this.rowsPerm += m;
    }
    const ensembles = this.params.shap && kind.treeEnsembles ? kind.treeEnsembles(state) : [];
    // Quantile gbm keeps one ensemble per level and none per target: not explained by SHAP.
    if (ensembles.length === this.k) {
      let first: Float64Array | undefined;
      ensembles.forEach((e, t) => {
        const { values } = ensembleShap(e, X, m, p);
        if (t === 0) first = values;
        for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) this.shap[t][j] += Math.abs(values[i * p + j]);
      });
      this.rowsShap += m;
      if (first) this.dependence = this.dependenceOf(f, first, X, m);
    }
  }

  /** The first target's SHAP values against the raw values of its top features (by this fold's mean |SHAP|). */
  private dependenceOf(f: number, values: Float64Array, X: Float64Array, m: number): ShapDependence[] {
    const { p, dataset } = this;
    const meanAbs = new Float64Array(p);
    for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) meanAbs[j] += Math.abs(values[i * p + j]);
    const top = Array.from({ length: p }, (_, j) => j)
      .sort((a, b) => meanAbs[b] - meanAbs[a] || a - b)
      .slice(0, TOP)
      .filter((j) => meanAbs[j] > 0);
    const scaler = dataset.folds[f].scaler;
    return top.map((j) => ({
      target: dataset.targetNames[0],
      feature: dataset.featureNames[j],
      // The feature as the user knows it: the fold's scaling undone.
      x: Float64Array.from({ length: m }, (_, i) => X[i * p + j] * (scaler?.scale[j] ?? 1) + (scaler?.center[j] ?? 0)),
      shap: Float64Array.from({ length: m }, (_, i) => values[i * p + j]),
    }));
  }

  /** The importances measured (per target and method) and the dependence data. */
  result(): { importance: FeatureImportance[]; dependence: ShapDependence[] } {
    const importance: FeatureImportance[] = [];
    const names = this.dataset.targetNames;
    if (this.rowsPerm)
      names.forEach((target, t) => importance.push({ target, method: 'permutation', values: Array.from(this.perm[t], (v) => v / this.rowsPerm) }));
    if (this.rowsShap) names.forEach((target, t) => importance.push({ target, method: 'shap', values: Array.from(this.shap[t], (v) => v / this.rowsShap) }));
    return { importance, dependence: this.dependence };
  }
}
