import { availableParallelism } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';

/**
 * The core budget: how many cores fxflow may keep busy (`--jobs`). The one place that says what
 * "all cores" means, so the scheduler, the worker pools and the kernels' `threads: 0` agree.
 */
export function coreBudget(jobs?: number): number {
  if (jobs === undefined) return availableParallelism();
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new RangeError(`the core budget (jobs) must be a whole number ≥ 1, got ${jobs}`);
  return jobs;
}

/** A step's `threads` param: 0 (or absent) = the whole core budget, else that many. */
export function resolveThreads(threads: number | undefined): number {
  const t = threads ?? 0;
  return t > 0 ? Math.floor(t) : coreBudget();
}

/**
 * `--jobs` as written on a command line: a whole number ≥ 1, or the reason it is not (the CLI
 * turns that into a usage error). Decimal digits only: `Number()` would take `0x2`, `2e0` or ` 2`.
 */
export function parseJobs(text: string): number | { error: string } {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) return { error: `--jobs takes a whole number of cores ≥ 1 (default: all ${availableParallelism()}), got \`${text}\`` };
  return n;
}

/*
 * The process-wide pool of compute threads: spawned lazily, unref'd (an idle thread never keeps
 * the process alive), reused by every later kernel call and never closed; a thread that dies
 * leaves it. Kernels (gbm histograms, the ridge Gram, backtest phases) post self-contained jobs to
 * it and then drive the threads through shared memory, so a synchronous kernel never needs the
 * event loop. One pool per process: a worker process of the step pool has its own.
 */

/** A pooled thread as a kernel sees it: somewhere to post messages to (jobs, or a job's own messages). */
export interface PoolThread {
  post(message: unknown): void;
}

/** What a job gets beside its data on its thread. */
export interface JobEnv {
  /** The next message posted to this thread, taken synchronously (undefined if none is waiting). */
  receive(): never | undefined;
  /** Per-thread state kept across jobs (e.g. compiled kernels), by a key the job picks. */
  state: Map<string, unknown>;
}

interface PooledThread extends PoolThread {
  worker: Worker;
}

const threads: PooledThread[] = [];

// A thread runs jobs, whose source is compiled once per thread and cached.
const THREAD_SOURCE = [
  "'use strict';",
  "const { workerData, receiveMessageOnPort } = require('node:worker_threads');",
  // esbuild (tsx, vitest) wraps inner named functions in its keepNames helper.
  'const __name = (f) => f;',
  'const port = workerData.port;',
  'const jobs = new Map();',
  "const job = (src) => { let f = jobs.get(src); if (!f) { f = new Function('__name', 'return (' + src + ');')(__name); jobs.set(src, f); } return f; };",
  'const env = { receive: () => receiveMessageOnPort(port)?.message, state: new Map() };',
  "port.on('message', (m) => { if (m.type === 'job') job(m.src)(m.data, env); });",
].join('\n');

function spawnThread(): PooledThread | undefined {
  try {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { port: port2 }, transferList: [port2] });
    worker.unref();
    port1.unref();
    const t: PooledThread = { worker, post: (m) => port1.postMessage(m) };
    const drop = (): void => {
      const i = threads.indexOf(t);
      if (i >= 0) threads.splice(i, 1);
    };
    // A dead thread leaves the pool; its unfinished unit is reported through the job's error flag.
    worker.on('error', drop);
    worker.on('exit', drop);
    return t;
  } catch {
    return undefined;
  }
}

/** Up to k pooled threads (spawned if needed; fewer where threads cannot be spawned). */
export function acquireThreads(k: number): PoolThread[] {
  while (threads.length < k) {
    const t = spawnThread();
    if (!t) break;
    threads.push(t);
  }
  return threads.slice(0, Math.max(0, k));
}

/** Posts a job (a function, or its source) to each of the given threads. */
export function postJob(to: readonly PoolThread[], fn: string | ((data: never, env: JobEnv) => void), data: unknown): void {
  const src = String(fn);
  for (const t of to) t.post({ type: 'job', src, data });
}

/**
 * Posts a job to up to k pooled threads (spawned if needed): each runs `fn(data, env)` once, on its
 * own thread, when its event loop is free. `fn` travels as source, so it must be self-contained (no
 * closures over module scope); `data` is structured-cloned (SharedArrayBuffers, shared
 * WebAssembly.Memory and WebAssembly.Module objects are shared, not copied). Returns how many
 * threads got it. The caller coordinates with them through shared memory, as the gbm sessions do.
 */
export function runJob(k: number, fn: string | ((data: never, env: JobEnv) => void), data: unknown): number {
  const ts = k > 0 ? acquireThreads(k) : [];
  postJob(ts, fn, data);
  return ts.length;
}

/** Control words of a UnitPhases session (unitWorker uses the numbers literally). */
const U_NEXT = 0; // phase << 20 | next unit to claim; −1: the session is over
const U_DONE = 1; // units of the current phase finished
const U_KERNEL = 2;
const U_COUNT = 3;
const U_ERR = 4;
const U_MAX_UNITS = 1 << 20;

/** Data of a unit job: kernel sources, their shared arguments, the control words. */
interface UnitJob {
  kernels: string[];
  data: unknown;
  ctrl: Int32Array;
}

/**
 * A pooled worker's side of UnitPhases: claims units of each phase as it is published, runs them,
 * and returns to its event loop when the session ends (or after 2 s with nothing published).
 * Self-contained: it travels as source.
 */
function unitWorker(d: UnitJob): void {
  const ctrl = d.ctrl;
  // Kernels compiled once per worker (keyed by source), so their optimised code survives sessions.
  const g = globalThis as unknown as { __fxflowUnitKernels?: Map<string, (unit: number, data: unknown) => void> };
  const cache = (g.__fxflowUnitKernels ??= new Map());
  const fns = d.kernels.map((src) => {
    let f = cache.get(src);
    if (!f) {
      f = new Function('__name', `return (${src});`)((x: unknown) => x) as (unit: number, data: unknown) => void;
      cache.set(src, f);
    }
    return f;
  });
  let idle = 0;
  for (;;) {
    const w = Atomics.load(ctrl, 0);
    if (w < 0) return;
    // A claim succeeds only while the word is unchanged, so the count read before it is this
    // phase's: the caller closes a phase (all ones in the unit bits) before it changes the count.
    if ((w & 0xfffff) < Atomics.load(ctrl, 3)) {
      if (Atomics.compareExchange(ctrl, 0, w, w + 1) !== w) continue;
      idle = 0;
      try {
        fns[Atomics.load(ctrl, 2)](w & 0xfffff, d.data);
      } catch {
        Atomics.store(ctrl, 4, 1);
      }
      Atomics.add(ctrl, 1, 1);
      Atomics.notify(ctrl, 1);
      continue;
    }
    // Nothing to claim: spin a little (phases follow each other within microseconds), then sleep
    // on the word until it changes.
    let v = w;
    for (let i = 0; v === w && i < 20000; i++) v = Atomics.load(ctrl, 0);
    if (v === w && Atomics.wait(ctrl, 0, w, 50) === 'timed-out' && ++idle > 40) return;
  }
}

/**
 * Phases of independent units run on the caller's thread plus up to `threads − 1` pooled worker
 * threads (the same pool as the gbm sessions). A phase's units are claimed one at a time by
 * whichever thread is free, the caller included, so a worker that is slow to start only means
 * the caller does more; `run` returns when every unit of the phase is done. Kernels are
 * self-contained functions `(unit, data) => void` (they travel as source) that read and write
 * `data`'s SharedArrayBuffers; a unit's result must not depend on which thread ran it.
 *
 * A unit that throws on a worker makes `run` re-run the phase on the caller (kernels are
 * idempotent), so the error surfaces there, with its message.
 */
export class UnitPhases<D> {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(8 * 4));
  private readonly fns: ((unit: number, data: D) => void)[];
  private phase = 0;
  /** Workers that got the session (0: everything runs on the caller). */
  readonly workers: number;

  constructor(
    threads: number,
    kernels: ((unit: number, data: D) => void)[],
    private readonly data: D,
  ) {
    this.fns = kernels;
    Atomics.store(this.ctrl, U_NEXT, U_MAX_UNITS - 1); // phase 0, nothing to claim yet
    Atomics.store(this.ctrl, U_COUNT, 0);
    const job: UnitJob = { kernels: kernels.map(String), data, ctrl: this.ctrl };
    this.workers = threads > 1 ? runJob(threads - 1, unitWorker, job) : 0;
  }

  /** Runs units 0 … count − 1 of kernel `kernel` (an index into the constructor's list). */
  run(kernel: number, count: number): void {
    if (count >= U_MAX_UNITS) throw new RangeError(`${count} units in one phase`);
    const ctrl = this.ctrl;
    const fn = this.fns[kernel];
    if (this.workers === 0) {
      for (let u = 0; u < count; u++) fn(u, this.data);
      return;
    }
    // Close the last phase before touching its count (see unitWorker), then publish the new one.
    Atomics.store(ctrl, U_NEXT, (this.phase << 20) | (U_MAX_UNITS - 1));
    this.phase = (this.phase + 1) & 0x7ff;
    Atomics.store(ctrl, U_DONE, 0);
    Atomics.store(ctrl, U_ERR, 0);
    Atomics.store(ctrl, U_KERNEL, kernel);
    Atomics.store(ctrl, U_COUNT, count);
    const base = this.phase << 20;
    Atomics.store(ctrl, U_NEXT, base);
    Atomics.notify(ctrl, U_NEXT);
    for (;;) {
      const w = Atomics.load(ctrl, U_NEXT);
      const u = w & 0xfffff;
      if (u >= count) break;
      if (Atomics.compareExchange(ctrl, U_NEXT, w, w + 1) !== w) continue;
      try {
        fn(u, this.data);
      } finally {
        Atomics.add(ctrl, U_DONE, 1);
      }
    }
    for (let d = Atomics.load(ctrl, U_DONE), i = 0; d < count; d = Atomics.load(ctrl, U_DONE), i++) {
      if (i > 20000) Atomics.wait(ctrl, U_DONE, d, 20);
    }
    if (Atomics.load(ctrl, U_ERR)) for (let u = 0; u < count; u++) fn(u, this.data);
  }

  /** Ends the session: idle workers go back to their event loops. */
  close(): void {
    Atomics.store(this.ctrl, U_NEXT, -1);
    Atomics.notify(this.ctrl, U_NEXT);
  }
}
