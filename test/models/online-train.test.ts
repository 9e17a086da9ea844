import { describe, expect, it } from 'vitest';
import type { Dataset, Fold, Model } from '../../src/core/artifacts.js';
import { RunError, type Diagnostic } from '../../src/core/diagnostics.js';
import { compile } from '../../src/compiler/index.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { builtinRegistry } from '../../src/steps/index.js';
import { linearPredict, type LinearState } from '../../src/models/kinds.js';
import { fitRidgeMulti } from '../../src/models/ridge.js';
import train, { type TrainParams } from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';
import { driftingDataset, HOUR, T0 } from '../helpers/drift-data.js';

const p = 3;

/** n rows of p features; targets with the given horizons (in rows), unscaled (scaler `none`), one fold. */
function dataset(n: number, horizons: number[], fold: Omit<Fold, 'scaler'>, seed = 4): Dataset {
  return driftingDataset(n, horizons, [fold], { seed });
}

const FOLD = { train: { start: 0, end: 120 }, val: { start: 122, end: 180 }, test: { start: 182, end: 260 } };
const scored = (m: Model): number[] => Array.from(m.predictions.index, (ts) => (ts - T0) / HOUR);

describe('train with online: rls (ridge, ols)', () => {
  it('λ = 1: each val/test prediction is the ridge refitted on every row whose targets are known by then (r + horizon ≤ t)', async () => {
    const ds = dataset(260, [1, 3], FOLD);
    const alpha = 2;
    const model = await train.run({ dataset: ds }, { model: 'ridge', alpha, online: { method: 'rls', forgetting: 1 } } as TrainParams, testContext());
    const rows = scored(model);
    expect(rows.length).toBe(58 + 78);
    const delay = 3; // the longest horizon: both targets share the update
    let worst = 0;
    for (let t = 0; t < 2; t++) {
      const got = model.predictions.values[ds.targetNames[t]];
      rows.forEach((r, i) => {
        // The oracle: a batch ridge (same α) on rows 0 … r − delay, fitted from scratch.
        const fit = fitRidgeMulti(ds.X, 260, p, ds.Y, 2, alpha, true, { start: 0, end: r - delay + 1 });
        let z = fit.intercept[t];
        for (let j = 0; j < p; j++) z += ds.X[r * p + j] * fit.coef[t][j];
        worst = Math.max(worst, Math.abs(got[i] - z) / Math.max(1, Math.abs(z)));
      });
    }
    expect(worst).toBeLessThanOrEqual(1e-9);
    // The stored state is the batch fit (what the predictions start from).
    const batch = fitRidgeMulti(ds.X, 260, p, ds.Y, 2, alpha, true, FOLD.train);
    expect((model.state[0] as LinearState).coef[0][0]).toBeCloseTo(batch.coef[0][0], 12);
    expect(model.params.online).toEqual({ method: 'rls', forgetting: 1 });
    expect(train.summary?.(model)).toMatch(/online rls λ=1/);
  });

  it('no look-ahead: perturbing row t’s targets leaves every prediction before t + horizon bit-identical', async () => {
    const ds = dataset(260, [1, 2], FOLD);
    const params = { model: 'ols', online: { method: 'rls', forgetting: 0.98 } } as TrainParams;
    const a = await train.run({ dataset: ds }, params, testContext());
    const t0 = 150;
    const Y2 = ds.Y.slice();
    Y2[t0 * 2] += 3;
    Y2[t0 * 2 + 1] -= 3;
    const b = await train.run({ dataset: { ...ds, Y: Y2 } }, params, testContext());
    const rows = scored(a);
    for (const name of ds.targetNames) {
      rows.forEach((r, i) => {
        if (r < t0 + 2) expect(b.predictions.values[name][i], `row ${r}`).toBe(a.predictions.values[name][i]);
      });
      const at = rows.indexOf(t0 + 2);
      expect(b.predictions.values[name][at]).not.toBe(a.predictions.values[name][at]);
    }
  });

  it('forgetting tracks the drift: lower test RMSE than the static ridge on the drifting relation', async () => {
    const ds = dataset(600, [1], { train: { start: 0, end: 200 }, val: { start: 200, end: 300 }, test: { start: 300, end: 600 } });
    const stat = await train.run({ dataset: ds }, { model: 'ridge', alpha: 1 } as TrainParams, testContext());
    const onl = await train.run({ dataset: ds }, { model: 'ridge', alpha: 1, online: { method: 'rls', forgetting: 0.98 } } as TrainParams, testContext());
    const rmse = (m: Model): number => m.testMetrics?.[0].rmse ?? NaN;
    expect(rmse(onl)).toBeLessThan(rmse(stat));
  });
});

describe('train with online: sgd (logistic)', () => {
  it('the first scored row is the batch model’s; later ones move; no look-ahead', async () => {
    // Validation right after the training rows: nothing is known yet at its first row.
    const ds = dataset(260, [1], { ...FOLD, val: { start: 120, end: 180 } });
    const params = { model: 'logistic', alpha: 1, online: { method: 'sgd', learning_rate: 0.05 } } as TrainParams;
    const a = await train.run({ dataset: ds }, params, testContext());
    const batch = await train.run({ dataset: ds }, { model: 'logistic', alpha: 1 } as TrainParams, testContext());
    const name = ds.targetNames[0];
    const st = a.state[0] as LinearState;
    expect(a.predictions.values[name][0]).toBe(linearPredict(st, ds.X.subarray(120 * p, 121 * p), 1, p)[0][0]);
    expect(a.predictions.values[name][0]).toBe(batch.predictions.values[name][0]);
    expect(a.predictions.values[name][100]).not.toBe(batch.predictions.values[name][100]);
    const t0 = 160;
    const Y2 = ds.Y.slice();
    Y2[t0] = -Y2[t0]; // flips the direction label of row t0
    const b = await train.run({ dataset: { ...ds, Y: Y2 } }, params, testContext());
    const rows = scored(a);
    rows.forEach((r, i) => {
      if (r <= t0) expect(b.predictions.values[name][i]).toBe(a.predictions.values[name][i]);
    });
    const at = rows.indexOf(t0 + 1);
    expect(b.predictions.values[name][at]).not.toBe(a.predictions.values[name][at]);
  });
});

describe('train with online: append (gbm)', () => {
  // Through resolve(), as the compiler does: the gbm kind's other params take their defaults.
  const full = (extra: object): TrainParams =>
    train.resolve!({
      model: 'gbm',
      n_estimators: 40,
      learning_rate: 0.2,
      max_depth: 3,
      early_stopping_rounds: 0,
      threads: 1,
      ...extra,
    } as unknown as TrainParams);
  const GBM = full({});
  const ds = dataset(600, [1, 2], { train: { start: 0, end: 200 }, val: { start: 200, end: 300 }, test: { start: 300, end: 600 } });
  const online = { method: 'append', every: 50, trees: 10, window: 150, max_trees: 200 };

  it('predictions equal the static model’s until the first append (every known rows after the horizon), then move; deterministic', async () => {
    const stat = await train.run({ dataset: ds }, GBM, testContext());
    const a = await train.run({ dataset: ds }, full({ online }), testContext());
    const b = await train.run({ dataset: ds }, full({ online }), testContext());
    expect(b.predictions.values).toEqual(a.predictions.values);
    // Rows 200…249 are known (delay 2: the longest horizon) at row 249 + 2 = 251: the first append.
    const first = 200 + 50 - 1 + 2;
    const rows = scored(a);
    for (const name of ds.targetNames) {
      rows.forEach((r, i) => {
        if (r < first) expect(a.predictions.values[name][i], `row ${r}`).toBe(stat.predictions.values[name][i]);
      });
      expect(a.predictions.values[name][rows.indexOf(first)]).not.toBe(stat.predictions.values[name][rows.indexOf(first)]);
    }
    expect(train.summary?.(a)).toMatch(/online append \+10 trees\/50 rows/);
  });

  it('no look-ahead: perturbing row t’s targets leaves every prediction before t + horizon bit-identical', async () => {
    const t0 = 320;
    const Y2 = ds.Y.slice();
    Y2[t0 * 2] += 3;
    Y2[t0 * 2 + 1] -= 3;
    const a = await train.run({ dataset: ds }, full({ online }), testContext());
    const b = await train.run({ dataset: { ...ds, Y: Y2 } }, full({ online }), testContext());
    const rows = scored(a);
    let changed = 0;
    for (const name of ds.targetNames) {
      rows.forEach((r, i) => {
        if (r < t0 + 2) expect(b.predictions.values[name][i], `row ${r}`).toBe(a.predictions.values[name][i]);
        else if (b.predictions.values[name][i] !== a.predictions.values[name][i]) changed++;
      });
    }
    expect(changed).toBeGreaterThan(0);
  });

  it('appending tracks the drift: lower test RMSE than the static gbm', async () => {
    const stat = await train.run({ dataset: ds }, GBM, testContext());
    const onl = await train.run({ dataset: ds }, full({ online }), testContext());
    const rmse = (m: Model): number => m.testMetrics?.[0].rmse ?? NaN;
    expect(rmse(onl)).toBeLessThan(rmse(stat));
  });
});

describe('train with online: refusals', () => {
  it('a method that does not fit the kind', async () => {
    const ds = dataset(260, [1], FOLD);
    const run = train.run({ dataset: ds }, { model: 'logistic', alpha: 1, online: { method: 'rls', forgetting: 1 } } as unknown as TrainParams, testContext());
    await expect(run).rejects.toThrow(RunError);
    await expect(run).rejects.toThrow(/does not apply to model `logistic`/);
  });

  it('folds that score rows before their training rows end (purged k-fold, CPCV)', async () => {
    const ds = dataset(260, [1], { train: { start: 100, end: 200 }, val: { start: 200, end: 230 }, test: { start: 0, end: 90 } });
    const run = train.run({ dataset: ds }, { model: 'ridge', alpha: 1, online: { method: 'rls', forgetting: 1 } } as TrainParams, testContext());
    await expect(run).rejects.toThrow(/scores rows before the end of its training rows/);
  });
});

describe('train with online: the pipeline schema', () => {
  const diagnostics = (trainWith: string): Diagnostic[] => {
    const text = `version: 1\nname: t\nsteps:\n  c: { uses: fetch, with: { bars: 500 } }\n  f: { uses: features, from: c }\n  d: { uses: split, from: f }\n  m: { uses: train, from: d, with: ${trainWith} }\n`;
    const parsed = parsePipelineText(text, '/tmp/t.yaml', { displayFile: 't.yaml' });
    if (parsed.diagnostics.length || !parsed.spec) return parsed.diagnostics;
    return compile(parsed.spec, builtinRegistry()).diagnostics;
  };

  it('accepts rls on ridge/ols and sgd on logistic; rejects a method of another kind, a bad λ, an unknown key', () => {
    expect(diagnostics('{ model: ridge, online: { method: rls, forgetting: 0.999 } }')).toEqual([]);
    expect(diagnostics('{ model: ols, online: { method: rls, forgetting: 1 } }')).toEqual([]);
    expect(diagnostics('{ model: logistic, online: { method: sgd, learning_rate: 0.01, schedule: invscaling } }')).toEqual([]);
    expect(diagnostics('{ model: logistic, online: { method: rls, forgetting: 1 } }').length).toBeGreaterThan(0);
    const bad = diagnostics('{ model: ridge, online: { method: rls, forgetting: 1.5 } }');
    expect(bad.map((d) => d.path)).toEqual(['steps.m.with.online.forgetting']);
    expect(diagnostics('{ model: ridge, online: { method: rls } }').length).toBeGreaterThan(0);
    expect(diagnostics('{ model: ridge, online: { method: rls, forgetting: 1, window: 5 } }').length).toBeGreaterThan(0);
    expect(diagnostics('{ model: gbm, online: { method: rls, forgetting: 1 } }').length).toBeGreaterThan(0);
    expect(diagnostics('{ model: gbm, online: { method: append, every: 100, trees: 10, window: 500, max_trees: 400, prune: true } }')).toEqual([]);
    expect(diagnostics('{ model: gbm, online: { method: append, every: 0, trees: 10, window: 500, max_trees: 400 } }').length).toBeGreaterThan(0);
  });
});
