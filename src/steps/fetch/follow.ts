/**
 * `fetch` of a CSV file that grows at its end, as Candles: the first read is the ordinary one, and
 * each `update` extends the candles by the complete lines appended since (src/data/follow.ts),
 * equal bit for bit to the step reading the whole file again. What cannot be followed (another
 * source, several files, a zip, `from`/`to`/`days`/`resample`) is refused by `followable`.
 */
import path from 'node:path';
import type { Candles } from '../../core/artifacts.js';
import { CsvFollower, type FollowUpdate, type VerifyMode } from '../../data/follow.js';
import { pipSize } from '../../data/symbols.js';
import { parseTimeframe } from '../../data/timeframe.js';
import { loadOptions } from './index.js';
import type { FetchParams } from './params.js';

/** Why these params cannot be followed (undefined: they can). */
export function followable(params: FetchParams, files: readonly string[]): string | undefined {
  if (params.source !== 'csv') return `source \`${params.source}\` (only csv files are followed)`;
  if (files.length !== 1) return 'several files';
  if (/\.(zip|gz)$/i.test(files[0])) return 'a compressed file';
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
