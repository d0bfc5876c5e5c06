import assert from "node:assert/strict";
import { affinityMatrixSync, normalizeRows } from "../../lib/affinity/affinity.ts";
import { affinityMatrixGpu, zeroBelow } from "../../lib/affinity/affinity_gpu.ts";
import { syntheticFeatureMap } from "../../lib/bench/synthetic_features.ts";
import { buildPartitionTreeSync } from "../../lib/ncut/partition_tree.ts";
import { cutTree } from "../../lib/ncut/cut_tree.ts";
import type { FeatureMap } from "../../lib/types.ts";
import { assertAllClose, seededVector } from "../_helpers.ts";
import { gpu, testGpu } from "../_gpu.ts";

function randomMap(h: number, w: number, c: number, seed: number): FeatureMap {
  return { height: h, width: w, channels: c, data: Float32Array.from(seededVector(h * w * c, seed)) };
}

/** Expected zero rows with the CPU path's rule: an exact 0 in the row (diagonal only with self-loops). */
function cpuZeroRows(w: Float32Array, n: number, selfLoops: boolean): Uint8Array {
  const z = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (w[i * n + j] === 0 && (selfLoops || i !== j)) z[i] = 1;
  }
  return z;
}

Deno.test("zeroBelow is the float32 underflow boundary of t^α", () => {
  for (const alpha of [1, 2, 5, 10, 15, 2.5]) {
    const t = zeroBelow(alpha);
    const next = new Float32Array([t]);
    new Uint32Array(next.buffer)[0]++;
    assert.equal(Math.fround(t ** alpha), 0, `α=${alpha}`);
    assert.ok(Math.fround(next[0] ** alpha) > 0, `α=${alpha}`);
  }
});

// Gram tiles are 32 columns wide and 64 rows high (TILE 8, 8 rows per invocation): sizes around both, and
// realistic grids.
const sizes: [number, number, number][] = [
  [1, 2, 3], // smallest graph
  [1, 31, 5], // tile − 1
  [4, 8, 17], // one tile
  [3, 11, 8], // tile + 1
  [7, 9, 6], // row tile − 1
  [8, 8, 5], // one row tile
  [5, 13, 7], // row tile + 1
  [32, 32, 512],
  [32, 32, 1280],
];
for (const [h, w, c] of sizes) {
  Deno.test({
    name: `affinity GPU matches the TypeScript reference at ${h}×${w}×${c}`,
    ignore: !gpu,
    async fn() {
      const ctx = testGpu();
      const f = randomMap(h, w, c, 7 + h + c);
      const n = h * w;
      for (const [alpha, selfLoops] of [[10, true], [1, false], [2.5, true]] as const) {
        const cpu = affinityMatrixSync(f, { alpha, selfLoops });
        const g = await affinityMatrixGpu(ctx, f, { alpha, selfLoops });
        assertAllClose(g.w, cpu, { atol: 2e-6, rtol: 2e-4, msg: `α=${alpha} selfLoops=${selfLoops}` });
        // Exact zeros: where the CPU has them, the GPU has them (the global minimum pair at least).
        for (let i = 0; i < n * n; i++) {
          if (cpu[i] === 0 && (selfLoops || i % (n + 1) !== 0)) assert.equal(g.w[i], 0, `entry ${i}`);
        }
        assert.deepEqual(g.zeroRows, cpuZeroRows(g.w, n, selfLoops));
      }
    },
  });
}

Deno.test({
  name: "affinity GPU with other Gram tile shapes",
  ignore: !gpu,
  async fn() {
    const f = randomMap(5, 13, 36, 3);
    const cpu = affinityMatrixSync(f, { alpha: 10 });
    for (const tile of [1, 4, 16]) {
      for (const rows of [4, 8]) {
        const g = await affinityMatrixGpu(testGpu(), f, { alpha: 10, tile, rows });
        assertAllClose(g.w, cpu, { atol: 2e-6, rtol: 2e-4, msg: `tile ${tile}, rows ${rows}` });
      }
    }
    // Both block shapes give the same float32 sums.
    const f2 = randomMap(9, 11, 40, 4);
    const [a, b] = await Promise.all(
      [4, 8].map((rows) => affinityMatrixGpu(testGpu(), f2, { alpha: 10, rows })),
    );
    assert.deepEqual(a.w, b.w);
  },
});

Deno.test({
  name: "affinity GPU gives the CPU path's tree cut on the synthetic 32×32×1280 map",
  ignore: !gpu,
  async fn() {
    const f = syntheticFeatureMap(32, 32, 1280);
    const g = await affinityMatrixGpu(testGpu(), f, { alpha: 10 });
    for (const compat of ["default", "reference"] as const) {
      const cpuTree = buildPartitionTreeSync(f, { alpha: 10, tauMax: 0.5, compat });
      const gpuTree = buildPartitionTreeSync(f, { alpha: 10, tauMax: 0.5, compat, affinity: g.w });
      assert.deepEqual(cutTree(gpuTree, 0.5), cutTree(cpuTree, 0.5), compat);
    }
  },
});

Deno.test({
  name: "affinity GPU refuses identical features and matrices above the binding limit",
  ignore: !gpu,
  async fn() {
    const same = { height: 2, width: 2, channels: 3, data: new Float32Array(12).fill(1) };
    await assert.rejects(affinityMatrixGpu(testGpu(), same), /all identical/);
    // 5800² floats exceed 128 MiB; the check happens before any upload.
    const big = { height: 58, width: 100, channels: 1, data: new Float32Array(5800) };
    await assert.rejects(
      affinityMatrixGpu(testGpu(), big),
      (e: Error) => e instanceof RangeError && /binding limit/.test(e.message),
    );
  },
});

Deno.test({
  name: "normalizeRows reference is what the GPU normalises (unit rows)",
  ignore: !gpu,
  fn() {
    const u = normalizeRows(randomMap(1, 3, 4, 1));
    for (let i = 0; i < 3; i++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += u[i * 4 + k] ** 2;
      assert.ok(Math.abs(s - 1) < 1e-6);
    }
  },
});
