/**
 * Exactness of every indicator against independent references (test/indicators/reference.ts: the
 * documented TA-Lib formulas written naively) on long random OHLCV series, to 1e-9 relative, plus
 * NaN exactly over TA-Lib's lookback for every entry of the indicator table.
 */
import { describe, expect, it } from 'vitest';
import { candleShape } from '../../src/indicators/candle.js';
import { adxr, atr, directional, natr, trange } from '../../src/indicators/dm.js';
import { INDICATORS, INDICATOR_NAMES, type IndicatorName } from '../../src/indicators/index.js';
import { dema, kama, sma, t3, tema, trima, wma } from '../../src/indicators/ma.js';
import { aroon, aroonosc, bop, cci, cmo, mom, priceOscillator, roc, trix, ultosc, willr } from '../../src/indicators/momentum.js';
import { sar } from '../../src/indicators/sar.js';
import { bbands, linearreg, stddev, variance } from '../../src/indicators/stats.js';
import { stoch, stochf, stochrsi } from '../../src/indicators/stoch.js';
import { ad, adosc, mfi, obv } from '../../src/indicators/volume.js';
import { DEFAULTS } from './defaults.js';
import * as R from './reference.js';

const f64 = (xs: number[]): Float64Array => Float64Array.from(xs);

/** Same NaN positions, and |a − b| ≤ 1e-9·max(1, |b|) elsewhere. */
function expectClose(actual: Float64Array, expected: number[], tol = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) throw new Error(`index ${i}: got ${a}, expected ${e}`);
      continue;
    }
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) throw new Error(`index ${i}: got ${a}, expected ${e} (diff ${a - e})`);
  }
}

const N = 600;
const C = R.randomCandles(N, 7);
const { open: o, high: h, low: l, close: c, volume: v } = C;
const [O, H, L, Cl, V] = [o, h, l, c, v].map(f64);

describe('moving averages vs naive references', () => {
  for (const p of [2, 5, 14, 30]) {
    it(`period ${p}: SMA, WMA, DEMA, TEMA, TRIMA`, () => {
      expectClose(sma(Cl, p), R.smaRef(c, p));
      expectClose(wma(Cl, p), R.wmaRef(c, p));
      const e1 = R.emaRef(c, p);
      const e2 = R.emaRef(e1, p);
      const e3 = R.emaRef(e2, p);
      expectClose(
        dema(Cl, p),
        R.zip(e1, e2, (a, b) => 2 * a - b),
      );
      expectClose(
        tema(Cl, p),
        c.map((_, t) => 3 * e1[t] - 3 * e2[t] + e3[t]),
      );
      expectClose(trima(Cl, p), R.trimaRef(c, p));
    });
  }
  it('TRIMA odd and even periods use triangular weights', () => {
    for (const p of [3, 4, 7, 10]) expectClose(trima(Cl, p), R.trimaRef(c, p));
  });
  it('KAMA(10), KAMA(30) and T3(5, 0.7), T3(3, 0.5)', () => {
    expectClose(kama(Cl, 10), R.kamaRef(c, 10));
    expectClose(kama(Cl, 30), R.kamaRef(c, 30));
    expectClose(t3(Cl, 5, 0.7), R.t3Ref(c, 5, 0.7));
    expectClose(t3(Cl, 3, 0.5), R.t3Ref(c, 3, 0.5));
  });
});

describe('momentum vs naive references', () => {
  it('MOM, ROC, CMO, TRIX', () => {
    expectClose(
      mom(Cl, 10),
      c.map((x, t) => (t >= 10 ? x - c[t - 10] : NaN)),
    );
    expectClose(roc(Cl, 10), R.rocRef(c, 10));
    expectClose(cmo(Cl, 14), R.cmoRef(c, 14));
    const e3 = R.emaRef(R.emaRef(R.emaRef(c, 15), 15), 15);
    expectClose(trix(Cl, 15), R.rocRef(e3, 1));
  });
  it('PPO and APO with SMA (TA-Lib default) and EMA (fast EMA seeded at the slow EMA start)', () => {
    const fs = R.smaRef(c, 12);
    const ss = R.smaRef(c, 26);
    expectClose(
      priceOscillator(Cl, 12, 26, 'sma', true),
      R.zip(fs, ss, (a, b) => ((a - b) / b) * 100),
    );
    expectClose(
      priceOscillator(Cl, 12, 26, 'sma', false),
      R.zip(fs, ss, (a, b) => a - b),
    );
    // EMA: unlike MACD, TA_INT_PO seeds each EMA from the first bar (fast: mean of c[0..11]),
    // output from the slow EMA's first value (index 25).
    const fastEma = R.emaRef(c, 12).map((x, t) => (t < 25 ? NaN : x));
    const slowEma = R.emaRef(c, 26);
    expectClose(
      priceOscillator(Cl, 12, 26, 'ema', false),
      R.zip(fastEma, slowEma, (a, b) => a - b),
    );
    expectClose(
      priceOscillator(Cl, 12, 26, 'ema', true),
      R.zip(fastEma, slowEma, (a, b) => ((a - b) / b) * 100),
    );
  });
  it('WILLR, CCI, BOP', () => {
    expectClose(
      willr(H, L, Cl, 14),
      c.map((x, t) => (t < 13 ? NaN : (-100 * (R.hh(h, t, 14) - x)) / (R.hh(h, t, 14) - R.ll(l, t, 14)))),
    );
    const tp = c.map((x, t) => (h[t] + l[t] + x) / 3);
    const m = R.smaRef(tp, 20);
    const md = tp.map((_, t) => (t < 19 ? NaN : tp.slice(t - 19, t + 1).reduce((a, b) => a + Math.abs(b - m[t]), 0) / 20));
    expectClose(
      cci(H, L, Cl, 20),
      tp.map((x, t) => (x - m[t]) / (0.015 * md[t])),
    );
    expectClose(
      bop(O, H, L, Cl),
      c.map((x, t) => (x - o[t]) / (h[t] - l[t])),
    );
  });
  it('ULTOSC(7, 14, 28), periods given in any order', () => {
    const bp = c.map((x, t) => (t === 0 ? NaN : x - Math.min(l[t], c[t - 1])));
    const tr = R.trRef(h, l, c);
    const avg = (t: number, p: number): number => {
      let a = 0;
      let b = 0;
      for (let j = t - p + 1; j <= t; j++) (a += bp[j]), (b += tr[j]);
      return a / b;
    };
    const ref = c.map((_, t) => (t < 28 ? NaN : (100 * (4 * avg(t, 7) + 2 * avg(t, 14) + avg(t, 28))) / 7));
    expectClose(ultosc(H, L, Cl, 7, 14, 28), ref);
    expectClose(ultosc(H, L, Cl, 28, 7, 14), ref);
  });
  it('AROON up/down and AROONOSC: bars since the extreme over period+1 bars, latest bar on ties', () => {
    const p = 14;
    const since = (xs: number[], t: number, better: (a: number, b: number) => boolean): number => {
      let best = t - p;
      for (let j = t - p; j <= t; j++) if (!better(xs[best], xs[j])) best = j; // later index wins ties
      return t - best;
    };
    const up = c.map((_, t) => (t < p ? NaN : (100 * (p - since(h, t, (a, b) => a > b))) / p));
    const down = c.map((_, t) => (t < p ? NaN : (100 * (p - since(l, t, (a, b) => a < b))) / p));
    const r = aroon(H, L, p);
    expectClose(r.up, up);
    expectClose(r.down, down);
    expectClose(
      aroonosc(H, L, p),
      R.zip(up, down, (a, b) => a - b),
    );
  });
});

describe('stochastics vs naive references', () => {
  it('STOCH(5, 3, 3) slow %K/%D, NaN until the full lookback 4+2+2', () => {
    const k = R.smaRef(R.fastKRef(h, l, c, 5), 3);
    const d = R.smaRef(k, 3);
    const r = stoch(H, L, Cl, 5, 3, 3, 'sma');
    expectClose(
      r.k,
      k.map((x, t) => (t < 8 ? NaN : x)),
    );
    expectClose(r.d, d);
  });
  it('STOCHF(14, 3) and STOCHRSI(14, 5, 3)', () => {
    const fk = R.fastKRef(h, l, c, 14);
    const r = stochf(H, L, Cl, 14, 3, 'sma');
    expectClose(
      r.k,
      fk.map((x, t) => (t < 15 ? NaN : x)),
    );
    expectClose(r.d, R.smaRef(fk, 3));
    const rs = R.rsiRef(c, 14);
    const sk = R.fastKRef(rs, rs, rs, 5);
    const s = stochrsi(Cl, 14, 5, 3, 'sma');
    expectClose(
      s.k,
      sk.map((x, t) => (t < 14 + 4 + 2 ? NaN : x)),
      1e-8,
    );
    expectClose(s.d, R.smaRef(sk, 3), 1e-8);
  });
});

describe('directional movement and ranges vs naive references', () => {
  for (const p of [5, 14]) {
    it(`period ${p}: PLUS_DI, MINUS_DI, DX, ADX, ADXR`, () => {
      const ref = R.dmRef(h, l, c, p);
      const r = directional(H, L, Cl, p);
      expectClose(r.plusDi, ref.pdi);
      expectClose(r.minusDi, ref.mdi);
      expectClose(r.dx, ref.dx);
      expectClose(r.adx, ref.adx);
      expectClose(
        adxr(H, L, Cl, p),
        ref.adx.map((a, t) => (t < 3 * p - 2 ? NaN : (a + ref.adx[t - (p - 1)]) / 2)),
      );
    });
  }
  it('TRANGE, ATR(14) seeded with the mean of the first 14 true ranges, NATR', () => {
    const tr = R.trRef(h, l, c);
    expectClose(trange(H, L, Cl), tr);
    const a = R.NaNs(N);
    a[14] = tr.slice(1, 15).reduce((x, y) => x + y, 0) / 14;
    for (let t = 15; t < N; t++) a[t] = (a[t - 1] * 13 + tr[t]) / 14;
    expectClose(atr(H, L, Cl, 14), a);
    expectClose(
      natr(H, L, Cl, 14),
      a.map((x, t) => (100 * x) / c[t]),
    );
  });
  it('SAR(0.02, 0.2) and SAR(0.05, 0.3)', () => {
    expectClose(sar(H, L, 0.02, 0.2), R.sarRef(h, l, 0.02, 0.2));
    expectClose(sar(H, L, 0.05, 0.3), R.sarRef(h, l, 0.05, 0.3));
  });
});

describe('volume indicators vs naive references', () => {
  it('MFI(14), OBV, AD, ADOSC(3, 10)', () => {
    const tp = c.map((x, t) => (h[t] + l[t] + x) / 3);
    const ref = c.map((_, t) => {
      if (t < 14) return NaN;
      let pos = 0;
      let neg = 0;
      for (let j = t - 13; j <= t; j++) {
        if (tp[j] > tp[j - 1]) pos += tp[j] * v[j];
        if (tp[j] < tp[j - 1]) neg += tp[j] * v[j];
      }
      return (100 * pos) / (pos + neg);
    });
    expectClose(mfi(H, L, Cl, V, 14), ref);
    const ob: number[] = [];
    c.forEach((x, t) => ob.push(t === 0 ? v[0] : ob[t - 1] + Math.sign(x - c[t - 1]) * v[t]));
    expectClose(obv(Cl, V), ob);
    const adl: number[] = [];
    c.forEach((x, t) => adl.push((t ? adl[t - 1] : 0) + ((x - l[t] - (h[t] - x)) / (h[t] - l[t])) * v[t]));
    expectClose(ad(H, L, Cl, V), adl);
    // ADOSC: both EMAs start at the first A/D value (no SMA seed).
    const emaFromFirst = (p: number): number[] => {
      const out: number[] = [adl[0]];
      for (let t = 1; t < N; t++) out.push(out[t - 1] + (2 / (p + 1)) * (adl[t] - out[t - 1]));
      return out;
    };
    const f3 = emaFromFirst(3);
    const s10 = emaFromFirst(10);
    expectClose(
      adosc(H, L, Cl, V, 3, 10),
      f3.map((x, t) => (t < 9 ? NaN : x - s10[t])),
    );
  });
});

describe('statistics vs naive references', () => {
  it('VAR, STDDEV (population), BBANDS(20, 2, 2) and asymmetric BBANDS(5, 1.5, 2.5)', () => {
    const vr = R.varRef(c, 5);
    expectClose(variance(Cl, 5), vr);
    expectClose(stddev(Cl, 5, 1), vr.map(Math.sqrt));
    expectClose(
      stddev(Cl, 5, 2),
      vr.map((x) => 2 * Math.sqrt(x)),
    );
    const m20 = R.smaRef(c, 20);
    const s20 = R.varRef(c, 20).map(Math.sqrt);
    const b = bbands(Cl, 20, 2, 2, 'sma');
    expectClose(b.middle, m20);
    expectClose(
      b.upper,
      R.zip(m20, s20, (m, s) => m + 2 * s),
    );
    expectClose(
      b.lower,
      R.zip(m20, s20, (m, s) => m - 2 * s),
    );
    const m5 = R.smaRef(c, 5);
    const s5 = vr.map(Math.sqrt);
    const a = bbands(Cl, 5, 1.5, 2.5, 'sma');
    expectClose(
      a.upper,
      R.zip(m5, s5, (m, s) => m + 1.5 * s),
    );
    expectClose(
      a.lower,
      R.zip(m5, s5, (m, s) => m - 2.5 * s),
    );
    const e = bbands(Cl, 10, 2, 2, 'ema');
    expectClose(e.middle, R.emaRef(c, 10));
  });
  it('LINEARREG value, slope, angle, intercept (14)', () => {
    const ref = R.linregRef(c, 14);
    const r = linearreg(Cl, 14);
    expectClose(r.value, ref.value);
    expectClose(r.slope, ref.slope);
    expectClose(r.angle, ref.angle);
    expectClose(r.intercept, ref.intercept);
  });
  it('candle shape parts', () => {
    const s = candleShape(O, H, L, Cl);
    expectClose(
      s.body,
      c.map((x, t) => x - o[t]),
    );
    expectClose(
      s.upper,
      c.map((x, t) => h[t] - Math.max(x, o[t])),
    );
    expectClose(
      s.lower,
      c.map((x, t) => Math.min(x, o[t]) - l[t]),
    );
    expectClose(
      s.range,
      c.map((_, t) => h[t] - l[t]),
    );
    expectClose(
      s.bodyRel,
      c.map((x, t) => (x - o[t]) / (h[t] - l[t])),
    );
  });
});

/** TA-Lib's lookbacks for the defaults, written out from TA-Lib's *_Lookback functions. */
const TALIB_LOOKBACK: Record<IndicatorName, number> = {
  rsi: 14,
  ema: 19,
  sma: 29,
  wma: 29,
  dema: 58,
  tema: 87,
  trima: 29,
  kama: 30,
  t3: 24,
  macd: 33,
  ppo: 25,
  apo: 25,
  mom: 10,
  roc: 10,
  cmo: 14,
  trix: 88,
  stoch: 8,
  stochf: 6,
  stochrsi: 20,
  willr: 13,
  cci: 13,
  adx: 27,
  adxr: 40,
  dx: 14,
  plus_di: 14,
  minus_di: 14,
  aroon: 14,
  aroonosc: 14,
  ultosc: 28,
  bop: 0,
  mfi: 14,
  obv: 0,
  ad: 0,
  adosc: 9,
  atr: 14,
  natr: 14,
  trange: 1,
  bbands: 4,
  stddev: 4,
  var: 4,
  linearreg: 13,
  sar: 1,
  candle: 0,
}; // prettier-ignore

describe('the indicator table', () => {
  const cols = { open: O, high: H, low: L, close: Cl, volume: V };
  it('covers every indicator of the issue', () => {
    expect([...INDICATOR_NAMES].sort()).toEqual(Object.keys(TALIB_LOOKBACK).sort());
  });
  for (const name of INDICATOR_NAMES) {
    it(`${name}: NaN exactly over TA-Lib's lookback, then values`, () => {
      const def = INDICATORS[name] as (typeof INDICATORS)[IndicatorName];
      const p = DEFAULTS[name] as never;
      expect(def.lookback(p)).toBe(TALIB_LOOKBACK[name]);
      const outs = def.compute(cols, p);
      expect(outs.length).toBe(def.outputs(p).length);
      for (const out of outs) {
        let k = 0;
        while (k < out.length && Number.isNaN(out[k])) k++;
        expect(k).toBe(TALIB_LOOKBACK[name]);
        for (let i = k; i < out.length; i++) if (!Number.isFinite(out[i])) throw new Error(`${name}: ${out[i]} at ${i}`);
      }
    });
  }
});
