/**
 * TableFollower (src/steps/fetch/follow.ts) on a live PostgreSQL table: rows inserted after the
 * last bar extend the candles; a deleted earlier row, a row back-filled before the last bar and an
 * edited value read the table afresh. Each result is compared with the fetch step reading the whole
 * table as a run does (the independent reference), bit for bit, quality notes included. February
 * 2019 of HistData EURUSD M1, in a schema of this test's own.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candles } from '../../src/core/artifacts.js';
import { redact } from '../../src/data/pg.js';
import { TableFollower } from '../../src/steps/fetch/follow.js';
import fetch from '../../src/steps/fetch/index.js';
import { params } from '../data/helpers.js';
import { copyIn, histdataMonth, newSchema, PG_URL, pgClient, pgUnavailable, sameBits } from '../data/postgres-helpers.js';
import { sharedFile, testContext } from '../helpers/ctx.js';

const why = await pgUnavailable();
if (why) console.warn(`[skip] no PostgreSQL server at ${redact(PG_URL, PG_URL)} (${why}): the table follower is not tested`);
const zip = 'HISTDATA_COM_ASCII_EURUSD_M12019.zip';
const haveData = sharedFile(zip) !== undefined;
if (!haveData) console.warn(`[skip] ../shared/data/forex/${zip} is absent: the table follower is not tested`);

const ENV = 'FXFLOW_TEST_PG_FOLLOW_URL';
const schema = newSchema();
const table = `${schema}.candles`;
const COPY = `COPY ${table} (ts, open, high, low, close, volume) FROM STDIN (FORMAT csv, DELIMITER ';')`;
const p = params({ source: 'postgres', url_env: ENV, table, timeframe: '1m', timezone: 'America/New_York' });

function expectSame(a: Candles, b: Candles): void {
  expect(a.index.length).toBe(b.index.length);
  expect(sameBits(a.index, b.index)).toBe(true);
  for (const k of ['open', 'high', 'low', 'close', 'volume'] as const) expect(sameBits(a.columns[k], b.columns[k]), k).toBe(true);
  expect(a.quality).toEqual(b.quality);
  expect(a.source).toBe(b.source);
}

describe.skipIf(why !== null || !haveData)('TableFollower on a live PostgreSQL table', () => {
  let c: pg.Client;
  let lines: string[];
  const rows = (a: number, b: number) => `${lines.slice(a, b).join('\n')}\n`;
  beforeAll(async () => {
    process.env[ENV] = PG_URL;
    lines = (await histdataMonth(zip, '201902')).split('\n').filter((l) => l !== '');
    c = await pgClient();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(
      `CREATE TABLE ${table} (symbol text NOT NULL DEFAULT 'EURUSD', ts timestamp NOT NULL, open double precision, high double precision, low double precision, close double precision, volume double precision)`,
    );
    await copyIn(c, COPY, rows(0, 5000));
  }, 60_000);
  afterAll(async () => {
    await c?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c?.end();
    delete process.env[ENV];
  });

  it('extends on rows after the last bar, and reads afresh on any change before it', async () => {
    const full = () => fetch.run({}, p, testContext());
    const f = await TableFollower.open(p);
    expectSame(f.candles(), await full());

    await copyIn(c, COPY, rows(5000, 5010));
    expect(await f.update()).toEqual({ status: 'appended', added: 10 });
    expectSame(f.candles(), await full());
    expect(await f.update()).toEqual({ status: 'same', added: 0 });

    // An earlier row deleted.
    await c.query(`DELETE FROM ${table} WHERE ts = (SELECT ts FROM ${table} ORDER BY ts OFFSET 100 LIMIT 1)`);
    expect((await f.update()).status).toBe('restart');
    expectSame(f.candles(), await full());

    // A row back-filled before the last bar (the one deleted), with rows after it.
    await copyIn(c, COPY, `${lines[100]}\n${rows(5010, 5020)}`);
    const u = await f.update();
    expect(u.status).toBe('restart');
    expect(u.why).toContain('the rows up to the last bar changed');
    expectSame(f.candles(), await full());

    // A value edited (same count): the hash sum differs.
    await c.query(`UPDATE ${table} SET volume = volume + 1 WHERE ts = (SELECT ts FROM ${table} ORDER BY ts OFFSET 2000 LIMIT 1)`);
    await copyIn(c, COPY, rows(5020, 5021));
    expect(await f.update()).toMatchObject({ status: 'restart', why: expect.stringContaining('other values') });
    expectSame(f.candles(), await full());

    await copyIn(c, COPY, rows(5021, 5100));
    expect(await f.update()).toEqual({ status: 'appended', added: 79 });
    expectSame(f.candles(), await full());
  }, 120_000);
});
