import { setFlagsFromString } from 'node:v8';
import {
  call,
  doWhile,
  f64,
  f64x2,
  forLoop,
  get,
  I32,
  ifThen,
  i32,
  moduleBytes,
  PAGE,
  select,
  set,
  simdAvailable,
  V128,
  F64,
  v128,
  wasmApi,
  type Bytes,
  type ValType,
  type WasmFunc,
  type WasmMemory,
  type WasmModule,
} from '../core/wasm.js';
import { resolveThreads, runJob } from '../core/threads.js';

/**
 * The normal equations' cross-products for ridge and the elastic net (see centredGram in ridge.ts)
 * as a WebAssembly SIMD kernel (f64x2), optionally on pooled worker threads. On 90k rows × 40
 * features one thread takes ≈ 9 ms against ≈ 50–65 ms for the scalar JavaScript loops (which stay
 * as the fallback where SIMD is missing), near the 128-bit multiply and add ports' limit (no fused
 * multiply-add in WebAssembly SIMD); two idle cores take ≈ 4.5 ms.
 *
 * Shifted data in one pass: with s the mean of the first (up to) 64 rows, each chunk of rows sums
 * d = x − s and d·dᵀ, d·(y − s_y)ᵀ; then the centred Gram is Σ d dᵀ − n·d̄ d̄ᵀ and x̄ = s + d̄. With s
 * within a few standard deviations of the mean (it is a mean of the same data) the subtraction
 * loses only a few bits, unlike the raw Σ x xᵀ − n x̄ x̄ᵀ when a feature's mean dwarfs its spread.
 *
 * Determinism: rows are cut into chunks by count alone (not by thread count); a chunk's sums run in
 * row order into its own partial, whichever thread claims it, and the partials are added in chunk
 * order. So the result is bit-identical for every thread count.
 *
 * Threads: the calling thread takes chunks from the back and works block by block straight from
 * the JavaScript arrays (each block copied into an L1 scratch block); workers take chunks from the
 * front, from a copy the caller makes a couple of chunks ahead of them (they cannot see the
 * caller's arrays). Under contention for the cores (another process busy on them) two threads
 * can be slower than one: `threads: 1` then.
 *
 * Memory: one WebAssembly.Memory (shared when the runtime allows, so that workers can run the same
 * kernel on it) holds a control block, the shifts, the scratch block, the chunks' partials and,
 * with workers, the copy of their rows — at most gramLimits.dataCap bytes of rows at a time (more are done
 * in passes). It is kept (grown, never shrunk) for later fits.
 */

/** Rows per block: the kernel centres a block in place and sweeps it once per 4×4 output tile, so a block of ≤ 64 rows × p stays in L1. */
const B = 64;
/** Rows copied into the memory for workers at once, at most (bytes); settable so that tests can force several passes. */
export const gramLimits = { dataCap: 64 << 20 };
/** Bytes of chunk partials, at most (the chunk count shrinks for large p). */
const PART_CAP = 32 << 20;
/** The fewest rows per chunk: below that, claiming and reducing partials would cost more than the rows. */
const MIN_CHUNK = 2048;
/** At most this many chunks (each has a p × p partial). */
const MAX_CHUNKS = 64;
/** Chunks the caller keeps copied in ahead of the workers' claims. */
const LEAD = 2;
/** Below this much work (rows · p²) the fit stays on the calling thread. */
const MIN_PARALLEL_WORK = 4_000_000;
/** Features above this go to the JavaScript loops (the partials would not fit PART_CAP). */
export const GRAM_SIMD_MAX_P = 1024;

// Control words (Int32 at byte 0 of the memory); the worker job reads them by number.
const W_SEQ = 0;
const W_KIND = 1;
const W_C0 = 2;
const W_NEXT = 4;
const W_READY = 5;
const W_DONE = 6;
const W_ERR = 7;
const W_CH = 8;
const W_COUNT = 9;
const W_P = 10;
const W_K = 11;
const W_P4 = 12;
const W_SX = 13;
const W_SY = 14;
const W_PART = 15;
const W_PSTRIDE = 16;
const W_DX = 17;
const W_DY = 18;
const W_SESSION = 19;
const CTRL_BYTES = 128;

// ---- the kernel ------------------------------------------------------------------------------

/** zero(ptr, bytes): bytes (a multiple of 16) of zeros. */
function zeroFn(): WasmFunc {
  const [P, N, i] = [0, 1, 2];
  return { name: 'zero', params: [I32, I32], locals: [I32], body: forLoop(i, get(N), 16, v128.store(i32.add(get(P), get(i)), f64x2.const(0))) };
}

/**
 * centre(ptr, rows, w, sRep, sum): rows × w doubles at ptr (row-major) minus the shift, in place,
 * and their column sums added into sum. Two rows (2w doubles, w vectors) at a time against sRep
 * (the shift twice); sum has 2w entries, even rows in the first w, odd rows in the second.
 */
function centreFn(): WasmFunc {
  const [P, ROWS, W, S, SUM, end, row, v, w16, val, xs] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const at = (base: number, off: number): Bytes => i32.add(get(base), get(off));
  return {
    name: 'centre',
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, V128, F64],
    body: [
      ...set(w16, i32.shl(get(W), i32.const(4))),
      ...set(end, i32.add(get(P), i32.mul(i32.and(get(ROWS), i32.const(-2)), i32.shl(get(W), i32.const(3))))),
      ...forLoop(
        row,
        get(end),
        get(w16),
        forLoop(v, get(w16), 16, [
          ...set(val, f64x2.sub(v128.load(at(row, v)), v128.load(at(S, v)))),
          ...v128.store(at(row, v), get(val)),
          ...v128.store(at(SUM, v), f64x2.add(v128.load(at(SUM, v)), get(val))),
        ]),
        get(P),
      ),
      // An odd last row: scalar, into the even-row half of sum.
      ...ifThen(
        i32.and(get(ROWS), i32.const(1)),
        forLoop(v, i32.shl(get(W), i32.const(3)), 8, [
          ...set(xs, f64.sub(f64.load(at(end, v)), f64.load(at(S, v)))),
          ...f64.store(at(end, v), get(xs)),
          ...f64.store(at(SUM, v), f64.add(f64.load(at(SUM, v)), get(xs))),
        ]),
      ),
    ],
  };
}

/**
 * tiles(x, rows, p, P4, G): G[j][l] += Σ_r x[r][j]·x[r][l] for the lower block triangle of 4×4
 * tiles (l-tile ≤ j-tile), G row-major P4 × P4. Per tile and row: four broadcasts x[r][j..j+3],
 * two vectors x[r][l..l+3], eight multiply-adds into eight register accumulators, which meet
 * memory once per block. Columns past p read the next row's values: they only reach G's padding.
 */
function tilesFn(): WasmFunc {
  const [X, ROWS, P, P4, G, jb, lb, pj, pl, end, stride, g, gs] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const acc = [13, 14, 15, 16, 17, 18, 19, 20];
  const [a, b0, b1] = [21, 22, 23];
  const gAt = (i: number): Bytes => (i === 0 ? get(g) : i32.add(get(g), i32.mul(get(gs), i32.const(i))));
  const loadAcc: Bytes = [];
  const storeAcc: Bytes = [];
  for (let i = 0; i < 4; i++) {
    loadAcc.push(...set(acc[2 * i], v128.load(gAt(i))), ...set(acc[2 * i + 1], v128.load(gAt(i), 16)));
    storeAcc.push(...v128.store(gAt(i), get(acc[2 * i])), ...v128.store(gAt(i), get(acc[2 * i + 1]), 16));
  }
  const row: Bytes = [...set(b0, v128.load(get(pl))), ...set(b1, v128.load(get(pl), 16))];
  for (let i = 0; i < 4; i++) {
    row.push(
      ...set(a, v128.load64_splat(get(pj), 8 * i)),
      ...set(acc[2 * i], f64x2.add(get(acc[2 * i]), f64x2.mul(get(a), get(b0)))),
      ...set(acc[2 * i + 1], f64x2.add(get(acc[2 * i + 1]), f64x2.mul(get(a), get(b1)))),
    );
  }
  row.push(...set(pl, i32.add(get(pl), get(stride))));
  return {
    name: 'tiles',
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, ...acc.map((): ValType => V128), V128, V128, V128],
    body: [
      ...set(stride, i32.shl(get(P), i32.const(3))),
      ...set(gs, i32.shl(get(P4), i32.const(3))),
      ...forLoop(
        jb,
        get(P4),
        4,
        forLoop(lb, i32.add(get(jb), i32.const(4)), 4, [
          ...set(g, i32.add(get(G), i32.shl(i32.add(i32.mul(get(jb), get(P4)), get(lb)), i32.const(3)))),
          ...loadAcc,
          ...set(pj, i32.add(get(X), i32.shl(get(jb), i32.const(3)))),
          ...set(pl, i32.add(get(X), i32.shl(get(lb), i32.const(3)))),
          ...set(end, i32.add(get(pj), i32.mul(get(ROWS), get(stride)))),
          ...doWhile(pj, get(end), get(stride), row),
          ...storeAcc,
        ]),
      ),
    ],
  };
}

/** The padded width of Q's rows: p rounded up to 8 (P4 is p rounded up to 4). */
const p8 = (P4: Bytes): Bytes => i32.and(i32.add(P4, i32.const(4)), i32.const(-8));

/**
 * xty(x, y, rows, p, k, P4, Q): Q[t][j] += Σ_r x[r][j]·y[r][t], Q row-major k × P8 (p rounded up
 * to 8), eight columns (four accumulators, four independent add chains) at a time.
 */
function xtyFn(): WasmFunc {
  const [X, Y, ROWS, P, K, P4, Q, t, jb, px, py, end, stride, ks, q, P8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const acc = [16, 17, 18, 19];
  const ys = 20;
  return {
    name: 'xty',
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, I32, V128, V128, V128, V128, V128],
    body: [
      ...set(stride, i32.shl(get(P), i32.const(3))),
      ...set(ks, i32.shl(get(K), i32.const(3))),
      ...set(P8, p8(get(P4))),
      ...forLoop(
        t,
        get(K),
        1,
        forLoop(jb, get(P8), 8, [
          ...set(q, i32.add(get(Q), i32.shl(i32.add(i32.mul(get(t), get(P8)), get(jb)), i32.const(3)))),
          ...acc.flatMap((a, i) => set(a, v128.load(get(q), 16 * i))),
          ...set(px, i32.add(get(X), i32.shl(get(jb), i32.const(3)))),
          ...set(py, i32.add(get(Y), i32.shl(get(t), i32.const(3)))),
          ...set(end, i32.add(get(px), i32.mul(get(ROWS), get(stride)))),
          ...doWhile(px, get(end), get(stride), [
            ...set(ys, v128.load64_splat(get(py))),
            ...acc.flatMap((a, i) => set(a, f64x2.add(get(a), f64x2.mul(v128.load(get(px), 16 * i), get(ys))))),
            ...set(py, i32.add(get(py), get(ks))),
          ]),
          ...acc.flatMap((a, i) => v128.store(get(q), get(a), 16 * i)),
        ]),
      ),
    ],
  };
}

/** Where a partial's pieces lie: G (P4 × P4), Q (k × P8), the sums of x − s (2p) and of y − s_y (2k). */
function partLayout(PART: number, P: number, K: number, P4: number, Q: number, sumX: number, sumY: number): Bytes {
  return [
    ...set(Q, i32.add(get(PART), i32.shl(i32.mul(get(P4), get(P4)), i32.const(3)))),
    ...set(sumX, i32.add(get(Q), i32.shl(i32.mul(get(K), p8(get(P4))), i32.const(3)))),
    ...set(sumY, i32.add(get(sumX), i32.shl(get(P), i32.const(4)))),
  ];
}

const [F_ZERO, F_CENTRE, F_TILES, F_XTY, F_BLOCK] = [0, 1, 2, 3, 4];

/**
 * block(x, y, rows, p, k, P4, sx, sy, part): rows (≤ B) of X and Y centred in place, then their
 * Gram tiles, Xᵀy and sums added into the partial at part.
 */
function blockFn(): WasmFunc {
  const [X, Y, ROWS, P, K, P4, SX, SY, PART, Q, sumX, sumY] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  return {
    name: 'block',
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32],
    body: [
      ...partLayout(PART, P, K, P4, Q, sumX, sumY),
      ...call(F_CENTRE, get(X), get(ROWS), get(P), get(SX), get(sumX)),
      ...call(F_CENTRE, get(Y), get(ROWS), get(K), get(SY), get(sumY)),
      ...call(F_TILES, get(X), get(ROWS), get(P), get(P4), get(PART)),
      ...call(F_XTY, get(X), get(Y), get(ROWS), get(P), get(K), get(P4), get(Q)),
    ],
  };
}

/**
 * chunk(x, y, rows, p, k, P4, sx, sy, part): one chunk's partial from zero, block by block of B
 * rows of the chunk's copy in memory. The calling thread does the same block by block from the
 * JavaScript arrays (copying each block in first): the same blocks in the same order, so the
 * same bits.
 */
function chunkFn(): WasmFunc {
  const [X, Y, ROWS, P, K, P4, SX, SY, PART, b, nb, Q, sumX, sumY] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const rest = i32.sub(get(ROWS), get(b));
  return {
    name: 'chunk',
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32],
    body: [
      ...partLayout(PART, P, K, P4, Q, sumX, sumY),
      ...call(F_ZERO, get(PART), i32.sub(i32.add(get(sumY), i32.shl(get(K), i32.const(4))), get(PART))),
      ...forLoop(b, get(ROWS), B, [
        ...set(nb, select(i32.const(B), rest, i32.gt_u(rest, i32.const(B)))),
        ...call(
          F_BLOCK,
          i32.add(get(X), i32.shl(i32.mul(get(b), get(P)), i32.const(3))),
          i32.add(get(Y), i32.shl(i32.mul(get(b), get(K)), i32.const(3))),
          get(nb),
          get(P),
          get(K),
          get(P4),
          get(SX),
          get(SY),
          get(PART),
        ),
      ]),
    ],
  };
}

type ChunkKernel = (x: number, y: number, rows: number, p: number, k: number, P4: number, sx: number, sy: number, part: number) => void;
interface Kernels {
  chunk: ChunkKernel;
  block: ChunkKernel;
  zero: (ptr: number, bytes: number) => void;
}

/**
 * A worker's claim loop: chunks from the front of the current pass (word 4 packs the unclaimed
 * range [front, back) as front | back << 16; the calling thread takes from the back), each run
 * from its copy in memory once the caller has made it (READY, word 5). Runs as source.
 */
function claimFront(ctrl: Int32Array, chunk: ChunkKernel, session: number): number {
  let ran = 0;
  for (;;) {
    if (Atomics.load(ctrl, 19) !== session) return ran;
    const w = Atomics.load(ctrl, 4);
    const c = w & 0xffff;
    if (c >= w >>> 16) return ran;
    if (Atomics.compareExchange(ctrl, 4, w, w + 1) !== w) continue;
    let r = Atomics.load(ctrl, 5);
    for (let i = 0; r <= c && i < 20000; i++) r = Atomics.load(ctrl, 5);
    while (r <= c) {
      Atomics.wait(ctrl, 5, r, 20);
      r = Atomics.load(ctrl, 5);
    }
    const ch = ctrl[8];
    const p = ctrl[10];
    const k = ctrl[11];
    const off = (c - ctrl[2]) * ch;
    chunk(ctrl[17] + off * p * 8, ctrl[18] + off * k * 8, Math.min(ch, ctrl[9] - c * ch), p, k, ctrl[12], ctrl[13], ctrl[14], ctrl[15] + c * ctrl[16]);
    ran++;
    Atomics.add(ctrl, 6, 1);
    Atomics.notify(ctrl, 6);
  }
}

interface GramJob {
  module: WasmModule;
  memory: WasmMemory;
  session: number;
  claim: string;
}

/** A worker's part of one fit: run chunks as passes are published, until the fit ends. Runs as source on a pooled worker. */
function gramWorker(d: GramJob): void {
  const WA = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => { exports: { chunk: ChunkKernel } } } }).WebAssembly;
  const ctrl = new Int32Array(d.memory.buffer, 0, 32);
  try {
    const claim = new Function(`return (${d.claim});`)() as typeof claimFront;
    const chunk = new WA.Instance(d.module, { env: { mem: d.memory } }).exports.chunk;
    let seen = -1;
    for (;;) {
      if (Atomics.load(ctrl, 19) !== d.session) return;
      if (Atomics.load(ctrl, 1) === 1) return;
      const s = Atomics.load(ctrl, 0);
      if (s !== seen) {
        seen = s;
        claim(ctrl, chunk, d.session);
        continue;
      }
      // Between passes: spin briefly (the main thread is copying), then sleep.
      let t = s;
      for (let i = 0; t === s && i < 20000; i++) t = Atomics.load(ctrl, 0);
      if (t === s) Atomics.wait(ctrl, 0, s, 20);
    }
  } catch (e) {
    Atomics.store(ctrl, 7, 1);
    Atomics.notify(ctrl, 6);
    throw e;
  }
}

// ---- the state kept between fits -------------------------------------------------------------

interface Engine {
  memory: WasmMemory;
  module: WasmModule;
  shared: boolean;
  k: Kernels;
  session: number;
}

let engine: Engine | null | undefined;

/**
 * Compiles with V8's optimizing tier straight away: the baseline tier (Liftoff) runs these loops
 * about 2.5× slower, and V8 only tiers a function up after a budget of work that here amounts to
 * some ten fits. The flag is set for this compile only and restored (both tiers compute the same
 * IEEE operations, so results do not depend on it); where flags cannot be set, the default tiering.
 */
function optimizedModule(WA: NonNullable<ReturnType<typeof wasmApi>>, bytes: Uint8Array): WasmModule {
  let set = false;
  // Already off for the whole process: nothing to do (and nothing to turn back on).
  if ([...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--no-liftoff'))) return new WA.Module(bytes);
  try {
    setFlagsFromString('--no-liftoff');
    set = true;
  } catch {
    // keep the default
  }
  try {
    return new WA.Module(bytes);
  } finally {
    if (set) setFlagsFromString('--liftoff');
  }
}

function getEngine(): Engine | null {
  if (engine !== undefined) return engine;
  engine = null;
  const WA = wasmApi();
  if (!WA || !simdAvailable()) return null;
  const funcs = [zeroFn(), centreFn(), tilesFn(), xtyFn(), blockFn(), chunkFn()];
  // Shared when possible (workers need it); 2 GiB at most keeps i32 addresses positive.
  for (const shared of [true, false]) {
    try {
      const max = 32768;
      const memory = new WA.Memory(shared ? { initial: 1, maximum: max, shared: true } : { initial: 1, maximum: max });
      const module = optimizedModule(WA, moduleBytes({ memory: { min: 1, max, shared }, funcs }));
      const k = new WA.Instance(module, { env: { mem: memory } }).exports as unknown as Kernels;
      engine = { memory, module, shared, k, session: 0 };
      break;
    } catch {
      // try the next
    }
  }
  return engine;
}

/** Whether the SIMD path can run here. */
export function gramSimdAvailable(): boolean {
  return getEngine() !== null;
}

export interface GramParts {
  count: number;
  xMean: Float64Array;
  yMean: Float64Array;
  G: Float64Array;
  q: Float64Array[];
}

/** The selected rows: a contiguous range from `start`, or an explicit list. */
export type GramRows = { start: number; count: number } | { list: ArrayLike<number>; count: number };

/** How the last SIMD fit was shared out (for benchmarks and debugging; results never depend on it). */
export const gramStats = { chunks: 0, onCaller: 0, workers: 0 };

const align = (v: number, a: number): number => Math.ceil(v / a) * a;

/**
 * centredGram's result (see ridge.ts) by the SIMD kernel; `threads` counts the calling thread
 * (0 = one per core). Returns undefined when WebAssembly SIMD is unavailable.
 */
export function centredGramSimd(
  X: Float64Array,
  p: number,
  Y: Float64Array,
  k: number,
  fitIntercept: boolean,
  rows: GramRows,
  threads = 0,
): GramParts | undefined {
  const E = getEngine();
  if (!E || p === 0 || p > GRAM_SIMD_MAX_P || k === 0) return undefined;
  const count = rows.count;
  const rowAt =
    'list' in rows
      ? (i: number): number => rows.list[i]
      : (
          (s: number) =>
          (i: number): number =>
            s + i
        )(rows.start);

  // Shift: the mean of the first rows (zero without an intercept: then the sums are the raw ones).
  const sx = new Float64Array(p);
  const sy = new Float64Array(k);
  if (fitIntercept) {
    const m0 = Math.min(count, B);
    for (let i = 0; i < m0; i++) {
      const r = rowAt(i);
      for (let j = 0; j < p; j++) sx[j] += X[r * p + j];
      for (let t = 0; t < k; t++) sy[t] += Y[r * k + t];
    }
    for (let j = 0; j < p; j++) sx[j] /= m0;
    for (let t = 0; t < k; t++) sy[t] /= m0;
  }

  // Layout; chunk boundaries depend on count and sizes only.
  const P4 = align(p, 4);
  const P8 = align(p, 8);
  const partStride = (P4 * P4 + k * P8 + 2 * p + 2 * k) * 8;
  const maxChunks = Math.max(1, Math.min(MAX_CHUNKS, Math.floor(PART_CAP / partStride)));
  const CH = align(Math.max(MIN_CHUNK, Math.ceil(count / maxChunks)), B);
  const nChunks = Math.ceil(count / CH);
  const t = resolveThreads(threads);
  const want = E.shared && count * p * p >= MIN_PARALLEL_WORK ? Math.min(t, nChunks) - 1 : 0;
  // Workers read rows from a copy in memory (DATA_CAP at a time: passes); the caller copies
  // each block it works on into a scratch block instead (it stays in L1, and single-threaded
  // fits copy nothing else).
  const passChunks = want > 0 ? Math.max(1, Math.min(nChunks, Math.floor(gramLimits.dataCap / ((p + k) * 8 * CH)))) : 0;
  const offSx = CTRL_BYTES;
  const offSy = offSx + 2 * p * 8;
  const offScrX = align(offSy + 2 * k * 8, 64);
  const offScrY = align(offScrX + B * p * 8 + 64, 64);
  const offPart = align(offScrY + B * k * 8 + 64, 64);
  const offX = align(offPart + nChunks * partStride, 64);
  const offY = align(offX + passChunks * CH * p * 8 + 64, 64);
  const total = offY + passChunks * CH * k * 8 + 64;
  const mem = E.memory;
  const have = mem.buffer.byteLength;
  if (total > have) {
    try {
      mem.grow(Math.ceil((total - have) / PAGE));
    } catch {
      return undefined;
    }
  }
  const buf = mem.buffer;
  const F = new Float64Array(buf);
  const ctrl = new Int32Array(buf, 0, 32);
  for (let j = 0; j < p; j++) F[offSx / 8 + j] = F[offSx / 8 + p + j] = sx[j];
  for (let u = 0; u < k; u++) F[offSy / 8 + u] = F[offSy / 8 + k + u] = sy[u];

  const session = ++E.session;
  Atomics.store(ctrl, W_SESSION, session);
  Atomics.store(ctrl, W_KIND, 0);
  Atomics.store(ctrl, W_ERR, 0);
  Atomics.store(ctrl, W_READY, 0);
  Atomics.store(ctrl, W_DONE, 0);
  for (const [w, v] of [
    [W_CH, CH],
    [W_COUNT, count],
    [W_P, p],
    [W_K, k],
    [W_P4, P4],
    [W_SX, offSx],
    [W_SY, offSy],
    [W_PART, offPart],
    [W_PSTRIDE, partStride],
    [W_DX, offX],
    [W_DY, offY],
    [W_C0, 0],
  ] as const)
    Atomics.store(ctrl, w, v);
  Atomics.store(ctrl, W_NEXT, 0);
  // Workers that got the job (fewer than wanted where threads cannot be spawned).
  const workers = want > 0 ? runJob(want, gramWorker, { module: E.module, memory: mem, session, claim: String(claimFront) } satisfies GramJob) : 0;

  /** Selected rows [i0, i1) into memory at (doubles) dx and dy. */
  const copyRows = (i0: number, i1: number, dx: number, dy: number): void => {
    if ('list' in rows) {
      const list = rows.list;
      for (let i = i0, ox = dx, oy = dy; i < i1; i++, ox += p, oy += k) {
        const r = list[i];
        for (let j = 0; j < p; j++) F[ox + j] = X[r * p + j];
        for (let u = 0; u < k; u++) F[oy + u] = Y[r * k + u];
      }
    } else {
      const r0 = rows.start + i0;
      const r1 = rows.start + i1;
      F.set(X.subarray(r0 * p, r1 * p), dx);
      F.set(Y.subarray(r0 * k, r1 * k), dy);
    }
  };
  const K = E.k;
  let onCaller = 0;
  try {
    for (let c0 = 0; c0 < Math.max(nChunks, 1); c0 += passChunks || nChunks) {
      const c1 = passChunks ? Math.min(nChunks, c0 + passChunks) : nChunks;
      Atomics.store(ctrl, W_C0, c0);
      Atomics.store(ctrl, W_READY, c0);
      Atomics.store(ctrl, W_NEXT, c0 | (c1 << 16));
      Atomics.add(ctrl, W_SEQ, 1);
      if (workers > 0) Atomics.notify(ctrl, W_SEQ);
      for (;;) {
        const w = Atomics.load(ctrl, W_NEXT);
        const f = w & 0xffff;
        const b = w >>> 16;
        const ready = ctrl[W_READY];
        // Copy in the chunks workers have claimed ([ready, f): they wait for them), and LEAD more.
        if (ready < f || (workers > 0 && ready < b && ready < f + LEAD)) {
          const i0 = ready * CH;
          copyRows(i0, Math.min(count, i0 + CH), offX / 8 + (ready - c0) * CH * p, offY / 8 + (ready - c0) * CH * k);
          Atomics.store(ctrl, W_READY, ready + 1);
          Atomics.notify(ctrl, W_READY);
          continue;
        }
        if (f >= b) break;
        if (Atomics.compareExchange(ctrl, W_NEXT, w, f | ((b - 1) << 16)) !== w) continue;
        const c = b - 1;
        const i0 = c * CH;
        const i1 = Math.min(count, i0 + CH);
        const part = offPart + c * partStride;
        if (c < ready) {
          K.chunk(offX + (c - c0) * CH * p * 8, offY + (c - c0) * CH * k * 8, i1 - i0, p, k, P4, offSx, offSy, part);
        } else {
          // The same blocks as `chunk` runs, each copied into the scratch block first.
          K.zero(part, partStride);
          for (let i = i0; i < i1; i += B) {
            const nb = Math.min(B, i1 - i);
            copyRows(i, i + nb, offScrX / 8, offScrY / 8);
            K.block(offScrX, offScrY, nb, p, k, P4, offSx, offSy, part);
          }
        }
        onCaller++;
        Atomics.add(ctrl, W_DONE, 1);
      }
      let d = Atomics.load(ctrl, W_DONE);
      for (let i = 0; d < c1 && i < 20000; i++) d = Atomics.load(ctrl, W_DONE);
      while (d < c1) {
        if (Atomics.load(ctrl, W_ERR) !== 0) throw new Error('ridge: a Gram worker thread failed');
        Atomics.wait(ctrl, W_DONE, d, 50);
        d = Atomics.load(ctrl, W_DONE);
      }
    }
  } finally {
    Atomics.store(ctrl, W_KIND, 1);
    Atomics.add(ctrl, W_SEQ, 1);
    if (workers > 0) Atomics.notify(ctrl, W_SEQ);
  }

  gramStats.chunks = nChunks;
  gramStats.onCaller = onCaller;
  gramStats.workers = workers;

  // Partials in chunk order.
  const G = new Float64Array(p * p);
  const q = Array.from({ length: k }, () => new Float64Array(p));
  const sumX = new Float64Array(p);
  const sumY = new Float64Array(k);
  for (let c = 0; c < nChunks; c++) {
    const o = (offPart + c * partStride) / 8;
    for (let j = 0; j < p; j++) for (let l = 0; l <= j; l++) G[j * p + l] += F[o + j * P4 + l];
    const oq = o + P4 * P4;
    for (let u = 0; u < k; u++) for (let j = 0; j < p; j++) q[u][j] += F[oq + u * P8 + j];
    const os = oq + k * P8;
    for (let j = 0; j < p; j++) sumX[j] += F[os + j] + F[os + p + j];
    const oy = os + 2 * p;
    for (let u = 0; u < k; u++) sumY[u] += F[oy + u] + F[oy + k + u];
  }
  const xMean = new Float64Array(p);
  const yMean = new Float64Array(k);
  if (fitIntercept) {
    // Σ(x − s)(x − s)ᵀ − n·d̄ d̄ᵀ with d̄ = Σ(x − s)/n; the means are s + d̄.
    const dx = sumX.map((v) => v / count);
    const dy = sumY.map((v) => v / count);
    for (let j = 0; j < p; j++) for (let l = 0; l <= j; l++) G[j * p + l] -= sumX[j] * dx[l];
    for (let u = 0; u < k; u++) for (let j = 0; j < p; j++) q[u][j] -= sumX[j] * dy[u];
    for (let j = 0; j < p; j++) xMean[j] = sx[j] + dx[j];
    for (let u = 0; u < k; u++) yMean[u] = sy[u] + dy[u];
  }
  for (let j = 0; j < p; j++) for (let l = 0; l < j; l++) G[l * p + j] = G[j * p + l];
  return { count, xMean, yMean, G, q };
}
