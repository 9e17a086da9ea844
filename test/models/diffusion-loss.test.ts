import type * as TfNs from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend, type Tf } from '../../src/backend/index.js';
import { makeRng } from '../../src/data/rng.js';
import { silu, stepEmbedding, type DenoiserSpec, type WeightOf } from '../../src/models/diffusion/blocks.js';
import { fusedMse, fusedSiluAdd, noisyTarget } from '../../src/models/diffusion/conv-block.js';
import { denoiserWeights } from '../../src/models/diffusion/denoiser.js';
import { convForward } from '../../src/models/diffusion/denoiser-conv.js';
import { diffusionTrainable, lossDraws } from '../../src/models/diffusion/kinds.js';
import { cosineSchedule } from '../../src/models/diffusion/schedule.js';
import { fusedHost } from '../../src/models/nn/lstm.js';
import { mse } from '../../src/models/nn/nets.js';
import { expectCentralDifferences, expectCloseGradients, maxAbsDiff } from '../helpers/grad-check.js';

/**
 * The fused pieces of the diffusion training loss (src/models/diffusion/conv-block.ts): SiLU(temb + c)
 * (fusedSiluAdd), x_t and the target built in JavaScript (noisyTarget) and the MSE (fusedMse),
 * against the tfjs graph they replace differentiated by tfjs autodiff, central finite differences,
 * and the whole loss of `diffusionTrainable` against the same loss as tfjs ops.
 */

type T2 = TfNs.Tensor2D;

const rand = (tf: Tf, shape: number[], seed: number, s = 1): TfNs.Tensor => {
  const rng = makeRng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => s * rng.normal()),
    shape,
  );
};

async function onBackend(name: 'wasm' | 'cpu', f: (tf: Tf) => void): Promise<void> {
  const { tf } = await selectBackend('cpu');
  await tf.setBackend(name);
  try {
    f(tf);
  } finally {
    await tf.setBackend('wasm');
  }
}

describe('fused SiLU(temb + c)', () => {
  const siluAdd = (tf: Tf, fused: boolean, a: TfNs.Tensor, b: TfNs.Tensor): T2 => {
    const host = fusedHost(tf);
    if (!host) throw new Error('no fused host');
    return fused ? fusedSiluAdd(tf, host, a as T2, b as T2) : (silu(tf, tf.add(a, b)) as T2);
  };

  /** Value and both inputs' gradients of Σ SiLU(a + b) ⊙ R, fused and as the tfjs graph. */
  function compare(tf: Tf, ra: number, rb: number, C: number, exact: boolean): void {
    const n = Math.max(ra, rb);
    const [a, b, R] = [rand(tf, [ra, C], ra + 10 * C, 2), rand(tf, [rb, C], rb + 20 * C, 2), rand(tf, [n, C], 3)];
    const loss = (fused: boolean) => (x: TfNs.Tensor, y: TfNs.Tensor) => tf.sum(tf.mul(siluAdd(tf, fused, x, y), R));
    const va = tf.tidy(() => siluAdd(tf, true, a, b).dataSync());
    const vb = tf.tidy(() => siluAdd(tf, false, a, b).dataSync());
    const ga = tf.grads(loss(true))([a, b]);
    const gb = tf.grads(loss(false))([a, b]);
    if (exact) {
      // Rounded as the graph rounds: bit for bit.
      expect(Buffer.from(va.buffer).equals(Buffer.from(vb.buffer))).toBe(true);
      ga.forEach((g, i) => expect(Buffer.from(g.dataSync().buffer).equals(Buffer.from(gb[i].dataSync().buffer)), `input ${i}`).toBe(true));
    } else {
      expect(maxAbsDiff(va, vb)).toBeLessThan(1e-5);
      expectCloseGradients(ga, gb, ['input 0', 'input 1']);
    }
    tf.dispose([a, b, R, ...ga, ...gb]);
  }

  // Training (both [B, C]), sampling (temb one row, c a row per window), and the reverse.
  it.each([
    [6, 6, 8, true],
    [256, 256, 32, true],
    [1, 4, 8, false],
    [5, 1, 4, false],
    [1, 1, 4, true],
  ])('matches the tfjs graph and its autodiff gradients on wasm (rows %i + %i, C %i)', async (ra, rb, C, exact) => {
    await onBackend('wasm', (tf) => compare(tf, ra, rb, C, exact));
  });

  it.each([
    [6, 6, 8],
    [1, 4, 8],
  ])('matches on the pure-JS cpu backend too (rows %i + %i, C %i)', async (ra, rb, C) => {
    await onBackend('cpu', (tf) => compare(tf, ra, rb, C, false));
  });

  it('gradients match central finite differences', async () => {
    await onBackend('wasm', (tf) => {
      const xs = [rand(tf, [1, 3], 1, 2), rand(tf, [3, 3], 2, 2)];
      const R = rand(tf, [3, 3], 3);
      const f = (x: TfNs.Tensor, y: TfNs.Tensor): TfNs.Scalar => tf.sum(tf.mul(siluAdd(tf, true, x, y), R));
      expectCentralDifferences(tf, (...a) => f(a[0], a[1]), xs, ['input 0', 'input 1']);
      tf.dispose([...xs, R]);
    });
  });
});

describe('fused denoising loss (x_t and target in JavaScript, MSE)', () => {
  /** x_t, the target and the MSE as the tfjs graph of diffusionTrainable's loss builds them. */
  function graph(tf: Tf, y: TfNs.Tensor, e: Float32Array, a: Float32Array, b: Float32Array, v: boolean) {
    const [B, k] = y.shape as [number, number];
    const eps = tf.tensor2d(e, [B, k]);
    const aT = tf.tensor2d(a, [B, 1]);
    const bT = tf.tensor2d(b, [B, 1]);
    const xt = tf.add(tf.mul(y, aT), tf.mul(eps, bT));
    const target = v ? tf.sub(tf.mul(eps, aT), tf.mul(y, bT)) : eps;
    return { xt, target };
  }

  function draws(B: number, k: number, seed: number) {
    const rng = makeRng(seed);
    const a = Float32Array.from({ length: B }, () => Math.sqrt(rng.next()));
    const b = Float32Array.from(a, (x) => Math.sqrt(1 - x * x));
    const e = Float32Array.from({ length: B * k }, () => rng.normal());
    return { a, b, e };
  }

  it.each([
    ['wasm', 7, 3, true],
    ['wasm', 256, 4, false],
    ['cpu', 7, 3, true],
    ['cpu', 5, 4, false],
  ] as const)("x_t and the target are the tfjs graph's bit for bit (%s, B %i, k %i, v %s)", async (be, B, k, v) => {
    await onBackend(be, (tf) => {
      const y = rand(tf, [B, k], B);
      const { a, b, e } = draws(B, k, k);
      const host = fusedHost(tf);
      if (!host) throw new Error('no fused host');
      const ours = noisyTarget(host.view(y), e, a, b, k, v);
      const want = graph(tf, y, e, a, b, v);
      expect(Buffer.from(ours.xt.buffer).equals(Buffer.from(want.xt.dataSync().buffer))).toBe(true);
      expect(Buffer.from(ours.target.buffer).equals(Buffer.from(want.target.dataSync().buffer))).toBe(true);
      tf.dispose([y, want.xt, want.target]);
    });
  });

  it.each([
    ['wasm', 7, 3],
    ['wasm', 256, 4],
    ['cpu', 7, 3],
  ] as const)('the MSE and its gradient match tf.mean(tf.square(p − t)) and 2(p − t)/n (%s, B %i, k %i)', async (be, B, k) => {
    await onBackend(be, (tf) => {
      const p = rand(tf, [B, k], 1);
      const t = rand(tf, [B, k], 2).dataSync() as Float32Array;
      const host = fusedHost(tf);
      if (!host) throw new Error('no fused host');
      const tT = tf.tensor2d(t, [B, k]);
      const ours = tf.valueAndGrad((x: TfNs.Tensor) => fusedMse(tf, host, x, t))(p);
      const want = tf.valueAndGrad((x: TfNs.Tensor) => mse(tf, x, tT))(p);
      const g = ours.grad.dataSync();
      if (be === 'wasm') {
        // Summed and rounded as tfjs-wasm's kernels do: bit for bit.
        expect(ours.value.dataSync()[0]).toBe(want.value.dataSync()[0]);
        expect(Buffer.from(g.buffer).equals(Buffer.from(want.grad.dataSync().buffer))).toBe(true);
      } else {
        expect(Math.abs(ours.value.dataSync()[0] - want.value.dataSync()[0])).toBeLessThan(1e-6 * want.value.dataSync()[0]);
        expect(maxAbsDiff(g, want.grad.dataSync())).toBeLessThan(1e-7);
      }
      // The closed form, in float64.
      const pv = p.dataSync();
      let s = 0;
      for (let i = 0; i < t.length; i++) {
        s += (pv[i] - t[i]) ** 2;
        expect(Math.abs(g[i] - (2 * (pv[i] - t[i])) / t.length)).toBeLessThan(1e-6 / t.length);
      }
      expect(Math.abs(ours.value.dataSync()[0] - s / t.length)).toBeLessThan(1e-5 * (s / t.length));
      tf.dispose([p, tT, ours.value, ours.grad, want.value, want.grad]);
    });
  });

  // The whole training loss: the noise predictor's weights' gradients as with the tfjs graph
  // (x_t, target and MSE as tfjs ops, the denoiser unfused), from the same draws.
  it.each([
    ['wasm', 'v'],
    ['wasm', 'eps'],
    ['cpu', 'v'],
  ] as const)("diffusionTrainable's loss and gradients match the unfused tfjs graph (%s, %s)", async (be, prediction) => {
    await onBackend(be, (tf) => {
      const spec: DenoiserSpec = {
        kind: 'diffusion',
        lookback: 5,
        p: 2,
        k: 3,
        hidden: 8,
        layers: 2,
        kernelSize: 3,
        stateSize: 0,
        diffusionSteps: 50,
        prediction,
      };
      const B = 12;
      const weights = denoiserWeights(spec, 3);
      const net = diffusionTrainable(spec).build(tf, weights);
      const x = rand(tf, [B, spec.lookback, spec.p], 4) as TfNs.Tensor3D;
      const y = rand(tf, [B, spec.k], 5) as T2;
      const key = 77;
      const ours = tf.variableGrads(() => net.loss(x, y, key), net.vars);
      // The reference: the same draws (lossDraws), every op a tfjs op.
      const byName = new Map(weights.map((w, i) => [w.name, net.vars[i] as TfNs.Tensor]));
      const W: WeightOf = (n) => byName.get(n) as TfNs.Tensor;
      const { t, a, b, e } = lossDraws(cosineSchedule(spec.diffusionSteps), key, B, spec.k);
      const want = tf.variableGrads(() => {
        const { xt, target } = graph(tf, y, e, a, b, prediction === 'v');
        const fwd = convForward(tf, spec, W, { fused: false });
        return mse(tf, fwd.eps(xt as T2, stepEmbedding(tf, spec, W, t, { fused: false }), fwd.encode(x)), target);
      }, net.vars);
      expect(Math.abs(ours.value.dataSync()[0] - want.value.dataSync()[0])).toBeLessThan(1e-5 * want.value.dataSync()[0]);
      net.vars.forEach((v, i) => {
        const g = ours.grads[v.name].dataSync();
        const w = want.grads[v.name].dataSync();
        const scale = Math.max(1e-6, ...Array.from(w, Math.abs));
        expect(maxAbsDiff(g, w) / scale, weights[i].name).toBeLessThan(2e-5);
      });
      tf.dispose([x, y, ours.value, want.value, ...Object.values(ours.grads), ...Object.values(want.grads)]);
      net.dispose();
    });
  });

  it('leaves no tensors behind: training steps and a forward without a tape', async () => {
    await onBackend('wasm', (tf) => {
      const spec: DenoiserSpec = {
        kind: 'diffusion',
        lookback: 4,
        p: 2,
        k: 3,
        hidden: 4,
        layers: 1,
        kernelSize: 3,
        stateSize: 0,
        diffusionSteps: 20,
        prediction: 'v',
      };
      const net = diffusionTrainable(spec).build(tf, denoiserWeights(spec, 1));
      const x = rand(tf, [6, 4, 2], 1) as TfNs.Tensor3D;
      const y = rand(tf, [6, 3], 2) as T2;
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { value, grads } = tf.variableGrads(() => net.loss(x, y, i), net.vars);
        tf.dispose([value, ...Object.values(grads)]);
        tf.tidy(() => {
          net.loss(x, y, i);
        });
        counts.push(tf.memory().numTensors);
      }
      expect(counts, counts.join(' ')).toEqual([counts[0], counts[0], counts[0]]);
      tf.dispose([x, y]);
      net.dispose();
    });
  });
});
