import { daysFromCivil } from './dates.js';

/**
 * Timestamp patterns compiled to byte-level parsers. A pattern is written with the tokens
 * `YYYY MM DD HH mm ss` and `S…` (fraction of a second: as many digits as S's), any other
 * character standing for itself, e.g. `DD.MM.YYYY HH:mm:ss.SSS` or `YYYYMMDD HHmmss`. Also accepted:
 * `unix_s` and `unix_ms` (epoch numbers). The result is wall-clock ms ("as if UTC"); a zone turns
 * it into UTC later (see tz.ts).
 */

/** Parses bytes [a, b) into wall-clock ms, or NaN. */
export type TimeParser = (buf: Uint8Array, a: number, b: number) => number;

type Seg = { k: 'Y' | 'M' | 'D' | 'h' | 'm' | 's' | 'f'; w: number } | { k: 'lit'; c: number };

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
    if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122)) {
      if (pattern[i] !== 'T' && pattern[i] !== 'Z') return `unknown token at ${JSON.stringify(pattern.slice(i))}`;
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
    return (buf, a, b) => {
      const v = parseNumberBytes(buf, a, b);
      return v === undefined || !Number.isFinite(v) ? NaN : Math.round(v * scale);
    };
  }
  const segs = compilePattern(pattern);
  if (typeof segs === 'string') throw new Error(`bad time pattern ${pattern}: ${segs}`);
  // Generated straight-line code: fixed offsets, no loop or switch per row (the hot path of every
  // cold run reads hundreds of thousands of timestamps).
  let width = 0;
  const body: string[] = [];
  const has = new Set<string>();
  for (const sg of segs) {
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
  const code = `
    if (b - a !== ${width} && !(b - a === ${width + 1} && buf[b - 1] === 90)) return NaN;
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
    return st.day + ms;`;
  const st = { key: -1, day: 0 };
  const dim = (y: number, mo: number) => (mo === 2 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0) ? 29 : DIM[mo]);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('st', 'dim', 'civil', `return function parseTime(buf, a, b) {${code}\n};`) as (st: unknown, dim: unknown, civil: unknown) => TimeParser;
  return make(st, dim, daysFromCivil);
}

/** Date-time patterns tried, in order, when a file's timestamp format is not given. */
export const KNOWN_PATTERNS = [
  'YYYY-MM-DD HH:mm:ss',
  'YYYY-MM-DD HH:mm',
  'YYYY-MM-DDTHH:mm:ss',
  'YYYY-MM-DDTHH:mm',
  'YYYY-MM-DD HH:mm:ss.SSS',
  'YYYY-MM-DDTHH:mm:ss.SSS',
  // ISO 8601 in UTC, as fxflow's own CSV export and most JS/Python tools write it.
  'YYYY-MM-DDTHH:mm:ss.SSSZ',
  'YYYY-MM-DDTHH:mm:ssZ',
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
