import { daysFromCivil } from './csv.js';

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
  let width = 0;
  for (const s of segs) width += s.k === 'lit' ? 1 : s.w;
  const n = segs.length;
  const kinds = new Int8Array(n);
  const ws = new Int8Array(n);
  const lits = new Int32Array(n);
  const KI: Record<string, number> = { lit: 0, Y: 1, M: 2, D: 3, h: 4, m: 5, s: 6, f: 7 };
  segs.forEach((s, i) => {
    kinds[i] = KI[s.k];
    if (s.k === 'lit') lits[i] = s.c;
    else ws[i] = s.w;
  });
  // Memo of the last date: consecutive bars share it.
  let lastKey = -1;
  let lastDay = 0;
  return (buf, a, b) => {
    if (b - a !== width) {
      // A trailing Z (UTC designator) is tolerated.
      if (!(b - a === width + 1 && buf[b - 1] === 90)) return NaN;
    }
    let p = a;
    let y = 1970;
    let mo = 1;
    let d = 1;
    let ms = 0;
    for (let i = 0; i < n; i++) {
      const k = kinds[i];
      if (k === 0) {
        if (buf[p] !== lits[i]) return NaN;
        p++;
        continue;
      }
      const w = ws[i];
      let v = 0;
      for (let j = 0; j < w; j++) {
        const c = buf[p + j] - 48;
        if (c < 0 || c > 9) return NaN;
        v = v * 10 + c;
      }
      p += w;
      switch (k) {
        case 1: y = v; break;
        case 2: mo = v; break;
        case 3: d = v; break;
        case 4: if (v > 23) return NaN; ms += v * 3_600_000; break;
        case 5: if (v > 59) return NaN; ms += v * 60_000; break;
        case 6: if (v > 59) return NaN; ms += v * 1000; break;
        default: {
          // Fraction: keep whole milliseconds.
          ms += w >= 3 ? Math.floor(v / 10 ** (w - 3)) : v * 10 ** (3 - w);
        }
      }
    }
    const key = y * 10000 + mo * 100 + d;
    if (key !== lastKey) {
      if (mo < 1 || mo > 12 || d < 1) return NaN;
      const dim = mo === 2 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0) ? 29 : DIM[mo];
      if (d > dim) return NaN;
      lastKey = key;
      lastDay = daysFromCivil(y, mo, d) * 86_400_000;
    }
    return lastDay + ms;
  };
}

/** Date-time patterns tried, in order, when a file's timestamp format is not given. */
export const KNOWN_PATTERNS = [
  'YYYY-MM-DD HH:mm:ss',
  'YYYY-MM-DD HH:mm',
  'YYYY-MM-DDTHH:mm:ss',
  'YYYY-MM-DDTHH:mm',
  'YYYY-MM-DD HH:mm:ss.SSS',
  'YYYY-MM-DDTHH:mm:ss.SSS',
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
  if (a === b) return NaN;
  let p = a;
  let neg = false;
  const c0 = buf[p];
  if (c0 === 45 || c0 === 43) {
    neg = c0 === 45;
    p++;
  }
  const digitsFrom = p;
  let mant = 0;
  let nd = 0;
  let frac = -1;
  for (; p < b; p++) {
    const c = buf[p];
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      if (mant > 0 || frac >= 0) nd++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) {
      frac = 0;
    } else break;
  }
  const sawDigit = p - digitsFrom > (frac >= 0 ? 1 : 0);
  if (p === b && sawDigit && nd <= 15 && frac <= 22) {
    const v = frac > 0 ? mant / POW10[frac] : mant;
    return neg ? -v : v;
  }
  const text = latin1.decode(buf.subarray(a, b));
  const lower = text.toLowerCase();
  if (lower === 'nan' || lower === 'null' || lower === 'na') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}
