import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PlanNode } from '../compiler/index.js';
import type { ProgressReporter, StepEnd } from './progress.js';

/**
 * The live status of a run in progress, for readers outside the running process (`fxflow ui`):
 * DuckDB lets one process hold the store at a time, so a reader cannot ask the store while a run
 * writes it. runPipeline tees its progress events into a small JSON file per running run,
 * `<store>/live/<run id>.json` (written to a temporary name and renamed, so a reader never sees
 * half a file; at most one write per LIVE_WRITE_MS, plus the last), and removes it when the run
 * has been recorded. A file whose process is gone is stale (the run was killed; the next open
 * marks it interrupted).
 */

export const LIVE_DIR = 'live';
/** Fewest milliseconds between two writes of a run's file: a sweep of a thousand steps writes at most this often. */
const LIVE_WRITE_MS = 100;
/** Log lines kept in the file (the newest). */
const LIVE_LOGS = 50;

export type LiveState = 'waiting' | 'running' | 'ok' | 'failed' | 'skipped' | 'cancelled';

export interface LiveStep {
  id: string;
  kind: string;
  /** Input port → the node id it reads. */
  inputs: Record<string, string>;
  state: LiveState;
  cached: boolean;
  /** 0–1, from the step's own progress reports (epochs, folds, variants). */
  fraction?: number;
  message?: string;
  durationMs?: number;
  summary?: string;
  error?: string;
  /** Why a computed step missed the cache. */
  reason?: string;
}

export interface LiveRun {
  runId: string;
  pipeline: string;
  pid: number;
  /** Epoch ms. */
  startedAt: number;
  updatedAt: number;
  steps: LiveStep[];
  logs: { step: string; level: 'info' | 'warn'; message: string }[];
}

/** A ProgressReporter that passes every event on to `inner` and keeps the run's live file. */
export class LiveProgress implements ProgressReporter {
  private readonly file: string;
  private readonly run: LiveRun;
  private readonly byId = new Map<string, LiveStep>();
  private lastWrite = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    storeDir: string,
    runId: string,
    pipeline: string,
    nodes: readonly Pick<PlanNode, 'id' | 'kind' | 'inputs'>[],
    private readonly inner: ProgressReporter,
  ) {
    this.file = path.join(storeDir, LIVE_DIR, `${runId}.json`);
    const steps = nodes.map((n): LiveStep => ({ id: n.id, kind: n.kind, inputs: { ...n.inputs }, state: 'waiting', cached: false }));
    for (const s of steps) this.byId.set(s.id, s);
    this.run = { runId, pipeline, pid: process.pid, startedAt: Date.now(), updatedAt: Date.now(), steps, logs: [] };
  }

  /** Writes now if the last write is old enough, else once the interval has passed. */
  private changed(): void {
    if (this.closed || this.timer) return;
    const wait = this.lastWrite + LIVE_WRITE_MS - Date.now();
    if (wait <= 0) this.write();
    else this.timer = setTimeout(() => this.write(), wait);
  }

  private write(): void {
    this.timer = undefined;
    if (this.closed) return;
    this.lastWrite = Date.now();
    this.run.updatedAt = this.lastWrite;
    // The live view is a convenience: a failure to write it (a read-only or full disk) never fails the run.
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.run));
      renameSync(tmp, this.file);
    } catch {
      // ignored (see above)
    }
  }

  private step(id: string, patch: Partial<LiveStep>): void {
    const s = this.byId.get(id);
    if (s) Object.assign(s, patch);
    this.changed();
  }

  start(steps: { id: string; kind: string }[]): void {
    this.inner.start(steps);
    this.write();
  }

  stepStarted(id: string, info: { cached: boolean; reason?: string }): void {
    this.inner.stepStarted(id, info);
    this.step(id, { state: 'running', cached: info.cached, ...(info.reason ? { reason: info.reason } : {}) });
  }

  stepProgress(id: string, fraction: number, message?: string): void {
    this.inner.stepProgress(id, fraction, message);
    this.step(id, { fraction, ...(message !== undefined ? { message } : {}) });
  }

  stepLog(id: string, message: string, level: 'info' | 'warn'): void {
    this.inner.stepLog(id, message, level);
    this.run.logs.push({ step: id, level, message });
    if (this.run.logs.length > LIVE_LOGS) this.run.logs.splice(0, this.run.logs.length - LIVE_LOGS);
    this.changed();
  }

  stepFinished(id: string, end: StepEnd): void {
    this.inner.stepFinished(id, end);
    this.step(id, {
      state: end.status,
      cached: end.cached,
      durationMs: end.durationMs,
      ...(end.summary !== undefined ? { summary: end.summary } : {}),
      ...(end.error !== undefined ? { error: end.error } : {}),
    });
  }

  async finish(): Promise<void> {
    await this.inner.finish();
    if (this.timer) {
      clearTimeout(this.timer);
      this.write();
    }
  }

  /** Removes the file: called once the run's end is recorded in the store. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    rmSync(this.file, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live file of run `runId` whose process still runs; undefined when there is none (ended, never live, or stale). */
export function readLiveRun(storeDir: string, runId: string): LiveRun | undefined {
  if (!/^[\w.-]+$/.test(runId)) return undefined;
  try {
    const run = JSON.parse(readFileSync(path.join(storeDir, LIVE_DIR, `${runId}.json`), 'utf8')) as LiveRun;
    return alive(run.pid) ? run : undefined;
  } catch {
    return undefined;
  }
}

/** Every run in progress in the store (live file, process alive), newest first. */
export function readLiveRuns(storeDir: string): LiveRun[] {
  let names: string[];
  try {
    names = readdirSync(path.join(storeDir, LIVE_DIR)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names
    .map((n) => readLiveRun(storeDir, n.slice(0, -'.json'.length)))
    .filter((r): r is LiveRun => r !== undefined)
    .sort((a, b) => b.startedAt - a.startedAt);
}
