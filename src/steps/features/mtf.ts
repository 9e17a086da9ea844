/**
 * Multi-timeframe features without look-ahead. An indicator on a higher timeframe is computed on
 * candles resampled with src/data/resample.ts (intraday buckets on UTC, days and weeks on the FX
 * 17:00 New York close), and joined to each base bar as the value of the last higher-timeframe bar
 * that had CLOSED by the base bar's close: bar j (open B_j) closes at the start of the next bucket,
 * base bar i closes at index[i] + base length, and we take the last j with close_j ≤ that. A
 * higher-timeframe bar still forming is never used, so no base bar sees a price after its close.
 */
import type { Candles } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { bucketFn, resample, resampleProblem } from '../../data/resample.js';
import { formatTimeframe } from '../../data/timeframe.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface HigherFrame {
  /** OHLCV columns of the higher-timeframe bars. */
  columns: Record<string, Float64Array>;
  /** For each base bar, the index of the last closed higher-timeframe bar, or −1. */
  map: Int32Array;
}

/** Resamples the candles to `targetMs` and maps every base bar to its last closed higher bar. */
export function higherFrame(candles: Candles, baseMs: number, targetMs: number): HigherFrame {
  const problem = resampleProblem(targetMs, baseMs);
  if (problem) {
    throw new RunError(`indicator timeframe ${formatTimeframe(targetMs)}: ${problem}`, {
      hint: `the candles are ${formatTimeframe(baseMs)}; use a multiple of it that divides a day (e.g. 15m, 1h, 4h), 1d or 1w`,
    });
  }
  const c = candles.columns;
  const volume = c.volume ?? new Float64Array(candles.index.length);
  const r = resample({ index: candles.index, open: c.open, high: c.high, low: c.low, close: c.close, volume }, targetMs, 'ny17');
  const m = r.index.length;
  const bucket = bucketFn(targetMs, 'ny17');
  const closeAt = new Float64Array(m);
  for (let j = 0; j < m; j++) closeAt[j] = targetMs < DAY ? r.index[j] + targetMs : bucket(r.index[j] + targetMs + 3 * HOUR);
  const n = candles.index.length;
  const map = new Int32Array(n);
  let j = -1;
  for (let i = 0; i < n; i++) {
    const baseClose = candles.index[i] + baseMs;
    while (j + 1 < m && closeAt[j + 1] <= baseClose) j++;
    map[i] = j;
  }
  return { columns: { open: r.open, high: r.high, low: r.low, close: r.close, volume: r.volume }, map };
}

/** A higher-timeframe column spread onto the base bars through `map` (NaN before the first closed bar). */
export function joinToBase(values: Float64Array, map: Int32Array): Float64Array {
  // One pass writing every value (no NaN fill first): the map is −1 only before the first closed bar.
  const out = new Float64Array(map.length);
  for (let i = 0; i < map.length; i++) {
    const j = map[i];
    out[i] = j >= 0 ? values[j] : NaN;
  }
  return out;
}
