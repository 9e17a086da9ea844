/** Calendar and FX-session features of bar open times (UTC epoch ms). Known before the bar opens. */
import { parseZone } from '../data/tz.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const TAU = 2 * Math.PI;

export interface CalendarColumns {
  hourSin: Float64Array;
  hourCos: Float64Array;
  dowSin: Float64Array;
  dowCos: Float64Array;
}

/**
 * Hour of day h (with minutes, UTC) as sin/cos(2π·h/24), day of week d (0 = Sunday, UTC) with the
 * hour as sin/cos(2π·(d + h/24)/7), so both wrap smoothly.
 */
export function calendarFeatures(index: Float64Array): CalendarColumns {
  const n = index.length;
  const r: CalendarColumns = { hourSin: new Float64Array(n), hourCos: new Float64Array(n), dowSin: new Float64Array(n), dowCos: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const t = index[i];
    const day = Math.floor(t / DAY);
    const h = (t - day * DAY) / HOUR;
    const dow = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
    r.hourSin[i] = Math.sin((TAU * h) / 24);
    r.hourCos[i] = Math.cos((TAU * h) / 24);
    const w = (dow + h / 24) / 7;
    r.dowSin[i] = Math.sin(TAU * w);
    r.dowCos[i] = Math.cos(TAU * w);
  }
  return r;
}

export interface SessionColumns {
  tokyo: Float64Array;
  london: Float64Array;
  newYork: Float64Array;
  tokyoLondon: Float64Array;
  londonNewYork: Float64Array;
}

/**
 * 1 when the bar opens inside a session, else 0: Tokyo 09:00–18:00 Tokyo time (00:00–09:00 UTC, no
 * DST), London 08:00–17:00 London time and New York 08:00–17:00 New York time, both following
 * their daylight-saving rules; weekends (Saturday, Sunday local) are never in session. Overlaps
 * are the products of two flags.
 */
export function sessionFeatures(index: Float64Array): SessionColumns {
  const n = index.length;
  const london = parseZone('Europe/London');
  const ny = parseZone('America/New_York');
  const r: SessionColumns = {
    tokyo: new Float64Array(n),
    london: new Float64Array(n),
    newYork: new Float64Array(n),
    tokyoLondon: new Float64Array(n),
    londonNewYork: new Float64Array(n),
  };
  const open = (utc: number, offset: number, from: number, to: number): number => {
    const wall = utc + offset;
    const day = Math.floor(wall / DAY);
    const dow = (((day + 4) % 7) + 7) % 7;
    if (dow === 0 || dow === 6) return 0;
    const h = (wall - day * DAY) / HOUR;
    return h >= from && h < to ? 1 : 0;
  };
  for (let i = 0; i < n; i++) {
    const t = index[i];
    const tk = open(t, 9 * HOUR, 9, 18);
    const ld = open(t, london.offsetAt(t), 8, 17);
    const nyv = open(t, ny.offsetAt(t), 8, 17);
    r.tokyo[i] = tk;
    r.london[i] = ld;
    r.newYork[i] = nyv;
    r.tokyoLondon[i] = tk * ld;
    r.londonNewYork[i] = ld * nyv;
  }
  return r;
}
