import type * as TfNs from '@tensorflow/tfjs';
import type { Prediction } from './blocks.js';
import type { NoiseSchedule } from './schedule.js';

/**
 * DDIM sampling (Song, Meng & Ermon 2021, "Denoising diffusion implicit models", eq. 12 with
 * η = 0): a deterministic walk down a subsequence τ_S > … > τ_1 of the T training steps,
 *   x̂_0 = (x_τ − √(1 − ᾱ_τ) ε̂) / √ᾱ_τ,   x_τ' = √ᾱ_τ' x̂_0 + √(1 − ᾱ_τ') ε̂,
 * with ᾱ after the last step = 1 (x = x̂_0). So S network calls per draw instead of T.
 * A v-predicting network (Salimans & Ho 2022, v = √ᾱ ε − √(1 − ᾱ) x_0) gives
 *   x̂_0 = √ᾱ x_τ − √(1 − ᾱ) v̂,   ε̂ = √(1 − ᾱ) x_τ + √ᾱ v̂,
 * the same walk without dividing the network's error by √ᾱ.
 */

type Tf = typeof TfNs;

/**
 * τ_1 < … < τ_S: S of 1 … T, evenly spaced from 1 (improved-diffusion's `ddimS` spacing). The walk
 * starts at τ_S = 1 + (S − 1)·T/S rather than T: the cosine schedule's ᾱ_T ≈ 2e-9 would divide the
 * first x̂_0 by √ᾱ_T ≈ 5e-5 and blow any error of ε̂ up 10⁴-fold, while at τ_S (T = 1000, S = 20:
 * 951, ᾱ ≈ 0.006) x is still almost pure noise.
 */
export function ddimTimesteps(T: number, S: number): Int32Array {
  if (!(Number.isInteger(S) && S >= 1)) throw new Error(`sampling steps must be an integer ≥ 1, got ${S}`);
  const n = Math.min(S, T);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = 1 + Math.floor((i * T) / n);
  return out;
}

/**
 * Runs DDIM from `xT` (pure noise, [rows, k]); `eps(x, t)` is the network at step t, predicting ε
 * or v (`prediction`).
 * Returns x_0, [rows, k]. Intermediate tensors are released; `xT` is left to the caller.
 */
export function ddimSample(
  tf: Tf,
  schedule: NoiseSchedule,
  steps: Int32Array,
  xT: TfNs.Tensor2D,
  eps: (x: TfNs.Tensor2D, t: number) => TfNs.Tensor2D,
  prediction: Prediction = 'eps',
): TfNs.Tensor2D {
  let x = xT;
  for (let i = steps.length - 1; i >= 0; i--) {
    const t = steps[i];
    const a = schedule.alphaBar[t];
    const aPrev = i > 0 ? schedule.alphaBar[steps[i - 1]] : 1;
    const prev = x;
    x = tf.tidy(() => {
      const out = eps(prev, t);
      let e: TfNs.Tensor;
      let x0: TfNs.Tensor;
      if (prediction === 'v') {
        x0 = tf.sub(tf.mul(prev, Math.sqrt(a)), tf.mul(out, Math.sqrt(1 - a)));
        e = tf.add(tf.mul(prev, Math.sqrt(1 - a)), tf.mul(out, Math.sqrt(a)));
      } else {
        e = out;
        x0 = tf.div(tf.sub(prev, tf.mul(e, Math.sqrt(1 - a))), Math.sqrt(a));
      }
      return (aPrev === 1 ? x0 : tf.add(tf.mul(x0, Math.sqrt(aPrev)), tf.mul(e, Math.sqrt(1 - aPrev)))) as TfNs.Tensor2D;
    });
    if (prev !== xT) prev.dispose();
  }
  return x;
}
