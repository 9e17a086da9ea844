import { describe, it, expect } from 'vitest';
import type { Dataset } from '../../src/core/artifacts.js';
import { RunError } from '../../src/core/diagnostics.js';
import split, { temporalRanges } from '../../src/steps/split/index.js';
import { testContext } from '../helpers/ctx.js';

import { defaults, features, H, T0 } from './fixtures.js';

describe('temporal split with purging', () => {
  it('20 rows, ratios 0.6/0.2/0.2, horizon 2', () => {
    // nTrain = ⌊20·0.6⌋ = 12, nVal = ⌊20·0.2⌋ = 4, test = the remaining 4 rows.
    // Purge 2: train [0, 12−2) = [0, 10); val [12, 12+4−2) = [12, 14); test [12+4, 20) = [16, 20).
    expect(temporalRanges(20, [0.6, 0.2, 0.2], 2)).toEqual({
      train: { start: 0, end: 10 },
      val: { start: 12, end: 14 },
      test: { start: 16, end: 20 },
    });
  });

  it('the step over 1,300 rows (the row-major copy works in blocks of rows): every X and Y value', async () => {
    const n = 1300;
    const ds = await split.run({ features: features(n) }, defaults, testContext());
    const { train } = ds.folds[0];
    // Training statistics computed here, column by column (population std), from the fixture's formulas.
    const stats = (f: (i: number) => number): [number, number] => {
      let m = 0;
      for (let i = train.start; i < train.end; i++) m += f(i);
      m /= train.end - train.start;
      let ss = 0;
      for (let i = train.start; i < train.end; i++) ss += (f(i) - m) ** 2;
      return [m, Math.sqrt(ss / (train.end - train.start))];
    };
    const cols = [(i: number) => i, (i: number) => (i * i) % 7];
    const st = cols.map(stats);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < 2; j++) expect(ds.X[r * 3 + j]).toBeCloseTo((cols[j](r) - st[j][0]) / st[j][1], 10);
      expect(ds.X[r * 3 + 2]).toBe(0);
      expect(ds.Y[r * 2]).toBe(r / 100);
      expect(ds.Y[r * 2 + 1]).toBe(-r / 50);
    }
  });

  it('keeps a row that floating point would round away (100 × 0.57 = 56.99999999999999)', () => {
    expect(100 * 0.57).toBeLessThan(57);
    expect(temporalRanges(100, [0.57, 0.23, 0.2], 0).train.end).toBe(57);
  });

  it('the step: ranges, scaler from training rows only, scaled X, unscaled Y', async () => {
    const ds = await split.run({ features: features(20) }, defaults, testContext());
    const fold = ds.folds[0];
    expect(fold.train).toEqual({ start: 0, end: 10 });
    expect(fold.val).toEqual({ start: 12, end: 14 });
    expect(fold.test).toEqual({ start: 16, end: 20 });
    expect(ds.method).toBe('temporal');

    // Mean and population std (ddof 0) of each feature over rows 0..9 only, computed here.
    const lin = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const sq = lin.map((i) => (i * i) % 7); // 0 1 4 2 2 4 1 0 1 4
    const meanOf = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
    const stdOf = (v: number[]): number => Math.sqrt(v.reduce((a, b) => a + (b - meanOf(v)) ** 2, 0) / v.length);
    expect(meanOf(lin)).toBe(4.5);
    expect(stdOf(lin) ** 2).toBeCloseTo(8.25, 12); // (2·(0.25+2.25+6.25+12.25+20.25))/10
    const { center, scale } = fold.scaler;
    expect(center[0]).toBeCloseTo(4.5, 14);
    expect(scale[0]).toBeCloseTo(Math.sqrt(8.25), 14);
    expect(center[1]).toBeCloseTo(meanOf(sq), 14);
    expect(scale[1]).toBeCloseTo(stdOf(sq), 14);
    // A constant feature: centre 5, zero std → scale 1, so it scales to 0 rather than NaN.
    expect(center[2]).toBe(5);
    expect(scale[2]).toBe(1);

    // X row-major, every row scaled with the training statistics (test rows included).
    const p = 3;
    for (const r of [0, 9, 12, 19]) {
      expect(ds.X[r * p]).toBeCloseTo((r - 4.5) / Math.sqrt(8.25), 12);
      expect(ds.X[r * p + 1]).toBeCloseTo((((r * r) % 7) - meanOf(sq)) / stdOf(sq), 12);
      expect(ds.X[r * p + 2]).toBe(0);
    }
    // Y row-major and unscaled.
    expect(ds.Y[19 * 2]).toBeCloseTo(0.19, 15);
    expect(ds.Y[19 * 2 + 1]).toBeCloseTo(-0.38, 15);
    expect(ds.targetHorizons).toEqual([1, 2]);
    expect(ds.index[3]).toBe(T0 + 3 * H);
  });

  it('scale: none leaves the features as they are', async () => {
    const ds = await split.run({ features: features(20) }, { ...defaults, scale: 'none' }, testContext());
    expect(ds.X[7 * 3]).toBe(7);
    expect(ds.folds[0].scaler).toEqual({ method: 'none', center: [0, 0, 0], scale: [1, 1, 1] });
  });

  it('too few rows: a RunError that says how many rows there are', async () => {
    // 6 rows: nTrain = 3, nVal = 1 → val [3, 3+1−2) is empty.
    const run = split.run({ features: features(6) }, defaults, testContext());
    await expect(run).rejects.toBeInstanceOf(RunError);
    await expect(split.run({ features: features(6) }, defaults, testContext())).rejects.toThrow(/6 rows/);
  });
});

describe('split check()', () => {
  it('accepts the defaults', () => {
    expect(split.check!(defaults)).toEqual([]);
  });

  it('ratios that do not sum to 1: an issue at ratios naming the sum', () => {
    const issues = split.check!({ ...defaults, ratios: [0.5, 0.3, 0.3] });
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual(['ratios']);
    expect(issues[0].message).toContain(String(0.5 + 0.3 + 0.3));
  });

  it('a ratio that is not positive', () => {
    const issues = split.check!({ ...defaults, ratios: [0.8, 0.2, 0] });
    expect(issues.map((i) => i.path)).toEqual([['ratios', 2]]);
  });
});

describe('split summary and metrics', () => {
  it('prints segment sizes with thousands separators', () => {
    const ds = {
      index: new Float64Array(19_901),
      folds: [
        {
          train: { start: 0, end: 11_940 },
          val: { start: 11_940, end: 15_920 },
          test: { start: 15_920, end: 19_901 },
          scaler: { method: 'none', center: [], scale: [] },
        },
      ],
    } as unknown as Dataset;
    expect(split.summary!(ds)).toBe('train 11,940 / val 3,980 / test 3,981 rows');
    expect(split.metrics!(ds)).toEqual({ rows: 19_901, train_rows: 11_940, val_rows: 3_980, test_rows: 3_981 });
  });
});
