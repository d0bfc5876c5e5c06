/**
 * Dense symmetric eigen-decomposition by cyclic Jacobi rotations, float64. Used only for tiny tree nodes, where
 * it is exact and cheaper than setting up Lanczos (Golub & Van Loan, "Matrix Computations", §8.5).
 *
 * @module
 */

/**
 * All eigenpairs of a symmetric m×m matrix.
 *
 * @param a Row-major m×m symmetric matrix (not modified).
 * @param m Order.
 * @returns `values` (unsorted) and `vectors` (row-major: component k of eigenvector i at `k*m + i`).
 */
export function jacobiEigen(
  a: ArrayLike<number>,
  m: number,
): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from({ length: m * m }, (_, i) => a[i]);
  const V = new Float64Array(m * m);
  for (let i = 0; i < m; i++) V[i * m + i] = 1;
  let total = 0;
  for (let i = 0; i < m * m; i++) total += A[i] * A[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let offNorm = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) offNorm += A[p * m + q] * A[p * m + q];
    if (offNorm <= 1e-30 * total || offNorm === 0) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = A[p * m + q];
        if (apq === 0) continue;
        const theta = (A[q * m + q] - A[p * m + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) { // columns p, q  (A ← A J)
          const akp = A[k * m + p], akq = A[k * m + q];
          A[k * m + p] = c * akp - s * akq;
          A[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) { // rows p, q  (A ← Jᵀ A)
          const apk = A[p * m + k], aqk = A[q * m + k];
          A[p * m + k] = c * apk - s * aqk;
          A[q * m + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < m; k++) { // V ← V J
          const vkp = V[k * m + p], vkq = V[k * m + q];
          V[k * m + p] = c * vkp - s * vkq;
          V[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(m);
  for (let i = 0; i < m; i++) values[i] = A[i * m + i];
  return { values, vectors: V };
}
