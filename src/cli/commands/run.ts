import path from 'node:path';
import type { Plan } from '../../compiler/index.js';
import { formatMs } from '../../runtime/progress.js';
import { runAllCached, type CachedRun } from '../../runtime/cached-run.js';
import { cachedPlanOf, loadWithMemo, readPlanMemo } from '../../runtime/plan-memo.js';
import type { NodeKey } from '../../runtime/keys.js';
import type { PipelineRun } from '../../runtime/pipeline-run.js';
import type { RunResult } from '../../runtime/run.js';
import { gitInfo } from '../../runtime/run-record.js';
import type { Store } from '../../runtime/store.js';
import type { QueueExecutor } from '../../runtime/queue/executor.js';
import { parseJobs } from '../../core/threads.js';
import { boardOf, leaderboard, sweepJson, sweepNodeFields } from '../leaderboard.js';
import type { SweepResult } from '../../runtime/history.js';
import {
  DEVICE_OPTION,
  deviceOf,
  displayDir,
  EXIT_RUN,
  needFile,
  openStore,
  parse,
  printRunError,
  printUsage,
  progressFor,
  storeDir,
  UsageError,
  type Command,
  type Io,
} from '../common.js';
import { fmtNum, styleFor, table, type Style } from '../format.js';

/** `--jobs` of `run` and `watch`: absent (all cores), or a whole number ≥ 1; anything else is a usage error. */
export function jobsFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const jobs = parseJobs(value);
  if (typeof jobs !== 'number') throw new UsageError(jobs.error);
  return jobs;
}

/** Headline metrics of a run: the metrics of its last step that has any. */
function headline(result: RunResult): { step: string; metrics: Record<string, number> } | undefined {
  for (let i = result.steps.length - 1; i >= 0; i--) {
    const s = result.steps[i];
    if (s.status === 'ok' && Object.keys(s.metrics).length) return { step: s.id, metrics: s.metrics };
  }
  return undefined;
}

async function cmdRun(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    jobs: { type: 'string' },
    ...DEVICE_OPTION,
    executor: { type: 'string' },
    queue: { type: 'string' },
    cache: { type: 'string' },
  });
  if (values.help) return printUsage(runCommand, io);
  const file = needFile(positionals, 'run');
  const jobs = jobsFlag(values.jobs);
  if (values.executor !== undefined && values.executor !== 'local' && values.executor !== 'queue')
    throw new UsageError(`--executor takes local or queue, got \`${values.executor}\``);
  // Checked now, before the pipeline is read: a bad URL fails before anything is enqueued.
  const queued = values.executor === 'queue' ? (await import('./worker.js')).queueFlags(values) : undefined;
  // Asked now: the git process runs while the pipeline is read and its keys computed.
  const git = gitInfo(path.dirname(path.resolve(file)));
  git.catch(() => undefined);
  const dir = storeDir(values.store);
  const device = deviceOf(values.device);
  const style = styleFor(io.out);
  const progress = progressFor(io.out, !!values.json, io);
  const header = (name: string, steps: number, sweep?: string): void => {
    if (!values.json)
      io.out.write(
        `${style.bold('fxflow')} run ${style.cyan(name)} · ${steps} steps${sweep ? ` · ${sweep}` : ''} · store ${displayDir(dir)}${queued ? ` · queue ${queued.target.display}` : ''}\n`,
      );
  };
  let signalled: NodeJS.Signals | undefined;
  let outcome: PipelineRun;
  let executor: QueueExecutor | undefined;
  // Where the time went (--json `timings`): all on performance.now(), whose origin is the process's start.
  let loaded: number;
  let ran: number;
  // Every step a hit: recorded through the store's journal, without opening DuckDB (cached-run.ts).
  // An unchanged pipeline's steps and keys come from its memo, loading no parser and no step (plan-memo.ts).
  const memo = readPlanMemo(dir, { file, device });
  loaded = performance.now();
  let fast = memo && (await runAllCached(memo, { storeDir: dir, progress, report: true, git, before: () => header(memo.name, memo.nodes.length) }));
  let plan: Plan | undefined;
  let keys: Map<string, NodeKey> | undefined;
  if (!fast) {
    // Keys first: a missing data file is reported before the store is opened or written. The parser
    // and the step kinds are imported inside: what their modules read of the environment is recorded too.
    ({ plan, keys } = await loadWithMemo(
      dir,
      { file, device },
      async () => (await import('../../pipeline.js')).loadPlan(file, undefined, { device, execute: true }),
      async (p) => (await import('../../runtime/keys.js')).computeKeys(p),
    ));
    loaded = performance.now();
    const p = plan;
    const cachedPlan = cachedPlanOf(p, keys);
    fast = cachedPlan && (await runAllCached(cachedPlan, { storeDir: dir, progress, report: true, git, before: () => header(p.spec.name, p.nodes.length) }));
  }
  let opened = loaded;
  let closing = loaded;
  ran = loaded;
  if (fast) {
    outcome = { result: fast.result, reportPath: fast.reportPath };
    ran = closing = performance.now();
  } else if (plan && keys) {
    // Loaded only here: a rerun whose steps are all hits needs neither the scheduler's pool nor the report's renderer.
    const [{ Interruption, runPipeline }, { writeRunReport }] = await Promise.all([import('../../runtime/pipeline-run.js'), import('../../report/load.js')]);
    // The queue connects while the store opens (importing BullMQ alone costs ≈ 0.4 s of CPU); an
    // unreachable queue still fails the run before it is recorded (runPipeline records it).
    const connecting = queued && import('../../runtime/queue/executor.js').then((m) => m.QueueExecutor.open({ ...queued, keys, nodes: plan.byId }));
    const [q, s] = await Promise.allSettled([connecting, openStore(dir, io)]);
    if (q.status === 'rejected' || s.status === 'rejected') {
      if (q.status === 'fulfilled') await q.value?.close();
      if (s.status === 'fulfilled') await s.value.close();
      throw q.status === 'rejected' ? q.reason : (s as PromiseRejectedResult).reason;
    }
    executor = q.value || undefined;
    const store: Store = s.value;
    opened = performance.now();
    // SIGINT/SIGTERM cancel cleanly: running steps see the signal, nothing half-written is stored,
    // and the run is recorded as `interrupted` (a rerun reuses every step that completed).
    const abort = new AbortController();
    const onSignal = (sig: NodeJS.Signals): void => {
      signalled ??= sig;
      abort.abort(new Interruption(sig));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    ran = opened;
    closing = opened;
    try {
      header(
        plan.spec.name,
        plan.nodes.length,
        plan.spec.search
          ? `${plan.spec.search.method} search of ${plan.spec.search.trials} trials`
          : plan.spec.matrix
            ? `${plan.variants?.length} variants`
            : undefined,
      );
      // A run with a backtest gets its HTML report in the store (fxflow report RUN rewrites it elsewhere).
      outcome = await runPipeline(plan, { store, keys, progress, jobs, signal: abort.signal, git, writeReport: writeRunReport, executor });
      ran = performance.now();
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      closing = performance.now();
      await executor?.close();
      await store.close();
    }
  } else {
    throw new Error('run: no plan loaded'); // unreachable: a run not done from the memo loaded its plan
  }
  const closed = performance.now();
  const ms = (x: number): number => Math.round(x * 1000) / 1000;
  const { result, sweep, reportPath, reportError } = outcome;
  if (reportError) io.err.write(`could not write the HTML report: ${reportError.message}\n`);
  if (values.json) {
    const metrics: Record<string, Record<string, number>> = {};
    for (const s of result.steps) if (Object.keys(s.metrics).length) metrics[s.id] = s.metrics;
    io.out.write(
      `${JSON.stringify(
        {
          runId: result.runId,
          pipeline: result.pipeline,
          status: result.status,
          durationMs: ms(result.durationMs),
          // Every step a hit, recorded through the store's journal without opening DuckDB.
          ...(fast ? { journal: true } : {}),
          // ...and its steps and keys read from the pipeline's memo, without parsing it.
          ...(fast && !plan ? { memo: true } : {}),
          timings: {
            startupMs: ms(loaded),
            storeOpenMs: ms(opened - loaded),
            runMs: ms(ran - opened),
            closeMs: ms(closed - closing),
            totalMs: ms(closed),
          },
          steps: result.steps.map((s) => ({
            id: s.id,
            ...(plan?.variants ? sweepNodeFields(outcome.plan ?? plan, s.id) : {}),
            kind: s.kind,
            key: s.key,
            cached: s.cached,
            status: s.status,
            durationMs: ms(s.durationMs),
            loadMs: ms(s.loadMs),
            computeMs: ms(s.computeMs),
            storeMs: ms(s.storeMs),
            ...(s.summary ? { summary: s.summary } : {}),
            ...(s.reason && !s.cached ? { reason: s.reason } : {}),
            ...(s.error ? { error: s.error } : {}),
            ...(s.warnings.length ? { warnings: s.warnings } : {}),
          })),
          metrics,
          ...(reportPath ? { report: reportPath } : {}),
          // Per step run through the queue: enqueued, started and finished on a worker, coordinator notified (epoch ms).
          ...(executor?.timings.length ? { queue: executor.timings } : {}),
          ...(sweep ? sweepJson(sweep) : {}),
          ...(result.error ? { error: result.error.message } : {}),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    printRunSummary(result, io, style, sweep, reportPath);
  }
  if (result.status === 'succeeded') return 0;
  if (signalled) return signalled === 'SIGINT' ? 130 : 143;
  if (result.error && !values.json) printRunError(result.error, io);
  return EXIT_RUN;
}

/** The metrics a backtest's summary shows (all are in the run history and the HTML report). */
const HEADLINE = [
  'sharpe',
  'sortino',
  'annual_return',
  'total_return',
  'max_drawdown',
  'trades',
  'win_rate',
  'profit_factor',
  'exposure',
  'costs',
  'benchmark_return',
];

export function printRunSummary(result: RunResult, io: Io, style: Style, sweep?: SweepResult, reportPath?: string): void {
  const h = headline(result);
  if (sweep) {
    io.out.write(`\n${leaderboard(boardOf(sweep), style)}\n`);
  } else if (h) {
    io.out.write(`\n${style.bold(`${h.step} metrics`)}\n`);
    const picked = HEADLINE.filter((k) => k in h.metrics);
    const entries = picked.length >= 3 ? picked.map((k): [string, number] => [k, h.metrics[k]]) : Object.entries(h.metrics);
    io.out.write(
      `${table(
        ['metric', 'value'],
        entries.map(([k, v]) => [k, fmtNum(v)]),
      )}\n`,
    );
  }
  const computed = result.steps.filter((s) => s.status === 'ok' && !s.cached).length;
  const cached = result.steps.filter((s) => s.cached).length;
  const failed = result.steps.filter((s) => s.status === 'failed').length;
  const parts = [`${computed} computed`, `${cached} cached`];
  if (failed) parts.push(style.red(`${failed} failed`));
  const status = result.status === 'succeeded' ? style.green('succeeded') : style.red(result.status);
  if (reportPath) {
    const rel = path.relative(process.cwd(), reportPath);
    io.out.write(`\nreport ${rel && !rel.startsWith('..') ? rel : reportPath}\n`);
  }
  io.out.write(`\nrun ${result.runId} ${status} in ${formatMs(result.durationMs)} · ${parts.join(', ')}\n`);
}

export const runCommand: Command = {
  usage: `Usage: fxflow run FILE [--json] [--jobs N] [--device auto|gpu|cpu] [--store DIR]

Runs the pipeline. Steps whose inputs and params are unchanged are read from the cache.
  --json       print a machine-readable summary (progress goes to stderr)
  --jobs N     cores to use (default: all): at most N independent steps at once, and a step
               that can use several threads (gbm, random_forest) gets its share of them
  --device D   where neural models train unless their step sets \`device:\` (overrides the
               pipeline's top-level \`device:\`; changes those steps' cache keys)
  --executor queue --queue URL --cache DIR
               run the model fits and backtests on \`fxflow worker\`s through a BullMQ queue on
               Redis (URL: redis://HOST:6379/0, or FXFLOW_QUEUE), sharing artifacts in DIR (a
               folder every machine mounts, or FXFLOW_CACHE); --jobs is then the steps in flight

With a \`matrix:\` block every variant runs; a step equal across variants runs once. With
\`search:\`, its trials run (TPE: in rounds of --jobs trials drawn from the scores so far).
SIGINT/SIGTERM stop the run and record it as interrupted (exit 130/143); rerun to continue.
Executes the pipeline's plugins (TypeScript, run with your rights): use it on pipelines you trust.`,
  run: cmdRun,
};
