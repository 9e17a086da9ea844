import { makeRng } from '../data/rng.js';

/**
 * Permutation importance (Breiman 2001; scikit-learn's permutation_importance): how much a model's
 * error grows when one feature's values are shuffled across the rows, breaking its link to the
 * target while keeping its distribution. Measured on held-out rows, for any model kind, per target.
 * The score is the mean squared error; importance = MSE with the feature permuted − MSE as is,
 * averaged over `repeats` permutations (≈ 0 for a feature the model ignores; negative is noise).
 */

/** Predictions of every target for m rows of row-major X. */
export type PredictRows = (X: Float64Array, m: number) => Float64Array[];

export interface PermutationImportance {
  /** Per target, the MSE of the unpermuted rows. */
  baseline: number[];
  /** Per target, per feature: the mean increase in MSE. */
  mean: Float64Array[];
  /** Per target, per feature: the standard deviation of the increase over repeats (0 with one). */
  sd: Float64Array[];
}

function mse(pred: Float64Array, actual: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < pred.length; i++) {
    const e = pred[i] - actual[i];
    if (Number.isFinite(e)) {
      s += e * e;
      n++;
    }
  }
  return n ? s / n : NaN;
}

/**
 * Importance of each of p features over m rows of row-major X, against `actual` (per target, m
 * values). Permutations are drawn from `seed` (Fisher–Yates), the same for every feature of a repeat.
 */
export function permutationImportance(
  predict: PredictRows,
  X: Float64Array,
  m: number,
  p: number,
  actual: ArrayLike<number>[],
  repeats: number,
  seed: number,
): PermutationImportance {
  const k = actual.length;
  const base = predict(X, m);
  const baseline = actual.map((a, t) => mse(base[t], a));
  const sum = actual.map(() => new Float64Array(p));
  const sumSq = actual.map(() => new Float64Array(p));
  const rng = makeRng(seed);
  const perm = new Int32Array(m);
  const work = Float64Array.from(X.subarray(0, m * p));
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < m; i++) perm[i] = i;
    for (let i = m - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    for (let f = 0; f < p; f++) {
      for (let i = 0; i < m; i++) work[i * p + f] = X[perm[i] * p + f];
      const out = predict(work, m);
      for (let t = 0; t < k; t++) {
        const d = mse(out[t], actual[t]) - baseline[t];
        sum[t][f] += d;
        sumSq[t][f] += d * d;
      }
      for (let i = 0; i < m; i++) work[i * p + f] = X[i * p + f];
    }
  }
  const mean = sum.map((s) => s.map((v) => v / repeats));
  const sd = sumSq.map((s, t) => s.map((v, f) => (repeats > 1 ? Math.sqrt(Math.max(0, (v - repeats * mean[t][f] ** 2) / (repeats - 1))) : 0)));
  return { baseline, mean, sd };
}
