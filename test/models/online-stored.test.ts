/**
 * The online learner's final state stored in the Model (Model.online, docs/online.md "The stored
 * state") and scored by predict. Oracles: the weighted ridge solved in closed form by the test
 * (helpers/oracles.ts) with the forgetting weights λ^(age) over exactly the rows absorbed; SGD's
 * steps written out here; for gbm the walk forward's own predictions after its last append and the
 * tree counts worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import type { BarPredictions, Candles, Dataset, Features, Fold, Model } from '../../src/core/artifacts.js';
import { sliceFrame } from '../../src/data/frame.js';
import type { GbmFoldState, LinearState } from '../../src/models/kinds.js';
import { getModelKind } from '../../src/models/registry.js';
import { fitRidgeMulti } from '../../src/models/ridge.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { decodeArtifact, encodeArtifact } from '../../src/runtime/codec.js';
import features from '../../src/steps/features/index.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import fetch from '../../src/steps/fetch/index.js';
import { predictBars, type PredictMemory, type SignalParams } from '../../src/steps/predict/core.js';
import split from '../../src/steps/split/index.js';
import train, { type TrainParams } from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';
import { driftingDataset } from '../helpers/drift-data.js';
import { H1, h1PipelineText, trainOnH1 } from '../helpers/h1-model.js';
import { weightedRidge } from '../helpers/oracles.js';

const p = 3;
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

/** max |a − b| / max |b|: the relative difference of two weight vectors. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

/** A linear state's weights of target t as [w₁ … w_p, b]. */
const weightsOf = (s: LinearState, t: number): number[] => [...s.coef[t], s.intercept[t]];

/** n rows of p features, a drifting relation, targets with the given horizons (rows), scaler `none`. */
function dataset(n: number, horizons: number[], folds: Omit<Fold, 'scaler'>[], seed = 11): Dataset {
  return driftingDataset(n, horizons, folds, { seed, shift0: 1, method: 'walk_forward' });
}

// Two folds; the newest one's test rows end at 280, 40 rows before the dataset's end (320).
const N = 320;
const FOLDS = [
  { train: { start: 0, end: 100 }, val: { start: 102, end: 150 }, test: { start: 152, end: 200 } },
  { train: { start: 0, end: 150 }, val: { start: 152, end: 200 }, test: { start: 202, end: 280 } },
];

describe('online: the final state is stored (rls)', () => {
  const ds = dataset(N, [1, 3], FOLDS);
  const k = 2;

  it('λ = 0.98: the newest fold’s stored state is the weighted ridge on every row, weights λ^(age), penalty α·λ^u', async () => {
    const alpha = 2;
    const lam = 0.98;
    const model = await train.run({ dataset: ds }, { model: 'ridge', alpha, online: { method: 'rls', forgetting: lam } } as TrainParams, testContext());
    const te = FOLDS[1].train.end;
    const u = N - te; // rows absorbed after the training rows: the walk's, then the 40 after the test rows
    expect(model.online).toMatchObject({ fold: 1, rows: u, through: ds.index[N - 1] });
    const rows = range(0, N);
    // The training rows count as one block as of their last row (weight λ^u each); row r ≥ te is λ^(N − 1 − r) old.
    const weights = rows.map((r) => (r < te ? lam ** u : lam ** (N - 1 - r)));
    const stored = model.online!.state as LinearState;
    for (let t = 0; t < k; t++)
      expect(relDiff(weightsOf(stored, t), weightedRidge(ds.X, p, ds.Y, k, t, rows, weights, alpha * lam ** u))).toBeLessThanOrEqual(1e-9);
    // The folds' states stay the batch fits; only the newest fold has a final online state.
    const batch = fitRidgeMulti(ds.X, N, p, ds.Y, k, alpha, true, FOLDS[1].train);
    expect(relDiff(weightsOf(model.state[1] as LinearState, 0), [...batch.coef[0], batch.intercept[0]])).toBeLessThanOrEqual(1e-12);
    expect(relDiff(weightsOf(stored, 0), weightsOf(model.state[1] as LinearState, 0))).toBeGreaterThan(1e-3);
  });

  it('λ = 1: the stored state is a plain ridge refitted on every row up to the last known one', async () => {
    const alpha = 0.5;
    const model = await train.run({ dataset: ds }, { model: 'ridge', alpha, online: { method: 'rls', forgetting: 1 } } as TrainParams, testContext());
    const refit = fitRidgeMulti(ds.X, N, p, ds.Y, k, alpha, true, { start: 0, end: N });
    const stored = model.online!.state as LinearState;
    for (let t = 0; t < k; t++) {
      expect(relDiff(weightsOf(stored, t), [...refit.coef[t], refit.intercept[t]])).toBeLessThanOrEqual(1e-9);
      expect(relDiff(weightsOf(stored, t), weightedRidge(ds.X, p, ds.Y, k, t, range(0, N), new Array<number>(N).fill(1), alpha))).toBeLessThanOrEqual(1e-9);
    }
  });

  it('a model without `online:` stores none', async () => {
    const model = await train.run({ dataset: ds }, { model: 'ridge', alpha: 1 } as TrainParams, testContext());
    expect(model.online).toBeUndefined();
    expect(train.version).toBe(4);
  });
});

describe('online: the final state is stored (sgd)', () => {
  it('the logistic weights after SGD steps on every row after the training rows, from the batch fit', async () => {
    const ds = dataset(N, [1], FOLDS);
    const spec = { method: 'sgd', learning_rate: 0.05, schedule: 'invscaling', power: 0.5 } as const;
    const model = await train.run({ dataset: ds }, { model: 'logistic', alpha: 1, online: spec } as TrainParams, testContext());
    const batch = await train.run({ dataset: ds }, { model: 'logistic', alpha: 1 } as TrainParams, testContext());
    const te = FOLDS[1].train.end;
    // The steps, written out: η_t = η₀/√(t + 1), l2 = α / training rows (the default), label = target > 0.
    const start = batch.state[1] as LinearState;
    const w = [...start.coef[0]];
    let b = start.intercept[0];
    const l2 = 1 / te;
    for (let r = te, t = 0; r < N; r++, t++) {
      const eta = 0.05 / Math.sqrt(t + 1);
      let z = b;
      for (let j = 0; j < p; j++) z += ds.X[r * p + j] * w[j];
      const g = 1 / (1 + Math.exp(-z)) - (ds.Y[r] > 0 ? 1 : 0);
      for (let j = 0; j < p; j++) w[j] -= eta * (g * ds.X[r * p + j] + l2 * w[j]);
      b -= eta * g;
    }
    const stored = model.online!.state as LinearState;
    expect(stored.link).toBe('logistic');
    expect(relDiff(weightsOf(stored, 0), [...w, b])).toBeLessThanOrEqual(1e-12);
    expect(model.state[1]).toEqual(batch.state[1]);
  });
});

describe('online: the final state is stored (gbm append)', () => {
  const ds = dataset(600, [1, 2], [{ train: { start: 0, end: 200 }, val: { start: 200, end: 300 }, test: { start: 300, end: 600 } }]);
  const full = (online: object): TrainParams =>
    train.resolve!({
      model: 'gbm',
      n_estimators: 40,
      learning_rate: 0.2,
      max_depth: 3,
      early_stopping_rounds: 0,
      threads: 1,
      online,
    } as unknown as TrainParams);
  const trees = (s: unknown, t: number): number => (s as GbmFoldState).targets[t].trees.length;

  it('the stored ensembles are those after the last append: they score the newest rows as the walk did, bit for bit', async () => {
    // Delay 2: the walk absorbs rows 200…597 (398 rows: appends at 60, 120, …, 360 known rows), the
    // end of the data rows 598 and 599 (400 known: no append). The 6th append absorbs row 559,
    // known at row 561: rows 561…599 were scored with the final ensembles.
    const model = await train.run({ dataset: ds }, full({ method: 'append', every: 60, trees: 10, window: 150, max_trees: 200 }), testContext());
    const stored = model.online!.state;
    for (let t = 0; t < 2; t++) expect(trees(stored, t)).toBe(trees(model.state[0], t) + 6 * 10);
    const kind = getModelKind('gbm')!;
    const rows = range(560, 600);
    const X = new Float64Array(rows.length * p);
    rows.forEach((r, i) => X.set(ds.X.subarray(r * p, r * p + p), i * p));
    const out = kind.predict(stored, X, rows.length, p, ds.index.subarray(560, 600));
    const at = (r: number): number => Array.from(model.predictions.index).indexOf(ds.index[r]);
    ds.targetNames.forEach((name, t) => {
      for (const r of range(561, 600)) expect(out[t][r - 560], `row ${r}`).toBe(model.predictions.values[name][at(r)]);
      // Row 560 was scored before the last append.
      expect(out[t][0]).not.toBe(model.predictions.values[name][at(560)]);
    });
  });

  it('the stored model round-trips through the store’s codec (typed arrays of the trees included)', async () => {
    const model = await train.run({ dataset: ds }, full({ method: 'append', every: 60, trees: 10, window: 150, max_trees: 200 }), testContext());
    const back = decodeArtifact(encodeArtifact(model)) as Model;
    expect(back.online).toEqual(model.online);
    expect(back.online!.state).not.toEqual(back.state[0]);
  });

  it('rows known only at the end of the data can complete an append', async () => {
    // every 50: the walk's 398 rows give 7 appends; rows 598 and 599 make 400 known rows, the 8th.
    const model = await train.run({ dataset: ds }, full({ method: 'append', every: 50, trees: 10, window: 150, max_trees: 200 }), testContext());
    for (let t = 0; t < 2; t++) expect(trees(model.online!.state, t)).toBe(trees(model.state[0], t) + 8 * 10);
  });
});

// predict on real bars: the stored state is what scores them.
const setup = (modelFor: (dataset: Dataset) => string) => trainOnH1(modelFor);

const SIGNAL: SignalParams = { rule: 'sign', holding: 'bar' } as SignalParams;

/** predict's value of each bar, by timestamp. */
const byTs = (b: BarPredictions, target: string): Map<number, number> => new Map(Array.from(b.index, (ts, i) => [ts, b.values[target][i]]));

describe.skipIf(!H1)('online: predict scores with the stored state (EURUSD H1 2019)', () => {
  it('rls λ = 0.999: predictions equal the closed-form weighted ridge’s; a model stored without the field scores with the batch fit', async () => {
    const lam = 0.999;
    const { candles, fp, dataset, model, fit } = await setup(() => `{ model: ridge, alpha: 1, online: { method: rls, forgetting: ${lam} } }`);
    const n = dataset.index.length;
    const pp = dataset.featureNames.length;
    const k = dataset.targetNames.length;
    const te = dataset.folds[0].train.end;
    const u = n - te;
    const rows = range(0, n);
    const weights = rows.map((r) => (r < te ? lam ** u : lam ** (n - 1 - r)));
    const oracle = dataset.targetNames.map((_, t) => weightedRidge(dataset.X, pp, dataset.Y, k, t, rows, weights, 1 * lam ** u));
    const stored = model.online!.state as LinearState;
    for (let t = 0; t < k; t++) expect(relDiff(weightsOf(stored, t), oracle[t])).toBeLessThanOrEqual(1e-9);

    // The newest bars, 4 of them past the dataset's end (their 4-bar targets are not known yet), scaled as the split step does.
    const got = await predictBars(model, candles, { features: fp, signal: SIGNAL }, testContext());
    const raw = (await features.run({ candles }, { ...fp, target: {} }, testContext())) as Features;
    const sc = model.scalers![0];
    const m = raw.index.length;
    expect(raw.index[m - 1]).toBeGreaterThan(dataset.index[n - 1]);
    const batch = model.state[0] as LinearState;
    for (let t = 0; t < k; t++) {
      const name = dataset.targetNames[t];
      const pred = byTs(got, name);
      let worst = 0;
      let apart = 0;
      let rms = 0;
      const last = range(m - 50, m);
      const zs = last.map((i) => {
        let z = oracle[t][pp];
        let zb = batch.intercept[t];
        dataset.featureNames.forEach((f, j) => {
          const x = (raw.columns[f][i] - sc.center[j]) / sc.scale[j];
          z += x * oracle[t][j];
          zb += x * batch.coef[t][j];
        });
        rms += z * z;
        apart = Math.max(apart, Math.abs(zb - z));
        return z;
      });
      rms = Math.sqrt(rms / last.length);
      last.forEach((i, a) => (worst = Math.max(worst, Math.abs(pred.get(raw.index[i])! - zs[a]) / Math.max(Math.abs(zs[a]), rms))));
      expect(worst).toBeLessThanOrEqual(1e-9);
      // Not the batch fit's predictions: those are far off.
      expect(apart / rms).toBeGreaterThan(1e-3);
    }

    // Stored before Model.online existed: the batch fit scores, as a model trained without `online:` does, bit for bit.
    const { online: _dropped, ...old } = model;
    const plain = await fit('{ model: ridge, alpha: 1 }');
    const a = await predictBars(old, candles, { features: fp, signal: SIGNAL }, testContext());
    const b = await predictBars(plain, candles, { features: fp, signal: SIGNAL }, testContext());
    expect(Array.from(a.values.fwd_ret_1)).toEqual(Array.from(b.values.fwd_ret_1));
    // The followed path tells the two apart (the model's identity includes the state it scores with).
    const memory: PredictMemory = {};
    await predictBars(old, candles, { features: fp, signal: SIGNAL }, testContext(), memory);
    const followed = await predictBars(model, candles, { features: fp, signal: SIGNAL }, testContext(), memory);
    expect(Array.from(followed.values.fwd_ret_4)).toEqual(Array.from(got.values.fwd_ret_4));
  }, 120_000);

  it('gbm append: predict scores the bars after the last append as the walk forward did, bit for bit', async () => {
    let every = 0;
    let firstFinal = 0;
    const { candles, fp, model } = await setup((d) => {
      const n = d.index.length;
      const te = d.folds[0].train.end;
      const delay = 4;
      // An append period whose last append happens in the walk (not at the end of the data), ≥ 50 rows before the end.
      for (every = 400; ; every++) {
        const K = every * Math.floor((n - te) / every);
        if (K <= n - delay - te && n - (te + K - 1 + delay) >= 50) {
          firstFinal = te + K - 1 + delay;
          break;
        }
      }
      firstFinal = d.index[firstFinal];
      return `{ model: gbm, n_estimators: 30, max_depth: 3, learning_rate: 0.05, early_stopping_rounds: 0, threads: 1, online: { method: append, every: ${every}, trees: 5, window: 2000, max_trees: 300 } }`;
    });
    const got = await predictBars(model, candles, { features: fp, signal: SIGNAL }, testContext());
    const pr = model.predictions;
    for (const name of model.targetNames) {
      const pred = byTs(got, name);
      let compared = 0;
      let before = 0;
      for (let i = 0; i < pr.index.length; i++) {
        if (pr.index[i] >= firstFinal) {
          expect(pred.get(pr.index[i]), `${name} at ${new Date(pr.index[i]).toISOString()}`).toBe(pr.values[name][i]);
          compared++;
        } else if (pr.segment[i] === 2 && pred.get(pr.index[i]) !== pr.values[name][i]) before++;
      }
      expect(compared).toBeGreaterThanOrEqual(50);
      // Earlier test rows were scored by smaller ensembles.
      expect(before).toBeGreaterThan(0);
    }
  }, 120_000);
});

describe.skipIf(!H1)('online: predict scores with the fine-tuned network (EURUSD H1 2019)', () => {
  it('mlp finetune: predict scores the bars after the last update as the walk forward did, bit for bit', async () => {
    let every = 0;
    let firstFinal = 0;
    const { candles, fp, model } = await setup((d) => {
      const n = d.index.length;
      const te = d.folds[0].train.end;
      const delay = 4;
      // An update period whose last update happens in the walk (none at the end of the data), ≥ 50 rows before the end.
      for (every = 400; ; every++) {
        const K = every * Math.floor((n - te) / every);
        if (K <= n - delay - te && n - (te + K - 1 + delay) >= 50) {
          firstFinal = te + K - 1 + delay;
          break;
        }
      }
      firstFinal = d.index[firstFinal];
      return `{ model: mlp, lookback: 4, hidden: 8, layers: 1, epochs: 2, batch_size: 64, online: { method: finetune, every: ${every}, steps: 5, window: 1000 } }`;
    });
    const got = await predictBars(model, candles, { features: fp, signal: SIGNAL }, testContext());
    const pr = model.predictions;
    for (const name of model.targetNames) {
      const pred = byTs(got, name);
      let compared = 0;
      let before = 0;
      for (let i = 0; i < pr.index.length; i++) {
        if (pr.index[i] >= firstFinal) {
          expect(pred.get(pr.index[i]), `${name} at ${new Date(pr.index[i]).toISOString()}`).toBe(pr.values[name][i]);
          compared++;
        } else if (pr.segment[i] === 2 && pred.get(pr.index[i]) !== pr.values[name][i]) before++;
      }
      expect(compared).toBeGreaterThanOrEqual(50);
      // Earlier test rows were scored by earlier weights.
      expect(before).toBeGreaterThan(0);
    }
  }, 120_000);
});

describe.skipIf(!H1)('online: resuming on bars after the data (EURUSD H1 2019)', () => {
  for (const [label, yaml, what, every, unit] of [
    ['rls λ = 0.999', '{ model: ridge, alpha: 1, online: { method: rls, forgetting: 0.999 } }', 'rls', 0, ''],
    ['sgd', '{ model: logistic, alpha: 1, online: { method: sgd, learning_rate: 0.02, schedule: invscaling } }', 'sgd', 0, ''],
    // ~2,500 walked rows: ~40 appends, the cap (80 trees) reached and pruned; 3 or 4 appends on the 200 later rows. Subsampled: the seeds count.
    [
      'gbm append (pruned at the cap)',
      '{ model: gbm, n_estimators: 40, max_depth: 3, subsample: 0.8, colsample: 0.7, online: { method: append, every: 60, trees: 5, window: 400, max_trees: 80, prune: true } }',
      'gbm appends',
      60,
      'appends',
    ],
    // Fine-tuning on wasm/cpu is deterministic (its batches drawn from (seed, update)): the same bits as the walk's.
    [
      'mlp finetune',
      '{ model: mlp, lookback: 4, hidden: 8, layers: 1, epochs: 2, batch_size: 64, online: { method: finetune, every: 60, steps: 5, window: 300 } }',
      'fine-tuned network',
      60,
      'fine-tuning updates',
    ],
  ] as const) {
    it(`${label}: the bars after the data are scored as the train step's walk over the longer series, bit for bit; followed = afresh`, async () => {
      const spec = parsePipelineText(h1PipelineText(yaml), '/tmp/os.yaml').spec!;
      const w = (id: string): never => spec.steps.find((s) => s.id === id)!.with as never;
      const ctx = testContext();
      const all = (await fetch.run({}, w('c'), ctx)) as Candles;
      const extra = 200;
      const candles = sliceFrame(all, 0, all.index.length - extra);
      const fp = features.resolve!(w('f')) as FeaturesParams;
      const ds1 = (await split.run({ features: (await features.run({ candles }, fp, ctx)) as Features }, w('d'), ctx)) as Dataset;
      const params = train.resolve!(w('m'));
      const model = (await train.run({ dataset: ds1 }, params, ctx)) as Model;
      expect(model.online?.resume).toBeDefined();

      // The longer series as the train step would see it with the same fold: the same rows, the same
      // scaler (scaled here), the test segment running to the new dataset's end.
      const f2 = (await features.run({ candles: all }, fp, ctx)) as Features;
      const n2 = f2.index.length;
      const n1 = ds1.index.length;
      expect(f2.index[0]).toBe(ds1.index[0]);
      const p = ds1.featureNames.length;
      const k = ds1.targetNames.length;
      const sc = ds1.folds[0].scaler;
      const X2 = new Float64Array(n2 * p);
      const Y2 = new Float64Array(n2 * k);
      for (let r = 0; r < n2; r++) {
        ds1.featureNames.forEach((name, j) => (X2[r * p + j] = (f2.columns[name][r] - sc.center[j]) / sc.scale[j]));
        ds1.targetNames.forEach((name, t) => (Y2[r * k + t] = f2.columns[name][r]));
      }
      const fold = { ...ds1.folds[0], test: { start: ds1.folds[0].test.start, end: n2 } };
      const longer = (await train.run({ dataset: { ...ds1, index: f2.index, X: X2, Y: Y2, raw: undefined, folds: [fold] } }, params, ctx)) as Model;
      const walked = (ts: number, name: string): number | undefined => {
        const i = Array.from(longer.predictions.index).indexOf(ts);
        return i < 0 ? undefined : longer.predictions.values[name][i];
      };

      const req = { features: fp, signal: SIGNAL };
      const afresh = await predictBars(model, all, req, testContext());
      // Row D (the data's last) + H (4): the first bar the walk scores after the data.
      const D = Array.from(afresh.index).indexOf(ds1.index[n1 - 1]);
      const final = await predictBars(model, candles, req, testContext());
      let compared = 0;
      for (const name of ds1.targetNames) {
        afresh.index.forEach((ts, i) => {
          if (i <= D + 4) expect(afresh.values[name][i], `final state at ${i}`).toBe(final.values[name][i]);
          else if (ts <= f2.index[n2 - 1]) {
            expect(afresh.values[name][i], `walked at ${new Date(ts).toISOString()}`).toBe(walked(ts, name));
            compared++;
          }
        });
      }
      expect(compared).toBeGreaterThan(2 * (extra - 20));
      // Through the store's codec (the learner state's typed arrays and nulls): the same bits.
      const stored = await predictBars(decodeArtifact<Model>(encodeArtifact(model)), all, req, testContext());
      for (const name of ds1.targetNames) expect(Array.from(stored.values[name])).toEqual(Array.from(afresh.values[name]));
      // Without the learner state (gbm; a model stored before it was kept): the final state scores every bar, with a note.
      // The note: the rows absorbed after the data (targets known: r + 4 ≤ the last row), and the updates they completed.
      const absorbed = afresh.index.length - 1 - 4 - D;
      const note = afresh.notes.find((m) => m.includes('goes on learning'));
      expect(note).toContain(
        `(${what}) goes on learning on the bars after ${new Date(ds1.index[n1 - 1]).toISOString().slice(0, 16).replace('T', ' ')}: ${absorbed} later rows absorbed`,
      );
      if (every) {
        const appends = Math.floor((((n1 - ds1.folds[0].train.end) % every) + absorbed) / every);
        expect(appends).toBeGreaterThanOrEqual(3);
        expect(note).toContain(`, ${appends} ${unit} made on them`);
      }
      const still = await predictBars({ ...model, online: { ...model.online!, resume: undefined } }, all, req, testContext());
      expect(still.notes.join('\n')).toMatch(/not resumed on the bars after .*: they are scored with its final state/);
      const rows = range(n1 + 10, n2);
      // Every row scored (a network's windows reach back), the later ones compared.
      const byFinal = getModelKind(model.kind)!.predict(model.online!.state, X2, n2, p, f2.index);
      const at = Array.from(still.index).indexOf(f2.index[rows[0]]);
      ds1.targetNames.forEach((name, t) => {
        rows.forEach((r, i) => expect(still.values[name][at + i]).toBe(byFinal[t][r]));
        expect(Array.from(still.values[name].subarray(at, at + rows.length))).not.toEqual(Array.from(afresh.values[name].subarray(at, at + rows.length)));
      });

      // Followed bar by bar and in slices from the data's end: each equal to afresh.
      const memory: PredictMemory = {};
      for (const n of [all.index.length - extra, all.index.length - extra + 1, all.index.length - extra + 2, all.index.length - extra + 7, all.index.length]) {
        const bars = sliceFrame(all, 0, n);
        const followed = await predictBars(model, bars, req, testContext(), memory);
        const fresh = await predictBars(model, bars, req, testContext());
        for (const name of ds1.targetNames) expect(Array.from(followed.values[name])).toEqual(Array.from(fresh.values[name]));
      }
    }, 180_000);
  }
});
