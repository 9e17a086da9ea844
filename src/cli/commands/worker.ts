import { mkdirSync } from 'node:fs';
import { RunError } from '../../core/diagnostics.js';
import { queueSettings } from '../../runtime/queue/connection.js';
import type { QueueWorkerStop } from '../../runtime/queue/worker.js';
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
  const stopped = new Promise<{ sig: NodeJS.Signals; stop: QueueWorkerStop }>((resolve) => {
    let first: NodeJS.Signals | undefined;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (first) {
        log('stopping now: running steps go back to the queue');
        void worker.close(true).then((stop) => resolve({ sig: first!, stop }));
        return;
      }
      first = sig;
      log(`${sig}: finishing the running steps (again to stop now)`);
      void worker.close().then((stop) => resolve({ sig, stop }));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const { sig, stop } = await stopped;
  const queue = `the queue at ${target.display}`;
  if (stop.unreachable) io.err.write(`fxflow worker: ${queue} is unreachable: stopping without it\n`);
  else if (!stop.clean && !stop.abandoned.length) io.err.write(`fxflow worker: ${queue} did not close within --lock-ms (${lockMs} ms): stopping without it\n`);
  if (stop.unreported.length)
    io.err.write(
      `fxflow worker: ${stop.unreported.length} finished step(s) not reported to the queue: ${stop.unreported.join(', ')}\n` +
        '  their outputs are in the shared cache: once their locks lapse the queue hands them out again, and they are taken from the cache, not computed again\n',
    );
  log('worker stopped');
  const code = stop.unreported.length ? 1 : sig === 'SIGINT' ? 130 : 143;
  // BullMQ's connections and timers are still up after a close that did not complete (the queue
  // unreachable, or a forced stop): they would keep the process alive.
  if (!stop.clean) process.exit(code);
  return code;
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

SIGINT/SIGTERM: finish the running steps and stop; a second signal stops at once. With the queue
unreachable, the finished steps' results wait for it at most --lock-ms; if it is still away the
worker says which were not reported (their outputs are in the shared cache) and exits 1.`,
  run: cmdWorker,
};
