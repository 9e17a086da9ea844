import type { RowRange } from '../core/artifacts.js';
import { solveSpd } from './linalg.js';

/**
 * Linear quantile regression (Koenker & Bassett 1978): min over (b, w) of Σ ρ_τ(yᵢ − b − xᵢ·w), the
 * pinball loss, a linear programme. Solved by iteratively reweighted least squares as statsmodels'
 * QuantReg does (weights 1/(τ|r|) below the fit, 1/((1 − τ)|r|) above it, residuals floored at
 * 1e-6 × the target's scale), then polished to the programme's vertex: an optimum interpolates
 * p + 1 rows, so the rows the IRLS fit passes closest to are solved exactly and that fit is kept
 * when its loss is no larger.
 */

export interface QuantRegFit {
  coef: Float64Array;
  intercept: number;
  /** Mean pinball loss on the fitted rows. */
  loss: number;
  iterations: number;
  converged: boolean;
}

export interface QuantRegOptions {
  maxIter: number;
  /** Stop when no coefficient moves more than tol × (1 + its size). */
  tol: number;
}

/** Fits column t of row-major Y (n × k) on rows `rows` of row-major X (p columns), with an intercept. */
export function fitQuantReg(X: ArrayLike<number>, p: number, Y: ArrayLike<number>, k: number, t: number, rows: RowRange, tau: number, opts: QuantRegOptions): QuantRegFit {
  const n = Math.max(0, rows.end - rows.start);
  const q = p + 1;
  // Design with the intercept as column 0, only rows with a finite target.
  const A = new Float64Array(n * q);
  const y = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const r = rows.start + i;
    const v = Y[r * k + t];
    if (!Number.isFinite(v)) continue;
    A[m * q] = 1;
    for (let j = 0; j < p; j++) A[m * q + 1 + j] = X[r * p + j];
    y[m++] = v;
  }
  if (m === 0) return { coef: new Float64Array(p), intercept: NaN, loss: NaN, iterations: 0, converged: false };
  let scale = 0;
  for (let i = 0; i < m; i++) scale += Math.abs(y[i]);
  scale = scale / m || 1;
  const floor = 1e-6 * scale;

  const w = new Float64Array(m).fill(1);
  let beta = weightedLs(A, y, w, m, q);
  let iterations = 0;
  let converged = false;
  while (iterations < opts.maxIter) {
    iterations++;
    for (let i = 0; i < m; i++) {
      let r = y[i] - dot(A, i, q, beta);
      if (Math.abs(r) < floor) r = r >= 0 ? floor : -floor;
      w[i] = 1 / (r < 0 ? -tau * r : (1 - tau) * r);
    }
    const next = weightedLs(A, y, w, m, q);
    let diff = 0;
    for (let j = 0; j < q; j++) diff = Math.max(diff, Math.abs(next[j] - beta[j]) / (1 + Math.abs(beta[j])));
    beta = next;
    if (diff <= opts.tol) {
      converged = true;
      break;
    }
  }
  let loss = meanPinball(A, y, m, q, beta, tau);
  const vertex = polish(A, y, m, q, beta);
  if (vertex) {
    const l = meanPinball(A, y, m, q, vertex, tau);
    if (l <= loss) {
      beta = vertex;
      loss = l;
    }
  }
  return { coef: beta.slice(1), intercept: beta[0], loss, iterations, converged };
}

function dot(A: Float64Array, i: number, q: number, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < q; j++) s += A[i * q + j] * b[j];
  return s;
}

function meanPinball(A: Float64Array, y: Float64Array, m: number, q: number, b: Float64Array, tau: number): number {
  let s = 0;
  for (let i = 0; i < m; i++) {
    const u = y[i] - dot(A, i, q, b);
    s += u >= 0 ? tau * u : (tau - 1) * u;
  }
  return s / m;
}

/** argmin Σ wᵢ(yᵢ − aᵢ·b)² by the normal equations (minimum-norm when singular). */
function weightedLs(A: Float64Array, y: Float64Array, w: Float64Array, m: number, q: number): Float64Array {
  const G = new Float64Array(q * q);
  const g = new Float64Array(q);
  for (let i = 0; i < m; i++) {
    const wi = w[i];
    const o = i * q;
    for (let a = 0; a < q; a++) {
      const va = wi * A[o + a];
      g[a] += va * y[i];
      for (let c = a; c < q; c++) G[a * q + c] += va * A[o + c];
    }
  }
  for (let a = 0; a < q; a++) for (let c = 0; c < a; c++) G[a * q + c] = G[c * q + a];
  return solveSpd(G, q, [g]).x[0];
}

/** The fit through the q rows with the smallest residuals under b (the LP vertex near b), or undefined when they are degenerate. */
function polish(A: Float64Array, y: Float64Array, m: number, q: number, b: Float64Array): Float64Array | undefined {
  if (m < q) return undefined;
  const r = new Float64Array(m);
  for (let i = 0; i < m; i++) r[i] = Math.abs(y[i] - dot(A, i, q, b));
  const idx = Array.from({ length: m }, (_, i) => i).sort((a, c) => r[a] - r[c] || a - c);
  const G = new Float64Array(q * q);
  const g = new Float64Array(q);
  for (let j = 0; j < q; j++) {
    const o = idx[j] * q;
    for (let a = 0; a < q; a++) {
      g[a] += A[o + a] * y[idx[j]];
      for (let c = 0; c < q; c++) G[a * q + c] += A[o + a] * A[o + c];
    }
  }
  const s = solveSpd(G, q, [g]);
  return s.singular ? undefined : s.x[0];
}
