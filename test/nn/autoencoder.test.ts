import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset, Model } from '../../src/core/artifacts.js';
import { DiagnosticError } from '../../src/core/diagnostics.js';
import { makeRng } from '../../src/data/rng.js';
import { AUTOENCODER, type AutoencoderState } from '../../src/models/nn/autoencoder.js';
import { resolveModelParams, type FoldData } from '../../src/models/registry.js';
import { loadPlan } from '../../src/pipeline.js';
import { SilentProgress } from '../../src/runtime/progress.js';
import { runPlan } from '../../src/runtime/run.js';
import { Store } from '../../src/runtime/store.js';
import encode from '../../src/steps/encode/index.js';
import train from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';

/**
 * The `autoencoder` feature encoder and the `encode` step, on the wasm backend.
 *
 * Data: p = 10 features that are linear mixtures of r = 3 N(0, 1) factors plus independent
 * N(0, σ²) noise, σ = 0.1, each column then standardised over all rows (as the split step's zscore
 * would). Predicting the mean reconstructs with RMSE 1 (the columns' std). A network that found
 * the 3-dimensional subspace reconstructs a row up to (part of) its noise, whose RMS in scaled
 * units, NOISE_RMS = √(mean_j σ² / sd_j²), is computed from the generator below (≈ 0.16 for this
 * seed); missing one of the three factors would leave on the order of √(1/3) ≈ 0.58. So a val and
 * test RMSE below 0.2, and below 1.5 × NOISE_RMS, means the subspace was learned.
 */

const n = 400;
const p = 10;
const r = 3;
const SIGMA = 0.1;

function lowRank(seed = 3): { X: Float64Array; noiseRms: number; index: Float64Array } {
  const rng = makeRng(seed);
  const B = Array.from({ length: r * p }, () => rng.normal());
  const X = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const f = Array.from({ length: r }, () => rng.normal());
    for (let j = 0; j < p; j++) {
      let v = 0;
      for (let a = 0; a < r; a++) v += f[a] * B[a * p + j];
      X[i * p + j] = v + SIGMA * rng.normal();
    }
  }
  let noise = 0;
  for (let j = 0; j < p; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += X[i * p + j];
    m /= n;
    let s = 0;
    for (let i = 0; i < n; i++) s += (X[i * p + j] - m) ** 2;
    const sd = Math.sqrt(s / n);
    for (let i = 0; i < n; i++) X[i * p + j] = (X[i * p + j] - m) / sd;
    noise += (SIGMA / sd) ** 2;
  }
  const index = Float64Array.from({ length: n }, (_, i) => Date.UTC(2020, 0, 6) + i * 3_600_000);
  return { X, noiseRms: Math.sqrt(noise / p), index };
}

const { X, noiseRms, index } = lowRank();
const SMALL = { latent: 8, hidden: 16, layers: 2, epochs: 40, batch_size: 32, learning_rate: 0.01, patience: 0 };

function foldData(seed: number): FoldData {
  return {
    X,
    n,
    p,
    Y: new Float64Array(n),
    k: 1,
    featureNames: [],
    targetNames: [],
    train: { start: 0, end: 280 },
    val: { start: 280, end: 340 },
    fold: 0,
    seed,
    signal: new AbortController().signal,
    warn: () => {},
    index,
  };
}

const rmse = (state: unknown, start: number, end: number): number => {
  const e = AUTOENCODER.encoder!.reconstructionError(state, X, p, [{ start, end }], index);
  return Math.sqrt(e.sse / e.count);
};

const feats = Array.from({ length: p }, (_, j) => `f${j}`);
const none = { method: 'none' as const, center: new Array<number>(p).fill(0), scale: new Array<number>(p).fill(1) };
function dataset(train = { start: 0, end: 280 }): Dataset {
  const Y = new Float64Array(n);
  for (let i = 0; i < n; i++) Y[i] = 0.001 * X[i * p];
  return {
    type: 'Dataset',
    symbol: 'T',
    timeframe: '1h',
    index,
    featureNames: feats,
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    X,
    Y,
    method: 'temporal',
    folds: [{ train, val: { start: train.end, end: train.end + 60 }, test: { start: train.end + 60, end: n }, scaler: none }],
  };
}

describe('autoencoder on wasm', () => {
  it(`reconstructs a 3-factor signal near its noise floor (val, test RMSE < 0.2 and < 1.5 × noise RMS; baseline 1)`, async () => {
    expect(noiseRms).toBeGreaterThan(0.1);
    expect(noiseRms).toBeLessThan(0.2);
    const f = await AUTOENCODER.fit(foldData(5), resolveModelParams(AUTOENCODER, SMALL));
    expect(f.backend).toBe('wasm');
    const s = f.state as AutoencoderState;
    expect(s.stages.map((x) => [x.q, x.w])).toEqual([
      [10, 16],
      [16, 8],
    ]);
    for (const [a, b] of [
      [280, 340],
      [340, 400],
    ]) {
      const e = rmse(s, a, b);
      expect(e).toBeLessThan(0.2);
      expect(e).toBeLessThan(1.5 * noiseRms);
    }
    const h = s.stages[0].history;
    expect(h[h.length - 1].trainLoss).toBeLessThan(h[0].trainLoss);
  });

  it('is deterministic: a retrain with one seed gives bit-identical weights, another seed differs', async () => {
    const prm = resolveModelParams(AUTOENCODER, { ...SMALL, epochs: 4 });
    const [a, b, c] = [
      (await AUTOENCODER.fit(foldData(11), prm)).state,
      (await AUTOENCODER.fit(foldData(11), prm)).state,
      (await AUTOENCODER.fit(foldData(12), prm)).state,
    ] as AutoencoderState[];
    const bytes = (s: AutoencoderState) =>
      s.stages.flatMap((x) => [x.encW, x.encB, x.decW, x.decB].map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength)));
    bytes(a).forEach((w, i) => expect(w.equals(bytes(b)[i])).toBe(true));
    expect(bytes(a)[0].equals(bytes(c)[0])).toBe(false);
  });
});

describe('train (model: autoencoder) and encode', () => {
  let model: Model;
  const ds = dataset();
  const getModel = async (): Promise<Model> => {
    model ??= await train.run({ dataset: ds }, train.resolve!({ model: 'autoencoder', ...SMALL, layers: 1, epochs: 10 } as never) as never, testContext());
    return model;
  };

  it('the Model records reconstruction RMSE per segment and forecasts nothing', async () => {
    const m = await getModel();
    expect(m.kind).toBe('autoencoder');
    expect(m.targetNames).toEqual([]);
    expect(m.predictions.index).toHaveLength(0);
    expect(m.encoder!.latent).toBe(8);
    expect(m.encoder!.seen).toEqual([{ trainLast: index[279], lastSeen: index[339] }]);
    expect(m.encoder!.rmse.test).toBeCloseTo(rmse(m.state[0], 340, 400), 12);
    const metrics = train.metrics!(m);
    expect(Object.keys(metrics).sort()).toEqual(['recon_rmse_test', 'recon_rmse_train', 'recon_rmse_val']);
    expect(train.summary!(m)).toMatch(/^autoencoder on wasm · 8 latent · reconstruction RMSE train 0\.\d+, val 0\.\d+, test 0\.\d+$/);
  });

  it('append: ae_0…ae_7 after the features, standardised on the training rows; rows, targets and folds untouched', async () => {
    const m = await getModel();
    const out = await encode.run({ model: m, dataset: ds }, { mode: 'append', prefix: 'ae' }, testContext());
    const d = 8;
    expect(out.featureNames).toEqual([...feats, 'ae_0', 'ae_1', 'ae_2', 'ae_3', 'ae_4', 'ae_5', 'ae_6', 'ae_7']);
    expect(out.X).toHaveLength(n * (p + d));
    expect(out.index).toBe(ds.index);
    expect(out.Y).toBe(ds.Y);
    expect(out.targetNames).toEqual(ds.targetNames);
    const { scaler, ...ranges } = out.folds[0];
    const { scaler: _s, ...dsRanges } = ds.folds[0];
    expect(ranges).toEqual(dsRanges);
    expect(scaler.center).toHaveLength(p + d);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) expect(out.X[i * (p + d) + j]).toBe(X[i * p + j]);
    // A latent column by hand: ReLU(((x − mean) / std)·W + b) of the (single) stage, then the
    // training rows' mean and std (the dataset's scaler is `none`: the latent scaler is the identity).
    const st = m.state[0] as AutoencoderState;
    const s0 = st.stages[0];
    const row = 350;
    const j = s0.encB.findIndex((_, c) => out.X[row * (p + d) + p + c] > 0);
    expect(j).toBeGreaterThanOrEqual(0);
    let z = s0.encB[j];
    for (let i = 0; i < p; i++) z += ((X[row * p + i] - s0.mean[i]) / s0.std[i]) * s0.encW[i * 8 + j];
    expect(out.X[row * (p + d) + p + j]).toBeCloseTo(Math.max(0, z), 10);
  });

  it('replace: the latent columns are the only features; a zscore dataset gets zscored latents', async () => {
    const m = await getModel();
    const zs = { ...ds, folds: [{ ...ds.folds[0], scaler: { method: 'zscore' as const, center: none.center, scale: none.scale } }] };
    const out = await encode.run({ model: m, dataset: zs }, { mode: 'replace', prefix: 'z' }, testContext());
    expect(out.featureNames).toEqual(Array.from({ length: 8 }, (_, j) => `z_${j}`));
    expect(out.X).toHaveLength(n * 8);
    for (let j = 0; j < 8; j++) {
      let mean = 0;
      for (let i = 0; i < 280; i++) mean += out.X[i * 8 + j];
      mean /= 280;
      expect(Math.abs(mean)).toBeLessThan(1e-9);
    }
  });

  it('refuses look-ahead, several folds and a forecasting model, saying what to do', async () => {
    const m = await getModel();
    const early = dataset({ start: 0, end: 200 });
    await expect(encode.run({ model: m, dataset: early }, { mode: 'append', prefix: 'ae' }, testContext())).rejects.toThrow(
      /fitted on rows up to .* after this dataset's training rows end/,
    );
    const multi = { ...ds, method: 'walk_forward', folds: [ds.folds[0], ds.folds[0]] };
    await expect(encode.run({ model: m, dataset: multi }, { mode: 'append', prefix: 'ae' }, testContext())).rejects.toThrow(
      /2 folds \(split method `walk_forward`\); encode supports single-fold splits only \(method `temporal`\)/,
    );
    const ridge = await train.run({ dataset: ds }, train.resolve!({ model: 'ridge' } as never) as never, testContext());
    await expect(encode.run({ model: ridge, dataset: ds }, { mode: 'append', prefix: 'ae' }, testContext())).rejects.toThrow(
      /`ridge` model, which forecasts targets/,
    );
    // Encoding an already encoded dataset again needs another prefix.
    const named = ['ae_0', ...feats.slice(1)];
    await expect(
      encode.run({ model: { ...m, featureNames: named }, dataset: { ...ds, featureNames: named } }, { mode: 'append', prefix: 'ae' }, testContext()),
    ).rejects.toThrow(/already has feature column\(s\) ae_0/);
  });
});

describe('pipeline: train autoencoder → encode → train ridge → backtest', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-ae-'));
  let store: Store | undefined;
  afterAll(async () => store?.close());
  const head = `version: 1
name: ae
seed: 7
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 500 }
  features:
    uses: features
    from: candles
    with: { indicators: [ { rsi: { period: 14 } } ], returns: [1, 4, 24], target: { forward_return: { horizons: [1] } } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }
  encoder:
    uses: train
    from: dataset
    with: { model: autoencoder, latent: 3, hidden: 8, epochs: 5, batch_size: 64 }
`;
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('runs end to end: encoder metrics, latent columns, a ridge on them and its backtest', async () => {
    const file = write(
      'ok.yaml',
      `${head}  encoded:
    uses: encode
    from: { model: encoder, dataset: dataset }
    with: { mode: append }
  model:
    uses: train
    from: encoded
    with: { model: ridge }
  report:
    uses: backtest
    from: { model: model, dataset: encoded, candles: candles }
    with: { entry_threshold: 0.0001 }
`,
    );
    const plan = await loadPlan(file);
    store = await Store.open(path.join(dir, '.fxflow'));
    const res = await runPlan(plan, { store, progress: new SilentProgress() });
    expect(res.error?.message, JSON.stringify(res.steps.map((s) => [s.id, s.status, s.error]))).toBeUndefined();
    expect(res.status).toBe('succeeded');
    const by = Object.fromEntries(res.steps.map((s) => [s.id, s]));
    expect(Object.keys(by.encoder.metrics).sort()).toEqual(['recon_rmse_test', 'recon_rmse_train', 'recon_rmse_val']);
    expect(by.encoded.summary).toMatch(/ae_2\)/);
    expect(by.model.metrics).toHaveProperty('val_ic_fwd_ret_1');
    expect(by.report.metrics).toHaveProperty('sharpe');
  });

  it('a backtest of the autoencoder itself is refused at compile time, at its `from.model`', async () => {
    const file = write(
      'bad.yaml',
      `${head}  report:
    uses: backtest
    from: { model: encoder, dataset: dataset, candles: candles }
`,
    );
    const err = await loadPlan(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DiagnosticError);
    const d = (err as DiagnosticError).diagnostics;
    expect(d).toHaveLength(1);
    expect(d[0].message).toBe('step `encoder` trains an autoencoder: it encodes features and makes no forecasts to trade');
    expect(d[0].hint).toContain('add an `encode` step (uses: encode, from: { model: encoder, dataset: <its dataset> })');
    expect(d[0].path).toBe('steps.report.from.model');
    expect(d[0].loc?.line).toBe(
      readFileSync(file, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('from: { model: encoder')) + 1,
    );
  });

  it('encode from a forecasting model is refused at compile time, at its `from.model`', async () => {
    const file = write(
      'ridge.yaml',
      `${head}  ridge:
    uses: train
    from: dataset
    with: { model: ridge }
  encoded:
    uses: encode
    from: { model: ridge, dataset: dataset }
`,
    );
    const err = (await loadPlan(file).then(
      () => undefined,
      (e: unknown) => e,
    )) as DiagnosticError;
    expect(err.diagnostics.map((x) => [x.path, x.message])).toEqual([
      ['steps.encoded.from.model', 'step `ridge` trains `model: ridge`, which forecasts targets; `encode` needs a feature encoder'],
    ]);
  });

  it('encode of a walk-forward split is refused at compile time, naming the supported method', async () => {
    const file = write(
      'wf.yaml',
      `${head.replace('method: temporal, ratios: [0.6, 0.2, 0.2]', 'method: walk_forward, train_bars: 200, val_bars: 50, test_bars: 50')}  encoded:
    uses: encode
    from: { model: encoder, dataset: dataset }
`,
    );
    const err = (await loadPlan(file).then(
      () => undefined,
      (e: unknown) => e,
    )) as DiagnosticError;
    expect(err.diagnostics.map((x) => x.message)).toEqual([
      'split step `dataset` uses `method: walk_forward`, which makes several folds; encode supports single-fold splits only (method `temporal`)',
    ]);
    expect(err.diagnostics[0].path).toBe('steps.encoded.from.dataset');
  });
});
