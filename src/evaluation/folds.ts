import type { RowRange } from '../core/artifacts.js';

/**
 * Splitting methods as pure functions of row counts: which rows of a time-ordered dataset each fold
 * trains on, validates on and tests on. Nothing here looks at values, only at positions.
 *
 * Conventions. Row i is a bar; its features use bars ≤ i and its target is a forward return over up
 * to `horizon` bars, so its label window is the bars i+1 … i+horizon. An evaluation segment is the
 * rows [a, b).
 *
 * - Purging: a training row whose label window reaches into an evaluation segment has seen prices
 *   the evaluation rows are judged on. A training row i < a is kept only if i + horizon < a, so the
 *   `horizon` rows just before each evaluation segment are dropped: [a − horizon, a).
 * - Embargo: the `embargo` rows right after each evaluation segment, [b, b + embargo), are dropped
 *   from training. An observation spans [i, i + horizon] (its bar to its label's end; López de
 *   Prado, Advances in Financial ML, §7.4), so the evaluation segment spans [a, b − 1 + horizon] and
 *   the training rows b … b + horizon − 1 after it overlap it: `embargo ≥ horizon` is what completes
 *   the purge on that side, and a longer embargo also drops rows whose lookback features were
 *   computed from evaluation bars.
 *
 * Temporal and walk-forward splits only ever train before they evaluate, so only the purge applies
 * (the validation segment is purged before the test segment in the same way, since it is used for
 * early stopping and model selection). Purged k-fold and CPCV train on both sides and use both.
 */

/** The rows of one fold. Ranges are half-open, in time order, non-overlapping; any may be empty. */
export interface FoldRows {
  train: RowRange[];
  val: RowRange;
  test: RowRange[];
  /** Training candidates dropped by purging and embargo in this fold. */
  purged: number;
}

const range = (start: number, end: number): RowRange => ({ start, end: Math.max(start, end) });
const len = (r: RowRange): number => Math.max(0, r.end - r.start);

/** Total rows of a list of ranges. */
export function rowCount(ranges: readonly RowRange[]): number {
  return ranges.reduce((a, r) => a + len(r), 0);
}

/**
 * The rows of [0, n) left for training once every evaluation range, the `horizon` rows before each
 * (purge) and the `embargo` rows after each are removed. Returns the kept ranges (non-empty, in
 * order) and how many non-evaluation rows were dropped.
 */
export function purgedTrain(n: number, evaluation: readonly RowRange[], horizon: number, embargo: number): { train: RowRange[]; purged: number } {
  // Blocked intervals: [a − horizon, b + embargo) for each evaluation range [a, b), merged.
  const blocked = evaluation
    .filter((r) => len(r) > 0)
    .map((r) => ({ start: Math.max(0, r.start - horizon), end: Math.min(n, r.end + embargo) }))
    .sort((x, y) => x.start - y.start);
  const merged: RowRange[] = [];
  for (const b of blocked) {
    const last = merged[merged.length - 1];
    if (last && b.start <= last.end) last.end = Math.max(last.end, b.end);
    else merged.push({ ...b });
  }
  const train: RowRange[] = [];
  let at = 0;
  for (const b of merged) {
    if (b.start > at) train.push({ start: at, end: b.start });
    at = Math.max(at, b.end);
  }
  if (at < n) train.push({ start: at, end: n });
  const evalRows = rowCount(evaluation);
  const purged = n - rowCount(train) - evalRows;
  return { train, purged };
}

/** Temporal train/val/test by shares: nTrain = ⌊n·r0⌋, nVal = ⌊n·r1⌋, test the rest; purged by `horizon`. */
export function temporalFold(n: number, ratios: readonly number[], horizon: number): FoldRows {
  // A 1e-9 slack keeps e.g. 100 × 0.57 = 56.99999999999999 from losing a row to rounding.
  const nTrain = Math.floor(n * ratios[0] + 1e-9);
  const nVal = Math.floor(n * ratios[1] + 1e-9);
  return boundariesFold(n, nTrain, nTrain + nVal, horizon);
}

/**
 * Train [0, valStart − h), val [valStart, testStart − h), test [testStart, n). With h = the horizon,
 * a row of one segment never has a label window reaching into the next one.
 */
export function boundariesFold(n: number, valStart: number, testStart: number, horizon: number): FoldRows {
  const train = range(0, valStart - horizon);
  const val = range(valStart, testStart - horizon);
  const test = range(Math.min(n, testStart), n);
  return { train: [train], val, test: [test], purged: len(range(train.end, valStart)) };
}

/** The first row whose timestamp is ≥ t (binary search over a strictly increasing index). */
export function firstRowAtOrAfter(index: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = index.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (index[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface WalkForwardOptions {
  /** Training rows of the first fold (expanding) or of every fold (rolling). */
  train: number;
  /** Validation rows after each training window (0: none). */
  val: number;
  /** Test rows after each validation window. */
  test: number;
  /** Rows the window moves between folds. */
  step: number;
  window: 'expanding' | 'rolling';
  /** Keep at most this many folds: the most recent ones. */
  maxFolds?: number;
}

/**
 * Walk-forward folds over n rows. Fold i's training window ends at e_i = train + i·step; its
 * validation rows are [e_i, e_i + val) and its test rows [e_i + val, e_i + val + test); folds are
 * made while the test window fits in n. Expanding: training starts at row 0; rolling: at
 * e_i − train. The last `horizon` rows of the training window and of the validation window are
 * purged. The test windows of successive folds tile the data when step = test.
 */
export function walkForwardFolds(n: number, o: WalkForwardOptions, horizon: number): FoldRows[] {
  const folds: FoldRows[] = [];
  for (let e = o.train; e + o.val + o.test <= n; e += o.step) {
    const start = o.window === 'rolling' ? e - o.train : 0;
    const train = range(start, e - horizon);
    const val = o.val > 0 ? range(e, e + o.val - horizon) : range(e, e);
    const test = range(e + o.val, e + o.val + o.test);
    const purged = Math.min(horizon, e - start) + (o.val > 0 ? Math.min(horizon, o.val) : 0);
    folds.push({ train: [train], val, test: [test], purged });
  }
  return o.maxFolds !== undefined && folds.length > o.maxFolds ? folds.slice(folds.length - o.maxFolds) : folds;
}

/**
 * K contiguous groups over n rows: group g is [⌊g·n/K⌋, ⌊(g+1)·n/K⌋) (sizes differ by at most one).
 */
export function contiguousGroups(n: number, k: number): RowRange[] {
  return Array.from({ length: k }, (_, g) => ({ start: Math.floor((g * n) / k), end: Math.floor(((g + 1) * n) / k) }));
}

/**
 * Purged k-fold (López de Prado, AFML §7.4): fold g tests on group g and trains on every other row
 * except the `horizon` rows before the test group (purge) and the `embargo` rows after it. There is
 * no validation segment: the held-out group is the out-of-sample segment, and the K test groups
 * together cover every row once.
 */
export function purgedKFold(n: number, k: number, horizon: number, embargo: number): FoldRows[] {
  return contiguousGroups(n, k).map((g) => {
    const { train, purged } = purgedTrain(n, [g], horizon, embargo);
    return { train, val: range(g.start, g.start), test: [g], purged };
  });
}

/** Every k-subset of {0, …, n − 1}, in lexicographic order. */
export function combinations(n: number, k: number): number[][] {
  const out: number[][] = [];
  const pick: number[] = [];
  const rec = (from: number): void => {
    if (pick.length === k) {
      out.push([...pick]);
      return;
    }
    for (let i = from; i <= n - (k - pick.length); i++) {
      pick.push(i);
      rec(i + 1);
      pick.pop();
    }
  };
  rec(0);
  return out;
}

/** n choose k, exact for the small values used here. */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

export interface CpcvSplit {
  groups: RowRange[];
  /** Test groups of each split (fold), lexicographic. */
  testGroups: number[][];
  folds: FoldRows[];
  /**
   * Backtest paths: paths[j][g] is the fold whose test predictions of group g belong to path j.
   * There are C(N − 1, k − 1) paths; group g's j-th path uses the j-th split (in order) testing g.
   */
  paths: number[][];
}

/**
 * Combinatorial purged cross-validation (López de Prado, AFML §12.4): N contiguous groups; each of
 * the C(N, k) splits tests on k groups and trains on the rest, purged before and embargoed after
 * every test group (adjacent test groups form one evaluation range). Each group is tested in
 * C(N − 1, k − 1) splits, which assemble into that many complete out-of-sample paths.
 */
export function cpcv(n: number, nGroups: number, k: number, horizon: number, embargo: number): CpcvSplit {
  const groups = contiguousGroups(n, nGroups);
  const testGroups = combinations(nGroups, k);
  const folds = testGroups.map((tg) => {
    // Adjacent test groups merge into one evaluation range.
    const test: RowRange[] = [];
    for (const g of tg) {
      const last = test[test.length - 1];
      if (last && last.end === groups[g].start) last.end = groups[g].end;
      else test.push({ ...groups[g] });
    }
    const { train, purged } = purgedTrain(n, test, horizon, embargo);
    return { train, val: range(test[0].start, test[0].start), test, purged };
  });
  const nPaths = binomial(nGroups - 1, k - 1);
  const paths = Array.from({ length: nPaths }, () => new Array<number>(nGroups).fill(-1));
  for (let g = 0; g < nGroups; g++) {
    let j = 0;
    testGroups.forEach((tg, f) => {
      if (tg.includes(g)) paths[j++][g] = f;
    });
  }
  return { groups, testGroups, folds, paths };
}
