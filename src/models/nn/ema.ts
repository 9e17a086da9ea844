import type * as TfNs from '@tensorflow/tfjs';
import { fusedHost } from './lstm.js';
import type { WeightValue } from './nets.js';

/**
 * An exponential moving average of a network's weights (Polyak averaging; the "EMA" of DDPM
 * training, Ho et al. 2020), kept in JavaScript as one Float32Array per variable beside the
 * variables the optimizer updates. After optimizer step s (0-based) each shadow element becomes
 *   ŵ ← d_s·ŵ + (1 − d_s)·w,  d_s = min(decay, (1 + s)/(10 + s)),
 * computed in float64 and stored as float32 (deterministic). The warm-up of d_s (TensorFlow's
 * `ExponentialMovingAverage` with `num_updates`) keeps the initial weights from dominating a
 * short run: d₀ = 0.1, so after the first step the shadow is mostly the trained weights. The
 * shadow starts at the initial weights (or a checkpoint's shadow when a run resumes).
 */
export interface Ema {
  /** Folds the variables' current values into the shadow after optimizer step `step` (0-based). */
  update(step: number): void;
  /** The shadow weights, named as the variables (`prefix` before each name: a checkpoint's `ema/`). */
  weights(names: string[], prefix?: string): WeightValue[];
  /** Runs `fn` with the shadow weights in the variables, then puts the trained weights back (bit for bit). */
  swapped<T>(fn: () => T): T;
}

type Tf = typeof TfNs;

/** The decay after optimizer step `step` (0-based): `decay`, warmed up as (1 + step)/(10 + step). */
export function emaDecay(decay: number, step: number): number {
  return Math.min(decay, (1 + step) / (10 + step));
}

/** An EMA of `vars` with `decay` in (0, 1), starting from `init` (in `vars` order) or the variables' values. */
export function makeEma(tf: Tf, vars: TfNs.Variable[], decay: number, init?: WeightValue[]): Ema {
  const host = fusedHost(tf);
  const shadow = vars.map((v, i) => Float32Array.from(init ? init[i].data : (v.dataSync() as Float32Array)));
  const put = (data: Float32Array[]): void =>
    vars.forEach((v, i) => {
      tf.tidy(() => v.assign(tf.tensor(data[i], v.shape)));
    });
  return {
    update(step) {
      const d = emaDecay(decay, step);
      const c = 1 - d;
      vars.forEach((v, i) => {
        // Read in place where the backend allows it (wasm, cpu), as Adam does: no copy a step.
        const w = host ? host.view(v) : (v.dataSync() as Float32Array);
        const s = shadow[i];
        for (let j = 0; j < s.length; j++) s[j] = d * s[j] + c * w[j];
      });
    },
    weights(names, prefix = '') {
      return vars.map((v, i) => ({ name: `${prefix}${names[i]}`, shape: v.shape.slice(), data: shadow[i].slice() }));
    },
    swapped(fn) {
      const trained = vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));
      put(shadow);
      try {
        return fn();
      } finally {
        put(trained);
      }
    },
  };
}
