import { describe, expect, it } from 'vitest';
import type { Dataset, Fold } from '../../src/core/artifacts.js';
import { encodeArtifact } from '../../src/runtime/codec.js';
import { makeRng } from '../../src/data/rng.js';
import { exportedJson, predict, toExported, type ExportedModel } from '../../src/models/predict.js';
import { getModelKind, modelKinds } from '../../src/models/registry.js';
import { compile } from '../../src/compiler/index.js';
import type { Diagnostic } from '../../src/core/diagnostics.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { builtinRegistry } from '../../src/steps/index.js';
import train, { type TrainParams, type LinearState } from '../../src/steps/train/index.js';
import { loadPipelineSchema } from '../../src/parser/validate.js';
import { testContext } from '../helpers/ctx.js';

const H = 3_600_000;
const T0 = Date.UTC(2022, 2, 7);

/**
 * n rows of 3 raw features, scaled per fold by its scaler (center c, scale s: x' = (x − c)/s), and
 * two targets: y1 = sin(x0) + x1·x2-ish nonlinear signal, y2 = a linear one.
 */
function dataset(n: number, folds: Omit<Fold, 'scaler'>[], center = [1, -2, 0.5], scale = [2, 0.5, 1]): { ds: Dataset; raw: number[][] } {
  const rng = makeRng(99);
  const p = 3;
  const raw: number[][] = [];
  const X = new Float64Array(n * p);
  const Y = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const z = [rng.normal(), rng.normal(), rng.normal()];
    raw.push(z.map((v, j) => v * scale[j] + center[j]));
    for (let j = 0; j < p; j++) X[i * p + j] = z[j];
    Y[i * 2] = Math.sin(2 * z[0]) + (z[1] > 0 ? z[2] : 0) + 0.1 * rng.normal();
    Y[i * 2 + 1] = 0.5 * z[0] - z[2] + 0.1 * rng.normal();
  }
  return {
    raw,
    ds: {
      type: 'Dataset',
      symbol: 'EURUSD',
      timeframe: '1h',
      index: Float64Array.from({ length: n }, (_, i) => T0 + i * H),
      featureNames: ['a', 'b', 'c'],
      targetNames: ['fwd_ret_1', 'fwd_ret_4'],
      targetHorizons: [1, 4],
      X,
      Y,
      method: 'walk_forward',
      folds: folds.map((f) => ({ ...f, scaler: { method: 'zscore', center, scale } })),
    },
  };
}

const WF = [
  { train: { start: 0, end: 300 }, val: { start: 304, end: 400 }, test: { start: 404, end: 500 } },
  { train: { start: 100, end: 400 }, val: { start: 404, end: 500 }, test: { start: 504, end: 600 } },
];

/** Diagnostics of a pipeline whose train step has `with: <trainWith>`: the schema's, then the compiler's (check()). */
function trainDiagnostics(trainWith: string): Diagnostic[] {
  const text = `version: 1\nname: t\nsteps:\n  c: { uses: fetch, with: { bars: 500 } }\n  f: { uses: features, from: c }\n  d: { uses: split, from: f }\n  m: { uses: train, from: d, with: ${trainWith} }\n`;
  const parsed = parsePipelineText(text, '/tmp/t.yaml', { displayFile: 't.yaml' });
  if (parsed.diagnostics.length || !parsed.spec) return parsed.diagnostics;
  return compile(parsed.spec, builtinRegistry()).diagnostics;
}

describe('train step: params', () => {
  // Which params a kind takes is the schema's (TrainParams is a union discriminated on `model`):
  // the parser reports a parameter of another kind at its key, naming the kinds it belongs to.
  it('a parameter of another model is a located error naming which params each model takes', () => {
    const issues = trainDiagnostics('{ model: gbm, alpha: 1 }');
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe('steps.m.with.alpha');
    expect(issues[0].loc).toMatchObject({ file: 't.yaml', line: 7, col: 50 });
    expect(issues[0].message).toContain('`alpha` is not a parameter of `model: gbm`');
    expect(issues[0].message).toContain('ridge');
    expect(issues[0].hint).toContain('gbm takes n_estimators, learning_rate, max_depth');
    expect(issues[0].hint).toContain('ridge: alpha');
  });

  it('an unknown model is one error at `model:` with a suggestion (not also the union’s own complaint)', () => {
    const issues = trainDiagnostics('{ model: gbmm }');
    expect(issues.map((d) => [d.path, d.loc?.line, d.loc?.col, d.hint])).toEqual([['steps.m.with.model', 7, 45, 'did you mean `gbm`?']]);
    // A key no kind takes: worded like any unknown parameter, a suggestion among the chosen kind's own params.
    expect(trainDiagnostics('{ model: ridge, alpah: 1 }').map((d) => [d.message, d.hint])).toEqual([
      ['unknown parameter `alpah` of step `m` (train)', 'did you mean `alpha`?'],
    ]);
  });

  it('accepts each model with its own params; lasso rejects l1_ratio; lossguide needs a bound', () => {
    expect(trainDiagnostics('{ model: ridge, alpha: 2 }')).toEqual([]);
    expect(trainDiagnostics('{ model: gbm, max_depth: 4, learning_rate: 0.1 }')).toEqual([]);
    expect(trainDiagnostics('{ model: elastic_net, alpha: 0.1, l1_ratio: 0.3 }')).toEqual([]);
    expect(trainDiagnostics('{ model: lasso, l1_ratio: 0.3 }').map((d) => d.path)).toEqual(['steps.m.with.l1_ratio']);
    // A cross-field check (the kind's check()), on the params with the kind's defaults filled in.
    expect(trainDiagnostics('{ model: gbm, growth: lossguide, max_depth: 0 }').map((d) => d.path)).toEqual(['steps.m.with.max_leaves']);
  });

  it('fills each kind’s own defaults: the kind-dependent ones differ between kinds', () => {
    const withOf = (w: string): Record<string, unknown> => {
      const text = `version: 1\nname: t\nsteps:\n  m: { uses: train, with: ${w} }\n`;
      return parsePipelineText(text, '/tmp/t.yaml').spec!.steps[0].with;
    };
    // Values from the kinds' documented defaults (scikit-learn Ridge α = 1; Lasso α here 1e-4).
    expect(withOf('{}')).toEqual({ model: 'ridge', alpha: 1 });
    expect(withOf('{ model: lasso }')).toEqual({ model: 'lasso', alpha: 0.0001 });
    expect(withOf('{ model: gbm }')).toMatchObject({ n_estimators: 200, max_depth: 6 });
    expect(withOf('{ model: random_forest }')).toMatchObject({ n_estimators: 100, max_depth: 8 });
    expect(withOf('{ model: random_forest }')).not.toHaveProperty('learning_rate');
    expect(withOf('{ model: mlp }')).toMatchObject({ lookback: 8, hidden: 64, layers: 2, learning_rate: 0.001 });
    expect(withOf('{ model: autoencoder }')).toMatchObject({ lookback: 1, layers: 2, epochs: 30, learning_rate: 0.003, latent: 8 });
    // device's default is the pipeline's (resolve()), so the schema leaves it out.
    expect(withOf('{ model: lstm }')).not.toHaveProperty('device');
  });

  it('the schema’s per-kind defaults are the model kinds’ own', () => {
    // The model kinds (src/models) fit with their `defaults` when called as a library; a pipeline
    // gets the schema's. Both come from TrainParams' @default tags (src/models/defaults.generated.ts).
    const train = (loadPipelineSchema().$defs as Record<string, { oneOf: { properties: Record<string, { const?: string; default?: unknown }> }[] }>)[
      'params.train'
    ];
    for (const branch of train.oneOf) {
      const name = branch.properties.model.const!;
      const fromSchema = Object.fromEntries(
        Object.entries(branch.properties)
          .filter(([k, v]) => k !== 'model' && v.default !== undefined)
          .map(([k, v]) => [k, v.default]),
      );
      const { device: _device, ...own } = getModelKind(name)!.defaults;
      expect([name, fromSchema]).toEqual([name, own]);
      // `online:`, `by_regime` and `explain` are the train step's own (how val/test rows are scored, which rows fit which model, what is measured after), not a kind's parameters.
      expect(
        Object.keys(branch.properties)
          .filter((k) => k !== 'model' && k !== 'online' && k !== 'by_regime' && k !== 'explain')
          .sort(),
      ).toEqual(Object.keys(getModelKind(name)!.defaults).sort());
    }
  });

  it('every kind in the params union is registered and vice versa', () => {
    // The `model:` values the schema (generated from TrainParams) accepts, against the registry.
    const defs = loadPipelineSchema().$defs as Record<string, { properties: { model: { enum: string[] } } }>;
    const accepted = [...defs['params.train'].properties.model.enum].sort();
    expect(
      modelKinds()
        .map((k) => k.name)
        .sort(),
    ).toEqual(accepted);
    expect(accepted).toEqual(
      expect.arrayContaining(['ridge', 'ols', 'lasso', 'elastic_net', 'logistic', 'gbm', 'random_forest', 'mlp', 'lstm', 'gru', 'tcn', 'transformer']),
    );
  });
});

describe('train step: folds, horizons, outputs', () => {
  it('ridge: one fit per walk-forward fold on that fold’s training rows only', async () => {
    const { ds } = dataset(600, WF);
    const model = await train.run({ dataset: ds }, { model: 'ols' }, testContext());
    expect(model.state).toHaveLength(2);
    // Fold 1's coefficients of fwd_ret_4 are the OLS of rows 100..399, solved here independently
    // by the normal equations (with intercept) of that slice.
    const st = model.state[1] as LinearState;
    const rows = Array.from({ length: 300 }, (_, i) => 100 + i);
    const A = [...Array(4)].map(() => new Array<number>(4).fill(0));
    const b = new Array<number>(4).fill(0);
    for (const r of rows) {
      const x = [1, ds.X[r * 3], ds.X[r * 3 + 1], ds.X[r * 3 + 2]];
      for (let i = 0; i < 4; i++) {
        b[i] += x[i] * ds.Y[r * 2 + 1];
        for (let j = 0; j < 4; j++) A[i][j] += x[i] * x[j];
      }
    }
    // Gaussian elimination with partial pivoting.
    for (let c = 0; c < 4; c++) {
      let piv = c;
      for (let r = c + 1; r < 4; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
      [A[c], A[piv]] = [A[piv], A[c]];
      [b[c], b[piv]] = [b[piv], b[c]];
      for (let r = c + 1; r < 4; r++) {
        const f = A[r][c] / A[c][c];
        for (let k = c; k < 4; k++) A[r][k] -= f * A[c][k];
        b[r] -= f * b[c];
      }
    }
    const w = new Array<number>(4).fill(0);
    for (let i = 3; i >= 0; i--) {
      let s = b[i];
      for (let k = i + 1; k < 4; k++) s -= A[i][k] * w[k];
      w[i] = s / A[i][i];
    }
    expect(st.intercept[1]).toBeCloseTo(w[0], 10);
    st.coef[1].forEach((c, j) => expect(c).toBeCloseTo(w[j + 1], 10));
    // Predictions: fold 0's val+test then fold 1's, with fold numbers and segments.
    const pr = model.predictions;
    expect(pr.index.length).toBe(96 + 96 + 96 + 96);
    expect(Array.from(pr.fold.slice(0, 192)).every((f) => f === 0)).toBe(true);
    expect(Array.from(pr.fold.slice(192)).every((f) => f === 1)).toBe(true);
    expect(pr.segment[0]).toBe(1);
    expect(pr.segment[96]).toBe(2);
    expect(model.foldMetrics).toHaveLength(2);
    expect(model.testMetrics).toHaveLength(2);
    expect(model.scalers).toHaveLength(2);
    expect(model.importance).toBeUndefined();
    expect(model.params).toEqual({ model: 'ols' });
  });

  it('gbm: multi-horizon, per fold, gain importances, bit-identical for the same seed', async () => {
    const { ds } = dataset(600, WF);
    const prm = train.resolve!({ model: 'gbm', n_estimators: 30, max_depth: 3, learning_rate: 0.2, subsample: 0.8 } as TrainParams);
    const a = await train.run({ dataset: ds }, prm, testContext({ seed: 1 }));
    const b = await train.run({ dataset: ds }, prm, testContext({ seed: 1 }));
    const c = await train.run({ dataset: ds }, prm, testContext({ seed: 2 }));
    expect(Buffer.from(encodeArtifact(a)).equals(Buffer.from(encodeArtifact(b)))).toBe(true);
    expect(Buffer.from(encodeArtifact(a)).equals(Buffer.from(encodeArtifact(c)))).toBe(false);
    expect(a.params).toMatchObject({ model: 'gbm', n_estimators: 30, max_depth: 3, reg_lambda: 1, early_stopping_rounds: 20 });
    expect(a.importance!.map((i) => i.target)).toEqual(['fwd_ret_1', 'fwd_ret_4']);
    // fwd_ret_4 = 0.5·a − c + noise: feature b carries nothing, c the most.
    const imp4 = a.importance![1].values;
    expect(imp4[2]).toBeGreaterThan(imp4[0]);
    expect(imp4[0]).toBeGreaterThan(imp4[1]);
    // It learns the nonlinear target: validation IC well above 0 for both horizons.
    for (const h of a.valMetrics) expect(h.ic).toBeGreaterThan(0.5);
  });

  it('logistic: predictions are P(up) − P(not up) in (−1, 1) with the direction right most of the time', async () => {
    const { ds } = dataset(600, WF);
    const m = await train.run({ dataset: ds }, { model: 'logistic', alpha: 1 }, testContext());
    const v = m.predictions.values.fwd_ret_4;
    expect(v.every((x) => x > -1 && x < 1)).toBe(true);
    expect(m.valMetrics[1].directionalAccuracy).toBeGreaterThan(0.8);
  });
});

describe('predict API', () => {
  for (const prm of [
    { model: 'ridge', alpha: 0.5 },
    { model: 'gbm', n_estimators: 20, max_depth: 3 },
    { model: 'random_forest', n_estimators: 5, max_depth: 4 },
  ] as TrainParams[]) {
    it(`${prm.model}: scoring raw rows (scaler applied) reproduces the step’s test predictions, also after a JSON export`, async () => {
      const { ds, raw } = dataset(600, WF);
      const model = await train.run({ dataset: ds }, train.resolve!(prm), testContext());
      const testRows = Array.from({ length: 96 }, (_, i) => 504 + i); // fold 1's test rows
      const viaArtifact = predict(
        model,
        testRows.map((r) => raw[r]),
      );
      const exported = JSON.parse(exportedJson(toExported(model, { key: 'k' }))) as ExportedModel;
      const viaJson = predict(exported, { a: testRows.map((r) => raw[r][0]), b: testRows.map((r) => raw[r][1]), c: testRows.map((r) => raw[r][2]) });
      const stepPred = model.predictions.values.fwd_ret_1.slice(96 * 3); // fold 1's test block
      for (let i = 0; i < 96; i++) {
        expect(viaArtifact.fwd_ret_1[i]).toBeCloseTo(stepPred[i], 12);
        expect(viaJson.fwd_ret_1[i]).toBeCloseTo(stepPred[i], 12);
      }
      expect(() => predict(exported, [[1, 2]])).toThrow(/takes 3 features/);
      expect(() => predict(exported, [[1, 2, 3]], { fold: 5 })).toThrow(/fold 5/);
    });
  }
});
