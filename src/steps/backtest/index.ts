import type { Model, Report } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { isoUtc } from '../../data/frame.js';
import { parseTimeframe } from '../../data/timeframe.js';
import { backtestMetrics, barsPerYear } from '../../backtest/metrics.js';
import { cumsum, positionsFromPredictions, simulate } from '../../backtest/simulate.js';
import { defineStep, paramsOf } from '../define.js';
import type { BacktestParams } from './params.js';

export type { BacktestParams, CostParams } from './params.js';

const SEGMENT_CODE = { val: 1, test: 2 } as const;

/** Position of `t` in the sorted array `a`, or −1. */
function findSorted(a: Float64Array, t: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < t) lo = mid + 1;
    else if (a[mid] > t) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/** The model's target the signal reads: the one named, or the shortest horizon. */
export function chooseTarget(model: Model, target: string | undefined): string {
  if (target !== undefined) {
    if (!model.targetNames.includes(target)) {
      throw new RunError(`the model has no target \`${target}\``, { hint: `the model's targets are: ${model.targetNames.join(', ')}` });
    }
    return target;
  }
  if (model.targetNames.length === 0) throw new RunError('the model has no targets', { hint: 'check the features step’s `target`' });
  let best = 0;
  model.targetHorizons.forEach((h, i) => {
    if (h < model.targetHorizons[best]) best = i;
  });
  return model.targetNames[best];
}

/** Bar length in ms: from the timeframe, else the median spacing of the bars. */
function barMs(timeframe: string, index: Float64Array): number {
  try {
    return parseTimeframe(timeframe).ms;
  } catch {
    const d = Array.from({ length: index.length - 1 }, (_, i) => index[i + 1] - index[i]).sort((a, b) => a - b);
    if (d.length === 0) throw new RunError(`cannot tell the bar length: timeframe ${JSON.stringify(timeframe)} and ${index.length} bar(s)`);
    return d[d.length >> 1];
  }
}

const NOTES = (spreadPips: number, pip: number, perYear: number): string[] => [
  'A prediction made at bar t’s close is filled at bar t+1’s open (never at t’s close) and held until the next bar’s open: gross return = position × ln(open[t+2] / open[t+1]).',
  'Positions: +1 when the prediction is above +entry_threshold, −1 below −entry_threshold, else flat.',
  `Costs: each change of position pays |Δposition| × half the spread (${spreadPips} pips × ${pip} / 2) / fill price; a round trip costs one full spread. A position is closed (and its exit paid) before a gap in the signals and at the end.`,
  'Returns are log returns; equity, total return and drawdown are sums of net per-bar log returns.',
  `Sharpe: mean / std (ddof 1) of net per-bar returns × √(bars per year), bars per year = 260 days × 24 h / bar length = ${Number(perYear.toFixed(2))} (FX trading time, zero risk-free rate).`,
  'Benchmark: buy and hold over the same bars, no costs.',
];

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a';
}

export default defineStep({
  kind: 'backtest',
  version: 1,
  description: 'Trade a model’s out-of-sample predictions at the next bar’s open, with spread costs; Sharpe, drawdown, hit rate and a buy-and-hold benchmark.',
  inputs: { model: 'Model', dataset: 'Dataset', candles: 'Candles' },
  output: 'Report',
  params: paramsOf<BacktestParams>(),

  async run({ model, dataset, candles }, params: BacktestParams, ctx): Promise<Report> {
    const target = chooseTarget(model, params.target);
    const open = candles.columns.open;
    if (!open || open.length !== candles.index.length) {
      throw new RunError('the candles have no `open` column of the right length', { hint: 'connect the fetch step’s candles' });
    }
    if (dataset.symbol !== candles.symbol) {
      ctx.warn(`the dataset is ${dataset.symbol} but the candles are ${candles.symbol}`);
    }

    const pr = model.predictions;
    const values = pr.values[target];
    if (!values || values.length !== pr.index.length) {
      throw new RunError(`the model has no predictions of \`${target}\``, { hint: 'the model artifact is inconsistent; rerun the train step' });
    }
    const code = SEGMENT_CODE[params.segment];
    const rows: number[] = [];
    for (let i = 0; i < pr.index.length; i++) if (pr.segment[i] === code) rows.push(i);
    if (rows.length === 0) {
      throw new RunError(`the model has no predictions on the ${params.segment} segment`, { hint: 'check the split step’s ratios' });
    }
    rows.sort((a, b) => pr.index[a] - pr.index[b]);

    const signalBar = new Int32Array(rows.length);
    const pred = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const t = pr.index[rows[i]];
      if (i > 0 && t === pr.index[rows[i - 1]]) {
        throw new RunError(`the model predicts ${isoUtc(t)} twice on the ${params.segment} segment (overlapping folds)`, {
          hint: 'backtest a split whose segments do not overlap',
        });
      }
      if (findSorted(dataset.index, t) < 0) {
        throw new RunError(`the model's prediction for ${isoUtc(t)} is not a row of the dataset`, { hint: 'connect the dataset the model was trained on' });
      }
      const bar = findSorted(candles.index, t);
      if (bar < 0) {
        throw new RunError(`no candle at ${isoUtc(t)}, a predicted row of the model`, { hint: 'connect the candles the features were computed from' });
      }
      signalBar[i] = bar;
      pred[i] = values[rows[i]];
    }

    const sim = simulate({
      open,
      signalBar,
      position: positionsFromPredictions(pred, params.entry_threshold),
      halfSpread: (params.costs.spread_pips * candles.pip) / 2,
    });
    if (sim.untraded > 0) ctx.log(`${sim.untraded} prediction(s) at the end not traded: the bars to fill and exit them do not exist`);
    if (sim.bar.length === 0) {
      throw new RunError(`none of the ${rows.length} predictions can be traded: the candles end before the bars after them`, {
        hint: 'connect the full candles, not a slice ending at the dataset',
      });
    }

    const perYear = barsPerYear(barMs(candles.timeframe, candles.index));
    const metrics = backtestMetrics(sim, perYear);
    const index = new Float64Array(sim.bar.length);
    for (let i = 0; i < index.length; i++) index[i] = candles.index[sim.bar[i]];

    return {
      type: 'Report',
      symbol: candles.symbol,
      metrics: { ...metrics },
      index,
      position: sim.position,
      equity: cumsum(sim.net),
      benchmark: cumsum(sim.benchmark),
      notes: [`Signal: ${model.kind} predictions of ${target}, ${params.segment} segment.`, ...NOTES(params.costs.spread_pips, candles.pip, perYear)],
    };
  },

  metrics(out: Report) {
    return out.metrics;
  },

  summary(out: Report) {
    const m = out.metrics;
    const sharpe = Number.isFinite(m.sharpe) ? m.sharpe.toFixed(2) : 'n/a';
    return `Sharpe ${sharpe} · max DD ${pct(m.max_drawdown)} · ${m.trades} trade${m.trades === 1 ? '' : 's'} · hit ${pct(m.hit_rate)}`;
  },
});
