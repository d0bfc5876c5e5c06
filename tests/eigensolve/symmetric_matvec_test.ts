import assert from "node:assert/strict";
import { matVec } from "../../lib/eigensolve/matvec.ts";
import { symmetricMatVec } from "../../lib/eigensolve/symmetric_matvec.ts";
import { matrixMemory, squareMatrix } from "../../lib/wasm/square_matrix.ts";
import { seededRandom } from "../../lib/random.ts";

/** A random symmetric m×m float32 matrix (in `target` when given) and a random float64 vector. */
function problem(m: number, seed: number, target?: Float32Array) {
  const rand = seededRandom(seed);
  const a = target ?? new Float32Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) a[i * m + j] = a[j * m + i] = rand() < 0.2 ? 0 : rand() ** 3;
  }
  return { a, x: Float64Array.from({ length: m }, () => rand() * 2 - 1) };
}

Deno.test("symmetricMatVec equals matVec bit for bit, in place and copied, for orders 1–13, 64, 127 and 1,030", () => {
  for (const m of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 64, 127, 1030]) {
    for (const inPlace of [false, true]) {
      const { a, x } = problem(m, 17 * m + (inPlace ? 1 : 0), inPlace ? squareMatrix(m) : undefined);
      assert.equal(matrixMemory(a, m) !== undefined, inPlace);
      const want = new Float64Array(m), got = new Float64Array(m).fill(NaN);
      matVec(a, m, x, want);
      const apply = symmetricMatVec(a, m);
      apply(x, got);
      for (let i = 0; i < m; i++) {
        assert.ok(Object.is(got[i], want[i]), `m=${m} i=${i}: ${got[i]} vs ${want[i]}`);
      }
      // A second product with another vector reuses the operator's memory without stale values.
      const y = x.map((v, i) => (i % 3 === 0 ? -v : 0.5 * v));
      matVec(a, m, y, want);
      apply(y, got);
      for (let i = 0; i < m; i++) assert.ok(Object.is(got[i], want[i]), `second product, m=${m} i=${i}`);
    }
  }
});

Deno.test("symmetricMatVec computes A x (hand-checked 3×3) and runs float64 matrices through matVec", () => {
  const values = [1, 2, 0, 2, -1, 4, 0, 4, 3];
  for (const a of [new Float32Array(values), new Float64Array(values)]) {
    const out = new Float64Array(3);
    symmetricMatVec(a, 3)(new Float64Array([1, 0.5, -2]), out);
    assert.deepEqual([...out], [2, -6.5, -4]);
  }
});

Deno.test("squareMatrix gives zeros in a memory the kernels recognise; views into it are not taken for it", () => {
  const a = squareMatrix(5);
  assert.equal(a.length, 25);
  assert.ok(a.every((v) => v === 0));
  assert.ok(matrixMemory(a, 5));
  assert.equal(matrixMemory(a, 4), undefined);
  assert.equal(matrixMemory(a.subarray(5), 4), undefined);
  assert.equal(matrixMemory(new Float32Array(a.buffer, 0, 16), 4), undefined);
  assert.equal(matrixMemory(new Float32Array(25), 5), undefined);
});
