import path from 'node:path';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import type { Plan } from '../compiler/index.js';
import { DiagnosticError, RunError } from '../core/diagnostics.js';
import { computeKeys } from './keys.js';
import type { ProgressReporter } from './progress.js';
import { runPipeline, type PipelineRun, type PipelineRunOptions } from './pipeline-run.js';
import { Store } from './store.js';
import type { SourcePoll } from '../steps/define.js';
import { formatMs } from './progress.js';
import { startFollowing, stopFollowing } from '../steps/following.js';

/**
 * Watch mode: rerun a pipeline whenever the pipeline file, a plugin it loads or a data file a step
 * reads changes, or a table a step reads does (polled between runs: SourcePoll). Each cycle is an ordinary run, so the cache decides what recomputes. A file that
 * fails to parse shows its diagnostics and the watcher waits for the next save; a save while a run
 * is in flight aborts that run (steps see the AbortSignal, nothing half-done is stored) and starts
 * the new one. The store is opened per run and closed after, so other commands can use it between
 * runs.
 */

export type WatchEvent =
  | { type: 'change'; files: string[] }
  | { type: 'invalid'; error: DiagnosticError }
  | { type: 'failed'; error: Error }
  /** A finished run: the same outcome `fxflow run` prints (sweep leaderboard, report path). */
  | ({ type: 'run' } & PipelineRun)
  | { type: 'cancelled' }
  /** Between runs: the files watched, and the sources polled (a table: `postgres:market.candles`). */
  | { type: 'idle'; watching: string[]; polling: string[] };

export interface WatchOptions {
  storeDir: string;
  /** A fresh progress reporter per run. */
  progress: () => ProgressReporter;
  /** Everything the watcher has to say; the CLI prints it. */
  onEvent: (e: WatchEvent) => void;
  /** Quiet period after a change before rerunning (editors write in bursts). */
  debounceMs?: number;
  /** The core budget (`--jobs`); default all cores. */
  jobs?: number;
  /** As for runPipeline: given, each run with a backtest rewrites its HTML report. */
  writeReport?: PipelineRunOptions['writeReport'];
  /**
   * Reads, validates and compiles the pipeline (plugins imported), once per cycle: given by the
   * caller, since loading a plan is the library entry's job (src/pipeline.ts), above the runtime.
   */
  load: (file: string) => Promise<Plan>;
  /** Extend rather than recompute when a CSV file grows at its end (docs/incremental.md); default on. */
  follow?: boolean;
}

export interface Watcher {
  close(): Promise<void>;
  /** Resolves when the current cycle (if any) has finished. */
  settled(): Promise<void>;
}

/** The files a plan depends on outside the store: the pipeline, its plugins, the steps' data files. */
export async function watchedFiles(plan: Plan): Promise<string[]> {
  const dir = plan.spec.dir;
  const ctx = { pipelineDir: dir, resolvePath: (p: string) => path.resolve(dir, p) };
  const files = new Set<string>([plan.spec.file, ...(plan.pluginFiles ?? [])]);
  for (const n of plan.nodes) {
    if (!n.def.files) continue;
    try {
      for (const f of await n.def.files(n.params as never, ctx)) files.add(f);
    } catch {
      // A missing data file is reported by the run itself.
    }
  }
  return [...files];
}

/** A polled source with the token it had before the last run read it. */
interface Polled {
  poll: SourcePoll;
  token: string;
}

/** A source's token; an error is a token too (a table dropped, a server down: a change the next run reports). */
async function tokenOf(p: SourcePoll): Promise<string> {
  try {
    return await p.token();
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

/** The sources a plan reads beyond files, with their tokens now (before the run reads them, so no change after goes unseen). */
async function pollsOf(plan: Plan): Promise<Polled[]> {
  const polls = plan.nodes.flatMap((n) => n.def.poll?.(n.params as never) ?? []);
  return Promise.all(polls.map(async (poll) => ({ poll, token: await tokenOf(poll) })));
}

export async function watchPipeline(file: string, opts: WatchOptions): Promise<Watcher> {
  const abs = path.resolve(file);
  const debounceMs = opts.debounceMs ?? 50;
  let watched = new Set<string>([abs]);
  let controller: AbortController | undefined;
  let cycle: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let pending = new Set<string>();
  let closed = false;
  // Polling runs between cycles only: a cycle reads the sources itself.
  let polled: Polled[] = [];
  let pollTimers: NodeJS.Timeout[] = [];
  let pollGen = 0;
  const stopPolling = (): void => {
    for (const t of pollTimers) clearTimeout(t);
    pollTimers = [];
    pollGen++;
  };
  const startPolling = (): void => {
    stopPolling();
    const gen = pollGen;
    for (const p of polled) {
      const tick = async (): Promise<void> => {
        const token = await tokenOf(p.poll);
        if (gen !== pollGen || closed) return;
        if (token !== p.token) {
          stopPolling();
          pending.add(p.poll.label);
          schedule();
          return;
        }
        pollTimers.push(setTimeout(() => void tick(), p.poll.intervalMs));
      };
      pollTimers.push(setTimeout(() => void tick(), p.poll.intervalMs));
    }
  };

  const watcher: FSWatcher = chokidarWatch([abs], { ignoreInitial: true, atomic: true });
  // A data file that grew at its end extends the candles and features (docs/incremental.md).
  if (opts.follow !== false) startFollowing();

  const runOnce = async (): Promise<void> => {
    stopPolling();
    const ac = new AbortController();
    controller = ac;
    let plan: Plan | undefined;
    // Opening the store overlaps parsing; it is closed again whatever happens.
    const opening = Store.open(opts.storeDir, { waitMs: 10_000 });
    opening.catch(() => undefined);
    try {
      try {
        plan = await opts.load(abs);
        polled = await pollsOf(plan);
      } catch (e) {
        await opening.then((s) => s.close()).catch(() => undefined);
        throw e;
      }
      const keys = await computeKeys(plan).catch(async (e: unknown) => {
        await opening.then((s) => s.close()).catch(() => undefined);
        throw e;
      });
      const store = await opening;
      try {
        // The same runner as `fxflow run`: its pool, sweep recording and report.
        const outcome = await runPipeline(plan, { store, keys, progress: opts.progress(), signal: ac.signal, jobs: opts.jobs, writeReport: opts.writeReport });
        opts.onEvent(outcome.result.status === 'cancelled' ? { type: 'cancelled' } : { type: 'run', ...outcome });
      } finally {
        await store.close();
      }
    } catch (e) {
      if (e instanceof DiagnosticError) opts.onEvent({ type: 'invalid', error: e });
      else opts.onEvent({ type: 'failed', error: e instanceof Error ? e : new RunError(String(e)) });
    } finally {
      if (controller === ac) controller = undefined;
    }
    // Follow what the (last good) plan reads; keep watching the pipeline whatever happens.
    if (plan && !closed) {
      const next = new Set(await watchedFiles(plan));
      next.add(abs);
      const add = [...next].filter((f) => !watched.has(f));
      const remove = [...watched].filter((f) => !next.has(f));
      if (add.length) watcher.add(add);
      if (remove.length) watcher.unwatch(remove);
      watched = next;
    }
    if (!closed && !ac.signal.aborted) {
      startPolling();
      opts.onEvent({ type: 'idle', watching: [...watched], polling: polled.map((p) => `${p.poll.label} every ${formatMs(p.poll.intervalMs)}`) });
    }
  };

  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      const files = [...pending];
      pending = new Set();
      opts.onEvent({ type: 'change', files });
      controller?.abort(); // the run in flight ends as cancelled; the next one starts after it
      cycle = cycle.then(runOnce);
    }, debounceMs);
  };

  watcher.on('all', (_event, changed) => {
    if (closed) return;
    pending.add(path.resolve(changed));
    schedule();
  });
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  cycle = runOnce();

  return {
    async close() {
      closed = true;
      stopPolling();
      if (timer) clearTimeout(timer);
      controller?.abort();
      await cycle.catch(() => undefined);
      await watcher.close();
      if (opts.follow !== false) stopFollowing();
    },
    settled: () => cycle,
  };
}
