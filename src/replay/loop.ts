import type { RowRange, Scaler } from '../core/artifacts.js';
import { ksStatistic, psi, psiBins, type PsiBins } from '../evaluation/drift.js';
import { applyScaler, fitScaler, type ScaleMethod } from '../evaluation/scalers.js';
import { decideChallenger, retrainWindow, scoreForecast, type ScoreMetric, type WindowSpec } from './policy.js';

/**
 * The replay loop: a live system simulated over the rows of a feature matrix. At each row t (a bar,
 * seen at its close) it first decides whether to retrain — on its schedule, or when a trigger
 * fires on what is known at t — then predicts row t with the champion. What is known at t: the
 * features of rows ≤ t, and the targets of rows whose label window has ended (the walk-forward
 * split's purge: models fit on rows < t − horizon, decay is scored on rows ≤ t − horizon). Triggers
 * are evaluated every `checkEvery` rows; predictions are made in blocks between events, which gives
 * the same numbers as one row at a time (a model scores each row on its own).
 *
 * The model is a `Learner` (fit on scaled rows, predict scaled rows), so this module knows no model
 * kind; the replay step passes the train recipe's kind.
 */

export interface ReplayData {
  /** UTC epoch ms of each row. */
  index: Float64Array;
  /** Unscaled features, row-major n × p. */
  raw: Float64Array;
  p: number;
  /** Targets, row-major n × k. */
  Y: Float64Array;
  k: number;
  featureNames: readonly string[];
  /** Column of Y the decay trigger and the champion/challenger comparison score. */
  target: number;
  /** Rows a year, to annualise a `sharpe` score. */
  perYear: number;
}

export interface Learner {
  /**
   * Fits on rows `train` of X (scaled rows, n × p, the data's rows from `offset` on; `val` for early
   * stopping); `seq` numbers the fits from 0.
   */
  fit(d: { X: Float64Array; n: number; offset: number; train: RowRange; val: RowRange; index: Float64Array; seq: number }): Promise<unknown>;
  /** Predictions of every target for m scaled rows. */
  predict(state: unknown, X: Float64Array, m: number, index: Float64Array): Float64Array[];
}

export interface DriftTrigger {
  /** Live rows compared with the champion's training rows: the last `window` rows up to t. */
  window: number;
  /** Quantile bins of the PSI. */
  bins: number;
  psi?: number;
  ks?: number;
  /** `any`: a feature over the threshold fires; `mean`: the mean over the features must exceed it. */
  pool: 'any' | 'mean';
  /** Feature columns watched. */
  columns: number[];
}

export interface DecayTrigger {
  window: number;
  metric: 'ic' | 'da' | 'sharpe';
  /** Fires when the champion's score over the last `window` known rows is below this. */
  below: number;
}

export interface RegimeTrigger {
  /** Feature column holding the regime state. */
  column: number;
  /** Fires when the state differs from the one at the champion's retrain for this many rows in a row. */
  persist: number;
}

export interface ChallengerPolicy {
  metric: ScoreMetric;
  margin: number;
  /** Rows both predict before a winning challenger is confirmed on them (0: it replaces the champion at once). */
  shadow: number;
}

export interface ReplayPolicy extends WindowSpec {
  scale: ScaleMethod;
  /** Rows at which the schedule retrains, ascending; the first is where the replay starts. */
  schedule: readonly number[];
  /** The replay predicts rows before this one (default: every row). */
  end?: number;
  checkEvery: number;
  /** Rows after a retrain before a trigger may fire again. */
  cooldown: number;
  drift?: DriftTrigger;
  decay?: DecayTrigger;
  regime?: RegimeTrigger;
  challenger?: ChallengerPolicy;
}

export type RetrainReason = 'start' | 'schedule' | 'drift' | 'decay' | 'regime' | 'shadow';

/** One fitted model of the replay. */
export interface ReplayModel {
  id: number;
  /** The row it was fitted at (before predicting that row). */
  row: number;
  reason: RetrainReason;
  train: RowRange;
  val: RowRange;
  scaler: Scaler;
  state: unknown;
  /** Its predictions of its validation rows, per target. */
  valPred: Float64Array[];
  /** Rows it served as the champion. */
  served: number;
}

/** A decision of the loop: a retrain (and what became of the model) or the end of a shadow period. */
export interface RetrainEvent {
  row: number;
  reason: RetrainReason;
  /** Why, in words, with the numbers: `PSI 0.31 (rsi_14) > 0.25`. */
  detail: string;
  /** The numbers behind the trigger (psi, ks, ic, …). */
  numbers: Record<string, number>;
  /** The model fitted (or, at a shadow's end, the challenger judged). */
  model: number;
  /**
   * `champion`: it replaced the champion with no comparison (the first model, or no challenger
   * policy); `promoted`/`kept`: it beat the champion by the margin or not; `shadow`: it won and
   * predicts beside the champion until its shadow period ends.
   */
  decision: 'champion' | 'promoted' | 'kept' | 'shadow';
  /** The comparison: scores of both on the same rows, and the margin asked. */
  compare?: { metric: ScoreMetric; rows: RowRange; champion: number; challenger: number; margin: number };
}

export interface ReplayResult {
  /** The replayed rows: [start, end). */
  start: number;
  end: number;
  /** Per target, the champion's prediction of each row (NaN outside [start, end)). */
  pred: Float64Array[];
  /** Id of the model that predicted each row (−1 outside [start, end)). */
  servedBy: Int32Array;
  models: ReplayModel[];
  events: RetrainEvent[];
  /** Retrains asked for while a challenger was in its shadow period (not done). */
  skipped: number;
}

interface DriftRef {
  sorted: Float64Array[];
  bins: PsiBins[];
}

const f3 = (x: number): string => (Number.isFinite(x) ? String(Number(x.toFixed(3))) : 'n/a');

function scaledRows(raw: Float64Array, p: number, from: number, to: number, scaler: Scaler): Float64Array {
  const X = raw.slice(from * p, to * p);
  applyScaler(X, p, scaler);
  return X;
}

function sortedColumn(raw: Float64Array, p: number, j: number, from: number, to: number): Float64Array {
  const out: number[] = [];
  for (let r = from; r < to; r++) {
    const v = raw[r * p + j];
    if (v === v) out.push(v);
  }
  return Float64Array.from(out).sort();
}

export async function replayLoop(
  data: ReplayData,
  policy: ReplayPolicy,
  learner: Learner,
  opts: { signal?: AbortSignal; progress?: (fraction: number) => void } = {},
): Promise<ReplayResult> {
  const { index, raw, p, Y, k } = data;
  const n = Math.min(index.length, policy.end ?? Infinity);
  const H = policy.horizon;
  if (!(policy.trainBars > H)) throw new RangeError(`train_bars (${policy.trainBars}) must exceed the longest target horizon (${H})`);
  if (policy.challenger && policy.valBars <= H)
    throw new RangeError(`a challenger is judged on the validation rows: val_bars (${policy.valBars}) must exceed the horizon (${H})`);
  const sched = policy.schedule.filter((t) => t < n);
  const start = sched.length ? sched[0] : n;
  const pred = Array.from({ length: k }, () => new Float64Array(index.length).fill(NaN));
  const servedBy = new Int32Array(index.length).fill(-1);
  const models: ReplayModel[] = [];
  const events: RetrainEvent[] = [];
  let skipped = 0;
  let champion: ReplayModel | undefined;
  let ref: DriftRef | undefined;
  let shadow: { model: ReplayModel; from: number; until: number; pred: Float64Array[] } | undefined;
  let lastRetrain = -Infinity;

  const predictRows = (m: ReplayModel, from: number, to: number): Float64Array[] =>
    to > from
      ? learner.predict(m.state, scaledRows(raw, p, from, to, m.scaler), to - from, index.subarray(from, to))
      : Array.from({ length: k }, () => new Float64Array(0));
  const actual = (from: number, to: number): Float64Array => {
    const a = new Float64Array(Math.max(0, to - from));
    for (let r = from; r < to; r++) a[r - from] = Y[r * k + data.target];
    return a;
  };

  const setChampion = (m: ReplayModel): void => {
    champion = m;
    if (!policy.drift) return;
    const d = policy.drift;
    const sorted = d.columns.map((j) => sortedColumn(raw, p, j, m.train.start, m.train.end));
    ref = { sorted, bins: sorted.map((s) => psiBins(s, d.bins)) };
  };

  // Which trigger fires at t, if any, with the numbers.
  const trigger = (t: number): Omit<RetrainEvent, 'model' | 'decision' | 'row'> | undefined => {
    const c = champion!;
    if (policy.drift && ref) {
      const d = policy.drift;
      const from = Math.max(0, t + 1 - d.window);
      let psiPool = d.pool === 'any' ? -Infinity : 0;
      let ksPool = d.pool === 'any' ? -Infinity : 0;
      let psiAt = -1;
      let ksAt = -1;
      d.columns.forEach((j, c) => {
        const live = sortedColumn(raw, p, j, from, t + 1);
        const s = psi(ref!.bins[c], live);
        const ks = ksStatistic(ref!.sorted[c], live);
        if (d.pool === 'any') {
          if (s > psiPool) [psiPool, psiAt] = [s, j];
          if (ks > ksPool) [ksPool, ksAt] = [ks, j];
        } else {
          psiPool += s / d.columns.length;
          ksPool += ks / d.columns.length;
        }
      });
      const name = (j: number): string => (d.pool === 'any' && j >= 0 ? ` (${data.featureNames[j]})` : ' (mean over features)');
      const fired: string[] = [];
      if (d.psi !== undefined && psiPool > d.psi) fired.push(`PSI ${f3(psiPool)}${name(psiAt)} > ${d.psi}`);
      if (d.ks !== undefined && ksPool > d.ks) fired.push(`KS ${f3(ksPool)}${name(ksAt)} > ${d.ks}`);
      if (fired.length) return { reason: 'drift', detail: `${fired.join(', ')} over the last ${t + 1 - from} rows`, numbers: { psi: psiPool, ks: ksPool } };
    }
    if (policy.decay) {
      const d = policy.decay;
      const hi = t - H + 1;
      const lo = hi - d.window;
      if (lo >= c.row) {
        const s = scoreForecast(d.metric, pred[data.target].subarray(lo, hi), actual(lo, hi), data.perYear);
        if (s < d.below)
          return { reason: 'decay', detail: `${d.metric} ${f3(s)} < ${d.below} over the last ${d.window} known rows`, numbers: { [d.metric]: s } };
      }
    }
    if (policy.regime) {
      const { column: j, persist } = policy.regime;
      const s0 = raw[c.row * p + j];
      const s = raw[t * p + j];
      if (s !== s0 && t + 1 - persist >= 0) {
        let held = true;
        for (let r = t + 1 - persist; r <= t && held; r++) held = raw[r * p + j] === s;
        if (held) return { reason: 'regime', detail: `${data.featureNames[j]} ${s0} → ${s} for ${persist} rows`, numbers: { from: s0, to: s } };
      }
    }
    return undefined;
  };

  const retrain = async (t: number, why: Omit<RetrainEvent, 'model' | 'decision' | 'row'>): Promise<void> => {
    const win = retrainWindow(t, policy);
    const scaler = fitScaler(raw, p, win.train, policy.scale);
    const a = win.train.start;
    const X = scaledRows(raw, p, a, t, scaler);
    const shift = (r: RowRange): RowRange => ({ start: r.start - a, end: r.end - a });
    const state = await learner.fit({ X, n: t - a, offset: a, train: shift(win.train), val: shift(win.val), index: index.subarray(a, t), seq: models.length });
    const vm = win.val.end - win.val.start;
    const valPred =
      vm > 0
        ? learner.predict(state, X.subarray((win.val.start - a) * p, (win.val.end - a) * p), vm, index.subarray(win.val.start, win.val.end))
        : Array.from({ length: k }, () => new Float64Array(0));
    const model: ReplayModel = { id: models.length, row: t, reason: why.reason, train: win.train, val: win.val, scaler, state, valPred, served: 0 };
    models.push(model);
    lastRetrain = t;
    const event: RetrainEvent = { row: t, ...why, model: model.id, decision: 'champion' };
    events.push(event);
    if (!champion || !policy.challenger) return setChampion(model);
    const ch = policy.challenger;
    const y = actual(win.val.start, win.val.end);
    const champScore = scoreForecast(ch.metric, predictRows(champion, win.val.start, win.val.end)[data.target], y, data.perYear);
    const challScore = scoreForecast(ch.metric, valPred[data.target], y, data.perYear);
    const d = decideChallenger(ch.metric, champScore, challScore, ch.margin);
    event.compare = { metric: ch.metric, rows: win.val, champion: champScore, challenger: challScore, margin: ch.margin };
    if (!d.accept) event.decision = 'kept';
    else if (ch.shadow > 0) {
      event.decision = 'shadow';
      shadow = { model, from: t, until: Math.min(n, t + ch.shadow), pred: Array.from({ length: k }, () => new Float64Array(Math.min(n, t + ch.shadow) - t)) };
    } else {
      event.decision = 'promoted';
      setChampion(model);
    }
  };

  const endShadow = (t: number): void => {
    const s = shadow!;
    shadow = undefined;
    const ch = policy.challenger!;
    const rows = { start: s.from, end: s.until };
    const y = actual(s.from, s.until);
    const champScore = scoreForecast(ch.metric, pred[data.target].subarray(s.from, s.until), y, data.perYear);
    const challScore = scoreForecast(ch.metric, s.pred[data.target], y, data.perYear);
    const d = decideChallenger(ch.metric, champScore, challScore, ch.margin);
    events.push({
      row: t,
      reason: 'shadow',
      detail: `end of the ${s.until - s.from}-row shadow period of model ${s.model.id}`,
      numbers: {},
      model: s.model.id,
      decision: d.accept ? 'promoted' : 'kept',
      compare: { metric: ch.metric, rows, champion: champScore, challenger: challScore, margin: ch.margin },
    });
    if (d.accept) setChampion(s.model);
  };

  let si = 0;
  let nextCheck = start;
  for (let t = start; t < n; ) {
    if (opts.signal?.aborted) throw new Error('cancelled');
    const scheduled = si < sched.length && sched[si] === t;
    if (scheduled) si++;
    const check = t === nextCheck;
    if (check) nextCheck += policy.checkEvery;
    // A shadow is judged once its last row's target is known.
    if (shadow && t >= shadow.until - 1 + H) endShadow(t);
    const why: Omit<RetrainEvent, 'model' | 'decision' | 'row'> | undefined = !champion
      ? { reason: 'start', detail: 'first model', numbers: {} }
      : scheduled
        ? { reason: 'schedule', detail: 'scheduled', numbers: {} }
        : check && t - lastRetrain >= policy.cooldown
          ? trigger(t)
          : undefined;
    if (why) {
      if (shadow) skipped++;
      else await retrain(t, why);
    }
    let next = Math.min(n, nextCheck, si < sched.length ? sched[si] : n);
    if (shadow) next = Math.min(next, Math.max(t + 1, shadow.until - 1 + H));
    const c = champion!;
    const out = predictRows(c, t, next);
    for (let j = 0; j < k; j++) pred[j].set(out[j], t);
    servedBy.fill(c.id, t, next);
    c.served += next - t;
    if (shadow && t < shadow.until) {
      const to = Math.min(next, shadow.until);
      const sp = predictRows(shadow.model, t, to);
      for (let j = 0; j < k; j++) shadow.pred[j].set(sp[j], t - shadow.from);
    }
    t = next;
    opts.progress?.((t - start) / Math.max(1, n - start));
  }
  return { start, end: n, pred, servedBy, models, events, skipped };
}
