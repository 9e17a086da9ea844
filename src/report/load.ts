import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Report } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { decodeArtifact } from '../runtime/codec.js';
import type { Store } from '../runtime/store.js';
import { renderReport, type ReportInput, type ReportStepInfo } from './html.js';

/** Reads what a run's report needs from the store: the run, its steps, and the Report artifact. */

const parseJson = (v: unknown): unknown => {
  if (v === null || v === undefined) return undefined;
  try {
    return JSON.parse(String(v));
  } catch {
    return undefined;
  }
};

/**
 * The report input of run `ref` (a run id, an unambiguous prefix of one, or `latest`: the newest
 * run with a Report). `stepId` picks the backtest step when the run has several.
 */
export async function loadReportInput(store: Store, ref: string, stepId?: string): Promise<ReportInput> {
  let runRow: Record<string, unknown> | undefined;
  const cols = `r.id, r.pipeline, r.file, r.status, CAST(r.started_at AS VARCHAR) AS started_at, CAST(r.ended_at AS VARCHAR) AS ended_at, r.git_commit, r.pipeline_text`;
  if (ref === 'latest') {
    const rows = await store.query(
      `SELECT ${cols} FROM runs r WHERE EXISTS (SELECT 1 FROM step_runs s JOIN artifacts a ON a.key = s.key WHERE s.run_id = r.id AND a.type = 'Report' AND s.status = 'ok')
       ORDER BY r.started_at DESC, r.id DESC LIMIT 1`,
    );
    runRow = rows[0];
    if (!runRow) throw new RunError('no run with a backtest report in this store yet', { hint: 'run a pipeline with a `backtest` step first: fxflow run pipelines/quickstart.yaml' });
  } else {
    const rows = await store.query(`SELECT ${cols} FROM runs r WHERE r.id = $1 OR starts_with(r.id, $1) ORDER BY r.id LIMIT 3`, [ref]);
    const exact = rows.find((r) => r.id === ref);
    if (exact) runRow = exact;
    else if (rows.length === 1) runRow = rows[0];
    else if (rows.length > 1) throw new RunError(`run id \`${ref}\` is ambiguous: ${rows.map((r) => String(r.id)).join(', ')}…`, { hint: 'give more of the id' });
    else throw new RunError(`no run \`${ref}\` in this store`, { hint: '`fxflow runs` lists the runs; `latest` picks the newest' });
  }
  const runId = String(runRow.id);
  const stepRows = await store.query(
    `SELECT s.step_id, s.kind, s.key, s.cached, s.status, s.summary, s.warnings, s.params, a.type AS type
     FROM step_runs s LEFT JOIN artifacts a ON a.key = s.key WHERE s.run_id = $1 ORDER BY s.started_at, s.step_id`,
    [runId],
  );
  const steps: ReportStepInfo[] = stepRows.map((s) => ({
    id: String(s.step_id),
    kind: String(s.kind),
    cached: Boolean(s.cached),
    status: String(s.status),
    summary: s.summary === null || s.summary === undefined ? undefined : String(s.summary),
    warnings: (parseJson(s.warnings) as string[] | undefined) ?? [],
    params: parseJson(s.params),
  }));
  const reports = stepRows.filter((s) => s.type === 'Report' && s.status === 'ok');
  if (!reports.length) {
    throw new RunError(`run ${runId} has no backtest report`, { hint: `its steps: ${steps.map((s) => `${s.id} (${s.kind}, ${s.status})`).join(', ') || 'none'}` });
  }
  reports.sort((a, b) => String(a.step_id).localeCompare(String(b.step_id)));
  const chosen = stepId === undefined ? reports[0] : reports.find((s) => s.step_id === stepId);
  if (!chosen) throw new RunError(`run ${runId} has no backtest step \`${stepId}\``, { hint: `its reports: ${reports.map((s) => String(s.step_id)).join(', ')}` });
  const bytes = await store.getArtifactBytes(String(chosen.key));
  if (!bytes) throw new RunError(`the report of step ${String(chosen.step_id)} is missing from the store (or corrupt)`, { hint: 'rerun the pipeline to recompute it' });
  const report = decodeArtifact<Report>(bytes);
  return {
    run: {
      id: runId,
      pipeline: String(runRow.pipeline),
      file: String(runRow.file),
      status: String(runRow.status),
      startedAt: String(runRow.started_at).slice(0, 19),
      endedAt: runRow.ended_at ? String(runRow.ended_at).slice(0, 19) : undefined,
      gitCommit: (runRow.git_commit as string | null) ?? null,
      pipelineText: String(runRow.pipeline_text ?? ''),
    },
    steps,
    stepId: String(chosen.step_id),
    report,
    otherReports: reports.filter((s) => s !== chosen).map((s) => String(s.step_id)),
  };
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
