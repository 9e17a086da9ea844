import type { Dataset, RowRange } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import type { FoldData, ModelKind, ParamValue } from '../../models/registry.js';

/**
 * `train … by_regime: <column>`: one model per value of an integer regime column, each fold's
 * rows routed by the regime at their bar. Only kinds that score a row from its own features (no
 * windows of earlier bars: a regime's rows are not contiguous) take it.
 */
const TABULAR = new Set(['ridge', 'ols', 'lasso', 'elastic_net', 'logistic', 'gbm', 'random_forest']);

/** What a by-regime fold stores in Model.state: each regime's fitted state, and the all-rows fallback when one was needed. */
export interface ByRegimeFoldState {
  byRegime: string;
  /** Feature names each model was fitted on (the dataset's, less the regime column). */
  featureNames: string[];
  /** Regime values with a model of their own, ascending, parallel to `models`. */
  regimes: number[];
  models: unknown[];
  /** Training rows of each regime of `regimes`. */
  rows: number[];
  /** The model fitted on all the fold's training rows, used for regimes with too few rows (absent when none needed it). */
  fallback?: unknown;
}

/** The regime of every row (raw, unscaled values of the column) and the column's position. */
export interface RegimeColumn {
  name: string;
  j: number;
  values: Int32Array;
}

/** Fewest training rows a regime needs for a model of its own (else the all-rows model is used). */
export function minRegimeRows(features: number): number {
  return Math.max(2 * features, 30);
}

/** The regime column's raw values, checked: the column exists, the kind is tabular, no `online:`, integer values. */
export function regimeColumn(dataset: Dataset, name: string, kind: string, online: boolean): RegimeColumn {
  if (!TABULAR.has(kind))
    throw new RunError(`\`by_regime\` does not apply to model \`${kind}\``, {
      hint: `one model per regime exists for ${[...TABULAR].join(', ')} (a regime's rows are not contiguous, so windowed networks cannot be fitted on them); remove \`by_regime\``,
    });
  if (online) throw new RunError('`by_regime` and `online:` cannot be combined', { hint: 'remove one of them' });
  const j = dataset.featureNames.indexOf(name);
  if (j < 0)
    throw new RunError(`\`by_regime: ${name}\`: the dataset has no feature column \`${name}\``, {
      hint: `add a \`regime\` step before split (its \`regime_state\` column), or pick one of: ${dataset.featureNames.join(', ')}`,
    });
  const p = dataset.featureNames.length;
  const n = dataset.index.length;
  // X is scaled (by the first fold's scaler); the raw column is dataset.raw when the split keeps
  // it, else the scaling undone, rounded: a regime label is an integer, and (x − c)/s·s + c is
  // within rounding error of it.
  const s = dataset.folds[0]?.scaler;
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const x = dataset.raw ? dataset.raw[i * p + j] : dataset.X[i * p + j] * (s?.scale[j] ?? 1) + (s?.center[j] ?? 0);
    const r = Math.round(x);
    if (!Number.isFinite(x) || Math.abs(x - r) > 1e-6 * Math.max(1, Math.abs(r)))
      throw new RunError(`\`by_regime: ${name}\`: row ${i} holds ${x}, not an integer regime label`, {
        hint: 'name an integer regime column, e.g. the `regime` step’s `regime_state` (not a probability `regime_p<k>`)',
      });
    values[i] = r;
  }
  return { name, j, values };
}

/** Rows of `ranges` whose regime is r (all rows when r is undefined), in order. */
function rowsOf(ranges: readonly RowRange[], regimes: Int32Array, r: number | undefined): number[] {
  const rows: number[] = [];
  for (const rg of ranges) for (let i = rg.start; i < rg.end; i++) if (r === undefined || regimes[i] === r) rows.push(i);
  return rows;
}

/** The given rows' features without column j, row-major. */
function gatherX(X: Float64Array, p: number, j: number, rows: readonly number[]): Float64Array {
  const q = p - 1;
  const out = new Float64Array(rows.length * q);
  rows.forEach((row, i) => {
    const o = row * p;
    out.set(X.subarray(o, o + j), i * q);
    out.set(X.subarray(o + j + 1, o + p), i * q + j);
  });
  return out;
}

function gatherY(Y: Float64Array, k: number, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length * k);
  rows.forEach((row, i) => out.set(Y.subarray(row * k, row * k + k), i * k));
  return out;
}

export interface ByRegimeFit {
  state: ByRegimeFoldState;
  /** Importance per target over the dataset's p features (the regime column's is 0), summed over the regimes' models. */
  importance?: Float64Array[];
  /** Predictions of a range's rows, each by the model of its regime, one array per target. */
  predict(range: RowRange): Float64Array[];
}

/**
 * Fits fold f's models: one per regime on its training rows (early stopping on its validation
 * rows), the regime column left out (constant within a regime). Regimes with too few training
 * rows, and any regime seen only in the scored rows, are scored by a model fitted on all the
 * training rows, with a warning.
 */
export async function fitByRegime(
  kind: ModelKind,
  params: Record<string, ParamValue>,
  dataset: Dataset,
  Xf: Float64Array,
  train: readonly RowRange[],
  val: RowRange,
  scored: readonly RowRange[],
  col: RegimeColumn,
  base: Omit<FoldData, 'X' | 'n' | 'p' | 'Y' | 'k' | 'featureNames' | 'targetNames' | 'train' | 'val' | 'seed' | 'index' | 'trainPieces'>,
  seed: number,
): Promise<ByRegimeFit> {
  const p = dataset.featureNames.length;
  const k = dataset.targetNames.length;
  const q = p - 1;
  const featureNames = dataset.featureNames.filter((_, j) => j !== col.j);
  const fitOn = async (r: number | undefined, s: number) => {
    const tr = rowsOf(train, col.values, r);
    const va = rowsOf([val], col.values, r);
    const rows = [...tr, ...va];
    return kind.fit(
      {
        ...base,
        X: gatherX(Xf, p, col.j, rows),
        n: rows.length,
        p: q,
        Y: gatherY(dataset.Y, k, rows),
        k,
        featureNames,
        targetNames: dataset.targetNames,
        train: { start: 0, end: tr.length },
        val: { start: tr.length, end: rows.length },
        seed: s,
        index: Float64Array.from(rows, (i) => dataset.index[i]),
      },
      params,
    );
  };

  // Training rows per regime, and the regimes the scored rows need.
  const count = new Map<number, number>();
  for (const i of rowsOf(train, col.values, undefined)) count.set(col.values[i], (count.get(col.values[i]) ?? 0) + 1);
  const needed = new Set<number>(count.keys());
  for (const i of rowsOf([val, ...scored], col.values, undefined)) needed.add(col.values[i]);
  const min = minRegimeRows(q);
  const state: ByRegimeFoldState = { byRegime: col.name, featureNames, regimes: [], models: [], rows: [] };
  let importance: Float64Array[] | undefined;
  const addImportance = (imp: Float64Array[] | undefined): void => {
    if (!imp) return;
    importance ??= dataset.targetNames.map(() => new Float64Array(p));
    imp.forEach((v, t) => v.forEach((x, jj) => (importance![t][jj < col.j ? jj : jj + 1] += x)));
  };
  let fallbackNeeded = false;
  for (const [i, r] of [...needed].sort((a, b) => a - b).entries()) {
    const rows = count.get(r) ?? 0;
    if (rows < min) {
      base.warn(
        `fold ${base.fold}: regime ${col.name} = ${r} has ${rows} training row${rows === 1 ? '' : 's'} (fewer than ${min}): its rows are predicted by the model fitted on all training rows`,
      );
      fallbackNeeded = true;
      continue;
    }
    const fit = await fitOn(r, (seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0);
    state.regimes.push(r);
    state.models.push(fit.state);
    state.rows.push(rows);
    addImportance(fit.importance);
  }
  if (fallbackNeeded) {
    const fit = await fitOn(undefined, seed);
    state.fallback = fit.state;
    addImportance(fit.importance);
  }

  const predict = (range: RowRange): Float64Array[] => {
    const m = Math.max(0, range.end - range.start);
    const out = dataset.targetNames.map(() => new Float64Array(m));
    const groups = new Map<number, number[]>();
    for (let i = range.start; i < range.end; i++) {
      const at = state.regimes.indexOf(col.values[i]);
      const g = groups.get(at) ?? [];
      g.push(i);
      groups.set(at, g);
    }
    for (const [at, rows] of groups) {
      const model = at >= 0 ? state.models[at] : state.fallback;
      const pr = kind.predict(
        model,
        gatherX(Xf, p, col.j, rows),
        rows.length,
        q,
        Float64Array.from(rows, (i) => dataset.index[i]),
      );
      for (let t = 0; t < k; t++) rows.forEach((row, ii) => (out[t][row - range.start] = pr[t][ii]));
    }
    return out;
  };
  return { state, importance, predict };
}
