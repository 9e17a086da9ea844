import type { ColumnNames } from './columns.js';
import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import { RunError } from '../core/diagnostics.js';
import { findColumn, quoteIdent, tableParts, timeframeSpellings } from './table.js';
import { emptyRaw, type RawBars } from './reader.js';

/**
 * Bars from a DuckDB table or a Parquet file, read through DuckDB. The symbol, timeframe spellings,
 * dates and the Parquet path go in as bound parameters, never spliced into the SQL; the only names
 * spliced in are identifiers (table and columns), which are checked against the catalogue first
 * and quoted. Timestamps come back as wall-clock epoch ms (TIMESTAMP) or UTC (TIMESTAMPTZ, epoch
 * numbers); the caller applies the zone. The database is opened with no access outside the file
 * (see `openSource`).
 */

export type DbColumns = ColumnNames;

export interface DbQuery {
  /** `duckdb`: a database file and a table; `parquet`: a file. */
  kind: 'duckdb' | 'parquet';
  file: string;
  table?: string;
  symbol: string;
  timeframeMs: number;
  columns?: DbColumns;
  /** UTC ms bounds, already parsed. */
  from?: number;
  to?: number;
  days?: number;
}

export interface DbResult {
  raw: RawBars;
  /** True when the time column carries a zone (TIMESTAMPTZ): it is UTC already. */
  zoned: boolean;
  /** What was selected, for the log. */
  detail: string;
}

/**
 * A user's data file is data, not code: a view stored in a .duckdb file may call read_text,
 * read_csv or ATTACH on any path, and an extension could be fetched on demand. So every source is
 * opened with DuckDB's external access off (only the database file itself, or the one Parquet
 * file, can be read), extensions neither installed nor autoloaded, and the configuration locked
 * so that no SQL can turn it back on.
 */
const LOCKED = { enable_external_access: 'false', autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' } as const;

async function openSource(q: DbQuery): Promise<{ instance: DuckDBInstance; con: DuckDBConnection }> {
  // Imported here, not at the top: the step registry (so `validate`) imports this module.
  const duck = await import('@duckdb/node-api');
  let instance: DuckDBInstance;
  try {
    instance = await duck.DuckDBInstance.create(
      q.kind === 'duckdb' ? q.file : ':memory:',
      // Parquet: allowed_paths can only be set while access is still on, so it is locked below.
      q.kind === 'duckdb'
        ? { access_mode: 'READ_ONLY', ...LOCKED, lock_configuration: 'true' }
        : { autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' },
    );
  } catch (e) {
    throw new RunError(`cannot open DuckDB database ${q.file}: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'check that `path` names a DuckDB database file that no other process is writing',
    });
  }
  const con = await instance.connect();
  if (q.kind === 'parquet') {
    try {
      await con.run(`SET allowed_paths = [${sqlString(q.file)}]`);
      await con.run('SET enable_external_access = false');
      await con.run('SET lock_configuration = true');
    } catch (e) {
      con.closeSync();
      instance.closeSync();
      throw e;
    }
  }
  return { instance, con };
}

/** A string literal for the one SET statement that takes no bound parameter. */
function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Reads bars; see the module comment. */
export async function readDb(q: DbQuery): Promise<DbResult> {
  const { instance, con } = await openSource(q);
  try {
    return await query(con, q);
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

/** DuckDB refused a file access or an extension: a view in the user's file reaching outside it. */
function refused(e: unknown, what: string): RunError | undefined {
  const m = (e as Error).message.split('\n')[0];
  if (!/^Permission Error|external access|disabled by configuration|autoload/i.test(m)) return undefined;
  return new RunError(`cannot read ${what}: it reaches outside the data file (${m})`, {
    hint: "fxflow opens data files with DuckDB's external access off, so a view that reads other files (read_csv, read_text, read_parquet, ATTACH) or loads an extension is refused; store the rows in a table of that database",
  });
}

async function query(con: DuckDBConnection, q: DbQuery): Promise<DbResult> {
  // The relation and its columns.
  let relation: string;
  const params: DuckDBValue[] = [];
  let described;
  if (q.kind === 'parquet') {
    relation = 'read_parquet($1)';
    params.push(q.file);
    try {
      described = await con.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`, [q.file]);
    } catch (e) {
      throw new RunError(`cannot read Parquet file ${q.file}: ${(e as Error).message.split('\n')[0]}`, { hint: 'point `path` at a .parquet file' });
    }
  } else {
    const table = q.table ?? '';
    const parts = tableParts(table);
    if (!parts) {
      throw new RunError(`table name ${JSON.stringify(table)} is not a plain identifier`, { hint: 'write a table name such as candles or market.candles' });
    }
    const tables = await con.runAndReadAll(
      `SELECT table_catalog, table_schema, table_name FROM information_schema.tables WHERE lower(table_name) = lower($1)`,
      [parts[parts.length - 1]],
    );
    const rows = tables.getRows() as string[][];
    const match = rows.find((r) =>
      parts.length === 1
        ? true
        : parts.length === 2
          ? r[1].toLowerCase() === parts[0].toLowerCase()
          : r[0].toLowerCase() === parts[0].toLowerCase() && r[1].toLowerCase() === parts[1].toLowerCase(),
    );
    if (!match) {
      const all = await con.runAndReadAll(`SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1`);
      const names = all.getRows().map((r) => String(r[0]));
      throw new RunError(`table ${JSON.stringify(table)} not found in ${q.file}`, {
        hint: names.length ? `tables there: ${names.slice(0, 12).join(', ')}` : 'the database has no tables',
      });
    }
    relation = `${quoteIdent(match[0])}.${quoteIdent(match[1])}.${quoteIdent(match[2])}`;
    try {
      described = await con.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
    } catch (e) {
      throw refused(e, `table ${JSON.stringify(table)} in ${q.file}`) ?? e;
    }
  }
  const cols = described.getRows().map((r) => ({ name: String(r[0]), type: String(r[1]).toUpperCase() }));
  const place = q.table ?? q.file;
  const find = (role: keyof DbColumns, required: boolean): string | undefined => findColumn(cols, role, q.columns, place, required)?.name;
  const time = find('time', true)!;
  const timeType = cols.find((c) => c.name === time)!.type;
  const price = (['open', 'high', 'low', 'close'] as const).map((r) => find(r, true)!);
  const volume = find('volume', false);
  const symbol = find('symbol', q.kind === 'duckdb');
  const timeframe = find('timeframe', false);

  let tExpr: string;
  let zoned = false;
  if (/^TIMESTAMP WITH TIME ZONE|^TIMESTAMPTZ/.test(timeType)) {
    tExpr = `epoch_ms(${quoteIdent(time)})::DOUBLE`;
    zoned = true;
  } else if (/^TIMESTAMP|^DATE/.test(timeType)) {
    tExpr = `epoch_ms(${quoteIdent(time)}::TIMESTAMP)::DOUBLE`;
  } else if (/INT|DOUBLE|FLOAT|DECIMAL|NUMERIC/.test(timeType)) {
    // Epoch numbers: seconds below 1e11 (before year 5138), else milliseconds.
    tExpr = `(CASE WHEN abs(${quoteIdent(time)}) < 1e11 THEN ${quoteIdent(time)} * 1000 ELSE ${quoteIdent(time)} END)::DOUBLE`;
    zoned = true;
  } else if (/VARCHAR|TEXT|STRING/.test(timeType)) {
    tExpr = `epoch_ms(${quoteIdent(time)}::TIMESTAMP)::DOUBLE`;
  } else {
    throw new RunError(`time column ${JSON.stringify(time)} has type ${timeType}`, { hint: 'use a TIMESTAMP, TIMESTAMPTZ, DATE or epoch-number column' });
  }

  const where: string[] = [];
  const detail: string[] = [];
  if (symbol !== undefined) {
    params.push(q.symbol);
    where.push(`${quoteIdent(symbol)} = $${params.length}`);
    detail.push(`${symbol} = ${q.symbol}`);
  }
  if (timeframe !== undefined) {
    const spellings = timeframeSpellings(q.timeframeMs);
    const slots = spellings.map((s) => {
      params.push(s);
      return `$${params.length}`;
    });
    where.push(`CAST(${quoteIdent(timeframe)} AS VARCHAR) IN (${slots.join(', ')})`);
    detail.push(`${timeframe} in (${spellings.join(', ')})`);
  }
  const sel = `SELECT ${tExpr} AS t, ${price.map((p) => `${quoteIdent(p)}::DOUBLE`).join(', ')}, ${volume ? `${quoteIdent(volume)}::DOUBLE` : 'NULL::DOUBLE'} FROM ${relation}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  // Ranges are applied again, exactly, after the zone and quality steps; here they only prune.
  // The margin of 14 h covers any zone offset between wall-clock values and UTC bounds.
  const margin = 14 * 3_600_000;
  const conds: string[] = [];
  if (q.from !== undefined) {
    params.push(q.from - margin);
    conds.push(`t >= $${params.length}`);
  }
  if (q.to !== undefined) {
    params.push(q.to + margin);
    conds.push(`t < $${params.length}`);
  }
  if (q.days !== undefined) {
    params.push(q.days * 86_400_000 + margin);
    conds.push(`t >= (SELECT max(t) FROM sel WHERE c0 > 0 OR c3 > 0) - $${params.length}`);
  }
  const sql = `WITH sel AS (SELECT t, c0, c1, c2, c3, v FROM (${sel}) AS s(t, c0, c1, c2, c3, v)) SELECT t, c0, c1, c2, c3, v FROM sel${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''} ORDER BY t`;
  let result;
  try {
    result = await con.runAndReadAll(sql, params);
  } catch (e) {
    const r = refused(e, q.table ? `table ${JSON.stringify(q.table)} in ${q.file}` : q.file);
    if (r) throw r;
    throw new RunError(`cannot read ${q.table ?? q.file}: ${(e as Error).message.split('\n')[0]}`, { hint: 'check the column types: prices must be numbers' });
  }
  const colsOut = result.getColumns();
  const n = result.currentRowCount;
  const raw = emptyRaw(n);
  const targets = [raw.t, raw.open, raw.high, raw.low, raw.close, raw.volume];
  for (let k = 0; k < 6; k++) {
    const src = colsOut[k] as (number | null)[];
    const dst = targets[k];
    for (let i = 0; i < n; i++) {
      const v = src[i];
      dst[i] = v === null ? NaN : v;
    }
  }
  for (let i = 0; i < n; i++) raw.line[i] = i + 1;
  raw.files.push(q.kind === 'duckdb' ? `${q.file}:${q.table}` : q.file);
  raw.n = n;
  return { raw, zoned, detail: detail.join(', ') || 'all rows' };
}
