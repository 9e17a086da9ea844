import { describe, it, expect } from 'vitest';
import { fitRidge, fitRidgeMulti, predictLinear } from '../../src/models/ridge.js';
import { cholesky, choleskySolve, symmetricEigen } from '../../src/models/linalg.js';

// The hand problem used below: 4 rows, 2 features (row-major), one target.
//   x1 = [1, 2, 3, 4], x2 = [2, 1, 4, 3], y = [3, 2, 7, 5]
const X4 = Float64Array.from([1, 2, 2, 1, 3, 4, 4, 3]);
const Y4 = Float64Array.from([3, 2, 7, 5]);

describe('symmetricEigen', () => {
  it('finds the eigenpairs of a 2×2 matrix worked by hand', () => {
    // [[2, 1], [1, 2]]: λ = 3 (v = [1, 1]/√2) and λ = 1 (v = [1, −1]/√2).
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    const order = values[0] > values[1] ? [0, 1] : [1, 0];
    expect(values[order[0]]).toBeCloseTo(3, 14);
    expect(values[order[1]]).toBeCloseTo(1, 14);
    const big = order[0];
    expect(Math.abs(vectors[0 * 2 + big])).toBeCloseTo(Math.SQRT1_2, 14);
    expect(vectors[0 * 2 + big] * vectors[1 * 2 + big]).toBeCloseTo(0.5, 14);
  });
});

describe('cholesky', () => {
  it('solves a 2×2 SPD system worked by hand', () => {
    // [[4, 2], [2, 3]] x = [2, 1]: det = 4·3 − 2·2 = 8; x1 = (3·2 − 2·1)/8 = 0.5, x2 = (4·1 − 2·2)/8 = 0.
    const A = Float64Array.from([4, 2, 2, 3]);
    expect(cholesky(A, 2)).toBe(true);
    const b = Float64Array.from([2, 1]);
    choleskySolve(A, 2, b);
    expect(b[0]).toBeCloseTo(0.5, 14);
    expect(b[1]).toBeCloseTo(0, 14);
  });

  it('refuses a singular matrix', () => {
    expect(cholesky(Float64Array.from([1, 1, 1, 1]), 2)).toBe(false);
  });
});

describe('fitRidge', () => {
  it('matches the centred normal equations solved by hand (alpha = 1)', () => {
    // Means: x̄1 = 2.5, x̄2 = 2.5, ȳ = 4.25.
    // Centred: x1c = [-1.5, -0.5, 0.5, 1.5], x2c = [-0.5, -1.5, 1.5, 0.5], yc = [-1.25, -2.25, 2.75, 0.75].
    const s11 = 1.5 * 1.5 + 0.5 * 0.5 + 0.5 * 0.5 + 1.5 * 1.5; // 5
    const s22 = 0.5 * 0.5 + 1.5 * 1.5 + 1.5 * 1.5 + 0.5 * 0.5; // 5
    const s12 = -1.5 * -0.5 + -0.5 * -1.5 + 0.5 * 1.5 + 1.5 * 0.5; // 3
    const b1 = -1.5 * -1.25 + -0.5 * -2.25 + 0.5 * 2.75 + 1.5 * 0.75; // 5.5
    const b2 = -0.5 * -1.25 + -1.5 * -2.25 + 1.5 * 2.75 + 0.5 * 0.75; // 8.5
    const alpha = 1;
    // (S + αI) w = b by Cramer's rule.
    const a11 = s11 + alpha;
    const a22 = s22 + alpha;
    const det = a11 * a22 - s12 * s12; // 6·6 − 9 = 27
    const w1 = (a22 * b1 - s12 * b2) / det; // 7.5 / 27
    const w2 = (a11 * b2 - s12 * b1) / det; // 34.5 / 27
    const intercept = 4.25 - 2.5 * w1 - 2.5 * w2;
    expect(det).toBe(27);
    expect(w1).toBeCloseTo(7.5 / 27, 15);

    const fit = fitRidge(X4, 4, 2, Y4, alpha);
    expect(fit.coef[0]).toBeCloseTo(w1, 12);
    expect(fit.coef[1]).toBeCloseTo(w2, 12);
    expect(fit.intercept).toBeCloseTo(intercept, 12);
  });

  it('without an intercept solves the uncentred normal equations', () => {
    // XᵀX = [[Σx1², Σx1x2], [Σx1x2, Σx2²]] = [[30, 28], [28, 30]]; Xᵀy = [48, 51].
    const s11 = 1 + 4 + 9 + 16;
    const s22 = 4 + 1 + 16 + 9;
    const s12 = 1 * 2 + 2 * 1 + 3 * 4 + 4 * 3;
    const b1 = 1 * 3 + 2 * 2 + 3 * 7 + 4 * 5;
    const b2 = 2 * 3 + 1 * 2 + 4 * 7 + 3 * 5;
    const det = (s11 + 1) * (s22 + 1) - s12 * s12; // 177
    const fit = fitRidge(X4, 4, 2, Y4, 1, false);
    expect(fit.intercept).toBe(0);
    expect(fit.coef[0]).toBeCloseTo(((s22 + 1) * b1 - s12 * b2) / det, 12); // 60 / 177
    expect(fit.coef[1]).toBeCloseTo(((s11 + 1) * b2 - s12 * b1) / det, 12); // 237 / 177
  });

  it('alpha = 0 recovers an exact linear relation (OLS)', () => {
    const n = 7;
    const x1 = [0.3, -1.2, 2.5, 0.7, -0.4, 1.9, -2.2];
    const x2 = [1.1, 0.4, -0.8, 2.0, -1.5, 0.2, 0.9];
    const X = new Float64Array(n * 2);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i * 2] = x1[i];
      X[i * 2 + 1] = x2[i];
      y[i] = 2 * x1[i] - 3 * x2[i] + 0.5;
    }
    const fit = fitRidge(X, n, 2, y, 0);
    expect(Math.abs(fit.coef[0] - 2)).toBeLessThan(1e-12);
    expect(Math.abs(fit.coef[1] + 3)).toBeLessThan(1e-12);
    expect(Math.abs(fit.intercept - 0.5)).toBeLessThan(1e-12);
    const pred = predictLinear(X, n, 2, fit.coef, fit.intercept);
    for (let i = 0; i < n; i++) expect(pred[i]).toBeCloseTo(y[i], 12);
  });

  it('does not penalise the intercept', () => {
    // A huge alpha shrinks the slopes to 0, and an unpenalised intercept then tends to ȳ = 4.25
    // (a penalised one would shrink to 0 as well).
    const big = fitRidge(X4, 4, 2, Y4, 1e12);
    expect(Math.abs(big.coef[0])).toBeLessThan(1e-10);
    expect(big.intercept).toBeCloseTo(4.25, 9);
    // Shifting y by c moves only the intercept, by exactly c; the slopes keep their hand values.
    const shifted = fitRidge(
      X4,
      4,
      2,
      Y4.map((v) => v + 100),
      1,
    );
    expect(shifted.coef[0]).toBeCloseTo(7.5 / 27, 12);
    expect(shifted.coef[1]).toBeCloseTo(34.5 / 27, 12);
    expect(shifted.intercept).toBeCloseTo(100 + 4.25 - (2.5 * 42) / 27, 10);
  });

  it('fits on a row range or a row list without copying', () => {
    // The hand problem embedded at rows 2..5 of an 8-row matrix; rows outside are junk.
    const X = Float64Array.from([9, -9, 7, 7, ...X4, 50, 1, -3, 8]);
    const y = Float64Array.from([100, -100, ...Y4, 42, -42]);
    const expected = { w1: 7.5 / 27, w2: 34.5 / 27 };
    for (const rows of [{ start: 2, end: 6 }, Uint32Array.from([2, 3, 4, 5])]) {
      const fit = fitRidge(X, 8, 2, y, 1, true, rows);
      expect(fit.coef[0]).toBeCloseTo(expected.w1, 12);
      expect(fit.coef[1]).toBeCloseTo(expected.w2, 12);
      expect(fit.intercept).toBeCloseTo(4.25 - 2.5 * (42 / 27), 12);
    }
  });

  it('fits several targets of a row-major Y at once', () => {
    // Target 0: the hand y; target 1: 2·y − 1 → slopes double, intercept 2·b − 1.
    const Y = new Float64Array(8);
    for (let i = 0; i < 4; i++) {
      Y[i * 2] = Y4[i];
      Y[i * 2 + 1] = 2 * Y4[i] - 1;
    }
    const m = fitRidgeMulti(X4, 4, 2, Y, 2, 1);
    expect(m.coef[0][0]).toBeCloseTo(7.5 / 27, 12);
    expect(m.coef[1][0]).toBeCloseTo(15 / 27, 12);
    expect(m.coef[1][1]).toBeCloseTo(69 / 27, 12);
    expect(m.intercept[1]).toBeCloseTo(2 * (4.25 - (2.5 * 42) / 27) - 1, 12);
    expect(m.singular).toBe(false);
  });

  it('solves a singular OLS system by the minimum-norm solution', () => {
    // x2 duplicates x1 and y = 2·x1 + 1: any w1 + w2 = 2 fits; minimum norm is w1 = w2 = 1.
    const x = [1, 2, 3, 4, 5];
    const X = new Float64Array(10);
    const y = new Float64Array(5);
    x.forEach((v, i) => {
      X[i * 2] = v;
      X[i * 2 + 1] = v;
      y[i] = 2 * v + 1;
    });
    const m = fitRidgeMulti(X, 5, 2, y, 1, 0);
    expect(m.singular).toBe(true);
    expect(m.rank).toBe(1);
    expect(m.coef[0][0]).toBeCloseTo(1, 12);
    expect(m.coef[0][1]).toBeCloseTo(1, 12);
    expect(m.intercept[0]).toBeCloseTo(1, 12);
  });
});
