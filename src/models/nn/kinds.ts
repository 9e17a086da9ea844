import { MODEL_DEFAULTS } from '../defaults.generated.js';
import { createRequire } from 'node:module';
import path from 'node:path';
import { currentBackend, selectBackend, type Device, type Tf } from '../../backend/index.js';
import type { RowRange } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import type { ParamIssue } from '../../core/diagnostics.js';
import type { FoldData, FoldFit, ModelKind, ParamValue } from '../kind.js';
import { checkQuantiles, quantileLevels, quantileRows } from '../kinds.js';
import { buildNet, NET_KINDS, type NetKind, type NetSpec, type WeightValue } from './nets.js';
import { predictWindows, trainNet, warmupIssues, type EpochLog, type Schedule, type TrainHooks, type TrainOptions } from './train.js';
import { buildWindows, buildWindowsMany } from './windows.js';

/**
 * The neural model kinds of the `train` step: `mlp`, `lstm`, `gru`, `tcn`, `transformer`. Each
 * reads windows of `lookback` bars × all features (src/models/nn/windows.ts) and predicts every
 * target at once. Training runs on the backend `device` selects (src/backend).
 */

/** Fitted state of a neural model for one fold. */
export interface NnState {
  spec: NetSpec;
  weights: WeightValue[];
  /** Target standardisation of the training windows (predictions are mapped back with it). */
  yMean: number[];
  yStd: number[];
  maxGapMs: number;
  /** The backend that trained it. */
  backend: string;
  bestEpoch: number;
  history: EpochLog[];
}

/** Parameters every neural kind takes (the autoencoder's too), with their defaults. */
/** What every neural kind takes beyond its TrainParams defaults: `device`, filled from the pipeline's when not written. */
export const COMMON: Record<string, ParamValue> = { device: 'auto' };

const DESCRIPTION: Record<NetKind, string> = {
  mlp: 'multi-layer perceptron (ReLU) on the flattened window of lookback bars × features',
  lstm: 'stacked LSTM over the window; the last state feeds a linear head with one output per target',
  gru: 'stacked GRU (PyTorch formulation) over the window; linear multi-horizon head',
  tcn: 'temporal convolutional network: dilated causal convolutions (dilation 2^layer), residual, ReLU',
  transformer: 'transformer encoder: multi-head self-attention, sinusoidal positions, post-LayerNorm; last bar → head',
};

export const num = (v: ParamValue): number => v as number;

let nodeRequire: NodeJS.Require | undefined;

/** A tfjs to predict with outside training: the chosen backend's, else tfjs's pure-JS cpu backend (synchronous). */
export function tfForPredict(): Tf {
  const b = currentBackend();
  if (b) return b.tf;
  nodeRequire ??= createRequire(import.meta.url);
  const tf = nodeRequire('@tensorflow/tfjs') as Tf;
  if (!tf.engine().backendName) {
    tf.enableProdMode();
    void tf.setBackend('cpu'); // the cpu backend initialises synchronously
  }
  return tf;
}

/** Per-column mean and population std (0 → 1) of the rows `ends` of a row-major matrix with k columns. */
export function stats(Y: ArrayLike<number>, k: number, ends: Int32Array): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(k);
  const std = new Float64Array(k);
  for (const r of ends) for (let t = 0; t < k; t++) mean[t] += Y[r * k + t];
  for (let t = 0; t < k; t++) mean[t] /= Math.max(1, ends.length);
  for (const r of ends) for (let t = 0; t < k; t++) std[t] += (Y[r * k + t] - mean[t]) ** 2;
  for (let t = 0; t < k; t++) {
    const s = Math.sqrt(std[t] / Math.max(1, ends.length));
    std[t] = s > 0 && Number.isFinite(s) ? s : 1;
  }
  return { mean, std };
}

/** The training loop's options from a neural kind's resolved params. */
export function trainOptions(prm: Record<string, ParamValue>, seed: number, checkpointDir: string | undefined): TrainOptions {
  return {
    epochs: num(prm.epochs),
    batchSize: num(prm.batch_size),
    learningRate: num(prm.learning_rate),
    optimizer: prm.optimizer as 'adam' | 'adamw',
    weightDecay: num(prm.weight_decay),
    schedule: prm.lr_schedule as Schedule,
    warmupEpochs: num(prm.warmup_epochs),
    clipNorm: num(prm.clip_norm),
    patience: num(prm.patience),
    gradAccum: num(prm.grad_accum),
    seed,
    keepCheckpoints: num(prm.keep_checkpoints),
    checkpointDir,
    // A kind that declares `ema` (the diffusion kinds) averages its weights when it is above 0.
    ...(typeof prm.ema === 'number' && prm.ema > 0 && { ema: prm.ema }),
  };
}

/** Cancellation, log lines and per-epoch progress of one fold's training; `share` maps the loop's own progress into the fold's. */
export function trainHooks(d: FoldData, share: { from: number; to: number; label?: string } = { from: 0, to: 1 }): TrainHooks {
  const label = share.label ? ` ${share.label}` : '';
  return {
    signal: d.signal,
    log: (m) => d.log?.(`fold ${d.fold}${label}: ${m}`),
    epochEnd: (e) =>
      d.progress?.(
        share.from + ((share.to - share.from) * e.epoch) / e.epochs,
        `fold ${d.fold}${label} epoch ${e.epoch}/${e.epochs} · loss ${e.trainLoss.toFixed(4)} · val ${Number.isFinite(e.valLoss) ? e.valLoss.toFixed(4) : 'n/a'}`,
      ),
  };
}

/** The error when a fold has no training window (neural kinds and the autoencoder). */
export function noWindowsError(fold: number, lookback: number, maxGapHours: number, rows: number): RunError {
  return new RunError(`fold ${fold}: no training window of ${lookback} consecutive bars (without a gap over ${maxGapHours} h) in its ${rows} training rows`, {
    hint: 'lower `lookback`, raise `max_gap_hours`, or give the fold more training rows',
  });
}

/** A fold's training and validation windows (`lookback`, `max_gap_hours` of prm) and its training targets' mean and std. */
export function foldWindows(d: FoldData, prm: Record<string, ParamValue>) {
  const lookback = num(prm.lookback);
  const maxGapMs = num(prm.max_gap_hours) * 3_600_000;
  if (!d.index) d.warn(`fold ${d.fold}: the rows' timestamps are not available, so windows are not checked for gaps in time`);
  const pieces: RowRange[] = d.trainPieces ?? [d.train];
  const trainEnds = buildWindowsMany(d.index, pieces, lookback, maxGapMs);
  const valEnds = buildWindows(d.index, d.val, lookback, maxGapMs);
  if (trainEnds.length === 0) {
    throw noWindowsError(d.fold, lookback, num(prm.max_gap_hours), d.train.end - d.train.start);
  }
  const { mean, std } = stats(d.Y, d.k, trainEnds);
  return { lookback, maxGapMs, trainEnds, valEnds, mean, std };
}

/**
 * Forecasts of m rows: per target the point forecast and, for a quantile head, the quantiles
 * (rearranged where levels cross; the point is then their median, as gbm's). Rows without a full
 * window before them (a segment's first lookback − 1 rows, after a gap) get the training mean as
 * the point (no forecast, so no signal) and NaN quantiles (no distribution: scores skip them).
 */
export function forecastRows(
  st: NnState,
  X: ArrayLike<number>,
  m: number,
  p: number,
  index?: ArrayLike<number>,
  from = 0,
): { point: Float64Array[]; quantiles?: Float64Array[] } {
  const tf = tfForPredict();
  const net = buildNet(tf, st.spec, st.weights);
  try {
    // `from`: only rows from it on are forecast (the rows before it feed their windows; online fine-tuning scores a segment piecewise).
    const all = buildWindows(index, { start: 0, end: m }, st.spec.lookback, st.maxGapMs);
    const ends = from > 0 ? all.filter((r) => r >= from) : all;
    const y = predictWindows(tf, net, X, p, ends, st.yMean, st.yStd);
    const k = st.spec.k;
    const point = st.yMean.map((mu) => new Float64Array(m).fill(mu));
    const levels = st.spec.quantiles;
    if (!levels?.length) {
      ends.forEach((r, i) => {
        for (let t = 0; t < k; t++) point[t][r] = y[i * k + t];
      });
      return { point };
    }
    const L = levels.length;
    const q = quantileRows(levels, k, ends.length, (t, j) => Float64Array.from(ends, (_, i) => y[(i * k + t) * L + j]));
    const quantiles = point.map(() => new Float64Array(m * L).fill(NaN));
    ends.forEach((r, i) => {
      for (let t = 0; t < k; t++) {
        point[t][r] = q.median[t][i];
        quantiles[t].set(q.values[t].subarray(i * L, (i + 1) * L), r * L);
      }
    });
    return { point, quantiles };
  } finally {
    net.dispose();
  }
}

function nnKind(kind: NetKind): ModelKind {
  return {
    name: kind,
    description: DESCRIPTION[kind],
    defaults: { ...COMMON, ...MODEL_DEFAULTS[kind] },
    seeded: true,
    check(prm): ParamIssue[] {
      const issues: ParamIssue[] = [];
      if (kind === 'transformer' && num(prm.hidden) % num(prm.heads) !== 0) {
        issues.push({
          path: ['heads'],
          message: `\`heads: ${prm.heads}\` must divide \`hidden: ${prm.hidden}\` (each head gets hidden / heads dimensions)`,
          hint: 'e.g. hidden: 32, heads: 4',
        });
      }
      issues.push(...warmupIssues(prm), ...checkQuantiles(prm));
      return issues;
    },
    async fit(d: FoldData, prm): Promise<FoldFit> {
      const backend = await selectBackend(prm.device as Device, { log: (m) => d.log?.(m) });
      const tf = backend.tf;
      const { lookback, maxGapMs, trainEnds, valEnds, mean, std } = foldWindows(d, prm);
      const spec: NetSpec = {
        kind,
        lookback,
        p: d.p,
        k: d.k,
        hidden: num(prm.hidden),
        layers: num(prm.layers),
        kernelSize: num(prm.kernel_size ?? 1),
        heads: num(prm.heads ?? 1),
      };
      // Only a quantile net's spec names levels: a point net's (its checkpoints' fingerprint) is as before.
      const levels = quantileLevels(prm.quantiles);
      if (levels.length) spec.quantiles = levels;
      d.log?.(`fold ${d.fold}: ${trainEnds.length} training / ${valEnds.length} validation windows of ${lookback} bars × ${d.p} features on ${backend.name}`);
      const res = await trainNet(
        tf,
        spec,
        { X: d.X, p: d.p, Y: d.Y, k: d.k, trainEnds, valEnds, yMean: mean, yStd: std },
        trainOptions(prm, d.seed, d.workDir ? path.join(d.workDir, `fold-${d.fold}`) : undefined),
        trainHooks(d),
      );
      d.log?.(
        `fold ${d.fold}: best epoch ${res.bestEpoch} of ${res.history.length}${res.stoppedEarly ? ' (early stop)' : ''}, val loss ${res.bestValLoss.toFixed(4)} (standardised targets)`,
      );
      const state: NnState = {
        spec,
        weights: res.weights,
        yMean: Array.from(mean),
        yStd: Array.from(std),
        maxGapMs,
        backend: backend.name,
        bestEpoch: res.bestEpoch,
        history: res.history,
      };
      return { state, backend: backend.name };
    },
    predict: (s, X, m, p, index) => forecastRows(s as NnState, X, m, p, index).point,
    predictDistribution(s, X, m, p, index) {
      const st = s as NnState;
      if (!st.spec.quantiles?.length) return undefined;
      const { quantiles } = forecastRows(st, X, m, p, index);
      return quantiles && { quantiles: { levels: [...st.spec.quantiles], values: quantiles } };
    },
  };
}

export const NN_MODEL_KINDS: ModelKind[] = NET_KINDS.map(nnKind);
