/**
 * Following a CSV file that grows at its end (a feed appending bars): the first read is the
 * ordinary one (readParts → quality); each later read parses only the bytes after what was
 * consumed, once the old bytes are found unchanged, and extends the clean bars. The result equals
 * reading the whole file afresh, bit for bit (test/data/follow.test.ts), or the follower says it
 * cannot extend (`restart`) and the caller reads the file afresh.
 *
 * - Only complete lines are consumed: a last line still being written (no newline yet) waits.
 * - The consumed bytes are kept and compared byte for byte with the file's prefix (a memcmp, a few
 *   ms for two years of M1); any difference, or a shorter file, is a restart.
 * - Appended bars must come after the last bar: an earlier one is an error naming its line (a
 *   feed writing out of order is broken, and sorting it in would rewrite bars already used); one
 *   at the same instant replaces it (`duplicates:`), which is a restart.
 * - Row checks (zero, non-positive, OHLC rows) run on the new rows and their counts add up; the
 *   series checks (gaps, week clock) rerun over the whole series, since they depend on its end.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import type { QualityNote } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { isoUtc } from './frame.js';
import { checkTimestamps, readParts, type LoadOptions } from './load.js';
import { applyQuality, clockWeeks, findGaps, seriesNotes, type CleanBars, type ClockWeek, type Gaps } from './quality.js';
import { emptyRaw, layoutFor, parseInto, rowBound, type Layout, type RawBars } from './reader.js';
import { convertToUtc, type Zone } from './tz.js';

/** The row checks' kinds, whose counts add up over appended rows (applyQuality's order). */
const ROW_KINDS = ['zero_rows', 'nonpositive', 'ohlc', 'backwards', 'duplicates'];

/**
 * How the old bytes are checked on each update: `full` compares every one (the file is read whole:
 * a few ms per 10 MB); `ends` compares the first and the last 64 KiB of them and the file's
 * identity (device and inode: a file replaced by a rename is new), reading only those and the new
 * bytes, so an update costs the same whatever the file's size, but an edit in the middle of the
 * old bytes that keeps the length goes unnoticed. `full` is the default.
 */
export type VerifyMode = 'full' | 'ends';

const EDGE = 64 * 1024;
const DAY = 86_400_000;

export interface FollowUpdate {
  /** `same`: no new complete line; `appended`: `added` bars at the end; `restart`: read afresh. */
  status: 'same' | 'appended' | 'restart';
  added: number;
  /** Why a restart (for the log). */
  why?: string;
}

/** Float64 storage that grows by doubling; views of its first n values are handed out. */
class Grow {
  buf: Float64Array;
  constructor(init: Float64Array) {
    this.buf = new Float64Array(Math.max(16, init.length * 2));
    this.buf.set(init);
  }
  /** Room for n values; a new buffer when needed (views handed out before keep the old one, intact). */
  ensure(n: number, used: number): void {
    if (n <= this.buf.length) return;
    const b = new Float64Array(Math.max(n, this.buf.length * 2));
    b.set(this.buf.subarray(0, used));
    this.buf = b;
  }
}

/**
 * Clean bars extended by raw rows appended after the last one: the quality policy's row checks run
 * on the new rows and their counts add up, the series checks (gaps, week clock) are extended from
 * the old series' last week. Shared by the CSV file's follower below and the PostgreSQL table's
 * (src/steps/fetch/follow.ts). `bars` views its storage: appending writes only past the bars handed
 * out before, so an earlier result stays as it was.
 */
export class SeriesFollower {
  private readonly policy: LoadOptions['policy'];
  private readonly timeframeMs: number;
  private readonly files: string[];
  private readonly zone: Zone | null;
  private n = 0;
  private cols!: { index: Grow; open: Grow; high: Grow; low: Grow; close: Grow; volume: Grow };
  private line!: Int32Array;
  private fileOf!: Uint16Array;
  private rowNotes: QualityNote[] = [];
  private gaps!: Gaps;
  private clock: ClockWeek[] = [];
  notes: QualityNote[] = [];

  /** The first read: `raw` (one source, its zone in `raw.zones[0]`, in UTC) through the quality policy, as a run does. */
  constructor(raw: RawBars, opts: Pick<LoadOptions, 'policy' | 'timeframeMs'>) {
    this.policy = opts.policy;
    this.timeframeMs = opts.timeframeMs;
    this.files = raw.files.slice();
    this.zone = raw.zones?.[0] ?? null;
    checkTimestamps(raw);
    const { bars, notes } = applyQuality(raw, this.policy, this.timeframeMs);
    this.n = bars.index.length;
    this.cols = {
      index: new Grow(bars.index),
      open: new Grow(bars.open),
      high: new Grow(bars.high),
      low: new Grow(bars.low),
      close: new Grow(bars.close),
      volume: new Grow(bars.volume),
    };
    this.line = new Int32Array(Math.max(16, this.n * 2));
    this.line.set(bars.line);
    this.fileOf = new Uint16Array(this.line.length);
    this.notes = notes;
    this.rowNotes = notes.filter((q) => ROW_KINDS.includes(q.kind));
    this.gaps = findGaps(bars.index, this.timeframeMs, this.policy.maxGapMs);
    this.clock = this.clockFrom(0, []);
  }

  /** The clean bars so far (views). */
  get bars(): { index: Float64Array; open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array; volume: Float64Array } {
    const c = this.cols;
    const v = (g: Grow) => g.buf.subarray(0, this.n);
    return { index: v(c.index), open: v(c.open), high: v(c.high), low: v(c.low), close: v(c.close), volume: v(c.volume) };
  }

  get length(): number {
    return this.n;
  }

  private clean(): CleanBars {
    return { ...this.bars, line: this.line.subarray(0, this.n), file: this.fileOf.subarray(0, this.n) };
  }

  /**
   * Appends `raw` (rows after the last bar, in UTC, lines numbered on from the old ones). An
   * earlier row is an error naming its line; a first row at the last bar's own time is `restart`
   * (the `duplicates:` policy would rewrite that bar): the caller reads the source afresh.
   */
  extend(raw: RawBars): { added: number } | { why: string } {
    checkTimestamps(raw);
    const name = this.files[0];
    let prev = this.n > 0 ? this.cols.index.buf[this.n - 1] : -Infinity;
    let prevLine = this.n > 0 ? this.line[this.n - 1] : 0;
    for (let i = 0; i < raw.n; i++) {
      const t = raw.t[i];
      if (t < prev) {
        throw new RunError(
          `${name}:${raw.line[i]}: appended row at ${isoUtc(t)} UTC is earlier than the bar before it (${isoUtc(prev)} UTC, line ${prevLine})`,
          {
            hint: 'rows appended to a followed file must come in time order; fix the writer, or rewrite the file (a change before its end is read afresh)',
            loc: { file: name, line: raw.line[i], col: 1 },
          },
        );
      }
      if (i === 0 && t === prev) return { why: `line ${raw.line[0]} repeats the last bar's time` };
      prev = t;
      prevLine = raw.line[i];
    }
    const { bars, notes } = applyQuality(raw, this.policy, this.timeframeMs);
    const old = this.n;
    this.append(bars);
    this.rowNotes = mergeRowNotes(this.rowNotes, notes);
    this.gaps = this.gapsFrom(old);
    this.clock = this.clockFrom(old, this.clock);
    this.notes = [
      ...this.rowNotes,
      ...seriesNotes(this.clean(), this.files, [this.zone], this.policy, this.timeframeMs, { gaps: this.gaps, clock: this.clock }),
    ];
    return { added: bars.index.length };
  }

  /** The gaps of the whole series from those of its first `old` bars and of the rest (findGaps's order: the first of equals wins). */
  private gapsFrom(old: number): Gaps {
    const from = Math.max(0, old - 1);
    const g = findGaps(this.cols.index.buf.subarray(from, this.n), this.timeframeMs, this.policy.maxGapMs);
    const a = this.gaps;
    const first = a.first >= 0 ? { first: a.first, firstMissing: a.firstMissing } : { first: g.first < 0 ? -1 : g.first + from, firstMissing: g.firstMissing };
    const longest =
      g.longestMissing > a.longestMissing
        ? { longest: g.longest + from, longestMissing: g.longestMissing }
        : { longest: a.longest, longestMissing: a.longestMissing };
    return { count: a.count + g.count, ...first, ...longest };
  }

  /**
   * clockWeeks of the whole series, from the weeks found among its first `old` bars: a bar's
   * finding depends on its neighbours only, so bars before the start of the old last week keep
   * theirs and the rest are looked at again (clockWeeks's order: a week's first finding wins).
   */
  private clockFrom(old: number, known: ClockWeek[]): ClockWeek[] {
    const tf = this.timeframeMs;
    if (tf >= DAY || this.n === 0) return [];
    const idx = this.cols.index.buf;
    let b = Math.max(0, old - 1);
    while (b > 0 && idx[b] - (idx[b - 1] + tf) < DAY) b--;
    const all = this.clean();
    const sub: CleanBars = {
      index: all.index.subarray(b),
      open: all.open.subarray(b),
      high: all.high.subarray(b),
      low: all.low.subarray(b),
      close: all.close.subarray(b),
      volume: all.volume.subarray(b),
      line: all.line.subarray(b),
      file: all.file.subarray(b),
    };
    const out = new Map<string, ClockWeek>();
    for (const w of known) if (w.bar < b) out.set(w.week, w);
    for (const w of clockWeeks(sub, tf, [this.zone])) if (!out.has(w.week)) out.set(w.week, { ...w, bar: w.bar + b });
    return [...out.values()].sort((x, y) => (x.week < y.week ? -1 : x.week > y.week ? 1 : 0));
  }

  private append(b: CleanBars): void {
    const m = b.index.length;
    const n = this.n;
    const c = this.cols;
    for (const [g, src] of [
      [c.index, b.index],
      [c.open, b.open],
      [c.high, b.high],
      [c.low, b.low],
      [c.close, b.close],
      [c.volume, b.volume],
    ] as const) {
      g.ensure(n + m, n);
      g.buf.set(src, n);
    }
    if (n + m > this.line.length) {
      const l = new Int32Array(Math.max(n + m, this.line.length * 2));
      l.set(this.line.subarray(0, n));
      this.line = l;
    }
    this.line.set(b.line, n);
    if (this.fileOf.length < this.line.length) this.fileOf = new Uint16Array(this.line.length);
    this.n = n + m;
  }
}

/** A CSV file read once and then extended as it grows (its bars: a SeriesFollower). */
export class CsvFollower {
  readonly file: string;
  private readonly opts: LoadOptions;
  private readonly verify: VerifyMode;
  private layout!: Layout;
  private zone!: Zone | null;
  /** Bytes read so far (complete lines); `full` keeps them all, `ends` its first and last EDGE. */
  size = 0;
  private consumed: Buffer | null = null;
  private head!: Buffer;
  private tailEdge!: Buffer;
  private ino = 0;
  private dev = 0;
  private lines = 0;
  private series!: SeriesFollower;
  /** What the first read detected (format, rows, clock), for the log. */
  detected: string[] = [];

  /**
   * Reads `file` (a plain CSV) with `opts`; range and resampling options are not supported (they
   * depend on the series' end).
   */
  constructor(file: string, opts: LoadOptions, verify: VerifyMode = 'full') {
    if (opts.from !== undefined || opts.to !== undefined || opts.days !== undefined || opts.resampleMs !== undefined)
      throw new RunError('following a file does not support `from`, `to`, `days` or `resample`', { hint: 'remove them from the fetch step' });
    this.file = file;
    this.opts = opts;
    this.verify = verify;
    const fd = openSync(file, 'r');
    try {
      const st = fstatSync(fd);
      this.ino = st.ino;
      this.dev = st.dev;
      this.readAll(readFileSync(fd));
    } finally {
      closeSync(fd);
    }
  }

  /** The clean bars so far (views). */
  get bars(): SeriesFollower['bars'] {
    return this.series.bars;
  }

  get length(): number {
    return this.series.length;
  }

  get notes(): QualityNote[] {
    return this.series.notes;
  }

  private readAll(bytes: Buffer): void {
    const end = bytes.lastIndexOf(10) + 1;
    const name = path.basename(this.file);
    const body = bytes.subarray(0, end);
    const { raw, detected } = readParts([{ name, bytes: body }], this.opts.read, this.opts.zone);
    this.series = new SeriesFollower(raw, this.opts);
    this.layout = layoutFor(body, name, this.opts.read);
    this.zone = raw.zones?.[0] ?? null;
    this.keepBytes(body, end);
    this.lines = countNewlines(body);
    this.detected = detected;
  }

  /** Remembers the consumed bytes: `buf` is the file's bytes up to offset `size` (from 0 on the first read and in `full` mode; else its last EDGE at least). */
  private keepBytes(buf: Buffer, size: number): void {
    if (this.verify === 'full') this.consumed = buf;
    if (this.size === 0) this.head = Buffer.from(buf.subarray(0, Math.min(EDGE, size)));
    this.tailEdge = Buffer.from(buf.subarray(Math.max(0, buf.length - EDGE)));
    this.size = size;
  }

  /**
   * The new bytes after the consumed ones, once the old ones are found unchanged (null: changed,
   * with why), and a buffer ending with them whose last EDGE bytes are the new consumed tail.
   */
  private readNew(): { added: Buffer; last: Buffer } | { why: string } {
    const fd = openSync(this.file, 'r');
    try {
      const st = fstatSync(fd);
      if (st.size < this.size) return { why: 'the file is shorter than what was read' };
      if (st.ino !== this.ino || st.dev !== this.dev) return { why: 'the file was replaced' };
      if (this.verify === 'full') {
        const bytes = readFileSync(fd);
        if (!bytes.subarray(0, this.size).equals(this.consumed!)) return { why: 'the file changed before its end' };
        return { added: bytes.subarray(this.size), last: bytes };
      }
      const head = Buffer.allocUnsafe(this.head.length);
      readSync(fd, head, 0, head.length, 0);
      const from = this.size - this.tailEdge.length;
      const buf = Buffer.allocUnsafe(st.size - from);
      let got = 0;
      while (got < buf.length) {
        const k = readSync(fd, buf, got, buf.length - got, from + got);
        if (k === 0) break;
        got += k;
      }
      const b = buf.subarray(0, got);
      if (!head.equals(this.head) || !b.subarray(0, this.tailEdge.length).equals(this.tailEdge)) return { why: 'the file changed before its end' };
      return { added: b.subarray(this.tailEdge.length), last: b };
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Reads the file again: extends the bars by the complete lines appended since, or says the file
   * changed otherwise (`restart`: the caller reads it afresh, e.g. with a new follower).
   */
  update(): FollowUpdate {
    const r = this.readNew();
    if ('why' in r) return { status: 'restart', added: 0, why: r.why };
    const end = r.added.lastIndexOf(10) + 1;
    if (end === 0) return { status: 'same', added: 0 };
    const tail = r.added.subarray(0, end);
    const name = path.basename(this.file);
    const raw = emptyRaw(rowBound(tail));
    raw.files.push(name);
    raw.zones = [this.zone];
    parseInto(tail, name, { ...this.layout, header: false }, raw, 0, this.lines);
    if (this.zone) convertToUtc(raw.t.subarray(0, raw.n), this.zone);
    const x = this.series.extend(raw);
    if ('why' in x) return { status: 'restart', added: 0, why: x.why };
    const lastEnd = r.last.length - (r.added.length - end);
    this.keepBytes(r.last.subarray(0, lastEnd), this.size + end);
    this.lines += countNewlines(tail);
    return { status: 'appended', added: x.added };
  }
}

function countNewlines(b: Uint8Array): number {
  let k = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) k++;
  return k;
}

/** Row-check notes of the old rows and of the new ones: counts add, the first occurrence stays the earliest. */
function mergeRowNotes(old: QualityNote[], added: QualityNote[]): QualityNote[] {
  const out: QualityNote[] = [];
  for (const kind of ROW_KINDS) {
    const a = old.find((q) => q.kind === kind);
    const b = added.find((q) => q.kind === kind);
    if (a && b) out.push({ ...a, count: a.count + b.count });
    else if (a || b) out.push((a ?? b)!);
  }
  return out;
}
