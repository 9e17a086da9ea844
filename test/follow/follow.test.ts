/**
 * Following a growing M1 file (src/data/follow.ts, src/steps/fetch/follow.ts,
 * src/steps/features/follow.ts) against the independent reference: the fetch and features steps
 * run afresh over the whole file, as a run without following does. Every value of the candles,
 * every feature column and every target must be the same (Object.is, so NaN and −0 count), after
 * each of several appends to two years of real HistData EURUSD M1.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Candles, Features } from '../../src/core/artifacts.js';
import { unpack } from '../../src/data/files.js';
import { INDICATOR_NAMES } from '../../src/indicators/index.js';
import fetchStep from '../../src/steps/fetch/index.js';
import { FetchFollower } from '../../src/steps/fetch/follow.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import featuresStep from '../../src/steps/features/index.js';
import { FeaturesFollower } from '../../src/steps/features/follow.js';
import type { FeaturesParams, IndicatorSpec } from '../../src/steps/features/params.js';
import { DEFAULTS } from '../indicators/defaults.js';
import { sharedFile, testContext } from '../helpers/ctx.js';

const z18 = sharedFile('HISTDATA_COM_ASCII_EURUSD_M12018.zip');
const z19 = sharedFile('HISTDATA_COM_ASCII_EURUSD_M12019.zip');

const QUALITY = {
  zero_rows: 'drop',
  nonpositive: 'error',
  ohlc: 'error',
  backwards: 'sort',
  duplicates: 'keep-last',
  gaps: 'warn',
  clock: 'warn',
  max_gap: '1h',
} as const;

function fetchParams(file: string): FetchParams {
  return { source: 'csv', path: file, format: 'auto', symbol: 'EURUSD', timeframe: '1m', day_close: 'ny17', quality: { ...QUALITY }, bars: 20000 };
}

/** Every indicator with its default params, a few on other sources and on 1h bars, the default preset, every target kind. */
const FEATURES: FeaturesParams = {
  preset: 'default',
  indicators: [
    ...INDICATOR_NAMES.filter(
      (k) => !['rsi', 'ema', 'macd', 'adx', 'plus_di', 'minus_di', 'atr', 'natr', 'willr', 'cci', 'roc', 'cmo', 'aroonosc', 'candle'].includes(k),
    ).map((k) => ({ [k]: DEFAULTS[k] }) as IndicatorSpec),
    { ema: { period: 50, on: 'hl2' } },
    { sma: { period: 10, on: 'hlc3' } },
    { rsi: { period: 7, on: 'ohlc4' } },
    { macd: { fast: 5, slow: 35, signal: 5, on: 'hl2' } },
    { atr: { period: 1 } },
    { cci: { period: 7 } },
    { rsi: { period: 14, on: 'close', timeframes: ['1h'] } },
  ],
  returns: [1, 4, 24],
  volatility: [24, 60],
  zscores: [20],
  calendar: true,
  sessions: true,
  target: {
    forward_return: { horizons: [1, 15] },
    direction: { horizons: [5], dead_zone: 0.0001 },
    triple_barrier: { profit_take: 2, stop_loss: 1, max_bars: 30, atr_period: 14 },
  },
};

function sameArray(what: string, a: Float64Array, b: Float64Array): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) expect.fail(`${what}[${i}]: ${a[i]} (followed) vs ${b[i]} (full)`);
  }
}

function sameCandles(a: Candles, b: Candles): void {
  sameArray('index', a.index, b.index);
  for (const k of ['open', 'high', 'low', 'close', 'volume']) sameArray(k, a.columns[k], b.columns[k]);
  expect(a.quality).toEqual(b.quality);
  expect({ ...a, index: 0, columns: 0, quality: 0 }).toEqual({ ...b, index: 0, columns: 0, quality: 0 });
}

function sameFeatures(a: Features, b: Features): void {
  expect(a.featureNames).toEqual(b.featureNames);
  expect(a.targetNames).toEqual(b.targetNames);
  expect([a.warmupDropped, a.tailDropped, a.targetHorizons]).toEqual([b.warmupDropped, b.tailDropped, b.targetHorizons]);
  sameArray('features index', a.index, b.index);
  for (const k of [...b.featureNames, ...b.targetNames]) sameArray(k, a.columns[k], b.columns[k]);
}

async function full(file: string, params: FeaturesParams): Promise<{ candles: Candles; features: Features }> {
  const ctx = testContext({ pipelineDir: path.dirname(file) });
  const fp = fetchStep.resolve ? fetchStep.resolve(fetchParams(file)) : fetchParams(file);
  const candles = (await fetchStep.run({}, fp as FetchParams, ctx)) as Candles;
  const features = (await featuresStep.run({ candles }, featuresStep.resolve!(params) as FeaturesParams, ctx)) as Features;
  return { candles, features };
}

describe.skipIf(!z18 || !z19)('a followed M1 file equals a full recompute after every append', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-follow-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // The two yearly files as one CSV (2018's last line ends with a newline; checked).
  const parts = [...unpack(z18!, readFileSync(z18!)), ...unpack(z19!, readFileSync(z19!))];
  const text = Buffer.concat(parts.map((p) => p.bytes));
  const lines: number[] = []; // offset after each line
  for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) lines.push(i + 1);
  const file = path.join(dir, 'EURUSD_M1.csv');

  it('appends of 1, 7, 1,000 and 2,500 bars, and a line written in two pieces', { timeout: 600_000 }, async () => {
    expect(parts.every((p) => p.bytes[p.bytes.length - 1] === 10)).toBe(true);
    const cut = lines.length - 3_510;
    writeFileSync(file, text.subarray(0, lines[cut - 1]));
    // `ends`: the buffer bookkeeping of partial reads (test/follow/hostile.test.ts runs both modes).
    const fetch = new FetchFollower(fetchParams(file), file, 'ends');
    const feats = new FeaturesFollower(FEATURES, fetch.candles());
    const first = feats.init(fetch.candles());
    const ref0 = await full(file, FEATURES);
    sameCandles(fetch.candles(), ref0.candles);
    sameFeatures(first, ref0.features);

    let at = cut;
    for (const k of [1, 7, 1_000, 2_500]) {
      appendFileSync(file, text.subarray(lines[at - 1], lines[at + k - 1]));
      at += k;
      const u = fetch.update();
      expect(u).toEqual({ status: 'appended', added: k });
      expect(feats.extendsSeen(fetch.candles())).toBe(true);
      const f = feats.extend(fetch.candles());
      const ref = await full(file, FEATURES);
      sameCandles(fetch.candles(), ref.candles);
      sameFeatures(f, ref.features);
    }
    // A line being written: not read until its newline arrives.
    const line = text.subarray(lines[at - 1], lines[at]);
    appendFileSync(file, line.subarray(0, 10));
    expect(fetch.update()).toEqual({ status: 'same', added: 0 });
    appendFileSync(file, line.subarray(10));
    expect(fetch.update()).toEqual({ status: 'appended', added: 1 });
    const f = feats.extend(fetch.candles());
    const ref = await full(file, FEATURES);
    sameCandles(fetch.candles(), ref.candles);
    sameFeatures(f, ref.features);
    // The first result is as it was: extending wrote only past its rows.
    sameFeatures(first, ref0.features);
  });
});
