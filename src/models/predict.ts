import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FeatureImportance, HorizonMetrics, Model, Scaler } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { specialKind } from '../core/files.js';
import './kinds.js';
import { getModelKind, modelKinds } from './registry.js';

/**
 * A trained model outside the store: `fxflow models export ID --out DIR` writes DIR/model.json,
 * and `loadModel` + `predict` score new rows with it, from raw (unscaled) feature values.
 *
 * ## model.json (format `fxflow-model`, formatVersion 1)
 *
 * ```
 * { format: "fxflow-model", formatVersion: 1,
 *   kind, params,                       // e.g. "gbm", { model: "gbm", max_depth: 6, … } (defaults filled)
 *   featureNames, targetNames, targetHorizons,
 *   folds: [ { scaler: { method, center[], scale[] }, state, online? } ],   // one per walk-forward fold, oldest first
 *   valMetrics, testMetrics?, importance?, source: { key, run?, pipeline?, step? } }
 * ```
 * A model trained with `online:` exports its newest fold's online learner's final state as that
 * fold's `state` (the batch fit is not exported), marked `online: { rows, through }` (rows absorbed
 * after the training rows; UTC epoch ms of the last): the model `fxflow predict` scores with.
 * A row is scored by fold f as: x' = (x − scaler.center) / scaler.scale per feature, then the
 * kind's state. States by kind:
 * - ridge, ols, lasso, elastic_net: `{ coef: number[target][feature], intercept: number[target] }`,
 *   prediction x'·coef + intercept; logistic adds `link: "logistic"`: prediction 2σ(z) − 1.
 * - gbm: `{ targets: [ { loss, baseScore, trees, rounds, valLoss } ] }`, per target
 *   z = baseScore + Σ tree(x'); prediction z, or 2σ(z) − 1 for `loss: "logistic"`.
 * - random_forest: `{ targets: [ { trees } ] }`, prediction = mean of tree(x').
 * A tree is parallel arrays over its nodes, node 0 the root: `feature` (−1 at a leaf), `threshold`,
 * `left`, `right`, `value`, plus `bin`, `gain`, `cover` for inspection. At an internal node a row
 * goes to `left` when x'[feature] <= threshold, else (also when NaN) to `right`; a leaf's `value`
 * (learning rate already applied) is the tree's output.
 */

export interface ExportedModel {
  format: 'fxflow-model';
  formatVersion: 1;
  kind: string;
  params: Record<string, unknown>;
  featureNames: string[];
  targetNames: string[];
  targetHorizons: number[];
  /** `online`: the state is the online learner's final one (Model.online), not the fold's batch fit. */
  folds: { scaler: Scaler; state: unknown; online?: { rows: number; through: number } }[];
  valMetrics: HorizonMetrics[];
  testMetrics?: HorizonMetrics[];
  importance?: FeatureImportance[];
  source: { key: string; run?: string; pipeline?: string; step?: string };
}

/** A Model artifact as the self-contained export format (typed arrays become plain arrays on JSON.stringify). */
export function toExported(m: Model, source: ExportedModel['source']): ExportedModel {
  const p = m.featureNames.length;
  const identity: Scaler = { method: 'none', center: new Array<number>(p).fill(0), scale: new Array<number>(p).fill(1) };
  return {
    format: 'fxflow-model',
    formatVersion: 1,
    kind: m.kind,
    params: m.params,
    featureNames: m.featureNames,
    targetNames: m.targetNames,
    targetHorizons: m.targetHorizons,
    folds: m.state.map((state, f) =>
      m.online?.fold === f
        ? { scaler: m.scalers?.[f] ?? identity, state: m.online.state, online: { rows: m.online.rows, through: m.online.through } }
        : { scaler: m.scalers?.[f] ?? identity, state },
    ),
    valMetrics: m.valMetrics,
    ...(m.testMetrics ? { testMetrics: m.testMetrics } : {}),
    ...(m.importance ? { importance: m.importance } : {}),
    source,
  };
}

/** JSON text of an exported model: typed arrays as arrays, non-finite numbers as null. */
export function exportedJson(e: ExportedModel): string {
  return JSON.stringify(e, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v), 1);
}

/** Reads DIR/model.json (or the file itself) written by `fxflow models export`. */
export function loadModel(where: string): ExportedModel {
  let file = where;
  try {
    if (statSync(where).isDirectory()) file = path.join(where, 'model.json');
  } catch {
    throw new RunError(`no exported model at ${where}`, { hint: 'write one with `fxflow models export ID --out DIR`' });
  }
  // A named pipe or a device would block or never end.
  try {
    const st = statSync(file);
    if (!st.isFile())
      throw new RunError(`the model ${file} is not a regular file (a ${specialKind(st)})`, { hint: 'point at a model.json written by `fxflow models export`' });
  } catch (e) {
    if (e instanceof RunError) throw e;
  }
  let m: ExportedModel;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as ExportedModel;
  } catch (e) {
    throw new RunError(`cannot read the model ${file}: ${(e as Error).message}`, { hint: 'is it a model.json written by `fxflow models export`?' });
  }
  if (m.format !== 'fxflow-model' || m.formatVersion !== 1) {
    throw new RunError(`${file} is not an fxflow model (format ${String(m.format)} ${String(m.formatVersion)})`, {
      hint: 'expected format "fxflow-model", formatVersion 1',
    });
  }
  return m;
}

/** Rows to score: raw feature values, as rows (`number[][]`), row-major, or columns by feature name. */
export type PredictRows = number[][] | { X: ArrayLike<number>; rows: number } | Record<string, ArrayLike<number>>;

export interface PredictOptions {
  /** Which fold's model scores the rows; default the last (the most recent walk-forward fold). */
  fold?: number;
}

/**
 * Predictions of every target for raw feature rows, by an exported model or a Model artifact:
 * the fold's scaler is applied, then the model. Returns target name → one prediction per row.
 */
export function predict(model: ExportedModel | Model, rows: PredictRows, opts: PredictOptions = {}): Record<string, Float64Array> {
  const folds = 'folds' in model ? model.folds : toExported(model as Model, { key: '' }).folds;
  const kind = getModelKind(model.kind);
  if (!kind)
    throw new RunError(`unknown model kind \`${model.kind}\``, {
      hint: `this fxflow knows ${modelKinds()
        .map((k) => k.name)
        .join(', ')}`,
    });
  // Each fold's state of a by-regime model is one state per regime (src/steps/train/by-regime.ts): scoring it with the kind's predict would be wrong.
  if (typeof model.params.by_regime === 'string')
    throw new RunError(`a by_regime model cannot be predicted yet (it was trained with \`by_regime: ${model.params.by_regime}\`)`, {
      hint: 'train without `by_regime` to score new rows; the exported JSON holds each regime’s state for a scorer of your own',
    });
  const f = opts.fold ?? folds.length - 1;
  if (!(Number.isInteger(f) && f >= 0 && f < folds.length))
    throw new RunError(`the model has ${folds.length} fold(s); fold ${f} does not exist`, { hint: `pick 0..${folds.length - 1}` });
  const names = model.featureNames;
  const p = names.length;
  let m: number;
  let get: (r: number, j: number) => number;
  if (Array.isArray(rows)) {
    m = rows.length;
    rows.forEach((row, r) => {
      if (row.length !== p) throw new RunError(`row ${r} has ${row.length} values; the model takes ${p} features (${names.join(', ')})`);
    });
    get = (r, j) => rows[r][j];
  } else if ('X' in rows && 'rows' in rows && typeof rows.rows === 'number') {
    const { X } = rows as { X: ArrayLike<number>; rows: number };
    m = (rows as { rows: number }).rows;
    if (X.length !== m * p) throw new RunError(`X has ${X.length} values, expected ${m} rows × ${p} features`);
    get = (r, j) => X[r * p + j];
  } else {
    const cols = rows as Record<string, ArrayLike<number>>;
    const missing = names.filter((n) => !Object.hasOwn(cols, n));
    if (missing.length)
      throw new RunError(`missing feature column(s) ${missing.map((x) => `\`${x}\``).join(', ')}`, { hint: `the model takes ${names.join(', ')}` });
    m = cols[names[0]]?.length ?? 0;
    get = (r, j) => cols[names[j]][r];
  }
  const { scaler, state } = folds[f];
  const Xs = new Float64Array(m * p);
  for (let r = 0; r < m; r++) for (let j = 0; j < p; j++) Xs[r * p + j] = (get(r, j) - scaler.center[j]) / scaler.scale[j];
  const preds = kind.predict(state, Xs, m, p);
  const out: Record<string, Float64Array> = {};
  model.targetNames.forEach((t, i) => (out[t] = preds[i]));
  return out;
}
