import { cholesky, choleskySolve, solveSpd } from '../linalg.js';
import { centredGram, type RowSelection } from '../ridge.js';
import type { LinearState } from '../kinds.js';

/**
 * Recursive least squares with a forgetting factor λ ∈ (0, 1] and a ridge prior δ ≥ 0 (docs/online.md).
 *
 * After rows 1..n (augmented aᵢ = [xᵢ, 1] with an intercept), the weights are the exact minimiser of
 *
 *   Σᵢ λ^(n−i)·(yᵢ − xᵢ·w − b)² + δ·λⁿ·‖w‖²
 *
 * — a weighted ridge with weights λ^(n−i), penalty δ·λⁿ and an unpenalised intercept b, as the
 * `ridge` kind fits it (λ = 1: plain ridge with α = δ; δ = 0 as well: OLS). The information matrix
 * Rₙ = λ·Rₙ₋₁ + aₙaₙᵀ starts at R₀ = diag(δ, …, δ, 0): the prior spares the intercept, so R₀ is
 * singular and P = R⁻¹ does not exist yet. The state therefore starts in information form (R and
 * r = Σ λ^(n−i)·aᵢyᵢ, solved directly) and switches to the O(q²)-per-row covariance form
 * P = R⁻¹ (Sherman–Morrison) as soon as R is positive definite: with δ > 0 and an intercept that is
 * after the first row; with δ = 0 after q linearly independent rows. Both forms describe the same
 * minimiser, so the result is the weighted ridge whichever row the switch happens at.
 *
 * The k targets share the rows and hence R and P: one gain vector per row updates every target.
 * Updates mutate the state in place (`rlsClone` first to keep the old one). Rows with a non-finite
 * feature or target are skipped (not counted, no forgetting applied).
 */

export interface RlsOptions {
  /** λ: a row's weight decays by λ per later row (1 = no forgetting). */
  forgetting: number;
  /** δ: the ridge prior on the coefficients (never on the intercept), decaying as δ·λⁿ. */
  delta: number;
  /** Fit an unpenalised intercept (default true). */
  fitIntercept?: boolean;
}

export interface RlsState {
  p: number;
  k: number;
  forgetting: number;
  fitIntercept: boolean;
  /** Per target, the augmented weights [w₁ … w_p, b] (b only with an intercept): length q. */
  w: Float64Array[];
  /** Covariance form: P = R⁻¹ (q × q, row-major, symmetric); null while R is still singular. */
  P: Float64Array | null;
  /** Information form while R is singular: R (q × q) and r per target; null once P exists. */
  R: Float64Array | null;
  r: Float64Array[] | null;
  /** Rows the state has absorbed. */
  rows: number;
  /** The prior added to R's coefficient diagonal because R stayed singular (absent: none; see activate). */
  jitter?: number;
}

const q = (s: { p: number; fitIntercept: boolean }): number => s.p + (s.fitIntercept ? 1 : 0);

function checkOptions(o: RlsOptions): void {
  if (!(o.forgetting > 0 && o.forgetting <= 1)) throw new RangeError(`forgetting must be in (0, 1], got ${o.forgetting}`);
  if (!(o.delta >= 0 && Number.isFinite(o.delta))) throw new RangeError(`delta must be a finite number ≥ 0, got ${o.delta}`);
}

/** The inverse of a symmetric positive definite q × q matrix, or null when it is not (numerically) PD. */
function invertSpd(A: Float64Array, n: number): Float64Array | null {
  const L = A.slice();
  if (!cholesky(L, n)) return null;
  const inv = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    e.fill(0);
    e[c] = 1;
    choleskySolve(L, n, e);
    for (let i = 0; i < n; i++) inv[i * n + c] = e[i];
  }
  symmetrise(inv, n);
  return inv;
}

function symmetrise(A: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = 0.5 * (A[i * n + j] + A[j * n + i]);
      A[i * n + j] = v;
      A[j * n + i] = v;
    }
  }
}

/** A state that has seen no rows: w = 0, R = diag(δ, …, δ, 0) (covariance form at once where that is PD). */
export function rlsInit(p: number, k: number, opts: RlsOptions): RlsState {
  checkOptions(opts);
  const fitIntercept = opts.fitIntercept ?? true;
  const s: RlsState = {
    p,
    k,
    forgetting: opts.forgetting,
    fitIntercept,
    w: Array.from({ length: k }, () => new Float64Array(p + (fitIntercept ? 1 : 0))),
    P: null,
    R: null,
    r: null,
    rows: 0,
  };
  const n = q(s);
  const R = new Float64Array(n * n);
  for (let j = 0; j < p; j++) R[j * n + j] = opts.delta;
  s.R = R;
  s.r = Array.from({ length: k }, () => new Float64Array(n));
  activate(s);
  return s;
}

/**
 * A state equal to a ridge fit (α, unpenalised intercept) on the selected rows of X (row-major
 * n × p) and Y (n × k), ready for updates: R is the batch's augmented Gram plus α on the
 * coefficients, all batch rows counted as of its last row (the forgetting applies to rows after it).
 * Built from the centred Gram (as `fitRidgeMulti` solves it): with C = XcᵀXc + αI and x̄ the means
 * over m rows, R⁻¹ = [[C⁻¹, −C⁻¹x̄], [−x̄ᵀC⁻¹, 1/m + x̄ᵀC⁻¹x̄]] (the Schur complement of R's
 * intercept entry m is C).
 */
export function rlsFromBatch(
  X: Float64Array,
  n: number,
  p: number,
  Y: Float64Array,
  k: number,
  alpha: number,
  opts: Omit<RlsOptions, 'delta'>,
  rows?: RowSelection,
): RlsState {
  checkOptions({ ...opts, delta: alpha });
  const fitIntercept = opts.fitIntercept ?? true;
  const { count: m, xMean, yMean, G, q: qs } = centredGram(X, n, p, Y, k, fitIntercept, rows);
  for (let j = 0; j < p; j++) G[j * p + j] += alpha;
  const nq = p + (fitIntercept ? 1 : 0);
  const s: RlsState = { p, k, forgetting: opts.forgetting, fitIntercept, w: [], P: null, R: null, r: null, rows: m };
  const Cinv = invertSpd(G, p);
  if (Cinv) {
    const P = new Float64Array(nq * nq);
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) P[i * nq + j] = Cinv[i * p + j];
    if (fitIntercept) {
      let xCx = 0;
      for (let i = 0; i < p; i++) {
        let v = 0;
        for (let j = 0; j < p; j++) v += Cinv[i * p + j] * xMean[j];
        P[i * nq + p] = -v;
        P[p * nq + i] = -v;
        xCx += xMean[i] * v;
      }
      P[p * nq + p] = 1 / m + xCx;
    }
    s.P = P;
    s.w = qs.map((qt, t) => {
      const w = new Float64Array(nq);
      for (let i = 0; i < p; i++) {
        let v = 0;
        for (let j = 0; j < p; j++) v += Cinv[i * p + j] * qt[j];
        w[i] = v;
      }
      if (fitIntercept) {
        let b = yMean[t];
        for (let j = 0; j < p; j++) b -= xMean[j] * w[j];
        w[p] = b;
      }
      return w;
    });
    return s;
  }
  // Singular (OLS on too few or collinear rows): the uncentred information form, R = [[C + m·x̄x̄ᵀ, m·x̄], [m·x̄ᵀ, m]], r = [q + m·x̄ȳ, m·ȳ].
  const R = new Float64Array(nq * nq);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) R[i * nq + j] = G[i * p + j] + m * xMean[i] * xMean[j];
  if (fitIntercept) {
    for (let i = 0; i < p; i++) {
      R[i * nq + p] = m * xMean[i];
      R[p * nq + i] = m * xMean[i];
    }
    R[p * nq + p] = m;
  }
  s.R = R;
  s.r = qs.map((qt, t) => {
    const r = new Float64Array(nq);
    for (let i = 0; i < p; i++) r[i] = qt[i] + m * xMean[i] * yMean[t];
    if (fitIntercept) r[p] = m * yMean[t];
    return r;
  });
  s.w = qs.map(() => new Float64Array(nq));
  activate(s);
  return s;
}

/** In information form: switch to covariance form if R is now PD, else keep the minimum-norm weights. */
function activate(s: RlsState): void {
  if (!s.R || !s.r) return;
  const n = q(s);
  const P = invertSpd(s.R, n);
  if (P) {
    s.w = s.r.map((rt) => {
      const w = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += P[i * n + j] * rt[j];
        w[i] = v;
      }
      return w;
    });
    s.P = P;
    s.R = null;
    s.r = null;
    return;
  }
  // Still singular after 2q rows: the data do not identify the weights (a constant or duplicated
  // feature), and solving by eigen-decomposition at every row would cost O(q³) per row for ever. A
  // prior of 1e-10 of R's largest diagonal on the coefficients makes R definite; the ridge it gives
  // tends to the minimum-norm solution as that prior goes to 0, and the predictions (unique even
  // when the weights are not) move by about as little.
  if (s.rows >= 2 * n) {
    let maxDiag = 0;
    for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, s.R[i * n + i]);
    const eps = Math.max(maxDiag, 1) * 1e-10;
    for (let j = 0; j < s.p; j++) s.R[j * n + j] += eps;
    s.jitter = (s.jitter ?? 0) + eps;
    if (invertSpd(s.R, n)) return activate(s);
  }
  // Not identified yet: the minimum-norm minimiser (zero where no row has spoken).
  if (s.rows > 0) s.w = solveSpd(s.R, n, s.r).x;
}

const scratch = { u: new Float64Array(0), a: new Float64Array(0) };

/**
 * Absorbs one row: x (p features, read from x[offset …]) and its k targets y[yOffset …]. Returns
 * false (and changes nothing) when a value is not finite.
 */
export function rlsUpdate(s: RlsState, x: ArrayLike<number>, y: ArrayLike<number>, offset = 0, yOffset = 0): boolean {
  const { p, k } = s;
  for (let j = 0; j < p; j++) if (!Number.isFinite(x[offset + j])) return false;
  for (let t = 0; t < k; t++) if (!Number.isFinite(y[yOffset + t])) return false;
  const n = q(s);
  if (scratch.a.length < n) {
    scratch.a = new Float64Array(n);
    scratch.u = new Float64Array(n);
  }
  const a = scratch.a;
  for (let j = 0; j < p; j++) a[j] = x[offset + j];
  if (s.fitIntercept) a[p] = 1;
  const lam = s.forgetting;
  s.rows++;
  if (!s.P) {
    const R = s.R as Float64Array;
    const r = s.r as Float64Array[];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) R[i * n + j] = lam * R[i * n + j] + a[i] * a[j];
    for (let t = 0; t < k; t++) for (let i = 0; i < n; i++) r[t][i] = lam * r[t][i] + a[i] * y[yOffset + t];
    activate(s);
    return true;
  }
  // Sherman–Morrison on R' = λR + aaᵀ: u = P·a, σ = λ + aᵀu, P' = (P − u·uᵀ/σ)/λ, w' = w + (u/σ)·(y − aᵀw).
  const P = s.P;
  const u = scratch.u;
  let sigma = lam;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < n; j++) v += P[i * n + j] * a[j];
    u[i] = v;
    sigma += a[i] * v;
  }
  for (let t = 0; t < k; t++) {
    const w = s.w[t];
    let e = y[yOffset + t];
    for (let i = 0; i < n; i++) e -= a[i] * w[i];
    const g = e / sigma;
    for (let i = 0; i < n; i++) w[i] += u[i] * g;
  }
  // Symmetric by construction: each entry pair written from the same value.
  const inv = 1 / lam;
  for (let i = 0; i < n; i++) {
    const ui = u[i] / sigma;
    for (let j = 0; j <= i; j++) {
      const v = (P[i * n + j] - ui * u[j]) * inv;
      P[i * n + j] = v;
      P[j * n + i] = v;
    }
  }
  return true;
}

/** Absorbs rows [range.start, range.end) of row-major X (n × p) and Y (n × k) in order; returns how many were used. */
export function rlsUpdateRows(s: RlsState, X: ArrayLike<number>, Y: ArrayLike<number>, range: { start: number; end: number }): number {
  let used = 0;
  for (let r = range.start; r < range.end; r++) if (rlsUpdate(s, X, Y, r * s.p, r * s.k)) used++;
  return used;
}

/** The prediction of target t for one row of x (from x[offset …]). */
export function rlsPredictRow(s: RlsState, x: ArrayLike<number>, t: number, offset = 0): number {
  const w = s.w[t];
  let z = s.fitIntercept ? w[s.p] : 0;
  for (let j = 0; j < s.p; j++) z += x[offset + j] * w[j];
  return z;
}

/**
 * Walk-forward over rows [range.start, range.end): each row is predicted with the state as it is
 * (rows before it only), then absorbed. Returns the predictions per target; the state ends updated.
 */
export function rlsWalkForward(s: RlsState, X: ArrayLike<number>, Y: ArrayLike<number>, range: { start: number; end: number }): Float64Array[] {
  const m = range.end - range.start;
  const out = Array.from({ length: s.k }, () => new Float64Array(m));
  for (let r = range.start; r < range.end; r++) {
    for (let t = 0; t < s.k; t++) out[t][r - range.start] = rlsPredictRow(s, X, t, r * s.p);
    rlsUpdate(s, X, Y, r * s.p, r * s.k);
  }
  return out;
}

/** A deep copy (updates mutate in place). */
export function rlsClone(s: RlsState): RlsState {
  return { ...s, w: s.w.map((w) => w.slice()), P: s.P?.slice() ?? null, R: s.R?.slice() ?? null, r: s.r?.map((r) => r.slice()) ?? null };
}

/** The state's current weights as a linear kind's fitted state (what `linearPredict` scores with). */
export function rlsToLinear(s: RlsState): LinearState {
  return { coef: s.w.map((w) => Array.from(w.subarray(0, s.p))), intercept: s.w.map((w) => (s.fitIntercept ? w[s.p] : 0)) };
}
