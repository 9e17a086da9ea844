import type * as TfNs from '@tensorflow/tfjs';
import { dense, film, silu, type DenoiserForward, type DenoiserSpec, type WeightBuilder, type WeightOf } from './blocks.js';

/**
 * S4D layers (Gu, Gupta, Goel & Ré 2022, "On the parameterization and initialization of diagonal
 * state space models") and the `sssd` noise predictor built from them (after Alcaraz & Strodthoff
 * 2022, "Diffusion-based time series imputation and forecasting with structured state space models").
 *
 * Each channel is a diagonal state-space model x' = A x + B u, y = 2·Re(C x) + D u with N complex
 * modes A_n (the conjugate half implied by 2·Re), discretised by zero-order hold with a learned step
 * Δ: Ā = exp(ΔA), B̄ = (exp(ΔA) − 1)/A (B = 1). Its convolution kernel is a Vandermonde product,
 *   K_l = 2·Re( Σ_n C_n B̄_n Ā_n^l ),  l = 0 … len − 1,
 * computed here from Ā_n^l = exp(l·Re ΔA_n)·(cos(l·Im ΔA_n) + i sin(l·Im ΔA_n)) in real tfjs ops.
 * Init S4D-Lin: A_n = −1/2 + iπn, C ~ N(0, 1/2) per part, log Δ uniform in [log 0.001, log 0.1].
 *
 * The convolution: the sequences here are short (lookback + H, tens of bars), so it is direct — the
 * kernel laid out as a Toeplitz matrix (one matMul with a constant 0/1 shift tensor) and one batched
 * matMul per layer. That is len² multiply-adds per channel and row, against FFT's len·log len, but
 * tfjs on wasm/cpu has no gradient for rfft/irfft and matMul is its fastest kernel (XNNPACK); at
 * len ≈ 40 the matMul wins. Bidirectional, as SSSD's denoiser: a causal kernel plus an
 * anti-causal one (its own C) over the same modes.
 */

type Tf = typeof TfNs;
type T2 = TfNs.Tensor2D;
type T3 = TfNs.Tensor3D;

/** The S4D parameters of one layer, as tensors: logDt [C], logNegAre, aIm, cRe, cIm [C, N]. */
export interface S4dParams {
  logDt: TfNs.Tensor;
  logNegARe: TfNs.Tensor;
  aIm: TfNs.Tensor;
  cRe: TfNs.Tensor;
  cIm: TfNs.Tensor;
}

/** K [C, len]: each channel's ZOH-discretised convolution kernel (the Vandermonde product above). */
export function s4dKernel(tf: Tf, q: S4dParams, len: number): T2 {
  const dt = tf.expandDims(tf.exp(q.logDt), 1); // [C, 1]
  const aRe = tf.neg(tf.exp(q.logNegARe));
  const aIm = q.aIm;
  const dRe = tf.mul(aRe, dt);
  const dIm = tf.mul(aIm, dt);
  // B̄ = (exp(ΔA) − 1) / A
  const ex = tf.exp(dRe);
  const eRe = tf.sub(tf.mul(ex, tf.cos(dIm)), 1);
  const eIm = tf.mul(ex, tf.sin(dIm));
  const den = tf.add(tf.square(aRe), tf.square(aIm));
  const bRe = tf.div(tf.add(tf.mul(eRe, aRe), tf.mul(eIm, aIm)), den);
  const bIm = tf.div(tf.sub(tf.mul(eIm, aRe), tf.mul(eRe, aIm)), den);
  // W = C·B̄
  const wRe = tf.expandDims(tf.sub(tf.mul(q.cRe, bRe), tf.mul(q.cIm, bIm)), 2); // [C, N, 1]
  const wIm = tf.expandDims(tf.add(tf.mul(q.cRe, bIm), tf.mul(q.cIm, bRe)), 2);
  const l = tf.reshape(tf.range(0, len, 1, 'float32'), [1, 1, len]);
  const mag = tf.exp(tf.mul(tf.expandDims(dRe, 2), l)); // [C, N, len]
  const ang = tf.mul(tf.expandDims(dIm, 2), l);
  const re = tf.sub(tf.mul(wRe, tf.mul(mag, tf.cos(ang))), tf.mul(wIm, tf.mul(mag, tf.sin(ang))));
  return tf.mul(tf.sum(re, 1), 2) as T2;
}

/** The constant [len, len²] tensor S with S[l, t·len + s] = 1 where t − s = l: K·S is the causal Toeplitz matrix of K. */
function shiftTensor(tf: Tf, len: number): T2 {
  const s = new Float32Array(len * len * len);
  for (let t = 0; t < len; t++) for (let u = 0; u <= t; u++) s[(t - u) * len * len + t * len + u] = 1;
  return tf.tensor2d(s, [len, len * len]);
}

/** M [C, len, len]: M[c, t, s] = K_fwd[c, t − s] (s ≤ t) + K_bwd[c, s − t] (s ≥ t). */
export function toeplitz(tf: Tf, kFwd: T2, kBwd: T2 | undefined, shift: T2): T3 {
  const C = kFwd.shape[0];
  const len = kFwd.shape[1];
  const f = tf.reshape(tf.matMul(kFwd, shift), [C, len, len]) as T3;
  if (!kBwd) return f;
  return tf.add(f, tf.transpose(tf.reshape(tf.matMul(kBwd, shift), [C, len, len]), [0, 2, 1])) as T3;
}

/** y [B, len, C] = the convolution of u [B, len, C] by M [C, len, len], channel by channel. */
export function applyToeplitz(tf: Tf, M: T3, u: T3): T3 {
  const ut = tf.transpose(u, [2, 1, 0]) as T3; // [C, len, B]
  return tf.transpose(tf.matMul(M, ut), [2, 1, 0]) as T3;
}

export function sssdWeights(w: WeightBuilder, s: DenoiserSpec): void {
  const C = s.hidden;
  const N = s.stateSize;
  w.glorot('hist/W', s.p, C);
  w.fill('hist/b', [C]);
  w.glorot('in/W', 1, C);
  w.fill('in/b', [C]);
  for (let l = 0; l < s.layers; l++) {
    w.glorot(`block${l}/film/W`, C, 2 * C);
    w.fill(`block${l}/film/b`, [2 * C]);
    const lo = Math.log(0.001);
    const hi = Math.log(0.1);
    w.push(`block${l}/log_dt`, [C], () => lo + (hi - lo) * w.rng.next());
    w.fill(`block${l}/log_neg_a_re`, [C, N], Math.log(0.5));
    w.push(`block${l}/a_im`, [C, N], (i) => Math.PI * (i % N));
    for (const d of ['fwd', 'bwd']) {
      w.push(`block${l}/c_re_${d}`, [C, N], () => Math.SQRT1_2 * w.rng.normal());
      w.push(`block${l}/c_im_${d}`, [C, N], () => Math.SQRT1_2 * w.rng.normal());
    }
    w.push(`block${l}/D`, [C], () => w.rng.normal());
    w.glorot(`block${l}/mix/W`, C, C);
    w.fill(`block${l}/mix/b`, [C]);
  }
  w.glorot('out/W', C, 1);
  w.fill('out/b', [1]);
}

/**
 * The sssd noise predictor. The sequence is the window's L bars followed by the patch's k
 * positions: a bar of the window enters as its features projected to C channels, a position of the
 * patch as its noisy value projected (the two projections have their own biases, which tells the
 * layers which is which). Each residual block: FiLM by the step embedding, a bidirectional S4D
 * convolution + D·u, SiLU, a channel-mixing linear layer. ε̂ is read off the patch positions.
 */
export function sssdForward(tf: Tf, s: DenoiserSpec, W: WeightOf): DenoiserForward {
  const { hidden: C, k, lookback: L, p } = s;
  const len = L + k;
  let shift: T2 | undefined;
  const param = (l: number, d: string): S4dParams => ({
    logDt: W(`block${l}/log_dt`),
    logNegARe: W(`block${l}/log_neg_a_re`),
    aIm: W(`block${l}/a_im`),
    cRe: W(`block${l}/c_re_${d}`),
    cIm: W(`block${l}/c_im_${d}`),
  });
  return {
    encode(x) {
      const b = x.shape[0];
      return [tf.reshape(dense(tf, tf.reshape(x, [b * L, p]), W, 'hist'), [b, L, C])];
    },
    eps(xt, temb, [hist]) {
      const B = xt.shape[0];
      // The shift tensor is a constant of the net: made once, kept out of every tidy.
      shift ??= tf.keep(shiftTensor(tf, len));
      const fut = tf.reshape(dense(tf, tf.reshape(xt, [B * k, 1]), W, 'in'), [B, k, C]);
      // Each window's history repeated for its draws (the bidirectional layers mix it with each draw's patch).
      const rep = B / hist.shape[0];
      const hs = rep === 1 ? hist : tf.reshape(tf.tile(tf.expandDims(hist, 1), [1, rep, 1, 1]), [B, L, C]);
      let h = tf.concat([hs as T3, fut as T3], 1) as T3;
      const e = silu(tf, temb) as T2;
      for (let l = 0; l < s.layers; l++) {
        const g = film(tf, h, e, W, `block${l}/film`, C);
        const M = toeplitz(tf, s4dKernel(tf, param(l, 'fwd'), len), s4dKernel(tf, param(l, 'bwd'), len), shift);
        const y = tf.add(applyToeplitz(tf, M, g), tf.mul(g, W(`block${l}/D`)));
        const z = dense(tf, tf.reshape(silu(tf, y), [B * len, C]), W, `block${l}/mix`);
        h = tf.add(h, tf.reshape(z, [B, len, C])) as T3;
      }
      const out = tf.reshape(tf.slice(h, [0, L, 0], [B, k, C]), [B * k, C]);
      return tf.reshape(dense(tf, silu(tf, out) as T2, W, 'out'), [B, k]);
    },
    dispose() {
      shift?.dispose();
      shift = undefined;
    },
  };
}
