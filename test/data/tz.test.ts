import { describe, expect, it } from 'vitest';
import { RunError } from '../../src/core/diagnostics.js';
import { convertToUtc, parseZone } from '../../src/data/tz.js';

const H = 3_600_000;
// Wall-clock ms: the clock reading written as if it were UTC.
const wall = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);

describe('timezones', () => {
  it('UTC and fixed offsets', () => {
    expect(parseZone('UTC').toUtc(wall(2020, 1, 6, 3))).toBe(wall(2020, 1, 6, 3));
    expect(parseZone('UTC-5').toUtc(wall(2020, 1, 6, 3))).toBe(wall(2020, 1, 6, 8));
    expect(parseZone('UTC+02:00').toUtc(wall(2020, 1, 6, 3))).toBe(wall(2020, 1, 6, 1));
    expect(parseZone('GMT+5:30').toUtc(wall(2020, 1, 6, 3))).toBe(wall(2020, 1, 5, 21, 30));
    expect(parseZone('UTC-5').name).toBe('UTC-05:00');
  });

  // US DST 2018: from Sunday 2018-03-11 02:00 EST to Sunday 2018-11-04 02:00 EDT.
  it('America/New_York: EST (UTC-5) in winter, EDT (UTC-4) in summer', () => {
    const ny = parseZone('America/New_York');
    expect(ny.toUtc(wall(2018, 1, 15, 12))).toBe(wall(2018, 1, 15, 17));
    expect(ny.toUtc(wall(2018, 7, 15, 12))).toBe(wall(2018, 7, 15, 16));
    // Friday 17:00 close, either side of the change.
    expect(ny.toUtc(wall(2018, 3, 9, 17))).toBe(wall(2018, 3, 9, 22));
    expect(ny.toUtc(wall(2018, 3, 11, 17))).toBe(wall(2018, 3, 11, 21));
    expect(ny.toUtc(wall(2018, 11, 2, 17))).toBe(wall(2018, 11, 2, 21));
    expect(ny.toUtc(wall(2018, 11, 4, 17))).toBe(wall(2018, 11, 4, 22));
    expect(ny.offsetAt(wall(2018, 7, 1))).toBe(-4 * H);
  });

  it('a skipped wall time moves forward by the gap; a repeated one takes the earlier instant', () => {
    const ny = parseZone('America/New_York');
    // 02:30 does not exist on 2018-03-11; 02:30 EST would be 07:30 UTC (= 03:30 EDT).
    expect(ny.toUtc(wall(2018, 3, 11, 2, 30))).toBe(wall(2018, 3, 11, 7, 30));
    // 01:30 happens twice on 2018-11-04: 05:30 UTC (EDT) and 06:30 UTC (EST); the first is taken.
    expect(ny.toUtc(wall(2018, 11, 4, 1, 30))).toBe(wall(2018, 11, 4, 5, 30));
    expect(ny.toUtc(wall(2018, 11, 4, 3, 0))).toBe(wall(2018, 11, 4, 8, 0));
  });

  it('Europe/London follows EU dates (2019-03-31, 2019-10-27)', () => {
    const ldn = parseZone('Europe/London');
    expect(ldn.toUtc(wall(2019, 3, 30, 12))).toBe(wall(2019, 3, 30, 12));
    expect(ldn.toUtc(wall(2019, 3, 31, 12))).toBe(wall(2019, 3, 31, 11));
    expect(ldn.toUtc(wall(2019, 10, 27, 12))).toBe(wall(2019, 10, 27, 12));
  });

  it('converts arrays in place, minute by minute across a transition', () => {
    const ny = parseZone('America/New_York');
    const t = Float64Array.from([wall(2018, 3, 9, 16, 59), wall(2018, 3, 11, 17, 0), wall(2018, 3, 11, 17, 1)]);
    convertToUtc(t, ny);
    expect(Array.from(t)).toEqual([wall(2018, 3, 9, 21, 59), wall(2018, 3, 11, 21, 0), wall(2018, 3, 11, 21, 1)]);
  });

  // offsetAt looks an offset up once per UTC day when the day starts and ends on the same offset:
  // every hour of 2018–2019 must still read what Intl says for that hour (zones with DST on US, EU
  // and southern dates, a half-hour DST change, and a fixed offset without DST).
  it('offsetAt, hour by hour over two years, equals Intl’s offset at each hour', () => {
    for (const name of ['America/New_York', 'Europe/London', 'Australia/Sydney', 'Australia/Lord_Howe', 'Asia/Kolkata']) {
      const fmt = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
      const intl = (utc: number): number => {
        const m = /GMT(?:([+-])(\d{2}):(\d{2}))?/.exec(fmt.formatToParts(utc).find((p) => p.type === 'timeZoneName')!.value)!;
        return m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * H + Number(m[3]) * 60_000) : 0;
      };
      const zone = parseZone(name);
      let changes = 0;
      let bad = 0;
      let before = intl(Date.UTC(2018, 0, 1) - H);
      for (let t = Date.UTC(2018, 0, 1); t < Date.UTC(2020, 0, 1); t += H) {
        const want = intl(t);
        if (zone.offsetAt(t) !== want) bad++;
        if (want !== before) changes++;
        before = want;
      }
      expect(bad, name).toBe(0);
      expect(changes, name).toBe(name === 'Asia/Kolkata' ? 0 : 4);
    }
  });

  it('an unknown zone is a RunError with the accepted forms', () => {
    expect(() => parseZone('America/New_Yrok')).toThrow(RunError);
    try {
      parseZone('EST5EDTX');
    } catch (e) {
      expect((e as RunError).message).toBe('unknown timezone "EST5EDTX"');
      expect((e as RunError).hint).toContain('America/New_York');
      expect((e as RunError).hint).toContain('UTC-5');
    }
    expect(() => parseZone('UTC+15')).toThrow(/out of range/);
  });
});
