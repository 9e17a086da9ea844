import { normalCdf, normalQuantile } from '../core/normal.js';

/**
 * Is the winner of a sweep real? The statistics of Bailey & López de Prado that discount a best
 * Sharpe ratio for the number of variants tried:
 * - the probabilistic Sharpe ratio (PSR, Bailey & López de Prado 2012, "The Sharpe ratio efficient
 *   frontier"): the probability that the true Sharpe exceeds a benchmark, given the sample length
 *   and the skewness and kurtosis of the returns;
 * - the deflated Sharpe ratio (DSR, Bailey & López de Prado 2014, "The deflated Sharpe ratio"): the
 *   PSR against the Sharpe the best of N unskilled trials would reach by luck alone;
 * - the probability of backtest overfitting (PBO, Bailey, Borwein, López de Prado & Zhu 2015, "The
 *   probability of backtest overfitting") by combinatorially symmetric cross-validation (CSCV).
 * Sharpe ratios here are per period (not annualised): T, skewness and kurtosis are of the same periods.
 */

/** Euler–Mascheroni constant. */
const EULER_GAMMA = 0.5772156649015329;

export interface Moments {
  n: number;
  mean: number;
  /** Sample standard deviation (ddof 1). */
  sd: number;
  /** Skewness, m3 / m2^1.5 (population moments, as in the papers). */
  skew: number;
  /** Kurtosis (not excess: 3 for a normal), m4 / m2². */
  kurtosis: number;
}

export function moments(x: ArrayLike<number>): Moments {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  const mean = n ? s / n : NaN;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const sd = n > 1 ? Math.sqrt(m2 / (n - 1)) : NaN;
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return { n, mean, sd, skew: m2 > 0 ? m3 / m2 ** 1.5 : 0, kurtosis: m2 > 0 ? m4 / (m2 * m2) : 3 };
}

/** Per-period Sharpe ratio (zero risk-free rate): mean / sd (ddof 1); NaN without dispersion. */
export function periodSharpe(x: ArrayLike<number>): number {
  const m = moments(x);
  return m.sd > 0 ? m.mean / m.sd : NaN;
}

/**
 * PSR(SR*) = Φ( (SR − SR*) √(T − 1) / √(1 − γ₃ SR + (γ₄ − 1)/4 · SR²) ): the probability that the
 * true per-period Sharpe exceeds `benchmark`, from an estimate `sr` over `n` periods whose returns
 * have skewness γ₃ and kurtosis γ₄.
 */
export function probabilisticSharpe(sr: number, benchmark: number, n: number, skew: number, kurtosis: number): number {
  const v = 1 - skew * sr + ((kurtosis - 1) / 4) * sr * sr;
  if (!(v > 0) || n < 2) return NaN;
  return normalCdf(((sr - benchmark) * Math.sqrt(n - 1)) / Math.sqrt(v));
}

/**
 * E[max SR] of `trials` independent unskilled trials whose Sharpe ratios have variance `variance`:
 * √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e))), γ the Euler–Mascheroni constant (DSR paper, eq. 6).
 */
export function expectedMaxSharpe(trials: number, variance: number): number {
  if (trials < 2 || !(variance >= 0)) return 0;
  return Math.sqrt(variance) * ((1 - EULER_GAMMA) * normalQuantile(1 - 1 / trials) + EULER_GAMMA * normalQuantile(1 - 1 / (trials * Math.E)));
}

export interface DeflatedSharpe {
  /** The Sharpe the best of the trials would show by luck: the PSR's benchmark. */
  sr0: number;
  /** PSR(sr0): the probability that the selected Sharpe is not luck. */
  dsr: number;
}

export function deflatedSharpe(a: { sr: number; n: number; skew: number; kurtosis: number; trials: number; variance: number }): DeflatedSharpe {
  const sr0 = expectedMaxSharpe(a.trials, a.variance);
  return { sr0, dsr: probabilisticSharpe(a.sr, sr0, a.n, a.skew, a.kurtosis) };
}

export interface Pbo {
  /** The share of the splits in which the in-sample best ranks at or below the median out of sample (λ ≤ 0). */
  pbo: number;
  /** Logit of the out-of-sample relative rank of the in-sample best, per split. */
  logits: number[];
  /** Number of splits: C(S, S/2). */
  splits: number;
  blocks: number;
}

/**
 * PBO by CSCV. `series[v]` holds variant v's per-period returns (all the same length T). The T rows
 * are cut into `blocks` (S, even) contiguous blocks of equal size (the last T mod S rows are left
 * out); for each of the C(S, S/2) ways to pick half the blocks as in-sample (the rest out of sample),
 * the variant with the best in-sample performance is found and its out-of-sample rank among all
 * variants taken (1 = worst; ties share their mean rank); ω = rank / (N + 1), λ = ln(ω / (1 − ω)).
 * PBO = share of splits with λ ≤ 0. `perf` scores a variant's rows from its per-block sums (default
 * the per-period Sharpe ratio).
 */
export function pboCscv(series: ArrayLike<number>[], blocks = 16, perf: Perf = sharpeOfSums): Pbo {
  const N = series.length;
  const T = N ? series[0].length : 0;
  if (blocks % 2 !== 0 || blocks < 2) throw new Error(`CSCV needs an even number of blocks, got ${blocks}`);
  if (N < 2) throw new Error('CSCV needs at least 2 variants');
  for (const s of series) if (s.length !== T) throw new Error('CSCV needs every variant over the same periods');
  const size = Math.floor(T / blocks);
  if (size < 1) throw new Error(`CSCV with ${blocks} blocks needs at least ${blocks} periods, got ${T}`);
  // Per variant and block: count, sum, sum of squares.
  const sums = series.map((s) => {
    const out = new Float64Array(blocks * 3);
    for (let b = 0; b < blocks; b++) {
      let a = 0;
      let q = 0;
      for (let i = b * size; i < (b + 1) * size; i++) {
        a += s[i];
        q += s[i] * s[i];
      }
      out[b * 3] = size;
      out[b * 3 + 1] = a;
      out[b * 3 + 2] = q;
    }
    return out;
  });
  const logits: number[] = [];
  const inSample = new Float64Array(N);
  const outSample = new Float64Array(N);
  for (const chosen of combinations(blocks, blocks / 2)) {
    const isIn = new Uint8Array(blocks);
    for (const b of chosen) isIn[b] = 1;
    for (let v = 0; v < N; v++) {
      let ni = 0;
      let si = 0;
      let qi = 0;
      let no = 0;
      let so = 0;
      let qo = 0;
      const t = sums[v];
      for (let b = 0; b < blocks; b++) {
        if (isIn[b]) {
          ni += t[b * 3];
          si += t[b * 3 + 1];
          qi += t[b * 3 + 2];
        } else {
          no += t[b * 3];
          so += t[b * 3 + 1];
          qo += t[b * 3 + 2];
        }
      }
      inSample[v] = perf(ni, si, qi);
      outSample[v] = perf(no, so, qo);
    }
    let best = 0;
    for (let v = 1; v < N; v++) if (better(inSample[v], inSample[best])) best = v;
    const rank = meanRank(outSample, best);
    const w = rank / (N + 1);
    logits.push(Math.log(w / (1 - w)));
  }
  const pbo = logits.filter((l) => l <= 0).length / logits.length;
  return { pbo, logits, splits: logits.length, blocks };
}

/** A variant's performance on a set of rows, from their count, sum and sum of squares. */
export type Perf = (n: number, sum: number, sumSq: number) => number;

/** Per-period Sharpe from sums (ddof 1); −Infinity without dispersion so such a variant never wins. */
export function sharpeOfSums(n: number, sum: number, sumSq: number): number {
  if (n < 2) return -Infinity;
  const mean = sum / n;
  const v = (sumSq - sum * mean) / (n - 1);
  return v > 0 ? mean / Math.sqrt(v) : -Infinity;
}

function better(a: number, b: number): boolean {
  return a > b || (Number.isNaN(b) && !Number.isNaN(a));
}

/** 1-based rank of x[i] in x ascending, ties sharing their mean rank. */
function meanRank(x: Float64Array, i: number): number {
  let below = 0;
  let equal = 0;
  for (let j = 0; j < x.length; j++) {
    if (x[j] < x[i]) below++;
    else if (x[j] === x[i]) equal++;
  }
  return below + (equal + 1) / 2;
}

/** Every k-subset of 0..n−1, in lexicographic order. */
export function* combinations(n: number, k: number): Generator<number[]> {
  const c = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield c.slice();
    let i = k - 1;
    while (i >= 0 && c[i] === n - k + i) i--;
    if (i < 0) return;
    c[i]++;
    for (let j = i + 1; j < k; j++) c[j] = c[j - 1] + 1;
  }
}

/**
 * Per-bar net returns → per-day sums over UTC days, aligned across variants on the union of their
 * days (a day a variant has no bar for counts 0: it was not in the market). Daily periods make the
 * Sharpe's moments meaningful for rules that are flat most hours.
 */
export function dailyAligned(variants: { index: ArrayLike<number>; net: ArrayLike<number> }[]): { days: number[]; series: Float64Array[] } {
  const DAY = 86_400_000;
  const all = new Set<number>();
  const per = variants.map((v) => {
    const m = new Map<number, number>();
    for (let i = 0; i < v.index.length; i++) {
      const d = Math.floor(v.index[i] / DAY);
      const r = v.net[i];
      if (!Number.isFinite(r)) continue;
      m.set(d, (m.get(d) ?? 0) + r);
      all.add(d);
    }
    return m;
  });
  const days = [...all].sort((a, b) => a - b);
  return { days, series: per.map((m) => Float64Array.from(days, (d) => m.get(d) ?? 0)) };
}

/** The overfitting statistics of a sweep's selected variant, as recorded in the history and shown. */
export interface OverfitStats {
  /** Variants with returns (N). */
  trials: number;
  /** Periods (days) of the selected variant's returns (T). */
  periods: number;
  /** The selected variant's per-period Sharpe, and annualised (× √periods per year). */
  sharpe: number;
  sharpeAnnual: number;
  periodsPerYear: number;
  skew: number;
  kurtosis: number;
  /** Variance of the trials' per-period Sharpe ratios. */
  sharpeVariance: number;
  /** Expected maximum per-period Sharpe of N unskilled trials (the DSR's benchmark), and annualised. */
  sr0: number;
  sr0Annual: number;
  /** PSR against 0 (no deflation), and the deflated Sharpe ratio. */
  psr: number;
  dsr: number;
  /** PBO by CSCV; absent with fewer than 2 variants or too few periods. */
  pbo?: number;
  pboSplits?: number;
  pboBlocks?: number;
}

/**
 * The statistics of variant `selected` among `series` (aligned per-period returns of every variant).
 * `periodsPerYear` annualises the Sharpes shown (252 for daily FX bars: 5 days a week).
 */
export function overfitStats(series: Float64Array[], selected: number, periodsPerYear = 252, blocks = 16): OverfitStats {
  const m = moments(series[selected]);
  const sharpe = m.sd > 0 ? m.mean / m.sd : NaN;
  const srs = series.map((s) => periodSharpe(s)).filter((x) => Number.isFinite(x));
  const mean = srs.reduce((a, b) => a + b, 0) / srs.length;
  const variance = srs.length > 1 ? srs.reduce((a, b) => a + (b - mean) ** 2, 0) / (srs.length - 1) : 0;
  const { sr0, dsr } = deflatedSharpe({ sr: sharpe, n: m.n, skew: m.skew, kurtosis: m.kurtosis, trials: series.length, variance });
  const annual = Math.sqrt(periodsPerYear);
  const out: OverfitStats = {
    trials: series.length,
    periods: m.n,
    sharpe,
    sharpeAnnual: sharpe * annual,
    periodsPerYear,
    skew: m.skew,
    kurtosis: m.kurtosis,
    sharpeVariance: variance,
    sr0,
    sr0Annual: sr0 * annual,
    psr: probabilisticSharpe(sharpe, 0, m.n, m.skew, m.kurtosis),
    dsr,
  };
  // Fewer blocks for short samples: each block keeps at least ~5 periods.
  let s = blocks;
  while (s > 2 && m.n / s < 5) s -= 2;
  if (series.length >= 2 && m.n >= s * 2) {
    const p = pboCscv(series, s);
    out.pbo = p.pbo;
    out.pboSplits = p.splits;
    out.pboBlocks = p.blocks;
  }
  return out;
}

/** "after 48 trials, a validation Sharpe of 1.10 has a 23% chance of being luck (deflated Sharpe 0.77) · PBO 31%…" */
export function overfitLine(s: OverfitStats, segment?: string): string {
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const where = segment === 'val' ? 'validation ' : segment === 'test' ? 'test ' : '';
  const luck = Number.isFinite(s.dsr)
    ? `after ${s.trials} trials, a ${where}Sharpe of ${s.sharpeAnnual.toFixed(2)} has a ${pct(1 - s.dsr)} chance of being luck (deflated Sharpe ${s.dsr.toFixed(2)}; ${s.trials} unskilled trials would reach ${s.sr0Annual.toFixed(2)})`
    : `after ${s.trials} trials, the deflated Sharpe is undefined (the selected variant's returns have no dispersion)`;
  const pbo =
    s.pbo === undefined
      ? ''
      : `; PBO ${pct(s.pbo)}: in ${pct(s.pbo)} of ${s.pboSplits} splits of the ${s.periods} days into halves, the variant best on one half ranked at or below the median on the other`;
  return luck + pbo;
}
