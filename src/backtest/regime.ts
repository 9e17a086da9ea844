/**
 * Backtest metrics broken down by regime: each simulated bar belongs to the regime in force at its
 * signal (the filtered state known at the signal bar's close), and each regime's bars are measured
 * as a whole: annualised Sharpe of their net returns, hit rate and exposure over them, the trades
 * entered in them. Bars of one regime need not be contiguous.
 */

export interface RegimeMetrics {
  /** Simulated bars in the regime. */
  bars: number;
  /** Sum of their net log returns. */
  total_return: number;
  /** mean / sample standard deviation of their net returns × √(bars per year); NaN under 2 bars or no variation. */
  sharpe: number;
  /** Share of the held bars (position ≠ 0) with a positive net return. */
  hit_rate: number;
  /** Share of the regime's bars with a position. */
  exposure: number;
  /** Trades entered on a bar of the regime. */
  trades: number;
}

/**
 * Metrics of each regime present in `state` (one value per simulated bar; NaN: no regime known,
 * left out), keyed by the state as an integer, ascending.
 */
export function metricsByRegime(
  net: Float64Array,
  position: Float64Array,
  tradeStart: Int32Array,
  state: Float64Array,
  perYear: number,
): Map<number, RegimeMetrics> {
  const acc = new Map<number, { n: number; s: number; s2: number; held: number; wins: number; trades: number }>();
  const of = (k: number) => {
    let a = acc.get(k);
    if (!a) acc.set(k, (a = { n: 0, s: 0, s2: 0, held: 0, wins: 0, trades: 0 }));
    return a;
  };
  for (let i = 0; i < net.length; i++) {
    if (!Number.isFinite(state[i])) continue;
    const a = of(Math.round(state[i]));
    a.n++;
    a.s += net[i];
    a.s2 += net[i] * net[i];
    if (position[i] !== 0) {
      a.held++;
      if (net[i] > 0) a.wins++;
    }
  }
  for (const s of tradeStart) if (Number.isFinite(state[s])) of(Math.round(state[s])).trades++;
  const out = new Map<number, RegimeMetrics>();
  for (const k of [...acc.keys()].sort((a, b) => a - b)) {
    const a = acc.get(k)!;
    const mean = a.n ? a.s / a.n : NaN;
    const sd = a.n > 1 ? Math.sqrt(Math.max((a.s2 - a.n * mean * mean) / (a.n - 1), 0)) : NaN;
    out.set(k, {
      bars: a.n,
      total_return: a.s,
      sharpe: sd > 0 ? (mean / sd) * Math.sqrt(perYear) : NaN,
      hit_rate: a.held ? a.wins / a.held : NaN,
      exposure: a.n ? a.held / a.n : NaN,
      trades: a.trades,
    });
  }
  return out;
}
