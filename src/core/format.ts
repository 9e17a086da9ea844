/**
 * Small number formatters shared by steps' summaries, the CLI and the HTML report: one copy each,
 * independent of the machine's locale. `missing` is what a non-finite value prints as (steps'
 * summaries say `n/a`, the report `—`).
 */

/** `19950` → `19,950` (an integer; digits grouped by three). */
export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A size in bytes for people: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A ratio as a percentage with `digits` decimals: `0.1234` → `12.34%`. */
export function pct(x: number, digits = 2, missing = '—'): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : missing;
}

/** A number with `digits` decimals. */
export function fixed(x: number, digits = 2, missing = '—'): string {
  return Number.isFinite(x) ? x.toFixed(digits) : missing;
}

/** A metric value for people: 4 significant digits, fractions that look like ratios kept raw. */
export function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  // A metric that is not finite is shown as such (a missing one is —).
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  // Past 1e15 digits grouping stops being readable (1e300 has 301 digits).
  if (a >= 1e15) return v.toPrecision(4);
  // core/format's grouping, not toLocaleString: that loads ICU's locale data (20–50 ms of a cached rerun).
  if (Number.isInteger(v)) return thousands(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 1) return v.toPrecision(4);
  if (a === 0) return '0';
  return v.toPrecision(3);
}
