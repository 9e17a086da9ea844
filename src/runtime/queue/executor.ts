import type { Job, Queue, QueueEvents } from 'bullmq';
import type { PlanNode } from '../../compiler/index.js';
import { CancelledError, RunError } from '../../core/diagnostics.js';
import type { AnyStepDef, StepContext } from '../../steps/define.js';
import { isBuiltinStep } from '../../steps/index.js';
import { decodeArtifact, encodeArtifactParts } from '../codec.js';
import type { NodeKey } from '../keys.js';
import { VERSION } from '../../version.js';
import { ArtifactCache } from './cache.js';
import { checkReachable, scrub, type QueueTarget } from './connection.js';
import { ERROR_MARK, type StepError, type StepJob, type StepJobResult } from './protocol.js';

/**
 * The coordinator's side of `fxflow run --executor queue`: plugged into the scheduler through
 * runPipeline's executor seam, it runs each ready step that a pool worker would run (a built-in
 * kind that declares `worker`: the model fits and backtests) as a BullMQ job on the queue. The
 * scheduler still decides what is ready (BullMQ flows are trees, a plan is a DAG), keeps the
 * history and writes the local store; `--jobs` bounds the steps in flight. A job's id is the step's
 * content key: two coordinators enqueueing the same step make one job, and a step whose output is
 * in the shared cache already is not enqueued at all. Completion arrives as a queue event.
 */

export interface QueueExecutorOptions {
  target: QueueTarget;
  cacheDir: string;
  keys: Map<string, NodeKey>;
  /** The plan's nodes by id (Plan.byId): an input's type and kind for the cache's sidecar. */
  nodes: ReadonlyMap<string, PlanNode>;
  /** How long to wait for Redis to answer at start (ms). */
  connectMs?: number;
}

/** Per step run through the queue: when it was enqueued, started on a worker, finished there, and when the coordinator heard. */
export interface QueueTiming {
  stepId: string;
  enqueuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  notifiedAt: number;
  worker?: string;
  /** Its output was in the shared cache: no job was run. */
  shared: boolean;
}

/** Completed and failed jobs are kept this long (s): a second coordinator asking for the same step then reads their outcome. */
const KEEP_S = 3600;

export class QueueExecutor {
  readonly timings: QueueTiming[] = [];
  private readonly cache: ArtifactCache;
  private readonly writing = new Map<string, Promise<void>>();
  /** Jobs being waited for, by key: re-added if Redis comes back without them. */
  private readonly pending = new Map<string, { data: StepJob; done: () => void }>();

  private constructor(
    private readonly opts: QueueExecutorOptions,
    private readonly queue: Queue<StepJob, StepJobResult>,
    private readonly events: QueueEvents,
  ) {
    this.cache = new ArtifactCache(opts.cacheDir);
  }

  /** Connects to the queue; fails with a clear message (credentials redacted) if Redis does not answer. */
  static async open(opts: QueueExecutorOptions): Promise<QueueExecutor> {
    const { Queue, QueueEvents } = await import('bullmq');
    const { target } = opts;
    await checkReachable(target, opts.connectMs);
    const queue = new Queue<StepJob, StepJobResult>(target.name, { connection: target.connection, prefix: target.prefix });
    const events = new QueueEvents(target.name, { connection: target.connection, prefix: target.prefix });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    const ex = new QueueExecutor(opts, queue, events);
    // A Redis restarted without persistence has lost the jobs: each reconnect checks the ones
    // waited for, and re-adds those that are gone and whose output is not in the cache (a worker
    // that finds it there reports it done at once), so the run goes on instead of waiting forever.
    // Both connections are watched: whichever comes back last finds the other ready.
    for (const client of [await events.client, await queue.client]) {
      let first = client.status !== 'ready';
      client.on('ready', () => {
        if (first) first = false;
        else void ex.recheck();
      });
    }
    return ex;
  }

  private async recheck(): Promise<void> {
    for (const [key, { data, done }] of this.pending) {
      try {
        if ((await this.queue.getJobState(key)) !== 'unknown') continue;
        // Finished while Redis was away (its completion event lost with it), or not: re-added.
        if (this.cache.has(key)) done();
        else await this.queue.add(data.stepId, data, this.jobOptions(key));
      } catch {
        // Redis went away again: the next reconnect checks again.
      }
    }
  }

  private jobOptions(key: string): { jobId: string; removeOnComplete: { age: number }; removeOnFail: { age: number } } {
    return { jobId: key, removeOnComplete: { age: KEEP_S }, removeOnFail: { age: KEEP_S } };
  }

  /** Whether this node runs on a queue worker: a built-in kind that declares `worker` (a worker has the built-in registry only). */
  handles(node: PlanNode): boolean {
    const def: AnyStepDef = node.def;
    return def.worker !== undefined && isBuiltinStep(def);
  }

  private keyOf(id: string): string {
    return this.opts.keys.get(id)!.key;
  }

  /** Puts an input the coordinator holds into the shared cache (once per key, whoever asks). */
  private share(src: string, value: unknown): Promise<void> {
    const key = this.keyOf(src);
    let w = this.writing.get(key);
    if (!w) {
      w = Promise.resolve().then(() => {
        const n = this.opts.nodes.get(src)!;
        this.cache.put(key, { type: n.def.output, kind: n.kind, stepVersion: n.def.version }, () => encodeArtifactParts(value));
      });
      this.writing.set(key, w);
    }
    return w;
  }

  async run(node: PlanNode, inputs: Record<string, unknown>, ctx: StepContext): Promise<unknown> {
    const key = this.keyOf(node.id);
    const enqueuedAt = Date.now();
    const hit = this.cache.get(key);
    if (hit) {
      for (const w of hit.warnings) ctx.warn(w);
      this.timings.push({ stepId: node.id, enqueuedAt, notifiedAt: Date.now(), shared: true });
      return decodeArtifact(hit.bytes);
    }
    await Promise.all(Object.entries(node.inputs).map(([port, src]) => this.share(src, inputs[port])));
    const data: StepJob = {
      kind: node.kind,
      stepId: node.id,
      seed: ctx.seed,
      pipelineDir: ctx.pipelineDir,
      params: node.params,
      inputs: Object.fromEntries(Object.entries(node.inputs).map(([port, src]) => [port, this.keyOf(src)])),
      output: key,
      type: node.def.output,
      stepVersion: node.def.version,
      fxflow: VERSION,
    };
    const enqueued = Date.now();
    const result = await this.enqueueAndWait(key, data, ctx);
    const notifiedAt = Date.now();
    const out = this.cache.get(key);
    if (!out)
      throw new RunError(`step \`${node.id}\` finished on a queue worker, but its output is not in the shared cache ${this.opts.cacheDir}`, {
        hint: 'the coordinator and every worker must name the same shared folder with --cache (FXFLOW_CACHE)',
      });
    for (const w of result?.warnings ?? out.warnings) ctx.warn(w);
    const job = await this.queue.getJob(key);
    this.timings.push({
      stepId: node.id,
      enqueuedAt: enqueued,
      startedAt: job?.processedOn,
      finishedAt: job?.finishedOn,
      notifiedAt,
      worker: result?.worker,
      shared: false,
    });
    return decodeArtifact(out.bytes);
  }

  /**
   * Adds the step's job (or joins the one with its id) and waits for its completion event. A job
   * left failed by an earlier run is retried; one left completed whose output has gone from the
   * cache is replaced. Resolves undefined when the outcome is known only from the cache.
   */
  private async enqueueAndWait(key: string, data: StepJob, ctx: StepContext): Promise<StepJobResult | undefined> {
    const opts = this.jobOptions(key);
    let job: Job<StepJob, StepJobResult> = await this.queue.add(data.stepId, data, opts);
    const state = await this.queue.getJobState(key);
    if (state === 'failed') await job.retry('failed').catch(() => undefined);
    else if (state === 'completed' && !this.cache.has(key)) {
      await job.remove().catch(() => undefined);
      job = await this.queue.add(data.stepId, data, opts);
    }
    if (ctx.signal.aborted) throw new CancelledError();
    let onAbort = (): void => {};
    const aborted = new Promise<never>((_r, reject) => {
      onAbort = () => reject(new CancelledError());
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    const fromCache = new Promise<undefined>((resolve) => this.pending.set(key, { data, done: () => resolve(undefined) }));
    try {
      return await Promise.race([job.waitUntilFinished(this.events), aborted, fromCache]);
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      // The job may have been removed once done (its outcome is then the cache's).
      if (this.cache.has(key)) return undefined;
      throw this.stepError(e);
    } finally {
      this.pending.delete(key);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The worker's error as the coordinator raises it: a step's RunError with its hint, else the queue's reason. */
  private stepError(e: unknown): Error {
    const reason = scrub(e instanceof Error ? e.message : String(e), this.opts.target);
    const at = reason.indexOf(ERROR_MARK);
    if (at >= 0) {
      try {
        const s = JSON.parse(reason.slice(at + ERROR_MARK.length)) as StepError;
        return s.name === 'RunError' ? new RunError(s.message, s.hint ? { hint: s.hint } : {}) : Object.assign(new Error(s.message), { name: s.name });
      } catch {
        // Not ours after all: reported as it is.
      }
    }
    return new RunError(`queue job failed: ${reason}`, { hint: `see the output of the workers of ${this.opts.target.display}` });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }
}
