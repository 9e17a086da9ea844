import { existsSync } from 'node:fs';
import path from 'node:path';
import { formatMs } from '../../runtime/progress.js';
import { STORE_FILE } from '../../runtime/store.js';
import { boardOfStored, HEAD, leaderboard } from '../leaderboard.js';
import { changesSincePrevious, formatChange, listRuns, loadOverfit, loadVariants, type ParamChange, type StoredVariant } from '../../runtime/history.js';
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
    const runs = await listRuns(store, { pipeline: values.pipeline, limit });
    // Sweeps: their variants (the selected one's metrics head the row), and what each run changed.
    const sweeps = new Map<string, StoredVariant[]>();
    for (const { run: r } of runs) {
      const vs = await loadVariants(store, r.id);
      if (vs.length) sweeps.set(r.id, vs);
    }
    const changes = new Map<string, ParamChange[]>();
    for (const { run: r } of runs) changes.set(r.id, await changesSincePrevious(store, r.id));
    if (values.json) {
      io.out.write(
        `${JSON.stringify(
          runs.map(({ run: r, computed, cached, metrics }) => ({
            id: r.id,
            pipeline: r.pipeline,
            status: r.status,
            startedAt: r.startedAt,
            durationMs: r.durationMs,
            gitCommit: r.gitCommit,
            gitDirty: r.gitDirty,
            computed,
            cached,
            metrics,
            changedParams: changes.get(r.id) ?? [],
            ...(sweeps.has(r.id) ? { variants: sweeps.get(r.id) } : {}),
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
    const rows = runs.map(({ run: r, computed, cached, metrics }) => {
      const sweep = sweeps.get(r.id);
      const m = (sweep ? sweep.find((v) => v.selected)?.metrics : undefined) ?? metrics;
      const pick = (name: string): string => {
        const k = Object.keys(m).find((key) => key.endsWith(`.${name}`));
        return k ? fmtNum(m[k]) : '—';
      };
      return [
        r.id,
        r.pipeline,
        r.status,
        r.startedAt.slice(0, 19),
        r.durationMs === null ? '—' : formatMs(r.durationMs),
        `${computed}/${cached}`,
        ...HEAD.map(pick),
        sweep ? sweepCell(sweep) : changeCell(changes.get(r.id) ?? []),
      ];
    });
    io.out.write(`${table(['run', 'pipeline', 'status', 'started (UTC)', 'took', 'computed/cached', ...HEAD, 'changes'], rows, styleFor(io.out))}\n`);
    // The leaderboard of the newest sweep listed.
    const newest = runs.find(({ run: r }) => sweeps.has(r.id))?.run;
    if (newest) {
      const vs = sweeps.get(newest.id)!;
      io.out.write(
        `\n${leaderboard(boardOfStored(vs, await loadOverfit(store, newest.id)), styleFor(io.out), `leaderboard of ${newest.id} (${newest.pipeline}) · ${vs.length} variants${vs[0].select ? ` · select ${vs[0].select}` : ''}`)}\n`,
      );
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
  usage: `Usage: fxflow runs [--pipeline NAME] [--limit N] [--json] [--store DIR]

Recent runs, newest first, with status, duration, headline metrics (a sweep's: its selected
variant's) and the params changed since the previous run of the same pipeline; then the
leaderboard of the newest sweep listed. --json adds the git commit, every metric, the changed
params and a sweep's variants.`,
  run: cmdRuns,
};
