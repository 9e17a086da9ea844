import type { RowRange } from '../core/artifacts.js';
import { centredGramSimd, type GramParts, type GramRows } from './gram.js';
import { solveSpd } from './linalg.js';

/**
 * Closed-form ridge regression, scikit-learn's `Ridge` convention: the intercept is not penalised.
 * With an intercept, X and y are centred on the fitted rows, (XcᵀXc + αI) w = Xcᵀyc is solved by
 * Cholesky and the intercept is ȳ − x̄·w. α = 0 is ordinary least squares.
 */

export interface RidgeFit {
  coef: Float64Array;
  intercept: number;
}

export interface RidgeFitMulti {
  /** One coefficient vector (length p) per target. */
  coef: Float64Array[];
  /** One intercept per target. */
  intercept: number[];
  /** True when the system was singular (e.g. OLS with a constant or duplicated feature): the minimum-norm solution was taken. */
  singular: boolean;
  /** Rank of the (centred) normal equations as solved. */
  rank: number;
}

/**
 * How the normal equations are formed: `path` 'auto' takes the WebAssembly SIMD kernel (gram.ts)
 * where the runtime has it and the JavaScript loops otherwise ('js' forces those); `threads`
 * counts the calling thread (0 or absent: one per core). Neither changes the result beyond
 * rounding, and the thread count not at all.
 */
export interface GramOptions {
  path?: 'auto' | 'js';
  threads?: number;
}

/** Which rows to fit on: a half-open range, or an explicit list of row numbers. Default: all rows. */
export type RowSelection = RowRange | Uint32Array | Int32Array;

/** Number of selected rows and the row number of the i-th of them, without copying X. */
export function rowsOf(sel: RowSelection | undefined, n: number): { count: number; row: (i: number) => number } {
  if (sel === undefined) return { count: n, row: (i) => i };
  if (sel instanceof Uint32Array || sel instanceof Int32Array) {
    const list = sel;
    for (let i = 0; i < list.length; i++) {
      if (!(list[i] >= 0 && list[i] < n)) throw new RangeError(`row ${list[i]} is outside 0..${n - 1}`);
    }
    return { count: list.length, row: (i) => list[i] };
  }
  const r = sel;
  if (!(r.start >= 0 && r.end <= n && r.start <= r.end)) throw new RangeError(`row range [${r.start}, ${r.end}) is outside 0..${n}`);
  const start = r.start;
  return { count: r.end - r.start, row: (i) => start + i };
}

/**
 * Fits one ridge per target column of a row-major n × k target matrix Y, sharing one factorisation
 * (the Gram matrix does not depend on the target). X is row-major n × p.
 */
export function fitRidgeMulti(
  X: Float64Array,
  n: number,
  p: number,
  Y: Float64Array,
  k: number,
  alpha: number,
  fitIntercept = true,
  rows?: RowSelection,
  opts: GramOptions = {},
): RidgeFitMulti {
  if (X.length !== n * p) throw new RangeError(`X has ${X.length} values, expected n·p = ${n * p}`);
  if (Y.length !== n * k) throw new RangeError(`Y has ${Y.length} values, expected n·k = ${n * k}`);
  if (!(alpha >= 0)) throw new RangeError(`alpha must be ≥ 0, got ${alpha}`);
  const { G: A, q: b, xMean, yMean } = centredGram(X, n, p, Y, k, fitIntercept, rows, opts);
  for (let j = 0; j < p; j++) A[j * p + j] += alpha;

  const { x: coef, singular, rank } = p === 0 ? { x: b.map(() => new Float64Array(0)), singular: false, rank: 0 } : solveSpd(A, p, b);
  const intercept = coef.map((w, t) => {
    if (!fitIntercept) return 0;
    let s = yMean[t];
    for (let j = 0; j < p; j++) s -= xMean[j] * w[j];
    return s;
  });
  return { coef, intercept, singular, rank };
}

/**
 * The normal equations' pieces on the selected rows, without copying X: column means x̄ and ȳ (zero
 * without an intercept) and the centred cross-products G = XcᵀXc (full, symmetric p × p) and
 * q_t = Xcᵀ yc_t per target. Shared by ridge (closed form) and the elastic net (coordinate descent).
 */
export function centredGram(
  X: Float64Array,
  n: number,
  p: number,
  Y: Float64Array,
  k: number,
  fitIntercept = true,
  rows?: RowSelection,
  opts: GramOptions = {},
): GramParts {
  const { count } = rowsOf(rows, n);
  if (count === 0) throw new RangeError('no rows to fit on');
  if (opts.path !== 'js') {
    const sel: GramRows =
      rows === undefined
        ? { start: 0, count }
        : rows instanceof Uint32Array || rows instanceof Int32Array
          ? { list: rows, count }
          : { start: rows.start, count };
    const r = centredGramSimd(X, p, Y, k, fitIntercept, sel, opts.threads ?? 0);
    if (r) return r;
  }
  return centredGramJs(X, n, p, Y, k, fitIntercept, rows);
}

/** centredGram by plain JavaScript loops: the fallback where WebAssembly SIMD is missing. */
export function centredGramJs(X: Float64Array, n: number, p: number, Y: Float64Array, k: number, fitIntercept = true, rows?: RowSelection): GramParts {
  const { count, row } = rowsOf(rows, n);
  if (count === 0) throw new RangeError('no rows to fit on');

  // Means first, then centred cross-products: two passes are far more accurate than Σx² − n·x̄².
  const xMean = new Float64Array(p);
  const yMean = new Float64Array(k);
  if (fitIntercept) {
    for (let i = 0; i < count; i++) {
      const r = row(i);
      for (let j = 0; j < p; j++) xMean[j] += X[r * p + j];
      for (let t = 0; t < k; t++) yMean[t] += Y[r * k + t];
    }
    for (let j = 0; j < p; j++) xMean[j] /= count;
    for (let t = 0; t < k; t++) yMean[t] /= count;
  }

  const A = new Float64Array(p * p);
  const b = Array.from({ length: k }, () => new Float64Array(p));
  // Centred rows four at a time: each Gram entry is loaded and stored once per four rows (the
  // update is memory-bound otherwise); the sum per entry keeps the row order, in pairs.
  const xc = new Float64Array(4 * p);
  const yc = new Float64Array(4 * k);
  const count4 = count - (count % 4);
  for (let i = 0; i < count4; i += 4) {
    for (let q = 0; q < 4; q++) {
      const r = row(i + q);
      for (let j = 0; j < p; j++) xc[q * p + j] = X[r * p + j] - xMean[j];
      for (let t = 0; t < k; t++) yc[q * k + t] = Y[r * k + t] - yMean[t];
    }
    for (let j = 0; j < p; j++) {
      const a0 = xc[j];
      const a1 = xc[p + j];
      const a2 = xc[2 * p + j];
      const a3 = xc[3 * p + j];
      // Lower triangle only; mirrored below.
      const o = j * p;
      for (let l = 0; l <= j; l++) A[o + l] += a0 * xc[l] + a1 * xc[p + l] + (a2 * xc[2 * p + l] + a3 * xc[3 * p + l]);
      for (let t = 0; t < k; t++) b[t][j] += a0 * yc[t] + a1 * yc[k + t] + (a2 * yc[2 * k + t] + a3 * yc[3 * k + t]);
    }
  }
  for (let i = count4; i < count; i++) {
    const r = row(i);
    for (let j = 0; j < p; j++) xc[j] = X[r * p + j] - xMean[j];
    for (let j = 0; j < p; j++) {
      const xj = xc[j];
      for (let l = 0; l <= j; l++) A[j * p + l] += xj * xc[l];
      for (let t = 0; t < k; t++) b[t][j] += xj * (Y[r * k + t] - yMean[t]);
    }
  }
  for (let j = 0; j < p; j++) for (let l = 0; l < j; l++) A[l * p + j] = A[j * p + l];
  return { count, xMean, yMean, G: A, q: b };
}

/**
 * Ridge for one target y (length n). `rows` restricts the fit to a row range or a row list of X and
 * y, without copying. A singular OLS system (α = 0) gets the minimum-norm solution: use
 * `fitRidgeMulti` to learn whether that happened.
 */
export function fitRidge(
  X: Float64Array,
  n: number,
  p: number,
  y: Float64Array,
  alpha: number,
  fitIntercept = true,
  rows?: RowSelection,
  opts: GramOptions = {},
): RidgeFit {
  const m = fitRidgeMulti(X, n, p, y, 1, alpha, fitIntercept, rows, opts);
  return { coef: m.coef[0], intercept: m.intercept[0] };
}

/** X·coef + intercept for the rows of X (row-major n × p), or for the rows of `range` only. */
export function predictLinear(
  X: Float64Array,
  n: number,
  p: number,
  coef: ArrayLike<number>,
  intercept: number,
  range: RowRange = { start: 0, end: n },
): Float64Array {
  if (coef.length !== p) throw new RangeError(`coef has ${coef.length} values for ${p} features`);
  const out = new Float64Array(range.end - range.start);
  for (let r = range.start; r < range.end; r++) {
    let s = intercept;
    const o = r * p;
    for (let j = 0; j < p; j++) s += X[o + j] * coef[j];
    out[r - range.start] = s;
  }
  return out;
}
