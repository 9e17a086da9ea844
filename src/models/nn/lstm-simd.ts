/**
 * The fused LSTM's elementwise steps (src/models/nn/lstm.ts) as WebAssembly SIMD (f32x4), for the
 * wasm backend: a small module assembled here, byte by byte, that imports tfjs-wasm's own memory
 * and works in place on tensors by their heap offsets. On the nn bench the scalar JavaScript loops
 * these replace took ≈ 19 of a ≈ 72 ms training step; as SIMD they take ≈ 5.
 *
 * All arguments are i32: byte addresses into the heap and sizes. The cell kernels need H % 4 == 0
 * (the caller falls back to the JavaScript loops otherwise). Arithmetic is float32 throughout, in
 * a fixed order, so results are bit-identical from run to run.
 */

import { get, I32, moduleBytes, set, sleb, uleb, V128, type Bytes, type ValType } from '../../core/wasm.js';

export interface SimdCells {
  /** c = f ⊙ cPrev + i ⊙ (2σ_g − 1) into c; u = 2c. S: gates [B, 4H]; cPrev, c, u: [B, H]. */
  cellForward(S: number, cPrev: number, c: number, u: number, B: number, H: number): void;
  /** tc = 2r − 1; h = o ⊙ tc into tc, hs and a (row stride aStride bytes). */
  hiddenForward(S: number, r: number, tc: number, hs: number, a: number, aStride: number, B: number, H: number): void;
  /**
   * One BPTT step (see cellBackward in lstm.ts): dh = dhRec + dy (row stride dyStride bytes);
   * dz' into dz [B, 4H] and transposed into dzT (column r of gate row q·H + j at
   * dzT + ((q·H + j)·cols + r)·4); dc updated in place.
   */
  cellBackward(
    S: number,
    cPrev: number,
    tc: number,
    dy: number,
    dyStride: number,
    dhRec: number,
    dc: number,
    dz: number,
    dzT: number,
    cols: number,
    B: number,
    H: number,
  ): void;
  /** rows × len floats from src to dst (row strides in bytes). */
  copyRows(dst: number, dstStride: number, src: number, srcStride: number, rows: number, len: number): void;
  /** cellBackward for B a multiple of 4, faster. */
  cellBackward4: SimdCells['cellBackward'];
}

// ---- the kernels' instructions (encodings from src/core/wasm.ts) -----------------------------

// Instructions; an expression is the bytes that leave its value on the stack.
const i32 = (v: number): Bytes => [0x41, ...sleb(v)];
const iadd = (a: Bytes, b: Bytes): Bytes => [...a, ...b, 0x6a];
const imul = (a: Bytes, b: Bytes): Bytes => [...a, ...b, 0x6c];
const simd = (op: number): Bytes => [0xfd, ...uleb(op)];
const load = (addr: Bytes): Bytes => [...addr, ...simd(0x00), 0, 0];
const store = (addr: Bytes, v: Bytes): Bytes => [...addr, ...v, ...simd(0x0b), 0, 0];
const fstore = (addr: Bytes, f: Bytes): Bytes => [...addr, ...f, 0x38, 2, 0];
const fload = (addr: Bytes): Bytes => [...addr, 0x2a, 2, 0];
const iand = (a: Bytes, b: Bytes): Bytes => [...a, ...b, 0x71];
const lane = (v: Bytes, k: number): Bytes => [...v, ...simd(0x1f), k];
const splat = (x: number): Bytes => {
  const b = new Uint8Array(new Float32Array([x, x, x, x]).buffer);
  return [...simd(0x0c), ...b];
};
const add = (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(0xe4)];
const sub = (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(0xe5)];
const mul = (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(0xe6)];
const ONE = splat(1);
/** i8x16.shuffle picking f32 lanes (0–3 from a, 4–7 from b). */
const shuffle = (a: Bytes, b: Bytes, lanes: number[]): Bytes => [...a, ...b, ...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])];

/** for (ctr = from; ctr < limit; ctr += step) body — limit an expression, evaluated each time. */
function loop(ctr: number, limit: Bytes, step: number, body: Bytes, from: Bytes = i32(0)): Bytes {
  return [
    ...set(ctr, from),
    0x02,
    0x40, // block
    0x03,
    0x40, // loop
    ...get(ctr),
    ...limit,
    0x4f,
    0x0d,
    1, // i32.ge_u; br_if 1 (leave the block)
    ...body,
    ...set(ctr, iadd(get(ctr), i32(step))),
    0x0c,
    0, // br 0 (next iteration)
    0x0b,
    0x0b,
  ];
}

interface Fn {
  name: string;
  params: number;
  /** Extra locals, in order: i32s then v128s. */
  i32s: number;
  v128s: number;
  body: Bytes;
}

/** The module's bytes through core/wasm's one module writer: every param i32, locals i32s then v128s. */
function lstmModule(fns: Fn[]): Uint8Array {
  const of = (t: ValType, n: number): ValType[] => Array.from({ length: n }, () => t);
  return moduleBytes({
    memory: { min: 1 },
    funcs: fns.map((f) => ({ name: f.name, params: of(I32, f.params), locals: [...of(I32, f.i32s), ...of(V128, f.v128s)], body: f.body })),
  });
}

// ---- the kernels --------------------------------------------------------------------------------

function cellForwardFn(): Fn {
  // params: S cPrev c u B H | i32: r j Hb rowS rowH | v128: cv
  const [S, CP, C, U, B, H, r, j, Hb, rowS, rowH, cv] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const at = (base: number, row: number, off: Bytes = i32(0)): Bytes => iadd(iadd(get(base), get(row)), iadd(off, get(j)));
  const body = [
    ...set(Hb, imul(get(H), i32(4))),
    ...loop(r, get(B), 1, [
      ...set(rowS, imul(get(r), imul(get(Hb), i32(4)))),
      ...set(rowH, imul(get(r), get(Hb))),
      ...loop(j, get(Hb), 16, [
        // c = f·cPrev + i·(2σ_g − 1)
        ...set(
          cv,
          add(
            mul(load(at(S, rowS, get(Hb))), load(at(CP, rowH))),
            mul(load(at(S, rowS)), sub(add(load(at(S, rowS, imul(get(Hb), i32(2)))), load(at(S, rowS, imul(get(Hb), i32(2))))), ONE)),
          ),
        ),
        ...store(at(C, rowH), get(cv)),
        ...store(at(U, rowH), add(get(cv), get(cv))),
      ]),
    ]),
  ];
  return { name: 'cellForward', params: 6, i32s: 5, v128s: 1, body };
}

function hiddenForwardFn(): Fn {
  // params: S R TC HS A aStride B H | i32: r j Hb rowS rowH rowA | v128: tcv hv
  const [S, R, TC, HS, A, AS, B, H, r, j, Hb, rowS, rowH, rowA, tcv, hv] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const at = (base: number, row: number, off: Bytes = i32(0)): Bytes => iadd(iadd(get(base), get(row)), iadd(off, get(j)));
  const body = [
    ...set(Hb, imul(get(H), i32(4))),
    ...loop(r, get(B), 1, [
      ...set(rowS, imul(get(r), imul(get(Hb), i32(4)))),
      ...set(rowH, imul(get(r), get(Hb))),
      ...set(rowA, imul(get(r), get(AS))),
      ...loop(j, get(Hb), 16, [
        ...set(tcv, sub(add(load(at(R, rowH)), load(at(R, rowH))), ONE)),
        ...set(hv, mul(load(at(S, rowS, imul(get(Hb), i32(3)))), get(tcv))),
        ...store(at(TC, rowH), get(tcv)),
        ...store(at(HS, rowH), get(hv)),
        ...store(at(A, rowA), get(hv)),
      ]),
    ]),
  ];
  return { name: 'hiddenForward', params: 8, i32s: 6, v128s: 2, body };
}

function cellBackwardFn(): Fn {
  // params: S CP TC DY dyStride DH DC DZ DZT cols B H
  // i32: r j Hb rowS rowH rowDy rowZ colB p (cols·4) (H·cols·4)
  // v128: i f g o tc dh dcv zi zf zg zo
  const [S, CP, TC, DY, DYS, DH, DC, DZ, DZT, COLS, B, H] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const [r, j, Hb, rowS, rowH, rowDy, rowZ, colB, p, cb, hcb] = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
  const [vi, vf, vg, vo, vtc, vdh, vdc, zi, zf, zg, zo] = [23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33];
  const at = (base: number, row: number, off: Bytes = i32(0)): Bytes => iadd(iadd(get(base), get(row)), iadd(off, get(j)));
  const gate = (q: number): Bytes => at(S, rowS, imul(get(Hb), i32(q)));
  const transposed: Bytes = [];
  [zi, zf, zg, zo].forEach((z, q) => {
    for (let k = 0; k < 4; k++) transposed.push(...fstore(iadd(iadd(get(p), imul(get(hcb), i32(q))), imul(get(cb), i32(k))), lane(get(z), k)));
  });
  const body = [
    ...set(Hb, imul(get(H), i32(4))),
    ...set(cb, imul(get(COLS), i32(4))),
    ...set(hcb, imul(get(cb), get(H))),
    ...loop(r, get(B), 1, [
      ...set(rowS, imul(get(r), imul(get(Hb), i32(4)))),
      ...set(rowH, imul(get(r), get(Hb))),
      ...set(rowDy, imul(get(r), get(DYS))),
      ...set(rowZ, get(rowS)),
      ...set(colB, iadd(get(DZT), imul(get(r), i32(4)))),
      ...loop(j, get(Hb), 16, [
        ...set(vi, load(gate(0))),
        ...set(vf, load(gate(1))),
        ...set(vg, sub(add(load(gate(2)), load(gate(2))), ONE)),
        ...set(vo, load(gate(3))),
        ...set(vtc, load(at(TC, rowH))),
        ...set(vdh, add(load(at(DH, rowH)), load(at(DY, rowDy)))),
        // dc = dc + dh·o·(1 − tc²); dc_{t−1} = dc·f
        ...set(vdc, add(load(at(DC, rowH)), mul(mul(get(vdh), get(vo)), sub(ONE, mul(get(vtc), get(vtc)))))),
        ...store(at(DC, rowH), mul(get(vdc), get(vf))),
        ...set(zi, mul(mul(get(vdc), get(vg)), mul(get(vi), sub(ONE, get(vi))))),
        ...set(zf, mul(mul(get(vdc), load(at(CP, rowH))), mul(get(vf), sub(ONE, get(vf))))),
        ...set(zg, mul(mul(mul(get(vdc), get(vi)), sub(ONE, mul(get(vg), get(vg)))), splat(0.5))),
        ...set(zo, mul(mul(get(vdh), get(vtc)), mul(get(vo), sub(ONE, get(vo))))),
        ...store(at(DZ, rowZ), get(zi)),
        ...store(at(DZ, rowZ, get(Hb)), get(zf)),
        ...store(at(DZ, rowZ, imul(get(Hb), i32(2))), get(zg)),
        ...store(at(DZ, rowZ, imul(get(Hb), i32(3))), get(zo)),
        // dzT: unit j's four lanes go to rows j…j+3 of each gate block, column r.
        ...set(p, iadd(get(colB), imul(get(j), get(COLS)))),
        ...transposed,
      ]),
    ]),
  ];
  return { name: 'cellBackward', params: 12, i32s: 11, v128s: 11, body };
}

/** The part of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}

/**
 * cellBackward for B a multiple of 4: four batch rows at a time, so that the transposed dz'
 * leaves as one 4×4 register transpose and four vector stores per gate instead of 16 scalar ones.
 */
function cellBackward4Fn(): Fn {
  const [S, CP, TC, DY, DYS, DH, DC, DZ, DZT, COLS, B, H] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const [r, j, Hb, Gb, cb, hcb, p, rowS, rowH, rowDy] = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21];
  const [vi, vf, vg, vo, vtc, vdh, vdc, t0, t1, t2, t3] = [22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32];
  const z = (rr: number, q: number): number => 33 + rr * 4 + q;
  const at = (base: number, row: number, off: Bytes = i32(0)): Bytes => iadd(iadd(get(base), get(row)), iadd(off, get(j)));
  const gate = (q: number): Bytes => at(S, rowS, imul(get(Hb), i32(q)));
  const unit = (rr: number): Bytes => [
    ...set(rowS, imul(iadd(get(r), i32(rr)), get(Gb))),
    ...set(rowH, imul(iadd(get(r), i32(rr)), get(Hb))),
    ...set(rowDy, imul(iadd(get(r), i32(rr)), get(DYS))),
    ...set(vi, load(gate(0))),
    ...set(vf, load(gate(1))),
    ...set(vg, sub(add(load(gate(2)), load(gate(2))), ONE)),
    ...set(vo, load(gate(3))),
    ...set(vtc, load(at(TC, rowH))),
    ...set(vdh, add(load(at(DH, rowH)), load(at(DY, rowDy)))),
    ...set(vdc, add(load(at(DC, rowH)), mul(mul(get(vdh), get(vo)), sub(ONE, mul(get(vtc), get(vtc)))))),
    ...store(at(DC, rowH), mul(get(vdc), get(vf))),
    ...set(z(rr, 0), mul(mul(get(vdc), get(vg)), mul(get(vi), sub(ONE, get(vi))))),
    ...set(z(rr, 1), mul(mul(get(vdc), load(at(CP, rowH))), mul(get(vf), sub(ONE, get(vf))))),
    ...set(z(rr, 2), mul(mul(mul(get(vdc), get(vi)), sub(ONE, mul(get(vg), get(vg)))), splat(0.5))),
    ...set(z(rr, 3), mul(mul(get(vdh), get(vtc)), mul(get(vo), sub(ONE, get(vo))))),
    ...[0, 1, 2, 3].flatMap((q) => store(at(DZ, rowS, imul(get(Hb), i32(q))), get(z(rr, q)))),
  ];
  const transposeOut = (q: number): Bytes => [
    ...set(t0, shuffle(get(z(0, q)), get(z(1, q)), [0, 4, 1, 5])),
    ...set(t1, shuffle(get(z(0, q)), get(z(1, q)), [2, 6, 3, 7])),
    ...set(t2, shuffle(get(z(2, q)), get(z(3, q)), [0, 4, 1, 5])),
    ...set(t3, shuffle(get(z(2, q)), get(z(3, q)), [2, 6, 3, 7])),
    // Lane k of unit j + k: rows r…r+3 of column block → four consecutive floats of dzT.
    ...store(iadd(get(p), imul(get(hcb), i32(q))), shuffle(get(t0), get(t2), [0, 1, 4, 5])),
    ...store(iadd(iadd(get(p), imul(get(hcb), i32(q))), get(cb)), shuffle(get(t0), get(t2), [2, 3, 6, 7])),
    ...store(iadd(iadd(get(p), imul(get(hcb), i32(q))), imul(get(cb), i32(2))), shuffle(get(t1), get(t3), [0, 1, 4, 5])),
    ...store(iadd(iadd(get(p), imul(get(hcb), i32(q))), imul(get(cb), i32(3))), shuffle(get(t1), get(t3), [2, 3, 6, 7])),
  ];
  const body = [
    ...set(Hb, imul(get(H), i32(4))),
    ...set(Gb, imul(get(Hb), i32(4))),
    ...set(cb, imul(get(COLS), i32(4))),
    ...set(hcb, imul(get(cb), get(H))),
    ...loop(r, get(B), 4, [
      ...loop(j, get(Hb), 16, [
        ...unit(0),
        ...unit(1),
        ...unit(2),
        ...unit(3),
        ...set(p, iadd(iadd(get(DZT), imul(get(r), i32(4))), imul(get(j), get(COLS)))),
        ...transposeOut(0),
        ...transposeOut(1),
        ...transposeOut(2),
        ...transposeOut(3),
      ]),
    ]),
  ];
  return { name: 'cellBackward4', params: 12, i32s: 10, v128s: 11 + 16, body };
}

/** rows × len floats from src to dst, each with its own row stride (bytes). */
function copyRowsFn(): Fn {
  // params: dst dstStride src srcStride rows len | i32: r k d sp n4 n
  const [D, DS, SR, SS, ROWS, LEN, r, k, d, sp, n4, n] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const body = [
    ...set(n, imul(get(LEN), i32(4))),
    ...set(n4, iand(get(n), i32(-16))),
    ...loop(r, get(ROWS), 1, [
      ...set(d, iadd(get(D), imul(get(r), get(DS)))),
      ...set(sp, iadd(get(SR), imul(get(r), get(SS)))),
      ...loop(k, get(n4), 16, store(iadd(get(d), get(k)), load(iadd(get(sp), get(k))))),
      ...loop(k, get(n), 4, fstore(iadd(get(d), get(k)), fload(iadd(get(sp), get(k)))), get(n4)),
    ]),
  ];
  return { name: 'copyRows', params: 6, i32s: 6, v128s: 0, body };
}

let compiled: object | undefined;

/**
 * The kernels over `memory` (tfjs-wasm's WebAssembly.Memory), or undefined where they cannot be
 * had (no WebAssembly SIMD, or `memory` is not a memory: instantiation fails and the caller keeps
 * the JavaScript loops).
 */
export function simdCells(memory: unknown): SimdCells | undefined {
  try {
    const WA = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
    compiled ??= new WA.Module(lstmModule([cellForwardFn(), hiddenForwardFn(), cellBackwardFn(), cellBackward4Fn(), copyRowsFn()]));
    return new WA.Instance(compiled, { env: { mem: memory } }).exports as SimdCells;
  } catch {
    return undefined;
  }
}
