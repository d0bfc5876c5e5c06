/**
 * Dense symmetric eigenproblems for the AutoSC baseline: Householder reduction to tridiagonal form, all
 * eigenvalues by implicit QL, and eigenvectors of chosen eigenvalues by inverse iteration on the tridiagonal
 * matrix followed by the Householder back-transformation. Float64 throughout.
 *
 * Written for this project from the textbook methods (G. H. Golub and C. F. Van Loan, "Matrix Computations",
 * 4th ed., §8.3 Householder tridiagonalisation and the symmetric QR/QL step, §8.2.2 inverse iteration).
 * Cost: about `n³` flops for the reduction, `O(n²)` for the eigenvalues and per eigenvector.
 *
 * @module
 */

/** A symmetric matrix reduced to tridiagonal form `A = Q T Qᵀ`. */
export interface Tridiagonalization {
  /** Order. */
  n: number;
  /** Diagonal of T (length n). */
  diag: Float64Array;
  /** Off-diagonal of T: `off[i]` couples i and i+1 (length n−1). */
  off: Float64Array;
  /** Householder vectors: step k acts on indices k+1…n−1 with `vectors[k]` and `betas[k]`. */
  vectors: Float64Array[];
  /** `H_k = I − β_k v_k v_kᵀ`. */
  betas: Float64Array;
}

/**
 * Reduces a symmetric matrix to tridiagonal form by Householder reflections.
 *
 * @param a Row-major n×n symmetric matrix (not modified).
 * @param n Order (≥ 1).
 * @returns T and the reflectors of Q.
 * @throws {RangeError} If `a` does not hold n×n values.
 */
export function tridiagonalize(a: ArrayLike<number>, n: number): Tridiagonalization {
  if (a.length !== n * n) throw new RangeError(`Invalid matrix: ${a.length} values, expected ${n}×${n}`);
  const A = Float64Array.from(a);
  const diag = new Float64Array(n);
  const off = new Float64Array(Math.max(0, n - 1));
  const vectors: Float64Array[] = [];
  const betas = new Float64Array(Math.max(0, n - 2));
  for (let k = 0; k < n - 2; k++) {
    const m = n - k - 1;
    const v = new Float64Array(m);
    let sigma = 0;
    for (let i = 0; i < m; i++) {
      v[i] = A[(k + 1 + i) * n + k];
      sigma += v[i] * v[i];
    }
    diag[k] = A[k * n + k];
    const x0 = v[0];
    const tail = sigma - x0 * x0;
    if (tail <= 1e-300 * Math.max(1, sigma)) {
      // Already zero below the sub-diagonal.
      off[k] = x0;
      vectors.push(new Float64Array(m));
      betas[k] = 0;
      continue;
    }
    const norm = Math.sqrt(sigma);
    const alpha = x0 > 0 ? -norm : norm;
    v[0] = x0 - alpha;
    const beta = 2 / (tail + v[0] * v[0]);
    // p = β A_sub v ; w = p − (β/2)(pᵀv) v ; A_sub −= v wᵀ + w vᵀ
    const p = new Float64Array(m);
    let pv = 0;
    for (let i = 0; i < m; i++) {
      const row = (k + 1 + i) * n + k + 1;
      let s = 0;
      for (let j = 0; j < m; j++) s += A[row + j] * v[j];
      p[i] = beta * s;
      pv += p[i] * v[i];
    }
    const kk = (beta / 2) * pv;
    for (let i = 0; i < m; i++) p[i] -= kk * v[i];
    for (let i = 0; i < m; i++) {
      const row = (k + 1 + i) * n + k + 1;
      const vi = v[i], wi = p[i];
      for (let j = 0; j < m; j++) A[row + j] -= vi * p[j] + wi * v[j];
    }
    off[k] = alpha;
    vectors.push(v);
    betas[k] = beta;
  }
  if (n >= 2) {
    diag[n - 2] = A[(n - 2) * n + n - 2];
    off[n - 2] = A[(n - 1) * n + n - 2];
  }
  diag[n - 1] = A[(n - 1) * n + n - 1];
  return { n, diag, off, vectors, betas };
}

export { tridiagonalEigenvalues } from "../eigensolve/tridiagonal.ts";

/**
 * Unit eigenvectors of `A = Q T Qᵀ` for the given eigenvalues: inverse iteration on T (three solves with
 * partial pivoting, each orthogonalised against the vectors already found), then `x ↦ Q x`.
 *
 * @param t The reduction of A.
 * @param values Eigenvalues of A (e.g. from {@linkcode tridiagonalEigenvalues}); close values get orthogonal vectors.
 * @returns One vector (length n) per value.
 */
export function eigenvectorsFor(t: Tridiagonalization, values: ArrayLike<number>): Float64Array[] {
  const { n, diag, off } = t;
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(diag[i]) + Math.abs(off[i] ?? 0));
  const eps = Number.EPSILON * Math.max(scale, 1e-300);
  const found: Float64Array[] = [];
  for (let q = 0; q < values.length; q++) {
    const sigma = values[q] + eps * 4;
    let x: Float64Array = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = 1 + ((i * 7919 + q * 104729) % 1000) / 1000; // deterministic start
    for (let it = 0; it < 3; it++) {
      x = solveShifted(diag, off, sigma, x, eps);
      for (let pass = 0; pass < 2; pass++) {
        for (const f of found) {
          let s = 0;
          for (let i = 0; i < n; i++) s += f[i] * x[i];
          for (let i = 0; i < n; i++) x[i] -= s * f[i];
        }
      }
      let nrm = 0;
      for (let i = 0; i < n; i++) nrm += x[i] * x[i];
      nrm = Math.sqrt(nrm);
      if (nrm === 0) {
        x = new Float64Array(n).map((_, i) => ((i + q) % 3) - 1);
        continue;
      }
      for (let i = 0; i < n; i++) x[i] /= nrm;
    }
    found.push(x);
  }
  return found.map((x) => applyQ(t, x));
}

/** Solves (T − σI) x = b for tridiagonal T with partial pivoting; tiny pivots are replaced by `eps`. */
function solveShifted(
  diag: Float64Array,
  off: Float64Array,
  sigma: number,
  rhs: Float64Array,
  eps: number,
): Float64Array {
  const n = diag.length;
  const dd = new Float64Array(n);
  const dl = new Float64Array(n);
  const du = new Float64Array(n);
  const du2 = new Float64Array(n);
  const b = Float64Array.from(rhs);
  for (let i = 0; i < n; i++) dd[i] = diag[i] - sigma;
  for (let i = 0; i < n - 1; i++) {
    dl[i] = off[i];
    du[i] = off[i];
  }
  for (let i = 0; i < n - 1; i++) {
    if (Math.abs(dd[i]) >= Math.abs(dl[i])) {
      if (dd[i] === 0) dd[i] = eps;
      const fact = dl[i] / dd[i];
      dd[i + 1] -= fact * du[i];
      b[i + 1] -= fact * b[i];
      du2[i] = 0;
    } else {
      const fact = dd[i] / dl[i];
      dd[i] = dl[i];
      const temp = dd[i + 1];
      dd[i + 1] = du[i] - fact * temp;
      du[i] = temp;
      if (i < n - 2) {
        du2[i] = du[i + 1];
        du[i + 1] = -fact * du[i + 1];
      }
      const bt = b[i];
      b[i] = b[i + 1];
      b[i + 1] = bt - fact * b[i + 1];
    }
  }
  for (let i = 0; i < n; i++) if (Math.abs(dd[i]) < eps) dd[i] = dd[i] < 0 ? -eps : eps;
  const x = new Float64Array(n);
  x[n - 1] = b[n - 1] / dd[n - 1];
  if (n >= 2) x[n - 2] = (b[n - 2] - du[n - 2] * x[n - 1]) / dd[n - 2];
  for (let i = n - 3; i >= 0; i--) x[i] = (b[i] - du[i] * x[i + 1] - du2[i] * x[i + 2]) / dd[i];
  // Rescale to avoid overflow over iterations.
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(x[i]));
  if (m > 0 && Number.isFinite(m)) { for (let i = 0; i < n; i++) x[i] /= m; }
  return x;
}

/** `Q x` with `Q = H_0 H_1 … H_{n−3}`. */
function applyQ(t: Tridiagonalization, x: Float64Array): Float64Array {
  const y = Float64Array.from(x);
  for (let k = t.vectors.length - 1; k >= 0; k--) {
    const v = t.vectors[k], beta = t.betas[k];
    if (beta === 0) continue;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * y[k + 1 + i];
    s *= beta;
    for (let i = 0; i < v.length; i++) y[k + 1 + i] -= s * v[i];
  }
  return y;
}
