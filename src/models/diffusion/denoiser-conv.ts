import type * as TfNs from '@tensorflow/tfjs';
import { dense, film, silu, type DenoiserForward, type DenoiserSpec, type WeightBuilder, type WeightOf } from './blocks.js';

/**
 * The `diffusion` kind's noise predictor: the window (lookback × p) flattened and encoded by a
 * two-layer MLP into a vector c; the noisy patch embedded per position (value · w + a learned
 * position vector); `layers` residual blocks, each FiLM-modulated by SiLU(c + step embedding) and
 * then a "same"-padded 1-D convolution of `kernel_size` taps over the patch; a per-position linear
 * read-out of ε̂.
 *
 * The convolution is shifted slices + one matMul, as the tcn kind does (conv1d's filter gradient
 * has no wasm kernel).
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

export function convForward(tf: Tf, s: DenoiserSpec, W: WeightOf): DenoiserForward {
  const { hidden: C, k, kernelSize: K, lookback: L, p } = s;
  const left = Math.floor((K - 1) / 2);
  return {
    encode(x) {
      const b = x.shape[0];
      const h = silu(tf, dense(tf, tf.reshape(x, [b, L * p]), W, 'cond/1')) as T2;
      return [dense(tf, h, W, 'cond/2')];
    },
    eps(xt, temb, [c]) {
      const B = xt.shape[0];
      const e = silu(tf, tf.add(temb, c)) as T2;
      let h = tf.add(tf.reshape(dense(tf, tf.reshape(xt, [B * k, 1]), W, 'in'), [B, k, C]), W('pos')) as T3;
      for (let l = 0; l < s.layers; l++) {
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
        h = tf.add(h, tf.reshape(y, [B, k, C])) as T3;
      }
      return tf.reshape(dense(tf, silu(tf, tf.reshape(h, [B * k, C])) as T2, W, 'out'), [B, k]);
    },
  };
}
