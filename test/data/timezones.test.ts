import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { QualityNote } from '../../src/core/artifacts.js';
import { timeParser } from '../../src/data/timefmt.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { sharedFile, SHARED_FOREX } from '../helpers/ctx.js';
import { fetchFailure, params, runFetch } from './helpers.js';

/**
 * Issue 17, time zones of data sources: offsets written in the timestamps, HistData's New York
 * clock, and weeks whose clock disagrees with the zone they are read in. Expected instants are
 * Date.UTC of hand-converted times; DST dates are the published US rule (second Sunday of March
 * to first Sunday of November), written out here, not taken from the code under test.
 */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-tz-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const H = 3_600_000;
const DAY = 24 * H;
function write(name: string, data: string): string {
  writeFileSync(path.join(dir, name), data);
  return name;
}
/** params() declares `timezone: UTC`; this is the step as a user writes it without one. */
const noZone = (p: Parameters<typeof params>[0]): FetchParams => ({ ...params(p), timezone: undefined });
const run = (p: FetchParams, pipelineDir = dir) => runFetch(p, pipelineDir);
const failure = (p: FetchParams, pipelineDir = dir) => fetchFailure(p, pipelineDir);
const clockNote = (q: QualityNote[]) => q.find((n) => n.kind === 'clock');
const weeksIn = (detail: string | undefined) => [...(detail ?? '').matchAll(/\d{4}-\d\d-\d\d/g)].map((m) => m[0]);

const HEAD = 'Timestamp,Open,High,Low,Close,Volume\n';
const bar = (ts: string) => `${ts},1.1,1.2,1.0,1.15,1\n`;

describe('timestamps that carry Z or ±hh:mm are those instants', () => {
  it('`Z` and `+02:00` load as the instants they name, with no zone declared', async () => {
    const z = write('z.csv', HEAD + bar('2012-12-19T03:00:00Z') + bar('2012-12-19T04:00:00Z'));
    const { out, ctx } = await run(noZone({ path: z }));
    expect(Array.from(out.index)).toEqual([Date.UTC(2012, 11, 19, 3), Date.UTC(2012, 11, 19, 4)]);
    expect(ctx.logs.join('\n')).toContain('Z / ±hh:mm offsets');
    const p2 = write('p2.csv', HEAD + bar('2012-12-19T03:00:00+02:00') + bar('2012-12-19T04:00:00+02:00'));
    expect(Array.from((await run(noZone({ path: p2 }))).out.index)).toEqual([Date.UTC(2012, 11, 19, 1), Date.UTC(2012, 11, 19, 2)]);
  });

  it('pandas-style `2012-12-19 03:00:00-05:00`, `+0530` and offsets that change with DST within a file', async () => {
    const ny = write('ny.csv', HEAD + bar('2019-03-08 16:00:00-05:00') + bar('2019-03-10 18:00:00-04:00'));
    expect(Array.from((await run(noZone({ path: ny, timeframe: '1h' }))).out.index)).toEqual([Date.UTC(2019, 2, 8, 21), Date.UTC(2019, 2, 10, 22)]);
    const p = timeParser('YYYY-MM-DDTHH:mm:ssZ');
    const enc = new TextEncoder();
    const at = (s: string) => p(enc.encode(s), 0, s.length);
    expect(p.zoned).toBe(true);
    expect(at('2012-12-19T03:00:00+0530')).toBe(Date.UTC(2012, 11, 18, 21, 30));
    expect(at('2012-12-19T03:00:00-03')).toBe(Date.UTC(2012, 11, 19, 6));
    expect(at('2012-12-19T03:00:00')).toBeNaN();
    expect(at('2012-12-19T03:00:00+2:00')).toBeNaN();
  });

  it('a declared zone that agrees with the offsets is accepted; `Z` with `timezone: UTC` too', async () => {
    const p2 = write('agree.csv', HEAD + bar('2012-12-19T03:00:00+02:00') + bar('2012-12-19T04:00:00+02:00'));
    expect((await run(params({ path: p2, timezone: 'UTC+2' }))).out.index[0]).toBe(Date.UTC(2012, 11, 19, 1));
    const z = write('z-utc.csv', HEAD + bar('2012-12-19T03:00:00Z') + bar('2012-12-19T04:00:00Z'));
    expect((await run(params({ path: z, timezone: 'UTC' }))).out.index[0]).toBe(Date.UTC(2012, 11, 19, 3));
  });

  it('the finding: `Z` with `timezone: America/New_York` is refused at its row (it loaded as 08:00 UTC, silently)', async () => {
    const z = write('z-ny.csv', HEAD + bar('2012-12-19T03:00:00Z') + bar('2012-12-19T04:00:00Z'));
    const e = await failure(params({ path: z, timezone: 'America/New_York' }));
    expect(e.message).toBe(
      'z-ny.csv:2: the timestamp "2012-12-19T03:00:00Z" carries the offset UTC, but `timezone: America/New_York` is UTC-05:00 at that instant',
    );
    expect(e.loc).toEqual({ file: 'z-ny.csv', line: 2, col: 1 });
    expect(e.hint).toContain('remove `timezone:`');
  });

  it('the contradiction is reported at the first row where the offsets disagree (Europe/Berlin goes to +02:00 on 2019-03-31)', async () => {
    const f = write('berlin.csv', HEAD + bar('2019-03-29T10:00:00+01:00') + bar('2019-03-29T11:00:00+01:00') + bar('2019-04-01T10:00:00+01:00'));
    const e = await failure(params({ path: f, timezone: 'Europe/Berlin' }));
    expect(e.message).toBe(
      'berlin.csv:4: the timestamp "2019-04-01T10:00:00+01:00" carries the offset UTC+01:00, but `timezone: Europe/Berlin` is UTC+02:00 at that instant',
    );
  });

  it('a trailing Z on a pattern without a zone is refused, not skipped; a zoned file needs the zone on every row', async () => {
    const f = write('tf.csv', HEAD + bar('2012-12-19 03:00:00') + bar('2012-12-19 04:00:00Z'));
    const e = await failure(params({ path: f, format: 'generic', time_format: 'YYYY-MM-DD HH:mm:ss' }));
    expect(e.message).toBe('tf.csv:3: cannot read the timestamp "2012-12-19 04:00:00Z"');
    const g = write('mixed.csv', HEAD + bar('2012-12-19T03:00:00Z') + bar('2012-12-19T04:00:00'));
    const e2 = await failure(noZone({ path: g }));
    expect(e2.message).toBe('mixed.csv:3: cannot read the timestamp "2012-12-19T04:00:00"');
    expect(e2.hint).toContain('with a zone: Z or ±hh:mm on every row');
  });
});

/** US DST in 2019: 2019-03-10 to 2019-11-03 (second Sunday of March, first Sunday of November). */
const summer = (sunday: number) => sunday >= Date.UTC(2019, 2, 10) && sunday < Date.UTC(2019, 10, 3);
/** Sundays 2019-02-24 … 2019-11-17: 39 trading weeks across both DST changes. */
const SUNDAYS = Array.from({ length: 39 }, (_, k) => Date.UTC(2019, 1, 24) + k * 7 * DAY);
/** UTC opens of H1 bars of FX weeks: Sunday 17:00 New York (21:00 UTC in summer, 22:00 in winter) to Friday 17:00. */
function fxWeeksUtc(): number[] {
  const t: number[] = [];
  for (const s of SUNDAYS) {
    const open = s + (summer(s) ? 21 : 22) * H;
    for (let k = 0; k < 120; k++) t.push(open + k * H);
  }
  return t;
}
const two = (n: number) => String(n).padStart(2, '0');
const histStamp = (wall: number) => {
  const d = new Date(wall);
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())} ${two(d.getUTCHours())}${two(d.getUTCMinutes())}00`;
};
const histFile = (name: string, walls: number[]) => write(name, walls.map((w) => `${histStamp(w)};1.100000;1.200000;1.000000;1.150000;0`).join('\n') + '\n');
const SUMMER_WEEKS = SUNDAYS.filter(summer).map((s) => new Date(s).toISOString().slice(0, 10));

describe('HistData files are New York time unless `timezone` says otherwise', () => {
  const utc = fxWeeksUtc();
  // New York wall clock by the US rule: UTC-4 in the summer weeks, UTC-5 otherwise.
  const nyWall = utc.map((t, i) => t - (summer(SUNDAYS[Math.floor(i / 120)]) ? 4 : 5) * H);

  it('no `timezone`: read as America/New_York, and the log says so', async () => {
    const f = histFile('DAT_ASCII_EURUSD_M1_ny.csv', nyWall);
    const { out, ctx } = await run(noZone({ path: f, timeframe: '1h' }));
    expect(Array.from(out.index)).toEqual(utc);
    expect(ctx.logs.some((l) => l.includes('histdata') && l.includes("times in America/New_York (HistData's New York time"))).toBe(true);
    expect(clockNote(out.quality)).toBeUndefined();
  });

  it('also with `format: histdata` given', async () => {
    const f = histFile('DAT_ASCII_EURUSD_M1_ny2.csv', nyWall.slice(0, 240));
    const { out } = await run(noZone({ path: f, timeframe: '1h', format: 'histdata' }));
    expect(Array.from(out.index)).toEqual(utc.slice(0, 240));
  });

  it('an explicit `timezone` wins (and the week-clock check then shows it is the wrong one)', async () => {
    const f = histFile('DAT_ASCII_EURUSD_M1_ny3.csv', nyWall);
    const { out, ctx } = await run(params({ path: f, timeframe: '1h', timezone: 'UTC' }));
    expect(Array.from(out.index)).toEqual(nyWall);
    expect(ctx.logs.some((l) => l.includes('times in UTC (timezone:)'))).toBe(true);
    // Every week now opens at 12:00 or 13:00 New York.
    expect(clockNote(out.quality)?.count).toBe(SUNDAYS.length);
  });
});

describe('quality kind `clock`: weeks whose clock disagrees with the zone they are read in', () => {
  const utc = fxWeeksUtc();

  it('a consistent file flags nothing: UTC generic, New York HistData, and 24/7 bars without weekend gaps', async () => {
    const g = write('weeks_utc.csv', HEAD + utc.map((t) => bar(new Date(t).toISOString().slice(0, 19).replace('T', ' '))).join(''));
    const { out } = await run(params({ path: g }));
    expect(out.index.length).toBe(utc.length);
    expect(out.quality).toEqual([]);
    const allWeek = Array.from({ length: 24 * 21 }, (_, k) => Date.UTC(2019, 2, 1) + k * H);
    const f = write('allweek.csv', HEAD + allWeek.map((t) => bar(new Date(t).toISOString().slice(0, 19).replace('T', ' '))).join(''));
    expect(clockNote((await run(params({ path: f }))).out.quality)).toBeUndefined();
  });

  it('HistData written in EST all year (UTC-5, the documented convention) read as New York: each US-summer week is flagged with UTC-05:00', async () => {
    const f = histFile(
      'DAT_ASCII_EURUSD_M1_est.csv',
      utc.map((t) => t - 5 * H),
    );
    const { out } = await run(noZone({ path: f, timeframe: '1h' }));
    const q = clockNote(out.quality);
    expect(q).toMatchObject({ kind: 'clock', count: SUMMER_WEEKS.length, action: 'keep' });
    expect(SUMMER_WEEKS).toHaveLength(34);
    // One entry for the 34 alike weeks: the first 10 dates, then a count.
    expect(weeksIn(q?.detail)).toEqual(SUMMER_WEEKS.slice(0, 10));
    expect(q?.detail).toBe(
      `34 weeks of ${SUMMER_WEEKS.slice(0, 10).join(', ')} and 24 more open before the Sunday 17:00 New York open (1 h early): their clock reads UTC-05:00, not America/New_York's UTC-04:00 (first at DAT_ASCII_EURUSD_M1_est.csv:241)`,
    );
  });

  it('a clock ahead of the zone shows at the Friday close; `clock: error` stops at the first such bar', async () => {
    // Read as fixed UTC-5, New York time in summer is an hour ahead: Friday's last bar is at 17:00.
    const f = histFile(
      'DAT_ASCII_EURUSD_M1_ny4.csv',
      utc.map((t, i) => t - (summer(SUNDAYS[Math.floor(i / 120)]) ? 4 : 5) * H),
    );
    const { out } = await run(params({ path: f, timeframe: '1h', timezone: 'UTC-5' }));
    const q = clockNote(out.quality);
    expect(q?.count).toBe(34);
    expect(q?.detail).toMatch(
      /^34 weeks of 2019-03-10, 2019-03-17, .* trade past the Friday 17:00 New York close \(1 h late\): their clock reads UTC-04:00, not UTC-05:00 \(first at DAT_ASCII_EURUSD_M1_ny4\.csv:360\)$/,
    );
    const e = await failure(params({ path: f, timeframe: '1h', timezone: 'UTC-5', quality: { clock: 'error' } }));
    expect(e.message).toBe(
      'DAT_ASCII_EURUSD_M1_ny4.csv:360: week of 2019-03-10 trades past the Friday 17:00 New York close (1 h late): its clock reads UTC-04:00, not UTC-05:00',
    );
    expect(e.hint).toContain('set `timezone:`');
  });
});

const real = (name: string) => sharedFile(name);
const eur2019 = real('HISTDATA_COM_ASCII_EURUSD_M12019.zip');
const jpy2019 = real('HISTDATA_COM_ASCII_USDJPY_M12019.zip');
const eur2018 = real('HISTDATA_COM_ASCII_EURUSD_M12018.zip');
describe.skipIf(!eur2019 || !jpy2019 || !eur2018)('real HistData M1 zips (SOURCES.md: 2019 follows EU DST dates, 2018 the US ones)', () => {
  it('EURUSD 2019 read as New York by default: the weeks of 03-10, 03-17, 03-24 and 10-27 open at 16:00, clock UTC-05:00', async () => {
    const { out, ctx } = await run(noZone({ path: 'HISTDATA_COM_ASCII_EURUSD_M12019.zip', timeframe: '1m' }), SHARED_FOREX);
    expect(ctx.logs.join('\n')).toContain('times in America/New_York');
    const q = clockNote(out.quality);
    expect(q?.count).toBe(4);
    expect(weeksIn(q?.detail)).toEqual(['2019-03-10', '2019-03-17', '2019-03-24', '2019-10-27']);
    // Line 69097 is the zip entry's first row of 2019-03-10: `20190310 160000;…` (grep -n of the text).
    expect(q?.detail).toMatch(
      /^4 weeks of 2019-03-10, 2019-03-17, 2019-03-24, 2019-10-27 open before the Sunday 17:00 New York open \(1 h early\): their clock reads UTC-05:00, not America\/New_York's UTC-04:00 \(first at .*:69097\)$/,
    );
    // SOURCES.md: the first bar of 2019 is 2019-01-01 17:02 file time, EST then: 22:02 UTC.
    expect(out.index[0]).toBe(Date.UTC(2019, 0, 1, 22, 2));
  });
  it('USDJPY 2019: the same weeks but 03-10, which SOURCES.md says does not open early for USDJPY', async () => {
    const { out } = await run(noZone({ path: 'HISTDATA_COM_ASCII_USDJPY_M12019.zip', timeframe: '1m', symbol: 'USDJPY' }), SHARED_FOREX);
    expect(weeksIn(clockNote(out.quality)?.detail)).toEqual(['2019-03-17', '2019-03-24', '2019-10-27']);
  });
  it('EURUSD 2018 follows the US dates: nothing flagged', async () => {
    const { out } = await run(noZone({ path: 'HISTDATA_COM_ASCII_EURUSD_M12018.zip', timeframe: '1m' }), SHARED_FOREX);
    expect(clockNote(out.quality)).toBeUndefined();
  });
});
