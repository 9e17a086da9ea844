import path from 'node:path';
import { loadPlan } from '../../pipeline.js';
import { computeKeys } from '../../runtime/keys.js';
import { formatMs } from '../../runtime/progress.js';
import { runPlan, type RunResult } from '../../runtime/run.js';
import { writeRunReport } from '../../report/load.js';
import { parseJobs } from '../../core/threads.js';
import type { PlanNode } from '../../compiler/index.js';
import { poolFor } from '../../runtime/pool/pool.js';
import type { StepContext } from '../../steps/define.js';
import { boardOf, leaderboard, sweepJson, sweepNodeFields } from '../../experiments/report.js';
import { recordSweep, summarizeSweep, type SweepResult } from '../../experiments/results.js';
import { DEVICE_OPTION, deviceOf, displayDir, EXIT_RUN, needFile, openStore, parse, printRunError, printUsage, progressFor, storeDir, UsageError, type Command, type Io } from '../common.js';
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
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, jobs: { type: 'string' }, ...DEVICE_OPTION });
  if (values.help) return printUsage(runCommand, io);
  const file = needFile(positionals, 'run');
  const jobs = jobsFlag(values.jobs);
  const plan = await loadPlan(file, undefined, { device: deviceOf(values.device), execute: true });
  // Keys first: a missing data file is reported before the store is opened or written.
  const keys = await computeKeys(plan);
  const dir = storeDir(values.store);
  const style = styleFor(io.out);
  const store = await openStore(dir, io);
  let result: RunResult;
  // SIGINT/SIGTERM cancel cleanly: running steps see the signal, nothing half-written is stored,
  // and the run is recorded as `interrupted` (a rerun reuses every step that completed).
  const abort = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled ??= sig;
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let sweep: SweepResult | undefined;
  let reportPath: string | undefined;
  try {
    if (!values.json) io.out.write(`${style.bold('fxflow')} run ${style.cyan(plan.spec.name)} · ${plan.nodes.length} steps${plan.spec.matrix ? ` · ${plan.variants!.length} variants` : ''} · store ${displayDir(dir)}\n`);
    // With more than one job, CPU-heavy steps run in worker processes; the store is written here.
    // Only worth it when at least two heavy steps could overlap (a worker costs its start-up and JIT warm-up).
    const pool = poolFor(plan.nodes, jobs);
    const execute = pool ? (node: PlanNode, inputs: Record<string, unknown>, ctx: StepContext) => (pool.handles(node) ? pool.run(node, inputs, ctx) : undefined) : undefined;
    try {
      // The HTML report reads the backtest's output after the run: checked (and recomputed if damaged) in it.
      const need = plan.spec.matrix ? [] : plan.nodes.filter((n) => n.def.output === 'Report').map((n) => n.id);
      result = await runPlan(plan, { store, keys, progress: progressFor(io.out, !!values.json, io), concurrency: jobs, signal: abort.signal, execute, need });
    } finally {
      await pool?.close();
    }
    if (signalled && result.status !== 'succeeded') {
      result.status = 'interrupted';
      await store.endRun(result.runId, 'interrupted', `interrupted by ${signalled}`);
    }
    sweep = summarizeSweep(plan, result.steps);
    if (sweep) await recordSweep(store, result.runId, plan, sweep);
    // A run with a backtest gets its HTML report in the store (fxflow report RUN rewrites it elsewhere).
    if (!sweep && result.status === 'succeeded' && plan.nodes.some((n) => n.def.output === 'Report')) {
      try {
        reportPath = (await writeRunReport(store, result.runId)).path;
      } catch (e) {
        io.err.write(`could not write the HTML report: ${(e as Error).message}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.close();
  }
  if (values.json) {
    const metrics: Record<string, Record<string, number>> = {};
    for (const s of result.steps) if (Object.keys(s.metrics).length) metrics[s.id] = s.metrics;
    io.out.write(
      `${JSON.stringify(
        {
          runId: result.runId,
          pipeline: result.pipeline,
          status: result.status,
          durationMs: Math.round(result.durationMs * 1000) / 1000,
          steps: result.steps.map((s) => ({
            id: s.id,
            ...(plan.variants ? sweepNodeFields(plan, s.id) : {}),
            kind: s.kind,
            key: s.key,
            cached: s.cached,
            status: s.status,
            durationMs: Math.round(s.durationMs * 1000) / 1000,
            ...(s.summary ? { summary: s.summary } : {}),
            ...(s.reason && !s.cached ? { reason: s.reason } : {}),
            ...(s.error ? { error: s.error } : {}),
            ...(s.warnings.length ? { warnings: s.warnings } : {}),
          })),
          metrics,
          ...(reportPath ? { report: reportPath } : {}),
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
const HEADLINE = ['sharpe', 'sortino', 'annual_return', 'total_return', 'max_drawdown', 'trades', 'win_rate', 'profit_factor', 'exposure', 'costs', 'benchmark_return'];

export function printRunSummary(result: RunResult, io: Io, style: Style, sweep?: SweepResult, reportPath?: string): void {
  const h = headline(result);
  if (sweep) {
    io.out.write(`\n${leaderboard(boardOf(sweep), style)}\n`);
  } else if (h) {
    io.out.write(`\n${style.bold(`${h.step} metrics`)}\n`);
    const picked = HEADLINE.filter((k) => k in h.metrics);
    const entries = picked.length >= 3 ? picked.map((k): [string, number] => [k, h.metrics[k]]) : Object.entries(h.metrics);
    io.out.write(`${table(['metric', 'value'], entries.map(([k, v]) => [k, fmtNum(v)]))}\n`);
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
  name: 'run',
  summary: 'run a pipeline (cached steps are reused)',
  usage: `Usage: fxflow run FILE [--json] [--jobs N] [--device auto|gpu|cpu] [--store DIR]

Runs the pipeline. Steps whose inputs and params are unchanged are read from the cache.
  --json       print a machine-readable summary (progress goes to stderr)
  --jobs N     cores to use (default: all): at most N independent steps at once, and a step
               that can use several threads (gbm, random_forest) gets its share of them
  --device D   where neural models train unless their step sets \`device:\` (overrides the
               pipeline's top-level \`device:\`; changes those steps' cache keys)

With a \`matrix:\` block every variant runs; a step equal across variants runs once.
SIGINT/SIGTERM stop the run and record it as interrupted (exit 130/143); rerun to continue.
Executes the pipeline's plugins (TypeScript, run with your rights): use it on pipelines you trust.`,
  executesCode: true,
  run: cmdRun,
};
