import { acquireThreads, postJob, resolveThreads, type PoolThread } from '../../core/threads.js';
import {
  bestSplit,
  buildChunk,
  histUnit,
  makeBuilder,
  partitionUnit,
  runUnits,
  workerSession,
  type BuildFn,
  type HistMessage,
  type HistShared,
} from './kernels.js';

/**
 * Runs the tree-growing kernels (kernels.ts) on the main thread plus `threads − 1` pooled worker
 * threads over SharedArrayBuffers. The main thread publishes a phase of units and works on it
 * itself; workers claim units as they come, so a slow or still-starting worker only means the
 * main thread does more. Which thread runs a unit never changes its result (see kernels.ts), so a
 * fit is bit-identical for every thread count.
 *
 * The threads are the process-wide pool (src/core/threads.ts), reused by every later fit: a fit
 * starts a session on them as a job, then drives them through shared memory only, so the
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

/** This thread's histogram builders (see histUnit), kept for the process's life. */
const builders = new Map<string, BuildFn>();
let sessions = 0;

/**
 * A pooled thread's side of a fit: the kernels and workerSession, as one job source compiled once
 * per thread (core/threads.ts caches jobs by source); its histogram builders are kept in the
 * thread's job state across fits.
 */
const SESSION_JOB = [
  '(() => {',
  ...[partitionUnit, histUnit, makeBuilder, buildChunk, bestSplit, runUnits, workerSession].map(String),
  "return (data, env) => { let b = env.state.get('gbm.builders'); if (!b) env.state.set('gbm.builders', (b = new Map())); workerSession(data.S, env.receive, b); };",
  '})()',
].join('\n');

function shared<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(
  ctor: { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number },
  len: number,
  sab: boolean,
): T {
  const bytes = len * ctor.BYTES_PER_ELEMENT;
  return new ctor(sab ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** One fit's shared buffers and threads; close() it when the fit ends. */
export class HistEngine {
  readonly S: HistShared;
  private readonly workers: PoolThread[];
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
    this.workers = t > 1 ? acquireThreads(t - 1) : [];
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
    postJob(this.workers, SESSION_JOB, { S: this.S });
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
    for (const w of this.workers) w.post(msg);
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
