import { resolveThreads } from '../../core/threads.js';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { bestSplit, buildChunk, histUnit, makeBuilder, partitionUnit, runUnits, workerSession, type BuildFn, type HistMessage, type HistShared } from './kernels.js';

/**
 * Runs the tree-growing kernels (kernels.ts) on the main thread plus `threads − 1` pooled worker
 * threads over SharedArrayBuffers. The main thread publishes a phase of units and works on it
 * itself; workers claim units as they come, so a slow or still-starting worker only means the
 * main thread does more. Which thread runs a unit never changes its result (see kernels.ts), so a
 * fit is bit-identical for every thread count.
 *
 * Workers are spawned once per process (lazily, unref'd) and reused by every later fit: a fit
 * starts a "session" on them by message, then drives them through shared memory only, so the
 * synchronous fit never needs the event loop.
 */

// ctrl words (kernels.ts uses the numbers literally).
const C_SEQ = 0;
const C_KIND = 1;
const C_BASE = 2;
const C_N = 3;
const C_DONE = 5;
const C_VER = 6;
const C_NF = 7;
const C_NCHUNK = 8;
const C_ERR = 9;

export const PHASE_PARTITION = 1;
export const PHASE_HIST = 2;
const PHASE_EXIT = 3;
/** Doubles per task record. */
export const TASK_W = 16;
/** Doubles per (task, child, chunk) result. */
export const RESULT_W = 5;
const SLOTS_PER_BUF = 8;
/** Below this many binned values (rows × features) a fit stays on one thread: start-up would dominate. */
const MIN_PARALLEL_WORK = 50_000;

export { resolveThreads };

interface PooledWorker {
  worker: Worker;
  port: MessagePort;
}

const pool: PooledWorker[] = [];
/** This thread's histogram builders (see histUnit), kept for the process's life. */
const builders = new Map<string, BuildFn>();
let sessions = 0;

function workerSource(): string {
  return [
    "'use strict';",
    "const { workerData, receiveMessageOnPort } = require('node:worker_threads');",
    // esbuild (tsx, vitest) wraps inner named functions in its keepNames helper.
    'const __name = (f) => f;',
    ...[partitionUnit, histUnit, makeBuilder, buildChunk, bestSplit, runUnits, workerSession].map(String),
    'const port = workerData.port;',
    // Jobs from other modules (runJob): their source is compiled once per worker and cached.
    'const jobs = new Map();',
    "const job = (src) => { let f = jobs.get(src); if (!f) { f = new Function('__name', 'return (' + src + ');')(__name); jobs.set(src, f); } return f; };",
    // The thread's histogram builders, kept across sessions (see histUnit).
    'const builders = new Map();',
    "port.on('message', (m) => { if (m.type === 'session') workerSession(m.S, () => receiveMessageOnPort(port)?.message, builders); else if (m.type === 'job') job(m.src)(m.data); });",
  ].join('\n');
}

function spawn(): PooledWorker | undefined {
  try {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(workerSource(), { eval: true, workerData: { port: port2 }, transferList: [port2] });
    worker.unref();
    port1.unref();
    const pw: PooledWorker = { worker, port: port1 };
    const drop = (): void => {
      const i = pool.indexOf(pw);
      if (i >= 0) pool.splice(i, 1);
    };
    // A dead worker leaves the pool; its unfinished unit is reported through the error flag.
    worker.on('error', drop);
    worker.on('exit', drop);
    return pw;
  } catch {
    return undefined;
  }
}

function acquireWorkers(k: number): PooledWorker[] {
  while (pool.length < k) {
    const w = spawn();
    if (!w) break;
    pool.push(w);
  }
  return pool.slice(0, k);
}

/**
 * Posts a job to up to k pooled workers (spawned if needed): each runs `fn(data)` once, on its own
 * thread, when its event loop is free. `fn` travels as source, so it must be self-contained (no
 * closures over module scope); `data` is structured-cloned (SharedArrayBuffers, shared
 * WebAssembly.Memory and WebAssembly.Module objects are shared, not copied). Returns how many
 * workers got it. The caller coordinates with them through shared memory, as the gbm sessions do.
 */
export function runJob(k: number, fn: (data: never) => void, data: unknown): number {
  const ws = k > 0 ? acquireWorkers(k) : [];
  const src = String(fn);
  for (const w of ws) w.port.postMessage({ type: 'job', src, data });
  return ws.length;
}

function shared<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(ctor: { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number }, len: number, sab: boolean): T {
  const bytes = len * ctor.BYTES_PER_ELEMENT;
  return new ctor(sab ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** One fit's shared buffers and threads; close() it when the fit ends. */
export class HistEngine {
  readonly S: HistShared;
  private readonly workers: PooledWorker[];
  private readonly sab: boolean;
  /** Feature chunks per histogram task (1 on one thread; more to balance several). */
  readonly nChunk: number;
  private claimed = 0;
  private readonly freeSlots: number[] = [];
  private nSlots = 0;
  private taskCap = 0;
  private closed = false;
  /** Row range [begin, end) of each node of the last grown tree in S.rows. */
  nodeBegin: number[] = [];
  nodeEnd: number[] = [];

  /** `binsT`: the bins feature-major from an earlier engine on the same bins (S.binsT), else made here. */
  constructor(bins: Uint8Array, p: number, m: number, nBins: Int32Array, threads: number, binsT?: Uint8Array) {
    const t = m * p >= MIN_PARALLEL_WORK ? resolveThreads(threads) : 1;
    this.workers = t > 1 ? acquireWorkers(t - 1) : [];
    const sab = this.workers.length > 0;
    this.sab = sab;
    let b = bins;
    if (sab && !(bins.buffer instanceof SharedArrayBuffer)) {
      b = shared(Uint8Array, bins.length, true);
      b.set(bins);
    }
    let bT: Uint8Array;
    if (binsT && (!sab || binsT.buffer instanceof SharedArrayBuffer)) bT = binsT;
    else {
      bT = shared(Uint8Array, m * p, sab);
      if (binsT) bT.set(binsT);
      else for (let r = 0; r < m; r++) for (let f = 0; f < p; f++) bT[f * m + r] = b[r * p + f];
    }
    const nb = shared(Int32Array, p, sab);
    nb.set(nBins);
    // One chunk per thread: each extra chunk re-reads the node's rows and gradients (measured +15%
    // per build at 4 chunks of 40 features); workers that lag are covered by the many tasks of a level.
    this.nChunk = Math.min(p, this.workers.length + 1);
    this.S = {
      session: ++sessions,
      ctrl: shared(Int32Array, 16, sab),
      prm: shared(Float64Array, 4, sab),
      bins: b,
      binsT: bT,
      m,
      p,
      nBins: nb,
      gh: shared(Float64Array, 2 * m, sab),
      rows: shared(Uint32Array, m, sab),
      tmp: shared(Uint32Array, m, sab),
      feats: shared(Int32Array, p, sab),
      ver: 0,
      tasks: new Float64Array(0),
      results: new Float64Array(0),
      masks: new Uint8Array(0),
      hist: [],
    };
    this.ensureTasks(16);
    const msg: HistMessage = { type: 'session', S: this.S };
    for (const w of this.workers) w.port.postMessage(msg);
  }

  /** Threads working on this fit (main included). */
  get threads(): number {
    return this.workers.length + 1;
  }

  setParams(lambda: number, minChildWeight: number, minSplitGain: number): void {
    this.S.prm[0] = lambda;
    this.S.prm[1] = minChildWeight;
    this.S.prm[2] = minSplitGain;
  }

  /** The features histograms are built over for the next tree (ascending). */
  setFeatures(feats: Int32Array): void {
    this.S.feats.set(feats);
    this.S.ctrl[C_NF] = feats.length;
  }

  /** Room for n task records (and their results and masks); grows the buffers if needed. */
  ensureTasks(n: number): void {
    if (n <= this.taskCap) return;
    const cap = Math.max(n, 2 * this.taskCap);
    const S = this.S;
    S.tasks = shared(Float64Array, cap * TASK_W, this.sab);
    S.results = shared(Float64Array, cap * 2 * this.nChunk * RESULT_W, this.sab);
    S.masks = shared(Uint8Array, cap * 2 * S.p, this.sab);
    this.taskCap = cap;
    this.publishBuffers();
  }

  acquireSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.nSlots % SLOTS_PER_BUF === 0) {
      this.S.hist = [...this.S.hist, shared(Float64Array, SLOTS_PER_BUF * (this.S.p << 9), this.sab)];
      this.publishBuffers();
    }
    return this.nSlots++;
  }

  releaseSlot(s: number): void {
    this.freeSlots.push(s);
  }

  private publishBuffers(): void {
    const S = this.S;
    S.ver++;
    if (this.workers.length === 0) return;
    const msg: HistMessage = { type: 'buffers', session: S.session, ver: S.ver, tasks: S.tasks, results: S.results, masks: S.masks, hist: S.hist };
    for (const w of this.workers) w.port.postMessage(msg);
    Atomics.store(S.ctrl, C_VER, S.ver);
  }

  /** Runs n units of a phase (tasks already written) on every thread; returns when all are done. */
  phase(kind: number, n: number): void {
    if (n === 0) return;
    const S = this.S;
    const ctrl = S.ctrl;
    // Histogram tasks are split into feature chunks; unit numbers run on across phases.
    const units = kind === PHASE_HIST ? n * this.nChunk : n;
    const base = this.claimed;
    this.claimed += units;
    if (this.workers.length === 0) {
      runUnits(S, kind, base, units, this.nChunk, builders);
      return;
    }
    this.publish(kind, base, units);
    runUnits(S, kind, base, units, this.nChunk, builders);
    const end = base + units;
    let d = Atomics.load(ctrl, C_DONE);
    for (let i = 0; d < end && i < 20000; i++) d = Atomics.load(ctrl, C_DONE);
    while (d < end) {
      if (Atomics.load(ctrl, C_ERR) !== 0) throw new Error('gbm: a histogram worker thread failed');
      Atomics.wait(ctrl, C_DONE, d, 100);
      d = Atomics.load(ctrl, C_DONE);
    }
  }

  private publish(kind: number, base: number, n: number): void {
    const ctrl = this.S.ctrl;
    Atomics.add(ctrl, C_SEQ, 1);
    Atomics.store(ctrl, C_KIND, kind);
    Atomics.store(ctrl, C_BASE, base);
    Atomics.store(ctrl, C_N, n);
    Atomics.store(ctrl, C_NCHUNK, this.nChunk);
    Atomics.add(ctrl, C_SEQ, 1);
    Atomics.notify(ctrl, C_SEQ);
  }

  /** Ends the session: workers go back to waiting for the next fit. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.workers.length > 0) this.publish(PHASE_EXIT, this.claimed, 0);
  }
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

  constructor(threads: number, kernels: ((unit: number, data: D) => void)[], private readonly data: D) {
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
