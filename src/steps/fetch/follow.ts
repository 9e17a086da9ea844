/**
 * `fetch` of a CSV file that grows at its end, as Candles: the first read is the ordinary one, and
 * each `update` extends the candles by the complete lines appended since (src/data/follow.ts),
 * equal bit for bit to the step reading the whole file again; `TableFollower` does the same for a
 * PostgreSQL table gaining rows after its last bar (src/data/pg.ts, readPgFollowing). What cannot be
 * followed (another source, several files, a zip, `from`/`to`/`days`/`resample`) is refused by
 * `followable`.
 */
import path from 'node:path';
import type { Candles } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { CsvFollower, SeriesFollower, type FollowUpdate, type VerifyMode } from '../../data/follow.js';
import type { LoadOptions } from '../../data/load.js';
import { readPgFollowing, type PgPrefix, type PgQuery, type PgResult } from '../../data/pg.js';
import type { RawBars } from '../../data/reader.js';
import { convertToUtc, parseZone, type Zone } from '../../data/tz.js';
import { pipSize } from '../../data/symbols.js';
import { parseTimeframe } from '../../data/timeframe.js';
import { loadOptions } from './index.js';
import type { FetchParams } from './params.js';
import { pgQueryOf } from './postgres.js';

/** Why these params cannot be followed (undefined: they can). */
export function followable(params: FetchParams, files: readonly string[]): string | undefined {
  if (params.source !== 'csv' && params.source !== 'postgres') return `source \`${params.source}\` (only csv files and postgres tables are followed)`;
  if (params.source === 'csv' && files.length !== 1) return 'several files';
  if (params.source === 'csv' && /\.(zip|gz)$/i.test(files[0])) return 'a compressed file';
  if (params.from !== undefined || params.to !== undefined || params.days !== undefined || params.resample !== undefined)
    return '`from`, `to`, `days` or `resample` (they depend on the series’ end)';
  return undefined;
}

export class FetchFollower {
  private follower: CsvFollower;
  private readonly params: FetchParams;
  private readonly verify: VerifyMode;

  /** Reads `file` (absolute) in full; see `followable` for what is supported and VerifyMode for `verify`. */
  constructor(params: FetchParams, file: string, verify: VerifyMode = 'full') {
    this.params = params;
    this.verify = verify;
    this.follower = new CsvFollower(file, loadOptions(params, parseTimeframe(params.timeframe).ms), verify);
  }

  /** Bytes of the file read (complete lines). */
  get size(): number {
    return this.follower.size;
  }

  /** What the first read detected, for the log. */
  get detected(): string[] {
    return this.follower.detected;
  }

  /** Reads the file again; on `restart` it has been read afresh (a change before its end). */
  update(): FollowUpdate {
    const u = this.follower.update();
    if (u.status === 'restart')
      this.follower = new CsvFollower(this.follower.file, loadOptions(this.params, parseTimeframe(this.params.timeframe).ms), this.verify);
    return u;
  }

  /** The candles so far, as the step makes them (columns view the follower's storage). */
  candles(): Candles {
    const p = this.params;
    const b = this.follower.bars;
    return {
      type: 'Candles',
      symbol: p.symbol,
      timeframe: parseTimeframe(p.timeframe).canonical,
      source: `csv:${path.basename(this.follower.file)}`,
      pip: pipSize(p.symbol),
      quality: this.follower.notes,
      index: b.index,
      columns: { open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume },
    };
  }
}

/**
 * `fetch` of a PostgreSQL table whose selection gains rows after its last bar: the first read is
 * every row, each `update` reads only the rows after the last one once the rows up to it are found
 * unchanged (their count and the sum of their row hashes, the cache key's own hash), and extends
 * the candles through the same quality steps; any other change reads the table afresh.
 */
export class TableFollower {
  private readonly params: FetchParams;
  private readonly query: PgQuery;
  private readonly opts: LoadOptions;
  private series!: SeriesFollower;
  private prefix!: PgPrefix;
  private zone: Zone | null = null;
  private source = '';
  /** What the last read selected, for the log. */
  detail = '';

  private constructor(params: FetchParams) {
    this.params = params;
    const tf = parseTimeframe(params.timeframe);
    this.opts = loadOptions(params, tf.ms);
    this.query = pgQueryOf(params, tf.ms, {});
  }

  /** Reads every selected row (see `followable` for what is supported); `signal` cancels the read. */
  static async open(params: FetchParams, signal?: AbortSignal): Promise<TableFollower> {
    const f = new TableFollower(params);
    await f.readAll(signal);
    return f;
  }

  private async readAll(signal?: AbortSignal): Promise<void> {
    const r = await readPgFollowing({ ...this.query, signal });
    if (r.status !== 'read') throw new RunError('the table changed while it was read', { hint: 'run again' });
    const raw = this.toUtc(r.result);
    this.source = raw.files[0];
    this.series = new SeriesFollower(raw, this.opts);
    this.prefix = r.prefix;
    this.detail = r.result.detail;
  }

  /** The raw rows in UTC, with the zone the quality step's week clock reads (as the step's own read). */
  private toUtc(r: PgResult): RawBars {
    const zone = this.opts.zone ?? parseZone('UTC');
    if (!r.zoned) convertToUtc(r.raw.t, zone, r.raw.n);
    this.zone = r.zoned ? null : zone;
    r.raw.zones = [this.zone];
    return r.raw;
  }

  /** Reads the rows after the last bar; on `restart` the table has been read afresh (a change before its end). */
  async update(signal?: AbortSignal): Promise<FollowUpdate> {
    const r = await readPgFollowing({ ...this.query, signal }, this.prefix);
    if (r.status === 'same') return { status: 'same', added: 0 };
    const restart = async (why: string): Promise<FollowUpdate> => {
      await this.readAll(signal);
      return { status: 'restart', added: 0, why };
    };
    if (r.status === 'changed') return restart(r.why);
    const x = this.series.extend(this.toUtc(r.result));
    if ('why' in x) return restart(x.why);
    this.prefix = r.prefix;
    return { status: 'appended', added: x.added };
  }

  get length(): number {
    return this.series.length;
  }

  /** The candles so far, as the step makes them (columns view the follower's storage). */
  candles(): Candles {
    const p = this.params;
    const b = this.series.bars;
    return {
      type: 'Candles',
      symbol: p.symbol,
      timeframe: parseTimeframe(p.timeframe).canonical,
      source: this.source,
      pip: pipSize(p.symbol),
      quality: this.series.notes,
      index: b.index,
      columns: { open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume },
    };
  }
}
