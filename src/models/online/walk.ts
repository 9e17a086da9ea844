import type { Model, RowRange } from '../../core/artifacts.js';
import { gbmRaw, type GbmParams, type GbmState } from '../gbm/gbm.js';
import type { ParamValue } from '../kind.js';
import { gbmParamsOf, type GbmFoldState, type LinearState } from '../kinds.js';
import { sigmoid } from '../linear.js';
import { gbmAppend } from './gbm-append.js';
import { rlsClone, rlsFromBatch, rlsPredictRow, rlsToLinear, rlsUpdate, type RlsState } from './rls.js';
import { RowWindow } from './row-window.js';
import { sgdInit, sgdToLinear, sgdUpdate, type SgdState } from './sgd.js';

/**
 * Walk-forward scoring with an online learner (docs/online.md): rows are scored in time order, and
 * a row's targets are absorbed only once they are known. A target with a horizon of h rows is the
 * return from row r to row r + h, known at row r + h; so the prediction of row t uses the fitted
 * model plus the rows r with r + delay ≤ t (delay = the longest horizon: the targets share one
 * update). With delay 1 each row is absorbed right after it is predicted.
 */

/** What the walk needs of a learner: score row r of X, absorb row r of X and Y, its current model in the kind's state form. */
interface OnlineLearner {
  predict(X: ArrayLike<number>, r: number, t: number): number;
  update(X: ArrayLike<number>, Y: ArrayLike<number>, r: number): void;
  state(): unknown;
  /** A copy of the learner's full state, to go on absorbing rows later. */
  resume(): OnlineResume;
}

/**
 * What an online learner needs to go on absorbing rows after the data's end (Model.online.resume):
 * the RLS state (weights and P, or R while singular), the SGD state (weights, step count), a gbm
 * append's or a fine-tuning walk's cadence and window (their ensembles or weights are Model.online.state's).
 */
export type OnlineResume = { method: 'rls'; rls: RlsState } | { method: 'sgd'; sgd: SgdState } | GbmResume | FinetuneResume;

/**
 * gbm appends after the data's end: an append fits on the last `window` known rows, so those rows
 * are kept (the fold's scaling), with the cadence position and the append count (it seeds each append).
 */
export interface GbmResume extends KeptRows {
  method: 'append';
  spec: GbmOnlineSpec;
  /** The appends' tree params (threads: the kind's, 0 = the caller's). */
  params: GbmParams;
  /** Appends made so far (rows absorbed since the last one: `pending`). */
  appends: number;
}

/**
 * What gbm appends and fine-tuning keep to go on after the data's end: the seed, rows absorbed
 * since the last update, and the last known rows, oldest first (none before the training rows;
 * at most the window an update reaches): X rows × p, Y rows × k (the fold's scaling).
 */
interface KeptRows {
  seed: number;
  pending: number;
  p: number;
  k: number;
  rows: number;
  X: Float64Array;
  Y: Float64Array;
}

/**
 * A fine-tuning walk after the data's end (Model.online.resume): the cadence position (updates made,
 * rows absorbed since the last) and the rows the next updates' windows reach, in the fold's scaling.
 * The weights are Model.online.state's; each update starts a fresh optimizer, as the walk's do.
 */
export interface FinetuneResume extends KeptRows {
  method: 'finetune';
  spec: FinetuneOnlineSpec;
  /** Updates made so far (the rows kept reach window + lookback − 1). */
  updates: number;
  /** The kept rows' times, where the training rows had them. */
  index?: Float64Array;
}

/** `online:` for ridge and ols: recursive least squares from the batch fit (its α is the prior). */
export interface RlsOnlineSpec {
  method: 'rls';
  forgetting: number;
}

/** `online:` for logistic: SGD from the batch fit's weights. */
export interface SgdOnlineSpec {
  method: 'sgd';
  learning_rate: number;
  schedule?: 'constant' | 'invscaling';
  power?: number;
  l2?: number;
}

/** `online:` for gbm: append trees every `every` known rows, fitted on the last `window` of them. */
export interface GbmOnlineSpec {
  method: 'append';
  every: number;
  trees: number;
  window: number;
  max_trees: number;
  prune?: boolean;
}

/**
 * `online:` for the neural forecasters: every `every` known rows, `steps` optimizer steps on the
 * windows ending in the last `window` known rows, from the current weights (`finetuneWalk`,
 * src/models/nn/finetune.ts: training is asynchronous, so it is not a learner of this walk).
 */
export interface FinetuneOnlineSpec {
  method: 'finetune';
  every: number;
  steps: number;
  window: number;
  learning_rate?: number;
}

export type OnlineSpec = RlsOnlineSpec | SgdOnlineSpec | GbmOnlineSpec | FinetuneOnlineSpec;

/** The rows of one fold, as the train step holds them: X (n × p, the fold's scaling) and Y (n × k). */
export interface OnlineFold {
  X: Float64Array;
  Y: Float64Array;
  n: number;
  p: number;
  k: number;
  train: RowRange;
  /** Compute threads for gbm appends when the kind's `threads` is 0 (auto), as its fit takes them. */
  threads?: number;
  /** The rows' timestamps (UTC ms): fine-tuning windows do not cross a gap, as the kind's own windows. */
  index?: Float64Array;
}

/**
 * The learner `spec` names, started from the fold's batch fit (`batch`, fitted with the kind's
 * `params`): `rls` rebuilds the ridge on the training rows with its P matrix (α: the kind's
 * penalty, 0 for ols); `sgd` starts at the fitted logistic weights with l2 = α / training rows (the
 * batch objective's per-row share) unless given; `append` grows the gbm's ensembles.
 */
function learnerOf(spec: OnlineSpec, d: OnlineFold, params: Record<string, ParamValue>, batch: unknown, seed: number): OnlineLearner {
  const alpha = typeof params.alpha === 'number' ? params.alpha : 0;
  if (spec.method === 'append') return gbmLearner(spec, d, params, batch as GbmFoldState, seed);
  if (spec.method === 'finetune') throw new Error('`method: finetune` walks with finetuneWalk (src/models/nn/finetune.ts)');
  if (spec.method === 'rls') {
    const s = rlsFromBatch(d.X, d.n, d.p, d.Y, d.k, alpha, { forgetting: spec.forgetting }, d.train);
    return {
      predict: (X, r, t) => rlsPredictRow(s, X, t, r * d.p),
      update: (X, Y, r) => void rlsUpdate(s, X, Y, r * d.p, r * d.k),
      state: () => rlsToLinear(s),
      resume: () => ({ method: 'rls', rls: rlsClone(s) }),
    };
  }
  const rows = d.train.end - d.train.start;
  const s = sgdInit(
    d.p,
    d.k,
    { learningRate: spec.learning_rate, schedule: spec.schedule ?? 'constant', power: spec.power, l2: spec.l2 ?? alpha / rows },
    batch as LinearState,
  );
  return {
    predict: (X, r, t) => sgdPredictRow(s, X, t, r * d.p),
    update: (X, Y, r) => void sgdUpdate(s, X, Y, r * d.p, r * d.k),
    state: () => sgdToLinear(s),
    resume: () => ({ method: 'sgd', sgd: sgdClone(s) }),
  };
}

/** The logistic score 2·σ(x·w + b) − 1 of target t for one row of x (from x[offset …]). */
function sgdPredictRow(s: SgdState, x: ArrayLike<number>, t: number, offset: number): number {
  const w = s.w[t];
  let z = w[s.p];
  for (let j = 0; j < s.p; j++) z += x[offset + j] * w[j];
  return 2 * sigmoid(z) - 1;
}

const sgdClone = (s: SgdState): SgdState => ({ ...s, opts: { ...s.opts }, w: s.w.map((w) => w.slice()) });

/** A stored learner, resumed: score a row (target t), absorb a row (its k targets known). */
export interface ResumedLearner {
  predict(x: ArrayLike<number>, t: number, offset: number): number;
  update(x: ArrayLike<number>, y: ArrayLike<number>, offset: number, yOffset: number): void;
  /** The updates made so far beyond absorbing rows, in words (gbm appends), for predict's note. */
  progress(): string | undefined;
}

/**
 * A working copy of a stored learner (the stored one is never mutated), scoring and absorbing as the
 * walk forward did. `final` is Model.online.state (gbm: the ensembles the appends grow); `threads`
 * computes gbm appends where the kind's `threads` is 0.
 */
export function resumeOnline(r: Exclude<OnlineResume, FinetuneResume>, final: unknown, threads?: number): ResumedLearner {
  if (r.method === 'append') return gbmResumed(r, (final as GbmFoldState).targets, threads);
  if (r.method === 'rls') {
    const s = rlsClone(r.rls);
    return {
      predict: (x, t, offset) => rlsPredictRow(s, x, t, offset),
      update: (x, y, offset, yOffset) => void rlsUpdate(s, x, y, offset, yOffset),
      progress: () => undefined,
    };
  }
  const s = sgdClone(r.sgd);
  return {
    predict: (x, t, offset) => sgdPredictRow(s, x, t, offset),
    update: (x, y, offset, yOffset) => void sgdUpdate(s, x, y, offset, yOffset),
    progress: () => undefined,
  };
}

/** The update delay of a walk: the longest target horizon in rows (a forward return over h bars is known h bars later), at least 1. */
export function onlineDelay(horizons: readonly number[]): number {
  return Math.max(1, ...horizons.map((h) => Math.ceil(h)));
}

/** The result of a walk: predictions per segment and target, and the learner as it ended (with `absorbThrough`). */
export interface OnlineWalk {
  predictions: Float64Array[][];
  /** The kind's fitted state after every row before `absorbThrough` was absorbed (rows r, train end ≤ r < absorbThrough). */
  final?: unknown;
  /** The learner then, resumable (rls, sgd, gbm appends; fine-tuning: finetuneWalk). */
  resume?: OnlineResume;
}

/**
 * Predictions of every target for each of `segments` (ascending, none before the training rows'
 * end), walking forward from the end of the training rows with delayed updates. Rows between
 * segments are absorbed too (their targets are known by then); none is absorbed before its time.
 * With `absorbThrough` (a row count ≥ the last segment's end), the learner then absorbs every
 * remaining row before it and returns its state as `final`: at the end of the data every row's
 * targets are known, and this is the model that scores later bars.
 */
export function onlineWalkForward(
  spec: OnlineSpec,
  d: OnlineFold,
  params: Record<string, ParamValue>,
  batch: unknown,
  segments: readonly RowRange[],
  delay: number,
  seed = 0,
  absorbThrough?: number,
): OnlineWalk {
  if (!(Number.isInteger(delay) && delay >= 1)) throw new RangeError(`delay must be an integer ≥ 1, got ${delay}`);
  const learner = learnerOf(spec, d, params, batch, seed);
  let next = d.train.end;
  let prevEnd = d.train.end;
  const predictions = segments.map((seg) => {
    if (seg.start < prevEnd) throw new RangeError(`segment ${seg.start}..${seg.end} starts before row ${prevEnd} (the rows walked so far)`);
    const m = Math.max(0, seg.end - seg.start);
    const out = Array.from({ length: d.k }, () => new Float64Array(m));
    for (let r = seg.start; r < seg.start + m; r++) {
      for (; next + delay <= r; next++) learner.update(d.X, d.Y, next);
      for (let t = 0; t < d.k; t++) out[t][r - seg.start] = learner.predict(d.X, r, t);
    }
    prevEnd = Math.max(prevEnd, seg.start + m);
    return out;
  });
  if (absorbThrough === undefined) return { predictions };
  if (!(Number.isInteger(absorbThrough) && absorbThrough >= prevEnd && absorbThrough <= d.n))
    throw new RangeError(`absorbThrough must be an integer row count in ${prevEnd}..${d.n}, got ${absorbThrough}`);
  for (; next < absorbThrough; next++) learner.update(d.X, d.Y, next);
  return { predictions, final: learner.state(), resume: learner.resume() };
}

/**
 * The fitted state that scores new bars with fold f's scaling: the online learner's final state
 * where the model stores one for that fold (Model.online, docs/online.md), else the fold's batch fit
 * (every model without `online:`, and online models stored before the final state was kept).
 */
export function scoringState(model: Model, f: number): unknown {
  return model.online && model.online.fold === f ? model.online.state : model.state[f];
}

/**
 * gbm: rows are counted as they become known; every `every` of them, each target's ensemble gets
 * `trees` trees fitted on its residuals over the last `window` known rows (training rows included),
 * up to `max_trees` (the oldest pruned first with `prune`). The kind's tree params apply, without
 * early stopping (there is no later validation segment to stop on). Seeds: one per append and target.
 */
function gbmLearner(spec: GbmOnlineSpec, d: OnlineFold, params: Record<string, ParamValue>, batch: GbmFoldState, seed: number): OnlineLearner {
  const base = gbmParamsOf(params);
  const prm: GbmParams = { ...base, nEstimators: spec.trees, earlyStoppingRounds: 0 };
  const targets = batch.targets.slice();
  let known = d.train.end;
  let pending = 0;
  let appends = 0;
  const windowOf = (): RowRange => ({ start: Math.max(d.train.start, known - spec.window), end: known });
  return {
    predict: (X, r, t) => gbmScore(targets[t], X, d.p, r),
    state: (): GbmFoldState => ({ ...batch, targets: targets.slice() }),
    update: (_X, _Y, r) => {
      known = r + 1;
      if (++pending < spec.every) return;
      pending = 0;
      gbmAppendAll(targets, d.X, d.p, d.Y, d.k, windowOf(), { ...prm, threads: prm.threads || (d.threads ?? 0) }, spec, seed, ++appends);
    },
    resume: (): GbmResume => {
      const w = windowOf();
      return {
        method: 'append',
        spec: { ...spec },
        params: prm,
        seed,
        appends,
        pending,
        p: d.p,
        k: d.k,
        rows: w.end - w.start,
        X: d.X.slice(w.start * d.p, w.end * d.p),
        Y: d.Y.slice(w.start * d.k, w.end * d.k),
      };
    },
  };
}

/** A gbm ensemble's score of row r: the regression value, or 2·σ(z) − 1 for the logistic loss. */
function gbmScore(g: GbmState, X: ArrayLike<number>, p: number, r: number): number {
  const z = gbmRaw(g, X, p, r);
  return g.loss === 'logistic' ? 2 * sigmoid(z) - 1 : z;
}

/** Append number `append` (from 1): each target's ensemble grown on `rows` (replaced in `targets`), seeded by (seed, append, target). */
function gbmAppendAll(
  targets: GbmState[],
  X: Float64Array,
  p: number,
  Y: Float64Array,
  k: number,
  rows: RowRange,
  prm: GbmParams,
  spec: GbmOnlineSpec,
  seed: number,
  append: number,
): void {
  for (let t = 0; t < k; t++) {
    const s = (seed + Math.imul(append, 0x2545f491) + t * 0x9e3779b1) >>> 0;
    targets[t] = gbmAppend(targets[t], X, p, Y, k, t, rows, prm, s, { maxTrees: spec.max_trees, prune: spec.prune ?? false }).state;
  }
}

/**
 * A stored gbm append resumed on rows after the data: the kept window slides over the absorbed rows
 * and each append fits on it as the walk's on the same rows (a fit depends on the rows' values and
 * order, not on where they sit in X).
 */
function gbmResumed(r: GbmResume, final: readonly GbmState[], threads: number | undefined): ResumedLearner {
  const { spec, p, k } = r;
  const targets = final.slice();
  const kept = new RowWindow(Math.max(1, spec.window), p, k, r);
  let pending = r.pending;
  let appends = r.appends;
  const prm = { ...r.params, threads: r.params.threads || (threads ?? 0) };
  return {
    progress: () => {
      const n = appends - r.appends;
      return `${n} append${n === 1 ? '' : 's'} made on them (${targets.reduce((a, g) => a + g.trees.length, 0)} trees in the ensembles now)`;
    },
    predict: (x, t, offset) => gbmScore(targets[t], x, p, offset / p),
    update: (x, y, offset, yOffset) => {
      kept.push(x, offset, y, yOffset);
      if (++pending < spec.every) return;
      pending = 0;
      // Fresh copies: binned rows are cached per X array (src/models/gbm/gbm.ts binFold), and this buffer changes.
      const { X, Y, rows } = kept;
      gbmAppendAll(targets, X.slice(0, rows * p), p, Y.slice(0, rows * k), k, { start: 0, end: rows }, prm, spec, r.seed, ++appends);
    },
  };
}
