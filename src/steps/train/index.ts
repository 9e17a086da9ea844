import type {
  Dataset,
  FeatureImportance,
  HorizonMetrics,
  Model,
  OnlineFinal,
  PredictiveDistribution,
  ProbabilisticMetrics,
  ReconstructionRmse,
  RowRange,
} from '../../core/artifacts.js';
import { distributionForm, rowForecast } from '../../core/distribution.js';
import { DEFAULT_PINBALL_LEVELS, scoreDistributions } from '../../evaluation/probabilistic.js';
import type { RowsDistribution, SampledForecast } from '../../models/kind.js';
import { CancelledError, RunError, type ParamIssue } from '../../core/diagnostics.js';
import { gatheredLayout } from '../../models/nn/windows.js';
import { horizonMetrics } from '../../models/metrics.js';
import { foldFeatures } from '../../evaluation/scalers.js';
import { getModelKind, modelKinds, resolveModelParams, type ParamValue } from '../../models/registry.js';
import { finetuneWalk } from '../../models/nn/finetune.js';
import type { NnState } from '../../models/nn/kinds.js';
import { onlineDelay, onlineWalkForward, type OnlineSpec } from '../../models/online/walk.js';
import { defineStep, paramsOf, type CheckContext } from '../define.js';
import type { TrainParams } from './params.js';
import { fixed } from '../../core/format.js';
import { fitByRegime, regimeColumn } from './by-regime.js';
import { Explainer } from './explain.js';

export type { TrainParams } from './params.js';
export type { LinearState, LinearState as RidgeState } from '../../models/kinds.js';

/** Segment codes of Predictions.segment. */
const SEG_VAL = 1;
const SEG_TEST = 2;

const fmt = (x: number, digits: number): string => fixed(x, digits, 'n/a');

/** A seed per fold, derived from the pipeline's seed. */
export function foldSeed(seed: number, fold: number): number {
  return (Math.trunc(seed) ^ Math.imul(fold + 1, 0x85ebca6b)) >>> 0;
}

export default defineStep({
  kind: 'train',
  version: 4,
  description:
    'Fit a model per target on each fold’s training rows (ridge, ols, lasso, elastic_net, logistic, gbm, random_forest; neural on TensorFlow.js: mlp, lstm, gru, tcn, transformer; probabilistic: diffusion, sssd); predict the val and test rows and score them. `autoencoder` fits a feature encoder instead (scored by reconstruction error; see `encode`).',
  inputs: { dataset: 'Dataset' },
  output: 'Model',
  worker: 'heavy',
  params: paramsOf<TrainParams>(),
  seeded: true,

  // Which params a kind takes, their defaults and bounds are the schema's (one branch per kind of
  // TrainParams, chosen by `model`); what is left are a kind's cross-field checks.
  check(params: TrainParams): ParamIssue[] {
    const kind = getModelKind(params.model);
    if (!kind)
      return [
        {
          path: ['model'],
          message: `unknown model \`${params.model}\``,
          hint: `one of ${modelKinds()
            .map((k) => k.name)
            .join(', ')}`,
        },
      ];
    const q = (params as { quantiles?: number[] }).quantiles;
    if ((params as { online?: unknown }).online && q?.length)
      return [{ path: ['online'], message: '`online:` updates point forecasts only, not `quantiles:`', hint: 'remove `online:` or `quantiles:`' }];
    return kind.check?.(params as unknown as Record<string, ParamValue>) ?? [];
  },

  // A thread count changes how fast a model is fitted, never the model.
  keyParams(params: TrainParams): Record<string, unknown> {
    const { threads: _threads, ...rest } = params as TrainParams & { threads?: number };
    return rest;
  },

  // The one place a kind's params are completed: the pipeline's default device for kinds that take
  // one (the step's own value wins), and the kind's defaults for a caller that skipped the schema.
  resolve(params: TrainParams, ctx?: CheckContext): TrainParams {
    const kind = getModelKind(params.model);
    if (!kind) return params;
    const given = 'device' in kind.defaults && (params as { device?: string }).device === undefined && ctx?.device ? { ...params, device: ctx.device } : params;
    // `online:` is the step's (how val/test rows are scored), not the kind's: kept beside its params.
    const online = (params as { online?: OnlineSpec }).online;
    const byRegime = params.by_regime;
    const explain = params.explain;
    return {
      model: params.model,
      ...resolveModelParams(kind, given as unknown as Record<string, unknown>),
      ...(online ? { online } : {}),
      ...(byRegime !== undefined ? { by_regime: byRegime } : {}),
      ...(explain ? { explain } : {}),
    } as TrainParams;
  },

  async run({ dataset }, params: TrainParams, ctx): Promise<Model> {
    const kind = getModelKind(params.model);
    if (!kind)
      throw new RunError(`unknown model \`${params.model}\``, {
        hint: `one of ${modelKinds()
          .map((k) => k.name)
          .join(', ')}`,
      });
    // Resolved by resolve() (the compiler calls it before the cache key is computed).
    const {
      model: _model,
      online: onlineParam,
      by_regime: byRegimeParam,
      explain: explainParam,
      ...resolved
    } = params as unknown as Record<string, ParamValue> & { online?: OnlineSpec; by_regime?: string; explain?: TrainParams['explain'] };
    const explainer = explainParam && !kind.encoder ? new Explainer(dataset, explainParam, kind) : undefined;
    const online = onlineParam ? checkOnline(onlineParam, kind.name, dataset) : undefined;
    const n = dataset.index.length;
    const p = dataset.featureNames.length;
    const k = dataset.targetNames.length;
    if (dataset.X.length !== n * p || dataset.Y.length !== n * k) {
      throw new RunError(`dataset arrays do not match its ${n} rows × ${p} features / ${k} targets`, {
        hint: 'the dataset artifact is inconsistent; rerun the split step',
      });
    }
    if (k === 0 && !kind.encoder) throw new RunError('the dataset has no targets', { hint: 'set `target.forward_return.horizons` in the features step' });
    if (dataset.folds.length === 0) throw new RunError('the dataset has no folds', { hint: 'rerun the split step' });
    const regimes = byRegimeParam !== undefined ? regimeColumn(dataset, byRegimeParam, kind.name, onlineParam !== undefined) : undefined;

    const state: unknown[] = [];
    let onlineFinal: OnlineFinal | undefined;
    const preds = new Predictions(dataset);
    const foldMetrics: HorizonMetrics[][] = [];
    let imp: Float64Array[] | undefined;
    let backend: string | undefined;
    // Feature encoders: squared reconstruction error per segment, per fold and pooled.
    const recon = {
      pooled: { train: [0, 0], val: [0, 0], test: [0, 0] },
      folds: [] as ReconstructionRmse[],
      seen: [] as { trainLast: number; lastSeen: number }[],
    };

    // Adds fold f's predictions of its segments to preds; returns its validation metrics per target.
    const scoreSegments = (
      f: number,
      segments: [number, RowRange][],
      predict: (i: number, range: RowRange) => Float64Array[],
      distribution?: (range: RowRange) => RowsDistribution | undefined,
    ): HorizonMetrics[] => {
      const foldVal: HorizonMetrics[] = [];
      for (const [i, [seg, range]] of segments.entries()) {
        const m = Math.max(0, range.end - range.start);
        const out = predict(i, range);
        const dist = distribution?.(range);
        if (dist) preds.addDistribution(preds.n, m, dist);
        const at = preds.add(f, seg, range, out);
        if (seg === SEG_VAL)
          for (let t = 0; t < k; t++)
            foldVal.push(horizonMetrics(dataset.targetNames[t], dataset.targetHorizons[t], out[t], preds.pooled.val.actual[t].subarray(at, at + m)));
      }
      return foldVal;
    };

    for (let f = 0; f < dataset.folds.length; f++) {
      const fold = dataset.folds[f];
      if (ctx.signal.aborted) throw new CancelledError();
      // The fold's own scaling (fitted on its training rows), and all its training pieces: purged
      // k-fold and CPCV train on several disjoint ranges, gathered here into one block with the
      // validation rows after them; a fold with one range is used in place, without a copy.
      const Xf = foldFeatures(dataset, f);
      const trainRanges = fold.trainRanges ?? [fold.train];
      const trainRows = trainRanges.reduce((a, r) => a + Math.max(0, r.end - r.start), 0);
      if (trainRows < 1) throw new RunError(`fold ${f} has no training rows`, { hint: 'use more bars or a larger train ratio in split' });
      if (regimes) {
        // One model per regime (by-regime.ts); scored like any fold below, each row by its regime's model.
        const segs = segmentsOf(fold);
        const rf = await fitByRegime(
          kind,
          resolved,
          dataset,
          Xf,
          trainRanges,
          fold.val,
          segs.map(([, r]) => r),
          regimes,
          { fold: f, signal: ctx.signal, warn: (m) => ctx.warn(m), workDir: ctx.workDir, threads: ctx.threads, log: (m) => ctx.log(m) },
          foldSeed(ctx.seed, f),
        );
        if (ctx.signal.aborted) throw new CancelledError();
        state.push(rf.state);
        if (rf.importance) {
          imp ??= dataset.targetNames.map(() => new Float64Array(p));
          rf.importance.forEach((v, t) => v.forEach((x, j) => (imp![t][j] += x)));
        }
        foldMetrics.push(scoreSegments(f, segs, (_i, range) => rf.predict(range)));
        ctx.progress((f + 1) / dataset.folds.length);
        continue;
      }
      const block =
        trainRanges.length === 1 ? { X: Xf, Y: dataset.Y, n, train: fold.train, val: fold.val } : gatherBlock(Xf, dataset.Y, p, k, trainRanges, fold.val);
      const layout = trainRanges.length === 1 ? { index: dataset.index, pieces: undefined } : gatheredLayout(dataset.index, trainRanges, fold.val);
      const fit = await kind.fit(
        {
          X: block.X,
          n: block.n,
          p,
          Y: block.Y,
          k,
          featureNames: dataset.featureNames,
          targetNames: dataset.targetNames,
          train: block.train,
          val: block.val,
          fold: f,
          seed: foldSeed(ctx.seed, f),
          signal: ctx.signal,
          warn: (m) => ctx.warn(m),
          index: layout.index,
          trainPieces: layout.pieces,
          workDir: ctx.workDir,
          threads: ctx.threads,
          log: (m) => ctx.log(m),
          progress: (fr, m) => ctx.progress((f + fr) / dataset.folds.length, m),
        },
        resolved,
      );
      if (ctx.signal.aborted) throw new CancelledError();
      state.push(fit.state);
      if (fit.backend) backend = fit.backend;
      if (kind.encoder) {
        const enc = kind.encoder;
        const segs = { train: trainRanges, val: [fold.val], test: fold.testRanges ?? [fold.test] };
        const rm = {} as ReconstructionRmse;
        for (const seg of ['train', 'val', 'test'] as const) {
          const e = enc.reconstructionError(
            fit.state,
            Xf,
            p,
            segs[seg].filter((r) => r.end > r.start),
            dataset.index,
          );
          rm[seg] = e.count ? Math.sqrt(e.sse / e.count) : NaN;
          recon.pooled[seg][0] += e.sse;
          recon.pooled[seg][1] += e.count;
        }
        recon.folds.push(rm);
        const trainLast = Math.max(...trainRanges.filter((r) => r.end > r.start).map((r) => dataset.index[r.end - 1]));
        recon.seen.push({ trainLast, lastSeen: fold.val.end > fold.val.start ? Math.max(trainLast, dataset.index[fold.val.end - 1]) : trainLast });
        ctx.progress((f + 1) / dataset.folds.length);
        continue;
      }
      if (fit.importance) {
        imp ??= dataset.targetNames.map(() => new Float64Array(p));
        fit.importance.forEach((v, t) => v.forEach((x, j) => (imp![t][j] += x)));
      }

      explainer?.addFold(f, fit.state, Xf, fold.val, foldSeed(ctx.seed, f) ^ 0x5eed);

      const segments = segmentsOf(fold);
      // Online: the val/test rows scored walking forward, the model updated on each row once its
      // targets are known; the newest fold's learner then absorbs the dataset's remaining rows and
      // is kept as the model that scores new bars.
      const newest = f === dataset.folds.length - 1;
      const onlineFold = { X: Xf, Y: dataset.Y, n, p, k, train: fold.train, threads: ctx.threads, index: dataset.index };
      const walk =
        online &&
        (online.spec.method === 'finetune'
          ? await finetuneWalk(
              online.spec,
              onlineFold,
              resolved,
              fit.state as NnState,
              segments.map(([, r]) => r),
              online.delay,
              foldSeed(ctx.seed, f),
              newest ? n : undefined,
              ctx.signal,
            )
          : onlineWalkForward(
              online.spec,
              onlineFold,
              resolved,
              fit.state,
              segments.map(([, r]) => r),
              online.delay,
              foldSeed(ctx.seed, f),
              newest ? n : undefined,
            ));
      const walked = walk && walk.predictions;
      if (walk && newest)
        onlineFinal = { fold: f, state: walk.final, rows: n - fold.train.end, through: dataset.index[n - 1], ...(walk.resume ? { resume: walk.resume } : {}) };
      let drawn: SampledForecast | undefined;
      const rowsOf = (range: RowRange) => {
        const m = Math.max(0, range.end - range.start);
        return [Xf.subarray(range.start * p, (range.start + m) * p), m, p, dataset.index.subarray(range.start, range.start + m)] as const;
      };
      foldMetrics.push(
        scoreSegments(
          f,
          segments,
          (i, range) => {
            if (walked) return walked[i];
            if (!kind.sample) return kind.predict(fit.state, ...rowsOf(range));
            // Probabilistic kinds: one call draws the samples (kept as the rows' distribution) and gives their point forecast.
            drawn = kind.sample(fit.state, ...rowsOf(range));
            return drawn.point;
          },
          // Online updates move the point forecast only: such a model is scored by its residuals' Gaussian.
          kind.sample
            ? () => drawn && { samples: { count: drawn.count, values: drawn.samples } }
            : kind.predictDistribution && !walked
              ? (range) => kind.predictDistribution!(fit.state, ...rowsOf(range))
              : undefined,
        ),
      );
      ctx.progress((f + 1) / dataset.folds.length);
    }

    if (kind.encoder) {
      const rmse = (seg: 'train' | 'val' | 'test'): number => (recon.pooled[seg][1] ? Math.sqrt(recon.pooled[seg][0] / recon.pooled[seg][1]) : NaN);
      return {
        type: 'Model',
        kind: kind.name,
        params: { model: kind.name, ...resolved },
        featureNames: [...dataset.featureNames],
        targetNames: [],
        targetHorizons: [],
        state,
        valMetrics: [],
        predictions: { index: new Float64Array(0), segment: new Uint8Array(0), fold: new Uint16Array(0), values: {} },
        scalers: dataset.folds.map((f) => f.scaler),
        encoder: {
          latent: kind.encoder.dim(state[0]),
          rmse: { train: rmse('train'), val: rmse('val'), test: rmse('test') },
          foldRmse: recon.folds,
          seen: recon.seen,
        },
        ...(backend ? { backend } : {}),
      };
    }

    const metricsOf = (b: Pooled): HorizonMetrics[] =>
      dataset.targetNames.map((name, t) => horizonMetrics(name, dataset.targetHorizons[t], b.pred[t].subarray(0, b.n), b.actual[t].subarray(0, b.n)));
    const values: Record<string, Float64Array> = {};
    dataset.targetNames.forEach((name, t) => (values[name] = preds.values[t].subarray(0, preds.n)));
    const distribution = preds.distribution(dataset.targetNames, values);
    const probabilistic = scoreProbabilistic(dataset, preds, values, distribution);
    const explained = explainer?.result();
    const gain: FeatureImportance[] = imp?.map((v, t) => ({ target: dataset.targetNames[t], method: 'gain', values: Array.from(v) })) ?? [];
    const importances = [...gain, ...(explained?.importance ?? [])];

    return {
      type: 'Model',
      kind: kind.name,
      params: {
        model: kind.name,
        ...resolved,
        ...(onlineParam ? { online: onlineParam } : {}),
        ...(regimes ? { by_regime: regimes.name } : {}),
        ...(explainParam ? { explain: explainParam } : {}),
      },
      featureNames: [...dataset.featureNames],
      targetNames: [...dataset.targetNames],
      targetHorizons: [...dataset.targetHorizons],
      state,
      valMetrics: metricsOf(preds.pooled.val),
      predictions: {
        index: preds.index.subarray(0, preds.n),
        segment: preds.segment.subarray(0, preds.n),
        fold: preds.fold.subarray(0, preds.n),
        values,
        distribution,
      },
      scalers: dataset.folds.map((f) => f.scaler),
      foldMetrics,
      testMetrics: metricsOf(preds.pooled.test),
      probabilistic,
      ...(importances.length ? { importance: importances } : {}),
      ...(explained?.dependence.length ? { dependence: explained.dependence } : {}),
      ...(backend ? { backend } : {}),
      ...(onlineFinal ? { online: onlineFinal } : {}),
    };
  },

  metricNames: [
    ...['val', 'test'].flatMap((seg) => ['rmse', 'ic', 'da'].map((m) => `${seg}_${m}_<target>`)),
    ...['train', 'val', 'test'].map((seg) => `recon_rmse_${seg}`),
    ...['val', 'test'].flatMap((seg) => ['crps', 'cov50', 'cov80', 'cov90', 'width90'].map((m) => `${seg}_${m}_<target>`)),
  ],
  metrics(out: Model) {
    const m: Record<string, number> = {};
    if (out.encoder) {
      for (const [seg, v] of Object.entries(out.encoder.rmse)) if (Number.isFinite(v)) m[`recon_rmse_${seg}`] = v;
      return m;
    }
    for (const h of out.valMetrics) {
      m[`val_rmse_${h.target}`] = h.rmse;
      m[`val_ic_${h.target}`] = h.ic;
      m[`val_da_${h.target}`] = h.directionalAccuracy;
    }
    for (const h of out.testMetrics ?? []) {
      m[`test_rmse_${h.target}`] = h.rmse;
      m[`test_ic_${h.target}`] = h.ic;
      m[`test_da_${h.target}`] = h.directionalAccuracy;
    }
    for (const s of out.probabilistic ?? []) {
      if (!s.n) continue;
      m[`${s.segment}_crps_${s.target}`] = s.crps;
      for (const c of s.coverage) m[`${s.segment}_cov${Math.round(c.nominal * 100)}_${s.target}`] = c.coverage;
      const w90 = s.coverage.find((c) => c.nominal === 0.9);
      if (w90) m[`${s.segment}_width90_${s.target}`] = w90.width;
    }
    return m;
  },

  summary(out: Model) {
    const online = out.params.online as OnlineSpec | undefined;
    const alpha =
      (typeof out.params.alpha === 'number' ? ` α=${out.params.alpha}` : '') +
      (online ? ` online ${online.method}${onlineNote(online)}` : '') +
      (out.backend ? ` on ${out.backend}` : '') +
      (typeof out.params.by_regime === 'string' ? ` by regime (${out.params.by_regime})` : '');
    const folds = (out.state?.length ?? 0) > 1 ? ` · ${out.state.length} folds` : '';
    if (out.encoder) {
      const r = out.encoder.rmse;
      return `${out.kind}${alpha}${folds} · ${out.encoder.latent} latent · reconstruction RMSE train ${fmt(r.train, 3)}, val ${fmt(r.val, 3)}, test ${fmt(r.test, 3)}`;
    }
    const h = out.valMetrics[0];
    const more = out.valMetrics.length > 1 ? ` (+${out.valMetrics.length - 1} more target${out.valMetrics.length > 2 ? 's' : ''})` : '';
    if (!h) return `${out.kind}${alpha}${folds}`;
    return `${out.kind}${alpha}${folds} · ${h.target} val IC ${fmt(h.ic, 3)}, DA ${fmt(h.directionalAccuracy * 100, 1)}%${more}`;
  },
});

/** Online methods by kind (the schema allows only these; a library caller may not have used it). */
const ONLINE_METHODS: Record<string, OnlineSpec['method']> = {
  ridge: 'rls',
  ols: 'rls',
  logistic: 'sgd',
  gbm: 'append',
  mlp: 'finetune',
  lstm: 'finetune',
  gru: 'finetune',
  tcn: 'finetune',
  transformer: 'finetune',
};

/** The online block's main setting, for the summary line. */
function onlineNote(o: OnlineSpec): string {
  if (o.method === 'rls') return ` λ=${o.forgetting}`;
  if (o.method === 'sgd') return ` η=${o.learning_rate}`;
  if (o.method === 'finetune') return ` ${o.steps} steps/${o.every} rows`;
  return ` +${o.trees} trees/${o.every} rows`;
}

/**
 * Checks that `online:` fits the kind and the dataset's folds (one training range, scored rows after
 * it: a walk forward cannot score rows before the ones it was fitted on), and the update delay: the
 * longest target horizon, in rows.
 */
function checkOnline(spec: OnlineSpec, kind: string, dataset: Dataset): { spec: OnlineSpec; delay: number } {
  const method = ONLINE_METHODS[kind];
  if (method !== spec.method) {
    throw new RunError(`\`online: { method: ${spec.method} }\` does not apply to model \`${kind}\``, {
      hint: method
        ? `use \`method: ${method}\``
        : 'online updating exists for ridge and ols (rls), logistic (sgd), gbm (append) and mlp, lstm, gru, tcn, transformer (finetune); remove `online:`',
    });
  }
  dataset.folds.forEach((fold, f) => {
    const late = segmentsOf(fold).some(([, r]) => r.end > r.start && r.start < fold.train.end);
    if ((fold.trainRanges && fold.trainRanges.length > 1) || late) {
      throw new RunError(`fold ${f} scores rows before the end of its training rows, which an online (walk-forward) update cannot do`, {
        hint: 'use `online:` with a split whose validation and test rows follow the training rows (temporal, walk_forward), not purged_kfold or cpcv',
      });
    }
  });
  return { spec, delay: onlineDelay(dataset.targetHorizons) };
}

/** A fold's scored segments in order: its validation rows, then its test range(s). */
function segmentsOf(fold: Dataset['folds'][number]): [number, RowRange][] {
  return [[SEG_VAL, fold.val], ...(fold.testRanges ?? [fold.test]).map((r): [number, RowRange] => [SEG_TEST, r])];
}

/** Predictions and actuals of one segment kind pooled over folds, per target. */
interface Pooled {
  pred: Float64Array[];
  actual: Float64Array[];
  n: number;
}

/**
 * Every fold's validation and test predictions, in row order, and the same pooled by segment for
 * the model's metrics. Sizes are known before the first fit, so rows are written into typed
 * arrays: JS arrays grown by push (their element kinds changing from fold to fold) made V8
 * recompile the whole step for every model fitted, ≈ 0.1 s of compiler time each.
 */
class Predictions {
  readonly index: Float64Array;
  readonly segment: Uint8Array;
  readonly fold: Uint16Array;
  readonly values: Float64Array[];
  /** Each row's actual target, per target. */
  readonly actual: Float64Array[];
  readonly pooled: { val: Pooled; test: Pooled };
  /** Quantile or sample forecasts of the rows, per target, made when the kind gives the first. */
  private quantiles?: { levels: number[]; values: Float64Array[] };
  private samples?: { count: number; values: Float32Array[] };
  n = 0;

  constructor(private readonly dataset: Dataset) {
    const len = (r: RowRange): number => Math.max(0, r.end - r.start);
    let val = 0;
    let test = 0;
    for (const fold of dataset.folds) for (const [seg, r] of segmentsOf(fold)) seg === SEG_VAL ? (val += len(r)) : (test += len(r));
    const k = dataset.targetNames.length;
    const pooled = (n: number): Pooled => ({
      pred: Array.from({ length: k }, () => new Float64Array(n)),
      actual: Array.from({ length: k }, () => new Float64Array(n)),
      n: 0,
    });
    this.index = new Float64Array(val + test);
    this.segment = new Uint8Array(val + test);
    this.fold = new Uint16Array(val + test);
    this.values = Array.from({ length: k }, () => new Float64Array(val + test));
    this.actual = Array.from({ length: k }, () => new Float64Array(val + test));
    this.pooled = { val: pooled(val), test: pooled(test) };
  }

  /** Adds fold f's predictions of a segment's rows (one array per target); returns where they start in the segment's pool. */
  add(f: number, seg: number, range: RowRange, preds: Float64Array[]): number {
    const { index, Y } = this.dataset;
    const k = this.values.length;
    const m = Math.max(0, range.end - range.start);
    const o = this.n;
    for (let i = 0; i < m; i++) {
      this.index[o + i] = index[range.start + i];
      this.segment[o + i] = seg;
      this.fold[o + i] = f;
    }
    const pool = seg === SEG_VAL ? this.pooled.val : this.pooled.test;
    const at = pool.n;
    for (let t = 0; t < k; t++) {
      const pred = preds[t];
      this.values[t].set(pred.subarray(0, m), o);
      pool.pred[t].set(pred.subarray(0, m), at);
      const actual = pool.actual[t];
      for (let i = 0; i < m; i++) actual[at + i] = Y[(range.start + i) * k + t];
      this.actual[t].set(actual.subarray(at, at + m), o);
    }
    this.n += m;
    pool.n += m;
    return at;
  }

  /** Stores the distribution of m rows from row `o` on (every fold of a kind gives the same form and levels). */
  addDistribution(o: number, m: number, d: RowsDistribution): void {
    const rows = this.index.length;
    if (d.quantiles) {
      const L = d.quantiles.levels.length;
      this.quantiles ??= { levels: d.quantiles.levels, values: this.values.map(() => new Float64Array(rows * L).fill(NaN)) };
      d.quantiles.values.forEach((v, t) => this.quantiles!.values[t].set(v.subarray(0, m * L), o * L));
    }
    if (d.samples) {
      const c = d.samples.count;
      this.samples ??= { count: c, values: this.values.map(() => new Float32Array(rows * c).fill(NaN)) };
      d.samples.values.forEach((v, t) => this.samples!.values[t].set(v.subarray(0, m * c), o * c));
    }
  }

  /**
   * The rows' forecast distributions: the kind's quantiles or samples; for a point kind, a Gaussian
   * around each prediction whose sd is the RMS of its fold's validation residuals (so the val rows'
   * own scores are in-sample, the test rows' are not). NaN where a fold has no validation rows.
   */
  distribution(names: readonly string[], values: Record<string, Float64Array>): PredictiveDistribution {
    const n = this.n;
    const byName = <T extends Float64Array | Float32Array>(arrs: T[], width: number): Record<string, T> =>
      Object.fromEntries(names.map((name, t) => [name, arrs[t].subarray(0, n * width) as T]));
    if (this.quantiles) return { quantiles: { levels: this.quantiles.levels, values: byName(this.quantiles.values, this.quantiles.levels.length) } };
    if (this.samples) return { samples: { count: this.samples.count, values: byName(this.samples.values, this.samples.count) } };
    const sd: Record<string, Float64Array> = {};
    names.forEach((name, t) => {
      const pred = values[name];
      const act = this.actual[t];
      const ss = new Map<number, [number, number]>();
      for (let i = 0; i < n; i++) {
        if (this.segment[i] !== SEG_VAL) continue;
        const e = pred[i] - act[i];
        if (!Number.isFinite(e)) continue;
        const a = ss.get(this.fold[i]) ?? [0, 0];
        a[0] += e * e;
        a[1]++;
        ss.set(this.fold[i], a);
      }
      const col = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const a = ss.get(this.fold[i]);
        col[i] = a && a[1] > 1 ? Math.sqrt(a[0] / a[1]) : NaN;
      }
      sd[name] = col;
    });
    return { gaussian: { sd } };
  }
}

/** Distribution scores per target on the val and test rows, pooled over folds. */
function scoreProbabilistic(dataset: Dataset, preds: Predictions, values: Record<string, Float64Array>, dist: PredictiveDistribution): ProbabilisticMetrics[] {
  const out: ProbabilisticMetrics[] = [];
  dataset.targetNames.forEach((name, t) => {
    const form = distributionForm(dist, name);
    if (!form) return;
    const levels = dist.quantiles?.levels ?? [...DEFAULT_PINBALL_LEVELS];
    for (const [segment, code] of [
      ['val', SEG_VAL],
      ['test', SEG_TEST],
    ] as const) {
      const rows: number[] = [];
      for (let i = 0; i < preds.n; i++) if (preds.segment[i] === code) rows.push(i);
      const pred = values[name];
      const count = dist.samples?.count ?? 0;
      const s = scoreDistributions(
        rows.length,
        (i) => rowForecast(dist, name, rows[i], pred[rows[i]]),
        Float64Array.from(rows, (r) => preds.actual[t][r]),
        form,
        levels,
        {
          gaussian: (i) => [pred[rows[i]], dist.gaussian!.sd[name][rows[i]]],
          samples: (i) => dist.samples!.values[name].subarray(rows[i] * count, (rows[i] + 1) * count),
        },
      );
      out.push({ target: name, horizon: dataset.targetHorizons[t], segment, form, ...s });
    }
  });
  return out;
}

/** Rows of several ranges (then the validation rows) copied into one contiguous block. */
function gatherBlock(X: Float64Array, Y: Float64Array, p: number, k: number, ranges: RowRange[], val: RowRange) {
  const parts = [...ranges, val].filter((r) => r.end > r.start);
  const m = parts.reduce((a, r) => a + (r.end - r.start), 0);
  const Xg = new Float64Array(m * p);
  const Yg = new Float64Array(m * k);
  let o = 0;
  for (const r of parts) {
    Xg.set(X.subarray(r.start * p, r.end * p), o * p);
    Yg.set(Y.subarray(r.start * k, r.end * k), o * k);
    o += r.end - r.start;
  }
  const mv = Math.max(0, val.end - val.start);
  return { X: Xg, Y: Yg, n: m, train: { start: 0, end: m - mv }, val: { start: m - mv, end: m } };
}
