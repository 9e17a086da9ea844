import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/data/dates.js';

// 2020-01-06 (a Monday) is 18267 days after 1970-01-01: 50 years of 365 days = 18250, plus the 12
// leap days 1972..2016, plus 5 days into January.
const MON = 18267 * 86_400_000;
const H = 3_600_000;

describe('parseTimestamp', () => {
  it('parses the accepted forms as UTC', () => {
    expect(Date.UTC(2020, 0, 6)).toBe(MON); // cross-check of the hand count above
    expect(parseTimestamp('2020-01-06 03:00:00')).toBe(MON + 3 * H);
    expect(parseTimestamp('2020-01-06 03:00')).toBe(MON + 3 * H);
    expect(parseTimestamp('2020-01-06')).toBe(MON);
    expect(parseTimestamp('2020.01.06 03:30')).toBe(MON + 3 * H + 30 * 60_000);
    expect(parseTimestamp('2020-01-06T03:00:05Z')).toBe(MON + 3 * H + 5000);
    expect(parseTimestamp('06.01.2020 03:00:00.250')).toBe(MON + 3 * H + 250);
    // 2000 is a leap year (divisible by 400), 1900 is not.
    expect(parseTimestamp('2000-02-29')).toBe(Date.UTC(2000, 1, 29));
    expect(parseTimestamp('1969-12-31 23:00')).toBe(-H);
  });

  it('refuses impossible or malformed timestamps', () => {
    for (const bad of ['2020-13-01', '2020-02-30', '1900-02-29', '2020-01-06 24:00', '2020-01-06 12:60', '20200106', '2020-1-6', '2020-01-06 3:00', 'x', '']) {
      expect(parseTimestamp(bad), bad).toBeNaN();
    }
  });
});
