import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunError } from '../../src/core/diagnostics.js';
import fetch, { medianSpacing } from '../../src/steps/fetch/index.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { testContext, sharedFile } from '../helpers/ctx.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-fetch-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const defaults: FetchParams = {
  source: 'synthetic',
  format: 'auto',
  timezone: 'UTC',
  symbol: 'EURUSD',
  timeframe: '1h',
  day_close: 'ny17',
  bars: 20000,
  quality: { zero_rows: 'drop', nonpositive: 'error', ohlc: 'error', backwards: 'sort', duplicates: 'keep-last', gaps: 'warn', clock: 'warn', max_gap: '1h' },
};
const csv = (p: string, extra: Partial<FetchParams> = {}): FetchParams => ({ ...defaults, source: 'csv', path: p, ...extra });
const fpCtx = () => ({ pipelineDir: dir, resolvePath: (p: string) => path.resolve(dir, p) });

const H = 3_600_000;
const FIXTURE =
  'Timestamp,Open,High,Low,Close,Volume\n2020-01-06 00:00,1.1,1.2,1.0,1.15,10\n2020-01-06 01:00,1.15,1.16,1.14,1.145,20\n2020-01-06 02:00,0,0,0,0,0\n';

describe('fetch step: definition and check()', () => {
  it('declares kind, version, ports and seeding', () => {
    expect(fetch.kind).toBe('fetch');
    expect(fetch.version).toBe(3);
    expect(fetch.inputs).toEqual({});
    expect(fetch.output).toBe('Candles');
    expect(fetch.seeded).toBe(true);
  });

  it('accepts the defaults', () => {
    expect(fetch.check!(defaults)).toEqual([]);
    expect(fetch.check!(csv('data.csv'))).toEqual([]);
  });

  it('csv without a path is an issue at path with a hint', () => {
    const issues = fetch.check!({ ...defaults, source: 'csv' });
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual(['path']);
    expect(issues[0].hint).toMatch(/path:/);
  });

  it('a path with the synthetic source is an issue at path', () => {
    const issues = fetch.check!({ ...defaults, path: 'x.csv' });
    expect(issues.map((i) => i.path)).toEqual([['path']]);
  });

  it('a bad timeframe is an issue at timeframe naming the accepted forms', () => {
    const issues = fetch.check!({ ...defaults, timeframe: 'H1' });
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual(['timeframe']);
    expect(issues[0].message).toContain('"H1"');
    expect(issues[0].hint).toContain('1h');
  });

  it('start: refused with csv, and must be a readable date', () => {
    expect(fetch.check!(csv('a.csv', { start: '2020-01-05' })).map((i) => i.path)).toEqual([['start']]);
    expect(fetch.check!({ ...defaults, start: 'next tuesday' }).map((i) => i.path)).toEqual([['start']]);
    expect(fetch.check!({ ...defaults, start: '2020-01-05T22:00' })).toEqual([]);
  });
});

describe('fetch step: csv source', () => {
  it('builds Candles from the file and warns about dropped rows', async () => {
    writeFileSync(path.join(dir, 'small.csv'), FIXTURE);
    const ctx = testContext({ pipelineDir: dir });
    const out = await fetch.run({}, csv('small.csv'), ctx);
    expect(out.type).toBe('Candles');
    expect(out.symbol).toBe('EURUSD');
    expect(out.timeframe).toBe('1h');
    expect(out.source).toBe('csv:small.csv');
    expect(out.pip).toBe(0.0001);
    expect(Array.from(out.index)).toEqual([Date.UTC(2020, 0, 6, 0), Date.UTC(2020, 0, 6, 1)]);
    expect(Array.from(out.columns.close)).toEqual([1.15, 1.145]);
    expect(out.quality).toEqual([{ kind: 'zero_rows', count: 1, action: 'drop', detail: 'first at small.csv:4' }]);
    expect(ctx.warnings).toHaveLength(1);
    expect(ctx.warnings[0]).toContain('zero rows');
    expect(ctx.warnings[0]).toContain('first at small.csv:4');
    expect(fetch.metrics!(out)).toEqual({ bars: 2, quality_zero_rows: 1 });
    expect(fetch.summary!(out)).toBe('2 bars 2020-01-06 00:00 → 2020-01-06 01:00 UTC');
  });

  it('canonicalises the timeframe and uses the JPY pip', async () => {
    writeFileSync(
      path.join(dir, 'jpy.csv'),
      'Timestamp,Open,High,Low,Close\n2020-01-06 00:00,108.1,108.2,108.0,108.15\n2020-01-06 01:00,108.15,108.16,108.14,108.145\n',
    );
    const out = await fetch.run({}, csv('jpy.csv', { symbol: 'USDJPY', timeframe: '60m' }), testContext({ pipelineDir: dir }));
    expect(out.timeframe).toBe('1h');
    expect(out.pip).toBe(0.01);
  });

  it('warns when the bar spacing does not match the declared timeframe', async () => {
    writeFileSync(
      path.join(dir, 'h4.csv'),
      'Time\tOpen\tHigh\tLow\tClose\n2020-01-06 00:00\t1\t1\t1\t1\n2020-01-06 04:00\t1\t1\t1\t1\n2020-01-06 08:00\t1\t1\t1\t1',
    );
    const ctx = testContext({ pipelineDir: dir });
    await fetch.run({}, csv('h4.csv', { timeframe: '1h' }), ctx);
    expect(ctx.warnings.join('\n')).toMatch(/4h apart .* timeframe is 1h/);
    const ok = testContext({ pipelineDir: dir });
    await fetch.run({}, csv('h4.csv', { timeframe: '4h' }), ok);
    expect(ok.warnings).toEqual([]);
  });

  it('a missing file is a RunError naming the absolute path, from run() and fingerprint()', async () => {
    const abs = path.join(dir, 'data', 'missing.csv');
    let err: unknown;
    try {
      await fetch.run({}, csv('data/missing.csv'), testContext({ pipelineDir: dir }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).message).toBe(`data file not found: ${abs}`);
    expect((err as RunError).hint).toBe(`paths are relative to the pipeline file (${dir})`);
    await expect(fetch.fingerprint!(csv('data/missing.csv'), fpCtx())).rejects.toThrow(`data file not found: ${abs}`);
  });

  it('fingerprint is the sha256 and size of the content; it changes when the file changes', async () => {
    const p = path.join(dir, 'fp.csv');
    writeFileSync(p, FIXTURE);
    const a = await fetch.fingerprint!(csv('fp.csv'), fpCtx());
    expect(a).toEqual({ sha256: createHash('sha256').update(FIXTURE).digest('hex'), size: Buffer.byteLength(FIXTURE) });
    const same = await fetch.fingerprint!(csv('fp.csv'), fpCtx());
    expect(same).toEqual(a);
    writeFileSync(p, FIXTURE.replace('1.145', '1.146'));
    const b = await fetch.fingerprint!(csv('fp.csv'), fpCtx());
    expect(b).not.toEqual(a);
  });

  it('fingerprint is null for the synthetic source', async () => {
    expect(await fetch.fingerprint!(defaults, fpCtx())).toBeNull();
  });
});

describe('fetch step: synthetic source', () => {
  it('uses the context seed, bars, timeframe and start', async () => {
    const p: FetchParams = { ...defaults, bars: 500, timeframe: '15m', start: '2021-03-01' };
    const a = await fetch.run({}, p, testContext({ seed: 7 }));
    const b = await fetch.run({}, p, testContext({ seed: 7 }));
    const c = await fetch.run({}, p, testContext({ seed: 8 }));
    expect(a.index.length).toBe(500);
    expect(a.timeframe).toBe('15m');
    expect(a.source).toBe('synthetic(seed=7)');
    expect(a.index[0]).toBe(Date.UTC(2021, 2, 1));
    expect(a.index[1] - a.index[0]).toBe(15 * 60 * 1000);
    expect(b.columns.close).toEqual(a.columns.close);
    expect(c.columns.close).not.toEqual(a.columns.close);
    expect(fetch.summary!(a)).toMatch(/^500 bars 2021-03-01 00:00 → \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  });
});

describe('medianSpacing', () => {
  it('ignores the rare long gaps', () => {
    // Spacings 1h, 1h, 49h, 1h → sorted [1, 1, 1, 49] h; the lower median is 1h.
    expect(medianSpacing(Float64Array.from([0, H, 2 * H, 51 * H, 52 * H]))).toBe(H);
    expect(medianSpacing(Float64Array.from([0]))).toBeNaN();
  });
});

const h1 = sharedFile('EURUSD_H1.csv');
describe.skipIf(!h1)('fetch on the real EURUSD_H1.csv', () => {
  it('gives 50,000 bars (63 zero rows dropped), holiday gaps reported, and the documented summary', async () => {
    const ctx = testContext({ pipelineDir: path.dirname(h1!) });
    const out = await fetch.run({}, csv('EURUSD_H1.csv'), ctx);
    expect(out.index.length).toBe(50_000);
    expect(ctx.warnings).toHaveLength(2);
    // SOURCES.md: 63 all-zero rows from 2020-12-29 09:00; 50,000 bars before them plus the header → line 50,002.
    expect(ctx.warnings[0]).toBe('EURUSD_H1.csv: zero rows: 63 (drop; first at EURUSD_H1.csv:50002)');
    expect(ctx.warnings[1]).toMatch(/^EURUSD_H1\.csv: gaps: \d+ \(keep; first 2013-01-01 00:00 → /);
    expect(fetch.summary!(out)).toBe('50,000 bars 2012-12-19 03:00 → 2020-12-29 08:00 UTC');
  });
});
