import type { Client, ClientConfig } from 'pg';
import type { ColumnNames } from './columns.js';
import { RunError, type SourceLocation } from '../core/diagnostics.js';
import { emptyRaw, type RawBars } from './reader.js';
import { findColumn, IDENT, quoteIdent, timeframeSpellings, type TableColumn } from './table.js';

/**
 * Bars from a PostgreSQL table, through `pg` (imported on first use: start-up never loads it).
 *
 * Safety: the only names spliced into SQL are the table and its columns, which must be plain
 * identifiers, are looked up in information_schema first and are quoted. Every value (symbol,
 * timeframe spellings, dates) goes to the server as a bound parameter: `COPY` takes none, so the
 * values are bound into transaction-local settings (`set_config('fxflow.pN', $1, true)`) and the
 * query reads them back with `current_setting`; no value is ever part of the SQL text. The
 * transaction is READ ONLY and REPEATABLE READ, so the row count, the rows and the fingerprint of
 * one call see one snapshot.
 *
 * Speed: rows come back as `COPY (SELECT …) TO STDOUT (FORMAT binary)`, parsed straight from the
 * wire into preallocated Float64Arrays (sized by a count in the same snapshot): no per-row
 * objects, no text, and the result is held once.
 *
 * The connection string never appears in an error, a log line or a key: messages name at most the
 * server's host and port, and any text from the driver is passed through `redact`.
 */

export interface PgQuery {
  /** Connection string; undefined: libpq's PG* environment variables and defaults. */
  url?: string;
  /** Where the connection came from, for hints: e.g. `the variable FXFLOW_PG_URL`. */
  urlFrom: string;
  table: string;
  symbol: string;
  timeframeMs: number;
  columns?: ColumnNames;
  /** UTC ms bounds, already parsed. */
  from?: number;
  to?: number;
  days?: number;
  /** The param the connection comes from (`url`, `url_env`, or `source` when neither is written), for errors. */
  connectionParam?: 'url' | 'url_env' | 'source';
  /** Where a param is written in the YAML (path relative to `with`), for errors. */
  locate?: (path: (string | number)[]) => SourceLocation | undefined;
  signal?: AbortSignal;
}

export interface PgResult {
  raw: RawBars;
  /** True when the time column carries a zone (timestamptz) or is epoch numbers: it is UTC already. */
  zoned: boolean;
  /** What was selected, for the log. */
  detail: string;
}

/** What the cache key holds for a selection: its size, span and a hash of its rows' values. */
export interface PgFingerprint {
  table: string;
  columns: string[];
  rows: number;
  first: string | null;
  last: string | null;
  /** sum over the selected rows of hash_record_extended(row of the values read, 0). */
  hash: string;
}

type TimeKind = 'timestamptz' | 'timestamp' | 'number';

/** A resolved selection: SQL pieces plus the values bound to `fxflow.pN`. */
interface Selection {
  relation: string;
  tableName: string;
  columns: string[];
  timeKind: TimeKind;
  /** The time column as a timestamp (timestamptz/timestamp kinds) or as epoch ms (number). */
  timeExpr: string;
  /** The select list of the rows read: time, open, high, low, close, volume. */
  selectList: string;
  where: string[];
  /** The symbol and timeframe columns, quoted, for explaining an empty selection. */
  symbolCol: string;
  /** A condition true for a bar that is not all zeros (the quality step drops those), for `days`. */
  priced: string;
  timeframeCol?: string;
  values: string[];
  detail: string[];
}

const PARAM = (i: number): string => `current_setting('fxflow.p${i}')`;

/** Hides a connection string and its password in any text that reaches the user. */
export function redact(text: string, url: string | undefined): string {
  let out = text;
  const envPassword = process.env.PGPASSWORD;
  if (envPassword && envPassword.length >= 3) out = out.split(envPassword).join('***');
  if (url) {
    out = out.split(url).join('<connection string>');
    const pw = passwordOf(url);
    if (pw) for (const form of new Set([pw, safeDecode(pw)])) if (form.length >= 3) out = out.split(form).join('***');
  }
  return out.replace(/(postgres(?:ql)?:\/\/[^:@/\s]*:)[^@\s]*@/gi, '$1***@');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The password part of a postgres:// URL, as written (or a `password=` keyword), if any. */
export function passwordOf(url: string): string | undefined {
  const m = /^postgres(?:ql)?:\/\/[^:@/]*:([^@/]*)@/i.exec(url);
  if (m && m[1] !== '') return m[1];
  const k = /(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/i.exec(url);
  return k ? k[1].replace(/^'(.*)'$/, '$1') : undefined;
}

async function connect(q: PgQuery): Promise<Client> {
  const pg = (await import('pg')).default;
  const config: ClientConfig = { application_name: 'fxflow', connectionTimeoutMillis: 15_000 };
  if (q.url !== undefined) config.connectionString = q.url;
  let client: Client;
  try {
    client = new pg.Client(config);
  } catch (e) {
    throw new RunError(`cannot read the PostgreSQL connection string from ${q.urlFrom}: ${redact((e as Error).message, q.url)}`, {
      hint: 'write it as postgres://user@host:5432/database (the password in PGPASSWORD or ~/.pgpass)',
      loc: q.locate?.([q.connectionParam ?? 'source']),
    });
  }
  // A dropped connection after the query ended must not crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw connectError(e, client, q);
  }
  return client;
}

function connectError(e: unknown, client: Client, q: PgQuery): RunError {
  const err = e as Error & { code?: string };
  const where = `${client.host}:${client.port}`;
  const loc = q.locate?.([q.connectionParam ?? 'source']);
  const msg = redact(err.message, q.url);
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOENT':
      return new RunError(`cannot reach the PostgreSQL server at ${where} (${err.code})`, {
        hint: `is the server running there? The connection comes from ${q.urlFrom}`,
        loc,
      });
    case '28P01':
    case '28000':
      return new RunError(`PostgreSQL refused the login of user ${JSON.stringify(client.user)} at ${where}: ${msg}`, {
        hint: 'check the user and the password (PGPASSWORD, ~/.pgpass, or the connection string in the environment variable)',
        loc,
      });
    case '3D000':
      return new RunError(`PostgreSQL database ${JSON.stringify(client.database)} does not exist at ${where}`, {
        hint: `name an existing database in ${q.urlFrom}`,
        loc,
      });
    default:
      return new RunError(`cannot connect to the PostgreSQL server at ${where}: ${msg}`, {
        hint: /timeout/i.test(msg) ? 'is the server reachable from this machine?' : `check the connection in ${q.urlFrom}`,
        loc,
      });
  }
}

/** A failure of a query after connecting, as a RunError without driver internals or secrets. */
function queryError(e: unknown, q: PgQuery, what: string): RunError {
  if (e instanceof RunError) return e;
  const err = e as Error & { code?: string };
  const msg = redact(err.message, q.url);
  if (err.code === '42501')
    return new RunError(`no permission to read ${q.table}: ${msg}`, { hint: 'GRANT SELECT on the table to this user', loc: q.locate?.(['table']) });
  if (err.code === '22P02' || err.code === '22007' || err.code === '22008')
    return new RunError(`cannot read ${q.table}: ${msg}`, {
      hint: 'the time column must hold timestamps and the prices numbers',
      loc: q.locate?.(q.columns ? ['columns'] : ['table']),
    });
  if (err.code === '57014') return new RunError(`reading ${q.table} was cancelled`);
  return new RunError(`PostgreSQL failed while ${what} ${q.table}: ${msg}`, { hint: 'check the table and its column types' });
}

interface ColumnRow {
  table_schema: string;
  table_name: string;
  column_name: string;
  data_type: string;
}

/** Finds the table (exact name first, then case-insensitive) and builds the selection. */
async function select(client: Client, q: PgQuery): Promise<Selection> {
  const parts = q.table.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p)))
    throw new RunError(`table name ${JSON.stringify(q.table)} is not a plain identifier`, {
      hint: 'write a table name such as candles or market.candles (letters, digits, _)',
      loc: q.locate?.(['table']),
    });
  const [schema, name] = parts.length === 2 ? parts : [null, parts[0]];
  // Unqualified: only the schemas on the search_path, nearest first (as PostgreSQL resolves it).
  const found = await client.query<ColumnRow>(
    `SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
     WHERE lower(table_name) = lower($1) AND ($2::text IS NULL AND table_schema = ANY (current_schemas(false)) OR lower(table_schema) = lower($2))
     ORDER BY array_position(current_schemas(false), table_schema::name), table_schema, table_name, ordinal_position`,
    [name, schema],
  );
  const exact = found.rows.filter((r) => r.table_name === name && (schema === null || r.table_schema === schema));
  const pool = exact.length > 0 ? exact : found.rows;
  if (pool.length === 0) {
    const all = await client.query<{ t: string }>(
      `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 13`,
    );
    const names = all.rows.map((r) => r.t);
    throw new RunError(`table ${JSON.stringify(q.table)} not found in the PostgreSQL database`, {
      hint: names.length ? `tables there: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}` : 'the database has no tables this user can see',
      loc: q.locate?.(['table']),
    });
  }
  const first = pool[0];
  const rows = pool.filter((r) => r.table_schema === first.table_schema && r.table_name === first.table_name);
  const relation = `${quoteIdent(first.table_schema)}.${quoteIdent(first.table_name)}`;
  const tableName = `${first.table_schema}.${first.table_name}`;
  const cols: TableColumn[] = rows.map((r) => ({ name: r.column_name, type: r.data_type.toUpperCase() }));
  const find = (role: keyof ColumnNames, required: boolean): TableColumn | undefined => {
    try {
      return findColumn(cols, role, q.columns, tableName, required);
    } catch (e) {
      const err = e as RunError;
      throw new RunError(err.message, {
        hint: err.hint,
        loc: q.locate?.(q.columns?.[role] !== undefined ? ['columns', role] : ['table']),
      });
    }
  };
  const time = find('time', true)!;
  const prices = (['open', 'high', 'low', 'close'] as const).map((r) => find(r, true)!);
  const volume = find('volume', false);
  const symbol = find('symbol', true)!;
  const timeframe = find('timeframe', false);

  const t = quoteIdent(time.name);
  let timeKind: TimeKind;
  let timeExpr: string;
  if (time.type === 'TIMESTAMP WITH TIME ZONE') [timeKind, timeExpr] = ['timestamptz', t];
  else if (time.type === 'TIMESTAMP WITHOUT TIME ZONE') [timeKind, timeExpr] = ['timestamp', t];
  else if (time.type === 'DATE' || /^(TEXT|CHARACTER VARYING|CHARACTER)$/.test(time.type)) [timeKind, timeExpr] = ['timestamp', `${t}::timestamp`];
  else if (/^(SMALLINT|INTEGER|BIGINT|NUMERIC|REAL|DOUBLE PRECISION)$/.test(time.type))
    // Epoch numbers: seconds below 1e11 (before year 5138), else milliseconds (as the DuckDB source).
    [timeKind, timeExpr] = ['number', `(CASE WHEN abs(${t}) < 1e11 THEN ${t}::float8 * 1000 ELSE ${t}::float8 END)`];
  else
    throw new RunError(`time column ${JSON.stringify(time.name)} of ${tableName} has type ${time.type.toLowerCase()}`, {
      hint: 'use a timestamptz, timestamp, date or epoch-number column',
      loc: q.locate?.(q.columns ? ['columns'] : ['table']),
    });
  for (const c of [...prices, ...(volume ? [volume] : [])])
    if (!/^(SMALLINT|INTEGER|BIGINT|NUMERIC|REAL|DOUBLE PRECISION)$/.test(c.type))
      throw new RunError(`column ${JSON.stringify(c.name)} of ${tableName} has type ${c.type.toLowerCase()}, not a number`, {
        hint: 'prices and volume must be numeric, real or double precision columns',
        loc: q.locate?.(q.columns ? ['columns'] : ['table']),
      });

  const values: string[] = [];
  const bind = (v: string): string => {
    values.push(v);
    return PARAM(values.length);
  };
  const where: string[] = [];
  const detail: string[] = [];
  const textual = /^(TEXT|CHARACTER VARYING)$/.test(symbol.type);
  where.push(`${quoteIdent(symbol.name)}${textual ? '' : '::text'} = ${bind(q.symbol)}`);
  detail.push(`${symbol.name} = ${q.symbol}`);
  if (timeframe !== undefined) {
    const spellings = timeframeSpellings(q.timeframeMs);
    where.push(`${quoteIdent(timeframe.name)}::text IN (${spellings.map(bind).join(', ')})`);
    detail.push(`${timeframe.name} in (${spellings.join(', ')})`);
  }
  const num = (c: TableColumn): string => `${quoteIdent(c.name)}::float8`;
  const selectList = `${timeExpr}, ${prices.map(num).join(', ')}, ${volume ? num(volume) : 'NULL::float8'}`;
  return {
    relation,
    tableName,
    columns: [time, ...prices, ...(volume ? [volume] : []), symbol, ...(timeframe ? [timeframe] : [])].map((c) => `${c.name} ${c.type.toLowerCase()}`),
    timeKind,
    timeExpr,
    selectList,
    where,
    symbolCol: quoteIdent(symbol.name),
    priced: `(${quoteIdent(prices[0].name)} > 0 OR ${quoteIdent(prices[3].name)} > 0)`,
    timeframeCol: timeframe && quoteIdent(timeframe.name),
    values,
    detail,
  };
}

/** An SQL bound (epoch ms, bound as a setting) in the time column's terms. */
function bound(s: Selection, ms: number): string {
  s.values.push(String(ms));
  const p = `${PARAM(s.values.length)}::float8`;
  if (s.timeKind === 'timestamptz') return `to_timestamp(${p} / 1000)`;
  if (s.timeKind === 'timestamp') return `(to_timestamp(${p} / 1000) AT TIME ZONE 'UTC')`;
  return p;
}

/** The newest bar's time, as epoch ms (wall clock for naive timestamps), of the selection so far. */
function maxMsExpr(s: Selection): string {
  return s.timeKind === 'number' ? `max(${s.timeExpr})` : `(extract(epoch FROM max(${s.timeExpr})) * 1000)::float8`;
}

async function bindValues(client: Client, s: Selection): Promise<void> {
  if (s.values.length === 0) return;
  await client.query(`SELECT ${s.values.map((_, i) => `set_config('fxflow.p${i + 1}', $${i + 1}, true)`).join(', ')}`, s.values);
}

/**
 * Adds the range (`from`/`to`/`days`) to the selection. Ranges are applied again, exactly, after
 * the zone and quality steps; here they only prune, with 14 h of margin for any zone offset
 * between wall-clock values and UTC bounds.
 */
async function addRange(client: Client, s: Selection, q: PgQuery): Promise<void> {
  const margin = 14 * 3_600_000;
  let from = q.from === undefined ? undefined : q.from - margin;
  if (q.days !== undefined) {
    await bindValues(client, s);
    const r = await client.query<{ m: number | null }>(`SELECT ${maxMsExpr(s)} AS m FROM ${s.relation} WHERE ${[...s.where, s.priced].join(' AND ')}`);
    const m = r.rows[0]?.m;
    if (m !== null && m !== undefined) from = Math.max(from ?? -Infinity, m - q.days * 86_400_000 - margin);
  }
  if (from !== undefined) s.where.push(`${s.timeExpr} >= ${bound(s, from)}`);
  if (q.to !== undefined) s.where.push(`${s.timeExpr} < ${bound(s, q.to + margin)}`);
}

/** Why the selection is empty: no such symbol, no such timeframe for it, or nothing in the range. */
async function emptyError(client: Client, s: Selection, q: PgQuery): Promise<RunError> {
  const some = async (cond: string): Promise<string[]> =>
    (await client.query<{ v: string }>(`SELECT DISTINCT ${cond}::text AS v FROM ${s.relation} ORDER BY 1 LIMIT 13`)).rows.map((r) => r.v);
  const list = (vs: string[]): string => (vs.length ? `${vs.slice(0, 12).join(', ')}${vs.length > 12 ? ', …' : ''}` : 'none');
  const has = async (where: string): Promise<boolean> => (await client.query(`SELECT 1 FROM ${s.relation} WHERE ${where} LIMIT 1`)).rows.length > 0;
  if (!(await has(s.where[0])))
    return new RunError(`no rows for symbol ${JSON.stringify(q.symbol)} in ${s.tableName}`, {
      hint: `symbols there: ${list(await some(s.symbolCol))}`,
      loc: q.locate?.(['symbol']),
    });
  if (s.timeframeCol !== undefined && !(await has(`${s.where[0]} AND ${s.where[1]}`)))
    return new RunError(`no rows for symbol ${JSON.stringify(q.symbol)} with ${s.detail[1]} in ${s.tableName}`, {
      hint: `timeframes there: ${list(await some(s.timeframeCol))}; set \`timeframe:\` to the table's bar size`,
      loc: q.locate?.(['timeframe']),
    });
  return new RunError(`no rows for symbol ${JSON.stringify(q.symbol)} in ${s.tableName} in the date range`, {
    hint: 'check `from`, `to` and `days`',
    loc: q.locate?.([q.from !== undefined ? 'from' : q.to !== undefined ? 'to' : 'days']),
  });
}

/** Opens a read-only snapshot, resolves the selection and binds its values. */
async function begin(client: Client, q: PgQuery): Promise<Selection> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const s = await select(client, q);
  await addRange(client, s, q);
  await bindValues(client, s);
  return s;
}

async function withClient<T>(q: PgQuery, what: string, body: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(q);
  try {
    return await body(client);
  } catch (e) {
    throw queryError(e, q, what);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A 64-bit hash of one selected row's values as read (hash_record_extended, PostgreSQL 14+; hashtextextended of the row's text before). */
async function rowHash(client: Client, s: Selection): Promise<string> {
  const version = await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  const row = `ROW(${s.selectList})`;
  return Number(version.rows[0].v) >= 140000 ? `hash_record_extended(${row}, 0)` : `hashtextextended(${row}::text, 0)`;
}

/**
 * The selection's fingerprint for the cache key: row count, first and last time, and the sum of a
 * 64-bit hash of each selected row's values as read (hash_record_extended, PostgreSQL 14+;
 * hashtextextended of the row's text before). New, changed or deleted rows change it; it costs one
 * pass over the selected rows, about as much as count(*).
 */
export async function pgFingerprint(q: PgQuery): Promise<PgFingerprint> {
  return withClient(q, 'fingerprinting', async (client) => {
    const s = await begin(client, q);
    const hash = await rowHash(client, s);
    const r = await client.query<{ n: string; first: string | null; last: string | null; h: string | null }>(
      `SELECT count(*)::text AS n, min(${s.timeExpr})::text AS first, max(${s.timeExpr})::text AS last, sum(${hash})::text AS h FROM ${s.relation} WHERE ${s.where.join(' AND ')}`,
    );
    const f = r.rows[0];
    if (f.n === '0') throw await emptyError(client, s, q);
    await client.query('COMMIT');
    return { table: s.tableName, columns: s.columns, rows: Number(f.n), first: f.first, last: f.last, hash: f.h ?? '0' };
  });
}

const PG_EPOCH_MS = 946_684_800_000;
const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];

/**
 * Parses COPY binary tuples of (time, 5 × float8) into `raw`. Returns the bytes consumed (a tuple
 * cut at the chunk's end is left for the next chunk) and whether the trailer was reached. A tuple
 * without NULLs is 74 bytes (2 + 6 × (4 + 8)); that common case is read in one pass.
 */
function parseTuples(buf: Buffer, start: number, raw: RawBars, timeUs: boolean, cap: number): { pos: number; done: boolean } {
  const { t, open, high, low, close, volume, line } = raw;
  const cols = [t, open, high, low, close, volume];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = buf.length;
  let pos = start;
  let n = raw.n;
  const time = (p: number): number => {
    if (!timeUs) return dv.getFloat64(p);
    const hi = dv.getInt32(p);
    // ±infinity timestamps are int64 extremes: no bar time.
    return hi === 0x7fffffff || hi === -0x80000000 ? NaN : (hi * 4294967296 + dv.getUint32(p + 4)) / 1000 + PG_EPOCH_MS;
  };
  while (pos + 2 <= len) {
    const fields = dv.getInt16(pos);
    if (fields === -1) {
      raw.n = n;
      return { pos: pos + 2, done: true };
    }
    if (fields !== 6) throw new RunError(`unexpected COPY row of ${fields} fields`);
    if (
      pos + 74 <= len &&
      dv.getInt32(pos + 2) === 8 &&
      dv.getInt32(pos + 14) === 8 &&
      dv.getInt32(pos + 26) === 8 &&
      dv.getInt32(pos + 38) === 8 &&
      dv.getInt32(pos + 50) === 8 &&
      dv.getInt32(pos + 62) === 8
    ) {
      if (n >= cap) throw new RunError('the table changed while it was read', { hint: 'run again' });
      t[n] = time(pos + 6);
      open[n] = dv.getFloat64(pos + 18);
      high[n] = dv.getFloat64(pos + 30);
      low[n] = dv.getFloat64(pos + 42);
      close[n] = dv.getFloat64(pos + 54);
      volume[n] = dv.getFloat64(pos + 66);
      line[n] = n + 1;
      n++;
      pos += 74;
      continue;
    }
    // A tuple with NULLs, or cut at the chunk's end: check it is all here before reading it.
    let p = pos + 2;
    let complete = true;
    for (let k = 0; k < 6 && complete; k++) {
      if (p + 4 > len) complete = false;
      else p += 4 + Math.max(0, dv.getInt32(p));
    }
    if (!complete || p > len) break;
    if (n >= cap) throw new RunError('the table changed while it was read', { hint: 'run again' });
    p = pos + 2;
    for (let k = 0; k < 6; k++) {
      const l = dv.getInt32(p);
      p += 4;
      cols[k][n] = l === 8 ? (k === 0 ? time(p) : dv.getFloat64(p)) : NaN;
      p += Math.max(0, l);
    }
    line[n] = n + 1;
    n++;
    pos = p;
  }
  raw.n = n;
  return { pos, done: false };
}

/** Reads the bars; see the module comment. Timestamps are wall-clock ms unless `zoned`. */
export async function readPg(q: PgQuery): Promise<PgResult> {
  return withClient(q, 'reading', async (client) => {
    const s = await begin(client, q);
    const count = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${s.relation} WHERE ${s.where.join(' AND ')}`);
    const cap = Number(count.rows[0].n);
    if (cap === 0) throw await emptyError(client, s, q);
    const raw = await copyRows(client, s, s.where, cap, q.signal);
    await client.query('COMMIT');
    return { raw, zoned: s.timeKind !== 'timestamp', detail: s.detail.join(', ') };
  });
}

/** COPYs the `cap` rows selected by `where`, in time order, into fresh raw bars (lines numbered from 1). */
async function copyRows(client: Client, s: Selection, where: string[], cap: number, signal: AbortSignal | undefined): Promise<RawBars> {
  const { to: copyTo } = await import('pg-copy-streams');
  const raw = emptyRaw(cap);
  raw.files.push(`postgres:${s.tableName}`);
  const stream = client.query(
    copyTo(`COPY (SELECT ${s.selectList} FROM ${s.relation} WHERE ${where.join(' AND ')} ORDER BY ${s.timeExpr}) TO STDOUT (FORMAT binary)`),
  );
  const timeUs = s.timeKind !== 'number';
  let rest: Buffer | undefined;
  let header = true;
  let done = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (signal?.aborted) {
      stream.destroy();
      throw new RunError('cancelled');
    }
    const buf = rest && rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let pos = 0;
    if (header) {
      if (buf.length < 19) {
        rest = buf;
        continue;
      }
      if (SIGNATURE.some((b, i) => buf[i] !== b)) throw new RunError('PostgreSQL sent an unexpected COPY header');
      pos = 19 + buf.readInt32BE(15);
      header = false;
    }
    if (done) continue;
    const r = parseTuples(buf, pos, raw, timeUs, cap);
    done = r.done;
    rest = r.pos < buf.length ? buf.subarray(r.pos) : undefined;
  }
  if (!done) throw new RunError(`the connection ended before the last row of ${s.tableName}`, { hint: 'run again; check the server log' });
  return raw;
}

/**
 * What a follower of a selection knows of the rows it has read: their count, the sum of their
 * row hashes (pgFingerprint's hash) and the last row's time as the server writes it (read back
 * with the column's own type, so no rounding stands between them).
 */
export interface PgPrefix {
  rows: number;
  hash: string;
  last: string;
}

export type PgFollowRead =
  /** The rows up to `known.last` are not those read before (a row there edited, deleted or added). */
  | { status: 'changed'; why: string }
  /** No row after `known.last`. */
  | { status: 'same' }
  /** `result.raw` holds every row (no `known`) or the rows after `known.last`, lines numbered on from the known ones. */
  | { status: 'read'; result: PgResult; prefix: PgPrefix };

/** The SQL type `PgPrefix.last` is read back as. */
const LAST_TYPE: Record<TimeKind, string> = { timestamptz: 'timestamptz', timestamp: 'timestamp', number: 'float8' };

/**
 * Reads a selection that grows at its end, in one snapshot: without `known`, every row (as
 * readPg) and their PgPrefix; with it, first the count and hash sum of the rows at or before
 * `known.last`, which must equal `known`'s (the same hash as the cache key's: any edit, deletion
 * or insertion there shows, bar a 64-bit hash sum collision), then only the rows after it. One
 * pass over the selection on the server (as the fingerprint), plus the new rows over the wire.
 */
export async function readPgFollowing(q: PgQuery, known?: PgPrefix): Promise<PgFollowRead> {
  return withClient(q, 'reading', async (client) => {
    const s = await begin(client, q);
    const hash = await rowHash(client, s);
    let where = s.where;
    let old: { n: string; h: string | null } = { n: '0', h: '0' };
    let added: { n: string; h: string | null; last: string | null };
    if (known === undefined) {
      const r = await client.query<{ n: string; h: string | null; last: string | null }>(
        `SELECT count(*)::text AS n, sum(${hash})::text AS h, max(${s.timeExpr})::text AS last FROM ${s.relation} WHERE ${where.join(' AND ')}`,
      );
      added = r.rows[0];
      if (added.n === '0') throw await emptyError(client, s, q);
    } else {
      s.values.push(known.last);
      await bindValues(client, s);
      // A scalar subquery: cast once, not once per row.
      const last = `(SELECT ${PARAM(s.values.length)}::${LAST_TYPE[s.timeKind]})`;
      // One pass, each row hashed once: the old rows' count and hash sum, the new rows' (a time index then finds them for the COPY).
      const r = await client.query<{ old_n: string; old_h: string | null; n: string; h: string | null; last: string | null; nulls: string }>(
        `SELECT count(*) FILTER (WHERE old)::text AS old_n, sum(h) FILTER (WHERE old)::text AS old_h,
           count(*) FILTER (WHERE NOT old)::text AS n, sum(h) FILTER (WHERE NOT old)::text AS h,
           max(t)::text AS last, count(*) FILTER (WHERE old IS NULL)::text AS nulls
         FROM (SELECT ${s.timeExpr} AS t, ${s.timeExpr} <= ${last} AS old, ${hash} AS h FROM ${s.relation} WHERE ${s.where.join(' AND ')}) AS x`,
      );
      const x = r.rows[0];
      old = { n: x.old_n, h: x.old_h };
      added = { n: x.n, h: x.h, last: x.last };
      // A row without a time is none of them: a full read says where it is.
      if (x.nulls !== '0') return { status: 'changed', why: `${x.nulls} row${x.nulls === '1' ? '' : 's'} without a time` };
      if (Number(old.n) !== known.rows || (old.h ?? '0') !== known.hash)
        return {
          status: 'changed',
          why: `the rows up to the last bar changed (${known.rows} → ${old.n} rows${Number(old.n) === known.rows ? ', other values' : ''})`,
        };
      if (added.n === '0') return { status: 'same' };
      where = [...s.where, `${s.timeExpr} > ${last}`];
    }
    const cap = Number(added.n);
    const raw = await copyRows(client, s, where, cap, q.signal);
    if (known !== undefined) for (let i = 0; i < raw.n; i++) raw.line[i] += known.rows;
    await client.query('COMMIT');
    const prefix: PgPrefix = { rows: known === undefined ? cap : known.rows + cap, hash: sumText(old.h ?? '0', added.h ?? '0'), last: added.last! };
    return { status: 'read', result: { raw, zoned: s.timeKind !== 'timestamp', detail: s.detail.join(', ') }, prefix };
  });
}

/** The sum of two integers written in decimal (PostgreSQL's numeric sums of 64-bit hashes). */
function sumText(a: string, b: string): string {
  return (BigInt(a) + BigInt(b)).toString();
}

/**
 * A cheap token of the selection for `fxflow watch` to poll: its row count, last time and the last
 * row's hash (about one count(*) on the server, no hash of every row). Rows added or deleted, and
 * the last row changed, move it; an edit of an earlier row alone does not (the next run's key,
 * which hashes every row, sees it).
 */
export async function pgProbe(q: PgQuery): Promise<string> {
  return withClient(q, 'polling', async (client) => {
    const s = await begin(client, q);
    const hash = await rowHash(client, s);
    const sel = `FROM ${s.relation} WHERE ${s.where.join(' AND ')}`;
    const r = await client.query<{ t: string }>(
      `SELECT concat_ws('/', (SELECT count(*) ${sel}), (SELECT max(${s.timeExpr})::text ${sel}), (SELECT ${hash} ${sel} ORDER BY ${s.timeExpr} DESC LIMIT 1)) AS t`,
    );
    await client.query('COMMIT');
    return r.rows[0].t;
  });
}
