import type { QualityNote } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { isoUtc } from './frame.js';
import type { RawBars } from './reader.js';
import type { Ohlcv } from './resample.js';
import { parseTimeframe } from './timeframe.js';
import { parseZone, type Zone } from './tz.js';

/**
 * Data-quality checks and repairs of a series of bars (UTC, file order), each kind with a policy:
 *
 * | kind | found when | actions (default first) |
 * |---|---|---|
 * | zero_rows | every price is 0 or missing | drop, error, warn (keep) |
 * | nonpositive | some price ≤ 0 or missing, not all | error, drop, warn (keep) |
 * | ohlc | high < max(open, close), low > min(open, close) or high < low | error, drop, warn (keep) |
 * | backwards | a timestamp earlier than the one before it | sort, drop, error |
 * | duplicates | a timestamp equal to the one before it (after sorting) | keep-last, drop (keep the first), error |
 * | gaps | market time missing between bars beyond `max_gap`, the weekend closure (Friday 17:00 → Sunday 17:00 New York) excluded | warn, error |
 *
 * `warn` keeps the rows and reports them; every kind found is reported as a QualityNote with its
 * count, the action taken and the first occurrence (file and line). `error` stops the fetch with
 * a RunError naming the file, line and value.
 */

/** Data-quality policy, per kind of defect. */
export interface QualityParams {
  /**
   * Rows whose prices are all zero or missing (placeholder bars): `drop`, `error`, or `warn` (keep them).
   * @default "drop"
   */
  zero_rows: 'drop' | 'error' | 'warn';
  /**
   * Rows with a zero, negative or missing price among real ones: `error`, `drop`, or `warn` (keep).
   * @default "error"
   */
  nonpositive: 'error' | 'drop' | 'warn';
  /**
   * Bars violating high >= max(open, close), low <= min(open, close): `error`, `drop`, or `warn` (keep).
   * @default "error"
   */
  ohlc: 'error' | 'drop' | 'warn';
  /**
   * Timestamps earlier than the previous row's: `sort` (reorder all rows by time), `drop` (drop the late rows), or `error`.
   * @default "sort"
   */
  backwards: 'sort' | 'drop' | 'error';
  /**
   * Repeated timestamps: `keep-last`, `drop` (keep the first), or `error`.
   * @default "keep-last"
   */
  duplicates: 'keep-last' | 'drop' | 'error';
  /**
   * Missing market time between bars beyond `max_gap` (the Friday 17:00 → Sunday 17:00 New York weekend excluded): `warn` or `error`.
   * @default "warn"
   */
  gaps: 'warn' | 'error';
  /**
   * Shortest missing market time reported as a gap (at least one bar), same form as a timeframe.
   * @default "1h"
   * @pattern ^[1-9][0-9]*(ms|s|m|h|d|w)$
   */
  max_gap: string;
}

/** The policy as the checks use it: the actions, and the gap threshold in milliseconds. */
export type QualityPolicy = Omit<QualityParams, 'max_gap'> & {
  /** Missing market time (ms) beyond which a gap is reported; the bar length at least. */
  maxGapMs: number;
};

/** The `quality:` params of a fetch step as a policy. */
export function policyOf(q: QualityParams): QualityPolicy {
  const { max_gap, ...actions } = q;
  return { ...actions, maxGapMs: parseTimeframe(max_gap).ms };
}

/** A clean series: strictly increasing UTC index and OHLCV columns. */
export interface CleanBars extends Ohlcv {
  /** Kept for messages: line and file of each bar. */
  line: Int32Array;
  file: Uint16Array;
}

function where(raw: RawBars, i: number): string {
  return `${raw.files[raw.file[i]]}:${raw.line[i]}`;
}

function fail(raw: RawBars, i: number, message: string, hint: string): never {
  const file = raw.files[raw.file[i]];
  throw new RunError(`${file}:${raw.line[i]}: ${message}`, { hint, loc: { file, line: raw.line[i], col: 1 } });
}

const POLICY_HINT = (kind: string, alts: string) => `set \`quality: { ${kind}: ${alts} }\` to repair instead of stopping, or fix the file`;

function fmtRow(raw: RawBars, i: number): string {
  return `open ${raw.open[i]}, high ${raw.high[i]}, low ${raw.low[i]}, close ${raw.close[i]}`;
}

/**
 * Applies the policy to raw bars (timestamps already UTC). Returns the clean series and a note per
 * kind found. `timeframeMs` is the bar length, for gap detection.
 */
export function applyQuality(raw: RawBars, policy: QualityPolicy, timeframeMs: number): { bars: CleanBars; notes: QualityNote[] } {
  const n = raw.n;
  const notes: QualityNote[] = [];
  const { t, open: O, high: H, low: L, close: C } = raw;
  const keep = new Uint8Array(n);
  let zero = 0;
  let zeroFirst = -1;
  let nonpos = 0;
  let nonposFirst = -1;
  let ohlc = 0;
  let ohlcFirst = -1;
  for (let i = 0; i < n; i++) {
    const o = O[i];
    const h = H[i];
    const l = L[i];
    const c = C[i];
    // Fast path: all four positive and consistent.
    if (o > 0 && h > 0 && l > 0 && c > 0 && h >= o && h >= c && l <= o && l <= c && h !== Infinity) {
      keep[i] = 1;
      continue;
    }
    const isZero = (o === 0 || o !== o) && (h === 0 || h !== h) && (l === 0 || l !== l) && (c === 0 || c !== c);
    if (isZero) {
      zero++;
      if (zeroFirst < 0) zeroFirst = i;
      if (policy.zero_rows === 'error') fail(raw, i, `a row of zero or missing prices (${fmtRow(raw, i)})`, POLICY_HINT('zero_rows', 'drop'));
      keep[i] = policy.zero_rows === 'warn' ? 1 : 0;
      continue;
    }
    if (!(o > 0 && h > 0 && l > 0 && c > 0) || !Number.isFinite(o + h + l + c)) {
      nonpos++;
      if (nonposFirst < 0) nonposFirst = i;
      if (policy.nonpositive === 'error') {
        const names = ['open', 'high', 'low', 'close'];
        const vals = [o, h, l, c];
        const k = vals.findIndex((v) => !(v > 0) || !Number.isFinite(v));
        fail(raw, i, `${names[k]} ${vals[k]} is not a positive price (${fmtRow(raw, i)})`, POLICY_HINT('nonpositive', 'drop'));
      }
      keep[i] = policy.nonpositive === 'warn' ? 1 : 0;
      continue;
    }
    // OHLC inconsistency.
    ohlc++;
    if (ohlcFirst < 0) ohlcFirst = i;
    if (policy.ohlc === 'error') {
      const msg = h < l ? `high ${h} is below low ${l}` : h < o || h < c ? `high ${h} is below max(open, close) ${Math.max(o, c)}` : `low ${l} is above min(open, close) ${Math.min(o, c)}`;
      fail(raw, i, msg, `a bar must satisfy low <= min(open, close) and high >= max(open, close); ${POLICY_HINT('ohlc', 'drop')}`);
    }
    keep[i] = policy.ohlc === 'warn' ? 1 : 0;
  }
  const act = (p: string) => (p === 'warn' ? 'keep' : p);
  if (zero) notes.push({ kind: 'zero_rows', count: zero, action: act(policy.zero_rows), detail: `first at ${where(raw, zeroFirst)}` });
  if (nonpos) notes.push({ kind: 'nonpositive', count: nonpos, action: act(policy.nonpositive), detail: `first at ${where(raw, nonposFirst)}` });
  if (ohlc) notes.push({ kind: 'ohlc', count: ohlc, action: act(policy.ohlc), detail: `first at ${where(raw, ohlcFirst)} (${fmtRow(raw, ohlcFirst)})` });

  // Kept rows, in file order.
  let m = 0;
  for (let i = 0; i < n; i++) m += keep[i];
  let order: Int32Array = new Int32Array(m);
  for (let i = 0, k = 0; i < n; i++) if (keep[i]) order[k++] = i;

  // Backwards steps.
  let back = 0;
  let backFirst = -1;
  let backPrev = -1;
  for (let k = 1; k < m; k++) {
    if (t[order[k]] < t[order[k - 1]]) {
      back++;
      if (backFirst < 0) {
        backFirst = order[k];
        backPrev = order[k - 1];
      }
    }
  }
  if (back) {
    const desc = `${isoUtc(t[backFirst])} UTC after ${isoUtc(t[backPrev])} UTC at ${where(raw, backPrev)}`;
    if (policy.backwards === 'error') {
      fail(raw, backFirst, `timestamp goes backwards: ${desc}`, `rows must be in time order; ${POLICY_HINT('backwards', 'sort')}`);
    }
    if (policy.backwards === 'sort') {
      order = stableSortByTime(order, t);
    } else {
      // drop: keep only rows later than or equal to everything before them.
      const kept: number[] = [];
      let max = -Infinity;
      for (let k = 0; k < m; k++) {
        const i = order[k];
        if (t[i] >= max) {
          kept.push(i);
          max = t[i];
        }
      }
      order = Int32Array.from(kept);
    }
    notes.push({ kind: 'backwards', count: back, action: policy.backwards, detail: `first at ${where(raw, backFirst)}: ${desc}` });
    m = order.length;
  }

  // Duplicates (runs of equal timestamps).
  let dup = 0;
  let dupFirst = -1;
  const final = new Int32Array(m);
  let f = 0;
  for (let k = 0; k < m; k++) {
    const i = order[k];
    if (f > 0 && t[final[f - 1]] === t[i]) {
      dup++;
      if (dupFirst < 0) dupFirst = i;
      if (policy.duplicates === 'error') {
        fail(raw, i, `duplicate timestamp ${isoUtc(t[i])} UTC (also at ${where(raw, final[f - 1])})`, `${POLICY_HINT('duplicates', 'keep-last')}`);
      }
      if (policy.duplicates === 'keep-last') final[f - 1] = i;
      continue;
    }
    final[f++] = i;
  }
  if (dup) notes.push({ kind: 'duplicates', count: dup, action: policy.duplicates, detail: `first at ${where(raw, dupFirst)} (${isoUtc(t[dupFirst])} UTC)` });

  const bars: CleanBars = {
    index: new Float64Array(f),
    open: new Float64Array(f),
    high: new Float64Array(f),
    low: new Float64Array(f),
    close: new Float64Array(f),
    volume: new Float64Array(f),
    line: new Int32Array(f),
    file: new Uint16Array(f),
  };
  for (let k = 0; k < f; k++) {
    const i = final[k];
    bars.index[k] = t[i];
    bars.open[k] = O[i];
    bars.high[k] = H[i];
    bars.low[k] = L[i];
    bars.close[k] = C[i];
    bars.volume[k] = raw.volume[i];
    bars.line[k] = raw.line[i];
    bars.file[k] = raw.file[i];
  }

  // Gaps.
  const gaps = findGaps(bars.index, timeframeMs, policy.maxGapMs);
  if (gaps.count) {
    const g = gaps.first;
    const desc = `${isoUtc(bars.index[g])} → ${isoUtc(bars.index[g + 1])} UTC (${hours(gaps.firstMissing)} of market time missing)`;
    if (policy.gaps === 'error') {
      const file = raw.files[bars.file[g + 1]];
      throw new RunError(`${file}:${bars.line[g + 1]}: gap in the data: ${desc}`, {
        hint: 'set `quality: { gaps: warn }` to accept gaps, or raise `max_gap`',
        loc: { file, line: bars.line[g + 1], col: 1 },
      });
    }
    const lg = gaps.longest;
    notes.push({
      kind: 'gaps',
      count: gaps.count,
      action: 'keep',
      detail: `first ${desc} at ${raw.files[bars.file[g + 1]]}:${bars.line[g + 1]}; longest ${isoUtc(bars.index[lg])} → ${isoUtc(bars.index[lg + 1])} UTC (${hours(gaps.longestMissing)})`,
    });
  }
  return { bars, notes };
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 1 ? `${Number.isInteger(h) ? h : h.toFixed(1)} h` : `${Math.round(ms / 60_000)} min`;
}

let NY: Zone | undefined;
const DAY = 86_400_000;

/**
 * Milliseconds of the weekend closure (Friday 17:00 → Sunday 17:00, New York time) inside the
 * UTC interval [a, b).
 */
export function weekendOverlap(a: number, b: number): number {
  NY ??= parseZone('America/New_York');
  // Fridays from the one before `a` through `b`. 1970-01-02 was a Friday (epoch day 1).
  const day0 = Math.floor((a - 7 * DAY) / DAY);
  let fri = day0 + ((((1 - day0) % 7) + 7) % 7);
  let total = 0;
  for (; fri * DAY < b + DAY; fri += 7) {
    const ws = NY.toUtc(fri * DAY + 17 * 3_600_000);
    const we = NY.toUtc((fri + 2) * DAY + 17 * 3_600_000);
    const lo = Math.max(a, ws);
    const hi = Math.min(b, we);
    if (hi > lo) total += hi - lo;
  }
  return total;
}

/**
 * Gaps between consecutive bars: the time from the end of bar i to the open of bar i+1, less the
 * weekend closure, when it reaches max(maxGapMs, timeframeMs).
 */
export function findGaps(index: Float64Array, timeframeMs: number, maxGapMs: number): { count: number; first: number; firstMissing: number; longest: number; longestMissing: number } {
  const thr = Math.max(maxGapMs, timeframeMs);
  let count = 0;
  let first = -1;
  let firstMissing = 0;
  let longest = -1;
  let longestMissing = 0;
  for (let i = 0; i + 1 < index.length; i++) {
    const a = index[i] + timeframeMs;
    const b = index[i + 1];
    if (b - a < thr) continue;
    const missing = b - a - weekendOverlap(a, b);
    if (missing < thr) continue;
    count++;
    if (first < 0) {
      first = i;
      firstMissing = missing;
    }
    if (missing > longestMissing) {
      longest = i;
      longestMissing = missing;
    }
  }
  return { count, first, firstMissing, longest, longestMissing };
}

/**
 * Stable sort of row indices by time: a natural merge sort, linear for the usual case of a few
 * out-of-order stretches (a DST repeat, overlapping files), O(n log runs) in general.
 */
export function stableSortByTime(order: Int32Array, t: Float64Array): Int32Array {
  const m = order.length;
  // Run boundaries: maximal non-decreasing stretches.
  const bounds: number[] = [0];
  for (let k = 1; k < m; k++) if (t[order[k]] < t[order[k - 1]]) bounds.push(k);
  bounds.push(m);
  let src = order.slice();
  let dst = new Int32Array(m);
  let runs = bounds;
  while (runs.length > 2) {
    const next: number[] = [0];
    for (let r = 0; r + 1 < runs.length; r += 2) {
      const a0 = runs[r];
      const a1 = runs[r + 1];
      const b1 = r + 2 < runs.length ? runs[r + 2] : a1;
      let i = a0;
      let j = a1;
      let o = a0;
      // Ties take the left run first, which keeps file order.
      while (i < a1 && j < b1) dst[o++] = t[src[j]] < t[src[i]] ? src[j++] : src[i++];
      while (i < a1) dst[o++] = src[i++];
      while (j < b1) dst[o++] = src[j++];
      next.push(b1);
    }
    if (next[next.length - 1] !== m) next.push(m);
    [src, dst] = [dst, src];
    runs = next;
  }
  return src;
}
