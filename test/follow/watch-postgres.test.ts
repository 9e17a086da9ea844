/**
 * `watchPipeline` (what `fxflow watch` runs) on a PostgreSQL table a feed inserts rows into: the
 * watcher polls the table, and the cycles after an insert extend the candles, features and a
 * predict step's predictions (their logs say so); an edit of an earlier row reads the table
 * afresh. The artifacts the watcher stored are compared byte for byte with those of a run without
 * following (a fresh store, the whole table read) on the same rows: the independent reference.
 * Real HistData EURUSD M1 (2019), its first 29,500 lines, in a schema of this test's own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redact } from '../../src/data/pg.js';
import { sharedFile } from '../helpers/ctx.js';
import { expectSameAsFullRun, followedPipeline, recordedWatch } from '../helpers/followed-pipeline.js';
import { copyIn, histdataMonth, newSchema, PG_URL, pgClient, pgUnavailable } from '../data/postgres-helpers.js';

const why = await pgUnavailable();
if (why) console.warn(`[skip] no PostgreSQL server at ${redact(PG_URL, PG_URL)} (${why}): watch on a postgres table is not tested`);
const zip = 'HISTDATA_COM_ASCII_EURUSD_M12019.zip';
const haveData = sharedFile(zip) !== undefined;
if (!haveData) console.warn(`[skip] ../shared/data/forex/${zip} is absent: watch on a postgres table is not tested`);

const ENV = 'FXFLOW_TEST_PG_WATCH_URL';
const schema = newSchema();
const COPY = `COPY ${schema}.candles (ts, open, high, low, close, volume) FROM STDIN (FORMAT csv, DELIMITER ';')`;

const pipeline = (table: string): string =>
  followedPipeline(
    'followed-table',
    `source: postgres, url_env: ${ENV}, table: ${table}, symbol: EURUSD, timeframe: 1m, timezone: America/New_York`,
    'poll: 200ms',
  );

describe.skipIf(why !== null || !haveData)('watch follows a PostgreSQL table that gains rows', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-follow-pg-'));
  let c: pg.Client;
  let lines: string[];
  beforeAll(async () => {
    process.env[ENV] = PG_URL;
    lines = (await histdataMonth(zip, '201901')).split('\n').slice(0, 29_500);
    c = await pgClient();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(
      `CREATE TABLE ${schema}.candles (symbol text NOT NULL DEFAULT 'EURUSD', ts timestamp NOT NULL, open double precision, high double precision, low double precision, close double precision, volume double precision)`,
    );
    await copyIn(c, COPY, `${lines.slice(0, 29_000).join('\n')}\n`);
  }, 60_000);
  afterAll(async () => {
    await c?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c?.end();
    delete process.env[ENV];
    rmSync(dir, { recursive: true, force: true });
  });

  it('extends on inserted rows and reads afresh after an edit, storing the bytes a full run stores', { timeout: 300_000 }, async () => {
    const file = path.join(dir, 'followed.yaml');
    writeFileSync(file, pipeline(`${schema}.candles`));
    const dirOf = path.join(dir, '.fxflow');
    const { watcher, events, progress, next, firstIdle } = await recordedWatch(file, dirOf);
    /** Runs `change` and waits for the cycle it starts to end: its log. */
    const cycle = async (change: () => Promise<unknown>): Promise<string[]> => {
      const idle = next('idle');
      await change();
      await idle;
      return progress[progress.length - 1];
    };
    /** The last watch run's candles, features and signal equal, byte for byte, a run without following on the table as it is now (the watcher is idle: nothing changes the table meanwhile). */
    const sameAsFullRun = () => expectSameAsFullRun(file, events, dirOf, path.join(dir, 'fresh'), ['candles', 'features', 'signal']);
    try {
      await firstIdle;
      const table = `${schema}.candles`;
      for (const [a, b] of [
        [29_000, 29_001],
        [29_001, 29_400],
      ]) {
        const log = await cycle(() => copyIn(c, COPY, `${lines.slice(a, b).join('\n')}\n`));
        expect(log).toContain(`candles: following ${table}: ${b - a} bar${b - a === 1 ? '' : 's'} appended`);
        expect(log.some((l) => l.startsWith(`features: following: ${b - a} new bar`))).toBe(true);
        expect(log.some((l) => l.startsWith(`signal: following: ${b - a} new row${b - a === 1 ? '' : 's'} scored`))).toBe(true);
        await sameAsFullRun();
      }
      // An earlier row edited, in the same transaction as new rows: the table is read afresh.
      const log = await cycle(async () => {
        await c.query('BEGIN');
        await c.query(
          `UPDATE ${table} SET open = open + 0.00005, high = high + 0.00005, low = low + 0.00005, close = close + 0.00005 WHERE ts = (SELECT ts FROM ${table} ORDER BY ts OFFSET 20000 LIMIT 1)`,
        );
        await copyIn(c, COPY, `${lines.slice(29_400, 29_500).join('\n')}\n`);
        await c.query('COMMIT');
      });
      expect(
        log.some((l) => l.startsWith(`candles: following ${table}: read afresh (the rows up to the last bar changed`)),
        log.join('\n'),
      ).toBe(true);
      expect(log.some((l) => l.startsWith('features: following:'))).toBe(false);
      await sameAsFullRun();
    } finally {
      await watcher.close();
    }
  });
});
