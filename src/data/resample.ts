import { RunError } from '../core/diagnostics.js';
import { formatTimeframe } from './timeframe.js';
import { parseZone, type Zone } from './tz.js';

/**
 * Resampling OHLCV bars to a longer bar: open = first open, high = max, low = min, close = last
 * close, volume = sum. A bar is labelled by its open time (UTC) and holds the source bars whose
 * open times fall in [open, open + length). Periods without source bars produce no bar (weekends,
 * holidays).
 *
 * Alignment: bars shorter than a day align on UTC midnight (a 4h bar opens at 00, 04, 08… UTC) and
 * must divide the day. Daily and weekly bars follow `dayClose`: `ny17` (the FX convention) makes a
 * day run from 17:00 to 17:00 New York time — the bar of trading day D opens at 17:00 New York on
 * D−1, i.e. 22:00 UTC in winter and 21:00 UTC in summer — and a week open at Sunday 17:00 New York;
 * `utc` makes days start at UTC midnight and weeks on Sunday 00:00 UTC.
 */

export type DayClose = 'ny17' | 'utc';

export interface Ohlcv {
  index: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;

/** Why a resample target is not supported, or undefined when it is. */
export function resampleProblem(targetMs: number, sourceMs: number): string | undefined {
  if (targetMs <= sourceMs) return `resample target ${formatTimeframe(targetMs)} is not longer than the timeframe ${formatTimeframe(sourceMs)}`;
  if (targetMs % sourceMs !== 0) return `resample target ${formatTimeframe(targetMs)} is not a whole number of ${formatTimeframe(sourceMs)} bars`;
  if (targetMs < DAY && DAY % targetMs !== 0) return `resample target ${formatTimeframe(targetMs)} does not divide a day`;
  if (targetMs > DAY && targetMs !== WEEK) return `resample target ${formatTimeframe(targetMs)} is not supported (above a day only 1w)`;
  return undefined;
}

/** Open time (UTC ms) of the bar that holds time `t`, for a given target. */
export function bucketFn(targetMs: number, dayClose: DayClose): (t: number) => number {
  if (targetMs < DAY) return (t) => Math.floor(t / targetMs) * targetMs;
  if (dayClose === 'utc') {
    if (targetMs === DAY) return (t) => Math.floor(t / DAY) * DAY;
    // Weeks from Sunday 00:00 UTC; 1970-01-04 was a Sunday.
    return (t) => Math.floor((t - 3 * DAY) / WEEK) * WEEK + 3 * DAY;
  }
  const ny: Zone = parseZone('America/New_York');
  // Cached per UTC hour: every time in an hour has the same bucket (boundaries are on the hour).
  let lastKey = NaN;
  let lastVal = 0;
  return (t) => {
    const key = Math.floor(t / HOUR);
    if (key === lastKey) return lastVal;
    const hourStart = key * HOUR;
    const wall = hourStart + ny.offsetAt(hourStart);
    let startWall: number;
    if (targetMs === DAY) startWall = Math.floor((wall - 17 * HOUR) / DAY) * DAY + 17 * HOUR;
    // Weeks from Sunday 17:00 wall time.
    else startWall = Math.floor((wall - 3 * DAY - 17 * HOUR) / WEEK) * WEEK + 3 * DAY + 17 * HOUR;
    lastKey = key;
    lastVal = ny.toUtc(startWall);
    return lastVal;
  };
}

/** Resamples a UTC, strictly increasing series; see the module comment. */
export function resample(src: Ohlcv, targetMs: number, dayClose: DayClose): Ohlcv {
  const n = src.index.length;
  const bucket = bucketFn(targetMs, dayClose);
  // Room for every bar: at most one per source bar, and below a day at most one per period of the
  // span (5m from M1: a fifth of the rows, not all of them).
  // (Out-of-order input, refused below, may make the span negative: then n.)
  const span = n > 0 ? (bucket(src.index[n - 1]) - bucket(src.index[0])) / targetMs + 1 : 0;
  const cap = targetMs < DAY && span >= 1 ? Math.min(n, span) : n;
  const idx = new Float64Array(cap);
  const o = new Float64Array(cap);
  const h = new Float64Array(cap);
  const l = new Float64Array(cap);
  const c = new Float64Array(cap);
  const v = new Float64Array(cap);
  let m = -1;
  let cur = NaN;
  for (let i = 0; i < n; i++) {
    const b = bucket(src.index[i]);
    if (b !== cur) {
      if (b < cur) throw new RunError('resample needs bars in time order', { hint: 'this is a bug: quality checks sort the bars first' });
      m++;
      cur = b;
      idx[m] = b;
      o[m] = src.open[i];
      h[m] = src.high[i];
      l[m] = src.low[i];
      c[m] = src.close[i];
      v[m] = src.volume[i];
      continue;
    }
    if (src.high[i] > h[m]) h[m] = src.high[i];
    if (src.low[i] < l[m]) l[m] = src.low[i];
    c[m] = src.close[i];
    v[m] += src.volume[i];
  }
  const k = m + 1;
  return { index: idx.slice(0, k), open: o.slice(0, k), high: h.slice(0, k), low: l.slice(0, k), close: c.slice(0, k), volume: v.slice(0, k) };
}
