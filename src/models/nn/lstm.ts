import type * as TfNs from '@tensorflow/tfjs';
import { simdCells, type SimdCells } from './lstm-simd.js';

/**
 * A fused LSTM layer for the backends whose tensors live in memory JavaScript can see (wasm: the
 * module's heap; cpu: typed arrays): one tfjs op (`tf.customGrad`) whose forward and hand-written
 * backward (BPTT) run the big products as plain, untransposed matMuls and everything elementwise
 * in one pass per step over the tensors' memory: WebAssembly SIMD kernels on wasm
 * (lstm-simd.ts), JavaScript loops on cpu (and where H is not a multiple of 4).
 *
 * Why not tfjs ops per step: on wasm, `slice`/`unstack` copy their whole input before taking the
 * piece, matMul with a transposed operand (what autodiff of a·b produces) leaves XNNPACK for a
 * scalar loop about 10× slower, `tanh` is scalar too, and each op costs ~10 µs of engine
 * bookkeeping; autodiff of a 64-step recurrence is ~2,000 such ops.
 *
 * Layout, per step t: a_t = [x_t, h_{t−1}] ([B, F+H]) times W' = [Wx; Wh] ([F+H, 4H], gate order
 * i, f, g, o) plus b' in one matMul with the sigmoid fused in: the g columns of W' and b' are
 * doubled, so the sigmoid gives σ(2z_g) and g = tanh(z_g) = 2σ(2z_g) − 1. tanh(c) is taken the
 * same way. The backward gets d(h_{t−1}) per step as dz'_t · W'ᵀ (W'ᵀ transposed once, in JS) and
 * [dW'; db'] as a few [4H, 8·B] × [8·B, F+H+1] products over chunks of 8 steps (a column of ones
 * gives db').
 *
 * On the nn bench (LSTM(64), 64 × 16 windows, batch 256) a training step is ≈ 60 ms on wasm, of
 * which ≈ 42 ms are those matMuls (XNNPACK, ≈ 40 GFLOP/s) and ≈ 5 ms their sigmoids.
 *
 * Everything is in a fixed order, so reruns are bit-identical on a backend.
 */

type Tf = typeof TfNs;
type Tensor = TfNs.Tensor;
type T1 = TfNs.Tensor1D;
type T2 = TfNs.Tensor2D;
type T3 = TfNs.Tensor3D;

/** Steps per dW product in the backward. */
const CHUNK = 8;

/**
 * Where the fused layer can reach tensor storage: `view` gives a Float32Array over it (written in
 * place only for tensors made here); on wasm, `simd` also runs the elementwise steps as
 * WebAssembly SIMD on heap addresses (src/models/nn/lstm-simd.ts).
 */
export interface FusedHost {
  view(t: Tensor): Float32Array;
  /** A new float32 tensor whose contents are unspecified (every element is written before use). */
  alloc(shape: number[]): Tensor;
  simd?: { cells: SimdCells; ptr(t: Tensor): number };
}

interface WasmBackendLike {
  typedArrayFromHeap(t: { shape: number[]; dtype: string; dataId: object }): Float32Array;
  makeOutput(shape: number[], dtype: 'float32'): TfNs.TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { asm?: { memory?: unknown } };
}
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } | undefined };
}

let wasmHost: { backend: unknown; host: FusedHost } | undefined;

/**
 * The host for the current backend: wasm and cpu; undefined elsewhere (tfjs-node keeps tensors
 * inside libtensorflow), where the LSTM (and the diffusion conv block, src/models/diffusion/
 * conv-block.ts) falls back to tfjs ops. A wasm view is
 * invalidated when the heap grows: take it after the step's allocations (addresses stay valid).
 */
export function fusedHost(tf: Tf): FusedHost | undefined {
  const name = tf.getBackend();
  if (name === 'wasm') {
    const be = tf.backend() as unknown as WasmBackendLike;
    if (wasmHost?.backend !== be) {
      const cells = be.wasm.asm?.memory ? simdCells(be.wasm.asm.memory) : undefined;
      const ptr = (t: Tensor): number => {
        const d = be.dataIdMap.get(t.dataId);
        if (!d) throw new Error('fused op: a tensor not on the wasm heap');
        return d.memoryOffset;
      };
      // makeOutput allocates without filling (a fill of the ~30 MB a batch allocates costs ms).
      const alloc = (shape: number[]): Tensor => tf.engine().makeTensorFromTensorInfo(be.makeOutput(shape, 'float32'));
      wasmHost = { backend: be, host: { view: (t) => be.typedArrayFromHeap(t), alloc, ...(cells ? { simd: { cells, ptr } } : {}) } };
    }
    return wasmHost.host;
  }
  if (name === 'cpu') {
    const be = tf.backend() as unknown as CpuBackendLike;
    return {
      alloc: (shape) => tf.fill(shape, 0),
      view: (t) => {
        const v = be.data.get(t.dataId)?.values;
        if (!(v instanceof Float32Array)) throw new Error('fused op: a cpu tensor without float32 values');
        return v;
      },
    };
  }
  return undefined;
}

export interface LstmLayerOptions {
  /** Return every step's h ([B, T, H]) rather than the last ([B, H]). */
  sequence: boolean;
  /** Whether x needs a gradient (a layer fed by another layer); the first layer's input does not. */
  inputGrad: boolean;
}

/** One LSTM layer over x [B, T, F] with Wx [F, 4H], Wh [H, 4H], b [4H] (gates i, f, g, o), fused; see the module comment. */
export function fusedLstmLayer(tf: Tf, host: FusedHost, x: T3, Wx: T2, Wh: T2, b: T1, o: LstmLayerOptions): T2 | T3 {
  const [B, T, F] = x.shape;
  const H = Wh.shape[0];
  const G = 4 * H;
  const K = F + H;
  const BH = B * H;
  const scale = new Float32Array(G).fill(1).fill(2, 2 * H, 3 * H);
  const { view, alloc } = host;
  // The SIMD kernels take four units at a time.
  const simd = H % 4 === 0 ? host.simd : undefined;
  /** rows × len floats from src (from srcOff, rows srcStride apart) to dst (likewise); offsets in floats. */
  const copyRows = (dst: Tensor, dstOff: number, dstStride: number, src: Tensor, srcOff: number, srcStride: number, rows: number, len: number): void => {
    if (simd) return simd.cells.copyRows(simd.ptr(dst) + dstOff * 4, dstStride * 4, simd.ptr(src) + srcOff * 4, srcStride * 4, rows, len);
    const d = view(dst);
    const sv = view(src);
    for (let r = 0; r < rows; r++) d.set(sv.subarray(srcOff + r * srcStride, srcOff + r * srcStride + len), dstOff + r * dstStride);
  };

  const op = tf.customGrad((...args: (Tensor | TfNs.GradSaveFunc)[]) => {
    const [xx, wx, wh, bb] = (o.inputGrad ? args.slice(0, 4) : [x, ...args.slice(0, 3)]) as [T3, T2, T2, T1];
    // x as the backward will need it: an input made inside the gradient function is gone by then.
    const xk = tf.clone(xx);
    const sc = tf.tensor1d(scale);
    const W = tf.mul(tf.concat([wx, wh], 0), sc) as T2;
    const bias = tf.mul(bb, sc) as T1;
    const Wd = W.dataSync() as Float32Array;

    // Kept for the backward (see keepForBackward): each step's gate sigmoids [B, 4H], and c,
    // tanh(c), h of all steps ([T·B·H], step-major).
    const gates: Tensor[] = [];
    const C = alloc([T * BH]);
    const TC = alloc([T * BH]);
    const Hs = alloc([T * BH]);
    const zero = tf.fill([BH], 0);
    // a = [x_t, h_{t−1}] and u are scratch, rewritten every step: ops here run synchronously and
    // keep nothing of their first operand (only matMul's second operand is cached, by XNNPACK).
    const a = tf.fill([B, K], 0);
    const u = tf.fill([B, H], 0);
    for (let t = 0; t < T; t++) {
      copyRows(a, 0, K, xx, t * F, T * F, B, F); // x_t into a = [x_t, h_{t−1}]
      const s = tf.fused.matMul({ a: a as T2, b: W, bias, activation: 'sigmoid' });
      if (simd) {
        const { cells, ptr } = simd;
        cells.cellForward(ptr(s), t > 0 ? ptr(C) + (t - 1) * BH * 4 : ptr(zero), ptr(C) + t * BH * 4, ptr(u), B, H);
        const rt = tf.sigmoid(u);
        cells.hiddenForward(ptr(s), ptr(rt), ptr(TC) + t * BH * 4, ptr(Hs) + t * BH * 4, ptr(a) + F * 4, K * 4, B, H);
        rt.dispose();
      } else {
        const Cv = view(C);
        cellForward(view(s), t > 0 ? Cv.subarray((t - 1) * BH, t * BH) : view(zero), Cv, t * BH, view(u), B, H);
        const rt = tf.sigmoid(u);
        hiddenForward(view(s), view(rt), view(TC), view(Hs), t * BH, view(a), F, B, H);
        rt.dispose();
      }
      gates.push(s);
    }
    tf.dispose([a, u]);
    const kept = keepForBackward(tf, [...gates, C, TC, Hs, xk]);

    let value: T2 | T3;
    const Hv = view(Hs);
    if (o.sequence) {
      const out = new Float32Array(B * T * H);
      for (let t = 0; t < T; t++) for (let r = 0; r < B; r++) out.set(Hv.subarray(t * BH + r * H, t * BH + r * H + H), (r * T + t) * H);
      value = tf.tensor3d(out, [B, T, H]);
    } else value = tf.tensor2d(Hv.slice((T - 1) * BH), [B, H]);

    const gradFunc = (dy: Tensor): Tensor[] => {
      const saved = [...gates, C, TC, Hs];
      const [Cs, TCs, Hss] = saved.slice(T);
      // W'ᵀ rows for what needs a gradient: h_{t−1} always, x_t when the input does.
      const Kd = o.inputGrad ? K : H;
      const k0 = K - Kd;
      const WTd = new Float32Array(G * Kd);
      for (let k = 0; k < Kd; k++) for (let g = 0; g < G; g++) WTd[g * Kd + k] = Wd[(k0 + k) * G + g];
      const WT = tf.tensor2d(WTd, [G, Kd]);
      const dc = tf.fill([BH], 0);
      const dhRec = tf.fill([BH], 0);
      const zeroB = tf.fill([BH], 0);
      const dX = o.inputGrad ? alloc([B, T, F]) : undefined;
      // [dW'; db']ᵀ = Σ over chunks of CHUNK steps of dZ'ᵀ [4H, n·B] × [A, 1] [n·B, F+H+1] (rows
      // [x_t, h_{t−1}, 1]), summed in chunk order: fewer, larger products than one per step.
      let dWT: Tensor | undefined;
      let dZT: Tensor | undefined;
      let A: Tensor | undefined;
      let c0 = 0;
      let cols = 0;
      const dzt = alloc([B, G]); // scratch, as a is in the forward
      for (let t = T - 1; t >= 0; t--) {
        if (!dZT || !A) {
          c0 = Math.max(0, t - CHUNK + 1);
          // 16 zero columns (rows of A) of padding: a power-of-two stride between dZT's rows would
          // map the transposed writes of one batch row to a single cache set.
          cols = (t - c0 + 1) * B + 16;
          dZT = alloc([G, cols]);
          A = alloc([cols, K + 1]);
          zeroPadding(view(dZT), view(A), cols - 16, cols, G, K + 1);
        }
        // dy at this step, row r at dyOff + r·dyStride: every step for a sequence, else the last only.
        const ext = o.sequence || t === T - 1;
        const dyOff = o.sequence ? t * H : 0;
        const dyStride = o.sequence ? T * H : ext ? H : 0;
        const col = (t - c0) * B;
        if (simd) {
          const { cells, ptr } = simd;
          const cPrev = t > 0 ? ptr(Cs) + (t - 1) * BH * 4 : ptr(zeroB);
          const args = [
            ptr(saved[t]),
            cPrev,
            ptr(TCs) + t * BH * 4,
            ext ? ptr(dy) + dyOff * 4 : ptr(zeroB),
            dyStride * 4,
            ptr(dhRec),
            ptr(dc),
            ptr(dzt),
            ptr(dZT) + col * 4,
          ] as const;
          // Rows in fours, then any last few one by one: the same arithmetic either way.
          const B4 = B - (B % 4);
          if (B4 > 0) cells.cellBackward4(...args, cols, B4, H);
          if (B4 < B) {
            const [sp, cp, tcp, dyp, dys, dhp, dcp, dzp, dztp] = args;
            const rowH = B4 * H * 4;
            cells.cellBackward(
              sp + B4 * G * 4,
              cp + rowH,
              tcp + rowH,
              dyp + B4 * dys,
              dys,
              dhp + rowH,
              dcp + rowH,
              dzp + B4 * G * 4,
              dztp + B4 * 4,
              cols,
              B - B4,
              H,
            );
          }
        } else {
          const Cv = view(Cs);
          cellBackward(
            view(saved[t]),
            t > 0 ? Cv.subarray((t - 1) * BH, t * BH) : view(zeroB),
            view(TCs),
            ext ? view(dy) : view(zeroB),
            dyOff,
            dyStride,
            view(dhRec),
            view(dc),
            view(dzt),
            view(dZT),
            col,
            cols,
            t,
            B,
            H,
          );
        }
        // Rows col… of A: [x_t, h_{t−1}, 1] (h_{−1} = 0).
        copyRows(A, col * (K + 1), K + 1, xk, t * F, T * F, B, F);
        if (t > 0) copyRows(A, col * (K + 1) + F, K + 1, Hss, (t - 1) * BH, H, B, H);
        else copyRows(A, col * (K + 1) + F, K + 1, zeroB, 0, H, B, H);
        const av = view(A);
        for (let r = 0; r < B; r++) av[(col + r) * (K + 1) + K] = 1;
        const dA = tf.matMul(dzt, WT);
        copyRows(dhRec, 0, H, dA, Kd - H, Kd, B, H);
        if (dX) copyRows(dX, t * F, T * F, dA, 0, Kd, B, F);
        dA.dispose();
        if (t === c0) {
          const part = tf.matMul(dZT, A);
          const prev = dWT;
          dWT = prev ? tf.add(prev, part) : part;
          tf.dispose([dZT, A]);
          if (prev) tf.dispose([prev, part]);
          dZT = A = undefined;
        }
      }
      tf.dispose([dzt, dc, dhRec, zeroB]);
      // Back to [F+H+1, 4H] with the g columns' factor 2; the last row (from the ones) is db'.
      const dWTd = (dWT as Tensor).dataSync() as Float32Array;
      const dW = new Float32Array((K + 1) * G);
      for (let g = 0; g < G; g++) for (let k = 0; k <= K; k++) dW[k * G + g] = dWTd[g * (K + 1) + k] * scale[g];
      const grads: Tensor[] = [tf.tensor2d(dW.subarray(0, F * G), [F, G]), tf.tensor2d(dW.subarray(F * G, K * G), [H, G]), tf.tensor1d(dW.subarray(K * G))];
      release(kept);
      return dX ? [dX, ...grads] : grads;
    };
    return { value, gradFunc };
  });
  const inputs: Tensor[] = o.inputGrad ? [x, Wx, Wh, b] : [Wx, Wh, b];
  return op(...inputs) as T2 | T3;
}

/**
 * Forward state the backward needs, kept past the forward's tidy while a gradient is being
 * recorded. tfjs's own `save` would do this, but it clones, and a clone on wasm is a copy: ~28 MB a
 * batch here. A set whose backward never ran (its tape finished without reaching this op) is
 * released by the next fused forward.
 */
export interface Kept {
  tensors: Tensor[];
  tape: unknown;
}
const pending = new Set<Kept>();

export function keepForBackward(tf: Tf, tensors: Tensor[]): Kept | undefined {
  const st = tf.engine().state;
  for (const k of pending) if (k.tape !== st.activeTape || st.gradientDepth === 0) release(k);
  // Recording: a gradient tape is open and this op is not nested in another kernel (depth 1 is
  // this customGrad's own).
  if (st.gradientDepth === 0 || st.kernelDepth !== 1) return undefined;
  const k: Kept = { tensors: tensors.map((t) => tf.keep(t)), tape: st.activeTape };
  pending.add(k);
  return k;
}

export function release(k: Kept | undefined): void {
  if (!k || !pending.delete(k)) return;
  for (const t of k.tensors) t.dispose();
}

// The per-step loops, as small top-level functions: V8 optimises them once and keeps them
// optimised (inside the big closures above they were left to on-stack replacement and deoptimised).

/** c_t = f ⊙ c_{t−1} + i ⊙ g; u = 2c_t (σ(u) gives tanh(c_t)). */
function cellForward(S: Float32Array, cPrev: Float32Array, C: Float32Array, co: number, uv: Float32Array, B: number, H: number): void {
  const G = 4 * H;
  for (let r = 0; r < B; r++) {
    const sr = r * G;
    const hr = r * H;
    for (let j = 0; j < H; j++) {
      const c = S[sr + H + j] * cPrev[hr + j] + S[sr + j] * (2 * S[sr + 2 * H + j] - 1);
      C[co + hr + j] = c;
      uv[hr + j] = 2 * c;
    }
  }
}

/** tanh(c_t) = 2σ(2c_t) − 1; h_t = o ⊙ tanh(c_t), also into the h part of the next step's a. */
function hiddenForward(
  S: Float32Array,
  rv: Float32Array,
  TC: Float32Array,
  Hs: Float32Array,
  co: number,
  av: Float32Array,
  F: number,
  B: number,
  H: number,
): void {
  const G = 4 * H;
  const K = F + H;
  for (let r = 0; r < B; r++) {
    const sr = r * G + 3 * H;
    const hr = r * H;
    const ar = r * K + F;
    for (let j = 0; j < H; j++) {
      const tc = 2 * rv[hr + j] - 1;
      const h = S[sr + j] * tc;
      TC[co + hr + j] = tc;
      Hs[co + hr + j] = h;
      av[ar + j] = h;
    }
  }
}

/**
 * One step of BPTT: from dh (the recurrent part dhRec plus dy at this step, row r at
 * dyOff + r·dyStride) and the carried dc, the gate pre-activation gradients dz'_t into dzv
 * ([B, 4H]) and, transposed, into columns col… of dzT ([4H, cols]); dc_{t−1} into dc. S: this
 * step's gate sigmoids [B, 4H].
 */
function cellBackward(
  S: Float32Array,
  cPrev: Float32Array,
  TC: Float32Array,
  dy: Float32Array,
  dyOff: number,
  dyStride: number,
  dhRec: Float32Array,
  dc: Float32Array,
  dzv: Float32Array,
  dzT: Float32Array,
  col: number,
  cols: number,
  t: number,
  B: number,
  H: number,
): void {
  const G = 4 * H;
  const co = t * B * H;
  for (let r = 0; r < B; r++) {
    const si = r * G;
    const sf = si + H;
    const sg = si + 2 * H;
    const sOut = si + 3 * H;
    const hr = r * H;
    const zr = r * G;
    const dr = dyOff + r * dyStride;
    const ct = col + r;
    for (let j = 0; j < H; j++) {
      const i = S[si + j];
      const f = S[sf + j];
      const g = 2 * S[sg + j] - 1;
      const og = S[sOut + j];
      const tc = TC[co + hr + j];
      const dh = dhRec[hr + j] + dy[dr + j];
      const dcv = dc[hr + j] + dh * og * (1 - tc * tc);
      dc[hr + j] = dcv * f;
      const dzi = dcv * g * i * (1 - i);
      const dzf = dcv * cPrev[hr + j] * f * (1 - f);
      // g = 2σ(z') − 1 with z' = 2z: dg/dz' = (1 − g²)/2.
      const dzg = dcv * i * (1 - g * g) * 0.5;
      const dzo = dh * tc * og * (1 - og);
      dzv[zr + j] = dzi;
      dzv[zr + H + j] = dzf;
      dzv[zr + 2 * H + j] = dzg;
      dzv[zr + 3 * H + j] = dzo;
      const c = ct + j * cols;
      dzT[c] = dzi;
      dzT[c + H * cols] = dzf;
      dzT[c + 2 * H * cols] = dzg;
      dzT[c + 3 * H * cols] = dzo;
    }
  }
}

/** Columns n… of dZT [G, cols] and rows n… of A [cols, k1]: zeros (the padding). */
function zeroPadding(dzT: Float32Array, av: Float32Array, n: number, cols: number, G: number, k1: number): void {
  for (let g = 0; g < G; g++) dzT.fill(0, g * cols + n, (g + 1) * cols);
  av.fill(0, n * k1, cols * k1);
}
