import type * as TfNs from '@tensorflow/tfjs';
import type { WeightValue } from '../nn/nets.js';
import { WeightBuilder, type DenoiserForward, type DenoiserSpec, type WeightOf } from './blocks.js';
import { convForward, convWeights } from './denoiser-conv.js';
import { sssdForward, sssdWeights } from './s4d.js';

/**
 * The noise predictor ε_θ(x_t, t, window) of the diffusion kinds. `x_t` is the noisy target patch
 * (the k standardised targets of a window, i.e. the next H bars' returns), `t` the diffusion step,
 * and the window [lookback, p] of features the condition. Two backbones:
 *   - `diffusion`: 1-D convolutions over the patch (denoiser-conv.ts), the window encoded once into
 *     a vector;
 *   - `sssd`: S4D layers (s4d.ts) over the window and the patch as one sequence (the history fed
 *     alongside the noisy target, as in SSSD).
 * Both are plain tfjs ops over our own variables, like src/models/nn/nets.ts, so weights come from
 * fxflow's seeded PRNG and every op has a gradient on wasm and cpu.
 */

type Tf = typeof TfNs;

/** Initial weights: the step-embedding MLP, then the backbone's. */
export function denoiserWeights(spec: DenoiserSpec, seed: number): WeightValue[] {
  const w = new WeightBuilder(seed);
  const C = spec.hidden;
  w.glorot('temb/1/W', C, C);
  w.fill('temb/1/b', [C]);
  w.glorot('temb/2/W', C, C);
  w.fill('temb/2/b', [C]);
  if (spec.kind === 'diffusion') convWeights(w, spec);
  else sssdWeights(w, spec);
  return w.out;
}

export function denoiserForward(tf: Tf, spec: DenoiserSpec, W: WeightOf): DenoiserForward {
  return spec.kind === 'diffusion' ? convForward(tf, spec, W) : sssdForward(tf, spec, W);
}
