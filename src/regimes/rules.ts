/**
 * Transparent regimes from thresholds: a volatility measure's percentile within its own trailing
 * window, optionally crossed with a trend-strength measure (ADX) above a threshold. Every value at
 * row t uses rows ≤ t only.
 */

/**
 * Percentile rank of x[t] among x[t − window + 1 … t] (share of the window's values ≤ x[t], in
 * (0, 1]); NaN until the window is full or when x[t] is NaN. NaNs inside a window are skipped.
 */
export function rollingPercentile(x: Float64Array, window: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n).fill(NaN);
  for (let t = window - 1; t < n; t++) {
    const v = x[t];
    if (Number.isNaN(v)) continue;
    let le = 0;
    let count = 0;
    for (let s = t - window + 1; s <= t; s++) {
      const u = x[s];
      if (Number.isNaN(u)) continue;
      count++;
      if (u <= v) le++;
    }
    out[t] = le / count;
  }
  return out;
}

export interface RulesOptions {
  /** Rolling window of the volatility percentile, in rows. */
  window: number;
  /** Ascending percentile cut points in (0, 1): b cut points give b + 1 volatility bands. */
  volThresholds: readonly number[];
  /** Trend strength at or above this is trending (e.g. ADX ≥ 25). */
  trendThreshold: number;
}

/**
 * The state of each row: band · (trend ? 2 : 1) + (trending ? 1 : 0), where band is how many
 * volatility cut points the percentile reaches; −1 where an input is not known yet (warm-up).
 * So states are ordered by volatility band first, as the fitted models' are.
 */
export function ruleStates(vol: Float64Array, trend: Float64Array | undefined, o: RulesOptions): Int32Array {
  const pct = rollingPercentile(vol, o.window);
  const n = vol.length;
  const s = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    const p = pct[t];
    const a = trend ? trend[t] : 0;
    if (Number.isNaN(p) || Number.isNaN(a)) {
      s[t] = -1;
      continue;
    }
    let band = 0;
    for (const c of o.volThresholds) if (p >= c) band++;
    s[t] = trend ? band * 2 + (a >= o.trendThreshold ? 1 : 0) : band;
  }
  return s;
}

/** Number of states ruleStates can give. */
export function ruleStateCount(o: RulesOptions, withTrend: boolean): number {
  return (o.volThresholds.length + 1) * (withTrend ? 2 : 1);
}
