import { describe, expect, it } from 'vitest';
import { permutationImportance } from '../../src/evaluation/importance.js';

describe('permutation importance', () => {
  // y = 2·x0 exactly, x1 ignored by the model. Permuting x0 by a uniformly random permutation π
  // raises the MSE by mean_i (2x0[π(i)] − 2x0[i])². π(i) is uniform over all n rows, so
  // E(a_π(i) − a_i)² = (1/n) Σ_j (a_j − a_i)², and its mean over i is (1/n²) Σ_i Σ_j (a_j − a_i)²
  // = 2 Var_pop(a): the expected increase is 4 · 2 · Var_pop(x0).
  const n = 50;
  const x0 = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3);
  const x1 = Array.from({ length: n }, (_, i) => Math.cos(i * 0.3));
  const X = Float64Array.from(x0.flatMap((v, i) => [v, x1[i]]));
  const y = Float64Array.from(x0, (v) => 2 * v);
  const model = (Z: Float64Array, m: number): Float64Array[] => [Float64Array.from({ length: m }, (_, i) => 2 * Z[i * 2])];

  it('an ignored feature scores exactly 0; the used one its closed-form expectation', () => {
    const imp = permutationImportance(model, X, n, 2, [y], 400, 11);
    expect(imp.baseline[0]).toBe(0);
    expect(imp.mean[0][1]).toBe(0);
    expect(imp.sd[0][1]).toBe(0);
    const mean = x0.reduce((a, b) => a + b, 0) / n;
    const varPop = x0.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    const want = 4 * 2 * varPop;
    // 400 permutations: the mean is within a few standard errors of its expectation.
    expect(Math.abs(imp.mean[0][0] - want)).toBeLessThan((4 * imp.sd[0][0]) / Math.sqrt(400));
  });

  it('is deterministic given the seed and leaves X as it was', () => {
    const copy = Float64Array.from(X);
    const a = permutationImportance(model, X, n, 2, [y], 3, 5);
    const b = permutationImportance(model, X, n, 2, [y], 3, 5);
    expect(Array.from(a.mean[0])).toEqual(Array.from(b.mean[0]));
    expect(Array.from(X)).toEqual(Array.from(copy));
  });
});
