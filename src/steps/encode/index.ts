import type { Dataset, Fold, Model, RowRange, Scaler } from '../../core/artifacts.js';
import { CancelledError, RunError, type ParamIssue } from '../../core/diagnostics.js';
import { thousands } from '../../core/format.js';
import { isoUtc } from '../../data/frame.js';
import { driftReport } from '../../evaluation/drift.js';
import { applyScaler, fitScaler, sameScaler } from '../../evaluation/scalers.js';
import '../../models/nn/autoencoder.js';
import { getModelKind } from '../../models/registry.js';
import { defineStep, paramsOf, type CheckContext } from '../define.js';
import type { EncodeParams } from './params.js';

/**
 * `encode`: a feature encoder (`train` with `model: autoencoder`) applied to a dataset's rows; the
 * latent vectors become feature columns of a new Dataset with the same index, targets, folds and
 * segments, so split-aware steps downstream (train, backtest) work unchanged.
 *
 * No look-ahead: only single-fold (`temporal`) datasets are encoded, with the encoder of that fold,
 * and only when the encoder's training rows end no later than the dataset's (and every row it
 * looked at, validation rows included, lies in the dataset's train + val rows). The latent columns
 * are scaled like the other features: a scaler of the dataset's method fitted on the training rows.
 * Why not several folds: docs/evaluation.md.
 */

const SUPPORTED_SPLITS = 'temporal';

function multiFoldError(what: string, folds: number, method?: string): RunError {
  return new RunError(
    `${what} has ${folds} folds${method ? ` (split method \`${method}\`)` : ''}; encode supports single-fold splits only (method \`${SUPPORTED_SPLITS}\`)`,
    {
      hint: 'each fold has its own encoder, whose latent columns mean something else, so no one column can serve every fold leak-free; split with `method: temporal` (ratios or val_start/test_start) for the encoder and the dataset it encodes',
    },
  );
}

const lastRow = (index: Float64Array, ranges: readonly RowRange[]): number =>
  Math.max(-Infinity, ...ranges.filter((r) => r.end > r.start).map((r) => index[r.end - 1]));

/** The dataset's scaled features as the encoder's fold scaled them (they differ when the dataset was split with another scaler). */
function asEncoderSaw(dataset: Dataset, encoderScaler: Scaler | undefined): Float64Array {
  const own = dataset.folds[0].scaler;
  if (!encoderScaler || sameScaler(own, encoderScaler)) return dataset.X;
  const p = dataset.featureNames.length;
  const X = dataset.X.slice();
  for (let i = 0; i < X.length; i++) {
    const j = i % p;
    const raw = own.method === 'none' ? X[i] : X[i] * own.scale[j] + own.center[j];
    X[i] = encoderScaler.method === 'none' ? raw : (raw - encoderScaler.center[j]) / encoderScaler.scale[j];
  }
  return X;
}

/** Row-major n × (a + b) from n × a and n × b. */
function joinColumns(A: Float64Array, a: number, B: Float64Array, b: number, n: number): Float64Array {
  const out = new Float64Array(n * (a + b));
  for (let r = 0; r < n; r++) {
    out.set(A.subarray(r * a, (r + 1) * a), r * (a + b));
    out.set(B.subarray(r * b, (r + 1) * b), r * (a + b) + a);
  }
  return out;
}

export default defineStep({
  kind: 'encode',
  version: 1,
  description:
    'Encode a dataset’s rows with a feature encoder (a `train` step with `model: autoencoder`): latent columns appended to, or replacing, the features; same rows, targets and folds.',
  inputs: { model: 'Model', dataset: 'Dataset' },
  output: 'Dataset',
  params: paramsOf<EncodeParams>(),
  metricNames: [],

  check(_params: EncodeParams, ctx?: CheckContext): ParamIssue[] {
    const issues: ParamIssue[] = [];
    const model = ctx?.input?.('model');
    if (model?.kind === 'train' && model.params.model !== 'autoencoder') {
      issues.push({
        at: 'from',
        path: ['model'],
        message: `step \`${model.id}\` trains \`model: ${String(model.params.model)}\`, which forecasts targets; \`encode\` needs a feature encoder`,
        hint: `train the encoder with \`model: autoencoder\`, or backtest \`${model.id}\` instead of encoding with it`,
      });
    }
    // A multi-fold split feeding the dataset port directly is known now; others are refused at run time.
    const split = ctx?.input?.('dataset');
    const method = split?.kind === 'split' ? split.params.method : undefined;
    if (typeof method === 'string' && method !== SUPPORTED_SPLITS) {
      issues.push({
        at: 'from',
        path: ['dataset'],
        message: `split step \`${split!.id}\` uses \`method: ${method}\`, which makes several folds; encode supports single-fold splits only (method \`${SUPPORTED_SPLITS}\`)`,
        hint: 'each fold would have its own encoder, whose latent columns mean something else, so no one column serves every fold leak-free; use `method: temporal`',
      });
    }
    return issues;
  },

  async run({ model, dataset }: { model: Model; dataset: Dataset }, params: EncodeParams, ctx): Promise<Dataset> {
    const kind = getModelKind(model.kind);
    const ops = kind?.encoder;
    if (!model.encoder || !ops) {
      throw new RunError(`\`model\` is a \`${model.kind}\` model, which forecasts targets; encode needs a feature encoder`, {
        hint: 'connect a train step with `model: autoencoder` to encode’s `model` port',
      });
    }
    if (model.state.length !== 1) throw multiFoldError('the encoder was trained on a dataset that', model.state.length);
    if (dataset.folds.length !== 1) throw multiFoldError('the dataset', dataset.folds.length, dataset.method);
    const p = dataset.featureNames.length;
    const n = dataset.index.length;
    if (model.featureNames.join('\u0000') !== dataset.featureNames.join('\u0000')) {
      const missing = model.featureNames.filter((f) => !dataset.featureNames.includes(f));
      const extra = dataset.featureNames.filter((f) => !model.featureNames.includes(f));
      throw new RunError(`the encoder was trained on other features than the dataset's (${model.featureNames.length} vs ${p})`, {
        hint: `${missing.length ? `missing in the dataset: ${missing.slice(0, 5).join(', ')}; ` : ''}${extra.length ? `not seen by the encoder: ${extra.slice(0, 5).join(', ')}; ` : ''}${!missing.length && !extra.length ? 'same features in another order; ' : ''}encode the dataset the encoder was trained on`,
      });
    }

    // Look-ahead guard: every row the encoder learnt from must be a training (or, for early
    // stopping, validation) row of this dataset too.
    const fold = dataset.folds[0];
    const trainRanges = fold.trainRanges ?? [fold.train];
    const trainLast = lastRow(dataset.index, trainRanges);
    const seenLast = Math.max(trainLast, lastRow(dataset.index, [fold.val]));
    const seen = model.encoder.seen[0];
    if (seen.trainLast > trainLast || seen.lastSeen > seenLast) {
      throw new RunError(
        `the encoder was fitted on rows up to ${isoUtc(seen.trainLast)} (and looked at rows up to ${isoUtc(seen.lastSeen)}), after this dataset's training rows end (${isoUtc(trainLast)}): its latent columns would carry information from rows the downstream model is evaluated on`,
        { hint: 'train the encoder on this dataset (from: the same split step), or on a split whose training rows end no later' },
      );
    }

    if (ctx.signal.aborted) throw new CancelledError();
    const Xin = asEncoderSaw(dataset, model.scalers?.[0]);
    const Z = ops.encode(model.state[0], Xin, p, { start: 0, end: n }, dataset.index);
    const d = ops.dim(model.state[0]);
    const names = Array.from({ length: d }, (_, j) => `${params.prefix}_${j}`);
    const clash = params.mode === 'append' ? names.filter((c) => dataset.featureNames.includes(c)) : [];
    if (clash.length) {
      throw new RunError(`the dataset already has feature column(s) ${clash.slice(0, 3).join(', ')}`, {
        hint: 'set `prefix` to another name, e.g. `prefix: ae2`',
      });
    }

    // The latent columns get a scaler of the dataset's method, fitted on its training rows.
    const latentScaler = fitScaler(Z, d, trainRanges, fold.scaler.method);
    const Zraw = dataset.raw ? Z.slice() : undefined;
    applyScaler(Z, d, latentScaler);
    const append = params.mode === 'append';
    const featureNames = append ? [...dataset.featureNames, ...names] : names;
    const X = append ? joinColumns(dataset.X, p, Z, d, n) : Z;
    const scaler: Scaler = append
      ? { method: fold.scaler.method, center: [...fold.scaler.center, ...latentScaler.center], scale: [...fold.scaler.scale, ...latentScaler.scale] }
      : latentScaler;
    const folds: Fold[] = [{ ...fold, scaler }];
    const raw = dataset.raw && Zraw ? (append ? joinColumns(dataset.raw, p, Zraw, d, n) : Zraw) : undefined;
    // KS drift is unchanged by a fold's affine scaling, so the scaled matrix serves (one fold).
    const drift = dataset.drift
      ? driftReport(X, featureNames.length, [{ train: trainRanges, val: fold.val, test: fold.testRanges ?? [fold.test] }], ctx.signal)
      : undefined;
    if (ctx.signal.aborted) throw new CancelledError();
    ctx.log(
      `${append ? 'appended' : 'replaced the features with'} ${d} latent column(s) ${names[0]}…${names[d - 1]} (encoder reconstruction RMSE val ${model.encoder.rmse.val.toFixed(4)})`,
    );

    const { raw: _r, drift: _d, ...rest } = dataset;
    return {
      ...rest,
      featureNames,
      X,
      folds,
      ...(raw ? { raw } : {}),
      ...(drift ? { drift } : {}),
    };
  },

  summary(out: Dataset) {
    return `${out.featureNames.length} features (last: ${out.featureNames[out.featureNames.length - 1]}), ${thousands(out.index.length)} rows`;
  },
});
