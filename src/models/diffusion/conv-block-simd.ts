/**
 * The fused diffusion denoiser's loops (conv-block.ts: the block's FiLM, SiLU taps, residual and
 * backward, the input embedding and the read-out each way, and a 4 × 4-block transpose) as
 * WebAssembly SIMD (f32x4), for the wasm backend: a small module assembled here, byte by byte (as
 * src/models/nn/lstm-simd.ts), that imports tfjs-wasm's own memory and works on tensors by their
 * heap offsets. On the diffusion bench the scalar JavaScript loops took ≈ 3 of a ≈ 8 ms training
 * step (the block's backward alone ≈ 1.3 ms; as SIMD ≈ 0.15).
 *
 * All arguments are i32: byte addresses into the heap and sizes; C % 4 == 0 (the caller keeps the
 * JavaScript loop otherwise). Arithmetic is float32 in a fixed order (no fused multiply-add), so
 * results are bit-identical from run to run; they differ from the JavaScript loop's (float64
 * accumulators) by float32 rounding.
 */

import { F32, forLoop, get, I32, i32, ifThen, moduleBytes, set, uleb, V128, v128, type Bytes, type ValType } from '../../core/wasm.js';

export interface ConvSimd {
  /** conv-block.ts filmPre: gb += fB (in place); u = h·(1 + γ) + β. */
  filmPre(h: number, gb: number, fB: number, u: number, B: number, k: number, C: number, r: number): void;
  /** conv-block.ts siluTaps over the N = B·k rows of cat [N, K·C] (not its PAD rows). */
  siluTaps(u: number, sg: number, cat: number, B: number, k: number, C: number, K: number, left: number): void;
  /**
   * dst [cols, rows] = srcᵀ for src [rows, cols], dst's rows `stride` floats apart; rows and cols
   * multiples of 4. (A stride of a power of two would send the four rows a block writes, and the
   * next block's, to one cache set: give it a few floats more.)
   */
  transpose(src: number, dst: number, rows: number, cols: number, stride: number): void;
  /** conv-block.ts readOutForward: out [N] = Σ_c h·σ(h)·w + a. */
  readOutForward(h: number, sg: number, w: number, a: number, out: number, N: number, C: number): void;
  /** conv-block.ts readOutBackward. */
  readOutBackward(dy: number, h: number, sg: number, w: number, dh: number, dw: number, da: number, N: number, C: number): void;
  /** conv-block.ts embedForward. */
  embedForward(x: number, w: number, a: number, pos: number, out: number, B: number, k: number, C: number): void;
  /** conv-block.ts embedBackward. */
  embedBackward(dy: number, x: number, w: number, dx: number, dw: number, da: number, dpos: number, B: number, k: number, C: number): void;
  /** out = h + (y + cB), rows of C. */
  residual(h: number, y: number, cB: number, out: number, N: number, C: number): void;
  /**
   * From dy [N, C] and dcat [N, K·C]: dh [N, C], dgb [r, 2C] (dγ, dβ per FiLM row) and dcB [C]
   * (Σ dy); u, sg, h [N, C], gb [r, 2C] as in filmTapsBackward (which also writes dyᵀ: not needed
   * here, where the weight gradient is catᵀ·dy). N = B·k, rows of h grouped by gb's row (B/r rows of k each).
   */
  tapsBackward(
    dy: number,
    dcat: number,
    u: number,
    sg: number,
    h: number,
    gb: number,
    dh: number,
    dgb: number,
    dcB: number,
    B: number,
    k: number,
    C: number,
    K: number,
    left: number,
    r: number,
  ): void;
}

const simd = (op: number): Bytes => [0xfd, ...uleb(op)];
const f4 = {
  add: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(0xe4)],
  sub: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(0xe5)],
  mul: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(0xe6)],
  splat: (x: number): Bytes => v128.const(new Uint8Array(new Float32Array([x, x, x, x]).buffer)),
};
/** i8x16.shuffle picking f32 lanes (0–3 from a, 4–7 from b). */
const shuffle = (a: Bytes, b: Bytes, lanes: number[]): Bytes => [...a, ...b, ...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])];
const ONE = f4.splat(1);
const ZERO = f4.splat(0);
const add = i32.add;
const mul = i32.mul;
const c32 = i32.const;

function tapsBackwardFn(): Fn {
  const [DY, DCAT, U, SG, H, GB, DH, DGB, DCB, B, K_, C, K, LEFT, R] = Array.from({ length: 15 }, (_, i) => i);
  // i32 locals
  const [q, b, i, c, j, n, Cb, KCb, per, gbq, dgbq, x, t, src, bEnd] = Array.from({ length: 15 }, (_, m) => 15 + m);
  // v128 locals
  const [dg, uu, s, du, d] = Array.from({ length: 5 }, (_, m) => 30 + m);
  const body: Bytes = [
    ...set(Cb, mul(get(C), c32(4))),
    ...set(KCb, mul(get(K), get(Cb))),
    ...set(per, [...get(B), ...get(R), 0x6e]), // i32.div_u
    ...forLoop(c, get(Cb), 16, v128.store(add(get(DCB), get(c)), ZERO)),
    ...forLoop(q, get(R), 1, [
      ...set(gbq, add(get(GB), mul(get(q), mul(get(Cb), c32(2))))),
      ...set(dgbq, add(get(DGB), mul(get(q), mul(get(Cb), c32(2))))),
      ...forLoop(c, mul(get(Cb), c32(2)), 16, v128.store(add(get(dgbq), get(c)), ZERO)),
      ...set(bEnd, mul(add(get(q), c32(1)), get(per))),
      ...forLoop(
        b,
        get(bEnd),
        1,
        forLoop(i, get(K_), 1, [
          ...set(n, add(mul(get(b), get(K_)), get(i))),
          ...forLoop(c, get(Cb), 16, [
            // dg: tap j of row i − j + left read this row's channels c … c + 3.
            ...set(dg, ZERO),
            ...forLoop(j, get(K), 1, [
              ...set(t, i32.sub(add(get(i), get(LEFT)), get(j))),
              ...ifThen(i32.lt_u(get(t), get(K_)), [
                ...set(src, add(get(DCAT), add(add(mul(add(mul(get(b), get(K_)), get(t)), get(KCb)), mul(get(j), get(Cb))), get(c)))),
                ...set(dg, f4.add(get(dg), v128.load(get(src)))),
              ]),
            ]),
            ...set(x, add(mul(get(n), get(Cb)), get(c))),
            ...set(uu, v128.load(add(get(U), get(x)))),
            ...set(s, v128.load(add(get(SG), get(x)))),
            // du = dg·σ·(1 + u·(1 − σ))
            ...set(du, f4.mul(f4.mul(get(dg), get(s)), f4.add(ONE, f4.mul(get(uu), f4.sub(ONE, get(s)))))),
            ...set(d, v128.load(add(get(DY), get(x)))),
            ...v128.store(add(get(DH), get(x)), f4.add(get(d), f4.mul(get(du), f4.add(ONE, v128.load(add(get(gbq), get(c))))))),
            ...v128.store(add(get(dgbq), get(c)), f4.add(v128.load(add(get(dgbq), get(c))), f4.mul(get(du), v128.load(add(get(H), get(x)))))),
            ...v128.store(add(add(get(dgbq), get(Cb)), get(c)), f4.add(v128.load(add(add(get(dgbq), get(Cb)), get(c))), get(du))),
            ...v128.store(add(get(DCB), get(c)), f4.add(v128.load(add(get(DCB), get(c))), get(d))),
          ]),
        ]),
        mul(get(q), get(per)),
      ),
    ]),
  ];
  return { name: 'tapsBackward', params: 15, i32s: 15, v128s: 5, body };
}

/** gb [r, 2C] += fB [2C] (in place); u [N, C] = h·(1 + γ) + β, h's rows grouped by gb's row (B/r rows of k). */
function filmPreFn(): Fn {
  const [H, GB, FB, U, B, K_, C, R] = Array.from({ length: 8 }, (_, i) => i);
  const [q, c, n, Cb, per, gbq, x, nEnd] = Array.from({ length: 8 }, (_, m) => 8 + m);
  const body: Bytes = [
    ...set(Cb, mul(get(C), c32(4))),
    ...set(per, [...get(B), ...get(R), 0x6e]),
    ...forLoop(q, get(R), 1, [
      ...set(gbq, add(get(GB), mul(get(q), mul(get(Cb), c32(2))))),
      ...forLoop(c, mul(get(Cb), c32(2)), 16, v128.store(add(get(gbq), get(c)), f4.add(v128.load(add(get(gbq), get(c))), v128.load(add(get(FB), get(c)))))),
      ...set(nEnd, mul(mul(add(get(q), c32(1)), get(per)), get(K_))),
      ...forLoop(
        n,
        get(nEnd),
        1,
        forLoop(c, get(Cb), 16, [
          ...set(x, add(mul(get(n), get(Cb)), get(c))),
          ...v128.store(
            add(get(U), get(x)),
            f4.add(f4.mul(v128.load(add(get(H), get(x))), f4.add(ONE, v128.load(add(get(gbq), get(c))))), v128.load(add(add(get(gbq), get(Cb)), get(c)))),
          ),
        ]),
        mul(mul(get(q), get(per)), get(K_)),
      ),
    ]),
  ];
  return { name: 'filmPre', params: 8, i32s: 8, v128s: 0, body };
}

/**
 * cat [N, K·C]: row (b, i), tap j = SiLU(u) = u·σ of row (b, i + j − left), zeros where that is
 * outside the patch.
 */
function siluTapsFn(): Fn {
  const [U, SG, CAT, B, K_, C, K, LEFT] = Array.from({ length: 8 }, (_, i) => i);
  const [b, i, j, c, t, Cb, dst, src] = Array.from({ length: 8 }, (_, m) => 8 + m);
  const body: Bytes = [
    ...set(Cb, mul(get(C), c32(4))),
    ...set(dst, get(CAT)),
    ...forLoop(
      b,
      get(B),
      1,
      forLoop(
        i,
        get(K_),
        1,
        forLoop(j, get(K), 1, [
          ...set(t, i32.sub(add(get(i), get(j)), get(LEFT))),
          ...ifThen(
            i32.lt_u(get(t), get(K_)),
            [
              ...set(src, mul(add(mul(get(b), get(K_)), get(t)), get(Cb))),
              ...forLoop(
                c,
                get(Cb),
                16,
                v128.store(add(get(dst), get(c)), f4.mul(v128.load(add(add(get(U), get(src)), get(c))), v128.load(add(add(get(SG), get(src)), get(c))))),
              ),
            ],
            forLoop(c, get(Cb), 16, v128.store(add(get(dst), get(c)), ZERO)),
          ),
          ...set(dst, add(get(dst), get(Cb))),
        ]),
      ),
    ),
  ];
  return { name: 'siluTaps', params: 8, i32s: 8, v128s: 0, body };
}

/** out [N, C] = h + (y + cB). */
function residualFn(): Fn {
  const [H, Y, CB, OUT, N, C] = Array.from({ length: 6 }, (_, i) => i);
  const [n, c, Cb, x] = Array.from({ length: 4 }, (_, m) => 6 + m);
  const body: Bytes = [
    ...set(Cb, mul(get(C), c32(4))),
    ...forLoop(
      n,
      get(N),
      1,
      forLoop(c, get(Cb), 16, [
        ...set(x, add(mul(get(n), get(Cb)), get(c))),
        ...v128.store(add(get(OUT), get(x)), f4.add(v128.load(add(get(H), get(x))), f4.add(v128.load(add(get(Y), get(x))), v128.load(add(get(CB), get(c)))))),
      ]),
    ),
  ];
  return { name: 'residual', params: 6, i32s: 4, v128s: 0, body };
}

/** A 4 × 4 block at a time: four row loads, a register transpose (shuffles), four row stores. */
function transposeFn(): Fn {
  const [SRC, DST, ROWS, COLS, STRIDE] = [0, 1, 2, 3, 4];
  const [i, j, rb, cb, p] = [5, 6, 7, 8, 9];
  const [a0, a1, a2, a3, t0, t1, t2, t3] = [10, 11, 12, 13, 14, 15, 16, 17];
  const body: Bytes = [
    ...set(rb, mul(get(STRIDE), c32(4))),
    ...set(cb, mul(get(COLS), c32(4))),
    ...forLoop(
      i,
      get(ROWS),
      4,
      forLoop(j, get(COLS), 4, [
        ...set(p, add(get(SRC), add(mul(get(i), get(cb)), mul(get(j), c32(4))))),
        ...[a0, a1, a2, a3].flatMap((a, m) => set(a, v128.load(add(get(p), mul(get(cb), c32(m)))))),
        ...set(t0, shuffle(get(a0), get(a1), [0, 4, 1, 5])),
        ...set(t1, shuffle(get(a0), get(a1), [2, 6, 3, 7])),
        ...set(t2, shuffle(get(a2), get(a3), [0, 4, 1, 5])),
        ...set(t3, shuffle(get(a2), get(a3), [2, 6, 3, 7])),
        ...set(p, add(get(DST), add(mul(get(j), get(rb)), mul(get(i), c32(4))))),
        ...v128.store(get(p), shuffle(get(t0), get(t2), [0, 1, 4, 5])),
        ...v128.store(add(get(p), get(rb)), shuffle(get(t0), get(t2), [2, 3, 6, 7])),
        ...v128.store(add(get(p), mul(get(rb), c32(2))), shuffle(get(t1), get(t3), [0, 1, 4, 5])),
        ...v128.store(add(get(p), mul(get(rb), c32(3))), shuffle(get(t1), get(t3), [2, 3, 6, 7])),
      ]),
    ),
  ];
  return { name: 'transpose', params: 5, i32s: 5, v128s: 8, body };
}

const fl = {
  load: (addr: Bytes): Bytes => [...addr, 0x2a, 2, 0],
  store: (addr: Bytes, v: Bytes): Bytes => [...addr, ...v, 0x38, 2, 0],
  add: (a: Bytes, b: Bytes): Bytes => [...a, ...b, 0x92],
  mul: (a: Bytes, b: Bytes): Bytes => [...a, ...b, 0x94],
  zero: [0x43, 0, 0, 0, 0] as Bytes,
  /** lanes 0 + 1 + 2 + 3, in that order. */
  hsum: (v: Bytes): Bytes => [...v, ...simd(0x1f), 0, ...v, ...simd(0x1f), 1, 0x92, ...v, ...simd(0x1f), 2, 0x92, ...v, ...simd(0x1f), 3, 0x92],
  splat: (f: Bytes): Bytes => [...f, ...simd(0x13)],
};

/** out [N] = Σ_c h·σ(h)·w + a for h, sg [N, C], w [C], a [1]. */
function readOutForwardFn(): Fn {
  const [H, SG, W, A, OUT, N, C] = Array.from({ length: 7 }, (_, i) => i);
  const [n, c, Cb, x] = [7, 8, 9, 10];
  const [acc] = [11];
  const body: Bytes = [
    ...set(Cb, mul(get(C), c32(4))),
    ...forLoop(n, get(N), 1, [
      ...set(acc, ZERO),
      ...forLoop(c, get(Cb), 16, [
        ...set(x, add(mul(get(n), get(Cb)), get(c))),
        ...set(acc, f4.add(get(acc), f4.mul(f4.mul(v128.load(add(get(H), get(x))), v128.load(add(get(SG), get(x)))), v128.load(add(get(W), get(c)))))),
      ]),
      ...fl.store(add(get(OUT), mul(get(n), c32(4))), fl.add(fl.hsum(get(acc)), fl.load(get(A)))),
    ]),
  ];
  return { name: 'readOutForward', params: 7, i32s: 4, v128s: 1, body };
}

/** dh = dy·w·SiLU'(h); dw = Σ_n SiLU(h)·dy; da = Σ dy (h, sg, dh [N, C]; dy [N]). */
function readOutBackwardFn(): Fn {
  const [DY, H, SG, W, DH, DW, DA, N, C] = Array.from({ length: 9 }, (_, i) => i);
  const [n, c, Cb, x] = [9, 10, 11, 12];
  const [d, hv, s] = [13, 14, 15];
  const sa = 16; // f32
  const body: Bytes = [
    ...set(Cb, mul(get(C), c32(4))),
    ...forLoop(c, get(Cb), 16, v128.store(add(get(DW), get(c)), ZERO)),
    ...set(sa, fl.zero),
    ...forLoop(n, get(N), 1, [
      ...set(sa, fl.add(get(sa), fl.load(add(get(DY), mul(get(n), c32(4)))))),
      ...set(d, fl.splat(fl.load(add(get(DY), mul(get(n), c32(4)))))),
      ...forLoop(c, get(Cb), 16, [
        ...set(x, add(mul(get(n), get(Cb)), get(c))),
        ...set(hv, v128.load(add(get(H), get(x)))),
        ...set(s, v128.load(add(get(SG), get(x)))),
        ...v128.store(
          add(get(DH), get(x)),
          f4.mul(f4.mul(f4.mul(get(d), v128.load(add(get(W), get(c)))), get(s)), f4.add(ONE, f4.mul(get(hv), f4.sub(ONE, get(s))))),
        ),
        ...v128.store(add(get(DW), get(c)), f4.add(v128.load(add(get(DW), get(c))), f4.mul(f4.mul(get(hv), get(s)), get(d)))),
      ]),
    ]),
    ...fl.store(get(DA), get(sa)),
  ];
  return { name: 'readOutBackward', params: 9, i32s: 4, v128s: 3, f32s: 1, body };
}

/** out [B, k, C] = x·w + a + pos[i] for x [B, k], w, a [C], pos [k, C]. */
function embedForwardFn(): Fn {
  const [X, W, A, POS, OUT, B, K_, C] = Array.from({ length: 8 }, (_, i) => i);
  const [b, i, c, Cb, o, pi] = [8, 9, 10, 11, 12, 13];
  const [v] = [14];
  const body: Bytes = [
    ...set(Cb, mul(get(C), c32(4))),
    ...set(o, get(OUT)),
    ...forLoop(
      b,
      get(B),
      1,
      forLoop(i, get(K_), 1, [
        ...set(v, fl.splat(fl.load(add(get(X), mul(add(mul(get(b), get(K_)), get(i)), c32(4)))))),
        ...set(pi, add(get(POS), mul(get(i), get(Cb)))),
        ...forLoop(
          c,
          get(Cb),
          16,
          v128.store(
            add(get(o), get(c)),
            f4.add(f4.add(f4.mul(get(v), v128.load(add(get(W), get(c)))), v128.load(add(get(A), get(c)))), v128.load(add(get(pi), get(c)))),
          ),
        ),
        ...set(o, add(get(o), get(Cb))),
      ]),
    ),
  ];
  return { name: 'embedForward', params: 8, i32s: 6, v128s: 1, body };
}

/** dx [B, k] = dy·w per position; dw = Σ x·dy; da = Σ dy; dpos [k, C] = Σ_b dy. */
function embedBackwardFn(): Fn {
  const [DY, X, W, DX, DW, DA, DPOS, B, K_, C] = Array.from({ length: 10 }, (_, i) => i);
  const [b, i, c, Cb, n, o, pi] = [10, 11, 12, 13, 14, 15, 16];
  const [g, xv, acc] = [17, 18, 19];
  const body: Bytes = [
    ...set(Cb, mul(get(C), c32(4))),
    ...forLoop(c, get(Cb), 16, [...v128.store(add(get(DW), get(c)), ZERO), ...v128.store(add(get(DA), get(c)), ZERO)]),
    ...forLoop(c, mul(get(K_), get(Cb)), 16, v128.store(add(get(DPOS), get(c)), ZERO)),
    ...forLoop(
      b,
      get(B),
      1,
      forLoop(i, get(K_), 1, [
        ...set(n, add(mul(get(b), get(K_)), get(i))),
        ...set(o, add(get(DY), mul(get(n), get(Cb)))),
        ...set(pi, add(get(DPOS), mul(get(i), get(Cb)))),
        ...set(xv, fl.splat(fl.load(add(get(X), mul(get(n), c32(4)))))),
        ...set(acc, ZERO),
        ...forLoop(c, get(Cb), 16, [
          ...set(g, v128.load(add(get(o), get(c)))),
          ...set(acc, f4.add(get(acc), f4.mul(get(g), v128.load(add(get(W), get(c)))))),
          ...v128.store(add(get(DW), get(c)), f4.add(v128.load(add(get(DW), get(c))), f4.mul(get(xv), get(g)))),
          ...v128.store(add(get(DA), get(c)), f4.add(v128.load(add(get(DA), get(c))), get(g))),
          ...v128.store(add(get(pi), get(c)), f4.add(v128.load(add(get(pi), get(c))), get(g))),
        ]),
        ...fl.store(add(get(DX), mul(get(n), c32(4))), fl.hsum(get(acc))),
      ]),
    ),
  ];
  return { name: 'embedBackward', params: 10, i32s: 7, v128s: 3, body };
}

interface Fn {
  name: string;
  params: number;
  i32s: number;
  v128s: number;
  /** f32 locals after the v128s. */
  f32s?: number;
  body: Bytes;
}

interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}

let compiled: object | undefined;
const instances = new WeakMap<object, ConvSimd | null>();

/**
 * The kernels over tfjs-wasm's memory (`memory`, cached per `owner`: the backend), or undefined where
 * they cannot be had (no WebAssembly SIMD: instantiation fails and the caller keeps the JavaScript loop).
 */
export function convSimd(owner: object, memory: unknown): ConvSimd | undefined {
  let inst = instances.get(owner);
  if (inst === undefined) {
    try {
      const WA = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
      const of = (t: ValType, n: number): ValType[] => Array.from({ length: n }, () => t);
      const fns = [
        tapsBackwardFn(),
        filmPreFn(),
        siluTapsFn(),
        residualFn(),
        transposeFn(),
        readOutForwardFn(),
        readOutBackwardFn(),
        embedForwardFn(),
        embedBackwardFn(),
      ];
      compiled ??= new WA.Module(
        moduleBytes({
          memory: { min: 1 },
          funcs: fns.map((f) => ({
            name: f.name,
            params: of(I32, f.params),
            locals: [...of(I32, f.i32s), ...of(V128, f.v128s), ...of(F32, f.f32s ?? 0)],
            body: f.body,
          })),
        }),
      );
      inst = new WA.Instance(compiled, { env: { mem: memory } }).exports as ConvSimd;
    } catch {
      inst = null;
    }
    instances.set(owner, inst);
  }
  return inst ?? undefined;
}
