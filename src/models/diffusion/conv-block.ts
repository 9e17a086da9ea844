import type * as TfNs from '@tensorflow/tfjs';
import { keepForBackward, release, type FusedHost } from '../nn/lstm.js';
import { convSimd, type ConvSimd } from './conv-block-simd.js';

/**
 * The `diffusion` denoiser's residual block (denoiser-conv.ts) as one tfjs op with a hand-written
 * backward, for the backends whose tensors JavaScript can reach (wasm, cpu: src/models/nn/lstm.ts's
 * FusedHost):
 *
 *   h' = h + conv(SiLU(h·(1 + γ) + β)),  (γ, β) = e·W_film + b_film,
 *
 * conv a "same"-padded convolution of K taps over the patch (taps as K·C columns, one matMul). The
 * products stay tfjs matMuls (XNNPACK on wasm), untransposed (operands transposed here, in
 * JavaScript: a transpose flag leaves XNNPACK for a slow loop); FiLM, SiLU, the taps with their
 * padding, the biases and the residual are one JavaScript pass each way. The tfjs graph of the
 * same block (pad, slices, concat, FiLM's slices and broadcasts, and their gradients) was ≈ 60
 * small ops per block and step at ~10–100 µs of engine overhead each; most of a training step.
 *
 * The per-position input embedding (fusedEmbed) and read-out (fusedReadOut) around the blocks are
 * fused the same way: each was ~20 small ops with its gradients, for a few thousand multiply-adds.
 *
 * On wasm with SIMD and C % 4 == 0 the block's loops (FiLM, the taps, the residual, and the backward
 * pass) run as WebAssembly SIMD over the heap (conv-block-simd.ts), float32 throughout; elsewhere as
 * the JavaScript loops below.
 *
 * Arithmetic runs in a fixed order (float64 in the JavaScript loops, stored as float32), so reruns
 * are bit-identical on a backend. Results differ from the tfjs graph by float32 rounding only.
 */

type Tf = typeof TfNs;
type Tensor = TfNs.Tensor;
type T1 = TfNs.Tensor1D;
type T2 = TfNs.Tensor2D;
type T3 = TfNs.Tensor3D;

export interface ConvBlockWeights {
  /** [C, 2C]: γ columns then β. */
  filmW: T2;
  filmB: T1;
  /** [K·C, C]: tap j's rows j·C … (j + 1)·C − 1. */
  convW: T2;
  convB: T1;
}

/**
 * The block over h [B, k, C] with FiLM inputs e [r, C], r dividing B (rows of h grouped by e's row,
 * as blocks.ts's film); K taps, left = ⌊(K − 1)/2⌋ of them before the position.
 */
export function fusedConvBlock(tf: Tf, host: FusedHost, h: T3, e: T2, w: ConvBlockWeights, K: number): T3 {
  const [B, k, C] = h.shape;
  const r = e.shape[0];
  const N = B * k;
  const KC = K * C;
  const left = Math.floor((K - 1) / 2);
  const { view, alloc } = host;
  const op = tf.customGrad((...args: (Tensor | TfNs.GradSaveFunc)[]) => {
    const [hh, ee, fW, fB, cW, cB] = args as [T3, T2, T2, T1, T2, T1];
    // For the backward: h and e as clones (an input may be gone by then; a clone shares storage).
    const hk = tf.clone(hh);
    const ek = tf.clone(ee);
    const gb = tf.matMul(ee, fW);
    const u = alloc([N, C]);
    const vec = simdOf(tf, host, C);
    if (vec) vec.cs.filmPre(vec.ptr(hh), vec.ptr(gb), vec.ptr(fB), vec.ptr(u), B, k, C, r);
    else filmPre(view(hh), view(gb), view(fB), view(u), B, k, C, r);
    // The sigmoid as a tfjs kernel: vectorised on wasm (XNNPACK), where Math.exp is ~10× slower.
    const sg = tf.sigmoid(u);
    // PAD zero rows after the N of cat (and zero columns in dyᵀ below): a row stride of N floats, a
    // power of two at the usual sizes, would send a column's writes to one cache set.
    const cat = alloc([N + PAD, KC]);
    const cWT = alloc([C, KC]);
    const fWT = alloc([2 * C, C]);
    if (vec) {
      vec.cs.siluTaps(vec.ptr(u), vec.ptr(sg), vec.ptr(cat), B, k, C, K, left);
      view(cat).fill(0, N * KC);
    } else siluTaps(view(u), view(sg), view(cat), B, k, C, K, left);
    transpose(view(cW), view(cWT), KC, C);
    transpose(view(fW), view(fWT), C, 2 * C);
    const y = tf.matMul(cat as T2, cW);
    const out = alloc([B, k, C]);
    if (vec) vec.cs.residual(vec.ptr(hh), vec.ptr(y), vec.ptr(cB), vec.ptr(out), N, C);
    else residual(view(hh), view(y), view(cB), view(out), N, C);
    y.dispose();
    const scratch = [hk, ek, gb, u, sg, cat, cWT, fWT];
    const kept = keepForBackward(tf, scratch);
    if (!kept) tf.dispose(scratch);

    const gradFunc = (dy: Tensor): Tensor[] => {
      const dy2 = tf.reshape(dy, [N, C]) as T2;
      const dcat = tf.matMul(dy2, cWT as T2);
      const dh = alloc([B, k, C]);
      const dgb = alloc([r, 2 * C]);
      const dcB = alloc([C]);
      const dfB = alloc([2 * C]);
      const eT = alloc([C, r]);
      let dcW: Tensor;
      if (vec) {
        const { cs, ptr } = vec;
        cs.tapsBackward(ptr(dy), ptr(dcat), ptr(u), ptr(sg), ptr(hk), ptr(gb), ptr(dh), ptr(dgb), ptr(dcB), B, k, C, K, left, r);
        columnSums(view(dgb), view(dfB), r, 2 * C);
        // dW_conv = catᵀ·dy: XNNPACK packs the right operand of each product afresh, and dy [N, C]
        // is a third of cat [N, K·C]. Both with PAD zeros (catᵀ's row stride off a power of two).
        const catT = alloc([KC, N + PAD]);
        const dyP = alloc([N + PAD, C]);
        const cT = view(catT);
        if (N % 4 === 0) cs.transpose(ptr(cat), ptr(catT), N, KC, N + PAD);
        else transposeStrided(view(cat), cT, N, KC, N + PAD);
        for (let c = 0; c < KC; c++) cT.fill(0, c * (N + PAD) + N, (c + 1) * (N + PAD));
        const dP = view(dyP);
        dP.set(view(dy));
        dP.fill(0, N * C);
        dcW = tf.matMul(catT as T2, dyP as T2);
      } else {
        const dyT = alloc([C, N + PAD]);
        filmTapsBackward(
          view(dy),
          view(dcat),
          view(u),
          view(sg),
          view(hk),
          view(gb),
          view(dh),
          view(dgb),
          view(dyT),
          view(dcB),
          view(dfB),
          B,
          k,
          C,
          K,
          left,
          r,
        );
        // dW_convᵀ = dyᵀ·cat, turned back here: transposing dy costs a third of transposing cat.
        const dcWT = tf.matMul(dyT as T2, cat as T2);
        dcW = alloc([KC, C]);
        transpose(view(dcWT), view(dcW), C, KC);
      }
      transpose(view(ek), view(eT), r, C);
      const dfW = tf.matMul(eT as T2, dgb as T2);
      const de = tf.matMul(dgb as T2, fWT as T2);
      release(kept);
      return [dh, de, dfW, dfB, dcW, dcB];
    };
    return { value: out as T3, gradFunc };
  });
  return op(h, e, w.filmW, w.filmB, w.convW, w.convB) as T3;
}

const PAD = 16;

/** The SIMD kernels (conv-block-simd.ts) where the backend is wasm with SIMD and C % 4 == 0. */
function simdOf(tf: Tf, host: FusedHost, C: number): { cs: ConvSimd; ptr: (t: Tensor) => number } | undefined {
  if (!host.simd || C % 4 !== 0 || tf.getBackend() !== 'wasm') return undefined;
  const be = tf.backend() as unknown as { wasm?: { asm?: { memory?: unknown } } };
  const memory = be.wasm?.asm?.memory;
  const cs = memory ? convSimd(be, memory) : undefined;
  return cs && { cs, ptr: host.simd.ptr };
}

/** h₀[b, i, :] = x_t[b, i]·w + a + pos[i, :] for x_t [B, k], w [1, C], a [C], pos [k, C]: [B, k, C]. */
export function fusedEmbed(tf: Tf, host: FusedHost, xt: T2, w: T2, a: T1, pos: T2): T3 {
  const [B, k] = xt.shape;
  const C = pos.shape[1];
  const { view, alloc } = host;
  const op = tf.customGrad((...args: (Tensor | TfNs.GradSaveFunc)[]) => {
    const [x, ww, aa, pp] = args as [T2, T2, T1, T2];
    const xk = tf.clone(x);
    const wk = tf.clone(ww);
    const out = alloc([B, k, C]);
    const vec = simdOf(tf, host, C);
    if (vec) vec.cs.embedForward(vec.ptr(x), vec.ptr(ww), vec.ptr(aa), vec.ptr(pp), vec.ptr(out), B, k, C);
    else embedForward(view(x), view(ww), view(aa), view(pp), view(out), B, k, C);
    const kept = keepForBackward(tf, [xk, wk]);
    if (!kept) tf.dispose([xk, wk]);
    const gradFunc = (dy: Tensor): Tensor[] => {
      const dx = alloc([B, k]);
      const dw = alloc([1, C]);
      const da = alloc([C]);
      const dpos = alloc([k, C]);
      if (vec) vec.cs.embedBackward(vec.ptr(dy), vec.ptr(xk), vec.ptr(wk), vec.ptr(dx), vec.ptr(dw), vec.ptr(da), vec.ptr(dpos), B, k, C);
      else embedBackward(view(dy), view(xk), view(wk), view(dx), view(dw), view(da), view(dpos), B, k, C);
      release(kept);
      return [dx, dw, da, dpos];
    };
    return { value: out as T3, gradFunc };
  });
  return op(xt, w, a, pos) as T3;
}

/** ε̂[b, i] = SiLU(h[b, i, :])·w + a for h [B, k, C], w [C, 1], a [1]: [B, k]. */
export function fusedReadOut(tf: Tf, host: FusedHost, h: T3, w: T2, a: T1): T2 {
  const [B, k, C] = h.shape;
  const { view, alloc } = host;
  const op = tf.customGrad((...args: (Tensor | TfNs.GradSaveFunc)[]) => {
    const [hh, ww, aa] = args as [T3, T2, T1];
    const hk = tf.clone(hh);
    const wk = tf.clone(ww);
    const sg = tf.sigmoid(hh);
    const out = alloc([B, k]);
    const vec = simdOf(tf, host, C);
    if (vec) vec.cs.readOutForward(vec.ptr(hh), vec.ptr(sg), vec.ptr(ww), vec.ptr(aa), vec.ptr(out), B * k, C);
    else readOutForward(view(hh), view(sg), view(ww), view(aa), view(out), B * k, C);
    const kept = keepForBackward(tf, [hk, wk, sg]);
    if (!kept) tf.dispose([hk, wk, sg]);
    const gradFunc = (dy: Tensor): Tensor[] => {
      const dh = alloc([B, k, C]);
      const dw = alloc([C, 1]);
      const da = alloc([1]);
      if (vec) vec.cs.readOutBackward(vec.ptr(dy), vec.ptr(hk), vec.ptr(sg), vec.ptr(wk), vec.ptr(dh), vec.ptr(dw), vec.ptr(da), B * k, C);
      else readOutBackward(view(dy), view(hk), view(sg), view(wk), view(dh), view(dw), view(da), B * k, C);
      release(kept);
      return [dh, dw, da];
    };
    return { value: out as T2, gradFunc };
  });
  return op(h, w, a) as T2;
}

/**
 * SiLU(x·W₁ + b₁)·W₂ + b₂ for x [n, in]: the condition and step-embedding MLPs as one op. No
 * gradient to x (captured, not an input): both MLPs read data (the flattened windows, the step's
 * sinusoid), and skipping dx saves the largest product of the backward. With the tfjs graph each
 * MLP was ~25 small ops with its gradients (and the tape's clones).
 */
export function fusedMlp(tf: Tf, host: FusedHost, x: T2, w1: T2, b1: T1, w2: T2, b2: T1): T2 {
  const [n, I] = x.shape;
  const H = w1.shape[1];
  const O = w2.shape[1];
  const { view, alloc } = host;
  const op = tf.customGrad((...args: (Tensor | TfNs.GradSaveFunc)[]) => {
    const [W1, B1, W2, B2] = args as [T2, T1, T2, T1];
    const z = tf.matMul(x, W1);
    addRows(view(z), view(B1), n, H);
    const sg = tf.sigmoid(z);
    const a = alloc([n, H]);
    siluInto(view(z), view(sg), view(a), n * H);
    const out = tf.matMul(a as T2, W2);
    addRows(view(out), view(B2), n, O);
    const xk = tf.clone(x);
    const w2k = tf.clone(W2);
    const scratch = [xk, w2k, z, sg, a];
    const kept = keepForBackward(tf, scratch);
    if (!kept) tf.dispose(scratch);
    const gradFunc = (dy: Tensor): Tensor[] => {
      const aT = alloc([H, n]);
      const w2T = alloc([O, H]);
      const db2 = alloc([O]);
      transpose(view(a), view(aT), n, H);
      transpose(view(w2k), view(w2T), H, O);
      columnSums(view(dy), view(db2), n, O);
      const dW2 = tf.matMul(aT as T2, dy as T2);
      const dz = tf.matMul(dy as T2, w2T as T2);
      const db1 = alloc([H]);
      siluBackward(view(dz), view(z), view(sg), n * H);
      columnSums(view(dz), view(db1), n, H);
      const vec = simdOf(tf, host, 4);
      let dW1: Tensor;
      if (vec && n % 4 === 0 && I % 4 === 0) {
        // dW₁ = xᵀ·dz with xᵀ by the SIMD transpose: XNNPACK packs the right operand afresh each
        // product, and dz [n, H] is smaller than x [n, in] (in > H: the condition MLP). Both with
        // PAD zeros (xᵀ's row stride off a power of two).
        const xT = alloc([I, n + PAD]);
        const dzP = alloc([n + PAD, H]);
        vec.cs.transpose(vec.ptr(xk), vec.ptr(xT), n, I, n + PAD);
        const xTv = view(xT);
        for (let i = 0; i < I; i++) xTv.fill(0, i * (n + PAD) + n, (i + 1) * (n + PAD));
        const dP = view(dzP);
        dP.set(view(dz));
        dP.fill(0, n * H);
        dW1 = tf.matMul(xT as T2, dzP as T2);
        tf.dispose([xT, dzP]);
      } else {
        const dzT = alloc([H, n]);
        transpose(view(dz), view(dzT), n, H);
        // dW₁ = xᵀ·dz as (dzᵀ·x)ᵀ: transposing dz [n, H] is cheaper than x [n, in] when in > H.
        const dW1T = tf.matMul(dzT as T2, xk as T2);
        dW1 = alloc([I, H]);
        transpose(view(dW1T), view(dW1), H, I);
        tf.dispose([dzT, dW1T]);
      }
      tf.dispose([aT, w2T, dz]);
      release(kept);
      return [dW1, db1, dW2, db2];
    };
    return { value: out as T2, gradFunc };
  });
  return op(w1, b1, w2, b2) as T2;
}

/**
 * SiLU(a + b) for a [ra, C], b [rb, C], each with the rows of the output or one row (broadcast):
 * the blocks' FiLM input from the step embedding and the condition. The sigmoid is a tfjs kernel;
 * the sum, the product and the backward are one JavaScript pass each, rounded to float32 as the
 * tfjs graph's add, mul, sigmoid and their gradients round, so where neither input broadcasts
 * (training) value and gradients are the graph's bit for bit. Replaces ≈ 10 kernels a step.
 */
export function fusedSiluAdd(tf: Tf, host: FusedHost, a: T2, b: T2): T2 {
  const C = a.shape[1];
  const ra = a.shape[0];
  const rb = b.shape[0];
  const n = Math.max(ra, rb);
  if ((ra !== n && ra !== 1) || (rb !== n && rb !== 1) || b.shape[1] !== C)
    throw new Error(`fusedSiluAdd: shapes [${a.shape}] and [${b.shape}] do not broadcast`);
  const { view, alloc } = host;
  const op = tf.customGrad((...args: (Tensor | TfNs.GradSaveFunc)[]) => {
    const [aa, bb] = args as [T2, T2];
    const z = alloc([n, C]);
    addBroadcast(view(aa), view(bb), view(z), n, C, ra === 1, rb === 1);
    const sg = tf.sigmoid(z);
    const out = alloc([n, C]);
    siluRounded(view(z), view(sg), view(out), n * C);
    const kept = keepForBackward(tf, [z, sg]);
    if (!kept) tf.dispose([z, sg]);
    const gradFunc = (dy: Tensor): Tensor[] => {
      const dz = alloc([n, C]);
      siluGradRounded(view(dy), view(z), view(sg), view(dz), n * C);
      const da = ra === n ? tf.clone(dz) : rowSum(tf, host, dz, n, C);
      const db = rb === n ? dz : rowSum(tf, host, dz, n, C);
      if (rb !== n) dz.dispose();
      release(kept);
      return [da, db];
    };
    return { value: out as T2, gradFunc };
  });
  return op(a, b) as T2;
}

/** [1, C]: the column sums of m [n, C]. */
function rowSum(tf: Tf, host: FusedHost, m: Tensor, n: number, C: number): Tensor {
  const s = host.alloc([1, C]);
  columnSums(host.view(m), host.view(s), n, C);
  return s;
}

/**
 * The denoising loss's noisy input and target, built in JavaScript: y and ε are data (no gradient),
 * so x_t = a·y + b·ε and the target (ε, or v = a·ε − b·y) need no tfjs ops. a, b per row of y [B, k].
 * Each product and sum is rounded to float32 as the tfjs ops round them (Math.fround), so x_t and the
 * target are bit for bit those of the tfjs graph (mul, mul, add / sub) on every backend.
 */
export function noisyTarget(
  y: Float32Array,
  eps: Float32Array,
  a: Float32Array,
  b: Float32Array,
  k: number,
  v: boolean,
): { xt: Float32Array; target: Float32Array } {
  const xt = new Float32Array(y.length);
  const target = v ? new Float32Array(y.length) : eps;
  for (let i = 0; i < y.length; i++) {
    const r = Math.floor(i / k);
    xt[i] = Math.fround(Math.fround(y[i] * a[r]) + Math.fround(eps[i] * b[r]));
    if (v) target[i] = Math.fround(Math.fround(eps[i] * a[r]) - Math.fround(y[i] * b[r]));
  }
  return { xt, target };
}

/**
 * mean((pred − target)²) as one op, the target data (no gradient): the forward sums the squares in
 * order in float32 (as tfjs-wasm's Mean), the gradient 2(pred − target)/n with tfjs's roundings
 * (mean's 1/n, then square's dy·2x), so it equals the tfjs graph's gradient bit for bit. Replaces
 * sub, square, mean and their gradients (≈ 10 kernels a step).
 */
export function fusedMse(tf: Tf, host: FusedHost, pred: Tensor, target: Float32Array): TfNs.Scalar {
  const { view, alloc } = host;
  const n = target.length;
  const op = tf.customGrad((...args: (Tensor | TfNs.GradSaveFunc)[]) => {
    const p = args[0] as Tensor;
    const d = new Float32Array(n);
    const value = tf.scalar(mseForward(view(p), target, d));
    const gradFunc = (dy: Tensor): Tensor[] => {
      const dp = alloc(p.shape);
      mseBackward(view(dy)[0], d, view(dp));
      return [dp];
    };
    return { value, gradFunc };
  });
  return op(pred) as TfNs.Scalar;
}

/** d = pred − target (float32); returns mean(d²), summed in order in float32. */
function mseForward(p: Float32Array, t: Float32Array, d: Float32Array): number {
  let s = 0;
  for (let i = 0; i < t.length; i++) {
    const e = Math.fround(p[i] - t[i]);
    d[i] = e;
    s = Math.fround(s + Math.fround(e * e));
  }
  return Math.fround(s / t.length);
}

/** dp = dy·(1/n)·2d, rounded as tfjs's mean and square gradients round it. */
function mseBackward(dy: number, d: Float32Array, dp: Float32Array): void {
  const g = Math.fround(dy / d.length);
  for (let i = 0; i < d.length; i++) dp[i] = Math.fround(g * (2 * d[i]));
}

// The loops, as small top-level functions so V8 optimises each once (see lstm.ts).

/** a [rows, cols] into b [cols, rows], b's rows `stride` apart. */
function transposeStrided(a: Float32Array, b: Float32Array, rows: number, cols: number, stride: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) b[j * stride + i] = a[i * cols + j];
}

/** a [rows, cols] into b [cols, rows]. */
function transpose(a: Float32Array, b: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) b[j * rows + i] = a[i * cols + j];
}

/** gb += b_film (in place); u = h·(1 + γ) + β, rows of h grouped by gb's row. */
function filmPre(hv: Float32Array, gb: Float32Array, fB: Float32Array, uv: Float32Array, B: number, k: number, C: number, r: number): void {
  for (let q = 0; q < r; q++) for (let c = 0; c < 2 * C; c++) gb[q * 2 * C + c] += fB[c];
  const per = B / r;
  for (let b = 0; b < B; b++) {
    const gq = Math.floor(b / per) * 2 * C;
    for (let n = b * k; n < (b + 1) * k; n++) for (let c = 0; c < C; c++) uv[n * C + c] = hv[n * C + c] * (1 + gb[gq + c]) + gb[gq + C + c];
  }
}

/**
 * The taps of SiLU(u) = u·σ(u) into cat [N + PAD, K·C]: cat[b, i, j·C + c] = SiLU(u)[b, i + j − left, c],
 * 0 outside the patch and in the PAD rows.
 */
function siluTaps(uv: Float32Array, sg: Float32Array, cat: Float32Array, B: number, k: number, C: number, K: number, left: number): void {
  const KC = K * C;
  cat.fill(0, B * k * KC);
  // Taps that read outside the patch: zeros (the same slots in every b).
  for (let b = 0; b < B; b++)
    for (let i = 0; i < k; i++)
      for (let j = 0; j < K; j++) {
        const src = i + j - left;
        if (src < 0 || src >= k) cat.fill(0, (b * k + i) * KC + j * C, (b * k + i) * KC + (j + 1) * C);
      }
  // Row src of SiLU(u) goes to row src − j + left of cat, at tap j's columns.
  for (let b = 0; b < B; b++)
    for (let src = 0; src < k; src++) {
      const o = (b * k + src) * C;
      for (let j = 0; j < K; j++) {
        const dst = src - j + left;
        if (dst < 0 || dst >= k) continue;
        const d = (b * k + dst) * KC + j * C;
        for (let c = 0; c < C; c++) cat[d + c] = uv[o + c] * sg[o + c];
      }
    }
}

/** out = h + y + b_conv (rows of C). */
function residual(hv: Float32Array, y: Float32Array, cB: Float32Array, out: Float32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) out[n * C + c] = hv[n * C + c] + (y[n * C + c] + cB[c]);
}

/**
 * From dy (= dh' [N, C]) and dcat = dy·W_convᵀ [N, K·C]: dg (the taps summed back), du = dg·SiLU'(u),
 * dh = dy + du·(1 + γ), and per FiLM row q: dγ = Σ du·h, dβ = Σ du over its rows, into dgb [r, 2C];
 * also dyᵀ into dyT [C, N + PAD] (zero PAD columns), db_conv = Σ dy and db_film = Σ dgb.
 */
function filmTapsBackward(
  dy: Float32Array,
  dcat: Float32Array,
  uv: Float32Array,
  sg: Float32Array,
  hv: Float32Array,
  gb: Float32Array,
  dh: Float32Array,
  dgb: Float32Array,
  dyT: Float32Array,
  dcB: Float32Array,
  dfB: Float32Array,
  B: number,
  k: number,
  C: number,
  K: number,
  left: number,
  r: number,
): void {
  const KC = K * C;
  const N = B * k;
  const NP = N + PAD;
  const per = B / r;
  const acc = new Float64Array(2 * C);
  const fsum = new Float64Array(2 * C);
  const bsum = new Float64Array(C);
  const dg = new Float64Array(C);
  for (let c = 0; c < C; c++) dyT.fill(0, c * NP + N, (c + 1) * NP);
  for (let q = 0; q < r; q++) {
    acc.fill(0);
    const gq = q * 2 * C;
    for (let b = q * per; b < (q + 1) * per; b++)
      for (let i = 0; i < k; i++) {
        const n = b * k + i;
        // dg of row i: tap j of row i − j + left read it.
        dg.fill(0);
        for (let j = 0; j < K; j++) {
          const dst = i - j + left;
          if (dst < 0 || dst >= k) continue;
          const o = (b * k + dst) * KC + j * C;
          for (let c = 0; c < C; c++) dg[c] += dcat[o + c];
        }
        const x0 = n * C;
        for (let c = 0; c < C; c++) {
          const x = x0 + c;
          const uu = uv[x];
          const s = sg[x];
          const du = dg[c] * s * (1 + uu * (1 - s));
          const d = dy[x];
          dh[x] = d + du * (1 + gb[gq + c]);
          acc[c] += du * hv[x];
          acc[C + c] += du;
          bsum[c] += d;
          dyT[c * NP + n] = d;
        }
      }
    for (let c = 0; c < 2 * C; c++) {
      dgb[gq + c] = acc[c];
      fsum[c] += acc[c];
    }
  }
  dcB.set(bsum);
  dfB.set(fsum);
}

function embedForward(x: Float32Array, w: Float32Array, a: Float32Array, pos: Float32Array, out: Float32Array, B: number, k: number, C: number): void {
  for (let b = 0; b < B; b++)
    for (let i = 0; i < k; i++) {
      const v = x[b * k + i];
      const o = (b * k + i) * C;
      for (let c = 0; c < C; c++) out[o + c] = v * w[c] + a[c] + pos[i * C + c];
    }
}

/** dx = dy·wᵀ per position; dw = Σ x·dy; da = Σ dy; dpos = Σ over b of dy. */
function embedBackward(
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  dw: Float32Array,
  da: Float32Array,
  dpos: Float32Array,
  B: number,
  k: number,
  C: number,
): void {
  const sw = new Float64Array(C);
  const sa = new Float64Array(C);
  const sp = new Float64Array(k * C);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < k; i++) {
      const n = b * k + i;
      const v = x[n];
      let d = 0;
      for (let c = 0; c < C; c++) {
        const g = dy[n * C + c];
        d += g * w[c];
        sw[c] += v * g;
        sa[c] += g;
        sp[i * C + c] += g;
      }
      dx[n] = d;
    }
  dw.set(sw);
  da.set(sa);
  dpos.set(sp);
}

function readOutForward(h: Float32Array, sg: Float32Array, w: Float32Array, a: Float32Array, out: Float32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    let y = 0;
    for (let c = 0; c < C; c++) y += h[n * C + c] * sg[n * C + c] * w[c];
    out[n] = y + a[0];
  }
}

/** dh = dy·w·SiLU'(h); dw = Σ SiLU(h)·dy; da = Σ dy. */
function readOutBackward(
  dy: Float32Array,
  h: Float32Array,
  sg: Float32Array,
  w: Float32Array,
  dh: Float32Array,
  dw: Float32Array,
  da: Float32Array,
  N: number,
  C: number,
): void {
  const sw = new Float64Array(C);
  let sa = 0;
  for (let n = 0; n < N; n++) {
    const d = dy[n];
    sa += d;
    for (let c = 0; c < C; c++) {
      const x = h[n * C + c];
      const s = sg[n * C + c];
      dh[n * C + c] = d * w[c] * s * (1 + x * (1 - s));
      sw[c] += x * s * d;
    }
  }
  dw.set(sw);
  da[0] = sa;
}

/** z = a + b (float32), a's or b's one row broadcast where flagged. */
function addBroadcast(a: Float32Array, b: Float32Array, z: Float32Array, n: number, C: number, a1: boolean, b1: boolean): void {
  for (let i = 0; i < n; i++) {
    const ao = a1 ? 0 : i * C;
    const bo = b1 ? 0 : i * C;
    for (let c = 0; c < C; c++) z[i * C + c] = a[ao + c] + b[bo + c];
  }
}

/** out = z·σ(z), σ(z) given (float32, as tfjs's mul). */
function siluRounded(z: Float32Array, sg: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = z[i] * sg[i];
}

/**
 * dz = dy·σ + (dy·z)·(σ·(1 − σ)), each step rounded to float32 as tfjs's mul gradient (dy·σ to z,
 * dy·z to σ), sigmoid gradient (dy·(σ·(1 − σ))) and the sum of z's two gradients round them.
 */
function siluGradRounded(dy: Float32Array, z: Float32Array, sg: Float32Array, dz: Float32Array, n: number): void {
  const f = Math.fround;
  for (let i = 0; i < n; i++) {
    const s = sg[i];
    dz[i] = f(dy[i] * s) + f(f(dy[i] * z[i]) * f(s * f(1 - s)));
  }
}

/** m[i, :] += v for m [rows, cols] (in place). */
function addRows(m: Float32Array, v: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m[i * cols + j] += v[j];
}

/** s[j] = Σᵢ m[i, j] for m [rows, cols]. */
function columnSums(m: Float32Array, s: Float32Array, rows: number, cols: number): void {
  for (let j = 0; j < cols; j++) {
    let acc = 0;
    for (let i = 0; i < rows; i++) acc += m[i * cols + j];
    s[j] = acc;
  }
}

/** a = z·σ(z), σ(z) given. */
function siluInto(z: Float32Array, sg: Float32Array, a: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) a[i] = z[i] * sg[i];
}

/** d ⊙= SiLU'(z) = σ(z)·(1 + z·(1 − σ(z))) (in place). */
function siluBackward(d: Float32Array, z: Float32Array, sg: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) d[i] *= sg[i] * (1 + z[i] * (1 - sg[i]));
}
