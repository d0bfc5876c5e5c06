/**
 * The CPU reference of the batched split search: on a node of two loosely linked blocks it returns the block
 * (in global indices) as the "1" side at the smallest admissible NCut, honours the smallest side, and applies the
 * sign rule (`fixSign`) to the vector it is given.
 */
import assert from "node:assert/strict";
import { splitSearchReference } from "../../lib/ncut/split_search.ts";

// 10 patches; the node is 6 of them, two blocks {1, 4, 8} and {3, 6, 9} (global indices), 0.9 inside, 0.05 across.
const n = 10;
const node = [1, 3, 4, 6, 8, 9];
const blockOf = new Map([[1, 0], [4, 0], [8, 0], [3, 1], [6, 1], [9, 1]]);
const w = new Float32Array(n * n);
for (let i = 0; i < n; i++) {
  for (let j = 0; j < n; j++) {
    const bi = blockOf.get(i), bj = blockOf.get(j);
    w[i * n + j] = i === j ? 1 : bi === undefined || bj === undefined ? 0.5 : bi === bj ? 0.9 : 0.05;
  }
}
// A vector that orders the node's slots block by block, negative on block {3, 6, 9}, whose entry for 9 has the
// largest magnitude: the sign rule flips the vector, so {3, 6, 9} is the "1" side (y > t).
const y = node.map((g) => (blockOf.get(g) === 0 ? 1 + g / 100 : -1 - g / 100));

Deno.test("splitSearchReference: the block split, in global indices, at the smallest admissible NCut", () => {
  const [r] = splitSearchReference(w, n, [node], [y], { thresholds: 20 });
  assert.deepEqual([...r.one], [3, 6, 9]);
  assert.equal(r.values.length, 20);
  assert.equal(r.ncut, r.values[r.index]);
  const admissible = [...r.values].filter((v) => !Number.isNaN(v));
  assert.equal(r.ncut, Math.min(...admissible));
  assert.equal(r.values.indexOf(r.ncut), r.index, "first minimum");
  // cut = 9 · 0.05; each block's volume = 3 · (1 + 2 · 0.9 + 3 · 0.05) = 8.85.
  assert.ok(Math.abs(r.ncut - 2 * (9 * 0.05) / 8.85) < 1e-6, `ncut ${r.ncut}`);
});

Deno.test("splitSearchReference: sign rule on the input, smallest side, several nodes at once", () => {
  // Flipping the vector gives the same split: the sign rule makes the largest-magnitude entry positive.
  const [flipped] = splitSearchReference(w, n, [node], [y.map((v) => -v)], { thresholds: 20 });
  const [plain] = splitSearchReference(w, n, [node], [y], { thresholds: 20 });
  assert.deepEqual(flipped.one, plain.one);
  // No threshold leaves 4 slots on each side of a 6-slot node.
  const [none] = splitSearchReference(w, n, [node], [y], { thresholds: 20, minSide: 4 });
  assert.equal(none.index, -1);
  assert.equal(none.ncut, Infinity);
  assert.equal(none.one.length, 0);
  const both = splitSearchReference(w, n, [node, [0, 2]], [y, [0.5, -0.5]], { thresholds: 5 });
  assert.deepEqual([...both[0].one], [3, 6, 9]);
  assert.deepEqual([...both[1].one], [0]);
});
