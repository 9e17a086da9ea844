import { describe, it, expect } from 'vitest';
import { RunError } from '../../src/core/diagnostics.js';
import { TIMEFRAME_PATTERN, formatTimeframe, parseTimeframe } from '../../src/data/timeframe.js';
import { pipSize, priceDecimals } from '../../src/data/symbols.js';

describe('parseTimeframe', () => {
  const cases: [string, number, string][] = [
    ['100ms', 100, '100ms'],
    ['30s', 30 * 1000, '30s'],
    ['1m', 60 * 1000, '1m'],
    ['5m', 5 * 60 * 1000, '5m'],
    ['15m', 15 * 60 * 1000, '15m'],
    ['1h', 60 * 60 * 1000, '1h'],
    ['4h', 4 * 60 * 60 * 1000, '4h'],
    ['1d', 24 * 60 * 60 * 1000, '1d'],
    ['1w', 7 * 24 * 60 * 60 * 1000, '1w'],
    // Canonical form: the largest unit that divides the length.
    ['60m', 60 * 60 * 1000, '1h'],
    ['90m', 90 * 60 * 1000, '90m'],
    ['1000ms', 1000, '1s'],
    ['1500ms', 1500, '1500ms'],
    ['24h', 24 * 60 * 60 * 1000, '1d'],
    ['48h', 2 * 24 * 60 * 60 * 1000, '2d'],
    ['14d', 2 * 7 * 24 * 60 * 60 * 1000, '2w'],
    ['120s', 2 * 60 * 1000, '2m'],
  ];
  for (const [text, ms, canonical] of cases) {
    it(`${text} → ${ms} ms, canonical ${canonical}`, () => {
      expect(parseTimeframe(text)).toEqual({ ms, canonical });
    });
  }

  for (const bad of ['', 'h', '0h', '01h', '1.5h', '-1h', '1H', '1y', '1 h', 'H1', '1hour', 'ms']) {
    it(`refuses ${JSON.stringify(bad)} with a RunError naming the accepted forms`, () => {
      let err: unknown;
      try {
        parseTimeframe(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RunError);
      expect((err as RunError).message).toContain(JSON.stringify(bad));
      expect((err as RunError).hint).toMatch(/ms, s, m, h, d or w/);
      expect((err as RunError).hint).toContain('1h');
    });
  }

  it('TIMEFRAME_PATTERN agrees with the parser', () => {
    const re = new RegExp(TIMEFRAME_PATTERN);
    for (const [text] of cases) expect(re.test(text)).toBe(true);
    for (const bad of ['0h', '01h', '1.5h', '1y', '1H', '', 'h']) expect(re.test(bad)).toBe(false);
  });

  it('formatTimeframe is the inverse of parsing for canonical forms', () => {
    expect(formatTimeframe(4 * 3600 * 1000)).toBe('4h');
    expect(formatTimeframe(250)).toBe('250ms');
    expect(formatTimeframe(7 * 86400 * 1000)).toBe('1w');
  });
});

describe('pipSize', () => {
  it('is 0.01 for JPY-quoted pairs and 0.0001 otherwise', () => {
    expect(pipSize('USDJPY')).toBe(0.01);
    expect(pipSize('EURJPY')).toBe(0.01);
    expect(pipSize('usdjpy')).toBe(0.01);
    expect(pipSize('EURUSD')).toBe(0.0001);
    expect(pipSize('GBPUSD')).toBe(0.0001);
    // JPY as the base currency is not a JPY quote.
    expect(pipSize('JPYUSD')).toBe(0.0001);
    expect(priceDecimals('USDJPY')).toBe(3);
    expect(priceDecimals('EURUSD')).toBe(5);
  });
});
