import type { ColumnNames } from './columns.js';
import { RunError } from '../core/diagnostics.js';
import { offsetName, parseZone, type Zone } from './tz.js';
import { compilePattern, detectPattern, KNOWN_PATTERNS, KNOWN_TOD_PATTERNS, parseNumberBytes, timeParser, type TimeParser } from './timefmt.js';

/**
 * The bar-file reader: one byte-level scanner for every text format, parameterised by a Layout
 * (delimiter, header, which field is what, how the timestamp reads). It works on the raw bytes
 * (no string decoding, no split, no Date.parse), one pass per line, and fills preallocated
 * Float64Arrays. It refuses only what it cannot read (a field that is not a number or a time, a
 * row with the wrong number of fields), naming file, line, column and value; judging the values
 * (zeros, order, OHLC) is quality.ts's job, on the whole series.
 *
 * Formats:
 * - `histdata`: HistData.com ASCII M1, no header, `;`: `YYYYMMDD HHMMSS;O;H;L;C;V`
 * - `metatrader`: MT4 history export without header, `YYYY.MM.DD,HH:MM,O,H,L,C,V`, or MT5
 *   "Export Bars", tab-separated with header `<DATE> <TIME> <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL>
 *   <VOL> <SPREAD>` (volume = tick volume)
 * - `dukascopy`: JForex export, header `Gmt time,Open,High,Low,Close,Volume`, `DD.MM.YYYY HH:mm:ss.SSS`
 * - `generic`: any header; columns found by name or given by a mapping, timestamp pattern given or
 *   detected from the first row
 */

export type FormatName = 'histdata' | 'metatrader' | 'dukascopy' | 'generic';

/** The columns a text file's header maps to roles (symbol and timeframe columns are for tables). */
export type ColumnMapping = Omit<ColumnNames, 'symbol' | 'timeframe'>;

export interface ReadOptions {
  format: FormatName | 'auto';
  columns?: ColumnMapping;
  timeFormat?: string;
  /**
   * The zone the user declared (`timezone:`), if any. A file whose timestamps carry their own
   * offsets is read as those instants; a row whose offset differs from this zone's is refused.
   */
  timezone?: string;
}

/** Bars as read, in file order; timestamps are the file's wall clock. */
export interface RawBars {
  n: number;
  t: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /** 1-based line of each bar in its file. */
  line: Int32Array;
  /** Index into `files` of each bar. */
  file: Uint16Array;
  files: string[];
  /**
   * Per file, the zone its wall clock was read in (null: its timestamps carried their own
   * offsets). Set by the file readers; the week-clock check runs only where it is set.
   */
  zones?: (Zone | null)[];
}

export interface Layout {
  format: FormatName;
  /** Human description of what was detected, e.g. `metatrader (MT5 Export Bars)`. */
  detail: string;
  delim: number;
  header: boolean;
  /** Exact number of fields per row (header formats), or the minimum (headerless). */
  nCols: number;
  exactCols: boolean;
  timeCol: number;
  timeParser: TimeParser;
  timePattern: string;
  /** The declared zone, to check the offsets of a zoned time parser against (see ReadOptions). */
  zoneCheck?: Zone;
  todCol: number;
  todParser?: TimeParser;
  price: [number, number, number, number];
  volume: number;
}

const PRICE_KEYS = ['open', 'high', 'low', 'close'] as const;
const TIME_NAMES = ['timestamp', 'time', 'gmt time', 'local time', 'datetime', 'date time', 'date', 'dt', 'ts'];
const VOLUME_NAMES = ['volume', 'tick volume', 'tickvol', 'tick_volume', 'tickvolume', 'vol'];

const latin1 = new TextDecoder('latin1');

export function text(buf: Uint8Array, a: number, b: number): string {
  return latin1.decode(buf.subarray(a, b));
}

/** First line of the bytes (BOM, CR stripped) and where the next starts. */
function firstLine(buf: Uint8Array, from = 0): { start: number; end: number; next: number } {
  let start = from;
  if (from === 0 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
  let nl = buf.indexOf(10, start);
  const next = nl < 0 ? buf.length : nl + 1;
  if (nl < 0) nl = buf.length;
  const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
  return { start, end, next };
}

/** Which format the first line looks like, or undefined. */
export function detectFormat(buf: Uint8Array): { format: FormatName; detail: string } | undefined {
  const { start, end } = firstLine(buf);
  const line = text(buf, start, end);
  if (/<date>/i.test(line)) return { format: 'metatrader', detail: 'metatrader (MT5 Export Bars, with header)' };
  if (/^\d{8} \d{6};/.test(line)) return { format: 'histdata', detail: 'histdata (HistData ASCII M1: YYYYMMDD HHMMSS;O;H;L;C;V)' };
  if (/^\d{4}\.\d\d\.\d\d,\d\d:\d\d,/.test(line)) return { format: 'metatrader', detail: 'metatrader (MT4 history export: YYYY.MM.DD,HH:MM,O,H,L,C,V)' };
  if (/^\s*"?gmt time"?\s*[,;\t]/i.test(line)) return { format: 'dukascopy', detail: 'dukascopy (JForex export: Gmt time, DD.MM.YYYY HH:mm:ss.SSS)' };
  if (/[A-Za-z]/.test(line.split(/[,;\t]/)[0] ?? '')) return { format: 'generic', detail: 'generic (header row)' };
  return undefined;
}

function fileError(file: string, line: number, col: number, message: string, hint: string): RunError {
  return new RunError(`${file}:${line}: ${message}`, { hint, loc: { file, line, col } });
}

function headerNames(buf: Uint8Array, start: number, end: number): { delim: number; raw: string[]; names: string[] } {
  const line = text(buf, start, end);
  let delimChar = ',';
  let best = -1;
  for (const d of [',', '\t', ';']) {
    const n = line.split(d).length - 1;
    if (n > best) {
      best = n;
      delimChar = d;
    }
  }
  const raw = line.split(delimChar).map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  const names = raw.map((c) => c.toLowerCase().replace(/[<>]/g, '').replace(/\s+/g, ' ').trim());
  return { delim: delimChar.charCodeAt(0), raw, names };
}

/** Builds the layout of a file from its first lines. */
export function layoutFor(buf: Uint8Array, file: string, opts: ReadOptions): Layout {
  let format: FormatName;
  let detail: string;
  if (opts.format === 'auto') {
    const d = detectFormat(buf);
    if (!d) {
      const { start, end } = firstLine(buf);
      throw fileError(
        file,
        1,
        1,
        `cannot tell the format of ${JSON.stringify(text(buf, start, Math.min(end, start + 80)))}`,
        'set `format:` to histdata, metatrader, dukascopy or generic (a header row naming Time/Timestamp, Open, High, Low, Close)',
      );
    }
    format = d.format;
    detail = d.detail;
  } else {
    format = opts.format;
    detail = format;
  }
  const { start, end, next } = firstLine(buf);
  if (start >= end && next >= buf.length) throw fileError(file, 1, 1, 'the file is empty', 'a data file needs at least one row of bars');

  if (format === 'histdata') {
    return {
      format,
      detail,
      delim: 59,
      header: false,
      nCols: 6,
      exactCols: false,
      timeCol: 0,
      timeParser: timeParser('YYYYMMDD HHmmss'),
      timePattern: 'YYYYMMDD HHmmss',
      todCol: -1,
      price: [1, 2, 3, 4],
      volume: 5,
    };
  }
  const firstText = text(buf, start, end);
  if (format === 'metatrader' && !/<date>/i.test(firstText)) {
    // MT4: no header, comma-separated, date and time in separate fields.
    return {
      format,
      detail,
      delim: 44,
      header: false,
      nCols: 7,
      exactCols: false,
      timeCol: 0,
      timeParser: timeParser('YYYY.MM.DD'),
      timePattern: 'YYYY.MM.DD HH:mm',
      todCol: 1,
      todParser: timeParser('HH:mm'),
      price: [2, 3, 4, 5],
      volume: 6,
    };
  }

  // Header formats.
  const { delim, raw, names } = headerNames(buf, start, end);
  const map = opts.columns ?? {};
  const find = (role: string, cands: readonly string[]): number => {
    const want = (map as Record<string, string | undefined>)[role];
    if (want !== undefined) {
      const i = raw.findIndex((r) => r === want);
      const j = i >= 0 ? i : names.indexOf(want.toLowerCase().replace(/[<>]/g, '').trim());
      if (j < 0)
        throw fileError(
          file,
          1,
          1,
          `column ${JSON.stringify(want)} (for ${role}) is not in the header; columns found: ${raw.map((c) => JSON.stringify(c)).join(', ')}`,
          'set `columns:` to header names of the file',
        );
      return j;
    }
    for (const c of cands) {
      const i = names.indexOf(c);
      if (i >= 0) return i;
    }
    return -1;
  };
  let timeCol: number;
  let todCol = -1;
  if (map.date !== undefined || (map.time === undefined && names.includes('date') && names.includes('time'))) {
    timeCol = find('date', ['date']);
    todCol = map.date !== undefined && map.time === undefined ? -1 : find('time', ['time']);
  } else {
    timeCol = find('time', TIME_NAMES);
  }
  const price = PRICE_KEYS.map((k) => find(k, [k])) as [number, number, number, number];
  const volume = find('volume', VOLUME_NAMES);
  const missing: string[] = [];
  if (timeCol < 0) missing.push('Time');
  PRICE_KEYS.forEach((k, i) => {
    if (price[i] < 0) missing.push(k[0].toUpperCase() + k.slice(1));
  });
  if (missing.length) {
    throw fileError(
      file,
      1,
      1,
      `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} in the header; columns found: ${raw.map((c) => JSON.stringify(c)).join(', ')}`,
      'expected a header naming Timestamp (or Time, Date [+ Time], Gmt time), Open, High, Low, Close and optionally Volume; or set `columns:`',
    );
  }
  if (format === 'dukascopy' && names[timeCol] !== 'gmt time' && map.time === undefined) {
    throw fileError(
      file,
      1,
      1,
      `expected a Dukascopy header starting with "Gmt time", found ${JSON.stringify(firstText.slice(0, 80))}`,
      'use `format: auto` or `generic` for other headers',
    );
  }

  // Timestamp pattern: given, by format, or detected from the first data row.
  const sample = firstDataFields(buf, next, delim);
  let timePattern: string;
  let todPattern: string | undefined;
  if (opts.timeFormat !== undefined) {
    const segs = compilePattern(opts.timeFormat);
    if (typeof segs === 'string' && opts.timeFormat !== 'unix_s' && opts.timeFormat !== 'unix_ms') {
      throw new RunError(`time_format ${JSON.stringify(opts.timeFormat)}: ${segs}`, {
        hint: 'write a pattern with YYYY MM DD HH mm ss SSS, e.g. DD.MM.YYYY HH:mm:ss.SSS, or unix_s / unix_ms',
      });
    }
    timePattern = opts.timeFormat;
  } else if (format === 'dukascopy') {
    timePattern = 'DD.MM.YYYY HH:mm:ss.SSS';
  } else {
    timePattern =
      (sample && sample[timeCol] && detectPattern(sample[timeCol], todCol >= 0 ? KNOWN_PATTERNS.filter((p) => !p.includes('H')) : KNOWN_PATTERNS)) ??
      (todCol >= 0 ? 'YYYY-MM-DD' : 'YYYY-MM-DD HH:mm:ss');
  }
  if (todCol >= 0) todPattern = (sample && sample[todCol] && detectPattern(sample[todCol], KNOWN_TOD_PATTERNS)) ?? 'HH:mm:ss';
  if (format === 'metatrader') detail = 'metatrader (MT5 Export Bars, with header)';
  if (format === 'generic') detail = `generic (header; time ${todCol >= 0 ? `${timePattern} + ${todPattern}` : timePattern})`;
  const tp = timeParser(timePattern);
  return {
    format,
    detail,
    delim,
    header: true,
    nCols: raw.length,
    exactCols: true,
    timeCol,
    timeParser: tp,
    timePattern: todPattern ? `${timePattern} ${todPattern}` : timePattern,
    zoneCheck: tp.zoned && opts.timezone !== undefined ? parseZone(opts.timezone) : undefined,
    todCol,
    todParser: todPattern ? timeParser(todPattern) : undefined,
    price,
    volume,
  };
}

/** Trimmed fields of the first non-blank line at or after `from`, as byte arrays. */
function firstDataFields(buf: Uint8Array, from: number, delim: number): Uint8Array[] | undefined {
  let pos = from;
  while (pos < buf.length) {
    const { start, end, next } = firstLine(buf, pos);
    const line = text(buf, start, end);
    if (line.trim() !== '') {
      const enc = new TextEncoder();
      return line.split(String.fromCharCode(delim)).map((f) => enc.encode(f.trim().replace(/^"(.*)"$/, '$1')));
    }
    pos = next;
  }
  return undefined;
}

/** Number of LF bytes (a row-count bound). */
function countLines(buf: Uint8Array, from: number): number {
  let n = 1;
  for (let k = buf.indexOf(10, from); k >= 0; k = buf.indexOf(10, k + 1)) n++;
  return n;
}

export function emptyRaw(cap: number): RawBars {
  return {
    n: 0,
    t: new Float64Array(cap),
    open: new Float64Array(cap),
    high: new Float64Array(cap),
    low: new Float64Array(cap),
    close: new Float64Array(cap),
    volume: new Float64Array(cap),
    line: new Int32Array(cap),
    file: new Uint16Array(cap),
    files: [],
  };
}

/**
 * Parses one file's bytes with a layout and appends its bars to `out` (which must have room:
 * see `rowBound`). `fileIndex` is stored with each bar.
 */
export function parseInto(buf: Uint8Array, file: string, L: Layout, out: RawBars, fileIndex: number, lineBase = 0): void {
  const len = buf.length;
  let pos = 0;
  if (lineBase === 0 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
  // lineBase > 0: `buf` is the rest of a file after that many lines (src/data/follow.ts).
  let line = lineBase;
  if (L.header && lineBase === 0) {
    const nl = buf.indexOf(10, pos);
    pos = nl < 0 ? len : nl + 1;
    line = 1;
  }
  const maxF = Math.max(L.nCols, 16);
  const starts = new Int32Array(maxF + 1);
  const ends = new Int32Array(maxF + 1);
  const delim = L.delim;
  const { timeCol, todCol, timeParser: tp, todParser, volume: vc, zoneCheck } = L;
  const [oc, hc, lc, cc] = L.price;
  const need = Math.max(timeCol, todCol, oc, hc, lc, cc, vc) + 1;
  let n = out.n;
  const { t: T, open: O, high: Hh, low: Lo, close: C, volume: V, line: LN, file: F } = out;

  const fail = (col: number, lineStart: number, message: string, hint: string): never => {
    throw fileError(file, line, col - lineStart + 1, message, hint);
  };

  while (pos < len) {
    line++;
    const lineStart = pos;
    let end = buf.indexOf(10, pos);
    const next = end < 0 ? len : end + 1;
    if (end < 0) end = len;
    if (end > pos && buf[end - 1] === 13) end--;
    // Split into fields (remembering at most maxF).
    let f = 0;
    starts[0] = pos;
    let nonBlank = false;
    for (let k = pos; k < end; k++) {
      const c = buf[k];
      if (c === delim) {
        if (f < maxF) ends[f] = k;
        f++;
        if (f < maxF) starts[f] = k + 1;
      } else if (c !== 32 && c !== 9) nonBlank = true;
    }
    if (f < maxF) ends[f] = end;
    f++;
    if (!nonBlank) {
      pos = next;
      continue;
    }
    if (L.exactCols ? f !== L.nCols : f < need) {
      fail(
        pos,
        lineStart,
        `expected ${L.exactCols ? '' : 'at least '}${L.exactCols ? L.nCols : need} fields${L.header ? ' like the header' : ''}, found ${f}: ${JSON.stringify(text(buf, pos, Math.min(end, pos + 120)))}`,
        L.header
          ? 'every row must have the same columns as the header'
          : `a ${L.format} row is ${L.format === 'histdata' ? 'YYYYMMDD HHMMSS;open;high;low;close;volume' : 'YYYY.MM.DD,HH:MM,open,high,low,close,volume'}`,
      );
    }
    const nf = Math.min(f, maxF);
    // Trim blanks and quotes.
    for (let k = 0; k < nf; k++) {
      let a = starts[k];
      let b = ends[k];
      while (a < b && (buf[a] === 32 || buf[a] === 9)) a++;
      while (b > a && (buf[b - 1] === 32 || buf[b - 1] === 9)) b--;
      if (b - a >= 2 && buf[a] === 34 && buf[b - 1] === 34) {
        a++;
        b--;
      }
      starts[k] = a;
      ends[k] = b;
    }
    let t = tp(buf, starts[timeCol], ends[timeCol]);
    if (todCol >= 0) t += todParser!(buf, starts[todCol], ends[todCol]);
    if (t !== t) {
      const bad = todCol >= 0 && Number.isFinite(tp(buf, starts[timeCol], ends[timeCol])) ? todCol : timeCol;
      fail(
        starts[bad],
        lineStart,
        `cannot read the ${bad === todCol ? 'time' : 'timestamp'} ${JSON.stringify(text(buf, starts[bad], ends[bad]))}`,
        `expected ${bad === todCol ? L.timePattern.split(' ').pop() : L.timePattern} (${L.detail})${tp.zoned ? ' with a zone: Z or ±hh:mm on every row' : ''}; set \`time_format:\` if the file uses another pattern`,
      );
    }
    if (zoneCheck !== undefined && tp.lastOffsetMs() !== zoneCheck.offsetAt(t)) {
      // The row names its instant and the user named a clock; they disagree, and guessing which is
      // wrong would silently shift the series.
      fail(
        starts[timeCol],
        lineStart,
        `the timestamp ${JSON.stringify(text(buf, starts[timeCol], ends[timeCol]))} carries the offset ${offsetName(tp.lastOffsetMs())}, but \`timezone: ${zoneCheck.name}\` is ${offsetName(zoneCheck.offsetAt(t))} at that instant`,
        'a timestamp with `Z` or `±hh:mm` is read as that instant: remove `timezone:` from the fetch step (or make it match the file)',
      );
    }
    const o = parseNumberBytes(buf, starts[oc], ends[oc]);
    const h = parseNumberBytes(buf, starts[hc], ends[hc]);
    const l = parseNumberBytes(buf, starts[lc], ends[lc]);
    const c = parseNumberBytes(buf, starts[cc], ends[cc]);
    if (o === undefined || h === undefined || l === undefined || c === undefined) {
      const k = o === undefined ? 0 : h === undefined ? 1 : l === undefined ? 2 : 3;
      const col = L.price[k];
      fail(
        starts[col],
        lineStart,
        `cannot read ${PRICE_KEYS[k]} ${JSON.stringify(text(buf, starts[col], ends[col]))}`,
        'prices must be decimal numbers such as 1.32495',
      );
    }
    let v = NaN;
    if (vc >= 0) {
      const x = parseNumberBytes(buf, starts[vc], ends[vc]);
      if (x === undefined)
        fail(starts[vc], lineStart, `cannot read volume ${JSON.stringify(text(buf, starts[vc], ends[vc]))}`, 'volume must be a number (or empty)');
      v = x as number;
    }
    T[n] = t;
    O[n] = o as number;
    Hh[n] = h as number;
    Lo[n] = l as number;
    C[n] = c as number;
    V[n] = v;
    LN[n] = line;
    F[n] = fileIndex;
    n++;
    pos = next;
  }
  out.n = n;
}

/** An upper bound on the bars in a file (its line count). */
export function rowBound(buf: Uint8Array): number {
  return countLines(buf, 0);
}

/** Concatenates raw bar sets (each its own files) into one, renumbering file indices. */
export function concatRaw(parts: RawBars[]): RawBars {
  const total = parts.reduce((s, p) => s + p.n, 0);
  const out = emptyRaw(total);
  let off = 0;
  for (const p of parts) {
    const base = out.files.length;
    out.files.push(...p.files);
    out.t.set(p.t.subarray(0, p.n), off);
    out.open.set(p.open.subarray(0, p.n), off);
    out.high.set(p.high.subarray(0, p.n), off);
    out.low.set(p.low.subarray(0, p.n), off);
    out.close.set(p.close.subarray(0, p.n), off);
    out.volume.set(p.volume.subarray(0, p.n), off);
    out.line.set(p.line.subarray(0, p.n), off);
    for (let i = 0; i < p.n; i++) out.file[off + i] = p.file[i] + base;
    off += p.n;
  }
  out.n = total;
  return out;
}
