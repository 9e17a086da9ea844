import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PlanNode } from '../../compiler/index.js';
import { CancelledError, RunError } from '../../core/diagnostics.js';
import { coreBudget } from '../../core/threads.js';
import { decodeArtifact, encodeArtifact } from '../codec.js';
import type { AnyStepDef, StepContext } from '../../steps/define.js';
import { BUILTIN_STEPS, isBuiltinStep } from '../../steps/index.js';
import { followHooks } from '../../steps/follow-hooks.js';
import { keepRecent, type TaskInput, type WorkerReply, type WorkerTask } from './protocol.js';

/**
 * Workers for CPU-heavy steps, so that `--jobs 2` keeps two cores busy: the scheduler stays on the
 * main thread and writes the store from there (one writer); a step of a heavy kind is handed to an
 * idle worker with its inputs encoded, and its output comes back encoded. The step's code and
 * inputs are the same as on the main thread, so results are bit-identical.
 *
 * Workers are child processes by default, worker threads with FXFLOW_POOL=threads; FXFLOW_POOL=off
 * runs everything on the main thread (a single gbm fit then spreads over the cores). Measured on
 * gbm fits of a 40k × 159 dataset: two fits in two processes run about as fast as one fit alone,
 * while two worker threads of one process took 1.5–2.5× as long over their first fits (they share
 * the process's page-fault path and V8's background compiler threads). A process costs one copy of
 * each input through its IPC pipe (once per worker: see the input cache) instead of shared memory.
 */

/**
 * Whether a step runs in the pool once there is one: a built-in kind that declares `worker` in its
 * `defineStep` (`heavy`: a model fit; `joins`: the backtests that follow, which would otherwise
 * take CPU from the workers on the main process, their dataset input already held by a worker).
 * A plugin's step (another definition object) stays on the main thread: a worker has only the
 * built-in registry.
 */
function inPool(def: AnyStepDef): boolean {
  // A step following growing data keeps its memory in this process (src/steps/follow-hooks.ts).
  return def.worker !== undefined && isBuiltinStep(def) && !followHooks().inProcess?.has(def.kind);
}

/**
 * The pool a plan is worth: its `heavy` steps' count decides (a worker costs its start-up and JIT
 * warm-up, so only where two can overlap), the core budget bounds it; undefined = run everything
 * on the main thread.
 */
export function poolFor(nodes: readonly PlanNode[], jobs?: number): StepPool | undefined {
  const heavy = nodes.filter((n) => n.def.worker === 'heavy' && inPool(n.def)).length;
  if (heavy < 2) return undefined;
  const budget = coreBudget(jobs);
  return StepPool.create(Math.min(budget, coreBudget(), heavy), budget);
}

const WORKER_JS = fileURLToPath(new URL('./worker.js', import.meta.url));
/** The built-in kinds that declare `worker`: a worker imports these at start-up (its argv). */
const WORKER_KINDS = BUILTIN_STEPS.filter((d) => d.worker !== undefined).map((d) => d.kind);

export type PoolMode = 'processes' | 'threads';

/** A worker as the pool drives it, whether a thread or a process. */
export interface Executor {
  /** Sends a task; the worker keeps this process alive until the task's reply (`idle()`). */
  post(task: WorkerTask): void;
  /** No task in flight: an idle worker must not keep the process alive. */
  idle(): void;
  /** Subscribes to its replies and failures; returns the unsubscribe. */
  listen(onMessage: (m: WorkerReply) => void, onError: (e: Error) => void): () => void;
  terminate(): void;
}

function threadExecutor(): Executor {
  const w = new Worker(WORKER_JS, { argv: WORKER_KINDS });
  w.unref();
  return {
    post(task) {
      w.ref();
      w.postMessage(task);
    },
    idle: () => w.unref(),
    listen(onMessage, onError) {
      w.on('message', onMessage);
      w.on('error', onError);
      return () => {
        w.off('message', onMessage);
        w.off('error', onError);
      };
    },
    terminate: () => void w.terminate(),
  };
}

/**
 * glibc malloc settings for worker processes: blocks up to 32 MB from the heap (not a fresh mmap
 * each), and freed memory kept for the next step instead of handed back. Measured here: a fresh
 * 400 KB typed array costs 27 µs alone and 120–140 µs each when two processes fault pages in at
 * once (the page-fault path is shared), 9–18 µs from the kept heap; a step allocates hundreds of
 * such arrays. The price is that a worker's memory stays at its high-water mark while the pool
 * lives. Settings the user gave keep precedence; other C libraries ignore the variable.
 */
export function workerMallocTunables(existing: string | undefined): string {
  const ours = ['glibc.malloc.mmap_threshold=33554432', 'glibc.malloc.trim_threshold=1073741824', 'glibc.malloc.top_pad=67108864'];
  const theirs = (existing ?? '').split(':').filter((t) => t.length > 0);
  const named = new Set(theirs.map((t) => t.split('=')[0]));
  return [...theirs, ...ours.filter((t) => !named.has(t.split('=')[0]))].join(':');
}

/**
 * Node flags of a worker process (none inherited: a profiler's, tsx's; the worker is the compiled
 * file). V8 optimises hot code on a background thread while the step goes on in slower code; the
 * pool has a worker per core, so that thread has no core of its own and a worker's first step ran
 * long in slow code: optimising in place instead measured 5.05 vs 5.30 s (medians of 5) on the
 * 12-variant alpha158 sweep with --jobs 2 on 2 cores, 1.80–1.86 vs 1.92–2.00 s on a small one,
 * 26.1 vs 26.5 s with 200-round fits.
 */
const WORKER_EXEC_ARGV: readonly string[] = ['--no-concurrent-recompilation'];

/**
 * One worker process with the pool's settings (flags, malloc tunables, the kinds it preloads), for
 * a caller that schedules its own tasks: a queue worker (../queue/worker.ts) runs its steps in one,
 * so they run as a local run's do. Undefined where the pool would not run (FXFLOW_POOL=off, or
 * from TypeScript sources).
 */
export function stepProcess(): Executor | undefined {
  return existsSync(WORKER_JS) && process.env.FXFLOW_POOL !== 'off' ? processExecutor() : undefined;
}

function processExecutor(): Executor {
  // Its stderr is the user's, for a crash's message; its stdout is not used.
  const c = fork(WORKER_JS, WORKER_KINDS, {
    execArgv: [...WORKER_EXEC_ARGV],
    env: { ...process.env, GLIBC_TUNABLES: workerMallocTunables(process.env.GLIBC_TUNABLES) },
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  c.unref();
  c.channel?.unref();
  const exited = (code: number | null): void => {
    for (const f of failures) f(new Error(`worker process exited (code ${code})`));
  };
  const failures = new Set<(e: Error) => void>();
  c.on('exit', exited);
  return {
    post(task) {
      c.ref();
      c.channel?.ref();
      c.send(task);
    },
    idle() {
      c.unref();
      c.channel?.unref();
    },
    listen(onMessage, onError) {
      const onMsg = (m: unknown): void => onMessage(m as WorkerReply);
      c.on('message', onMsg);
      c.on('error', onError);
      failures.add(onError);
      return () => {
        c.off('message', onMsg);
        c.off('error', onError);
        failures.delete(onError);
      };
    },
    terminate: () => void c.kill('SIGKILL'),
  };
}

export class StepPool {
  private readonly idle: Executor[] = [];
  private readonly all: Executor[] = [];
  private readonly queue: (() => void)[] = [];
  private next = 1;
  private closed = false;
  /**
   * Each input artifact encoded once, into shared memory: a sweep's variants all read the same
   * dataset, which would otherwise be encoded on this (the scheduling) thread for every task.
   */
  private readonly encoded = new WeakMap<object, TaskInput & { bytes: Uint8Array }>();
  /** Per worker, the artifacts it holds decoded (see worker.ts's cache). */
  private readonly held = new WeakMap<Executor, number[]>();
  private nextArtifact = 1;
  /** How many input artifacts were sent to a worker as bytes (the rest it already held). */
  inputsSent = 0;

  private constructor(
    private readonly size: number,
    /** Compute threads each worker's step may use: the pool's share of `--jobs`. */
    private readonly threadsPerWorker: number,
    readonly mode: PoolMode,
  ) {
    // Started now, so their start-up (module loading, ≈ 100–200 ms each) overlaps the steps that
    // run before the first heavy one instead of delaying it.
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  private spawn(): Executor {
    const w = this.mode === 'threads' ? threadExecutor() : processExecutor();
    this.all.push(w);
    return w;
  }

  /**
   * A pool of `size` workers sharing `jobs` compute threads (each step in a worker gets
   * jobs / size of them, at least 1), or undefined where workers cannot run (e.g. from TypeScript sources).
   */
  static create(size: number, jobs = size, mode: PoolMode = process.env.FXFLOW_POOL === 'threads' ? 'threads' : 'processes'): StepPool | undefined {
    if (size < 2 || !existsSync(WORKER_JS) || process.env.FXFLOW_POOL === 'off') return undefined;
    return new StepPool(size, Math.max(1, Math.floor(jobs / size)), mode);
  }

  /** Whether this node runs in a worker: a kind that declares `worker`, whose code is the built-in one. */
  handles(node: PlanNode): boolean {
    return inPool(node.def);
  }

  private acquire(): Promise<Executor> {
    const w = this.idle.pop();
    if (w) return Promise.resolve(w);
    if (this.all.length < this.size) return Promise.resolve(this.spawn());
    return new Promise((resolve) => this.queue.push(() => resolve(this.acquire())));
  }

  private releaseWorker(w: Executor): void {
    this.idle.push(w);
    this.queue.shift()?.();
  }

  async run(node: PlanNode, inputs: Record<string, unknown>, ctx: StepContext): Promise<unknown> {
    if (this.closed) throw new CancelledError();
    const shared = Object.entries(inputs).map(([port, v]) => [port, this.share(v)] as const);
    const w = await this.acquire();
    const held = this.held.get(w) ?? [];
    const taskInputs: Record<string, TaskInput> = {};
    for (const [port, s] of shared) {
      if (held.includes(s.artifact)) taskInputs[port] = { artifact: s.artifact };
      else {
        taskInputs[port] = s;
        this.inputsSent++;
      }
      // The worker keeps the last artifacts it was sent, in this order.
      keepRecent(held, s.artifact);
    }
    this.held.set(w, held);
    const id = this.next++;
    try {
      const bytes = await new Promise<Uint8Array>((resolve, reject) => {
        let unlisten = (): void => {};
        const onAbort = (): void => {
          unlisten();
          reject(new CancelledError());
        };
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        const onMessage = (m: WorkerReply): void => {
          if (m.id !== id) return;
          if (m.type === 'log' || m.type === 'warn') (m.type === 'log' ? ctx.log : ctx.warn)(m.message);
          else if (m.type === 'progress') ctx.progress(m.fraction, m.message);
          else {
            unlisten();
            w.idle();
            ctx.signal.removeEventListener('abort', onAbort);
            if (m.type === 'done') resolve(m.bytes);
            else if (m.type === 'error')
              reject(m.name === 'RunError' ? new RunError(m.message, { hint: m.hint }) : Object.assign(new Error(m.message), { name: m.name }));
          }
        };
        const onError = (e: Error): void => {
          unlisten();
          ctx.signal.removeEventListener('abort', onAbort);
          reject(e);
        };
        unlisten = w.listen(onMessage, onError);
        const task: WorkerTask = {
          id,
          kind: node.kind,
          stepId: ctx.stepId,
          seed: ctx.seed,
          pipelineDir: ctx.pipelineDir,
          params: node.params,
          inputs: taskInputs,
          workDir: ctx.workDir,
          threads: this.threadsPerWorker,
        };
        w.post(task);
      });
      this.releaseWorker(w);
      return decodeArtifact(bytes);
    } catch (e) {
      // A cancelled or crashed worker may still be busy: replace it rather than reuse it.
      w.terminate();
      this.all.splice(this.all.indexOf(w), 1);
      this.queue.shift()?.();
      throw e;
    }
  }

  /**
   * The input's encoding, made once per artifact object: in shared memory for threads (posted
   * without a copy), plain bytes for processes (a SharedArrayBuffer cannot cross a process).
   */
  private share(value: unknown): TaskInput & { bytes: Uint8Array } {
    if (value === null || typeof value !== 'object') return { artifact: this.nextArtifact++, bytes: encodeArtifact(value) };
    let s = this.encoded.get(value);
    if (!s) {
      const plain = encodeArtifact(value);
      let bytes = plain;
      if (this.mode === 'threads') {
        bytes = new Uint8Array(new SharedArrayBuffer(plain.byteLength));
        bytes.set(plain);
      }
      s = { artifact: this.nextArtifact++, bytes };
      this.encoded.set(value, s);
    }
    return s;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.all) w.terminate();
  }
}
