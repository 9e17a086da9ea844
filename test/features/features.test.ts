import { describe, expect, it } from 'vitest';
import type { Candles } from '../../src/core/artifacts.js';
import { RunError } from '../../src/core/diagnostics.js';
import { fetchCandles } from '../helpers/candles.js';
import features from '../../src/steps/features/index.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import { sharedFile, testContext } from '../helpers/ctx.js';

const HOUR = 3_600_000;

/** Deterministic FX-like hourly candles built by hand (no generator under test involved). */
function makeCandles(n: number, close?: (i: number) => number): Candles {
  const index = new Float64Array(n);
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const cl = new Float64Array(n);
  const volume = new Float64Array(n);
  const c = close ?? ((i: number) => 1.1 + 0.01 * Math.sin(i * 0.21) + 0.003 * Math.sin(i * 1.7));
  for (let i = 0; i < n; i++) {
    index[i] = Date.UTC(2020, 0, 6) + i * HOUR;
    cl[i] = c(i);
    open[i] = i === 0 ? cl[i] : cl[i - 1];
    high[i] = Math.max(open[i], cl[i]) + 0.0004;
    low[i] = Math.min(open[i], cl[i]) - 0.0004;
    volume[i] = 100 + (i % 7);
  }
  return {
    type: 'Candles',
    symbol: 'EURUSD',
    timeframe: '1h',
    source: 'test',
    pip: 0.0001,
    quality: [],
    index,
    columns: { open, high, low, close: cl, volume },
  };
}

const YAML_EXAMPLE: FeaturesParams = {
  indicators: [{ rsi: { period: 14, on: 'close' } }, { ema: { period: 20, on: 'close' } }, { macd: { fast: 12, slow: 26, signal: 9, on: 'close' } }],
  returns: [1, 4, 24],
  volatility: [],
  zscores: [],
  calendar: false,
  sessions: false,
  target: { forward_return: { horizons: [1, 4] } },
};

describe('features step', () => {
  it('names columns, keeps targets out of featureNames, drops and counts warm-up and tail rows', async () => {
    const candles = makeCandles(500);
    const ctx = testContext();
    const out = await features.run({ candles }, YAML_EXAMPLE, ctx);
    expect(out.type).toBe('Features');
    expect(out.featureNames).toEqual(['rsi_14', 'ema_20', 'macd_12_26_9', 'macd_signal_12_26_9', 'macd_hist_12_26_9', 'ret_1', 'ret_4', 'ret_24']);
    expect(out.targetNames).toEqual(['fwd_ret_1', 'fwd_ret_4']);
    expect(out.targetHorizons).toEqual([1, 4]);
    for (const t of out.targetNames) expect(out.featureNames).not.toContain(t);
    expect(Object.keys(out.columns).sort()).toEqual([...out.featureNames, ...out.targetNames].sort());
    // Lookbacks from the TA-Lib definitions: rsi 14 → 14, ema 20 → 19, macd 12/26/9 → 25+8 = 33, ret_24 → 24.
    expect(out.warmupDropped).toBe(33);
    // Longest horizon 4 → the last 4 rows have no known target.
    expect(out.tailDropped).toBe(4);
    expect(out.index.length).toBe(500 - 33 - 4);
    expect(out.index[0]).toBe(candles.index[33]);
    expect(out.index[out.index.length - 1]).toBe(candles.index[500 - 5]);
    for (const name of Object.keys(out.columns)) {
      expect(out.columns[name].length).toBe(out.index.length);
      expect(out.columns[name].some(Number.isNaN)).toBe(false);
    }
    // Values line up with the bars: ret_1 at output row 0 is ln(close[33]/close[32]) …
    const c = candles.columns.close;
    expect(out.columns.ret_1[0]).toBeCloseTo(Math.log(c[33] / c[32]), 14);
    expect(out.columns.ret_24[0]).toBeCloseTo(Math.log(c[33] / c[9]), 14);
    // … and fwd_ret_4 at the last row is ln(close[495+4]/close[495]).
    const last = out.index.length - 1;
    expect(out.columns.fwd_ret_4[last]).toBeCloseTo(Math.log(c[499] / c[495]), 14);
    expect(out.columns.fwd_ret_1[last]).toBeCloseTo(Math.log(c[496] / c[495]), 14);
    expect(ctx.logs.join('\n')).toMatch(/warm-up: dropped 33/);
    expect(ctx.logs.join('\n')).toMatch(/tail: dropped 4/);
    expect(features.summary!(out)).toBe('8 features, 2 targets, 463 rows (warm-up 33, tail 4 dropped)');
    expect(features.metrics!(out)).toEqual({ rows: 463, features: 8 });
  });

  it('ema on hl2: suffixed name, value = SMA of the first 20 (high+low)/2', async () => {
    const candles = makeCandles(100);
    const params: FeaturesParams = {
      indicators: [{ ema: { period: 20, on: 'hl2' } }],
      returns: [],
      volatility: [],
      zscores: [],
      calendar: false,
      sessions: false,
      target: { forward_return: { horizons: [1] } },
    };
    const out = await features.run({ candles }, params, testContext());
    expect(out.featureNames).toEqual(['ema_20_hl2']);
    expect(out.warmupDropped).toBe(19);
    const { high, low } = candles.columns;
    let sum = 0;
    for (let i = 0; i < 20; i++) sum += (high[i] + low[i]) / 2;
    expect(out.columns.ema_20_hl2[0]).toBeCloseTo(sum / 20, 14);
  });

  it('no look-ahead: changing bars after t leaves every feature at rows <= t unchanged', async () => {
    const n = 300;
    const base = makeCandles(n);
    const ref = await features.run({ candles: base }, YAML_EXAMPLE, testContext());
    for (const t of [40, 120, 250]) {
      const changed = makeCandles(n);
      for (const col of ['open', 'high', 'low', 'close']) {
        const a = changed.columns[col];
        for (let i = t + 1; i < n; i++) a[i] *= 1 + 0.05 * Math.sin(i); // large, irregular changes after t
      }
      const out = await features.run({ candles: changed }, YAML_EXAMPLE, testContext());
      expect(out.warmupDropped).toBe(ref.warmupDropped);
      const rowT = t - ref.warmupDropped; // output row of bar t
      for (const name of ref.featureNames) {
        for (let r = 0; r <= rowT; r++) expect(out.columns[name][r]).toBe(ref.columns[name][r]);
        // The perturbation is visible right after t, so the comparison above is not vacuous.
        if (name === 'ret_1') expect(out.columns[name][rowT + 2]).not.toBe(ref.columns[name][rowT + 2]);
      }
      // Targets do look ahead (by design): the forward return at bar t changes.
      expect(out.columns.fwd_ret_1[rowT]).not.toBe(ref.columns.fwd_ret_1[rowT]);
    }
  });

  it('refuses candles with a NaN or non-positive price, naming the bar', async () => {
    const candles = makeCandles(100);
    candles.columns.close[50] = NaN;
    await expect(features.run({ candles }, YAML_EXAMPLE, testContext())).rejects.toThrow(/close.*bar 50.*2020-01-08/);
    const zero = makeCandles(100);
    zero.columns.close[7] = 0;
    const err = await features.run({ candles: zero }, YAML_EXAMPLE, testContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).hint).toBeTruthy();
  });

  it('refuses too few bars with a hint', async () => {
    const err = await features.run({ candles: makeCandles(36) }, YAML_EXAMPLE, testContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).message).toMatch(/not enough bars/);
    // 37 bars = 33 warm-up + 4 tail → nothing left either; 38 leaves one row.
    await expect(features.run({ candles: makeCandles(37) }, YAML_EXAMPLE, testContext())).rejects.toThrow(/not enough bars/);
    const one = await features.run({ candles: makeCandles(38) }, YAML_EXAMPLE, testContext());
    expect(one.index.length).toBe(1);
    // The message counts what the hand count above says: 33 warm-up (MACD 26 + 9 − 2) + 4 tail + 1.
    expect((err as RunError).message).toBe(
      'not enough bars: the candles have 36 bars, but `macd_12_26_9` needs 33 bars of warm-up and the targets drop 4 bars at the end, so at least 38 bars are needed',
    );
  });

  it('with fewer bars than the warm-up, says how many there are and how many are needed (not "needs 1")', async () => {
    const params: FeaturesParams = {
      ...YAML_EXAMPLE,
      indicators: [{ rsi: { period: 14, on: 'close' } }],
      returns: [1],
      target: { forward_return: { horizons: [1] } },
    };
    const err = await features.run({ candles: makeCandles(1) }, params, testContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    // RSI(14)'s first value is at bar 14 (TA-Lib lookback = period); a 1-bar forward return drops the last bar.
    expect((err as RunError).message).toBe(
      'not enough bars: the candles have 1 bar, but `rsi_14` needs 14 bars of warm-up and the targets drop 1 bar at the end, so at least 16 bars are needed',
    );
    // The count is right: 15 bars give no row, 16 give one.
    await expect(features.run({ candles: makeCandles(15) }, params, testContext())).rejects.toThrow(/at least 16 bars are needed/);
    expect((await features.run({ candles: makeCandles(16) }, params, testContext())).index.length).toBe(1);
  });
});

describe('features check()', () => {
  const base = (p: Partial<FeaturesParams>): FeaturesParams => ({ ...YAML_EXAMPLE, ...p });

  it('accepts the documented example', () => {
    expect(features.check!(YAML_EXAMPLE)).toEqual([]);
  });

  it('reports macd fast >= slow at indicators[i].macd.fast', () => {
    const issues = features.check!(
      base({
        indicators: [{ rsi: { period: 14, on: 'close' } }, { ema: { period: 20, on: 'close' } }, { macd: { fast: 26, slow: 12, signal: 9, on: 'close' } }],
      }),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual(['indicators', 2, 'macd', 'fast']);
    expect(issues[0].hint).toMatch(/fast: 12, slow: 26/);
    const eq = features.check!(base({ indicators: [{ macd: { fast: 12, slow: 12, signal: 9, on: 'close' } }] }));
    expect(eq[0].path).toEqual(['indicators', 0, 'macd', 'fast']);
  });

  it('reports duplicate columns where the second one is', () => {
    const dupInd = features.check!(base({ indicators: [{ rsi: { period: 14, on: 'close' } }, { rsi: { period: 14, on: 'close' } }] }));
    expect(dupInd.map((i) => i.path)).toEqual([['indicators', 1]]);
    expect(dupInd[0].message).toMatch(/rsi_14.*indicators\[0\]/);
    // Same period on another source is a different column.
    expect(features.check!(base({ indicators: [{ rsi: { period: 14, on: 'close' } }, { rsi: { period: 14, on: 'hl2' } }] }))).toEqual([]);
    expect(features.check!(base({ returns: [1, 4, 1] })).map((i) => i.path)).toEqual([['returns', 2]]);
    expect(features.check!(base({ target: { forward_return: { horizons: [4, 4] } } })).map((i) => i.path)).toEqual([
      ['target', 'forward_return', 'horizons', 1],
    ]);
  });

  it('reports a step with no features', () => {
    const issues = features.check!(base({ indicators: [], returns: [] }));
    expect(issues).toHaveLength(1);
    expect(issues[0].message).toMatch(/no features/);
  });
});

const eurusd = sharedFile('EURUSD_H1.csv');
describe.skipIf(!eurusd)('features on real EURUSD H1 bars', () => {
  it('computes the example features over 50k bars, NaN-free, RSI within [0, 100]', async () => {
    const candles = await fetchCandles({ source: 'csv', path: eurusd, symbol: 'EURUSD', timeframe: '1h' });
    const frame = candles;
    const out = await features.run({ candles }, YAML_EXAMPLE, testContext());
    expect(out.warmupDropped).toBe(33);
    expect(out.tailDropped).toBe(4);
    expect(out.index.length).toBe(frame.index.length - 37);
    const r = out.columns.rsi_14;
    for (let i = 0; i < r.length; i++) if (!(r[i] >= 0 && r[i] <= 100)) throw new Error(`rsi out of range at ${i}: ${r[i]}`);
  });
});
