import type { Candles } from '../../src/core/artifacts.js';
import * as R from '../indicators/reference.js';

/** `n` hourly EURUSD bars from 2021-01-04 (seed 11); `volume`, when given, replaces the volumes. */
export function hourly(n: number, volume?: (i: number) => number): Candles {
  const c = R.randomCandles(n, 11, 1.1, 0.0008);
  const index = new Float64Array(n);
  for (let i = 0; i < n; i++) index[i] = Date.UTC(2021, 0, 4) + i * 3_600_000;
  const v = volume ? c.volume.map((_, i) => volume(i)) : c.volume;
  return {
    type: 'Candles',
    symbol: 'EURUSD',
    timeframe: '1h',
    source: 'test',
    pip: 0.0001,
    quality: [],
    index,
    columns: {
      open: Float64Array.from(c.open),
      high: Float64Array.from(c.high),
      low: Float64Array.from(c.low),
      close: Float64Array.from(c.close),
      volume: Float64Array.from(v),
    },
  };
}
