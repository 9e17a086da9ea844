import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import type { Dataset } from '../../src/core/artifacts.js';
import { crpsGaussian } from '../../src/evaluation/probabilistic.js';
import { arGarch } from '../../src/data/synthetic.js';
import { fitQuantReg } from '../../src/models/quantreg.js';
import type { LinearQuantileState } from '../../src/models/kinds.js';
import train from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';

const H = 3_600_000;
const T0 = Date.UTC(2022, 2, 7);

/**
 * Rows t = 0…n−2 of an AR(1)–GARCH(1,1) series: features r[t] and σ[t+1] (the GARCH filter's
 * one-step sd, a function of the returns up to t given the parameters), target r[t+1]. The true
 * conditional distribution of each target is N(mean[t+1], sd[t+1]²).
 */
function garchDataset(n: number, seed: number, split: { train: number; val: number }) {
  const s = arGarch(n, { c: 0, phi: 0.3, omega: 0.05, alpha: 0.1, beta: 0.85 }, seed);
  const rows = n - 1;
  const X = new Float64Array(rows * 2);
  const Y = new Float64Array(rows);
  for (let t = 0; t < rows; t++) {
    X[2 * t] = s.r[t];
    X[2 * t + 1] = s.sd[t + 1];
    Y[t] = s.r[t + 1];
  }
  const tr = Math.floor(rows * split.train);
  const va = Math.floor(rows * (split.train + split.val));
  const ds: Dataset = {
    type: 'Dataset',
    symbol: 'SYN',
    timeframe: '1h',
    index: Float64Array.from({ length: rows }, (_, i) => T0 + i * H),
    featureNames: ['r', 'sigma_next'],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    X,
    Y,
    method: 'temporal',
    folds: [{ train: { start: 0, end: tr }, val: { start: tr, end: va }, test: { start: va, end: rows }, scaler: { method: 'none', center: [0, 0], scale: [1, 1] } }],
  };
  return { ds, series: s, testStart: va };
}

describe('quantile gbm on AR(1)–GARCH(1,1)', () => {
  it('its 90% intervals cover 90% ± 3% of test bars and its CRPS is within 10% of the true conditional distribution’s', async () => {
    const { ds, series, testStart } = garchDataset(16_001, 7, { train: 0.6, val: 0.15 });
    const levels = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];
    const model = await train.run({ dataset: ds }, train.resolve!({ model: 'gbm', quantiles: levels, max_depth: 3, learning_rate: 0.05, n_estimators: 400 } as never), testContext());
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
    console.log(`quantile gbm: coverage90 ${cov90.toFixed(4)}, CRPS ${test.crps.toFixed(5)} vs true ${trueCrps.toFixed(5)} (ratio ${(test.crps / trueCrps).toFixed(4)})`);
    expect(Math.abs(cov90 - 0.9)).toBeLessThanOrEqual(0.03);
    expect(test.crps / trueCrps).toBeLessThan(1.1);
    // Monotone in the level on every row (rearranged where the per-level fits cross).
    const v = q!.values.fwd_ret_1;
    for (let r = 0; r < v.length / levels.length; r++) for (let j = 1; j < levels.length; j++) expect(v[r * levels.length + j]).toBeGreaterThanOrEqual(v[r * levels.length + j - 1]);
    // The point forecast is the median level.
    expect(model.predictions.values.fwd_ret_1[0]).toBe(v[3]);
    // Recorded as run metrics.
    const m = train.metrics!(model);
    expect(m.test_crps_fwd_ret_1).toBe(test.crps);
    expect(m.test_cov90_fwd_ret_1).toBe(cov90);
  }, 120_000);
});
