import type { BarPredictions } from '../../core/artifacts.js';
import { RunError, type ParamIssue } from '../../core/diagnostics.js';
import { parseTimestamp } from '../../data/dates.js';
import { isoUtc } from '../../data/frame.js';
import { thousands } from '../../core/format.js';
import { defineStep, paramsOf, type CheckContext } from '../define.js';
import { followHooks } from '../follow-hooks.js';
import featuresStep from '../features/index.js';
import type { FeaturesParams } from '../features/params.js';
import { predictBars, type PredictMemory } from './core.js';
import type { PredictParams } from './params.js';

const DATE_HINT = 'write a UTC date such as 2020-01-05 or 2020-01-05T22:00';

function date(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const t = parseTimestamp(s);
  if (!Number.isFinite(t)) throw new RunError(`cannot read ${what} date ${JSON.stringify(s)}`, { hint: DATE_HINT });
  return t;
}

export default defineStep({
  kind: 'predict',
  version: 1,
  description:
    'Score candles with a trained model: the features recomputed exactly as it was trained on them, the newest fold’s scaler and state; one prediction per target and bar, with the signal a backtest rule would take.',
  inputs: { model: 'Model', candles: 'Candles' },
  output: 'Predictions',
  params: paramsOf<PredictParams>(),

  check(p: PredictParams, ctx?: CheckContext): ParamIssue[] {
    const issues: ParamIssue[] = [];
    if (ctx?.written?.(['features']))
      issues.push({ path: ['features'], message: '`features` is filled in from the features step the model was trained on', hint: 'remove it' });
    else if (ctx && !ctx.upstream('features'))
      issues.push({
        at: 'from',
        path: ['model'],
        message: 'no features step upstream of the model: predict recomputes the features the model was trained on with it',
        hint: 'wire `model` to a train step fed by split ← features ← fetch',
      });
    if (p.exit_threshold !== undefined) {
      if (p.rule !== 'threshold') issues.push({ path: ['exit_threshold'], message: `exit_threshold only applies to rule \`threshold\`, not \`${p.rule}\`` });
      else if (p.exit_threshold > p.entry_threshold)
        issues.push({ path: ['exit_threshold'], message: `exit_threshold (${p.exit_threshold}) is above entry_threshold (${p.entry_threshold})` });
    }
    for (const k of ['from', 'to'] as const) {
      if (p[k] !== undefined && !Number.isFinite(parseTimestamp(p[k]!)))
        issues.push({ path: [k], message: `cannot read ${k} date ${JSON.stringify(p[k])}`, hint: DATE_HINT });
    }
    return issues;
  },

  // The features step's params (resolved) become part of this step's: its cache key covers them,
  // and `run` recomputes exactly those features.
  resolve(p: PredictParams, ctx?: CheckContext): PredictParams {
    const up = ctx?.upstream('features');
    if (!up) return p;
    return { ...p, features: featuresStep.resolve!(up.params as unknown as FeaturesParams) as unknown as Record<string, unknown> };
  },

  async run({ model, candles }, p: PredictParams, ctx): Promise<BarPredictions> {
    if (!p.features) throw new RunError('the predict step has no features params', { hint: 'wire `model` to a train step fed by split ← features ← fetch' });
    // Under `fxflow watch`: bars appended since the last run are the only ones scored (docs/incremental.md).
    const memory = followHooks().predict?.(JSON.stringify([ctx.stepId, candles.symbol, candles.timeframe, p.features]), (): PredictMemory => ({}));
    return predictBars(
      model,
      candles,
      {
        features: p.features as unknown as FeaturesParams,
        signal: p,
        from: date(p.from, 'from'),
        to: date(p.to, 'to'),
        last: p.last,
      },
      ctx,
      memory,
    );
  },

  metricNames: ['bars', 'long', 'short'],
  metrics(out: BarPredictions) {
    let long = 0;
    let short = 0;
    for (const s of out.signal) s > 0 ? long++ : s < 0 && short++;
    return { bars: out.index.length, long, short };
  },

  summary(out: BarPredictions) {
    const n = out.index.length;
    if (n === 0) return '0 bars predicted';
    return `${thousands(n)} bars predicted ${isoUtc(out.index[0])} → ${isoUtc(out.index[n - 1])} UTC · signal ${out.rule}`;
  },
});
