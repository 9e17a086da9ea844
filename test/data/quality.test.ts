import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { weekendOverlap } from '../../src/data/quality.js';
import fetch from '../../src/steps/fetch/index.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { sharedFile, SHARED_FOREX } from '../helpers/ctx.js';
import { fetchFailure, params, runFetch } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-quality-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const HEAD = 'Timestamp,Open,High,Low,Close,Volume\n';
const row = (h: number, o = 1.1, hi = 1.2, lo = 1.0, c = 1.15) => `2020-01-06 ${String(h).padStart(2, '0')}:00,${o},${hi},${lo},${c},1\n`;
const MON = Date.UTC(2020, 0, 6);
const H = 3_600_000;

function file(name: string, body: string): string {
  writeFileSync(path.join(dir, name), HEAD + body);
  return name;
}
async function run(p: FetchParams, pipelineDir = dir) {
  const { out, ctx } = await runFetch(p, pipelineDir);
  return { out, ctx, hours: Array.from(out.index).map((t) => (t - MON) / H) };
}
const failure = (p: FetchParams, pipelineDir = dir) => fetchFailure(p, pipelineDir);

describe('quality policy on fixtures: each kind, each action', () => {
  it('zero rows: drop (default, warned), warn keeps them, error names file, line and values', async () => {
    const f = file('zero.csv', row(0) + row(1, 0, 0, 0, 0) + row(2));
    const d = await run(params({ path: f }));
    expect(d.hours).toEqual([0, 2]);
    // Dropping the row leaves a one-hour hole, which the gap check (max_gap 1h) reports too.
    expect(d.out.quality.map((q) => [q.kind, q.count, q.action])).toEqual([
      ['zero_rows', 1, 'drop'],
      ['gaps', 1, 'keep'],
    ]);
    expect(d.out.quality[0].detail).toBe('first at zero.csv:3');
    expect(d.ctx.warnings[0]).toBe('zero.csv: zero rows: 1 (drop; first at zero.csv:3)');
    expect(fetch.metrics!(d.out)).toEqual({ bars: 2, quality_zero_rows: 1, quality_gaps: 1 });
    expect((await run(params({ path: f, quality: { zero_rows: 'warn' } }))).hours).toEqual([0, 1, 2]);
    const e = await failure(params({ path: f, quality: { zero_rows: 'error' } }));
    expect(e.message).toBe('zero.csv:3: a row of zero or missing prices (open 0, high 0, low 0, close 0)');
    expect(e.loc).toEqual({ file: 'zero.csv', line: 3, col: 1 });
  });

  it('NaN rows count as zero rows', async () => {
    const f = file('nan.csv', row(0) + '2020-01-06 01:00,,,,,\n' + row(2));
    expect((await run(params({ path: f }))).out.quality[0]).toMatchObject({ kind: 'zero_rows', count: 1 });
  });

  it('non-positive prices: error (default) with the value, drop, warn', async () => {
    const f = file('neg.csv', row(0) + row(1, 1.1, 1.2, -1.0, 1.15) + row(2));
    const e = await failure(params({ path: f }));
    expect(e.message).toBe('neg.csv:3: low -1 is not a positive price (open 1.1, high 1.2, low -1, close 1.15)');
    expect(e.hint).toContain('nonpositive: drop');
    expect((await run(params({ path: f, quality: { nonpositive: 'drop' } }))).hours).toEqual([0, 2]);
    const w = await run(params({ path: f, quality: { nonpositive: 'warn' } }));
    expect(w.hours).toEqual([0, 1, 2]);
    expect(w.out.quality).toEqual([{ kind: 'nonpositive', count: 1, action: 'keep', detail: 'first at neg.csv:3' }]);
  });

  it('OHLC violations: error (default) naming the value, drop, warn', async () => {
    const f = file('ohlc.csv', row(0) + row(1, 1.1, 1.12, 1.0, 1.15) + row(2));
    const e = await failure(params({ path: f }));
    expect(e.message).toBe('ohlc.csv:3: high 1.12 is below max(open, close) 1.15');
    const g = file('ohlc2.csv', row(0, 1.1, 1.2, 1.11, 1.15));
    expect((await failure(params({ path: g }))).message).toBe('ohlc2.csv:2: low 1.11 is above min(open, close) 1.1');
    expect((await run(params({ path: f, quality: { ohlc: 'drop' } }))).hours).toEqual([0, 2]);
    const w = await run(params({ path: f, quality: { ohlc: 'warn' } }));
    expect(w.hours).toEqual([0, 1, 2]);
    expect(w.out.quality[0]).toMatchObject({ kind: 'ohlc', count: 1, action: 'keep' });
  });

  it('timestamps going backwards: sort (default), drop, error naming both lines', async () => {
    const f = file('back.csv', row(0) + row(2) + row(1) + row(3));
    const s = await run(params({ path: f }));
    expect(s.hours).toEqual([0, 1, 2, 3]);
    expect(s.out.quality[0]).toMatchObject({ kind: 'backwards', count: 1, action: 'sort' });
    expect((await run(params({ path: f, quality: { backwards: 'drop' } }))).hours).toEqual([0, 2, 3]);
    const e = await failure(params({ path: f, quality: { backwards: 'error' } }));
    expect(e.message).toBe('back.csv:4: timestamp goes backwards: 2020-01-06 01:00 UTC after 2020-01-06 02:00 UTC at back.csv:3');
    expect(e.loc?.line).toBe(4);
  });

  it('duplicate timestamps: keep-last (default), drop keeps the first, error names both lines', async () => {
    const f = file('dup.csv', row(0) + row(1, 1.1, 1.2, 1.0, 1.15) + row(1, 1.1, 1.3, 1.0, 1.25) + row(2));
    const k = await run(params({ path: f }));
    expect(k.hours).toEqual([0, 1, 2]);
    expect(k.out.columns.close[1]).toBe(1.25);
    expect(k.out.quality).toEqual([{ kind: 'duplicates', count: 1, action: 'keep-last', detail: 'first at dup.csv:4 (2020-01-06 01:00 UTC)' }]);
    expect((await run(params({ path: f, quality: { duplicates: 'drop' } }))).out.columns.close[1]).toBe(1.15);
    const e = await failure(params({ path: f, quality: { duplicates: 'error' } }));
    expect(e.message).toBe('dup.csv:4: duplicate timestamp 2020-01-06 01:00 UTC (also at dup.csv:3)');
  });

  it('gaps: a missing stretch is warned (or an error); the weekend closure is not a gap', async () => {
    // Monday 00:00, 01:00, then 05:00: hours 02, 03, 04 missing = 3 h of market time.
    const f = file('gap.csv', row(0) + row(1) + row(5));
    const w = await run(params({ path: f }));
    expect(w.out.quality).toEqual([
      {
        kind: 'gaps',
        count: 1,
        action: 'keep',
        detail:
          'first 2020-01-06 01:00 → 2020-01-06 05:00 UTC (3 h of market time missing) at gap.csv:4; longest 2020-01-06 01:00 → 2020-01-06 05:00 UTC (3 h)',
      },
    ]);
    expect((await run(params({ path: f, quality: { max_gap: '4h' } }))).out.quality).toEqual([]);
    const e = await failure(params({ path: f, quality: { gaps: 'error' } }));
    expect(e.message).toBe('gap.csv:4: gap in the data: 2020-01-06 01:00 → 2020-01-06 05:00 UTC (3 h of market time missing)');
    // Friday 2020-01-03 21:00 UTC (16:00 New York, EST) then Sunday 2020-01-05 22:00 UTC (17:00 New York): only the weekend.
    const wk = 'Timestamp,Open,High,Low,Close\n2020-01-03 21:00,1.1,1.2,1.0,1.15\n2020-01-05 22:00,1.1,1.2,1.0,1.15\n';
    writeFileSync(path.join(dir, 'weekend.csv'), wk);
    expect((await run(params({ path: 'weekend.csv' }))).out.quality).toEqual([]);
  });

  it('weekendOverlap: Friday 17:00 → Sunday 17:00 New York, in UTC', () => {
    // Winter: 22:00 UTC → 22:00 UTC, 48 h.
    expect(weekendOverlap(Date.UTC(2020, 0, 3), Date.UTC(2020, 0, 7))).toBe(48 * H);
    // Half of it.
    expect(weekendOverlap(Date.UTC(2020, 0, 4, 22), Date.UTC(2020, 0, 7))).toBe(24 * H);
    // Summer: 21:00 UTC → 21:00 UTC.
    expect(weekendOverlap(Date.UTC(2020, 6, 3, 21), Date.UTC(2020, 6, 5, 21))).toBe(48 * H);
    expect(weekendOverlap(Date.UTC(2020, 0, 6), Date.UTC(2020, 0, 7))).toBe(0);
  });
});

const h1 = sharedFile('EURUSD_H1.csv');
describe.skipIf(!h1)('real defect: the 63 zero rows at the end of EURUSD_H1.csv', () => {
  it('dropped by default and counted; `error` names the file, line 50,002 and the values', async () => {
    // The raw text: the first all-zero data row, counting the header as line 1.
    const lines = readFileSync(h1!, 'latin1').split('\n');
    const firstZero = lines.findIndex((l, i) => i > 0 && /^[^,]+,0(\.0*)?,0(\.0*)?,0(\.0*)?,0(\.0*)?,/.test(l)) + 1;
    expect(firstZero).toBe(50_002);
    const { out } = await run(params({ path: 'EURUSD_H1.csv' }), SHARED_FOREX);
    expect(out.quality.find((q) => q.kind === 'zero_rows')).toEqual({ kind: 'zero_rows', count: 63, action: 'drop', detail: 'first at EURUSD_H1.csv:50002' });
    const e = await failure(params({ path: 'EURUSD_H1.csv', quality: { zero_rows: 'error' } }), SHARED_FOREX);
    expect(e.message).toBe('EURUSD_H1.csv:50002: a row of zero or missing prices (open 0, high 0, low 0, close 0)');
  });
});

const hd2019 = sharedFile('HISTDATA_COM_ASCII_EURUSD_M12019.zip');
describe.skipIf(!hd2019)('real defect: the repeated hour 2019-10-27 19:00-19:59 in the 2019 M1 file', () => {
  const name = 'HISTDATA_COM_ASCII_EURUSD_M12019.zip';
  it('default: sorted (1 backwards step) and 60 duplicates keep the later rows', async () => {
    const { out } = await run(params({ path: name, timeframe: '1m' }), SHARED_FOREX);
    expect(out.quality.find((q) => q.kind === 'backwards')).toMatchObject({ count: 1, action: 'sort' });
    expect(out.quality.find((q) => q.kind === 'duplicates')).toMatchObject({ count: 60, action: 'keep-last' });
    expect(out.index.length).toBe(372_530 - 60);
    for (let i = 1; i < out.index.length; i++) if (!(out.index[i] > out.index[i - 1])) throw new Error(`not increasing at ${i}`);
  });
  it('`backwards: error` names the file, the line (row index 306,018 per SOURCES.md, so line 306,019) and the time', async () => {
    const e = await failure(params({ path: name, timeframe: '1m', quality: { backwards: 'error' } }), SHARED_FOREX);
    expect(e.message).toBe(
      `${name}:DAT_ASCII_EURUSD_M1_2019.csv:306019: timestamp goes backwards: 2019-10-27 19:00 UTC after 2019-10-27 19:59 UTC at ${name}:DAT_ASCII_EURUSD_M1_2019.csv:306018`,
    );
  });
  it('`duplicates: error` names the second copy of 19:00', async () => {
    const e = await failure(params({ path: name, timeframe: '1m', quality: { duplicates: 'error' } }), SHARED_FOREX);
    expect(e.message).toMatch(/DAT_ASCII_EURUSD_M1_2019\.csv:306019: duplicate timestamp 2019-10-27 19:00 UTC \(also at .*:\d+\)$/);
  });
});
