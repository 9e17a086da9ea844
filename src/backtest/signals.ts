/**
 * Signal → position rules. Every function reads only the prediction made at a bar's close (and
 * what was known before it): nothing here looks at a later bar.
 */
import type { RowForecast } from '../core/distribution.js';

/** How a prediction becomes a direction (−1, 0, +1). */
export type Rule =
  /** Long above +entry, short below −entry; a long is kept while the prediction stays above +exit, a short while below −exit (0 ≤ exit ≤ entry). */
  | { kind: 'threshold'; entry: number; exit: number }
  /** The sign of the prediction (0 and NaN: flat). */
  | { kind: 'sign' }
  /** Long above hi[i], short below lo[i] (per-signal bands, e.g. quantiles of a calibration set). */
  | { kind: 'bands'; lo: Float64Array; hi: Float64Array };

/**
 * Direction of each signal under `rule`, with a minimum holding period: a position taken at signal
 * i is kept through signals i … i+hold−1 whatever they say, as long as their bars follow each
 * other (a gap ends it); at i+hold the rule decides again. hold = 1 re-decides at every bar.
 */
export function directions(pred: ArrayLike<number>, signalBar: Int32Array, rule: Rule, hold = 1): Int8Array {
  const n = pred.length;
  const out = new Int8Array(n);
  // Every rule is "long above a high cut-off, short below a low one": the sign rule's cut-offs are 0,
  // the threshold rule's depend on the side held ([flat or short, long] for the high one, [flat or
  // long, short] for the low one), the bands rule's on the signal. Comparisons become 0/1 instead
  // of branches: with predictions of random sign a branch mispredicts about every other bar.
  const bands = rule.kind === 'bands';
  const hiBand = bands ? rule.hi : EMPTY;
  const loBand = bands ? rule.lo : EMPTY;
  const hiCut = new Float64Array(2);
  const loCut = new Float64Array(2);
  if (rule.kind === 'threshold') {
    hiCut[0] = rule.entry;
    hiCut[1] = rule.exit;
    loCut[0] = -rule.entry;
    loCut[1] = -rule.exit;
  }
  // Without hysteresis the cut-offs do not depend on the side held: reading them by `prev` would
  // chain every bar's decision to the one before (≈12 cycles a bar instead of a few).
  const hysteresis = rule.kind === 'threshold' && rule.exit !== rule.entry;
  const hi0 = hiCut[0];
  const lo0 = loCut[0];
  let prev = 0;
  let lockedUntil = 0;
  for (let i = 0; i < n; i++) {
    const contiguous = i > 0 && signalBar[i] === signalBar[i - 1] + 1;
    if (!contiguous) {
      prev = 0;
      lockedUntil = 0;
    }
    if (i < lockedUntil) {
      out[i] = prev;
      continue;
    }
    const v = pred[i];
    const hi = bands ? hiBand[i] : hysteresis ? hiCut[+(prev > 0)] : hi0;
    const lo = bands ? loBand[i] : hysteresis ? loCut[+(prev < 0)] : lo0;
    const up = +(v > hi);
    const down = +(v < lo);
    let d = up - down;
    // Both only when the cut-offs cross (lo > hi, never for a valid rule): long wins, except that a
    // long crossing the short threshold reverses.
    if (up & down) d = !bands && prev > 0 ? -1 : 1;
    // Lock for `hold` signals after a position is taken; after a flat one, i + 0 (already past).
    lockedUntil = i + hold * (d & 1);
    out[i] = d;
    prev = d;
  }
  return out;
}

const EMPTY = new Float64Array(0);

/**
 * The q-quantile of the finite values of x, interpolating linearly between order statistics
 * (NumPy's default "linear" method: position q × (n − 1) in the sorted values). NaN when none.
 */
export function quantile(x: ArrayLike<number>, q: number): number {
  const v = Float64Array.from(Array.prototype.filter.call(x, (a: number) => Number.isFinite(a)) as number[]).sort();
  if (v.length === 0) return NaN;
  const p = q * (v.length - 1);
  const lo = Math.floor(p);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo] + (v[hi] - v[lo]) * (p - lo);
}

/**
 * Sizes directions into positions. The size is fixed when a trade is entered (a change of
 * direction) and kept while the direction lasts: `size(i)` is the size a trade entered at signal i
 * would get (1 for fixed units; target vol / forecast vol for volatility targeting), capped at
 * `maxLeverage`. It must be a pure function of i: it is evaluated at every signal (cheaper than
 * branching on entries, whose pattern is unpredictable) and used at entries only. A trade whose entry
 * size is not finite or not positive (a volatility estimate still warming up) is not taken: the
 * position stays flat until the direction changes again. Returns the positions and the number of
 * entries skipped.
 */
export function sizePositions(
  dir: Int8Array,
  signalBar: Int32Array,
  size: (i: number) => number,
  maxLeverage = Infinity,
): { position: Float64Array; skipped: number } {
  const n = dir.length;
  const out = new Float64Array(n);
  let cur = 0;
  let skipped = 0;
  let before = 0;
  // The size held next, picked by index without a branch: [keep cur, 0 (entry not taken), s (entry)].
  const next = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    const d = dir[i];
    if (i > 0 && signalBar[i] !== signalBar[i - 1] + 1) before = 0;
    const s = Math.min(size(i), maxLeverage);
    const ok = +(s > 0) & +(s < Infinity);
    // An entry: a non-flat direction other than the one before (flat at the start and after a gap).
    const entry = +(d !== before) & (d & 1);
    next[0] = cur;
    next[2] = s;
    cur = next[entry * (1 + ok)];
    skipped += entry & (ok ^ 1);
    out[i] = d * cur;
    before = d;
  }
  return { position: out, skipped };
}

/**
 * Per-bar volatility known at each bar's close, as a fraction of price: the sample standard deviation
 * (ddof 1) of the last `window` close-to-close log returns ending at that close (NaN before `window`
 * returns exist).
 */
export function rollingStdVol(close: Float64Array, window: number): Float64Array {
  const n = close.length;
  const out = new Float64Array(n).fill(NaN);
  const r = new Float64Array(n);
  for (let t = 1; t < n; t++) r[t] = Math.log(close[t] / close[t - 1]);
  // Two passes per window (mean, then squared deviations): exact enough and independent of history.
  for (let t = window; t < n; t++) {
    let m = 0;
    for (let j = t - window + 1; j <= t; j++) m += r[j];
    m /= window;
    let ss = 0;
    for (let j = t - window + 1; j <= t; j++) ss += (r[j] - m) * (r[j] - m);
    out[t] = Math.sqrt(ss / (window - 1));
  }
  return out;
}

/**
 * Direction from a forecast distribution of the return over the horizon (what a `probability` or
 * `quantile_band` rule's signal is; directions() with the sign rule then applies the holding period).
 * `hurdle` is the round-trip cost in return units. probability: long when P(R > hurdle) ≥ p, short
 * when P(R < −hurdle) ≥ p (p > 0.5, so never both). quantile_band: long when the `level` quantile
 * is above the hurdle, short when the 1 − level quantile is below −hurdle. No forecast: flat.
 */
export function distributionDirection(
  f: RowForecast | undefined,
  hurdle: number,
  rule: { kind: 'probability'; p: number } | { kind: 'quantile_band'; level: number },
): number {
  if (!f) return 0;
  if (rule.kind === 'probability') {
    if (1 - f.cdf(hurdle) >= rule.p) return 1;
    if (f.cdf(-hurdle) >= rule.p) return -1;
    return 0;
  }
  if (f.quantile(rule.level) > hurdle) return 1;
  if (f.quantile(1 - rule.level) < -hurdle) return -1;
  return 0;
}

/**
 * Kelly size of a trade in direction dir: fraction × (dir·centre − hurdle) / sd², the growth-optimal
 * leverage for a return of that mean and variance (small-return approximation), scaled down; 0 when
 * the edge after costs is not positive or the spread is unknown. Capping is the caller's.
 */
export function kellySize(centre: number, sd: number, dir: number, hurdle: number, fraction: number): number {
  const edge = dir * centre - hurdle;
  return edge > 0 && sd > 0 && Number.isFinite(edge) ? (fraction * edge) / (sd * sd) : 0;
}

/** Inverse-volatility size: annualVol / (sd per bar × √barsPerYear), the per-bar sd being the horizon's / √horizon. */
export function inverseVolSize(sdHorizon: number, horizon: number, annualVol: number, barsPerYear: number): number {
  const perBar = sdHorizon / Math.sqrt(Math.max(1, horizon));
  return perBar > 0 ? annualVol / (perBar * Math.sqrt(barsPerYear)) : NaN;
}
