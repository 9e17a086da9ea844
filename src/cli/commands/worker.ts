import { mkdirSync } from 'node:fs';
import { RunError } from '../../core/diagnostics.js';
import { queueSettings } from '../../runtime/queue/connection.js';
import { parse, printUsage, UsageError, type Command, type Io } from '../common.js';

/** `--concurrency N` / `--lock-ms N`: a whole number ≥ 1. */
function positive(name: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} takes a whole number ≥ 1, got \`${value}\``);
  return n;
}

/** The queue and cache flags of `run --executor queue` and `worker` (or FXFLOW_QUEUE / FXFLOW_CACHE); missing or malformed: a usage error (exit 2). */
export function queueFlags(values: { queue?: string; cache?: string }): ReturnType<typeof queueSettings> {
  try {
    return queueSettings(values);
  } catch (e) {
    if (e instanceof RunError) throw new UsageError(e.hint ? `${e.message}: ${e.hint}` : e.message);
    throw e;
  }
}

async function cmdWorker(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, {
    queue: { type: 'string' },
    concurrency: { type: 'string' },
    threads: { type: 'string' },
    cache: { type: 'string' },
    'lock-ms': { type: 'string' },
  });
  if (values.help) return printUsage(workerCommand, io);
  const concurrency = positive('concurrency', values.concurrency, 1);
  const threads = values.threads === undefined ? undefined : positive('threads', values.threads, 1);
  const lockMs = positive('lock-ms', values['lock-ms'], 60_000);
  const { target, cacheDir } = queueFlags(values);
  mkdirSync(cacheDir, { recursive: true });
  const { startQueueWorker } = await import('../../runtime/queue/worker.js');
  const log = (line: string): void => void io.out.write(`${line}\n`);
  const worker = await startQueueWorker({ target, cacheDir, concurrency, threads, lockMs, log });
  log(`worker ${process.pid} ready · queue ${target.display} · cache ${cacheDir} · concurrency ${concurrency}`);
  // The first SIGINT/SIGTERM lets the running steps finish (no new job is taken); a second abandons
  // them: their locks lapse and BullMQ hands them to another worker.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    let first: NodeJS.Signals | undefined;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (first) {
        log('stopping now: running steps go back to the queue');
        void worker.close(true).then(() => resolve(first!));
        return;
      }
      first = sig;
      log(`${sig}: finishing the running steps (again to stop now)`);
      void worker.close().then(() => resolve(sig));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const sig = await stopped;
  log('worker stopped');
  return sig === 'SIGINT' ? 130 : 143;
}

export const workerCommand: Command = {
  usage: `Usage: fxflow worker --queue redis://HOST:6379/0 --cache DIR [--concurrency N] [--threads N] [--lock-ms N]

Takes step jobs of \`fxflow run --executor queue\` from a BullMQ queue on Redis, reads their inputs
from the shared artifact cache, runs each step with this fxflow's code and writes its output back.
  --queue URL        redis:// or rediss:// (TLS) URL, password included if any (default: FXFLOW_QUEUE);
                     ?queue=NAME&prefix=P pick a queue other than \`fxflow\`
  --cache DIR        the shared artifact folder every machine mounts (default: FXFLOW_CACHE)
  --concurrency N    steps run at once by this worker (default 1)
  --threads N        compute threads a step may use (gbm, random_forest; default: cores / concurrency;
                     give 1 when several workers share a machine's cores)
  --lock-ms N        a job's lock: a worker silent this long is taken for dead and its step is
                     retried on another (default 60000; steps compute in a child process, so a
                     long step keeps its lock; with FXFLOW_POOL=off it must exceed the longest)

SIGINT/SIGTERM: finish the running steps and stop; a second signal stops at once.`,
  run: cmdWorker,
};
