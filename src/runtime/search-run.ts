import type { Plan, PlanSearch } from '../compiler/index.js';
import type { Report } from '../core/artifacts.js';
import { formatDiagnostic } from '../core/diagnostics.js';
import { dailyAligned, overfitLine, overfitStats } from '../evaluation/overfitting.js';
import { configOf, promotions, rungs, type RungResult } from '../evaluation/halving.js';
import { suggest, type Observation, type TrialValues } from '../evaluation/search.js';
import { coreBudget } from '../core/threads.js';
import { decodeArtifact } from './codec.js';
import { endRun, setRunGit, summarizeSweep, type SweepOverfit, type SweepResult } from './history.js';
import { computeKeys } from './keys.js';
import { gitInfo, newRunId, type StepOutcome } from './run-record.js';
import { Interruption, runPlan, type RunOptions, type RunResult } from './run.js';
import type { Store } from './store.js';

/**
 * A TPE search's rounds on the ordinary scheduler: its first round is the plan's trials (the random
 * `startup` ones); each later round asks the sampler for `--jobs` more trials from the scores so
 * far, compiles the plan of every trial so far (`plan.search.planFor`: a node keeps its id from round
 * to round) and runs it with the nodes of earlier rounds marked done. One run in the history: the
 * first round begins it, every round records its own steps, and it ends here. Steps equal across
 * trials are merged in each round's plan and hit the cache across rounds, as in a matrix sweep.
 */
export async function runSearchRounds(plan: Plan, opts: RunOptions): Promise<{ result: RunResult; plan: Plan }> {
  const search = plan.search!;
  const { trials } = search.spec;
  const width = coreBudget(opts.concurrency);
  const git = opts.git ?? gitInfo(plan.spec.dir);
  git.catch(() => undefined);
  const id = opts.runId ?? newRunId();
  const t0 = performance.now();
  const done = new Map<string, StepOutcome>();
  let current = plan;
  let values = plan.variants!.map((v) => v.values);
  // Fingerprinting reads the data files: a missing one fails here, before the run is recorded.
  let keys = opts.keys ?? (await computeKeys(plan));
  let status: RunResult['status'] = 'succeeded';
  let error: Error | undefined;
  const worse: Record<RunResult['status'], number> = { succeeded: 0, failed: 1, cancelled: 2, interrupted: 3 };
  for (let round = 0; ; round++) {
    const r = await runPlan(current, { ...opts, keys, git, round: { id, first: round === 0, done } });
    for (const o of r.steps) done.set(o.id, o);
    if (worse[r.status] > worse[status]) status = r.status;
    error ??= r.error;
    if (r.status === 'cancelled' || r.status === 'interrupted' || opts.signal?.aborted) break;
    const more = nextTrials(search.spec, values, summarizeSweep(current, r.steps)!, width, current.select?.mode === 'min');
    if (!more.length) break;
    values = [...values, ...more];
    const next = search.planFor(values);
    if (!next.plan) {
      // A drawn value the steps refuse (a param bound the space overlooks): the search stops there.
      status = 'failed';
      error = new Error(`trial ${values.length}: ${next.diagnostics.map((d) => formatDiagnostic(d)).join('; ')}`);
      break;
    }
    current = next.plan;
    keys = await computeKeys(current, keys);
  }
  const reason: unknown = opts.signal?.aborted ? opts.signal.reason : undefined;
  const endError = status === 'interrupted' && reason instanceof Interruption ? `interrupted by ${reason.by}` : error?.message;
  const { commit, dirty } = await git;
  await setRunGit(opts.store, id, commit, dirty);
  await endRun(opts.store, id, status, endError);
  const steps = current.nodes.map((n) => done.get(n.id)!).filter(Boolean);
  return { result: { runId: id, pipeline: plan.spec.name, status, durationMs: performance.now() - t0, steps, error, outputs: new Map() }, plan: current };
}

/**
 * The trials of the next round, `width` at most (none: the search is over). Without halving: new
 * trials from the sampler until `trials` were drawn. With halving (ASHA): first the promotions
 * the scores allow (src/evaluation/halving.ts), then new trials on the first rung while fewer than
 * `trials` were drawn; TPE models the first rung's scores, the one fidelity every trial has.
 */
function nextTrials(spec: PlanSearch['spec'], values: readonly TrialValues[], sweep: SweepResult, width: number, minimize: boolean): TrialValues[] {
  const { trials, seed, startup, space, method, halving } = spec;
  // The sampler minimises a loss; halving ranks by a score, higher better.
  const better = (score: number | undefined) => (score === undefined ? undefined : minimize ? -score : score);
  if (!halving) {
    if (values.length >= trials) return [];
    const history: Observation[] = sweep.variants.map((v) => ({ values: v.values, ...(v.score !== undefined ? { loss: -better(v.score)! } : {}) }));
    return suggest(space, history, Math.min(width, trials - values.length), { method, seed, startup });
  }
  const results: RungResult[] = sweep.variants.map((v) => ({ values: v.values, ...(v.score !== undefined ? { score: better(v.score) } : {}) }));
  const up = promotions(halving, results, width);
  const first = rungs(halving)[0];
  const onFirst = results.filter((r) => r.values[halving.param] === first);
  const fresh = Math.min(width - up.length, trials - onFirst.length);
  if (fresh <= 0) return up;
  const history: Observation[] = onFirst.map((r) => ({ values: configOf(r.values, halving.param), ...(r.score !== undefined ? { loss: -r.score } : {}) }));
  const drawn = suggest(space, history, fresh, { method, seed, startup });
  return [...up, ...drawn.map((v) => ({ ...v, [halving.param]: first }))];
}

/**
 * The overfitting statistics of a sweep's winner (src/evaluation/overfitting.ts): the daily net
 * returns of every variant's selection backtest (the `select` step, e.g. `report@val`), read from
 * the store, aligned by day; the deflated Sharpe of the selected one given them all, and PBO by CSCV.
 * Undefined when the selection step is no backtest or fewer than 2 variants have returns.
 */
export async function overfitOfSweep(store: Store, plan: Plan, steps: readonly StepOutcome[], sweep: SweepResult): Promise<SweepOverfit | undefined> {
  if (!plan.select || sweep.selected === undefined) return undefined;
  const outcome = new Map(steps.map((s) => [s.id, s]));
  const rows: { variant: number; index: Float64Array; net: Float64Array }[] = [];
  for (const n of plan.nodes) {
    if (n.step !== plan.select.step || n.def.output !== 'Report') continue;
    const o = outcome.get(n.id);
    if (!o || o.status !== 'ok') continue;
    const bytes = await store.getArtifactBytes(o.key);
    if (!bytes) continue;
    const rep = decodeArtifact<Report>(bytes);
    if (!rep.net) continue;
    for (const v of n.variants ?? []) rows.push({ variant: v, index: rep.index, net: rep.net });
  }
  rows.sort((a, b) => a.variant - b.variant);
  const at = rows.findIndex((r) => r.variant === sweep.selected);
  if (rows.length < 2 || at < 0) return undefined;
  const { days, series } = dailyAligned(rows);
  if (days.length < 4) return undefined;
  // Days with a bar per calendar year (≈ 260 for FX: five or six a week).
  const perYear = days.length / ((days[days.length - 1] - days[0] + 1) / 365.25);
  const stats = overfitStats(series, at, perYear);
  const segment = plan.select.on;
  return { ...stats, ...(segment ? { segment } : {}), line: overfitLine(stats, segment) };
}
