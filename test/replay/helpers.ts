import type { Candles, Dataset, Features, Model, Report } from '../../src/core/artifacts.js';
import { parsePipelineText } from '../../src/parser/index.js';
import backtest from '../../src/steps/backtest/index.js';
import type { BacktestParams } from '../../src/steps/backtest/params.js';
import fetch from '../../src/steps/fetch/index.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import featuresStep from '../../src/steps/features/index.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import replay, { replay as replayRows, type Replayed } from '../../src/steps/replay/index.js';
import type { ReplayParams } from '../../src/steps/replay/params.js';
import split from '../../src/steps/split/index.js';
import type { SplitParams } from '../../src/steps/split/params.js';
import train from '../../src/steps/train/index.js';
import type { TrainParams } from '../../src/steps/train/params.js';
import { testContext } from '../helpers/ctx.js';

/** A ridge replay on 1,600 synthetic H1 bars with every trigger on (schedule, drift, decay, challenger with shadow). */
export function everyTriggerPipeline(name: string): string {
  return `version: 1
name: ${name}
seed: 3
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 1600, start: "2021-01-04" }
  features:
    uses: features
    from: candles
    with: { indicators: [{ rsi: { period: 14 } }], returns: [1, 4], volatility: [24], target: { forward_return: { horizons: [1, 3] } } }
  replay:
    uses: replay
    from: { features: features, candles: candles }
    with:
      train: { model: ridge, alpha: 1 }
      retrain:
        every: 1w
        window: rolling
        train_bars: 500
        val_bars: 100
        check_every: 6
        cooldown: 12
        drift: { window: 120, psi: 0.3, features: [ret_1, ret_4] }
        decay: { metric: ic, window: 60, below: 0.02 }
        challenger: { metric: ic, margin: 0.01, shadow: 30 }
      backtest: { entry_threshold: 0.0001 }
`;
}

/** Each step's `with:` as the pipeline validator fills it in (schema defaults), by step id. */
export function stepParams(yaml: string): Record<string, Record<string, unknown>> {
  const parsed = parsePipelineText(yaml, '/tmp/replay-test.yaml');
  if (!parsed.spec) throw new Error(parsed.diagnostics.map((d) => `${d.message} ${d.hint ?? ''}`).join('\n'));
  return Object.fromEntries(parsed.spec.steps.map((s) => [s.id, s.with]));
}

export interface Pipeline {
  candles: Candles;
  features: Features;
  dataset?: Dataset;
  model?: Model;
  walkForward?: Report;
  replayed: Report;
  /** Replay again with some `retrain:` params changed. */
  replay(retrain: Record<string, unknown>): Promise<Report>;
  /** The replay's Model (its predictions) and loop result, before trading. */
  replayRows(retrain: Record<string, unknown>): Promise<Replayed>;
}

/** Runs fetch → features (→ split → train → backtest when the YAML has them) and replay, in process. */
export async function runSteps(yaml: string, seed = 42): Promise<Pipeline> {
  const p = stepParams(yaml);
  const ctx = testContext({ seed });
  const candles = await fetch.run({}, p.candles as unknown as FetchParams, ctx);
  const features = await featuresStep.run({ candles }, p.features as unknown as FeaturesParams, ctx);
  const out: Partial<Pipeline> = { candles, features };
  if (p.dataset) {
    out.dataset = await split.run({ features }, p.dataset as unknown as SplitParams, ctx);
    out.model = await train.run({ dataset: out.dataset }, train.resolve!(p.model as unknown as TrainParams), ctx);
    out.walkForward = await backtest.run({ model: out.model, dataset: out.dataset, candles }, p.report as unknown as BacktestParams, ctx);
  }
  const rp = p.replay as unknown as ReplayParams;
  out.replayed = await replay.run({ features, candles }, rp, ctx);
  out.replay = (retrain) => replay.run({ features, candles }, { ...rp, retrain: { ...rp.retrain, ...retrain } }, ctx);
  out.replayRows = (retrain) => replayRows(features, candles, replay.resolve!({ ...rp, retrain: { ...rp.retrain, ...retrain } }) as ReplayParams, ctx);
  return out as Pipeline;
}
