import assert from "node:assert/strict";
import { propagatePamr } from "../../lib/pamr/pamr.ts";
import { refinePamr } from "../../lib/stages.ts";
import { medianFilter3x3 } from "../../lib/pamr/median_filter.ts";
import { medianFilter3x3Gpu, refinePamrGpu } from "../../lib/pamr/pamr_gpu.ts";
import type { ImageRGB } from "../../lib/types.ts";
import { seededVector } from "../_helpers.ts";
import { gpu, testGpu } from "../_gpu.ts";

/** A blocky colour image with noise and noisy block labels (so PAMR has work to do). */
function scene(h: number, w: number, k: number, seed: number): { image: ImageRGB; labels: Int32Array } {
  const noise = seededVector(h * w * 4, seed);
  const colours = seededVector(3 * k, seed + 1);
  const region = (y: number, x: number) =>
    (Math.floor((y * 3) / Math.max(h, 1)) * 2 + Math.floor((x * 2) / w)) % k;
  const data = new Float32Array(h * w * 3);
  const labels = new Int32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x, r = region(y, x);
      for (let c = 0; c < 3; c++) data[i * 3 + c] = 0.5 + colours[3 * r + c] + 0.15 * noise[i * 4 + c];
      labels[i] = (noise[i * 4 + 3] > 0.35 ? (r + 1) % k : r) * 5 + 2; // 15 % label noise, values with gaps
    }
  }
  return { image: { data, height: h, width: w }, labels };
}

/** Every pixel where GPU and CPU argmax differ must be a float32 tie of the CPU path's propagated masks. */
function assertSameOrTies(
  g: Int32Array,
  c: Int32Array,
  image: ImageRGB,
  labels: Int32Array,
  iterations: number,
  dilations: number[],
): number {
  const diff: number[] = [];
  for (let i = 0; i < c.length; i++) if (g[i] !== c[i]) diff.push(i);
  if (diff.length === 0) return 0;
  const distinct = [...new Set(labels)].sort((a, b) => a - b);
  const K = distinct.length;
  const masks = new Float32Array(labels.length * K);
  labels.forEach((v, i) => masks[i * K + distinct.indexOf(v)] = 1);
  const m = propagatePamr(image, { data: masks, height: image.height, width: image.width, channels: K }, {
    iterations,
    dilations,
  }).data;
  for (const i of diff) {
    const row = [...m.subarray(i * K, i * K + K)].sort((a, b) => b - a);
    assert.ok(
      row[0] - row[1] < 1e-5 * row[0],
      `pixel ${i}: GPU ${g[i]} vs CPU ${c[i]}, masks ${row[0]} vs ${row[1]}`,
    );
  }
  return diff.length;
}

// One invocation per pixel in workgroups of 64: 1, 63, 64 and 65 pixels, then realistic sizes.
const cases: [number, number, number, number, number[]][] = [
  [1, 1, 1, 10, [1]],
  [1, 63, 3, 10, [1, 2]],
  [8, 8, 3, 10, [1, 2, 4, 8]],
  [5, 13, 4, 3, [1, 2]],
  [128, 128, 6, 10, [1, 2, 4, 8]],
  [96, 160, 9, 30, [1, 2, 4, 8, 12, 24]],
];
for (const [h, w, k, iterations, dilations] of cases) {
  Deno.test({
    name:
      `refinePamr GPU matches the TypeScript path: ${h}×${w}, ${k} labels, ${iterations} iterations, d=${dilations}`,
    ignore: !gpu,
    async fn() {
      const { image, labels } = scene(h, w, k, h + w);
      const cpu = await refinePamr(image, labels, { iterations, dilations, median: false, backend: "cpu" });
      const g = await refinePamrGpu(testGpu(), image, labels, { iterations, dilations, median: false });
      const ties = assertSameOrTies(g, cpu, image, labels, iterations, dilations);
      const cpuMedian = await refinePamr(image, labels, { iterations, dilations, backend: "cpu" });
      const gMedian = await refinePamrGpu(testGpu(), image, labels, { iterations, dilations });
      if (ties === 0) assert.deepEqual(gMedian, cpuMedian);
    },
  });
}

Deno.test({
  name: "refinePamr GPU with zero iterations and the webgpu backend entry point",
  ignore: !gpu,
  async fn() {
    const { image, labels } = scene(20, 30, 4, 3);
    for (const median of [true, false]) {
      const cpu = await refinePamr(image, labels, { iterations: 0, median, backend: "cpu" });
      assert.deepEqual(await refinePamr(image, labels, { iterations: 0, median, backend: "webgpu" }), cpu);
    }
    const cpu = await refinePamr(image, labels, { backend: "cpu" });
    assert.deepEqual(await refinePamr(image, labels, { backend: "webgpu" }), cpu);
  },
});

Deno.test({
  name: "median3x3 GPU equals medianFilter3x3 at sizes 1, 63, 64, 65 and 128²",
  ignore: !gpu,
  async fn() {
    for (const [h, w] of [[1, 1], [1, 63], [8, 8], [5, 13], [128, 128]]) {
      const labels = Int32Array.from(seededVector(h * w, h * w), (v) => Math.floor((v + 0.5) * 5));
      assert.deepEqual(
        await medianFilter3x3Gpu(testGpu(), labels, h, w),
        medianFilter3x3(labels, h, w),
        `${h}×${w}`,
      );
    }
  },
});
