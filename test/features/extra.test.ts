import { describe, expect, it } from 'vitest';
import { fetchCandles } from '../helpers/candles.js';
import { hourly } from './fixtures.js';
import { directional, atr } from '../../src/indicators/dm.js';
import { sma } from '../../src/indicators/ma.js';
import { rsi } from '../../src/indicators/rsi.js';
import { bbands } from '../../src/indicators/stats.js';
import { stoch } from '../../src/indicators/stoch.js';
import { calendarFeatures, sessionFeatures } from '../../src/indicators/calendar.js';
import { directionClass, tripleBarrier } from '../../src/indicators/targets.js';
import { rollingVolatility, rollingZscore } from '../../src/indicators/rolling.js';
import features from '../../src/steps/features/index.js';
import { alpha158, alpha158Names } from '../../src/indicators/alpha158.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import * as R from '../indicators/reference.js';
import { sharedFile, testContext } from '../helpers/ctx.js';

const f64 = (xs: number[]): Float64Array => Float64Array.from(xs);
const BASE: Omit<FeaturesParams, 'indicators'> = {
  returns: [],
  volatility: [],
  zscores: [],
  calendar: false,
  sessions: false,
  target: { forward_return: { horizons: [1] } },
};

describe('calendar and session features', () => {
  it('hour and weekday as sine/cosine, worked by hand', () => {
    // 2021-01-06 (a Wednesday, day 3) 06:00 UTC: hour angle 2π·6/24 = π/2; week angle 2π·(3 + 0.25)/7.
    const c = calendarFeatures(f64([Date.UTC(2021, 0, 6, 6)]));
    expect(c.hourSin[0]).toBeCloseTo(1, 12);
    expect(c.hourCos[0]).toBeCloseTo(0, 12);
    expect(c.dowSin[0]).toBeCloseTo(Math.sin((2 * Math.PI * 3.25) / 7), 12);
    expect(c.dowCos[0]).toBeCloseTo(Math.cos((2 * Math.PI * 3.25) / 7), 12);
  });
  it('sessions follow local time and daylight saving; weekends are closed', () => {
    const t = [
      Date.UTC(2021, 0, 6, 7), // Wed 07:00 UTC, winter: London 07:00 (closed), Tokyo 16:00 (open)
      Date.UTC(2021, 0, 6, 8), // London 08:00 open, Tokyo 17:00 open → Tokyo–London overlap
      Date.UTC(2021, 6, 7, 7), // Wed 07:00 UTC, summer: London 08:00 BST → open
      Date.UTC(2021, 0, 6, 13), // New York 08:00 EST → open; London 13:00 → overlap
      Date.UTC(2021, 6, 7, 12), // New York 08:00 EDT → open
      Date.UTC(2021, 0, 9, 10), // Saturday
    ];
    const s = sessionFeatures(f64(t));
    expect(Array.from(s.tokyo)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(Array.from(s.london)).toEqual([0, 1, 1, 1, 1, 0]);
    expect(Array.from(s.newYork)).toEqual([0, 0, 0, 1, 1, 0]);
    expect(Array.from(s.tokyoLondon)).toEqual([0, 1, 1, 0, 0, 0]);
    expect(Array.from(s.londonNewYork)).toEqual([0, 0, 0, 1, 1, 0]);
  });
});

describe('returns, volatility, z-scores', () => {
  it('volatility = sample std of 1-bar log returns; z-score vs population std', () => {
    const c = [1, 1.01, 1.0, 1.02, 1.03, 1.01];
    const r = c.map((x, i) => (i ? Math.log(x / c[i - 1]) : NaN));
    const w = r.slice(3, 6);
    const m = w.reduce((a, b) => a + b) / 3;
    const sd = Math.sqrt(w.reduce((a, b) => a + (b - m) ** 2, 0) / 2);
    expect(rollingVolatility(f64(c), 3)[5]).toBeCloseTo(sd, 14);
    expect(Number.isNaN(rollingVolatility(f64(c), 3)[2])).toBe(true);
    const win = c.slice(2, 6);
    const mu = win.reduce((a, b) => a + b) / 4;
    const s = Math.sqrt(win.reduce((a, b) => a + (b - mu) ** 2, 0) / 4);
    expect(rollingZscore(f64(c), 4)[5]).toBeCloseTo((c[5] - mu) / s, 12);
  });
});

describe('targets', () => {
  it('direction classes with a dead zone', () => {
    const c = f64([1, 1.001, 1.00105, 1.0]);
    // ln(1.001) ≈ 0.0009995 > 0.0005 → 1; ln(1.00105/1.001) ≈ 0.00005 → 0; ln(1/1.00105) < −0.0005 → −1.
    expect(Array.from(directionClass(c, 1, 0.0005))).toEqual([1, 0, -1, NaN]);
  });
  it('triple barrier: profit-take, stop-loss, time limit, both-in-one-bar counts as stop', () => {
    const close = f64([10, 10, 10, 10, 10, 10, 10]);
    const atrv = f64([1, 1, 1, 1, 1, 1, 1]);
    // pt 2 → upper 12, sl 1 → lower 9, max 2 bars.
    const high = f64([10, 12.5, 10.2, 10.2, 12, 10.1, 10.1]);
    const low = f64([10, 8.5, 9.9, 9.9, 8, 9.95, 9.95]);
    // t=0: bar 1 touches both → −1. t=1: bars 2,3 inside → 0. t=2: bar 3 inside, bar 4 both → −1.
    // t=3: bar 4 both → −1. t=4: bars 5, 6 inside → 0. t=5, 6: horizon beyond data → NaN.
    expect(Array.from(tripleBarrier(high, low, close, atrv, 2, 1, 2))).toEqual([-1, 0, -1, -1, 0, NaN, NaN]);
    const h2 = f64([10, 12, 10, 10, 10, 10, 10]);
    const l2 = f64([10, 9.5, 10, 10, 10, 8.9, 10]);
    expect(Array.from(tripleBarrier(h2, l2, close, atrv, 2, 1, 2)).slice(0, 5)).toEqual([1, 0, 0, -1, -1]);
  });
  it('the step emits direction and triple-barrier targets, never as features, horizons recorded', async () => {
    const candles = hourly(400);
    const out = await features.run(
      { candles },
      {
        ...BASE,
        indicators: [{ rsi: { period: 14, on: 'close' } }],
        target: {
          forward_return: { horizons: [1] },
          direction: { horizons: [4], dead_zone: 0.0001 },
          triple_barrier: { profit_take: 2, stop_loss: 1, max_bars: 12, atr_period: 14 },
        },
      },
      testContext(),
    );
    expect(out.targetNames).toEqual(['fwd_ret_1', 'dir_4', 'tb_2_1_12']);
    expect(out.targetHorizons).toEqual([1, 4, 12]);
    expect(out.featureNames).toEqual(['rsi_14']);
    expect(out.tailDropped).toBe(12);
    for (const v of out.columns.dir_4) expect([-1, 0, 1]).toContain(v);
  });
});

describe('presets', () => {
  it('default: a sensible set incl. calendar and sessions; a column also listed by the user is made once', async () => {
    const candles = hourly(600);
    const out = await features.run(
      { candles },
      { ...BASE, preset: 'default', indicators: [{ rsi: { period: 14, on: 'close' } }, { cci: { period: 5 } }], returns: [1] },
      testContext(),
    );
    expect(out.featureNames.filter((f) => f === 'rsi_14')).toHaveLength(1);
    expect(out.featureNames).toEqual(
      expect.arrayContaining(['macd_12_26_9', 'adx_14', 'bb_upper_20_2', 'cci_5', 'ret_24', 'vol_24', 'zscore_20', 'hour_sin', 'session_london']),
    );
    expect(features.check!({ ...BASE, preset: 'default', indicators: [{ rsi: { period: 14, on: 'close' } }], returns: [1] } as FeaturesParams)).toEqual([]);
  });
  it('alpha158: Qlib names, hand-checked KMID/KLEN/ROC5/MA5/RSV5/CNTP5', async () => {
    const candles = hourly(300);
    const out = await features.run({ candles }, { ...BASE, preset: 'alpha158', indicators: [] }, testContext());
    expect(out.featureNames.length).toBe(12 + 29 * 5);
    expect(out.featureNames.slice(0, 3)).toEqual(['KMID', 'KLEN', 'KMID2']);
    const { open: o, high: h, low: l, close: c } = candles.columns;
    const r = 10;
    const i = r + out.warmupDropped;
    expect(out.columns.KMID[r]).toBeCloseTo((c[i] - o[i]) / o[i], 14);
    expect(out.columns.KLEN[r]).toBeCloseTo((h[i] - l[i]) / o[i], 14);
    expect(out.columns.ROC5[r]).toBeCloseTo(c[i - 5] / c[i], 14);
    expect(out.columns.MA5[r]).toBeCloseTo((c[i] + c[i - 1] + c[i - 2] + c[i - 3] + c[i - 4]) / 5 / c[i], 14);
    const hi = Math.max(...Array.from(h.slice(i - 4, i + 1)));
    const lo = Math.min(...Array.from(l.slice(i - 4, i + 1)));
    expect(out.columns.RSV5[r]).toBeCloseTo((c[i] - lo) / (hi - lo + 1e-12), 10);
    let up = 0;
    for (let j = i - 4; j <= i; j++) if (c[j] > c[j - 1]) up++;
    expect(out.columns.CNTP5[r]).toBeCloseTo(up / 5, 14);
  });
});

describe('alpha158 rolling quantiles', () => {
  /** pandas' rolling(d).quantile(q) (linear interpolation) / x[t], each window sorted afresh. */
  function qtlRef(x: number[], d: number, q: number): number[] {
    return x.map((v, t) => {
      if (t < d - 1) return NaN;
      const w = x.slice(t - d + 1, t + 1).sort((a, b) => a - b);
      const pos = (d - 1) * q;
      const lo = Math.floor(pos);
      const hi = Math.ceil(pos);
      return (w[lo] + (w[hi] - w[lo]) * (pos - lo)) / v;
    });
  }
  it('QTLU/QTLD equal the quantile of each window sorted afresh: prices with many ties, and a series holding zeros', () => {
    const c = R.randomCandles(400, 5, 1.1, 0.0008);
    // Rounded to 3 decimals: most windows hold repeated values.
    const tied = c.close.map((v) => Math.round(v * 1000) / 1000);
    const zeros = tied.map((v, i) => (i % 37 === 0 ? 0 : v));
    const names = alpha158Names();
    for (const close of [tied, zeros]) {
      const cols = alpha158(f64(c.open), f64(c.high), f64(c.low), f64(close), f64(c.volume));
      for (const d of [5, 10, 20, 30, 60]) {
        for (const [name, q] of [
          [`QTLU${d}`, 0.8],
          [`QTLD${d}`, 0.2],
        ] as const) {
          const got = Array.from(cols[names.indexOf(name)]);
          expect(got).toEqual(qtlRef(close, d, q));
        }
      }
    }
  });
});

describe('alpha158 window extremes and sign counts', () => {
  it('MAX/MIN/RSV/IMAX/IMIN/IMXD and CNTP/CNTN/CNTD equal a scan of every window (ties to the earliest bar; a high with NaN)', () => {
    const c = R.randomCandles(400, 9, 1.1, 0.0008);
    // Rounded to 3 decimals: windows often hold their maximum twice.
    const r3 = (xs: number[]): number[] => xs.map((v) => Math.round(v * 1000) / 1000);
    const [open, low, close] = [r3(c.open), r3(c.low), r3(c.close)];
    const names = alpha158Names();
    for (const high of [r3(c.high), r3(c.high).map((v, i) => (i === 150 ? NaN : v))]) {
      const cols = alpha158(f64(open), f64(high), f64(low), f64(close), f64(c.volume));
      const col = (name: string): number[] => Array.from(cols[names.indexOf(name)]);
      for (const d of [5, 10, 20, 30, 60]) {
        // First extreme of each window by a plain scan: position 1…d, value.
        const first = (x: number[], t: number, better: (a: number, b: number) => boolean): [number, number] => {
          let b = t - d + 1;
          for (let j = b + 1; j <= t; j++) if (better(x[j], x[b])) b = j;
          return [b - (t - d + 1) + 1, x[b]];
        };
        const want = (f: (t: number) => number, from: number): number[] => close.map((_, t) => (t < from ? NaN : f(t)));
        const hi = (t: number): [number, number] => first(high, t, (a, b) => a > b);
        const lo = (t: number): [number, number] => first(low, t, (a, b) => a < b);
        expect(col(`MAX${d}`)).toEqual(want((t) => hi(t)[1] / close[t], d - 1));
        expect(col(`MIN${d}`)).toEqual(want((t) => lo(t)[1] / close[t], d - 1));
        expect(col(`RSV${d}`)).toEqual(want((t) => (close[t] - lo(t)[1]) / (hi(t)[1] - lo(t)[1] + 1e-12), d - 1));
        expect(col(`IMAX${d}`)).toEqual(want((t) => hi(t)[0] / d, d - 1));
        expect(col(`IMIN${d}`)).toEqual(want((t) => lo(t)[0] / d, d - 1));
        expect(col(`IMXD${d}`)).toEqual(want((t) => (hi(t)[0] - lo(t)[0]) / d, d - 1));
        const count = (t: number, s: number): number => {
          let k = 0;
          for (let j = t - d + 1; j <= t; j++) if (Math.sign(close[j] - close[j - 1]) === s) k++;
          return k;
        };
        expect(col(`CNTP${d}`)).toEqual(want((t) => count(t, 1) / d, d));
        expect(col(`CNTN${d}`)).toEqual(want((t) => count(t, -1) / d, d));
        expect(col(`CNTD${d}`)).toEqual(want((t) => (count(t, 1) - count(t, -1)) / d, d));
      }
    }
  });
});

const eurusd = sharedFile('EURUSD_H1.csv');
describe.skipIf(!eurusd)('indicators on the real EURUSD H1 file vs independent references', () => {
  it('SMA 20, RSI 14, ADX 14, ATR 14, BBANDS 20/2, STOCH 14/3/3 match naive TA-Lib formulas', async () => {
    const frame = await fetchCandles({ source: 'csv', path: eurusd, symbol: 'EURUSD', timeframe: '1h' });
    // The file ends with all-zero placeholder rows; use the first 5,000 real bars.
    const n = 5000;
    const cut = (x: Float64Array): Float64Array => x.slice(0, n);
    const [H, L, C] = [cut(frame.columns.high), cut(frame.columns.low), cut(frame.columns.close)];
    const [h, l, c] = [H, L, C].map((x) => Array.from(x));
    const close = (a: Float64Array, e: number[], tol: number): void => {
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(e[i])) expect(Number.isNaN(a[i])).toBe(true);
        else if (!(Math.abs(a[i] - e[i]) <= tol * Math.max(1, Math.abs(e[i])))) throw new Error(`at ${i}: ${a[i]} vs ${e[i]}`);
      }
    };
    close(sma(C, 20), R.smaRef(c, 20), 1e-12);
    close(rsi(C, 14), R.rsiRef(c, 14), 1e-9);
    const dm = R.dmRef(h, l, c, 14);
    close(directional(H, L, C, 14).adx, dm.adx, 1e-9);
    const tr = R.trRef(h, l, c);
    const a = R.NaNs(n);
    a[14] = tr.slice(1, 15).reduce((x, y) => x + y) / 14;
    for (let t = 15; t < n; t++) a[t] = (a[t - 1] * 13 + tr[t]) / 14;
    close(atr(H, L, C, 14), a, 1e-9);
    // BBANDS: TA-Lib's mean(x²) − mean² keeps ~7 digits of an EURUSD variance; compare the band
    // offset (upper − middle) against the two-pass σ with a tolerance in pips, not 1e-9 relative.
    const b = bbands(C, 20, 2, 2, 'sma');
    const sd = R.varRef(c, 20).map(Math.sqrt);
    for (let t = 19; t < n; t++) expect(Math.abs(b.upper[t] - b.middle[t] - 2 * sd[t])).toBeLessThan(1e-7);
    close(b.middle, R.smaRef(c, 20), 1e-12);
    const k = R.smaRef(R.fastKRef(h, l, c, 14), 3);
    const s = stoch(H, L, C, 14, 3, 3, 'sma');
    close(s.d, R.smaRef(k, 3), 1e-9);
  });
});
