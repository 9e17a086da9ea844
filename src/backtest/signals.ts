/**
 * Signal → position rules. Every function reads only the prediction made at a bar's close (and
 * what was known before it): nothing here looks at a later bar.
 */

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
    let d = 0;
    if (rule.kind === 'threshold') {
      if (prev > 0) d = v < -rule.entry ? -1 : v > rule.exit ? 1 : 0;
      else if (prev < 0) d = v > rule.entry ? 1 : v < -rule.exit ? -1 : 0;
      else d = v > rule.entry ? 1 : v < -rule.entry ? -1 : 0;
    } else if (rule.kind === 'sign') {
      d = v > 0 ? 1 : v < 0 ? -1 : 0;
    } else {
      d = v > rule.hi[i] ? 1 : v < rule.lo[i] ? -1 : 0;
    }
    if (d !== 0) lockedUntil = i + hold;
    out[i] = d;
    prev = d;
  }
  return out;
}

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
 * direction) and kept while the direction lasts: `size[i]` is the size a trade entered at signal i
 * would get (1 for fixed units; target vol / forecast vol for volatility targeting), capped at
 * `maxLeverage`. A trade whose entry size is not finite or not positive (a volatility estimate still
 * warming up) is not taken: the position stays flat until the direction changes again.
 * Returns the positions and the number of entries skipped.
 */
export function sizePositions(dir: Int8Array, signalBar: Int32Array, size: (i: number) => number, maxLeverage = Infinity): { position: Float64Array; skipped: number } {
  const n = dir.length;
  const out = new Float64Array(n);
  let cur = 0;
  let skipped = 0;
  for (let i = 0; i < n; i++) {
    const d = dir[i];
    const contiguous = i > 0 && signalBar[i] === signalBar[i - 1] + 1;
    if (d === 0) {
      out[i] = 0;
      continue;
    }
    if (i === 0 || !contiguous || d !== dir[i - 1]) {
      const s = Math.min(size(i), maxLeverage);
      if (Number.isFinite(s) && s > 0) cur = s;
      else {
        cur = 0;
        skipped++;
      }
    }
    out[i] = d * cur;
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
