import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../core/hash.js';
import { VERSION } from '../version.js';
import { runRowWriter, stepRowsWriter } from './history.js';
import type { CachedPlan } from './plan-memo.js';
import type { ProgressReporter } from './progress.js';
import type { RunResult } from './run.js';
import { gitInfo, newRunId, stepRecordOf, type StepOutcome } from './run-record.js';
import { writeFileAtomic } from './artifact-files.js';
import { journalTx, sidecarHit, STORE_FILE, writeJournal, type JournalOp } from './store.js';

/**
 * A rerun whose every step is a cache hit, done without opening DuckDB (issue 18: loading its
 * binding, opening and closing the store cost a cached rerun most of its time). Each hit is
 * judged from the artifact's file and its sidecar (written once the catalogue row committed);
 * nothing is read. The run's history rows go to a journal file that the next open of the store
 * ingests, in one transaction, before anything reads the history (./store.ts), so `runs`,
 * `show`, `report`, `diff` and `gc` see the run. The HTML report is not drawn again: the one
 * drawn for the same step keys and pipeline text is named instead (reportIndexFile).
 *
 * It takes the plan as a CachedPlan: from the plan memo (./plan-memo.ts) when the pipeline is
 * unchanged, so such a rerun loads no parser and no step code either.
 *
 * Anything else — a miss, a matrix run, no report for these keys yet — takes the ordinary path.
 * A gc running meanwhile may remove an artifact this run counted as a hit: the run then records
 * a hit whose artifact is gone, as any earlier run's may be; nothing is read from it, and the
 * next run misses and recomputes it.
 */

/** Where the path of the HTML report drawn for these step keys and pipeline text is kept. */
export function reportIndexFile(storeDir: string, pipelineText: string, steps: readonly { id: string; key: string }[]): string {
  const id = sha256(`${sha256(pipelineText)}\n${steps.map((s) => `${s.id}=${s.key}`).join('\n')}`);
  return path.join(storeDir, 'reports', 'by-keys', id);
}

/** Records that the report at `reportPath` was drawn for these step keys and pipeline text. */
export function indexReport(storeDir: string, pipelineText: string, steps: readonly { id: string; key: string }[], reportPath: string): void {
  writeFileAtomic(reportIndexFile(storeDir, pipelineText, steps), [Buffer.from(reportPath)]);
}

export interface CachedRun {
  result: RunResult;
  reportPath?: string;
}

/**
 * Runs `plan` if every step is a hit (and, with `report`, a report for it exists), recording it in
 * the journal; undefined (nothing done, nothing shown) otherwise. `before` is called once it is
 * decided, before the progress starts.
 */
export async function runAllCached(
  plan: CachedPlan,
  opts: {
    storeDir: string;
    progress: ProgressReporter;
    report: boolean;
    /** The git state of the pipeline's folder, asked for early. */
    git?: ReturnType<typeof gitInfo>;
    before?: () => void;
  },
): Promise<CachedRun | undefined> {
  const { storeDir, progress } = opts;
  if (!existsSync(path.join(storeDir, STORE_FILE))) return undefined;
  const t0 = performance.now();
  const started = performance.timeOrigin + t0;
  const hits = new Map<string, NonNullable<ReturnType<typeof sidecarHit>>>();
  for (const n of plan.nodes) {
    const hit = n.key ? sidecarHit(storeDir, n.key) : undefined;
    if (!hit || hit.type !== n.output) return undefined;
    hits.set(n.id, hit);
  }
  const steps = plan.nodes.map((n) => ({ id: n.id, key: n.key }));
  let reportPath: string | undefined;
  if (opts.report && plan.nodes.some((n) => n.output === 'Report')) {
    try {
      reportPath = readFileSync(reportIndexFile(storeDir, plan.text, steps), 'utf8');
    } catch {
      return undefined;
    }
    if (!existsSync(reportPath)) return undefined;
  }
  const git = opts.git ?? gitInfo(plan.dir);
  opts.before?.();
  progress.start(plan.nodes.map((n) => ({ id: n.id, kind: n.kind })));
  const runId = newRunId();
  const ops: JournalOp[] = [];
  const tx = journalTx(ops);
  const outcomes: StepOutcome[] = [];
  for (const n of plan.nodes) {
    const ts = performance.now();
    const { meta } = hits.get(n.id)!;
    progress.stepStarted(n.id, { cached: true });
    const o: StepOutcome = {
      id: n.id,
      kind: n.kind,
      key: n.key,
      cached: true,
      status: 'ok',
      durationMs: performance.now() - ts,
      loadMs: 0,
      computeMs: 0,
      storeMs: 0,
      summary: meta.summary,
      metrics: meta.metrics,
      warnings: meta.warnings,
    };
    outcomes.push(o);
    await stepRowsWriter(stepRecordOf(runId, o, n.basis, performance.timeOrigin + ts))(tx);
    progress.stepFinished(n.id, o);
  }
  await progress.finish();
  const { commit, dirty } = await git;
  const run = {
    id: runId,
    pipeline: plan.name,
    file: plan.file,
    fileHash: sha256(plan.text),
    gitCommit: commit,
    gitDirty: dirty,
    seed: plan.seed,
    text: plan.text,
    version: VERSION,
    startedAt: started,
    endedAt: Date.now(),
    status: 'succeeded',
  };
  // The run's row first: ingest replays the statements in order.
  const rowOps: JournalOp[] = [];
  await runRowWriter(run)(journalTx(rowOps));
  writeJournal(storeDir, { id: runId, ops: [...rowOps, ...ops] });
  return {
    result: { runId, pipeline: plan.name, status: 'succeeded', durationMs: performance.now() - t0, steps: outcomes, outputs: new Map() },
    reportPath,
  };
}
