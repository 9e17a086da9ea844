import { availableParallelism, hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import { RunError } from '../../core/diagnostics.js';
import { makeStepContext, type AnyStepDef } from '../../steps/define.js';
import { BUILTIN_STEPS } from '../../steps/index.js';
import { VERSION } from '../../version.js';
import { decodeArtifact, encodeArtifactParts } from '../codec.js';
import { keepRecent } from '../pool/protocol.js';
import { ArtifactCache } from './cache.js';
import { checkReachable, scrub, type QueueTarget } from './connection.js';
import { ERROR_MARK, release, released, type StepError, type StepJob, type StepJobResult } from './protocol.js';

/**
 * A queue worker (`fxflow worker`): a BullMQ Worker taking step jobs, reading their inputs from
 * the shared cache by key, running the step with the built-in registry's code (as a pool worker
 * does, so the result is bit-identical to a local run), writing the output to the cache, and
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

export interface QueueWorker {
  /** Stops taking jobs and waits for the running ones (`force`: abandons them, they are retried elsewhere). */
  close(force?: boolean): Promise<void>;
}

const byKind = new Map(BUILTIN_STEPS.map((d) => [d.kind, d] as const));

function stepFailure(e: unknown): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  const info: StepError = { name: err.name, message: err.message, ...((err as RunError).hint ? { hint: (err as RunError).hint } : {}) };
  return new Error(`${ERROR_MARK}${JSON.stringify(info)}`);
}

export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const { Worker: BullWorker, UnrecoverableError } = await import('bullmq');
  await checkReachable(opts.target);
  const cache = new ArtifactCache(opts.cacheDir);
  /**
   * The last inputs read, decoded (a sweep's variants all read one dataset): a key is the address
   * of its content, so a held value is always the cache's. Steps leave their inputs as they are
   * (the local pool's workers hold theirs the same way, ../pool/protocol.ts).
   */
  const decoded: { key: string; value: unknown }[] = [];
  const me = `${hostname()}:${process.pid}`;
  const threads = opts.threads ?? Math.max(1, Math.floor(availableParallelism() / opts.concurrency));
  const holdDir = process.env.FXFLOW_WORKER_HOLD;
  // Benchmarks only (FXFLOW_WORKER_DELAY_MS): each step takes this much longer, as a slower step on
  // a machine of its own would, so that scaling with workers can be measured on one machine.
  const delayMs = Number(process.env.FXFLOW_WORKER_DELAY_MS ?? 0) || 0;

  const processor = async (job: Job<StepJob, StepJobResult>): Promise<StepJobResult> => {
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
    const inputs: Record<string, unknown> = {};
    for (const [port, key] of Object.entries(d.inputs)) {
      const held = decoded.find((x) => x.key === key);
      if (held) {
        keepRecent(decoded, held);
        inputs[port] = held.value;
        continue;
      }
      const hit = cache.get(key);
      if (!hit)
        throw new UnrecoverableError(
          stepFailure(
            new RunError(`input \`${port}\` of step \`${d.stepId}\` (key ${key.slice(0, 12)}) is not in the shared cache ${opts.cacheDir} of worker ${me}`, {
              hint: 'the coordinator and every worker must name the same shared folder with --cache (FXFLOW_CACHE)',
            }),
          ).message,
        );
      inputs[port] = decodeArtifact(hit.bytes);
      keepRecent(decoded, { key, value: inputs[port] });
    }
    const tc = performance.now();
    opts.log(`started ${d.stepId} ${d.output.slice(0, 12)}`);
    // Tests only (FXFLOW_WORKER_HOLD=DIR): the worker says `holding`, then waits for DIR/release,
    // so a test can kill it (or Redis) while a step is in flight without relying on timing.
    if (holdDir && !released(holdDir)) {
      opts.log(`holding ${d.stepId}`);
      await release(holdDir);
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const warnings: string[] = [];
    const ctx = makeStepContext({
      stepId: d.stepId,
      seed: d.seed,
      pipelineDir: d.pipelineDir,
      warn: (m) => warnings.push(m),
      progress: (f) => void job.updateProgress(Math.round(Math.max(0, Math.min(1, f)) * 100)).catch(() => undefined),
      threads,
    });
    let output: unknown;
    try {
      output = await def.run(inputs as never, d.params as never, ctx);
    } catch (e) {
      opts.log(`failed ${d.stepId}: ${e instanceof Error ? e.message : String(e)}`);
      // A step's error is its inputs' and params' doing: retrying it elsewhere would fail again.
      throw new UnrecoverableError(stepFailure(e).message);
    }
    const ts = performance.now();
    cache.put(d.output, { type: d.type, kind: d.kind, stepVersion: d.stepVersion, warnings }, () => encodeArtifactParts(output));
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
    // A step computes synchronously (a gbm fit): its lock is renewed only between such stretches,
    // so `lockMs` must exceed the longest one, or the job is taken for stalled and run again.
    maxStalledCount: 1,
    autorun: true,
  });
  worker.on('error', (e) => opts.log(`queue error: ${scrub(e.message, opts.target)}`));
  await worker.waitUntilReady();
  return {
    async close(force = false) {
      await worker.close(force);
    },
  };
}
