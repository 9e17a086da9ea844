import { readFile } from 'node:fs/promises';
import type { Frame, QualityNote } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { isoUtc } from './frame.js';

/**
 * Reader for OHLC(V) CSV files with a header row (MetaTrader, Dukascopy and most exports). It scans
 * the text once with charCodeAt — no split, regex or Date.parse per row — so 50k rows take a few ms.
 */

export interface HeaderCsv {
  /** Columns open, high, low, close, volume (volume NaN when the file has none). */
  frame: Frame;
  quality: QualityNote[];
}

const TIME_NAMES = ['timestamp', 'time', 'gmt time', 'datetime', 'date time', 'date'];
const VOLUME_NAMES = ['volume', 'vol', 'tick volume', 'tickvol', 'tick_volume', 'tickvolume'];
const PRICE_NAMES = ['open', 'high', 'low', 'close'] as const;

const DELIMS = [',', '\t', ';'];

const C_CR = 13;
const C_LF = 10;
const C_QUOTE = 34;
const C_SPACE = 32;
const C_TAB = 9;

interface Layout {
  delim: number;
  nCols: number;
  /** Column of the timestamp, or of the date when the time is in a separate column. */
  time: number;
  /** Column of a separate time-of-day, or -1. */
  timeOfDay: number;
  price: [number, number, number, number];
  volume: number;
}

function headerError(file: string, found: string[], message: string): RunError {
  return new RunError(`${message} in the header of ${file}; columns found: ${found.map((c) => JSON.stringify(c)).join(', ')}`, {
    hint: 'expected a header naming Timestamp (or Time, Date [+ Time], Gmt time), Open, High, Low, Close and optionally Volume',
    loc: { file, line: 1, col: 1 },
  });
}

function parseHeader(file: string, line: string): Layout {
  // The delimiter is whichever candidate occurs most in the header line.
  let delimChar = ',';
  let best = -1;
  for (const d of DELIMS) {
    const n = line.split(d).length - 1;
    if (n > best) {
      best = n;
      delimChar = d;
    }
  }
  const raw = line.split(delimChar).map((c) => unquote(c.trim()));
  const names = raw.map((c) => c.toLowerCase().replace(/[<>]/g, '').replace(/\s+/g, ' ').trim());
  const find = (cands: readonly string[]): number => {
    for (const c of cands) {
      const i = names.indexOf(c);
      if (i >= 0) return i;
    }
    return -1;
  };
  let time = -1;
  let timeOfDay = -1;
  const dateCol = names.indexOf('date');
  const timeCol = names.indexOf('time');
  if (dateCol >= 0 && timeCol >= 0) {
    time = dateCol;
    timeOfDay = timeCol;
  } else {
    time = find(TIME_NAMES);
  }
  const price = PRICE_NAMES.map((p) => names.indexOf(p)) as [number, number, number, number];
  const missing: string[] = [];
  if (time < 0) missing.push('Timestamp');
  PRICE_NAMES.forEach((p, k) => {
    if (price[k] < 0) missing.push(p[0].toUpperCase() + p.slice(1));
  });
  if (missing.length) throw headerError(file, raw, `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return { delim: delimChar.charCodeAt(0), nCols: raw.length, time, timeOfDay, price, volume: find(VOLUME_NAMES) };
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Reads `n` digits at `i`; -1 if any is not a digit. */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Milliseconds since midnight of `HH:MM[:SS[.fff]]` at s[i, end); NaN if malformed. Trailing `Z` is
 * accepted (the reader treats every timestamp as UTC).
 */
function parseTimeOfDay(s: string, i: number, end: number): number {
  if (end > i && s.charCodeAt(end - 1) === 90 /* Z */) end--;
  if (end - i < 5 || s.charCodeAt(i + 2) !== 58 /* : */) return NaN;
  const hh = digits(s, i, 2);
  const mi = digits(s, i + 3, 2);
  if (hh < 0 || mi < 0 || hh > 23 || mi > 59) return NaN;
  let ms = hh * 3_600_000 + mi * 60_000;
  let p = i + 5;
  if (p === end) return ms;
  if (s.charCodeAt(p) !== 58 || end - p < 3) return NaN;
  const ss = digits(s, p + 1, 2);
  if (ss < 0 || ss > 59) return NaN;
  ms += ss * 1000;
  p += 3;
  if (p === end) return ms;
  if (s.charCodeAt(p) !== 46 /* . */ || end - p < 2) return NaN;
  // Fraction of a second: keep milliseconds, ignore finer digits.
  let frac = 0;
  let scale = 100;
  for (let k = p + 1; k < end; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return NaN;
    frac += c * scale;
    scale /= 10;
  }
  return ms + Math.floor(frac);
}

/**
 * UTC epoch ms of a date or date-time at s[i, end): `YYYY-MM-DD`, `YYYY.MM.DD`, `YYYY/MM/DD`, or
 * day-first `DD.MM.YYYY` (Dukascopy), optionally followed by a space or `T` and `HH:MM[:SS[.fff]]`.
 * NaN when malformed or out of range.
 */
export function parseTimestampAt(s: string, i: number, end: number, dateOnly = false): number {
  let y: number;
  let m: number;
  let d: number;
  const c4 = s.charCodeAt(i + 4);
  const c2 = s.charCodeAt(i + 2);
  if (end - i < 10) return NaN;
  if ((c4 === 45 || c4 === 46 || c4 === 47) && s.charCodeAt(i + 7) === c4) {
    y = digits(s, i, 4);
    m = digits(s, i + 5, 2);
    d = digits(s, i + 8, 2);
  } else if (c2 === 46 && s.charCodeAt(i + 5) === 46) {
    d = digits(s, i, 2);
    m = digits(s, i + 3, 2);
    y = digits(s, i + 6, 4);
  } else return NaN;
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return NaN;
  const day = daysFromCivil(y, m, d) * 86_400_000;
  if (end === i + 10) return day;
  if (dateOnly) return NaN;
  const sep = s.charCodeAt(i + 10);
  if (sep !== C_SPACE && sep !== 84 /* T */) return NaN;
  const tod = parseTimeOfDay(s, i + 11, end);
  return day + tod;
}

/** UTC epoch ms of a whole timestamp string (see parseTimestampAt), or NaN. */
export function parseTimestamp(text: string): number {
  const t = text.trim();
  return parseTimestampAt(t, 0, t.length);
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * A decimal number at s[i, end). Plain decimals with up to 15 significant digits are computed as
 * integer / 10^k, which is correctly rounded and so equals Number(text); anything else (exponents,
 * long mantissas) goes through Number(). Empty, `NaN`, `nan`, `null` → NaN; other junk → undefined.
 */
function parseNumberAt(s: string, i: number, end: number): number | undefined {
  if (i === end) return NaN;
  let p = i;
  let neg = false;
  const c0 = s.charCodeAt(p);
  if (c0 === 45 || c0 === 43) {
    neg = c0 === 45;
    p++;
  }
  let mant = 0;
  let nd = 0;
  let frac = -1;
  for (; p < end; p++) {
    const c = s.charCodeAt(p);
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      if (mant > 0 || frac >= 0) nd++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) {
      frac = 0;
    } else break;
  }
  const sawDigit = p > i + (c0 === 45 || c0 === 43 ? 1 : 0) + (frac >= 0 ? 1 : 0);
  if (p === end && sawDigit && nd <= 15 && (frac < 0 ? 0 : frac) <= 22) {
    const v = frac > 0 ? mant / POW10[frac] : mant;
    return neg ? -v : v;
  }
  const text = s.slice(i, end);
  const lower = text.toLowerCase();
  if (lower === 'nan' || lower === 'null' || lower === 'na') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** Reads a header CSV of OHLC(V) bars; see the module comment. */
export async function readHeaderCsv(file: string): Promise<HeaderCsv> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RunError(`data file not found: ${file}`, { hint: 'check the path (relative paths resolve against the pipeline file)' });
    throw new RunError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseHeaderCsv(buf.toString('utf8'), file);
}

/** The parser behind readHeaderCsv, on text already in memory; `file` names it in messages. */
export function parseHeaderCsv(text: string, file: string): HeaderCsv {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const len = text.length;
  // Header line.
  let eol = text.indexOf('\n', pos);
  if (eol < 0) eol = len;
  let headerEnd = eol;
  if (headerEnd > pos && text.charCodeAt(headerEnd - 1) === C_CR) headerEnd--;
  const header = text.slice(pos, headerEnd);
  if (header.trim() === '') {
    throw new RunError(`${file} is empty or starts with a blank line`, {
      hint: 'the first line must be a header such as Timestamp,Open,High,Low,Close,Volume',
      loc: { file, line: 1, col: 1 },
    });
  }
  const L = parseHeader(file, header);
  pos = eol + 1;

  // Upper bound on rows: one per remaining newline, plus a last line without one.
  let cap = 1;
  for (let k = text.indexOf('\n', pos); k >= 0; k = text.indexOf('\n', k + 1)) cap++;
  const index = new Float64Array(cap);
  const cols = [new Float64Array(cap), new Float64Array(cap), new Float64Array(cap), new Float64Array(cap)];
  const volume = new Float64Array(cap);
  const starts = new Int32Array(L.nCols + 1);
  const ends = new Int32Array(L.nCols + 1);
  const row = new Float64Array(4);

  let n = 0;
  let line = 1;
  let zeroCount = 0;
  let zeroFirst = 0;
  let dupCount = 0;
  let dupFirst = 0;
  let lastLine = 0;

  let lineStart = pos;
  // `col` is an offset into the text; loc reports it as a 1-based column of the current line.
  const fail = (message: string, col: number, hint: string): never => {
    throw new RunError(`${file}:${line}: ${message}`, { hint, loc: { file, line, col: col - lineStart + 1 } });
  };

  while (pos < len) {
    line++;
    lineStart = pos;
    let end = text.indexOf('\n', pos);
    const next = end < 0 ? len : end + 1;
    if (end < 0) end = len;
    if (end > pos && text.charCodeAt(end - 1) === C_CR) end--;
    // Blank lines (e.g. trailing ones) carry no bar.
    let blank = true;
    for (let k = pos; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c !== C_SPACE && c !== C_TAB) {
        blank = false;
        break;
      }
    }
    if (blank) {
      pos = next;
      continue;
    }
    // Split into fields.
    let f = 0;
    starts[0] = pos;
    for (let k = pos; k < end; k++) {
      if (text.charCodeAt(k) === L.delim) {
        if (f < L.nCols) ends[f] = k;
        f++;
        if (f < L.nCols) starts[f] = k + 1;
      }
    }
    if (f < L.nCols) ends[f] = end;
    f++;
    if (f !== L.nCols) {
      fail(`expected ${L.nCols} fields like the header, found ${f}`, pos, 'every row must have the same columns as the header');
    }
    // Trim spaces and quotes around each field in place.
    for (let k = 0; k < f; k++) {
      let a = starts[k];
      let b = ends[k];
      while (a < b && (text.charCodeAt(a) === C_SPACE || text.charCodeAt(a) === C_TAB)) a++;
      while (b > a && (text.charCodeAt(b - 1) === C_SPACE || text.charCodeAt(b - 1) === C_TAB)) b--;
      if (b - a >= 2 && text.charCodeAt(a) === C_QUOTE && text.charCodeAt(b - 1) === C_QUOTE) {
        a++;
        b--;
      }
      starts[k] = a;
      ends[k] = b;
    }

    // Timestamp.
    const ti = L.time;
    let t: number;
    if (L.timeOfDay >= 0) {
      const day = parseTimestampAt(text, starts[ti], ends[ti], true);
      const tod = parseTimeOfDay(text, starts[L.timeOfDay], ends[L.timeOfDay]);
      t = day + tod;
      if (!Number.isFinite(t)) {
        const bad = Number.isFinite(day) ? L.timeOfDay : ti;
        fail(`cannot read the ${bad === ti ? 'date' : 'time'} ${JSON.stringify(text.slice(starts[bad], ends[bad]))}`, starts[bad], 'dates are YYYY-MM-DD (or YYYY.MM.DD, DD.MM.YYYY), times HH:MM[:SS]');
      }
    } else {
      t = parseTimestampAt(text, starts[ti], ends[ti]);
      if (!Number.isFinite(t)) {
        fail(`cannot read the timestamp ${JSON.stringify(text.slice(starts[ti], ends[ti]))}`, starts[ti], 'timestamps are UTC, written YYYY-MM-DD HH:MM:SS (also YYYY-MM-DD HH:MM, YYYY-MM-DD, YYYY.MM.DD HH:MM, DD.MM.YYYY HH:MM:SS)');
      }
    }

    // Prices.
    let zeroOrNaN = 0;
    let nans = 0;
    for (let k = 0; k < 4; k++) {
      const c = L.price[k];
      const v = parseNumberAt(text, starts[c], ends[c]);
      if (v === undefined) {
        fail(`cannot read ${PRICE_NAMES[k]} ${JSON.stringify(text.slice(starts[c], ends[c]))}`, starts[c], 'prices must be decimal numbers such as 1.32495');
      }
      row[k] = v as number;
      if (v !== v) nans++;
      if (v === 0 || v !== v) zeroOrNaN++;
    }
    let vol = NaN;
    if (L.volume >= 0) {
      const v = parseNumberAt(text, starts[L.volume], ends[L.volume]);
      if (v === undefined) {
        fail(`cannot read volume ${JSON.stringify(text.slice(starts[L.volume], ends[L.volume]))}`, starts[L.volume], 'volume must be a number (or empty)');
      }
      vol = v as number;
    }

    if (zeroOrNaN === 4) {
      // Placeholder bars (all prices zero or missing), e.g. the future bars some exports append.
      if (zeroCount === 0) zeroFirst = line;
      zeroCount++;
      pos = next;
      continue;
    }
    if (nans > 0) {
      const k = row.findIndex((x) => x !== x);
      fail(`${PRICE_NAMES[k]} is missing while other prices are present`, starts[L.price[k]], 'fill or remove the row; only rows with all prices missing or zero are dropped');
    }
    const [o, h, l, c] = row;
    for (let k = 0; k < 4; k++) {
      if (!(row[k] > 0) || !Number.isFinite(row[k])) {
        fail(`${PRICE_NAMES[k]} ${fmt(row[k])} is not a positive price`, starts[L.price[k]], 'prices must be positive; fix or remove the row');
      }
    }
    if (h < o || h < c || h < l) {
      fail(`high ${fmt(h)} is below ${h < l ? `low ${fmt(l)}` : `max(open, close) ${fmt(Math.max(o, c))}`}`, starts[L.price[1]], 'a bar must satisfy high >= max(open, close) and low <= min(open, close)');
    }
    if (l > o || l > c) {
      fail(`low ${fmt(l)} is above min(open, close) ${fmt(Math.min(o, c))}`, starts[L.price[2]], 'a bar must satisfy high >= max(open, close) and low <= min(open, close)');
    }

    if (n > 0 && t <= index[n - 1]) {
      if (t === index[n - 1]) {
        // Same bar twice (e.g. a DST repeat in the export): the later row wins.
        if (dupCount === 0) dupFirst = line;
        dupCount++;
        n--;
      } else {
        fail(
          `timestamp ${JSON.stringify(text.slice(starts[ti], ends[ti]))} goes backwards (line ${lastLine} has ${isoUtc(index[n - 1])})`,
          starts[ti],
          'rows must be in time order; sort the file by time',
        );
      }
    }
    index[n] = t;
    cols[0][n] = o;
    cols[1][n] = h;
    cols[2][n] = l;
    cols[3][n] = c;
    volume[n] = vol;
    n++;
    lastLine = line;
    pos = next;
  }

  const quality: QualityNote[] = [];
  if (zeroCount > 0) quality.push({ kind: 'zero_rows', count: zeroCount, action: 'drop', detail: `first at line ${zeroFirst}` });
  if (dupCount > 0) quality.push({ kind: 'duplicate_timestamps', count: dupCount, action: 'keep_last', detail: `first at line ${dupFirst}` });
  if (n === 0) {
    throw new RunError(`${file} has no bars${zeroCount ? ` (all ${zeroCount} rows are zero or empty)` : ''}`, {
      hint: 'the file needs at least one row of prices below the header',
      loc: { file, line: 1, col: 1 },
    });
  }
  return {
    frame: {
      index: index.slice(0, n),
      columns: {
        open: cols[0].slice(0, n),
        high: cols[1].slice(0, n),
        low: cols[2].slice(0, n),
        close: cols[3].slice(0, n),
        volume: volume.slice(0, n),
      },
    },
    quality,
  };
}

function fmt(x: number): string {
  return String(x);
}
