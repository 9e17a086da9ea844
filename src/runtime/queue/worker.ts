import { availableParallelism, hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import { RunError } from '../../core/diagnostics.js';
import { makeStepContext, type AnyStepDef } from '../../steps/define.js';
import { BUILTIN_STEPS } from '../../steps/index.js';
import { VERSION } from '../../version.js';
import { decodeArtifact, encodeArtifactParts } from '../codec.js';
import { stepProcess, type Executor } from '../pool/pool.js';
import { keepRecent, type TaskInput, type WorkerReply } from '../pool/protocol.js';
import { ArtifactCache } from './cache.js';
import { checkReachable, scrub, type QueueTarget } from './connection.js';
import { ERROR_MARK, release, released, type StepError, type StepJob, type StepJobResult } from './protocol.js';

/**
 * A queue worker (`fxflow worker`): a BullMQ Worker taking step jobs, reading their inputs from
 * the shared cache by key, running the step with the built-in registry's code in a step process
 * of the local pool's kind (so the result is bit-identical to a local run), writing the output to the cache, and
 * returning its warnings and timings. Retries of a stalled job (its worker died: the lock lapsed)
 * are BullMQ's: no queue logic of our own.
 */

export interface QueueWorkerOptions {
  target: QueueTarget;
  cacheDir: string;
  concurrency: number;
  /** Compute threads each step may use (StepContext.threads); default: the cores / concurrency. */
  threads?: number;
  /** How long a job's lock lasts without renewal, and how often stalled jobs are looked for (ms). */
  lockMs: number;
  /** One line per job started, finished or failed. */
  log: (line: string) => void;
}

/** How a worker stopped: what `close` could not hand back to the queue. */
export interface QueueWorkerStop {
  /**
   * BullMQ's close completed. When false (the queue unreachable, or a forced stop) its connections
   * and timers are left as they are and the caller must end the process.
   */
  clean: boolean;
  /** Steps that finished, their outputs in the shared cache, whose results the queue never took. */
  unreported: string[];
  /** Steps abandoned while running (a forced stop): their jobs go back to the queue when their locks lapse. */
  abandoned: string[];
  /** The queue's connection was down when the worker gave up on it. */
  unreachable: boolean;
}

export interface QueueWorker {
  /**
   * Stops taking jobs and waits for the running ones and their reports: while the queue is
   * unreachable, for at most `lockMs` after the last step finished (by then its lock has lapsed
   * and the job is another worker's anyway). `force`: abandons them at once.
   */
  close(force?: boolean): Promise<QueueWorkerStop>;
}

const byKind = new Map(BUILTIN_STEPS.map((d) => [d.kind, d] as const));

function stepFailure(e: unknown): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  const info: StepError = { name: err.name, message: err.message, ...((err as RunError).hint ? { hint: (err as RunError).hint } : {}) };
  return new Error(`${ERROR_MARK}${JSON.stringify(info)}`);
}

/** A step process (../pool/pool.ts's stepProcess) and the input artifacts it holds decoded, oldest first. */
interface Child {
  proc: Executor;
  held: number[];
}

export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const { Worker: BullWorker, UnrecoverableError } = await import('bullmq');
  await checkReachable(opts.target);
  const cache = new ArtifactCache(opts.cacheDir);
  /**
   * Steps run in step processes of the local pool's kind (one per concurrent job, kept between
   * jobs): the same code, V8 flags and malloc settings as a local run's pool, and this process's
   * event loop stays free to renew the job's lock while a step computes synchronously. Where the
   * pool would not run (FXFLOW_POOL=off), steps run in this process.
   */
  const idle: Child[] = [];
  const children = new Set<Child>();
  /** Input keys as the step processes' artifact ids (they hold the last few decoded, as a pool worker does). */
  const artifactIds = new Map<string, number>();
  /**
   * In-process only: the last inputs read, decoded (a sweep's variants all read one dataset): a key
   * is the address of its content, so a held value is always the cache's.
   */
  const decoded: { key: string; value: unknown }[] = [];
  const me = `${hostname()}:${process.pid}`;
  const threads = opts.threads ?? Math.max(1, Math.floor(availableParallelism() / opts.concurrency));
  const holdDir = process.env.FXFLOW_WORKER_HOLD;
  // Benchmarks only (FXFLOW_WORKER_DELAY_MS): each step takes this much longer, as a slower step on
  // a machine of its own would, so that scaling with workers can be measured on one machine.
  const delayMs = Number(process.env.FXFLOW_WORKER_DELAY_MS ?? 0) || 0;

  const missing = (d: StepJob, port: string, key: string): Error =>
    new UnrecoverableError(
      stepFailure(
        new RunError(`input \`${port}\` of step \`${d.stepId}\` (key ${key.slice(0, 12)}) is not in the shared cache ${opts.cacheDir} of worker ${me}`, {
          hint: 'the coordinator and every worker must name the same shared folder with --cache (FXFLOW_CACHE)',
        }),
      ).message,
    );

  const spawnChild = (): Child | undefined => {
    const proc = stepProcess();
    if (!proc) return undefined;
    const c = { proc, held: [] };
    children.add(c);
    return c;
  };

  /** Runs the step in a step process: its inputs as the cache's bytes (unless it holds them), its output as bytes. */
  const inChild = async (job: Job<StepJob, StepJobResult>, warnings: string[], ready: () => Promise<void>): Promise<Uint8Array[]> => {
    const d = job.data;
    const child = idle.pop() ?? spawnChild()!;
    const inputs: Record<string, TaskInput> = {};
    const held = [...child.held];
    for (const [port, key] of Object.entries(d.inputs)) {
      let artifact = artifactIds.get(key);
      if (artifact === undefined) artifactIds.set(key, (artifact = artifactIds.size + 1));
      if (held.includes(artifact)) inputs[port] = { artifact };
      else {
        const hit = cache.get(key);
        if (!hit) {
          idle.push(child);
          throw missing(d, port, key);
        }
        inputs[port] = { artifact, bytes: hit.bytes };
      }
      // The step process keeps the last artifacts it was sent, in this order.
      keepRecent(held, artifact);
    }
    await ready();
    let crashed = false;
    try {
      const bytes = await new Promise<Uint8Array>((resolve, reject) => {
        const unlisten = child.proc.listen(
          (m: WorkerReply) => {
            if (m.type === 'warn') warnings.push(m.message);
            else if (m.type === 'progress') void job.updateProgress(Math.round(Math.max(0, Math.min(1, m.fraction)) * 100)).catch(() => undefined);
            else if (m.type === 'done' || m.type === 'error') {
              unlisten();
              child.proc.idle();
              if (m.type === 'done') resolve(m.bytes);
              else
                reject(m.name === 'RunError' ? new RunError(m.message, m.hint ? { hint: m.hint } : {}) : Object.assign(new Error(m.message), { name: m.name }));
            }
          },
          (e) => {
            unlisten();
            crashed = true;
            reject(e);
          },
        );
        child.held = held;
        child.proc.post({ id: 1, kind: d.kind, stepId: d.stepId, seed: d.seed, pipelineDir: d.pipelineDir, params: d.params, inputs, threads });
      });
      idle.push(child);
      return [bytes];
    } catch (e) {
      // A step's error leaves its process as it was; a crashed one is replaced.
      if (crashed) {
        child.proc.terminate();
        children.delete(child);
      } else idle.push(child);
      throw e;
    }
  };

  /** Runs the step in this process (FXFLOW_POOL=off). */
  const inProcess = async (
    job: Job<StepJob, StepJobResult>,
    def: AnyStepDef,
    warnings: string[],
    ready: () => Promise<void>,
  ): Promise<readonly Uint8Array[]> => {
    const d = job.data;
    const inputs: Record<string, unknown> = {};
    for (const [port, key] of Object.entries(d.inputs)) {
      const found = decoded.find((x) => x.key === key);
      if (found) {
        keepRecent(decoded, found);
        inputs[port] = found.value;
        continue;
      }
      const hit = cache.get(key);
      if (!hit) throw missing(d, port, key);
      inputs[port] = decodeArtifact(hit.bytes);
      keepRecent(decoded, { key, value: inputs[port] });
    }
    await ready();
    const ctx = makeStepContext({
      stepId: d.stepId,
      seed: d.seed,
      pipelineDir: d.pipelineDir,
      warn: (m) => warnings.push(m),
      progress: (f) => void job.updateProgress(Math.round(Math.max(0, Math.min(1, f)) * 100)).catch(() => undefined),
      threads,
    });
    return encodeArtifactParts(await def.run(inputs as never, d.params as never, ctx));
  };

  // Started now, one per concurrent job: their start-up (module loading) is over before the first job.
  for (let i = 0; i < opts.concurrency; i++) {
    const c = spawnChild();
    if (c) idle.push(c);
  }
  const useChildren = idle.length > 0;

  /** Jobs taken and not yet reported to the queue (by job id): their step and whether it has finished. */
  const running = new Map<string, { stepId: string; finished: boolean }>();
  /** Conditions close() waits on, re-checked whenever `running` or the connection's status changes. */
  const watchers = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...watchers]) w();
  };
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!cond()) return;
        watchers.delete(check);
        resolve();
      };
      watchers.add(check);
      check();
    });

  const processor = async (job: Job<StepJob, StepJobResult>): Promise<StepJobResult> => {
    const id = job.id ?? '';
    running.set(id, { stepId: job.data.stepId, finished: false });
    try {
      return await runStep(job);
    } finally {
      const r = running.get(id);
      if (r) r.finished = true;
      wake();
    }
  };

  const runStep = async (job: Job<StepJob, StepJobResult>): Promise<StepJobResult> => {
    const d = job.data;
    const t0 = performance.now();
    // Another worker (or an earlier job) already wrote it: nothing to compute (its bytes are not
    // read here: the coordinator verifies them when it reads them).
    const done = cache.lookup(d.output);
    if (done) return { cached: true, warnings: done.warnings, loadMs: 0, computeMs: 0, storeMs: 0, worker: me };
    // Same results as a local run need the same code: a worker of another version does not guess.
    if (d.fxflow !== VERSION)
      throw new UnrecoverableError(
        stepFailure(
          new RunError(`worker ${me} runs fxflow ${VERSION}, the coordinator ${d.fxflow}`, {
            hint: 'run the same fxflow version on the coordinator and every worker',
          }),
        ).message,
      );
    const def: AnyStepDef | undefined = byKind.get(d.kind);
    if (!def) throw new UnrecoverableError(stepFailure(new RunError(`step kind \`${d.kind}\` is not a built-in step of this worker`)).message);
    let tc = t0;
    /** Inputs read: the step is about to start. */
    const ready = async (): Promise<void> => {
      tc = performance.now();
      opts.log(`started ${d.stepId} ${d.output.slice(0, 12)}`);
      // Tests only (FXFLOW_WORKER_HOLD=DIR): the worker says `holding`, then waits for DIR/release,
      // so a test can kill it (or Redis) while a step is in flight without relying on timing.
      if (holdDir && !released(holdDir)) {
        opts.log(`holding ${d.stepId}`);
        await release(holdDir);
      }
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    };
    const warnings: string[] = [];
    let parts: readonly Uint8Array[];
    try {
      parts = useChildren ? await inChild(job, warnings, ready) : await inProcess(job, def, warnings, ready);
    } catch (e) {
      if (e instanceof UnrecoverableError) throw e;
      opts.log(`failed ${d.stepId}: ${e instanceof Error ? e.message : String(e)}`);
      // A step's error is its inputs' and params' doing: retrying it elsewhere would fail again.
      throw new UnrecoverableError(stepFailure(e).message);
    }
    const ts = performance.now();
    cache.put(d.output, { type: d.type, kind: d.kind, stepVersion: d.stepVersion, warnings }, () => parts);
    const te = performance.now();
    opts.log(`done ${d.stepId} ${d.output.slice(0, 12)} in ${Math.round(te - t0)} ms`);
    return { cached: false, warnings, loadMs: tc - t0, computeMs: ts - tc, storeMs: te - ts, worker: me };
  };

  const worker: Worker<StepJob, StepJobResult> = new BullWorker<StepJob, StepJobResult>(opts.target.name, processor, {
    connection: opts.target.connection,
    prefix: opts.target.prefix,
    concurrency: opts.concurrency,
    lockDuration: opts.lockMs,
    stalledInterval: opts.lockMs,
    // A step computes in its step process, so the lock is renewed while it runs. In this process
    // (FXFLOW_POOL=off) a step computes synchronously (a gbm fit) and the lock is renewed only
    // between such stretches: `lockMs` must then exceed the longest, or the job is run again.
    maxStalledCount: 1,
    autorun: true,
  });
  worker.on('error', (e) => opts.log(`queue error: ${scrub(e.message, opts.target)}`));
  // A job is reported once BullMQ has moved it to completed or failed in Redis.
  const reported = (job: Job | undefined): void => {
    if (job?.id !== undefined) running.delete(job.id);
    wake();
  };
  worker.on('completed', reported);
  worker.on('failed', reported);
  await worker.waitUntilReady();
  const client = await worker.client;
  for (const status of ['connecting', 'connect', 'ready', 'close', 'reconnecting', 'end']) client.on(status, wake);
  // Between reconnect attempts, or in one: Redis is unreachable ('close' and 'end' are also those of a quit).
  const down = (): boolean => client.status === 'reconnecting' || client.status === 'connecting';
  const stopChildren = (): void => {
    for (const c of children) c.proc.terminate();
    children.clear();
  };
  const outcome = (clean: boolean): QueueWorkerStop => {
    const left = [...running.values()];
    return {
      clean,
      unreported: left.filter((r) => r.finished).map((r) => r.stepId),
      abandoned: left.filter((r) => !r.finished).map((r) => r.stepId),
      unreachable: !clean && down(),
    };
  };
  return {
    async close(force = false) {
      // Not BullMQ's close(true): while a graceful close is pending it returns that same promise.
      if (force) {
        stopChildren();
        return outcome(false);
      }
      // BullMQ's close takes no new job, waits for the running ones and their reports, then quits.
      // While Redis is unreachable it never returns: it awaits the blocking connection's 'end',
      // which ioredis never emits when disconnected between reconnect attempts (the retry timer
      // is cleared, the socket already gone), and its commands wait in ioredis's offline queue
      // (maxRetriesPerRequest: null) for a Redis that may not come back. So the steps' end and
      // their reports are watched here, the latter for a bounded time.
      let closed = false;
      void worker
        .close()
        .catch(() => undefined)
        .then(() => {
          closed = true;
          wake();
        });
      await until(() => closed || [...running.values()].every((r) => r.finished));
      // Only reports are left: at most lockMs, after which the job's lock has lapsed anyway.
      let expired = false;
      const timer = setTimeout(() => {
        expired = true;
        wake();
      }, opts.lockMs);
      try {
        await until(() => closed || expired || (running.size === 0 && down()));
      } finally {
        clearTimeout(timer);
      }
      stopChildren();
      return outcome(closed);
    },
  };
}
