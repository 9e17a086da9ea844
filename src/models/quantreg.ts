import type { RowRange } from '../core/artifacts.js';
import { solveSpd } from './linalg.js';

/**
 * Linear quantile regression (Koenker & Bassett 1978): min over (b, w) of Σ ρ_τ(yᵢ − b − xᵢ·w), the
 * pinball loss, a linear programme. Solved by iteratively reweighted least squares as statsmodels'
 * QuantReg does (weights 1/(τ|r|) below the fit, 1/((1 − τ)|r|) above it, residuals floored at
 * 1e-6 × the target's scale), then polished to the programme's optimal vertex by simplex steps
 * from the p + 1 rows the IRLS fit passes closest to (an optimum interpolates p + 1 rows); the
 * vertex is kept when its loss is no larger.
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
export function fitQuantReg(
  X: ArrayLike<number>,
  p: number,
  Y: ArrayLike<number>,
  k: number,
  t: number,
  rows: RowRange,
  tau: number,
  opts: QuantRegOptions,
): QuantRegFit {
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
  const vertex = polish(A, y, m, q, beta, tau);
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

/**
 * Simplex descent on the programme's vertices (Barrodale & Roberts' idea) from the q rows the fit b
 * passes closest to: at a vertex (the fit through the basis rows), each basis row may leave in
 * either direction; along a direction with a negative directional derivative the loss is convex
 * piecewise linear, minimised where the slope turns non-negative at a row's zero crossing, and that
 * row enters. Stops at a vertex with no descent direction: the optimum. Undefined when the start is
 * degenerate (a singular basis).
 */
function polish(A: Float64Array, y: Float64Array, m: number, q: number, b: Float64Array, tau: number): Float64Array | undefined {
  if (m < q) return undefined;
  const r = new Float64Array(m);
  for (let i = 0; i < m; i++) r[i] = Math.abs(y[i] - dot(A, i, q, b));
  const basis = Array.from({ length: m }, (_, i) => i)
    .sort((a, c) => r[a] - r[c] || a - c)
    .slice(0, q);
  const inBasis = new Uint8Array(m);
  const g = new Float64Array(m);
  let beta: Float64Array | undefined;
  for (let iter = 0; iter < 50 * q + 100; iter++) {
    inBasis.fill(0);
    for (const i of basis) inBasis[i] = 1;
    const inv = invert(A, basis, q);
    if (!inv) return beta;
    beta = new Float64Array(q);
    for (let a = 0; a < q; a++) for (let c = 0; c < q; c++) beta[a] += inv[a * q + c] * y[basis[c]];
    for (let i = 0; i < m; i++) r[i] = y[i] - dot(A, i, q, beta);
    let moved = false;
    for (let h = 0; h < q && !moved; h++) {
      for (const sgn of [1, -1]) {
        // d = sgn × column h of the inverse: basis row h's fitted value moves by sgn·t, the others stay.
        let scale = 0;
        let slope = sgn > 0 ? 1 - tau : tau;
        for (let i = 0; i < m; i++) {
          if (inBasis[i]) continue;
          let gi = 0;
          for (let a = 0; a < q; a++) gi += A[i * q + a] * inv[a * q + h];
          gi *= sgn;
          g[i] = gi;
          scale += Math.abs(gi);
          // Row i's residual moves by −gᵢ·t.
          slope += r[i] > 0 || (r[i] === 0 && gi < 0) ? -tau * gi : (1 - tau) * gi;
        }
        if (!(slope < -1e-12 * (1 + scale))) continue;
        // Zero crossings ahead (t > 0), in order; each adds |gᵢ| to the slope.
        const ahead: number[] = [];
        for (let i = 0; i < m; i++) if (!inBasis[i] && g[i] !== 0 && r[i] / g[i] > 0) ahead.push(i);
        ahead.sort((a, c) => r[a] / g[a] - r[c] / g[c] || a - c);
        let enter = -1;
        for (const i of ahead) {
          slope += Math.abs(g[i]);
          if (slope >= 0) {
            enter = i;
            break;
          }
        }
        if (enter < 0) continue; // unbounded descent cannot happen for a proper τ; leave the basis as is
        basis[h] = enter;
        moved = true;
        break;
      }
    }
    if (!moved) return beta;
  }
  return beta;
}

/** Inverse of the q × q matrix of rows `rows` of A (Gauss–Jordan, partial pivoting), or undefined when singular. */
function invert(A: Float64Array, rows: readonly number[], q: number): Float64Array | undefined {
  const M = new Float64Array(q * q);
  rows.forEach((i, a) => M.set(A.subarray(i * q, i * q + q), a * q));
  const inv = new Float64Array(q * q);
  for (let a = 0; a < q; a++) inv[a * q + a] = 1;
  let norm = 0;
  for (let i = 0; i < q * q; i++) norm = Math.max(norm, Math.abs(M[i]));
  for (let c = 0; c < q; c++) {
    let piv = c;
    for (let a = c + 1; a < q; a++) if (Math.abs(M[a * q + c]) > Math.abs(M[piv * q + c])) piv = a;
    if (!(Math.abs(M[piv * q + c]) > 1e-12 * norm)) return undefined;
    if (piv !== c) {
      for (let j = 0; j < q; j++) {
        [M[c * q + j], M[piv * q + j]] = [M[piv * q + j], M[c * q + j]];
        [inv[c * q + j], inv[piv * q + j]] = [inv[piv * q + j], inv[c * q + j]];
      }
    }
    const d = M[c * q + c];
    for (let j = 0; j < q; j++) {
      M[c * q + j] /= d;
      inv[c * q + j] /= d;
    }
    for (let a = 0; a < q; a++) {
      if (a === c) continue;
      const f = M[a * q + c];
      if (f === 0) continue;
      for (let j = 0; j < q; j++) {
        M[a * q + j] -= f * M[c * q + j];
        inv[a * q + j] -= f * inv[c * q + j];
      }
    }
  }
  return inv;
}
