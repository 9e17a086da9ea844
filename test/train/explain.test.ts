import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/core/artifacts.js';
import { makeRng } from '../../src/data/rng.js';
import { getModelKind } from '../../src/models/registry.js';
import { ensembleShap } from '../../src/models/treeshap.js';
import train, { type TrainParams } from '../../src/steps/train/index.js';
import { edit, fxflow, workdir } from '../helpers/cli.js';
import { testContext } from '../helpers/ctx.js';

/** y = sin(2·a) + noise: feature a carries everything, b is noise the trees may split on, c is constant. */
function data(n: number): Dataset {
  const rng = makeRng(5);
  const X = new Float64Array(n * 3);
  const Y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    X[i * 3] = rng.normal();
    X[i * 3 + 1] = rng.normal();
    X[i * 3 + 2] = 0;
    Y[i] = Math.sin(2 * X[i * 3]) + 0.05 * rng.normal();
  }
  return {
    type: 'Dataset',
    symbol: 'EURUSD',
    timeframe: '1h',
    index: Float64Array.from({ length: n }, (_, i) => Date.UTC(2022, 0, 3) + i * 3_600_000),
    featureNames: ['a', 'b', 'c'],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    X,
    Y,
    method: 'temporal',
    // Raw = scaled × 2 + 1 for a, so the dependence plot's x must come back unscaled.
    folds: [
      {
        train: { start: 0, end: 600 },
        val: { start: 600, end: 800 },
        test: { start: 800, end: 1000 },
        scaler: { method: 'zscore', center: [1, 0, 0], scale: [2, 1, 1] },
      },
    ],
  } as Dataset;
}

describe('train `explain:`', () => {
  for (const model of ['gbm', 'random_forest'] as const) {
    it(`${model}: SHAP values of the fitted ensemble add up to the kind's own predictions`, async () => {
      const ds = data(1000);
      const params = train.resolve!({ model, explain: { permutation: 3, shap: true, rows: 150 } } as TrainParams);
      const m = await train.run({ dataset: ds }, params, testContext());
      const kind = getModelKind(model)!;
      const rows = ds.X.subarray(650 * 3, 800 * 3);
      const pred = kind.predict(m.state[0], rows, 150, 3)[0];
      const { values, expected } = ensembleShap(kind.treeEnsembles!(m.state[0])[0], rows, 150, 3);
      for (let i = 0; i < 150; i++) expect(expected + values[i * 3] + values[i * 3 + 1] + values[i * 3 + 2]).toBeCloseTo(pred[i], 10);

      const shap = m.importance!.find((i) => i.method === 'shap')!.values;
      const perm = m.importance!.find((i) => i.method === 'permutation')!.values;
      // The signal feature leads both; the constant one is never split on and never matters.
      expect(shap[0]).toBeGreaterThan(5 * shap[1]);
      expect(perm[0]).toBeGreaterThan(5 * Math.abs(perm[1]));
      expect(shap[2]).toBe(0);
      expect(perm[2]).toBe(0);
      // Dependence of the top feature on its raw values: the newest 150 validation rows, unscaled.
      const dep = m.dependence!.find((d) => d.feature === 'a')!;
      expect(dep.x.length).toBe(150);
      expect(dep.x[0]).toBeCloseTo(ds.X[650 * 3] * 2 + 1, 12);
      expect(m.dependence!.some((d) => d.feature === 'c')).toBe(false);
      expect(m.params.explain).toEqual({ permutation: 3, shap: true, rows: 150 });
    });
  }

  it('ridge: permutation importance only (SHAP is for tree kinds); the report draws both charts for gbm', async () => {
    const ds = data(1000);
    const m = await train.run(
      { dataset: ds },
      train.resolve!({ model: 'ridge', explain: { permutation: 2, shap: true, rows: 200 } } as TrainParams),
      testContext(),
    );
    expect(m.importance!.map((i) => i.method)).toEqual(['permutation']);
    expect(m.dependence).toBeUndefined();

    const dir = workdir();
    const file = path.join(dir, 'pipelines', 'quickstart.yaml');
    edit(file, '{ model: ridge, alpha: 1.0 }', '{ model: gbm, n_estimators: 30, explain: { permutation: 2, rows: 500 } }');
    edit(file, 'bars: 20000', 'bars: 4000');
    const r = await fxflow(['run', 'pipelines/quickstart.yaml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const report = /report (\S+\.html)/.exec(r.stdout)![1];
    const html = readFileSync(path.resolve(dir, report), 'utf8');
    expect(html).toContain('Why the model predicts what it does');
    expect(html).toContain('data-chart="importance"');
    expect(html).toMatch(/data-chart="shap-[^"]+"/);
  });
});
