import { makeRng } from '../data/rng.js';

/**
 * Gaussian hidden Markov models: K hidden states, each emitting a d-dimensional normal with its own
 * mean and (diagonal or full) covariance; the state follows a Markov chain with transition matrix P
 * (P[i·K + j] = Pr(s_t = j | s_{t−1} = i)).
 *
 * Convention (statsmodels' Markov-switching models' default, so their log-likelihoods compare): the
 * chain starts in its stationary distribution π (π·P = π), so the first row's prior is π, the long-run
 * share of each state. π is a function of P, not a parameter, and the EM step for P accounts for it
 * (mStepTransitions), so EM's fixed point is the maximum likelihood statsmodels finds.
 *
 * Fitting is Baum–Welch (EM) on the rows given, with a scaled forward–backward pass: each row's
 * emission densities are computed as logs, shifted by their maximum before exponentiating, and the
 * forward variables are renormalised every row, so nothing under- or overflows on any length. EM
 * stops when the log-likelihood gains less than `tol`·(1 + |ℓ|) in one iteration, or after
 * `maxIter` iterations.
 *
 * The output a model gives each row is the FILTERED probability Pr(s_t | x_1 … x_t): a function of
 * rows ≤ t only. The smoothed probabilities (which use later rows) exist only inside the fit.
 *
 * A row with a NaN (or ±∞) in any column carries no information: its emission density is 1 in every state
 * (the filter just propagates the chain), and it weighs nothing in the M-step.
 */

export type Covariance = 'diag' | 'full';

export interface GaussianHmm {
  /** Number of states. */
  K: number;
  /** Number of columns. */
  d: number;
  covariance: Covariance;
  /** K × K, row-major: trans[i·K + j] = Pr(s_t = j | s_{t−1} = i). */
  trans: Float64Array;
  /** K × d, row-major. */
  means: Float64Array;
  /** K × d × d, row-major per state (a diagonal model stores its zeros too). */
  covs: Float64Array;
}

export interface HmmFit {
  model: GaussianHmm;
  /** Log-likelihood of the fitted rows at the returned parameters. */
  logLik: number;
  iterations: number;
  converged: boolean;
}

export interface HmmFitOptions {
  K: number;
  covariance: Covariance;
  /** Seed of the k-means++ initialisation. */
  seed: number;
  /** @default 1e-8 */
  tol?: number;
  /** @default 500 */
  maxIter?: number;
  /** Starting parameters instead of k-means++ (K, d and covariance must match). */
  start?: GaussianHmm;
  /** One variance (covariance) shared by all states, re-estimated pooled (Markov-switching mean only). */
  sharedCovariance?: boolean;
  /** Stop when this returns true (cancellation), checked once per iteration. */
  aborted?: () => boolean;
}

const LOG_2PI = Math.log(2 * Math.PI);

/** Lower-triangular Cholesky factor of a d × d SPD matrix (row-major); throws if not positive definite. */
function cholesky(A: Float64Array, d: number, off = 0): Float64Array {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[off + i * d + j];
      for (let k = 0; k < j; k++) s -= L[i * d + k] * L[j * d + k];
      if (i === j) {
        if (!(s > 0)) throw new Error('covariance matrix is not positive definite');
        L[i * d + i] = Math.sqrt(s);
      } else L[i * d + j] = s / L[j * d + j];
    }
  }
  return L;
}

/** Per state: what the log density needs (Cholesky factor and its log-determinant). */
interface Emission {
  chol: Float64Array[];
  logNorm: Float64Array;
}

function prepare(m: GaussianHmm): Emission {
  const { K, d } = m;
  const chol: Float64Array[] = [];
  const logNorm = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const L = cholesky(m.covs, d, k * d * d);
    let logDet = 0;
    for (let i = 0; i < d; i++) logDet += 2 * Math.log(L[i * d + i]);
    chol.push(L);
    logNorm[k] = -0.5 * (d * LOG_2PI + logDet);
  }
  return { chol, logNorm };
}

/** log N(x_t; μ_k, Σ_k) for every state into out[0..K); false when the row has a NaN. */
function logDensities(m: GaussianHmm, e: Emission, X: Float64Array, t: number, out: Float64Array, z: Float64Array): boolean {
  const { K, d } = m;
  for (let j = 0; j < d; j++) if (!Number.isFinite(X[t * d + j])) return false;
  for (let k = 0; k < K; k++) {
    const L = e.chol[k];
    // Solve L z = x − μ by forward substitution; the Mahalanobis term is |z|².
    let q = 0;
    for (let i = 0; i < d; i++) {
      let s = X[t * d + i] - m.means[k * d + i];
      for (let j = 0; j < i; j++) s -= L[i * d + j] * z[j];
      z[i] = s / L[i * d + i];
      q += z[i] * z[i];
    }
    out[k] = e.logNorm[k] - 0.5 * q;
  }
  return true;
}

export interface ForwardResult {
  /** n × K filtered probabilities Pr(s_t | x_1 … x_t). */
  filtered: Float64Array;
  /** Log-likelihood of all n rows. */
  logLik: number;
}

/**
 * The forward filter (Hamilton filter) over rows [0, n) of X (n × d, row-major). Row t's output is
 * computed from rows ≤ t only, in one pass: appending rows never changes an earlier row.
 */
export function filterHmm(m: GaussianHmm, X: Float64Array, n: number): ForwardResult {
  return forward(m, prepare(m), X, n, undefined);
}

/**
 * Forward pass; when `scaled` is given it also keeps, per row, the shifted emission densities
 * (bs, K per row) and the normaliser c_t, which the backward pass needs.
 */
function forward(m: GaussianHmm, e: Emission, X: Float64Array, n: number, keep: { bs: Float64Array; c: Float64Array } | undefined): ForwardResult {
  const { K, trans } = m;
  const filtered = new Float64Array(n * K);
  const lb = new Float64Array(K);
  const z = new Float64Array(m.d);
  const prev = stationary(m.trans, K);
  const pred = new Float64Array(K);
  let logLik = 0;
  for (let t = 0; t < n; t++) {
    pred.fill(0);
    for (let i = 0; i < K; i++) {
      const a = prev[i];
      if (a === 0) continue;
      for (let j = 0; j < K; j++) pred[j] += a * trans[i * K + j];
    }
    let max = 0;
    const seen = logDensities(m, e, X, t, lb, z);
    if (seen) {
      max = -Infinity;
      for (let k = 0; k < K; k++) if (lb[k] > max) max = lb[k];
    }
    let c = 0;
    for (let k = 0; k < K; k++) {
      const b = seen ? Math.exp(lb[k] - max) : 1;
      if (keep) keep.bs[t * K + k] = b;
      const a = pred[k] * b;
      filtered[t * K + k] = a;
      c += a;
    }
    for (let k = 0; k < K; k++) {
      filtered[t * K + k] /= c;
      prev[k] = filtered[t * K + k];
    }
    if (keep) keep.c[t] = c;
    logLik += Math.log(c) + max;
  }
  return { filtered, logLik };
}

/** k-means++ seeding then Lloyd iterations on z-scored columns; returns the cluster of each row. */
function kmeansPP(X: Float64Array, n: number, d: number, K: number, seed: number): Int32Array {
  const rng = makeRng(seed);
  const rows: number[] = [];
  for (let t = 0; t < n; t++) {
    let ok = true;
    for (let j = 0; j < d; j++) if (!Number.isFinite(X[t * d + j])) ok = false;
    if (ok) rows.push(t);
  }
  if (rows.length < K) throw new Error(`${rows.length} rows without NaN to fit ${K} states`);
  // z-score so that columns of different units weigh alike in the distances.
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const t of rows) for (let j = 0; j < d; j++) mu[j] += X[t * d + j] / rows.length;
  for (const t of rows) for (let j = 0; j < d; j++) sd[j] += (X[t * d + j] - mu[j]) ** 2 / rows.length;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]) || 1;
  const Z = new Float64Array(rows.length * d);
  rows.forEach((t, r) => {
    for (let j = 0; j < d; j++) Z[r * d + j] = (X[t * d + j] - mu[j]) / sd[j];
  });
  const m = rows.length;
  const C = new Float64Array(K * d);
  const dist2 = (r: number, k: number): number => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (Z[r * d + j] - C[k * d + j]) ** 2;
    return s;
  };
  const first = rng.int(m);
  for (let j = 0; j < d; j++) C[j] = Z[first * d + j];
  const D = new Float64Array(m).fill(Infinity);
  for (let k = 1; k < K; k++) {
    let total = 0;
    for (let r = 0; r < m; r++) {
      D[r] = Math.min(D[r], dist2(r, k - 1));
      total += D[r];
    }
    let pick = m - 1;
    let u = rng.next() * total;
    for (let r = 0; r < m; r++) {
      u -= D[r];
      if (u < 0) {
        pick = r;
        break;
      }
    }
    for (let j = 0; j < d; j++) C[k * d + j] = Z[pick * d + j];
  }
  const label = new Int32Array(m);
  for (let it = 0; it < 50; it++) {
    let moved = 0;
    for (let r = 0; r < m; r++) {
      let best = 0;
      let bd = Infinity;
      for (let k = 0; k < K; k++) {
        const v = dist2(r, k);
        if (v < bd) {
          bd = v;
          best = k;
        }
      }
      if (label[r] !== best || it === 0) moved++;
      label[r] = best;
    }
    if (moved === 0) break;
    const cnt = new Float64Array(K);
    const S = new Float64Array(K * d);
    for (let r = 0; r < m; r++) {
      cnt[label[r]]++;
      for (let j = 0; j < d; j++) S[label[r] * d + j] += Z[r * d + j];
    }
    for (let k = 0; k < K; k++) if (cnt[k] > 0) for (let j = 0; j < d; j++) C[k * d + j] = S[k * d + j] / cnt[k];
  }
  const out = new Int32Array(n).fill(-1);
  rows.forEach((t, r) => (out[t] = label[r]));
  return out;
}

/** The starting model: k-means++ clusters' means and covariances, persistent transitions (0.9 on the diagonal). */
function initialModel(X: Float64Array, n: number, d: number, o: HmmFitOptions): GaussianHmm {
  const { K } = o;
  const label = kmeansPP(X, n, d, K, o.seed);
  const w = new Float64Array(n * K);
  for (let t = 0; t < n; t++) if (label[t] >= 0) w[t * K + label[t]] = 1;
  const model: GaussianHmm = {
    K,
    d,
    covariance: o.covariance,
    trans: new Float64Array(K * K),
    means: new Float64Array(K * d),
    covs: new Float64Array(K * d * d),
  };
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) model.trans[i * K + j] = K === 1 ? 1 : i === j ? 0.9 : 0.1 / (K - 1);
  mStepEmissions(model, X, n, w, o.sharedCovariance ?? false, floorOf(X, n, d));
  return model;
}

/** A variance floor per column: 1e-6 of the column's variance over the fitted rows (keeps a state from collapsing onto one point). */
function floorOf(X: Float64Array, n: number, d: number): Float64Array {
  const floor = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let s = 0;
    let s2 = 0;
    let c = 0;
    for (let t = 0; t < n; t++) {
      const v = X[t * d + j];
      if (!Number.isFinite(v)) continue;
      s += v;
      s2 += v * v;
      c++;
    }
    const mean = s / c;
    floor[j] = Math.max(1e-6 * (s2 / c - mean * mean), 1e-300);
  }
  return floor;
}

/** Weighted means and covariances from state weights w (n × K); rows with a NaN are skipped. */
function mStepEmissions(m: GaussianHmm, X: Float64Array, n: number, w: Float64Array, shared: boolean, floor: Float64Array): void {
  const { K, d } = m;
  const W = new Float64Array(K);
  const S = new Float64Array(K * d);
  const valid = new Uint8Array(n);
  for (let t = 0; t < n; t++) {
    let ok = 1;
    for (let j = 0; j < d; j++) if (!Number.isFinite(X[t * d + j])) ok = 0;
    valid[t] = ok;
    if (!ok) continue;
    for (let k = 0; k < K; k++) {
      const g = w[t * K + k];
      W[k] += g;
      for (let j = 0; j < d; j++) S[k * d + j] += g * X[t * d + j];
    }
  }
  for (let k = 0; k < K; k++) for (let j = 0; j < d; j++) if (W[k] > 0) m.means[k * d + j] = S[k * d + j] / W[k];
  const C = new Float64Array(K * d * d);
  for (let t = 0; t < n; t++) {
    if (!valid[t]) continue;
    for (let k = 0; k < K; k++) {
      const g = w[t * K + k];
      if (g === 0) continue;
      for (let i = 0; i < d; i++) {
        const di = X[t * d + i] - m.means[k * d + i];
        for (let j = 0; j <= i; j++) C[k * d * d + i * d + j] += g * di * (X[t * d + j] - m.means[k * d + j]);
      }
    }
  }
  let Wall = 0;
  for (let k = 0; k < K; k++) Wall += W[k];
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let v: number;
        if (shared) {
          v = 0;
          for (let q = 0; q < K; q++) v += C[q * d * d + i * d + j];
          v /= Wall;
        } else v = W[k] > 0 ? C[k * d * d + i * d + j] / W[k] : i === j ? 1 : 0;
        if (m.covariance === 'diag' && i !== j) v = 0;
        if (i === j) v = Math.max(v, floor[i]);
        m.covs[k * d * d + i * d + j] = v;
        m.covs[k * d * d + j * d + i] = v;
      }
    }
  }
}

/** Baum–Welch on rows [0, n) of X (n × d, row-major). States come out ordered by volatility (see orderByVolatility). */
export function fitHmm(X: Float64Array, n: number, d: number, o: HmmFitOptions): HmmFit {
  const tol = o.tol ?? 1e-8;
  const maxIter = o.maxIter ?? 500;
  const { K } = o;
  const model = o.start ? cloneModel(o.start) : initialModel(X, n, d, o);
  const shared = o.sharedCovariance ?? false;
  const floor = floorOf(X, n, d);
  const bs = new Float64Array(n * K);
  const c = new Float64Array(n);
  const beta = new Float64Array(n * K);
  const gamma = new Float64Array(n * K);
  let prevLL = -Infinity;
  let logLik = -Infinity;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    if (o.aborted?.()) break;
    const e = prepare(model);
    const { filtered: alpha, logLik: ll } = forward(model, e, X, n, { bs, c });
    logLik = ll;
    if (iterations > 0 && ll - prevLL <= tol * (1 + Math.abs(ll))) {
      converged = true;
      break;
    }
    prevLL = ll;
    iterations++;
    // Backward, scaled with the forward pass's normalisers.
    for (let k = 0; k < K; k++) beta[(n - 1) * K + k] = 1;
    for (let t = n - 2; t >= 0; t--) {
      for (let i = 0; i < K; i++) {
        let s = 0;
        for (let j = 0; j < K; j++) s += model.trans[i * K + j] * bs[(t + 1) * K + j] * beta[(t + 1) * K + j];
        beta[t * K + i] = s / c[t + 1];
      }
    }
    // Expected transitions, including the one from the state before the first row.
    const xi = new Float64Array(K * K);
    const pi = stationary(model.trans, K);
    // g: smoothed distribution of the state before the first row (whose prior is π(P)).
    const g = new Float64Array(K);
    for (let t = 0; t < n; t++) {
      for (let k = 0; k < K; k++) gamma[t * K + k] = alpha[t * K + k] * beta[t * K + k];
      for (let i = 0; i < K; i++) {
        const a = t === 0 ? pi[i] : alpha[(t - 1) * K + i];
        if (a === 0) continue;
        for (let j = 0; j < K; j++) {
          const v = (a * model.trans[i * K + j] * bs[t * K + j] * beta[t * K + j]) / c[t];
          xi[i * K + j] += v;
          if (t === 0) g[i] += v;
        }
      }
    }
    mStepTransitions(model.trans, xi, g, K);
    mStepEmissions(model, X, n, gamma, shared, floor);
  }
  if (!converged && iterations >= maxIter) logLik = forward(model, prepare(model), X, n, undefined).logLik;
  return { model: orderByVolatility(model), logLik, iterations, converged };
}

/**
 * The exact M-step for P: maximise Σ_ij ξ_ij log P_ij + Σ_i g_i log π_i(P), where the second term
 * is the start in the stationary distribution π(P). Without it (the usual Baum–Welch row
 * normalisation) EM would stop O(1/n) away from the maximum likelihood. With ∂π_i/∂P_ab = π_a Z_bi
 * (Z = (I − P + 1π)⁻¹, the fundamental matrix), the stationarity condition of each row a is
 * ξ_ab / P_ab + π_a h_b = λ_a with h = Z·(g/π), so P_ab = ξ_ab / (λ_a − π_a h_b), λ_a making the row
 * sum to 1. π and h depend on P: iterated from the plain normalisation until P stops moving.
 */
function mStepTransitions(P: Float64Array, xi: Float64Array, g: Float64Array, K: number): void {
  for (let i = 0; i < K; i++) {
    let s = 0;
    for (let j = 0; j < K; j++) s += xi[i * K + j];
    if (s > 0) for (let j = 0; j < K; j++) P[i * K + j] = xi[i * K + j] / s;
  }
  if (K === 1) return;
  for (let iter = 0; iter < 50; iter++) {
    const pi = stationary(P, K);
    const M = new Float64Array(K * K);
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) M[i * K + j] = (i === j ? 1 : 0) - P[i * K + j] + pi[j];
    const Z = invert(M, K);
    if (!Z) return;
    const h = new Float64Array(K);
    for (let b = 0; b < K; b++) for (let i = 0; i < K; i++) if (pi[i] > 0) h[b] += (Z[b * K + i] * g[i]) / pi[i];
    let change = 0;
    for (let a = 0; a < K; a++) {
      const w = xi.subarray(a * K, (a + 1) * K);
      const shift = Array.from(h, (hb) => pi[a] * hb);
      // Σ_b w_b / (λ − shift_b) = 1 on λ > max shift over w_b > 0: decreasing in λ, bisection.
      let lo = -Infinity;
      for (let b = 0; b < K; b++) if (w[b] > 0 && shift[b] > lo) lo = shift[b];
      if (lo === -Infinity) continue;
      const f = (lam: number): number => {
        let v = 0;
        for (let b = 0; b < K; b++) if (w[b] > 0) v += w[b] / (lam - shift[b]);
        return v;
      };
      let hi = lo + 1;
      while (f(hi) > 1) hi = lo + 2 * (hi - lo);
      for (let it = 0; it < 200 && hi - lo > 1e-15 * Math.max(1, Math.abs(hi)); it++) {
        const mid = 0.5 * (lo + hi);
        if (f(mid) > 1) lo = mid;
        else hi = mid;
      }
      const lam = 0.5 * (lo + hi);
      let row = 0;
      const next = Array.from(w, (wb, b) => (wb > 0 ? wb / (lam - shift[b]) : 0));
      for (const v of next) row += v;
      for (let b = 0; b < K; b++) {
        const v = next[b] / row;
        change = Math.max(change, Math.abs(v - P[a * K + b]));
        P[a * K + b] = v;
      }
    }
    if (change < 1e-15) return;
  }
}

/** Inverse of a K × K matrix by Gauss–Jordan with partial pivoting; undefined if singular. */
function invert(A: Float64Array, K: number): Float64Array | undefined {
  const M = Float64Array.from(A);
  const inv = new Float64Array(K * K);
  for (let i = 0; i < K; i++) inv[i * K + i] = 1;
  for (let c = 0; c < K; c++) {
    let piv = c;
    for (let r = c + 1; r < K; r++) if (Math.abs(M[r * K + c]) > Math.abs(M[piv * K + c])) piv = r;
    if (Math.abs(M[piv * K + c]) < 1e-14) return undefined;
    for (let j = 0; j < K; j++) {
      [M[c * K + j], M[piv * K + j]] = [M[piv * K + j], M[c * K + j]];
      [inv[c * K + j], inv[piv * K + j]] = [inv[piv * K + j], inv[c * K + j]];
    }
    const d = M[c * K + c];
    for (let j = 0; j < K; j++) {
      M[c * K + j] /= d;
      inv[c * K + j] /= d;
    }
    for (let r = 0; r < K; r++) {
      if (r === c) continue;
      const f = M[r * K + c];
      if (f === 0) continue;
      for (let j = 0; j < K; j++) {
        M[r * K + j] -= f * M[c * K + j];
        inv[r * K + j] -= f * inv[c * K + j];
      }
    }
  }
  return inv;
}

function cloneModel(m: GaussianHmm): GaussianHmm {
  return { ...m, trans: m.trans.slice(), means: m.means.slice(), covs: m.covs.slice() };
}

/**
 * The stationary distribution π of a K × K transition matrix (π·P = π, Σπ = 1), by Gaussian
 * elimination with partial pivoting; uniform when it is not unique (a chain that never leaves a state).
 */
export function stationary(P: Float64Array, K: number): Float64Array {
  // Equations: (Pᵀ − I)·π = 0 for rows 0…K−2, and Σπ = 1 in the last row.
  const A = new Float64Array(K * (K + 1));
  for (let i = 0; i < K - 1; i++) {
    for (let j = 0; j < K; j++) A[i * (K + 1) + j] = P[j * K + i] - (i === j ? 1 : 0);
  }
  for (let j = 0; j < K; j++) A[(K - 1) * (K + 1) + j] = 1;
  A[(K - 1) * (K + 1) + K] = 1;
  for (let c = 0; c < K; c++) {
    let piv = c;
    for (let r = c + 1; r < K; r++) if (Math.abs(A[r * (K + 1) + c]) > Math.abs(A[piv * (K + 1) + c])) piv = r;
    if (Math.abs(A[piv * (K + 1) + c]) < 1e-12) return new Float64Array(K).fill(1 / K);
    if (piv !== c) {
      for (let j = 0; j <= K; j++) {
        const tmp = A[c * (K + 1) + j];
        A[c * (K + 1) + j] = A[piv * (K + 1) + j];
        A[piv * (K + 1) + j] = tmp;
      }
    }
    for (let r = 0; r < K; r++) {
      if (r === c) continue;
      const f = A[r * (K + 1) + c] / A[c * (K + 1) + c];
      if (f === 0) continue;
      for (let j = c; j <= K; j++) A[r * (K + 1) + j] -= f * A[c * (K + 1) + j];
    }
  }
  const pi = new Float64Array(K);
  for (let i = 0; i < K; i++) pi[i] = Math.max(A[i * (K + 1) + K] / A[i * (K + 1) + i], 0);
  const s = pi.reduce((a, b) => a + b, 0);
  for (let i = 0; i < K; i++) pi[i] /= s;
  return pi;
}

/** Trace of state k's covariance: the sum of its columns' variances. */
export function stateVolatility(m: GaussianHmm, k: number): number {
  let s = 0;
  for (let i = 0; i < m.d; i++) s += m.covs[k * m.d * m.d + i * m.d + i];
  return s;
}

/**
 * The same model with its states renumbered by ascending volatility (trace of the covariance, ties
 * by the first column's mean), so state 0 is always the calmest and labels are stable across refits.
 */
export function orderByVolatility(m: GaussianHmm): GaussianHmm {
  const { K, d } = m;
  const order = Array.from({ length: K }, (_, k) => k).sort(
    (a, b) => stateVolatility(m, a) - stateVolatility(m, b) || m.means[a * d] - m.means[b * d] || a - b,
  );
  const out = cloneModel(m);
  order.forEach((from, to) => {
    out.means.set(m.means.subarray(from * d, (from + 1) * d), to * d);
    out.covs.set(m.covs.subarray(from * d * d, (from + 1) * d * d), to * d * d);
    order.forEach((from2, to2) => (out.trans[to * K + to2] = m.trans[from * K + from2]));
  });
  return out;
}

/** The most probable state of each row given the filtered probabilities (first state on a tie). */
export function argmaxStates(filtered: Float64Array, K: number): Int32Array {
  const n = filtered.length / K;
  const s = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (filtered[t * K + k] > filtered[t * K + best]) best = k;
    s[t] = best;
  }
  return s;
}

/** The most probable state path given all rows (Viterbi, log space). Uses the future: for tests and analysis, never as a feature. */
export function viterbi(m: GaussianHmm, X: Float64Array, n: number): Int32Array {
  const { K } = m;
  const e = prepare(m);
  const logP = Array.from(m.trans, (p) => Math.log(p));
  const lb = new Float64Array(K);
  const z = new Float64Array(m.d);
  let delta = Array.from(stationary(m.trans, K), (p) => Math.log(p));
  const back = new Int32Array(n * K);
  for (let t = 0; t < n; t++) {
    const seen = logDensities(m, e, X, t, lb, z);
    const next = new Array<number>(K);
    for (let j = 0; j < K; j++) {
      let best = -Infinity;
      let arg = 0;
      for (let i = 0; i < K; i++) {
        const v = delta[i] + logP[i * K + j];
        if (v > best) {
          best = v;
          arg = i;
        }
      }
      next[j] = best + (seen ? lb[j] : 0);
      back[t * K + j] = arg;
    }
    delta = next;
  }
  const path = new Int32Array(n);
  let s = 0;
  for (let k = 1; k < K; k++) if (delta[k] > delta[s]) s = k;
  for (let t = n - 1; t >= 0; t--) {
    path[t] = s;
    s = back[t * K + s];
  }
  return path;
}
