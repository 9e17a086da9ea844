import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/data/rng.js';
import { binFold, fitGbm, gbmPredict, type GbmParams, type GbmState } from '../../src/models/gbm/gbm.js';
import { predictRaw } from '../../src/models/gbm/tree.js';
import { gbm, gbmParamsOf } from '../../src/models/kinds.js';
import { rmse } from '../../src/models/metrics.js';
import { gbmAppend } from '../../src/models/online/gbm-append.js';

const PARAMS: GbmParams = { ...gbmParamsOf(gbm.defaults), nEstimators: 60, learningRate: 0.2, maxDepth: 3, earlyStoppingRounds: 0, threads: 1 };
const p = 3;
const NONE = { start: 0, end: 0 };

/**
 * Rows [0, n0): y = f(x) + noise; rows [n0, n): the regime after a shift, y = f(x) + 2·x₂ + 1 + noise.
 * X is one array, as the train step hands a fold's rows to the fitters.
 */
function shifted(n0: number, n: number, seed: number): { X: Float64Array; Y: Float64Array } {
  const rng = makeRng(seed);
  const X = new Float64Array(n * p);
  const Y = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < p; j++) X[r * p + j] = rng.normal();
    const x = X.subarray(r * p, r * p + p);
    let y = Math.sin(2 * x[0]) + (x[1] > 0 ? 1 : -1) + 0.1 * rng.normal();
    if (r >= n0) y += 2 * x[2] + 1;
    Y[r] = y;
  }
  return { X, Y };
}

function fit(X: Float64Array, Y: Float64Array, rows: { start: number; end: number }, params = PARAMS, seed = 1): GbmState {
  return fitGbm(X, p, Y, 1, 0, rows, NONE, binFold(X, p, rows, params.maxBins), params, seed);
}

const predictRows = (s: GbmState, X: Float64Array, rows: { start: number; end: number }): Float64Array =>
  gbmPredict(s, X.subarray(rows.start * p, rows.end * p), rows.end - rows.start, p);

describe('fitGbm with a starting margin', () => {
  it('a margin equal to the base score everywhere gives the plain fit bit for bit', () => {
    const { X, Y } = shifted(400, 400, 3);
    const rows = { start: 0, end: 400 };
    const plain = fit(X, Y, rows);
    let mean = 0;
    for (let r = 0; r < 400; r++) mean += Y[r];
    mean /= 400;
    const withMargin = fitGbm(X, p, Y, 1, 0, rows, NONE, binFold(X, p, rows, PARAMS.maxBins), PARAMS, 1, undefined, {
      train: new Float64Array(400).fill(mean),
    });
    expect(withMargin.trees).toEqual(plain.trees);
  });

  it('refuses a margin of the wrong length', () => {
    const { X, Y } = shifted(50, 50, 3);
    const rows = { start: 0, end: 50 };
    expect(() => fitGbm(X, p, Y, 1, 0, rows, { start: 50, end: 50 }, binFold(X, p, rows, 255), PARAMS, 1, undefined, { train: new Float64Array(49) })).toThrow(
      /margin/,
    );
  });
});

describe('gbm append', () => {
  const n0 = 1500;
  const n = 3000;
  const { X, Y } = shifted(n0, n, 11);
  const old = { start: 0, end: n0 };
  const base = fit(X, Y, old);

  it('on rows the ensemble already fits exactly, appended trees change no prediction (beyond 1e-12)', () => {
    // New rows whose targets are the ensemble's own predictions: every residual is zero.
    const Yp = Y.slice();
    const fresh = { start: n0, end: n };
    Yp.set(predictRows(base, X, fresh), n0);
    const r = gbmAppend(base, X, p, Yp, 1, 0, fresh, { ...PARAMS, nEstimators: 20 }, 5, { maxTrees: 500, prune: false });
    expect(r.added).toBe(20);
    const all = { start: 0, end: n };
    const before = predictRows(base, X, all);
    const after = predictRows(r.state, X, all);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(after[i] - before[i]));
    expect(worst).toBeLessThanOrEqual(1e-12);
  });

  it('after a shift, appending on the new regime improves the fit of later rows of it; the input state is untouched', () => {
    const adapt = { start: n0, end: 2200 };
    const later = { start: 2200, end: n };
    const trees0 = base.trees.length;
    const r = gbmAppend(base, X, p, Y, 1, 0, adapt, { ...PARAMS, nEstimators: 60 }, 5, { maxTrees: 500, prune: false });
    expect(base.trees.length).toBe(trees0);
    expect(r.state.trees.slice(0, trees0)).toEqual(base.trees);
    const yLater = Y.subarray(later.start, later.end);
    const before = rmse(predictRows(base, X, later), yLater);
    const after = rmse(predictRows(r.state, X, later), yLater);
    console.log(`[gbm append] RMSE on the shifted regime's later rows: ${before.toFixed(4)} before, ${after.toFixed(4)} after appending 60 trees`);
    // The shift (2·x₂ + 1, sd ≈ 2.2) dominates the error before; the appended trees learn most of it.
    expect(after).toBeLessThan(0.5 * before);
  });

  it('deterministic: same rows and seed give identical trees; another seed (with subsampling) differs', () => {
    const adapt = { start: n0, end: 2200 };
    const prm = { ...PARAMS, nEstimators: 10, subsample: 0.7, colsample: 0.7 };
    const a = gbmAppend(base, X, p, Y, 1, 0, adapt, prm, 9, { maxTrees: 500, prune: false });
    const b = gbmAppend(base, X, p, Y, 1, 0, adapt, prm, 9, { maxTrees: 500, prune: false });
    const c = gbmAppend(base, X, p, Y, 1, 0, adapt, prm, 10, { maxTrees: 500, prune: false });
    expect(b.state).toEqual(a.state);
    expect(c.state.trees).not.toEqual(a.state.trees);
  });

  it('cap without pruning: appends only up to the cap (none at it)', () => {
    const adapt = { start: n0, end: 2200 };
    const r = gbmAppend(base, X, p, Y, 1, 0, adapt, { ...PARAMS, nEstimators: 30 }, 5, { maxTrees: base.trees.length + 12, prune: false });
    expect(r.added).toBe(12);
    expect(r.pruned).toBe(0);
    expect(r.state.trees.length).toBe(base.trees.length + 12);
    const none = gbmAppend(r.state, X, p, Y, 1, 0, adapt, { ...PARAMS, nEstimators: 30 }, 5, { maxTrees: base.trees.length + 12, prune: false });
    expect(none.added).toBe(0);
    expect(none.state.trees).toEqual(r.state.trees);
  });

  it('cap with pruning: the oldest trees go, the rest are kept in order, and the mean level on the new rows is kept', () => {
    const adapt = { start: n0, end: 2200 };
    const cap = 70;
    const r = gbmAppend(base, X, p, Y, 1, 0, adapt, { ...PARAMS, nEstimators: 30 }, 5, { maxTrees: cap, prune: true });
    expect(r.added).toBe(30);
    expect(r.pruned).toBe(base.trees.length + 30 - cap);
    expect(r.state.trees.length).toBe(cap);
    expect(r.state.trees.slice(0, cap - 30)).toEqual(base.trees.slice(r.pruned));
    // Pruning alone (no new trees): the base score absorbs the pruned trees' mean output on the
    // new rows, so the mean prediction there is unchanged.
    const only = gbmAppend(base, X, p, Y, 1, 0, adapt, { ...PARAMS, nEstimators: 0 }, 5, { maxTrees: 40, prune: true });
    expect(only.pruned).toBe(base.trees.length - 40);
    const mean = (v: Float64Array): number => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(predictRows(only.state, X, adapt))).toBeCloseTo(mean(predictRows(base, X, adapt)), 12);
    // …which is the pruned trees' mean, summed by hand.
    let s = 0;
    for (let row = adapt.start; row < adapt.end; row++) for (const tr of base.trees.slice(0, only.pruned)) s += predictRaw(tr, X, p, row);
    expect(only.state.baseScore - base.baseScore).toBeCloseTo(s / (adapt.end - adapt.start), 12);
  });

  it('logistic loss: appending on the new regime lowers its log-loss', () => {
    const lp = { ...PARAMS, loss: 'logistic' as const, nEstimators: 40 };
    const Yc = Y.map((v) => v - 0.5);
    const b0 = fit(X, Yc, old, lp);
    const adapt = { start: n0, end: 2200 };
    const later = { start: 2200, end: n };
    const r = gbmAppend(b0, X, p, Yc, 1, 0, adapt, lp, 5, { maxTrees: 500, prune: false });
    const logloss = (s: GbmState): number => {
      const sc = predictRows(s, X, later); // 2·P(up) − 1
      let l = 0;
      for (let i = 0; i < sc.length; i++) {
        const pu = Math.min(Math.max((sc[i] + 1) / 2, 1e-12), 1 - 1e-12);
        l -= Yc[later.start + i] > 0 ? Math.log(pu) : Math.log(1 - pu);
      }
      return l / sc.length;
    };
    expect(logloss(r.state)).toBeLessThan(logloss(b0));
  });

  it('refuses a cap below 1 and an empty row range', () => {
    expect(() => gbmAppend(base, X, p, Y, 1, 0, { start: n0, end: 2200 }, PARAMS, 5, { maxTrees: 0, prune: false })).toThrow(/max_trees/);
    expect(() => gbmAppend(base, X, p, Y, 1, 0, { start: n0, end: n0 }, PARAMS, 5, { maxTrees: 10, prune: false })).toThrow(/no rows/);
  });
});
