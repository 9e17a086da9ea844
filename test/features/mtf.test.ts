import { describe, expect, it } from 'vitest';
import type { Candles } from '../../src/core/artifacts.js';
import { INDICATOR_NAMES, type IndicatorName } from '../../src/indicators/index.js';
import features from '../../src/steps/features/index.js';
import { timeframesOf } from '../../src/steps/features/index.js';
import type { FeaturesParams, IndicatorSpec } from '../../src/steps/features/params.js';
import { DEFAULTS } from '../indicators/defaults.js';
import { randomCandles } from '../indicators/reference.js';
import { testContext } from '../helpers/ctx.js';

const M15 = 15 * 60_000;
const T0 = Date.UTC(2021, 2, 1); // a Monday 00:00 UTC

/** 15-minute candles from the seeded reference generator, with a weekend-like 2-day gap in the middle. */
function candles15m(n: number, seed = 3): Candles {
  const c = randomCandles(n, seed, 1.2, 0.0004);
  const index = new Float64Array(n);
  for (let i = 0; i < n; i++) index[i] = T0 + i * M15 + (i >= n / 2 ? 2 * 86_400_000 : 0);
  const f = (xs: number[]): Float64Array => Float64Array.from(xs);
  return {
    type: 'Candles',
    symbol: 'EURUSD',
    timeframe: '15m',
    source: 'test',
    pip: 0.0001,
    quality: [],
    index,
    columns: { open: f(c.open), high: f(c.high), low: f(c.low), close: f(c.close), volume: f(c.volume) },
  };
}

/** Every bar opening after `t` changed (prices scaled and shifted, volumes changed), bars ≤ t untouched. */
function perturbAfter(c: Candles, t: number): Candles {
  const cols: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(c.columns)) cols[k] = v.slice();
  for (let i = 0; i < c.index.length; i++) {
    if (c.index[i] <= t) continue;
    const s = 1 + 0.01 * Math.sin(i);
    for (const k of ['open', 'high', 'low', 'close']) cols[k][i] *= s;
    cols.volume[i] = cols.volume[i] * 3 + 7;
  }
  return { ...c, columns: cols };
}

function paramsFor(name: IndicatorName, timeframes: string[]): FeaturesParams {
  const spec = { [name]: { ...DEFAULTS[name], timeframes } } as unknown as IndicatorSpec;
  return { indicators: [spec], returns: [], volatility: [], zscores: [], calendar: false, sessions: false, target: { forward_return: { horizons: [1] } } };
}

describe('multi-timeframe features: no look-ahead', () => {
  const candles = candles15m(8000);
  const cut = 6000;
  const t = candles.index[cut];
  const perturbed = perturbAfter(candles, t);
  for (const name of INDICATOR_NAMES) {
    it(`${name} on 15m (base), 1h, 4h: values at and before t unchanged when every later bar changes`, async () => {
      const p = paramsFor(name, ['15m', '1h', '4h']);
      const a = await features.run({ candles }, p, testContext());
      const b = await features.run({ candles: perturbed }, p, testContext());
      expect(a.featureNames.some((f) => f.endsWith('@4h'))).toBe(true);
      expect(a.featureNames.some((f) => !f.includes('@'))).toBe(true);
      expect(b.warmupDropped).toBe(a.warmupDropped);
      let compared = 0;
      let changedLater = 0;
      for (const f of a.featureNames) {
        const x = a.columns[f];
        const y = b.columns[f];
        for (let i = 0; i < a.index.length; i++) {
          if (a.index[i] <= t) {
            if (!Object.is(x[i], y[i])) throw new Error(`${f} at ${new Date(a.index[i]).toISOString()} changed: ${x[i]} → ${y[i]}`);
            compared++;
          } else if (x[i] !== y[i]) changedLater++;
        }
      }
      expect(compared).toBeGreaterThan(1000);
      // Not vacuous: the perturbation does reach the features after t (candle-free ones aside).
      expect(changedLater).toBeGreaterThan(0);
    });
  }

  it('a 1h value on a 15m bar is that of the last 1h bar closed by the bar close', async () => {
    const p = paramsFor('sma', ['1h']);
    (p.indicators![0] as { sma: { period: number } }).sma.period = 2;
    const out = await features.run({ candles }, p, testContext());
    const col = out.columns['sma_2@1h'];
    const { close } = candles.columns;
    // Hourly closes by hand: the 1h bar opening at T0 + k·1h closes with 15m bar 4k+3.
    const hourClose = (k: number): number => close[4 * k + 3];
    for (let r = 0; r < 200; r++) {
      const i = r + out.warmupDropped;
      const barClose = candles.index[i] + M15;
      const k = Math.floor((barClose - T0) / 3_600_000) - 1; // last hour fully closed
      expect(col[r]).toBeCloseTo((hourClose(k) + hourClose(k - 1)) / 2, 14);
    }
  });
});

describe('timeframes: list, comma string or mapping', () => {
  it('parses every form to canonical timeframes', () => {
    expect(timeframesOf(['15m', '60m'], 'x')).toEqual(['15m', '1h']);
    expect(timeframesOf('15m, 1h,4h', 'x')).toEqual(['15m', '1h', '4h']);
    expect(timeframesOf({ '1h': true, '4h': false, '1d': true }, 'x')).toEqual(['1h', '1d']);
    expect(timeframesOf(undefined, 'x')).toEqual([]);
    expect(() => timeframesOf(['1x'], 'indicators[0]')).toThrow(/indicators\[0\].*invalid timeframe/);
  });
  it('names columns `rsi_14@1h` and reports a timeframe finer than the candles', async () => {
    const candles = candles15m(3000);
    const out = await features.run({ candles }, paramsFor('rsi', ['15m', '1h']), testContext());
    expect(out.featureNames).toEqual(['rsi_14', 'rsi_14@1h']);
    await expect(features.run({ candles }, paramsFor('rsi', ['5m']), testContext())).rejects.toThrow(/5m.*not longer/);
  });
});
