/**
 * The solver's mat-vec on several threads (lib/eigensolve/symmetric_matvec.ts with lib/wasm/row_team.ts): every
 * output equals the scalar `matVec` bit for bit whatever the thread count and order (m mod 4 included), on
 * matrices from `squareMatrix` and on plain arrays (copied into a shared memory), also after the team moved on to
 * other matrices.
 */
import assert from "node:assert/strict";
import { symmetricMatVec } from "../../lib/eigensolve/symmetric_matvec.ts";
import { matrixThreads, stopMatrixThreads } from "../../lib/wasm/matrix_team.ts";
import { matVec } from "../../lib/eigensolve/matvec.ts";
import { squareMatrix } from "../../lib/wasm/square_matrix.ts";
import { setKernelThreads } from "../../lib/wasm/row_team.ts";
import { seededRandom } from "../../lib/random.ts";

function symmetric(m: number, rnd: () => number, plain: boolean): Float32Array {
  const a = plain ? new Float32Array(m * m) : squareMatrix(m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) a[i * m + j] = a[j * m + i] = rnd() < 0.1 ? 0 : rnd() ** 3;
  }
  return a;
}

for (const threads of ["2", "3"]) {
  Deno.test(`the mat-vec on ${threads} threads equals matVec bit for bit`, async () => {
    setKernelThreads(Number(threads)); // not the environment variable: test files running beside share it
    const rnd = seededRandom(0xa11ce + Number(threads));
    try {
      const cases = [1024, 1025, 1026, 1027, 1100, 1501].map((m, c) => ({
        m,
        a: symmetric(m, rnd, c === 3),
      }));
      for (let pass = 0; pass < 2; pass++) {
        for (const { m, a } of cases) {
          const apply = symmetricMatVec(a, m);
          for (let v = 0; v < 5; v++) {
            const x = Float64Array.from({ length: m }, () => (rnd() - 0.5) * 10 ** Math.floor(rnd() * 6 - 3));
            const out = new Float64Array(m), expected = new Float64Array(m);
            apply(x, out);
            matVec(a, m, x, expected);
            for (let i = 0; i < m; i++) {
              if (!Object.is(out[i], expected[i])) {
                assert.fail(`m=${m}: out[${i}] ${out[i]} != ${expected[i]}`);
              }
            }
          }
        }
        // Helpers start asynchronously: the second pass runs once they are surely up.
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.equal(matrixThreads(), Number(threads), "the helpers did not start");
    } finally {
      stopMatrixThreads();
      setKernelThreads(undefined);
    }
  });
}
