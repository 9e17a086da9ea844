import { describe, expect, it } from 'vitest';
import type * as TfNs from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.js';
import { makeRng } from '../../src/data/rng.js';
import { dense } from '../../src/models/diffusion/blocks.js';

/**
 * The denoisers' dense layer is one custom-gradient op (its gradients as flagless products, for
 * tfjs-wasm's speed): its value and gradients against tfjs autodiff of matMul + add, and against
 * central finite differences, on the backend training uses (wasm here).
 */

describe('diffusion dense op', () => {
  it('value and gradients match tfjs autodiff and finite differences', async () => {
    const { tf } = await selectBackend('auto');
    const rng = makeRng(3);
    const rand = (shape: number[]): TfNs.Tensor =>
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
        shape,
      );
    const [x, w, b, r] = [rand([37, 11]), rand([11, 5]), rand([5]), rand([37, 5])];
    const W = (name: string): TfNs.Tensor => (name.endsWith('/W') ? w : b);
    // A weighted sum makes every output element's gradient distinct.
    const ours = (xx: TfNs.Tensor, ww: TfNs.Tensor, bb: TfNs.Tensor): TfNs.Scalar =>
      tf.sum(
        tf.mul(
          dense(tf, xx as TfNs.Tensor2D, (n) => (n.endsWith('/W') ? ww : bb), 'l'),
          r,
        ),
      );
    const ref = (xx: TfNs.Tensor, ww: TfNs.Tensor, bb: TfNs.Tensor): TfNs.Scalar =>
      tf.sum(tf.mul(tf.add(tf.matMul(xx as TfNs.Tensor2D, ww as TfNs.Tensor2D), bb), r));
    const v1 = dense(tf, x as TfNs.Tensor2D, W, 'l').dataSync();
    const v2 = tf.add(tf.matMul(x as TfNs.Tensor2D, w as TfNs.Tensor2D), b).dataSync();
    for (let i = 0; i < v1.length; i++) expect(Math.abs(v1[i] - v2[i])).toBeLessThan(1e-5);
    const g1 = tf
      .grads(ours)([x, w, b])
      .map((g) => g.dataSync());
    const g2 = tf
      .grads(ref)([x, w, b])
      .map((g) => g.dataSync());
    for (let k = 0; k < 3; k++) for (let i = 0; i < g1[k].length; i++) expect(Math.abs(g1[k][i] - g2[k][i])).toBeLessThan(1e-4);
    // Finite differences in float32 on a few coordinates of W and b (loss is linear in each: the
    // central difference is exact up to rounding).
    const h = 1e-2;
    for (const [k, t] of [
      [1, w],
      [2, b],
    ] as const) {
      const data = t.dataSync();
      for (const i of [0, data.length - 1, Math.floor(data.length / 2)]) {
        const at = (d: number): number => {
          const c = Float32Array.from(data);
          c[i] += d;
          const tt = tf.tensor(c, t.shape);
          const args = k === 1 ? [x, tt, b] : [x, w, tt];
          return ours(args[0], args[1], args[2]).dataSync()[0];
        };
        expect(Math.abs((at(h) - at(-h)) / (2 * h) - g1[k][i])).toBeLessThan(2e-2);
      }
    }
  });
});
