import { describe, expect, it } from 'vitest';
import type { Dataset, Model } from '../../src/core/artifacts.js';
import { syntheticCandles } from '../../src/data/synthetic.js';
import { metricsByRegime } from '../../src/backtest/regime.js';
import { parsePipelineText } from '../../src/parser/index.js';
import backtest from '../../src/steps/backtest/index.js';
import type { BacktestParams } from '../../src/steps/backtest/params.js';
import features from '../../src/steps/features/index.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import regime from '../../src/steps/regime/index.js';
import type { RegimeParams } from '../../src/steps/regime/params.js';
import split from '../../src/steps/split/index.js';
import type { SplitParams } from '../../src/steps/split/params.js';
import train from '../../src/steps/train/index.js';
import type { TrainParams } from '../../src/steps/train/params.js';
import { renderReport } from '../../src/report/html.js';
import { testContext } from '../helpers/ctx.js';

function findRow(index: Float64Array, t: number): number {
  return index.findIndex((v) => v === t);
}

function paramsOf<P>(kind: string, withParams: Record<string, unknown>): P {
  const text = `version: 1\nname: t\nsteps:\n  s:\n    uses: ${kind}\n    with: ${JSON.stringify(withParams)}\n`;
  const parsed = parsePipelineText(text, '/tmp/regime.yaml');
  if (!parsed.spec) throw new Error(parsed.diagnostics.map((d) => `${d.message} ${d.hint ?? ''}`).join('; '));
  return parsed.spec.steps[0].with as unknown as P;
}

describe('backtest metrics by regime', () => {
  it('splits bars, returns, hits and trades by the state at each signal (by hand)', () => {
    const net = Float64Array.from([0.01, -0.02, 0.03, 0, 0.02, -0.01]);
    const position = Float64Array.from([1, 1, -1, 0, 1, 1]);
    const state = Float64Array.from([0, 1, 1, 0, NaN, 0]);
    const tradeStart = Int32Array.from([0, 2, 4]);
    const m = metricsByRegime(net, position, tradeStart, state, 100);
    expect([...m.keys()]).toEqual([0, 1]);
    // State 0: bars 0, 3, 5 → net 0.01, 0, −0.01: mean 0, so Sharpe 0; held bars 0 and 5, one positive.
    expect(m.get(0)).toEqual({ bars: 3, total_return: 0, sharpe: 0, hit_rate: 0.5, exposure: 2 / 3, trades: 1 });
    // State 1: bars 1, 2 → −0.02, 0.03: mean 0.005, sample sd √((0.025² + 0.025²)/1) = 0.025·√2; trade at bar 2.
    const s1 = m.get(1)!;
    expect(s1.bars).toBe(2);
    expect(s1.total_return).toBeCloseTo(0.01, 15);
    expect(s1.sharpe).toBeCloseTo((0.005 / (0.025 * Math.SQRT2)) * 10, 12);
    expect(s1.hit_rate).toBe(0.5);
    expect(s1.exposure).toBe(1);
    expect(s1.trades).toBe(1); // the trade starting at bar 4 has no regime (NaN) and is left out
  });

  it('through the backtest step: the regimes add up to the whole', async () => {
    const candles = syntheticCandles({ symbol: 'EURUSD', timeframeMs: 3_600_000, bars: 3000, seed: 3 });
    const f = await features.run(
      { candles },
      paramsOf<FeaturesParams>('features', { returns: [1, 4], volatility: [24], target: { forward_return: { horizons: [1] } } }),
      testContext(),
    );
    const r = await regime.run({ features: f }, paramsOf<RegimeParams>('regime', { columns: ['ret_1', 'vol_24'], states: 2, max_iter: 100 }), testContext());
    const dataset = (await split.run({ features: r }, paramsOf<SplitParams>('split', {}), testContext())) as Dataset;
    const model = (await train.run({ dataset }, paramsOf<TrainParams>('train', { model: 'ridge' }), testContext())) as Model;
    const bp = paramsOf<BacktestParams>('backtest', { rule: 'sign', by_regime: 'regime_state' });
    const rep = await backtest.run({ model, dataset, candles }, bp, testContext());
    const m = rep.metrics;
    const states = [0, 1].filter((k) => m[`regime_${k}_bars`] !== undefined);
    expect(states.length).toBeGreaterThan(0);
    expect(states.reduce((s, k) => s + m[`regime_${k}_bars`], 0)).toBe(m.bars);
    expect(states.reduce((s, k) => s + m[`regime_${k}_trades`], 0)).toBe(m.trades);
    expect(states.reduce((s, k) => s + m[`regime_${k}_total_return`], 0)).toBeCloseTo(m.total_return, 12);
    // The state at each traded bar is the filtered state of its signal row, unscaled back to an integer.
    expect(rep.regime?.column).toBe('regime_state');
    expect(rep.regime!.state.length).toBe(rep.index.length);
    const t0 = findRow(r.index, rep.index[0]);
    expect(t0).toBeGreaterThan(0);
    expect(rep.regime!.state[0]).toBeCloseTo(r.columns.regime_state[t0 - 1], 9); // the bar held after the signal at t0 − 1
    // The HTML report draws the timeline and the per-regime table.
    const html = renderReport({
      run: { id: 'r', pipeline: 'p', file: 'p.yaml', status: 'succeeded', startedAt: '2026-01-01 00:00:00', pipelineText: '' },
      steps: [],
      stepId: 'report',
      report: rep,
    });
    expect(html).toContain('data-chart="regime"');
    expect(html).toContain('<h2>By regime</h2>');
    expect(html).not.toContain('<td>regime_0_bars</td>'); // not repeated under "Other"
    await expect(backtest.run({ model, dataset, candles }, { ...bp, by_regime: 'nope' }, testContext())).rejects.toThrow(
      /`by_regime: nope` is not a feature.*/,
    );
  }, 60_000);
});
