import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { detectFormat } from '../../src/data/reader.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { sharedFile, SHARED_FOREX } from '../helpers/ctx.js';
import { fetchFailure, params, runFetch } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-formats-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, data: string | Buffer): string {
  writeFileSync(path.join(dir, name), data);
  return name;
}
const run = (p: FetchParams, pipelineDir = dir) => runFetch(p, pipelineDir);
const failure = (p: FetchParams, pipelineDir = dir) => fetchFailure(p, pipelineDir);

/** Naive reference reader of the HistData text: split on newlines and `;`, Date.UTC of the fields. */
function naiveHistdata(text: string): { t: number[]; close: number[] } {
  const t: number[] = [];
  const close: number[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.split(';');
    const s = f[0];
    t.push(Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11), +s.slice(11, 13), +s.slice(13, 15)));
    close.push(Number(f[4]));
  }
  return { t, close };
}

/** The first entry of a zip, via its local header (the reader under test uses the central directory). */
function unzipFirst(file: string): string {
  const b = readFileSync(file);
  const comp = b.readUInt32LE(18);
  const start = 30 + b.readUInt16LE(26) + b.readUInt16LE(28);
  return zlib.inflateRawSync(b.subarray(start, start + comp)).toString('latin1');
}

const MT4 = '2020.01.06,00:00,1.11710,1.11750,1.11650,1.11700,120\n2020.01.06,01:00,1.11700,1.11800,1.11690,1.11780,95\n';
const MT5 =
  '<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n2020.01.06\t00:00:00\t1.11710\t1.11750\t1.11650\t1.11700\t120\t0\t12\r\n2020.01.06\t01:00:00\t1.11700\t1.11800\t1.11690\t1.11780\t95\t0\t10\r\n';
const MON = Date.UTC(2020, 0, 6);
const H = 3_600_000;

describe('format fixtures (no real file of these layouts in the shared data)', () => {
  it('metatrader MT4 history export: no header, date and time fields', async () => {
    const { out } = await run(params({ path: write('mt4.csv', MT4), format: 'metatrader' }));
    expect(Array.from(out.index)).toEqual([MON, MON + H]);
    expect(Array.from(out.columns.open)).toEqual([1.1171, 1.117]);
    expect(Array.from(out.columns.close)).toEqual([1.117, 1.1178]);
    expect(Array.from(out.columns.volume)).toEqual([120, 95]);
  });

  it('metatrader MT5 Export Bars: tabs, <DATE> <TIME>, tick volume, CRLF', async () => {
    const { out } = await run(params({ path: write('mt5.csv', MT5), format: 'metatrader' }));
    expect(Array.from(out.index)).toEqual([MON, MON + H]);
    expect(Array.from(out.columns.high)).toEqual([1.1175, 1.118]);
    expect(Array.from(out.columns.volume)).toEqual([120, 95]);
  });

  it('generic with a column mapping and a time format', async () => {
    const f = write('gen.csv', 'when;bid_o;bid_h;bid_l;bid_c;ticks\n06/01/2020 00:00;1.1;1.2;1.0;1.15;7\n06/01/2020 01:00;1.15;1.16;1.14;1.145;8');
    const { out, ctx } = await run(
      params({
        path: f,
        format: 'generic',
        time_format: 'DD/MM/YYYY HH:mm',
        columns: { time: 'when', open: 'bid_o', high: 'bid_h', low: 'bid_l', close: 'bid_c', volume: 'ticks' },
      }),
    );
    expect(Array.from(out.index)).toEqual([MON, MON + H]);
    expect(Array.from(out.columns.close)).toEqual([1.15, 1.145]);
    expect(Array.from(out.columns.volume)).toEqual([7, 8]);
    expect(ctx.logs[0]).toContain('generic (header; time DD/MM/YYYY HH:mm)');
  });

  it('generic with epoch seconds', async () => {
    const f = write('unix.csv', `time,open,high,low,close\n${MON / 1000},1.1,1.2,1.0,1.15\n${MON / 1000 + 3600},1.15,1.16,1.14,1.145\n`);
    const { out } = await run(params({ path: f, format: 'generic', time_format: 'unix_s' }));
    expect(Array.from(out.index)).toEqual([MON, MON + H]);
  });

  it('a .gz file is read directly', async () => {
    const f = write('mt4.csv.gz', zlib.gzipSync(MT4));
    const { out, ctx } = await run(params({ path: f }));
    expect(Array.from(out.index)).toEqual([MON, MON + H]);
    expect(ctx.logs[0]).toContain('metatrader (MT4');
  });

  it('an unreadable value is an error naming file, line, column and the value', async () => {
    const f = write('badmt4.csv', MT4 + '2020.01.06,02:00,1.11780,1.1x,1.11700,1.11750,80\n');
    const e = await failure(params({ path: f }));
    expect(e.message).toBe('badmt4.csv:3: cannot read high "1.1x"');
    expect(e.loc).toEqual({ file: 'badmt4.csv', line: 3, col: 26 });
    expect(e.hint).toContain('decimal');
    const g = write('badtime.csv', MT4.replace('2020.01.06,01:00', '2020.01.06,25:00'));
    const e2 = await failure(params({ path: g }));
    expect(e2.message).toBe('badtime.csv:2: cannot read the time "25:00"');
  });

  it('auto detects every format from the first line', () => {
    const enc = (s: string) => Buffer.from(s);
    expect(detectFormat(enc(MT4))?.format).toBe('metatrader');
    expect(detectFormat(enc(MT5))?.format).toBe('metatrader');
    expect(detectFormat(enc('20190101 170200;1.145980;1.145990;1.145980;1.145980;0\n'))?.format).toBe('histdata');
    expect(detectFormat(enc('Gmt time,Open,High,Low,Close,Volume\r\n'))?.format).toBe('dukascopy');
    expect(detectFormat(enc('Timestamp,Open,High,Low,Close,Volume\n'))?.format).toBe('generic');
    expect(detectFormat(enc('1.1,1.2,1.0\n'))).toBeUndefined();
  });

  it('an undetectable file says so and asks for format:', async () => {
    const e = await failure(params({ path: write('nums.csv', '1.1,1.2,1.0,1.1\n') }));
    expect(e.message).toBe('nums.csv:1: cannot tell the format of "1.1,1.2,1.0,1.1"');
    expect(e.hint).toContain('format:');
  });
});

const hd2018 = sharedFile('HISTDATA_COM_ASCII_EURUSD_M12018.zip');
const hd2019 = sharedFile('HISTDATA_COM_ASCII_EURUSD_M12019.zip');
describe.skipIf(!hd2018 || !hd2019)('histdata on the real EURUSD M1 zips', () => {
  it('2018 (UTC clock as written): every row equals a naive split-and-Date.UTC reading of the zip entry', async () => {
    const ref = naiveHistdata(unzipFirst(hd2018!));
    expect(ref.t.length).toBe(372_607); // SOURCES.md
    const { out, ctx } = await run(params({ path: 'HISTDATA_COM_ASCII_EURUSD_M12018.zip', timeframe: '1m' }), SHARED_FOREX);
    expect(ctx.logs[0]).toContain('histdata');
    expect(out.index.length).toBe(372_607); // strictly increasing, no duplicates: nothing dropped
    expect(out.index).toEqual(Float64Array.from(ref.t));
    expect(out.columns.close).toEqual(Float64Array.from(ref.close));
    expect(out.columns.volume.every((v) => v === 0)).toBe(true); // SOURCES.md: always 0
  });

  it('a glob over both years concatenates them in time order (745,137 rows, unbroken at the year boundary)', async () => {
    const { out, ctx } = await run(params({ path: 'HISTDATA_COM_ASCII_EURUSD_M120*.zip', timeframe: '1m' }), SHARED_FOREX);
    expect(ctx.logs).toHaveLength(2);
    // 745,137 rows less the 60 repeated minutes of 2019-10-27 19:00-19:59 (SOURCES.md).
    expect(out.index.length).toBe(745_137 - 60);
    const i = out.index.indexOf(Date.UTC(2018, 11, 31, 16, 59));
    expect(out.index[i + 1]).toBe(Date.UTC(2019, 0, 1, 17, 2));
    expect(out.source).toBe('csv:HISTDATA_COM_ASCII_EURUSD_M12018.zip+1');
    // A list in the wrong order gives the same series.
    const { out: listed } = await run(
      params({ path: ['HISTDATA_COM_ASCII_EURUSD_M12019.zip', 'HISTDATA_COM_ASCII_EURUSD_M12018.zip'], timeframe: '1m' }),
      SHARED_FOREX,
    );
    expect(listed.index).toEqual(out.index);
  });
});

const duka = sharedFile('EURUSD_Candlestick_1_D_BID_15.12.2017-15.12.2020.csv');
describe.skipIf(!duka)('dukascopy on the real daily file (CRLF, no final newline)', () => {
  it('reads all 1,097 rows with DD.MM.YYYY HH:mm:ss.SSS times', async () => {
    const text = readFileSync(duka!, 'latin1');
    expect(text.endsWith('\n')).toBe(false);
    const lines = text.split('\r\n');
    const { out, ctx } = await run(params({ path: path.basename(duka!), timeframe: '1d' }), SHARED_FOREX);
    expect(ctx.logs[0]).toContain('dukascopy');
    expect(out.index.length).toBe(1_097);
    expect(lines.length - 1).toBe(1_097);
    const first = lines[1].split(',');
    expect(out.index[0]).toBe(Date.UTC(2017, 11, 15));
    expect(out.columns.open[0]).toBe(Number(first[1]));
    expect(out.columns.volume[0]).toBe(Number(first[5]));
    const last = lines[lines.length - 1].split(',');
    const [d, m, y] = last[0].slice(0, 10).split('.').map(Number);
    expect(out.index[1096]).toBe(Date.UTC(y, m - 1, d));
    expect(out.columns.close[1096]).toBe(Number(last[4]));
    // The 157 flat Saturday bars are data, not defects.
    const saturdays = Array.from(out.index).filter((t) => new Date(t).getUTCDay() === 6).length;
    expect(saturdays).toBe(157);
  });
});

const h4 = sharedFile('EURUSD_H4.csv');
const d1 = sharedFile('EURUSD_D1.csv');
describe.skipIf(!h4 || !d1)('generic (auto) on the real tab-separated H4 and D1 files without a final newline', () => {
  it('H4: 25,847 rows, last row read', async () => {
    const text = readFileSync(h4!, 'latin1');
    const lines = text.split('\n');
    const { out } = await run(params({ path: 'EURUSD_H4.csv', timeframe: '4h' }), SHARED_FOREX);
    expect(out.index.length).toBe(25_847);
    const last = lines[lines.length - 1].split('\t');
    expect(out.columns.close[out.index.length - 1]).toBe(Number(last[4]));
    expect(out.index[out.index.length - 1]).toBe(Date.UTC(2023, 8, 11, 8));
  });
  it('D1: 5,013 rows', async () => {
    const { out } = await run(params({ path: 'EURUSD_D1.csv', timeframe: '1d' }), SHARED_FOREX);
    expect(out.index.length).toBe(5_013);
    expect(out.index[0]).toBe(Date.UTC(2007, 8, 4));
  });
});
