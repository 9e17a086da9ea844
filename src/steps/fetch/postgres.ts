import type { ParamIssue, SourceLocation } from '../../core/diagnostics.js';
import { RunError } from '../../core/diagnostics.js';
import { passwordOf, pgProbe, type PgQuery } from '../../data/pg.js';
import { parseTimeframe } from '../../data/timeframe.js';
import type { SourcePoll } from '../define.js';
import type { FetchParams } from './params.js';

/** Where the `postgres` source's connection string comes from when `url_env` is not given. */
export const DEFAULT_URL_ENV = 'FXFLOW_PG_URL';

const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** Compile-time checks of the `postgres` source's params (and of its params on other sources). */
export function postgresIssues(params: FetchParams): ParamIssue[] {
  const issues: ParamIssue[] = [];
  if (params.source !== 'postgres') {
    for (const k of ['url', 'url_env', 'poll'] as const)
      if (params[k] !== undefined) issues.push({ path: [k], message: `\`${k}\` only applies to source \`postgres\``, hint: `remove \`${k}\`` });
    return issues;
  }
  if (params.path !== undefined)
    issues.push({ path: ['path'], message: 'source `postgres` reads a table, not a file', hint: 'remove `path`; name the table with `table:`' });
  if (params.start !== undefined) issues.push({ path: ['start'], message: '`start` only applies to source `synthetic`', hint: 'remove `start`' });
  if (params.table === undefined)
    issues.push({ path: ['table'], message: 'source `postgres` needs a `table`', hint: 'add `table: candles` or `table: market.candles`' });
  else if (!TABLE.test(params.table))
    issues.push({
      path: ['table'],
      message: `table name ${JSON.stringify(params.table)} is not a plain identifier`,
      hint: 'write a name such as candles or market.candles (letters, digits and _; schema-qualified at most once)',
    });
  if (params.poll !== undefined) {
    let ms = NaN;
    try {
      ms = parseTimeframe(params.poll).ms;
    } catch {
      // Reported below.
    }
    if (!(ms >= 100))
      issues.push({
        path: ['poll'],
        message: `cannot read poll interval ${JSON.stringify(params.poll)}`,
        hint: 'write a duration of 100ms or more, e.g. 2s or 1m',
      });
  }
  // The pipeline text and its params are stored with every run: a password must come from elsewhere.
  if (params.url !== undefined && passwordOf(params.url) !== undefined)
    issues.push({
      path: ['url'],
      message: '`url` holds a password, which would be stored with the run history',
      hint: `put the connection string in an environment variable (\`url_env\`, default ${DEFAULT_URL_ENV}) or the password in PGPASSWORD or ~/.pgpass`,
    });
  return issues;
}

/** How often `fxflow watch` polls a table when `poll` is not given. */
export const DEFAULT_POLL_MS = 5000;

/** What `fxflow watch` polls for a `postgres` fetch (pgProbe); nothing for other sources. */
export function tablePoll(params: FetchParams): SourcePoll | undefined {
  if (params.source !== 'postgres') return undefined;
  const tf = parseTimeframe(params.timeframe);
  return {
    label: `postgres:${params.table}`,
    intervalMs: params.poll === undefined ? DEFAULT_POLL_MS : parseTimeframe(params.poll).ms,
    token: () => pgProbe(pgQueryOf(params, tf.ms, {})),
  };
}

/** The connection string and where it came from (never the string itself, for messages). */
function connection(
  params: FetchParams,
  locate?: (path: (string | number)[]) => SourceLocation | undefined,
): { url?: string; urlFrom: string; connectionParam: PgQuery['connectionParam'] } {
  if (params.url !== undefined) return { url: params.url, urlFrom: '`url`', connectionParam: 'url' };
  const name = params.url_env ?? DEFAULT_URL_ENV;
  const value = process.env[name];
  const connectionParam = params.url_env !== undefined ? 'url_env' : 'source';
  if (value !== undefined && value !== '') return { url: value, urlFrom: `the environment variable ${name}`, connectionParam };
  if (params.url_env !== undefined)
    throw new RunError(`the environment variable ${name} (url_env) is not set`, {
      hint: `export ${name}=postgres://user:password@host:5432/database before running`,
      loc: locate?.(['url_env']),
    });
  return { urlFrom: `libpq's PG* environment variables (${DEFAULT_URL_ENV} is not set)`, connectionParam };
}

/** The query the `postgres` source runs, from the step's params. */
export function pgQueryOf(
  params: FetchParams,
  timeframeMs: number,
  range: { from?: number; to?: number; days?: number },
  locate?: (path: (string | number)[]) => SourceLocation | undefined,
  signal?: AbortSignal,
): PgQuery {
  return {
    ...connection(params, locate),
    table: params.table ?? '',
    symbol: params.symbol,
    timeframeMs,
    columns: params.columns,
    ...range,
    locate,
    signal,
  };
}
