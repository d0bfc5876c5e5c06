import assert from "node:assert/strict";
import { affinityMatrixSync } from "../../lib/affinity/affinity.ts";
import { affinityMatrixGpu, GRAM_TILE_ROWS, gramTiles, zeroBelow } from "../../lib/affinity/affinity_gpu.ts";
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

// Gram tiles are 16 rows high and 128 columns wide (WG 16): sizes around both, and realistic grids.
const sizes: [number, number, number][] = [
  [1, 2, 3], // smallest graph
  [3, 5, 5], // row tile − 1
  [4, 4, 17], // one row tile
  [1, 17, 8], // row tile + 1
  [1, 127, 6], // column tile − 1
  [8, 16, 5], // one column tile
  [3, 43, 7], // column tile + 1
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
  name: "affinity GPU with other Gram tile widths gives the same float32 sums",
  ignore: !gpu,
  async fn() {
    const f = randomMap(5, 13, 36, 3);
    const cpu = affinityMatrixSync(f, { alpha: 10 });
    const results = [];
    for (const tile of [1, 3, 16, 64]) {
      const g = await affinityMatrixGpu(testGpu(), f, { alpha: 10, tile });
      assertAllClose(g.w, cpu, { atol: 2e-6, rtol: 2e-4, msg: `tile ${tile}` });
      results.push(g.w);
    }
    // Every entry is the same sequential sum over k whatever the tile width.
    for (const w of results.slice(1)) assert.deepEqual(w, results[0]);
    await assert.rejects(affinityMatrixGpu(testGpu(), f, { tile: 0 }), /Invalid tile 0/);
  },
});

Deno.test("gramTiles covers every pair j ≥ i exactly once and nothing wholly below the diagonal", () => {
  for (const [n, span] of [[1, 8], [15, 8], [16, 8], [17, 8], [40, 24], [129, 128]]) {
    const tiles = gramTiles(n, span);
    const seen = new Uint8Array(n * n);
    for (let t = 0; t < tiles.length; t += 2) {
      const [row0, col0] = [tiles[t], tiles[t + 1]];
      assert.ok(col0 >= row0 && row0 < n && col0 < n, `tile ${row0},${col0}`);
      for (let i = row0; i < Math.min(n, row0 + GRAM_TILE_ROWS); i++) {
        for (let j = Math.max(i, col0); j < Math.min(n, col0 + span); j++) seen[i * n + j]++;
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) assert.equal(seen[i * n + j], 1, `n=${n} pair ${i},${j}`);
    }
  }
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
