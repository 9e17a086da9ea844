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
