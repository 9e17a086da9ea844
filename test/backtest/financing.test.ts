import { describe, expect, it } from 'vitest';
import { applyFinancing, rollovers, type SwapRates } from '../../src/backtest/financing.js';
import { simulate } from '../../src/backtest/simulate.js';
import type { Candles, Dataset, Model } from '../../src/core/artifacts.js';
import backtest from '../../src/steps/backtest/index.js';
import type { BacktestParams } from '../../src/steps/backtest/params.js';
import { testContext } from '../helpers/ctx.js';
import { BASE_PARAMS, candles as fixtureCandles, NO_COSTS } from './fixtures.js';

const utc = (s: string): number => Date.parse(`${s}Z`);

/*
 * Hand-worked week (July 2024, New York on EDT, so the 17:00 rollover is 21:00 UTC). Daily bars
 * open at 21:00 UTC; 2024-07-01 is a Monday. A long signal at bars 0–4 holds bars 1–5:
 *   bar 1  Mon 07-01 21:00 → Tue 07-02 21:00   Tuesday's rollover            1 night
 *   bar 2  Tue → Wed 07-03 21:00               Wednesday's (triple)          3 nights
 *   bar 3  Wed → Thu 07-04 21:00               Thursday's                    1 night
 *   bar 4  Thu → Sun 07-07 21:00               Friday's (Sat none, Sun none) 1 night
 *   bar 5  Sun → Mon 07-08 21:00               Monday's                      1 night
 * (the rollover at a bar's own open is not charged: it was entered then), 7 nights in all. At −6.5
 * points (point 0.00001) on one lot of 100,000 EUR entered at 1.00000: 6.5 × 0.00001 × 100,000 =
 * 6.50 USD a night, 45.50 USD for the week; 45.5 / 100,000 × 0.0001⁻¹ … in pips: 6.5 points = 0.65
 * pip a night, 4.55 pips for the week.
 */
const time = Float64Array.from(
  [
    '2024-06-30T21:00',
    '2024-07-01T21:00',
    '2024-07-02T21:00',
    '2024-07-03T21:00',
    '2024-07-04T21:00',
    '2024-07-07T21:00',
    '2024-07-08T21:00',
    '2024-07-09T21:00',
  ].map(utc),
);
const open = Float64Array.from([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);

const rates = (over: Partial<SwapRates>): SwapRates => ({
  long: -6.5,
  short: 1.2,
  unit: 'points',
  point: 0.00001,
  pip: 0.0001,
  tripleDay: 3,
  dayCount: 360,
  ...over,
});

describe('swap financing', () => {
  const sim = simulate({
    open,
    signalBar: Int32Array.from([0, 1, 2, 3, 4, 5]),
    position: Float64Array.from([1, 1, 1, 1, 1, 0]),
    priceCost: 0,
    account: 100_000,
    pip: 0.0001,
  });

  it('charges a long one night a weekday, three on Wednesday, none at the weekend', () => {
    const f = applyFinancing(sim, { open, time }, rates({}), 100_000);
    expect(f.nights).toBe(7);
    expect(Array.from(f.financing.slice(0, 5), (x) => Math.round(x * 1e10) / 1e10)).toEqual([0.000065, 0.000195, 0.000065, 0.000065, 0.000065]);
    expect(f.sim.trades.account[0]).toBeCloseTo(-45.5, 9);
    expect(f.sim.trades.pips[0]).toBeCloseTo(-4.55, 9);
    // The trade had no price move and no costs: its PnL is the financing alone.
    expect(f.sim.trades.pnl[0]).toBeCloseTo(-0.000455, 12);
    // The input simulation is left as it was.
    expect(sim.trades.account[0]).toBe(0);
  });

  it('credits a short at a positive rate; annual % of the notional on a 360-day year', () => {
    const short = simulate({
      open,
      signalBar: Int32Array.from([0, 1, 2, 3, 4, 5]),
      position: Float64Array.from([-2, -2, -2, -2, -2, 0]),
      priceCost: 0,
      account: 100_000,
    });
    const f = applyFinancing(short, { open, time }, rates({ short: 1.8, unit: 'annual_pct' }), 100_000);
    // 2 units × 1.8% / 360 × 7 nights = 0.00070 of the account, credited; 200,000 EUR at 1.0 → 70 USD.
    expect(f.sim.trades.account[0]).toBeCloseTo(70, 9);
    expect(f.financing.reduce((a, b) => a + b, 0)).toBeCloseTo(-0.0007, 12);
  });

  it('follows New York DST: 21:00 UTC in summer, 22:00 UTC in winter', () => {
    const summer = rollovers(utc('2024-07-02T00:00'), utc('2024-07-02T23:59'), 3);
    expect(Array.from(summer.at).filter((t) => t >= utc('2024-07-02T00:00') && t <= utc('2024-07-02T23:59'))).toEqual([utc('2024-07-02T21:00')]);
    const winter = rollovers(utc('2024-01-09T00:00'), utc('2024-01-09T23:59'), 3);
    expect(Array.from(winter.at).filter((t) => t >= utc('2024-01-09T00:00') && t <= utc('2024-01-09T23:59'))).toEqual([utc('2024-01-09T22:00')]);
    // H1 bars from 20:00 UTC: a long signalled at 20:00 holds 21:00–22:00 through January's 22:00
    // rollover; one signalled at 21:00 holds 22:00–23:00, whose open is the rollover: not charged.
    const h1 = Float64Array.from(['2024-01-09T20:00', '2024-01-09T21:00', '2024-01-09T22:00', '2024-01-09T23:00', '2024-01-10T00:00'].map(utc));
    const o = Float64Array.from([1, 1, 1, 1, 1]);
    const held = (position: number[]) =>
      applyFinancing(
        simulate({ open: o, signalBar: Int32Array.from([0, 1, 2]), position: Float64Array.from(position), priceCost: 0 }),
        { open: o, time: h1 },
        rates({}),
        1,
      ).nights;
    expect(held([1, 0, 0])).toBe(1);
    expect(held([0, 1, 0])).toBe(0);
  });

  it('takes per-bar rates from a column', () => {
    const long = Float64Array.from([0, -1, -2, -3, -4, -5, -6, -7]);
    const f = applyFinancing(sim, { open, time }, rates({ long }), 100_000);
    // bars 1–5 at −1, −2 (×3), −3, −4, −5 points: 1 + 6 + 3 + 4 + 5 = 19 points × 1 USD (1 lot).
    expect(f.sim.trades.account[0]).toBeCloseTo(-19, 9);
  });
});

describe('backtest step with swap rates', () => {
  // Ten hourly bars from Monday 2023-05-01 15:00 UTC; New York's rollover is at 21:00 UTC (EDT).
  const T = Date.UTC(2023, 4, 1, 15);
  const HOUR = 3_600_000;
  const base = fixtureCandles();
  const candles: Candles = { ...base, index: Float64Array.from(base.index, (_, i) => T + i * HOUR) };
  const dataset = {
    type: 'Dataset',
    symbol: 'EURUSD',
    timeframe: '1h',
    index: Float64Array.from({ length: 10 }, (_, i) => T + i * HOUR),
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    Y: Float64Array.from([0.3, -0.2, 0.4, 0.1, -0.5, 0.2, 0.6, -0.1, 0.05, 0]),
  } as unknown as Dataset;
  const bars = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const model: Model = {
    type: 'Model',
    kind: 'ridge',
    params: {},
    featureNames: ['x'],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    state: [],
    valMetrics: [],
    predictions: {
      index: Float64Array.from(bars, (b) => T + b * HOUR),
      segment: Uint8Array.from(bars, (b) => (b < 2 ? 1 : 2)),
      fold: new Uint16Array(bars.length),
      // Held bars 3–8 get positions +1, +1, −1, 0, 0, +1 (threshold 0.1): the short holds bar 5,
      // 20:00–21:00 UTC, through Monday's rollover.
      values: { fwd_ret_1: Float64Array.from([-0.7, -0.7, 0.5, 0.2, -0.3, 0.05, -0.1, 0.4, 0.3]) },
    },
  };

  it('charges the short one night at −2 points, on its own line', async () => {
    const params: BacktestParams = { ...BASE_PARAMS, costs: { ...NO_COSTS } };
    const plain = await backtest.run({ model, dataset, candles }, params, testContext());
    const withSwap: BacktestParams = {
      ...params,
      costs: { ...NO_COSTS, swap: { long: -7, short: -2, unit: 'points', triple_day: 'wednesday', day_count: 360 } },
    };
    const r = await backtest.run({ model, dataset, candles }, withSwap, testContext());
    // 1 unit × 2 points × 0.00001 / open[5] = 0.00002 / 1.1025 in return units.
    expect(r.metrics.financing).toBeCloseTo(0.00002 / 1.1025, 15);
    expect(plain.metrics.financing).toBeUndefined();
    expect(r.metrics.total_return).toBeCloseTo(plain.metrics.total_return - 0.00002 / 1.1025, 15);
    // The short trade: 100,000 / 1.1025 EUR × 0.00002 USD a night.
    const k = Array.from(r.trades!.position).indexOf(-1);
    expect(r.trades!.account[k]).toBeCloseTo(plain.trades!.account[k] - 2 / 1.1025, 9);
    expect(r.metrics.costs).toBe(plain.metrics.costs);
    expect(r.notes.some((n) => n.startsWith('Financing:'))).toBe(true);
  });
});
