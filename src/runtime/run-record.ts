import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StepRecord } from './history.js';
import { flattenParams, type KeyBasis } from './keys.js';
import type { StepStatus } from './progress.js';

/**
 * A step's outcome and the run's record of it: what the scheduler (./run.ts) and a fully cached
 * rerun (./cached-run.ts) both write. Kept apart from the scheduler, whose imports reach every
 * step kind, so a cached rerun records its run without loading them (issue 18).
 */

export interface StepOutcome {
  id: string;
  kind: string;
  key: string;
  cached: boolean;
  status: StepStatus;
  /**
   * Wall time of the step in this run: for a computed step, reading its inputs plus its work
   * (`loadMs + computeMs`), not the storing of its output; for a hit, the lookup (and, for an
   * output the caller needs, reading and checking it).
   */
  durationMs: number;
  /** Wall time waiting for its inputs (from memory, or read and decoded from the store); 0 for a hit. */
  loadMs: number;
  /** Wall time of the step's own work (in a worker: including sending inputs and receiving the output); 0 for a hit. */
  computeMs: number;
  /** Wall time encoding its output and writing it to the store (checksum, transaction, history row); 0 for a hit. */
  storeMs: number;
  summary?: string;
  error?: string;
  /** Why a computed step missed the cache. */
  reason?: string;
  warnings: string[];
  metrics: Record<string, number>;
}

export function newRunId(now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${ts}-${randomBytes(3).toString('hex')}`;
}

const execFileP = promisify(execFile);
function insideGitTree(dir: string): boolean {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git'))) return true;
    if (path.dirname(d) === d) return false;
  }
}

/** The commit checked out in `dir` and whether the work tree differs from it (untracked files included): one `git` spawn. */
export async function gitInfo(dir: string): Promise<{ commit: string | null; dirty: boolean | null }> {
  // Outside a work tree git would only fail: its spawn (≈ 20–50 ms of this thread) is skipped.
  if (!insideGitTree(dir) && !process.env.GIT_DIR) return { commit: null, dirty: null };
  try {
    const { stdout } = await execFileP('git', ['status', '--porcelain=v2', '--branch'], { cwd: dir });
    const lines = stdout.split('\n').filter(Boolean);
    const oid = lines.find((l) => l.startsWith('# branch.oid '))?.slice('# branch.oid '.length);
    return { commit: oid && oid !== '(initial)' ? oid : null, dirty: lines.some((l) => !l.startsWith('#')) };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** A step's outcome in run `runId` as its history rows (./history.ts). */
export function stepRecordOf(runId: string, o: StepOutcome, basis: KeyBasis, started: number): StepRecord {
  return {
    run: {
      runId,
      stepId: o.id,
      kind: o.kind,
      key: o.key,
      cached: o.cached,
      startedAt: started,
      durationMs: o.durationMs,
      status: o.status,
      error: o.error,
      params: basis.params,
      inputs: basis.inputs,
      fingerprint: basis.fingerprint,
      stepVersion: basis.version,
      seed: basis.seed,
      summary: o.summary,
      warnings: o.warnings,
    },
    flatParams: flattenParams(basis.params),
    metrics: o.metrics,
  };
}
