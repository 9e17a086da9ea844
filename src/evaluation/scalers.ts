import type { Dataset, RowRange, Scaler } from '../core/artifacts.js';

export type ScaleMethod = Scaler['method'];

/**
 * Feature scalers, fitted on a fold's training rows only and stored with the dataset, so training,
 * validation, test and later inference apply the same transform x' = (x − center) / scale.
 *
 * - `zscore` (scikit-learn StandardScaler): center = mean, scale = population std (ddof 0).
 * - `robust` (RobustScaler): center = median, scale = interquartile range q75 − q25, quantiles by
 *   linear interpolation between order statistics (NumPy's default `percentile`).
 * - `minmax` (MinMaxScaler to [0, 1]): center = min, scale = max − min.
 * - `none`: center 0, scale 1.
 *
 * A zero scale (a constant feature on the training rows) becomes 1, so the feature maps to a
 * constant instead of NaN, as scikit-learn does.
 */
export function fitScaler(X: Float64Array, p: number, rows: RowRange | readonly RowRange[], method: ScaleMethod): Scaler {
  const ranges: readonly RowRange[] = Array.isArray(rows) ? rows : [rows as RowRange];
  const center = new Array<number>(p).fill(0);
  const scale = new Array<number>(p).fill(1);
  if (method === 'none') return { method, center, scale };
  let m = 0;
  for (const r of ranges) m += Math.max(0, r.end - r.start);
  if (method === 'zscore' || method === 'minmax') {
    // Row by row, one accumulator per column: each column's values are still added in row order
    // (the same sums as a column at a time), but the row-major matrix is read sequentially instead
    // of p times with a stride of p values (a cache miss per value).
    const a = new Float64Array(p);
    const b = new Float64Array(p);
    if (method === 'zscore') {
      for (const r of ranges) for (let row = r.start; row < r.end; row++) for (let j = 0, o = row * p; j < p; j++) a[j] += X[o + j];
      for (let j = 0; j < p; j++) a[j] /= m;
      for (const r of ranges)
        for (let row = r.start; row < r.end; row++)
          for (let j = 0, o = row * p; j < p; j++) {
            const d = X[o + j] - a[j];
            b[j] += d * d;
          }
      for (let j = 0; j < p; j++) {
        const s = Math.sqrt(b[j] / m);
        center[j] = a[j];
        scale[j] = s > 0 ? s : 1;
      }
    } else {
      a.fill(Infinity);
      b.fill(-Infinity);
      for (const r of ranges)
        for (let row = r.start; row < r.end; row++)
          for (let j = 0, o = row * p; j < p; j++) {
            const v = X[o + j];
            if (v < a[j]) a[j] = v;
            if (v > b[j]) b[j] = v;
          }
      for (let j = 0; j < p; j++) {
        const s = b[j] - a[j];
        center[j] = a[j];
        scale[j] = s > 0 ? s : 1;
      }
    }
    return { method, center, scale };
  }
  const col = new Float64Array(m);
  for (let j = 0; j < p; j++) {
    let i = 0;
    for (const r of ranges) for (let row = r.start; row < r.end; row++) col[i++] = X[row * p + j];
    const sorted = col.slice().sort();
    const c = quantileSorted(sorted, 0.5);
    const s = quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25);
    center[j] = c;
    scale[j] = s > 0 ? s : 1;
  }
  return { method, center, scale };
}

/** The q-quantile of sorted values, interpolating linearly between order statistics at q·(m − 1). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (m === 0) return NaN;
  const pos = q * (m - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(m - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Applies a scaler in place to every row of a row-major n × p matrix. */
export function applyScaler(X: Float64Array, p: number, scaler: Scaler): void {
  if (scaler.method === 'none') return;
  const n = X.length / p;
  for (let r = 0; r < n; r++) {
    const o = r * p;
    for (let j = 0; j < p; j++) X[o + j] = (X[o + j] - scaler.center[j]) / scaler.scale[j];
  }
}

/**
 * The features of every row scaled with fold f's scaler (row-major n × p). `dataset.X` is scaled with
 * fold 0's; a dataset whose folds have their own scalers also carries the unscaled `raw` matrix, and
 * fold f's matrix is computed from it. Returns `dataset.X` itself when it already is fold f's.
 */
export function foldFeatures(dataset: Dataset, f: number): Float64Array {
  const scaler = dataset.folds[f].scaler;
  if (f === 0 || !dataset.raw || sameScaler(scaler, dataset.folds[0].scaler)) return dataset.X;
  const X = dataset.raw.slice();
  applyScaler(X, dataset.featureNames.length, scaler);
  return X;
}

/** True when two scalers apply the same transform (bit-equal centers and scales). */
export function sameScaler(a: Scaler, b: Scaler): boolean {
  if (a.method !== b.method) return false;
  if (a.method === 'none') return true;
  for (let j = 0; j < a.center.length; j++) {
    if (!Object.is(a.center[j], b.center[j]) || !Object.is(a.scale[j], b.scale[j])) return false;
  }
  return true;
}
