import { describe, it, expect } from 'vitest';
import type { Dataset, Model } from '../../src/core/artifacts.js';
import { gaussianForecast, quantileForecast, rearrangeQuantiles, sampleForecast } from '../../src/core/distribution.js';
import { distributionDirection, inverseVolSize, kellySize } from '../../src/backtest/signals.js';
import backtest from '../../src/steps/backtest/index.js';
import { testContext } from '../helpers/ctx.js';
import { BASE_PARAMS, candles, H, T0 } from '../backtest/fixtures.js';

// Φ(0.8) = 0.7881446014166034 (tables; scipy.stats.norm.cdf(0.8)).
const PHI_08 = 0.7881446014166034;

describe('rule probability', () => {
  it('Gaussian forecast: long when P(R > costs) ≥ p, short when P(R < −costs) ≥ p, else flat', () => {
    // N(0.001, 0.001²), costs 0.0002: P(R > 0.0002) = Φ((0.001 − 0.0002)/0.001) = Φ(0.8) ≈ 0.788.
    const up = gaussianForecast(0.001, 0.001);
    expect(1 - up.cdf(0.0002)).toBeCloseTo(PHI_08, 12);
    expect(distributionDirection(up, 0.0002, { kind: 'probability', p: 0.6 })).toBe(1);
    expect(distributionDirection(up, 0.0002, { kind: 'probability', p: 0.78 })).toBe(1);
    expect(distributionDirection(up, 0.0002, { kind: 'probability', p: 0.79 })).toBe(0);
    // Mirror: N(−0.001, 0.001²): P(R < −0.0002) = Φ(0.8).
    expect(distributionDirection(gaussianForecast(-0.001, 0.001), 0.0002, { kind: 'probability', p: 0.78 })).toBe(-1);
    // A centred forecast never clears costs with p > 0.5.
    expect(distributionDirection(gaussianForecast(0, 0.001), 0.0002, { kind: 'probability', p: 0.51 })).toBe(0);
    expect(distributionDirection(undefined, 0, { kind: 'probability', p: 0.6 })).toBe(0);
  });

  it('samples: the share of draws beyond the costs', () => {
    // 5 draws, costs 0.5: draws above 0.5 are 1, 2, 3 → P = 3/5 = 0.6.
    const f = sampleForecast([-1, 0, 1, 2, 3]);
    expect(distributionDirection(f, 0.5, { kind: 'probability', p: 0.6 })).toBe(1);
    expect(distributionDirection(f, 0.5, { kind: 'probability', p: 0.61 })).toBe(0);
  });

  it('quantiles: P read off the piecewise-linear quantile function', () => {
    // Levels 0.1/0.5/0.9 at 1, 2, 3: between 1 and 2 the CDF rises linearly from 0.1 to 0.5, so
    // F(1.5) = 0.3 and P(R > 1.5) = 0.7.
    const f = quantileForecast([0.1, 0.5, 0.9], [1, 2, 3]);
    expect(f.cdf(1.5)).toBeCloseTo(0.3, 14);
    expect(distributionDirection(f, 1.5, { kind: 'probability', p: 0.7 })).toBe(1);
    expect(distributionDirection(f, 1.5, { kind: 'probability', p: 0.71 })).toBe(0);
  });
});

describe('rule quantile_band', () => {
  it('long when the lower band clears the costs, short when the upper band is below −costs', () => {
    const f = quantileForecast([0.1, 0.5, 0.9], [0.0005, 0.001, 0.0015]);
    expect(distributionDirection(f, 0.0004, { kind: 'quantile_band', level: 0.1 })).toBe(1);
    expect(distributionDirection(f, 0.0006, { kind: 'quantile_band', level: 0.1 })).toBe(0);
    const g = quantileForecast([0.1, 0.5, 0.9], [-0.0015, -0.001, -0.0005]);
    expect(distributionDirection(g, 0.0004, { kind: 'quantile_band', level: 0.1 })).toBe(-1);
    // Level 0.25 of f: halfway between 0.1 (0.0005) and 0.5 (0.001) in level → 0.0005 + 0.0005·(0.15/0.4).
    expect(f.quantile(0.25)).toBeCloseTo(0.0005 + 0.0005 * (0.15 / 0.4), 15);
  });
});

describe('sizing by the forecast', () => {
  it('Kelly: fraction × (edge − costs) / variance, 0 without an edge', () => {
    // Centre 0.002, sd 0.01, costs 0.0005, half Kelly: 0.5 × 0.0015 / 0.0001 = 7.5.
    expect(kellySize(0.002, 0.01, 1, 0.0005, 0.5)).toBeCloseTo(7.5, 12);
    expect(kellySize(0.002, 0.01, -1, 0.0005, 0.5)).toBe(0);
    expect(kellySize(0.0004, 0.01, 1, 0.0005, 0.5)).toBe(0);
  });

  it('inverse volatility: annual_vol / (sd per bar × √bars per year)', () => {
    // Horizon 4 bars, sd 0.002 → 0.001 per bar; 6240 bars a year: 0.1 / (0.001 × √6240) = 1.2659…
    expect(inverseVolSize(0.002, 4, 0.1, 6240)).toBeCloseTo(0.1 / (0.001 * Math.sqrt(6240)), 12);
  });
});

describe('backtest step with rule probability and Kelly sizing', () => {
  const dataset = {
    type: 'Dataset',
    symbol: 'EURUSD',
    timeframe: '1h',
    index: Float64Array.from({ length: 10 }, (_, i) => T0 + i * H),
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    Y: new Float64Array(10),
  } as unknown as Dataset;
  // Test predictions at bars 2..7 with a Gaussian of sd 0.001 around them.
  const centre = [0.001, 0.0001, -0.001, 0.0012, 0, -0.0003];
  const bars = [2, 3, 4, 5, 6, 7];
  const model: Model = {
    type: 'Model',
    kind: 'ridge',
    params: {},
    featureNames: ['x'],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    state: [],
    valMetrics: [],
    predictions: {
      index: Float64Array.from(bars, (b) => T0 + b * H),
      segment: new Uint8Array(bars.length).fill(2),
      fold: new Uint16Array(bars.length),
      values: { fwd_ret_1: Float64Array.from(centre) },
      distribution: { gaussian: { sd: { fwd_ret_1: new Float64Array(bars.length).fill(0.001) } } },
    },
  };
  // No costs on the close: hurdle = 2 × half spread (1 pip / 2 = 0.00005 price) / close = 0.0001 / close.
  const c = candles(undefined, { closeShift: 0 });

  it('enters where P(R > costs) ≥ 0.7 and sizes each entry by half Kelly, capped', async () => {
    const params = {
      ...BASE_PARAMS,
      rule: 'probability' as const,
      probability: 0.7,
      costs: { ...BASE_PARAMS.costs, spread_pips: 1 },
      sizing: { kelly: { fraction: 0.5, cap: 100 } },
    };
    const r = await backtest.run({ model, dataset, candles: c }, params, testContext());
    const close = c.columns.close;
    // Hand: hurdle h_t = 0.0001 / close[t]; P(R > h) = Φ((centre − h)/0.001):
    // bar 2: centre 0.001 → z ≈ 0.909 → 0.82 ≥ 0.7: long; bar 3: 0.0001 → z ≈ 0.009: flat;
    // bar 4: −0.001 → P(R < −h) = Φ(0.909) ≈ 0.82: short; bar 5: 0.0012 → long; bar 6: 0 → flat;
    // bar 7 would fill at bar 8 and exit at bar 9 (exists): −0.0003 → Φ(0.209) ≈ 0.58 < 0.7: flat.
    const dir = [1, 0, -1, 1, 0, 0];
    const size = bars.map((b, i) => (dir[i] ? Math.min(100, (0.5 * (dir[i] * centre[i] - 0.0001 / close[b])) / 1e-6) : 0));
    expect(r.position.length).toBe(6);
    Array.from(r.position).forEach((p, i) => expect(p).toBeCloseTo(dir[i] * size[i], 9));
    expect(r.notes.join(' ')).toContain('probability');
  });

  it('refuses a model with no forecast distribution, saying how to get one', async () => {
    const bare: Model = { ...model, predictions: { ...model.predictions, distribution: undefined } };
    await expect(backtest.run({ model: bare, dataset, candles: c }, { ...BASE_PARAMS, rule: 'probability' }, testContext())).rejects.toThrow(
      /forecast distribution/,
    );
  });
});

describe('reading quantile forecasts', () => {
  it('rearranges crossing quantiles into order, row by row', () => {
    const v = Float64Array.from([0.1, 0.3, 0.2, 5, 4, 6, 1, 2, 3]);
    expect(rearrangeQuantiles(v, 3)).toBe(2);
    expect(Array.from(v)).toEqual([0.1, 0.2, 0.3, 4, 5, 6, 1, 2, 3]);
  });

  it('extends the quantile function linearly to levels 0 and 1 with the outer slopes', () => {
    // Levels 0.1/0.5/0.9 at 1/2/3: slope 2.5 per unit level on both sides, so Q(0) = 1 − 0.1·2.5 = 0.75, Q(1) = 3.25.
    const f = quantileForecast([0.1, 0.5, 0.9], [1, 2, 3]);
    expect(f.quantile(0)).toBeCloseTo(0.75, 14);
    expect(f.quantile(1)).toBeCloseTo(3.25, 14);
    expect(f.cdf(0.7)).toBe(0);
    expect(f.cdf(3.3)).toBe(1);
    expect(f.cdf(0.875)).toBeCloseTo(0.05, 14);
    // sd: the 10–90% width over the Gaussian's, 2 / (2 × 1.2815515655446004).
    expect(f.sd()).toBeCloseTo(2 / (2 * 1.2815515655446004), 12);
  });
});
