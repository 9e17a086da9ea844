import { RunError } from '../core/diagnostics.js';

/**
 * Timeframes are parsed here and nowhere else, so `60m` and `1h` always mean the same bar size and
 * print the same way.
 */

/** JSON Schema `pattern` for a timeframe string: a positive integer and a unit. */
export const TIMEFRAME_PATTERN = '^[1-9][0-9]*(ms|s|m|h|d|w)$';

export interface Timeframe {
  /** Bar length in milliseconds. */
  ms: number;
  /** Shortest form in the largest unit that divides evenly, e.g. `60m` → `1h`. */
  canonical: string;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

// Largest first: canonical form picks the largest unit that divides the length exactly.
const UNITS_DESC = ['w', 'd', 'h', 'm', 's', 'ms'];

const ACCEPTED = 'a positive integer followed by ms, s, m, h, d or w, e.g. 100ms, 30s, 1m, 5m, 15m, 1h, 4h, 1d, 1w';

/** Canonical string of a bar length in ms. */
export function formatTimeframe(ms: number): string {
  for (const u of UNITS_DESC) {
    const size = UNIT_MS[u];
    if (ms >= size && ms % size === 0) return `${ms / size}${u}`;
  }
  return `${ms}ms`;
}

export function parseTimeframe(s: string): Timeframe {
  const m = /^([1-9][0-9]*)(ms|s|m|h|d|w)$/.exec(typeof s === 'string' ? s.trim() : '');
  if (!m) {
    throw new RunError(`invalid timeframe ${JSON.stringify(s)}`, { hint: `a timeframe is ${ACCEPTED}` });
  }
  const ms = Number(m[1]) * UNIT_MS[m[2]];
  if (!Number.isSafeInteger(ms)) {
    throw new RunError(`timeframe ${JSON.stringify(s)} is too long`, { hint: `a timeframe is ${ACCEPTED}` });
  }
  return { ms, canonical: formatTimeframe(ms) };
}
