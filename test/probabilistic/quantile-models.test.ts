import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import type { Dataset } from '../../src/core/artifacts.js';
import { crpsGaussian } from '../../src/evaluation/probabilistic.js';
import { arGarch } from '../../src/data/synthetic.js';
import { garchDataset } from '../helpers/garch.js';
import { fitQuantReg } from '../../src/models/quantreg.js';
import type { LinearQuantileState } from '../../src/models/kinds.js';
import train from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';

const H = 3_600_000;
const T0 = Date.UTC(2022, 2, 7);

describe('quantile gbm on AR(1)–GARCH(1,1)', () => {
  it('its 90% intervals cover 90% ± 3% of test bars and its CRPS is within 10% of the true conditional distribution’s', async () => {
    const { ds, series, testStart } = garchDataset(16_001, 7, { train: 0.6, val: 0.15 });
    const levels = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];
    const model = await train.run(
      { dataset: ds },
      train.resolve!({ model: 'gbm', quantiles: levels, max_depth: 3, learning_rate: 0.05, n_estimators: 400 } as never),
      testContext(),
    );
    const q = model.predictions.distribution?.quantiles;
    expect(q?.levels).toEqual(levels);
    const test = model.probabilistic!.find((p) => p.segment === 'test')!;
    expect(test.form).toBe('quantiles');
    const rows = ds.index.length - testStart;
    expect(test.n).toBe(rows);
    // Independent reference: the true N(mean, sd²) of each test target, scored in closed form.
    let trueCrps = 0;
    for (let t = testStart; t < ds.index.length; t++) trueCrps += crpsGaussian(series.mean[t + 1], series.sd[t + 1], series.r[t + 1]);
    trueCrps /= rows;
    const cov90 = test.coverage.find((c) => c.nominal === 0.9)!.coverage;
    console.log(
      `quantile gbm: coverage90 ${cov90.toFixed(4)}, CRPS ${test.crps.toFixed(5)} vs true ${trueCrps.toFixed(5)} (ratio ${(test.crps / trueCrps).toFixed(4)})`,
    );
    expect(Math.abs(cov90 - 0.9)).toBeLessThanOrEqual(0.03);
    expect(test.crps / trueCrps).toBeLessThan(1.1);
    // Monotone in the level on every row (rearranged where the per-level fits cross).
    const v = q!.values.fwd_ret_1;
    for (let r = 0; r < v.length / levels.length; r++)
      for (let j = 1; j < levels.length; j++) expect(v[r * levels.length + j]).toBeGreaterThanOrEqual(v[r * levels.length + j - 1]);
    // The point forecast is the median level.
    expect(model.predictions.values.fwd_ret_1[0]).toBe(v[3]);
    // Recorded as run metrics.
    const m = train.metrics!(model);
    expect(m.test_crps_fwd_ret_1).toBe(test.crps);
    expect(m.test_cov90_fwd_ret_1).toBe(cov90);
  }, 120_000);
});

// statsmodels' QuantReg (IRLS) and the exact linear programme (scipy's HiGHS) as references, run by
// Debian's python3; skipped with a message when they are not importable.
const PYTHON = '/usr/bin/python3';
const hasStatsmodels = spawnSync(PYTHON, ['-c', 'import statsmodels, scipy'], { encoding: 'utf8' }).status === 0;
if (!hasStatsmodels)
  console.warn(`[skip] statsmodels/scipy not importable by ${PYTHON} (apt install python3-statsmodels): the QuantReg oracle test is skipped`);

const ORACLE = `
import json, sys, numpy as np
from statsmodels.regression.quantile_regression import QuantReg
from scipy.optimize import linprog
job = json.load(sys.stdin)
X = np.array(job['X']); y = np.array(job['y']); A = np.column_stack([np.ones(len(y)), X])
out = []
for q in job['levels']:
    sm = QuantReg(y, A).fit(q=q, max_iter=5000, p_tol=1e-8).params
    n, p = A.shape
    # min q·1'u + (1 − q)·1'v  s.t.  A b + u − v = y, u, v ≥ 0, b free
    c = np.concatenate([np.zeros(p), q * np.ones(n), (1 - q) * np.ones(n)])
    Aeq = np.hstack([A, np.eye(n), -np.eye(n)])
    bounds = [(None, None)] * p + [(0, None)] * (2 * n)
    lp = linprog(c, A_eq=Aeq, b_eq=y, bounds=bounds, method='highs')
    out.append({'statsmodels': sm.tolist(), 'lp_loss': lp.fun / n})
print(json.dumps(out))
`;

describe.skipIf(!hasStatsmodels)('linear_quantile against statsmodels QuantReg and the exact LP', () => {
  it('fits each level to the linear programme’s optimum, coefficients matching QuantReg', async () => {
    // y = 1 + 2·x1 − x2 + (0.5 + 0.5·|x1|)·e: the quantiles are not parallel (heteroscedastic in x1).
    const n = 300;
    const X: number[][] = [];
    const y: number[] = [];
    const s = arGarch(n, { c: 0, phi: 0, omega: 1, alpha: 0, beta: 0 }, 11); // i.i.d. N(0, 1) draws
    const e = arGarch(n, { c: 0, phi: 0, omega: 1, alpha: 0, beta: 0 }, 12);
    const u = arGarch(n, { c: 0, phi: 0, omega: 1, alpha: 0, beta: 0 }, 13);
    for (let i = 0; i < n; i++) {
      X.push([s.r[i], u.r[i]]);
      y.push(1 + 2 * s.r[i] - u.r[i] + (0.5 + 0.5 * Math.abs(s.r[i])) * e.r[i]);
    }
    const levels = [0.1, 0.5, 0.9];
    const r = spawnSync(PYTHON, ['-c', ORACLE], { input: JSON.stringify({ X, y, levels }), encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
    const ref = JSON.parse(r.stdout) as { statsmodels: number[]; lp_loss: number }[];
    const Xf = Float64Array.from(X.flat());
    const Yf = Float64Array.from(y);
    levels.forEach((tau, j) => {
      const f = fitQuantReg(Xf, 2, Yf, 1, 0, { start: 0, end: n }, tau, { maxIter: 1000, tol: 1e-6 });
      expect(f.converged).toBe(true);
      // The LP optimum, to rounding: fxflow's fit is a vertex of the programme.
      expect(Math.abs(f.loss - ref[j].lp_loss)).toBeLessThan(1e-9 * Math.max(1, ref[j].lp_loss));
      const sm = ref[j].statsmodels;
      expect(f.intercept).toBeCloseTo(sm[0], 3);
      expect(f.coef[0]).toBeCloseTo(sm[1], 3);
      expect(f.coef[1]).toBeCloseTo(sm[2], 3);
    });

    // Through the train step: the same fits, quantile forecasts per row in level order, median as the point.
    const ds: Dataset = {
      type: 'Dataset',
      symbol: 'SYN',
      timeframe: '1h',
      index: Float64Array.from({ length: n }, (_, i) => T0 + i * H),
      featureNames: ['x1', 'x2'],
      targetNames: ['y'],
      targetHorizons: [1],
      X: Xf,
      Y: Yf,
      method: 'temporal',
      folds: [
        {
          train: { start: 0, end: 200 },
          val: { start: 200, end: 250 },
          test: { start: 250, end: 300 },
          scaler: { method: 'none', center: [0, 0], scale: [1, 1] },
        },
      ],
    };
    const model = await train.run({ dataset: ds }, train.resolve!({ model: 'linear_quantile', quantiles: [0.9, 0.1, 0.5] } as never), testContext());
    const st = model.state[0] as LinearQuantileState;
    expect(st.levels).toEqual([0.1, 0.5, 0.9]);
    const q = model.predictions.distribution!.quantiles!;
    const f50 = fitQuantReg(Xf, 2, Yf, 1, 0, { start: 0, end: 200 }, 0.5, { maxIter: 1000, tol: 1e-6 });
    const row = 200; // first val row, predictions row 0
    expect(model.predictions.values.y[0]).toBeCloseTo(f50.intercept + f50.coef[0] * X[row][0] + f50.coef[1] * X[row][1], 12);
    expect(q.values.y[1]).toBe(model.predictions.values.y[0]);
  });
});

describe('quantile gbm, hand-worked', () => {
  it('with nothing to split on, each level predicts the training targets’ quantile (NumPy’s linear rule)', async () => {
    // Training targets 1…10 (shuffled): the 0.3 quantile is at position 0.3·9 = 2.7 → 3 + 0.7·(4 − 3) = 3.7; the median 5.5.
    const train10 = [7, 2, 9, 4, 1, 10, 3, 6, 8, 5];
    const y = [...train10, 0, 0, 0, 0];
    const ds: Dataset = {
      type: 'Dataset',
      symbol: 'SYN',
      timeframe: '1h',
      index: Float64Array.from({ length: y.length }, (_, i) => T0 + i * H),
      featureNames: ['c'],
      targetNames: ['y'],
      targetHorizons: [1],
      X: new Float64Array(y.length).fill(1),
      Y: Float64Array.from(y),
      method: 'temporal',
      folds: [{ train: { start: 0, end: 10 }, val: { start: 10, end: 12 }, test: { start: 12, end: 14 }, scaler: { method: 'none', center: [0], scale: [1] } }],
    };
    const model = await train.run({ dataset: ds }, train.resolve!({ model: 'gbm', quantiles: [0.3, 0.5], n_estimators: 5 } as never), testContext());
    const q = model.predictions.distribution!.quantiles!.values.y;
    for (let r = 0; r < 4; r++) {
      expect(q[r * 2]).toBeCloseTo(3.7, 12);
      expect(q[r * 2 + 1]).toBeCloseTo(5.5, 12);
      expect(model.predictions.values.y[r]).toBe(q[r * 2 + 1]);
    }
  });

  it('refuses `quantiles:` with `online:` and levels outside (0, 1), at the parameter', () => {
    expect(
      train.check!(train.resolve!({ model: 'gbm', quantiles: [0.5], online: { method: 'append', every: 10, trees: 1, window: 10, max_trees: 10 } } as never))[0]
        .path,
    ).toEqual(['online']);
    const bad = train.check!(train.resolve!({ model: 'linear_quantile', quantiles: [0.5, 1.2] } as never));
    expect(bad[0].path).toEqual(['quantiles', 1]);
    expect(bad[0].message).toMatch(/not in \(0, 1\)/);
  });
});
