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

/** The shadow period of a challenger that won: it predicts beside the champion until judged. */
interface Shadow {
  model: ReplayModel;
  from: number;
  /** from + the policy's shadow rows; `until` is that, cut at the replay's end (which an append moves). */
  want: number;
  until: number;
  pred: Float64Array[];
}

/** Whether two typed arrays hold the same bytes over their first `len` elements. */
function samePrefix(a: Float64Array, b: Float64Array, len: number): boolean {
  if (a.length < len || b.length < len) return false;
  const bytes = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, len * 8);
  return bytes(a).equals(bytes(b));
}

/**
 * The loop as an object that can be resumed: `walk` replays every row, and `extend`, given the same
 * data with rows appended (the same policy, its schedule and end moved by the append only), walks on
 * from where it stopped instead of starting over — with the same numbers as a walk over the longer
 * data, because every decision at row t reads rows ≤ t only (test/replay/probe.test.ts,
 * test/replay/follow.test.ts). Its state at the last row is what a walk carries between rows: the
 * models (champion, shadowed challenger), the drift reference, the schedule and check counters, the
 * last retrain, and the predictions so far. The last block of predictions is predicted again on an
 * extension: a walk over the longer data predicts it in one call, and a kind that reads a window of
 * rows (a sequence model) scores a row by the rows before it in the same call.
 */
export class ReplayWalk {
  private pred: Float64Array[] = [];
  private servedBy = new Int32Array(0);
  private readonly models: ReplayModel[] = [];
  private readonly events: RetrainEvent[] = [];
  private skipped = 0;
  private champion: ReplayModel | undefined;
  private ref: DriftRef | undefined;
  private shadow: Shadow | undefined;
  private lastRetrain = -Infinity;
  private si = 0;
  private nextCheck = 0;
  private start = 0;
  private n = 0;
  /** The row of the last decision, where the last block of predictions starts; −1 before the walk. */
  private blockStart = -1;
  /** The end of the last walk (`n` before an extension moves it). */
  private lastEnd = 0;

  constructor(
    private data: ReplayData,
    private policy: ReplayPolicy,
    private learner: Learner,
  ) {}

  /** How far the walk went: the end of its rows and its events so far; undefined before it walked. */
  reached(): { end: number; events: number } | undefined {
    return this.blockStart < 0 ? undefined : { end: this.lastEnd, events: this.events.length };
  }

  /** Replays every row of the data (once). */
  async walk(opts: WalkOptions = {}): Promise<ReplayResult> {
    const { policy } = this;
    const H = policy.horizon;
    if (!(policy.trainBars > H)) throw new RangeError(`train_bars (${policy.trainBars}) must exceed the longest target horizon (${H})`);
    if (policy.challenger && policy.valBars <= H)
      throw new RangeError(`a challenger is judged on the validation rows: val_bars (${policy.valBars}) must exceed the horizon (${H})`);
    this.n = this.endRow();
    const sched = this.schedule();
    this.start = sched.length ? sched[0] : this.n;
    this.nextCheck = this.start;
    const len = this.data.index.length;
    this.pred = Array.from({ length: this.data.k }, () => new Float64Array(len).fill(NaN));
    this.servedBy = new Int32Array(len).fill(-1);
    return this.run(this.start, false, opts);
  }

  /**
   * Walks on over `data`, which must be this walk's data with rows appended (the same bytes before),
   * under the same policy (its schedule and end as the longer data gives them); `learner` fits the
   * models from now on. Undefined, with the walk unchanged, when it is anything else: replay it afresh.
   */
  async extend(data: ReplayData, policy: ReplayPolicy, learner: Learner, opts: WalkOptions = {}): Promise<ReplayResult | undefined> {
    const old = this.data;
    const len = old.index.length;
    // A walk that replayed nothing (no row after its first training window) starts afresh.
    if (this.blockStart < 0 || data.index.length < len) return undefined;
    const { schedule: s0, end: e0, ...rest0 } = this.policy;
    const { schedule: s1, end: e1, ...rest1 } = policy;
    if (JSON.stringify(rest0) !== JSON.stringify(rest1)) return undefined;
    if (data.p !== old.p || data.k !== old.k || data.target !== old.target || data.perYear !== old.perYear) return undefined;
    if (JSON.stringify(data.featureNames) !== JSON.stringify(old.featureNames)) return undefined;
    if (!samePrefix(data.index, old.index, len) || !samePrefix(data.raw, old.raw, len * old.p) || !samePrefix(data.Y, old.Y, len * old.k)) return undefined;
    // The schedule and the end are read off the rows: the rows before the old end must give the same.
    const n1 = Math.min(data.index.length, e1 ?? Infinity);
    if (n1 < this.n || (this.n < len && n1 !== this.n)) return undefined;
    const before = (s: readonly number[]) => JSON.stringify(s.filter((t) => t < this.n));
    if (before(s0) !== before(s1)) return undefined;
    if (opts.signal?.aborted) throw new Error('cancelled');

    this.data = data;
    this.policy = policy;
    this.learner = learner;
    this.n = n1;
    const grow = <T extends Float64Array | Int32Array>(a: T, fill: number, make: (m: number) => T): T => {
      const b = make(data.index.length).fill(fill) as T;
      b.set(a);
      return b;
    };
    this.pred = this.pred.map((a) => grow(a, NaN, (m) => new Float64Array(m)));
    this.servedBy = grow(this.servedBy, -1, (m) => new Int32Array(m));
    const sh = this.shadow;
    if (sh && sh.until < sh.want) {
      sh.until = Math.min(this.n, sh.want);
      sh.pred = sh.pred.map((a) => {
        const b = new Float64Array(sh.until - sh.from);
        b.set(a);
        return b;
      });
    }
    // The last block is predicted again, to its end on the longer data; the decision at its first row stands.
    this.champion!.served -= this.lastEnd - this.blockStart;
    return this.run(this.blockStart, true, opts);
  }

  private endRow(): number {
    return Math.min(this.data.index.length, this.policy.end ?? Infinity);
  }

  private schedule(): number[] {
    return this.policy.schedule.filter((t) => t < this.n);
  }

  private predictRows(m: ReplayModel, from: number, to: number): Float64Array[] {
    const { raw, p, index, k } = this.data;
    return to > from
      ? this.learner.predict(m.state, scaledRows(raw, p, from, to, m.scaler), to - from, index.subarray(from, to))
      : Array.from({ length: k }, () => new Float64Array(0));
  }

  private actual(from: number, to: number): Float64Array {
    const { Y, k, target } = this.data;
    const a = new Float64Array(Math.max(0, to - from));
    for (let r = from; r < to; r++) a[r - from] = Y[r * k + target];
    return a;
  }

  private setChampion(m: ReplayModel): void {
    this.champion = m;
    const d = this.policy.drift;
    if (!d) return;
    const { raw, p } = this.data;
    const sorted = d.columns.map((j) => sortedColumn(raw, p, j, m.train.start, m.train.end));
    this.ref = { sorted, bins: sorted.map((s) => psiBins(s, d.bins)) };
  }

  // Which trigger fires at t, if any, with the numbers.
  private trigger(t: number): Why | undefined {
    const { policy, data, ref } = this;
    const { raw, p } = data;
    const H = policy.horizon;
    const c = this.champion!;
    if (policy.drift && ref) {
      const d = policy.drift;
      const from = Math.max(0, t + 1 - d.window);
      let psiPool = d.pool === 'any' ? -Infinity : 0;
      let ksPool = d.pool === 'any' ? -Infinity : 0;
      let psiAt = -1;
      let ksAt = -1;
      d.columns.forEach((j, c) => {
        const live = sortedColumn(raw, p, j, from, t + 1);
        const s = psi(ref.bins[c], live);
        const ks = ksStatistic(ref.sorted[c], live);
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
        const s = scoreForecast(d.metric, this.pred[data.target].subarray(lo, hi), this.actual(lo, hi), data.perYear);
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
  }

  private async retrain(t: number, why: Why): Promise<void> {
    const { policy, data, models } = this;
    const { raw, p, index, k } = data;
    const win = retrainWindow(t, policy);
    const scaler = fitScaler(raw, p, win.train, policy.scale);
    const a = win.train.start;
    const X = scaledRows(raw, p, a, t, scaler);
    const shift = (r: RowRange): RowRange => ({ start: r.start - a, end: r.end - a });
    const state = await this.learner.fit({
      X,
      n: t - a,
      offset: a,
      train: shift(win.train),
      val: shift(win.val),
      index: index.subarray(a, t),
      seq: models.length,
    });
    const vm = win.val.end - win.val.start;
    const valPred =
      vm > 0
        ? this.learner.predict(state, X.subarray((win.val.start - a) * p, (win.val.end - a) * p), vm, index.subarray(win.val.start, win.val.end))
        : Array.from({ length: k }, () => new Float64Array(0));
    const model: ReplayModel = { id: models.length, row: t, reason: why.reason, train: win.train, val: win.val, scaler, state, valPred, served: 0 };
    models.push(model);
    this.lastRetrain = t;
    const event: RetrainEvent = { row: t, ...why, model: model.id, decision: 'champion' };
    this.events.push(event);
    const champion = this.champion;
    if (!champion || !policy.challenger) return this.setChampion(model);
    const ch = policy.challenger;
    const y = this.actual(win.val.start, win.val.end);
    const champScore = scoreForecast(ch.metric, this.predictRows(champion, win.val.start, win.val.end)[data.target], y, data.perYear);
    const challScore = scoreForecast(ch.metric, valPred[data.target], y, data.perYear);
    const d = decideChallenger(ch.metric, champScore, challScore, ch.margin);
    event.compare = { metric: ch.metric, rows: win.val, champion: champScore, challenger: challScore, margin: ch.margin };
    if (!d.accept) event.decision = 'kept';
    else if (ch.shadow > 0) {
      event.decision = 'shadow';
      const until = Math.min(this.n, t + ch.shadow);
      this.shadow = { model, from: t, want: t + ch.shadow, until, pred: Array.from({ length: k }, () => new Float64Array(until - t)) };
    } else {
      event.decision = 'promoted';
      this.setChampion(model);
    }
  }

  private endShadow(t: number): void {
    const s = this.shadow!;
    const { data } = this;
    this.shadow = undefined;
    const ch = this.policy.challenger!;
    const rows = { start: s.from, end: s.until };
    const y = this.actual(s.from, s.until);
    const champScore = scoreForecast(ch.metric, this.pred[data.target].subarray(s.from, s.until), y, data.perYear);
    const challScore = scoreForecast(ch.metric, s.pred[data.target], y, data.perYear);
    const d = decideChallenger(ch.metric, champScore, challScore, ch.margin);
    this.events.push({
      row: t,
      reason: 'shadow',
      detail: `end of the ${s.until - s.from}-row shadow period of model ${s.model.id}`,
      numbers: {},
      model: s.model.id,
      decision: d.accept ? 'promoted' : 'kept',
      compare: { metric: ch.metric, rows, champion: champScore, challenger: challScore, margin: ch.margin },
    });
    if (d.accept) this.setChampion(s.model);
  }

  /** Walks rows [t, n): a decision at each block's first row (none at `t` when `decided`), then the block's predictions. */
  private async run(t: number, decided: boolean, opts: WalkOptions): Promise<ReplayResult> {
    const { policy, n, start } = this;
    const { k } = this.data;
    const H = policy.horizon;
    const sched = this.schedule();
    while (t < n) {
      if (opts.signal?.aborted) throw new Error('cancelled');
      if (!decided) {
        const scheduled = this.si < sched.length && sched[this.si] === t;
        if (scheduled) this.si++;
        const check = t === this.nextCheck;
        if (check) this.nextCheck += policy.checkEvery;
        // A shadow is judged once its last row's target is known.
        if (this.shadow && t >= this.shadow.until - 1 + H) this.endShadow(t);
        const why: Why | undefined = !this.champion
          ? { reason: 'start', detail: 'first model', numbers: {} }
          : scheduled
            ? { reason: 'schedule', detail: 'scheduled', numbers: {} }
            : check && t - this.lastRetrain >= policy.cooldown
              ? this.trigger(t)
              : undefined;
        if (why) {
          if (this.shadow) this.skipped++;
          else await this.retrain(t, why);
        }
      }
      decided = false;
      this.blockStart = t;
      let next = Math.min(n, this.nextCheck, this.si < sched.length ? sched[this.si] : n);
      const shadow = this.shadow;
      if (shadow) next = Math.min(next, Math.max(t + 1, shadow.until - 1 + H));
      const c = this.champion!;
      const out = this.predictRows(c, t, next);
      for (let j = 0; j < k; j++) this.pred[j].set(out[j], t);
      this.servedBy.fill(c.id, t, next);
      c.served += next - t;
      if (shadow && t < shadow.until) {
        const to = Math.min(next, shadow.until);
        const sp = this.predictRows(shadow.model, t, to);
        for (let j = 0; j < k; j++) shadow.pred[j].set(sp[j], t - shadow.from);
      }
      t = next;
      opts.progress?.((t - start) / Math.max(1, n - start));
    }
    this.lastEnd = n;
    // Copies of what later extensions change, so a result handed out stays as it was.
    return {
      start,
      end: n,
      pred: this.pred.map((a) => a.slice()),
      servedBy: this.servedBy.slice(),
      models: this.models.map((m) => ({ ...m })),
      events: [...this.events],
      skipped: this.skipped,
    };
  }
}

type Why = Omit<RetrainEvent, 'model' | 'decision' | 'row'>;

export interface WalkOptions {
  signal?: AbortSignal;
  progress?: (fraction: number) => void;
}

/** Replays every row of `data` under `policy` (a ReplayWalk walked once). */
export async function replayLoop(data: ReplayData, policy: ReplayPolicy, learner: Learner, opts: WalkOptions = {}): Promise<ReplayResult> {
  return new ReplayWalk(data, policy, learner).walk(opts);
}
