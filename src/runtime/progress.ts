import type { DefaultRenderer, ListrTaskWrapper, SimpleRenderer } from 'listr2';
import { escapeControl } from '../core/diagnostics.js';

type Task = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

/**
 * What the user sees while a plan runs. The scheduler reports events; a renderer shows them:
 * listr2 on a terminal (a live line per step), plain timestamped lines otherwise (CI logs, pipes),
 * or nothing. The scheduler never depends on which.
 */

export type StepStatus = 'ok' | 'failed' | 'skipped' | 'cancelled';

export interface StepEnd {
  status: StepStatus;
  cached: boolean;
  durationMs: number;
  summary?: string;
  error?: string;
  /** Why the step was computed rather than read from the cache. */
  reason?: string;
}

export interface ProgressReporter {
  start(steps: { id: string; kind: string }[]): void;
  stepStarted(id: string, info: { cached: boolean; reason?: string }): void;
  stepProgress(id: string, fraction: number, message?: string): void;
  stepLog(id: string, message: string, level: 'info' | 'warn'): void;
  stepFinished(id: string, end: StepEnd): void;
  /** Waits until the renderer has drawn its last frame. */
  finish(): Promise<void>;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export class SilentProgress implements ProgressReporter {
  start(): void {}
  stepStarted(): void {}
  stepProgress(): void {}
  stepLog(): void {}
  stepFinished(): void {}
  async finish(): Promise<void> {}
}

const PLAIN_PROGRESS_EVERY_MS = 5000;

/** Line-by-line output for logs: one line when a step starts computing, one when it ends. */
export class PlainProgress implements ProgressReporter {
  private width = 8;
  private kinds = new Map<string, string>();
  private lastProgress = new Map<string, number>();
  private started = new Map<string, number>();
  constructor(private readonly out: NodeJS.WritableStream) {}

  private line(s: string): void {
    // Step messages may quote a data file (a CSV cell): no control character reaches the terminal.
    this.out.write(`${escapeControl(s)}\n`);
  }

  private label(id: string): string {
    return `${id.padEnd(this.width)} ${`(${this.kinds.get(id) ?? ''})`.padEnd(12)}`;
  }

  start(steps: { id: string; kind: string }[]): void {
    this.width = Math.max(8, ...steps.map((s) => s.id.length));
    for (const s of steps) this.kinds.set(s.id, s.kind);
  }

  stepStarted(id: string, info: { cached: boolean; reason?: string }): void {
    this.started.set(id, Date.now());
    if (!info.cached) this.line(`  ▸ ${this.label(id)} running${info.reason ? ` — ${info.reason}` : ''}`);
  }

  stepProgress(id: string, fraction: number, message?: string): void {
    // Logs get a progress line only for long steps: at most one per step every few seconds.
    const now = Date.now();
    const last = this.lastProgress.get(id) ?? this.started.get(id) ?? now;
    if (now - last < PLAIN_PROGRESS_EVERY_MS) return;
    this.lastProgress.set(id, now);
    this.line(`    ${this.label(id)} ${Math.round(fraction * 100)}%${message ? ` ${message}` : ''}`);
  }

  stepLog(id: string, message: string, level: 'info' | 'warn'): void {
    this.line(`    ${this.label(id)} ${level === 'warn' ? 'warning: ' : ''}${message}`);
  }

  stepFinished(id: string, end: StepEnd): void {
    const mark = { ok: '✓', failed: '✗', skipped: '-', cancelled: '⊘' }[end.status];
    const state =
      end.status === 'ok'
        ? end.cached
          ? 'cached  '
          : 'computed'
        : end.status === 'skipped'
          ? 'skipped '
          : end.status === 'cancelled'
            ? 'cancelled'
            : 'FAILED  ';
    const dur = end.status === 'skipped' ? '' : formatMs(end.durationMs).padStart(8);
    const tail = end.error ?? end.summary ?? '';
    this.line(`  ${mark} ${this.label(id)} ${state} ${dur}  ${tail}`.trimEnd());
  }

  async finish(): Promise<void> {}
}

interface Deferred {
  promise: Promise<StepEnd>;
  resolve: (e: StepEnd) => void;
}

/** A live listr2 view on a terminal: one line per step with its state, progress and outcome. */
export class ListrProgress implements ProgressReporter {
  private readonly ends = new Map<string, Deferred>();
  private readonly tasks = new Map<string, Task>();
  private readonly pending = new Map<string, { title?: string; output?: string }>();
  private running?: Promise<unknown>;

  start(steps: { id: string; kind: string }[]): void {
    const width = Math.max(8, ...steps.map((s) => s.id.length));
    const label = (id: string, kind: string): string => `${id.padEnd(width)} ${`(${kind})`.padEnd(12)}`;
    for (const s of steps) {
      let resolve!: (e: StepEnd) => void;
      const promise = new Promise<StepEnd>((r) => (resolve = r));
      this.ends.set(s.id, { promise, resolve });
    }
    // listr2 is imported here, on a terminal run only: every CLI command imports this module.
    const tasks = steps.map((s) => ({
      title: `${label(s.id, s.kind)} waiting`,
      task: async (_ctx: unknown, task: Task) => {
        this.tasks.set(s.id, task);
        const p = this.pending.get(s.id);
        if (p?.title) task.title = escapeControl(p.title);
        if (p?.output) task.output = escapeControl(p.output);
        const end = await this.ends.get(s.id)!.promise;
        const base = label(s.id, s.kind);
        if (end.status === 'skipped') {
          task.skip(escapeControl(`${base} skipped: ${end.error ?? 'an input failed'}`));
          return;
        }
        const what = end.cached ? 'cached' : end.status === 'cancelled' ? 'cancelled' : 'computed';
        task.title = escapeControl(`${base} ${what.padEnd(8)} ${formatMs(end.durationMs).padStart(8)}  ${end.summary ?? ''}`.trimEnd());
        if (end.status === 'failed' || end.status === 'cancelled') throw new Error(escapeControl(`${base} ${end.error ?? end.status}`));
      },
    }));
    this.running = import('listr2')
      .then(({ Listr }) =>
        new Listr(tasks, {
          concurrent: true,
          exitOnError: false,
          registerSignalListeners: false,
          rendererOptions: { collapseErrors: false, showErrorMessage: true },
        }).run(),
      )
      .catch(() => undefined);
  }

  private update(id: string, patch: { title?: string; output?: string }): void {
    const task = this.tasks.get(id);
    if (task) {
      if (patch.title !== undefined) task.title = escapeControl(patch.title);
      if (patch.output !== undefined) task.output = escapeControl(patch.output);
    } else {
      this.pending.set(id, { ...this.pending.get(id), ...patch });
    }
  }

  stepStarted(id: string, info: { cached: boolean; reason?: string }): void {
    this.update(id, { output: info.cached ? 'reading cache' : `running${info.reason ? ` — ${info.reason}` : ''}` });
  }

  stepProgress(id: string, fraction: number, message?: string): void {
    this.update(id, { output: `${Math.round(fraction * 100)}%${message ? ` ${message}` : ''}` });
  }

  stepLog(id: string, message: string, level: 'info' | 'warn'): void {
    this.update(id, { output: `${level === 'warn' ? 'warning: ' : ''}${message}` });
  }

  stepFinished(id: string, end: StepEnd): void {
    this.ends.get(id)?.resolve(end);
  }

  async finish(): Promise<void> {
    await this.running;
  }
}
