import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { edit, fxflow, parseRun, workdir } from '../helpers/cli.js';

/**
 * End to end through the built CLI: a walk-forward split on the quickstart's synthetic candles
 * (3,000 bars to keep it small), its folds flowing through train and backtest, drift numbers in the
 * run's metrics, and `fxflow export` writing `segment` and `fold` columns.
 */
describe('walk-forward through the CLI', () => {
  const dir = workdir();
  const file = path.join(dir, 'pipelines', 'quickstart.yaml');
  edit(file, 'bars: 20000', 'bars: 3000');
  edit(
    file,
    'with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }',
    'with: { method: walk_forward, train_bars: 1500, val_bars: 300, test_bars: 400, scale: zscore }',
  );

  it('runs, with per-fold metrics and drift recorded for the split step', async () => {
    const r = await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const run = parseRun(r);
    const m = run.metrics.dataset;
    // features drop 33 warm-up and 4 tail rows: 2,963 rows. Folds end their training window at
    // e = 1500 and 1900 (e + val 300 + test 400 ≤ 2963); e = 2300 would need 3,000 rows.
    expect(m.rows).toBe(3000 - 33 - 4);
    expect(m.folds).toBe(2);
    expect(m.drift_ks_max_test).toBeGreaterThan(0);
    expect(m.drift_ks_max_test).toBeLessThanOrEqual(1);
    expect(Number.isInteger(m.drift_shifted_test)).toBe(true);
  });

  it('export writes one row per (fold, row) with segment and fold columns', async () => {
    const r = await fxflow(['export', 'pipelines/quickstart.yaml', 'dataset', '--out', 'ds.csv'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(path.join(dir, 'ds.csv'), 'utf8').trim().split('\n');
    const head = lines[0].split(',');
    expect(head.slice(0, 3)).toEqual(['ts', 'segment', 'fold']);
    const rows = lines.slice(1).map((l) => l.split(','));
    const count = (seg: string, fold: string): number => rows.filter((x) => x[1] === seg && x[2] === fold).length;
    // horizon 4. fold 0: train [0, 1500−4), val [1500, 1800−4), test [1800, 2200)
    //           fold 1: train [0, 1900−4), val [1900, 2200−4), test [2200, 2600)
    expect([count('train', '0'), count('val', '0'), count('test', '0')]).toEqual([1496, 296, 400]);
    expect([count('train', '1'), count('val', '1'), count('test', '1')]).toEqual([1896, 296, 400]);
    expect(rows.length).toBe(1496 + 1896 + 2 * (296 + 400));
    // expanding window: fold 1 trains on fold 0's test rows; its row 1800 is fold 0's first test row
    const fold0Test = rows.filter((x) => x[2] === '0' && x[1] === 'test');
    const fold1 = rows.filter((x) => x[2] === '1');
    expect(fold1[1800][0]).toBe(fold0Test[0][0]);
    expect(fold1[1800][1]).toBe('train');
    // fold 1's test starts one step (400 bars = 400 hourly rows apart here, weekends aside) after fold 0's
    const fold1Test = rows.filter((x) => x[2] === '1' && x[1] === 'test');
    expect(fold1Test[0][0] > fold0Test[399][0]).toBe(true);
  });
});
