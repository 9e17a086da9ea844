import { solveSpd } from './linalg.js';
import { centredGram, rowsOf, type GramOptions, type RowSelection } from './ridge.js';

/**
 * L1/L2-penalised linear models, scikit-learn's conventions (unpenalised intercept):
 *
 * - `fitElasticNet`: minimises (1/2n)·‖y − Xw − b‖² + α·ρ·‖w‖₁ + (α·(1 − ρ)/2)·‖w‖², which is
 *   `sklearn.linear_model.ElasticNet(alpha=α, l1_ratio=ρ)`; ρ = 1 is `Lasso(alpha=α)`.
 *   Cyclic coordinate descent on the centred Gram matrix (p × p, built once), so a sweep costs
 *   O(p²) whatever the number of rows; iterated until no coefficient moves by more than 1e-13 of
 *   the largest, which leaves the solution exact to working precision rather than to sklearn's
 *   looser duality-gap tolerance.
 * - `fitLogistic`: minimises Σᵢ log-loss(yᵢ, xᵢ·w + b) + (α/2)·‖w‖², which is
 *   `sklearn.linear_model.LogisticRegression(C=1/α)` (binary); Newton's method on the exact Hessian,
 *   to a step below 1e-12.
 */

export interface LinearFit {
  coef: Float64Array;
  intercept: number;
  /** Coordinate-descent sweeps or Newton steps taken. */
  iterations: number;
  converged: boolean;
}

const soft = (z: number, t: number): number => (z > t ? z - t : z < -t ? z + t : 0);

/**
 * Elastic net for each target column of Y (row-major n × k) on the selected rows. α ≥ 0,
 * 0 ≤ ρ ≤ 1. Coefficients that are exactly zero at the optimum come out as exact zeros.
 */
export function fitElasticNetMulti(
  X: Float64Array,
  n: number,
  p: number,
  Y: Float64Array,
  k: number,
  alpha: number,
  l1Ratio: number,
  rows?: RowSelection,
  maxSweeps = 100_000,
  gram: GramOptions = {},
): LinearFit[] {
  if (!(alpha >= 0)) throw new RangeError(`alpha must be ≥ 0, got ${alpha}`);
  if (!(l1Ratio >= 0 && l1Ratio <= 1)) throw new RangeError(`l1_ratio must be in [0, 1], got ${l1Ratio}`);
  const { count: m, xMean, yMean, G, q } = centredGram(X, n, p, Y, k, true, rows, gram);
  // sklearn's scaling: ½‖r‖² + l1·‖w‖₁ + (l2/2)·‖w‖² with l1 = α·ρ·n, l2 = α·(1 − ρ)·n.
  const l1 = alpha * l1Ratio * m;
  const l2 = alpha * (1 - l1Ratio) * m;
  return q.map((qt, t) => {
    const w = new Float64Array(p);
    // Gw kept up to date: tmp_j = q_j − (Gw)_j + G_jj w_j.
    const Gw = new Float64Array(p);
    let sweeps = 0;
    let converged = p === 0;
    while (!converged && sweeps < maxSweeps) {
      sweeps++;
      let maxChange = 0;
      let maxW = 0;
      for (let j = 0; j < p; j++) {
        const gjj = G[j * p + j];
        const old = w[j];
        const denom = gjj + l2;
        const nw = denom > 0 ? soft(qt[j] - Gw[j] + gjj * old, l1) / denom : 0;
        if (nw !== old) {
          const d = nw - old;
          for (let l = 0; l < p; l++) Gw[l] += G[l * p + j] * d;
          w[j] = nw;
          maxChange = Math.max(maxChange, Math.abs(d));
        }
        maxW = Math.max(maxW, Math.abs(nw));
      }
      if (maxChange <= 1e-13 * maxW || maxChange === 0) converged = true;
    }
    let b = yMean[t];
    for (let j = 0; j < p; j++) b -= xMean[j] * w[j];
    return { coef: w, intercept: b, iterations: sweeps, converged };
  });
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Binary L2 logistic regression of labels y ∈ {0, 1} (a row-major column of Y is picked by the
 * caller) on the selected rows. α > 0 keeps the problem strictly convex; with α = 0 and separable
 * classes the coefficients diverge and `converged` is false after `maxIter` steps.
 */
export function fitLogistic(X: Float64Array, n: number, p: number, y: ArrayLike<number>, alpha: number, rows?: RowSelection, maxIter = 100): LinearFit {
  if (!(alpha >= 0)) throw new RangeError(`alpha must be ≥ 0, got ${alpha}`);
  const { count: m, row } = rowsOf(rows, n);
  if (m === 0) throw new RangeError('no rows to fit on');
  const q = p + 1; // last coordinate is the intercept
  const beta = new Float64Array(q);
  // Start from the intercept-only optimum: logit of the base rate (clamped when one class is absent).
  let pos = 0;
  for (let i = 0; i < m; i++) pos += y[row(i)];
  const rate = Math.min(Math.max(pos / m, 1e-6), 1 - 1e-6);
  beta[p] = Math.log(rate / (1 - rate));
  const H = new Float64Array(q * q);
  const g = new Float64Array(q);
  const xr = new Float64Array(q);
  let iter = 0;
  let converged = false;
  while (iter < maxIter) {
    iter++;
    H.fill(0);
    g.fill(0);
    for (let i = 0; i < m; i++) {
      const r = row(i);
      for (let j = 0; j < p; j++) xr[j] = X[r * p + j];
      xr[p] = 1;
      let z = 0;
      for (let j = 0; j < q; j++) z += xr[j] * beta[j];
      const pr = sigmoid(z);
      const resid = pr - y[r];
      const wgt = pr * (1 - pr);
      for (let j = 0; j < q; j++) {
        g[j] += resid * xr[j];
        const wx = wgt * xr[j];
        for (let l = 0; l <= j; l++) H[j * q + l] += wx * xr[l];
      }
    }
    for (let j = 0; j < p; j++) {
      g[j] += alpha * beta[j];
      H[j * q + j] += alpha;
    }
    for (let j = 0; j < q; j++) for (let l = 0; l < j; l++) H[l * q + j] = H[j * q + l];
    const step = solveSpd(H, q, [g]).x[0];
    let maxStep = 0;
    let maxBeta = 0;
    for (let j = 0; j < q; j++) {
      beta[j] -= step[j];
      maxStep = Math.max(maxStep, Math.abs(step[j]));
      maxBeta = Math.max(maxBeta, Math.abs(beta[j]));
    }
    if (maxStep <= 1e-12 * Math.max(1, maxBeta)) {
      converged = true;
      break;
    }
  }
  return { coef: beta.slice(0, p), intercept: beta[p], iterations: iter, converged };
}

export { sigmoid };
