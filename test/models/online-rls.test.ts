import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/data/rng.js';
import { linearPredict } from '../../src/models/kinds.js';
import { rlsClone, rlsFromBatch, rlsInit, rlsToLinear, rlsUpdate, rlsUpdateRows, rlsWalkForward, type RlsState } from '../../src/models/online/rls.js';
import { fitRidgeMulti } from '../../src/models/ridge.js';
import { weightedRidge } from '../helpers/oracles.js';

/** max |a − b| / max |b|: the relative difference of two weight vectors. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

/** n rows of p features (one with a non-zero mean) and k noisy linear targets with intercepts. */
function problem(n: number, p: number, k: number, seed: number): { X: Float64Array; Y: Float64Array } {
  const rng = makeRng(seed);
  const X = new Float64Array(n * p);
  const Y = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < p; j++) X[r * p + j] = rng.normal() + (j === 0 ? 2 : 0);
    for (let t = 0; t < k; t++) {
      let v = 3 - 2 * t + 0.5 * rng.normal();
      for (let j = 0; j < p; j++) v += X[r * p + j] * ((j + 1) * (t % 2 ? -0.3 : 0.7));
      Y[r * k + t] = v;
    }
  }
  return { X, Y };
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

/** The worst relative difference over targets between the RLS weights and the oracle. */
function worst(s: RlsState, X: Float64Array, Y: Float64Array, rows: number[], weights: number[], c: number, intercept = true): number {
  let w = 0;
  for (let t = 0; t < s.k; t++) w = Math.max(w, relDiff(s.w[t], weightedRidge(X, s.p, Y, s.k, t, rows, weights, c, intercept)));
  return w;
}

const worstSeen: Record<string, number> = {};
const note = (name: string, v: number): void => {
  worstSeen[name] = Math.max(worstSeen[name] ?? 0, v);
};

describe('RLS with forgetting = weighted ridge (weights λ^(n−i), penalty δ·λⁿ, unpenalised intercept)', () => {
  const n = 400;
  const p = 5;
  const k = 2;
  const { X, Y } = problem(n, p, k, 7);

  for (const [lam, delta] of [
    [0.99, 0.5],
    [0.95, 2],
    [0.999, 1e-3],
    [1, 1],
  ] as const) {
    it(`λ = ${lam}, δ = ${delta}: after every checkpoint row, to 1e-9 relative`, () => {
      const s = rlsInit(p, k, { forgetting: lam, delta });
      const checkpoints = new Set([1, 2, 3, 6, 10, 50, 200, n]);
      for (let i = 0; i < n; i++) {
        rlsUpdate(s, X, Y, i * p, i * k);
        const m = i + 1;
        if (!checkpoints.has(m)) continue;
        const rows = range(0, m);
        const d = worst(
          s,
          X,
          Y,
          rows,
          rows.map((r) => lam ** (m - 1 - r)),
          delta * lam ** m,
        );
        note(`λ=${lam} δ=${delta}`, d);
        expect(d, `after ${m} rows`).toBeLessThanOrEqual(1e-9);
      }
      expect(s.rows).toBe(n);
      expect(s.P).not.toBeNull();
    });
  }

  it('λ = 1, δ = 0 is OLS (exact: information form until q rows are independent), = fitRidgeMulti(α = 0)', () => {
    const s = rlsInit(p, k, { forgetting: 1, delta: 0 });
    for (let i = 0; i < n; i++) {
      rlsUpdate(s, X, Y, i * p, i * k);
      // Not identified before q = p + 1 rows: still in information form.
      if (i + 1 < p + 1) expect(s.P).toBeNull();
      if (i + 1 === p + 1 || i + 1 === 20 || i + 1 === n) {
        const rows = range(0, i + 1);
        const d = worst(
          s,
          X,
          Y,
          rows,
          rows.map(() => 1),
          0,
        );
        note('OLS λ=1 δ=0', d);
        expect(d).toBeLessThanOrEqual(1e-9);
      }
    }
    const ols = fitRidgeMulti(X, n, p, Y, k, 0, true);
    for (let t = 0; t < k; t++) {
      expect(relDiff(s.w[t], [...ols.coef[t], ols.intercept[t]])).toBeLessThanOrEqual(1e-9);
    }
  });

  it('λ = 1, δ → 0 approaches OLS', () => {
    const ols = fitRidgeMulti(X, n, p, Y, k, 0, true);
    let prev = Infinity;
    for (const delta of [1e-2, 1e-5, 1e-8]) {
      const s = rlsInit(p, k, { forgetting: 1, delta });
      rlsUpdateRows(s, X, Y, { start: 0, end: n });
      const d = relDiff(s.w[0], [...ols.coef[0], ols.intercept[0]]);
      expect(d).toBeLessThan(prev);
      prev = d;
    }
    expect(prev).toBeLessThan(1e-9);
  });

  it('the intercept is unpenalised: shifting y by 1000 moves only the intercept, by 1000 (a penalised one would not)', () => {
    const lam = 0.98;
    const delta = 50; // a strong prior, so a penalised intercept would visibly shrink
    const m = 60;
    const shifted = Y.map((v, i) => (i % k === 0 ? v + 1000 : v));
    const a = rlsInit(p, k, { forgetting: lam, delta });
    const b = rlsInit(p, k, { forgetting: lam, delta });
    rlsUpdateRows(a, X, Y, { start: 0, end: m });
    rlsUpdateRows(b, X, shifted, { start: 0, end: m });
    for (let j = 0; j < p; j++) expect(Math.abs(b.w[0][j] - a.w[0][j])).toBeLessThanOrEqual(1e-9 * Math.abs(a.w[0][j]) + 1e-11);
    expect(Math.abs(b.w[0][p] - a.w[0][p] - 1000)).toBeLessThanOrEqual(1e-9 * 1000);
    // The oracle with the prior on the intercept too gives a different answer: the test tells them apart.
    const rows = range(0, m);
    const wts = rows.map((r) => lam ** (m - 1 - r));
    const penalised = weightedRidge(X, p, shifted, k, 0, rows, wts, delta * lam ** m, true, true);
    expect(relDiff(b.w[0], penalised)).toBeGreaterThan(1e-3);
    expect(relDiff(b.w[0], weightedRidge(X, p, shifted, k, 0, rows, wts, delta * lam ** m))).toBeLessThanOrEqual(1e-9);
  });

  it('without an intercept the prior covers every weight (P₀ = I/δ from the start)', () => {
    const lam = 0.97;
    const delta = 0.3;
    const s = rlsInit(p, k, { forgetting: lam, delta, fitIntercept: false });
    expect(s.P).not.toBeNull();
    rlsUpdateRows(s, X, Y, { start: 0, end: 150 });
    const rows = range(0, 150);
    const d = worst(
      s,
      X,
      Y,
      rows,
      rows.map((r) => lam ** (149 - r)),
      delta * lam ** 150,
      false,
    );
    note('no intercept', d);
    expect(d).toBeLessThanOrEqual(1e-9);
  });

  it('from a batch ridge fit, then updates: batch rows weigh λ^(updates), penalty α·λ^(updates)', () => {
    const lam = 0.98;
    const alpha = 3;
    const m = 250;
    const s = rlsFromBatch(X, n, p, Y, k, alpha, { forgetting: lam }, { start: 0, end: m });
    // Before any update it is the batch ridge itself.
    const batch = fitRidgeMulti(X, n, p, Y, k, alpha, true, { start: 0, end: m });
    for (let t = 0; t < k; t++) expect(relDiff(s.w[t], [...batch.coef[t], batch.intercept[t]])).toBeLessThanOrEqual(1e-12);
    rlsUpdateRows(s, X, Y, { start: m, end: n });
    const u = n - m;
    const rows = range(0, n);
    const d = worst(
      s,
      X,
      Y,
      rows,
      rows.map((r) => (r < m ? lam ** u : lam ** (n - 1 - r))),
      alpha * lam ** u,
    );
    note('from batch', d);
    expect(d).toBeLessThanOrEqual(1e-9);
  });

  it('from a singular batch (OLS on fewer rows than weights) it waits in information form, then is exact', () => {
    const s = rlsFromBatch(X, n, p, Y, k, 0, { forgetting: 1 }, { start: 0, end: 3 });
    expect(s.P).toBeNull();
    rlsUpdateRows(s, X, Y, { start: 3, end: 40 });
    expect(s.P).not.toBeNull();
    const rows = range(0, 40);
    expect(
      worst(
        s,
        X,
        Y,
        rows,
        rows.map(() => 1),
        0,
      ),
    ).toBeLessThanOrEqual(1e-9);
  });

  it('a feature duplicated exactly (OLS never identified): after 2q rows a 1e-10 prior, predictions as the minimum-norm OLS', () => {
    const m = 300;
    const Xd = X.slice(0, m * p);
    for (let r = 0; r < m; r++) Xd[r * p + 3] = Xd[r * p + 1];
    const s = rlsInit(p, k, { forgetting: 1, delta: 0 });
    for (let r = 0; r < 2 * (p + 1) - 1; r++) rlsUpdate(s, Xd, Y, r * p, r * k);
    expect(s.P).toBeNull();
    rlsUpdateRows(s, Xd, Y, { start: 2 * (p + 1) - 1, end: m });
    expect(s.P).not.toBeNull();
    expect(s.jitter).toBeGreaterThan(0);
    const ols = fitRidgeMulti(Xd, m, p, Y.subarray(0, m * k), k, 0, true);
    expect(ols.singular).toBe(true);
    const mine = linearPredict(rlsToLinear(s), Xd, m, p);
    const ref = linearPredict({ coef: ols.coef.map((c) => Array.from(c)), intercept: ols.intercept }, Xd, m, p);
    for (let t = 0; t < k; t++) expect(relDiff(mine[t], ref[t])).toBeLessThanOrEqual(1e-6);
  });

  it('skips a row with a non-finite value (no update, no forgetting)', () => {
    const s = rlsInit(p, k, { forgetting: 0.9, delta: 1 });
    rlsUpdateRows(s, X, Y, { start: 0, end: 10 });
    const before = rlsClone(s);
    const x = Array.from(X.subarray(10 * p, 11 * p));
    expect(rlsUpdate(s, x, [Number.NaN, 1])).toBe(false);
    x[2] = Number.POSITIVE_INFINITY;
    expect(rlsUpdate(s, x, [1, 1])).toBe(false);
    expect(s).toEqual(before);
  });

  it('rlsToLinear predicts as linearPredict does with the same weights', () => {
    const s = rlsInit(p, k, { forgetting: 0.99, delta: 1 });
    rlsUpdateRows(s, X, Y, { start: 0, end: 100 });
    const lin = rlsToLinear(s);
    const pred = linearPredict(lin, X.subarray(100 * p, 101 * p), 1, p);
    for (let t = 0; t < k; t++) {
      let z = s.w[t][p];
      for (let j = 0; j < p; j++) z += X[100 * p + j] * s.w[t][j];
      expect(pred[t][0]).toBe(z);
    }
  });

  it('walk-forward: the prediction of row t uses rows < t only (perturbing y_t changes nothing up to t, and t + 1 onwards)', () => {
    const m = 100;
    const base = rlsFromBatch(X, n, p, Y, k, 1, { forgetting: 0.99 }, { start: 0, end: m });
    const a = rlsWalkForward(rlsClone(base), X, Y, { start: m, end: n });
    const t0 = 230;
    const Y2 = Y.slice();
    Y2[t0 * k] += 5;
    Y2[t0 * k + 1] -= 5;
    const b = rlsWalkForward(rlsClone(base), X, Y2, { start: m, end: n });
    for (let t = 0; t < k; t++) {
      for (let r = m; r <= t0; r++) expect(b[t][r - m]).toBe(a[t][r - m]);
      expect(b[t][t0 + 1 - m]).not.toBe(a[t][t0 + 1 - m]);
    }
    // and the walk-forward's first prediction is the batch model's
    expect(a[0][0]).toBe(linearPredict(rlsToLinear(base), X.subarray(m * p, (m + 1) * p), 1, p)[0][0]);
  });

  it('deterministic: the same rows give bit-identical states', () => {
    const a = rlsInit(p, k, { forgetting: 0.97, delta: 0.1 });
    const b = rlsInit(p, k, { forgetting: 0.97, delta: 0.1 });
    rlsUpdateRows(a, X, Y, { start: 0, end: n });
    rlsUpdateRows(b, X, Y, { start: 0, end: n });
    expect(b).toEqual(a);
  });

  it('rejects a forgetting factor outside (0, 1] and a negative prior', () => {
    expect(() => rlsInit(p, k, { forgetting: 0, delta: 1 })).toThrow(/forgetting/);
    expect(() => rlsInit(p, k, { forgetting: 1.01, delta: 1 })).toThrow(/forgetting/);
    expect(() => rlsInit(p, k, { forgetting: 1, delta: -1 })).toThrow(/delta/);
  });

  it('reports the worst relative differences seen', () => {
    console.log(`[rls] worst relative difference to the weighted-ridge oracle: ${JSON.stringify(worstSeen)}`);
    expect(Object.keys(worstSeen).length).toBeGreaterThan(0);
  });
});

// A second oracle: numpy's least squares on the √weight-scaled rows stacked with √penalty rows
// (a different algorithm, SVD, on the same problem). Skipped visibly without /usr/bin/python3 + numpy.
const PY = '/usr/bin/python3';
const hasNumpy = ((): boolean => {
  if (!existsSync(PY)) return false;
  try {
    execFileSync(PY, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasNumpy) console.warn('[skip] /usr/bin/python3 with numpy not found: the numpy lstsq cross-check of RLS is skipped');

describe.skipIf(!hasNumpy)('RLS vs numpy lstsq on the augmented weighted problem', () => {
  it('λ = 0.97, δ = 0.7, 300 rows × 6 features: to 1e-9 relative', () => {
    const n = 300;
    const p = 6;
    const { X, Y } = problem(n, p, 1, 3);
    const lam = 0.97;
    const delta = 0.7;
    const s = rlsInit(p, 1, { forgetting: lam, delta });
    rlsUpdateRows(s, X, Y, { start: 0, end: n });
    const script = [
      'import json, sys, numpy as np',
      'd = json.load(sys.stdin); n, p, lam, delta = d["n"], d["p"], d["lam"], d["delta"]',
      'X = np.array(d["X"]).reshape(n, p); y = np.array(d["y"])',
      'A = np.hstack([X, np.ones((n, 1))]); sw = np.sqrt(lam ** (n - 1 - np.arange(n)))',
      'pen = np.hstack([np.sqrt(delta * lam ** n) * np.eye(p), np.zeros((p, 1))])',
      'M = np.vstack([A * sw[:, None], pen]); b = np.concatenate([y * sw, np.zeros(p)])',
      'print(json.dumps(np.linalg.lstsq(M, b, rcond=None)[0].tolist()))',
    ].join('\n');
    const out = execFileSync(PY, ['-c', script], { input: JSON.stringify({ n, p, lam, delta, X: Array.from(X), y: Array.from(Y) }), encoding: 'utf8' });
    const ref = JSON.parse(out) as number[];
    const d = relDiff(s.w[0], ref);
    console.log(`[rls] numpy lstsq: max relative difference ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(1e-9);
  });
});
