/**
 * The CPU reference of the batched Lanczos kernel: every node's pair solves the Shi–Malik problem
 * `(D − A) y = λ D y` on the node's principal submatrix, with the deterministic sign, and a node's result does not
 * depend on the other nodes of its batch.
 */
import assert from "node:assert/strict";
import { fiedlerBatchedReference } from "../../lib/eigensolve/lanczos_batched.ts";
import { carve, N, W } from "../_carved_nodes.ts";

/** max_i |((D − A) y − λ D y)_i| / max_i |(D y)_i| on the node's submatrix. */
function relativeResidual(nodes: number[], y: Float64Array, lambda: number): number {
  let worst = 0, scale = 0;
  for (let i = 0; i < nodes.length; i++) {
    let d = 0, ay = 0;
    for (let j = 0; j < nodes.length; j++) {
      const a = W[nodes[i] * N + nodes[j]];
      d += a;
      ay += a * y[j];
    }
    worst = Math.max(worst, Math.abs(d * y[i] - ay - lambda * d * y[i]));
    scale = Math.max(scale, Math.abs(d * y[i]));
  }
  return worst / scale;
}

Deno.test("fiedlerBatchedReference: generalised eigenpairs of each node, sign rule, independent nodes", () => {
  const nodes = [...carve(3, 40, 5), ...carve(2, 2, 7), carve(1, 200, 1)[0]];
  const results = fiedlerBatchedReference(W, N, nodes);
  assert.equal(results.length, nodes.length);
  results.forEach(({ vector, value }, k) => {
    assert.equal(vector.length, nodes[k].length);
    assert.ok(value >= -1e-12 && value <= 2 + 1e-12, `node ${k}: λ ${value} outside [0, 2]`);
    assert.ok(relativeResidual(nodes[k], vector, value) < 1e-7, `node ${k}: residual`);
    const big = vector.reduce((b, x) => (Math.abs(x) > Math.abs(b) ? x : b), 0);
    assert.ok(big > 0, `node ${k}: largest-magnitude entry not positive`);
    const [alone] = fiedlerBatchedReference(W, N, [nodes[k]]);
    assert.deepEqual(alone.vector, vector);
    assert.equal(alone.value, value);
  });
});
