/**
 * Switches following on for this process (`fxflow watch`): the hooks of src/steps/follow-hooks.ts,
 * with the followers kept per file (or table connection) and params (a few: a watch session edits its pipeline, and
 * each kept follower holds its series). A follower's result is the step's own result, bit for bit
 * (test/follow/), so the runtime stores it under the step's ordinary cache key like any output.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Candles, Features } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { sha256 } from '../core/hash.js';
import { parseTimeframe } from '../data/timeframe.js';
import type { StepContext } from './define.js';
import { FeaturesFollower } from './features/follow.js';
import type { FeaturesParams } from './features/params.js';
import { FetchFollower, followable, TableFollower } from './fetch/follow.js';
import { pgQueryOf } from './fetch/postgres.js';
import type { FetchParams } from './fetch/params.js';
import { setFollowHooks } from './follow-hooks.js';

/** Followers kept at most, per step kind. */
const KEEP = 4;

/** A small map that forgets its least recently used entry beyond KEEP. */
class Kept<T> {
  private readonly m = new Map<string, T>();
  get(k: string): T | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: T): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > KEEP) this.m.delete(this.m.keys().next().value as string);
  }
}

function followFetch(kept: Kept<FetchFollower>, params: FetchParams, files: string[], ctx: StepContext): Candles | undefined {
  if (followable(params, files) !== undefined) return undefined;
  const file = files[0];
  const key = `${file}\n${JSON.stringify(params)}`;
  let f = kept.get(key);
  const name = path.basename(file);
  if (!f) {
    f = new FetchFollower(params, file);
    kept.set(key, f);
    for (const d of f.detected) ctx.log(`format ${d}`);
    ctx.log(`following ${name}: ${f.candles().index.length} bars read`);
  } else {
    const u = f.update();
    ctx.log(
      u.status === 'appended'
        ? `following ${name}: ${u.added} bar${u.added === 1 ? '' : 's'} appended`
        : u.status === 'restart'
          ? `following ${name}: read afresh (${u.why})`
          : `following ${name}: no new line`,
    );
  }
  // A line still being written: the file's hash (the cache key) covers it, so read it as a run does.
  if (statSync(file).size !== f.size) return undefined;
  const c = f.candles();
  for (const q of c.quality ?? []) ctx.warn(`${name}: ${q.kind.replace(/_/g, ' ')}: ${q.count} (${q.action}${q.detail ? `; ${q.detail}` : ''})`);
  ctx.progress(1);
  return c;
}

async function followTable(kept: Kept<TableFollower>, params: FetchParams, ctx: StepContext): Promise<Candles | undefined> {
  if (followable(params, []) !== undefined) return undefined;
  // The connection as resolved now (an environment variable may change between runs), hashed: no secret is kept.
  const tf = parseTimeframe(params.timeframe);
  const key = sha256(JSON.stringify([pgQueryOf(params, tf.ms, {}).url ?? null, { ...params, poll: undefined }]));
  let f = kept.get(key);
  const name = params.table;
  if (!f) {
    f = await TableFollower.open(params, ctx.signal);
    if (f.length === 0) return undefined; // no bar left after the quality policy: the step says why
    kept.set(key, f);
    ctx.log(`following ${name}: ${f.length} bars read (${f.detail})`);
  } else {
    const u = await f.update(ctx.signal);
    ctx.log(
      u.status === 'appended'
        ? `following ${name}: ${u.added} bar${u.added === 1 ? '' : 's'} appended`
        : u.status === 'restart'
          ? `following ${name}: read afresh (${u.why})`
          : `following ${name}: no new row`,
    );
    if (f.length === 0) return undefined;
  }
  const c = f.candles();
  for (const q of c.quality ?? []) ctx.warn(`${name}: ${q.kind.replace(/_/g, ' ')}: ${q.count} (${q.action}${q.detail ? `; ${q.detail}` : ''})`);
  ctx.progress(1);
  return c;
}

function followFeatures(kept: Kept<FeaturesFollower>, candles: Candles, params: FeaturesParams, ctx: StepContext): Features | undefined {
  const key = JSON.stringify([candles.symbol, candles.timeframe, params]);
  let f = kept.get(key);
  let out: Features;
  if (f?.extendsSeen(candles)) {
    const before = f.rows;
    out = f.extend(candles);
    ctx.log(`following: ${candles.index.length - before} new bar${candles.index.length - before === 1 ? '' : 's'} (${f.modeSummary()})`);
  } else {
    f = new FeaturesFollower(params, candles);
    try {
      out = f.init(candles);
    } catch (e) {
      // Too few bars: the step's own computation says by how many.
      if (e instanceof RunError && e.message.startsWith('not enough bars')) return undefined;
      throw e;
    }
    kept.set(key, f);
  }
  ctx.log(`warm-up: dropped ${out.warmupDropped} leading rows`);
  ctx.log(`tail: dropped ${out.tailDropped} trailing rows`);
  ctx.progress(1);
  return out;
}

/** Follows growing data from now on in this process (see follow-hooks.ts). */
export function startFollowing(): void {
  const fetches = new Kept<FetchFollower>();
  const tables = new Kept<TableFollower>();
  const features = new Kept<FeaturesFollower>();
  const memory =
    (kept: Kept<object>) =>
    <T extends object>(key: string, init: () => T): T => {
      // One key, one maker (the step's), so what is kept under it is a T.
      let m = kept.get(key) as T | undefined;
      if (!m) kept.set(key, (m = init()));
      return m;
    };
  setFollowHooks({
    fetch: (params, files, ctx) => followFetch(fetches, params, files, ctx),
    table: (params, ctx) => followTable(tables, params, ctx),
    features: (candles, params, ctx) => followFeatures(features, candles, params, ctx),
    predict: memory(new Kept<object>()),
    replay: memory(new Kept<object>()),
    inProcess: new Set(['replay']),
  });
}

/** Stops following and lets go of what the followers held. */
export function stopFollowing(): void {
  setFollowHooks({});
}
