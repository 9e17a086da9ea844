import type { Dataset, HorizonMetrics, Model } from '../../core/artifacts.js';
import { CancelledError, RunError } from '../../core/diagnostics.js';
import { horizonMetrics } from '../../models/metrics.js';
import { fitRidgeMulti, predictLinear } from '../../models/ridge.js';
import { defineStep, paramsOf } from '../define.js';
import type { TrainParams } from './params.js';

export type { TrainParams } from './params.js';

/** Fitted state of a ridge model for one fold. */
export interface RidgeState {
  /** Coefficients per target (parallel to targetNames), each parallel to featureNames. */
  coef: number[][];
  /** Intercept per target. */
  intercept: number[];
}

/** Segment codes of Predictions.segment. */
const SEG_VAL = 1;
const SEG_TEST = 2;

function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

export default defineStep({
  kind: 'train',
  version: 1,
  description: 'Fit a model per target on each fold’s training rows; predict the val and test rows and score the val rows.',
  inputs: { dataset: 'Dataset' },
  output: 'Model',
  params: paramsOf<TrainParams>(),

  async run({ dataset }, params: TrainParams, ctx): Promise<Model> {
    const n = dataset.index.length;
    const p = dataset.featureNames.length;
    const k = dataset.targetNames.length;
    if (dataset.X.length !== n * p || dataset.Y.length !== n * k) {
      throw new RunError(`dataset arrays do not match its ${n} rows × ${p} features / ${k} targets`, {
        hint: 'the dataset artifact is inconsistent; rerun the split step',
      });
    }
    if (k === 0) throw new RunError('the dataset has no targets', { hint: 'set `target.forward_return.horizons` in the features step' });
    if (dataset.folds.length === 0) throw new RunError('the dataset has no folds', { hint: 'rerun the split step' });

    const state: RidgeState[] = [];
    const predIndex: number[] = [];
    const predSeg: number[] = [];
    const predFold: number[] = [];
    const predValues: number[][] = dataset.targetNames.map(() => []);
    // Val predictions and actuals pooled over folds, for the model's val metrics.
    const valPred: number[][] = dataset.targetNames.map(() => []);
    const valActual: number[][] = dataset.targetNames.map(() => []);

    dataset.folds.forEach((fold, f) => {
      if (ctx.signal.aborted) throw new CancelledError();
      const trainRows = fold.train.end - fold.train.start;
      if (trainRows < 1) throw new RunError(`fold ${f} has no training rows`, { hint: 'use more bars or a larger train ratio in split' });
      const fit = fitRidgeMulti(dataset.X, n, p, dataset.Y, k, params.alpha, true, fold.train);
      if (fit.singular) {
        ctx.warn(
          `fold ${f}: the normal equations are singular (alpha ${params.alpha}, ${trainRows} rows, ${p} features, rank ${fit.rank}: ` +
            `a constant or duplicated feature?); took the minimum-norm least-squares solution`,
        );
      }
      state.push({ coef: fit.coef.map((c) => Array.from(c)), intercept: [...fit.intercept] });

      for (const [seg, range] of [
        [SEG_VAL, fold.val],
        [SEG_TEST, fold.test],
      ] as const) {
        for (let r = range.start; r < range.end; r++) {
          predIndex.push(dataset.index[r]);
          predSeg.push(seg);
          predFold.push(f);
        }
        for (let t = 0; t < k; t++) {
          const pred = predictLinear(dataset.X, n, p, fit.coef[t], fit.intercept[t], range);
          for (let i = 0; i < pred.length; i++) {
            predValues[t].push(pred[i]);
            if (seg === SEG_VAL) {
              valPred[t].push(pred[i]);
              valActual[t].push(dataset.Y[(range.start + i) * k + t]);
            }
          }
        }
      }
      ctx.progress((f + 1) / dataset.folds.length);
    });

    const valMetrics: HorizonMetrics[] = dataset.targetNames.map((name, t) =>
      horizonMetrics(name, dataset.targetHorizons[t], valPred[t], valActual[t]),
    );
    const values: Record<string, Float64Array> = {};
    dataset.targetNames.forEach((name, t) => (values[name] = Float64Array.from(predValues[t])));

    return {
      type: 'Model',
      kind: params.model,
      params: { model: params.model, alpha: params.alpha },
      featureNames: [...dataset.featureNames],
      targetNames: [...dataset.targetNames],
      targetHorizons: [...dataset.targetHorizons],
      state,
      valMetrics,
      predictions: {
        index: Float64Array.from(predIndex),
        segment: Uint8Array.from(predSeg),
        fold: Uint16Array.from(predFold),
        values,
      },
    };
  },

  metrics(out: Model) {
    const m: Record<string, number> = {};
    for (const h of out.valMetrics) {
      m[`val_rmse_${h.target}`] = h.rmse;
      m[`val_ic_${h.target}`] = h.ic;
      m[`val_da_${h.target}`] = h.directionalAccuracy;
    }
    return m;
  },

  summary(out: Model) {
    const alpha = typeof out.params.alpha === 'number' ? ` α=${out.params.alpha}` : '';
    const h = out.valMetrics[0];
    const more = out.valMetrics.length > 1 ? ` (+${out.valMetrics.length - 1} more target${out.valMetrics.length > 2 ? 's' : ''})` : '';
    if (!h) return `${out.kind}${alpha}`;
    return `${out.kind}${alpha} · ${h.target} val IC ${fmt(h.ic, 3)}, DA ${fmt(h.directionalAccuracy * 100, 1)}%${more}`;
  },
});
