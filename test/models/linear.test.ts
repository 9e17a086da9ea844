import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/data/rng.js';
import { fitElasticNetMulti, fitLogistic } from '../../src/models/linear.js';

const REL = 1e-9;
const close = (a: number, b: number, rel = REL): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(b)));

describe('lasso / elastic net (scikit-learn objective)', () => {
  // Centred, orthogonal design: x1 = [1, −1, 1, −1], x2 = [1, 1, −1, −1]; y = [3, 1, 2, −2], ȳ = 1.
  // x1ᵀy = 3 − 1 + 2 + 2 = 6, x2ᵀy = 3 + 1 − 2 + 2 = 4, ‖xj‖² = 4, n = 4.
  // With orthogonal columns the objective (1/2n)‖y − Xw − b‖² + αρ‖w‖₁ + α(1−ρ)/2‖w‖² separates:
  // wj = S(xjᵀy/n, αρ) / (‖xj‖²/n + α(1 − ρ)), S the soft threshold; b = ȳ (columns have mean 0).
  const X = Float64Array.from([1, 1, -1, 1, 1, -1, -1, -1]);
  const y = Float64Array.from([3, 1, 2, -2]);

  it('lasso α = 0.5: w = (S(1.5, .5), S(1, .5)) = (1, 0.5), b = 1', () => {
    const [f] = fitElasticNetMulti(X, 4, 2, y, 1, 0.5, 1);
    close(f.coef[0], 1);
    close(f.coef[1], 0.5);
    close(f.intercept, 1);
    expect(f.converged).toBe(true);
  });

  it('lasso α = 1.2 zeroes x2 exactly: w = (0.3, 0)', () => {
    const [f] = fitElasticNetMulti(X, 4, 2, y, 1, 1.2, 1);
    close(f.coef[0], 0.3);
    expect(f.coef[1]).toBe(0);
    close(f.intercept, 1);
  });

  it('elastic net α = 1, ρ = 0.5: w = (S(1.5, .5)/1.5, S(1, .5)/1.5) = (2/3, 1/3)', () => {
    const [f] = fitElasticNetMulti(X, 4, 2, y, 1, 1, 0.5);
    close(f.coef[0], 2 / 3);
    close(f.coef[1], 1 / 3);
  });

  it('correlated design: the KKT conditions of the lasso hold to 1e-10', () => {
    const rng = makeRng(3);
    const n = 200;
    const p = 6;
    const Xr = new Float64Array(n * p);
    const yr = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const common = rng.normal();
      for (let j = 0; j < p; j++) Xr[i * p + j] = 0.7 * common + rng.normal() + j;
      yr[i] = 2 * Xr[i * p] - Xr[i * p + 1] + 0.3 * Xr[i * p + 4] + rng.normal();
    }
    const alpha = 0.2;
    const [f] = fitElasticNetMulti(Xr, n, p, yr, 1, alpha, 1);
    // Residuals and the subgradient condition: (1/n)·xjᵀr = α·sign(wj) if wj ≠ 0, |·| ≤ α otherwise.
    const r = new Float64Array(n);
    let rsum = 0;
    for (let i = 0; i < n; i++) {
      let z = f.intercept;
      for (let j = 0; j < p; j++) z += Xr[i * p + j] * f.coef[j];
      r[i] = yr[i] - z;
      rsum += r[i];
    }
    expect(Math.abs(rsum / n)).toBeLessThan(1e-10);
    let zeros = 0;
    for (let j = 0; j < p; j++) {
      let c = 0;
      for (let i = 0; i < n; i++) c += Xr[i * p + j] * r[i];
      c /= n;
      if (f.coef[j] !== 0) expect(Math.abs(c - alpha * Math.sign(f.coef[j]))).toBeLessThan(1e-10);
      else {
        zeros++;
        expect(Math.abs(c)).toBeLessThanOrEqual(alpha + 1e-12);
      }
    }
    expect(zeros).toBeGreaterThan(0); // α was chosen so that some coefficient is exactly zero
  });
});

describe('logistic regression (L2, C = 1/α)', () => {
  it('α = 0, one ±1 feature: the MLE makes σ(b ± w) the class rates, so w = ln 3, b = 0', () => {
    // x = +1: 3 of 4 positive → b + w = logit(3/4) = ln 3; x = −1: 1 of 4 → b − w = −ln 3.
    const X = Float64Array.from([1, 1, 1, 1, -1, -1, -1, -1]);
    const y = [1, 1, 1, 0, 1, 0, 0, 0];
    const f = fitLogistic(X, 8, 1, y, 0);
    close(f.coef[0], Math.log(3), 1e-10);
    expect(Math.abs(f.intercept)).toBeLessThan(1e-10);
    expect(f.converged).toBe(true);
  });

  it('α = 0, rates 3/4 and 1/2: b + w = ln 3, b − w = 0, so w = b = ln 3 / 2', () => {
    const X = Float64Array.from([1, 1, 1, 1, -1, -1, -1, -1]);
    const y = [1, 1, 1, 0, 1, 1, 0, 0];
    const f = fitLogistic(X, 8, 1, y, 0);
    close(f.coef[0], Math.log(3) / 2, 1e-10);
    close(f.intercept, Math.log(3) / 2, 1e-10);
  });

  it('α > 0: the penalised score equations Xᵀ(σ − y) + αw = 0 and Σ(σ − y) = 0 hold', () => {
    const rng = makeRng(5);
    const n = 300;
    const p = 3;
    const X = new Float64Array(n * p);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) X[i * p + j] = rng.normal();
      const z = 1.5 * X[i * p] - X[i * p + 2] + 0.3;
      y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    const alpha = 2;
    const f = fitLogistic(X, n, p, y, alpha);
    const g = new Float64Array(p + 1);
    for (let i = 0; i < n; i++) {
      let z = f.intercept;
      for (let j = 0; j < p; j++) z += X[i * p + j] * f.coef[j];
      const e = 1 / (1 + Math.exp(-z)) - y[i];
      for (let j = 0; j < p; j++) g[j] += e * X[i * p + j];
      g[p] += e;
    }
    for (let j = 0; j < p; j++) expect(Math.abs(g[j] + alpha * f.coef[j])).toBeLessThan(1e-9);
    expect(Math.abs(g[p])).toBeLessThan(1e-9);
    // The penalty shrinks: the unpenalised fit has a larger first coefficient.
    expect(Math.abs(fitLogistic(X, n, p, y, 0).coef[0])).toBeGreaterThan(Math.abs(f.coef[0]));
  });
});
