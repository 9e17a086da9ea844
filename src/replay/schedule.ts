import { bucketFn } from '../data/resample.js';

/**
 * When a replay retrains on its schedule: every N bars (rows of the replayed data), or every N FX
 * days or weeks. The FX day and week turn at 17:00 New York time (daylight saving honoured; the week
 * opens Sunday 17:00), the boundaries `resample` uses for D1 and W1 bars, so "weekly" means the first
 * bar of each trading week whatever the data's gaps.
 */
export type Every = { bars: number } | { days: number } | { weeks: number };

const DAY = 86_400_000;
const WEEK = 7 * DAY;

/** `500 bars`, `1 bar`, `2d`, `1w` (case and spaces free); undefined if it is none of them. */
export function parseEvery(s: string): Every | undefined {
  const m = /^\s*([1-9]\d*)\s*(bars?|d|w)\s*$/i.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  const u = m[2].toLowerCase();
  return u === 'w' ? { weeks: n } : u === 'd' ? { days: n } : { bars: n };
}

/** `every` in words: "every 500 bars", "every FX week", "every 2 FX days". */
export function describeEvery(e: Every): string {
  if ('bars' in e) return `every ${e.bars} bar${e.bars === 1 ? '' : 's'}`;
  const [n, unit] = 'weeks' in e ? [e.weeks, 'week'] : [e.days, 'day'];
  return n === 1 ? `every FX ${unit}` : `every ${n} FX ${unit}s`;
}

/**
 * The rows ≥ t0 at which the schedule retrains, ascending, t0 first (the first model is fitted
 * there). Bars: t0 + j·N. Days or weeks: the first row of every N-th FX day (week) after t0's,
 * counted from t0's; a period without rows (a holiday) is skipped, the count is by the calendar.
 */
export function scheduleRows(index: ArrayLike<number>, t0: number, every: Every): number[] {
  const n = index.length;
  const out: number[] = [];
  if (t0 >= n) return out;
  if ('bars' in every) {
    for (let t = t0; t < n; t += every.bars) out.push(t);
    return out;
  }
  const [len, step] = 'weeks' in every ? [WEEK, every.weeks] : [DAY, every.days];
  const bucket = bucketFn(len, 'ny17');
  const first = bucket(index[t0]);
  let last = first;
  out.push(t0);
  for (let t = t0 + 1; t < n; t++) {
    const b = bucket(index[t]);
    if (b === last) continue;
    last = b;
    // Periods since t0's, rounded: a daylight-saving change moves a boundary by an hour.
    if (Math.round((b - first) / len) % step === 0) out.push(t);
  }
  return out;
}
