/**
 * lib/eigensolve/subgraph.ts on several threads: large sub-matrices gathered by the matrix team equal the plain
 * gather entry for entry (and their degrees the plain row sums), for scattered and contiguous index lists.
 */
import assert from "node:assert/strict";
import { subgraph } from "../../lib/eigensolve/subgraph.ts";
import { squareMatrix } from "../../lib/wasm/square_matrix.ts";
import { setKernelThreads } from "../../lib/wasm/row_team.ts";
import { matrixThreads, stopMatrixThreads } from "../../lib/wasm/matrix_team.ts";
import { seededRandom } from "../../lib/random.ts";

for (const threads of [2, 3]) {
  Deno.test(`subgraph on ${threads} threads equals the plain gather`, async () => {
    setKernelThreads(threads); // not the environment variable: test files running beside share it
    const rnd = seededRandom(0x5ab + threads);
    const n = 1600;
    const w = squareMatrix(n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) w[i * n + j] = w[j * n + i] = rnd();
    try {
      for (let pass = 0; pass < 2; pass++) {
        const lists = [
          Int32Array.from({ length: n }, (_, i) => i).filter(() => rnd() < 0.8), // scattered, ~1,280
          Int32Array.from({ length: 1030 }, (_, i) => i + 300), // contiguous
        ];
        for (const idx of lists) {
          const m = idx.length;
          const g = subgraph(w, n, idx);
          for (let i = 0; i < m; i++) {
            let s = 0;
            for (let j = 0; j < m; j++) {
              const v = w[idx[i] * n + idx[j]];
              if (!Object.is(g.w[i * m + j], v)) {
                assert.fail(`m=${m}: [${i}][${j}] ${g.w[i * m + j]} != ${v}`);
              }
              s += v;
            }
            if (!Object.is(g.degrees[i], s)) assert.fail(`m=${m}: degree ${i} ${g.degrees[i]} != ${s}`);
          }
        }
        await new Promise((r) => setTimeout(r, 300)); // helpers start asynchronously: the second pass has them
      }
      assert.equal(matrixThreads(), threads, "the helpers did not start");
    } finally {
      stopMatrixThreads();
      setKernelThreads(undefined);
    }
  });
}
