import type { Job, Queue, QueueEvents } from 'bullmq';
import type { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PlanNode } from '../../compiler/index.js';
import { CancelledError, RunError } from '../../core/diagnostics.js';
import type { AnyStepDef, StepContext } from '../../steps/define.js';
import { isBuiltinStep } from '../../steps/index.js';
import { decodeArtifact, encodeArtifactParts } from '../codec.js';
import type { NodeKey } from '../keys.js';
import { VERSION } from '../../version.js';
import { ArtifactCache } from './cache.js';
import { checkReachable, scrub, type QueueTarget } from './connection.js';
import { ERROR_MARK, release, released, type StepError, type StepJob, type StepJobResult } from './protocol.js';

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

/** The one stream command used here that BullMQ's client type does not list. */
interface Streams {
  xrevrange(key: string, end: string, start: string, count: 'COUNT', n: number): Promise<[string, string[]][]>;
}

/** A job's events by its id (`completed:ID`): QueueEvents emits them, its listener types name only the general ones. */
type JobEvents = Pick<EventEmitter, 'on' | 'off'>;

/** A step the coordinator waits for: settled by its job's completion event, or by a look at its state. */
interface Waiter {
  key: string;
  data: StepJob;
  /** The worker's result; undefined when the outcome is known only from the cache. */
  resolve: (r: StepJobResult | undefined) => void;
  reject: (e: unknown) => void;
}

export class QueueExecutor {
  readonly timings: QueueTiming[] = [];
  private readonly cache: ArtifactCache;
  private readonly writing = new Map<string, Promise<void>>();
  /** Steps being waited for: looked at again on each reconnect (Redis may have come back without them). */
  private readonly pending = new Set<Waiter>();

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
    const client = await queue.client;
    // Events are read from the stream's last entry by id, not from BullMQ's default `$` ("what
    // comes after this read"): an XREAD re-sent after a reconnect then misses nothing.
    // (The client is ioredis underneath; BullMQ's client type does not list XREVRANGE.)
    const entries = await (client as unknown as Streams).xrevrange(queue.keys.events, '+', '-', 'COUNT', 1);
    const events = new QueueEvents(target.name, { connection: target.connection, prefix: target.prefix, lastEventId: entries[0]?.[0] ?? '0-0' });
    await events.waitUntilReady();
    const ex = new QueueExecutor(opts, queue, events);
    // A Redis restarted without persistence has lost the jobs (and a completion event sent while it
    // was away is lost too): each reconnect looks at every step waited for again, and settles it
    // or re-adds its job (see settle). Both connections are watched: whichever comes back last
    // finds the other ready.
    for (const c of [await events.client, client]) {
      let first = c.status !== 'ready';
      c.on('ready', () => {
        if (first) first = false;
        else for (const w of ex.pending) void ex.settle(w).catch(() => undefined);
      });
    }
    return ex;
  }

  /**
   * Settles `w` from its job's state if the job is over: completed (its result), failed (its
   * reason), or gone from Redis: then its output is in the cache (it finished while Redis was
   * away) or the job is added again. A job still waiting or running is left to its event.
   */
  private async settle(w: Waiter, known?: string): Promise<void> {
    const state = known ?? (await this.queue.getJobState(w.key));
    if (state === 'completed' || state === 'failed') {
      const job = await this.queue.getJob(w.key);
      if (!job) return this.settle(w);
      if (state === 'completed') w.resolve(job.returnvalue);
      else w.reject(new Error(job.failedReason));
    } else if (state === 'unknown') {
      if (this.cache.has(w.key)) w.resolve(undefined);
      else await this.queue.add(w.data.stepId, w.data, this.jobOptions(w.key));
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
   * Adds the step's job (or joins the one with its id) and waits for it to finish. A job left
   * failed by an earlier run is retried; one left completed whose output has gone from the cache is
   * replaced. The completion listeners are in place, and the step registered for the reconnect
   * checks, before the job is added: no outcome can come between. Resolves undefined when the
   * outcome is known only from the cache.
   */
  private async enqueueAndWait(key: string, data: StepJob, ctx: StepContext): Promise<StepJobResult | undefined> {
    if (ctx.signal.aborted) throw new CancelledError();
    let w!: Waiter;
    const finished = new Promise<StepJobResult | undefined>((resolve, reject) => {
      w = { key, data, resolve, reject };
    });
    // A step that fails fast is reported while the add below is still awaited: without a handler
    // by then, its rejection is unhandled and ends the coordinator. `await finished` still throws it.
    finished.catch(() => undefined);
    const onCompleted = ({ returnvalue }: { returnvalue: unknown }): void => w.resolve(returnvalue as StepJobResult);
    const onFailed = ({ failedReason }: { failedReason: string }): void => w.reject(new Error(failedReason));
    const onAbort = (): void => w.reject(new CancelledError());
    const events = this.events as unknown as JobEvents;
    events.on(`completed:${key}`, onCompleted);
    events.on(`failed:${key}`, onFailed);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    this.pending.add(w);
    try {
      const opts = this.jobOptions(key);
      const job: Job<StepJob, StepJobResult> = await this.queue.add(data.stepId, data, opts);
      // Tests only (FXFLOW_QUEUE_HOLD=DIR): DIR/enqueued says a job is added, then the coordinator
      // waits for DIR/release before it looks at the job (a test restarts Redis in between).
      const holdDir = process.env.FXFLOW_QUEUE_HOLD;
      if (holdDir && !released(holdDir)) {
        writeFileSync(path.join(holdDir, 'enqueued'), key);
        await release(holdDir);
      }
      const state = await this.queue.getJobState(key);
      if (state === 'failed') await job.retry('failed').catch(() => undefined);
      else if (state === 'completed' && !this.cache.has(key)) {
        await job.remove().catch(() => undefined);
        await this.queue.add(data.stepId, data, opts);
      } else await this.settle(w, state);
      return await finished;
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      // The job may have been removed once done (its outcome is then the cache's).
      if (this.cache.has(key)) return undefined;
      throw this.stepError(e);
    } finally {
      this.pending.delete(w);
      events.off(`completed:${key}`, onCompleted);
      events.off(`failed:${key}`, onFailed);
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
