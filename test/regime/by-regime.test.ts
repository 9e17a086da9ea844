import { describe, expect, it } from 'vitest';
import type { Dataset, Model } from '../../src/core/artifacts.js';
import train from '../../src/steps/train/index.js';
import { predict } from '../../src/models/predict.js';
import { modelToOnnx } from '../../src/models/onnx/index.js';
import { predictBars } from '../../src/steps/predict/core.js';
import { testContext } from '../helpers/ctx.js';

/**
 * `train … by_regime: regime_state`. The synthetic dataset is built by hand: y = +x in regime 0 and
 * y = −x in regime 1, regimes alternating in blocks of 10 bars. A model per regime recovers slopes
 * ≈ +1 and ≈ −1; a pooled model sees no relation at all (slope ≈ 0). Expected predictions are the
 * closed-form ridge with an unpenalised intercept (b = Sxy / (Sxx + α), a = ȳ − b·x̄), computed here
 * on each regime's training rows, independently of the model code.
 */
const N = 200;
const TRAIN = { start: 0, end: 120 };
const VAL = { start: 120, end: 160 };
const TEST = { start: 160, end: 200 };
const xOf = (i: number): number => Math.sin(i * 1.7) * 2 + Math.cos(i * 0.31);

/** regimeOf(i) gives each row's regime; the regime column is stored scaled (center 0.5, scale 0.5), as a split would. */
function dataset(regimeOf: (i: number) => number): Dataset {
  const X = new Float64Array(N * 2);
  const Y = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const r = regimeOf(i);
    X[i * 2] = xOf(i);
    X[i * 2 + 1] = (r - 0.5) / 0.5;
    Y[i] = r === 1 ? -xOf(i) : xOf(i);
  }
  return {
    type: 'Dataset',
    symbol: 'T',
    timeframe: '1h',
    index: Float64Array.from({ length: N }, (_, i) => i * 3_600_000),
    featureNames: ['x', 'regime_state'],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    X,
    Y,
    method: 'temporal',
    folds: [{ train: TRAIN, val: VAL, test: TEST, scaler: { method: 'zscore', center: [0, 0.5], scale: [1, 0.5] } }],
  };
}

/** Closed-form ridge of y on x over the given rows (unpenalised intercept), as [a, b]. */
function ridge1(rows: number[], ds: Dataset, alpha: number): [number, number] {
  const xs = rows.map((i) => ds.X[i * 2]);
  const ys = rows.map((i) => ds.Y[i]);
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, j) => {
    sxy += (x - mx) * (ys[j] - my);
    sxx += (x - mx) * (x - mx);
  });
  const b = sxy / (sxx + alpha);
  return [my - b * mx, b];
}

const range = (r: { start: number; end: number }): number[] => Array.from({ length: r.end - r.start }, (_, j) => r.start + j);
const alternating = (i: number): number => Math.floor(i / 10) % 2;

describe('train by_regime', () => {
  it('predicts each row with the ridge fitted on its own regime’s training rows', async () => {
    const ds = dataset(alternating);
    const ctx = testContext();
    const model = await train.run({ dataset: ds }, { model: 'ridge', alpha: 1, by_regime: 'regime_state' } as never, ctx);
    expect(ctx.warnings).toEqual([]);
    expect(model.params.by_regime).toBe('regime_state');
    const fits = [0, 1].map((r) =>
      ridge1(
        range(TRAIN).filter((i) => alternating(i) === r),
        ds,
        1,
      ),
    );
    expect(fits[0][1]).toBeGreaterThan(0.99);
    expect(fits[1][1]).toBeLessThan(-0.99);
    const pred = model.predictions.values.fwd_ret_1;
    const rows = [...range(VAL), ...range(TEST)];
    expect(Array.from(model.predictions.index)).toEqual(rows.map((i) => ds.index[i]));
    rows.forEach((i, j) => {
      const [a, b] = fits[alternating(i)];
      expect(pred[j]).toBeCloseTo(a + b * xOf(i), 10);
    });
    // The pooled model cannot: its slope on x is ≈ 0, its test predictions nowhere near the targets.
    const pooled = await train.run({ dataset: ds }, { model: 'ridge', alpha: 1 } as never, testContext());
    expect(model.testMetrics![0].ic).toBeGreaterThan(0.99);
    expect(pooled.testMetrics![0].rmse).toBeGreaterThan(10 * model.testMetrics![0].rmse);
  });

  it('falls back to the all-rows model for a regime with too few training rows, with a warning', async () => {
    // Regime 2 on rows 50–54 (5 training rows) and 190–194 (test rows).
    const regimeOf = (i: number): number => ((i >= 50 && i < 55) || (i >= 190 && i < 195) ? 2 : alternating(i));
    const ds = dataset(regimeOf);
    const ctx = testContext();
    const model = await train.run({ dataset: ds }, { model: 'ridge', alpha: 1, by_regime: 'regime_state' } as never, ctx);
    expect(ctx.warnings).toHaveLength(1);
    expect(ctx.warnings[0]).toContain('regime regime_state = 2 has 5 training rows (fewer than 30)');
    const all = ridge1(range(TRAIN), ds, 1);
    const own = [0, 1].map((r) =>
      ridge1(
        range(TRAIN).filter((i) => regimeOf(i) === r),
        ds,
        1,
      ),
    );
    const pred = model.predictions.values.fwd_ret_1;
    const rows = [...range(VAL), ...range(TEST)];
    rows.forEach((i, j) => {
      const r = regimeOf(i);
      const [a, b] = r === 2 ? all : own[r];
      expect(pred[j]).toBeCloseTo(a + b * xOf(i), 10);
    });
  });

  it('is deterministic (gbm, same seed → bit-identical predictions)', async () => {
    const ds = dataset(alternating);
    const params = { model: 'gbm', n_estimators: 20, max_depth: 2, min_child_weight: 1, by_regime: 'regime_state' } as never;
    const run = async () => train.run({ dataset: ds }, train.resolve!(params), testContext());
    const [a, b] = [await run(), await run()];
    expect(Buffer.from(a.predictions.values.fwd_ret_1.buffer).equals(Buffer.from(b.predictions.values.fwd_ret_1.buffer))).toBe(true);
    // The regime column is no feature of the per-regime models: its importance is 0.
    expect(a.importance![0].values[1]).toBe(0);
  });

  describe('refuses what it cannot do', () => {
    let model: Model;
    it('trains', async () => {
      model = await train.run({ dataset: dataset(alternating) }, { model: 'ridge', alpha: 1, by_regime: 'regime_state' } as never, testContext());
    });
    it('predict (library) refuses', () => {
      expect(() => predict(model, [[0, 0]])).toThrow('a by_regime model cannot be predicted yet');
    });
    it('predict (step / CLI) refuses', async () => {
      await expect(predictBars(model, {} as never, {} as never, testContext())).rejects.toThrow('a by_regime model cannot be predicted yet');
    });
    it('ONNX export refuses', () => {
      expect(() => modelToOnnx(model, {} as never)).toThrow('a by_regime model cannot be exported to ONNX yet');
    });
    it('a missing column, a non-integer column, a windowed kind', async () => {
      const ds = dataset(alternating);
      await expect(train.run({ dataset: ds }, { model: 'ridge', alpha: 1, by_regime: 'nope' } as never, testContext())).rejects.toThrow(
        'the dataset has no feature column `nope`',
      );
      await expect(train.run({ dataset: ds }, { model: 'ridge', alpha: 1, by_regime: 'x' } as never, testContext())).rejects.toThrow(
        'not an integer regime label',
      );
      await expect(train.run({ dataset: ds }, { model: 'lstm', by_regime: 'regime_state' } as never, testContext())).rejects.toThrow(
        '`by_regime` does not apply to model `lstm`',
      );
    });
  });
});
