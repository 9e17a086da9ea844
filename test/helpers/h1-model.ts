/**
 * A model trained on real bars, step by step with params completed as a pipeline's: EURUSD H1 2019
 * (MetaTrader) → features → temporal 60/20/20 z-scored split → train. Shared by the tests that
 * predict on real bars (test/predict/, test/follow/, test/models/online-stored.test.ts).
 */
import type { Candles, Dataset, Features, Model, Report } from '../../src/core/artifacts.js';
import { parsePipelineText } from '../../src/parser/index.js';
import backtest from '../../src/steps/backtest/index.js';
import type { BacktestParams } from '../../src/steps/backtest/params.js';
import features from '../../src/steps/features/index.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import fetch from '../../src/steps/fetch/index.js';
import split from '../../src/steps/split/index.js';
import train from '../../src/steps/train/index.js';
import { sharedFile, testContext } from './ctx.js';

/** ../shared/data/forex/EURUSD_H1.csv, or undefined where the shared data is absent (tests skip). */
export const H1 = sharedFile('EURUSD_H1.csv');

const INDICATORS = '[ { rsi: { period: 14 } }, { ema: { period: 20 } }, { macd: { fast: 12, slow: 26, signal: 9 } } ]';

/** The pipeline's text, its train step's `with:` being `model` (steps c, f, d, m). */
export const h1PipelineText = (model: string, indicators = INDICATORS) => `version: 1
name: h1
seed: 3
steps:
  c: { uses: fetch, with: { source: csv, path: ${JSON.stringify(H1 ?? 'missing.csv')}, symbol: EURUSD, timeframe: 1h, from: "2019-01-01", to: "2020-01-01" } }
  f: { uses: features, from: c, with: { indicators: ${indicators}, returns: [1, 4], target: { forward_return: { horizons: [1, 4] } } } }
  d: { uses: split, from: f, with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore } }
  m: { uses: train, from: d, with: ${model} }
`;

/** The train step's completed params of a `with:` written in YAML. */
function trainParams(model: string, indicators: string): never {
  const spec = parsePipelineText(h1PipelineText(model, indicators), '/tmp/h1.yaml').spec!;
  return train.resolve!(spec.steps.find((s) => s.id === 'm')!.with as never) as never;
}

/**
 * The bars, the features params (resolved), the dataset and the model trained with `model` (a
 * `with:` in YAML, or one made from the dataset); `fit` trains another on the same dataset.
 * `indicators` replaces the default RSI, EMA and MACD (a YAML list).
 */
export async function trainOnH1(model: string | ((dataset: Dataset) => string), indicators = INDICATORS) {
  const spec = parsePipelineText(h1PipelineText('{ model: ridge }', indicators), '/tmp/h1.yaml').spec!;
  const w = (id: string): never => spec.steps.find((s) => s.id === id)!.with as never;
  const ctx = testContext();
  const candles = (await fetch.run({}, w('c'), ctx)) as Candles;
  const fp = features.resolve!(w('f')) as FeaturesParams;
  const feats = (await features.run({ candles }, fp, ctx)) as Features;
  const dataset = (await split.run({ features: feats }, w('d'), ctx)) as Dataset;
  const fit = async (yaml: string): Promise<Model> => (await train.run({ dataset }, trainParams(yaml, indicators), ctx)) as Model;
  return { candles, fp, dataset, model: await fit(typeof model === 'string' ? model : model(dataset)), fit };
}

/** Costs of the predict-vs-backtest tests: a small spread, nothing else. */
export const SPREAD_ONLY = { spread_pips: 0.1, commission_per_million: 0, commission_per_lot: 0, slippage_pips: 0 };

/** The backtest's params for a rule on the test segment (resolved as the compiler does). */
export function backtestParams(rule: Partial<BacktestParams>): BacktestParams {
  const defaults: BacktestParams = {
    rule: 'threshold',
    entry_threshold: 0,
    quantile: 0.2,
    probability: 0.6,
    band: 0.1,
    holding: 'bar',
    segments: ['test'],
    sizing: { fixed: { units: 1 } },
    costs: SPREAD_ONLY,
    account_size: 100_000,
  };
  return backtest.resolve!({ ...defaults, ...rule });
}

/** ts of each signal → the backtest's position taken on it (Report.index is the bar held, the one after the signal's). */
export function backtestPositions(report: Report, candles: Candles): Map<number, number> {
  const out = new Map<number, number>();
  let k = 0;
  for (let i = 0; i < report.index.length; i++) {
    while (candles.index[k] < report.index[i]) k++;
    out.set(candles.index[k - 1], report.position[i]);
  }
  return out;
}
