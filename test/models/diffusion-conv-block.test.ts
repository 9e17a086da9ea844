import type * as TfNs from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend, type Tf } from '../../src/backend/index.js';
import { makeRng } from '../../src/data/rng.js';
import { stepEmbedding, type DenoiserSpec, type WeightOf } from '../../src/models/diffusion/blocks.js';
import { convSimd } from '../../src/models/diffusion/conv-block-simd.js';
import { fusedConvBlock, fusedMlp } from '../../src/models/diffusion/conv-block.js';
import { denoiserWeights } from '../../src/models/diffusion/denoiser.js';
import { convBlock, convForward } from '../../src/models/diffusion/denoiser-conv.js';
import { diffusionTrainable, sampleWindows } from '../../src/models/diffusion/kinds.js';
import { fusedHost } from '../../src/models/nn/lstm.js';
import { trainNet, type TrainData, type TrainOptions } from '../../src/models/nn/train.js';
import { expectCentralDifferences, expectCloseGradients, maxAbsDiff } from '../helpers/grad-check.js';
import { testTrainOptions } from '../helpers/train-options.js';

/**
 * The fused residual block of the `diffusion` denoiser (src/models/diffusion/conv-block.ts) against
 * two independent references: the same block as tfjs ops (`convBlock`: pad, slices, concat, FiLM),
 * differentiated by tfjs autodiff, and central finite differences of a loss.
 */

type T1 = TfNs.Tensor1D;
type T2 = TfNs.Tensor2D;
type T3 = TfNs.Tensor3D;
const NAMES = ['h', 'e', 'film/W', 'film/b', 'conv/W', 'conv/b'];

/** Inputs of one block: h [B, k, C], e [r, C], and the weights, with biases away from 0. */
function inputs(tf: Tf, B: number, k: number, C: number, K: number, r: number, seed: number): TfNs.Tensor[] {
  const rng = makeRng(seed);
  const t = (shape: number[], s: number): TfNs.Tensor =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => s * rng.normal()),
      shape,
    );
  return [t([B, k, C], 1), t([r, C], 1), t([C, 2 * C], 0.4), t([2 * C], 0.3), t([K * C, C], 0.3), t([C], 0.3)];
}

/** out of the block from the inputs, fused or as tfjs ops. */
function block(tf: Tf, fused: boolean, K: number, [h, e, fW, fB, cW, cB]: TfNs.Tensor[]): T3 {
  if (fused) {
    const host = fusedHost(tf);
    if (!host) throw new Error('no fused host');
    return fusedConvBlock(tf, host, h as T3, e as T2, { filmW: fW as T2, filmB: fB as T1, convW: cW as T2, convB: cB as T1 }, K);
  }
  const byName = new Map<string, TfNs.Tensor>([
    ['block0/film/W', fW],
    ['block0/film/b', fB],
    ['block0/conv/W', cW],
    ['block0/conv/b', cB],
  ]);
  const W: WeightOf = (n) => byName.get(n) as TfNs.Tensor;
  return convBlock(tf, h as T3, e as T2, W, 0, K);
}

/** L = Σ out ⊙ R for a fixed R: every output element weighs in differently. */
function lossOf(tf: Tf, fused: boolean, K: number, R: TfNs.Tensor) {
  return (...xs: TfNs.Tensor[]): TfNs.Scalar => tf.sum(tf.mul(block(tf, fused, K, xs), R));
}

function compare(tf: Tf, B: number, k: number, C: number, K: number, r: number): void {
  const xs = inputs(tf, B, k, C, K, r, 7 * B + K + r);
  const R = inputs(tf, B, k, C, K, r, 99)[0];
  const a = tf.tidy(() => block(tf, true, K, xs).dataSync());
  const b = tf.tidy(() => block(tf, false, K, xs).dataSync());
  expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
  const ga = tf.grads(lossOf(tf, true, K, R))(xs);
  const gb = tf.grads(lossOf(tf, false, K, R))(xs);
  expectCloseGradients(ga, gb, NAMES);
  tf.dispose([...xs, R, ...ga, ...gb]);
}

describe('fused diffusion conv block', () => {
  it('is what the wasm backend uses', async () => {
    const { tf, name } = await selectBackend('cpu');
    expect(name).toBe('wasm');
    expect(fusedHost(tf)).toBeDefined();
    // Its SIMD loops (C % 4 == 0; the shapes below with C = 3 keep the JavaScript loops on wasm, and
    // B·k = 15 the JavaScript transpose of the taps).
    const be = tf.backend() as unknown as { wasm: { asm: { memory: unknown } } };
    expect(convSimd(be, be.wasm.asm.memory)).toBeDefined();
  });

  // K = 3: centred taps; K = 2 and 4: asymmetric padding; K = 1: no neighbours. r = B: one FiLM row
  // per row (training); r < B: rows grouped by window (sampling's draws).
  it.each([
    [6, 4, 8, 3, 6],
    [6, 4, 8, 3, 2],
    [4, 5, 4, 2, 4],
    [4, 5, 4, 4, 1],
    [3, 4, 4, 1, 3],
    [8, 4, 12, 3, 2],
    [32, 4, 32, 3, 32],
    [5, 3, 3, 3, 5],
    [5, 3, 4, 3, 5],
  ])('matches the tfjs graph of the block and its autodiff gradients on wasm (B %i, k %i, C %i, K %i, r %i)', async (B, k, C, K, r) => {
    const { tf } = await selectBackend('cpu');
    compare(tf, B, k, C, K, r);
  });

  it('matches the tfjs graph on the pure-JS cpu backend too', async () => {
    const { tf } = await selectBackend('cpu');
    await tf.setBackend('cpu');
    try {
      expect(fusedHost(tf)).toBeDefined();
      compare(tf, 6, 4, 8, 3, 2);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('gradients match central finite differences of the loss', async () => {
    const { tf } = await selectBackend('cpu');
    const [B, k, C, K, r] = [4, 4, 3, 3, 2];
    const xs = inputs(tf, B, k, C, K, r, 3);
    const R = inputs(tf, B, k, C, K, r, 4)[0];
    const f = lossOf(tf, true, K, R);
    expectCentralDifferences(tf, f, xs, NAMES);
    tf.dispose([...xs, R]);
  });

  // The embedding and read-out ops, and the blocks chained, inside the whole noise predictor.
  it.each([
    [6, 1],
    [6, 3],
  ])(
    'the whole denoiser (embedding, 2 blocks, read-out) matches its tfjs graph: ε̂ and the gradients of every weight and input (B %i, windows %i)',
    async (B, r) => {
      const { tf } = await selectBackend('cpu');
      const spec: DenoiserSpec = { kind: 'diffusion', lookback: 5, p: 2, k: 4, hidden: 8, layers: 2, kernelSize: 3, stateSize: 0, diffusionSteps: 50 };
      // eps reads these (the condition's and the step's MLPs run before it, in encode and stepEmbedding).
      const weights = denoiserWeights(spec, 11).filter((w) => !/^(cond|temb)\//.test(w.name));
      const rng = makeRng(r);
      // Non-zero biases so that every bias path is exercised.
      const vars = weights.map((w) =>
        tf.variable(
          tf.tensor(
            Float32Array.from(w.data, (v) => v + 0.2 * rng.normal()),
            w.shape,
          ),
        ),
      );
      const byName = new Map(weights.map((w, i) => [w.name, vars[i] as TfNs.Tensor]));
      const W: WeightOf = (n) => byName.get(n) as TfNs.Tensor;
      const rand = (shape: number[]): TfNs.Tensor =>
        tf.tensor(
          Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
          shape,
        );
      const [xt, temb, c, R] = [rand([B, spec.k]), rand([B === r ? B : 1, spec.hidden]), rand([r, spec.hidden]), rand([B, spec.k])];
      const run = (fused: boolean) => {
        const fwd = convForward(tf, spec, W, { fused });
        const f = (x: TfNs.Tensor, t: TfNs.Tensor, cc: TfNs.Tensor): TfNs.Scalar => tf.sum(tf.mul(fwd.eps(x as T2, t as T2, [cc]), R));
        const out = tf.tidy(() => fwd.eps(xt as T2, temb as T2, [c]).dataSync());
        const gIn = tf.grads(f)([xt, temb, c]);
        const { grads } = tf.variableGrads(() => f(xt, temb, c), vars);
        return { out, grads: [...gIn, ...vars.map((v) => grads[v.name])] };
      };
      const a = run(true);
      const b = run(false);
      expect(maxAbsDiff(a.out, b.out)).toBeLessThan(1e-5);
      const names = ['x_t', 'temb', 'c', ...weights.map((w) => w.name)];
      expectCloseGradients(a.grads, b.grads, names);
      tf.dispose([...vars, xt, temb, c, R, ...a.grads, ...b.grads]);
    },
  );

  it('leaves no tensors behind: training steps (state kept for the backward) and inference (none kept)', async () => {
    const { tf } = await selectBackend('cpu');
    const xs = inputs(tf, 4, 4, 4, 3, 2, 1);
    const vars = xs.map((x) => tf.variable(x));
    const R = inputs(tf, 4, 4, 4, 3, 2, 2)[0];
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(() => lossOf(tf, true, 3, R)(...vars), vars);
      tf.dispose([value, ...Object.values(grads)]);
      tf.tidy(() => {
        block(tf, true, 3, vars);
      });
      // A tape that never reaches the block: its kept state is released by the next forward.
      tf.tidy(() => {
        tf.variableGrads(() => tf.add(tf.sum(tf.mul(block(tf, true, 3, vars), 0)), tf.sum(vars[5])) as TfNs.Scalar, [vars[5]]);
      });
      counts.push(tf.memory().numTensors);
    }
    expect(counts, counts.join(' ')).toEqual([counts[0], counts[0], counts[0]]);
    tf.dispose([...xs, ...vars, R]);
  });

  it('a diffusion model trains and samples bit-identically twice with one seed (wasm)', async () => {
    const { tf } = await selectBackend('cpu');
    const spec: DenoiserSpec = {
      kind: 'diffusion',
      lookback: 6,
      p: 2,
      k: 3,
      hidden: 8,
      layers: 2,
      kernelSize: 3,
      stateSize: 0,
      diffusionSteps: 50,
      prediction: 'v',
    };
    const rng = makeRng(2);
    const n = 200;
    const X = Float64Array.from({ length: n * spec.p }, () => rng.normal());
    const Y = Float64Array.from({ length: n * spec.k }, (_, i) => 0.5 * X[i % (n * spec.p)] + 0.3 * rng.normal());
    const ends = Int32Array.from({ length: n - 10 }, (_, i) => i + 5);
    const data: TrainData = {
      X,
      p: spec.p,
      Y,
      k: spec.k,
      trainEnds: ends.subarray(0, 150),
      valEnds: ends.subarray(150),
      yMean: new Float64Array(spec.k),
      yStd: new Float64Array(spec.k).fill(1),
    };
    const o = testTrainOptions({ epochs: 2, batchSize: 32, learningRate: 0.01, seed: 4 });
    const a = await trainNet(tf, diffusionTrainable(spec), data, o);
    const b = await trainNet(tf, diffusionTrainable(spec), data, o);
    a.weights.forEach((w, i) => expect(Buffer.from(w.data.buffer).equals(Buffer.from(b.weights[i].data.buffer)), w.name).toBe(true));
    expect(a.weights.some((w, i) => !Buffer.from(w.data.buffer).equals(Buffer.from(denoiserWeights(spec, 4)[i].data.buffer)))).toBe(true);
    const draw = () => sampleWindows(tf, spec, a.weights, X, spec.p, ends.subarray(150, 160), [0, 0, 0], [1, 1, 1], { samples: 5, steps: 5, seed: 1 });
    const [s1, s2] = [draw(), draw()];
    s1.forEach((v, t) => expect(Buffer.from(v.buffer).equals(Buffer.from(s2[t].buffer))).toBe(true));
  });
});

/**
 * The fused condition / step-embedding MLP (conv-block.ts fusedMlp) against the same MLP as plain
 * tfjs ops (matMul, add, sigmoid, mul) differentiated by tfjs autodiff, and central finite
 * differences; then inside encode and stepEmbedding against their tfjs graphs.
 */
describe('fused diffusion MLP (condition and step embedding)', () => {
  const MLP_NAMES = ['W1', 'b1', 'W2', 'b2'];
  /** x [n, I] and W1 [I, H], b1 [H], W2 [H, O], b2 [O], biases away from 0. */
  function mlpInputs(tf: Tf, n: number, I: number, H: number, O: number, seed: number): TfNs.Tensor[] {
    const rng = makeRng(seed);
    const t = (shape: number[], sc: number): TfNs.Tensor =>
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => sc * rng.normal()),
        shape,
      );
    return [t([n, I], 1), t([I, H], 0.5), t([H], 0.3), t([H, O], 0.5), t([O], 0.3)];
  }
  function mlp(tf: Tf, fused: boolean, x: TfNs.Tensor, [w1, b1, w2, b2]: TfNs.Tensor[]): T2 {
    if (fused) {
      const host = fusedHost(tf);
      if (!host) throw new Error('no fused host');
      return fusedMlp(tf, host, x as T2, w1 as T2, b1 as T1, w2 as T2, b2 as T1);
    }
    const z = tf.add(tf.matMul(x as T2, w1 as T2), b1);
    return tf.add(tf.matMul(tf.mul(z, tf.sigmoid(z)) as T2, w2 as T2), b2) as T2;
  }
  const mlpLoss =
    (tf: Tf, fused: boolean, x: TfNs.Tensor, R: TfNs.Tensor) =>
    (...ws: TfNs.Tensor[]): TfNs.Scalar =>
      tf.sum(tf.mul(mlp(tf, fused, x, ws), R));

  function compareMlp(tf: Tf, n: number, I: number, H: number, O: number): void {
    const [x, ...ws] = mlpInputs(tf, n, I, H, O, n + I);
    const R = mlpInputs(tf, n, O, 1, 1, 5)[0];
    const a = tf.tidy(() => mlp(tf, true, x, ws).dataSync());
    const b = tf.tidy(() => mlp(tf, false, x, ws).dataSync());
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    const ga = tf.grads(mlpLoss(tf, true, x, R))(ws);
    const gb = tf.grads(mlpLoss(tf, false, x, R))(ws);
    expectCloseGradients(ga, gb, MLP_NAMES);
    tf.dispose([x, ...ws, R, ...ga, ...gb]);
  }

  // The condition MLP's shapes (in > hidden), the step embedding's (in = hidden), one row (sampling);
  // n and in multiples of 4: dW₁ as xᵀ·dz with the SIMD transpose (the others: (dzᵀ·x)ᵀ in JavaScript).
  it.each([
    [6, 10, 4, 4],
    [5, 4, 4, 3],
    [1, 4, 4, 4],
    [8, 12, 4, 4],
    [64, 256, 32, 32],
  ])('matches the tfjs graph and its autodiff gradients on wasm (n %i, in %i, hidden %i, out %i)', async (n, I, H, O) => {
    const { tf } = await selectBackend('cpu');
    compareMlp(tf, n, I, H, O);
  });

  it('matches the tfjs graph on the pure-JS cpu backend too', async () => {
    const { tf } = await selectBackend('cpu');
    await tf.setBackend('cpu');
    try {
      compareMlp(tf, 6, 10, 4, 4);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('gradients match central finite differences of the loss', async () => {
    const { tf } = await selectBackend('cpu');
    const [x, ...ws] = mlpInputs(tf, 4, 5, 3, 2, 8);
    const R = mlpInputs(tf, 4, 2, 1, 1, 9)[0];
    const f = mlpLoss(tf, true, x, R);
    expectCentralDifferences(tf, f, ws, MLP_NAMES);
    tf.dispose([x, ...ws, R]);
  });

  it('encode and stepEmbedding match their tfjs graphs, values and weight gradients', async () => {
    const { tf } = await selectBackend('cpu');
    const spec: DenoiserSpec = { kind: 'diffusion', lookback: 5, p: 2, k: 4, hidden: 8, layers: 1, kernelSize: 3, stateSize: 0, diffusionSteps: 50 };
    const weights = denoiserWeights(spec, 12).filter((w) => /^(cond|temb)\//.test(w.name));
    const rng = makeRng(3);
    const vars = weights.map((w) =>
      tf.variable(
        tf.tensor(
          Float32Array.from(w.data, (v) => v + 0.2 * rng.normal()),
          w.shape,
        ),
      ),
    );
    const byName = new Map(weights.map((w, i) => [w.name, vars[i] as TfNs.Tensor]));
    const W: WeightOf = (n) => byName.get(n) as TfNs.Tensor;
    const x = tf.tensor3d(
      Float32Array.from({ length: 6 * spec.lookback * spec.p }, () => rng.normal()),
      [6, spec.lookback, spec.p],
    );
    const R = tf.tensor2d(
      Float32Array.from({ length: 6 * spec.hidden }, () => rng.normal()),
      [6, spec.hidden],
    );
    const t = [1, 7, 20, 33, 49, 50];
    const run = (fused: boolean) => {
      const f = (): TfNs.Scalar =>
        tf.add(
          tf.sum(tf.mul(convForward(tf, spec, W, { fused }).encode(x)[0], R)),
          tf.sum(tf.mul(stepEmbedding(tf, spec, W, t, { fused }), tf.square(R))),
        ) as TfNs.Scalar;
      const { value, grads } = tf.variableGrads(f, vars);
      return { value: value.dataSync()[0], grads: vars.map((v) => grads[v.name]), rest: [value] };
    };
    const a = run(true);
    const b = run(false);
    expect(Math.abs(a.value - b.value)).toBeLessThan(1e-4 * Math.max(1, Math.abs(b.value)));
    expectCloseGradients(
      a.grads,
      b.grads,
      weights.map((w) => w.name),
    );
    tf.dispose([...vars, x, R, ...a.grads, ...b.grads, ...a.rest, ...b.rest]);
  });

  it('leaves no tensors behind: training steps and inference', async () => {
    const { tf } = await selectBackend('cpu');
    const [x, ...ws] = mlpInputs(tf, 4, 5, 3, 2, 1);
    const vars = ws.map((w) => tf.variable(w));
    const R = mlpInputs(tf, 4, 2, 1, 1, 2)[0];
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(() => mlpLoss(tf, true, x, R)(...vars), vars);
      tf.dispose([value, ...Object.values(grads)]);
      tf.tidy(() => {
        mlp(tf, true, x, vars);
      });
      tf.tidy(() => {
        tf.variableGrads(() => tf.add(tf.sum(tf.mul(mlp(tf, true, x, vars), 0)), tf.sum(vars[3])) as TfNs.Scalar, [vars[3]]);
      });
      counts.push(tf.memory().numTensors);
    }
    expect(counts, counts.join(' ')).toEqual([counts[0], counts[0], counts[0]]);
    tf.dispose([x, ...ws, ...vars, R]);
  });
});
