import { describe, expect, it } from 'vitest';
import type { Candles, Dataset, Features, Model } from '../../src/core/artifacts.js';
import { parsePipelineText } from '../../src/parser/index.js';
import backtest from '../../src/steps/backtest/index.js';
import type { BacktestParams } from '../../src/steps/backtest/params.js';
import features from '../../src/steps/features/index.js';
import fetch from '../../src/steps/fetch/index.js';
import split from '../../src/steps/split/index.js';
import train from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';

// Synthetic H1 bars → indicators → CPCV with 6 groups, 2 test groups (C(6,2) = 15 splits forming
// C(5,1) = 5 backtest paths) → ridge → backtest. Params completed by the validator, as in a pipeline.
const TEXT = `version: 1
name: cpcv
seed: 3
steps:
  c: { uses: fetch, with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 3000 } }
  f: { uses: features, from: c, with: { indicators: [ { rsi: { period: 14 } }, { ema: { period: 20 } } ], returns: [1, 4], target: { forward_return: { horizons: [1] } } } }
  d: { uses: split, from: f, with: { method: cpcv, groups: 6, test_groups: 2, scale: zscore } }
  m: { uses: train, from: d, with: { model: ridge } }
  r: { uses: backtest, from: { model: m, dataset: d, candles: c }, with: { entry_threshold: 0.00002, costs: { spread_pips: 0.5 } } }
`;

describe('backtest of a CPCV split: every backtest path traded on its own', () => {
  it('each path is the j-th split testing each group, traded alone; the metrics summarise their Sharpe ratios', async () => {
    const spec = parsePipelineText(TEXT, '/tmp/cpcv.yaml').spec!;
    const w = (id: string): never => spec.steps.find((s) => s.id === id)!.with as never;
    const ctx = testContext();
    const candles = (await fetch.run({}, w('c'), ctx)) as Candles;
    const feats = (await features.run({ candles }, w('f'), ctx)) as Features;
    const dataset = (await split.run({ features: feats }, w('d'), ctx)) as Dataset;
    const model = (await train.run({ dataset }, train.resolve!(w('m')), ctx)) as Model;
    const params = backtest.resolve!(w('r')) as BacktestParams;
    const report = await backtest.run({ model, dataset, candles }, params, ctx);

    const cpcv = dataset.cpcv!;
    expect(cpcv.paths).toHaveLength(5);
    expect(report.paths!.sharpe).toHaveLength(5);

    // The paths from the definition, built here: group g's j-th path takes the j-th split (in fold
    // order) whose test groups include g; its rows are that split's test predictions inside group g.
    const pr = model.predictions;
    for (let j = 0; j < 5; j++) {
      const keep: number[] = [];
      cpcv.groups.forEach((g, gi) => {
        const testers = cpcv.testGroups.map((tg, f) => (tg.includes(gi) ? f : -1)).filter((f) => f >= 0);
        const f = testers[j];
        for (let i = 0; i < pr.index.length; i++)
          if (pr.segment[i] === 2 && pr.fold[i] === f && pr.index[i] >= dataset.index[g.start] && pr.index[i] <= dataset.index[g.end - 1]) keep.push(i);
      });
      // A complete out-of-sample history: one prediction per predicted timestamp.
      expect(new Set(keep.map((i) => pr.index[i])).size).toBe(keep.length);
      const one: Model = {
        ...model,
        predictions: {
          index: Float64Array.from(keep, (i) => pr.index[i]),
          segment: Uint8Array.from(keep, (i) => pr.segment[i]),
          fold: Uint16Array.from(keep, (i) => pr.fold[i]),
          values: { fwd_ret_1: Float64Array.from(keep, (i) => pr.values.fwd_ret_1[i]) },
        },
      };
      const alone = await backtest.run({ model: one, dataset: { ...dataset, cpcv: undefined }, candles }, params, testContext());
      expect(Object.is(report.paths!.sharpe[j], alone.metrics.sharpe)).toBe(true);
      expect(Object.is(report.paths!.totalReturn[j], alone.metrics.total_return)).toBe(true);
    }
    const s = [...report.paths!.sharpe].sort((a, b) => a - b);
    expect(report.metrics.cpcv_paths).toBe(5);
    expect(report.metrics.cpcv_sharpe_min).toBe(s[0]);
    expect(report.metrics.cpcv_sharpe_median).toBe(s[2]);
    expect(report.metrics.cpcv_sharpe_max).toBe(s[4]);
    expect(report.metrics.cpcv_sharpe_mean).toBeCloseTo(s.reduce((a, b) => a + b, 0) / 5, 14);
    expect(report.metrics.cpcv_sharpe_negative).toBe(s.filter((x) => x < 0).length / 5);
  });
});
