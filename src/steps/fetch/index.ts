import path from 'node:path';
import type { Candles, QualityNote } from '../../core/artifacts.js';
import { RunError, type ParamIssue } from '../../core/diagnostics.js';
import { sha256 } from '../../core/hash.js';
import { parseTimestamp } from '../../data/dates.js';
import { readDb } from '../../data/db.js';
import { pgFingerprint, readPg } from '../../data/pg.js';
import { readData, resolveDataPaths, unpack, type DataPart } from '../../data/files.js';
import { isoUtc } from '../../data/frame.js';
import { finish, loadPartsAsync, type LoadOptions } from '../../data/load.js';
import { policyOf } from '../../data/quality.js';
import { resampleProblem } from '../../data/resample.js';
import { pipSize } from '../../data/symbols.js';
import { syntheticCandles } from '../../data/synthetic.js';
import { compilePattern } from '../../data/timefmt.js';
import { formatTimeframe, parseTimeframe } from '../../data/timeframe.js';
import { convertToUtc, parseZone, TIMEZONE_HINT } from '../../data/tz.js';
import { defineStep, paramsOf, type FingerprintContext } from '../define.js';
import type { FetchParams } from './params.js';
import { pgQueryOf, postgresIssues, tablePoll } from './postgres.js';
import { thousands } from '../../core/format.js';
import { followHooks } from '../follow-hooks.js';

/** Median spacing of consecutive bars (weekend and holiday gaps are rare, so they do not move it). */
export function medianSpacing(index: Float64Array): number {
  const n = index.length;
  if (n < 2) return NaN;
  const d = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) d[i - 1] = index[i] - index[i - 1];
  d.sort();
  // Lower median: always an actual spacing, so it formats as a timeframe.
  return d[(n - 2) >> 1];
}

const DATE_HINT = 'write a UTC date such as 2020-01-05 or 2020-01-05T22:00';
const FILE_SOURCES = new Set(['csv', 'parquet', 'duckdb']);

function pathsOf(p: FetchParams): string[] {
  if (p.path === undefined) return [];
  return Array.isArray(p.path) ? p.path : [p.path];
}

function tryParse<T>(f: () => T): { ok: T } | { error: RunError } {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: e as RunError };
  }
}

/** Files the params name, resolved (globs expanded) — for the fingerprint and the run. */
async function filesOf(params: FetchParams, ctx: FingerprintContext): Promise<string[]> {
  const paths = pathsOf(params);
  if (paths.length === 0)
    throw new RunError(`source \`${params.source}\` needs a \`path\``, { hint: 'add `path:` naming the data file, relative to the pipeline file' });
  const locate = ctx.locate && ((i: number) => ctx.locate!(Array.isArray(params.path) ? ['path', i] : ['path']));
  return resolveDataPaths(paths, (p) => ctx.resolvePath(p), ctx.pipelineDir, locate);
}

function date(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const t = parseTimestamp(s);
  if (!Number.isFinite(t)) throw new RunError(`cannot read ${what} date ${JSON.stringify(s)}`, { hint: DATE_HINT });
  return t;
}

function qualityLine(source: string, q: QualityNote): string {
  return `${source}: ${q.kind.replace(/_/g, ' ')}: ${q.count} (${q.action}${q.detail ? `; ${q.detail}` : ''})`;
}

export default defineStep({
  kind: 'fetch',
  // 3: HistData files default to New York time; `Z`/`±hh:mm` timestamps are their instants.
  version: 3,
  description:
    'Load candles from CSV/zip/gz files (HistData, MetaTrader, Dukascopy, generic), Parquet or a DuckDB table, in UTC with a data-quality policy and optional resampling; or generate seeded synthetic FX candles.',
  inputs: {},
  output: 'Candles',
  params: paramsOf<FetchParams>(),
  // The synthetic source depends on the seed; for the others it is irrelevant but harmless.
  seeded: true,

  check(params: FetchParams): ParamIssue[] {
    const issues: ParamIssue[] = [];
    const tf = tryParse(() => parseTimeframe(params.timeframe));
    if ('error' in tf) issues.push({ path: ['timeframe'], message: tf.error.message, hint: tf.error.hint });
    const fileSource = FILE_SOURCES.has(params.source);
    if (fileSource) {
      const paths = pathsOf(params);
      if (paths.length === 0 || paths.some((p) => p.trim() === '')) {
        issues.push({
          path: ['path'],
          message: `source \`${params.source}\` needs a \`path\``,
          hint:
            params.source === 'duckdb'
              ? 'add `path: data/market.duckdb` (the database file, relative to the pipeline file)'
              : 'add `path: data/EURUSD_H1.csv` (relative to the pipeline file)',
        });
      }
      if (params.source !== 'csv' && Array.isArray(params.path) && params.path.length > 1) {
        issues.push({ path: ['path'], message: `source \`${params.source}\` reads one file`, hint: 'give one path' });
      }
      if (params.start !== undefined) {
        issues.push({
          path: ['start'],
          message: '`start` only applies to source `synthetic`',
          hint: 'remove `start`; use `from` to skip the first bars of the data',
        });
      }
    } else if (params.source === 'synthetic') {
      if (params.path !== undefined) {
        issues.push({ path: ['path'], message: '`path` is given but source is `synthetic`', hint: 'set `source: csv` to read the file, or remove `path`' });
      }
      if (params.start !== undefined && !Number.isFinite(parseTimestamp(params.start))) {
        issues.push({ path: ['start'], message: `cannot read start date ${JSON.stringify(params.start)}`, hint: DATE_HINT });
      }
    }
    if (params.source === 'duckdb') {
      if (params.table === undefined)
        issues.push({ path: ['table'], message: 'source `duckdb` needs a `table`', hint: 'add `table: candles` (the table holding the bars)' });
      else if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$/.test(params.table)) {
        issues.push({
          path: ['table'],
          message: `table name ${JSON.stringify(params.table)} is not a plain identifier`,
          hint: 'write a name such as candles or market.candles',
        });
      }
    } else if (params.table !== undefined && params.source !== 'postgres') {
      issues.push({ path: ['table'], message: '`table` only applies to sources `duckdb` and `postgres`', hint: 'remove `table`' });
    }
    issues.push(...postgresIssues(params));
    if (params.source !== 'csv' && params.format !== 'auto') {
      issues.push({ path: ['format'], message: '`format` only applies to source `csv`', hint: 'remove `format`' });
    }
    if (params.time_format !== undefined) {
      const segs = params.time_format === 'unix_s' || params.time_format === 'unix_ms' ? [] : compilePattern(params.time_format);
      if (typeof segs === 'string')
        issues.push({
          path: ['time_format'],
          message: `time_format ${JSON.stringify(params.time_format)}: ${segs}`,
          hint: 'use the tokens YYYY MM DD HH mm ss SSS, e.g. DD.MM.YYYY HH:mm:ss.SSS, or unix_s / unix_ms',
        });
      if (params.source !== 'csv' || (params.format !== 'generic' && params.format !== 'auto')) {
        issues.push({
          path: ['time_format'],
          message: '`time_format` only applies to `format: generic` (or auto-detected generic) CSV files',
          hint: 'remove `time_format`, or set `format: generic`',
        });
      }
    }
    if (params.source === 'synthetic') {
      if (params.columns !== undefined) issues.push({ path: ['columns'], message: '`columns` does not apply to source `synthetic`', hint: 'remove `columns`' });
      if (params.timezone !== undefined && params.timezone !== 'UTC')
        issues.push({ path: ['timezone'], message: 'synthetic bars are generated in UTC', hint: 'remove `timezone`' });
    }
    const zone = params.timezone === undefined ? { ok: undefined } : tryParse(() => parseZone(params.timezone!));
    if ('error' in zone) issues.push({ path: ['timezone'], message: zone.error.message, hint: zone.error.hint ?? TIMEZONE_HINT });
    for (const k of ['from', 'to'] as const) {
      const v = params[k];
      if (v !== undefined && !Number.isFinite(parseTimestamp(v)))
        issues.push({ path: [k], message: `cannot read ${k} date ${JSON.stringify(v)}`, hint: DATE_HINT });
    }
    if (params.from !== undefined && params.to !== undefined && parseTimestamp(params.from) >= parseTimestamp(params.to)) {
      issues.push({
        path: ['to'],
        message: `\`to\` (${params.to}) is not after \`from\` (${params.from})`,
        hint: '`from` is inclusive, `to` exclusive: the range must not be empty',
      });
    }
    if (params.resample !== undefined && 'ok' in tf) {
      const r = tryParse(() => parseTimeframe(params.resample!));
      if ('error' in r) issues.push({ path: ['resample'], message: r.error.message, hint: r.error.hint });
      else {
        const why = resampleProblem(r.ok.ms, tf.ok.ms);
        if (why)
          issues.push({
            path: ['resample'],
            message: why,
            hint: 'resample to a longer bar that is a multiple of `timeframe`: below a day one that divides the day (5m, 15m, 1h, 4h…), else 1d or 1w',
          });
      }
    }
    const gap = tryParse(() => parseTimeframe(params.quality.max_gap));
    if ('error' in gap) issues.push({ path: ['quality', 'max_gap'], message: gap.error.message, hint: gap.error.hint });
    return issues;
  },

  async files(params: FetchParams, ctx) {
    return FILE_SOURCES.has(params.source) ? filesOf(params, ctx) : [];
  },

  // A table's rows are fingerprinted by querying it: no file stamp says they are unchanged.
  readsBeyondFiles: (params: FetchParams) => params.source === 'postgres',
  poll: tablePoll,

  // How often watch polls a table changes no bar.
  keyParams(params: FetchParams): Record<string, unknown> {
    const { poll: _poll, ...rest } = params;
    return rest;
  },

  async fingerprint(params: FetchParams, ctx) {
    if (params.source === 'postgres') {
      // The selected rows' count, span and content hash (never the connection string).
      const tf = parseTimeframe(params.timeframe);
      const o = loadOptions(params, tf.ms);
      return pgFingerprint(pgQueryOf(params, tf.ms, { from: o.from, to: o.to, days: o.days }, ctx.locate));
    }
    if (!FILE_SOURCES.has(params.source)) return null;
    const files = await filesOf(params, ctx);
    const out: { file: string; sha256: string; size: number }[] = [];
    for (const f of files) {
      const data = await readData(f, ctx.pipelineDir);
      out.push({ file: path.basename(f), sha256: sha256(data), size: data.length });
    }
    return out.length === 1 ? { sha256: out[0].sha256, size: out[0].size } : { files: out };
  },

  async run(_inputs, params: FetchParams, ctx): Promise<Candles> {
    const tf = parseTimeframe(params.timeframe);
    if (params.source === 'synthetic') {
      let start: number | undefined;
      if (params.start !== undefined) {
        start = parseTimestamp(params.start);
        if (!Number.isFinite(start)) throw new RunError(`cannot read start date ${JSON.stringify(params.start)}`, { hint: DATE_HINT });
      }
      const out = syntheticCandles({ symbol: params.symbol, timeframeMs: tf.ms, bars: params.bars, seed: ctx.seed, start });
      if (params.resample === undefined && params.from === undefined && params.to === undefined && params.days === undefined) {
        ctx.progress(1);
        return out;
      }
      // Ranges and resampling apply to synthetic bars too (they are clean: no quality notes).
      const raw = {
        n: out.index.length,
        t: out.index,
        open: out.columns.open,
        high: out.columns.high,
        low: out.columns.low,
        close: out.columns.close,
        volume: out.columns.volume,
        line: new Int32Array(out.index.length),
        file: new Uint16Array(out.index.length),
        files: ['synthetic'],
      };
      const { bars } = finish(raw, loadOptions(params, tf.ms));
      ctx.progress(1);
      return {
        ...out,
        timeframe: params.resample ? parseTimeframe(params.resample).canonical : out.timeframe,
        index: bars.index,
        columns: { open: bars.open, high: bars.high, low: bars.low, close: bars.close, volume: bars.volume },
      };
    }

    const opts = loadOptions(params, tf.ms);
    const files = params.source === 'postgres' ? [] : await filesOf(params, ctx);
    let sourceName: string;
    let result: { bars: LoadedBars; notes: QualityNote[] };
    const followed =
      params.source === 'csv' ? followHooks().fetch?.(params, files, ctx) : params.source === 'postgres' ? await followHooks().table?.(params, ctx) : undefined;
    if (followed) return followed;
    if (params.source === 'csv') {
      const parts: DataPart[] = [];
      for (let i = 0; i < files.length; i++) {
        if (ctx.signal.aborted) throw new RunError('cancelled');
        parts.push(...unpack(files[i], await readData(files[i], ctx.pipelineDir)));
        ctx.progress((0.5 * (i + 1)) / files.length, `read ${path.basename(files[i])}`);
      }
      const loaded = await loadPartsAsync(parts, opts);
      parts.length = 0;
      for (const d of loaded.detected) ctx.log(`format ${d}`);
      sourceName = files.length === 1 ? `csv:${path.basename(files[0])}` : `csv:${path.basename(files[0])}+${files.length - 1}`;
      result = loaded;
    } else {
      const db =
        params.source === 'postgres'
          ? await readPg(pgQueryOf(params, tf.ms, opts, undefined, ctx.signal))
          : await readDb({
              kind: params.source as 'duckdb' | 'parquet',
              file: files[0],
              table: params.table,
              symbol: params.symbol,
              timeframeMs: tf.ms,
              columns: params.columns,
              from: opts.from,
              to: opts.to,
              days: opts.days,
            });
      ctx.log(`${params.source}: selected ${db.raw.n} rows (${db.detail})`);
      if (db.raw.n === 0) {
        const where =
          params.source === 'postgres'
            ? `table ${db.raw.files[0].slice('postgres:'.length)}`
            : params.source === 'duckdb'
              ? `table ${params.table} of ${files[0]}`
              : files[0];
        throw new RunError(`no bars in ${where} for ${db.detail}`, {
          hint: 'check symbol, timeframe and the date range',
        });
      }
      const zone = opts.zone ?? parseZone('UTC');
      if (!db.zoned) convertToUtc(db.raw.t, zone, db.raw.n);
      else if (zone.fixedOffsetMs !== 0) ctx.warn(`${params.source}: the time column carries its zone (UTC); \`timezone: ${params.timezone}\` is ignored`);
      db.raw.zones = [db.zoned ? null : zone];
      result = finish(db.raw, opts);
      sourceName =
        params.source === 'postgres'
          ? db.raw.files[0]
          : params.source === 'duckdb'
            ? `duckdb:${path.basename(files[0])}:${params.table}`
            : `parquet:${path.basename(files[0])}`;
    }
    const { bars, notes } = result;
    const shortName = sourceName.replace(/^\w+:/, '');
    for (const q of notes) ctx.warn(qualityLine(shortName, q));
    if (bars.index.length === 0) {
      throw new RunError(`no bars left in ${shortName} after the quality policy and the date range`, { hint: 'check `from`, `to`, `days` and the file' });
    }
    if (params.resample === undefined) {
      const spacing = medianSpacing(bars.index);
      if (Number.isFinite(spacing) && spacing !== tf.ms) {
        ctx.warn(
          `${shortName}: bars are ${formatTimeframe(spacing)} apart (median) but timeframe is ${tf.canonical}; set \`timeframe: ${formatTimeframe(spacing)}\` if that is the file's bar size`,
        );
      }
    }
    ctx.progress(1);
    return {
      type: 'Candles',
      symbol: params.symbol,
      timeframe: params.resample ? parseTimeframe(params.resample).canonical : tf.canonical,
      source: sourceName,
      pip: pipSize(params.symbol),
      quality: notes,
      index: bars.index,
      columns: { open: bars.open, high: bars.high, low: bars.low, close: bars.close, volume: bars.volume },
    };
  },

  metricNames: ['bars', 'quality_<kind>'],
  metrics(out: Candles) {
    const m: Record<string, number> = { bars: out.index.length };
    for (const q of out.quality ?? []) m[`quality_${q.kind}`] = q.count;
    return m;
  },

  summary(out: Candles) {
    const n = out.index.length;
    if (n === 0) return '0 bars';
    return `${thousands(n)} bars ${isoUtc(out.index[0])} → ${isoUtc(out.index[n - 1])} UTC`;
  },
});

type LoadedBars = ReturnType<typeof finish>['bars'];

export function loadOptions(params: FetchParams, timeframeMs: number): LoadOptions {
  const days = params.days;
  return {
    read: { format: params.format, columns: params.columns, timeFormat: params.time_format, timezone: params.timezone },
    zone: params.timezone === undefined ? undefined : parseZone(params.timezone),
    policy: policyOf(params.quality),
    timeframeMs,
    from: date(params.from, 'from'),
    to: date(params.to, 'to'),
    days,
    resampleMs: params.resample ? parseTimeframe(params.resample).ms : undefined,
    dayClose: params.day_close,
  };
}
