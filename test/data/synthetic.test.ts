import { describe, it, expect } from 'vitest';
import { syntheticCandles } from '../../src/data/synthetic.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

const base = { symbol: 'EURUSD', timeframeMs: HOUR, bars: 20_000, seed: 42 };
const c = syntheticCandles(base);
const { open, high, low, close, volume } = c.columns;
const idx = c.index;
const n = idx.length;

function acf1(x: Float64Array): number {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    den += (x[i] - m) * (x[i] - m);
    if (i > 0) num += (x[i] - m) * (x[i - 1] - m);
  }
  return num / den;
}

function corr(x: Float64Array, y: Float64Array): number {
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sx += (x[i] - mx) ** 2;
    sy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sx * sy);
}

describe('syntheticCandles', () => {
  it('returns Candles with the requested shape and metadata', () => {
    expect(c.type).toBe('Candles');
    expect(n).toBe(20_000);
    expect(c.timeframe).toBe('1h');
    expect(c.pip).toBe(0.0001);
    expect(c.source).toBe('synthetic(seed=42)');
    for (const col of [open, high, low, close, volume]) expect(col.length).toBe(n);
    // Default start: Sunday 2020-01-05 22:00 UTC.
    expect(idx[0]).toBe(Date.UTC(2020, 0, 5, 22, 0, 0));
    expect(new Date(idx[0]).getUTCDay()).toBe(0);
  });

  it('same seed → bit-identical arrays; a different seed → different prices', () => {
    const again = syntheticCandles(base);
    expect(again.index).toEqual(idx);
    for (const k of ['open', 'high', 'low', 'close', 'volume']) expect(again.columns[k]).toEqual(c.columns[k]);
    const other = syntheticCandles({ ...base, seed: 43 });
    expect(other.index).toEqual(idx); // the calendar does not depend on the seed
    expect(other.columns.close).not.toEqual(close);
  });

  it('every bar is consistent: high ≥ max(open, close), low ≤ min(open, close), all positive', () => {
    let bad = 0;
    for (let i = 0; i < n; i++) {
      if (!(high[i] >= Math.max(open[i], close[i]) && low[i] <= Math.min(open[i], close[i]) && low[i] > 0)) bad++;
      if (!(volume[i] >= 1 && Number.isInteger(volume[i]))) bad++;
    }
    expect(bad).toBe(0);
  });

  it('prices are rounded to 5 decimals (3 for JPY pairs)', () => {
    for (let i = 0; i < 1000; i++) {
      expect(Math.abs(close[i] * 1e5 - Math.round(close[i] * 1e5))).toBeLessThan(1e-6);
    }
    const jpy = syntheticCandles({ ...base, symbol: 'USDJPY', bars: 500 });
    expect(jpy.pip).toBe(0.01);
    for (const x of jpy.columns.high) expect(Math.abs(x * 1e3 - Math.round(x * 1e3))).toBeLessThan(1e-6);
    expect(jpy.columns.open[0]).toBeGreaterThan(50); // a yen-level price, not 1.x
  });

  it('index is strictly increasing in whole bars and no bar falls on a Saturday', () => {
    let saturdays = 0;
    for (let i = 0; i < n; i++) {
      if (new Date(idx[i]).getUTCDay() === 6) saturdays++;
      if (i > 0) {
        expect(idx[i]).toBeGreaterThan(idx[i - 1]);
        expect((idx[i] - idx[i - 1]) % HOUR).toBe(0);
      }
    }
    expect(saturdays).toBe(0);
  });

  it('the market is closed from Friday 22:00 to Sunday 22:00 UTC, with a small price gap at the open', () => {
    let weekendGaps = 0;
    let gapPriceMoves = 0;
    let otherOpenMismatch = 0;
    for (let i = 1; i < n; i++) {
      const dt = idx[i] - idx[i - 1];
      if (dt > HOUR) {
        // Last bar Friday 21:00 (its close is 22:00), next bar Sunday 22:00: 49 hours apart.
        const prev = new Date(idx[i - 1]);
        const cur = new Date(idx[i]);
        expect([prev.getUTCDay(), prev.getUTCHours()]).toEqual([5, 21]);
        expect([cur.getUTCDay(), cur.getUTCHours()]).toEqual([0, 22]);
        expect(dt).toBe(2 * DAY + HOUR);
        weekendGaps++;
        if (open[i] !== close[i - 1]) gapPriceMoves++;
        // "Small": within ±2% of the Friday close.
        expect(Math.abs(open[i] / close[i - 1] - 1)).toBeLessThan(0.02);
      } else if (open[i] !== close[i - 1]) {
        otherOpenMismatch++;
      }
    }
    // 20,000 bars of 120 per week ≈ 166 weekends.
    expect(weekendGaps).toBeGreaterThan(160);
    expect(gapPriceMoves).toBeGreaterThan(weekendGaps * 0.8);
    expect(otherOpenMismatch).toBe(0);
  });

  it('daily volatility is EURUSD-like (0.5–0.7% std of close-to-close day returns)', () => {
    const closes: number[] = [];
    for (let i = 0; i < n; i++) if (new Date(idx[i]).getUTCHours() === 21) closes.push(close[i]);
    let s2 = 0;
    for (let k = 1; k < closes.length; k++) s2 += Math.log(closes[k] / closes[k - 1]) ** 2;
    const sd = Math.sqrt(s2 / (closes.length - 1));
    expect(sd).toBeGreaterThan(0.005);
    expect(sd).toBeLessThan(0.007);
  });

  it('volatility clusters: squared returns (hour-of-day adjusted) are positively autocorrelated at lag 1', () => {
    const r2 = new Float64Array(n);
    const sumByHour = new Float64Array(24);
    const countByHour = new Float64Array(24);
    for (let i = 0; i < n; i++) {
      const r = Math.log(close[i] / open[i]);
      r2[i] = r * r;
      const h = new Date(idx[i]).getUTCHours();
      sumByHour[h] += r2[i];
      countByHour[h]++;
    }
    // Divide out the intraday cycle so the autocorrelation measures clustering, not the clock.
    const adj = r2.map((v, i) => {
      const h = new Date(idx[i]).getUTCHours();
      return v / (sumByHour[h] / countByHour[h]);
    });
    // For independent returns the estimate is 0 ± 1/sqrt(20000) ≈ 0.007.
    expect(acf1(adj)).toBeGreaterThan(0.05);
    expect(acf1(r2)).toBeGreaterThan(0.1);
  });

  it('intraday seasonality: |returns| are larger in 13:00–16:00 UTC than in 00:00–05:00 UTC', () => {
    let busy = 0;
    let nb = 0;
    let quiet = 0;
    let nq = 0;
    for (let i = 0; i < n; i++) {
      const h = new Date(idx[i]).getUTCHours();
      const a = Math.abs(Math.log(close[i] / open[i]));
      if (h >= 13 && h < 16) {
        busy += a;
        nb++;
      } else if (h < 5) {
        quiet += a;
        nq++;
      }
    }
    expect(busy / nb).toBeGreaterThan(1.5 * (quiet / nq));
  });

  it('tick volume rises with volatility (correlation with the bar range > 0.3)', () => {
    const range = high.map((h, i) => h - low[i]);
    expect(corr(volume, range)).toBeGreaterThan(0.3);
  });

  it('honours start, startPrice and other timeframes', () => {
    // Saturday 2021-03-06 12:00: the first bar waits for Sunday 22:00.
    const s = syntheticCandles({ symbol: 'GBPUSD', timeframeMs: 4 * HOUR, bars: 200, seed: 1, start: Date.UTC(2021, 2, 6, 12), startPrice: 1.4 });
    expect(s.index[0]).toBe(Date.UTC(2021, 2, 7, 22));
    expect(s.columns.open[0]).toBe(1.4);
    expect(s.timeframe).toBe('4h');
    const m = syntheticCandles({ symbol: 'EURUSD', timeframeMs: 5 * 60 * 1000, bars: 3000, seed: 1 });
    expect(m.timeframe).toBe('5m');
    for (let i = 0; i < m.index.length; i++) expect(new Date(m.index[i]).getUTCDay()).not.toBe(6);
    const d = syntheticCandles({ symbol: 'EURUSD', timeframeMs: DAY, bars: 100, seed: 1 });
    // Daily bars open at 22:00 Sunday..Thursday: five per week.
    for (const t of d.index) expect([0, 1, 2, 3, 4]).toContain(new Date(t).getUTCDay());
  });
});
