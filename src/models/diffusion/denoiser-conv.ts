import type * as TfNs from '@tensorflow/tfjs';
import { fusedHost } from '../nn/lstm.js';
import { fusedConvBlock, fusedEmbed, fusedMlp, fusedReadOut, fusedSiluAdd, type ConvBlockWeights } from './conv-block.js';
import { dense, film, silu, type DenoiserForward, type DenoiserSpec, type WeightBuilder, type WeightOf } from './blocks.js';

/**
 * The `diffusion` kind's noise predictor: the window (lookback × p) flattened and encoded by a
 * two-layer MLP into a vector c; the noisy patch embedded per position (value · w + a learned
 * position vector); `layers` residual blocks, each FiLM-modulated by SiLU(c + step embedding) and
 * then a "same"-padded 1-D convolution of `kernel_size` taps over the patch; a per-position linear
 * read-out of ε̂.
 *
 * On wasm and cpu the condition MLP, SiLU(step embedding + c), the embedding, each block and the read-out are one fused op each (conv-block.ts); elsewhere (tfjs-node) the tfjs graph
 * below, where the convolution is shifted slices + one matMul, as the tcn kind does (conv1d's
 * filter gradient has no wasm kernel).
 */

type Tf = typeof TfNs;
type T2 = TfNs.Tensor2D;
type T3 = TfNs.Tensor3D;

export function convWeights(w: WeightBuilder, s: DenoiserSpec): void {
  const C = s.hidden;
  w.glorot('cond/1/W', s.lookback * s.p, C);
  w.fill('cond/1/b', [C]);
  w.glorot('cond/2/W', C, C);
  w.fill('cond/2/b', [C]);
  w.glorot('in/W', 1, C);
  w.fill('in/b', [C]);
  w.push('pos', [s.k, C], () => 0.1 * w.rng.normal());
  for (let l = 0; l < s.layers; l++) {
    w.glorot(`block${l}/film/W`, C, 2 * C);
    w.fill(`block${l}/film/b`, [2 * C]);
    w.glorot(`block${l}/conv/W`, s.kernelSize * C, C);
    w.fill(`block${l}/conv/b`, [C]);
  }
  w.glorot('out/W', C, 1);
  w.fill('out/b', [1]);
}

/** `fused: false`: the tfjs graph on every backend (the reference the tests hold the fused ops to). */
export function convForward(tf: Tf, s: DenoiserSpec, W: WeightOf, o: { fused?: boolean } = {}): DenoiserForward {
  const { hidden: C, k, kernelSize: K, lookback: L, p } = s;
  return {
    encode(x) {
      const b = x.shape[0];
      const flat = tf.reshape(x, [b, L * p]) as T2;
      const host = o.fused === false ? undefined : fusedHost(tf);
      if (host) return [fusedMlp(tf, host, flat, W('cond/1/W') as T2, W('cond/1/b') as TfNs.Tensor1D, W('cond/2/W') as T2, W('cond/2/b') as TfNs.Tensor1D)];
      return [dense(tf, silu(tf, dense(tf, flat, W, 'cond/1')) as T2, W, 'cond/2')];
    },
    eps(xt, temb, [c]) {
      const B = xt.shape[0];
      const host = o.fused === false ? undefined : fusedHost(tf);
      const e = host ? fusedSiluAdd(tf, host, temb, c as T2) : (silu(tf, tf.add(temb, c)) as T2);
      let h = host
        ? fusedEmbed(tf, host, xt, W('in/W') as T2, W('in/b') as TfNs.Tensor1D, W('pos') as T2)
        : (tf.add(tf.reshape(dense(tf, tf.reshape(xt, [B * k, 1]), W, 'in'), [B, k, C]), W('pos')) as T3);
      for (let l = 0; l < s.layers; l++) h = host ? fusedConvBlock(tf, host, h, e, blockWeights(W, l), K) : convBlock(tf, h, e, W, l, K);
      if (host) return fusedReadOut(tf, host, h, W('out/W') as T2, W('out/b') as TfNs.Tensor1D);
      return tf.reshape(dense(tf, silu(tf, tf.reshape(h, [B * k, C])) as T2, W, 'out'), [B, k]);
    },
  };
}

const blockWeights = (W: WeightOf, l: number): ConvBlockWeights => ({
  filmW: W(`block${l}/film/W`) as T2,
  filmB: W(`block${l}/film/b`) as TfNs.Tensor1D,
  convW: W(`block${l}/conv/W`) as T2,
  convB: W(`block${l}/conv/b`) as TfNs.Tensor1D,
});

/** Block l as tfjs ops: h + conv(SiLU(FiLM(h, e))), the reference the fused op (conv-block.ts) matches. */
export function convBlock(tf: Tf, h: T3, e: T2, W: WeightOf, l: number, K: number): T3 {
  const [B, k, C] = h.shape;
  const left = Math.floor((K - 1) / 2);
  const g = silu(tf, film(tf, h, e, W, `block${l}/film`, C)) as T3;
  const padded =
    K === 1
      ? g
      : (tf.pad(g, [
          [0, 0],
          [left, K - 1 - left],
          [0, 0],
        ]) as T3);
  const taps: T3[] = [];
  for (let j = 0; j < K; j++) taps.push(K === 1 ? g : (tf.slice(padded, [0, j, 0], [B, k, C]) as T3));
  const cat = K === 1 ? g : (tf.concat(taps, 2) as T3);
  const y = dense(tf, tf.reshape(cat, [B * k, K * C]), W, `block${l}/conv`);
  return tf.add(h, tf.reshape(y, [B, k, C])) as T3;
}
