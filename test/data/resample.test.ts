import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resample } from '../../src/data/resample.js';
import fetch from '../../src/steps/fetch/index.js';
import { sharedFile, testContext, SHARED_FOREX } from '../helpers/ctx.js';
import { params } from './helpers.js';

const M = 60_000;
const H = 3_600_000;
const series = (ts: number[], o: number[], h: number[], l: number[], c: number[], v: number[]) => ({
  index: Float64Array.from(ts),
  open: Float64Array.from(o),
  high: Float64Array.from(h),
  low: Float64Array.from(l),
  close: Float64Array.from(c),
  volume: Float64Array.from(v),
});

describe('resample (hand-worked)', () => {
  it('1m → 1h: first open, max high, min low, last close, summed volume; empty hours dropped', () => {
    const t0 = Date.UTC(2020, 0, 6, 10);
    const s = series(
      [t0, t0 + M, t0 + 59 * M, t0 + 3 * H + 5 * M],
      [1.0, 1.1, 1.2, 2.0],
      [1.5, 1.6, 1.3, 2.1],
      [0.9, 1.0, 0.8, 1.9],
      [1.1, 1.2, 1.25, 2.05],
      [1, 2, 3, 4],
    );
    const r = resample(s, H, 'ny17');
    expect(Array.from(r.index)).toEqual([t0, t0 + 3 * H]);
    expect(Array.from(r.open)).toEqual([1.0, 2.0]);
    expect(Array.from(r.high)).toEqual([1.6, 2.1]);
    expect(Array.from(r.low)).toEqual([0.8, 1.9]);
    expect(Array.from(r.close)).toEqual([1.25, 2.05]);
    expect(Array.from(r.volume)).toEqual([6, 4]);
  });

  it('1h → 1d, ny17: a day opens at 17:00 New York (22:00 UTC in winter, 21:00 in summer)', () => {
    // Winter: Tuesday 2020-01-07 21:00 UTC (16:00 NY) belongs to the day opened Monday 22:00 UTC;
    // 22:00 UTC (17:00 NY) opens the next day.
    const w = resample(series([Date.UTC(2020, 0, 7, 21), Date.UTC(2020, 0, 7, 22)], [1, 2], [1, 2], [1, 2], [1, 2], [0, 0]), 24 * H, 'ny17');
    expect(Array.from(w.index)).toEqual([Date.UTC(2020, 0, 6, 22), Date.UTC(2020, 0, 7, 22)]);
    // Summer: 20:00 UTC (16:00 EDT) vs 21:00 UTC (17:00 EDT).
    const s = resample(series([Date.UTC(2020, 6, 7, 20), Date.UTC(2020, 6, 7, 21)], [1, 2], [1, 2], [1, 2], [1, 2], [0, 0]), 24 * H, 'ny17');
    expect(Array.from(s.index)).toEqual([Date.UTC(2020, 6, 6, 21), Date.UTC(2020, 6, 7, 21)]);
    // utc: both in the same UTC day.
    const u = resample(series([Date.UTC(2020, 6, 7, 20), Date.UTC(2020, 6, 7, 21)], [1, 2], [1, 2], [1, 2], [1, 2], [0, 0]), 24 * H, 'utc');
    expect(Array.from(u.index)).toEqual([Date.UTC(2020, 6, 7)]);
  });

  it('1h → 1w: ny17 weeks open Sunday 17:00 New York; utc weeks on Sunday 00:00', () => {
    // Sunday 2020-01-05 22:00 UTC = 17:00 EST opens the week; Friday 2020-01-10 21:00 UTC is in it.
    const s = series([Date.UTC(2020, 0, 5, 22), Date.UTC(2020, 0, 10, 21), Date.UTC(2020, 0, 12, 22)], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 1, 1]);
    expect(Array.from(resample(s, 7 * 24 * H, 'ny17').index)).toEqual([Date.UTC(2020, 0, 5, 22), Date.UTC(2020, 0, 12, 22)]);
    expect(Array.from(resample(s, 7 * 24 * H, 'utc').index)).toEqual([Date.UTC(2020, 0, 5), Date.UTC(2020, 0, 12)]);
  });

  it('check(): resample must be longer, a multiple, and divide the day (or be 1w)', () => {
    const issues = (r: string, tf = '1h') => fetch.check!(params({ path: 'x.csv', timeframe: tf, resample: r })).map((i) => i.message);
    expect(issues('4h')).toEqual([]);
    expect(issues('1d')).toEqual([]);
    expect(issues('1w')).toEqual([]);
    expect(issues('30m')).toEqual(['resample target 30m is not longer than the timeframe 1h']);
    expect(issues('7h')).toEqual(['resample target 7h does not divide a day']);
    expect(issues('2d')).toEqual(['resample target 2d is not supported (above a day only 1w)']);
    expect(issues('10m', '3m')).toEqual(['resample target 10m is not a whole number of 3m bars']);
  });
});

describe('fetch with resample and ranges', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'fxflow-rs-'));
    let text = 'Timestamp,Open,High,Low,Close\n';
    // Monday 2020-01-06 00:00 .. 05:59 UTC, one bar a minute, close = minute index.
    for (let i = 0; i < 360; i++) {
      const t = new Date(Date.UTC(2020, 0, 6) + i * M).toISOString().slice(0, 16).replace('T', ' ');
      text += `${t},${i + 1},${i + 2},${i + 0.5},${i + 1}\n`;
    }
    writeFileSync(path.join(dir, 'm1.csv'), text);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('from/to select source bars ([from, to)), then resample', async () => {
    const out = await fetch.run(
      {},
      params({ path: 'm1.csv', timeframe: '1m', resample: '1h', from: '2020-01-06 01:30', to: '2020-01-06T04:00' }),
      testContext({ pipelineDir: dir }),
    );
    expect(out.timeframe).toBe('1h');
    expect(Array.from(out.index)).toEqual([Date.UTC(2020, 0, 6, 1), Date.UTC(2020, 0, 6, 2), Date.UTC(2020, 0, 6, 3)]);
    // Hour 01 holds minutes 90..119: open 91, close 120.
    expect(out.columns.open[0]).toBe(91);
    expect(out.columns.close[2]).toBe(240);
  });

  it('days: N back from the latest bar', async () => {
    const out = await fetch.run({}, params({ path: 'm1.csv', timeframe: '1m', days: 1 / 24 }), testContext({ pipelineDir: dir }));
    // Latest 05:59; one hour back → 04:59 .. 05:59, 61 bars.
    expect(out.index.length).toBe(61);
    expect(out.index[0]).toBe(Date.UTC(2020, 0, 6, 4, 59));
  });
});

const hd2018 = sharedFile('HISTDATA_COM_ASCII_EURUSD_M12018.zip');
const h1 = sharedFile('EURUSD_H1.csv');
describe.skipIf(!hd2018 || !h1)('done-when: 2018 HistData M1 in America/New_York, resampled to 1h, against the UTC EURUSD_H1.csv', () => {
  type Cmp = { common: number; within1: number; within05: number; exact: number; medianPips: number };
  async function compare(timezone: string): Promise<Cmp> {
    const ctx = testContext({ pipelineDir: SHARED_FOREX });
    const m = await fetch.run({}, params({ path: 'HISTDATA_COM_ASCII_EURUSD_M12018.zip', timeframe: '1m', timezone, resample: '1h' }), ctx);
    // The reference: EURUSD_H1.csv read naively (split lines and commas, Date.UTC), an independent UTC source.
    const { readFileSync } = await import('node:fs');
    const ref = new Map<number, number>();
    for (const line of readFileSync(h1!, 'latin1').split('\n').slice(1)) {
      const f = line.split(',');
      if (f.length < 5 || Number(f[4]) === 0) continue;
      const [d, t] = f[0].split(' ');
      const [y, mo, da] = d.split('-').map(Number);
      const [hh, mi] = t.split(':').map(Number);
      ref.set(Date.UTC(y, mo - 1, da, hh, mi), Number(f[4]));
    }
    const diffs: number[] = [];
    m.index.forEach((t, i) => {
      const c = ref.get(t);
      if (c !== undefined) diffs.push(Math.abs(c - m.columns.close[i]) / 0.0001);
    });
    diffs.sort((a, b) => a - b);
    const share = (f: (d: number) => boolean) => diffs.filter(f).length / diffs.length;
    return {
      common: diffs.length,
      within1: share((d) => d <= 1 + 1e-9),
      within05: share((d) => d <= 0.5 + 1e-9),
      exact: share((d) => d < 1e-9),
      medianPips: diffs[diffs.length >> 1],
    };
  }

  it('hourly closes match: 98.3% within 1 pip, 95.2% within 0.5 pip, median 0.1 pip over 6,226 common hours (fixed UTC-5: 42%)', async () => {
    const ny = await compare('America/New_York');
    expect(ny.common).toBe(6226);
    expect(ny.within1).toBeGreaterThanOrEqual(0.98);
    expect(ny.within05).toBeGreaterThanOrEqual(0.95);
    expect(ny.exact).toBeGreaterThan(0.3);
    expect(ny.medianPips).toBeLessThanOrEqual(0.1 + 1e-9);
    // HistData documents a fixed EST clock; the data follows New York DST instead (SOURCES.md), so the
    // documented fixed offset matches far worse.
    const fixed = await compare('UTC-5');
    expect(fixed.within1).toBeLessThan(0.5);
    expect(fixed.medianPips).toBeGreaterThan(1);
  });
});
