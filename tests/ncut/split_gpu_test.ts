import assert from "node:assert/strict";
import { affinityMatrixSync } from "../../lib/affinity/affinity.ts";
import { syntheticFeatureMap } from "../../lib/bench/synthetic_features.ts";
import { fiedlerBatchedReference } from "../../lib/eigensolve/lanczos_batched.ts";
import { splitSearchGpu } from "../../lib/ncut/split_gpu.ts";
import { splitSearchReference } from "../../lib/ncut/split_search.ts";
import { seededVector } from "../_helpers.ts";
import { gpu, testGpu } from "../_gpu.ts";
import { carve, N, W } from "../_carved_nodes.ts";

async function compare(
  nodes: number[][],
  ys: ArrayLike<number>[],
  options: { thresholds?: number; minSide?: number },
) {
  const got = await splitSearchGpu(testGpu(), W, N, nodes, ys, options);
  const want = splitSearchReference(W, N, nodes, ys, options);
  const msg = JSON.stringify(options);
  for (let k = 0; k < nodes.length; k++) {
    assert.equal(got[k].index, want[k].index, `${msg} node ${k}: index`);
    if (want[k].index < 0) {
      assert.equal(got[k].ncut, Infinity);
      assert.equal(got[k].one.length, 0);
      continue;
    }
    assert.ok(Math.abs(got[k].ncut - want[k].ncut) <= 1e-4 * want[k].ncut + 1e-7, `${msg} node ${k}: ncut`);
    assert.deepEqual(Array.from(got[k].one), Array.from(want[k].one), `${msg} node ${k}: "1" side`);
    const rest = nodes[k].filter((g) => !want[k].one.includes(g));
    assert.deepEqual(Array.from(got[k].rest), rest, `${msg} node ${k}: other side`);
    for (let i = 0; i < want[k].values.length; i++) {
      const a = got[k].values[i], b = want[k].values[i];
      if (Number.isNaN(b)) assert.ok(Number.isNaN(a), `${msg} node ${k} threshold ${i}: NaN`);
      else assert.ok(Math.abs(a - b) <= 1e-4 * b + 1e-6, `${msg} node ${k} threshold ${i}: ${a} vs ${b}`);
    }
  }
}

const cases: [string, number[][]][] = [
  ["one node of 2 slots", carve(1, 2)],
  ["one node of 63 slots", carve(1, 63, 5)],
  ["one node of 64 slots", carve(1, 64, 7)],
  ["one node of 65 slots", carve(1, 65, 3)],
  ["63 nodes of 3 slots", carve(63, 3, 2)],
  ["64 nodes of 2 slots", carve(64, 2, 3)],
  ["65 nodes of 4 slots", carve(65, 4)],
];
for (const [name, nodes] of cases) {
  Deno.test({
    name: `split search GPU matches split.ts on Fiedler vectors: ${name}`,
    ignore: !gpu,
    async fn() {
      const ys = fiedlerBatchedReference(W, N, nodes).map((r) => r.vector);
      for (const options of [{}, { thresholds: 1 }, { thresholds: 7, minSide: 2 }, { minSide: 5 }]) {
        await compare(nodes, ys, options);
      }
    },
  });
}

Deno.test({
  name: "split search GPU matches split.ts on seeded random vectors and a whole 24×24 graph",
  ignore: !gpu,
  async fn() {
    const nodes = [Array.from({ length: N }, (_, i) => i)];
    await compare(nodes, [seededVector(N, 5)], {});
    await compare(nodes, fiedlerBatchedReference(W, N, nodes).map((r) => r.vector), { minSide: 40 });
    // A vector of one sign leaves one side empty at every threshold: no admissible split.
    const got = await splitSearchGpu(testGpu(), W, N, [[0, 1, 2]], [[1, 1, 1]]);
    assert.equal(got[0].index, -1);
    assert.equal(got[0].ncut, Infinity);
  },
});

Deno.test({
  name:
    "split search GPU general path: n not a multiple of 4, and more thresholds than the vec4 histogram holds",
  ignore: !gpu,
  async fn() {
    // 23×23: rows of W are not vec4-aligned, so the index-list kernels run.
    const side = 23, n = side * side;
    const w = affinityMatrixSync(syntheticFeatureMap(side, side, 64, 5, 3), { alpha: 10 });
    const nodes = [
      Array.from({ length: 200 }, (_, i) => 2 * i),
      Array.from({ length: 100 }, (_, i) => 2 * i + 1),
    ];
    const ys = fiedlerBatchedReference(w, n, nodes).map((r) => r.vector);
    for (const options of [{}, { thresholds: 7, minSide: 2 }]) {
      const got = await splitSearchGpu(testGpu(), w, n, nodes, ys, options);
      const want = splitSearchReference(w, n, nodes, ys, options);
      for (let k = 0; k < nodes.length; k++) {
        assert.equal(got[k].index, want[k].index);
        assert.deepEqual(Array.from(got[k].one), Array.from(want[k].one));
      }
    }
    // 150 thresholds on the 24×24 graph (vec4-aligned): the general histogram kernel.
    const whole = [Array.from({ length: N }, (_, i) => i)];
    await compare(whole, fiedlerBatchedReference(W, N, whole).map((r) => r.vector), { thresholds: 150 });
  },
});
