import { makeRng } from '../../src/data/rng.js';

/**
 * A small synthetic sequence task: p features of iid N(0, 1) noise per bar, and targets that are
 * exact linear functions of the window (the current bar and one two bars back), so every kind can
 * represent the answer and the best achievable loss is 0. Predicting the mean gives a standardised
 * MSE of 1.
 */
export function synthetic(n: number, p: number, seed = 1): { X: Float64Array; Y: Float64Array; index: Float64Array; k: number } {
  const rng = makeRng(seed);
  const X = new Float64Array(n * p);
  for (let i = 0; i < X.length; i++) X[i] = rng.normal();
  const k = 2;
  const Y = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    const lag = r >= 2 ? X[(r - 2) * p + 1] : 0;
    Y[r * k] = 0.8 * X[r * p] + 0.6 * lag;
    Y[r * k + 1] = 0.5 * lag - 0.5 * X[r * p];
  }
  const index = new Float64Array(n);
  for (let r = 0; r < n; r++) index[r] = Date.UTC(2020, 0, 6) + r * 3_600_000;
  return { X, Y, index, k };
}
