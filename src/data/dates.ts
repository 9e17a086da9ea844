/**
 * Calendar dates written by people (params such as `from`, `to`, `start`) → UTC epoch ms. The hot
 * path of reading data files uses the compiled patterns of timefmt.ts; this is the slow, forgiving
 * reader of single values, and the owner of the civil-date arithmetic both use.
 */

const C_SPACE = 32;

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
 * accepted: these dates (params such as `from`, `to`) are UTC. Data files are read by timefmt.ts.
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
