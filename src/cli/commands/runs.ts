import { existsSync } from 'node:fs';
import path from 'node:path';
import { formatMs } from '../../runtime/progress.js';
import { STORE_FILE } from '../../runtime/store.js';
import { boardOfStored, leaderboard } from '../leaderboard.js';
import { changesSincePrevious, formatChange, type ParamChange } from '../../experiments/history.js';
import { loadVariants, type StoredVariant } from '../../experiments/results.js';
import { openStore, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';
import { fmtNum, styleFor, table } from '../format.js';

async function cmdRuns(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' }, pipeline: { type: 'string' }, limit: { type: 'string' } });
  if (values.help) return printUsage(runsCommand, io);
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) {
    if (values.json) io.out.write('[]\n');
    else io.out.write(`no runs yet in ${path.relative(process.cwd(), dir) || dir} (fxflow run FILE makes one)\n`);
    return 0;
  }
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit takes a whole number ≥ 1, got \`${values.limit}\``);
  const store = await openStore(dir, io);
  try {
    const runs = await store.query(
      `SELECT r.id, r.pipeline, r.status, CAST(r.started_at AS VARCHAR) AS started_at,
              date_diff('millisecond', r.started_at, r.ended_at) AS duration_ms, r.git_commit, r.git_dirty,
              (SELECT count(*) FROM step_runs s WHERE s.run_id = r.id AND s.status = 'ok' AND NOT s.cached) AS computed,
              (SELECT count(*) FROM step_runs s WHERE s.run_id = r.id AND s.cached) AS cached
       FROM runs r WHERE ($1::VARCHAR IS NULL OR r.pipeline = $1) ORDER BY r.started_at DESC, r.id DESC LIMIT ${limit}`,
      [values.pipeline ?? null],
    );
    const metricRows = runs.length
      ? await store.query(
          `SELECT run_id, step_id, name, value FROM metrics WHERE run_id IN (${runs.map((_, i) => `$${i + 1}`).join(',')}) ORDER BY run_id, step_id, name`,
          runs.map((r) => String(r.id)),
        )
      : [];
    const metrics = new Map<string, Record<string, number>>();
    for (const m of metricRows) {
      const rec = metrics.get(String(m.run_id)) ?? {};
      rec[`${m.step_id}.${m.name}`] = m.value as number;
      metrics.set(String(m.run_id), rec);
    }
    // Sweeps: their variants (the selected one's metrics head the row), and what each run changed.
    const sweeps = new Map<string, StoredVariant[]>();
    for (const r of runs) {
      const vs = await loadVariants(store, String(r.id));
      if (vs.length) sweeps.set(String(r.id), vs);
    }
    const changes = new Map<string, ParamChange[]>();
    for (const r of runs) changes.set(String(r.id), await changesSincePrevious(store, String(r.id)));
    if (values.json) {
      io.out.write(
        `${JSON.stringify(
          runs.map((r) => ({
            id: r.id,
            pipeline: r.pipeline,
            status: r.status,
            startedAt: r.started_at,
            durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
            gitCommit: r.git_commit,
            gitDirty: r.git_dirty,
            computed: Number(r.computed),
            cached: Number(r.cached),
            metrics: metrics.get(String(r.id)) ?? {},
            changedParams: changes.get(String(r.id)) ?? [],
            ...(sweeps.has(String(r.id)) ? { variants: sweeps.get(String(r.id)) } : {}),
          })),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    if (!runs.length) {
      io.out.write('no runs match\n');
      return 0;
    }
    const HEAD = ['sharpe', 'total_return', 'max_drawdown', 'hit_rate', 'trades'];
    const rows = runs.map((r) => {
      const sweep = sweeps.get(String(r.id));
      const m = (sweep ? sweep.find((v) => v.selected)?.metrics : undefined) ?? metrics.get(String(r.id)) ?? {};
      const pick = (name: string): string => {
        const k = Object.keys(m).find((key) => key.endsWith(`.${name}`));
        return k ? fmtNum(m[k]) : '—';
      };
      return [
        String(r.id),
        String(r.pipeline),
        String(r.status),
        String(r.started_at).slice(0, 19),
        r.duration_ms === null ? '—' : formatMs(Number(r.duration_ms)),
        `${r.computed}/${r.cached}`,
        ...HEAD.map(pick),
        sweep ? sweepCell(sweep) : changeCell(changes.get(String(r.id)) ?? []),
      ];
    });
    io.out.write(`${table(['run', 'pipeline', 'status', 'started (UTC)', 'took', 'computed/cached', ...HEAD, 'changes'], rows, styleFor(io.out))}\n`);
    // The leaderboard of the newest sweep listed.
    const newest = runs.find((r) => sweeps.has(String(r.id)));
    if (newest) {
      const vs = sweeps.get(String(newest.id))!;
      io.out.write(`\n${leaderboard(boardOfStored(vs), styleFor(io.out), `leaderboard of ${String(newest.id)} (${String(newest.pipeline)}) · ${vs.length} variants${vs[0].select ? ` · select ${vs[0].select}` : ''}`)}\n`);
    }
  } finally {
    await store.close();
  }
  return 0;
}

/** What a run changed since the previous run of its pipeline, in a few words. */
function changeCell(cs: ParamChange[]): string {
  if (!cs.length) return '';
  const shown = cs.slice(0, 2).map(formatChange).join('; ');
  return cs.length > 2 ? `${shown}; +${cs.length - 2} more` : shown;
}

function sweepCell(vs: StoredVariant[]): string {
  const best = vs.find((v) => v.selected);
  return `sweep of ${vs.length}${best ? `, best ${best.label}` : ''}`;
}

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list recent runs with status and headline metrics',
  usage: `Usage: fxflow runs [--pipeline NAME] [--limit N] [--json] [--store DIR]

Recent runs, newest first, with status, duration, headline metrics (a sweep's: its selected
variant's) and the params changed since the previous run of the same pipeline; then the
leaderboard of the newest sweep listed. --json adds the git commit, every metric, the changed
params and a sweep's variants.`,
  run: cmdRuns,
};
