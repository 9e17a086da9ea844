import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/data/rng.js';
import { argmaxStates, filterHmm, fitHmm, stationary, viterbi, type GaussianHmm } from '../../src/regimes/hmm.js';
import { rollingPercentile, ruleStates } from '../../src/regimes/rules.js';

/** A model from plain arrays (diagonal covariances given as variances). */
function model(trans: number[][], means: number[][], variances: number[][]): GaussianHmm {
  const K = trans.length;
  const d = means[0].length;
  const covs = new Float64Array(K * d * d);
  for (let k = 0; k < K; k++) for (let i = 0; i < d; i++) covs[k * d * d + i * d + i] = variances[k][i];
  return {
    K,
    d,
    covariance: 'diag',
    trans: Float64Array.from(trans.flat()),
    means: Float64Array.from(means.flat()),
    covs,
  };
}

describe('forward filter: a hand-worked 3-bar example', () => {
  // Two states, means 0, variances 1 and 4; P = [[0.9, 0.1], [0.2, 0.8]], whose stationary
  // distribution (π·P = π) is (2/3, 1/3): the first bar's prior.
  // N(x; 0, 1) = e^{−x²/2}/√(2π), N(x; 0, 4) = e^{−x²/8}/(2√(2π)).
  const m = model(
    [
      [0.9, 0.1],
      [0.2, 0.8],
    ],
    [[0], [0]],
    [[1], [4]],
  );
  const x = Float64Array.from([0, 2, -1]);
  const phi = (v: number, s2: number): number => Math.exp((-v * v) / (2 * s2)) / Math.sqrt(2 * Math.PI * s2);

  it('gives the filtered probabilities and log-likelihood worked out by hand', () => {
    // Bar 1 (x = 0): densities in ratio 2 : 1, so (2/3·2, 1/3·1)/(5/3) = (0.8, 0.2).
    const f1 = [0.8, 0.2];
    // Bar 2 (x = 2): prior (0.8·0.9 + 0.2·0.2, 0.8·0.1 + 0.2·0.8) = (0.76, 0.24); likelihoods ∝ e^{−2} and e^{−1/2}/2.
    const u2 = [0.76 * Math.exp(-2), 0.24 * (Math.exp(-0.5) / 2)];
    const f2 = [u2[0] / (u2[0] + u2[1]), u2[1] / (u2[0] + u2[1])];
    // Bar 3 (x = −1): prior f2·P; likelihoods ∝ e^{−1/2} and e^{−1/8}/2.
    const p3 = [f2[0] * 0.9 + f2[1] * 0.2, f2[0] * 0.1 + f2[1] * 0.8];
    const u3 = [p3[0] * Math.exp(-0.5), p3[1] * (Math.exp(-1 / 8) / 2)];
    const f3 = [u3[0] / (u3[0] + u3[1]), u3[1] / (u3[0] + u3[1])];
    // Log-likelihood: the sum of log Pr(x_t | x_<t) = log Σ_k prior_k · N(x_t; 0, σ²_k).
    const ll =
      Math.log((2 / 3) * phi(0, 1) + (1 / 3) * phi(0, 4)) + Math.log(0.76 * phi(2, 1) + 0.24 * phi(2, 4)) + Math.log(p3[0] * phi(-1, 1) + p3[1] * phi(-1, 4));

    const { filtered, logLik } = filterHmm(m, x, 3);
    const want = [...f1, ...f2, ...f3];
    want.forEach((w, i) => expect(filtered[i]).toBeCloseTo(w, 14));
    expect(logLik).toBeCloseTo(ll, 12);
    expect(Array.from(argmaxStates(filtered, 2))).toEqual([0, 0, 0]);
    // The hand arithmetic of bar 2: 0.76·0.135335 = 0.102855 against 0.24·0.303265 = 0.072784.
    expect(f2[0]).toBeCloseTo(0.102855 / (0.102855 + 0.072784), 5);
    expect(Array.from(stationary(m.trans, 2)).map((v) => v * 3)).toEqual([expect.closeTo(2, 14), expect.closeTo(1, 14)]);
  });

  it('gives a row the same probabilities whatever rows follow it', () => {
    const rng = makeRng(5);
    const n = 2000;
    const X = Float64Array.from({ length: n }, () => rng.normal() * (rng.next() < 0.3 ? 2 : 1));
    const full = filterHmm(m, X, n).filtered;
    for (const cut of [1, 2, 17, 999, 1500]) {
      const part = filterHmm(m, X.subarray(0, cut), cut).filtered;
      expect(Array.from(part)).toEqual(Array.from(full.subarray(0, cut * 2)));
    }
  });

  it('does not underflow on a long series of extreme values', () => {
    const n = 100_000;
    const X = Float64Array.from({ length: n }, (_, t) => (t % 2 ? 40 : -40));
    const { filtered, logLik } = filterHmm(m, X, n);
    expect(Number.isFinite(logLik)).toBe(true);
    expect(filtered.every((p) => Number.isFinite(p))).toBe(true);
    // Every |x| = 40 is astronomically more likely under the wide state.
    expect(filtered[(n - 1) * 2 + 1]).toBeCloseTo(1, 12);
  });
});

/** A two-state chain with known parameters: states and observations (one column). */
function simulate(n: number, seed: number, P: number[][], mu: number[], sd: number[]): { s: Int32Array; x: Float64Array } {
  const rng = makeRng(seed);
  const s = new Int32Array(n);
  const x = new Float64Array(n);
  let cur = 0;
  for (let t = 0; t < n; t++) {
    if (t > 0) cur = rng.next() < P[cur][cur] ? cur : 1 - cur;
    s[t] = cur;
    x[t] = mu[cur] + sd[cur] * rng.normal();
  }
  return { s, x };
}

describe('Baum–Welch on a synthetic two-state series', () => {
  const P = [
    [0.99, 0.01],
    [0.02, 0.98],
  ];
  const mu = [0.5, -1];
  const sd = [1, 4];
  const n = 20_000;
  const { s, x } = simulate(n, 2024, P, mu, sd);
  const fit = fitHmm(x, n, 1, { K: 2, covariance: 'diag', seed: 1, tol: 1e-10, maxIter: 2000 });
  const m = fit.model;

  it('converges and recovers means, variances and transitions within sampling error', () => {
    expect(fit.converged).toBe(true);
    const nk = [0, 1].map((k) => s.filter((v) => v === k).length);
    for (let k = 0; k < 2; k++) {
      // Standard errors of a mean, a variance (normal data) and a transition probability.
      const seMean = sd[k] / Math.sqrt(nk[k]);
      const seVar = sd[k] ** 2 * Math.sqrt(2 / nk[k]);
      const seP = Math.sqrt((P[k][k] * (1 - P[k][k])) / nk[k]);
      // 5 standard errors: the fit's own uncertainty about the states adds a little to the sampling error.
      expect(Math.abs(m.means[k] - mu[k])).toBeLessThan(5 * seMean);
      expect(Math.abs(m.covs[k] - sd[k] ** 2)).toBeLessThan(5 * seVar);
      expect(Math.abs(m.trans[k * 2 + k] - P[k][k])).toBeLessThan(5 * seP);
    }
  });

  it('numbers the calm state 0 and agrees with the true states on ≥ 90% of bars (Viterbi and filtered)', () => {
    expect(m.covs[0]).toBeLessThan(m.covs[1]);
    const vit = viterbi(m, x, n);
    const filt = argmaxStates(filterHmm(m, x, n).filtered, 2);
    const agree = (a: Int32Array): number => a.reduce((c, v, t) => c + (v === s[t] ? 1 : 0), 0) / n;
    expect(agree(vit)).toBeGreaterThanOrEqual(0.9);
    expect(agree(filt)).toBeGreaterThanOrEqual(0.9);
  });

  it('is deterministic: same data and seed, bit-identical fit', () => {
    const again = fitHmm(x, n, 1, { K: 2, covariance: 'diag', seed: 1, tol: 1e-10, maxIter: 2000 });
    expect(again.logLik).toBe(fit.logLik);
    expect(Array.from(again.model.trans)).toEqual(Array.from(m.trans));
  });
});

describe('full covariance', () => {
  it('recovers each state’s correlation between two columns', () => {
    // State 0: correlation +0.8, unit variances; state 1: correlation −0.5, variances 4.
    const rng = makeRng(77);
    const n = 20_000;
    const X = new Float64Array(n * 2);
    const s = new Int32Array(n);
    let cur = 0;
    for (let t = 0; t < n; t++) {
      if (t > 0 && rng.next() < 0.01) cur = 1 - cur;
      s[t] = cur;
      const rho = cur === 0 ? 0.8 : -0.5;
      const sc = cur === 0 ? 1 : 2;
      const a = rng.normal();
      const b = rng.normal();
      X[2 * t] = sc * a;
      X[2 * t + 1] = sc * (rho * a + Math.sqrt(1 - rho * rho) * b);
    }
    const fit = fitHmm(X, n, 2, { K: 2, covariance: 'full', seed: 3, tol: 1e-9, maxIter: 1000 });
    const c = fit.model.covs;
    const corr = (k: number): number => c[k * 4 + 1] / Math.sqrt(c[k * 4] * c[k * 4 + 3]);
    // SE of a correlation ≈ (1 − ρ²)/√n_k with n_k ≈ 10,000: about 0.004–0.008.
    expect(corr(0)).toBeCloseTo(0.8, 1);
    expect(corr(1)).toBeCloseTo(-0.5, 1);
    expect(Math.abs(corr(0) - 0.8)).toBeLessThan(0.04);
    expect(Math.abs(corr(1) + 0.5)).toBeLessThan(0.04);
    const diag = fitHmm(X, n, 2, { K: 2, covariance: 'diag', seed: 3, tol: 1e-9, maxIter: 1000 });
    expect(diag.model.covs[1]).toBe(0); // off-diagonal stays 0
    expect(fit.logLik).toBeGreaterThan(diag.logLik); // the correlation is real: full fits better
  });
});

describe('rules', () => {
  it('ranks each value within its trailing window (by hand)', () => {
    const x = Float64Array.from([3, 1, 2, 5, 4]);
    const p = rollingPercentile(x, 3);
    // [3,1,2] → 2 is ≥ 1 and 2: 2/3; [1,2,5] → 5: 3/3; [2,5,4] → 4: 2/3.
    expect(Array.from(p)).toEqual([NaN, NaN, 2 / 3, 1, 2 / 3]);
  });

  it('states: volatility band first, trend second; −1 in the warm-up', () => {
    const vol = Float64Array.from([1, 2, 3, 1, 9]);
    const adx = Float64Array.from([30, 30, 10, 30, 30]);
    const s = ruleStates(vol, adx, { window: 2, volThresholds: [0.75], trendThreshold: 25 });
    // Percentiles: −, 1, 1, 1/2, 1 → bands −, 1, 1, 0, 1; trending: −, 1, 0, 1, 1.
    expect(Array.from(s)).toEqual([-1, 3, 2, 1, 3]);
  });
});
