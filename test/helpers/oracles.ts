/** Oracles written independently of the code they check, shared by several test files. */

/**
 * Oracle: the weighted ridge solved directly. Minimise Σᵢ sᵢ·(yᵢ − aᵢ·β)² + c·Σⱼ<p βⱼ² with
 * aᵢ = [xᵢ, 1] (intercept last, unpenalised): the normal equations
 * (Σ sᵢ aᵢaᵢᵀ + diag(c, …, c, 0))·β = Σ sᵢ aᵢyᵢ, solved by Gaussian elimination with partial pivoting.
 * Nothing here is shared with the code under test (which never forms these equations in one go).
 */
export function weightedRidge(
  X: Float64Array,
  p: number,
  y: ArrayLike<number>,
  k: number,
  t: number,
  rows: number[],
  s: number[],
  c: number,
  intercept = true,
  penaliseIntercept = false,
): number[] {
  const q = p + (intercept ? 1 : 0);
  const A: number[][] = Array.from({ length: q }, () => new Array<number>(q + 1).fill(0));
  rows.forEach((r, i) => {
    const a = [...Array.from(X.subarray(r * p, r * p + p)), ...(intercept ? [1] : [])];
    for (let u = 0; u < q; u++) {
      for (let v = 0; v < q; v++) A[u][v] += s[i] * a[u] * a[v];
      A[u][q] += s[i] * a[u] * y[r * k + t];
    }
  });
  for (let j = 0; j < (penaliseIntercept ? q : p); j++) A[j][j] += c;
  for (let col = 0; col < q; col++) {
    let piv = col;
    for (let r = col + 1; r < q; r++) if (Math.abs(A[r][col]) > Math.abs(A[piv][col])) piv = r;
    [A[col], A[piv]] = [A[piv], A[col]];
    for (let r = 0; r < q; r++) {
      if (r === col) continue;
      const f = A[r][col] / A[col][col];
      for (let v = col; v <= q; v++) A[r][v] -= f * A[col][v];
    }
  }
  return A.map((row, j) => row[q] / A[j][j]);
}
