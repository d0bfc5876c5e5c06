import assert from "node:assert/strict";
import { syntheticFeatureMap } from "../../lib/bench/synthetic_features.ts";
import { loadImage } from "../../lib/image/load_image.ts";
import { resizeImage } from "../../lib/image/resize.ts";
import { cutTree } from "../../lib/ncut/cut_tree.ts";
import { buildPartitionTree } from "../../lib/stages.ts";
import { refinePamrGpu } from "../../lib/pamr/pamr_gpu.ts";
import { assignAndRefineGpu } from "../../lib/upsample/assign_refine_gpu.ts";
import { assignConceptsGpu } from "../../lib/upsample/assign_gpu.ts";
import type { FeatureMap, ImageRGB } from "../../lib/types.ts";
import { gpu, testGpu } from "../_gpu.ts";

/** The two-stage GPU result (PAMR ranks) mapped back to grid label values through the assigned map's labels. */
async function twoStages(f: FeatureMap, grid: Int32Array, image: ImageRGB): Promise<Int32Array> {
  const size = { height: image.height, width: image.width };
  const assigned = await assignConceptsGpu(testGpu(), f, grid, size);
  const present = Int32Array.from(new Set(assigned)).sort();
  const ranks = await refinePamrGpu(testGpu(), image, assigned);
  return ranks.map((r) => present[r]);
}

const photo = await loadImage(new URL("../../docs/examples/chelsea.png", import.meta.url).pathname);

Deno.test({
  name: "assignAndRefineGpu equals assignment then PAMR on the synthetic 32×32×1280 map at 128²",
  ignore: !gpu,
  async fn() {
    const f = syntheticFeatureMap(32, 32, 1280);
    const grid = cutTree(await buildPartitionTree(f, { tauMax: 0.5 }), 0.5);
    const image = resizeImage(photo, 128, 128);
    const ctx = testGpu();
    const w0 = ctx.hostWaits;
    const fused = await assignAndRefineGpu(ctx, f, grid, image);
    assert.equal(ctx.hostWaits - w0, 1, "one host wait");
    assert.deepEqual(fused, await twoStages(f, grid, image));
    assert.ok(new Set(fused).size >= 3);
    // Other PAMR options go through unchanged.
    const options = { iterations: 3, dilations: [1, 2], median: false };
    const size = { height: 128, width: 128 };
    const assigned = await assignConceptsGpu(ctx, f, grid, size);
    const present = Int32Array.from(new Set(assigned)).sort();
    const ranks = await refinePamrGpu(ctx, image, assigned, options);
    assert.deepEqual(await assignAndRefineGpu(ctx, f, grid, image, options), ranks.map((r) => present[r]));
  },
});

Deno.test({
  name: "assignAndRefineGpu keeps a grid label that wins no pixel out of the result",
  ignore: !gpu,
  async fn() {
    // Labels 5 and 9 have identical cluster means, so every pixel ties between them and takes 5: 9 is absent
    // from the assigned map, and its PAMR channel must never win.
    const f: FeatureMap = {
      height: 2,
      width: 3,
      channels: 3,
      data: new Float32Array([1, 0, 0, 1, 0.1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0.1, 1]),
    };
    const grid = new Int32Array([2, 2, 5, 7, 9, 7]);
    const image = resizeImage(photo, 12, 18);
    const fused = await assignAndRefineGpu(testGpu(), f, grid, image);
    assert.ok(!fused.includes(9), "label 9 wins no pixel");
    assert.deepEqual(fused, await twoStages(f, grid, image));
  },
});

Deno.test({
  name: "assignAndRefineGpu handles one segment and rejects bad input with one-line errors",
  ignore: !gpu,
  async fn() {
    const f = syntheticFeatureMap(4, 4, 8);
    const image = resizeImage(photo, 16, 16);
    assert.deepEqual(
      await assignAndRefineGpu(testGpu(), f, new Int32Array(16).fill(3), image),
      new Int32Array(256).fill(3),
    );
    const grid = new Int32Array(16).map((_, i) => i % 2);
    await assert.rejects(assignAndRefineGpu(testGpu(), f, grid, image, { iterations: -1 }), RangeError);
    await assert.rejects(
      assignAndRefineGpu(testGpu(), f, grid.subarray(1), image),
      /Grid labels must have 16/,
    );
    const bad = { ...f, data: f.data.slice() };
    bad.data[5] = NaN;
    await assert.rejects(assignAndRefineGpu(testGpu(), bad, grid, image), /Features must be finite/);
  },
});
