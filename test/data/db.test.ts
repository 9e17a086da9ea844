import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { RunError } from '../../src/core/diagnostics.js';
import fetch from '../../src/steps/fetch/index.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { testContext } from '../helpers/ctx.js';
import { params } from './helpers.js';

const H = 3_600_000;
const DAY = 24 * H;
// 10 days of hourly EURUSD and GBPUSD bars from Monday 2020-01-06 00:00 UTC, and 5 of EURUSD H4.
const T0 = Date.UTC(2020, 0, 6);
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-db-'));
  const inst = await DuckDBInstance.create(path.join(dir, 'market.duckdb'));
  const con = await inst.connect();
  await con.run(`CREATE TABLE candles (symbol VARCHAR, timeframe VARCHAR, ts TIMESTAMP, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE)`);
  await con.run(
    `INSERT INTO candles SELECT 'EURUSD', 'H1', TIMESTAMP '2020-01-06' + INTERVAL (i) HOUR, 1 + i / 1000, 1.01 + i / 1000, 0.99 + i / 1000, 1.005 + i / 1000, i FROM range(240) t(i)`,
  );
  await con.run(`INSERT INTO candles SELECT 'GBPUSD', 'H1', TIMESTAMP '2020-01-06' + INTERVAL (i) HOUR, 2, 2.1, 1.9, 2.05, 0 FROM range(240) t(i)`);
  await con.run(`INSERT INTO candles SELECT 'EURUSD', 'H4', TIMESTAMP '2020-01-06' + INTERVAL (4 * i) HOUR, 3, 3.1, 2.9, 3.05, 0 FROM range(30) t(i)`);
  // A file outside the database, and views that read it: the database must not reach it.
  writeFileSync(path.join(dir, 'secret.txt'), 'TOPSECRET-1\n');
  writeFileSync(path.join(dir, 'secret.csv'), 'ts,price\n2020-01-06 00:00:00,1.2345\n2020-01-06 01:00:00,1.2346\n');
  const ohlc = (p: string) => `${p} AS open, ${p} AS high, ${p} AS low, ${p} AS "close"`;
  await con.run(
    `CREATE VIEW leak_text AS SELECT 'EURUSD' AS symbol, TIMESTAMP '2020-01-06' AS ts, ${ohlc('content')} FROM read_text('${path.join(dir, 'secret.txt')}')`,
  );
  await con.run(`CREATE VIEW leak_csv AS SELECT 'EURUSD' AS symbol, ts::TIMESTAMP AS ts, ${ohlc('price')} FROM read_csv('${path.join(dir, 'secret.csv')}')`);
  await con.run(`CREATE VIEW own_rows AS SELECT * FROM candles WHERE timeframe = 'H1'`);
  await con.run(
    `COPY (SELECT ts, open, high, low, close, volume FROM candles WHERE symbol = 'EURUSD' AND timeframe = 'H1') TO '${path.join(dir, 'eurusd.parquet')}' (FORMAT parquet)`,
  );
  con.closeSync();
  inst.closeSync();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const db = (extra: Partial<FetchParams> = {}) => params({ source: 'duckdb', path: 'market.duckdb', table: 'candles', ...extra });
const run = (p: FetchParams) => fetch.run({}, p, testContext({ pipelineDir: dir }));

async function rowCount(): Promise<number> {
  const inst = await DuckDBInstance.create(path.join(dir, 'market.duckdb'), { access_mode: 'READ_ONLY' });
  const con = await inst.connect();
  const r = await con.runAndReadAll('SELECT count(*)::INTEGER FROM candles');
  const n = Number(r.getRows()[0][0]);
  con.closeSync();
  inst.closeSync();
  return n;
}

describe('fetch from a DuckDB table', () => {
  it("selects by symbol and timeframe (1h matches the table's H1)", async () => {
    const out = await run(db());
    expect(out.index.length).toBe(240);
    expect(out.index[0]).toBe(T0);
    expect(out.columns.close[0]).toBe(1.005);
    expect(out.columns.close[239]).toBe(1.005 + 239 / 1000);
    expect(out.source).toBe('duckdb:market.duckdb:candles');
    const gbp = await run(db({ symbol: 'GBPUSD' }));
    expect(Array.from(new Set(gbp.columns.close))).toEqual([2.05]);
    const h4 = await run(db({ timeframe: '4h' }));
    expect(h4.index.length).toBe(30);
  });

  it('days: N back from the latest bar', async () => {
    const out = await run(db({ days: 2 }));
    // Latest bar: T0 + 239 h. Two days back: T0 + 191 h .. T0 + 239 h, 49 bars.
    expect(out.index.length).toBe(49);
    expect(out.index[0]).toBe(T0 + 191 * H);
  });

  it('from/to', async () => {
    const out = await run(db({ from: '2020-01-07', to: '2020-01-08' }));
    expect(out.index.length).toBe(24);
    expect(out.index[0]).toBe(T0 + DAY);
  });

  it('an injection attempt in symbol selects no rows and executes nothing', async () => {
    for (const symbol of ["EURUSD' OR '1'='1", "x'; DROP TABLE candles; --", 'EURUSD" OR 1=1 --']) {
      let err: unknown;
      try {
        await run(db({ symbol }));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RunError);
      expect((err as RunError).message).toContain('no bars in table candles');
      expect((err as RunError).message).toContain(`symbol = ${symbol}`);
    }
    expect(await rowCount()).toBe(240 + 240 + 30);
  });

  it('table names are identifiers only (check), and a missing table lists the ones there', async () => {
    expect(fetch.check!(db({ table: 'candles; DROP TABLE candles' })).map((i) => i.path)).toEqual([['table']]);
    expect(fetch.check!(db({ table: undefined })).map((i) => i.message)).toEqual(['source `duckdb` needs a `table`']);
    await expect(run(db({ table: 'bars' }))).rejects.toThrow('table "bars" not found');
  });
});

describe('a DuckDB data file is data, not code', () => {
  async function failure(p: FetchParams): Promise<RunError> {
    try {
      await run(p);
    } catch (e) {
      if (e instanceof RunError) return e;
      throw e;
    }
    throw new Error('fetch read a view that reads a file outside the database');
  }

  it("a view calling read_text on a file outside is refused, and the file's content never shows", async () => {
    const e = await failure(db({ table: 'leak_text', timeframe: '1h' }));
    expect(e.message).toContain('cannot read table "leak_text"');
    expect(e.message).toContain('reaches outside the data file');
    expect(e.hint).toContain('external access off');
    expect(`${e.message} ${e.hint}`).not.toContain('TOPSECRET');
  });

  it('a view reading a CSV through read_csv is refused too', async () => {
    const e = await failure(db({ table: 'leak_csv', timeframe: '1h' }));
    expect(e.message).toContain('cannot read table "leak_csv"');
    expect(e.message).toContain('reaches outside the data file');
    expect(`${e.message} ${e.hint}`).not.toContain('1.2345');
  });

  it("a view over the database's own tables still reads", async () => {
    const out = await run(db({ table: 'own_rows' }));
    expect(out.index.length).toBe(240);
    expect(out.columns.close[0]).toBe(1.005);
  });
});

describe('fetch from Parquet', () => {
  it('reads a Parquet file through DuckDB (path bound as a parameter)', async () => {
    const out = await run(params({ source: 'parquet', path: 'eurusd.parquet' }));
    expect(out.index.length).toBe(240);
    expect(out.columns.open[10]).toBe(1.01);
    expect(out.source).toBe('parquet:eurusd.parquet');
  });

  it('reads a Parquet file whose name has a quote (the path that access is allowed to is escaped)', async () => {
    copyFileSync(path.join(dir, 'eurusd.parquet'), path.join(dir, "it's.parquet"));
    const out = await run(params({ source: 'parquet', path: "it's.parquet" }));
    expect(out.index.length).toBe(240);
  });
});
