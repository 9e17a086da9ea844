import type { BarPredictions, Candles, Features, Model, PredictiveDistribution, Scaler } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { directions, quantile, sizePositions, type Rule } from '../../backtest/signals.js';
import { rowForecast, type RowForecast } from '../../core/distribution.js';
import { isoUtc, sliceFrame } from '../../data/frame.js';
import { formatTimeframe, parseTimeframe } from '../../data/timeframe.js';
import { getModelKind } from '../../models/registry.js';
import type { ParamValue, RowsDistribution } from '../../models/kind.js';
import { onlineDelay, resumeOnline, scoringState, type OnlineResume, type ResumedLearner } from '../../models/online/walk.js';
import { candlesPerYear, chooseTarget, distributionDirections, entrySizer, tradesOnDistribution, tradingCosts } from '../backtest/index.js';
import type { BacktestParams, CostParams } from '../backtest/params.js';
import type { StepContext } from '../define.js';
import featuresStep, { targetsOf } from '../features/index.js';
import { FeaturesFollower } from '../features/follow.js';
import type { FeaturesParams } from '../features/params.js';
import { firstRowAtOrAfter } from '../../evaluation/folds.js';
import { resumeFinetune } from '../../models/nn/finetune.js';
import type { NnState } from '../../models/nn/kinds.js';
import { sha256 } from '../../core/hash.js';

/**
 * The part of a backtest's params that turns predictions into a signal. The costs (round-trip
 * hurdle of `probability` and `quantile_band`; none when absent) and the sizing (a `size` per bar
 * when given) are the backtest's too.
 */
export type SignalParams = Pick<BacktestParams, 'rule' | 'entry_threshold' | 'exit_threshold' | 'quantile' | 'holding' | 'target'> &
  Partial<Pick<BacktestParams, 'probability' | 'band' | 'costs' | 'pip' | 'sizing' | 'max_leverage'>>;

/** No trading costs: the hurdle of a signal params without `costs`. */
const NO_COSTS: CostParams = { spread_pips: 0, commission_per_million: 0, commission_per_lot: 0, slippage_pips: 0 };

/** What to predict and how. */
export interface PredictRequest {
  /** The params of the features step the model was trained on (as recorded or as in the pipeline). */
  features: FeaturesParams;
  signal: SignalParams;
  /** UTC epoch ms: first bar to predict (inclusive) and the bound (exclusive). */
  from?: number;
  to?: number;
  /** Only the newest N bars of the range. */
  last?: number;
  /**
   * Bars not closed at this instant (UTC epoch ms) are dropped: a bar still forming would give a
   * prediction that changes. Absent: every bar of the candles is taken as closed.
   */
  now?: number;
  /**
   * Whether the candles the model was trained on had volumes (undefined: not known). A source
   * without them (a CSV without the column) is refused when a feature the model reads depends on
   * volume, unless the training data had none either.
   */
  trainedWithVolume?: boolean;
}

/**
 * What predictBars keeps between calls on candles that grow at their end (`fxflow watch`, or a
 * caller that keeps one per feed; docs/incremental.md): the features follower, and the rows a
 * row-wise model (ModelKind.rowwise) already scored. Appended bars then cost their features'
 * update and the scoring of their own rows; the result is what predictBars gives without it, bit
 * for bit (test/follow/predict-follow.test.ts). Anything else (another model, candles that do not
 * extend the ones seen) starts it afresh.
 */
export interface PredictMemory {
  features?: FeaturesFollower;
  /** The candles have no volumes and the model reads no volume feature: checked once per follower (it depends on the features' definition). */
  volumeChecked?: boolean;
  scored?: ScoredRows;
}

interface ScoredRows {
  /** Which model and fold scored them (see modelIdentity). */
  model: string;
  /** Feature rows scored, and the timestamps of the first and the last. */
  rows: number;
  first: number;
  last: number;
  out: Float64Array[];
  /** Quantile forecasts per target, row-major rows × levels. */
  quantiles?: { levels: number[]; values: Float64Array[] };
  /** An online model resumed on the bars after its data (walkAfterData): the learner as it is after the rows scored. */
  online?: OnlineWalkState;
}

/** A resumed online learner and the next feature row it absorbs. */
interface OnlineWalkState {
  learner: ResumedLearner;
  next: number;
}

/** Feature rows [lo, hi) of the model's columns, row-major, scaled by the split step's arithmetic (applyScaler): x' = (x − center) / scale, raw for `none`. */
function scaledRows(feats: Features, names: readonly string[], scaler: Scaler | undefined, lo: number, hi: number): Float64Array {
  const p = names.length;
  const rows = Math.max(0, hi - lo);
  const X = new Float64Array(rows * p);
  names.forEach((name, j) => {
    const col = feats.columns[name];
    if (!scaler || scaler.method === 'none') for (let r = 0; r < rows; r++) X[r * p + j] = col[lo + r];
    else {
      const c = scaler.center[j];
      const s = scaler.scale[j];
      for (let r = 0; r < rows; r++) X[r * p + j] = (col[lo + r] - c) / s;
    }
  });
  return X;
}

/**
 * An online model goes on learning on the bars after its data (Model.online.resume; docs/online.md,
 * "Resuming on new bars"). Row D is its dataset's last (`through`), H the longest target horizon in
 * rows (the train step's delay). Rows up to D + H keep the final state's predictions (at the data's
 * end rows ≤ D were known); a row t > D + H is scored after absorbing every row r ≤ t − H, its
 * targets computed from the bars by the features step's own target code — the train step's walk
 * forward over the longer series (rls, sgd: row by row; gbm: appends on the kept window; fine-tuned
 * networks: updates on it, each weight version scoring its rows in one batch). Overwrites those rows
 * of `out` (rows from `from`); returns the learner to carry to the next call, or undefined when there
 * is nothing to walk or it cannot be done exactly (then the rows keep the final state's predictions,
 * with a note). A note says what was resumed.
 */
async function walkAfterData(
  model: Model,
  fparams: FeaturesParams,
  bars: Candles,
  feats: Features,
  X: Float64Array,
  from: number,
  out: Float64Array[],
  carried: OnlineWalkState | undefined,
  ctx: StepContext,
  note: (m: string) => void,
): Promise<OnlineWalkState | undefined> {
  const online = model.online!;
  const m = feats.index.length;
  const D = firstRowAtOrAfter(feats.index, online.through);
  const H = onlineDelay(model.targetHorizons);
  if (D + H + 1 >= m) return undefined;
  const cannot = (why: string): undefined => {
    note(`the online model is not resumed on the bars after ${isoUtc(online.through)} (${why}): they are scored with its final state, absorbing nothing`);
    return undefined;
  };
  if (!online.resume) return cannot('it was stored without its learner state: retrain it');
  if (feats.index[D] !== online.through) return cannot(`the candles' features have no row at ${isoUtc(online.through)}, the last one it absorbed`);
  const plans = targetsOf(fparams);
  const targets = model.targetNames.map((name) => plans.find((t) => t.name === name));
  if (targets.some((t) => t === undefined)) return cannot('the features params do not define its targets');
  // Feature rows are consecutive bars after the warm-up: row r is bar r + off.
  const off = firstRowAtOrAfter(bars.index, feats.index[0]);
  if (bars.index[off + m - 1] !== feats.index[m - 1]) return cannot('the features rows are not consecutive bars');
  const cols = targets.map((t) => t!.compute(bars));
  const p = model.featureNames.length;
  const k = model.targetNames.length;
  const resume = online.resume as OnlineResume;
  let next = carried?.next ?? D + 1;
  const first = Math.max(from, D + H + 1);
  // The rows to absorb, scaled as the scored ones are, and their targets.
  const A = scaledRows(feats, model.featureNames, model.scalers?.[online.fold], next, m - H);
  const base = next;
  const y = new Float64Array(k);
  const targetsOfRow = (r: number): Float64Array => {
    for (let j = 0; j < k; j++) y[j] = cols[j][r + off];
    return y;
  };
  // Rows whose targets are known after the data: r ≤ m − 1 − H (a network leaves the last ones unbuffered: no update is due on them).
  const said = (what: string, updates: string | undefined): void => {
    const rows = m - 1 - H - D;
    note(
      `the online model (${what}) goes on learning on the bars after ${isoUtc(online.through)}: ${rows} later row${rows === 1 ? '' : 's'} absorbed${updates ? `, ${updates}` : ''}`,
    );
  };
  if (resume.method === 'finetune') {
    // A network scores windows, so rows between two updates are scored in one batch with the weights they had.
    const index = from ? feats.index.subarray(from) : feats.index;
    const net = await resumeFinetune(resume, online.state as NnState, model.params as Record<string, ParamValue>, ctx.signal);
    for (let lo = first; lo < m; ) {
      for (; next + H <= lo; next++) await net.update(A, targetsOfRow(next), (next - base) * p, 0, feats.index[next]);
      // The next update follows row next + untilUpdate − 1; the rows before that row + H keep these weights.
      const hi = Math.min(m, next + net.untilUpdate - 1 + H);
      if (net.updates > 0) {
        const point = net.predict(X, hi - from, index, lo - from);
        for (let j = 0; j < k; j++) out[j].set(point[j].subarray(lo - from, hi - from), lo - from);
      }
      lo = hi;
    }
    said('fine-tuned network', `${net.updates} fine-tuning update${net.updates === 1 ? '' : 's'} made on them`);
    return undefined;
  }
  const learner = carried?.learner ?? resumeOnline(resume, online.state, ctx.threads);
  for (let t = first; t < m; t++) {
    for (; next + H <= t; next++) learner.update(A, targetsOfRow(next), (next - base) * p, 0);
    for (let j = 0; j < k; j++) out[j][t - from] = learner.predict(X, j, (t - from) * p);
  }
  said(resume.method === 'append' ? 'gbm appends' : resume.method, learner.progress());
  return { learner, next };
}

const identities = new WeakMap<Model, string>();
/** A hash of what a model's predictions depend on: its kind, newest fold's scaler and scoring state, feature and target names. */
function modelIdentity(model: Model): string {
  let id = identities.get(model);
  if (id === undefined) {
    const f = model.state.length - 1;
    const plain = (_k: string, v: unknown): unknown => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v);
    id = sha256(JSON.stringify([model.kind, f, model.featureNames, model.targetNames, model.scalers?.[f] ?? null, scoringState(model, f)], plain));
    identities.set(model, id);
  }
  return id;
}

function allZeroOrNaN(v: Float64Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0 && v[i] === v[i]) return false;
  return true;
}

/** `a` followed by `b` (typed arrays of one kind). */
function joined(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Rows [lo, hi) of per-target quantile forecasts, keyed by target name. */
function sliceQuantiles(q: { levels: number[]; values: Float64Array[] }, names: readonly string[], lo: number, hi: number) {
  const L = q.levels.length;
  return { levels: q.levels, values: Object.fromEntries(names.map((t, k) => [t, q.values[k].slice(lo * L, hi * L)])) };
}

/** The rule in words, e.g. `threshold ±0.0002 on fwd_ret_1`. */
function ruleText(s: SignalParams, target: string, hold: number): string {
  const base =
    s.rule === 'threshold'
      ? `threshold ±${s.entry_threshold}${s.exit_threshold !== undefined && s.exit_threshold !== s.entry_threshold ? ` (exit ±${s.exit_threshold})` : ''}`
      : s.rule === 'sign'
        ? 'sign'
        : s.rule === 'quantile'
          ? `quantile ${s.quantile} of the newest fold's validation predictions`
          : s.rule === 'probability'
            ? `probability ≥ ${s.probability ?? 0.6} of a move beyond the round-trip costs`
            : `quantile_band ${s.band ?? 0.1} beyond the round-trip costs`;
  return `${base} on ${target}${hold > 1 ? `, held ${hold} bars` : ''}`;
}

/** The rule of a point-forecast signal (threshold, sign, quantile bands of the newest fold's validation predictions). */
function pointRule(model: Model, s: SignalParams, target: string, f: number, m: number): Rule {
  if (s.rule === 'threshold') return { kind: 'threshold', entry: s.entry_threshold, exit: s.exit_threshold ?? s.entry_threshold };
  if (s.rule === 'sign') return { kind: 'sign' };
  const pr = model.predictions;
  const val: number[] = [];
  const v = pr.values[target];
  for (let i = 0; i < pr.index.length; i++) if (pr.segment[i] === 1 && pr.fold[i] === f) val.push(v[i]);
  if (!val.length)
    throw new RunError(`rule \`quantile\` needs the newest fold's validation predictions, and fold ${f} has none`, {
      hint: 'use rule `threshold` or `sign`',
    });
  return { kind: 'bands', lo: new Float64Array(m).fill(quantile(val, s.quantile)), hi: new Float64Array(m).fill(quantile(val, 1 - s.quantile)) };
}

/**
 * Each predicted row's forecast distribution of `target`, as the backtest reads the model's own
 * (src/core/distribution.ts): the kind's quantiles or draws; for a point kind, the Gaussian around
 * the prediction whose sd is the newest fold's, the RMS of its validation residuals (the sd the
 * train step gave that fold's rows).
 */
function rowForecasts(model: Model, target: string, dist: RowsDistribution | undefined, pred: Float64Array): (RowForecast | undefined)[] {
  const k = model.targetNames.indexOf(target);
  const m = pred.length;
  let d: PredictiveDistribution;
  if (dist?.quantiles) d = { quantiles: { levels: dist.quantiles.levels, values: { [target]: dist.quantiles.values[k] } } };
  else if (dist?.samples) d = { samples: { count: dist.samples.count, values: { [target]: dist.samples.values[k] } } };
  else {
    const pr = model.predictions;
    const f = model.state.length - 1;
    const kept = pr.distribution;
    if (kept?.quantiles || kept?.samples)
      throw new RunError(`the model's forecast distribution (${kept.quantiles ? 'quantiles' : 'draws'}) cannot be computed on new bars by this kind`, {
        hint: 'use rule `threshold`, `sign` or `quantile` for `predict`',
      });
    const sds = kept?.gaussian?.sd[target];
    let sd = NaN;
    if (sds) for (let i = 0; i < pr.index.length && !(sd > 0); i++) if (pr.fold[i] === f) sd = sds[i];
    if (!(sd > 0))
      throw new RunError(
        `the newest fold (${f}) has no forecast spread for \`${target}\`: its Gaussian is sized by its validation residuals, and it has none`,
        {
          hint: 'rerun its train step with a validation segment (train v3 records it), or use rule `threshold`, `sign` or `quantile`',
        },
      );
    d = { gaussian: { sd: { [target]: new Float64Array(m).fill(sd) } } };
  }
  return Array.from({ length: m }, (_, i) => rowForecast(d, target, i, pred[i]));
}

/**
 * The features `model` reads, recomputed over `bars` with `fparams` (no targets); through the
 * memory's follower when the bars extend the ones it saw. Candles without volumes are refused when
 * a feature the model reads depends on volume (unless the training data had none either).
 */
async function modelFeatures(
  model: Model,
  bars: Candles,
  fparams: FeaturesParams,
  trainedWithVolume: boolean | undefined,
  ctx: StepContext,
  memory: PredictMemory | undefined,
): Promise<Features> {
  // The features step's own log lines (its warm-up and target tail) would read as this step's.
  const quiet: StepContext = { ...ctx, log: () => {} };
  const featuresOf = (c: Candles) => featuresStep.run({ candles: c }, fparams, quiet);
  const vol = bars.columns.volume;
  const noVolume = trainedWithVolume !== false && (!vol || allZeroOrNaN(vol));
  let feats: Features | undefined;
  const following = memory?.features?.extendsSeen(bars) && (!noVolume || memory.volumeChecked);
  if (following) feats = memory!.features!.extend(bars);
  else if (noVolume) {
    // No volumes (a CSV without the column reads as NaN or 0): which features read volume is
    // found by computing them with two different volumes: they differ exactly there.
    const withVolume = (x: number): Candles => ({ ...bars, columns: { ...bars.columns, volume: new Float64Array(bars.index.length).fill(x) } });
    feats = await featuresOf(withVolume(0));
    const alt = await featuresOf(withVolume(1));
    const reads = model.featureNames.filter((name) => {
      const a = feats!.columns[name];
      const b = alt.columns[name];
      return a !== undefined && b !== undefined && (a.length !== b.length || a.some((v, i) => !Object.is(v, b[i])));
    });
    if (reads.length) {
      throw new RunError(`the candles have no volumes, and the model's features ${reads.map((r) => `\`${r}\``).join(', ')} read them`, {
        hint: 'give candles with a volume column (tick volume), as the training data had',
      });
    }
  }
  if (memory && !following) {
    // A new follower over these bars. The columns the model reads do not depend on the volumes
    // (checked above when there are none), so the follower computes them from the bars as they are.
    memory.scored = undefined;
    const f = new FeaturesFollower(fparams, bars);
    try {
      const out = f.init(bars);
      memory.features = f;
      memory.volumeChecked = noVolume;
      feats ??= out;
    } catch (e) {
      // Too few bars: the step's own computation says by how many, below.
      memory.features = undefined;
      if (!(e instanceof RunError)) throw e;
    }
  }
  feats ??= await featuresOf(bars);
  const missing = model.featureNames.filter((f) => !Object.hasOwn(feats.columns, f));
  if (missing.length) {
    throw new RunError(`the features recomputed from the candles lack ${missing.map((m) => `\`${m}\``).join(', ')}, which the model reads`, {
      hint: `the model was trained on ${model.featureNames.length} features (${model.featureNames.slice(0, 8).join(', ')}${model.featureNames.length > 8 ? ', …' : ''}); predict needs the features step it was trained with`,
    });
  }
  return feats;
}

/**
 * A model's predictions on `candles`: the features recomputed by the features step with the params
 * the model was trained on (targets left out, so the newest bars are kept), scaled with the newest
 * fold's scaler (fitted on that fold's training rows) and scored with that fold's state — the same
 * arithmetic, in the same order, as the train step's, so a bar the model scored out of sample gets
 * the same bits. An online model (`online:`) scores with its learner's final state instead (every
 * row of its dataset absorbed: meant for bars after the data's end; earlier bars get predictions
 * that used their own targets, unlike the walk forward's), and an rls or sgd learner goes on
 * absorbing the rows whose targets later bars make known (walkAfterData). The signal is the
 * backtest rule run over every predicted bar from the first one, so hysteresis and holding periods
 * carry over as they would in a backtest started there.
 */
export async function predictBars(model: Model, candles: Candles, req: PredictRequest, ctx: StepContext, memory?: PredictMemory): Promise<BarPredictions> {
  if (model.encoder) {
    throw new RunError(`the model is a feature encoder (${model.kind}): it makes no forecasts`, {
      hint: 'predict with the model trained on its encoded dataset; `fxflow models` lists the models',
    });
  }
  // A by-regime model routes each bar to its regime's model; scoring it needs the regime step's filter run over the new bars, not built yet.
  if (typeof model.params.by_regime === 'string')
    throw new RunError(`a by_regime model cannot be predicted yet (it was trained with \`by_regime: ${model.params.by_regime}\`)`, {
      hint: 'train without `by_regime` to predict new bars; its out-of-sample predictions are in the run (backtest reads them)',
    });
  if (model.targetNames.length === 0 || model.state.length === 0)
    throw new RunError('the model has no targets or no fitted fold', { hint: 'rerun its train step' });
  const kind = getModelKind(model.kind);
  if (!kind) throw new RunError(`unknown model kind \`${model.kind}\``, { hint: 'this fxflow cannot score it; use the version that trained it' });
  const notes: string[] = [];
  const note = (m: string): void => {
    notes.push(m);
    ctx.warn(m);
  };

  // A bar still forming (open + length after `now`) is not complete: its close would change.
  let bars = candles;
  if (req.now !== undefined && candles.index.length) {
    const len = parseTimeframe(candles.timeframe).ms;
    let n = candles.index.length;
    while (n > 0 && candles.index[n - 1] + len > req.now) n--;
    const dropped = candles.index.length - n;
    if (dropped) {
      const last = candles.index[candles.index.length - 1];
      note(
        `dropped ${dropped === 1 ? 'the last bar' : `the last ${dropped} bars`} (${isoUtc(last)}${dropped > 1 ? ' and before' : ''}): not complete at ${isoUtc(req.now)} (a ${formatTimeframe(len)} bar closes ${formatTimeframe(len)} after it opens)`,
      );
      bars = sliceFrame(candles, 0, n);
    }
  }
  if (bars.index.length === 0) throw new RunError('no complete bars to predict', { hint: 'check the source: every bar is still forming or it is empty' });

  // Targets are not needed (and would drop the newest bars, whose future is unknown).
  const fparams: FeaturesParams = { ...req.features, target: {} };
  const feats = await modelFeatures(model, bars, fparams, req.trainedWithVolume, ctx, memory);
  const m = feats.index.length;
  const p = model.featureNames.length;
  const f = model.state.length - 1;
  const scaler = model.scalers?.[f];
  // Rows scored before (a row-wise model, the same one, on features that extend the ones it scored) keep their predictions.
  const prev = memory?.scored;
  const identity = memory && kind.rowwise ? modelIdentity(model) : undefined;
  const from =
    prev && identity === prev.model && m >= prev.rows && prev.rows > 0 && feats.index[0] === prev.first && feats.index[prev.rows - 1] === prev.last
      ? prev.rows
      : 0;
  const rows = m - from;
  const X = scaledRows(feats, model.featureNames, scaler, from, m);
  const index = from ? feats.index.subarray(from) : feats.index;
  // An online model scores with its learner's final state (Model.online), not the fold's batch fit.
  const state = scoringState(model, f);
  // The target the signal reads, and whether the rule or sizing reads its forecast distribution.
  const target = chooseTarget(model, req.signal.target);
  const byDistribution = tradesOnDistribution(req.signal);
  // A sampling kind (diffusion, sssd) draws its forecast distribution as the train step does, when it is read:
  // one call gives the draws and the point forecast `predict` gives.
  const drawn = byDistribution && kind.sample ? kind.sample(state, X, rows, p, index) : undefined;
  let out = drawn ? drawn.point : kind.predict(state, X, rows, p, index);
  let dist: RowsDistribution | undefined = drawn
    ? { samples: { count: drawn.count, values: drawn.samples } }
    : kind.predictDistribution?.(state, X, rows, p, index);
  const resumed =
    model.online?.fold === f ? await walkAfterData(model, req.features, bars, feats, X, from, out, from ? prev?.online : undefined, ctx, note) : undefined;
  if (from) {
    ctx.log(`following: ${rows} new row${rows === 1 ? '' : 's'} scored (${m} in all)`);
    out = out.map((o, k) => joined(prev!.out[k], o));
    if (dist?.quantiles && prev!.quantiles)
      dist = { quantiles: { levels: dist.quantiles.levels, values: dist.quantiles.values.map((v, k) => joined(prev!.quantiles!.values[k], v)) } };
  }
  if (memory)
    memory.scored =
      identity !== undefined && m > 0 && !dist?.samples
        ? {
            model: identity,
            rows: m,
            first: feats.index[0],
            last: feats.index[m - 1],
            out,
            ...(dist?.quantiles ? { quantiles: dist.quantiles } : {}),
            ...(resumed ? { online: resumed } : {}),
          }
        : undefined;
  const all: Record<string, Float64Array> = {};
  model.targetNames.forEach((t, k) => (all[t] = out[k]));

  // The signal, over every predicted bar (consecutive rows are consecutive bars).
  const horizon = model.targetHorizons[model.targetNames.indexOf(target)] ?? 1;
  const hold = req.signal.holding === 'horizon' ? Math.max(1, horizon) : 1;
  const rowsOf = new Int32Array(m);
  for (let i = 0; i < m; i++) rowsOf[i] = i;
  // The candles' bar of each row (feature rows are bars after the warm-up): the costs and the volatility estimate are read there.
  const barOf = new Int32Array(m);
  for (let i = 0, b = 0; i < m; i++) {
    while (bars.index[b] < feats.index[i]) b++;
    barOf[i] = b;
  }
  const forecasts = byDistribution ? rowForecasts(model, target, dist, all[target]) : [];
  // Only the distribution rules and sizings read the costs (a spread column the candles lack is then an error, as in the backtest).
  const hurdleAt = byDistribution ? tradingCosts({ costs: req.signal.costs ?? NO_COSTS, pip: req.signal.pip }, bars, note).hurdleAt : () => 0;
  const hurdle = (i: number): number => hurdleAt(barOf[i]);
  let signal: Int8Array;
  if (req.signal.rule === 'probability' || req.signal.rule === 'quantile_band')
    signal = distributionDirections(
      { rule: req.signal.rule, probability: req.signal.probability ?? 0.6, band: req.signal.band ?? 0.1 },
      forecasts,
      hurdle,
      rowsOf,
      hold,
    );
  else signal = directions(all[target], rowsOf, pointRule(model, req.signal, target, f, m), hold);
  // The backtest's sizing: the size it would hold at each bar (0 flat, or an entry it would not take).
  // A fixed size is the same at every position: it is not repeated per bar.
  let size: Float64Array | undefined;
  if (req.signal.sizing && !('fixed' in req.signal.sizing)) {
    const sizeOf = entrySizer(req.signal.sizing, {
      pred: all[target],
      forecasts,
      dir: signal,
      hurdle,
      horizon,
      perYear: candlesPerYear(bars),
      candles: bars,
      signalBar: barOf,
    });
    size = sizePositions(signal, rowsOf, sizeOf, req.signal.max_leverage ?? Infinity).position.map(Math.abs);
  }

  // The bars asked for.
  let lo = req.from === undefined ? 0 : firstRowAtOrAfter(feats.index, req.from);
  const hi = req.to === undefined ? m : firstRowAtOrAfter(feats.index, req.to);
  if (feats.warmupDropped > 0 && req.last === undefined) {
    const first = m ? isoUtc(feats.index[0]) : 'none';
    if (req.from === undefined || req.from < (m ? feats.index[0] : Infinity))
      note(`the first ${feats.warmupDropped} bar(s) of the candles are the features' warm-up: predictions start at ${first}`);
  }
  if (req.last !== undefined) {
    if (hi - lo < req.last) note(`asked for the last ${req.last} bars: ${Math.max(0, hi - lo)} can be predicted`);
    lo = Math.max(lo, hi - req.last);
  }
  lo = Math.min(lo, hi);
  const values: Record<string, Float64Array> = {};
  for (const t of model.targetNames) values[t] = all[t].slice(lo, hi);
  return {
    type: 'Predictions',
    symbol: bars.symbol,
    timeframe: bars.timeframe,
    index: feats.index.slice(lo, hi),
    values,
    targetNames: [...model.targetNames],
    targetHorizons: [...model.targetHorizons],
    fold: f,
    signal: signal.slice(lo, hi),
    ...(size ? { size: size.slice(lo, hi) } : {}),
    ...(dist?.quantiles ? { distribution: { quantiles: sliceQuantiles(dist.quantiles, model.targetNames, lo, hi) } } : {}),
    signalTarget: target,
    rule: ruleText(req.signal, target, hold),
    notes,
  };
}
