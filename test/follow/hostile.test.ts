/**
 * A followed file that does not just grow: a change before its end or a shorter file is read
 * afresh (and then equals the fetch step's full read), an appended row earlier than the last bar
 * is an error naming its line, and a repeated last timestamp is read afresh (the duplicates policy
 * rewrites the last bar). Real HistData EURUSD M1 (2019), its first 20,000 lines.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Candles } from '../../src/core/artifacts.js';
import { RunError } from '../../src/core/diagnostics.js';
import { unpack } from '../../src/data/files.js';
import fetchStep from '../../src/steps/fetch/index.js';
import { FetchFollower } from '../../src/steps/fetch/follow.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { sharedFile, testContext } from '../helpers/ctx.js';

const z19 = sharedFile('HISTDATA_COM_ASCII_EURUSD_M12019.zip');

const QUALITY = {
  zero_rows: 'drop',
  nonpositive: 'error',
  ohlc: 'error',
  backwards: 'sort',
  duplicates: 'keep-last',
  gaps: 'warn',
  clock: 'warn',
  max_gap: '1h',
} as const;
const params = (file: string, maxGap = '1h'): FetchParams => ({
  source: 'csv',
  path: file,
  format: 'auto',
  symbol: 'EURUSD',
  timeframe: '1m',
  day_close: 'ny17',
  quality: { ...QUALITY, max_gap: maxGap },
  bars: 20000,
});

async function fullRead(file: string, maxGap = '1h'): Promise<Candles> {
  return (await fetchStep.run({}, params(file, maxGap), testContext({ pipelineDir: path.dirname(file) }))) as Candles;
}

function expectSame(a: Candles, b: Candles): void {
  expect(a.index.length).toBe(b.index.length);
  for (const [x, y] of [[a.index, b.index], ...['open', 'high', 'low', 'close', 'volume'].map((k) => [a.columns[k], b.columns[k]])]) {
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) expect.fail(`row ${i}: ${x[i]} vs ${y[i]}`);
  }
  expect(a.quality).toEqual(b.quality);
}

describe.skipIf(!z19).each(['full', 'ends'] as const)('a followed file that changes otherwise (verify: %s)', (verify) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-follow-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const all = unpack(z19!, readFileSync(z19!))[0].bytes;
  const lines = Buffer.from(all).toString('latin1').split('\n').slice(0, 20_000);
  const text = (ls: string[]) => Buffer.from(ls.map((l) => `${l}\n`).join(''), 'latin1');
  let k = 0;
  const fresh = (ls: string[]): string => {
    const file = path.join(dir, `f${k++}.csv`);
    writeFileSync(file, text(ls));
    return file;
  };

  it('a changed price before the end is read afresh and equals a full read', async () => {
    const file = fresh(lines.slice(0, 15_000));
    const f = new FetchFollower(params(file), file, verify);
    const edited = lines.slice(0, 15_100);
    // In the last 64 KiB of the old bytes, which `ends` compares too (`full` compares all).
    const fields = edited[14_500].split(';');
    fields[4] = (Number(fields[4]) + 0.00001).toFixed(6); // the close, with high and low kept around it
    fields[2] = String(Math.max(Number(fields[2]), Number(fields[4])));
    fields[3] = String(Math.min(Number(fields[3]), Number(fields[4])));
    edited[14_500] = fields.join(';');
    writeFileSync(file, text(edited));
    const u = f.update();
    expect(u.status).toBe('restart');
    expect(u.why).toMatch(/changed before its end/);
    expectSame(f.candles(), await fullRead(file));
    expect(f.candles().columns.close[14_500]).not.toBe(Number(lines[14_500].split(';')[4]));
  });

  it('a truncated file is read afresh and equals a full read', async () => {
    const file = fresh(lines.slice(0, 15_000));
    const f = new FetchFollower(params(file), file, verify);
    writeFileSync(file, text(lines.slice(0, 12_000)));
    const u = f.update();
    expect(u.status).toBe('restart');
    expect(u.why).toMatch(/shorter/);
    expect(f.candles().index.length).toBe((await fullRead(file)).index.length);
    expectSame(f.candles(), await fullRead(file));
  });

  it('an appended row earlier than the last bar is an error naming its line', () => {
    const file = fresh(lines.slice(0, 15_000));
    const f = new FetchFollower(params(file), file, verify);
    appendFileSync(file, text([lines[15_000], lines[14_000]]));
    let err: unknown;
    try {
      f.update();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).message).toMatch(/^f\d+\.csv:15002: appended row at .* is earlier than the bar before it \(.* line 15001\)$/);
    expect((err as RunError).hint).toMatch(/time order/);
  });

  it('a row repeating the last bar’s time is read afresh (keep-last rewrites that bar)', async () => {
    const file = fresh(lines.slice(0, 15_000));
    const f = new FetchFollower(params(file), file, verify);
    const fields = lines[14_999].split(';');
    fields[5] = '7'; // volume
    appendFileSync(file, text([fields.join(';'), lines[15_000]]));
    expect(f.update().status).toBe('restart');
    expectSame(f.candles(), await fullRead(file));
  });

  it('bars appended in several pieces equal a full read, quality notes included', async () => {
    // 20-minute holes cut in the old rows and in the new ones: gap notes from both.
    const holed = lines.filter((_, i) => !((i >= 5_000 && i < 5_020) || (i >= 15_000 && i < 15_020)));
    const file = fresh(holed.slice(0, 10_000));
    const f = new FetchFollower(params(file, '15m'), file, verify);
    for (const [a, b] of [
      [10_000, 10_001],
      [10_001, 13_000],
      [13_000, 19_960],
    ]) {
      appendFileSync(file, text(holed.slice(a, b)));
      expect(f.update()).toEqual({ status: 'appended', added: b - a });
      expectSame(f.candles(), await fullRead(file, '5m'));
    }
    expect(f.candles().quality?.find((q) => q.kind === 'gaps')?.count).toBeGreaterThanOrEqual(2);
  });
});
