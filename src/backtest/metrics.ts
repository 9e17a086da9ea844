import { UnitPhases } from '../core/threads.js';
import { sharedArrays, type Simulation } from './simulate.js';

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

/** Mean and sample standard deviation (ddof 1; NaN with fewer than two values). */
function meanSd(x: ArrayLike<number>): { mean: number; sd: number } {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  const m = s / n;
  if (n < 2) return { mean: m, sd: NaN };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
  return { mean: m, sd: sampleSd(ss, n) };
}

/** Sample standard deviation (ddof 1) from the sum of squared deviations of n values. */
function sampleSd(ss: number, n: number): number {
  return n < 2 ? NaN : Math.sqrt(ss / (n - 1));
}

function annualisedRatio(mean: number, sd: number, perYear: number): number {
  return sd > 0 ? (mean / sd) * Math.sqrt(perYear) : NaN;
}

/** Annualised Sharpe ratio (zero risk-free rate): mean / std (ddof = 1) of per-bar returns × √(bars per year). */
export function sharpeRatio(returns: ArrayLike<number>, perYear: number): number {
  const { mean, sd } = meanSd(returns);
  return annualisedRatio(mean, sd, perYear);
}

/**
 * Drawdown of an equity curve fed one point at a time, starting from 0 (the equity before the first
 * bar, so a loss on the first bar counts): the largest fall from the running peak, and the most bars
 * spent below it (from the bar after the peak to the bar that regains it, or the end).
 */
class Drawdown {
  private peak = 0;
  private under = 0;
  max = 0;
  bars = 0;

  add(equity: number): void {
    if (equity >= this.peak) {
      this.peak = equity;
      this.under = 0;
    } else if (++this.under > this.bars) this.bars = this.under;
    if (this.peak - equity > this.max) this.max = this.peak - equity;
  }

  static of(equity: ArrayLike<number>): Drawdown {
    const d = new Drawdown();
    for (let i = 0; i < equity.length; i++) d.add(equity[i]);
    return d;
  }
}

/** Largest fall of an equity curve from its running peak, as a positive number in the curve's units (see Drawdown). */
export function maxDrawdown(equity: ArrayLike<number>): number {
  return Drawdown.of(equity).max;
}

/**
 * Sortino ratio (zero target): mean of per-bar returns / downside deviation × √(bars per year), the
 * downside deviation being √(Σ min(r, 0)² / n) over all n bars. NaN with fewer than two bars or no loss.
 */
export function sortinoRatio(returns: ArrayLike<number>, perYear: number): number {
  const n = returns.length;
  let s = 0;
  let dd = 0;
  for (let i = 0; i < n; i++) {
    s += returns[i];
    if (returns[i] < 0) dd += returns[i] * returns[i];
  }
  return sortinoOf(s, dd, n, perYear);
}

/** The Sortino ratio from the sum of n returns and the sum of their squared losses. */
function sortinoOf(sum: number, downSq: number, n: number, perYear: number): number {
  if (n < 2) return NaN;
  const d = Math.sqrt(downSq / n);
  return d > 0 ? (sum / n / d) * Math.sqrt(perYear) : NaN;
}

/** Longest drawdown, in bars (see Drawdown). */
export function maxDrawdownBars(equity: ArrayLike<number>): number {
  return Drawdown.of(equity).bars;
}

/** Drawdown at each bar: running peak (from 0) − equity, ≥ 0. */
export function drawdownSeries(equity: ArrayLike<number>): Float64Array {
  const out = new Float64Array(equity.length);
  let peak = 0;
  for (let i = 0; i < equity.length; i++) {
    if (equity[i] > peak) peak = equity[i];
    out[i] = peak - equity[i];
  }
  return out;
}

/** The metrics stored with a backtest Report. Return units are log returns unless named otherwise. */
export interface BacktestMetrics {
  /** Sum of net per-bar log returns. */
  total_return: number;
  /** Mean net per-bar log return × bars per year. */
  annual_return: number;
  /** Standard deviation (ddof 1) of net per-bar log returns × √(bars per year). */
  annual_volatility: number;
  /** annual_return / annual_volatility (zero risk-free rate). */
  sharpe: number;
  /** Mean net per-bar return / downside deviation × √(bars per year). */
  sortino: number;
  /** annual_return / max_drawdown. */
  calmar: number;
  /** Largest peak-to-trough fall of the net equity curve, log-return units, positive. */
  max_drawdown: number;
  /** Longest time under water, in bars. */
  max_drawdown_bars: number;
  /** Share of bars held in a position whose net return is positive. */
  hit_rate: number;
  /** Share of trades with a positive net PnL. */
  win_rate: number;
  /** Sum of winning trades' net PnL / |sum of losing trades' net PnL|. */
  profit_factor: number;
  /** Mean net PnL per trade, log-return units. */
  expectancy: number;
  /** Mean net PnL per trade, pips. */
  expectancy_pips: number;
  /** Trades: entries into a non-flat position (a flip counts as one). */
  trades: number;
  /** Mean bars held per trade. */
  avg_holding_bars: number;
  /** Share of bars in a position. */
  exposure: number;
  /** Σ|Δposition| over all fills / bars × bars per year: position units traded per year. */
  turnover: number;
  /** Total costs paid, return units. */
  costs: number;
  /** Net PnL in pips (position × price change / pip − costs), all trades; long trades; short trades. */
  pnl_pips: number;
  pnl_long_pips: number;
  pnl_short_pips: number;
  /** Net PnL in the account (quote) currency, fixed notional at entry; all, long, short trades. */
  pnl_account: number;
  pnl_long_account: number;
  pnl_short_account: number;
  /** Bars simulated. */
  bars: number;
  /** Years simulated: bars / bars per year. */
  years: number;
  /** Buy-and-hold log return over the same bars, no costs. */
  benchmark_return: number;
  /** Annualised Sharpe ratio of buy-and-hold over the same bars. */
  benchmark_sharpe: number;
}

/** The names of BacktestMetrics, for checking `select.metric` (the assertion below keeps them in step). */
export const BACKTEST_METRIC_NAMES = [
  'total_return',
  'annual_return',
  'annual_volatility',
  'sharpe',
  'sortino',
  'calmar',
  'max_drawdown',
  'max_drawdown_bars',
  'hit_rate',
  'win_rate',
  'profit_factor',
  'expectancy',
  'expectancy_pips',
  'trades',
  'avg_holding_bars',
  'exposure',
  'turnover',
  'costs',
  'pnl_pips',
  'pnl_long_pips',
  'pnl_short_pips',
  'pnl_account',
  'pnl_long_account',
  'pnl_short_account',
  'bars',
  'years',
  'benchmark_return',
  'benchmark_sharpe',
] as const satisfies readonly (keyof BacktestMetrics)[];
// A field added to BacktestMetrics but not to the list is a type error here.
const allNamed: Exclude<keyof BacktestMetrics, (typeof BACKTEST_METRIC_NAMES)[number]> extends never ? true : never = true;
void allNamed;

/** Arguments of the metric kernels; SharedArrayBuffer-backed when they run on several threads. */
interface MetricData {
  net: Float64Array;
  cost: Float64Array;
  benchmark: Float64Array;
  position: Float64Array;
  tPnl: Float64Array;
  tPips: Float64Array;
  tAcc: Float64Array;
  tPos: Float64Array;
  tBars: Int32Array;
  /** Each unit's results, at its own offset (see backtestMetrics). */
  out: Float64Array;
}

/**
 * The three independent passes of the metrics, one unit each, so that they can run on different
 * threads with the same results: 0 the drawdown of the equity curve, 1 the per-bar sums and
 * squared deviations, 2 the per-trade sums. Self-contained (it also runs in pooled workers, as
 * source). Random-looking signs make if-counting mispredict about every other bar (≈5 ns each): a
 * comparison turned into 0/1 (`+(a > b)`) compiles to setcc, and a sum that takes x only on a
 * condition reads x or 0 from a two-slot array by that 0/1 instead of branching.
 */
function metricUnit(unit: number, d: MetricData): void {
  const out = d.out;
  if (unit === 0) {
    // Drawdown from 0 (the equity before the first bar), as the Drawdown class: the largest fall
    // from the running peak, and the most bars spent below it.
    const net = d.net;
    const n = net.length;
    let equity = 0;
    let peak = 0;
    let under = 0;
    let max = 0;
    let bars = 0;
    for (let i = 0; i < n; i++) {
      equity += net[i];
      if (equity >= peak) {
        peak = equity;
        under = 0;
      } else if (++under > bars) bars = under;
      if (peak - equity > max) max = peak - equity;
    }
    out[0] = max;
    out[1] = bars;
  } else if (unit === 1) {
    // Arrays in locals: V8 then keeps their bounds and backing stores in registers.
    const net = d.net;
    const cost = d.cost;
    const benchmark = d.benchmark;
    const position = d.position;
    const n = net.length;
    let total = 0;
    let costs = 0;
    let bench = 0;
    let held = 0;
    let wins = 0;
    let downSq = 0;
    const pick = new Float64Array(2);
    for (let i = 0; i < n; i++) {
      const r = net[i];
      total += r;
      costs += cost[i];
      bench += benchmark[i];
      const h = +(position[i] !== 0);
      held += h;
      wins += h & +(r > 0);
      pick[1] = r * r;
      downSq += pick[+(r < 0)];
    }
    // Second pass, both series at once: squared deviations from the means (two passes, as meanSd).
    const mean = total / n;
    const meanB = bench / n;
    let ss = 0;
    let ssB = 0;
    for (let i = 0; i < n; i++) {
      const dv = net[i] - mean;
      const dB = benchmark[i] - meanB;
      ss += dv * dv;
      ssB += dB * dB;
    }
    out.set([total, costs, bench, held, wins, downSq, ss, ssB], 2);
  } else {
    const tPnl = d.tPnl;
    const tPips = d.tPips;
    const tAcc = d.tAcc;
    const tPos = d.tPos;
    const tBars = d.tBars;
    const nt = tPnl.length;
    let winT = 0;
    let pnlSum = 0;
    let pips = 0;
    let acc = 0;
    let barsHeld = 0;
    // By sign of PnL [loss, gain] and by side [short, long], indexed by a 0/1 (see above).
    const gainLoss = new Float64Array(2);
    const pipsSide = new Float64Array(2);
    const accSide = new Float64Array(2);
    for (let k = 0; k < nt; k++) {
      const p = tPnl[k];
      const pk = tPips[k];
      const ak = tAcc[k];
      pnlSum += p;
      const w = +(p > 0);
      winT += w;
      gainLoss[w] += p;
      pips += pk;
      acc += ak;
      const long = +(tPos[k] > 0);
      pipsSide[long] += pk;
      accSide[long] += ak;
      barsHeld += tBars[k];
    }
    out.set([winT, pnlSum, pips, acc, barsHeld, gainLoss[1], -gainLoss[0], pipsSide[1], pipsSide[0], accSide[1], accSide[0]], 10);
  }
}

/** Fewer bars than this are measured on one thread (a worker's hand-off would cost more than it saves). */
const MIN_PARALLEL = 1 << 18;

/**
 * The metrics of a simulation. `threads` > 1 lets a long one (≥ 2^18 bars) that was simulated on
 * several threads, the latest to be, run its three passes on pooled worker threads too, over the
 * simulation's arrays still in shared memory; the result is the same for every value.
 */
export function backtestMetrics(sim: Simulation, perYear: number, threads = 1): BacktestMetrics {
  const n = sim.net.length;
  const t = sim.trades;
  // The same values in shared memory, while a parallel simulation's are still there.
  const sh = threads > 1 && n >= MIN_PARALLEL ? sharedArrays(sim) : undefined;
  const src = sh ?? sim;
  const st = src.trades;
  const d: MetricData = {
    net: src.net,
    cost: src.cost,
    benchmark: src.benchmark,
    position: src.position,
    tPnl: st.pnl,
    tPips: st.pips,
    tAcc: st.account,
    tPos: st.position,
    tBars: st.bars,
    out: new Float64Array(sh ? new SharedArrayBuffer(8 * 21) : new ArrayBuffer(8 * 21)),
  };
  const parallel = sh !== undefined;
  const p = new UnitPhases(parallel ? threads : 1, [metricUnit], d);
  try {
    p.run(0, 3);
  } finally {
    p.close();
  }
  const [dd, ddBars, total, costs, bench, held, wins, downSq, ss, ssB] = d.out;
  const [winT, pnlSum, pips, acc, barsHeld, gain, loss, pipsLong, pipsShort, accLong, accShort] = d.out.subarray(10);
  const nt = t.pnl.length;
  const mean = total / n;
  const meanB = bench / n;
  const sd = sampleSd(ss, n);
  const annual = n === 0 ? NaN : (total / n) * perYear;
  const sdB = sampleSd(ssB, n);
  return {
    total_return: total,
    annual_return: annual,
    annual_volatility: sd * Math.sqrt(perYear),
    sharpe: annualisedRatio(mean, sd, perYear),
    sortino: sortinoOf(total, downSq, n, perYear),
    calmar: dd > 0 ? annual / dd : NaN,
    max_drawdown: dd,
    max_drawdown_bars: ddBars,
    hit_rate: held === 0 ? NaN : wins / held,
    win_rate: nt === 0 ? NaN : winT / nt,
    profit_factor: loss > 0 ? gain / loss : NaN,
    expectancy: nt === 0 ? NaN : pnlSum / nt,
    expectancy_pips: nt === 0 ? NaN : pips / nt,
    trades: nt,
    avg_holding_bars: nt === 0 ? NaN : barsHeld / nt,
    exposure: n === 0 ? NaN : held / n,
    turnover: n === 0 ? NaN : (sim.turnover / n) * perYear,
    costs,
    pnl_pips: pips,
    pnl_long_pips: pipsLong,
    pnl_short_pips: pipsShort,
    pnl_account: acc,
    pnl_long_account: accLong,
    pnl_short_account: accShort,
    bars: n,
    years: n / perYear,
    benchmark_return: bench,
    benchmark_sharpe: annualisedRatio(meanB, sdB, perYear),
  };
}
