import { solveSpd } from '../linalg.js';
import { WINDOW_SD_FLOOR, windowMean, windowSd } from '../nn/windows.js';

/**
 * The diffusion kinds' window scale (`scale: window`, RevIN-style, Kim et al. 2022): each window's
 * target patch is divided by a scale estimated from that window's bars only (rows end − lookback + 1
 * … end, so no look-ahead), the model learns the normalised target, and its draws are multiplied
 * back. A network that under-reacts to the window's volatility then under-reacts around a scale that
 * already follows it, instead of around one constant spread (issue 22: draws 0.54× the true σ where
 * σ is highest).
 *
 * Which features carry the volatility is not known to the kind (returns, their squares, rolling
 * ranges, levels …), so the scale is learned: per target, log|standardised target| is regressed
 * (least squares, a small ridge) on each feature's log standard deviation over the window and over
 * its last quarter (logSds), on the training windows. For a scale family E log|y/σ| is a constant, so the fit is log σ up to a
 * constant; features with no bearing on the spread get ≈ 0 weight. Centred on the training windows'
 * mean (their scales' geometric mean is 1) and clamped to [0.1, 10] (a window of constant features
 * must not divide by ≈ 0).
 */
export interface WindowScale {
  /** Per target, one weight per regressor of logSds (centred). */
  coef: number[][];
  /** Per regressor of logSds, its mean on the training windows. */
  centre: number[];
}

/** Floor of |standardised target| in its log (an exact zero return). */
const Y_FLOOR = 1e-3;
const RIDGE = 1e-3;
const LOG_MIN = Math.log(0.1);
const LOG_MAX = Math.log(10);

/** Regressors per feature (logSds). */
const PER_FEATURE = 2;

/**
 * Each feature's log sd over the window ending at row `end`, and its log RMS deviation (from the
 * window's mean) over the window's last quarter, floored: a long and a short component, as HAR
 * models of volatility (Corsi 2009), since the next bar's spread follows the recent bars more than
 * the window's start. `out`: PER_FEATURE·p values.
 */
function logSds(X: ArrayLike<number>, p: number, lookback: number, end: number, out: Float64Array): void {
  const s = end - lookback + 1;
  const recent = Math.max(1, Math.ceil(lookback / 4));
  for (let j = 0; j < p; j++) {
    const m = windowMean(X, p, j, s, end);
    let w = 0;
    for (let r = end - recent + 1; r <= end; r++) w += (X[r * p + j] - m) ** 2;
    out[PER_FEATURE * j] = Math.log(windowSd(X, p, j, s, end, m));
    out[PER_FEATURE * j + 1] = Math.log(Math.sqrt(w / recent) + WINDOW_SD_FLOOR);
  }
}

/** Fits the scale on the windows ending at `ends` (training), the targets standardised by mean/std. */
export function fitWindowScale(
  X: ArrayLike<number>,
  p: number,
  lookback: number,
  Y: ArrayLike<number>,
  k: number,
  ends: Int32Array,
  mean: ArrayLike<number>,
  std: ArrayLike<number>,
): WindowScale {
  const n = ends.length;
  const q = PER_FEATURE * p;
  const F = new Float64Array(n * q);
  const f = new Float64Array(q);
  const centre = new Array<number>(q).fill(0);
  ends.forEach((r, i) => {
    logSds(X, p, lookback, r, f);
    F.set(f, i * q);
    for (let j = 0; j < q; j++) centre[j] += f[j] / n;
  });
  for (let i = 0; i < n; i++) for (let j = 0; j < q; j++) F[i * q + j] -= centre[j];
  const A = new Float64Array(q * q);
  for (let i = 0; i < n; i++) for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) A[a * q + b] += (F[i * q + a] * F[i * q + b]) / n;
  for (let a = 0; a < q; a++) A[a * q + a] += RIDGE;
  const rhs = Array.from({ length: k }, (_, t) => {
    const z = new Float64Array(n);
    let zm = 0;
    ends.forEach((r, i) => {
      const y = Y[r * k + t];
      z[i] = Number.isFinite(y) ? Math.log(Math.abs(y - mean[t]) / std[t] + Y_FLOOR) : 0;
      zm += z[i] / n;
    });
    const b = new Float64Array(q);
    for (let i = 0; i < n; i++) for (let j = 0; j < q; j++) b[j] += (F[i * q + j] * (z[i] - zm)) / n;
    return b;
  });
  return { coef: solveSpd(A, q, rhs).x.map((c) => Array.from(c)), centre };
}

/** Per target, the scale of each window ending at `ends` (≥ 0.1, ≤ 10). */
export function windowScales(ws: WindowScale, X: ArrayLike<number>, p: number, lookback: number, ends: Int32Array): Float64Array[] {
  const out = ws.coef.map(() => new Float64Array(ends.length));
  const f = new Float64Array(PER_FEATURE * p);
  ends.forEach((r, i) => {
    logSds(X, p, lookback, r, f);
    ws.coef.forEach((c, t) => {
      let l = 0;
      for (let j = 0; j < f.length; j++) l += c[j] * (f[j] - ws.centre[j]);
      out[t][i] = Math.exp(Math.min(LOG_MAX, Math.max(LOG_MIN, l)));
    });
  });
  return out;
}

/**
 * A copy of Y with each window's targets divided by its scale around the training mean:
 * mean + (y − mean)/s (rows that end no window are left as they are).
 */
export function normaliseTargets(
  Y: ArrayLike<number>,
  k: number,
  mean: ArrayLike<number>,
  groups: { ends: Int32Array; scales: Float64Array[] }[],
): Float64Array {
  const out = Float64Array.from(Y);
  for (const { ends, scales } of groups)
    ends.forEach((r, i) => {
      for (let t = 0; t < k; t++) out[r * k + t] = mean[t] + (Y[r * k + t] - mean[t]) / scales[t][i];
    });
  return out;
}
