import type { ColumnNames } from './columns.js';
import { RunError } from '../core/diagnostics.js';
import { formatTimeframe } from './timeframe.js';

/**
 * What the database sources (DuckDB, Parquet, PostgreSQL) share about a table of bars: the names
 * its columns are found by, how a timeframe may be spelled in it, and the identifier rule for the
 * only names spliced into SQL.
 */

/** A plain SQL identifier; a table may be written `name`, `schema.name` or `catalog.schema.name`. */
export const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The parts of a table name, or undefined when one is not a plain identifier (or there are more than 3). */
export function tableParts(table: string): string[] | undefined {
  const parts = table.split('.');
  return parts.length <= 3 && parts.every((p) => IDENT.test(p)) ? parts : undefined;
}

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

const NAMES: Record<keyof ColumnNames, string[]> = {
  time: ['ts', 'ts_utc', 'timestamp', 'time', 'datetime', 'date_time', 'date', 'open_time', 'time_utc', 'timestamp_utc'],
  date: [],
  open: ['open', 'o'],
  high: ['high', 'h'],
  low: ['low', 'l'],
  close: ['close', 'c'],
  volume: ['volume', 'tick_volume', 'tickvol', 'vol', 'v'],
  symbol: ['symbol', 'pair', 'instrument', 'ticker'],
  timeframe: ['timeframe', 'tf', 'interval', 'period', 'granularity'],
};

export interface TableColumn {
  name: string;
  /** The database's type name, upper case. */
  type: string;
}

/**
 * The column playing `role`: the one `columns:` names (exact, then case-insensitive), else the
 * first of the usual names found; undefined when absent and not required.
 */
export function findColumn(
  cols: TableColumn[],
  role: keyof ColumnNames,
  mapping: ColumnNames | undefined,
  where: string,
  required: boolean,
): TableColumn | undefined {
  const lower = cols.map((c) => c.name.toLowerCase());
  const want = mapping?.[role];
  if (want !== undefined) {
    const i = cols.findIndex((c) => c.name === want);
    const j = i >= 0 ? i : lower.indexOf(want.toLowerCase());
    if (j < 0)
      throw new RunError(`column ${JSON.stringify(want)} (for ${role}) not found in ${where}`, {
        hint: `columns there: ${cols.map((c) => c.name).join(', ')}`,
      });
    return cols[j];
  }
  for (const cand of NAMES[role]) {
    const i = lower.indexOf(cand);
    if (i >= 0) return cols[i];
  }
  if (required)
    throw new RunError(`no ${role} column in ${where}`, {
      hint: `columns there: ${cols.map((c) => c.name).join(', ')}; name it with \`columns: { ${role}: … }\``,
    });
  return undefined;
}

const MT_UNITS: Record<string, string> = { m: 'M', h: 'H', d: 'D', w: 'W' };

/** Spellings a table might use for a timeframe: `1h`, `60m`, `H1`, `60`, `1H`… */
export function timeframeSpellings(ms: number): string[] {
  const canon = formatTimeframe(ms);
  const out = new Set<string>([canon, canon.toUpperCase()]);
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(canon)!;
  if (MT_UNITS[m[2]]) out.add(`${MT_UNITS[m[2]]}${m[1]}`);
  if (ms % 60_000 === 0 && ms < 86_400_000) {
    const min = ms / 60_000;
    out.add(`${min}m`);
    out.add(`${min}min`);
    out.add(String(min));
  }
  if (ms % 3_600_000 === 0 && ms < 86_400_000) out.add(`${ms / 3_600_000}h`);
  if (ms === 86_400_000) out.add('D').add('1D').add('daily');
  return [...out];
}
