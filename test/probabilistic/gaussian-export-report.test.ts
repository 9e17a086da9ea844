import { describe, it, expect } from 'vitest';
import type { Dataset, Model, Report } from '../../src/core/artifacts.js';
import { crpsGaussian } from '../../src/evaluation/probabilistic.js';
import { artifactTable, quantileName } from '../../src/runtime/export.js';
import { renderReport } from '../../src/report/html.js';
import train from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';

const H = 3_600_000;
const T0 = Date.UTC(2022, 2, 7);

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
const exact = (r: number): number => 2 * x[r][0] - 3 * x[r][1] + 0.5;
// Training rows follow the relation exactly (OLS recovers it), val rows 7–9 miss it by e, test rows 10–11 by f.
const e = [0.3, -0.4, 0.5];
const f = [0.2, -1.0];
const y = x.map((_, r) => exact(r) + (r >= 7 && r < 10 ? e[r - 7] : r >= 10 ? f[r - 10] : 0));

function dataset(): Dataset {
  return {
    type: 'Dataset',
    symbol: 'EURUSD',
    timeframe: '1h',
    index: Float64Array.from({ length: x.length }, (_, i) => T0 + i * H),
    featureNames: ['x1', 'x2'],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    X: Float64Array.from(x.flat()),
    Y: Float64Array.from(y),
    method: 'temporal',
    folds: [
      { train: { start: 0, end: 6 }, val: { start: 7, end: 10 }, test: { start: 10, end: 12 }, scaler: { method: 'none', center: [0, 0], scale: [1, 1] } },
    ],
  };
}

describe('a point model’s Gaussian from its validation residuals', () => {
  it('sd = RMS of the val residuals; test CRPS, coverage and PIT of N(prediction, sd²), hand-worked', async () => {
    const model = await train.run({ dataset: dataset() }, { model: 'ols' } as never, testContext());
    // σ = √((0.3² + 0.4² + 0.5²)/3) = √(0.5/3) ≈ 0.40825.
    const sd = Math.sqrt(0.5 / 3);
    const g = model.predictions.distribution?.gaussian?.sd.fwd_ret_1;
    expect(g).toBeDefined();
    for (const v of g!) expect(v).toBeCloseTo(sd, 12);
    const test = model.probabilistic!.find((p) => p.segment === 'test')!;
    expect(test.form).toBe('gaussian');
    expect(test.n).toBe(2);
    const want = (crpsGaussian(exact(10), sd, y[10]) + crpsGaussian(exact(11), sd, y[11])) / 2;
    expect(test.crps).toBeCloseTo(want, 10);
    // 90%: ±1.6449σ = ±0.6715 holds 0.2, not −1.0; 50%: ±0.6745σ = ±0.2754 holds 0.2 only as well.
    expect(test.coverage.map((c) => c.coverage)).toEqual([0.5, 0.5, 0.5]);
    // Width of the 90% interval: 2 × 1.6448536269514722 × σ.
    expect(test.coverage[2].width).toBeCloseTo(2 * 1.6448536269514722 * sd, 10);
    // PIT: Φ(0.2/σ) = Φ(0.4899) ≈ 0.688 → bin 6; Φ(−1/σ) = Φ(−2.449) ≈ 0.007 → bin 0.
    expect(test.pit).toEqual([1, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    // Pinball at 0.5 is half the absolute error of the median (the point forecast): (0.2 + 1.0)/2/2 = 0.3.
    expect(test.pinball.find((p) => p.level === 0.5)!.loss).toBeCloseTo(0.3, 10);
    const m = train.metrics!(model);
    expect(m.test_cov90_fwd_ret_1).toBe(0.5);
    expect(m.test_width90_fwd_ret_1).toBeCloseTo(2 * 1.6448536269514722 * sd, 10);

    // Exported with the Gaussian's sd beside the prediction.
    const t = artifactTable(model);
    expect(t.names).toEqual(['ts', 'segment', 'fold', 'pred_fwd_ret_1', 'sd_fwd_ret_1']);
  });
});

describe('exports and the report of a quantile forecast', () => {
  const levels = [0.05, 0.5, 0.95];
  const model = {
    type: 'Model',
    kind: 'gbm',
    params: {},
    featureNames: [],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    state: [],
    valMetrics: [],
    predictions: {
      index: Float64Array.from([T0, T0 + H]),
      segment: Uint8Array.from([2, 2]),
      fold: new Uint16Array(2),
      values: { fwd_ret_1: Float64Array.from([0.1, 0.2]) },
      distribution: { quantiles: { levels, values: { fwd_ret_1: Float64Array.from([-1, 0.1, 1, -2, 0.2, 2]) } } },
    },
  } as Model;

  it('writes one column per level, q05/q50/q95', () => {
    expect([0.05, 0.5, 0.95, 0.975, 0.1].map(quantileName)).toEqual(['q05', 'q50', 'q95', 'q97.5', 'q10']);
    const t = artifactTable(model);
    expect(t.names).toEqual(['ts', 'segment', 'fold', 'pred_fwd_ret_1', 'q05_fwd_ret_1', 'q50_fwd_ret_1', 'q95_fwd_ret_1']);
    expect(Array.from(t.columns[4] as Float64Array)).toEqual([-1, -2]);
    expect(Array.from(t.columns[6] as Float64Array)).toEqual([1, 2]);
  });

  it('the report draws the fan chart, PIT histogram, coverage and CRPS per horizon', () => {
    const n = 3;
    const index = Float64Array.from({ length: n }, (_, i) => T0 + i * H);
    const scores = (segment: 'val' | 'test') => ({
      target: 'fwd_ret_1',
      horizon: 1,
      segment,
      form: 'quantiles' as const,
      n: 10,
      crps: 0.0012,
      coverage: [0.5, 0.8, 0.9].map((nominal) => ({ nominal, coverage: nominal - 0.02, width: 0.004 })),
      pinball: levels.map((level) => ({ level, loss: 0.001 })),
      pit: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    });
    const report: Report = {
      type: 'Report',
      symbol: 'EURUSD',
      metrics: { sharpe: 1, total_return: 0.01, annual_return: 0.1, max_drawdown: 0.01, trades: 1, win_rate: 1 },
      index,
      position: new Float64Array(n),
      equity: new Float64Array(n),
      benchmark: new Float64Array(n),
      notes: [],
      distribution: {
        target: 'fwd_ret_1',
        horizon: 1,
        fan: {
          index,
          realised: Float64Array.from([1.1, 1.101, 1.099]),
          levels: [0.05, 0.25, 0.5, 0.75, 0.95],
          bands: [1.095, 1.098, 1.1, 1.102, 1.105].map((v) => new Float64Array(n).fill(v)),
        },
        scores: [scores('val'), scores('test')],
      },
    };
    const html = renderReport({
      run: { id: 'r1', pipeline: 'p', file: 'p.yaml', status: 'ok', startedAt: '2024-01-01T00:00:00', pipelineText: '' },
      steps: [],
      stepId: 'bt',
      report,
    });
    for (const name of ['fan', 'pit', 'coverage', 'crps']) expect(html).toMatch(new RegExp(`data-chart="${name}"[^>]*>.*?class="mark`));
    // Two bands (90% and 50%) drawn as filled paths, and the realised close as a line.
    expect(html.match(/class="mark band"/g)?.length).toBe(2);
    expect(html).toContain('realised close');
  });
});
