import { describe, expect, it } from 'vitest';
import { forwardLogReturn, logReturn } from '../../src/indicators/returns.js';
import { INDICATORS, forwardReturnColumn, indicatorOutputs, returnColumn } from '../../src/indicators/index.js';

const f64 = (xs: number[]) => Float64Array.from(xs);

describe('log returns', () => {
  const close = f64([100, 110, 99, 121]);

  it('logReturn(lag) = ln(c[t]/c[t-lag]), NaN for t < lag', () => {
    const r1 = logReturn(close, 1);
    expect(Number.isNaN(r1[0])).toBe(true);
    expect(r1[1]).toBeCloseTo(Math.log(1.1), 14);
    expect(r1[2]).toBeCloseTo(Math.log(0.9), 14);
    expect(r1[3]).toBeCloseTo(Math.log(121 / 99), 14);
    const r2 = logReturn(close, 2);
    expect(Number.isNaN(r2[0]) && Number.isNaN(r2[1])).toBe(true);
    expect(r2[2]).toBeCloseTo(Math.log(0.99), 14);
    expect(r2[3]).toBeCloseTo(Math.log(1.1), 14);
  });

  it('forwardLogReturn(h) = ln(c[t+h]/c[t]), NaN for the last h rows', () => {
    const f1 = forwardLogReturn(close, 1);
    expect(f1[0]).toBeCloseTo(Math.log(1.1), 14);
    expect(f1[2]).toBeCloseTo(Math.log(121 / 99), 14);
    expect(Number.isNaN(f1[3])).toBe(true);
    const f3 = forwardLogReturn(close, 3);
    expect(f3[0]).toBeCloseTo(Math.log(1.21), 14);
    expect(f3.slice(1).every(Number.isNaN)).toBe(true);
  });
});

describe('indicator table', () => {
  it('names columns stably and readably', () => {
    expect(indicatorOutputs('rsi', { period: 14, on: 'close' })).toEqual(['rsi_14']);
    expect(indicatorOutputs('ema', { period: 20, on: 'close' })).toEqual(['ema_20']);
    expect(indicatorOutputs('ema', { period: 20, on: 'hl2' })).toEqual(['ema_20_hl2']);
    expect(indicatorOutputs('macd', { fast: 12, slow: 26, signal: 9, on: 'close' })).toEqual(['macd_12_26_9', 'macd_signal_12_26_9', 'macd_hist_12_26_9']);
    expect(returnColumn(4)).toBe('ret_4');
    expect(forwardReturnColumn(1)).toBe('fwd_ret_1');
  });

  it('derived prices follow their definitions (hl2, hlc3, ohlc4)', () => {
    const cols = {
      open: f64([1, 2, 3]),
      high: f64([4, 6, 8]),
      low: f64([2, 2, 2]),
      close: f64([3, 4, 5]),
    };
    // EMA with period 1 would be the source itself, but periods start at 2: use EMA(2) at index 1 = mean of the first two.
    const at1 = (on: 'hl2' | 'hlc3' | 'ohlc4') => INDICATORS.ema.compute(cols, { period: 2, on })[0][1];
    // hl2: (4+2)/2 = 3, (6+2)/2 = 4 → mean 3.5
    expect(at1('hl2')).toBeCloseTo(3.5, 14);
    // hlc3: (4+2+3)/3 = 3, (6+2+4)/3 = 4 → mean 3.5
    expect(at1('hlc3')).toBeCloseTo(3.5, 14);
    // ohlc4: (1+4+2+3)/4 = 2.5, (2+6+2+4)/4 = 3.5 → mean 3
    expect(at1('ohlc4')).toBeCloseTo(3, 14);
  });
});
