import type { QualityNote } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { isoUtc } from './frame.js';
import type { RawBars } from './reader.js';
import type { Ohlcv } from './resample.js';
import { parseTimeframe } from './timeframe.js';
import { offsetName, parseZone, type Zone } from './tz.js';

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
| clock | a week's first bar lies wholly before its Sunday 17:00 New York open, or its last bar starts at or after the Friday 17:00 close: the file's clock disagrees with the zone it was read in (intraday bars with weekend gaps only) | warn, error |
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
   * Weeks whose bars fall inside the weekend closure (before the Sunday 17:00 New York open, or from the Friday 17:00 close), i.e. whose clock disagrees with `timezone`: `warn` (report each week with the offset its bars show) or `error`.
   * @default "warn"
   */
  clock: 'warn' | 'error';
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
export function applyQuality(raw: RawBars, policy: QualityPolicy, timeframeMs: number, reuseRaw = false): { bars: CleanBars; notes: QualityNote[] } {
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
      const msg =
        h < l
          ? `high ${h} is below low ${l}`
          : h < o || h < c
            ? `high ${h} is below max(open, close) ${Math.max(o, c)}`
            : `low ${l} is above min(open, close) ${Math.min(o, c)}`;
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

  // The kept rows, in order: gathered into raw's own arrays when the caller gives them up
  // (`reuseRaw`) and no row moves back (final[k] ≥ k: every read is at or after every write so far),
  // else into new ones. Reuse spares a copy of every column (40 MB for two years of M1).
  let inPlace = reuseRaw;
  for (let k = 0; inPlace && k < f; k++) inPlace = final[k] >= k;
  const bars: CleanBars = inPlace
    ? {
        index: t.subarray(0, f),
        open: O.subarray(0, f),
        high: H.subarray(0, f),
        low: L.subarray(0, f),
        close: C.subarray(0, f),
        volume: raw.volume.subarray(0, f),
        line: raw.line.subarray(0, f),
        file: raw.file.subarray(0, f),
      }
    : {
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

  notes.push(...seriesNotes(bars, raw.files, raw.zones, policy, timeframeMs));
  return { bars, notes };
}

/**
 * The notes on the clean series as a whole (gaps, the week clock), or the error their policy asks
 * for. Separate from the row checks so a series that gained bars (src/data/follow.ts) reruns only
 * these over the whole series: they depend on its end.
 */
export function seriesNotes(
  bars: CleanBars,
  files: readonly string[],
  zones: readonly (Zone | null)[] | undefined,
  policy: QualityPolicy,
  timeframeMs: number,
  found?: { gaps: Gaps; clock: ClockWeek[] },
): QualityNote[] {
  const notes: QualityNote[] = [];
  // Gaps (`found`: what a series that gained bars already knows, src/data/follow.ts).
  const gaps = found?.gaps ?? findGaps(bars.index, timeframeMs, policy.maxGapMs);
  if (gaps.count) {
    const g = gaps.first;
    const desc = `${isoUtc(bars.index[g])} → ${isoUtc(bars.index[g + 1])} UTC (${hours(gaps.firstMissing)} of market time missing)`;
    if (policy.gaps === 'error') {
      const file = files[bars.file[g + 1]];
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
      detail: `first ${desc} at ${files[bars.file[g + 1]]}:${bars.line[g + 1]}; longest ${isoUtc(bars.index[lg])} → ${isoUtc(bars.index[lg + 1])} UTC (${hours(gaps.longestMissing)})`,
    });
  }
  const clock = found?.clock ?? (zones && timeframeMs < DAY ? clockWeeks(bars, timeframeMs, zones) : []);
  if (clock.length) {
    const w = clock[0];
    if (policy.clock === 'error') {
      const file = files[bars.file[w.bar]];
      throw new RunError(`${file}:${bars.line[w.bar]}: ${describeWeek(w)}`, {
        hint: 'set `timezone:` to the clock the file really uses (e.g. UTC-5), or `quality: { clock: warn }` to keep the bars and be told',
        loc: { file, line: bars.line[w.bar], col: 1 },
      });
    }
    // Weeks with the same finding (side, hours, offsets) share one entry: a zone wrong for a whole
    // season would otherwise repeat the same sentence thirty times.
    const groups = new Map<string, ClockWeek[]>();
    for (const c of clock) {
      const key = describeWeek(c, 2, []);
      const g = groups.get(key);
      if (g) g.push(c);
      else groups.set(key, [c]);
    }
    const parts = [...groups.values()].map(
      (g) =>
        `${describeWeek(
          g[0],
          g.length,
          g.map((c) => c.week),
        )} (first at ${files[bars.file[g[0].bar]]}:${bars.line[g[0].bar]})`,
    );
    notes.push({ kind: 'clock', count: clock.length, action: 'keep', detail: parts.join('; ') });
  }
  return notes;
}

/** A week whose clock disagrees with the zone its bars were read in. */
export interface ClockWeek {
  /** The Sunday (New York) the week opens, `YYYY-MM-DD`. */
  week: string;
  /** The bar that lies in the weekend closure (index into the clean bars). */
  bar: number;
  /** `open`: the week's first bar is before the Sunday open; `close`: its last bar is at or after the Friday close. */
  side: 'open' | 'close';
  /** Whole hours the bars sit outside the session (≥ 1). */
  hours: number;
  /** The zone the bar's file was read in (null: the file's own offsets). */
  zone: Zone | null;
  /** That zone's offset (wall − UTC, ms) at the bar, and the offset the week's bars show. */
  declaredMs: number;
  seenMs: number;
}

/** The finding of `n` weeks like `w` (the dates listed: up to 10, then a count). */
function describeWeek(w: ClockWeek, n = 1, weeks: string[] = [w.week]): string {
  const one = n === 1;
  const where =
    w.side === 'open' ? `open${one ? 's' : ''} before the Sunday 17:00 New York open` : `trade${one ? 's' : ''} past the Friday 17:00 New York close`;
  const dates = weeks.length > 10 ? `${weeks.slice(0, 10).join(', ')} and ${weeks.length - 10} more` : weeks.join(', ');
  const head = `${one ? 'week' : `${n} weeks`} of ${dates} ${where} (${w.hours} h ${w.side === 'open' ? 'early' : 'late'}`;
  if (w.zone === null) return `${head}; the file's own offsets)`;
  const declared = w.zone.fixedOffsetMs !== undefined ? offsetName(w.declaredMs) : `${w.zone.name}'s ${offsetName(w.declaredMs)}`;
  return `${head}): ${one ? 'its' : 'their'} clock reads ${offsetName(w.seenMs)}, not ${declared}`;
}

/**
 * Weeks whose bars fall wholly inside the FX weekend closure (Friday 17:00 → Sunday 17:00 New
 * York): a week's first bar ending at or before its Sunday open, or its last bar starting at or
 * after its Friday close. Feeds start late and stop early (no ticks, outages), which says nothing
 * about the clock; no feed trades while the market is shut, so a bar there means the clock it was
 * read in is off by at least that much. Only week boundaries with a gap of a day or more are
 * looked at (and the series' ends): a file with bars all weekend (fillers, 24/7 data) says nothing
 * about its clock. The offset seen assumes the bars at the edge sit at the open (or close).
 */
export function clockWeeks(bars: CleanBars, timeframeMs: number, zones: readonly (Zone | null)[]): ClockWeek[] {
  const idx = bars.index;
  const n = idx.length;
  const out = new Map<string, ClockWeek>();
  const flag = (i: number, side: 'open' | 'close', c: Closure) => {
    const shift = side === 'open' ? c.open - idx[i] : idx[i] + timeframeMs - c.close;
    const h = Math.ceil(shift / HOUR);
    const zone = zones[bars.file[i]] ?? null;
    const declaredMs = zone ? zone.offsetAt(idx[i]) : 0;
    // The week a closure closes is the one opened 5 days before its Friday close.
    const week = sundayOf(side === 'open' ? c.open : c.close - 5 * DAY);
    if (out.has(week)) return;
    out.set(week, { week, bar: i, side, hours: h, zone, declaredMs, seenMs: declaredMs + (side === 'open' ? -h : h) * HOUR });
  };
  for (let i = 0; i < n; i++) {
    // First bar of a week: after the series' start or a gap of a day or more.
    if (i === 0 || idx[i] - (idx[i - 1] + timeframeMs) >= DAY) {
      const c = closureNear(idx[i]);
      if (idx[i] >= c.mid && idx[i] + timeframeMs <= c.open) flag(i, 'open', c);
    }
    // Last bar of a week.
    if (i === n - 1 || idx[i + 1] - (idx[i] + timeframeMs) >= DAY) {
      const c = closureNear(idx[i]);
      if (idx[i] >= c.close && idx[i] < c.mid) flag(i, 'close', c);
    }
  }
  return [...out.values()].sort((a, b) => (a.week < b.week ? -1 : a.week > b.week ? 1 : 0));
}

const HOUR = 3_600_000;

interface Closure {
  /** Friday 17:00 New York (UTC ms). */
  close: number;
  /** Saturday 17:00 New York (UTC ms): bars after it belong to the next week. */
  mid: number;
  /** Sunday 17:00 New York (UTC ms). */
  open: number;
}

/** The weekend closure whose middle (Saturday 17:00 New York) is nearest to a UTC instant. */
function closureNear(t: number): Closure {
  NY ??= parseZone('America/New_York');
  const wall = t + NY.offsetAt(t);
  const day = Math.floor(wall / DAY);
  // 1970-01-03 (epoch day 2) was a Saturday.
  const dow = (((day - 2) % 7) + 7) % 7;
  let sat = (day - dow) * DAY + 17 * HOUR;
  if (wall - sat > 3.5 * DAY) sat += 7 * DAY;
  return { close: NY.toUtc(sat - DAY), mid: NY.toUtc(sat), open: NY.toUtc(sat + DAY) };
}

/** The New York date (`YYYY-MM-DD`) of a UTC instant. */
function sundayOf(t: number): string {
  NY ??= parseZone('America/New_York');
  return new Date(t + NY.offsetAt(t)).toISOString().slice(0, 10);
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
export interface Gaps {
  count: number;
  /** Bar before the first gap (−1: none), and the market time it misses. */
  first: number;
  firstMissing: number;
  /** Bar before the longest gap (the first of equals), and the time it misses. */
  longest: number;
  longestMissing: number;
}

export function findGaps(index: Float64Array, timeframeMs: number, maxGapMs: number): Gaps {
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
      // The left run's rows up to the right run's first time come first as they are (ties take the
      // left run first, which keeps file order): found by bisection, copied in one go. A DST repeat
      // or an overlap of files interleaves a few rows, not the whole runs.
      let i = a0;
      if (a1 < b1) {
        const first = t[src[a1]];
        let hi = a1;
        while (i < hi) {
          const mid = (i + hi) >>> 1;
          if (t[src[mid]] <= first) i = mid + 1;
          else hi = mid;
        }
      }
      dst.set(src.subarray(a0, i), a0);
      let j = a1;
      let o = i;
      while (i < a1 && j < b1) dst[o++] = t[src[j]] < t[src[i]] ? src[j++] : src[i++];
      dst.set(src.subarray(i, a1), o);
      o += a1 - i;
      dst.set(src.subarray(j, b1), o);
      next.push(b1);
    }
    if (next[next.length - 1] !== m) next.push(m);
    [src, dst] = [dst, src];
    runs = next;
  }
  return src;
}
