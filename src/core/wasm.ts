/**
 * A minimal byte-level WebAssembly encoder, for the small SIMD kernels fxflow assembles at run time
 * (no toolchain, no binary blobs in the repo). It writes one module: an imported memory, functions
 * with their own signatures, and exports of those functions by name.
 *
 * Code is built as plain byte arrays: an "expression" is the bytes that leave its value on the
 * stack, and the helpers below compose expressions, so `f64x2.add(v128.load(get(0)), get(1))` reads
 * as the stack machine runs it. Only the opcodes fxflow's kernels use are here; add more as needed
 * (the numbers are those of the WebAssembly 2.0 core spec, SIMD included).
 *
 * The global `WebAssembly` is not in the ES2022 lib the project compiles against, so `wasmApi()`
 * hands out the few parts used, typed.
 */

export type Bytes = number[];

// ---- encodings ---------------------------------------------------------------------------------

/** Unsigned LEB128 (sizes, indices, memarg fields); n < 2³². */
export function uleb(n: number): Bytes {
  const out: Bytes = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32 constants); −2³¹ ≤ n < 2³¹. */
export function sleb(n: number): Bytes {
  const out: Bytes = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A vector: its length, then its items. */
export const vec = (items: Bytes[]): Bytes => [...uleb(items.length), ...items.flat()];
/** A section: id, byte size, body. */
export const section = (id: number, body: Bytes): Bytes => [id, ...uleb(body.length), ...body];
/** A name (UTF-8, length-prefixed). */
export const name = (s: string): Bytes => vec([...new TextEncoder().encode(s)].map((c) => [c]));

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

/** A function type: params → results. */
export const funcType = (params: ValType[], results: ValType[] = []): Bytes => [0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))];

/** Memory limits: min pages (64 KiB), optional max; shared memories need a max. */
export interface MemoryLimits {
  min: number;
  max?: number;
  shared?: boolean;
}
export function limits(l: MemoryLimits): Bytes {
  if (l.shared && l.max === undefined) throw new RangeError('a shared memory needs a maximum');
  if (l.max === undefined) return [0x00, ...uleb(l.min)];
  return [l.shared ? 0x03 : 0x01, ...uleb(l.min), ...uleb(l.max)];
}

// ---- instructions ------------------------------------------------------------------------------

export const get = (i: number): Bytes => [0x20, ...uleb(i)];
export const set = (i: number, e: Bytes): Bytes => [...e, 0x21, ...uleb(i)];
export const tee = (i: number, e: Bytes): Bytes => [...e, 0x22, ...uleb(i)];
export const call = (fn: number, ...args: Bytes[]): Bytes => [...args.flat(), 0x10, ...uleb(fn)];
/** select(a, b, cond): a if cond ≠ 0, else b. */
export const select = (a: Bytes, b: Bytes, cond: Bytes): Bytes => [...a, ...b, ...cond, 0x1b];

const bin =
  (op: number) =>
  (a: Bytes, b: Bytes): Bytes => [...a, ...b, op];

/** i32 arithmetic and comparisons (comparisons leave 0 or 1). */
export const i32 = {
  const: (v: number): Bytes => [0x41, ...sleb(v | 0)],
  eqz: (a: Bytes): Bytes => [...a, 0x45],
  eq: bin(0x46),
  ne: bin(0x47),
  lt_s: bin(0x48),
  lt_u: bin(0x49),
  gt_s: bin(0x4a),
  gt_u: bin(0x4b),
  le_s: bin(0x4c),
  le_u: bin(0x4d),
  ge_s: bin(0x4e),
  ge_u: bin(0x4f),
  add: bin(0x6a),
  sub: bin(0x6b),
  mul: bin(0x6c),
  and: bin(0x71),
  or: bin(0x72),
  shl: bin(0x74),
  shr_u: bin(0x76),
};

/**
 * A memory argument: alignment as log2 bytes (a hint; unaligned accesses still work) and a
 * constant byte offset added to the address (free in the instruction).
 */
const memarg = (align: number, offset: number): Bytes => [...uleb(align), ...uleb(offset)];

/** Scalar f64. */
export const f64 = {
  const: (v: number): Bytes => [0x44, ...new Uint8Array(new Float64Array([v]).buffer)],
  load: (addr: Bytes, offset = 0): Bytes => [...addr, 0x2b, ...memarg(3, offset)],
  store: (addr: Bytes, v: Bytes, offset = 0): Bytes => [...addr, ...v, 0x39, ...memarg(3, offset)],
  add: bin(0xa0),
  sub: bin(0xa1),
  mul: bin(0xa2),
  div: bin(0xa3),
};

const simd = (op: number): Bytes => [0xfd, ...uleb(op)];
const simdBin =
  (op: number) =>
  (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(op)];

/** 128-bit vector loads and stores. */
export const v128 = {
  load: (addr: Bytes, offset = 0): Bytes => [...addr, ...simd(0x00), ...memarg(4, offset)],
  /** One f64 from memory into both lanes. */
  load64_splat: (addr: Bytes, offset = 0): Bytes => [...addr, ...simd(0x0a), ...memarg(3, offset)],
  store: (addr: Bytes, v: Bytes, offset = 0): Bytes => [...addr, ...v, ...simd(0x0b), ...memarg(4, offset)],
  /** A constant vector from 16 bytes. */
  const: (bytes: ArrayLike<number>): Bytes => [...simd(0x0c), ...Array.from(bytes)],
};

/** Two f64 lanes (IEEE arithmetic per lane, deterministic: no fused multiply-add). */
export const f64x2 = {
  splat: (a: Bytes): Bytes => [...a, ...simd(0x14)],
  extract_lane: (v: Bytes, lane: 0 | 1): Bytes => [...v, ...simd(0x21), lane],
  const: (a: number, b: number = a): Bytes => v128.const(new Uint8Array(new Float64Array([a, b]).buffer)),
  add: simdBin(0xf0),
  sub: simdBin(0xf1),
  mul: simdBin(0xf2),
  div: simdBin(0xf3),
};

// ---- control -----------------------------------------------------------------------------------

/** if (cond) then [else otherwise], no result value. */
export const ifThen = (cond: Bytes, then: Bytes, otherwise?: Bytes): Bytes => [...cond, 0x04, 0x40, ...then, ...(otherwise ? [0x05, ...otherwise] : []), 0x0b];

/**
 * for (ctr = from; ctr < limit; ctr += step) body — unsigned compare; `limit` and `step` (a
 * constant or an expression) are evaluated on each iteration (keep them local.gets in hot loops).
 */
export function forLoop(ctr: number, limit: Bytes, step: number | Bytes, body: Bytes, from: Bytes = i32.const(0)): Bytes {
  const inc = typeof step === 'number' ? i32.const(step) : step;
  return [
    ...set(ctr, from),
    0x02,
    0x40, // block
    0x03,
    0x40, // loop
    ...i32.ge_u(get(ctr), limit),
    0x0d,
    1, // br_if 1: leave the block
    ...body,
    ...set(ctr, i32.add(get(ctr), inc)),
    0x0c,
    0, // br 0: next iteration
    0x0b,
    0x0b,
  ];
}

/**
 * do { body; ctr += step } while (ctr < limit) — one compare per iteration at the bottom; the
 * caller guarantees at least one iteration (ctr < limit on entry).
 */
export function doWhile(ctr: number, limit: Bytes, step: number | Bytes, body: Bytes): Bytes {
  const inc = typeof step === 'number' ? i32.const(step) : step;
  return [
    0x03,
    0x40, // loop
    ...body,
    ...i32.lt_u(tee(ctr, i32.add(get(ctr), inc)), limit),
    0x0d,
    0, // br_if 0
    0x0b,
  ];
}

// ---- modules -----------------------------------------------------------------------------------

export interface WasmFunc {
  /** Export name (every function is exported). */
  name: string;
  params: ValType[];
  results?: ValType[];
  /** Locals after the params, in index order. */
  locals?: ValType[];
  /** The body's instructions (without the final `end`). */
  body: Bytes;
}

export interface ModuleSpec {
  /** The imported memory (module and field names default to "env" and "mem"). */
  memory: MemoryLimits & { module?: string; field?: string };
  /** Functions, indexed from 0 in this order (for `call`). */
  funcs: WasmFunc[];
}

/** The binary module: type, import, function, export and code sections. */
export function moduleBytes(spec: ModuleSpec): Uint8Array {
  const { funcs } = spec;
  const types = funcs.map((f) => funcType(f.params, f.results ?? []));
  const mem = spec.memory;
  const imports = vec([[...name(mem.module ?? 'env'), ...name(mem.field ?? 'mem'), 0x02, ...limits(mem)]]);
  const fidx = vec(funcs.map((_, i) => uleb(i)));
  const exports = vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]));
  const code = vec(
    funcs.map((f) => {
      // Consecutive locals of one type share an entry.
      const groups: Bytes[] = [];
      const ls = f.locals ?? [];
      for (let i = 0; i < ls.length; ) {
        let j = i;
        while (j < ls.length && ls[j] === ls[i]) j++;
        groups.push([...uleb(j - i), ls[i]]);
        i = j;
      }
      const body = [...vec(groups), ...f.body, 0x0b];
      return [...uleb(body.length), ...body];
    }),
  );
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, fidx),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

// ---- the runtime API ---------------------------------------------------------------------------

/** A WebAssembly.Memory, as far as fxflow uses it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** Grows by `pages` (64 KiB each); returns the old size in pages. Re-read `buffer` after. */
  grow(pages: number): number;
}

/** A compiled module (opaque; can be posted to worker threads). */
export type WasmModule = object;

/** The parts of the global `WebAssembly` used here. */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
}

/** The global WebAssembly, or undefined where there is none. */
export function wasmApi(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

let simdOk: boolean | undefined;

/** Whether this runtime validates WebAssembly SIMD (f64x2 arithmetic). */
export function simdAvailable(): boolean {
  if (simdOk !== undefined) return simdOk;
  const WA = wasmApi();
  try {
    const probe = moduleBytes({
      memory: { min: 1 },
      funcs: [{ name: 'f', params: [I32], body: v128.store(get(0), f64x2.add(v128.load(get(0)), f64x2.splat(f64.const(1)))) }],
    });
    simdOk = WA !== undefined && WA.validate(probe);
  } catch {
    simdOk = false;
  }
  return simdOk;
}

/** 64 KiB: the WebAssembly page. */
export const PAGE = 65536;
