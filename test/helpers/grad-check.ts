import type * as TfNs from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { Tf } from '../../src/backend/index.js';

/** Largest |a[i] − b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Every element of every input's gradient of the scalar `f(...xs)` (tfjs autodiff, i.e. the custom
 * gradients under test) against the central difference (f(x + ε) − f(x − ε)) / 2ε, within
 * abs + rel·|difference| (float32: ε = 10⁻² keeps the rounding of f small next to the step).
 */
export function expectCentralDifferences(
  tf: Tf,
  f: (...xs: TfNs.Tensor[]) => TfNs.Scalar,
  xs: TfNs.Tensor[],
  names: readonly string[],
  o: { eps?: number; abs?: number; rel?: number } = {},
): void {
  const { eps = 1e-2, abs = 2e-4, rel = 2e-3 } = o;
  const g = tf.grads(f)(xs);
  xs.forEach((x, i) => {
    const base = x.dataSync().slice();
    const analytic = g[i].dataSync();
    for (let j = 0; j < base.length; j++) {
      const at = (d: number): number =>
        tf.tidy(() => {
          const moved = tf.tensor(
            Float32Array.from(base, (v, m) => (m === j ? v + d : v)),
            x.shape,
          );
          return f(...xs.map((y, m) => (m === i ? moved : y))).dataSync()[0];
        });
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(fd - analytic[j]), `${names[i] ?? `input ${i}`}[${j}]`).toBeLessThan(abs + rel * Math.abs(fd));
    }
  });
  tf.dispose(g);
}

/**
 * Each gradient in `got` against the one in `want` (same index): the same shape, and the largest
 * difference within `tol` of the largest |want| element (relative to the gradient's own scale).
 */
export function expectCloseGradients(got: TfNs.Tensor[], want: TfNs.Tensor[], names: readonly string[], tol = 1e-5): void {
  got.forEach((g, i) => {
    expect(g.shape, names[i]).toEqual(want[i].shape);
    const w = want[i].dataSync();
    const scale = Math.max(1e-6, ...Array.from(w, Math.abs));
    expect(maxAbsDiff(g.dataSync(), w) / scale, names[i]).toBeLessThan(tol);
  });
}
