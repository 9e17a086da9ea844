/**
 * Loading the two EURUSD HistData M1 zips (2018 + 2019, 745,137 rows, 40 MB of CSV) into candles.
 *
 * - fxflow (csv): the fetch path — read, parse, quality policy (the 2019 repeated hour is sorted and
 *   deduplicated), UTC — from the two unzipped CSVs.
 * - fxflow (zip): the same from the zips, inflate included.
 * - DuckDB: `read_csv` of the same unzipped CSVs with the timestamp parsed (strptime), into an
 *   in-memory table, on all its threads. Unzip time is excluded for DuckDB and fxflow (csv) alike:
 *   both read the same files from a temp dir that is filled before timing.
 * - fs + split: readFileSync, split on newlines and `;`, Date.UTC and Number per row.
 *
 * Time: median of 5 runs after one warm-up, in this process. Memory: each loader runs once in a
 * fresh child process; peak = maxRSS (getrusage) − RSS after imports, against the raw CSV size.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { readData, unpack } from '../src/data/files.js';
import { loadPartsAsync, type LoadOptions } from '../src/data/load.js';
import { policyOf, type QualityParams } from '../src/data/quality.js';
import { parsePipelineText } from '../src/parser/index.js';
import { parseZone } from '../src/data/tz.js';
import type { BenchResult } from './run.js';

const FOREX = fileURLToPath(new URL('../../shared/data/forex', import.meta.url));
const ZIPS = ['HISTDATA_COM_ASCII_EURUSD_M12018.zip', 'HISTDATA_COM_ASCII_EURUSD_M12019.zip'].map((f) => path.join(FOREX, f));
const CSVS = ['DAT_ASCII_EURUSD_M1_2018.csv', 'DAT_ASCII_EURUSD_M1_2019.csv'];

const OPTS: LoadOptions = {
  read: { format: 'histdata' },
  zone: parseZone('UTC'),
  // The policy a pipeline gets by default (the validator fills `quality:` from the schema).
  policy: policyOf(
    (parsePipelineText('version: 1\nname: b\nsteps:\n  c: { uses: fetch }\n', '/tmp/b.yaml').spec!.steps[0].with as { quality: QualityParams }).quality,
  ),
  timeframeMs: 60_000,
  dayClose: 'ny17',
};

async function fxflowLoad(files: string[]): Promise<number> {
  const parts = [];
  for (const f of files) parts.push(...unpack(f, await readData(f, path.dirname(f))));
  return (await loadPartsAsync(parts, OPTS)).bars.index.length;
}

function splitLoad(files: string[]): number {
  const t: number[] = [];
  const cols: number[][] = [[], [], [], [], []];
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (line === '') continue;
      const x = line.split(';');
      const s = x[0];
      t.push(Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11), +s.slice(11, 13), +s.slice(13, 15)));
      for (let k = 0; k < 5; k++) cols[k].push(Number(x[k + 1]));
    }
  }
  const out = [Float64Array.from(t), ...cols.map((c) => Float64Array.from(c))];
  return out[0].length;
}

async function duckdbLoad(files: string[]): Promise<number> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
  await con.run(
    `CREATE TABLE bars AS SELECT strptime(ts, '%Y%m%d %H%M%S') AS ts, open, high, low, close, volume FROM read_csv([${list}], delim = ';', header = false, columns = {'ts': 'VARCHAR', 'open': 'DOUBLE', 'high': 'DOUBLE', 'low': 'DOUBLE', 'close': 'DOUBLE', 'volume': 'DOUBLE'})`,
  );
  const r = await con.runAndReadAll('SELECT count(*)::INTEGER FROM bars');
  const n = Number(r.getRows()[0][0]);
  con.closeSync();
  inst.closeSync();
  return n;
}

async function median(f: () => Promise<number> | number, reps = 5): Promise<{ ms: number; rows: number }> {
  let rows = await f();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    rows = await f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: times[times.length >> 1], rows };
}

/** Child-process mode: run one loader once, print its peak memory above the post-import baseline. */
async function child(which: string, dir: string): Promise<void> {
  const csvs = CSVS.map((f) => path.join(dir, f));
  const base = process.memoryUsage().rss;
  let rows = 0;
  if (which === 'fxflow-csv') rows = await fxflowLoad(csvs);
  else if (which === 'fxflow-zip') rows = await fxflowLoad(ZIPS);
  else if (which === 'split') rows = splitLoad(csvs);
  else rows = await duckdbLoad(csvs);
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ rows, peakDelta: peak - base }));
}

function memoryOf(which: string, dir: string): number {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', which, dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return (JSON.parse(out) as { peakDelta: number }).peakDelta;
}

export async function run(): Promise<BenchResult[]> {
  if (!ZIPS.every((z) => existsSync(z))) {
    process.stderr.write(`data-load: skipped, ${FOREX} has not the EURUSD HistData zips\n`);
    return [];
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-bench-'));
  try {
    // Unzip once, outside every timing.
    for (const z of ZIPS) for (const p of unpack(z, readFileSync(z))) writeFileSync(path.join(dir, p.name.split(':').pop()!), p.bytes);
    const csvs = CSVS.map((f) => path.join(dir, f));
    const rawBytes = csvs.reduce((s, f) => s + statSync(f).size, 0);
    const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
    const mem = (which: string) => {
      const d = memoryOf(which, dir);
      return `peak +${mb(d)} = ${(d / rawBytes).toFixed(2)}× CSV`;
    };

    const duck = await median(() => duckdbLoad(csvs));
    const fxCsv = await median(() => fxflowLoad(csvs));
    const fxZip = await median(() => fxflowLoad(ZIPS));
    const split = await median(() => splitLoad(csvs));
    const rows = `${fxCsv.rows.toLocaleString('en-US')} bars from ${duck.rows.toLocaleString('en-US')} rows (${mb(rawBytes)} CSV)`;
    const memFx = mem('fxflow-csv');
    const memZip = mem('fxflow-zip');
    const memDuck = mem('duckdb');
    const memSplit = mem('split');
    return [
      {
        name: 'load 2 HistData M1 CSVs (unzipped)',
        fxflowMs: fxCsv.ms,
        peer: 'DuckDB read_csv',
        peerMs: duck.ms,
        note: `${rows}; fxflow ${memFx}; DuckDB ${memDuck}`,
      },
      { name: 'load 2 HistData M1 zips (inflate incl.)', fxflowMs: fxZip.ms, peer: 'DuckDB read_csv (unzipped)', peerMs: duck.ms, note: `fxflow ${memZip}` },
      { name: 'load 2 HistData M1 CSVs (unzipped)', fxflowMs: fxCsv.ms, peer: 'fs + split', peerMs: split.ms, note: `fs + split ${memSplit}` },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
