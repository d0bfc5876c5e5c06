import assert from "node:assert/strict";
import * as math from "mathjs";
import { fiedlerVector, fixSign } from "../../lib/eigensolve/fiedler.ts";
import { jacobiEigen } from "../../lib/eigensolve/jacobi.ts";
import { tridiagonalEigen } from "../../lib/eigensolve/tridiagonal.ts";
import { degrees, randomAffinity, seededVector } from "../_helpers.ts";

/** Dense reference: the second-largest eigenpair of D^-1/2 A D^-1/2 from mathjs. */
function denseFiedler(a: Float64Array, m: number) {
  const d = degrees(a, m);
  const M = Array.from(
    { length: m },
    (_, i) => Array.from({ length: m }, (_, j) => a[i * m + j] / Math.sqrt(d[i] * d[j])),
  );
  const { eigenvectors } = math.eigs(M);
  const sorted = [...eigenvectors].sort((p, q) => (q.value as number) - (p.value as number));
  const v = sorted[1].vector as number[];
  const y = Float64Array.from(v, (x, i) => x / Math.sqrt(d[i]));
  return { y: fixSign(y), lambda: 1 - (sorted[1].value as number) };
}

function checkInvariants(a: Float64Array, m: number, y: Float64Array, lambda: number) {
  const d = degrees(a, m);
  // Generalised residual ‖(D − A)y − λDy‖ relative to ‖Dy‖, and D-orthogonality to the constant vector.
  let res = 0, scale = 0, dortho = 0, dnorm = 0;
  for (let i = 0; i < m; i++) {
    let ay = 0;
    for (let j = 0; j < m; j++) ay += a[i * m + j] * y[j];
    const r = d[i] * y[i] - ay - lambda * d[i] * y[i];
    res += r * r;
    scale += (d[i] * y[i]) ** 2;
    dortho += d[i] * y[i];
    dnorm += d[i] * Math.abs(y[i]);
  }
  assert.ok(Math.sqrt(res / scale) < 1e-6, `residual ${Math.sqrt(res / scale)}`);
  assert.ok(Math.abs(dortho) / dnorm < 1e-7, `D-orthogonality ${dortho / dnorm}`);
  let k = 0;
  for (let i = 1; i < m; i++) if (Math.abs(y[i]) > Math.abs(y[k])) k = i;
  assert.ok(y[k] > 0, "largest-magnitude entry must be positive");
}

Deno.test("tridiagonal QL and Jacobi agree with mathjs eigenvalues", () => {
  for (const m of [1, 2, 5, 17]) {
    const diag = seededVector(m, m), off = seededVector(m, m + 100);
    const T = Array.from(
      { length: m },
      (_, i) =>
        Array.from(
          { length: m },
          (_, j) => i === j ? diag[i] : Math.abs(i - j) === 1 ? off[Math.min(i, j)] : 0,
        ),
    );
    const expected = [...(math.eigs(T).values as number[])].sort((p, q) => p - q);
    const ql = tridiagonalEigen(diag, off, m);
    assert.deepEqual(
      [...ql.values].sort((p, q) => p - q).map((v) => v.toFixed(10)),
      expected.map((v) => v.toFixed(10)),
    );
    const jac = jacobiEigen(T.flat(), m);
    assert.deepEqual(
      [...jac.values].sort((p, q) => p - q).map((v) => v.toFixed(10)),
      expected.map((v) => v.toFixed(10)),
    );
    // Eigenvectors: T v = λ v for every pair.
    for (const { values, vectors } of [ql, jac]) {
      for (let e = 0; e < m; e++) {
        for (let r = 0; r < m; r++) {
          let tv = 0;
          for (let c = 0; c < m; c++) tv += T[r][c] * vectors[c * m + e];
          assert.ok(Math.abs(tv - values[e] * vectors[r * m + e]) < 1e-10);
        }
      }
    }
  }
});

Deno.test("tridiagonal QL's last-row mode and SIMD rotations give the reference's values bit for bit", () => {
  for (const m of [1, 2, 4, 9, 40, 121]) {
    // Lanczos-like tridiagonals: positive couplings, a cluster of close values at the top.
    const diag = Float64Array.from(seededVector(m, 7 * m), (v, i) => 1 - Math.abs(v) / (i + 1));
    const off = Float64Array.from(seededVector(m, 7 * m + 1), (v) => 0.05 + Math.abs(v) / 10);
    const full = tridiagonalEigen(diag, off, m);
    const last = tridiagonalEigen(diag, off, m, "last");
    assert.equal(last.vectors.length, m);
    for (let i = 0; i < m; i++) {
      assert.ok(Object.is(last.values[i], full.values[i]), `value ${i} of ${m}`);
      assert.ok(
        Object.is(last.vectors[i], full.vectors[(m - 1) * m + i]),
        `last component of vector ${i} of ${m}`,
      );
    }
    assert.ok(
      m === 1 || last.vectors.some((v) => v !== 0 && Math.abs(v) !== 1),
      "rotations reached the last row",
    );
    // The SIMD rotations (many rows) against the TypeScript loop: every value and component.
    const reference = tridiagonalEigen(diag, off, m, true, "typescript");
    for (let i = 0; i < m; i++) {
      assert.ok(Object.is(full.values[i], reference.values[i]), `value ${i} of ${m}`);
    }
    for (let i = 0; i < m * m; i++) {
      assert.ok(Object.is(full.vectors[i], reference.vectors[i]), `vector entry ${i} of ${m}×${m}`);
    }
  }
});

Deno.test("Fiedler vector matches a dense mathjs eigendecomposition (Jacobi and Lanczos paths)", () => {
  for (const [m, seed] of [[2, 1], [7, 2], [30, 3], [49, 4], [80, 5], [130, 6]]) {
    const a = randomAffinity(m, seed);
    const ref = denseFiedler(a, m);
    const got = fiedlerVector(a, m, degrees(a, m));
    assert.equal(got.method, m <= 48 ? "jacobi" : "lanczos");
    assert.ok(Math.abs(got.value - ref.lambda) < 1e-9, `m=${m} λ ${got.value} vs ${ref.lambda}`);
    checkInvariants(a, m, got.vector, got.value);
    // Same direction as the dense vector (both sign-fixed), compared after normalisation.
    const n1 = Math.hypot(...got.vector), n2 = Math.hypot(...ref.y);
    for (let i = 0; i < m; i++) {
      assert.ok(Math.abs(got.vector[i] / n1 - ref.y[i] / n2) < 1e-6, `m=${m} entry ${i}`);
    }
  }
});

Deno.test("fixSign makes the largest-magnitude entry positive, first index on ties", () => {
  assert.deepEqual([...fixSign(Float64Array.from([0.1, -0.5, 0.2]))], [-0.1, 0.5, -0.2]);
  assert.deepEqual([...fixSign(Float64Array.from([-0.5, 0.5]))], [0.5, -0.5]);
});

Deno.test("Lanczos finds the top eigenpair even from a warm start orthogonal to it", async () => {
  const { lanczosTop } = await import("../../lib/eigensolve/lanczos.ts");
  // A = diag(3, 2, 1, 0, 0, …): a start on e₄ (eigenvalue 0) spans an invariant subspace that misses e₁.
  const n = 60;
  const diag = Float64Array.from({ length: n }, (_, i) => Math.max(0, 3 - i));
  const matvec = (x: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) out[i] = diag[i] * x[i];
  };
  const start = new Float64Array(n);
  start[4] = 1;
  const r = lanczosTop(matvec, n, [], { start });
  assert.ok(Math.abs(r.value - 3) < 1e-10, `value ${r.value}`);
  assert.ok(Math.abs(Math.abs(r.vector[0]) - 1) < 1e-8);
  assert.ok(r.converged);
});
