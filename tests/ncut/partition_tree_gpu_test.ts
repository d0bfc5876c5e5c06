import assert from "node:assert/strict";
import { syntheticFeatureMap } from "../../lib/bench/synthetic_features.ts";
import { meanColorGrid } from "../../lib/encoder/color_encoder.ts";
import { loadImage } from "../../lib/image/load_image.ts";
import { cutTree } from "../../lib/ncut/cut_tree.ts";
import type { PartitionTreeOptions } from "../../lib/ncut/partition_tree.ts";
import { buildPartitionTree } from "../../lib/stages.ts";
import type { FeatureMap } from "../../lib/types.ts";
import { createAffinityKernels, encodeAffinity } from "../../lib/affinity/affinity_gpu.ts";
import { buildPartitionTreeOnDevice, type TreeGpuTuning } from "../../lib/ncut/partition_tree_gpu.ts";
import { gpu, testGpu } from "../_gpu.ts";

const TAUS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5];

async function assertSameTree(f: FeatureMap, options: PartitionTreeOptions, msg: string) {
  const cpu = await buildPartitionTree(f, { ...options, backend: "cpu" });
  const ctx = testGpu();
  const w0 = ctx.hostWaits, s0 = ctx.submissions;
  const g = await buildPartitionTree(f, { ...options, backend: "webgpu" });
  assert.equal(g.nodes.length, cpu.nodes.length, `${msg}: node count`);
  for (let i = 0; i < g.nodes.length; i++) {
    const a = g.nodes[i], b = cpu.nodes[i];
    assert.equal(a.parent, b.parent, `${msg}: parent of node ${i}`);
    assert.deepEqual(Array.from(a.region), Array.from(b.region), `${msg}: region of node ${i}`);
    assert.deepEqual(a.children, b.children, `${msg}: children of node ${i}`);
    // The same split (float32 thresholds may sit one candidate apart around the same gap of the vector).
    assert.deepEqual(Array.from(a.one), Array.from(b.one), `${msg}: "1" side of node ${i}`);
    assert.ok(Math.abs(a.thresholdIndex - b.thresholdIndex) <= 1, `${msg}: threshold index of node ${i}`);
    if (Number.isFinite(b.ncut)) {
      assert.ok(Math.abs(a.ncut - b.ncut) <= 1e-3 * b.ncut + 1e-6, `${msg}: NCut of node ${i}`);
    }
  }
  for (const tau of TAUS.filter((t) => t <= (options.tauMax ?? 0.5))) {
    assert.deepEqual(cutTree(g, tau), cutTree(cpu, tau), `${msg}: labels at τ=${tau}`);
  }
  // One submission and one readback per tree level (the affinity rides with the first); with maxSegments the
  // levels go on to tauMax, past the nodes the cap keeps.
  const levels = 1 + Math.max(...g.nodes.filter((x) => x.children).map((x) => x.depth), -1);
  if (options.maxSegments === undefined) {
    assert.ok(ctx.submissions - s0 <= levels + 1, `${msg}: ${ctx.submissions - s0} submissions`);
  }
  assert.equal(ctx.hostWaits - w0, ctx.submissions - s0, `${msg}: host waits`);
  return g;
}

for (const channels of [512, 1280]) {
  for (const seed of [1, 3]) {
    Deno.test({
      name: `WebGPU tree equals the CPU tree on the synthetic 32×32×${channels} map (seed ${seed})`,
      ignore: !gpu,
      async fn() {
        const f = syntheticFeatureMap(32, 32, channels, 8, seed);
        const g = await assertSameTree(f, {}, "default");
        assert.ok(g.nodes.length >= 7, `only ${g.nodes.length} nodes`);
        assert.ok(g.nodes.every((x) => x.solver !== "jacobi"));
        await assertSameTree(f, { compat: "reference" }, "compat reference");
      },
    });
  }
}

Deno.test({
  name:
    "WebGPU tree equals the CPU tree with maxSegments, minSegmentSize, thresholds, alpha and no self-loops",
  ignore: !gpu,
  async fn() {
    const f = syntheticFeatureMap(32, 32, 512, 8, 2);
    await assertSameTree(f, { maxSegments: 5 }, "maxSegments 5");
    await assertSameTree(f, { minSegmentSize: 40 }, "minSegmentSize 40");
    await assertSameTree(f, { thresholds: 37, tauMax: 0.3 }, "37 thresholds");
    await assertSameTree(f, { alpha: 5, selfLoops: false }, "alpha 5 without self-loops");
  },
});

Deno.test({
  name: "WebGPU tree equals the CPU tree on colour-grid features of the example photos",
  ignore: !gpu,
  async fn() {
    for (const name of ["chelsea", "coffee"]) {
      const image = await loadImage(new URL(`../../docs/examples/${name}.png`, import.meta.url).pathname);
      const f = meanColorGrid(image, 32);
      await assertSameTree(f, { alpha: 10 }, name);
    }
  },
});

Deno.test({
  name: "WebGPU tree keeps vectors and handles identical features like the CPU path",
  ignore: !gpu,
  async fn() {
    const f = syntheticFeatureMap(16, 16, 64, 4, 1);
    const g = await buildPartitionTree(f, { backend: "webgpu", keepVectors: true });
    const root = g.nodes[0];
    assert.equal(root.fiedler?.length, 256);
    assert.equal(root.ncutValues?.length, 100);
    assert.equal(root.ncutValues![root.thresholdIndex], root.ncut);
    // The "1" side is exactly y > t.
    const one = new Set(root.one);
    root.fiedler!.forEach((v, i) => assert.equal(one.has(i), v > root.threshold, `patch ${i}`));
    const same = { height: 2, width: 3, channels: 2, data: new Float32Array(12).fill(1) };
    const t = await buildPartitionTree(same, { backend: "webgpu" });
    assert.equal(t.nodes.length, 1);
    assert.match(t.notes.join(" "), /identical/);
  },
});

Deno.test({
  name: "WebGPU tree is the same whatever the levels per submission and the step budgets (redone levels)",
  ignore: !gpu,
  async fn() {
    const ctx = testGpu();
    const f = syntheticFeatureMap(24, 24, 256, 6, 5);
    const build = async (options: PartitionTreeOptions, tuning: TreeGpuTuning) => {
      const encoder = ctx.device.createCommandEncoder();
      const affinity = encodeAffinity(ctx, await createAffinityKernels(ctx), encoder, f, {
        alpha: 10,
        selfLoops: true,
      });
      const s0 = ctx.submissions;
      try {
        const tree = await buildPartitionTreeOnDevice(ctx, {
          affinity,
          features: f,
          options,
          pending: encoder,
          tuning,
        });
        return { tree, submissions: ctx.submissions - s0 };
      } finally {
        affinity.destroy();
      }
    };
    for (const options of [{ keepVectors: true }, { keepVectors: true, compat: "reference" as const }]) {
      const single = await build(options, { chainLevels: 1 });
      const levels = 1 + Math.max(...single.tree.nodes.map((x) => x.depth));
      assert.equal(single.submissions, levels, "one submission per level");
      for (const tuning of [{}, { chainLevels: 2 }, { chainLevels: 8 }, { firstBudget: 4 }]) {
        const other = await build(options, tuning);
        const msg = `${JSON.stringify(options)} ${JSON.stringify(tuning)}`;
        // Four levels per submission by default; a 4-step budget makes level 0 run again alone.
        if (tuning.firstBudget === undefined) {
          assert.equal(other.submissions, Math.ceil(levels / (tuning.chainLevels ?? 4)), msg);
        } else assert.ok(other.submissions > Math.ceil(levels / 4), msg);
        assert.equal(other.tree.nodes.length, single.tree.nodes.length, msg);
        other.tree.nodes.forEach((a, i) => {
          const b = single.tree.nodes[i];
          assert.equal(a.matvecs, b.matvecs, `${msg}: steps of node ${i}`);
          assert.deepEqual(a.fiedler, b.fiedler, `${msg}: vector of node ${i}`);
          assert.equal(a.ncut, b.ncut, `${msg}: NCut of node ${i}`);
          assert.deepEqual(a.children, b.children, `${msg}: children of node ${i}`);
        });
        assert.deepEqual(other.tree.notes, single.tree.notes, msg);
      }
    }
  },
});
