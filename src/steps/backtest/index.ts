import type { Candles, Dataset, HorizonMetrics, Model, Report, ReportDistribution } from '../../core/artifacts.js';
import { RunError, type ParamIssue } from '../../core/diagnostics.js';
import { isoUtc } from '../../data/frame.js';
import { parseTimeframe } from '../../data/timeframe.js';
import { atr } from '../../indicators/dm.js';
import { horizonMetrics } from '../../models/metrics.js';
import { BACKTEST_METRIC_NAMES, backtestMetrics, barsPerYear } from '../../backtest/metrics.js';
import { metricsByRegime } from '../../backtest/regime.js';
import { directions, distributionDirection, inverseVolSize, kellySize, quantile, rollingStdVol, sizePositions } from '../../backtest/signals.js';
import { applyFinancing } from '../../backtest/financing.js';
import { distributionForm, rowForecast, type RowForecast } from '../../core/distribution.js';
import { cumsum, simulate } from '../../backtest/simulate.js';
import { defineStep, paramsOf, type CheckContext, type StepContext } from '../define.js';
import type { BacktestParams, CostParams, SignalRuleParams, SizingParams } from './params.js';
import { pct as percent } from '../../core/format.js';

const SEGMENT_CODE = { val: 1, test: 2 } as const;
const SEGMENT_NAME: Record<number, string> = { 0: 'train', 1: 'val', 2: 'test' };

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

/** Why a feature encoder cannot be backtested, and what to do instead; `stepId`: the train step, when known. */
function encoderRefusal(stepId?: string): { message: string; hint: string } {
  return {
    message: `${stepId ? `step \`${stepId}\` trains` : 'the model is'} an autoencoder: it encodes features and makes no forecasts to trade`,
    hint: `add an \`encode\` step (uses: encode, from: { model: ${stepId ?? '<encoder step>'}, dataset: <its dataset> }), train a forecasting model on the encoded dataset, and backtest that model`,
  };
}

/** The model's target the signal reads: the one named, or the shortest horizon. */
export function chooseTarget(model: Pick<Model, 'targetNames' | 'targetHorizons'>, target: string | undefined): string {
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

const fmt = (x: number, d = 4): string => (Number.isFinite(x) ? String(Number(x.toFixed(d))) : 'n/a');

const pct = (x: number): string => percent(x, 1, 'n/a');

/**
 * The prediction rows traded: those of the chosen segments, every fold, in time order. Where folds
 * overlap (a timestamp predicted twice), the test prediction wins over a val one, then the earlier fold.
 */
function selectRows(model: Model, segments: ('val' | 'test')[], ctx: StepContext): { rows: number[]; duplicates: number } {
  const pr = model.predictions;
  const codes = new Set(segments.map((s) => SEGMENT_CODE[s]));
  const all: number[] = [];
  for (let i = 0; i < pr.index.length; i++) if (codes.has(pr.segment[i] as 1 | 2)) all.push(i);
  all.sort((a, b) => pr.index[a] - pr.index[b] || pr.segment[b] - pr.segment[a] || pr.fold[a] - pr.fold[b] || a - b);
  const rows: number[] = [];
  let duplicates = 0;
  for (const r of all) {
    if (rows.length && pr.index[rows[rows.length - 1]] === pr.index[r]) duplicates++;
    else rows.push(r);
  }
  if (duplicates) ctx.warn(`${duplicates} timestamp(s) predicted by more than one fold/segment: traded once (test before val, then the earlier fold)`);
  return { rows, duplicates };
}

/** Per-signal quantile bands: the q and 1 − q quantiles of the predictions on each fold's validation segment. */
function quantileBands(model: Model, values: Float64Array, rows: number[], q: number, ctx: StepContext): { lo: Float64Array; hi: Float64Array } {
  const pr = model.predictions;
  const byFold = new Map<number, number[]>();
  for (let i = 0; i < pr.index.length; i++) {
    if (pr.segment[i] !== 1) continue;
    const f = pr.fold[i];
    let l = byFold.get(f);
    if (!l) byFold.set(f, (l = []));
    l.push(values[i]);
  }
  const cache = new Map<number, [number, number]>();
  const lo = new Float64Array(rows.length);
  const hi = new Float64Array(rows.length);
  let inSample = false;
  rows.forEach((r, i) => {
    const f = pr.fold[r];
    let b = cache.get(f);
    if (!b) {
      const v = byFold.get(f);
      if (!v || v.length === 0) {
        throw new RunError(`rule \`quantile\` needs validation predictions to calibrate on, and fold ${f} has none`, {
          hint: 'give the split step a val segment, or use rule `threshold` or `sign`',
        });
      }
      b = [quantile(v, q), quantile(v, 1 - q)];
      cache.set(f, b);
    }
    if (pr.segment[r] === 1) inSample = true;
    lo[i] = b[0];
    hi[i] = b[1];
  });
  if (inSample)
    ctx.warn('rule `quantile` on the val segment: its cut-offs were computed from those same predictions (in-sample); the test segment is the honest one');
  return { lo, hi };
}

/** The unscaled value of feature `column` at the dataset row of each of the first `n` signals (the regime in force there). */
function regimeAtSignals(dataset: Dataset, column: string, dsRow: Int32Array, n: number): Float64Array {
  const j = dataset.featureNames.indexOf(column);
  if (j < 0) {
    const regimes = dataset.featureNames.filter((f) => f.endsWith('_state'));
    throw new RunError(`\`by_regime: ${column}\` is not a feature of the dataset`, {
      hint: regimes.length
        ? `its regime columns: ${regimes.join(', ')}`
        : 'add a `regime` step between the features and the split, and name its `<prefix>_state` column',
    });
  }
  const p = dataset.featureNames.length;
  const { scaler } = dataset.folds[0];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = dsRow[i];
    // Unscaled: the raw matrix when folds scale differently, else undo fold 0's scaler.
    out[i] = dataset.raw ? dataset.raw[r * p + j] : scaler.method === 'none' ? dataset.X[r * p + j] : dataset.X[r * p + j] * scaler.scale[j] + scaler.center[j];
  }
  return out;
}

/** Forecast quality per target on the traded rows: predictions against the dataset's actual targets. */
function forecastQuality(model: Model, dataset: Dataset, rows: number[], dsRow: Int32Array): HorizonMetrics[] {
  const out: HorizonMetrics[] = [];
  const q = dataset.targetNames.length;
  model.targetNames.forEach((name, k) => {
    const col = dataset.targetNames.indexOf(name);
    const values = model.predictions.values[name];
    if (col < 0 || !values) return;
    const p: number[] = [];
    const a: number[] = [];
    rows.forEach((r, i) => {
      const y = dataset.Y[dsRow[i] * q + col];
      const v = values[r];
      if (Number.isFinite(y) && Number.isFinite(v)) {
        p.push(v);
        a.push(y);
      }
    });
    if (p.length >= 2) out.push(horizonMetrics(name, model.targetHorizons[k], p, a));
  });
  return out;
}

/** Drift lines: forecast quality and the spread of predictions and of actual returns, val against the traded rows. */
function driftNotes(model: Model, forecast: HorizonMetrics[], ctx: StepContext): string[] {
  const lines: string[] = [];
  for (const f of forecast) {
    const v = model.valMetrics.find((m) => m.target === f.target);
    if (!v) continue;
    lines.push(
      `${f.target}: IC ${fmt(v.ic, 3)} on val → ${fmt(f.ic, 3)} traded; directional accuracy ${pct(v.directionalAccuracy)} → ${pct(f.directionalAccuracy)}; RMSE ${fmt(v.rmse, 6)} → ${fmt(f.rmse, 6)}`,
    );
    if (v.ic > 0 && f.ic <= 0)
      ctx.warn(`${f.target}: the forecast's IC fell from ${fmt(v.ic, 3)} on val to ${fmt(f.ic, 3)} on the traded rows (drift or overfitting)`);
    if (v.rmse > 0 && f.rmse > 1.5 * v.rmse)
      lines.push(`${f.target}: RMSE grew ${fmt(f.rmse / v.rmse, 2)}× from val to the traded rows: the traded period is more volatile`);
  }
  return lines;
}

/** Forecasts drawn in the report's fan chart: the newest test rows. */
const FAN_ROWS = 400;
const FAN_LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95];

/** The fan chart's series (test rows traded, newest FAN_ROWS) and the model's distribution scores; undefined without a distribution. */
function reportDistribution(
  model: Model,
  target: string,
  horizon: number,
  candles: Candles,
  signalBar: Int32Array,
  rows: number[],
): ReportDistribution | undefined {
  const d = model.predictions.distribution;
  if (!distributionForm(d, target)) return undefined;
  const close = candles.columns.close ?? new Float64Array(0);
  const values = model.predictions.values[target];
  const h = Math.max(1, Math.round(horizon));
  const picked: number[] = [];
  for (let i = 0; i < rows.length; i++) if (model.predictions.segment[rows[i]] === 2 && signalBar[i] + h < close.length) picked.push(i);
  const use = picked.slice(-FAN_ROWS);
  const index = new Float64Array(use.length);
  const realised = new Float64Array(use.length);
  const bands = FAN_LEVELS.map(() => new Float64Array(use.length).fill(NaN));
  use.forEach((i, k) => {
    const b = signalBar[i];
    index[k] = candles.index[b + h];
    realised[k] = close[b + h];
    const f = rowForecast(d, target, rows[i], values[rows[i]]);
    if (f) FAN_LEVELS.forEach((l, j) => (bands[j][k] = close[b] * Math.exp(f.quantile(l))));
  });
  return { target, horizon, fan: { index, realised, levels: FAN_LEVELS, bands }, scores: model.probabilistic ?? [] };
}

/** Each signal's forecast distribution of the target; refuses a model without one. */
function forecastsOf(model: Model, target: string, rows: number[], values: Float64Array, p: BacktestParams, ctx: StepContext): (RowForecast | undefined)[] {
  const d = model.predictions.distribution;
  const what = p.rule === 'probability' || p.rule === 'quantile_band' ? `rule \`${p.rule}\`` : `sizing \`${Object.keys(p.sizing)[0]}\``;
  if (!distributionForm(d, target))
    throw new RunError(`${what} needs the model's forecast distribution of \`${target}\`, and the model has none`, {
      hint: 'rerun its train step (train v3 gives every model one: quantiles, samples, or a Gaussian from the validation residuals)',
    });
  let missing = 0;
  const out = rows.map((r) => {
    const f = rowForecast(d, target, r, values[r]);
    if (!f) missing++;
    return f;
  });
  if (missing)
    ctx.warn(
      `${missing} signal(s) have no forecast distribution (a neural kind’s rows before its first full window, or a fold without validation rows to size its Gaussian): flat there`,
    );
  return out;
}

function volForecast(candles: Candles, sizing: { estimator: 'std' | 'atr'; window: number }): Float64Array {
  const c = candles.columns;
  if (!c.close) throw new RunError('volatility-targeted sizing needs the candles’ `close` column');
  if (sizing.estimator === 'std') return rollingStdVol(c.close, sizing.window);
  if (!c.high || !c.low) throw new RunError('`estimator: atr` needs the candles’ `high` and `low` columns', { hint: 'use `estimator: std`' });
  const a = atr(c.high, c.low, c.close, sizing.window);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] / c.close[i];
  return out;
}

/** Whether the rule or the sizing reads the forecast distribution (not only the point forecast). */
export function tradesOnDistribution(p: Pick<BacktestParams, 'rule'> & { sizing?: SizingParams }): boolean {
  return p.rule === 'probability' || p.rule === 'quantile_band' || (p.sizing !== undefined && ('kelly' in p.sizing || 'forecast_vol' in p.sizing));
}

/**
 * The costs of a fill at each bar of the candles, and the round-trip hurdle a trade signalled at a
 * bar must clear (in return units): both fills' price costs over the signal bar's close, plus
 * commissions; the fill's spread is the next bar's (the signal bar's when there is none yet).
 */
export function tradingCosts(
  params: { costs: CostParams; pip?: number },
  candles: Candles,
  warn: (m: string) => void,
): { pip: number; priceCost: number; priceCostAt?: Float64Array; notionalCost: number; hurdleAt: (bar: number) => number } {
  const pip = params.pip ?? candles.pip;
  const c = params.costs;
  let priceCostAt: Float64Array | undefined;
  if (c.spread_column !== undefined) {
    const col = candles.columns[c.spread_column];
    if (!col) {
      throw new RunError(`the candles have no column \`${c.spread_column}\` for the spread`, {
        hint: `their columns are: ${Object.keys(candles.columns).join(', ')}`,
      });
    }
    priceCostAt = new Float64Array(col.length);
    let bad = 0;
    for (let i = 0; i < col.length; i++) {
      const s = col[i];
      if (Number.isFinite(s) && s >= 0) priceCostAt[i] = (s * pip) / 2;
      else bad++;
    }
    if (bad) warn(`${bad} bar(s) with a missing or negative spread in \`${c.spread_column}\`: counted as 0`);
  }
  const priceCost = ((c.spread_column !== undefined ? 0 : c.spread_pips) / 2 + c.slippage_pips) * pip + c.commission_per_lot / 100_000;
  const notionalCost = c.commission_per_million / 1e6;
  const close = candles.columns.close ?? candles.columns.open;
  const at = priceCostAt;
  const hurdleAt = (b: number): number => {
    const fill = at ? (at[b + 1] ?? at[b]) : 0;
    return (2 * (priceCost + fill)) / close[b] + 2 * notionalCost;
  };
  return { pip, priceCost, ...(priceCostAt ? { priceCostAt } : {}), notionalCost, hurdleAt };
}

/**
 * Directions of a `probability` or `quantile_band` rule: each signal's forecast against its
 * round-trip hurdle (distributionDirection), then the holding period (directions with the sign rule).
 */
export function distributionDirections(
  p: Pick<SignalRuleParams, 'rule' | 'probability' | 'band'>,
  forecasts: readonly (RowForecast | undefined)[],
  hurdle: (i: number) => number,
  signalBar: Int32Array,
  hold: number,
): Int8Array {
  const r = p.rule === 'probability' ? ({ kind: 'probability', p: p.probability } as const) : ({ kind: 'quantile_band', level: p.band } as const);
  const signal = Float64Array.from(forecasts, (f, i) => distributionDirection(f, hurdle(i), r));
  return directions(signal, signalBar, { kind: 'sign' }, hold);
}

/** What a sizing rule reads at signal i: the point forecast, its distribution, the direction taken, the hurdle. */
export interface SizingInputs {
  pred: ArrayLike<number>;
  forecasts: readonly (RowForecast | undefined)[];
  dir: Int8Array;
  hurdle: (i: number) => number;
  horizon: number;
  perYear: number;
  candles: Candles;
  /** The candles' bar of each signal. */
  signalBar: Int32Array;
}

/** The size a trade entered at signal i gets under `sizing` (sizePositions' `size`; the cap is the caller's). */
export function entrySizer(sizing: SizingParams, x: SizingInputs): (i: number) => number {
  const { pred, forecasts, dir, hurdle } = x;
  if ('fixed' in sizing) {
    const u = sizing.fixed.units;
    return () => u;
  }
  if ('kelly' in sizing) {
    const { fraction, cap } = sizing.kelly;
    return (i) => Math.min(cap, kellySize(pred[i], forecasts[i]?.sd() ?? NaN, dir[i], hurdle(i), fraction));
  }
  if ('forecast_vol' in sizing) {
    const av = sizing.forecast_vol.annual_vol;
    return (i) => inverseVolSize(forecasts[i]?.sd() ?? NaN, x.horizon, av, x.perYear);
  }
  const vt = sizing.vol_target;
  const vol = volForecast(x.candles, vt);
  const k = vt.annual_vol / Math.sqrt(x.perYear);
  return (i) => k / vol[x.signalBar[i]];
}

/** Bars per year of the candles' timeframe (annualises the forecast_vol and vol_target sizings). */
export function candlesPerYear(candles: Candles): number {
  return barsPerYear(barMs(candles.timeframe, candles.index));
}

function notes(p: BacktestParams, pip: number, perYear: number, target: string, hold: number): string[] {
  const c = p.costs;
  const rule =
    p.rule === 'threshold'
      ? `threshold: long when the prediction is above +${p.entry_threshold}, short below −${p.entry_threshold}` +
        (p.exit_threshold !== undefined && p.exit_threshold !== p.entry_threshold
          ? `; a long is kept while it stays above +${p.exit_threshold}, a short below −${p.exit_threshold}`
          : '; else flat')
      : p.rule === 'sign'
        ? 'sign: long when the prediction is positive, short when negative'
        : p.rule === 'quantile'
          ? `quantile: long above the ${1 - p.quantile} quantile and short below the ${p.quantile} quantile of the fold’s validation predictions`
          : p.rule === 'probability'
            ? `probability: long when the forecast gives P(return over the horizon > round-trip costs) ≥ ${p.probability}, short when P(return < −costs) ≥ ${p.probability}`
            : `quantile_band: long when the forecast’s ${p.band} quantile is above the round-trip costs, short when its ${1 - p.band} quantile is below −costs`;
  const sizing =
    'fixed' in p.sizing
      ? `fixed ${p.sizing.fixed.units} unit(s) of account equity`
      : 'kelly' in p.sizing
        ? `Kelly × ${p.sizing.kelly.fraction} (forecast centre less costs over the forecast variance), at most ${p.sizing.kelly.cap}, fixed at entry`
        : 'forecast_vol' in p.sizing
          ? `inverse forecast volatility, targeting ${pct(p.sizing.forecast_vol.annual_vol)} a year, fixed at entry`
          : `volatility-targeted to ${pct(p.sizing.vol_target.annual_vol)} a year (${p.sizing.vol_target.estimator} over ${p.sizing.vol_target.window} bars, known at the signal’s close), fixed at entry`;
  return [
    `Signal: predictions of ${target}, segments ${p.segments.join(' + ')}, every fold stitched in time order.`,
    'Timing: a prediction made at bar t’s close is filled at bar t+1’s open (never at t’s close) and held until the next bar’s open: gross return = position × ln(open[t+2] / open[t+1]).',
    `Rule: ${rule}${hold > 1 ? `; a position is held at least ${hold} bars (the target’s horizon)` : ''}. Sizing: ${sizing}${p.max_leverage !== undefined ? `, at most ${p.max_leverage}×` : ''}.`,
    `Costs per unit of position change: half the spread (${c.spread_column ? `column \`${c.spread_column}\`` : `${c.spread_pips} pips`}) + slippage ${c.slippage_pips} pips, pip = ${pip}, + commission ${c.commission_per_million} per million notional and ${c.commission_per_lot} per 100k lot; a round trip pays one full spread. A position is closed (and its exit paid) before a gap in the signals and at the end.`,
    ...(c.swap
      ? [
          `Financing: swap ${c.swap.long_column ? `column \`${c.swap.long_column}\`` : c.swap.long} long / ${c.swap.short_column ? `column \`${c.swap.short_column}\`` : c.swap.short} short ${c.swap.unit === 'annual_pct' ? `% a year (${c.swap.day_count}-day year)` : c.swap.unit} per night (positive earns), for positions held through 17:00 New York, three nights on ${c.swap.triple_day}s, none at weekends; holidays not modelled; metric \`financing\`.`,
        ]
      : []),
    'Returns are log returns; equity, total return and drawdown are sums of net per-bar log returns. PnL in pips: position × price change / pip − costs; in account currency: a fixed notional of position × account size at entry.',
    `Annualisation: FX trading time, 260 days × 24 h a year; bars per year = 260 × 24 h / bar length = ${Number(perYear.toFixed(2))}. Annual return = mean per-bar return × bars per year; volatility = std (ddof 1) × √(bars per year); Sharpe = their ratio (zero risk-free rate); Sortino uses the downside deviation √(Σ min(r,0)² / n); Calmar = annual return / max drawdown.`,
    'Benchmark: buy and hold over the same bars, no costs.',
  ];
}

/**
 * exit_threshold's default is entry_threshold (rule `threshold` only; other rules take none): the
 * one place it is filled, so writing it out or leaving it out gives one cache key.
 */
function resolveParams(p: BacktestParams): BacktestParams {
  return p.rule === 'threshold' && p.exit_threshold === undefined ? { ...p, exit_threshold: p.entry_threshold } : p;
}

/** The metrics of the distribution of Sharpe ratios over a CPCV split's backtest paths. */
const PATH_METRICS = ['cpcv_paths', 'cpcv_sharpe_mean', 'cpcv_sharpe_sd', 'cpcv_sharpe_min', 'cpcv_sharpe_median', 'cpcv_sharpe_max', 'cpcv_sharpe_negative'];

export default defineStep({
  kind: 'backtest',
  version: 2,
  description:
    'Trade a model’s out-of-sample predictions (all folds stitched) at the next bar’s open with FX costs; equity and trade metrics, forecast quality, buy-and-hold benchmark.',
  inputs: { model: 'Model', dataset: 'Dataset', candles: 'Candles' },
  output: 'Report',
  worker: 'joins',
  params: paramsOf<BacktestParams>(),

  check(p: BacktestParams, ctx?: CheckContext): ParamIssue[] {
    const issues: ParamIssue[] = [];
    const model = ctx?.input?.('model');
    if (model?.kind === 'train' && model.params.model === 'autoencoder') issues.push({ at: 'from', path: ['model'], ...encoderRefusal(model.id) });
    if (p.exit_threshold !== undefined) {
      if (p.exit_threshold > p.entry_threshold) {
        issues.push({
          path: ['exit_threshold'],
          message: `exit_threshold (${p.exit_threshold}) is above entry_threshold (${p.entry_threshold})`,
          hint: 'a position is kept until the prediction falls below exit_threshold, so it must be at most entry_threshold',
        });
      }
      if (p.rule !== 'threshold') issues.push({ path: ['exit_threshold'], message: `exit_threshold only applies to rule \`threshold\`, not \`${p.rule}\`` });
    }
    if (new Set(p.segments).size !== p.segments.length) issues.push({ path: ['segments'], message: 'a segment is listed twice' });
    if (p.max_leverage !== undefined && 'fixed' in p.sizing && p.sizing.fixed.units > p.max_leverage) {
      issues.push({ path: ['sizing', 'fixed', 'units'], message: `units (${p.sizing.fixed.units}) above max_leverage (${p.max_leverage})` });
    }
    if (p.costs.spread_column !== undefined && p.costs.spread_pips > 0) {
      issues.push({
        path: ['costs', 'spread_pips'],
        message: 'give either spread_pips or spread_column, not both',
        hint: 'spread_column reads each bar’s spread from the candles',
      });
    }
    return issues;
  },

  resolve: resolveParams,

  run: backtestRun,

  metrics(out: Report) {
    return out.metrics;
  },
  metricNames: [
    ...BACKTEST_METRIC_NAMES,
    'financing',
    'rmse_<target>',
    'mae_<target>',
    'da_<target>',
    'ic_<target>',
    ...['sharpe', 'hit_rate', 'exposure', 'trades', 'bars', 'total_return'].map((m) => `regime_<state>_${m}`),
    ...PATH_METRICS,
  ],

  summary(out: Report) {
    const m = out.metrics;
    const sharpe = Number.isFinite(m.sharpe) ? m.sharpe.toFixed(2) : 'n/a';
    const paths = m.cpcv_paths ? ` · ${m.cpcv_paths} CPCV paths: Sharpe ${m.cpcv_sharpe_min.toFixed(2)} … ${m.cpcv_sharpe_max.toFixed(2)}` : '';
    return `Sharpe ${sharpe} · max DD ${pct(m.max_drawdown)} · ${m.trades} trade${m.trades === 1 ? '' : 's'} · hit ${pct(m.hit_rate)}${paths}`;
  },
});

/**
 * A CPCV split's backtest paths, each traded on its own (López de Prado 2018, ch. 12): path j takes,
 * for every group g, the test predictions of the fold paths[j][g]. Each path is a complete
 * out-of-sample history, backtested by the same rules as the stitched series (which keeps, per
 * timestamp, the earliest fold's prediction); their Sharpe ratios show how much of one backtest's
 * result is the luck of one path.
 */
async function pathBacktests(model: Model, dataset: Dataset, candles: Candles, params: BacktestParams, ctx: StepContext): Promise<Report['paths']> {
  const layout = dataset.cpcv;
  // Distribution rules and sizings read the model's per-row distributions, not carried to a path's model here.
  if (!layout || !params.segments.includes('test') || tradesOnDistribution(params)) return undefined;
  const pr = model.predictions;
  const quiet: StepContext = { ...ctx, log: () => undefined, warn: () => undefined, progress: () => undefined };
  const plain: Dataset = { ...dataset, cpcv: undefined };
  const sharpe: number[] = [];
  const totalReturn: number[] = [];
  for (const path of layout.paths) {
    const keep: number[] = [];
    for (let i = 0; i < pr.index.length; i++) {
      if (pr.segment[i] !== SEGMENT_CODE.test) continue;
      const g = layout.groups.findIndex((r) => r.end > r.start && pr.index[i] >= dataset.index[r.start] && pr.index[i] <= dataset.index[r.end - 1]);
      if (g >= 0 && path[g] === pr.fold[i]) keep.push(i);
    }
    if (!keep.length) continue;
    const f64 = (a: Float64Array): Float64Array => Float64Array.from(keep, (i) => a[i]);
    const one: Model = {
      ...model,
      predictions: {
        index: f64(pr.index),
        segment: Uint8Array.from(keep, (i) => pr.segment[i]),
        fold: Uint16Array.from(keep, (i) => pr.fold[i]),
        values: Object.fromEntries(Object.entries(pr.values).map(([k, v]) => [k, f64(v)])),
      },
    };
    const r = await backtestRun({ model: one, dataset: plain, candles }, { ...params, segments: ['test'] }, quiet);
    sharpe.push(r.metrics.sharpe);
    totalReturn.push(r.metrics.total_return);
  }
  return sharpe.length ? { sharpe, totalReturn } : undefined;
}

function pathMetrics(paths: NonNullable<Report['paths']>): Record<string, number> {
  const s = paths.sharpe.filter(Number.isFinite).sort((a, b) => a - b);
  const n = s.length;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return {
    cpcv_paths: paths.sharpe.length,
    cpcv_sharpe_mean: mean,
    cpcv_sharpe_sd: sd,
    cpcv_sharpe_min: s[0],
    cpcv_sharpe_median: median,
    cpcv_sharpe_max: s[n - 1],
    cpcv_sharpe_negative: s.filter((x) => x < 0).length / n,
  };
}

async function backtestRun(
  { model, dataset, candles }: { model: Model; dataset: Dataset; candles: Candles },
  given: BacktestParams,
  ctx: StepContext,
): Promise<Report> {
  // Idempotent: the compiler has resolved them already; a library caller may not have.
  const params = resolveParams(given);
  if (model.encoder) {
    const r = encoderRefusal();
    throw new RunError(r.message, { hint: r.hint });
  }
  const target = chooseTarget(model, params.target);
  const open = candles.columns.open;
  if (!open || open.length !== candles.index.length) {
    throw new RunError('the candles have no `open` column of the right length', { hint: 'connect the fetch step’s candles' });
  }
  if (dataset.symbol !== candles.symbol) {
    ctx.warn(`the dataset is ${dataset.symbol} but the candles are ${candles.symbol}`);
  }
  const pip = params.pip ?? candles.pip;

  const pr = model.predictions;
  const values = pr.values[target];
  if (!values || values.length !== pr.index.length) {
    throw new RunError(`the model has no predictions of \`${target}\``, { hint: 'the model artifact is inconsistent; rerun the train step' });
  }
  const { rows } = selectRows(model, params.segments, ctx);
  if (rows.length === 0) {
    const have = [...new Set(Array.from(pr.segment, (s) => SEGMENT_NAME[s] ?? String(s)))].join(', ') || 'none';
    throw new RunError(`the model has no predictions on the ${params.segments.join(' or ')} segment`, {
      hint: `it has predictions on: ${have}; check the split step’s ratios or \`segments\``,
    });
  }

  const signalBar = new Int32Array(rows.length);
  const dsRow = new Int32Array(rows.length);
  const pred = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const t = pr.index[rows[i]];
    const d = findSorted(dataset.index, t);
    if (d < 0) {
      throw new RunError(`the model's prediction for ${isoUtc(t)} is not a row of the dataset`, { hint: 'connect the dataset the model was trained on' });
    }
    const bar = findSorted(candles.index, t);
    if (bar < 0) {
      throw new RunError(`no candle at ${isoUtc(t)}, a predicted row of the model`, { hint: 'connect the candles the features were computed from' });
    }
    dsRow[i] = d;
    signalBar[i] = bar;
    pred[i] = values[rows[i]];
  }
  const nanPred = pred.reduce((n, v) => n + (Number.isNaN(v) ? 1 : 0), 0);
  if (nanPred) ctx.warn(`${nanPred} prediction(s) are NaN: flat on those bars`);

  const perYear = candlesPerYear(candles);
  const horizon = model.targetHorizons[model.targetNames.indexOf(target)] ?? 1;
  const hold = params.holding === 'horizon' ? Math.max(1, horizon) : 1;
  const c = params.costs;
  const { priceCost, priceCostAt, notionalCost, hurdleAt } = tradingCosts(params, candles, ctx.warn);

  // The forecast distribution of each signal, for the distribution rules and sizings.
  const forecasts: (RowForecast | undefined)[] = tradesOnDistribution(params) ? forecastsOf(model, target, rows, values, params, ctx) : [];
  const hurdle = (i: number): number => hurdleAt(signalBar[i]);

  const dir =
    params.rule === 'probability' || params.rule === 'quantile_band'
      ? distributionDirections(params, forecasts, hurdle, signalBar, hold)
      : directions(
          pred,
          signalBar,
          params.rule === 'threshold'
            ? { kind: 'threshold', entry: params.entry_threshold, exit: params.exit_threshold! }
            : params.rule === 'sign'
              ? { kind: 'sign' }
              : { kind: 'bands', ...quantileBands(model, values, rows, params.quantile, ctx) },
          hold,
        );
  const sizeOf = entrySizer(params.sizing, { pred, forecasts, dir, hurdle, horizon, perYear, candles, signalBar });
  const { position, skipped } = sizePositions(dir, signalBar, sizeOf, params.max_leverage ?? Infinity);
  if (skipped)
    ctx.warn(
      'kelly' in params.sizing
        ? `${skipped} trade(s) not taken: the forecast's edge in their direction does not clear the costs`
        : `${skipped} trade(s) not taken: no volatility estimate yet at their signal (${'forecast_vol' in params.sizing ? 'no forecast spread' : 'the window is still filling'})`,
    );

  let sim = simulate(
    {
      open,
      signalBar,
      position,
      priceCost,
      priceCostAt,
      notionalCost,
      account: params.account_size,
      pip,
    },
    ctx.threads ?? 1,
  );
  let financing: Float64Array | undefined;
  if (c.swap) {
    const sw = c.swap;
    const column = (name: string | undefined, fallback: number): number | Float64Array => {
      if (name === undefined) return fallback;
      const col = candles.columns[name];
      if (!col)
        throw new RunError(`the candles have no column \`${name}\` for the swap rate`, {
          hint: `their columns are: ${Object.keys(candles.columns).join(', ')}`,
        });
      return col;
    };
    const days = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
    const f = applyFinancing(
      sim,
      { open, time: candles.index },
      {
        long: column(sw.long_column, sw.long),
        short: column(sw.short_column, sw.short),
        unit: sw.unit,
        point: sw.point ?? pip / 10,
        pip,
        tripleDay: days.indexOf(sw.triple_day),
        dayCount: sw.day_count,
      },
      params.account_size,
    );
    sim = f.sim;
    financing = f.financing;
    ctx.log(`financing: ${f.nights} position-night(s) held through the 17:00 New York rollover`);
  }
  if (sim.untraded > 0) ctx.log(`${sim.untraded} prediction(s) at the end not traded: the bars to fill and exit them do not exist`);
  if (sim.bar.length === 0) {
    throw new RunError(`none of the ${rows.length} predictions can be traded: the candles end before the bars after them`, {
      hint: 'connect the full candles, not a slice ending at the dataset',
    });
  }

  const metrics: Record<string, number> = { ...backtestMetrics(sim, perYear, ctx.threads ?? 1) };
  const paths = await pathBacktests(model, dataset, candles, params, ctx);
  if (paths) Object.assign(metrics, pathMetrics(paths));
  if (paths)
    ctx.log(
      `${paths.sharpe.length} CPCV backtest paths traded one by one: Sharpe ${metrics.cpcv_sharpe_min.toFixed(2)} … ${metrics.cpcv_sharpe_max.toFixed(2)}`,
    );
  if (financing) metrics.financing = financing.reduce((a, b) => a + b, 0);
  const tradedRows = rows.slice(0, sim.bar.length);
  const forecast = forecastQuality(model, dataset, tradedRows, dsRow);
  for (const f of forecast) {
    metrics[`rmse_${f.target}`] = f.rmse;
    metrics[`mae_${f.target}`] = f.mae;
    metrics[`da_${f.target}`] = f.directionalAccuracy;
    metrics[`ic_${f.target}`] = f.ic;
  }
  let regime: Report['regime'];
  if (params.by_regime !== undefined) {
    const state = regimeAtSignals(dataset, params.by_regime, dsRow, sim.bar.length);
    regime = { column: params.by_regime, state };
    for (const [k, m] of metricsByRegime(sim.net, sim.position, sim.trades.start, state, perYear)) {
      for (const [name, v] of Object.entries(m)) metrics[`regime_${k}_${name}`] = v;
    }
  }
  const index = new Float64Array(sim.bar.length);
  for (let i = 0; i < index.length; i++) index[i] = candles.index[sim.bar[i]];
  const t = sim.trades;
  const nt = t.pnl.length;
  const exitTs = new Float64Array(nt);
  for (let k = 0; k < nt; k++) {
    const lastBar = sim.bar[t.start[k] + t.bars[k] - 1] + 1;
    exitTs[k] = candles.index[lastBar];
  }

  const distribution = reportDistribution(model, target, horizon, candles, signalBar, rows);
  return {
    type: 'Report',
    symbol: candles.symbol,
    metrics,
    index,
    position: sim.position,
    equity: cumsum(sim.net),
    benchmark: cumsum(sim.benchmark),
    notes: notes(params, pip, perYear, target, hold),
    net: sim.net,
    cost: sim.cost,
    ...(financing ? { financing } : {}),
    trades: {
      entry: Float64Array.from(t.start, (s) => index[s]),
      exit: exitTs,
      position: t.position,
      bars: Float64Array.from(t.bars),
      pnl: t.pnl,
      pips: t.pips,
      account: t.account,
    },
    forecast,
    valForecast: model.valMetrics,
    barsPerYear: perYear,
    drift: driftNotes(model, forecast, ctx),
    ...(model.importance?.some((i) => i.method === 'permutation' || i.method === 'shap')
      ? { explain: { featureNames: model.featureNames, importance: model.importance, dependence: model.dependence ?? [] } }
      : {}),
    ...(regime ? { regime } : {}),
    ...(distribution ? { distribution } : {}),
    ...(paths ? { paths } : {}),
  };
}
