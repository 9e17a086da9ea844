import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunError } from '../../src/core/diagnostics.js';
import { parseTimestamp, readHeaderCsv } from '../../src/data/csv.js';
import { sharedFile } from '../helpers/ctx.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-csv-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function failure(file: string): Promise<RunError> {
  try {
    await readHeaderCsv(file);
  } catch (e) {
    expect(e).toBeInstanceOf(RunError);
    return e as RunError;
  }
  throw new Error(`expected ${file} to fail`);
}

// 2020-01-06 (a Monday) is 18267 days after 1970-01-01: 50 years of 365 days = 18250, plus the 12
// leap days 1972..2016, plus 5 days into January.
const MON = 18267 * 86_400_000;
const H = 3_600_000;

describe('parseTimestamp', () => {
  it('parses the accepted forms as UTC', () => {
    expect(Date.UTC(2020, 0, 6)).toBe(MON); // cross-check of the hand count above
    expect(parseTimestamp('2020-01-06 03:00:00')).toBe(MON + 3 * H);
    expect(parseTimestamp('2020-01-06 03:00')).toBe(MON + 3 * H);
    expect(parseTimestamp('2020-01-06')).toBe(MON);
    expect(parseTimestamp('2020.01.06 03:30')).toBe(MON + 3 * H + 30 * 60_000);
    expect(parseTimestamp('2020-01-06T03:00:05Z')).toBe(MON + 3 * H + 5000);
    expect(parseTimestamp('06.01.2020 03:00:00.250')).toBe(MON + 3 * H + 250);
    // 2000 is a leap year (divisible by 400), 1900 is not.
    expect(parseTimestamp('2000-02-29')).toBe(Date.UTC(2000, 1, 29));
    expect(parseTimestamp('1969-12-31 23:00')).toBe(-H);
  });

  it('refuses impossible or malformed timestamps', () => {
    for (const bad of ['2020-13-01', '2020-02-30', '1900-02-29', '2020-01-06 24:00', '2020-01-06 12:60', '20200106', '2020-1-6', '2020-01-06 3:00', 'x', '']) {
      expect(parseTimestamp(bad), bad).toBeNaN();
    }
  });
});

describe('readHeaderCsv on small fixtures', () => {
  it('reads a comma file with LF and a final newline', async () => {
    const f = write('basic.csv', 'Timestamp,Open,High,Low,Close,Volume\n2020-01-06 00:00:00,1.1,1.2,1.0,1.15,10\n2020-01-06 01:00:00,1.15,1.16,1.14,1.145,20\n');
    const { frame, quality } = await readHeaderCsv(f);
    expect(Array.from(frame.index)).toEqual([MON, MON + H]);
    expect(Array.from(frame.columns.open)).toEqual([1.1, 1.15]);
    expect(Array.from(frame.columns.high)).toEqual([1.2, 1.16]);
    expect(Array.from(frame.columns.low)).toEqual([1.0, 1.14]);
    expect(Array.from(frame.columns.close)).toEqual([1.15, 1.145]);
    expect(Array.from(frame.columns.volume)).toEqual([10, 20]);
    expect(quality).toEqual([]);
  });

  it('reads CRLF line endings', async () => {
    const f = write('crlf.csv', 'timestamp,open,high,low,close,volume\r\n2020-01-06 00:00,1.1,1.2,1.0,1.15,10\r\n2020-01-06 01:00,1.15,1.16,1.14,1.145,20\r\n');
    const { frame } = await readHeaderCsv(f);
    expect(Array.from(frame.index)).toEqual([MON, MON + H]);
    expect(Array.from(frame.columns.volume)).toEqual([10, 20]);
  });

  it('reads a tab file without a final newline, and a semicolon file', async () => {
    const tab = write('tab.csv', 'Time\tOpen\tHigh\tLow\tClose\tVolume\n2020-01-06 00:00:00\t1.1\t1.2\t1.0\t1.15\t10\n2020-01-06 04:00:00\t1.15\t1.16\t1.14\t1.145\t20');
    const a = await readHeaderCsv(tab);
    expect(Array.from(a.frame.index)).toEqual([MON, MON + 4 * H]);
    expect(Array.from(a.frame.columns.close)).toEqual([1.15, 1.145]);
    const semi = write('semi.csv', 'Date;Open;High;Low;Close\n2020.01.06 00:00;1.1;1.2;1.0;1.15\n');
    const b = await readHeaderCsv(semi);
    expect(Array.from(b.frame.index)).toEqual([MON]);
    // No Volume column: volume is NaN ("no value").
    expect(b.frame.columns.volume[0]).toBeNaN();
  });

  it('combines separate Date and Time columns, any column order, quoted fields', async () => {
    const f = write('datetime.csv', '"Close","Date","Time","Open","High","Low"\n"1.15","2020-01-06","03:00","1.1","1.2","1.0"\n');
    const { frame } = await readHeaderCsv(f);
    expect(frame.index[0]).toBe(MON + 3 * H);
    expect(frame.columns.open[0]).toBe(1.1);
    expect(frame.columns.close[0]).toBe(1.15);
  });

  it('drops all-zero and empty-price rows with a zero_rows note naming the first line', async () => {
    const f = write(
      'zeros.csv',
      ['Timestamp,Open,High,Low,Close,Volume', '2020-01-06 00:00,1.1,1.2,1.0,1.15,10', '2020-01-06 01:00,0,0,0,0,0', '2020-01-06 02:00,1.1,1.2,1.0,1.15,10', '2020-01-06 03:00,,,,,', '2020-01-06 04:00,0,0,0,0,0', ''].join('\n'),
    );
    const { frame, quality } = await readHeaderCsv(f);
    expect(Array.from(frame.index)).toEqual([MON, MON + 2 * H]);
    // Line 1 is the header, so the 01:00 row is line 3.
    expect(quality).toEqual([{ kind: 'zero_rows', count: 3, action: 'drop', detail: 'first at line 3' }]);
  });

  it('keeps the last of duplicate timestamps, with a note', async () => {
    const f = write('dup.csv', 'Timestamp,Open,High,Low,Close\n2020-01-06 00:00,1.1,1.2,1.0,1.15\n2020-01-06 01:00,1.1,1.2,1.0,1.11\n2020-01-06 01:00,1.1,1.2,1.0,1.12\n2020-01-06 02:00,1.1,1.2,1.0,1.13\n');
    const { frame, quality } = await readHeaderCsv(f);
    expect(Array.from(frame.index)).toEqual([MON, MON + H, MON + 2 * H]);
    expect(Array.from(frame.columns.close)).toEqual([1.15, 1.12, 1.13]);
    expect(quality).toEqual([{ kind: 'duplicate_timestamps', count: 1, action: 'keep_last', detail: 'first at line 4' }]);
  });

  it('a timestamp going backwards is an error naming the file, line and value', async () => {
    const f = write('back.csv', 'Timestamp,Open,High,Low,Close\n2020-01-06 00:00,1.1,1.2,1.0,1.15\n2020-01-06 02:00,1.1,1.2,1.0,1.15\n2020-01-06 01:00,1.1,1.2,1.0,1.15\n');
    const e = await failure(f);
    expect(e.message).toContain(`${f}:4`);
    expect(e.message).toContain('2020-01-06 01:00');
    expect(e.message).toMatch(/backwards/);
    expect(e.loc).toEqual({ file: f, line: 4, col: 1 });
    expect(e.hint).toMatch(/sort/);
  });

  it('an unparseable number is an error with file:line and the text', async () => {
    const f = write('badnum.csv', 'Timestamp,Open,High,Low,Close\r\n2020-01-06 00:00,1.1,1.2,1.0,1.15\r\n2020-01-06 01:00,1.1,1.2x,1.0,1.15\r\n');
    const e = await failure(f);
    expect(e.message).toContain(`${f}:3`);
    expect(e.message).toContain('"1.2x"');
    expect(e.message).toContain('high');
    // Column of the field: "2020-01-06 01:00," is 17 characters, "1.1," 4 more → column 22.
    expect(e.loc).toEqual({ file: f, line: 3, col: 22 });
  });

  it('an unparseable timestamp is an error with file:line and the text', async () => {
    const f = write('badts.csv', 'Timestamp,Open,High,Low,Close\n2020-01-06 00:00,1.1,1.2,1.0,1.15\n2020-02-31 00:00,1.1,1.2,1.0,1.15\n');
    const e = await failure(f);
    expect(e.message).toContain(`${f}:3`);
    expect(e.message).toContain('"2020-02-31 00:00"');
  });

  it('OHLC violations and non-positive prices are errors naming the line and value', async () => {
    const hi = await failure(write('hi.csv', 'Timestamp,Open,High,Low,Close\n2020-01-06 00:00,1.1,1.12,1.0,1.15\n'));
    expect(hi.message).toContain(':2:');
    expect(hi.message).toContain('high 1.12');
    expect(hi.message).toContain('1.15');
    const lo = await failure(write('lo.csv', 'Timestamp,Open,High,Low,Close\n2020-01-06 00:00,1.1,1.2,1.0,1.15\n2020-01-06 01:00,1.1,1.2,1.11,1.15\n'));
    expect(lo.message).toContain(':3:');
    expect(lo.message).toContain('low 1.11');
    const neg = await failure(write('neg.csv', 'Timestamp,Open,High,Low,Close\n2020-01-06 00:00,1.1,1.2,-1,1.15\n'));
    expect(neg.message).toContain('low -1 is not a positive price');
    const partial = await failure(write('partial.csv', 'Timestamp,Open,High,Low,Close\n2020-01-06 00:00,1.1,,1.0,1.15\n'));
    expect(partial.message).toContain('high is missing');
  });

  it('a header without the needed columns lists what it found and what is expected', async () => {
    const e = await failure(write('cols.csv', 'When,O,High,Low,Close\n2020-01-06 00:00,1.1,1.2,1.0,1.15\n'));
    expect(e.message).toContain('missing columns Timestamp, Open');
    expect(e.message).toContain('"When", "O", "High", "Low", "Close"');
    expect(e.hint).toMatch(/Timestamp.*Open, High, Low, Close/);
  });

  it('a row with the wrong number of fields is an error with its line', async () => {
    const e = await failure(write('fields.csv', 'Timestamp,Open,High,Low,Close\n2020-01-06 00:00,1.1,1.2,1.0\n'));
    expect(e.message).toContain(':2:');
    expect(e.message).toContain('expected 5 fields');
  });

  it('a missing file is a RunError naming it', async () => {
    const missing = path.join(dir, 'nope.csv');
    const e = await failure(missing);
    expect(e.message).toContain(missing);
  });
});

/**
 * An independent reading of a real file for comparison: split on lines and the delimiter, Number()
 * for values, Date.UTC for `YYYY-MM-DD HH:MM:SS` — none of the code under test.
 */
function naiveRead(file: string, delim: string): { t: number[]; o: number[]; h: number[]; l: number[]; c: number[]; v: number[] } {
  const lines = readFileSync(file, 'utf8').split('\n').slice(1).filter((s) => s.trim() !== '');
  const out = { t: [] as number[], o: [] as number[], h: [] as number[], l: [] as number[], c: [] as number[], v: [] as number[] };
  for (const line of lines) {
    const f = line.replace(/\r$/, '').split(delim);
    const [d, tm] = f[0].split(' ');
    const [y, mo, da] = d.split('-').map(Number);
    const [hh, mi, ss] = tm.split(':').map(Number);
    const prices = f.slice(1, 5).map(Number);
    if (prices.every((p) => p === 0)) continue;
    out.t.push(Date.UTC(y, mo - 1, da, hh, mi, ss));
    out.o.push(prices[0]);
    out.h.push(prices[1]);
    out.l.push(prices[2]);
    out.c.push(prices[3]);
    out.v.push(Number(f[5]));
  }
  return out;
}

const h1 = sharedFile('EURUSD_H1.csv');
describe.skipIf(!h1)('readHeaderCsv on the real EURUSD_H1.csv', () => {
  it('has 50,063 data rows; drops the 63 trailing zero rows → 50,000 bars', async () => {
    const raw = readFileSync(h1!, 'utf8');
    const lines = raw.split('\n').filter((s) => s !== '');
    expect(lines.length - 1).toBe(50_063);
    const { frame, quality } = await readHeaderCsv(h1!);
    expect(frame.index.length).toBe(50_000);
    // Zero rows start right after the last real bar: header (line 1) + 50,000 bars → line 50,002.
    expect(quality).toEqual([{ kind: 'zero_rows', count: 63, action: 'drop', detail: 'first at line 50002' }]);
  });

  it('first bar is 2012-12-19 03:00 UTC with open 1.32495 (as in the raw text); last kept bar 2020-12-29 08:00', async () => {
    const raw = readFileSync(h1!, 'utf8').split('\n');
    expect(raw[1].startsWith('2012-12-19 03:00:00,1.32495,')).toBe(true);
    const { frame } = await readHeaderCsv(h1!);
    expect(frame.index[0]).toBe(Date.UTC(2012, 11, 19, 3, 0, 0));
    expect(frame.columns.open[0]).toBe(1.32495);
    expect(frame.columns.high[0]).toBe(Number(raw[1].split(',')[2]));
    expect(frame.index[49_999]).toBe(Date.UTC(2020, 11, 29, 8, 0, 0));
    expect(raw[50_000].startsWith('2020-12-29 08:00:00,')).toBe(true);
  });

  it('every value equals an independent naive reading of the file', async () => {
    const ref = naiveRead(h1!, ',');
    const { frame } = await readHeaderCsv(h1!);
    expect(Array.from(frame.index)).toEqual(ref.t);
    expect(Array.from(frame.columns.open)).toEqual(ref.o);
    expect(Array.from(frame.columns.high)).toEqual(ref.h);
    expect(Array.from(frame.columns.low)).toEqual(ref.l);
    expect(Array.from(frame.columns.close)).toEqual(ref.c);
    expect(Array.from(frame.columns.volume)).toEqual(ref.v);
  });
});

const h4 = sharedFile('EURUSD_H4.csv');
describe.skipIf(!h4)('readHeaderCsv on the real tab-separated EURUSD_H4.csv', () => {
  it('loads 25,847 rows (no final newline) equal to a naive reading', async () => {
    const raw = readFileSync(h4!, 'utf8');
    expect(raw.endsWith('\n')).toBe(false);
    const { frame, quality } = await readHeaderCsv(h4!);
    expect(frame.index.length).toBe(25_847);
    expect(quality).toEqual([]);
    const ref = naiveRead(h4!, '\t');
    expect(Array.from(frame.index)).toEqual(ref.t);
    expect(Array.from(frame.columns.close)).toEqual(ref.c);
    expect(Array.from(frame.columns.volume)).toEqual(ref.v);
    expect(frame.index[0]).toBe(Date.UTC(2007, 8, 4, 4, 0, 0));
    expect(frame.index[25_846]).toBe(Date.UTC(2023, 8, 11, 8, 0, 0));
  });
});

const duka = sharedFile('EURUSD_Candlestick_1_D_BID_15.12.2017-15.12.2020.csv');
describe.skipIf(!duka)('readHeaderCsv on the Dukascopy daily export', () => {
  it('reads `Gmt time` day-first timestamps, CRLF, no final newline: 1,097 bars', async () => {
    const { frame } = await readHeaderCsv(duka!);
    expect(frame.index.length).toBe(1097);
    expect(frame.index[0]).toBe(Date.UTC(2017, 11, 15));
    expect(frame.index[1096]).toBe(Date.UTC(2020, 11, 15));
    expect(frame.columns.open[0]).toBe(1.17745);
  });
});
