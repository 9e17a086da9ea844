import type { Plan, PlanNode } from '../compiler/index.js';
import { indexReport } from './cached-run.js';
import { recordSweep, summarizeSweep, type SweepResult } from './history.js';
import type { StepContext } from '../steps/define.js';
import type { NodeKey } from './keys.js';
import { poolFor } from './pool/pool.js';
import { LiveProgress } from './live.js';
import type { ProgressReporter } from './progress.js';
import { Interruption, runPlan, type RunOptions, type RunResult } from './run.js';
import { newRunId } from './run-record.js';
import { overfitOfSweep, runSearchRounds } from './search-run.js';
import type { Store } from './store.js';

export { Interruption } from './run.js';

/**
 * One run of a pipeline, as every front end wants it (`fxflow run`, `watch`, later a queue
 * executor or a UI): the worker pool the plan is worth, the scheduler, the sweep's results in the
 * history, the HTML report, and interruption. Front ends parse their flags, load the plan, open
 * the store, and print what comes back.
 */

export interface PipelineRunOptions {
  store: Store;
  progress: ProgressReporter;
  /** Keys computed beforehand (so a missing data file fails before the store is touched). */
  keys?: Map<string, NodeKey>;
  /** The core budget (`--jobs`); default all cores. */
  jobs?: number;
  signal?: AbortSignal;
  /** The git state of the pipeline's folder, asked for early (RunOptions.git). */
  git?: RunOptions['git'];
  /**
   * Writes a run's HTML report into the store (the report module's `writeRunReport`: the runtime
   * does not import the layer above it). Given, a succeeded run of a plan with a backtest and no
   * matrix gets its report; its backtest outputs are then checked in the run.
   */
  writeReport?: (store: Store, runId: string) => Promise<{ path: string }>;
  /**
   * Runs the steps it handles elsewhere instead of the local worker pool (the queue executor,
   * ./queue/executor.ts); opened and closed by the caller.
   */
  executor?: StepExecutor;
}

/** Where steps run that do not run in this process: the local pool's and the queue executor's common face. */
export interface StepExecutor {
  handles(node: PlanNode): boolean;
  run(node: PlanNode, inputs: Record<string, unknown>, ctx: StepContext): Promise<unknown>;
}

export interface PipelineRun {
  result: RunResult;
  /** A `matrix:` run's variants and their metrics (also recorded in the store). */
  sweep?: SweepResult;
  /** Where the HTML report was written. */
  reportPath?: string;
  /** Why the HTML report could not be written (the run itself stands). */
  reportError?: Error;
  /** What stopped the run (the `Interruption` its signal was aborted with). */
  interruptedBy?: string;
  /** A TPE search's plan of all its trials (the plan passed in holds its first round only). */
  plan?: Plan;
}

export async function runPipeline(plan: Plan, opts: PipelineRunOptions): Promise<PipelineRun> {
  const { store } = opts;
  // Steps that declare `worker` run in worker processes when the plan is worth a pool; the store
  // is written here only.
  const pool = opts.executor ? undefined : poolFor(plan.nodes, opts.jobs);
  const runner: StepExecutor | undefined = opts.executor ?? pool;
  const execute = runner
    ? (node: PlanNode, inputs: Record<string, unknown>, ctx: StepContext) => (runner.handles(node) ? runner.run(node, inputs, ctx) : undefined)
    : undefined;
  const reports = plan.nodes.filter((n) => n.def.output === 'Report').map((n) => n.id);
  let result: RunResult;
  let ran = plan;
  // The run's progress also goes to its live file, for readers the store's lock keeps out (`fxflow ui`).
  const runId = newRunId();
  const live = new LiveProgress(store.dir, runId, plan.spec.name, plan.nodes, opts.progress);
  try {
    // The HTML report reads the backtests' outputs after the run: checked (and recomputed if damaged) in it.
    const need = opts.writeReport && !plan.spec.matrix ? reports : [];
    const runOpts = { store, keys: opts.keys, progress: live, runId, concurrency: opts.jobs, signal: opts.signal, execute, need, git: opts.git };
    // A TPE search draws its trials round by round from the scores so far (./search-run.ts).
    if (plan.search && (plan.variants!.length < plan.search.spec.trials || plan.search.spec.halving))
      ({ result, plan: ran } = await runSearchRounds(plan, runOpts));
    else result = await runPlan(plan, runOpts);
  } finally {
    live.close();
    await pool?.close();
  }
  const reason: unknown = opts.signal?.aborted ? opts.signal.reason : undefined;
  const interruptedBy = reason instanceof Interruption ? reason.by : undefined;
  const sweep = summarizeSweep(ran, result.steps);
  if (sweep) {
    // Is the winner real: its deflated Sharpe and the sweep's PBO, from the variants' selection backtests.
    const overfit = await overfitOfSweep(store, ran, result.steps, sweep);
    if (overfit) sweep.overfit = overfit;
    await recordSweep(store, result.runId, ran, sweep);
  }
  let reportPath: string | undefined;
  let reportError: Error | undefined;
  // A sweep gets the report of its winner when it knows how much of it is luck (the report shows it).
  if (opts.writeReport && (!sweep || sweep.overfit) && result.status === 'succeeded' && reports.length) {
    try {
      reportPath = (await opts.writeReport(store, result.runId)).path;
      // A rerun with the same keys and text names this report instead of drawing it again (./cached-run.ts).
      if (!sweep) indexReport(store.dir, plan.spec.text, result.steps, reportPath);
    } catch (e) {
      reportError = e instanceof Error ? e : new Error(String(e));
    }
  }
  return { result, sweep, reportPath, reportError, interruptedBy, ...(ran !== plan ? { plan: ran } : {}) };
}
