import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Candles } from '../../src/core/artifacts.js';
import { RunError } from '../../src/core/diagnostics.js';
import { readPg, redact } from '../../src/data/pg.js';
import fetch from '../../src/steps/fetch/index.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { sharedFile, testContext } from '../helpers/ctx.js';
import { params } from './helpers.js';
import { copyIn, histdataMonth, newSchema, PG_URL, pgClient, pgUnavailable, sameBits, tempFile } from './postgres-helpers.js';

/**
 * The `postgres` source against a live server, on February 2019 of HistData's EURUSD M1 (and
 * GBPUSD, to select from) COPY'd into a fresh schema. The reference is the same month's lines read
 * by the csv source: an independent path (text parsing in fxflow vs PostgreSQL's own parsing and
 * binary COPY), so equal frames bit for bit mean the postgres path loses nothing.
 */

const why = await pgUnavailable();
if (why) console.warn(`[skip] no PostgreSQL server at ${redact(PG_URL, PG_URL)} (${why}): the postgres source's tests are skipped`);
const eurZip = 'HISTDATA_COM_ASCII_EURUSD_M12019.zip';
const haveData = sharedFile(eurZip) !== undefined && sharedFile('HISTDATA_COM_ASCII_GBPUSD_M12019.zip') !== undefined;

const ENV = 'FXFLOW_TEST_PG_SOURCE_URL';
const schema = newSchema();
let c: pg.Client;
let csvFile: string;

const pgParams = (extra: Partial<FetchParams> = {}) =>
  params({ source: 'postgres', url_env: ENV, table: `${schema}.candles`, timeframe: '1m', timezone: 'America/New_York', ...extra });
const csvParams = (extra: Partial<FetchParams> = {}) =>
  params({ source: 'csv', path: csvFile, format: 'histdata', timeframe: '1m', timezone: 'America/New_York', ...extra });
const run = (p: FetchParams) => fetch.run({}, p, testContext());
const fingerprint = async (p: FetchParams): Promise<unknown> => fetch.fingerprint!(p, { pipelineDir: process.cwd(), resolvePath: (x) => x });

async function failure(p: Promise<unknown>): Promise<RunError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RunError);
  return e as RunError;
}

function expectSameFrame(a: Candles, b: Candles): void {
  expect(a.index.length).toBeGreaterThan(0);
  expect(a.index.length).toBe(b.index.length);
  expect(sameBits(a.index, b.index)).toBe(true);
  for (const k of ['open', 'high', 'low', 'close', 'volume'] as const) expect(sameBits(a.columns[k], b.columns[k]), k).toBe(true);
}

describe.skipIf(why !== null || !haveData)('source: postgres, against a live server', () => {
  beforeAll(async () => {
    process.env[ENV] = PG_URL;
    const eur = await histdataMonth(eurZip, '201902');
    const gbp = await histdataMonth('HISTDATA_COM_ASCII_GBPUSD_M12019.zip', '201902');
    csvFile = tempFile('EURUSD_M1_201902.csv', eur);
    c = await pgClient();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(
      `CREATE TABLE ${schema}.candles (symbol text NOT NULL, timeframe text NOT NULL DEFAULT 'M1', ts timestamp NOT NULL, open double precision, high double precision, low double precision, close double precision, volume double precision)`,
    );
    await c.query(`ALTER TABLE ${schema}.candles ALTER COLUMN symbol SET DEFAULT 'EURUSD'`);
    await copyIn(c, `COPY ${schema}.candles (ts, open, high, low, close, volume) FROM STDIN (FORMAT csv, DELIMITER ';')`, eur);
    await c.query(`ALTER TABLE ${schema}.candles ALTER COLUMN symbol SET DEFAULT 'GBPUSD'`);
    await copyIn(c, `COPY ${schema}.candles (ts, open, high, low, close, volume) FROM STDIN (FORMAT csv, DELIMITER ';')`, gbp);
    // A table of instants (timestamptz, converted by PostgreSQL from New York time), numeric
    // prices, other column names, no timeframe column.
    await c.query(
      `CREATE TABLE ${schema}.quotes AS SELECT symbol AS pair, ts AT TIME ZONE 'America/New_York' AS ts_utc, open::numeric(12, 6) AS open, high::numeric(12, 6) AS high, low::numeric(12, 6) AS low, close::numeric(12, 6) AS close, volume::bigint AS tick_volume FROM ${schema}.candles ORDER BY symbol, random()`,
    );
  }, 60_000);
  afterAll(async () => {
    await c?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c?.end();
    delete process.env[ENV];
  });

  it('a naive timestamp table in New York time equals the same month read by the csv source, bit for bit', async () => {
    const ctx = testContext();
    const got = await fetch.run({}, pgParams(), ctx);
    const want = await run(csvParams());
    expectSameFrame(got, want);
    expect(got.source).toBe(`postgres:${schema}.candles`);
    expect(ctx.logs.join('\n')).toContain('postgres: selected');
    // Rows in PostgreSQL: EURUSD only (GBPUSD is in the same table).
    const n = await c.query(`SELECT count(*)::int AS n FROM ${schema}.candles WHERE symbol = 'EURUSD'`);
    expect(got.index.length).toBe(n.rows[0].n);
  });

  it('timestamptz + numeric columns, found by their names (ts_utc, pair, tick_volume), give the same frame', async () => {
    const got = await run(pgParams({ table: `${schema}.quotes`, timezone: undefined }));
    expectSameFrame(got, await run(csvParams()));
  });

  it('epoch-second time column and NULL volumes (read as NaN): the same bars', async () => {
    await c.query(
      `CREATE TABLE ${schema}.epochs AS SELECT symbol, extract(epoch FROM ts AT TIME ZONE 'America/New_York')::bigint AS "time", open, high, low, close, CASE WHEN extract(minute FROM ts)::int % 10 = 0 THEN NULL ELSE volume END AS volume FROM ${schema}.candles`,
    );
    const got = await run(pgParams({ table: `${schema}.epochs`, timezone: undefined }));
    const want = await run(csvParams());
    expect(sameBits(got.index, want.index)).toBe(true);
    for (const k of ['open', 'high', 'low', 'close'] as const) expect(sameBits(got.columns[k], want.columns[k]), k).toBe(true);
    const v = got.columns.volume;
    for (let i = 0; i < v.length; i++) {
      const tenth = new Date(got.index[i]).getUTCMinutes() % 10 === 0;
      if (tenth !== Number.isNaN(v[i]) || (!tenth && v[i] !== want.columns.volume[i])) throw new Error(`volume at ${i}: ${v[i]}`);
    }
  });

  it('from / to / days select the same bars as the csv source', async () => {
    const range = { from: '2019-02-11', to: '2019-02-16T12:00' };
    expectSameFrame(await run(pgParams(range)), await run(csvParams(range)));
    expectSameFrame(await run(pgParams({ days: 3 })), await run(csvParams({ days: 3 })));
  });

  it('an unqualified table is looked up on the search_path', async () => {
    process.env.FXFLOW_TEST_PG_PATH = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const got = await run(pgParams({ url_env: 'FXFLOW_TEST_PG_PATH', table: 'candles' }));
    expect(got.source).toBe(`postgres:${schema}.candles`);
    expectSameFrame(got, await run(csvParams()));
    delete process.env.FXFLOW_TEST_PG_PATH;
  });

  it('the fingerprint (cache key) changes with a new or changed row and comes back when it is undone; it holds no connection string', async () => {
    const p = pgParams();
    const before = await fingerprint(p);
    expect(JSON.stringify(before)).not.toContain('127.0.0.1');
    expect(before).toMatchObject({ table: `${schema}.candles`, rows: expect.any(Number) });
    expect(await fingerprint(p)).toEqual(before);
    await c.query(`INSERT INTO ${schema}.candles (symbol, ts, open, high, low, close, volume) VALUES ('EURUSD', '2019-03-01 12:00', 1.1, 1.2, 1.0, 1.15, 0)`);
    const added = await fingerprint(p);
    expect(added).not.toEqual(before);
    await c.query(`DELETE FROM ${schema}.candles WHERE ts = '2019-03-01 12:00' AND symbol = 'EURUSD'`);
    expect(await fingerprint(p)).toEqual(before);
    // Same count and span, one price changed.
    await c.query(`UPDATE ${schema}.candles SET close = close + 0.00001 WHERE symbol = 'EURUSD' AND ts = '2019-02-12 10:00'`);
    expect(await fingerprint(p)).not.toEqual(before);
    await c.query(`UPDATE ${schema}.candles SET close = close - 0.00001 WHERE symbol = 'EURUSD' AND ts = '2019-02-12 10:00'`);
    // Another symbol's rows are not part of this selection.
    await c.query(`INSERT INTO ${schema}.candles (symbol, ts, open, high, low, close, volume) VALUES ('USDJPY', '2019-02-12 10:00', 110, 111, 109, 110, 0)`);
    expect(await fingerprint(p)).toEqual(before);
  });

  it('an injection attempt in symbol is a bound value: no rows, a clear error naming the symbols there', async () => {
    const e = await failure(run(pgParams({ symbol: "EURUSD' OR '1'='1" })));
    expect(e.message).toBe(`no rows for symbol "EURUSD' OR '1'='1" in ${schema}.candles`);
    expect(e.hint).toContain('EURUSD');
    expect(e.hint).toContain('GBPUSD');
    const f = await failure(fingerprint(pgParams({ symbol: 'EURUSD; DROP TABLE candles' })));
    expect(f.message).toContain('no rows for symbol');
    expect((await c.query(`SELECT count(*)::int AS n FROM ${schema}.candles`)).rows[0].n).toBeGreaterThan(0);
  });

  it('an injection attempt in table is refused by the identifier rule, before any SQL', async () => {
    const p = pgParams({ table: `${schema}.candles; DROP TABLE ${schema}.candles` });
    const issues = fetch.check!(p);
    expect(issues).toContainEqual(expect.objectContaining({ path: ['table'], message: expect.stringContaining('is not a plain identifier') }));
    const e = await failure(readPg({ url: PG_URL, urlFrom: 'test', table: p.table!, symbol: 'EURUSD', timeframeMs: 60_000 }));
    expect(e.message).toContain('is not a plain identifier');
    expect((await c.query(`SELECT to_regclass('${schema}.candles') IS NOT NULL AS ok`)).rows[0].ok).toBe(true);
  });

  it('a missing table names the tables there; a missing column names the columns', async () => {
    const e = await failure(run(pgParams({ table: `${schema}.nope` })));
    expect(e.message).toBe(`table "${schema}.nope" not found in the PostgreSQL database`);
    expect(e.hint).toContain(`${schema}.candles`);
    const f = await failure(run(pgParams({ columns: { close: 'bid_close' } })));
    expect(f.message).toBe(`column "bid_close" (for close) not found in ${schema}.candles`);
    expect(f.hint).toContain('columns there: symbol, timeframe, ts, open');
  });

  it('an empty selection says which part selected nothing', async () => {
    const tf = await failure(run(pgParams({ timeframe: '5m' })));
    expect(tf.message).toContain('no rows for symbol "EURUSD" with timeframe in (5m');
    expect(tf.hint).toContain('timeframes there: M1');
    const range = await failure(run(pgParams({ from: '2021-01-01' })));
    expect(range.message).toBe(`no rows for symbol "EURUSD" in ${schema}.candles in the date range`);
  });

  it('an unreachable server, a missing database, a wrong password: clear errors without the password', async () => {
    const secret = 'S3cret-pw';
    const base = new URL(PG_URL);
    const withPw = (u: URL, user: string) => {
      const x = new URL(u.href);
      x.username = user;
      x.password = secret;
      return x.href;
    };
    const unreachable = new URL(withPw(base, base.username || 'postgres'));
    unreachable.hostname = '127.0.0.1';
    unreachable.port = '1';
    process.env.FXFLOW_TEST_PG_BAD = unreachable.href;
    const e1 = await failure(run(pgParams({ url_env: 'FXFLOW_TEST_PG_BAD' })));
    expect(e1.message).toBe('cannot reach the PostgreSQL server at 127.0.0.1:1 (ECONNREFUSED)');
    expect(e1.hint).toContain('FXFLOW_TEST_PG_BAD');

    const nodb = new URL(withPw(base, base.username || 'postgres'));
    nodb.pathname = '/fxflow_no_such_db';
    process.env.FXFLOW_TEST_PG_BAD = nodb.href;
    const e2 = await failure(run(pgParams({ url_env: 'FXFLOW_TEST_PG_BAD' })));
    expect(e2.message).toMatch(/^PostgreSQL database "fxflow_no_such_db" does not exist at /);

    // The role fxflow_auth_test must log in with a password (.ci/run adds its pg_hba line).
    await c.query(
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fxflow_auth_test') THEN CREATE ROLE fxflow_auth_test LOGIN PASSWORD 'right-pass'; END IF; END $$`,
    );
    process.env.FXFLOW_TEST_PG_BAD = withPw(base, 'fxflow_auth_test');
    const e3 = await run(pgParams({ url_env: 'FXFLOW_TEST_PG_BAD' })).then(
      () => undefined,
      (err: unknown) => err as RunError,
    );
    if (e3 === undefined || !/refused the login/.test(e3.message)) {
      console.warn(
        '[skip] the server lets fxflow_auth_test in without its password (no scram-sha-256 line in pg_hba.conf): the wrong-password case is not checked',
      );
    } else {
      expect(e3).toBeInstanceOf(RunError);
      expect(e3.message).toMatch(/^PostgreSQL refused the login of user "fxflow_auth_test" at .*password authentication failed/);
    }
    for (const e of [e1, e2, e3])
      if (e) {
        expect(`${e.message} ${e.hint}`).not.toContain(secret);
        expect(e.stack ?? '').not.toContain(secret);
      }
    delete process.env.FXFLOW_TEST_PG_BAD;
  });

  it('url_env naming an unset variable is an error; a url holding a password is refused at compile time', async () => {
    const e = await failure(run(pgParams({ url_env: 'FXFLOW_TEST_PG_UNSET' })));
    expect(e.message).toBe('the environment variable FXFLOW_TEST_PG_UNSET (url_env) is not set');
    const issues = fetch.check!(pgParams({ url: 'postgres://fx:hunter22@db.lan/market' }));
    expect(issues).toContainEqual(expect.objectContaining({ path: ['url'], message: expect.stringContaining('holds a password') }));
    expect(JSON.stringify(issues)).not.toContain('hunter22');
    expect(fetch.check!(pgParams({ url: 'postgres://fx@db.lan/market' }))).toEqual([]);
    expect(fetch.check!(params({ source: 'csv', path: 'x.csv', url_env: 'X' }))).toContainEqual(expect.objectContaining({ path: ['url_env'] }));
  });
});

describe('redact', () => {
  it('hides the connection string and its password in any text', () => {
    const url = 'postgres://fx:p%40ss-word@db.lan:5432/market';
    expect(redact(`failed for ${url}`, url)).toBe('failed for <connection string>');
    expect(redact('password p@ss-word was wrong', url)).toBe('password *** was wrong');
    expect(redact('see postgresql://u:other-secret@h/db', undefined)).toBe('see postgresql://u:***@h/db');
  });
});
