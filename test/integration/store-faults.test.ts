import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { artifactFile } from '../../src/runtime/artifact-files.js';
import { Store } from '../../src/runtime/store.js';
import { BIN, cachedMap, edit, fxflow, parseRun, workdir, type CliResult } from '../helpers/cli.js';

/**
 * What outside testers broke in the store (issue 17): a damaged artifact is recomputed inside the
 * command that needs it; a damaged store file is said to be damaged (not "in use"); a metric too
 * large for an int64 is stored as the double it is.
 */

const QUICK = 'pipelines/quickstart.yaml';
const storeFile = (dir: string): string => path.join(dir, '.fxflow', 'fxflow.duckdb');

/** Opens the store file directly (no fxflow code) to damage it on purpose. */
async function withDb<T>(
  dir: string,
  fn: (run: (sql: string) => Promise<Record<string, unknown>[]>, db: import('@duckdb/node-api').DuckDBConnection) => Promise<T>,
): Promise<T> {
  const inst = await DuckDBInstance.create(storeFile(dir));
  const conn = await inst.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[], conn);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/** Flips one bit in the middle of the file of the artifact made by the step of `kind`. */
async function flipBit(dir: string, kind: string): Promise<void> {
  const [a] = await withDb(dir, (q) => q(`SELECT key FROM artifacts WHERE kind = '${kind}'`));
  const file = artifactFile(path.join(dir, '.fxflow'), String(a.key));
  const bytes = readFileSync(file);
  bytes[bytes.length >> 1] ^= 0x10;
  writeFileSync(file, bytes);
}

/** Every artifact in the store reads back whole (checksum verified by the store). */
async function allReadable(dir: string): Promise<number> {
  const store = await Store.open(path.join(dir, '.fxflow'));
  try {
    const keys = (await store.query('SELECT key FROM artifacts')).map((r) => String(r.key));
    for (const k of keys) expect(await store.getArtifactBytes(k), `artifact ${k}`).toBeDefined();
    return keys.length;
  } finally {
    await store.close();
  }
}

describe('a damaged artifact is recomputed within the command that needs it', () => {
  it('run: a bit flipped in the stored model is recomputed for the backtest that needs it, in one command', async () => {
    const dir = workdir();
    expect(parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })).status).toBe('succeeded');
    await flipBit(dir, 'train');
    // A new backtest param: the report misses, and its model input (a cache hit) must be read.
    edit(path.join(dir, QUICK), 'spread_pips: 0.8', 'spread_pips: 0.9');
    const r = await fxflow(['run', QUICK, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const run = parseRun(r);
    expect(run.status).toBe('succeeded');
    expect(r.stderr).toContain('artifact of step model damaged: recomputed');
    expect(cachedMap(run)).toMatchObject({ candles: true, features: true, dataset: true, model: false, report: false });
    // The recomputed model is the same model: the backtest equals one in a fresh store.
    const fresh = workdir();
    edit(path.join(fresh, QUICK), 'spread_pips: 0.8', 'spread_pips: 0.9');
    const ref = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: fresh }));
    expect(run.metrics).toEqual(ref.metrics);
    expect(await allReadable(dir)).toBe(5 + 1);
    // And the next run is a plain cache hit.
    const again = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir }));
    expect(Object.values(cachedMap(again)).every(Boolean)).toBe(true);
  }, 180_000);

  it('export: the model exported after a bit flip in it is recomputed, in one command, and equals the export before', async () => {
    const dir = workdir();
    const before = await fxflow(['export', QUICK, 'model', '--out', 'before.csv'], { cwd: dir });
    expect(before.code, before.stderr).toBe(0);
    await flipBit(dir, 'train');
    const after = await fxflow(['export', QUICK, 'model', '--out', 'after.csv'], { cwd: dir });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toContain('artifact of step model');
    expect(after.stderr).toMatch(/damaged or missing in the store: recomputing it/);
    expect(readFileSync(path.join(dir, 'after.csv'), 'utf8')).toBe(readFileSync(path.join(dir, 'before.csv'), 'utf8'));
    expect(await allReadable(dir)).toBe(4);
  }, 180_000);

  it('run: with every artifact file removed (rows left without files), the run recomputes what it needs and writes the HTML report', async () => {
    const dir = workdir();
    expect(parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })).status).toBe('succeeded');
    const root = path.join(dir, '.fxflow', 'artifacts');
    expect(readdirSync(root).length).toBeGreaterThan(0);
    rmSync(root, { recursive: true });
    const r = await fxflow(['run', QUICK, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('could not write the HTML report');
    const run = parseRun(r) as ReturnType<typeof parseRun> & { report?: string };
    expect(run.status).toBe('succeeded');
    expect(run.report).toBeDefined();
    expect(existsSync(run.report!)).toBe(true);
    expect(cachedMap(run).report).toBe(false);
    expect(await allReadable(dir)).toBe(5);
  }, 180_000);
});

describe('a damaged store file', () => {
  it('is reported as damaged, with the file and what to do, promptly, exit 1, no stack trace', async () => {
    const dir = workdir();
    expect(parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })).status).toBe('succeeded');
    // Flip bytes inside every data block (DuckDB: a 12 KiB header, then 256 KiB blocks, each
    // starting with its checksum).
    const f = storeFile(dir);
    const buf = readFileSync(f);
    for (let o = 12288 + 5000; o < statSync(f).size; o += 262144) buf[o] ^= 0xff;
    writeFileSync(f, buf);
    const r = await fxflow(['runs'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the store ${f} is damaged`);
    expect(r.stderr).toContain(`mv ${f} ${f}.damaged`);
    expect(r.stderr).not.toMatch(/in use by another|waiting for the store/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});

describe('metrics that are not int64-sized', () => {
  it('a metric ≥ 2^63 (spread_pips: 1e300) is stored, shown, and the cached rerun succeeds', async () => {
    const dir = workdir();
    edit(path.join(dir, QUICK), 'spread_pips: 0.8', 'spread_pips: 1e300');
    const r = await fxflow(['run', QUICK, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const run = parseRun(r);
    expect(run.status).toBe('succeeded');
    // The costs of 287 trades at 1e300 pips each: far beyond 2^63.
    const costs = run.metrics.report.costs;
    expect(costs).toBeGreaterThan(2 ** 63);
    const show = await fxflow(['show', run.runId, '--json'], { cwd: dir });
    expect(show.code, show.stderr).toBe(0);
    expect((JSON.parse(show.stdout) as { metrics: Record<string, number> }).metrics['report.costs']).toBe(costs);
    const text = await fxflow(['show', run.runId], { cwd: dir });
    expect(text.stdout).toMatch(new RegExp(`report\\.costs\\s+${costs.toPrecision(4).replace('+', '\\+')}`));
    const again = await fxflow(['run', QUICK, '--json'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    const rerun = parseRun(again);
    expect(rerun.status).toBe('succeeded');
    expect(cachedMap(rerun).report).toBe(true);
    expect(rerun.metrics.report.costs).toBe(costs);
    const runs = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as { status: string }[];
    expect(runs.map((x) => x.status)).toEqual(['succeeded', 'succeeded']);
  }, 120_000);
});

function artifactSizes(dir: string): number[] {
  const root = path.join(dir, '.fxflow', 'artifacts');
  return readdirSync(root).flatMap((d) => readdirSync(path.join(root, d)).map((f) => statSync(path.join(root, d, f)).size));
}

/**
 * Runs the CLI with a file-size limit (RLIMIT_FSIZE, via bash's `ulimit -f` in KiB) and SIGXFSZ
 * ignored, so a write past the limit fails with EFBIG the way a full disk fails with ENOSPC: the
 * real write error path of DuckDB and fxflow, without mounting anything.
 */
function fxflowLimited(args: string[], cwd: string, limitKiB: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', NO_COLOR: '1' };
    delete env.FXFLOW_STORE;
    delete env.FXFLOW_DEBUG;
    const child = spawn('bash', ['-c', `trap '' XFSZ; ulimit -f ${limitKiB} && exec ${quoted}`], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a store that cannot grow (disk full)', () => {
  it.skipIf(process.platform !== 'linux')(
    'fails the run with a clear message, exit 1, no stack trace; the store stays readable with earlier results',
    async () => {
      const dir = workdir();
      const first = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir }));
      expect(first.status).toBe('succeeded');
      const before = await allReadable(dir);
      // Three times the bars: the new artifacts need more room than the limit leaves.
      edit(path.join(dir, QUICK), 'bars: 20000', 'bars: 60000');
      // Above the catalogue's file and the first run's artifact files, below the new features file.
      const largest = Math.max(statSync(storeFile(dir)).size, ...artifactSizes(dir));
      const limit = Math.ceil(largest / 1024) + 200;
      const r = await fxflowLimited(['run', QUICK], dir, limit);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain(`while writing the store at ${path.join(dir, '.fxflow')}`);
      expect(r.stderr).toContain('free space and rerun; the store is intact');
      expect(r.stderr + r.stdout).not.toMatch(/\n\s+at |Unhandled|node:internal/);
      // The store opens; every artifact in it reads back whole, the first run's among them.
      expect(await allReadable(dir)).toBeGreaterThanOrEqual(before);
      const runs = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as { id: string; status: string }[];
      expect(runs.map((x) => [x.id, x.status])).toEqual([
        [expect.any(String), 'failed'],
        [first.runId, 'succeeded'],
      ]);
      // With room again the run completes, reusing what the failed one stored.
      const again = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir }));
      expect(again.status).toBe('succeeded');
      expect(cachedMap(again).candles).toBe(true);
    },
    180_000,
  );
});
