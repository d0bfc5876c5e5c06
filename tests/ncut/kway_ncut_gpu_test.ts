/**
 * Parity of the K-way normalized cut's WebGPU kernels (`shaders/ncut/kway_wy.wgsl`, `kway_stats.wgsl`,
 * `kway_argmax.wgsl`) with their references in `lib/ncut/kway_ncut.ts`, at 1, WG − 1, WG, WG + 1 and 1024 nodes
 * (WG = 64) and cluster counts around the vec4 columns; then whole solves on both backends giving the same
 * partitions.
 */
import assert from "node:assert/strict";
import {
  kwayArgmaxReference,
  kwayProductReference,
  kwayStatsReference,
  kwayStepperReference,
  solveKwayNcut,
} from "../../lib/ncut/kway_ncut.ts";
import { createKwayWorkspaceGpu, kwayNcutGpu } from "../../lib/ncut/kway_ncut_gpu.ts";
import { kwayNcut } from "../../lib/stages.ts";
import { seededRandom } from "../../lib/random.ts";
import { assertAllClose, blockFeatures, randomAffinity } from "../_helpers.ts";
import { gpu, testGpu } from "../_gpu.ts";

function randomLabels(n: number, k: number, seed: number): Int32Array {
  const r = seededRandom(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * k));
}

// [nodes, clusters]
const SIZES: [number, number][] = [[1, 1], [63, 3], [64, 4], [65, 5], [1024, 12]];

for (const [n, k] of SIZES) {
  Deno.test({
    name: `kway kernels on WebGPU equal the CPU references: ${n} nodes × ${k} clusters`,
    ignore: !gpu,
    async fn() {
      const w = Float32Array.from(randomAffinity(n, n + k));
      const labels = randomLabels(n, k, n);
      const workspace = await createKwayWorkspaceGpu(testGpu(), w, n, k);
      try {
        const degrees = kwayProductReference(w, n, new Int32Array(n), 1);
        assert.deepEqual(workspace.degrees, degrees, "degrees (same float32 sums)");
        const step = await workspace.step(labels, true);
        const s = kwayProductReference(w, n, labels, k);
        assert.deepEqual(step.product, s, "W·Y (same float32 sums in the same order)");
        const stats = kwayStatsReference(s, degrees, labels, k);
        assert.deepEqual(step.stats, stats, "volumes and associations");
        const diagonal = Float32Array.from({ length: n }, (_, i) => w[i * n + i]);
        const ref = kwayArgmaxReference(s, stats, degrees, diagonal, labels, k);
        assertAllClose(step.gain, ref.gain, { atol: 1e-6, rtol: 1e-5 });
        // The same best cluster wherever the choice is not a float32 near-tie.
        let differ = 0;
        for (let i = 0; i < n; i++) if (step.best[i] !== ref.best[i]) differ++;
        assert.equal(differ, 0, `${differ} of ${n} best clusters differ`);
      } finally {
        workspace.dispose();
      }
    },
  });
}

Deno.test({
  name: "kwayNcut on WebGPU gives the CPU's partition, sweeps and objective (random graph, 65 nodes, k = 5)",
  ignore: !gpu,
  async fn() {
    const n = 65, k = 5;
    const w = Float32Array.from(randomAffinity(n, 21));
    const init = randomLabels(n, k, 22);
    const cpu = await solveKwayNcut(kwayStepperReference(w, n, k), w, n, init, k);
    const onGpu = await kwayNcutGpu(testGpu(), w, n, init, k);
    assert.ok(cpu.iterations > 1);
    assert.deepEqual(onGpu.labels, cpu.labels);
    assert.deepEqual(onGpu.history, cpu.history);
    assert.equal(onGpu.objective, cpu.objective);
  },
});

Deno.test({
  name: "kwayNcut: backend webgpu and cpu give the same partition on a 32×32 block map",
  ignore: !gpu,
  async fn() {
    const features = blockFeatures(32, 32, 16, (y, x) => Math.floor(y / 11) * 3 + Math.floor(x / 11), 1, 5);
    const options = { k: 6, alpha: 5, init: "seeded" as const };
    const cpu = await kwayNcut(features, { ...options, backend: "cpu" });
    const onGpu = await kwayNcut(features, { ...options, backend: "webgpu" });
    assert.deepEqual(onGpu.labels, cpu.labels);
    // The affinity itself was computed on each backend (float32 Gram in another order): the objectives agree closely.
    assert.ok(Math.abs(onGpu.objective - cpu.objective) < 1e-5);
  },
});
