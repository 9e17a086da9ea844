import { describe, it, expect } from 'vitest';
import type { Dataset, Model } from '../../src/core/artifacts.js';
import { RunError } from '../../src/core/diagnostics.js';
import { backtestMetrics, maxDrawdownBars, sortinoRatio } from '../../src/backtest/metrics.js';
import { directions, quantile, rollingStdVol, sizePositions } from '../../src/backtest/signals.js';
import { simulate } from '../../src/backtest/simulate.js';
import { parsePipelineText } from '../../src/parser/index.js';
import backtest from '../../src/steps/backtest/index.js';
import type { BacktestParams } from '../../src/steps/backtest/params.js';
import { testContext } from '../helpers/ctx.js';
import { BASE_PARAMS as BASE, candles, H, NO_COSTS, OPEN, T0 } from './fixtures.js';

function dataset(n = 10): Dataset {
  return {
    type: 'Dataset',
    symbol: 'EURUSD',
    timeframe: '1h',
    index: Float64Array.from({ length: n }, (_, i) => T0 + i * H),
    featureNames: ['x'],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    X: new Float64Array(n),
    Y: Float64Array.from({ length: n }, (_, i) => [0.3, -0.2, 0.4, 0.1, -0.5, 0.2, 0.6, -0.1, 0.05, 0][i % 10]),
    method: 'temporal',
    folds: [],
  };
}

/** Predictions at the given bars, with their segment (1 val, 2 test) and fold. */
function model(rows: { bar: number; seg: 1 | 2; fold?: number; v: number }[], horizon = 1): Model {
  const name = `fwd_ret_${horizon}`;
  return {
    type: 'Model',
    kind: 'ridge',
    params: {},
    featureNames: ['x'],
    targetNames: [name],
    targetHorizons: [horizon],
    state: [],
    valMetrics: [],
    predictions: {
      index: Float64Array.from(rows, (r) => T0 + r.bar * H),
      segment: Uint8Array.from(rows, (r) => r.seg),
      fold: Uint16Array.from(rows, (r) => r.fold ?? 0),
      values: { [name]: Float64Array.from(rows, (r) => r.v) },
    },
  };
}

const TEST_PRED = [0.5, 0.2, -0.3, 0.05, -0.1, 0.4, 0.3];
const handModel = (): Model => model(TEST_PRED.map((v, i) => ({ bar: i + 2, seg: 2 as const, v })));

describe('the hand-worked 10-bar case: every metric', () => {
  // Opens 1.1000 1.1010 1.1005 1.1020 1.1030 1.1025 1.1040 1.1035 1.1050 1.1045 (bars 0..9).
  // Test predictions at bars 2..8, threshold 0.1 → +1 +1 −1 0 0 +1 (the bar-8 one is not traded),
  // held over bars 3..8. Spread 2 pips: each unit of position change pays 1 pip = 0.0001.
  // Trades: T1 long, in at open[3] = 1.1020, out at open[5] = 1.1025 (2 bars);
  //         T2 short, in at open[5] = 1.1025, out at open[6] = 1.1040 (1 bar);
  //         T3 long, in at open[8] = 1.1050, out at open[9] = 1.1045 (1 bar).
  it('trades, pips, account currency, win rate, profit factor, expectancy, turnover, durations, Sortino, Calmar', async () => {
    const r = await backtest.run({ model: handModel(), dataset: dataset(), candles: candles() }, BASE, testContext());
    const m = r.metrics;
    expect(m.trades).toBe(3);
    // Pips: T1 +5 − 2 = +3; T2 −15 − 2 = −17; T3 −5 − 2 = −7.
    expect(Array.from(r.trades!.pips).map((p) => Math.round(p * 1e6) / 1e6)).toEqual([3, -17, -7]);
    expect(m.pnl_pips).toBeCloseTo(-21, 9);
    expect(m.pnl_long_pips).toBeCloseTo(-4, 9);
    expect(m.pnl_short_pips).toBeCloseTo(-17, 9);
    expect(m.expectancy_pips).toBeCloseTo(-7, 9);
    // Account 100,000, fixed notional at entry: units = 100000 / entry price.
    // T1: 100000/1.1020 × (1.1025 − 1.1020 − 0.0002) = 30/1.102; T2: −100000/1.1025 × 0.0015 − 100000/1.1025 × 0.0002 = −170/1.1025;
    // T3: 100000/1.1050 × (−0.0005 − 0.0002) = −70/1.105.
    const acc = [30 / 1.102, -170 / 1.1025, -70 / 1.105];
    acc.forEach((a, k) => expect(r.trades!.account[k]).toBeCloseTo(a, 9));
    expect(m.pnl_account).toBeCloseTo(acc[0] + acc[1] + acc[2], 9);
    expect(m.pnl_long_account).toBeCloseTo(acc[0] + acc[2], 9);
    expect(m.pnl_short_account).toBeCloseTo(acc[1], 9);
    // Trade log returns: T1 = ln(1.1025/1.102) − 0.0001/1.102 − 0.0001/1.1025, etc.
    const t1 = Math.log(1.1025 / 1.102) - 0.0001 / 1.102 - 0.0001 / 1.1025;
    const t2 = -Math.log(1.104 / 1.1025) - 0.0001 / 1.1025 - 0.0001 / 1.104;
    const t3 = Math.log(1.1045 / 1.105) - 0.0001 / 1.105 - 0.0001 / 1.1045;
    [t1, t2, t3].forEach((t, k) => expect(r.trades!.pnl[k]).toBeCloseTo(t, 15));
    expect(m.win_rate).toBe(1 / 3);
    expect(m.profit_factor).toBeCloseTo(t1 / -(t2 + t3), 12);
    expect(m.expectancy).toBeCloseTo((t1 + t2 + t3) / 3, 15);
    expect(m.avg_holding_bars).toBe(4 / 3);
    // |Δposition|: 1 (in) + 2 (flip) + 1 (out) + 1 (in) + 1 (out) = 6 over 6 bars × 6,240 bars a year.
    expect(m.turnover).toBe(6240);
    expect(m.years).toBe(6 / 6240);
    expect(Array.from(r.trades!.entry)).toEqual([3, 5, 8].map((b) => T0 + b * H));
    expect(Array.from(r.trades!.exit)).toEqual([5, 6, 9].map((b) => T0 + b * H));
    // Net per bar: bar 3 +0.000816…, bar 4 −0.000453…, bar 5 −0.001541…, bar 6 −0.0000906, bar 7 0, bar 8 −0.000634…
    const o = OPEN;
    const net = [
      Math.log(o[4] / o[3]) - 0.0001 / o[3],
      Math.log(o[5] / o[4]),
      -Math.log(o[6] / o[5]) - 0.0002 / o[5],
      -0.0001 / o[6],
      0,
      Math.log(o[9] / o[8]) - 0.0001 / o[8] - 0.0001 / o[9],
    ];
    // Equity peaks after bar 3 and stays below that peak for the 5 bars after it.
    expect(m.max_drawdown_bars).toBe(5);
    const total = net.reduce((a, b) => a + b, 0);
    const annual = (total / 6) * 6240;
    expect(m.annual_return).toBeCloseTo(annual, 12);
    const mean = total / 6;
    const sd = Math.sqrt(net.reduce((a, v) => a + (v - mean) ** 2, 0) / 5);
    expect(m.annual_volatility).toBeCloseTo(sd * Math.sqrt(6240), 12);
    expect(m.sharpe).toBeCloseTo(annual / (sd * Math.sqrt(6240)), 10);
    const down = Math.sqrt(net.reduce((a, v) => a + Math.min(v, 0) ** 2, 0) / 6);
    expect(m.sortino).toBeCloseTo((mean / down) * Math.sqrt(6240), 10);
    expect(m.calmar).toBeCloseTo(annual / m.max_drawdown, 10);
    // Forecast quality on the 6 traded rows (bars 2..7): predictions 0.5 0.2 −0.3 0.05 −0.1 0.4,
    // actuals 0.4 0.1 −0.5 0.2 0.6 −0.1: signs agree on rows 1, 2, 3, 4 → 4/6.
    expect(m.da_fwd_ret_1).toBeCloseTo(4 / 6, 15);
    // MAE: |0.1| + |0.1| + |0.2| + |0.15| + |0.7| + |0.5| = 1.75 / 6.
    expect(m.mae_fwd_ret_1).toBeCloseTo(1.75 / 6, 12);
    // Ranks: pred (0.5→6, 0.2→4, −0.3→1, 0.05→3, −0.1→2, 0.4→5); actual (0.4→5, 0.1→3, −0.5→1, 0.2→4, 0.6→6, −0.1→2);
    // d = 1, 1, 0, −1, −4, 3 → Σd² = 28; ρ = 1 − 6 × 28 / (6 × 35) = 0.2.
    expect(m.ic_fwd_ret_1).toBeCloseTo(0.2, 12);
  });

  it('commission per million and per lot, slippage: hand-worked', async () => {
    // One long trade: test predictions at bars 2, 3 → held over bars 3, 4, exit at open[5].
    const md = model([
      { bar: 2, seg: 2, v: 1 },
      { bar: 3, seg: 2, v: 1 },
    ]);
    const costs = { spread_pips: 0, commission_per_million: 30, commission_per_lot: 0, slippage_pips: 0 };
    const r1 = await backtest.run({ model: md, dataset: dataset(), candles: candles() }, { ...BASE, costs }, testContext());
    // $30 per million per side = 0.00003 of the notional at entry and at exit.
    expect(r1.metrics.costs).toBeCloseTo(0.00006, 15);
    // $3 per 100k lot per side = 0.00003 per unit of base currency: 0.00003 / price as a return.
    const r2 = await backtest.run(
      { model: md, dataset: dataset(), candles: candles() },
      { ...BASE, costs: { ...costs, commission_per_million: 0, commission_per_lot: 3 } },
      testContext(),
    );
    expect(r2.metrics.costs).toBeCloseTo(0.00003 / 1.102 + 0.00003 / 1.1025, 15);
    // 0.5 pip slippage per fill: 0.00005 / price at entry and exit; in pips: +5 move − 1 = 4.
    const r3 = await backtest.run(
      { model: md, dataset: dataset(), candles: candles() },
      { ...BASE, costs: { ...costs, commission_per_million: 0, slippage_pips: 0.5 } },
      testContext(),
    );
    expect(r3.metrics.costs).toBeCloseTo(0.00005 / 1.102 + 0.00005 / 1.1025, 15);
    expect(r3.metrics.pnl_pips).toBeCloseTo(4, 9);
    // Per-bar spread column in pips, read at the fill bars 3 (3 pips) and 5 (1 pip): half of each.
    const spread = [9, 9, 9, 3, 9, 1, 9, 9, 9, 9];
    const r4 = await backtest.run(
      { model: md, dataset: dataset(), candles: candles(OPEN, { extra: { spread } }) },
      { ...BASE, costs: { ...costs, commission_per_million: 0, spread_column: 'spread' } },
      testContext(),
    );
    expect(r4.metrics.costs).toBeCloseTo(0.00015 / 1.102 + 0.00005 / 1.1025, 15);
    expect(r4.metrics.pnl_pips).toBeCloseTo(5 - 1.5 - 0.5, 9);
  });

  it('a JPY pair: pip 0.01 from the candles', async () => {
    const jpy = candles(OPEN.map((o) => o * 100));
    jpy.pip = 0.01;
    const md = model([
      { bar: 2, seg: 2, v: 1 },
      { bar: 3, seg: 2, v: 1 },
    ]);
    const r = await backtest.run({ model: md, dataset: dataset(), candles: jpy }, { ...BASE, costs: { ...NO_COSTS, spread_pips: 1 } }, testContext());
    // 110.20 → 110.25 = 5 pips; one spread of 1 pip = 0.01.
    expect(r.metrics.pnl_pips).toBeCloseTo(4, 9);
    expect(r.metrics.costs).toBeCloseTo(0.005 / 110.2 + 0.005 / 110.25, 15);
  });
});

describe('signal rules', () => {
  const bars = Int32Array.from([0, 1, 2, 3, 4, 5, 6]);
  it('threshold with an exit below the entry keeps a position until the exit is crossed', () => {
    const pred = [0.3, 0.15, 0.06, 0.04, -0.3, -0.1, -0.04];
    // entry 0.2, exit 0.05: flat→long needs > 0.2 (0.3); kept while > 0.05 (0.15, 0.06); 0.04 → flat;
    // −0.3 → short; kept while < −0.05 (−0.1); −0.04 → flat.
    expect(Array.from(directions(pred, bars, { kind: 'threshold', entry: 0.2, exit: 0.05 }))).toEqual([1, 1, 1, 0, -1, -1, 0]);
    // Without hysteresis (exit = entry): 0.15 already exits.
    expect(Array.from(directions(pred, bars, { kind: 'threshold', entry: 0.2, exit: 0.2 }))).toEqual([1, 0, 0, 0, -1, 0, 0]);
  });

  it('sign, NaN flat', () => {
    expect(Array.from(directions([0.1, -0.2, 0, NaN, 3], bars.subarray(0, 5), { kind: 'sign' }))).toEqual([1, -1, 0, 0, 1]);
  });

  it('holding for the horizon ignores signals inside the holding period, and a gap ends it', () => {
    // hold 3: long at 0 is kept at 1 and 2 whatever they say; at 3 the rule decides again (short, kept at 4, 5).
    expect(Array.from(directions([1, -1, 0, -1, 1, 0, 0], bars, { kind: 'sign' }, 3))).toEqual([1, 1, 1, -1, -1, -1, 0]);
    // A gap between bars 1 and 5 ends the hold.
    expect(Array.from(directions([1, 0, 0], Int32Array.from([0, 1, 5]), { kind: 'sign' }, 3))).toEqual([1, 1, 0]);
  });

  it('quantile: NumPy’s linear interpolation', () => {
    // Sorted 1 2 3 4: q = 0.2 → position 0.6 → 1 + 0.6 × (2 − 1) = 1.6; q = 0.8 → position 2.4 → 3.4.
    expect(quantile([4, 1, 3, 2, NaN], 0.2)).toBeCloseTo(1.6, 15);
    expect(quantile([4, 1, 3, 2], 0.8)).toBeCloseTo(3.4, 15);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('quantile rule: cut-offs from the fold’s validation predictions', async () => {
    // Val predictions at bars 0..4: 1 2 3 4 5 → 0.2 quantile 1.8, 0.8 quantile 4.2.
    // Test at bars 5..8: 4.3 → long, 1.7 → short, 3 → flat, 9 (not traded).
    const md = model([
      ...[1, 2, 3, 4, 5].map((v, i) => ({ bar: i, seg: 1 as const, v })),
      ...[4.3, 1.7, 3, 9].map((v, i) => ({ bar: i + 5, seg: 2 as const, v })),
    ]);
    const r = await backtest.run({ model: md, dataset: dataset(), candles: candles() }, { ...BASE, rule: 'quantile', costs: NO_COSTS }, testContext());
    expect(Array.from(r.position)).toEqual([1, -1, 0]);
  });

  it('vol-target sizing: size fixed at entry = target / (rolling std × √bars a year), capped', () => {
    // Closes 1, e^0.01, e^0.03, e^0.06: log returns 0.01, 0.02, 0.03; window 2 at bar 2: std(0.01, 0.02) = √(0.00005);
    // at bar 3: std(0.02, 0.03), the same.
    const close = Float64Array.from([0, 0.01, 0.03, 0.06], Math.exp);
    const vol = rollingStdVol(close, 2);
    expect(vol[1]).toBeNaN();
    expect(vol[2]).toBeCloseTo(Math.sqrt(0.00005), 12);
    expect(vol[3]).toBeCloseTo(Math.sqrt(0.00005), 12);
    const dir = Int8Array.from([1, 1, -1, 0, 1]);
    const sizes = [NaN, 5, 2, 7, 9];
    const { position, skipped } = sizePositions(dir, Int32Array.from([0, 1, 2, 3, 4]), (i) => sizes[i], 8);
    // Entry at 0 has no size: skipped, flat while the direction lasts (bar 1 too); flip at 2 → −2; entry at 4 → 9 capped at 8.
    expect(Array.from(position)).toEqual([0, 0, -2, 0, 8]);
    expect(skipped).toBe(1);
  });

  it('vol-target sizing in the step: the hand-computed size', async () => {
    const close = [0, 0.001, 0.003, 0.006, 0.004, 0.005, 0.007, 0.006, 0.008, 0.009].map((x) => Math.exp(x));
    const md = model([
      { bar: 3, seg: 2, v: 1 },
      { bar: 4, seg: 2, v: 1 },
    ]);
    const c = candles(close);
    const r = await backtest.run(
      { model: md, dataset: dataset(), candles: c },
      { ...BASE, costs: NO_COSTS, sizing: { vol_target: { annual_vol: 0.1, estimator: 'std', window: 3 } } },
      testContext(),
    );
    // Log returns of closes 1..3: 0.001, 0.002, 0.003 → std (ddof 1) 0.001; size = 0.1 / (0.001 × √6240).
    const size = 0.1 / (0.001 * Math.sqrt(6240));
    expect(r.position[0]).toBeCloseTo(size, 9);
    expect(r.position[1]).toBe(r.position[0]);
  });
});

describe('walk-forward folds and segments', () => {
  it('folds are stitched in time order, closed at the gap between them; val + test both traded', async () => {
    // Fold 0 test at bars 1, 2; fold 1 test at bars 5, 6 (given first, out of order); val of fold 1 at bar 4.
    const md = model([
      { bar: 5, seg: 2, fold: 1, v: 1 },
      { bar: 6, seg: 2, fold: 1, v: 1 },
      { bar: 1, seg: 2, fold: 0, v: 1 },
      { bar: 2, seg: 2, fold: 0, v: 1 },
      { bar: 4, seg: 1, fold: 1, v: -1 },
    ]);
    const r = await backtest.run({ model: md, dataset: dataset(), candles: candles() }, { ...BASE, costs: { ...NO_COSTS, spread_pips: 2 } }, testContext());
    expect(Array.from(r.index)).toEqual([2, 3, 6, 7].map((b) => T0 + b * H));
    // Two trades: in at open[2], out before the gap at open[4]; in at open[6], out at the end at open[8].
    expect(r.metrics.trades).toBe(2);
    expect(r.metrics.costs).toBeCloseTo(0.0001 / OPEN[2] + 0.0001 / OPEN[4] + 0.0001 / OPEN[6] + 0.0001 / OPEN[8], 15);
    const both = await backtest.run(
      { model: md, dataset: dataset(), candles: candles() },
      { ...BASE, segments: ['val', 'test'], costs: NO_COSTS },
      testContext(),
    );
    // Val at bar 4 (short) fills the gap's second half: bars held 2, 3, 5, 6, 7.
    expect(Array.from(both.index)).toEqual([2, 3, 5, 6, 7].map((b) => T0 + b * H));
    expect(Array.from(both.position)).toEqual([1, 1, -1, 1, 1]);
  });

  it('a timestamp predicted twice is traded once, test before val, with a warning', async () => {
    const md = model([
      { bar: 2, seg: 1, fold: 1, v: -1 },
      { bar: 2, seg: 2, fold: 0, v: 1 },
      { bar: 3, seg: 2, fold: 0, v: 1 },
    ]);
    const ctx = testContext();
    const r = await backtest.run({ model: md, dataset: dataset(), candles: candles() }, { ...BASE, segments: ['val', 'test'], costs: NO_COSTS }, ctx);
    expect(Array.from(r.position)).toEqual([1, 1]);
    expect(ctx.warnings.join('\n')).toMatch(/1 timestamp\(s\) predicted by more than one/);
  });

  it('users’ errors: no predictions on the segment, an unknown spread column', async () => {
    const md = model([{ bar: 2, seg: 1, v: 1 }]);
    const e = await backtest.run({ model: md, dataset: dataset(), candles: candles() }, BASE, testContext()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RunError);
    expect((e as RunError).message).toMatch(/no predictions on the test segment/);
    expect((e as RunError).hint).toMatch(/val/);
    const e2 = await backtest
      .run({ model: handModel(), dataset: dataset(), candles: candles() }, { ...BASE, costs: { ...NO_COSTS, spread_column: 'spread' } }, testContext())
      .catch((x: unknown) => x);
    expect(e2).toBeInstanceOf(RunError);
    expect((e2 as RunError).hint).toMatch(/open, high, low, close, volume/);
  });

  it('check(): exit above entry, exit with another rule, both spreads, units above the cap', () => {
    const issues = backtest.check!({
      ...BASE,
      rule: 'sign',
      entry_threshold: 0.1,
      exit_threshold: 0.2,
      max_leverage: 1,
      sizing: { fixed: { units: 2 } },
      costs: { ...NO_COSTS, spread_pips: 1, spread_column: 'spread' },
    });
    expect(issues.map((i) => i.path.join('.'))).toEqual(['exit_threshold', 'exit_threshold', 'sizing.fixed.units', 'costs.spread_pips']);
    expect(backtest.check!(BASE)).toEqual([]);
  });
});

describe('backtest bounds are the schema’s', () => {
  // exit_threshold ≥ 0, max_leverage > 0 and pip > 0 are tags on the params type: the validator
  // reports them at the value, before any check() runs.
  it('a negative exit_threshold, a zero max_leverage and a zero pip are located errors', () => {
    const text =
      'version: 1\nname: b\nsteps:\n  c: { uses: fetch, with: { bars: 500 } }\n  f: { uses: features, from: c }\n  d: { uses: split, from: f }\n  m: { uses: train, from: d }\n' +
      '  b:\n    uses: backtest\n    from: { model: m, dataset: d, candles: c }\n    with:\n      exit_threshold: -0.1\n      max_leverage: 0\n      pip: 0\n';
    const { diagnostics } = parsePipelineText(text, '/tmp/b.yaml', { displayFile: 'b.yaml' });
    const got = diagnostics.map((d) => `${d.loc?.line}:${d.loc?.col} ${d.path} ${d.message}`).sort();
    expect(got).toEqual([
      '12:23 steps.b.with.exit_threshold `exit_threshold` of step `b` (backtest) must be >= 0, got -0.1',
      '13:21 steps.b.with.max_leverage `max_leverage` of step `b` (backtest) must be > 0, got 0',
      '14:12 steps.b.with.pip `pip` of step `b` (backtest) must be > 0, got 0',
    ]);
  });
});

describe('metric helpers', () => {
  it('Sortino and drawdown duration by hand', () => {
    // Returns 0.02, −0.01, 0.01, −0.03: mean −0.0025; downside √((0.0001 + 0.0009)/4) = √0.00025.
    expect(sortinoRatio([0.02, -0.01, 0.01, -0.03], 100)).toBeCloseTo((-0.0025 / Math.sqrt(0.00025)) * 10, 12);
    // Equity 0.02 (peak), 0.01, 0.02 (regained), 0.015, 0.01, 0.03: longest under water = 2 bars.
    expect(maxDrawdownBars([0.02, 0.01, 0.02, 0.015, 0.01, 0.03])).toBe(2);
    // A loss from the start counts from 0.
    expect(maxDrawdownBars([-0.01, -0.02, 0.01])).toBe(2);
  });

  it('a resize pays only the difference and stays one trade', () => {
    const open = Float64Array.from([1, 1, 1, 1, 1]);
    const sim = simulate({ open, signalBar: Int32Array.from([0, 1]), position: Float64Array.from([1, 3]), priceCost: 0.01 });
    // In with 1 (cost 0.01), +2 (0.02), out with 3 at the end (0.03).
    expect(Array.from(sim.cost)).toEqual([0.01, 0.05]);
    expect(sim.trades.pnl.length).toBe(1);
    expect(sim.turnover).toBe(6);
    const m = backtestMetrics(sim, 1);
    expect(m.trades).toBe(1);
    expect(m.costs).toBeCloseTo(0.06, 15);
  });
});
