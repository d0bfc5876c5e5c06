/**
 * The dense symmetric eigensolver (Householder tridiagonalisation, implicit QL, inverse iteration) against Jacobi:
 * eigenvalues, residuals, orthonormality, and a repeated eigenvalue.
 */
import assert from "node:assert/strict";
import { eigenvectorsFor, tridiagonalEigenvalues, tridiagonalize } from "../../lib/eigensolve/dense_eigen.ts";
import { jacobiEigen } from "../../lib/eigensolve/jacobi.ts";
import { seededVector } from "../_helpers.ts";

Deno.test("dense eigensolver: eigenvalues match Jacobi, vectors have small residuals and are orthonormal", () => {
  for (const n of [1, 2, 5, 33]) {
    const r = seededVector(n * n, n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r[i * n + j];
    if (n === 33) { for (let i = 0; i < 3; i++) a[i * n + i] += 0; // keep symmetric
     }
    const t = tridiagonalize(a, n);
    const values = tridiagonalEigenvalues(t.diag, t.off);
    const ref = [...jacobiEigen(a, n).values].sort((x, y) => x - y);
    values.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-10, `n=${n} λ${i}`));
    const vecs = eigenvectorsFor(t, values);
    vecs.forEach((v, q) => {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * v[j];
        assert.ok(Math.abs(s - values[q] * v[i]) < 1e-9, `n=${n} residual of vector ${q}`);
      }
      vecs.slice(0, q).forEach((w) => assert.ok(Math.abs(v.reduce((s, x, i) => s + x * w[i], 0)) < 1e-9));
    });
  }
  // A repeated eigenvalue (block-diagonal matrix with equal blocks) still gets orthogonal vectors.
  const a = new Float64Array(16);
  for (const o of [0, 2]) a.set([2, 1], o * 4 + o), a.set([1, 2], (o + 1) * 4 + o);
  const t = tridiagonalize(a, 4);
  const values = tridiagonalEigenvalues(t.diag, t.off);
  assert.deepEqual([...values].map((v) => Math.round(v * 1e9) / 1e9), [1, 1, 3, 3]);
  const [u, v] = eigenvectorsFor(t, values.subarray(0, 2));
  assert.ok(Math.abs(u.reduce((s, x, i) => s + x * v[i], 0)) < 1e-9);
});
