import type { Candles } from '../../src/core/artifacts.js';
import type { BacktestParams } from '../../src/steps/backtest/params.js';

/** The hand-worked backtest examples' shared fixtures: ten hourly EURUSD bars and base params. */

export const H = 3_600_000;
export const T0 = Date.UTC(2023, 4, 1);
export const OPEN = [1.1, 1.101, 1.1005, 1.102, 1.103, 1.1025, 1.104, 1.1035, 1.105, 1.1045];
export const NO_COSTS = { spread_pips: 0, commission_per_million: 0, commission_per_lot: 0, slippage_pips: 0 };
/** Threshold 0.1 on bar holding, fixed 1 unit, a 2-pip spread, a 100k account, test segment. */
export const BASE_PARAMS: BacktestParams = {
  rule: 'threshold',
  entry_threshold: 0.1,
  quantile: 0.2,
  probability: 0.6,
  band: 0.1,
  holding: 'bar',
  segments: ['test'],
  sizing: { fixed: { units: 1 } },
  costs: { ...NO_COSTS, spread_pips: 2 },
  account_size: 100_000,
};

/** Hourly candles with the given opens (high/low ±10 pips, close = open + closeShift) and extra columns. */
export function candles(open: number[] = OPEN, opts: { closeShift?: number; extra?: Record<string, number[]> } = {}): Candles {
  const n = open.length;
  const shift = opts.closeShift ?? 0;
  return {
    type: 'Candles',
    symbol: 'EURUSD',
    timeframe: '1h',
    source: 'test',
    pip: 0.0001,
    quality: [],
    index: Float64Array.from({ length: n }, (_, i) => T0 + i * H),
    columns: {
      open: Float64Array.from(open),
      high: Float64Array.from(open, (o) => o + 0.001),
      low: Float64Array.from(open, (o) => o - 0.001),
      close: Float64Array.from(open, (o) => o + shift),
      volume: new Float64Array(n),
      ...Object.fromEntries(Object.entries(opts.extra ?? {}).map(([k, v]) => [k, Float64Array.from(v)])),
    },
  } as Candles;
}
