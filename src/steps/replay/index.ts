import type { Candles, Dataset, Features, HorizonMetrics, Model, Report, RetrainChampions, RetrainTimeline } from '../../core/artifacts.js';
import { CancelledError, RunError, type ParamIssue } from '../../core/diagnostics.js';
import { parseTimestamp } from '../../data/dates.js';
import { isoUtc } from '../../data/frame.js';
import { parseTimeframe } from '../../data/timeframe.js';
import { barsPerYear } from '../../backtest/metrics.js';
import { firstRowAtOrAfter } from '../../evaluation/folds.js';
import { horizonMetrics } from '../../models/metrics.js';
import { getModelKind, type ParamValue } from '../../models/registry.js';
import { ReplayWalk, type Learner, type ReplayData, type ReplayPolicy, type ReplayResult } from '../../replay/loop.js';
import { firstRetrainRow } from '../../replay/policy.js';
import { describeEvery, parseEvery, scheduleRows } from '../../replay/schedule.js';
import backtestStep, { chooseTarget } from '../backtest/index.js';
import type { BacktestParams } from '../backtest/params.js';
import { defineStep, paramsOf, type CheckContext, type StepContext } from '../define.js';
import { followHooks } from '../follow-hooks.js';
import { PROBE_THROUGH, probeScope, runProbe, toRowMajor } from '../split/index.js';
import trainStep, { foldSeed } from '../train/index.js';
import type { TrainParams } from '../train/params.js';
import type { ReplayParams, RetrainParams } from './params.js';

export type { ReplayParams } from './params.js';

const prefix = (at: string, issues: ParamIssue[]): ParamIssue[] => issues.map((i) => ({ ...i, path: [at, ...(i.path ?? [])] }));

/** What the replay made, before it is traded: the loop's result and the Model/Dataset the backtest reads. */
export interface Replayed {
  result: ReplayResult;
  model: Model;
  dataset: Dataset;
  target: string;
  timeline: RetrainTimeline;
  /** When the walk was extended (ReplayMemory): where its replayed rows ended before, and how many events it had then. */
  followed?: { end: number; events: number };
}

/**
 * What a replay keeps between runs on features that grow at their end (`fxflow watch`, `fxflow
 * replay --follow`; docs/replay.md#following-new-bars): the walk at its last row and the recipe it
 * was made with. A run on the same recipe whose features extend the walk's (the same bytes before)
 * walks on from there; anything else replays afresh. The result is a fresh replay's, bit for bit
 * (test/replay/follow.test.ts).
 */
export interface ReplayMemory {
  recipe?: string;
  walk?: ReplayWalk;
}

function policyWords(r: RetrainParams): string {
  const parts = [`${describeEvery(parseEvery(r.every)!)}`, `${r.window} window of ${r.train_bars} rows`];
  if (r.val_bars) parts.push(`${r.val_bars} validation rows`);
  if (r.drift)
    parts.push(
      `drift (${[r.drift.psi !== undefined ? `PSI > ${r.drift.psi}` : '', r.drift.ks !== undefined ? `KS > ${r.drift.ks}` : ''].filter(Boolean).join(' or ')}, ${r.drift.pool}, last ${r.drift.window} rows)`,
    );
  if (r.decay) parts.push(`decay (${r.decay.metric} < ${r.decay.below} over ${r.decay.window} rows)`);
  if (r.regime) parts.push(`regime change (${r.regime.column}, ${r.regime.persist} rows)`);
  if (r.challenger)
    parts.push(`challenger by ${r.challenger.metric} + ${r.challenger.margin}${r.challenger.shadow ? `, ${r.challenger.shadow}-row shadow` : ''}`);
  if (r.drift || r.decay || r.regime) parts.push(`checked every ${r.check_every} rows, cooldown ${r.cooldown}`);
  return parts.join('; ');
}

/**
 * The loop over the features, with the train recipe's model kind, and the Model and Dataset the
 * backtest step trades: the replayed rows as the `test` segment (fold = the model that predicted
 * them), each model's validation rows as `val` (for the quantile rule's cut-offs and the val metrics).
 */
export async function replay(features: Features, candles: Candles, params: ReplayParams, ctx: StepContext, memory?: ReplayMemory): Promise<Replayed> {
  const { model: kindName, online, by_regime: byRegime, ...given } = params.train as TrainParams & { online?: unknown; by_regime?: string };
  const kind = getModelKind(kindName);
  if (!kind || kind.encoder) throw new RunError(`\`train.model: ${kindName}\` cannot be replayed`, { hint: 'a forecasting kind: ridge, gbm, …' });
  if (online !== undefined || byRegime !== undefined) throw new RunError('`train.online` and `train.by_regime` are the train step’s, not replay’s');
  const modelParams = given as Record<string, ParamValue>;
  const r = params.retrain;
  const every = parseEvery(r.every);
  if (!every) throw new RunError(`\`every: ${r.every}\` is not a schedule`, { hint: 'e.g. `1w`, `1d` or `500 bars`' });

  const n = features.index.length;
  const names = features.featureNames;
  const targets = features.targetNames;
  const p = names.length;
  const k = targets.length;
  if (p === 0 || k === 0)
    throw new RunError('the features need feature and target columns', { hint: 'set `target.forward_return.horizons` in the features step' });
  const raw = toRowMajor(
    names.map((c) => features.columns[c]),
    n,
  );
  const Y = toRowMajor(
    targets.map((c) => features.columns[c]),
    n,
  );
  const horizon = Math.max(...features.targetHorizons);
  const target = chooseTarget(features, params.backtest.target);
  const col = (name: string, where: string): number => {
    const j = names.indexOf(name);
    if (j < 0)
      throw new RunError(`${where}: \`${name}\` is not a feature`, { hint: `the features are: ${names.slice(0, 12).join(', ')}${p > 12 ? ', …' : ''}` });
    return j;
  };

  const window = { window: r.window, trainBars: r.train_bars, valBars: r.val_bars, horizon };
  let first = firstRetrainRow(window);
  if (r.start !== undefined) first = Math.max(first, firstRowAtOrAfter(features.index, parseTimestamp(r.start)));
  if (first >= n) {
    throw new RunError(
      `nothing to replay: ${n} rows, and the first full training window (train_bars ${r.train_bars} + val_bars ${r.val_bars}) or \`start\` leaves none`,
      {
        hint: 'lower train_bars, or fetch more bars',
      },
    );
  }
  if (!(r.train_bars > horizon)) throw new RunError(`train_bars (${r.train_bars}) must exceed the longest target horizon (${horizon})`);
  if (r.challenger && r.val_bars <= horizon) {
    throw new RunError(`a challenger is judged on each retrain's validation rows: val_bars (${r.val_bars}) must exceed the horizon (${horizon})`, {
      hint: 'set `val_bars`, e.g. 500',
    });
  }
  let perYear: number;
  try {
    perYear = barsPerYear(parseTimeframe(features.timeframe).ms);
  } catch {
    perYear = barsPerYear(3_600_000);
  }
  const policy: ReplayPolicy = {
    ...window,
    scale: params.scale,
    schedule: scheduleRows(features.index, first, every),
    ...(r.end !== undefined ? { end: firstRowAtOrAfter(features.index, parseTimestamp(r.end)) } : {}),
    checkEvery: r.check_every,
    cooldown: r.cooldown,
    ...(r.drift
      ? {
          drift: {
            window: r.drift.window,
            bins: r.drift.bins,
            psi: r.drift.psi,
            ks: r.drift.ks,
            pool: r.drift.pool,
            columns: (r.drift.features ?? names).map((f) => col(f, 'retrain.drift.features')),
          },
        }
      : {}),
    ...(r.decay ? { decay: { ...r.decay } } : {}),
    ...(r.regime ? { regime: { column: col(r.regime.column, 'retrain.regime.column'), persist: r.regime.persist } } : {}),
    ...(r.challenger ? { challenger: { ...r.challenger } } : {}),
  };
  if (r.drift && r.drift.psi === undefined && r.drift.ks === undefined) ctx.warn('`retrain.drift` has neither `psi` nor `ks`: it never fires');

  const learner: Learner = {
    fit: async (d) => {
      const a = d.offset;
      const fit = await kind.fit(
        {
          X: d.X,
          n: d.n,
          p,
          Y: Y.subarray(a * k, (a + d.n) * k),
          k,
          featureNames: names,
          targetNames: targets,
          train: d.train,
          val: d.val,
          fold: d.seq,
          seed: foldSeed(ctx.seed, d.seq),
          signal: ctx.signal,
          warn: (m) => ctx.warn(m),
          index: d.index,
          threads: ctx.threads,
          log: (m) => ctx.log(m),
        },
        modelParams,
      );
      return fit.state;
    },
    predict: (state, X, m, index) => kind.predict(state, X, m, p, index),
  };
  const data: ReplayData = { index: features.index, raw, p, Y, k, featureNames: names, target: targets.indexOf(target), perYear };
  const opts = { signal: ctx.signal, progress: (f: number) => ctx.progress(f, 'replaying') };
  // What the walk's numbers depend on besides the rows: the params, the seed (each fit's), the columns.
  const recipe = JSON.stringify([params, ctx.seed, names, targets, features.targetHorizons, features.symbol, features.timeframe]);
  let result: ReplayResult | undefined;
  let followed: Replayed['followed'];
  try {
    const kept = memory?.recipe === recipe ? memory.walk : undefined;
    const before = kept?.reached();
    if (kept && before) {
      result = await kept.extend(data, policy, learner, opts);
      if (result) followed = before;
    }
    if (!result) {
      const walk = new ReplayWalk(data, policy, learner);
      if (memory) memory.walk = undefined;
      result = await walk.walk(opts);
      if (memory) Object.assign(memory, { recipe, walk });
    }
  } catch (e) {
    // A walk stopped half-way is not kept.
    if (memory) memory.walk = undefined;
    if (ctx.signal.aborted) throw new CancelledError();
    throw e instanceof RangeError ? new RunError(e.message) : e;
  }

  // The Model the backtest trades: replayed rows as `test`, each model's validation rows as `val`.
  const valRows = result.models.reduce((a, m) => a + (m.val.end - m.val.start), 0);
  const m = result.end - result.start + valRows;
  const index = new Float64Array(m);
  const segment = new Uint8Array(m);
  const fold = new Uint16Array(m);
  const values = Object.fromEntries(targets.map((t) => [t, new Float64Array(m)]));
  let at = 0;
  const valPred = targets.map(() => [] as number[]);
  const valActual = targets.map(() => [] as number[]);
  for (const md of result.models) {
    for (let row = md.val.start; row < md.val.end; row++, at++) {
      index[at] = features.index[row];
      segment[at] = 1;
      fold[at] = md.id;
      targets.forEach((t, j) => {
        values[t][at] = md.valPred[j][row - md.val.start];
        valPred[j].push(md.valPred[j][row - md.val.start]);
        valActual[j].push(Y[row * k + j]);
      });
    }
  }
  for (let row = result.start; row < result.end; row++, at++) {
    index[at] = features.index[row];
    segment[at] = 2;
    fold[at] = result.servedBy[row];
    targets.forEach((t, j) => (values[t][at] = result.pred[j][row]));
  }
  const valMetrics: HorizonMetrics[] = targets.map((t, j) => horizonMetrics(t, features.targetHorizons[j], valPred[j], valActual[j]));
  const model: Model = {
    type: 'Model',
    kind: kind.name,
    params: { model: kind.name, ...modelParams },
    featureNames: [...names],
    targetNames: [...targets],
    targetHorizons: [...features.targetHorizons],
    state: [],
    valMetrics,
    predictions: { index, segment, fold, values },
  };
  const none = { method: 'none' as const, center: new Array<number>(p).fill(0), scale: new Array<number>(p).fill(1) };
  const dataset: Dataset = {
    type: 'Dataset',
    symbol: features.symbol,
    timeframe: features.timeframe,
    index: features.index,
    featureNames: [...names],
    targetNames: [...targets],
    targetHorizons: [...features.targetHorizons],
    X: raw,
    Y,
    method: 'replay',
    folds: [
      { train: { start: 0, end: result.start }, val: { start: result.start, end: result.start }, test: { start: result.start, end: result.end }, scaler: none },
    ],
  };
  const ts = (row: number): number => features.index[Math.min(row, n - 1)];
  // Every model that became the champion is kept (its state, scaler and validation predictions) so
  // it lands in the model registry; challengers that lost are not. A ridge state is p × k numbers;
  // a gbm's is its trees (tens of kB each), so a weekly gbm replay over two years adds a few MB.
  const crowned = new Set(result.events.filter((e) => e.decision === 'champion' || e.decision === 'promoted').map((e) => e.model));
  const champions: RetrainChampions = {
    featureNames: [...names],
    targetNames: [...targets],
    targetHorizons: [...features.targetHorizons],
    models: result.models
      .filter((md) => crowned.has(md.id))
      .map((md) => ({ id: md.id, scaler: md.scaler, state: md.state, valIndex: features.index.slice(md.val.start, md.val.end), valPred: md.valPred })),
  };
  const timeline: RetrainTimeline = {
    policy: policyWords(r),
    skipped: result.skipped,
    events: result.events.map((e) => ({
      ts: ts(e.row),
      reason: e.reason,
      detail: e.detail,
      numbers: e.numbers,
      model: e.model,
      decision: e.decision,
      ...(e.compare
        ? {
            compare: {
              metric: e.compare.metric,
              from: ts(e.compare.rows.start),
              to: ts(e.compare.rows.end - 1),
              champion: e.compare.champion,
              challenger: e.compare.challenger,
              margin: e.compare.margin,
            },
          }
        : {}),
    })),
    models: result.models.map((md) => ({
      id: md.id,
      ts: ts(md.row),
      reason: md.reason,
      trainFrom: ts(md.train.start),
      trainTo: ts(md.train.end - 1),
      trainRows: md.train.end - md.train.start,
      valRows: md.val.end - md.val.start,
      served: md.served,
    })),
    champions,
  };
  return { result, model, dataset, target, timeline, ...(followed ? { followed } : {}) };
}

/** Bars printed one by one after an extension (more are summed up). */
const FOLLOW_BARS = 20;

/** What an extension of the walk added, in the step's log: the new bars (prediction, position, equity) and retrain decisions. */
function logFollowed(done: Replayed, report: Report, features: Features, ctx: StepContext): void {
  const { result, followed, target } = done;
  const added = result.end - followed!.end;
  const ts = (row: number): string => isoUtc(features.index[Math.min(row, features.index.length - 1)]);
  ctx.log(`following: ${added} new bar${added === 1 ? '' : 's'} replayed (${result.end - result.start} in all)`);
  for (const e of result.events.slice(followed!.events)) {
    const c = e.compare;
    const vs = c ? ` (${c.metric} ${c.challenger.toPrecision(4)} vs champion ${c.champion.toPrecision(4)}, margin ${c.margin})` : '';
    ctx.log(`retrain at ${ts(e.row)}: ${e.reason} (${e.detail}) → model ${e.model} ${e.decision}${vs}`);
  }
  // The report's rows of the new bars (it has one more, the last fill's bar, which is no replayed row).
  const rows: [number, number][] = [];
  for (let i = firstRowAtOrAfter(report.index, features.index[followed!.end]); i < report.index.length; i++) {
    const row = firstRowAtOrAfter(features.index, report.index[i]);
    if (row < result.end && features.index[row] === report.index[i]) rows.push([i, row]);
  }
  const k = done.model.targetNames.indexOf(target);
  if (rows.length > FOLLOW_BARS) ctx.log(`… ${rows.length - FOLLOW_BARS} bars before`);
  for (const [i, row] of rows.slice(-FOLLOW_BARS)) {
    ctx.log(
      `bar ${isoUtc(report.index[i])}: ${target} ${result.pred[k][row].toPrecision(5)} (model ${result.servedBy[row]}) · position ${report.position[i]} · equity ${report.equity[i].toPrecision(6)}`,
    );
  }
}

function resolveParams(params: ReplayParams, ctx?: CheckContext): ReplayParams {
  const train = trainStep.resolve!(params.train, ctx);
  const backtest = backtestStep.resolve!(params.backtest, ctx) as BacktestParams;
  let probe = params.probe;
  if (probe === 'auto') {
    const steps = ctx?.lineage?.('features', PROBE_THROUGH);
    probe = steps ? probeScope(steps).plugins.length > 0 : false;
  }
  return { ...params, train, backtest, probe };
}

const RETRAIN_COUNTS = [
  'retrains',
  'retrains_schedule',
  'retrains_drift',
  'retrains_decay',
  'retrains_regime',
  'challengers_promoted',
  'challengers_kept',
] as const;

export default defineStep({
  kind: 'replay',
  // 2: the report keeps the champions' fitted states (`retrain.champions`).
  version: 2,
  description:
    'Walk the features bar by bar as a live system: retrain a model on a schedule (FX weeks, days or bars) and on feature drift (PSI, KS), forecast decay or a regime change, optionally through a champion/challenger test; trade the predictions with the backtest’s rules and costs. Report: the backtest plus the retrain timeline.',
  inputs: { features: 'Features', candles: 'Candles' },
  output: 'Report',
  worker: 'heavy',
  params: paramsOf<ReplayParams>(),
  seeded: true,

  check(params: ReplayParams, ctx?: CheckContext): ParamIssue[] {
    const issues = [...prefix('train', trainStep.check!(params.train, ctx)), ...prefix('backtest', backtestStep.check!(params.backtest, ctx))];
    const t = params.train as TrainParams & { online?: unknown };
    if (t.online !== undefined)
      issues.push({ path: ['train', 'online'], message: '`online:` is the train step’s', hint: 'replay refits on its `retrain:` policy instead' });
    if (t.by_regime !== undefined)
      issues.push({
        path: ['train', 'by_regime'],
        message: '`by_regime` is not supported by replay',
        hint: 'use `retrain.regime` to retrain on a regime change',
      });
    if (getModelKind(t.model)?.encoder) issues.push({ path: ['train', 'model'], message: 'an autoencoder makes no forecasts to replay' });
    if (!parseEvery(params.retrain.every))
      issues.push({ path: ['retrain', 'every'], message: `\`${params.retrain.every}\` is not a schedule`, hint: 'e.g. `1w`, `1d` or `500 bars`' });
    for (const key of ['start', 'end'] as const) {
      const v = params.retrain[key];
      if (v !== undefined && Number.isNaN(parseTimestamp(v)))
        issues.push({ path: ['retrain', key], message: `\`${v}\` is not a date`, hint: 'e.g. 2019-01-01' });
    }
    const d = params.retrain.drift;
    if (d && d.psi === undefined && d.ks === undefined)
      issues.push({ path: ['retrain', 'drift'], message: 'give `psi` or `ks` (or both): the drift trigger has no threshold' });
    return issues;
  },

  resolve: resolveParams,

  // A thread count changes how fast models are fitted, never them.
  keyParams(params: ReplayParams): Record<string, unknown> {
    return { ...params, train: trainStep.keyParams!(params.train) };
  },

  async run({ features, candles }, given: ReplayParams, ctx): Promise<Report> {
    const params = resolveParams(given);
    if (params.probe !== false) await runProbe(features, params, ctx);
    // Under `fxflow watch` / `fxflow replay --follow`: bars appended since the last run continue the walk.
    const memory = followHooks().replay?.(JSON.stringify([ctx.stepId, features.symbol, features.timeframe]), (): ReplayMemory => ({}));
    const done = await replay(features, candles, params, ctx, memory);
    // The trades are simulated again over every replayed bar: the backtest's cost is the bars', the replay's the fits.
    const report = await backtestStep.run({ model: done.model, dataset: done.dataset, candles }, { ...params.backtest, segments: ['test'] }, ctx);
    if (done.followed) logFollowed(done, report, features, ctx);
    const events = done.timeline.events;
    const metrics: Record<string, number> = { ...report.metrics, retrains: done.result.models.length };
    for (const why of ['schedule', 'drift', 'decay', 'regime'] as const) metrics[`retrains_${why}`] = events.filter((e) => e.reason === why).length;
    metrics.challengers_promoted = events.filter((e) => e.decision === 'promoted').length;
    metrics.challengers_kept = events.filter((e) => e.decision === 'kept').length;
    const first = done.result.start;
    const n = features.index.length;
    return {
      ...report,
      metrics,
      notes: [
        `Replay: from ${isoUtc(features.index[first])} (row ${first}) to ${done.result.end < n ? isoUtc(features.index[done.result.end - 1]) : 'the last bar'}, each bar predicted by the model in force at its close; retrain policy: ${done.timeline.policy}. A model retrained at bar t fits rows whose targets ended before t (the walk-forward purge of ${Math.max(...features.targetHorizons)} rows), its scaler on its training rows only.`,
        ...report.notes,
      ],
      retrain: done.timeline,
    };
  },

  metrics(out: Report) {
    return out.metrics;
  },
  metricNames: [...(backtestStep.metricNames ?? []), ...RETRAIN_COUNTS],

  summary(out: Report) {
    const m = out.metrics;
    return `${backtestStep.summary!(out)} · ${m.retrains} model${m.retrains === 1 ? '' : 's'} fitted${m.challengers_promoted || m.challengers_kept ? ` (${m.challengers_promoted} promoted, ${m.challengers_kept} kept the champion)` : ''}`;
  },
});
