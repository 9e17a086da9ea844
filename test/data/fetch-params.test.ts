import { describe, expect, it } from 'vitest';
import { parsePipelineText } from '../../src/parser/index.js';
import fetch from '../../src/steps/fetch/index.js';
import { params } from './helpers.js';

const parse = (withText: string) =>
  parsePipelineText(`version: 1\nname: t\nsteps:\n  c:\n    uses: fetch\n    with: ${withText}\n`, '/tmp/p.yaml', { displayFile: 'p.yaml' });

describe('fetch params through the schema', () => {
  it('fills the quality policy and other defaults', () => {
    const r = parse('{ source: csv, path: a.csv }');
    expect(r.diagnostics).toEqual([]);
    const w = r.spec!.steps[0].with as Record<string, unknown>;
    expect(w.quality).toEqual({
      zero_rows: 'drop',
      nonpositive: 'error',
      ohlc: 'error',
      backwards: 'sort',
      duplicates: 'keep-last',
      gaps: 'warn',
      clock: 'warn',
      max_gap: '1h',
    });
    expect(w.timezone).toBeUndefined();
    expect(w.format).toBe('auto');
    expect(w.day_close).toBe('ny17');
  });

  it('a bad timeframe is a schema error at its line that shows the accepted pattern', () => {
    const r = parse('{ source: csv, path: a.csv, timeframe: H1 }');
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0].loc?.line).toBe(6);
    expect(`${r.diagnostics[0].message} ${r.diagnostics[0].hint ?? ''}`).toContain('^[1-9][0-9]*(ms|s|m|h|d|w)$');
  });

  it('an unknown quality action is a schema error', () => {
    const r = parse('{ source: csv, path: a.csv, quality: { duplicates: keep-first } }');
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.diagnostics[0].loc?.line).toBe(6);
  });
});

describe('fetch check(): cross-field rules with hints', () => {
  const paths = (p: Parameters<typeof params>[0]) => fetch.check!(params(p)).map((i) => i.path.join('.'));
  it('accepts a full csv configuration', () => {
    expect(
      paths({ path: ['a.zip', 'b.zip'], timezone: 'America/New_York', timeframe: '1m', resample: '1h', from: '2018-01-01', to: '2019-01-01', days: 30 }),
    ).toEqual([]);
  });
  it('flags each misplaced or unreadable value at its path', () => {
    expect(paths({ timezone: 'Mars/Olympus', path: 'a.csv' })).toEqual(['timezone']);
    expect(paths({ path: 'a.csv', from: 'yesterday' })).toEqual(['from']);
    expect(paths({ path: 'a.csv', from: '2020-01-02', to: '2020-01-01' })).toEqual(['to']);
    expect(paths({ path: 'a.csv', time_format: 'YYYY-QQ' })).toEqual(['time_format']);
    expect(paths({ source: 'parquet', path: 'a.parquet', format: 'histdata' })).toEqual(['format']);
    expect(paths({ path: 'a.csv', table: 'candles' })).toEqual(['table']);
    expect(paths({ path: 'a.csv', quality: { max_gap: 'soon' } })).toEqual(['quality.max_gap']);
    expect(paths({ source: 'synthetic', timezone: 'UTC-5' })).toEqual(['timezone']);
    expect(paths({ path: 'a.csv', poll: '5s' })).toEqual(['poll']);
    expect(paths({ source: 'postgres', table: 'candles', poll: '50ms' })).toEqual(['poll']);
    expect(paths({ source: 'postgres', table: 'candles', poll: '2s' })).toEqual([]);
    const tz = fetch.check!(params({ path: 'a.csv', timezone: 'Mars/Olympus' }))[0];
    expect(tz.hint).toContain('America/New_York');
  });
});

describe('fetch poll:', () => {
  it('is not part of the cache key (how often watch polls changes no bar)', () => {
    const p = params({ source: 'postgres', table: 'candles' });
    expect(fetch.keyParams!({ ...p, poll: '1s' })).toEqual(fetch.keyParams!(p));
    expect(fetch.keyParams!(p)).toEqual(p);
  });
});
