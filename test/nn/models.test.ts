import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import type { NnState } from '../../src/models/nn/kinds.js';
import '../../src/models/nn/kinds.js';
import { getModelKind, resolveModelParams, type FoldData } from '../../src/models/registry.js';
import { synthetic } from './helpers.js';

/**
 * Each neural kind fits a small synthetic signal on the wasm backend. The targets are exact linear
 * functions of the window (helpers.ts), so the best achievable loss is 0, and predicting the mean
 * scores a standardised MSE of 1. A validation loss below 0.1 means the net explains over 90% of
 * the variance of held-out rows, which none can do without using the bar two steps back (that
 * term alone carries 36% / 50% of the two targets' variance).
 */

const n = 600;
const p = 2;
const { X, Y, index, k } = synthetic(n, p);

function foldData(seed = 7): FoldData {
  return {
    X,
    n,
    p,
    Y,
    k,
    featureNames: ['a', 'b'],
    targetNames: ['y1', 'y2'],
    train: { start: 0, end: 480 },
    val: { start: 480, end: n },
    fold: 0,
    seed,
    signal: new AbortController().signal,
    warn: () => {},
    index,
  };
}

const SMALL = { lookback: 8, hidden: 16, epochs: 15, batch_size: 32, learning_rate: 0.01, patience: 0, layers: 1 };
const PER_KIND: Record<string, Record<string, number>> = { tcn: { layers: 2 }, transformer: { heads: 2 } };

async function fit(name: string, seed = 7) {
  const kind = getModelKind(name)!;
  const prm = resolveModelParams(kind, { ...SMALL, ...PER_KIND[name] });
  return { kind, f: await kind.fit(foldData(seed), prm) };
}

describe('neural kinds on wasm', () => {
  it('runs on wasm here', async () => {
    expect((await selectBackend('auto')).name).toBe('wasm');
  });

  for (const name of ['mlp', 'lstm', 'gru', 'tcn', 'transformer']) {
    it(`${name} fits a synthetic sequence signal (val loss < 0.1 of a baseline 1)`, async () => {
      const { kind, f } = await fit(name);
      const s = f.state as NnState;
      expect(f.backend).toBe('wasm');
      const last = s.history[s.history.length - 1];
      expect(s.history).toHaveLength(15);
      expect(last.valLoss).toBeLessThan(0.1);
      expect(last.trainLoss).toBeLessThan(s.history[0].trainLoss);
      // predict() on the val rows, in target units: windows start at the segment's 8th row, earlier rows get the mean.
      const m = n - 480;
      const preds = kind.predict(s, X.subarray(480 * p), m, p, index.subarray(480));
      let se = 0;
      let ss = 0;
      for (let r = 7; r < m; r++) {
        se += (preds[0][r] - Y[(480 + r) * k]) ** 2;
        ss += (Y[(480 + r) * k] - s.yMean[0]) ** 2;
      }
      expect(1 - se / ss).toBeGreaterThan(0.9);
      expect(preds[0][0]).toBe(s.yMean[0]);
    });
  }

  it('is deterministic: two fits with one seed give bit-identical weights, another seed differs', async () => {
    const a = (await fit('gru', 11)).f.state as NnState;
    const b = (await fit('gru', 11)).f.state as NnState;
    const c = (await fit('gru', 12)).f.state as NnState;
    a.weights.forEach((w, i) => expect(Buffer.from(w.data.buffer).equals(Buffer.from(b.weights[i].data.buffer))).toBe(true));
    expect(Buffer.from(a.weights[0].data.buffer).equals(Buffer.from(c.weights[0].data.buffer))).toBe(false);
  });
});
