import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Dataset, Model } from '../../src/core/artifacts.js';
import { makeRng } from '../../src/data/rng.js';
import { fitScaler } from '../../src/evaluation/scalers.js';
import { getModelKind } from '../../src/models/registry.js';
import { modelToOnnx } from '../../src/models/onnx/index.js';
import { rawThreshold } from '../../src/models/onnx/trees.js';
import { predict } from '../../src/models/predict.js';
import train from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';

/**
 * ONNX export checked against the reference, ONNX Runtime (onnxruntime-node, CPU): for every model
 * kind a small model is trained on a two-fold walk-forward dataset whose folds have their own
 * z-score scalers, exported (newest fold), and its file scored by ONNX Runtime on the raw features
 * of that fold's test rows; the result must equal fxflow's own predictions of those rows
 * (Model.predictions) within |onnx − fxflow| ≤ 1e-5 · max(|fxflow|, rms of fxflow's predictions of
 * that target) (see maxRel).
 *
 * The raw features are float32 values already (Math.fround), so the comparison measures the
 * exported computation, not the rounding of float64 inputs to the file's float32 input.
 */

const H = 3_600_000;
const n = 400;
const p = 3;
const k = 2;
const FEATURES = ['price', 'rsi', 'ret'];
const TARGETS = ['fwd_ret_1', 'fwd_ret_3'];

function dataset(): Dataset {
  const rng = makeRng(5);
  const raw = new Float64Array(n * p);
  const Y = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    // A price-like level (centre 1.1, std 0.002), an oscillator around 50, a return-like value.
    raw[r * p] = Math.fround(1.1 + 0.002 * rng.normal());
    raw[r * p + 1] = Math.fround(50 + 15 * rng.normal());
    raw[r * p + 2] = Math.fround(rng.normal());
  }
  for (let r = 0; r < n; r++) {
    const lag = r >= 2 ? raw[(r - 2) * p + 2] : 0;
    const x0 = (raw[r * p] - 1.1) / 0.002;
    Y[r * k] = 0.5 * x0 - 0.3 * raw[r * p + 2] + 0.4 * lag + 0.3 * rng.normal();
    Y[r * k + 1] = 0.02 * (raw[r * p + 1] - 50) + 0.2 * lag + 0.3 * rng.normal();
  }
  const folds = [
    { train: { start: 0, end: 200 }, val: { start: 202, end: 260 }, test: { start: 262, end: 320 } },
    { train: { start: 0, end: 260 }, val: { start: 262, end: 320 }, test: { start: 322, end: 400 } },
  ].map((f) => ({ ...f, scaler: fitScaler(raw, p, f.train, 'zscore') }));
  const X = Float64Array.from(raw);
  for (let r = 0; r < n; r++) for (let j = 0; j < p; j++) X[r * p + j] = (raw[r * p + j] - folds[0].scaler.center[j]) / folds[0].scaler.scale[j];
  return {
    type: 'Dataset',
    symbol: 'EURUSD',
    timeframe: '1h',
    index: Float64Array.from({ length: n }, (_, i) => Date.UTC(2024, 0, 1) + i * H),
    featureNames: FEATURES,
    targetNames: TARGETS,
    targetHorizons: [1, 3],
    X,
    Y,
    raw,
    method: 'walk_forward',
    purge: 2,
    folds,
  };
}

const ds = dataset();

async function score(bytes: Uint8Array, data: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ features: new ort.Tensor('float32', data, dims) });
    expect(out.predictions.dims).toEqual([dims[0], k]);
    return out.predictions.data as Float32Array;
  } finally {
    await session.release();
  }
}

/**
 * Largest |a − b| / max(|b|, rms of b's column) over row-major [rows, k] pairs: relative, except
 * that predictions near zero are measured against their column's typical size (a forward-return
 * model predicts ~1e-4, where max(1, |b|) would let a 10% error through).
 */
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let c = 0; c < k; c++) {
    let ss = 0;
    for (let i = c; i < b.length; i += k) ss += b[i] * b[i];
    const rms = Math.sqrt(ss / (b.length / k));
    for (let i = c; i < b.length; i += k) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), rms));
  }
  return m;
}

/** The newest fold's predicted rows (val and test) with fxflow's predictions, row-major [rows, k]. */
function newestRows(model: Model, lookback = 1): { rows: number[]; expected: Float64Array } {
  const f = model.state.length - 1;
  const fold = ds.folds[f];
  const rowOf = new Map(Array.from(ds.index, (t, r) => [t, r]));
  const rows: number[] = [];
  const vals: number[] = [];
  const pr = model.predictions;
  for (let i = 0; i < pr.index.length; i++) {
    if (pr.fold[i] !== f) continue;
    const r = rowOf.get(pr.index[i])!;
    const seg = pr.segment[i] === 1 ? fold.val : fold.test;
    // Sequence kinds forecast only rows with a whole window inside the segment.
    if (r - lookback + 1 < seg.start) continue;
    rows.push(r);
    for (const t of TARGETS) vals.push(pr.values[t][i]);
  }
  return { rows, expected: Float64Array.from(vals) };
}

const TOL = 1e-5;
const seen: Record<string, number> = {};

const CASES: [string, Record<string, unknown>][] = [
  ['ridge', { model: 'ridge', alpha: 1 }],
  ['ols', { model: 'ols' }],
  ['lasso', { model: 'lasso', alpha: 0.01 }],
  ['elastic_net', { model: 'elastic_net', alpha: 0.01, l1_ratio: 0.5 }],
  ['logistic', { model: 'logistic', alpha: 1 }],
  ['gbm', { model: 'gbm', n_estimators: 60, max_depth: 4, learning_rate: 0.1 }],
  ['gbm (logistic loss)', { model: 'gbm', n_estimators: 40, max_depth: 3, loss: 'logistic' }],
  ['random_forest', { model: 'random_forest', n_estimators: 25, max_depth: 5 }],
];

const NN: Record<string, unknown> = { lookback: 5, hidden: 8, epochs: 3, batch_size: 32, learning_rate: 0.01, patience: 0, layers: 2, device: 'wasm' };
const NN_CASES: [string, Record<string, unknown>][] = [
  ['mlp', { model: 'mlp', ...NN }],
  ['lstm', { model: 'lstm', ...NN }],
  ['gru', { model: 'gru', ...NN }],
  ['tcn', { model: 'tcn', ...NN, kernel_size: 3, hidden: 6 }],
  ['transformer', { model: 'transformer', ...NN, heads: 2 }],
];

async function fit(params: Record<string, unknown>): Promise<Model> {
  const kind = getModelKind(params.model as string)!;
  return train.run({ dataset: ds }, { ...kind.defaults, ...params } as never, testContext());
}

function onnxOf(model: Model): Uint8Array {
  return modelToOnnx(model, { version: 'test', source: { key: 'k' } }).bytes;
}

describe('ONNX export equals fxflow in ONNX Runtime', () => {
  for (const [name, params] of CASES) {
    it(`${name}: the newest fold's rows, raw float32 features in`, async () => {
      const model = await fit(params);
      const { rows, expected } = newestRows(model);
      expect(rows.length).toBeGreaterThan(100);
      const x = new Float32Array(rows.length * p);
      rows.forEach((r, i) => x.set(ds.raw!.subarray(r * p, r * p + p), i * p));
      const got = await score(onnxOf(model), x, [rows.length, p]);
      const rel = maxRel(got, expected);
      seen[name] = rel;
      expect(rel).toBeLessThanOrEqual(TOL);
    });
  }

  for (const [name, params] of NN_CASES) {
    it(`${name}: windows [N, lookback, p] of the newest fold's rows`, async () => {
      const model = await fit(params);
      const L = params.lookback as number;
      const { rows, expected } = newestRows(model, L);
      expect(rows.length).toBeGreaterThan(100);
      const x = new Float32Array(rows.length * L * p);
      rows.forEach((r, i) => x.set(ds.raw!.subarray((r - L + 1) * p, (r + 1) * p), i * L * p));
      const got = await score(onnxOf(model), x, [rows.length, L, p]);
      const rel = maxRel(got, expected);
      seen[name] = rel;
      expect(rel).toBeLessThanOrEqual(TOL);
    });
  }

  it('trees: NaN goes right and values exactly on a threshold go left, as in fxflow (gbm and random_forest)', async () => {
    for (const params of [CASES[5][1], CASES[7][1]]) {
      const model = await fit(params);
      const f = model.state.length - 1;
      const sc = model.scalers![f];
      const trees = (model.state[f] as { targets: { trees: { feature: ArrayLike<number>; threshold: ArrayLike<number> }[] }[] }).targets[0].trees;
      // Per feature, the raw-space thresholds of its splits (as float32 values fxflow sends left).
      const cuts: number[][] = FEATURES.map(() => []);
      for (const t of trees)
        for (let i = 0; i < t.feature.length; i++)
          if (t.feature[i] >= 0) cuts[t.feature[i]].push(rawThreshold(t.threshold[i], sc.center[t.feature[i]], sc.scale[t.feature[i]]));
      const rng = makeRng(9);
      const rows: number[][] = [];
      for (let r = 322; r < 400; r++) {
        const row = Array.from(ds.raw!.subarray(r * p, r * p + p));
        const j = r % p;
        const mode = r % 4;
        if (mode === 0) row[j] = Number.NaN;
        else if (cuts[j].length) {
          // On a split's threshold, or one float32 step above it (must go right).
          const T = cuts[j][Math.floor(rng.next() * cuts[j].length)];
          row[j] = mode === 1 ? T : Math.fround(T + Math.abs(T) * 2 ** -23);
        }
        if (r % 8 === 0) row[(j + 1) % p] = Number.NaN;
        rows.push(row);
      }
      const expected = predict(model, rows);
      const got = await score(onnxOf(model), Float32Array.from(rows.flat()), [rows.length, p]);
      const want = new Float64Array(rows.length * k);
      rows.forEach((_, i) => TARGETS.forEach((t, c) => (want[i * k + c] = expected[t][i])));
      expect(rows.filter((r) => r.some(Number.isNaN)).length).toBeGreaterThan(15);
      const rel = maxRel(got, want);
      seen[`${params.model} NaN/threshold rows`] = rel;
      expect(rel).toBeLessThanOrEqual(TOL);
    }
  });

  it('rawThreshold: the largest float32 that fxflow sends left (1,000 random scalers and thresholds)', () => {
    const rng = makeRng(3);
    const up = (x: number): number => {
      const b = new Float32Array([x]);
      const u = new Uint32Array(b.buffer);
      u[0] += x >= 0 ? 1 : -1;
      return x === 0 ? 2 ** -149 : b[0];
    };
    let naiveWrong = 0;
    for (let i = 0; i < 1000; i++) {
      const center = rng.normal() * 10 ** Math.floor(rng.next() * 4);
      const scale = 10 ** (rng.next() * 6 - 4);
      const threshold = rng.normal();
      const left = (x: number): boolean => (x - center) / scale <= threshold;
      const T = rawThreshold(threshold, center, scale);
      expect(Math.fround(T)).toBe(T);
      expect(left(T)).toBe(true);
      expect(left(up(T))).toBe(false);
      const naive = Math.fround(threshold * scale + center);
      if (!left(naive) || left(up(naive))) naiveWrong++;
    }
    // Rounding threshold·scale + center to float32 alone misplaces many of them.
    expect(naiveWrong).toBeGreaterThan(100);
  });

  it('--fold: an older fold exports that fold, and names input, output and metadata', async () => {
    const model = await fit(CASES[0][1]);
    const out = modelToOnnx(model, { fold: 0, version: 'test', source: { key: 'k' } });
    expect(out.fold).toBe(0);
    expect(out.inputShape).toEqual(['N', p]);
    const session = await ort.InferenceSession.create(out.bytes);
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toEqual(['predictions']);
    await session.release();
    const rows = Array.from({ length: 58 }, (_, i) => Array.from(ds.raw!.subarray((262 + i) * p, (263 + i) * p)));
    const expected = predict(model, rows, { fold: 0 });
    const got = await score(out.bytes, Float32Array.from(rows.flat()), [rows.length, p]);
    const want = Float64Array.from(rows.flatMap((_, i) => TARGETS.map((t) => expected[t][i])));
    expect(maxRel(got, want)).toBeLessThanOrEqual(TOL);
    // The newest fold's file scores these rows otherwise (another scaler and fit).
    const newest = await score(onnxOf(model), Float32Array.from(rows.flat()), [rows.length, p]);
    expect(maxRel(newest, want)).toBeGreaterThan(1e-3);
    // Metadata: feature order and targets, as a reader of the file sees them (raw protobuf strings).
    const text = Buffer.from(out.bytes).toString('latin1');
    expect(text).toContain('fxflow.feature_names');
    expect(text).toContain(JSON.stringify(FEATURES));
    expect(text).toContain(JSON.stringify(TARGETS));
    expect(() => modelToOnnx(model, { fold: 2, version: 'test', source: { key: 'k' } })).toThrow(/2 fold\(s\); fold 2 does not exist/);
  });

  it('online: the newest fold exports the online learner’s final state (Model.online), an older fold its batch fit', async () => {
    const ONLINE: Record<string, unknown>[] = [
      { model: 'ridge', alpha: 1, online: { method: 'rls', forgetting: 0.98 } },
      { model: 'gbm', n_estimators: 30, max_depth: 3, learning_rate: 0.1, online: { method: 'append', every: 20, trees: 5, window: 100, max_trees: 100 } },
    ];
    for (const params of ONLINE) {
      const model = await fit(params);
      expect(model.online?.fold).toBe(1);
      const kind = getModelKind(model.kind)!;
      const rows = Array.from({ length: 78 }, (_, i) => Array.from(ds.raw!.subarray((322 + i) * p, (323 + i) * p)));
      // Scaled here with the newest fold's scaler, and scored by the kind with the stored states.
      const sc = model.scalers![1];
      const X = Float64Array.from(rows.flatMap((r) => r.map((x, j) => (x - sc.center[j]) / sc.scale[j])));
      const rowMajor = (out: Float64Array[]) => Float64Array.from(rows.flatMap((_, i) => out.map((o) => o[i])));
      const want = rowMajor(kind.predict(model.online!.state, X, rows.length, p));
      const batch = rowMajor(kind.predict(model.state[1], X, rows.length, p));
      const out = modelToOnnx(model, { version: 'test', source: { key: 'k' } });
      const got = await score(out.bytes, Float32Array.from(rows.flat()), [rows.length, p]);
      expect(maxRel(got, want)).toBeLessThanOrEqual(TOL);
      expect(maxRel(got, batch)).toBeGreaterThan(1e-3);
      const text = Buffer.from(out.bytes).toString('latin1');
      expect(text).toContain('fxflow.online_through');
      expect(text).toContain(new Date(model.online!.through).toISOString());
      // The library's predict (and `models export`'s JSON) score with the same state.
      const lib = predict(model, rows);
      expect(maxRel(Float64Array.from(rows.flatMap((_, i) => TARGETS.map((t) => lib[t][i]))), want)).toBeLessThanOrEqual(1e-12);
      // An older fold has no final online state: its batch fit is exported.
      const old = modelToOnnx(model, { fold: 0, version: 'test', source: { key: 'k' } });
      expect(Buffer.from(old.bytes).toString('latin1')).not.toContain('fxflow.online_through');
    }
  });

  it('a feature encoder (autoencoder) is refused with a clear error', () => {
    const enc = { ...({} as Model), type: 'Model', kind: 'autoencoder', state: [{}], featureNames: FEATURES, targetNames: [], encoder: {} } as unknown as Model;
    expect(() => modelToOnnx(enc, { version: 'test', source: { key: 'k' } })).toThrow(/`autoencoder` model cannot be exported to ONNX/);
  });

  it('reports the differences', () => {
    console.log(`ONNX Runtime vs fxflow, max |a − b| / max(|b|, rms b): ${JSON.stringify(seen)}`);
  });
});
