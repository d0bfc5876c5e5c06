import assert from "node:assert/strict";
import { adjustedRandIndex, thinBorderStrips } from "../../lib/eval/partition_checks.ts";

Deno.test("thinBorderStrips: a frame column and a top band are strips; a corner blob and the interior are not", () => {
  const h = 16, w = 16, labels = new Int32Array(h * w);
  for (let y = 0; y < h; y++) labels[y * w] = 1; // left column, full height
  for (let x = 4; x < 14; x++) labels[x] = labels[w + x] = 2; // top band, 10 of 16 columns, 2 rows
  for (let y = 12; y < 16; y++) for (let x = 12; x < 16; x++) labels[y * w + x] = 3; // 4×4 corner: 12 of 16 in ring
  assert.deepEqual(thinBorderStrips(labels, h, w), [1, 2]);
  assert.deepEqual(thinBorderStrips(labels, h, w, { span: 0.7 }), [1]);
});

Deno.test("adjustedRandIndex: 1 up to renaming, about 0 for unrelated partitions, symmetric", () => {
  const a = new Int32Array([0, 0, 0, 1, 1, 1, 2, 2]);
  assert.equal(adjustedRandIndex(a, a.map((v) => 7 - v)), 1);
  const b = new Int32Array([0, 1, 0, 1, 0, 1, 0, 1]);
  assert.ok(Math.abs(adjustedRandIndex(a, b)) < 0.2);
  assert.equal(adjustedRandIndex(a, b), adjustedRandIndex(b, a));
  assert.equal(adjustedRandIndex(new Int32Array(5), new Int32Array(5)), 1);
  assert.throws(() => adjustedRandIndex(a, b.subarray(1)), /expected equal/);
});
