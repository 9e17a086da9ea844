/**
 * The cosine noise schedule of Nichol & Dhariwal (2021, "Improved denoising diffusion probabilistic
 * models", eq. 17): ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T) + s)/(1 + s) · π/2), s = 0.008, with
 * β_t = 1 − ᾱ_t/ᾱ_{t−1} clipped to at most 0.999 (so the last steps stay invertible) and ᾱ
 * recomputed as the product of the clipped (1 − β).
 */

/** The paper's offset s: keeps β_t from being tiny near t = 0. */
export const COSINE_S = 0.008;
/** The paper's cap on β_t. */
export const MAX_BETA = 0.999;

export interface NoiseSchedule {
  /** Diffusion steps T. */
  T: number;
  /** ᾱ_t for t = 0 … T (ᾱ_0 = 1). */
  alphaBar: Float64Array;
  /** β_t for t = 1 … T at index t (index 0 unused, 0). */
  beta: Float64Array;
}

export function cosineSchedule(T: number, s = COSINE_S): NoiseSchedule {
  if (!(Number.isInteger(T) && T >= 1)) throw new Error(`diffusion steps must be an integer ≥ 1, got ${T}`);
  const f = (t: number): number => Math.cos((((t / T + s) / (1 + s)) * Math.PI) / 2) ** 2;
  const f0 = f(0);
  const alphaBar = new Float64Array(T + 1);
  const beta = new Float64Array(T + 1);
  alphaBar[0] = 1;
  for (let t = 1; t <= T; t++) {
    beta[t] = Math.min(MAX_BETA, 1 - f(t) / f0 / (f(t - 1) / f0));
    alphaBar[t] = alphaBar[t - 1] * (1 - beta[t]);
  }
  return { T, alphaBar, beta };
}
