import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/core/artifacts.js';
import train from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';

/**
 * Purged k-fold / CPCV folds train on several disjoint row ranges and test on several: the train
 * step must fit on exactly the union of the training pieces and predict exactly the test pieces.
 */
describe('train on a fold of several pieces', () => {
  it('fits on the union of the training ranges and predicts only the test ranges', async () => {
    const n = 40;
    const X = Float64Array.from({ length: n }, (_, i) => i);
    // Piece A (rows 0–9): y = 2x. Piece B (rows 20–29): y = 2x + 5. Everything else is noise that
    // a fit on the wrong rows would pick up.
    const Y = Float64Array.from({ length: n }, (_, i) => (i < 10 ? 2 * i : i >= 20 && i < 30 ? 2 * i + 5 : -100 * i));
    const none = { method: 'none' as const, center: [0], scale: [1] };
    const ds: Dataset = {
      type: 'Dataset',
      symbol: 'T',
      timeframe: '1h',
      index: Float64Array.from({ length: n }, (_, i) => i * 3_600_000),
      featureNames: ['x'],
      targetNames: ['fwd_ret_1'],
      targetHorizons: [1],
      X,
      Y,
      method: 'purged_kfold',
      folds: [
        {
          train: { start: 0, end: 10 },
          trainRanges: [
            { start: 0, end: 10 },
            { start: 20, end: 30 },
          ],
          val: { start: 30, end: 30 },
          test: { start: 10, end: 15 },
          testRanges: [{ start: 10, end: 15 }],
          scaler: none,
        },
      ],
    };
    const model = await train.run({ dataset: ds }, { model: 'ols' } as never, testContext());

    // OLS on the 20 training points, by hand: b = Sxy / Sxx, a = ȳ − b·x̄.
    const xs = [...Array(10).keys(), ...Array.from({ length: 10 }, (_, i) => 20 + i)];
    const ys = xs.map((x) => (x < 10 ? 2 * x : 2 * x + 5));
    const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
    const my = ys.reduce((s, v) => s + v, 0) / ys.length;
    let sxy = 0;
    let sxx = 0;
    xs.forEach((x, i) => {
      sxy += (x - mx) * (ys[i] - my);
      sxx += (x - mx) * (x - mx);
    });
    const b = sxy / sxx;
    const a = my - b * mx;

    const p = model.predictions;
    expect(Array.from(p.segment)).toEqual([2, 2, 2, 2, 2]);
    expect(Array.from(p.index)).toEqual([10, 11, 12, 13, 14].map((i) => i * 3_600_000));
    const pred = p.values.fwd_ret_1;
    for (let j = 0; j < 5; j++) expect(pred[j]).toBeCloseTo(a + b * (10 + j), 9);
    // A fit on piece A alone would be exactly y = 2x; the union gives another line.
    expect(Math.abs(b - 2) + Math.abs(a)).toBeGreaterThan(0.1);
  });
});
