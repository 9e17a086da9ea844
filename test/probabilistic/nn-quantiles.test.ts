import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { compile } from '../../src/compiler/index.js';
import type { Model } from '../../src/core/artifacts.js';
import type { Diagnostic } from '../../src/core/diagnostics.js';
import { normalQuantile } from '../../src/core/normal.js';
import { crpsGaussian } from '../../src/evaluation/probabilistic.js';
import type { NnState } from '../../src/models/nn/kinds.js';
import { pearson } from '../../src/models/metrics.js';
import { pinballLoss } from '../../src/models/nn/nets.js';
import { modelToOnnx } from '../../src/models/onnx/index.js';
import { getModelKind, resolveModelParams, type FoldData } from '../../src/models/registry.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { builtinRegistry } from '../../src/steps/index.js';
import train from '../../src/steps/train/index.js';
import { fxflow, parseRun, workdir } from '../helpers/cli.js';
import { testContext } from '../helpers/ctx.js';
import { garchDataset } from '../helpers/garch.js';

/**
 * Neural quantile heads (`quantiles:` on mlp/lstm/…): one output per (target, level) trained on the
 * pinball loss. Checked against the true conditional distribution of an AR(1)–GARCH(1,1) series
 * (N(mean, sd²), quantiles in closed form through Φ⁻¹), a hand-worked loss, and seeded determinism.
 */

const LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95];

describe('mlp quantile head on AR(1)–GARCH(1,1)', () => {
  it('covers 90% ± 4% of test bars with its 5–95% interval, tracks the true quantiles, monotone in every row', async () => {
    const { ds, series, testStart } = garchDataset(8_001, 7, { train: 0.6, val: 0.15 });
    const prm = { model: 'mlp', quantiles: LEVELS, lookback: 1, hidden: 32, layers: 2, epochs: 30, batch_size: 128, learning_rate: 0.005, patience: 5 };
    const model = await train.run({ dataset: ds }, train.resolve!(prm as never), testContext());
    const q = model.predictions.distribution!.quantiles!;
    expect(q.levels).toEqual(LEVELS);
    const test = model.probabilistic!.find((p) => p.segment === 'test')!;
    expect(test.form).toBe('quantiles');
    const rows = ds.index.length - testStart;
    expect(test.n).toBe(rows);

    // Independent reference: each test target's true N(mean, sd²), its quantiles by Φ⁻¹ and its CRPS in closed form.
    const L = LEVELS.length;
    const v = q.values.fwd_ret_1;
    const seg = model.predictions.segment;
    const first = seg.indexOf(2);
    let trueCrps = 0;
    let inside = 0;
    const predWidth = new Float64Array(rows);
    const trueWidth = new Float64Array(rows);
    const pred95 = new Float64Array(rows);
    const true95 = new Float64Array(rows);
    const z = normalQuantile(0.95);
    for (let i = 0; i < rows; i++) {
      const t = testStart + i;
      const [m, sd, y] = [series.mean[t + 1], series.sd[t + 1], series.r[t + 1]];
      trueCrps += crpsGaussian(m, sd, y) / rows;
      const row = v.subarray((first + i) * L, (first + i + 1) * L);
      for (let j = 1; j < L; j++) expect(row[j]).toBeGreaterThanOrEqual(row[j - 1]);
      if (y >= row[0] && y <= row[L - 1]) inside++;
      predWidth[i] = row[L - 1] - row[0];
      trueWidth[i] = 2 * z * sd;
      pred95[i] = row[L - 1];
      true95[i] = m + z * sd;
    }
    const cov90 = inside / rows;
    const rWidth = pearson(predWidth, trueWidth);
    const r95 = pearson(pred95, true95);
    console.log(
      `mlp quantiles (${rows} test rows): coverage90 ${cov90.toFixed(4)}, CRPS ${test.crps.toFixed(5)} vs true ${trueCrps.toFixed(5)} (ratio ${(test.crps / trueCrps).toFixed(4)}), corr(width90) ${rWidth.toFixed(4)}, corr(q95) ${r95.toFixed(4)}`,
    );
    // 2000 test rows: a perfect 90% interval's coverage has binomial sd √(0.9·0.1/2000) = 0.0067;
    // ±4% leaves 6 sd, most of it for the fitted quantiles' own error.
    expect(Math.abs(cov90 - 0.9)).toBeLessThanOrEqual(0.04);
    // The step's own coverage is that of its piecewise-linear quantile function at 0.05/0.95: the same interval.
    expect(test.coverage.find((c) => c.nominal === 0.9)!.coverage).toBeCloseTo(cov90, 12);
    expect(rWidth).toBeGreaterThan(0.9);
    expect(r95).toBeGreaterThan(0.9);
    expect(test.crps / trueCrps).toBeLessThan(1.05);
    // The point forecast is the median level.
    expect(model.predictions.values.fwd_ret_1[first]).toBe(v[first * L + 2]);
    const metrics = train.metrics!(model);
    expect(metrics.test_crps_fwd_ret_1).toBe(test.crps);
  }, 120_000);
});

describe('lstm quantile head on AR(1)–GARCH(1,1)', () => {
  it('covers 90% ± 4% of the test bars it forecasts, CRPS within 5% of the true distribution’s', async () => {
    const { ds, series, testStart } = garchDataset(8_001, 7, { train: 0.6, val: 0.15 });
    const prm = { model: 'lstm', quantiles: LEVELS, lookback: 4, hidden: 16, epochs: 30, batch_size: 128, learning_rate: 0.005, patience: 5 };
    const model = await train.run({ dataset: ds }, train.resolve!(prm as never), testContext());
    const test = model.probabilistic!.find((p) => p.segment === 'test')!;
    // The segment's first lookback − 1 = 3 rows have no window, hence no distribution, and are not scored.
    expect(test.n).toBe(ds.index.length - testStart - 3);
    let trueCrps = 0;
    for (let t = testStart + 3; t < ds.index.length; t++) trueCrps += crpsGaussian(series.mean[t + 1], series.sd[t + 1], series.r[t + 1]) / test.n;
    const cov90 = test.coverage.find((c) => c.nominal === 0.9)!.coverage;
    console.log(
      `lstm quantiles (${test.n} test rows): coverage90 ${cov90.toFixed(4)}, CRPS ${test.crps.toFixed(5)} vs true ${trueCrps.toFixed(5)} (ratio ${(test.crps / trueCrps).toFixed(4)})`,
    );
    expect(Math.abs(cov90 - 0.9)).toBeLessThanOrEqual(0.04);
    expect(test.crps / trueCrps).toBeLessThan(1.05);
  }, 120_000);
});

describe('pinball training loss', () => {
  it('equals the hand-worked mean of max(τe, (τ−1)e) over rows, targets and levels', async () => {
    const tf = (await selectBackend('cpu')).tf;
    // 2 rows, k = 2 targets, levels 0.1 and 0.9; head outputs target-major: [q(t0,0.1), q(t0,0.9), q(t1,0.1), q(t1,0.9)].
    // y = [[1, -2], [0, 3]]; pred = [[0, 2, -1, -3], [0.5, 0.5, 4, 1]].
    // row 0, t0: e = 1 − 0 = 1 → 0.1·1 = 0.1;   e = 1 − 2 = −1 → (0.9 − 1)·(−1) = 0.1
    // row 0, t1: e = −2 + 1 = −1 → 0.9;         e = −2 + 3 = 1 → 0.9
    // row 1, t0: e = −0.5 → 0.45;               e = −0.5 → 0.05
    // row 1, t1: e = 3 − 4 = −1 → 0.9;          e = 3 − 1 = 2 → 1.8
    // sum 5.2 over 8 terms = 0.65.
    const loss = tf.tidy(
      () =>
        pinballLoss(
          tf,
          tf.tensor2d([
            [0, 2, -1, -3],
            [0.5, 0.5, 4, 1],
          ]),
          tf.tensor2d([
            [1, -2],
            [0, 3],
          ]),
          [0.1, 0.9],
        ).dataSync()[0],
    );
    expect(loss).toBeCloseTo(0.65, 6);
  });
});

describe('quantile heads: determinism and params', () => {
  const { ds } = garchDataset(801, 3, { train: 0.6, val: 0.2 });
  const fold = ds.folds[0];
  const foldData = (): FoldData => ({
    X: ds.X,
    n: ds.index.length,
    p: 2,
    Y: ds.Y,
    k: 1,
    featureNames: ds.featureNames,
    targetNames: ds.targetNames,
    train: fold.train,
    val: fold.val,
    fold: 0,
    seed: 5,
    signal: new AbortController().signal,
    warn: () => {},
    index: ds.index,
  });

  for (const name of ['mlp', 'lstm']) {
    it(`${name}: one seed gives bit-identical quantiles (wasm), levels sorted, rows before the first window without a distribution`, async () => {
      const kind = getModelKind(name)!;
      const prm = resolveModelParams(kind, { quantiles: [0.9, 0.1, 0.5], lookback: 4, hidden: 8, layers: 1, epochs: 3, batch_size: 64 });
      const fits = [await kind.fit(foldData(), prm), await kind.fit(foldData(), prm)];
      expect(fits[0].backend).toBe('wasm');
      const st = fits[0].state as NnState;
      expect(st.spec.quantiles).toEqual([0.1, 0.5, 0.9]);
      const m = fold.test.end - fold.test.start;
      const X = ds.X.subarray(fold.test.start * 2);
      const idx = ds.index.subarray(fold.test.start);
      const [a, b] = fits.map((f) => kind.predictDistribution!(f.state, X, m, 2, idx)!.quantiles!);
      expect(Buffer.from(a.values[0].buffer).equals(Buffer.from(b.values[0].buffer))).toBe(true);
      // lookback 4: the segment's first 3 rows have no window, so no quantiles; the point is the training mean.
      expect(Array.from(a.values[0].subarray(0, 9)).every(Number.isNaN)).toBe(true);
      const point = kind.predict(st, X, m, 2, idx)[0];
      expect(point[0]).toBe(st.yMean[0]);
      for (let r = 3; r < m; r++) {
        expect(point[r]).toBe(a.values[0][r * 3 + 1]);
        expect(a.values[0][r * 3]).toBeLessThanOrEqual(a.values[0][r * 3 + 1]);
        expect(a.values[0][r * 3 + 1]).toBeLessThanOrEqual(a.values[0][r * 3 + 2]);
      }
    });
  }

  it('checks `quantiles:` at its YAML path as gbm does, and refuses it on kinds without a quantile head', () => {
    const diagnostics = (w: string): Diagnostic[] => {
      const parsed = parsePipelineText(`version: 1\nname: t\nsteps:\n  m: { uses: train, with: ${w} }\n`, '/tmp/t.yaml');
      return parsed.spec ? compile(parsed.spec, builtinRegistry()).diagnostics.filter((d) => d.path?.startsWith('steps.m.with')) : parsed.diagnostics;
    };
    const out = diagnostics('{ model: lstm, quantiles: [0.05, 1.2] }');
    expect(out.map((d) => d.path)).toEqual(['steps.m.with.quantiles[1]']);
    expect(out[0].message).toMatch(/quantile level 1.2 is not in \(0, 1\)/);
    expect(diagnostics('{ model: mlp, quantiles: [0] }').map((d) => d.path)).toEqual(['steps.m.with.quantiles[0]']);
    const twice = diagnostics('{ model: transformer, heads: 2, quantiles: [0.5, 0.1, 0.5] }');
    expect(twice.map((d) => d.path)).toEqual(['steps.m.with.quantiles']);
    expect(twice[0].message).toContain('listed twice');
    // Unsorted distinct levels are taken (and sorted), as gbm's.
    expect(diagnostics('{ model: gru, quantiles: [0.9, 0.1] }')).toEqual([]);
    for (const model of ['diffusion', 'autoencoder']) {
      const d = diagnostics(`{ model: ${model}, quantiles: [0.5] }`);
      expect(d.map((x) => x.path)).toEqual(['steps.m.with.quantiles']);
      expect(d[0].message).toContain('it belongs to');
    }
    // ONNX graphs give one point column per target: a quantile model is refused, not exported half.
    const model = { kind: 'lstm', params: { model: 'lstm', quantiles: [0.1, 0.9] }, state: [{}], featureNames: ['a'], targetNames: ['y'] } as unknown as Model;
    expect(() => modelToOnnx(model, { version: 'test', source: { key: 'k' } })).toThrow(/quantile model cannot be exported to ONNX/);
  });
});

describe('an lstm with quantiles in a pipeline run', () => {
  it('records val/test CRPS and coverage of its quantile forecasts and trades a quantile_band rule on them', async () => {
    const dir = workdir();
    const file = path.join(dir, 'pipelines', 'lstm-quantiles.yaml');
    writeFileSync(
      file,
      `version: 1
name: lstm-quantiles
seed: 3
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 2500 }
  features:
    uses: features
    from: candles
    with:
      returns: [1, 4]
      indicators: [{ rsi: { period: 14 } }]
      target: { forward_return: { horizons: [1] } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }
  model:
    uses: train
    from: dataset
    with: { model: lstm, quantiles: [0.05, 0.5, 0.95], lookback: 8, hidden: 8, epochs: 12, batch_size: 64, learning_rate: 0.01 }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { rule: quantile_band, band: 0.25, costs: { spread_pips: 0.2 } }
`,
    );
    const r = await fxflow(['run', 'pipelines/lstm-quantiles.yaml', '--json'], { cwd: dir });
    const run = parseRun(r);
    expect(run.status, r.stderr).toBe('succeeded');
    const m = run.metrics.model;
    for (const seg of ['val', 'test']) {
      expect(m[`${seg}_crps_fwd_ret_1`]).toBeGreaterThan(0);
      // A 90% interval of a net trained 12 epochs: far from 0 or 1 if its levels mean anything.
      expect(m[`${seg}_cov90_fwd_ret_1`]).toBeGreaterThan(0.75);
      expect(m[`${seg}_cov90_fwd_ret_1`]).toBeLessThan(0.99);
      expect(m[`${seg}_cov50_fwd_ret_1`]).toBeLessThan(m[`${seg}_cov90_fwd_ret_1`]);
    }
    // The backtest read the quantiles (rows before an lstm's first window have none: flat there).
    expect(run.metrics.report.trades).toEqual(expect.any(Number));
  }, 120_000);
});
