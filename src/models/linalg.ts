/**
 * Small dense linear algebra for the linear models: symmetric positive (semi-)definite systems of
 * p × p, where p is the number of features (tens), so plain O(p³) loops over a row-major
 * Float64Array are all that is needed.
 */

/**
 * In-place Cholesky factorisation A = L·Lᵀ of a symmetric p × p row-major matrix; L is written into
 * the lower triangle (the upper triangle is left as it was). Returns false when a pivot is not
 * clearly positive, i.e. the matrix is singular or indefinite to working precision.
 */
export function cholesky(A: Float64Array, p: number): boolean {
  // Relative tolerance: a pivot that has lost all but rounding noise of its diagonal is zero.
  let maxDiag = 0;
  for (let i = 0; i < p; i++) maxDiag = Math.max(maxDiag, Math.abs(A[i * p + i]));
  const tol = Math.max(maxDiag, Number.MIN_VALUE) * p * Number.EPSILON * 16;
  for (let j = 0; j < p; j++) {
    let d = A[j * p + j];
    for (let k = 0; k < j; k++) d -= A[j * p + k] * A[j * p + k];
    if (!(d > tol)) return false;
    const ljj = Math.sqrt(d);
    A[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let s = A[i * p + j];
      for (let k = 0; k < j; k++) s -= A[i * p + k] * A[j * p + k];
      A[i * p + j] = s / ljj;
    }
  }
  return true;
}

/** Solves L·Lᵀ x = b in place in `b`, given the factor from `cholesky` (lower triangle of L). */
export function choleskySolve(L: Float64Array, p: number, b: Float64Array): void {
  for (let i = 0; i < p; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * p + k] * b[k];
    b[i] = s / L[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < p; k++) s -= L[k * p + i] * b[k];
    b[i] = s / L[i * p + i];
  }
}

/**
 * Eigen-decomposition A = V·diag(λ)·Vᵀ of a symmetric p × p row-major matrix by cyclic Jacobi
 * rotations (accurate to working precision; p is small). A is not modified. V is row-major with the
 * eigenvectors as columns.
 */
export function symmetricEigen(A: Float64Array, p: number): { values: Float64Array; vectors: Float64Array } {
  const a = A.slice();
  const v = new Float64Array(p * p);
  for (let i = 0; i < p; i++) v[i * p + i] = 1;
  let norm = 0;
  for (let i = 0; i < p * p; i++) norm += a[i] * a[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) off += a[i * p + j] * a[i * p + j];
    if (off <= norm * 1e-32 || off === 0) break;
    for (let i = 0; i < p; i++) {
      for (let j = i + 1; j < p; j++) {
        const aij = a[i * p + j];
        if (aij === 0) continue;
        // Rotation angle that zeroes a[i][j] (Golub & Van Loan, symmetric Schur 2×2).
        const theta = (a[j * p + j] - a[i * p + i]) / (2 * aij);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < p; k++) {
          const aki = a[k * p + i];
          const akj = a[k * p + j];
          a[k * p + i] = c * aki - s * akj;
          a[k * p + j] = s * aki + c * akj;
        }
        for (let k = 0; k < p; k++) {
          const aik = a[i * p + k];
          const ajk = a[j * p + k];
          a[i * p + k] = c * aik - s * ajk;
          a[j * p + k] = s * aik + c * ajk;
        }
        for (let k = 0; k < p; k++) {
          const vki = v[k * p + i];
          const vkj = v[k * p + j];
          v[k * p + i] = c * vki - s * vkj;
          v[k * p + j] = s * vki + c * vkj;
        }
      }
    }
  }
  const values = new Float64Array(p);
  for (let i = 0; i < p; i++) values[i] = a[i * p + i];
  return { values, vectors: v };
}

/** Result of `solveSpd`. */
export interface SpdSolve {
  /** Solutions, one per right-hand side, each of length p. */
  x: Float64Array[];
  /** True when A was singular and the pseudo-inverse was used. */
  singular: boolean;
  /** Rank of A as used by the solve (p when it was not singular). */
  rank: number;
}

/**
 * Solves A·x = b for each b in `rhs`, A symmetric positive semi-definite (p × p, row-major, not
 * modified). Cholesky first; when A is singular (e.g. OLS with a constant or duplicated feature) the
 * pseudo-inverse from the eigen-decomposition gives the minimum-norm solution, as numpy's lstsq and
 * scikit-learn's fallback do. Eigenvalues below 1e-10 of the largest count as zero: forming A from
 * data already loses that much to rounding.
 */
export function solveSpd(A: Float64Array, p: number, rhs: Float64Array[]): SpdSolve {
  const L = A.slice();
  if (cholesky(L, p)) {
    const x = rhs.map((b) => {
      const v = b.slice();
      choleskySolve(L, p, v);
      return v;
    });
    return { x, singular: false, rank: p };
  }
  const { values, vectors: V } = symmetricEigen(A, p);
  let maxEig = 0;
  for (let i = 0; i < p; i++) maxEig = Math.max(maxEig, values[i]);
  const tol = maxEig * 1e-10;
  let rank = 0;
  for (let i = 0; i < p; i++) if (values[i] > tol) rank++;
  const x = rhs.map((b) => {
    // x = V · diag(1/λ) · Vᵀ · b over the kept eigenvalues.
    const out = new Float64Array(p);
    for (let e = 0; e < p; e++) {
      if (!(values[e] > tol)) continue;
      let proj = 0;
      for (let k = 0; k < p; k++) proj += V[k * p + e] * b[k];
      proj /= values[e];
      for (let k = 0; k < p; k++) out[k] += V[k * p + e] * proj;
    }
    return out;
  });
  return { x, singular: true, rank };
}
