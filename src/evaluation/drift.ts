import type { DriftReport, DriftSegment, RowRange } from '../core/artifacts.js';
import { columnBuffers, GATHER, sortedColumns } from '../core/sort.js';
import { quantileSorted } from './scalers.js';

/**
 * Feature drift between training and evaluation rows: the two-sample Kolmogorov–Smirnov test per
 * feature. The report measures shift; it says nothing about leakage (similar distributions are
 * expected of a stationary feature and are not evidence of a leak).
 */

/**
 * The two-sample KS statistic D = sup_x |F_a(x) − F_b(x)| of two samples already sorted ascending
 * (NaN excluded). Ties are stepped over together, so D is evaluated only between distinct values.
 */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const x = a[i] <= b[j] ? a[i] : b[j];
    while (i < n && a[i] === x) i++;
    while (j < m && b[j] === x) j++;
    const diff = Math.abs(i / n - j / m);
    if (diff > d) d = diff;
  }
  return d;
}

/**
 * The Kolmogorov distribution's survival function Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}: the
 * asymptotic probability that √N·D exceeds λ under the null hypothesis.
 */
export function kolmogorovQ(lambda: number): number {
  if (!(lambda > 0)) return 1;
  // The alternating series converges slowly for small λ, where Q is 1 to double precision.
  if (lambda < 0.18) return 1;
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k++) {
    const term = sign * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-16 * Math.abs(sum)) break;
    sign = -sign;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * p-value of a two-sample KS statistic D for sample sizes n and m: Q((√N_e + 0.12 + 0.11/√N_e)·D)
 * with N_e = nm/(n + m) (Stephens' small-sample correction, as in Numerical Recipes' `kstwo`).
 */
export function ksPValue(d: number, n: number, m: number): number {
  if (!Number.isFinite(d) || n === 0 || m === 0) return NaN;
  const en = Math.sqrt((n * m) / (n + m));
  return kolmogorovQ((en + 0.12 + 0.11 / en) * d);
}

export interface DriftFold {
  train: readonly RowRange[];
  val: RowRange;
  test: readonly RowRange[];
}

/**
 * KS statistic and p-value of every feature between each fold's training rows and its val and test
 * rows (empty segments skipped), on unscaled features: a per-fold affine scaling does not change D.
 */
export function driftReport(X: Float64Array, p: number, folds: readonly DriftFold[], signal?: AbortSignal): DriftReport {
  const segments: DriftSegment[] = [];
  folds.forEach((f, fold) => {
    const evals: ['val' | 'test', readonly RowRange[]][] = [
      ['val', [f.val]],
      ['test', f.test],
    ];
    const todo = evals.filter(([, rs]) => rs.some((r) => r.end > r.start));
    const out = todo.map(([segment]) => ({ fold, segment, ks: new Array<number>(p), pValue: new Array<number>(p) }));
    const rows = (rs: readonly RowRange[]): number => rs.reduce((m, r) => m + Math.max(0, r.end - r.start), 0);
    // Columns gathered and radix-sorted GATHER at a time into reused buffers (one by one with
    // TypedArray#sort, EURUSD H1's alpha158 report took 630–670 ms; now 305–335 ms, the same report).
    const trainBuf = columnBuffers(rows(f.train));
    const evalBuf = columnBuffers(Math.max(0, ...todo.map(([, rs]) => rows(rs))));
    for (let j0 = 0; j0 < p; j0 += GATHER) {
      if (signal?.aborted) return;
      const g = Math.min(GATHER, p - j0);
      const train = sortedColumns(X, p, j0, g, f.train, trainBuf);
      todo.forEach(([, rs], s) => {
        const ev = sortedColumns(X, p, j0, g, rs, evalBuf);
        for (let k = 0; k < g; k++) {
          const d = ksStatistic(train[k], ev[k]);
          out[s].ks[j0 + k] = d;
          out[s].pValue[j0 + k] = ksPValue(d, train[k].length, ev[k].length);
        }
      });
    }
    segments.push(...out);
  });
  return { test: 'ks', segments };
}

/** Headline drift numbers for run history: the largest KS statistic on val and on test, and how many features shifted (p < 0.01) on test in some fold. */
export function driftMetrics(report: DriftReport, p: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const seg of ['val', 'test'] as const) {
    const segs = report.segments.filter((s) => s.segment === seg);
    if (!segs.length) continue;
    let max = 0;
    const shifted = new Set<number>();
    for (const s of segs) {
      s.ks.forEach((d, j) => {
        if (d > max) max = d;
        if (s.pValue[j] < 0.01) shifted.add(j);
      });
    }
    out[`drift_ks_max_${seg}`] = max;
    out[`drift_shifted_${seg}`] = shifted.size;
  }
  if (p > 0 && out.drift_shifted_test !== undefined) out.drift_shifted_test_share = out.drift_shifted_test / p;
  return out;
}

/**
 * Population stability index bins of a reference sample (a model's training rows): cut points at
 * its k/B quantiles (k = 1 … B − 1, linear interpolation as NumPy's default `percentile`), and the
 * reference's own share in each bin. A value v falls in the bin of the number of cut points below
 * it (v equal to a cut point goes to the lower bin), so tied reference values never straddle a cut.
 */
export interface PsiBins {
  cuts: Float64Array;
  /** Share of the reference in each of the cuts.length + 1 bins. */
  expected: Float64Array;
}

/** Bin of v: the number of cut points strictly below it. */
function binOf(cuts: Float64Array, v: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** PSI bins of a reference sample sorted ascending (NaN excluded), `bins` quantile bins. */
export function psiBins(sortedRef: ArrayLike<number>, bins: number): PsiBins {
  const m = sortedRef.length;
  const cuts = new Float64Array(Math.max(0, bins - 1));
  for (let k = 1; k < bins; k++) cuts[k - 1] = quantileSorted(sortedRef, k / bins);
  const expected = new Float64Array(bins);
  for (let i = 0; i < m; i++) expected[binOf(cuts, sortedRef[i])]++;
  for (let b = 0; b < bins; b++) expected[b] /= m || 1;
  return { cuts, expected };
}

/**
 * Shares below this count as this in PSI, so a bin empty on one side gives a large finite term
 * instead of an infinite one (the usual convention; a bin empty on both sides adds nothing).
 */
export const PSI_FLOOR = 1e-4;

/**
 * Population stability index of a sample (NaN skipped) against reference bins:
 * PSI = Σ_b (a_b − e_b) · ln(a_b / e_b), a_b and e_b the sample's and the reference's shares in bin b
 * (each at least PSI_FLOOR). 0: same shape; the rule of thumb reads < 0.1 as stable, 0.1–0.25 as a
 * moderate shift and > 0.25 as a large one.
 */
export function psi(bins: PsiBins, sample: ArrayLike<number>): number {
  const B = bins.expected.length;
  const counts = new Float64Array(B);
  let m = 0;
  for (let i = 0; i < sample.length; i++) {
    const v = sample[i];
    if (v !== v) continue;
    counts[binOf(bins.cuts, v)]++;
    m++;
  }
  if (m === 0) return NaN;
  let s = 0;
  for (let b = 0; b < B; b++) {
    if (counts[b] === 0 && bins.expected[b] === 0) continue;
    const a = Math.max(PSI_FLOOR, counts[b] / m);
    const e = Math.max(PSI_FLOOR, bins.expected[b]);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}
