import type { RowRange } from '../../core/artifacts.js';

/**
 * Sequence windows over a Dataset's rows, as index arrays into its row-major X: a window is named
 * by its last row r and covers rows r − lookback + 1 … r. Nothing is copied per window; a batch is
 * gathered into one Float32Array only when it is fed to the network (`gatherWindows`).
 *
 * A window never crosses
 *   - the edge of the row range it is built in (a segment, a fold's train or val range: windows are
 *     built per range, so they cannot reach into the rows before it),
 *   - a gap in time larger than `maxGapMs` between two consecutive rows (a weekend's ~49 hours on
 *     H1 bars is fine with the default 72 h; a data outage is not).
 */

/** End rows of every valid window inside `range`, ascending. `index` holds the rows' UTC epoch ms. */
export function buildWindows(index: ArrayLike<number> | undefined, range: RowRange, lookback: number, maxGapMs: number): Int32Array {
  if (!(Number.isInteger(lookback) && lookback >= 1)) throw new Error(`lookback must be an integer ≥ 1, got ${lookback}`);
  const start = Math.max(0, range.start);
  const end = range.end;
  const out = new Int32Array(Math.max(0, end - start));
  let n = 0;
  // run = rows ending at r since the range's start or the last gap larger than maxGapMs.
  let run = 0;
  for (let r = start; r < end; r++) {
    if (r > start && index !== undefined && index[r] - index[r - 1] > maxGapMs) run = 1;
    else run++;
    if (run >= lookback) out[n++] = r;
  }
  return out.slice(0, n);
}

/** End rows of the windows of several ranges (e.g. a fold's training pieces), concatenated. */
export function buildWindowsMany(index: ArrayLike<number> | undefined, ranges: readonly RowRange[], lookback: number, maxGapMs: number): Int32Array {
  const parts = ranges.map((r) => buildWindows(index, r, lookback, maxGapMs));
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Fills `out` (length ≥ ends.length·lookback·p) with the windows ending at `ends[i]` for i in
 * `order[from … to)` (or ends[from … to) without `order`): batch-major, then time, then feature,
 * i.e. a [batch, lookback, p] tensor's row-major data. Each window is `lookback` contiguous rows
 * of X, so it is one typed-array copy. With `norm`, each window normalised on its own
 * (`WindowNorm`): [batch, lookback, windowWidth(p, norm)].
 */
export function gatherWindows(
  X: ArrayLike<number> & { subarray?: unknown },
  p: number,
  lookback: number,
  ends: Int32Array,
  from: number,
  to: number,
  out: Float32Array,
  order?: Uint32Array | Int32Array,
  norm?: WindowNorm,
): Float32Array {
  if (norm) return gatherNormalised(X, p, lookback, ends, from, to, out, order);
  const w = lookback * p;
  const isF64 = X instanceof Float64Array;
  for (let i = from; i < to; i++) {
    const r = ends[order ? order[i] : i];
    const s = (r - lookback + 1) * p;
    const o = (i - from) * w;
    if (isF64) out.set((X as Float64Array).subarray(s, s + w), o);
    else for (let j = 0; j < w; j++) out[o + j] = X[s + j];
  }
  return out;
}

/**
 * Per-window normalisation of the windows a network is fed. `instance` (the input half of RevIN,
 * Kim et al. 2022): each feature of a window centred on its mean over the window's bars and divided
 * by their sd (+ WINDOW_SD_FLOOR), with two more columns per feature, the same on every bar of the
 * window: the log of that sd and that mean. So the network sees the shape of every window on one
 * scale, and the level of each feature as its log sd (a window far wilder than any it trained on is
 * not far outside their range) and its mean. Only the window's own rows are read (rows
 * end − lookback + 1 … end): causal. Bar b of a window: [z_1 … z_p, log sd_1 … log sd_p, mean_1 … mean_p].
 */
export type WindowNorm = 'instance';

/** Added to a feature's sd over a window (a constant feature in a window must not divide by 0). */
export const WINDOW_SD_FLOOR = 1e-3;

/** Columns per bar of a window fed with `norm` (p without). */
export function windowWidth(p: number, norm?: WindowNorm): number {
  return norm === 'instance' ? 3 * p : p;
}

/** Mean of feature j (of p per row) over rows s … r. */
export function windowMean(X: ArrayLike<number>, p: number, j: number, s: number, r: number): number {
  let m = 0;
  for (let t = s; t <= r; t++) m += X[t * p + j];
  return m / (r - s + 1);
}

/** Population sd of feature j over rows s … r around their mean `m`, plus WINDOW_SD_FLOOR. */
export function windowSd(X: ArrayLike<number>, p: number, j: number, s: number, r: number, m: number): number {
  let v = 0;
  for (let t = s; t <= r; t++) v += (X[t * p + j] - m) ** 2;
  return Math.sqrt(v / (r - s + 1)) + WINDOW_SD_FLOOR;
}

function gatherNormalised(
  X: ArrayLike<number>,
  p: number,
  lookback: number,
  ends: Int32Array,
  from: number,
  to: number,
  out: Float32Array,
  order?: Uint32Array | Int32Array,
): Float32Array {
  const q = 3 * p;
  const w = lookback * q;
  for (let i = from; i < to; i++) {
    const r = ends[order ? order[i] : i];
    const s = r - lookback + 1;
    const o = (i - from) * w;
    for (let j = 0; j < p; j++) {
      const m = windowMean(X, p, j, s, r);
      const sd = windowSd(X, p, j, s, r, m);
      const level = Math.log(sd);
      for (let t = 0; t < lookback; t++) {
        out[o + t * q + j] = (X[(s + t) * p + j] - m) / sd;
        out[o + t * q + p + j] = level;
        out[o + t * q + 2 * p + j] = m;
      }
    }
  }
  return out;
}

/** Targets of the windows (the target of a window is its last row's), [batch, k] row-major. */
export function gatherTargets(
  Y: ArrayLike<number>,
  k: number,
  ends: Int32Array,
  from: number,
  to: number,
  out: Float32Array,
  order?: Uint32Array | Int32Array,
  mean?: ArrayLike<number>,
  std?: ArrayLike<number>,
): Float32Array {
  for (let i = from; i < to; i++) {
    const r = ends[order ? order[i] : i];
    for (let t = 0; t < k; t++) {
      const y = Y[r * k + t];
      out[(i - from) * k + t] = mean && std ? (y - mean[t]) / std[t] : y;
    }
  }
  return out;
}

/**
 * Timestamps and training pieces of a block gathered from several training ranges followed by
 * the validation rows (the train step's layout for purged k-fold and CPCV folds), so windows can be
 * kept inside each piece.
 */
export function gatheredLayout(index: ArrayLike<number>, ranges: readonly RowRange[], val: RowRange): { index: Float64Array; pieces: RowRange[] } {
  const parts = [...ranges, val].filter((r) => r.end > r.start);
  const out = new Float64Array(parts.reduce((a, r) => a + (r.end - r.start), 0));
  const pieces: RowRange[] = [];
  let o = 0;
  for (const r of parts) {
    for (let i = r.start; i < r.end; i++) out[o + i - r.start] = index[i];
    if (r !== val) pieces.push({ start: o, end: o + r.end - r.start });
    o += r.end - r.start;
  }
  return { index: out, pieces };
}
