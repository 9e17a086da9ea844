import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/artifacts.js';
import { runSteps } from './helpers.js';

/**
 * The key property of replay: with its schedule equal to a walk-forward split's folds (retrain every
 * `test_bars` rows from row train_bars + val_bars, the same window, validation rows and scaling),
 * the replay is that walk-forward backtest. The reference is the existing chain split → train →
 * backtest, run in the same test; every number must be the same double (Object.is).
 */

function pipeline(model: string, window: 'expanding' | 'rolling', val: number): string {
  return `version: 1
name: replay-wf
seed: 7
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 2300, start: "2021-01-04" }
  features:
    uses: features
    from: candles
    with: { indicators: [{ rsi: { period: 14 } }], returns: [1, 4], volatility: [24], target: { forward_return: { horizons: [1, 3] } } }
  dataset:
    uses: split
    from: features
    with: { method: walk_forward, window: ${window}, train_bars: 900, val_bars: ${val}, test_bars: 250, scale: zscore, drift: false }
  model:
    uses: train
    from: dataset
    with: ${model}
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { entry_threshold: 0.0001, costs: { spread_pips: 0.8 } }
  replay:
    uses: replay
    from: { features: features, candles: candles }
    with:
      train: ${model}
      retrain: { every: 250 bars, window: ${window}, train_bars: 900, val_bars: ${val} }
      backtest: { entry_threshold: 0.0001, costs: { spread_pips: 0.8 } }
`;
}

function sameArray(a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined, what: string): void {
  expect(a, what).toBeDefined();
  expect(b!.length, `${what}: length`).toBe(a!.length);
  for (let i = 0; i < a!.length; i++) if (!Object.is(a![i], b![i])) throw new Error(`${what}[${i}]: ${a![i]} vs ${b![i]}`);
}

function sameReport(wf: Report, rp: Report): void {
  for (const key of ['index', 'position', 'equity', 'benchmark', 'net', 'cost'] as const) sameArray(wf[key], rp[key], key);
  for (const key of ['entry', 'exit', 'position', 'bars', 'pnl', 'pips', 'account'] as const) sameArray(wf.trades![key], rp.trades![key], `trades.${key}`);
  for (const [name, v] of Object.entries(wf.metrics)) expect(Object.is(rp.metrics[name], v), `metric ${name}: ${v} vs ${rp.metrics[name]}`).toBe(true);
  expect(rp.forecast).toEqual(wf.forecast);
  expect(rp.valForecast).toEqual(wf.valForecast);
}

describe('replay with a fixed schedule equal to walk-forward folds', () => {
  const cases: [string, string, 'expanding' | 'rolling', number][] = [
    ['ridge, expanding, no val', '{ model: ridge, alpha: 2 }', 'expanding', 0],
    ['ridge, rolling, with val', '{ model: ridge, alpha: 0.5 }', 'rolling', 120],
    [
      'gbm (early stopping on val, subsampling), rolling',
      '{ model: gbm, n_estimators: 40, max_depth: 3, learning_rate: 0.1, subsample: 0.8, early_stopping_rounds: 5 }',
      'rolling',
      150,
    ],
  ];
  for (const [name, model, window, val] of cases) {
    it(`${name}: predictions and trades bit for bit`, async () => {
      const r = await runSteps(pipeline(model, window, val));
      const pr = r.model!.predictions;
      const rows = r.features.index;
      // The folds' test windows stop short of the last rows (a whole test window must fit): replay
      // the bars up to the same one (\`end\`: the first bar after the last test row).
      const last = Math.max(...Array.from(pr.index).filter((_, i) => pr.segment[i] === 2));
      const end = rows.find((t) => t > last)!;
      const replayed = await r.replay({ end: new Date(end).toISOString() });
      const tl = replayed.retrain!;
      expect(tl.models.length).toBe(r.dataset!.folds.length);
      tl.models.forEach((m, f) => {
        const fold = r.dataset!.folds[f];
        expect(m.ts, `fold ${f}: retrained at its first test bar`).toBe(rows[fold.test.start]);
        expect(m.trainRows).toBe(fold.train.end - fold.train.start);
        expect(m.valRows).toBe(fold.val.end - fold.val.start);
      });
      expect(replayed.index.length).toBeGreaterThan(900);
      // Predictions: each walk-forward test prediction, and each validation one, is replay's at the same bar and fold.
      const rows2 = await r.replayRows({ end: new Date(end).toISOString() });
      const rp = rows2.model.predictions;
      const key = (i: number, q: typeof pr): string => `${q.segment[i]}:${q.fold[i]}:${q.index[i]}`;
      const at = new Map(Array.from(rp.index.keys(), (i) => [key(i, rp), i]));
      let compared = 0;
      for (let i = 0; i < pr.index.length; i++) {
        const j = at.get(key(i, pr));
        expect(j, `walk-forward prediction ${key(i, pr)} has a replay twin`).toBeDefined();
        for (const t of r.model!.targetNames)
          if (!Object.is(pr.values[t][i], rp.values[t][j!])) throw new Error(`${t} at ${key(i, pr)}: ${pr.values[t][i]} vs ${rp.values[t][j!]}`);
        compared++;
      }
      expect(compared).toBe(rp.index.length);
      sameReport(r.walkForward!, replayed);
    }, 60_000);
  }
});
