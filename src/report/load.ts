import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Report } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { decodeArtifact } from '../runtime/codec.js';
import { loadOverfit, loadVariants, newestRunWithArtifact, nodeVariants, resolveRun, runSteps } from '../runtime/history.js';
import type { Store } from '../runtime/store.js';
import { renderReport, type ReportInput, type ReportStepInfo } from './html.js';

/** Reads what a run's report needs from the store: the run, its steps, and the Report artifact. */

/**
 * The report input of run `ref` (a run reference as every command reads it: an id, a unique
 * prefix of one, `latest` or `latest~N`). `stepId` picks the backtest step when the run has several.
 */
export async function loadReportInput(store: Store, ref: string, stepId?: string): Promise<ReportInput> {
  const run = await resolveRun(store, ref);
  const runId = run.id;
  const stepRows = await runSteps(store, runId);
  const infos = await store.artifactInfos([...new Set(stepRows.map((s) => s.key))]);
  const steps: ReportStepInfo[] = stepRows.map((s) => ({
    id: s.nodeId,
    kind: s.kind,
    cached: s.cached,
    status: s.status,
    summary: s.summary ?? undefined,
    warnings: s.warnings,
    params: s.params,
  }));
  const reports = stepRows.filter((s) => infos.get(s.key)?.type === 'Report' && s.status === 'ok');
  if (!reports.length) {
    // `latest` is the newest run, whatever it ran (one rule for every command): name the run that has a report.
    const other = ref.startsWith('latest') ? await newestRunWithArtifact(store, 'Report') : undefined;
    throw new RunError(`run ${runId} (${run.pipeline}) has no backtest report`, {
      hint: other
        ? `the newest run with one is ${other.id} (${other.pipeline}): fxflow report ${other.id}`
        : ref.startsWith('latest')
          ? 'no run in this store has one: run a pipeline with a `backtest` step first, e.g. fxflow run pipelines/quickstart.yaml'
          : `its steps: ${steps.map((s) => `${s.id} (${s.kind}, ${s.status})`).join(', ') || 'none'}`,
    });
  }
  reports.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  // A sweep with a winner: its backtest on the segment the leaderboard reports (not the selection copy `…@val`).
  const overfit = await loadOverfit(store, runId);
  const winner = overfit && stepId === undefined ? await winnerReport(store, runId, reports) : undefined;
  const chosen = stepId === undefined ? (winner ?? reports[0]) : reports.find((s) => s.nodeId === stepId);
  if (!chosen) throw new RunError(`run ${runId} has no backtest step \`${stepId}\``, { hint: `its reports: ${reports.map((s) => s.nodeId).join(', ')}` });
  const bytes = await store.getArtifactBytes(chosen.key);
  if (!bytes) throw new RunError(`the report of step ${chosen.nodeId} is missing from the store (or corrupt)`, { hint: 'rerun the pipeline to recompute it' });
  const report = decodeArtifact<Report>(bytes);
  return {
    run: {
      id: runId,
      pipeline: run.pipeline,
      file: run.file,
      status: run.status,
      startedAt: run.startedAt.slice(0, 19),
      endedAt: run.endedAt ? run.endedAt.slice(0, 19) : undefined,
      gitCommit: run.gitCommit,
      pipelineText: run.text,
    },
    steps,
    stepId: chosen.nodeId,
    report,
    otherReports: reports.filter((s) => s !== chosen).map((s) => s.nodeId),
    ...(overfit ? { overfit } : {}),
  };
}

async function winnerReport<T extends { nodeId: string; step: string }>(store: Store, runId: string, reports: T[]): Promise<T | undefined> {
  const selected = (await loadVariants(store, runId)).find((v) => v.selected)?.index;
  if (selected === undefined) return undefined;
  const uses = await nodeVariants(store, runId);
  return reports.find((s) => !s.step.includes('@') && uses.get(s.nodeId)?.includes(selected));
}

/** Where a run's report goes by default: <store>/reports/<run id>.html. */
export function defaultReportPath(storeDir: string, runId: string): string {
  return path.join(storeDir, 'reports', `${runId}.html`);
}

/** Renders run `ref`'s report into `out` (default: the store's reports folder); returns the path and the input. */
export async function writeRunReport(store: Store, ref: string, opts: { out?: string; stepId?: string } = {}): Promise<{ path: string; input: ReportInput }> {
  const input = await loadReportInput(store, ref, opts.stepId);
  const out = path.resolve(opts.out ?? defaultReportPath(store.dir, input.run.id));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, renderReport(input));
  return { path: out, input };
}
