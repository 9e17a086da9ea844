import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redact } from '../../src/data/pg.js';
import { cachedMap, fxflow, parseRun } from '../helpers/cli.js';
import { sharedFile } from '../helpers/ctx.js';
import { copyIn, histdataMonth, newSchema, PG_URL, pgClient, pgUnavailable } from './postgres-helpers.js';

/**
 * `fxflow run` of a pipeline whose candles come from PostgreSQL, through the built CLI: the run,
 * the cache hit, the invalidation by a new row, and that the connection string's password is in
 * no output and no file fxflow wrote (run history, cache). Bad input exits non-zero with a located
 * message and no stack trace.
 */

const why = await pgUnavailable();
if (why) console.warn(`[skip] no PostgreSQL server at ${redact(PG_URL, PG_URL)} (${why}): the postgres CLI tests are skipped`);
const zip = 'HISTDATA_COM_ASCII_EURUSD_M12019.zip';
const haveData = sharedFile(zip) !== undefined;

const schema = newSchema();
let c: pg.Client;
let dir: string;
let env: Record<string, string>;
let secret: string;

function pipeline(withLines: string): void {
  writeFileSync(
    path.join(dir, 'pg.yaml'),
    `version: 1
name: pg
steps:
  candles:
    uses: fetch
    with:
      source: postgres
      url_env: FXFLOW_CLI_PG_URL
${withLines
  .trim()
  .split('\n')
  .map((l) => `      ${l.trim()}`)
  .join('\n')}
`,
  );
}

/** Every file under `root`, read as bytes. */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root)) {
    const p = path.join(root, e);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

describe.skipIf(why !== null || !haveData)('fxflow run with source: postgres', () => {
  beforeAll(async () => {
    c = await pgClient();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(
      `CREATE TABLE ${schema}.candles (symbol text NOT NULL DEFAULT 'EURUSD', ts timestamp NOT NULL, open double precision, high double precision, low double precision, close double precision, volume double precision)`,
    );
    await copyIn(c, `COPY ${schema}.candles (ts, open, high, low, close, volume) FROM STDIN (FORMAT csv, DELIMITER ';')`, await histdataMonth(zip, '201903'));
    dir = mkdtempSync(path.join(tmpdir(), 'fxflow-pg-cli-'));
    // A password in the connection string (a server that trusts local logins ignores it).
    const u = new URL(PG_URL);
    if (u.password === '') u.password = 'Cli-s3cret-pw';
    if (u.username === '') u.username = 'postgres';
    secret = decodeURIComponent(u.password);
    env = { FXFLOW_CLI_PG_URL: u.href };
  }, 60_000);
  afterAll(async () => {
    await c?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c?.end();
  });

  it('runs, hits the cache, and recomputes when a row is added; the password is in no output and no stored file', async () => {
    pipeline(`table: ${schema}.candles\nsymbol: EURUSD\ntimeframe: 1m\ntimezone: America/New_York`);
    const first = await fxflow(['run', 'pg.yaml'], { cwd: dir, env });
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toMatch(/✓ candles\s+\(fetch\)\s+computed/);
    const rows = (await c.query(`SELECT count(*)::int AS n FROM ${schema}.candles`)).rows[0].n as number;
    expect(first.stdout).toContain(`${rows.toLocaleString('en-US')} bars`);

    const second = parseRun(await fxflow(['run', 'pg.yaml', '--json'], { cwd: dir, env }));
    expect(cachedMap(second)).toEqual({ candles: true });

    await c.query(`INSERT INTO ${schema}.candles (ts, open, high, low, close, volume) VALUES ('2019-04-01 00:00', 1.12, 1.13, 1.11, 1.125, 0)`);
    const third = parseRun(await fxflow(['run', 'pg.yaml', '--json'], { cwd: dir, env }));
    expect(cachedMap(third)).toEqual({ candles: false });
    expect(third.steps[0].key).not.toBe(second.steps[0].key);

    const history = await fxflow(['runs'], { cwd: dir, env });
    for (const out of [first.stdout, first.stderr, JSON.stringify(second), JSON.stringify(third), history.stdout, history.stderr]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(env.FXFLOW_CLI_PG_URL);
    }
    const written = filesUnder(dir).filter((f) => !f.endsWith('pg.yaml'));
    expect(written.length).toBeGreaterThan(0);
    for (const f of written) expect(readFileSync(f).includes(Buffer.from(secret)), f).toBe(false);
  });

  it('a missing table and an injection in symbol fail with a located message and no stack trace', async () => {
    pipeline(`table: ${schema}.nope\nsymbol: EURUSD\ntimeframe: 1m`);
    const a = await fxflow(['run', 'pg.yaml'], { cwd: dir, env });
    expect(a.code).not.toBe(0);
    const outA = a.stdout + a.stderr;
    expect(outA).toMatch(/pg\.yaml:9:\d+: .*table "fxflow_test_\w+\.nope" not found in the PostgreSQL database/);
    expect(outA).not.toMatch(/\n\s+at /);

    pipeline(`table: ${schema}.candles\nsymbol: "EURUSD' OR 1=1 --"\ntimeframe: 1m`);
    const b = await fxflow(['run', 'pg.yaml'], { cwd: dir, env });
    expect(b.code).not.toBe(0);
    const outB = b.stdout + b.stderr;
    expect(outB).toMatch(/pg\.yaml:10:\d+: .*no rows for symbol "EURUSD' OR 1=1 --"/);
    expect(outB).not.toMatch(/\n\s+at /);
    expect(outB).not.toContain(secret);
  });

  it('a wrong port: unreachable, located at url_env, exit non-zero', async () => {
    pipeline(`table: ${schema}.candles`);
    const u = new URL(env.FXFLOW_CLI_PG_URL);
    u.port = '1';
    const r = await fxflow(['run', 'pg.yaml'], { cwd: dir, env: { FXFLOW_CLI_PG_URL: u.href } });
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/pg\.yaml:8:\d+: .*cannot reach the PostgreSQL server at [^ ]+:1 \(ECONNREFUSED\)/);
    expect(out).not.toContain(secret);
  });
});
