import { describe, it, expect } from 'vitest';
import type { Dataset } from '../../src/core/artifacts.js';
import { RunError } from '../../src/core/diagnostics.js';
import { foldFeatures } from '../../src/evaluation/scalers.js';
import { artifactTable } from '../../src/runtime/export.js';
import split, { embargoBars } from '../../src/steps/split/index.js';
import type { SplitParams } from '../../src/steps/split/params.js';
import { testContext } from '../helpers/ctx.js';

import { defaults, features, H, T0 } from './fixtures.js';

const r = (start: number, end: number) => ({ start, end });

/** Naive mean and population std of column j over a list of rows, computed here. */
function stats(rows: number[], value: (i: number) => number): { mean: number; std: number } {
  const v = rows.map(value);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std };
}
const span = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('split method: walk_forward', () => {
  const p: SplitParams = { ...defaults, method: 'walk_forward', train_bars: 8, val_bars: 3, test_bars: 4 };

  it('20 rows, train 8, val 3, test 4 (step = test), horizon 2: two folds, each scaled on its own training rows', async () => {
    const ds = await split.run({ features: features(20) }, p, testContext());
    // fold 0: e = 8: train [0, 6), val [8, 9), test [11, 15); fold 1: e = 12: train [0, 10), val [12, 13), test [15, 19).
    expect(ds.folds.map((f) => [f.train, f.val, f.test])).toEqual([
      [r(0, 6), r(8, 9), r(11, 15)],
      [r(0, 10), r(12, 13), r(15, 19)],
    ]);
    expect(ds.method).toBe('walk_forward');
    expect(ds.purge).toBe(2);
    // fold 0 scaler: f_lin rows 0..5 → mean 2.5, var 17.5/6; fold 1: rows 0..9 → mean 4.5, var 8.25
    const s0 = stats(span(0, 6), (i) => i);
    const s1 = stats(span(0, 10), (i) => i);
    expect(s0.mean).toBe(2.5);
    expect(s1.std ** 2).toBeCloseTo(8.25, 12);
    expect(ds.folds[0].scaler.center[0]).toBeCloseTo(s0.mean, 14);
    expect(ds.folds[0].scaler.scale[0]).toBeCloseTo(s0.std, 14);
    expect(ds.folds[1].scaler.center[0]).toBeCloseTo(s1.mean, 14);
    expect(ds.folds[1].scaler.scale[0]).toBeCloseTo(s1.std, 14);
    for (const [j, f] of [[1, (i: number) => (i * i) % 7]] as const) {
      const s = stats(span(0, 10), f);
      expect(ds.folds[1].scaler.center[j]).toBeCloseTo(s.mean, 14);
      expect(ds.folds[1].scaler.scale[j]).toBeCloseTo(s.std, 14);
    }
    // X is scaled with fold 0's scaler; raw keeps the inputs; foldFeatures gives fold 1's scaling.
    expect(ds.X[17 * 3]).toBeCloseTo((17 - s0.mean) / s0.std, 12);
    expect(ds.raw![17 * 3]).toBe(17);
    const X1 = foldFeatures(ds, 1);
    expect(X1[17 * 3]).toBeCloseTo((17 - 4.5) / Math.sqrt(8.25), 12);
    expect(foldFeatures(ds, 0)).toBe(ds.X);
  });

  it('metrics carry the fold count and drift; the summary sums rows over folds', async () => {
    const ds = await split.run({ features: features(20) }, p, testContext());
    const m = split.metrics!(ds);
    expect(m.folds).toBe(2);
    // f_lin on train rows 0..5 vs test rows 11..14: disjoint ranges → KS 1.
    expect(m.drift_ks_max_test).toBe(1);
    expect(m.drift_ks_max_val).toBe(1);
    expect(split.summary!(ds)).toMatch(/^train 16 \/ val 2 \/ test 8 rows \(2 folds\)/);
    // the per-feature table is in the artifact: fold × {val, test} segments, one KS per feature
    expect(ds.drift!.segments.map((s) => [s.fold, s.segment])).toEqual([
      [0, 'val'],
      [0, 'test'],
      [1, 'val'],
      [1, 'test'],
    ]);
    expect(ds.drift!.segments[0].ks).toHaveLength(3);
    expect(ds.drift!.segments[0].ks[2]).toBe(0); // the constant feature does not drift
  });

  it('export: one row per (fold, row) with segment and fold, features scaled per fold', async () => {
    const ds = await split.run({ features: features(20) }, p, testContext());
    const t = artifactTable(ds);
    expect(t.names.slice(0, 4)).toEqual(['ts', 'segment', 'fold', 'f_lin']);
    // fold 0: 6 + 1 + 4 rows, fold 1: 10 + 1 + 4 rows
    expect(t.rows).toBe(26);
    const seg = t.columns[1] as string[];
    const fold = Array.from(t.columns[2] as ArrayLike<number>);
    expect(seg.slice(0, 11)).toEqual([...Array(6).fill('train'), 'val', ...Array(4).fill('test')]);
    expect(fold.slice(0, 11).every((f) => f === 0)).toBe(true);
    expect(fold.slice(11).every((f) => f === 1)).toBe(true);
    // the first test row of fold 1 is row 15, scaled with fold 1's statistics
    const at = 11 + 10 + 1;
    expect((t.columns[0] as string[])[at]).toBe(new Date(T0 + 15 * H).toISOString());
    expect(seg[at]).toBe('test');
    expect((t.columns[3] as Float64Array)[at]).toBeCloseTo((15 - 4.5) / Math.sqrt(8.25), 12);
  });

  it('too few rows for one fold: a RunError naming the sizes', async () => {
    await expect(split.run({ features: features(14) }, p, testContext())).rejects.toThrow(/14 rows < train_bars 8 \+ val_bars 3 \+ test_bars 4/);
  });
});

describe('split method: purged_kfold', () => {
  it('20 rows, 4 folds, horizon 2, embargo auto = 2: training rows on both sides, scaler over exactly those rows', async () => {
    const ds = await split.run({ features: features(20) }, { ...defaults, method: 'purged_kfold', folds: 4 }, testContext());
    expect(ds.embargo).toBe(2);
    // fold 1 tests [5, 10); purged [3, 5), embargoed [10, 12) → trains on [0, 3) and [12, 20)
    const f1 = ds.folds[1];
    expect(f1.test).toEqual(r(5, 10));
    expect(f1.trainRanges).toEqual([r(0, 3), r(12, 20)]);
    expect(f1.train).toEqual(r(12, 20)); // the longest piece, for readers that only know `train`
    expect(f1.val).toEqual(r(5, 5));
    expect(f1.purged).toBe(4);
    const rows = [0, 1, 2, ...span(12, 20)];
    const s = stats(rows, (i) => i);
    expect(f1.scaler.center[0]).toBeCloseTo(s.mean, 14);
    expect(f1.scaler.scale[0]).toBeCloseTo(s.std, 14);
    // fold 0 tests [0, 5), trains [7, 20): one range, no trainRanges
    expect(ds.folds[0].train).toEqual(r(7, 20));
    expect(ds.folds[0].trainRanges).toBeUndefined();
    // export: fold 1's training rows come from both ranges
    const t = artifactTable(ds);
    const ts = t.columns[0] as string[];
    const seg = t.columns[1] as string[];
    const fold = Array.from(t.columns[2] as ArrayLike<number>);
    const f1Train = ts.filter((_, i) => fold[i] === 1 && seg[i] === 'train');
    expect(f1Train).toEqual(rows.map((i) => new Date(T0 + i * H).toISOString()));
    expect(split.summary!(ds)).toMatch(/\(4 folds\)/);
  });

  it('an embargo shorter than the horizon is refused, naming both numbers', async () => {
    const run = split.run({ features: features(20) }, { ...defaults, method: 'purged_kfold', folds: 4, embargo: 1 }, testContext());
    await expect(run).rejects.toBeInstanceOf(RunError);
    await expect(split.run({ features: features(20) }, { ...defaults, method: 'purged_kfold', embargo: 1 }, testContext())).rejects.toThrow(
      /embargo 1 bars is shorter than the longest target horizon 2 bars/,
    );
    expect(embargoBars(3, 2)).toEqual({ bars: 3 });
    expect(embargoBars('auto', 4)).toEqual({ bars: 4 });
    expect(embargoBars(4, 4).issue).toBeUndefined();
    const { issue } = embargoBars(2, 24);
    expect(issue?.path).toEqual(['embargo']);
    expect(issue?.message).toContain('embargo 2 bars');
    expect(issue?.message).toContain('horizon 24 bars');
  });

  it('a longer embargo drops more rows after each test fold', async () => {
    const ds = await split.run({ features: features(20) }, { ...defaults, method: 'purged_kfold', folds: 4, embargo: 5 }, testContext());
    // fold 1: purged [3, 5), embargoed [10, 15) → [0, 3) and [15, 20)
    expect(ds.folds[1].trainRanges).toEqual([r(0, 3), r(15, 20)]);
  });
});

describe('split method: cpcv', () => {
  it('20 rows, 4 groups, 2 test groups: 6 folds, 3 paths, split-up test rows', async () => {
    const ds = await split.run({ features: features(20) }, { ...defaults, method: 'cpcv', groups: 4, test_groups: 2 }, testContext());
    expect(ds.folds).toHaveLength(6);
    expect(ds.cpcv!.paths).toHaveLength(3);
    expect(ds.cpcv!.groups).toEqual([r(0, 5), r(5, 10), r(10, 15), r(15, 20)]);
    // split {0, 2}: test [0,5) and [10,15); horizon 2 = embargo: blocked [0,7) and [8,17) → train [7,8) [17,20)
    const f = ds.folds[1];
    expect(ds.cpcv!.testGroups[1]).toEqual([0, 2]);
    expect(f.testRanges).toEqual([r(0, 5), r(10, 15)]);
    expect(f.test).toEqual(r(0, 5));
    expect(f.trainRanges).toEqual([r(7, 8), r(17, 20)]);
    const s = stats([7, 17, 18, 19], (i) => i);
    expect(f.scaler.center[0]).toBeCloseTo(s.mean, 14);
    expect(f.scaler.scale[0]).toBeCloseTo(s.std, 14);
    expect(split.metrics!(ds).paths).toBe(3);
  });
});

describe('split method: temporal by dates, and other scalers', () => {
  it('val_start and test_start pick the first rows at or after them', async () => {
    const iso = (h: number): string => new Date(T0 + h * H).toISOString().replace('.000Z', 'Z');
    // val from row 10 (a date on a row), test from row 15 (a date between rows 14 and 15)
    const ds = await split.run(
      { features: features(20) },
      { ...defaults, val_start: iso(10), test_start: new Date(T0 + 14.5 * H).toISOString() },
      testContext(),
    );
    // train [0, 10−2), val [10, 15−2), test [15, 20)
    expect(ds.folds[0].train).toEqual(r(0, 8));
    expect(ds.folds[0].val).toEqual(r(10, 13));
    expect(ds.folds[0].test).toEqual(r(15, 20));
    expect(ds.raw).toBeUndefined(); // one fold: X is its scaling
  });

  it('a date without a zone is UTC: "2021-01-04 10:00" is row 10', async () => {
    const ds = await split.run({ features: features(20) }, { ...defaults, val_start: '2021-01-04 10:00', test_start: '2021-01-04T15:00' }, testContext());
    expect(ds.folds[0].val.start).toBe(10);
    expect(ds.folds[0].test.start).toBe(15);
  });

  it('robust scaling: median and IQR of the training rows', async () => {
    const ds = await split.run({ features: features(20) }, { ...defaults, scale: 'robust' }, testContext());
    // train rows 0..9: median 4.5; q25 at position 2.25 → 2.25, q75 at 6.75 → 6.75; IQR 4.5
    expect(ds.folds[0].scaler).toMatchObject({ method: 'robust' });
    expect(ds.folds[0].scaler.center[0]).toBe(4.5);
    expect(ds.folds[0].scaler.scale[0]).toBe(4.5);
    expect(ds.X[19 * 3]).toBe((19 - 4.5) / 4.5);
  });

  it('minmax scaling maps the training range of f_lin (0..9) onto [0, 1]', async () => {
    const ds = await split.run({ features: features(20) }, { ...defaults, scale: 'minmax' }, testContext());
    expect(ds.X[0]).toBe(0);
    expect(ds.X[9 * 3]).toBe(1);
    expect(ds.X[18 * 3]).toBe(2);
  });
});

describe('split check(): located compile-time issues', () => {
  const paths = (p: Partial<SplitParams>): (string | number)[][] => split.check!({ ...defaults, ...p }).map((i) => i.path);

  it('walk_forward needs train_bars and test_bars', () => {
    expect(paths({ method: 'walk_forward' })).toEqual([['train_bars'], ['test_bars']]);
    expect(paths({ method: 'walk_forward', train_bars: 100, test_bars: 10 })).toEqual([]);
  });

  it('a parameter of another method is named', () => {
    // The compiler says which params the YAML wrote (defaults are filled in for every method).
    const issues = split.check!({ ...defaults, train_bars: 100 }, { upstream: () => undefined, written: (p) => p[0] === 'train_bars' });
    expect(issues[0].path).toEqual(['train_bars']);
    expect(issues[0].message).toContain('method: walk_forward');
  });

  it('dates: both or neither, valid and in order', () => {
    expect(paths({ val_start: '2020-01-01' })).toEqual([['val_start']]);
    expect(paths({ val_start: '2020-01-01', test_start: '2019-01-01' })).toEqual([['test_start']]);
    expect(paths({ val_start: '2020-13-45', test_start: '2021-01-01' })).toEqual([['val_start']]);
    expect(paths({ val_start: '2020-01-01', test_start: '2021-01-01', ratios: [0.5, 0.5, 0.5] })).toEqual([]); // ratios unused
  });

  it('cpcv needs fewer test groups than groups; embargo must be whole bars', () => {
    expect(paths({ method: 'cpcv', groups: 4, test_groups: 4 })).toEqual([['test_groups']]);
    expect(paths({ method: 'purged_kfold', embargo: 1.5 })).toEqual([['embargo']]);
  });
});

describe('the default temporal split is unchanged by version 2', () => {
  it('ranges, scaler and X as version 1 computed them (single fold, no raw copy)', async () => {
    const ds: Dataset = await split.run({ features: features(20) }, defaults, testContext());
    expect(ds.folds).toHaveLength(1);
    expect(ds.folds[0].trainRanges).toBeUndefined();
    expect([ds.folds[0].train, ds.folds[0].val, ds.folds[0].test]).toEqual([r(0, 10), r(12, 14), r(16, 20)]);
    expect(ds.X[19 * 3]).toBeCloseTo((19 - 4.5) / Math.sqrt(8.25), 12);
  });
});
