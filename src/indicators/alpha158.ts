/**
 * Qlib's Alpha158 feature set (qlib.contrib.data.handler.Alpha158, its `Alpha158DL` config)
 * adapted to candles: the 9 K-bar features, OPEN0/HIGH0/LOW0, and 29 rolling operators over
 * windows 5, 10, 20, 30, 60, with Qlib's names (KMID, ROC5, …, VSUMD60) and formulas; `Std` is the
 * sample (n−1) standard deviation as in Qlib, ratios by a zero volume use Qlib's own +1e-12 guard.
 * Every value at bar t uses bars ≤ t only. Qlib's undefined values are kept: RSQR is NaN where the
 * close's rolling std is ≤ 2e-5, CORR/CORD where either series' rolling std is ≤ 2e-5 (qlib/data/
 * ops.py, Rsquare and Corr: `np.isclose(std, 0, atol=2e-05)`); the features step fills them with 0
 * as Qlib's Fillna processor does. Remaining differences from Qlib:
 * - VWAP0 is left out: candles carry no VWAP (157 of the 158 columns).
 * - A rolling column is NaN until its window is full (its lookback, `alpha158Lookbacks`); Qlib's
 *   operators use `min_periods=1` and give values over the partial first windows. The features
 *   step drops those rows as warm-up.
 * - Window sums and stds are two-pass here, online in pandas/Qlib's Cython: values agree to
 *   rounding (≈1e-12 relative), so a std within rounding of 2e-5 may fall on the other side.
 */
import { nanArray } from './util.js';

export const ALPHA158_WINDOWS = [5, 10, 20, 30, 60];

const EPS = 1e-12;

/** Operators whose first value needs one bar before the window (a 1-bar change or ratio). */
const LAGGED = new Set(['ROC', 'CORD', 'CNTP', 'CNTN', 'CNTD', 'SUMP', 'SUMN', 'SUMD', 'WVMA', 'VSUMP', 'VSUMN', 'VSUMD']);
const OPS = [
  'ROC',
  'MA',
  'STD',
  'BETA',
  'RSQR',
  'RESI',
  'MAX',
  'MIN',
  'QTLU',
  'QTLD',
  'RANK',
  'RSV',
  'IMAX',
  'IMIN',
  'IMXD',
  'CORR',
  'CORD',
  'CNTP',
  'CNTN',
  'CNTD',
  'SUMP',
  'SUMN',
  'SUMD',
  'VMA',
  'VSTD',
  'WVMA',
  'VSUMP',
  'VSUMN',
  'VSUMD',
];
const KBAR = ['KMID', 'KLEN', 'KMID2', 'KUP', 'KUP2', 'KLOW', 'KLOW2', 'KSFT', 'KSFT2', 'OPEN0', 'HIGH0', 'LOW0'];

/** Qlib's threshold below which a rolling std counts as zero in Rsquare and Corr (`atol=2e-05`). */
export const QLIB_FLAT_STD = 2e-5;

/** Column names in the order `alpha158` returns them. */
export function alpha158Names(): string[] {
  const names = [...KBAR];
  for (const op of OPS) for (const d of ALPHA158_WINDOWS) names.push(`${op}${d}`);
  return names;
}

/** Per column (order of `alpha158Names`), the leading bars without a value: 0, d−1, or d for LAGGED ops. */
export function alpha158Lookbacks(): number[] {
  const out = KBAR.map(() => 0);
  for (const op of OPS) for (const d of ALPHA158_WINDOWS) out.push(LAGGED.has(op) ? d : d - 1);
  return out;
}

/** Columns Qlib leaves undefined (NaN) over a flat window, which the features step fills. */
export function isQlibFlatNaN(name: string): boolean {
  return /^(RSQR|CORR|CORD)\d+$/.test(name);
}

/** Quantile with linear interpolation between order statistics (pandas' default), of a sorted array. */
function quantileSorted(s: Float64Array, q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * Rolling Pearson correlation of a and b over d values ending at t, NaN where either sample std is
 * ≤ QLIB_FLAT_STD (Qlib's Corr), which also covers a constant series (e.g. FX data without volume).
 */
function corrAt(a: Float64Array, b: Float64Array, t: number, d: number): number {
  let sa = 0.0;
  let sb = 0.0;
  for (let j = t - d + 1; j <= t; j++) (sa += a[j]), (sb += b[j]);
  const ma = sa / d;
  const mb = sb / d;
  let sab = 0.0;
  let saa = 0.0;
  let sbb = 0.0;
  for (let j = t - d + 1; j <= t; j++) {
    const x = a[j] - ma;
    const y = b[j] - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  if (flat(saa, d) || flat(sbb, d)) return NaN;
  return sab / Math.sqrt(saa * sbb);
}

/** Whether a window's sum of squared deviations ss over d values has a sample std ≤ QLIB_FLAT_STD. */
function flat(ss: number, d: number): boolean {
  return !(Math.sqrt(ss / (d - 1)) > QLIB_FLAT_STD);
}

/** Sample standard deviation and mean of x over d values ending at t. */
function meanStd(x: Float64Array, t: number, d: number): [number, number] {
  let s = 0.0;
  for (let j = t - d + 1; j <= t; j++) s += x[j];
  const m = s / d;
  let ss = 0.0;
  for (let j = t - d + 1; j <= t; j++) ss += (x[j] - m) * (x[j] - m);
  return [m, Math.sqrt(ss / (d - 1))];
}

/** All Alpha158 columns, each as long as the candles, NaN where its window is incomplete. */
export function alpha158(open: Float64Array, high: Float64Array, low: Float64Array, close: Float64Array, volume: Float64Array): Float64Array[] {
  const n = close.length;
  const out: Float64Array[] = [];
  const col = (f: (i: number) => number): void => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = f(i);
    out.push(a);
  };
  const rng = (i: number): number => high[i] - low[i] + EPS;
  col((i) => (close[i] - open[i]) / open[i]);
  col((i) => (high[i] - low[i]) / open[i]);
  col((i) => (close[i] - open[i]) / rng(i));
  col((i) => (high[i] - Math.max(open[i], close[i])) / open[i]);
  col((i) => (high[i] - Math.max(open[i], close[i])) / rng(i));
  col((i) => (Math.min(open[i], close[i]) - low[i]) / open[i]);
  col((i) => (Math.min(open[i], close[i]) - low[i]) / rng(i));
  col((i) => (2 * close[i] - high[i] - low[i]) / open[i]);
  col((i) => (2 * close[i] - high[i] - low[i]) / rng(i));
  col((i) => open[i] / close[i]);
  col((i) => high[i] / close[i]);
  col((i) => low[i] / close[i]);

  // Helper series: 1-bar changes (NaN at 0), log volume, ratios for CORD, |ret|·volume for WVMA.
  const dc = nanArray(n);
  const dv = nanArray(n);
  const ret = nanArray(n);
  const lvr = nanArray(n);
  const wv = nanArray(n);
  const lv = new Float64Array(n);
  for (let i = 0; i < n; i++) lv[i] = Math.log(volume[i] + 1);
  for (let i = 1; i < n; i++) {
    dc[i] = close[i] - close[i - 1];
    dv[i] = volume[i] - volume[i - 1];
    ret[i] = close[i] / close[i - 1];
    lvr[i] = Math.log(volume[i] / (volume[i - 1] + EPS) + 1);
    wv[i] = Math.abs(close[i] / close[i - 1] - 1) * volume[i];
  }
  const W = ALPHA158_WINDOWS;
  const rolling = (d: number, from: number, f: (t: number) => number): Float64Array => {
    const a = nanArray(n);
    for (let t = from; t < n; t++) a[t] = f(t);
    return a;
  };
  const sorted = new Float64Array(Math.max(...W));
  // Window extremes and sign counts, each made once per series and window and shared by the
  // operators reading them (MAX, RSV, IMAX, IMXD read the same argmax of high).
  const memo = new Map<string, Int32Array>();
  const cached = (key: string, make: () => Int32Array): Int32Array => {
    let a = memo.get(key);
    if (!a) memo.set(key, (a = make()));
    return a;
  };
  const hiArg = (d: number): Int32Array => cached(`hi${d}`, () => argExtremes(high, d, 1));
  const loArg = (d: number): Int32Array => cached(`lo${d}`, () => argExtremes(low, d, -1));
  const up = (d: number): Int32Array => cached(`up${d}`, () => signCounts(dc, d, 1));
  const down = (d: number): Int32Array => cached(`dn${d}`, () => signCounts(dc, d, -1));
  // Per operator, per window (the order of alpha158Names).
  const ops: ((d: number) => Float64Array)[] = [
    (d) => rolling(d, d, (t) => close[t - d] / close[t]),
    (d) => rolling(d, d - 1, (t) => meanStd(close, t, d)[0] / close[t]),
    (d) => rolling(d, d - 1, (t) => meanStd(close, t, d)[1] / close[t]),
    (d) => rolling(d, d - 1, (t) => regression(close, t, d).slope / close[t]),
    (d) => rolling(d, d - 1, (t) => regression(close, t, d).r2),
    (d) => rolling(d, d - 1, (t) => regression(close, t, d).resid / close[t]),
    (d, hi = hiArg(d)) => rolling(d, d - 1, (t) => high[hi[t]] / close[t]),
    (d, lo = loArg(d)) => rolling(d, d - 1, (t) => low[lo[t]] / close[t]),
    (d) => rollingQuantile(close, d, 0.8, sorted),
    (d) => rollingQuantile(close, d, 0.2, sorted),
    (d) => rolling(d, d - 1, (t) => rankLast(close, t, d)),
    (d, hi = hiArg(d), lo = loArg(d)) =>
      rolling(d, d - 1, (t) => {
        const mn = low[lo[t]];
        return (close[t] - mn) / (high[hi[t]] - mn + EPS);
      }),
    // Position 1…d of the extreme in its window.
    (d, hi = hiArg(d)) => rolling(d, d - 1, (t) => (hi[t] - t + d) / d),
    (d, lo = loArg(d)) => rolling(d, d - 1, (t) => (lo[t] - t + d) / d),
    (d, hi = hiArg(d), lo = loArg(d)) => rolling(d, d - 1, (t) => (hi[t] - t + d - (lo[t] - t + d)) / d),
    (d) => rolling(d, d - 1, (t) => corrAt(close, lv, t, d)),
    (d) => rolling(d, d, (t) => corrAt(ret, lvr, t, d)),
    (d, u = up(d)) => rolling(d, d, (t) => u[t] / d),
    (d, v = down(d)) => rolling(d, d, (t) => v[t] / d),
    (d, u = up(d), v = down(d)) => rolling(d, d, (t) => (u[t] - v[t]) / d),
    (d) => rolling(d, d, (t) => sumPart(dc, t, d, 1) / (sumPart(dc, t, d, 0) + EPS)),
    (d) => rolling(d, d, (t) => sumPart(dc, t, d, -1) / (sumPart(dc, t, d, 0) + EPS)),
    (d) => rolling(d, d, (t) => (sumPart(dc, t, d, 1) - sumPart(dc, t, d, -1)) / (sumPart(dc, t, d, 0) + EPS)),
    (d) => rolling(d, d - 1, (t) => meanStd(volume, t, d)[0] / (volume[t] + EPS)),
    (d) => rolling(d, d - 1, (t) => meanStd(volume, t, d)[1] / (volume[t] + EPS)),
    (d) =>
      rolling(d, d, (t) => {
        const [m, s] = meanStd(wv, t, d);
        return s / (m + EPS);
      }),
    (d) => rolling(d, d, (t) => sumPart(dv, t, d, 1) / (sumPart(dv, t, d, 0) + EPS)),
    (d) => rolling(d, d, (t) => sumPart(dv, t, d, -1) / (sumPart(dv, t, d, 0) + EPS)),
    (d) => rolling(d, d, (t) => (sumPart(dv, t, d, 1) - sumPart(dv, t, d, -1)) / (sumPart(dv, t, d, 0) + EPS)),
  ];
  for (const op of ops) for (const d of W) out.push(op(d));
  return out;
}

/** Least squares of x over d values ending at t against 0..d−1: slope, R² (NaN over a flat window), residual of the last value. */
function regression(x: Float64Array, t: number, d: number): { slope: number; r2: number; resid: number } {
  const ub = (d - 1) / 2;
  let s = 0.0;
  for (let j = t - d + 1; j <= t; j++) s += x[j];
  const yb = s / d;
  let sxy = 0.0;
  let sxx = 0.0;
  let syy = 0.0;
  for (let u = 0; u < d; u++) {
    const y = x[t - d + 1 + u] - yb;
    sxy += (u - ub) * y;
    sxx += (u - ub) * (u - ub);
    syy += y * y;
  }
  const slope = sxy / sxx;
  const fitted = yb + slope * (d - 1 - ub);
  // Qlib's Rsquare: NaN where the window's sample std is ≤ 2e-5 (R² of a flat window is 0/0).
  return { slope, r2: flat(syy, d) ? NaN : (sxy * sxy) / (sxx * syy), resid: x[t] - fitted };
}

/**
 * Per bar t ≥ d−1, the index of the first maximum (sign 1) or minimum (−1) of x over the window of
 * d ending at t (earlier bars: 0; first on ties, as pandas' argmax). A monotonic deque keeps the
 * candidates — O(n) instead of a scan of every window, the same indices; where x holds NaN (which
 * compares unlike other values) every window is scanned.
 */
function argExtremes(x: Float64Array, d: number, sign: 1 | -1): Int32Array {
  const n = x.length;
  const out = new Int32Array(n);
  const beats = (a: number, b: number): boolean => (sign === 1 ? a > b : a < b);
  if (!x.every((v) => v === v)) {
    for (let t = d - 1; t < n; t++) {
      let best = t - d + 1;
      for (let j = best + 1; j <= t; j++) if (beats(x[j], x[best])) best = j;
      out[t] = best;
    }
    return out;
  }
  const q = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let t = 0; t < n; t++) {
    // A later value only displaces candidates it strictly beats: an equal earlier one stays first.
    while (tail > head && beats(x[t], x[q[tail - 1]])) tail--;
    q[tail++] = t;
    if (q[head] <= t - d) head++;
    if (t >= d - 1) out[t] = q[head];
  }
  return out;
}

/** Per bar t ≥ d, how many of x[t−d+1 … t] are > 0 (sign 1) or < 0 (−1), counted as the window slides. */
function signCounts(x: Float64Array, d: number, sign: 1 | -1): Int32Array {
  const n = x.length;
  const out = new Int32Array(n);
  const hit = (v: number): number => (sign === 1 ? (v > 0 ? 1 : 0) : v < 0 ? 1 : 0);
  let c = 0;
  for (let t = 0; t < n; t++) {
    c += hit(x[t]);
    if (t >= d) c -= hit(x[t - d]);
    out[t] = c;
  }
  return out;
}

/** Index of the first value of sorted s[0, len) that is not below v. */
function lowerBound(s: Float64Array, len: number, v: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * QTLU/QTLD: the q-quantile of x over each window of d values ending at t, divided by x[t] (NaN
 * before the first full window). The window is kept sorted as it slides — one value out, one in,
 * found by binary search — instead of sorted afresh at every bar: the same sorted values, so the
 * same quantiles, at ≈ d/2 moves a bar instead of a sort (the 10 QTL columns of 50k bars: 263 →
 * 43 ms). Where x holds NaN or zero (which sort and compare unlike other values) every window is
 * sorted afresh.
 */
function rollingQuantile(x: Float64Array, d: number, q: number, buf: Float64Array): Float64Array {
  const n = x.length;
  const out = nanArray(n);
  if (n < d) return out;
  const s = buf.subarray(0, d);
  const plain = x.every((v) => v > 0 || v < 0);
  for (let j = 0; j < d; j++) s[j] = x[j];
  s.sort();
  out[d - 1] = quantileSorted(s, q) / x[d - 1];
  for (let t = d; t < n; t++) {
    if (plain) {
      // Out goes x[t − d] (present: found exactly), in comes x[t].
      const i = lowerBound(s, d, x[t - d]);
      s.copyWithin(i, i + 1, d);
      const k = lowerBound(s, d - 1, x[t]);
      s.copyWithin(k + 1, k, d - 1);
      s[k] = x[t];
    } else {
      for (let j = 0; j < d; j++) s[j] = x[t - d + 1 + j];
      s.sort();
    }
    out[t] = quantileSorted(s, q) / x[t];
  }
  return out;
}

/** Percentile rank of x[t] in its window, ties averaged (pandas rank(pct=True)). */
function rankLast(x: Float64Array, t: number, d: number): number {
  const v = x[t];
  let less = 0;
  let equal = 0;
  for (let j = t - d + 1; j <= t; j++) {
    if (x[j] < v) less++;
    else if (x[j] === v) equal++;
  }
  return (less + (equal + 1) / 2) / d;
}

/** Sum over the window of max(x, 0) (part 1), max(−x, 0) (part −1) or |x| (part 0). */
function sumPart(x: Float64Array, t: number, d: number, part: 1 | -1 | 0): number {
  let s = 0.0;
  for (let j = t - d + 1; j <= t; j++) {
    const v = x[j];
    s += part === 0 ? Math.abs(v) : part === 1 ? (v > 0 ? v : 0) : v < 0 ? -v : 0;
  }
  return s;
}
