/**
 * Loading the two EURUSD HistData M1 years (2018 + 2019, 745,137 rows) from a PostgreSQL table.
 *
 * - fxflow: the fetch step with `source: postgres` (catalogue look-up, count, binary COPY parsed
 *   into Float64Arrays, UTC, quality policy) — what a pipeline runs.
 * - peer: `psql -c "\copy (SELECT … same selection …) TO STDOUT WITH CSV HEADER"`, its output
 *   collected from the pipe and parsed by fxflow's CSV reader (generic format), then the same
 *   UTC and quality steps.
 *
 * The table (symbol, timeframe, ts timestamp, open … volume double precision, indexed on symbol,
 * timeframe, ts) is created in a fresh schema of the database FXFLOW_PG_URL names (default
 * postgres://postgres@127.0.0.1:5432/test), filled from the zips with psql's \copy, and dropped
 * at the end. Time: median of 5 runs after one warm-up of each, alternating. Then one row inserted
 * after the last, five times: a followed table's update (`fxflow watch`) against that full read.
 */
import { spawn, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readData, unpack } from '../src/data/files.js';
import { loadPartsAsync, type LoadOptions } from '../src/data/load.js';
import { policyOf, type QualityParams } from '../src/data/quality.js';
import { parseZone } from '../src/data/tz.js';
import { parsePipelineText } from '../src/parser/index.js';
import fetch from '../src/steps/fetch/index.js';
import type { FetchParams } from '../src/steps/fetch/params.js';
import { makeStepContext } from '../src/steps/define.js';
import { TableFollower } from '../src/steps/fetch/follow.js';
import type { BenchResult } from './run.js';

const FOREX = fileURLToPath(new URL('../../shared/data/forex', import.meta.url));
const ZIPS = ['HISTDATA_COM_ASCII_EURUSD_M12018.zip', 'HISTDATA_COM_ASCII_EURUSD_M12019.zip'].map((f) => path.join(FOREX, f));
const URL_ = process.env.FXFLOW_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `fxflow_bench_${process.pid}`;
const TABLE = `${SCHEMA}.candles`;

function psql(args: string[], input?: Uint8Array): string {
  const r = spawnSync('psql', [URL_, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...args], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr?.toString() ?? r.error?.message}`);
  return r.stdout.toString();
}

/** The fetch params a pipeline with this step gets (schema defaults filled in by the parser). */
function fetchParams(): FetchParams {
  const text = `version: 1\nname: b\nsteps:\n  c:\n    uses: fetch\n    with: { source: postgres, url_env: FXFLOW_BENCH_PG_URL, table: ${TABLE}, symbol: EURUSD, timeframe: 1m, timezone: UTC }\n`;
  const parsed = parsePipelineText(text, '/tmp/b.yaml');
  if (!parsed.spec) throw new Error(JSON.stringify(parsed.diagnostics));
  return parsed.spec.steps[0].with as unknown as FetchParams;
}

async function fxflowLoad(p: FetchParams): Promise<number> {
  const ctx = makeStepContext({ stepId: 'c', seed: 1, pipelineDir: '/tmp', log: () => {}, warn: () => {} });
  return (await fetch.run({}, p, ctx)).index.length;
}

/** psql's \copy of the same selection fxflow makes (its symbol and timeframe spellings), then fxflow's CSV reader. */
async function peerLoad(opts: LoadOptions): Promise<number> {
  const sql = `SELECT ts, open, high, low, close, volume FROM ${TABLE} WHERE symbol = 'EURUSD' AND timeframe::text IN ('1m', '1M', 'M1', '1min', '1') ORDER BY ts`;
  const child = spawn('psql', [URL_, '-X', '-c', `\\copy (${sql}) TO STDOUT WITH CSV HEADER`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  for await (const c of child.stdout) chunks.push(c as Buffer);
  const code = await new Promise<number | null>((res) => child.on('close', res));
  if (code !== 0) throw new Error(`psql exited ${code}`);
  const loaded = await loadPartsAsync([{ name: 'psql-copy.csv', bytes: Buffer.concat(chunks) }], opts);
  return loaded.bars.index.length;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

export async function run(): Promise<BenchResult[]> {
  if (spawnSync('psql', [URL_, '-X', '-Atc', 'SELECT 1']).status !== 0) {
    process.stderr.write(`pg.bench: no PostgreSQL server at ${URL_.replace(/:[^:@/]*@/, ':***@')} (or no psql); skipped\n`);
    return [];
  }
  psql(['-c', `CREATE SCHEMA ${SCHEMA}`]);
  try {
    psql([
      '-c',
      `CREATE TABLE ${TABLE} (symbol text NOT NULL DEFAULT 'EURUSD', timeframe text NOT NULL DEFAULT 'M1', ts timestamp NOT NULL, open double precision, high double precision, low double precision, close double precision, volume double precision)`,
    ]);
    for (const z of ZIPS)
      for (const part of unpack(z, await readData(z, FOREX)))
        psql(['-c', `\\copy ${TABLE} (ts, open, high, low, close, volume) FROM STDIN WITH (FORMAT csv, DELIMITER ';')`], part.bytes);
    psql(['-c', `CREATE INDEX ON ${TABLE} (symbol, timeframe, ts)`, '-c', `ANALYZE ${TABLE}`]);
    const rows = Number(psql(['-Atc', `SELECT count(*) FROM ${TABLE}`]));

    process.env.FXFLOW_BENCH_PG_URL = URL_;
    const p = fetchParams();
    const opts: LoadOptions = {
      read: { format: 'generic' },
      zone: parseZone('UTC'),
      policy: policyOf(p.quality as QualityParams),
      timeframeMs: 60_000,
      dayClose: 'ny17',
    };
    // Both return the same number of bars (the same selection, the same policy).
    const nF = await fxflowLoad(p);
    const nP = await peerLoad(opts);
    if (nF !== nP) throw new Error(`fxflow loaded ${nF} bars, the psql path ${nP}`);
    const tf: number[] = [];
    const tp: number[] = [];
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      await fxflowLoad(p);
      tf.push(performance.now() - t);
      t = performance.now();
      await peerLoad(opts);
      tp.push(performance.now() - t);
    }
    const f = median(tf);
    const q = median(tp);
    const rate = (ms: number): string => `${Math.round(rows / (ms / 1000) / 1000)}k rows/s`;

    // Followed (`fxflow watch`): one row inserted after the last bar, then TableFollower.update
    // (the old rows' count and hash sum checked on the server, the new row COPYed, the candles
    // extended), against the fetch step reading the whole table (above).
    const follower = await TableFollower.open(p);
    const tu: number[] = [];
    for (let i = 0; i < 5; i++) {
      psql([
        '-c',
        `INSERT INTO ${TABLE} (ts, open, high, low, close, volume) SELECT ts + interval '1 minute', open, high, low, close, volume FROM ${TABLE} ORDER BY ts DESC LIMIT 1`,
      ]);
      const t = performance.now();
      const u = await follower.update();
      tu.push(performance.now() - t);
      if (u.status !== 'appended' || u.added !== 1) throw new Error(`update ${i}: ${JSON.stringify(u)}`);
    }
    return [
      {
        name: `1 row inserted after the last of ${Math.round(rows / 1000)}k (watch: TableFollower.update)`,
        fxflowMs: median(tu),
        peer: 'fetch step reading the whole table',
        peerMs: f,
        note: `median of 5; max ${Math.max(...tu).toFixed(0)} ms; load ${loadavg()[0].toFixed(1)}`,
      },
      {
        name: `load ${Math.round(rows / 1000)}k M1 rows from PostgreSQL`,
        fxflowMs: f,
        peer: 'psql \\copy CSV → fxflow CSV reader',
        peerMs: q,
        note: `fxflow ${rate(f)}, peer ${rate(q)}; ${nF} bars after the quality policy`,
      },
    ];
  } finally {
    psql(['-c', `DROP SCHEMA ${SCHEMA} CASCADE`]);
  }
}
