import path from 'node:path';
import { formatMs, PlainProgress, ListrProgress, type ProgressReporter } from '../../runtime/progress.js';
import { loadPlan } from '../../pipeline.js';
import { watchPipeline, type WatchEvent } from '../../runtime/watch.js';
import { writeRunReport } from '../../report/load.js';
import {
  DEVICE_OPTION,
  deviceOf,
  displayDir,
  needFile,
  parse,
  printDiagnostics,
  printRunError,
  printUsage,
  storeDir,
  UsageError,
  type Command,
  type Io,
} from '../common.js';
import { styleFor } from '../format.js';
import { jobsFlag, printRunSummary } from './run.js';

/** The flags of every command that watches a pipeline (`watch`, `replay`). */
export const WATCH_FLAGS = { jobs: { type: 'string' }, debounce: { type: 'string' }, ...DEVICE_OPTION } as const;

/**
 * What `watch` and `replay` share: the watcher over the pipeline (its runs, the data files it
 * follows), until SIGINT or SIGTERM, or `stop` — or, with `once`, until its first run has finished.
 */
export async function watchUntilStopped(
  file: string,
  values: { jobs?: string; debounce?: string; device?: string; store?: string },
  on: { progress: () => ProgressReporter; onEvent: (e: WatchEvent) => void; once?: boolean; stop?: Promise<void> },
): Promise<void> {
  const debounce = values.debounce === undefined ? 50 : Number(values.debounce);
  if (!Number.isFinite(debounce) || debounce < 0) throw new UsageError(`--debounce takes milliseconds ≥ 0, got \`${values.debounce}\``);
  const watcher = await watchPipeline(file, {
    storeDir: storeDir(values.store),
    debounceMs: debounce,
    jobs: jobsFlag(values.jobs),
    writeReport: writeRunReport,
    load: (f) => loadPlan(f, undefined, { device: deviceOf(values.device), execute: true }),
    progress: on.progress,
    onEvent: on.onEvent,
    follow: !on.once,
  });
  if (on.once) await watcher.settled();
  else
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      on.stop?.then(stop);
    });
  await watcher.close();
}

async function cmdWatch(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, WATCH_FLAGS);
  if (values.help) return printUsage(watchCommand, io);
  const file = needFile(positionals, 'watch');
  const style = styleFor(io.out);
  const tty = io.out.isTTY && !process.env.CI;
  io.out.write(`${style.bold('fxflow')} watch ${file} · store ${displayDir(storeDir(values.store))} · Ctrl-C to stop\n`);
  let started = 0;
  await watchUntilStopped(file, values, {
    progress: () => (tty ? new ListrProgress() : new PlainProgress(io.out)),
    onEvent: (e) => {
      switch (e.type) {
        case 'change':
          started = performance.now();
          io.out.write(`\n${style.cyan('changed')}: ${e.files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}\n`);
          break;
        case 'invalid':
          printDiagnostics(e.error, io);
          io.out.write(`${style.yellow('not run')}: fix the file and save\n`);
          break;
        case 'failed':
          printRunError(e.error, io);
          break;
        case 'cancelled':
          io.out.write(`${style.yellow('cancelled')}: a newer save replaced this run\n`);
          break;
        case 'run':
          if (e.reportError) io.err.write(`could not write the HTML report: ${e.reportError.message}\n`);
          printRunSummary(e.result, io, style, e.sweep, e.reportPath);
          if (e.result.status === 'failed' && e.result.error) printRunError(e.result.error, io);
          break;
        case 'idle': {
          const took = started ? ` (${formatMs(performance.now() - started)} after the save)` : '';
          const polling = e.polling.length ? `, polling ${e.polling.join(', ')}` : '';
          io.out.write(`${style.dim(`watching ${e.watching.length} file${e.watching.length === 1 ? '' : 's'}${polling} for changes${took}…`)}\n`);
          break;
        }
      }
    },
  });
  io.out.write('stopped watching\n');
  return 0;
}

export const watchCommand: Command = {
  usage: `Usage: fxflow watch FILE [--debounce MS] [--jobs N] [--device auto|gpu|cpu] [--store DIR]

Runs the pipeline, then reruns it whenever the pipeline file, a plugin it loads or a data file a
step reads changes, or a PostgreSQL table it reads gains or changes rows (polled every \`poll:\` of
the fetch step, default 5s). Only what the edit invalidated recomputes; each recomputed step says why. A
file that does not parse shows its errors and the watcher waits for the next save; a save during
a run cancels that run and starts the new one. The store is free between runs, so \`fxflow runs\`
works from another terminal.
  --debounce MS   quiet period after a change before rerunning (default 50)
  --jobs N        cores to use (default: all), as for \`fxflow run\`
  --device D      where neural models train unless their step sets \`device:\`
A CSV data file that grows at its end is followed: its new bars extend the candles, features,
predictions and replays instead of recomputing them (\`fxflow replay --follow\` prints a replay's
new bars alone).
Executes the pipeline's plugins (TypeScript, run with your rights): use it on pipelines you trust.`,
  run: cmdWatch,
};
