import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { loadNet, dirHandler } from '../../src/models/nn/io.js';
import { emaDecay } from '../../src/models/nn/ema.js';
import { trainNet, type Trainable, type TrainData, type TrainOptions } from '../../src/models/nn/train.js';
import { testTrainOptions } from '../helpers/train-options.js';

/**
 * The weights' EMA of the training loop on a net whose path is known by hand: one variable
 * w = (1, −2) and the loss w₀ − w₁ (whatever the batch), so the gradient is (1, −1) at every step and
 * Adam (no clipping) moves each element by lr·g/(|g| + ε) ≈ 0.1: w after steps 1, 2, 3 is
 * (0.9, −1.9), (0.8, −1.8), (0.7, −1.7). One batch per epoch, so epoch e is optimizer step e − 1.
 * With decay 0.2 the warmed-up decays are d₀ = min(0.2, 1/10) = 0.1, d₁ = min(0.2, 2/11) = 2/11,
 * d₂ = min(0.2, 3/12) = 0.2, and the shadow, starting at w:
 *   step 0: 0.1·1 + 0.9·0.9 = 0.91,        0.1·(−2) + 0.9·(−1.9) = −1.91
 *   step 1: (2·0.91 + 9·0.8)/11 = 0.82,     (2·(−1.91) + 9·(−1.8))/11 = −1.82
 *   step 2: 0.2·0.82 + 0.8·0.7 = 0.724,     0.2·(−1.82) + 0.8·(−1.7) = −1.724
 * The validation loss (the same loss) of the EMA weights is then 2.82, 2.64, 2.448; the training
 * loss, of the trained weights before each step, 3, 2.8, 2.6.
 */
const linear: Trainable = {
  spec: { lookback: 1 },
  initialWeights: () => [{ name: 'w', shape: [2], data: Float32Array.from([1, -2]) }],
  build(tf, weights) {
    const w = tf.variable(tf.tensor1d(weights[0].data));
    const c = tf.tensor1d([1, -1]);
    return {
      vars: [w],
      names: ['w'],
      loss: () => tf.sum(tf.mul(w, c)),
      dispose: () => tf.dispose([w, c]),
    };
  },
};

const data = (val: boolean): TrainData => ({
  X: new Float64Array(8),
  p: 1,
  Y: new Float64Array(8),
  k: 1,
  trainEnds: Int32Array.from([0, 1, 2, 3]),
  valEnds: val ? Int32Array.from([4, 5]) : new Int32Array(0),
  yMean: new Float64Array(1),
  yStd: new Float64Array(1).fill(1),
});

const opts = (ema: number | undefined, checkpointDir?: string): TrainOptions =>
  testTrainOptions({
    epochs: 3,
    batchSize: 8,
    learningRate: 0.1,
    clipNorm: 0,
    seed: 1,
    ...(ema !== undefined && { ema }),
    ...(checkpointDir && { checkpointDir }),
  });

const close = (a: ArrayLike<number>, b: number[], tol = 1e-5): void => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(Math.abs(a[i] - v)).toBeLessThan(tol));
};

describe('EMA of the weights in trainNet', () => {
  it('warms its decay up as min(decay, (1 + step)/(10 + step))', () => {
    expect(emaDecay(0.999, 0)).toBeCloseTo(0.1, 12);
    expect(emaDecay(0.999, 90)).toBeCloseTo(0.91, 12);
    expect(emaDecay(0.9, 1000)).toBe(0.9);
  });

  it('returns the hand-worked 3-step EMA and scores validation with it; off, the trained weights', async () => {
    const { tf } = await selectBackend('cpu');
    const on = await trainNet(tf, linear, data(true), opts(0.2));
    close(on.weights[0].data, [0.724, -1.724]);
    expect(on.weights[0].name).toBe('w');
    close(
      on.history.map((h) => h.valLoss),
      [2.82, 2.64, 2.448],
    );
    // The trained weights go back after each validation: the next epoch's training loss is theirs.
    close(
      on.history.map((h) => h.trainLoss),
      [3, 2.8, 2.6],
    );
    expect(on.bestEpoch).toBe(3);
    // No validation set: still the EMA weights.
    close((await trainNet(tf, linear, data(false), opts(0.2))).weights[0].data, [0.724, -1.724]);
    // Off (absent or 0): the trained weights and their own validation loss.
    for (const ema of [undefined, 0]) {
      const off = await trainNet(tf, linear, data(true), opts(ema));
      close(off.weights[0].data, [0.7, -1.7]);
      close(
        off.history.map((h) => h.valLoss),
        [2.8, 2.6, 2.4],
      );
    }
  });

  it('before any step the EMA is the initial weights', async () => {
    const { tf } = await selectBackend('cpu');
    const none = await trainNet(tf, linear, data(true), { ...opts(0.2), maxSteps: 0 });
    close(none.weights[0].data, [1, -2]);
  });

  it('a run killed after epoch 2 resumes with its EMA from the checkpoint to the same weights, bit for bit', async () => {
    const { tf } = await selectBackend('cpu');
    const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'fxflow-ema-'));
    const full = await trainNet(tf, linear, data(true), opts(0.2, tmp()));
    const dir = tmp();
    await expect(trainNet(tf, linear, data(true), opts(0.2, dir), { killAfterEpoch: 2 })).rejects.toThrow(/killed after epoch 2/);
    // The checkpoint of epoch 2 holds the weights, Adam's moments and the EMA after step 1.
    const ck = readdirSync(dir).find((n) => n.startsWith('epoch-0002'));
    const saved = await loadNet(dirHandler(path.join(dir, ck!)));
    expect(saved.weights.map((w) => w.name)).toEqual(['w', 'opt/m/w', 'opt/v/w', 'ema/w']);
    close(saved.weights[0].data, [0.8, -1.8]);
    close(saved.weights[3].data, [0.82, -1.82]);
    const resumed = await trainNet(tf, linear, data(true), opts(0.2, dir));
    expect(resumed.resumedFrom).toBe(2);
    expect(Buffer.from(resumed.weights[0].data.buffer).equals(Buffer.from(full.weights[0].data.buffer))).toBe(true);
    expect(resumed.history.map((h) => h.valLoss)).toEqual(full.history.map((h) => h.valLoss));
    close(resumed.weights[0].data, [0.724, -1.724]);
    // Killed after the last epoch: the resumed run trains no more and gives back the best
    // checkpoint's EMA, the same bits.
    const dir3 = tmp();
    await expect(trainNet(tf, linear, data(true), opts(0.2, dir3), { killAfterEpoch: 3 })).rejects.toThrow(/killed after epoch 3/);
    const after = await trainNet(tf, linear, data(true), opts(0.2, dir3));
    expect(after.resumedFrom).toBe(3);
    expect(Buffer.from(after.weights[0].data.buffer).equals(Buffer.from(full.weights[0].data.buffer))).toBe(true);
    // A run with another decay does not resume from these checkpoints (the decay is part of the setup).
    const other = await trainNet(tf, linear, data(true), opts(0.5, dir));
    expect(other.resumedFrom).toBeUndefined();
  });
});
