import type { Simulation } from './simulate.js';

/**
 * Headline numbers of a simulated strategy, from its per-bar net log returns. Undefined values
 * (a Sharpe ratio of fewer than two bars or of a constant return series) are NaN, not 0.
 */

const DAY_MS = 86_400_000;

/**
 * Bars per year of FX trading time: the market trades 24 hours a day, 5 days a week, so a year is
 * taken as 260 trading days × 24 h; bars per year = 260 × 24 h / bar length (6,240 for 1h bars).
 */
export function barsPerYear(barMs: number): number {
  if (!(barMs > 0)) throw new RangeError(`bar length must be positive, got ${barMs}`);
  return (260 * DAY_MS) / barMs;
}

/** Mean of x. */
function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/** Annualised Sharpe ratio (zero risk-free rate): mean / std (ddof = 1) of per-bar returns × √(bars per year). */
export function sharpeRatio(returns: ArrayLike<number>, perYear: number): number {
  const n = returns.length;
  if (n < 2) return NaN;
  const m = mean(returns);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (returns[i] - m) * (returns[i] - m);
  const sd = Math.sqrt(ss / (n - 1));
  return sd > 0 ? (m / sd) * Math.sqrt(perYear) : NaN;
}

/**
 * Largest fall of an equity curve from its running peak, as a positive number in the curve's units.
 * The curve starts from 0 (the equity before the first bar), so a loss on the first bar counts.
 */
export function maxDrawdown(equity: ArrayLike<number>): number {
  let peak = 0;
  let dd = 0;
  for (let i = 0; i < equity.length; i++) {
    if (equity[i] > peak) peak = equity[i];
    if (peak - equity[i] > dd) dd = peak - equity[i];
  }
  return dd;
}

/** The metrics stored with a backtest Report. */
export interface BacktestMetrics {
  /** Sum of net per-bar log returns. */
  total_return: number;
  /** Annualised Sharpe ratio of net per-bar returns. */
  sharpe: number;
  /** Largest peak-to-trough fall of the net equity curve, log-return units, positive. */
  max_drawdown: number;
  /** Share of bars held in a position whose net return is positive. */
  hit_rate: number;
  /** Entries into a non-flat position (a flip counts as one). */
  trades: number;
  /** Share of bars in a position. */
  exposure: number;
  /** Total costs paid, return units. */
  costs: number;
  /** Bars simulated. */
  bars: number;
  /** Buy-and-hold log return over the same bars, no costs. */
  benchmark_return: number;
}

export function backtestMetrics(sim: Simulation, perYear: number): BacktestMetrics {
  const n = sim.net.length;
  let total = 0;
  let costs = 0;
  let bench = 0;
  let held = 0;
  let wins = 0;
  let trades = 0;
  let equity = 0;
  let peak = 0;
  let dd = 0;
  for (let i = 0; i < n; i++) {
    total += sim.net[i];
    costs += sim.cost[i];
    bench += sim.benchmark[i];
    trades += sim.entry[i];
    if (sim.position[i] !== 0) {
      held++;
      if (sim.net[i] > 0) wins++;
    }
    equity += sim.net[i];
    if (equity > peak) peak = equity;
    if (peak - equity > dd) dd = peak - equity;
  }
  return {
    total_return: total,
    sharpe: sharpeRatio(sim.net, perYear),
    max_drawdown: dd,
    hit_rate: held === 0 ? NaN : wins / held,
    trades,
    exposure: n === 0 ? NaN : held / n,
    costs,
    bars: n,
    benchmark_return: bench,
  };
}
