import { daysFromCivil } from './dates.js';

/**
 * Timestamp patterns compiled to byte-level parsers. A pattern is written with the tokens
 * `YYYY MM DD HH mm ss` and `S…` (fraction of a second: as many digits as S's), any other
 * character standing for itself, e.g. `DD.MM.YYYY HH:mm:ss.SSS` or `YYYYMMDD HHmmss`. A final `Z`
 * is the ISO 8601 zone designator: the text then ends in `Z`, `±HH:MM`, `±HHMM` or `±HH`, and the
 * timestamp is that instant. Also accepted: `unix_s` and `unix_ms` (epoch numbers, read as wall
 * clock: MetaTrader writes server-local times that way). Without a zone designator the result is
 * wall-clock ms ("as if UTC"); a zone turns it into UTC later (see tz.ts).
 */

/** Parses bytes [a, b) into ms, or NaN: UTC when `zoned`, else wall clock. */
export interface TimeParser {
  (buf: Uint8Array, a: number, b: number): number;
  /** The pattern ends in a zone designator: every value is a UTC instant. */
  readonly zoned: boolean;
  /** Offset (wall − UTC, ms) of the last value read, when `zoned`; 0 otherwise. */
  lastOffsetMs(): number;
}

type Seg = { k: 'Y' | 'M' | 'D' | 'h' | 'm' | 's' | 'f'; w: number } | { k: 'lit'; c: number } | { k: 'z' };

const TOKENS: [string, 'Y' | 'M' | 'D' | 'h' | 'm' | 's'][] = [
  ['YYYY', 'Y'],
  ['MM', 'M'],
  ['DD', 'D'],
  ['HH', 'h'],
  ['mm', 'm'],
  ['ss', 's'],
];

/** Tokens of a pattern, or a message saying what is wrong with it. */
export function compilePattern(pattern: string): Seg[] | string {
  const segs: Seg[] = [];
  let i = 0;
  const seen = new Set<string>();
  outer: while (i < pattern.length) {
    for (const [tok, k] of TOKENS) {
      if (pattern.startsWith(tok, i)) {
        if (seen.has(k)) return `\`${tok}\` appears twice`;
        seen.add(k);
        segs.push({ k, w: tok.length });
        i += tok.length;
        continue outer;
      }
    }
    if (pattern[i] === 'S') {
      let j = i;
      while (pattern[j] === 'S') j++;
      segs.push({ k: 'f', w: j - i });
      i = j;
      continue;
    }
    const code = pattern.charCodeAt(i);
    if (code > 127) return `non-ASCII character ${JSON.stringify(pattern[i])}`;
    if (pattern[i] === 'Z') {
      if (i !== pattern.length - 1) return '`Z` (the zone: Z, +02:00, -0500) must end the pattern';
      segs.push({ k: 'z' });
      i++;
      continue;
    }
    if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122)) {
      if (pattern[i] !== 'T') return `unknown token at ${JSON.stringify(pattern.slice(i))}`;
    }
    segs.push({ k: 'lit', c: code });
    i++;
  }
  const has = (k: string) => seen.has(k);
  if (!(has('Y') && has('M') && has('D')) && !(has('h') && !has('Y') && !has('M') && !has('D'))) {
    return 'a date pattern needs YYYY, MM and DD (or only a time of day: HH, mm[, ss])';
  }
  return segs;
}

const DIM = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A byte parser for a pattern (see compilePattern; throws on a bad pattern — check it first). */
export function timeParser(pattern: string): TimeParser {
  if (pattern === 'unix_s' || pattern === 'unix_ms') {
    const scale = pattern === 'unix_s' ? 1000 : 1;
    const f = (buf: Uint8Array, a: number, b: number) => {
      const v = parseNumberBytes(buf, a, b);
      return v === undefined || !Number.isFinite(v) ? NaN : Math.round(v * scale);
    };
    return Object.assign(f, { zoned: false, lastOffsetMs: () => 0 });
  }
  const segs = compilePattern(pattern);
  if (typeof segs === 'string') throw new Error(`bad time pattern ${pattern}: ${segs}`);
  // Generated straight-line code: fixed offsets, no loop or switch per row (the hot path of every
  // cold run reads hundreds of thousands of timestamps).
  let width = 0;
  const body: string[] = [];
  const has = new Set<string>();
  let zoned = false;
  for (const sg of segs) {
    if (sg.k === 'z') {
      zoned = true;
      continue;
    }
    if (sg.k === 'lit') {
      body.push(`if (buf[a + ${width}] !== ${sg.c}) return NaN;`);
      width += 1;
      continue;
    }
    const terms: string[] = [];
    for (let j = 0; j < sg.w; j++) {
      body.push(`const d${width + j} = buf[a + ${width + j}] - 48; if (d${width + j} < 0 || d${width + j} > 9) return NaN;`);
      terms.push(`d${width + j} * ${10 ** (sg.w - 1 - j)}`);
    }
    body.push(`const v_${sg.k} = ${terms.join(' + ')};`);
    has.add(sg.k);
    width += sg.w;
  }
  const fracW = segs.find((sg) => sg.k === 'f')?.k === 'f' ? (segs.find((sg) => sg.k === 'f') as { w: number }).w : 0;
  // A zone designator after the fixed part: Z, ±HH, ±HHMM or ±HH:MM; the value becomes UTC. Any
  // other tail is refused (a trailing Z used to be skipped and the time read as wall clock).
  const zone = zoned
    ? `
    let off = 0;
    const zl = b - a - ${width};
    if (zl === 1 && buf[b - 1] === 90) off = 0;
    else {
      const sgn = buf[a + ${width}];
      if ((sgn !== 43 && sgn !== 45) || (zl !== 3 && zl !== 5 && zl !== 6)) return NaN;
      const p = a + ${width} + 1;
      const h1 = buf[p] - 48, h2 = buf[p + 1] - 48;
      if (h1 < 0 || h1 > 9 || h2 < 0 || h2 > 9) return NaN;
      let mi = 0;
      if (zl > 3) {
        const q = zl === 6 ? p + 3 : p + 2;
        if (zl === 6 && buf[p + 2] !== 58) return NaN;
        const m1 = buf[q] - 48, m2 = buf[q + 1] - 48;
        if (m1 < 0 || m1 > 5 || m2 < 0 || m2 > 9) return NaN;
        mi = m1 * 10 + m2;
      }
      const hh = h1 * 10 + h2;
      if (hh > 14) return NaN;
      off = (sgn === 45 ? -1 : 1) * (hh * 3600000 + mi * 60000);
    }
    st.off = off;`
    : `
    if (b - a !== ${width}) return NaN;`;
  const code = `${zone}
    ${body.join('\n    ')}
    const y = ${has.has('Y') ? 'v_Y' : 1970}, mo = ${has.has('M') ? 'v_M' : 1}, d = ${has.has('D') ? 'v_D' : 1};
    ${has.has('h') ? 'if (v_h > 23) return NaN;' : ''}
    ${has.has('m') ? 'if (v_m > 59) return NaN;' : ''}
    ${has.has('s') ? 'if (v_s > 59) return NaN;' : ''}
    const ms = ${has.has('h') ? 'v_h * 3600000' : '0'} + ${has.has('m') ? 'v_m * 60000' : '0'} + ${has.has('s') ? 'v_s * 1000' : '0'} + ${fracW === 0 ? '0' : fracW >= 3 ? `Math.floor(v_f / ${10 ** (fracW - 3)})` : `v_f * ${10 ** (3 - fracW)}`};
    const key = y * 10000 + mo * 100 + d;
    if (key !== st.key) {
      if (mo < 1 || mo > 12 || d < 1 || d > dim(y, mo)) return NaN;
      st.key = key;
      st.day = civil(y, mo, d) * 86400000;
    }
    return st.day + ms${zoned ? ' - off' : ''};`;
  const st = { key: -1, day: 0, off: 0 };
  const dim = (y: number, mo: number) => (mo === 2 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0) ? 29 : DIM[mo]);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('st', 'dim', 'civil', `return function parseTime(buf, a, b) {${code}\n};`) as (
    st: unknown,
    dim: unknown,
    civil: unknown,
  ) => (buf: Uint8Array, a: number, b: number) => number;
  return Object.assign(make(st, dim, daysFromCivil), { zoned, lastOffsetMs: () => st.off });
}

/** Date-time patterns tried, in order, when a file's timestamp format is not given. */
export const KNOWN_PATTERNS = [
  'YYYY-MM-DD HH:mm:ss',
  'YYYY-MM-DD HH:mm',
  'YYYY-MM-DDTHH:mm:ss',
  'YYYY-MM-DDTHH:mm',
  'YYYY-MM-DD HH:mm:ss.SSS',
  'YYYY-MM-DDTHH:mm:ss.SSS',
  // ISO 8601 with a zone (`Z` or `±hh:mm`), as fxflow's own CSV export, JS and pandas write it.
  'YYYY-MM-DDTHH:mm:ss.SSSZ',
  'YYYY-MM-DDTHH:mm:ssZ',
  'YYYY-MM-DDTHH:mmZ',
  'YYYY-MM-DD HH:mm:ss.SSSZ',
  'YYYY-MM-DD HH:mm:ssZ',
  'YYYY-MM-DD HH:mmZ',
  'YYYY.MM.DD HH:mm:ss',
  'YYYY.MM.DD HH:mm',
  'YYYY/MM/DD HH:mm:ss',
  'YYYY/MM/DD HH:mm',
  'DD.MM.YYYY HH:mm:ss.SSS',
  'DD.MM.YYYY HH:mm:ss',
  'DD.MM.YYYY HH:mm',
  'YYYYMMDD HHmmss',
  'YYYY-MM-DD',
  'YYYY.MM.DD',
  'YYYY/MM/DD',
  'DD.MM.YYYY',
  'YYYYMMDD',
];

/** Time-of-day patterns for a separate time column. */
export const KNOWN_TOD_PATTERNS = ['HH:mm:ss', 'HH:mm', 'HH:mm:ss.SSS', 'HHmmss'];

/** The first pattern of `candidates` that reads the sample, or undefined. */
export function detectPattern(sample: Uint8Array, candidates: readonly string[]): string | undefined {
  for (const p of candidates) {
    if (Number.isFinite(timeParser(p)(sample, 0, sample.length))) return p;
  }
  return undefined;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const latin1 = new TextDecoder('latin1');

/**
 * A decimal number at bytes [a, b). Plain decimals with up to 15 significant digits are computed as
 * integer / 10^k, which is correctly rounded and so equals Number(text); anything else (exponents,
 * long mantissas) goes through Number(). Empty, `NaN`, `nan`, `null`, `NA` → NaN; junk → undefined.
 */
export function parseNumberBytes(buf: Uint8Array, a: number, b: number): number | undefined {
  // Fast path, small enough to inline: [-]digits[.digits] with at most 15 digits.
  let p = a;
  const neg = buf[p] === 45;
  if (neg) p++;
  let mant = 0;
  let nd = 0;
  let frac = -1;
  for (; p < b; p++) {
    const c = buf[p];
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      nd++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0;
    else break;
  }
  if (p === b && nd > 0 && nd <= 15 && frac <= 22) {
    const v = frac > 0 ? mant / POW10[frac] : mant;
    return neg ? -v : v;
  }
  return parseNumberSlow(buf, a, b);
}

/** The general case of parseNumberBytes: empty and NaN spellings, exponents, long mantissas. */
function parseNumberSlow(buf: Uint8Array, a: number, b: number): number | undefined {
  if (a === b) return NaN;
  const text = latin1.decode(buf.subarray(a, b));
  const lower = text.toLowerCase();
  if (lower === 'nan' || lower === 'null' || lower === 'na') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}
