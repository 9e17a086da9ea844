import { describe, it, expect } from 'vitest';
import type { Dataset, Fold, Model } from '../../src/core/artifacts.js';
import train, { type RidgeState } from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';

const H = 3_600_000;
const T0 = Date.UTC(2022, 2, 7);

/** A dataset from rows of [x1, x2] and per-target columns, with one fold. */
function dataset(x: [number, number][], targets: Record<string, number[]>, fold: Omit<Fold, 'scaler'>): Dataset {
  const n = x.length;
  const names = Object.keys(targets);
  const k = names.length;
  const Y = new Float64Array(n * k);
  names.forEach((name, t) => targets[name].forEach((v, r) => (Y[r * k + t] = v)));
  return {
    type: 'Dataset',
    symbol: 'EURUSD',
    timeframe: '1h',
    index: Float64Array.from({ length: n }, (_, i) => T0 + i * H),
    featureNames: ['x1', 'x2'],
    targetNames: names,
    targetHorizons: names.map((_, t) => t + 1),
    X: Float64Array.from(x.flat()),
    Y,
    method: 'temporal',
    folds: [{ ...fold, scaler: { method: 'none', center: [0, 0], scale: [1, 1] } }],
  };
}

describe('train step (ridge)', () => {
  it('alpha = 0 recovers an exact relation and predicts val/test rows exactly', async () => {
    const x: [number, number][] = [
      [0.3, 1.1],
      [-1.2, 0.4],
      [2.5, -0.8],
      [0.7, 2.0],
      [-0.4, -1.5],
      [1.9, 0.2],
      [-2.2, 0.9],
      [1.0, 1.0],
      [0.5, -0.5],
      [-1.0, 2.0],
      [2.0, 0.1],
      [0.2, 0.3],
    ];
    const y = x.map(([a, b]) => 2 * a - 3 * b + 0.5);
    const ds = dataset(x, { fwd_ret_1: y }, { train: { start: 0, end: 6 }, val: { start: 7, end: 10 }, test: { start: 10, end: 12 } });
    const ctx = testContext();
    const model = await train.run({ dataset: ds }, { model: 'ridge', alpha: 0 }, ctx);

    const st = model.state[0] as RidgeState;
    expect(Math.abs(st.coef[0][0] - 2)).toBeLessThan(1e-12);
    expect(Math.abs(st.coef[0][1] + 3)).toBeLessThan(1e-12);
    expect(Math.abs(st.intercept[0] - 0.5)).toBeLessThan(1e-12);

    // Val rows 7, 8, 9 then test rows 10, 11 (row 6 is the purge gap: neither).
    const pr = model.predictions;
    expect(Array.from(pr.index)).toEqual([7, 8, 9, 10, 11].map((r) => T0 + r * H));
    expect(Array.from(pr.segment)).toEqual([1, 1, 1, 2, 2]);
    expect(Array.from(pr.fold)).toEqual([0, 0, 0, 0, 0]);
    [7, 8, 9, 10, 11].forEach((r, i) => expect(pr.values.fwd_ret_1[i]).toBeCloseTo(2 * x[r][0] - 3 * x[r][1] + 0.5, 12));

    // Val actuals: row 7: 2−3+0.5 = −0.5; row 8: 1+1.5+0.5 = 3; row 9: −2−6+0.5 = −7.5.
    // Perfect predictions: rmse 0, every sign right, ranks identical.
    const vm = model.valMetrics[0];
    expect(vm.target).toBe('fwd_ret_1');
    expect(vm.horizon).toBe(1);
    expect(vm.rmse).toBeLessThan(1e-12);
    expect(vm.directionalAccuracy).toBe(1);
    expect(vm.ic).toBeCloseTo(1, 14);
    expect(ctx.warnings).toEqual([]);
  });

  it('alpha = 1: coefficients of the hand-solved normal equations, per target', async () => {
    // Training rows = the 4-row hand problem of ridge.test.ts: centred Gram [[5, 3], [3, 5]],
    // Xcᵀyc = [5.5, 8.5], x̄ = (2.5, 2.5), ȳ = 4.25. With α = 1: det = 6·6 − 3·3 = 27,
    // w1 = (6·5.5 − 3·8.5)/27 = 7.5/27, w2 = (6·8.5 − 3·5.5)/27 = 34.5/27, b = 4.25 − 2.5·(w1 + w2).
    const w1 = (6 * 5.5 - 3 * 8.5) / 27;
    const w2 = (6 * 8.5 - 3 * 5.5) / 27;
    const b = 4.25 - 2.5 * (w1 + w2);
    const x: [number, number][] = [
      [1, 2],
      [2, 1],
      [3, 4],
      [4, 3],
      [0, 0],
      [10, -1],
      [-2, 3],
      [5, 5],
    ];
    const y = [3, 2, 7, 5, 99, 99, 99, 99];
    // Second target 2y − 1: slopes double, intercept 2b − 1.
    const ds = dataset(
      x,
      { fwd_ret_1: y, fwd_ret_2: y.map((v) => 2 * v - 1) },
      {
        train: { start: 0, end: 4 },
        val: { start: 5, end: 7 },
        test: { start: 7, end: 8 },
      },
    );
    const model = await train.run({ dataset: ds }, { model: 'ridge', alpha: 1 }, testContext());
    const st = model.state[0] as RidgeState;
    expect(st.coef[0][0]).toBeCloseTo(w1, 12);
    expect(st.coef[0][1]).toBeCloseTo(w2, 12);
    expect(st.intercept[0]).toBeCloseTo(b, 12);
    expect(st.coef[1][0]).toBeCloseTo(2 * w1, 12);
    expect(st.intercept[1]).toBeCloseTo(2 * b - 1, 12);

    // Row 5 = (10, −1): b + 10·w1 − w2; row 7 = (5, 5) (test): b + 5·(w1 + w2).
    expect(model.predictions.values.fwd_ret_1[0]).toBeCloseTo(b + 10 * w1 - w2, 12);
    expect(model.predictions.values.fwd_ret_1[2]).toBeCloseTo(b + 5 * (w1 + w2), 12);
    expect(model.predictions.values.fwd_ret_2[2]).toBeCloseTo(2 * (b + 5 * (w1 + w2)) - 1, 12);

    // Val rmse on rows 5, 6 (actual 99 both), from the hand predictions.
    const p5 = b + 10 * w1 - w2;
    const p6 = b - 2 * w1 + 3 * w2;
    expect(model.valMetrics[0].rmse).toBeCloseTo(Math.sqrt(((p5 - 99) ** 2 + (p6 - 99) ** 2) / 2), 10);
    expect(model.kind).toBe('ridge');
    expect(model.params).toEqual({ model: 'ridge', alpha: 1 });
    expect(model.targetNames).toEqual(['fwd_ret_1', 'fwd_ret_2']);

    const m = train.metrics!(model);
    expect(Object.keys(m).sort()).toEqual(
      // Point scores, and the scores of the Gaussian its validation residuals give (docs/probabilistic.md).
      ['val', 'test']
        .flatMap((s) => ['da', 'ic', 'rmse', 'crps', 'cov50', 'cov80', 'cov90', 'width90'].flatMap((m) => [1, 2].map((h) => `${s}_${m}_fwd_ret_${h}`)))
        .sort(),
    );
    expect(m.val_rmse_fwd_ret_1).toBe(model.valMetrics[0].rmse);
  });

  it('warns when the OLS system is singular (a constant feature)', async () => {
    const x: [number, number][] = [
      [1, 7],
      [2, 7],
      [3, 7],
      [4, 7],
      [5, 7],
      [6, 7],
      [7, 7],
    ];
    const y = x.map(([a]) => 3 * a - 1);
    const ds = dataset(x, { fwd_ret_1: y }, { train: { start: 0, end: 4 }, val: { start: 4, end: 6 }, test: { start: 6, end: 7 } });
    const ctx = testContext();
    const model = await train.run({ dataset: ds }, { model: 'ridge', alpha: 0 }, ctx);
    expect(ctx.warnings.join('\n')).toMatch(/singular/);
    // Minimum norm: the constant column gets 0, x1 gets the slope 3, intercept −1.
    const st = model.state[0] as RidgeState;
    expect(st.coef[0][0]).toBeCloseTo(3, 10);
    expect(st.coef[0][1]).toBeCloseTo(0, 10);
    expect(model.predictions.values.fwd_ret_1[2]).toBeCloseTo(3 * 7 - 1, 9);
  });

  it('summary', () => {
    const model = {
      kind: 'ridge',
      params: { model: 'ridge', alpha: 1 },
      valMetrics: [{ target: 'fwd_ret_1', horizon: 1, rmse: 0.001, mae: 0.001, directionalAccuracy: 0.5123, ic: 0.0213 }],
    } as unknown as Model;
    expect(train.summary!(model)).toBe('ridge α=1 · fwd_ret_1 val IC 0.021, DA 51.2%');
  });
});
