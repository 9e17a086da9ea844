import { existsSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { escapeControl, RunError } from '../../core/diagnostics.js';
import { boardOfStored, leaderboard } from '../leaderboard.js';
import { loadOverfit, loadVariants, resolveRun, RUN_REF_HELP, runMetrics, runSteps } from '../../runtime/history.js';
import { formatMs } from '../../runtime/progress.js';
import { STORE_FILE } from '../../runtime/store.js';
import { openStore, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';
import { fmtNum, styleFor, table } from '../format.js';
import { fmtBytes } from '../../core/format.js';

/** `fxflow show RUN`: one run in full — its resolved pipeline, params, metrics, artifacts and data-quality notes. */

async function cmdShow(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, pipeline: { type: 'boolean' } });
  if (values.help) return printUsage(showCommand, io);
  if (positionals.length !== 1) throw new UsageError('`fxflow show` needs one run, e.g. `fxflow show latest`');
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) throw new RunError(`no store in ${dir}`, { hint: 'run a pipeline first, or pass `--store DIR`' });
  const store = await openStore(dir, io);
  try {
    const run = await resolveRun(store, positionals[0]);
    if (values.pipeline) {
      // The pipeline file exactly as it was when the run started.
      io.out.write(run.text.endsWith('\n') ? run.text : `${run.text}\n`);
      return 0;
    }
    const steps = await runSteps(store, run.id);
    const metrics = await runMetrics(store, run.id);
    const variants = await loadVariants(store, run.id);
    const keys = [...new Set(steps.map((s) => s.key))];
    const artOf = new Map([...(await store.artifactInfos(keys))].map(([k, a]) => [k, { type: a.type, bytes: a.bytes }]));
    const artifacts = steps.map((s) => ({ step: s.nodeId, key: s.key, ...(artOf.get(s.key) ?? { type: null, bytes: null }), present: artOf.has(s.key) }));
    const notes = steps.flatMap((s) => s.warnings.map((w) => ({ step: s.nodeId, note: w })));
    const resolved = { steps: Object.fromEntries(steps.map((s) => [s.nodeId, { uses: s.kind, with: s.params }])) };
    if (values.json) {
      const { text, ...head } = run;
      io.out.write(
        `${JSON.stringify(
          {
            ...head,
            steps: steps.map((s) => ({
              id: s.nodeId,
              step: s.step,
              kind: s.kind,
              key: s.key,
              cached: s.cached,
              status: s.status,
              durationMs: s.durationMs,
              summary: s.summary,
              error: s.error,
              params: s.params,
            })),
            metrics: Object.fromEntries(metrics),
            artifacts,
            notes,
            ...(variants.length ? { variants } : {}),
            pipelineText: text,
          },
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    const style = styleFor(io.out);
    const git = run.gitCommit ? `${run.gitCommit.slice(0, 10)}${run.gitDirty ? ' (dirty)' : ''}` : '—';
    io.out.write(
      `${style.bold('run')} ${run.id}\n` +
        `pipeline  ${run.pipeline} (${run.file})\n` +
        `status    ${run.status}${run.error ? ` — ${escapeControl(run.error)}` : ''}\n` +
        `started   ${run.startedAt.slice(0, 19)} UTC · took ${run.durationMs === null ? '—' : formatMs(run.durationMs)}\n` +
        `git       ${git} · seed ${run.seed}\n`,
    );
    io.out.write(`\n${style.bold('steps')}\n`);
    io.out.write(
      `${table(
        ['step', 'kind', 'state', 'took', 'key', 'artifact'],
        artifacts.map((a, i) => {
          const s = steps[i];
          return [
            s.nodeId,
            s.kind,
            s.status === 'ok' ? (s.cached ? 'cached' : 'computed') : s.status,
            formatMs(s.durationMs),
            s.key.slice(0, 12),
            a.present ? `${a.type} ${fmtBytes(a.bytes!)}` : 'not in store',
          ];
        }),
        style,
      )}\n`,
    );
    if (variants.length) io.out.write(`\n${leaderboard(boardOfStored(variants, await loadOverfit(store, run.id)), style)}\n`);
    io.out.write(`\n${style.bold('resolved pipeline')}\n${stringify(resolved, { lineWidth: 0 })}`);
    if (metrics.size) {
      io.out.write(
        `\n${style.bold('metrics')}\n${table(
          ['metric', 'value'],
          [...metrics].map(([k, v]) => [k, fmtNum(v)]),
          style,
        )}\n`,
      );
    }
    io.out.write(`\n${style.bold('notes')}\n`);
    // Notes quote data files: escaped like every diagnostic.
    io.out.write(notes.length ? `${notes.map((n) => `${n.step}: ${escapeControl(n.note)}`).join('\n')}\n` : 'no data-quality notes\n');
  } finally {
    await store.close();
  }
  return 0;
}

export const showCommand: Command = {
  usage: `Usage: fxflow show RUN [--pipeline] [--json] [--store DIR]

The run's status and git commit, each step with its artifact, the resolved pipeline (params with
defaults), metrics, a sweep's leaderboard, and the data-quality notes (step warnings).
  --pipeline   print the pipeline file exactly as it was when the run started
RUN is ${RUN_REF_HELP}.`,
  run: cmdShow,
};
