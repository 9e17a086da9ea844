import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/data/rng.js';
import { linearPredict } from '../../src/models/kinds.js';
import { fitLogistic } from '../../src/models/linear.js';
import { sgdEpochs, sgdInit, sgdToLinear, sgdUpdate, sgdWalkForward } from '../../src/models/online/sgd.js';

const sig = (z: number): number => 1 / (1 + Math.exp(-z));

describe('SGD logistic: steps worked by hand', () => {
  // Two features, one target, η₀ = 0.5, l2 = 0.1, starting at w = (0, 0), b = 0.
  it('constant rate: two steps', () => {
    const s = sgdInit(2, 1, { learningRate: 0.5, schedule: 'constant', l2: 0.1 });
    // Step 1, x = (1, 2), y = +0.3 (label 1): z = 0, σ = 0.5, g = −0.5;
    // w = 0 − 0.5·(−0.5·x + 0.1·0) = (0.25, 0.5); b = 0 − 0.5·(−0.5) = 0.25.
    sgdUpdate(s, [1, 2], [0.3]);
    expect(Array.from(s.w[0])).toEqual([0.25, 0.5, 0.25]);
    // Step 2, x = (−1, 1), y = −0.2 (label 0): z = −0.25 + 0.5 + 0.25 = 0.5, g = σ(0.5) = 0.6224593312018546;
    // w₁ = 0.25 − 0.5·(−g + 0.025), w₂ = 0.5 − 0.5·(g + 0.05), b = 0.25 − 0.5·g.
    sgdUpdate(s, [-1, 1], [-0.2]);
    const g = 0.6224593312018546;
    expect(sig(0.5)).toBeCloseTo(g, 15);
    expect(s.w[0][0]).toBeCloseTo(0.25 - 0.5 * (-g + 0.025), 15);
    expect(s.w[0][1]).toBeCloseTo(0.5 - 0.5 * (g + 0.05), 15);
    expect(s.w[0][2]).toBeCloseTo(0.25 - 0.5 * g, 15);
    expect(s.steps).toBe(2);
  });

  it('inverse-scaling rate: η = 0.5, then 0.5/√2, then 0.5/√3 (power 0.5)', () => {
    const s = sgdInit(2, 1, { learningRate: 0.5, schedule: 'invscaling', l2: 0.1 });
    sgdUpdate(s, [1, 2], [1]);
    expect(Array.from(s.w[0])).toEqual([0.25, 0.5, 0.25]);
    sgdUpdate(s, [-1, 1], [-1]);
    const g = 0.6224593312018546;
    const e2 = 0.5 / Math.SQRT2;
    const w1 = 0.25 - e2 * (-g + 0.025);
    const w2 = 0.5 - e2 * (g + 0.05);
    const b = 0.25 - e2 * g;
    expect(s.w[0][0]).toBeCloseTo(w1, 15);
    expect(s.w[0][1]).toBeCloseTo(w2, 15);
    expect(s.w[0][2]).toBeCloseTo(b, 15);
    // Step 3, x = (0, 0), y = 1: g = σ(b) − 1; only the intercept and the decay move.
    sgdUpdate(s, [0, 0], [1]);
    const e3 = 0.5 / Math.sqrt(3);
    const g3 = sig(b) - 1;
    expect(s.w[0][0]).toBeCloseTo(w1 - e3 * 0.1 * w1, 15);
    expect(s.w[0][1]).toBeCloseTo(w2 - e3 * 0.1 * w2, 15);
    expect(s.w[0][2]).toBeCloseTo(b - e3 * g3, 15);
  });

  it('starts from a fitted logistic model and scores as the logistic kind does', () => {
    const s = sgdInit(2, 1, { learningRate: 0.1, schedule: 'constant', l2: 0 }, { coef: [[0.5, -1]], intercept: [0.2], link: 'logistic' });
    const X = Float64Array.from([1, 1, 2, -1]);
    const walk = sgdWalkForward(s, X, [1, -1], { start: 0, end: 2 });
    // Row 0 scored before any step: 2·σ(0.5 − 1 + 0.2) − 1.
    expect(walk[0][0]).toBeCloseTo(2 * sig(-0.3) - 1, 15);
    // Row 1 with the weights after row 0's step equals linearPredict on those weights… computed by hand:
    const g0 = sig(-0.3) - 1;
    const w = [0.5 - 0.1 * g0, -1 - 0.1 * g0, 0.2 - 0.1 * g0];
    expect(walk[0][1]).toBeCloseTo(2 * sig(2 * w[0] - w[1] + w[2]) - 1, 15);
    // …and the final state as a LinearState predicts with linearPredict.
    const lin = sgdToLinear(s);
    expect(lin.link).toBe('logistic');
    const z = s.w[0][0] * 3 + s.w[0][1] * 4 + s.w[0][2];
    expect(linearPredict(lin, [3, 4], 1, 2)[0][0]).toBeCloseTo(2 * sig(z) - 1, 15);
  });

  it('skips a non-finite row without moving the schedule', () => {
    const s = sgdInit(2, 1, { learningRate: 0.5, schedule: 'invscaling', l2: 0.1 });
    expect(sgdUpdate(s, [Number.NaN, 1], [1])).toBe(false);
    expect(sgdUpdate(s, [1, 1], [Number.NaN])).toBe(false);
    expect(s.steps).toBe(0);
    expect(Array.from(s.w[0])).toEqual([0, 0, 0]);
  });

  it('rejects a bad rate, l2 or starting model', () => {
    expect(() => sgdInit(2, 1, { learningRate: 0, schedule: 'constant', l2: 0 })).toThrow(/learning_rate/);
    expect(() => sgdInit(2, 1, { learningRate: 1, schedule: 'constant', l2: -1 })).toThrow(/l2/);
    expect(() => sgdInit(2, 1, { learningRate: 1, schedule: 'constant', l2: 0 }, { coef: [[1]], intercept: [0] })).toThrow(/expected 1 × 2/);
  });
});

describe('SGD logistic in the limit: the batch optimum (fitLogistic with alpha = N·l2)', () => {
  // Noisy, overlapping classes ("separable-ish"): the L2 optimum is finite and unique. SGD with
  // η = 0.5/√(t+1) over shuffled epochs approaches it; how close is loose by nature (documented
  // in docs/online.md): 1e-3 relative after 1000 epochs, and closer than after 100.
  const n = 200;
  const p = 3;
  const rng = makeRng(5);
  const X = new Float64Array(n * p);
  const Y = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let z = 0.3;
    for (let j = 0; j < p; j++) {
      X[r * p + j] = rng.normal();
      z += X[r * p + j] * [2, -1.5, 1][j];
    }
    Y[r] = z + 0.5 * rng.normal() > 0 ? 0.01 : -0.01;
  }
  const l2 = 0.01;
  const ref = fitLogistic(
    X,
    n,
    p,
    Y.map((v) => (v > 0 ? 1 : 0)),
    n * l2,
  );
  const refW = [...ref.coef, ref.intercept];
  const rel = (w: Float64Array): number => Math.max(...refW.map((v, j) => Math.abs(w[j] - v))) / Math.max(...refW.map(Math.abs));

  it('within 1e-3 relative after 1000 epochs, closer than after 100; deterministic given the seed', () => {
    expect(ref.converged).toBe(true);
    const opts = { learningRate: 0.5, schedule: 'invscaling', l2 } as const;
    const a = sgdInit(p, 1, opts);
    sgdEpochs(a, X, Y, { start: 0, end: n }, 100, 1);
    const b = sgdInit(p, 1, opts);
    expect(sgdEpochs(b, X, Y, { start: 0, end: n }, 1000, 1)).toBe(1000 * n);
    console.log(`[sgd] relative distance to the batch optimum: 100 epochs ${rel(a.w[0]).toExponential(2)}, 1000 epochs ${rel(b.w[0]).toExponential(2)}`);
    expect(rel(b.w[0])).toBeLessThan(1e-3);
    expect(rel(b.w[0])).toBeLessThan(rel(a.w[0]));
    const c = sgdInit(p, 1, opts);
    sgdEpochs(c, X, Y, { start: 0, end: n }, 100, 1);
    expect(c).toEqual(a);
    const d = sgdInit(p, 1, opts);
    sgdEpochs(d, X, Y, { start: 0, end: n }, 100, 2);
    expect(d.w[0]).not.toEqual(a.w[0]);
  });
});
