import { describe, it, expect } from 'vitest';
import type { Candles, Dataset, Model, Report } from '../../src/core/artifacts.js';
import { RunError } from '../../src/core/diagnostics.js';
import { barsPerYear, maxDrawdown, sharpeRatio } from '../../src/backtest/metrics.js';
import { positionsFromPredictions, simulate } from '../../src/backtest/simulate.js';
import backtest from '../../src/steps/backtest/index.js';
import type { BacktestParams } from '../../src/steps/backtest/params.js';
import { testContext } from '../helpers/ctx.js';
import { BASE_PARAMS, candles as fixtureCandles, H, NO_COSTS, OPEN, T0 } from './fixtures.js';

/** These examples' candles close 3 pips above their open (closes must never be traded at). */
const candles = (open: number[] = OPEN, closeShift = 0.0003): Candles => fixtureCandles(open, { closeShift });

const dataset = {
  type: 'Dataset',
  symbol: 'EURUSD',
  timeframe: '1h',
  index: Float64Array.from({ length: 10 }, (_, i) => T0 + i * H),
  targetNames: ['fwd_ret_1'],
  targetHorizons: [1],
  // Actual forward returns (only their signs and ranks matter to the forecast checks).
  Y: Float64Array.from([0.3, -0.2, 0.4, 0.1, -0.5, 0.2, 0.6, -0.1, 0.05, 0]),
} as unknown as Dataset;

/** Val predictions at bars 0, 1; test predictions at bars 2..8. */
function model(test: number[] = [0.5, 0.2, -0.3, 0.05, -0.1, 0.4, 0.3], val: number[] = [-0.7, -0.7]): Model {
  const bars = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  return {
    type: 'Model',
    kind: 'ridge',
    params: { alpha: 1 },
    featureNames: ['x'],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    state: [],
    valMetrics: [],
    predictions: {
      index: Float64Array.from(bars, (b) => T0 + b * H),
      segment: Uint8Array.from(bars, (b) => (b < 2 ? 1 : 2)),
      fold: new Uint16Array(bars.length),
      values: { fwd_ret_1: Float64Array.from([...val, ...test]) },
    },
  };
}

const params: BacktestParams = BASE_PARAMS;

describe('backtest step: a hand-worked 10-bar case', () => {
  it('positions, next-open fills, spread costs, returns, drawdown and Sharpe', async () => {
    const ctx = testContext();
    const r = await backtest.run({ model: model(), dataset, candles: candles() }, params, ctx);
    const o = OPEN;
    // Test predictions at bars 2..8 with threshold 0.1: 0.5 → +1, 0.2 → +1, −0.3 → −1, 0.05 → 0,
    // −0.1 → 0 (not below −0.1), 0.4 → +1; the one at bar 8 would fill at open[9] and exit at
    // open[10], which does not exist: not traded. Each signal at bar t is held over bar t+1.
    const pos = [1, 1, -1, 0, 0, 1];
    const held = [3, 4, 5, 6, 7, 8];
    expect(Array.from(r.position)).toEqual(pos);
    expect(Array.from(r.index)).toEqual(held.map((b) => T0 + b * H));

    // Gross: position × ln(open[b+1] / open[b]).
    const gross = [Math.log(o[4] / o[3]), Math.log(o[5] / o[4]), -Math.log(o[6] / o[5]), 0, 0, Math.log(o[9] / o[8])];
    // Half spread = 2 pips × 0.0001 / 2 = 0.0001 per unit of position change, divided by the fill price:
    // bar 3: enter long (|Δ| 1) at open[3]; bar 4: no change; bar 5: flip long → short (|Δ| 2) at open[5];
    // bar 6: short → flat (|Δ| 1) at open[6]; bar 7: nothing; bar 8: enter long at open[8] and, the
    // simulation ending flat, exit at open[9].
    const hs = 0.0001;
    const cost = [hs / o[3], 0, (2 * hs) / o[5], hs / o[6], 0, hs / o[8] + hs / o[9]];
    const net = gross.map((g, i) => g - cost[i]);

    const total = net.reduce((a, b) => a + b, 0);
    let eq = 0;
    const equity = net.map((v) => (eq += v));
    let peak = 0;
    let dd = 0;
    for (const e of equity) {
      peak = Math.max(peak, e);
      dd = Math.max(dd, peak - e);
    }
    const mean = total / 6;
    const sd = Math.sqrt(net.reduce((a, v) => a + (v - mean) ** 2, 0) / (6 - 1));
    const sharpe = (mean / sd) * Math.sqrt(260 * 24); // 1h bars: 260 days × 24 bars a year

    const m = r.metrics;
    expect(m.bars).toBe(6);
    expect(m.total_return).toBeCloseTo(total, 15);
    expect(m.costs).toBeCloseTo(
      cost.reduce((a, b) => a + b, 0),
      15,
    );
    expect(m.max_drawdown).toBeCloseTo(dd, 15);
    expect(m.sharpe).toBeCloseTo(sharpe, 10);
    expect(m.trades).toBe(3); // enter at bar 3, flip at bar 5, enter at bar 8
    expect(m.exposure).toBeCloseTo(4 / 6, 15);
    // Held bars 3, 4, 5, 8: only bar 3 gains (open rises 1.1020 → 1.1030, more than the cost).
    expect(net[0]).toBeGreaterThan(0);
    expect([net[1], net[2], net[5]].every((v) => v < 0)).toBe(true);
    expect(m.hit_rate).toBe(1 / 4);
    expect(m.benchmark_return).toBeCloseTo(Math.log(o[9] / o[3]), 15);
    equity.forEach((e, i) => expect(r.equity[i]).toBeCloseTo(e, 15));
    expect(r.benchmark[5]).toBeCloseTo(Math.log(o[9] / o[3]), 15);
    expect(r.benchmark[0]).toBeCloseTo(Math.log(o[4] / o[3]), 15);
    expect(r.notes.join('\n')).toMatch(/t\+1’s open/);
    expect(ctx.logs.join('\n')).toMatch(/1 prediction\(s\) at the end not traded/);
    expect(backtest.metrics!(r)).toBe(r.metrics);
  });

  it('a signal at bar t fills at bar t+1’s open: closes do not matter, the next open does', async () => {
    const base = await backtest.run({ model: model(), dataset, candles: candles() }, params, testContext());
    // Different closes everywhere: identical result.
    const otherCloses = await backtest.run({ model: model(), dataset, candles: candles(OPEN, -0.002) }, params, testContext());
    expect(otherCloses.metrics).toEqual(base.metrics);
    expect(Array.from(otherCloses.equity)).toEqual(Array.from(base.equity));
    // The open of the first signal's own bar (2) is not a fill price: identical result.
    const open2 = [...OPEN];
    open2[2] = 1.2;
    const sameBar = await backtest.run({ model: model(), dataset, candles: candles(open2) }, params, testContext());
    expect(sameBar.metrics).toEqual(base.metrics);
    // The open of bar t+1 = 3 is the first fill: the PnL changes, by the hand-computed amount.
    const open3 = [...OPEN];
    open3[3] = 1.101;
    const moved = await backtest.run({ model: model(), dataset, candles: candles(open3) }, params, testContext());
    expect(moved.metrics.total_return).not.toBeCloseTo(base.metrics.total_return, 8);
    const firstNet = (o3: number): number => Math.log(OPEN[4] / o3) - 0.0001 / o3;
    expect(moved.metrics.total_return - base.metrics.total_return).toBeCloseTo(firstNet(1.101) - firstNet(1.102), 15);
  });

  it('trades the val segment when asked', async () => {
    // Val predictions at bars 0, 1: both −0.7 → short over bars 1 and 2, no spread.
    const r = await backtest.run({ model: model(), dataset, candles: candles() }, { ...params, segments: ['val'], costs: NO_COSTS }, testContext());
    expect(Array.from(r.position)).toEqual([-1, -1]);
    expect(r.metrics.total_return).toBeCloseTo(-Math.log(OPEN[3] / OPEN[1]), 15);
    expect(r.metrics.trades).toBe(1);
  });

  it('defaults to the shortest horizon and refuses an unknown target', async () => {
    const m = model();
    const two: Model = {
      ...m,
      targetNames: ['fwd_ret_4', 'fwd_ret_1'],
      targetHorizons: [4, 1],
      predictions: { ...m.predictions, values: { fwd_ret_4: new Float64Array(9).fill(1), fwd_ret_1: new Float64Array(9).fill(-1) } },
    };
    const r = await backtest.run({ model: two, dataset, candles: candles() }, params, testContext());
    expect(Array.from(r.position).every((p) => p === -1)).toBe(true);
    const named = await backtest.run({ model: two, dataset, candles: candles() }, { ...params, target: 'fwd_ret_4' }, testContext());
    expect(Array.from(named.position).every((p) => p === 1)).toBe(true);

    const bad = backtest.run({ model: two, dataset, candles: candles() }, { ...params, target: 'fwd_ret_9' }, testContext());
    await expect(bad).rejects.toBeInstanceOf(RunError);
    try {
      await backtest.run({ model: two, dataset, candles: candles() }, { ...params, target: 'fwd_ret_9' }, testContext());
    } catch (e) {
      expect((e as RunError).hint).toContain('fwd_ret_4, fwd_ret_1');
    }
  });

  it('refuses predictions with no candle', async () => {
    const c = candles();
    c.index = c.index.map((t) => t + 60_000);
    await expect(backtest.run({ model: model(), dataset, candles: c }, params, testContext())).rejects.toThrow(/no candle/);
  });

  it('summary', () => {
    const r = { metrics: { sharpe: 0.8412, max_drawdown: 0.031, trades: 412, hit_rate: 0.5131 } } as unknown as Report;
    expect(backtest.summary!(r)).toBe('Sharpe 0.84 · max DD 3.1% · 412 trades · hit 51.3%');
  });
});

describe('simulate', () => {
  it('closes before a gap in the signals and re-enters after it', () => {
    const open = Float64Array.from([1, 2, 4, 5, 8, 10, 11]);
    // Signals at bars 0, 1 (held over bars 1, 2) and 4 (held over bar 5): a gap at bars 3–4.
    const sim = simulate({ open, signalBar: Int32Array.from([0, 1, 4]), position: Float64Array.from([1, 1, 1]), priceCost: 0.5 });
    expect(Array.from(sim.bar)).toEqual([1, 2, 5]);
    // Enter at open[1] = 2; exit before the gap at open[3] = 5 (booked on bar 2); enter at open[5] = 10,
    // exit at the end at open[6] = 11.
    expect(sim.cost[0]).toBeCloseTo(0.5 / 2, 15);
    expect(sim.cost[1]).toBeCloseTo(0.5 / 5, 15);
    expect(sim.cost[2]).toBeCloseTo(0.5 / 10 + 0.5 / 11, 15);
    expect(sim.gross[1]).toBeCloseTo(Math.log(5 / 4), 15);
    expect(Array.from(sim.entry)).toEqual([1, 0, 1]);
    expect(sim.untraded).toBe(0);
  });

  it('positions from predictions: strict thresholds, NaN flat', () => {
    expect(Array.from(positionsFromPredictions([0.2, 0.1, -0.1, -0.3, NaN, 0], 0.1))).toEqual([1, 0, 0, -1, 0, 0]);
    expect(Array.from(positionsFromPredictions([1e-9, -1e-9, 0], 0))).toEqual([1, -1, 0]);
  });
});

describe('backtest metrics', () => {
  it('bars per year in FX trading time', () => {
    expect(barsPerYear(H)).toBe(6240); // 260 × 24
    expect(barsPerYear(24 * H)).toBe(260);
    expect(barsPerYear(15 * 60_000)).toBe(260 * 96);
  });

  it('max drawdown from the running peak, starting at 0', () => {
    // Peak 0.03 at bar 2, trough −0.02 at bar 5: 0.05.
    expect(maxDrawdown([0.01, 0.03, -0.01, 0.02, -0.02])).toBeCloseTo(0.05, 15);
    // A loss on the first bar counts from the starting equity 0.
    expect(maxDrawdown([-0.01, 0.005])).toBeCloseTo(0.01, 15);
    expect(maxDrawdown([0.01, 0.02])).toBe(0);
  });

  it('Sharpe by hand', () => {
    // Returns 0.01, −0.02, 0.03: mean 0.02/3; deviations 0.01/3, −0.08/3, 0.07/3;
    // variance (ddof 1) = (0.0001 + 0.0064 + 0.0049)/9/2 = 0.0114/18.
    const expected = (0.02 / 3 / Math.sqrt(0.0114 / 18)) * Math.sqrt(252);
    expect(sharpeRatio([0.01, -0.02, 0.03], 252)).toBeCloseTo(expected, 12);
    expect(sharpeRatio([0.01], 252)).toBeNaN();
    expect(sharpeRatio([0.01, 0.01], 252)).toBeNaN();
  });
});
