/**
 * The backtest's branch-free loops against naive references written here from the documented rules
 * (plain if-chains, one concern per loop), on random predictions with NaNs, gaps, flips, resizes,
 * skipped entries and per-bar costs.
 */
import { describe, it, expect } from 'vitest';
import { backtestMetrics } from '../../src/backtest/metrics.js';
import { directions, sizePositions, type Rule } from '../../src/backtest/signals.js';
import { simulate, type Simulation } from '../../src/backtest/simulate.js';

/** A small deterministic generator (LCG), so every run sees the same cases. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
}

/** Signal bars with a gap of 1–3 bars about every 15 signals. */
function barsWithGaps(n: number, u: () => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 1; i < n; i++) out[i] = out[i - 1] + 1 + (u() < 0.07 ? 1 + Math.floor(u() * 3) : 0);
  return out;
}

function naiveDirections(pred: ArrayLike<number>, bars: Int32Array, rule: Rule, hold: number): number[] {
  const out: number[] = [];
  let prev = 0;
  let lockedUntil = -1;
  for (let i = 0; i < pred.length; i++) {
    if (i > 0 && bars[i] !== bars[i - 1] + 1) {
      prev = 0;
      lockedUntil = -1;
    }
    if (i < lockedUntil) {
      out.push(prev);
      continue;
    }
    const v = pred[i];
    let d = 0;
    if (rule.kind === 'sign') d = v > 0 ? 1 : v < 0 ? -1 : 0;
    else if (rule.kind === 'bands') d = v > rule.hi[i] ? 1 : v < rule.lo[i] ? -1 : 0;
    else if (prev > 0) d = v < -rule.entry ? -1 : v > rule.exit ? 1 : 0;
    else if (prev < 0) d = v > rule.entry ? 1 : v < -rule.exit ? -1 : 0;
    else d = v > rule.entry ? 1 : v < -rule.entry ? -1 : 0;
    if (d !== 0) lockedUntil = i + hold;
    out.push(d);
    prev = d;
  }
  return out;
}

function naiveSizes(dir: Int8Array, bars: Int32Array, size: (i: number) => number, cap: number): { position: number[]; skipped: number } {
  const position: number[] = [];
  let cur = 0;
  let skipped = 0;
  for (let i = 0; i < dir.length; i++) {
    const gap = i > 0 && bars[i] !== bars[i - 1] + 1;
    const entered = dir[i] !== 0 && (i === 0 || gap || dir[i] !== dir[i - 1]);
    if (entered) {
      const s = Math.min(size(i), cap);
      if (Number.isFinite(s) && s > 0) cur = s;
      else {
        cur = 0;
        skipped++;
      }
    }
    position.push(dir[i] === 0 ? 0 : dir[i] * cur);
  }
  return { position, skipped };
}

interface NaiveTrade {
  start: number;
  bars: number;
  position: number;
  pnl: number;
  pips: number;
  account: number;
}

/** The simulation rules of src/backtest/simulate.ts's header, one fill at a time. */
function naiveSimulate(open: Float64Array, bars: Int32Array, position: Float64Array, priceCostAt: Float64Array, account: number, pip: number) {
  let n = 0;
  while (n < bars.length && bars[n] + 2 < open.length) n++;
  const cost = new Array<number>(n).fill(0);
  const gross: number[] = [];
  const trades: NaiveTrade[] = [];
  let t: (NaiveTrade & { units: number; move: number }) | null = null;
  let turnover = 0;
  /** Pays for |dq| position units (dUnits base units) at open[at], booked on bar i. */
  const fill = (dq: number, dUnits: number, at: number, i: number): void => {
    const unit = priceCostAt[at];
    cost[i] += (unit * dq) / open[at];
    turnover += dq;
    t!.pnl -= (unit * dq) / open[at];
    t!.move -= unit * dq;
    t!.account -= dUnits * unit;
  };
  const close = (at: number, i: number, end: number): void => {
    fill(Math.abs(held), Math.abs(t!.units), at, i);
    trades.push({ start: t!.start, bars: end - t!.start, position: t!.position, pnl: t!.pnl, pips: t!.move / pip, account: t!.account });
    t = null;
  };
  let held = 0;
  for (let i = 0; i < n; i++) {
    const b = bars[i] + 1;
    if (t && i > 0 && bars[i - 1] + 1 !== bars[i]) {
      close(bars[i - 1] + 2, i - 1, i);
      held = 0;
    }
    const q = position[i];
    if (t && (q === 0 || Math.sign(q) !== Math.sign(held))) {
      close(b, i, i);
      held = 0;
    }
    if (q !== 0 && !t) {
      t = { start: i, bars: 0, position: q, pnl: 0, pips: 0, account: 0, units: (q * account) / open[b], move: 0 };
      held = q;
      fill(Math.abs(q), Math.abs(t.units), b, i);
    } else if (q !== 0 && q !== held) {
      const units = (q * account) / open[b];
      fill(Math.abs(q - held), Math.abs(units - t!.units), b, i);
      t!.units = units;
      held = q;
    }
    const g = q === 0 ? 0 : q * Math.log(open[b + 1] / open[b]);
    gross.push(g);
    if (t) {
      t.pnl += g;
      t.move += q * (open[b + 1] - open[b]);
      t.account += t.units * (open[b + 1] - open[b]);
    }
  }
  if (t) close(bars[n - 1] + 2, n - 1, n);
  return { n, cost, gross, net: gross.map((g, i) => g - cost[i]), trades, turnover };
}

function naiveMetrics(sim: Simulation, perYear: number) {
  const net = Array.from(sim.net);
  const n = net.length;
  const mean = net.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(net.reduce((a, r) => a + (r - mean) ** 2, 0) / (n - 1));
  const down = Math.sqrt(net.reduce((a, r) => a + (r < 0 ? r * r : 0), 0) / n);
  let equity = 0;
  let peak = 0;
  let maxDd = 0;
  let under = 0;
  let longest = 0;
  for (const r of net) {
    equity += r;
    if (equity >= peak) {
      peak = equity;
      under = 0;
    } else longest = Math.max(longest, ++under);
    maxDd = Math.max(maxDd, peak - equity);
  }
  const heldBars = net.filter((_, i) => sim.position[i] !== 0);
  const pnl = Array.from(sim.trades.pnl);
  const side = (long: boolean, x: Float64Array): number => Array.from(x).reduce((a, v, k) => a + (sim.trades.position[k] > 0 === long ? v : 0), 0);
  return {
    sharpe: (mean / sd) * Math.sqrt(perYear),
    sortino: (mean / down) * Math.sqrt(perYear),
    max_drawdown: maxDd,
    max_drawdown_bars: longest,
    hit_rate: heldBars.filter((r) => r > 0).length / heldBars.length,
    exposure: heldBars.length / n,
    win_rate: pnl.filter((p) => p > 0).length / pnl.length,
    profit_factor: pnl.filter((p) => p > 0).reduce((a, b) => a + b, 0) / -pnl.filter((p) => p <= 0).reduce((a, b) => a + b, 0),
    pnl_long_pips: side(true, sim.trades.pips),
    pnl_short_pips: side(false, sim.trades.pips),
    pnl_long_account: side(true, sim.trades.account),
    pnl_short_account: side(false, sim.trades.account),
    benchmark_return: Array.from(sim.benchmark).reduce((a, b) => a + b, 0),
  };
}

/** Random cases: predictions with NaNs, gapped bars, a random walk of opens, per-bar costs. */
function randomCase(seed: number, n = 3000) {
  const u = rng(seed);
  const bars = barsWithGaps(n, u);
  const open = new Float64Array(bars[n - 1] + 2);
  open[0] = 1.1;
  for (let i = 1; i < open.length; i++) open[i] = open[i - 1] * (1 + 0.002 * (u() - 0.5));
  const pred = Float64Array.from({ length: n }, () => (u() < 0.03 ? NaN : u() - 0.5));
  const costAt = Float64Array.from(open, () => 0.00002 + 0.00004 * u());
  return { u, bars, open, pred, costAt };
}

const RULES: [string, Rule, number][] = [
  ['threshold', { kind: 'threshold', entry: 0.1, exit: 0.1 }, 1],
  ['threshold with hysteresis, hold 3', { kind: 'threshold', entry: 0.2, exit: 0.05 }, 3],
  ['sign', { kind: 'sign' }, 1],
  ['threshold at 0 (as sign)', { kind: 'threshold', entry: 0, exit: 0 }, 2],
];

describe('directions and sizes against naive references', () => {
  for (const [name, rule, hold] of RULES) {
    it(name, () => {
      for (const seed of [1, 2, 3]) {
        const { bars, pred } = randomCase(seed);
        expect(Array.from(directions(pred, bars, rule, hold))).toEqual(naiveDirections(pred, bars, rule, hold));
      }
    });
  }

  it('bands, including crossed bands (lo above hi: long wins)', () => {
    const { u, bars, pred } = randomCase(4);
    const lo = Float64Array.from(pred, () => -0.3 + 0.5 * u());
    const hi = Float64Array.from(pred, () => 0.3 - 0.5 * u());
    const rule: Rule = { kind: 'bands', lo, hi };
    expect(Array.from(directions(pred, bars, rule, 2))).toEqual(naiveDirections(pred, bars, rule, 2));
  });

  it('crossed thresholds (negative entry): a long still reverses first, as the if-chain does', () => {
    const { bars, pred } = randomCase(5);
    const rule: Rule = { kind: 'threshold', entry: -0.1, exit: -0.1 };
    expect(Array.from(directions(pred, bars, rule, 1))).toEqual(naiveDirections(pred, bars, rule, 1));
  });

  it('sizes: entries sized, skipped when not finite or not positive, capped', () => {
    const { u, bars, pred } = randomCase(6);
    const dir = directions(pred, bars, { kind: 'threshold', entry: 0.05, exit: 0.05 });
    const sizes = Float64Array.from(pred, () => [NaN, -1, 0, Infinity, 0.5, 1.7, 3][Math.floor(u() * 7)]);
    const size = (i: number): number => sizes[i];
    const got = sizePositions(dir, bars, size, 2.5);
    const want = naiveSizes(dir, bars, size, 2.5);
    expect(Array.from(got.position)).toEqual(want.position);
    expect(got.skipped).toBe(want.skipped);
    expect(got.skipped).toBeGreaterThan(0);
  });
});

describe('simulate and metrics against naive references', () => {
  for (const seed of [11, 12, 13]) {
    it(`random case ${seed}: per-bar costs, trades, pips, account, metrics`, () => {
      const { u, bars, open, pred, costAt } = randomCase(seed);
      const dir = directions(pred, bars, { kind: 'threshold', entry: 0.15, exit: 0.05 }, 1 + (seed % 2));
      const sizes = Float64Array.from(pred, () => (u() < 0.05 ? NaN : 0.5 + u()));
      const { position } = sizePositions(dir, bars, (i) => sizes[i]);
      const account = 100_000;
      const sim = simulate({ open, signalBar: bars, position, priceCost: 0, priceCostAt: costAt, account, pip: 0.0001 });
      const ref = naiveSimulate(open, bars, position, costAt, account, 0.0001);

      expect(sim.net.length).toBe(ref.n);
      expect(Array.from(sim.bar)).toEqual(Array.from(bars.subarray(0, ref.n), (b) => b + 1));
      sim.cost.forEach((c, i) => expect(c).toBeCloseTo(ref.cost[i], 14));
      sim.net.forEach((r, i) => expect(r).toBeCloseTo(ref.net[i], 14));
      // gross and entry are derived on first read: the loop's values and the trades' first bars.
      expect(Array.from(sim.gross)).toEqual(ref.gross);
      const entries = new Array<number>(ref.n).fill(0);
      for (const t of ref.trades) entries[t.start] = 1;
      expect(Array.from(sim.entry)).toEqual(entries);
      expect(sim.turnover).toBeCloseTo(ref.turnover, 9);

      expect(sim.trades.pnl.length).toBe(ref.trades.length);
      expect(ref.trades.length).toBeGreaterThan(50);
      ref.trades.forEach((t, k) => {
        expect(sim.trades.start[k]).toBe(t.start);
        expect(sim.trades.bars[k]).toBe(t.bars);
        expect(sim.trades.position[k]).toBe(t.position);
        expect(sim.trades.pnl[k]).toBeCloseTo(t.pnl, 13);
        expect(sim.trades.pips[k]).toBeCloseTo(t.pips, 9);
        expect(sim.trades.account[k]).toBeCloseTo(t.account, 8);
      });

      const m = backtestMetrics(sim, 6240);
      const want = naiveMetrics(sim, 6240);
      for (const [name, v] of Object.entries(want)) expect(m[name as keyof typeof m], name).toBeCloseTo(v, 9);
    });
  }

  it('signal bars must increase, in the traded signals and in the untraded tail', () => {
    const open = new Float64Array(10).fill(1);
    const run = (bars: number[]) => () => simulate({ open, signalBar: Int32Array.from(bars), position: new Float64Array(bars.length), priceCost: 0 });
    expect(run([0, 3, 3])).toThrow(RangeError);
    expect(run([0, 4, 2])).toThrow(RangeError);
    expect(run([0, 1, 9, 8])).toThrow(RangeError); // both past the data's end
    expect(run([0, 1, 8, 9]).call(null).untraded).toBe(2);
    expect(run([]).call(null).net.length).toBe(0);
  });
});

describe('long simulations: chunked, and on several threads', () => {
  // 2^18 signals and more are cut into chunks (at flat signals or gaps) that pooled worker threads
  // may run; the result must be the naive reference's, and the same bits for every thread count.
  it('400k signals with gaps, sizes and per-bar costs: the reference, and 1 thread = 2 threads bit for bit', () => {
    const { u, bars, open, pred, costAt } = randomCase(21, 400_000);
    const dir = directions(pred, bars, { kind: 'threshold', entry: 0.15, exit: 0.05 }, 2);
    const sizes = Float64Array.from(pred, () => 0.5 + u());
    const { position } = sizePositions(dir, bars, (i) => sizes[i]);
    const input = { open, signalBar: bars, position, priceCost: 0.00001, priceCostAt: costAt, account: 100_000, pip: 0.0001 };
    const one = simulate(input, 1);
    const two = simulate(input, 2);
    const ref = naiveSimulate(
      open,
      bars,
      position,
      costAt.map((c) => c + 0.00001),
      100_000,
      0.0001,
    );

    expect(one.net.length).toBe(ref.n);
    expect(one.trades.pnl.length).toBe(ref.trades.length);
    let worst = 0;
    ref.trades.forEach((t, k) => {
      expect(one.trades.start[k]).toBe(t.start);
      worst = Math.max(worst, Math.abs(one.trades.pnl[k] - t.pnl));
    });
    expect(worst).toBeLessThan(1e-12);
    for (const name of ['cost', 'net', 'benchmark', 'bar', 'position'] as const) {
      expect(
        two[name].every((v, i) => Object.is(v, one[name][i])),
        name,
      ).toBe(true);
    }
    for (const [name, a] of Object.entries(one.trades)) {
      const b = two.trades[name as keyof typeof two.trades];
      expect(b.length === a.length && b.every((v, i) => Object.is(v, a[i])), name).toBe(true);
    }
    expect(Object.is(two.turnover, one.turnover)).toBe(true);
    const m1 = backtestMetrics(one, 6240, 1);
    const m2 = backtestMetrics(two, 6240, 2);
    for (const [name, v] of Object.entries(m1)) expect(Object.is(m2[name as keyof typeof m2], v), name).toBe(true);
  });
});
