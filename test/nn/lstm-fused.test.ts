import type * as TfNs from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend, type Tf } from '../../src/backend/index.js';
import { makeRng } from '../../src/data/rng.js';
import { fusedHost } from '../../src/models/nn/lstm.js';
import { buildNet, initialWeights, mse, type NetSpec } from '../../src/models/nn/nets.js';
import { trainNet, type TrainData, type TrainOptions } from '../../src/models/nn/train.js';
import { maxAbsDiff } from '../helpers/grad-check.js';
import { testTrainOptions } from '../helpers/train-options.js';

/**
 * The fused LSTM layer (src/models/nn/lstm.ts) against two independent references: the per-step
 * LSTM built from tfjs ops and differentiated by tfjs autodiff (`buildNet(..., { fused: false })`),
 * and central finite differences of the loss.
 */

const spec = (layers: number, H = 5, L = 7, p = 3, k = 2): NetSpec => ({ kind: 'lstm', lookback: L, p, k, hidden: H, layers, kernelSize: 1, heads: 1 });

function batch(tf: Tf, s: NetSpec, B: number, seed = 0) {
  const rng = makeRng(seed);
  const x = tf.tensor3d(
    Float32Array.from({ length: B * s.lookback * s.p }, () => rng.normal()),
    [B, s.lookback, s.p],
  );
  const y = tf.tensor2d(
    Float32Array.from({ length: B * s.k }, () => rng.normal()),
    [B, s.k],
  );
  return { x, y };
}

/** Fused vs per-step reference: outputs and every weight's gradient. */
function compareWithReference(tf: Tf, layers: number, H = 5): void {
  const s = spec(layers, H);
  const w = initialWeights(s, 3);
  const fused = buildNet(tf, s, w);
  const ref = buildNet(tf, s, w, { fused: false });
  // 6 rows: the SIMD backward takes four, then two one by one.
  const { x, y } = batch(tf, s, 6);
  expect(maxAbsDiff(fused.forward(x).dataSync(), ref.forward(x).dataSync())).toBeLessThan(1e-6);
  // The input made inside the gradient function: tfjs disposes such intermediates before the backward runs.
  const gf = tf.variableGrads(() => mse(tf, fused.forward(tf.clone(x)), y), fused.vars);
  const gr = tf.variableGrads(() => mse(tf, ref.forward(x), y), ref.vars);
  fused.vars.forEach((v, i) => {
    const a = gf.grads[v.name].dataSync();
    const b = gr.grads[ref.vars[i].name].dataSync();
    expect(a.length).toBe(b.length);
    expect(maxAbsDiff(a, b), fused.names[i]).toBeLessThan(1e-6);
  });
  fused.dispose();
  ref.dispose();
}

describe('fused LSTM layer', () => {
  it('is what the wasm backend uses', async () => {
    const { tf, name } = await selectBackend('cpu');
    expect(name).toBe('wasm');
    expect(fusedHost(tf)?.simd).toBeDefined();
  });

  // H = 8: the WebAssembly SIMD kernels; H = 5 (not a multiple of 4): the JavaScript loops.
  it.each([8, 5])('matches the per-step tfjs LSTM (forward and autodiff gradients), one and two layers, on wasm, H = %i', async (H) => {
    const { tf } = await selectBackend('cpu');
    compareWithReference(tf, 1, H);
    compareWithReference(tf, 2, H);
  });

  it.each([4, 3])('gradients match central finite differences of the loss, H = %i', async (H) => {
    const { tf } = await selectBackend('cpu');
    const s = spec(2, H, 4, 2, 2);
    const w = initialWeights(s, 5);
    // Larger weights than Glorot's so that every gate is away from linear.
    for (const v of w) for (let i = 0; i < v.data.length; i++) v.data[i] = v.data[i] * 2 + (v.name.endsWith('/b') ? 0.3 * Math.sin(i) : 0);
    const net = buildNet(tf, s, w);
    const { x, y } = batch(tf, s, 3, 9);
    const g = tf.variableGrads(() => mse(tf, net.forward(x), y), net.vars);
    const loss = (): number => tf.tidy(() => mse(tf, net.forward(x), y).dataSync()[0]);
    const eps = 1e-2;
    for (let vi = 0; vi < net.vars.length; vi++) {
      if (!net.names[vi].startsWith('lstm')) continue;
      const analytic = g.grads[net.vars[vi].name].dataSync();
      const base = w[vi].data;
      for (let e = 0; e < base.length; e++) {
        const at = (d: number): number => {
          const moved = w.map((ww, j) => (j === vi ? { ...ww, data: Float32Array.from(ww.data, (q, m) => (m === e ? q + d : q)) } : ww));
          tf.tidy(() => moved.forEach((mw, j) => net.vars[j].assign(tf.tensor(mw.data, mw.shape))));
          return loss();
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(fd - analytic[e]), `${net.names[vi]}[${e}]`).toBeLessThan(5e-5 + 1e-3 * Math.abs(fd));
      }
      tf.tidy(() => w.forEach((mw, j) => net.vars[j].assign(tf.tensor(mw.data, mw.shape))));
    }
    net.dispose();
  });

  it('trains bit-identically twice with one seed (wasm)', async () => {
    const { tf } = await selectBackend('cpu');
    const rng = makeRng(2);
    const n = 300;
    const p = 3;
    const X = Float64Array.from({ length: n * p }, () => rng.normal());
    const Y = Float64Array.from({ length: n }, (_, r) => (r >= 2 ? X[(r - 2) * p] : 0));
    const ends = Int32Array.from({ length: n - 10 }, (_, i) => i + 9);
    const data: TrainData = {
      X,
      p,
      Y,
      k: 1,
      trainEnds: ends.subarray(0, 200),
      valEnds: ends.subarray(200),
      yMean: new Float64Array([0]),
      yStd: new Float64Array([1]),
    };
    const o = testTrainOptions({ epochs: 2, batchSize: 32, learningRate: 0.01, seed: 4 });
    const s = spec(2, 8, 8, p, 1);
    const a = await trainNet(tf, s, data, o);
    const b = await trainNet(tf, s, data, o);
    a.weights.forEach((w, i) => expect(Buffer.from(w.data.buffer).equals(Buffer.from(b.weights[i].data.buffer))).toBe(true));
    expect(a.history[1].trainLoss).toBeLessThan(a.history[0].trainLoss);
  });

  it('leaves no tensors behind: training steps (state kept for the backward) and inference (none kept)', async () => {
    const { tf } = await selectBackend('cpu');
    const s = spec(2, 8);
    const net = buildNet(tf, s, initialWeights(s, 1));
    const { x, y } = batch(tf, s, 4);
    const opt = tf.train.adam(1e-3);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      opt.minimize(() => mse(tf, net.forward(x), y), true, net.vars)?.dispose();
      tf.tidy(() => {
        net.forward(x);
      });
      // A tape that never reaches the layer: its kept state is released by the next forward.
      tf.tidy(() => {
        tf.variableGrads(
          () => tf.add(tf.sum(tf.mul(net.forward(x), 0)), tf.sum(net.vars[net.vars.length - 1])) as TfNs.Scalar,
          [net.vars[net.vars.length - 1]],
        );
      });
      counts.push(tf.memory().numTensors);
    }
    expect(counts, counts.join(' ')).toEqual([counts[0], counts[0], counts[0]]);
    opt.dispose();
    net.dispose();
  });

  it('matches the per-step LSTM on the pure-JS cpu backend too', async () => {
    const { tf } = await selectBackend('cpu');
    await tf.setBackend('cpu');
    try {
      expect(fusedHost(tf)).toBeDefined();
      compareWithReference(tf, 2);
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
