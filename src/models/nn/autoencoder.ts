import { MODEL_DEFAULTS } from '../defaults.generated.js';
import path from 'node:path';
import { selectBackend, type Device } from '../../backend/index.js';
import type { RowRange } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import type { ParamIssue } from '../../core/diagnostics.js';
import type { EncoderOps, FoldData, FoldFit, ModelKind, ParamValue } from '../kind.js';
import { COMMON, noWindowsError, num, stats, trainHooks, trainOptions } from './kinds.js';
import type { NetSpec, WeightValue } from './nets.js';
import { trainNet, warmupIssues, type EpochLog } from './train.js';
import { buildWindows, buildWindowsMany, gatherWindows } from './windows.js';

/**
 * `model: autoencoder`: a feature encoder. Its input is a row's window of `lookback` bars × the
 * dataset's scaled features, flattened; its output, the latent vector, becomes feature columns of a
 * new Dataset through the `encode` step. It forecasts no target.
 *
 * The encoder is a stack of `layers` stages, x → hidden → … → latent; each stage is a one-hidden-layer
 * autoencoder (dense + ReLU, then a linear decoder back to the stage's input), trained greedily on the
 * codes of the stage before it (stacked autoencoders, Bengio et al. 2007). Each stage is the `mlp`
 * network of src/models/nn/nets.ts with its own input as the target, so it is trained by the shared
 * loop (src/models/nn/train.ts): seeded order and initialisation, Adam/AdamW, schedule, clipping,
 * early stopping on the fold's validation windows, checkpoints, on the backend `device` selects.
 * Every stage standardises its input with its training rows' mean and std first.
 *
 * Encoding and reconstruction run here in plain JavaScript over the stored float32 weights, with
 * float64 sums: the latent columns do not depend on the backend that trained the weights.
 */

/** One trained stage: input standardisation, encoder (dense0) and decoder (head) weights. */
export interface AeStage {
  mean: number[];
  std: number[];
  /** Input width → code width: [q, w] row-major, then the bias [w]. */
  encW: Float32Array;
  encB: Float32Array;
  /** Code width → input width: [w, q], bias [q]. */
  decW: Float32Array;
  decB: Float32Array;
  q: number;
  w: number;
  bestEpoch: number;
  history: EpochLog[];
}

export interface AutoencoderState {
  lookback: number;
  /** Features per bar. */
  p: number;
  maxGapMs: number;
  stages: AeStage[];
  backend: string;
}

const DEFAULTS: Record<string, ParamValue> = { ...COMMON, ...MODEL_DEFAULTS.autoencoder };

const weight = (ws: WeightValue[], name: string): Float32Array => {
  const w = ws.find((x) => x.name === name);
  if (!w) throw new Error(`autoencoder weight ${name} missing`);
  return w.data;
};

/** Codes of `m` rows of a stage's (unstandardised) input A [m × q]: ReLU(((a − mean) / std)·W + b), [m × w]. */
function encodeStage(s: AeStage, A: ArrayLike<number>, m: number): Float64Array {
  const { q, w } = s;
  const out = new Float64Array(m * w);
  const a = new Float64Array(q);
  for (let r = 0; r < m; r++) {
    for (let i = 0; i < q; i++) a[i] = (A[r * q + i] - s.mean[i]) / s.std[i];
    const o = r * w;
    for (let j = 0; j < w; j++) out[o + j] = s.encB[j];
    for (let i = 0; i < q; i++) {
      const ai = a[i];
      if (ai === 0) continue;
      const row = i * w;
      for (let j = 0; j < w; j++) out[o + j] += ai * s.encW[row + j];
    }
    for (let j = 0; j < w; j++) if (!(out[o + j] > 0)) out[o + j] = 0;
  }
  return out;
}

/** A stage's decoder: codes [m × w] → its input's units [m × q]. */
function decodeStage(s: AeStage, H: Float64Array, m: number): Float64Array {
  const { q, w } = s;
  const out = new Float64Array(m * q);
  for (let r = 0; r < m; r++) {
    const o = r * q;
    for (let i = 0; i < q; i++) out[o + i] = s.decB[i];
    for (let j = 0; j < w; j++) {
      const h = H[r * w + j];
      if (h === 0) continue;
      const row = j * q;
      for (let i = 0; i < q; i++) out[o + i] += h * s.decW[row + i];
    }
    for (let i = 0; i < q; i++) out[o + i] = out[o + i] * s.std[i] + s.mean[i];
  }
  return out;
}

function encodeAll(st: AutoencoderState, A: ArrayLike<number>, m: number): Float64Array {
  let cur: ArrayLike<number> = A;
  let out: Float64Array = new Float64Array(0);
  for (const s of st.stages) cur = out = encodeStage(s, cur, m);
  return out;
}

function decodeAll(st: AutoencoderState, Z: Float64Array, m: number): Float64Array {
  let cur: Float64Array = Z;
  for (let i = st.stages.length - 1; i >= 0; i--) cur = decodeStage(st.stages[i], cur, m);
  return cur;
}

/** Flattened windows ending at `ends` ([ends.length × lookback·p]). */
function windowsOf(X: ArrayLike<number>, p: number, lookback: number, ends: Int32Array): Float64Array {
  const buf = new Float32Array(ends.length * lookback * p);
  if (ends.length) gatherWindows(X, p, lookback, ends, 0, ends.length, buf);
  return Float64Array.from(buf);
}

/** Layer widths of the stack: `hidden` for every stage but the last, which is `latent` wide. */
function widths(prm: Record<string, ParamValue>): number[] {
  return [...new Array<number>(num(prm.layers) - 1).fill(num(prm.hidden)), num(prm.latent)];
}

/** A seed per stage from the fold's seed (stage 0 uses the fold's seed itself). */
function stageSeed(seed: number, stage: number): number {
  return stage === 0 ? seed : (Math.trunc(seed) ^ Math.imul(stage, 0x9e3779b1)) >>> 0;
}

const ops: EncoderOps = {
  dim: (s) => {
    const st = s as AutoencoderState;
    return st.stages[st.stages.length - 1].w;
  },

  encode(s, X, p, range, index) {
    const st = s as AutoencoderState;
    const L = st.lookback;
    const m = Math.max(0, range.end - range.start);
    const q = L * p;
    // Each row's window; where fewer than `lookback` rows since the range's start or a time gap
    // precede it, the oldest of them is repeated (edge padding): only rows at or before it are read.
    const A = new Float64Array(m * q);
    let runStart = range.start;
    for (let r = range.start; r < range.end; r++) {
      if (r > range.start && index !== undefined && index[r] - index[r - 1] > st.maxGapMs) runStart = r;
      const o = (r - range.start) * q;
      for (let t = 0; t < L; t++) {
        const src = Math.max(runStart, r - L + 1 + t);
        for (let j = 0; j < p; j++) A[o + t * p + j] = X[src * p + j];
      }
    }
    return encodeAll(st, A, m);
  },

  reconstructionError(s, X, p, ranges, index) {
    const st = s as AutoencoderState;
    const ends = buildWindowsMany(index, ranges, st.lookback, st.maxGapMs);
    const A = windowsOf(X, p, st.lookback, ends);
    const back = decodeAll(st, encodeAll(st, A, ends.length), ends.length);
    let sse = 0;
    for (let i = 0; i < A.length; i++) sse += (back[i] - A[i]) ** 2;
    return { sse, count: A.length };
  },
};

export const AUTOENCODER: ModelKind = {
  name: 'autoencoder',
  description:
    'feature encoder: stacked autoencoder (dense + ReLU stages, x → hidden → latent) reconstructing the scaled features of a lookback window; `encode` turns it into latent feature columns',
  defaults: DEFAULTS,
  seeded: true,
  encoder: ops,

  check(prm): ParamIssue[] {
    return warmupIssues(prm);
  },

  async fit(d: FoldData, prm): Promise<FoldFit> {
    const backend = await selectBackend(prm.device as Device, { log: (m) => d.log?.(m) });
    const lookback = num(prm.lookback);
    const maxGapMs = num(prm.max_gap_hours) * 3_600_000;
    if (!d.index && lookback > 1) d.warn(`fold ${d.fold}: the rows' timestamps are not available, so windows are not checked for gaps in time`);
    const pieces: RowRange[] = d.trainPieces ?? [d.train];
    const trainEnds = buildWindowsMany(d.index, pieces, lookback, maxGapMs);
    const valEnds = buildWindows(d.index, d.val, lookback, maxGapMs);
    if (trainEnds.length === 0) throw noWindowsError(d.fold, lookback, num(prm.max_gap_hours), d.train.end - d.train.start);
    const nT = trainEnds.length;
    const nV = valEnds.length;
    // One row per window, training windows first: each stage's input and target, in place of X and Y.
    let A = windowsOf(d.X, d.p, lookback, Int32Array.from([...trainEnds, ...valEnds]));
    let q = lookback * d.p;
    const tEnds = Int32Array.from({ length: nT }, (_, i) => i);
    const vEnds = Int32Array.from({ length: nV }, (_, i) => nT + i);
    const ws = widths(prm);
    d.log?.(
      `fold ${d.fold}: autoencoder ${[q, ...ws].join(' → ')} on ${nT} training / ${nV} validation windows of ${lookback} bar(s) × ${d.p} features on ${backend.name}`,
    );
    const stages: AeStage[] = [];
    for (let l = 0; l < ws.length; l++) {
      const w = ws[l];
      const { mean, std } = stats(A, q, tEnds);
      const Z = new Float64Array(A.length);
      for (let i = 0; i < A.length; i++) Z[i] = (A[i] - mean[i % q]) / std[i % q];
      const spec: NetSpec = { kind: 'mlp', lookback: 1, p: q, k: q, hidden: w, layers: 1, kernelSize: 1, heads: 1 };
      const label = ws.length > 1 ? `stage ${l + 1}/${ws.length}` : undefined;
      const dir = d.workDir ? path.join(d.workDir, `fold-${d.fold}`, `stage-${l}`) : undefined;
      const res = await trainNet(
        backend.tf,
        spec,
        { X: Z, p: q, Y: Z, k: q, trainEnds: tEnds, valEnds: vEnds, yMean: new Float64Array(q), yStd: new Float64Array(q).fill(1) },
        trainOptions(prm, stageSeed(d.seed, l), dir),
        trainHooks(d, { from: l / ws.length, to: (l + 1) / ws.length, label }),
      );
      d.log?.(
        `fold ${d.fold}${label ? ` ${label}` : ''}: best epoch ${res.bestEpoch} of ${res.history.length}${res.stoppedEarly ? ' (early stop)' : ''}, ${nV ? 'val' : 'train'} loss ${res.bestValLoss.toFixed(4)} (standardised inputs)`,
      );
      const stage: AeStage = {
        mean: Array.from(mean),
        std: Array.from(std),
        encW: weight(res.weights, 'dense0/W'),
        encB: weight(res.weights, 'dense0/b'),
        decW: weight(res.weights, 'head/W'),
        decB: weight(res.weights, 'head/b'),
        q,
        w,
        bestEpoch: res.bestEpoch,
        history: res.history,
      };
      stages.push(stage);
      A = encodeStage(stage, A, nT + nV);
      q = w;
    }
    const state: AutoencoderState = { lookback, p: d.p, maxGapMs, stages, backend: backend.name };
    return { state, backend: backend.name };
  },

  predict() {
    throw new RunError('an autoencoder forecasts no target: it encodes features', {
      hint: 'feed it to an `encode` step (from: { model: <this step>, dataset: <dataset> }) and train a forecasting model on the encoded dataset',
    });
  },
};
