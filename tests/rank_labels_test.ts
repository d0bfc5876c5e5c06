/** rankLabels: the table path (labels close together, negatives included) and the Set path give the same ranks. */
import assert from "node:assert/strict";
import { rankLabels } from "../lib/rank_labels.ts";
import { seededRandom } from "../lib/random.ts";

Deno.test("rankLabels: near and far labels, negatives, one label, none", () => {
  const r = seededRandom(5);
  const near = Int32Array.from({ length: 500 }, () => Math.floor(r() * 40) - 20);
  const far = Int32Array.from(near, (v) => v * 2 ** 25); // spread far beyond the table's range
  const a = rankLabels(near), b = rankLabels(far);
  assert.deepEqual(a.ranks, b.ranks);
  assert.deepEqual([...b.values], [...a.values].map((v) => v * 2 ** 25));
  assert.deepEqual([...a.values], [...new Set(near)].sort((p, q) => p - q));
  for (let i = 0; i < near.length; i++) assert.equal(a.values[a.ranks[i]], near[i]);
  assert.deepEqual(rankLabels(new Int32Array([9, 9])), {
    values: new Int32Array([9]),
    ranks: new Int32Array(2),
  });
  assert.deepEqual(rankLabels(new Int32Array(0)), { values: new Int32Array(0), ranks: new Int32Array(0) });
});
