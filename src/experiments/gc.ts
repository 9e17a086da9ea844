import type { Store } from '../runtime/store.js';

/**
 * Retention. A run is kept if it is among the `keepLast` newest runs or started within
 * `olderThanMs`; with neither option every run is kept. An artifact is removed only when no kept
 * run references its key (any step run of a kept run, computed or cached — every node of a run is
 * recorded in it, so the inputs a kept run needs are kept too). Run history is never removed:
 * `fxflow show` of an old run still works and says which artifacts are gone.
 */

export interface GcOptions {
  keepLast?: number;
  olderThanMs?: number;
  dryRun?: boolean;
  now?: number;
}

export interface GcResult {
  runs: number;
  keptRuns: number;
  artifacts: number;
  removed: { key: string; kind: string; bytes: number }[];
  bytes: number;
}

export async function collectGarbage(store: Store, opts: GcOptions): Promise<GcResult> {
  const now = opts.now ?? Date.now();
  const runs = await store.query(`SELECT id, epoch_ms(started_at) AS t FROM runs ORDER BY started_at DESC, id DESC`);
  const any = opts.keepLast !== undefined || opts.olderThanMs !== undefined;
  const kept = runs.filter((r, i) => {
    if (!any) return true;
    if (opts.keepLast !== undefined && i < opts.keepLast) return true;
    if (opts.olderThanMs !== undefined && Number(r.t) >= now - opts.olderThanMs) return true;
    return false;
  });
  await store.query(`CREATE OR REPLACE TEMP TABLE gc_kept (id VARCHAR)`);
  for (const r of kept) await store.query(`INSERT INTO gc_kept VALUES ($1)`, [String(r.id)]);
  const doomed = await store.query(
    `SELECT key, kind, bytes FROM artifacts
     WHERE key NOT IN (SELECT s.key FROM step_runs s JOIN gc_kept k ON k.id = s.run_id) ORDER BY created_at, key`,
  );
  const total = await store.query(`SELECT count(*) AS n FROM artifacts`);
  const removed = doomed.map((d) => ({ key: String(d.key), kind: String(d.kind), bytes: Number(d.bytes) }));
  if (!opts.dryRun && removed.length) {
    // One transaction: catalogue rows and chunks go together, wherever the chunks are.
    await store.deleteArtifacts(removed.map((d) => d.key));
    await store.query('CHECKPOINT');
  }
  await store.query(`DROP TABLE IF EXISTS gc_kept`);
  return { runs: runs.length, keptRuns: kept.length, artifacts: Number(total[0].n), removed, bytes: removed.reduce((s, d) => s + d.bytes, 0) };
}

/** `30d`, `12h`, `2w`, `90m`, `45s` → milliseconds; undefined if malformed. */
export function parseAge(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(s.trim());
  if (!m) return undefined;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
