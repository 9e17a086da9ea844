import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { cachedMap, edit, fxflow, parseRun, workdir } from '../helpers/cli.js';
import { sharedFile } from '../helpers/ctx.js';

/** The runner end to end, through the CLI a user types: cache hits, invalidation, export, history. */

describe('quickstart: run, rerun from cache, invalidate exactly what changed', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = workdir();
    file = path.join(dir, 'pipelines', 'quickstart.yaml');
  });

  it('first run computes every step and prints the report', async () => {
    const r = await fxflow(['run', 'pipelines/quickstart.yaml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    for (const id of ['candles', 'features', 'dataset', 'model', 'report']) expect(r.stdout).toMatch(new RegExp(`✓ ${id}\\s+\\(\\w+\\)\\s+computed`));
    expect(r.stdout).toContain('report metrics');
    expect(r.stdout).toMatch(/sharpe\s+-?\d/);
    expect(r.stdout).toMatch(/max_drawdown\s+-?\d/);
    expect(r.stdout).toMatch(/run \S+ succeeded in .* · 5 computed, 0 cached/);
  });

  it('a second run is all cache hits with the same metrics', async () => {
    const a = parseRun(await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir }));
    expect(a.status).toBe('succeeded');
    expect(cachedMap(a)).toEqual({ candles: true, features: true, dataset: true, model: true, report: true });
    expect(a.metrics.report.sharpe).toEqual(expect.any(Number));
    expect(a.steps.map((s) => s.key).every((k) => /^[0-9a-f]{32}$/.test(k))).toBe(true);
  });

  it('changing only backtest.with.entry_threshold recomputes only report', async () => {
    const before = parseRun(await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir }));
    edit(file, 'entry_threshold: 0.00005', 'entry_threshold: 0.0001');
    const plan = await fxflow(['plan', 'pipelines/quickstart.yaml'], { cwd: dir });
    expect(plan.stdout).toContain('run: param `entry_threshold` 0.00005 → 0.0001');
    expect(plan.stdout).toContain('1 of 5 steps would run');
    const after = parseRun(await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir }));
    expect(cachedMap(after)).toEqual({ candles: true, features: true, dataset: true, model: true, report: false });
    const keyOf = (run: typeof after, id: string) => run.steps.find((s) => s.id === id)!.key;
    expect(keyOf(after, 'model')).toBe(keyOf(before, 'model'));
    expect(keyOf(after, 'report')).not.toBe(keyOf(before, 'report'));
    // exit_threshold defaults to entry_threshold (resolved before the key): it follows, and says so.
    expect(after.steps.find((s) => s.id === 'report')!.reason).toBe('param `entry_threshold` 0.00005 → 0.0001; param `exit_threshold` 0.00005 → 0.0001');
  });

  it('changing features.with recomputes features, dataset, model and report but not candles', async () => {
    edit(file, 'rsi: { period: 14 }', 'rsi: { period: 21 }');
    const after = parseRun(await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir }));
    expect(cachedMap(after)).toEqual({ candles: true, features: false, dataset: false, model: false, report: false });
    expect(after.steps.find((s) => s.id === 'features')!.reason).toContain('param `indicators[0].rsi.period` 14 → 21');
    expect(after.steps.find((s) => s.id === 'dataset')!.reason).toContain('input `features` changed');
  });

  it('reverting an edit is all cache hits again (content-addressed, not last-run)', async () => {
    edit(file, 'rsi: { period: 21 }', 'rsi: { period: 14 }');
    edit(file, 'entry_threshold: 0.0001', 'entry_threshold: 0.00005');
    const run = parseRun(await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir }));
    expect(Object.values(cachedMap(run)).every(Boolean)).toBe(true);
  });

  it('`runs` lists the runs with status and headline metrics', async () => {
    const r = await fxflow(['runs'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/quickstart\s+succeeded/);
    const json = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as {
      status: string;
      metrics: Record<string, number>;
      computed: number;
      cached: number;
    }[];
    expect(json.length).toBe(6);
    expect(json[json.length - 1]).toMatchObject({ status: 'succeeded', computed: 5, cached: 0 });
    expect(json[0].metrics['report.sharpe']).toEqual(expect.any(Number));
  });

  it('--store puts the store elsewhere, for every command', async () => {
    const r = await fxflow(['--store', 'other', 'run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir });
    expect(Object.values(cachedMap(parseRun(r))).some(Boolean)).toBe(false);
    const runs = JSON.parse((await fxflow(['runs', '--json', '--store', 'other'], { cwd: dir })).stdout) as unknown[];
    expect(runs).toHaveLength(1);
  });
});

describe('export', () => {
  let dir: string;
  beforeAll(async () => {
    dir = workdir();
    const r = await fxflow(['run', 'pipelines/quickstart.yaml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  });

  const header = (f: string) => readFileSync(path.join(dir, f), 'utf8').split('\n')[0].split(',');

  it('writes candles and features frames as CSV', async () => {
    expect((await fxflow(['export', 'pipelines/quickstart.yaml', 'candles', '--out', 'c.csv'], { cwd: dir })).code).toBe(0);
    expect(header('c.csv')).toEqual(['ts', 'open', 'high', 'low', 'close', 'volume']);
    expect((await fxflow(['export', 'pipelines/quickstart.yaml', 'features', '--out', 'f.csv'], { cwd: dir })).code).toBe(0);
    expect(header('f.csv')).toEqual(expect.arrayContaining(['ts', 'rsi_14', 'ema_20', 'fwd_ret_1', 'fwd_ret_4']));
  });

  it("writes a dataset with a segment column and a model's predictions per horizon", async () => {
    await fxflow(['export', 'pipelines/quickstart.yaml', 'dataset', '--out', 'd.csv'], { cwd: dir });
    expect(header('d.csv').slice(0, 3)).toEqual(['ts', 'segment', 'fold']);
    const segs = new Set(
      readFileSync(path.join(dir, 'd.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[1]),
    );
    expect([...segs].sort()).toEqual(['test', 'train', 'val']);
    await fxflow(['export', 'pipelines/quickstart.yaml', 'model', '--out', 'm.csv'], { cwd: dir });
    // A point model's predictions come with the spread of its Gaussian (its validation residuals' RMS, docs/probabilistic.md).
    expect(header('m.csv')).toEqual(['ts', 'segment', 'fold', 'pred_fwd_ret_1', 'pred_fwd_ret_4', 'sd_fwd_ret_1', 'sd_fwd_ret_4']);
  });

  it('writes Parquet that DuckDB reads back with the same rows', async () => {
    const r = await fxflow(['export', 'pipelines/quickstart.yaml', 'features', '--out', 'f.parquet'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const csvRows = readFileSync(path.join(dir, 'f.csv'), 'utf8').trim().split('\n').length - 1;
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const rows = (await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n, min(ts)::VARCHAR AS t0 FROM '${path.join(dir, 'f.parquet')}'`)).getRowObjectsJS();
    conn.closeSync();
    db.closeSync();
    expect(rows[0].n).toBe(csvRows);
    expect(String(rows[0].t0)).toBe(readFileSync(path.join(dir, 'f.csv'), 'utf8').split('\n')[1].split(',')[0].replace('T', ' ').replace('.000Z', ''));
  });

  it('refuses an unknown step or format', async () => {
    const a = await fxflow(['export', 'pipelines/quickstart.yaml', 'nope', '--out', 'x.csv'], { cwd: dir });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('has no step `nope`');
    const b = await fxflow(['export', 'pipelines/quickstart.yaml', 'model', '--out', 'x.xlsx'], { cwd: dir });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('.csv or .parquet');
  });
});

describe('the leakage probe in a pipeline', () => {
  it('split with `probe: true` recomputes the features on truncated candles and reports no look-ahead', async () => {
    const dir = workdir();
    const f = path.join(dir, 'pipelines', 'quickstart.yaml');
    writeFileSync(
      f,
      readFileSync(f, 'utf8')
        .replace('bars: 20000', 'bars: 3000')
        .replace(
          '    from: features\n    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }',
          '    from: { features: features, candles: candles }\n    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore, probe: true, probe_samples: 8 }',
        ),
    );
    const r = await fxflow(['run', 'pipelines/quickstart.yaml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/leakage probe: 8 timestamps × 8 features of `features`, no look-ahead/);
  });

  it('`probe: true` finds the candles upstream of the features: wiring them to the split is not needed', async () => {
    const dir = workdir();
    const f = path.join(dir, 'pipelines', 'quickstart.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('bars: 20000', 'bars: 3000').replace('scale: zscore }', 'scale: zscore, probe: true }'));
    const r = await fxflow(['run', 'pipelines/quickstart.yaml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/leakage probe: 20 timestamps × 8 features of `features`, no look-ahead/);
  });
});

describe('determinism', () => {
  it('the same pipeline and seed give bit-identical outputs in separate stores', async () => {
    const a = workdir();
    const b = workdir();
    const ra = parseRun(await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: a }));
    const rb = parseRun(await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: b }));
    expect(ra.steps.map((s) => s.key)).toEqual(rb.steps.map((s) => s.key));
    expect(ra.metrics).toEqual(rb.metrics);
    await fxflow(['export', 'pipelines/quickstart.yaml', 'report', '--out', 'r.csv'], { cwd: a });
    await fxflow(['export', 'pipelines/quickstart.yaml', 'report', '--out', 'r.csv'], { cwd: b });
    expect(readFileSync(path.join(a, 'r.csv'), 'utf8')).toBe(readFileSync(path.join(b, 'r.csv'), 'utf8'));
  });

  it('a different seed changes the synthetic data and everything after it', async () => {
    const a = workdir();
    const f = path.join(a, 'pipelines', 'quickstart.yaml');
    const r1 = parseRun(await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: a }));
    writeFileSync(f, readFileSync(f, 'utf8').replace('seed: 42', 'seed: 43'));
    const r2 = parseRun(await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: a }));
    expect(Object.values(cachedMap(r2)).some(Boolean)).toBe(false);
    expect(r2.metrics.report).not.toEqual(r1.metrics.report);
  });
});

const EURUSD_H1 = sharedFile('EURUSD_H1.csv');

describe.skipIf(!EURUSD_H1)('the language-reference pipeline on real EURUSD H1 data', () => {
  it('runs end to end on ../shared/data/forex/EURUSD_H1.csv', async () => {
    const dir = workdir();
    // The pipeline's path is relative to the pipeline file; point it at the shared folder from here.
    const f = path.join(dir, 'pipelines', 'eurusd-h1-ridge.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('../../shared/data/forex/EURUSD_H1.csv', EURUSD_H1!));
    const r = await fxflow(['run', 'pipelines/eurusd-h1-ridge.yaml', '--json'], { cwd: dir });
    const run = parseRun(r);
    expect(run.status, r.stderr).toBe('succeeded');
    // 50,063 rows in the file, of which the last 63 are all-zero placeholders that fetch drops.
    expect(run.metrics.candles.bars).toBe(50_000);
    expect(run.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    // The backtest covers the test segment (20% of the rows); whether the ridge's predictions clear
    // the 2-pip threshold is the data's answer, not the runner's, so only the shape is asserted.
    expect(run.metrics.report.bars).toBeGreaterThan(9_000);
    expect(run.metrics.report.trades).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(run.metrics.report.benchmark_return)).toBe(true);
  });
});
