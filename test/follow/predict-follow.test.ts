/**
 * Predicting bars appended to a series (src/steps/predict/core.ts, PredictMemory): each call with
 * the memory must give what predictBars gives without it, bit for bit (predictions, distribution,
 * signal, timestamps), while a row-wise model scores only the new rows. On real MetaTrader H1
 * EURUSD bars, grown bar by bar and in slices, cut back, and with volumes missing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BarPredictions, Candles } from '../../src/core/artifacts.js';
import { sliceFrame } from '../../src/data/frame.js';
import { getModelKind } from '../../src/models/registry.js';
import features from '../../src/steps/features/index.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import { predictBars, type PredictMemory, type SignalParams } from '../../src/steps/predict/core.js';
import { testContext } from '../helpers/ctx.js';
import { H1, trainOnH1 } from '../helpers/h1-model.js';

const WITH_VOLUME =
  '[ { rsi: { period: 14 } }, { ema: { period: 20 } }, { macd: { fast: 12, slow: 26, signal: 9 } }, { bbands: { period: 20 } }, { obv: {} } ]';
const setup = (model: string, indicators = WITH_VOLUME) => trainOnH1(model, indicators);

function same(a: BarPredictions, b: BarPredictions): void {
  const eq = (what: string, x: ArrayLike<number>, y: ArrayLike<number>) => {
    expect(x.length, `${what}: length`).toBe(y.length);
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) expect.fail(`${what}[${i}]: ${x[i]} (followed) vs ${y[i]} (afresh)`);
  };
  eq('index', a.index, b.index);
  eq('signal', a.signal, b.signal);
  expect(Boolean(a.size)).toBe(Boolean(b.size));
  if (b.size) eq('size', a.size!, b.size);
  for (const t of b.targetNames) eq(t, a.values[t], b.values[t]);
  expect(Boolean(a.distribution)).toBe(Boolean(b.distribution));
  if (b.distribution?.quantiles) for (const t of b.targetNames) eq(`q ${t}`, a.distribution!.quantiles!.values[t], b.distribution.quantiles.values[t]);
  expect(a.notes).toEqual(b.notes);
  expect(a.rule).toBe(b.rule);
}

const SIGNAL: SignalParams = { rule: 'threshold', entry_threshold: 0.00003, exit_threshold: 0.00001, quantile: 0.2, holding: 'bar' } as SignalParams;

describe.skipIf(!H1)('predict on bars appended to the series', () => {
  if (!H1) console.warn('skipped: ../shared/data/forex/EURUSD_H1.csv is absent');
  afterEach(() => vi.restoreAllMocks());

  for (const [label, model, quantiles] of [
    ['ridge', '{ model: ridge, alpha: 1 }', false],
    ['gbm with quantiles', '{ model: gbm, n_estimators: 30, max_depth: 3, quantiles: [0.1, 0.5, 0.9] }', true],
  ] as const) {
    it(`${label}: scores only the new rows, and every result equals predicting afresh`, async () => {
      const { candles, fp, model: m } = await setup(model);
      const kind = getModelKind(m.kind)!;
      const spy = vi.spyOn(kind, 'predict');
      const memory: PredictMemory = {};
      const n0 = candles.index.length - 40;
      const req = { features: fp, signal: SIGNAL };
      const scored: number[] = [];
      // Grown by 1, 1, 5 bars, then cut back (another series: scored afresh), then grown by 1 again.
      for (const n of [n0, n0 + 1, n0 + 2, n0 + 7, n0 - 3, n0 - 2, candles.index.length]) {
        const bars = sliceFrame(candles, 0, n);
        spy.mockClear();
        const followed = await predictBars(m, bars, req, testContext(), memory);
        scored.push(spy.mock.calls.reduce((s, c) => s + (c[2] as number), 0) / Math.max(1, spy.mock.calls.length));
        const afresh = await predictBars(m, bars, req, testContext());
        same(followed, afresh);
        if (quantiles) expect(followed.distribution?.quantiles).toBeDefined();
      }
      // Rows scored per call of the kind's predict.
      expect(scored[1]).toBe(1);
      expect(scored[2]).toBe(1);
      expect(scored[3]).toBe(5);
      expect(scored[5]).toBe(1);
      expect(scored[6]).toBe(candles.index.length - (n0 - 2));
      // The first call and the one after the cut score every feature row.
      expect(scored[0]).toBeGreaterThan(1000);
      expect(scored[4]).toBeGreaterThan(1000);
    }, 120_000);
  }

  it('rules on the forecast distribution (probability with Kelly sizing, quantile_band): followed equals afresh', async () => {
    const costs = { spread_pips: 0.1, commission_per_million: 0, commission_per_lot: 0, slippage_pips: 0 };
    for (const [model, signal] of [
      ['{ model: ridge, alpha: 1 }', { ...SIGNAL, rule: 'probability', probability: 0.505, costs, sizing: { kelly: { fraction: 0.5, cap: 2 } } }],
      [
        '{ model: gbm, n_estimators: 30, max_depth: 3, quantiles: [0.1, 0.5, 0.9] }',
        { ...SIGNAL, rule: 'quantile_band', band: 0.49, costs: { ...costs, spread_pips: 0 } },
      ],
    ] as const) {
      const { candles, fp, model: m } = await setup(model);
      const memory: PredictMemory = {};
      const n0 = candles.index.length - 10;
      const req = { features: fp, signal: signal as SignalParams };
      let positions = 0;
      for (const n of [n0, n0 + 1, n0 + 4, candles.index.length]) {
        const bars = sliceFrame(candles, 0, n);
        const followed = await predictBars(m, bars, req, testContext(), memory);
        same(followed, await predictBars(m, bars, req, testContext()));
        positions = followed.signal.reduce((a, d) => a + Math.abs(d), 0);
        expect(Boolean(followed.size)).toBe('sizing' in signal);
      }
      expect(positions).toBeGreaterThan(0);
    }
  }, 120_000);

  it('candles without volumes: checked once, then followed; a model on volume features is refused as afresh', async () => {
    const { candles, fp, model: m } = await setup('{ model: ridge, alpha: 1 }');
    const noVolume = (c: Candles): Candles => ({ ...c, columns: { ...c.columns, volume: new Float64Array(c.index.length) } });
    const memory: PredictMemory = {};
    const n0 = candles.index.length - 10;
    // The model reads obv (a volume feature): refused, with and without the memory.
    const req = { features: fp, signal: SIGNAL };
    await expect(predictBars(m, noVolume(sliceFrame(candles, 0, n0)), req, testContext())).rejects.toThrow(/have no volumes, and the model's features `obv_?/);
    await expect(predictBars(m, noVolume(sliceFrame(candles, 0, n0)), req, testContext(), memory)).rejects.toThrow(/have no volumes/);
    // Without obv: followed after the one check, equal to afresh.
    const fp2: FeaturesParams = { ...fp, indicators: fp.indicators!.filter((i) => !('obv' in i)) };
    const { model: m2 } = await setup('{ model: ridge, alpha: 1 }', WITH_VOLUME.replace(', { obv: {} }', ''));
    const spy = vi.spyOn(features, 'run');
    for (const n of [n0, n0 + 1, n0 + 3]) {
      const bars = noVolume(sliceFrame(candles, 0, n));
      spy.mockClear();
      const followed = await predictBars(m2, bars, { features: fp2, signal: SIGNAL }, testContext(), memory);
      // The volume check computes the features twice on the first call only.
      expect(spy.mock.calls.length).toBe(n === n0 ? 2 : 0);
      same(followed, await predictBars(m2, bars, { features: fp2, signal: SIGNAL }, testContext()));
    }
  }, 120_000);
});
