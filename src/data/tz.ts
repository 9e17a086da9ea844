import { RunError } from '../core/diagnostics.js';

/**
 * A source's clock → UTC. Timestamps are read as if they were UTC ("wall-clock ms"), then shifted
 * here, once, at fetch. Zones are `UTC`, a fixed offset (`UTC-5`, `UTC+02:00`, `GMT+1`) or an IANA
 * name (`America/New_York`), whose offsets — DST included — come from the ICU data Node ships, via
 * Intl.DateTimeFormat. Offsets are cached per wall-clock hour: DST transitions happen on whole
 * hours, so every minute of an hour shares its hour's offset, and a year of M1 bars costs about
 * 6,000 Intl calls.
 *
 * Wall-clock times that do not exist (the hour skipped when DST starts) are moved forward by the
 * gap; times that exist twice (the hour repeated when DST ends) take the earlier, summer-time
 * reading. This is the "compatible" rule of Temporal and of most databases. Forex markets are
 * closed at the transition hours of the usual zones (Sunday 02:00 in New York, London, Berlin), so
 * real bars rarely meet either case.
 */

const HOUR = 3_600_000;

/** A compiled zone: converts wall-clock ms to UTC ms. */
export interface Zone {
  /** The zone as written, canonical for fixed offsets (`UTC-05:00`). */
  name: string;
  /** Fixed offset in ms when the zone has no DST, else undefined. */
  fixedOffsetMs?: number;
  /** UTC ms of a wall-clock ms. */
  toUtc(wallMs: number): number;
  /** Offset (wall - UTC) in ms at a UTC instant. */
  offsetAt(utcMs: number): number;
}

/** JSON-Schema pattern of accepted zone strings (IANA names are checked at run time by Intl). */
export const TIMEZONE_HINT = 'write UTC, a fixed offset such as UTC-5 or UTC+02:00, or an IANA zone such as America/New_York or Europe/London';

const FIXED = /^(?:UTC|GMT|Z)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i;

/** Parses a zone string; throws a RunError (with hint) for an unknown zone. */
export function parseZone(name: string): Zone {
  const s = name.trim();
  if (/^(utc|gmt|z)$/i.test(s)) return fixedZone('UTC', 0);
  const m = FIXED.exec(s);
  if (m) {
    const h = Number(m[2]);
    const mi = m[3] ? Number(m[3]) : 0;
    if (h > 14 || mi > 59) throw new RunError(`timezone offset ${JSON.stringify(name)} is out of range`, { hint: TIMEZONE_HINT });
    const off = (m[1] === '-' ? -1 : 1) * (h * HOUR + mi * 60_000);
    return fixedZone(offsetName(off), off);
  }
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: s,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new RunError(`unknown timezone ${JSON.stringify(name)}`, { hint: TIMEZONE_HINT });
  }
  return ianaZone(fmt.resolvedOptions().timeZone, fmt);
}

/** An offset (wall − UTC, ms) as a zone name: `UTC`, `UTC+02:00`, `UTC-05:00`. */
export function offsetName(ms: number): string {
  if (ms === 0) return 'UTC';
  const a = Math.round(Math.abs(ms) / 60_000);
  return `UTC${ms < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

function fixedZone(name: string, off: number): Zone {
  return { name, fixedOffsetMs: off, toUtc: (w) => w - off, offsetAt: () => off };
}

function ianaZone(name: string, fmt: Intl.DateTimeFormat): Zone {
  // Offset at a UTC instant, cached per UTC hour (offsets change on whole hours in practice; the
  // few zones with half-hour transitions are off by at most the minutes around the change).
  const byUtcHour = new Map<number, number>();
  const hourOffset = (key: number): number => {
    let off = byUtcHour.get(key);
    if (off === undefined) {
      off = intlOffset(fmt, key * HOUR);
      byUtcHour.set(key, off);
    }
    return off;
  };
  // A UTC day whose offset is the same at its start and at the next day's start has that offset
  // throughout (no zone changes its offset and back within a day): one Intl call a day instead of
  // 24, and hour by hour only on the days of a change. Intl calls were most of converting M1 bars.
  const byUtcDay = new Map<number, number>();
  const offsetAt = (utc: number): number => {
    const key = Math.floor(utc / HOUR);
    const day = Math.floor(key / 24);
    let d = byUtcDay.get(day);
    if (d === undefined) {
      const a = hourOffset(day * 24);
      d = a === hourOffset(day * 24 + 24) ? a : NaN;
      byUtcDay.set(day, d);
    }
    return d === d ? d : hourOffset(key);
  };
  // Wall-clock hour → UTC offset to subtract, cached; plus a one-entry memo for sorted input.
  const byWallHour = new Map<number, number>();
  let lastKey = NaN;
  let lastOff = 0;
  const toUtc = (wall: number): number => {
    const key = Math.floor(wall / HOUR);
    if (key === lastKey) return wall - lastOff;
    let off = byWallHour.get(key);
    if (off === undefined) {
      off = resolveWall(offsetAt, key * HOUR);
      byWallHour.set(key, off);
    }
    lastKey = key;
    lastOff = off;
    return wall - off;
  };
  return { name, toUtc, offsetAt };
}

/** Offset (wall − UTC) in ms of a zone at a UTC instant, from Intl's wall-clock parts. */
function intlOffset(fmt: Intl.DateTimeFormat, utc: number): number {
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (const p of fmt.formatToParts(utc)) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        mi = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
      default:
        break;
    }
  }
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  // Intl drops milliseconds; `utc` is on a whole hour here, so none are lost.
  return wall - (utc - (((utc % 1000) + 1000) % 1000));
}

/**
 * The offset to subtract from a wall-clock time: of the candidate offsets around it, the one
 * whose instant reads back as this wall time, preferring the earlier instant (larger offset) when
 * two do; when none does (a skipped hour), the offset from before the gap, which moves the time
 * forward by the gap.
 */
function resolveWall(offsetAt: (utc: number) => number, wall: number): number {
  const before = offsetAt(wall - 86_400_000 / 2); // offsets on either side of any transition near `wall`
  const after = offsetAt(wall + 86_400_000 / 2);
  const cands = before === after ? [before] : [Math.max(before, after), Math.min(before, after)];
  for (const off of cands) {
    if (offsetAt(wall - off) === off) return off;
  }
  // Non-existent wall time: use the offset in force before the transition (the smaller one when
  // clocks go forward), so the time lands after the gap.
  return before;
}

/** Converts an array of wall-clock ms to UTC in place. */
export function convertToUtc(t: Float64Array, zone: Zone, n = t.length): void {
  if (zone.fixedOffsetMs !== undefined) {
    const off = zone.fixedOffsetMs;
    if (off === 0) return;
    for (let i = 0; i < n; i++) t[i] -= off;
    return;
  }
  for (let i = 0; i < n; i++) t[i] = zone.toUtc(t[i]);
}
