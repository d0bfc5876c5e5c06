import assert from "node:assert/strict";
import { bilinearAxis, clusterEmbeddings } from "../../lib/upsample/assign.ts";
import { assignConcepts } from "../../lib/stages.ts";
import { assignConceptsGpu } from "../../lib/upsample/assign_gpu.ts";
import { normalizeRows } from "../../lib/features/normalize_rows.ts";
import { syntheticFeatureMap } from "../../lib/bench/synthetic_features.ts";
import { recursiveNcut } from "../../lib/ncut/recursive_ncut.ts";
import type { FeatureMap } from "../../lib/types.ts";
import { seededVector } from "../_helpers.ts";
import { gpu, testGpu } from "../_gpu.ts";

/** Relative gap between the two best float64 scores of output pixel (y, x), as the reference path scores it. */
function scoreGap(
  f: FeatureMap,
  grid: Int32Array,
  size: { height: number; width: number },
  p: number,
): number {
  const unit = normalizeRows(f);
  const { embeddings, labels } = clusterEmbeddings(f, grid);
  const K = labels.length, c = f.channels;
  const ay = bilinearAxis(f.height, size.height), ax = bilinearAxis(f.width, size.width);
  const y = Math.floor(p / size.width), x = p % size.width;
  const score = (i: number, k: number) => {
    let s = 0;
    for (let q = 0; q < c; q++) s += unit[i * c + q] * embeddings[k * c + q];
    return s;
  };
  const s = Array.from({ length: K }, (_, k) => {
    const at = (r: number, col: number) => score(r * f.width + col, k);
    const r0 = ay.w0[y] * at(ay.i0[y], ax.i0[x]) + ay.w1[y] * at(ay.i1[y], ax.i0[x]);
    const r1 = ay.w0[y] * at(ay.i0[y], ax.i1[x]) + ay.w1[y] * at(ay.i1[y], ax.i1[x]);
    return ax.w0[x] * r0 + ax.w1[x] * r1;
  }).sort((a, b) => b - a);
  return (s[0] - s[1]) / Math.abs(s[0]);
}

/** Labels equal, except pixels whose two best scores tie within float32 rounding (shown, not assumed). */
function assertSameOrTies(
  gpuLabels: Int32Array,
  cpuLabels: Int32Array,
  f: FeatureMap,
  grid: Int32Array,
  size: { height: number; width: number },
): number {
  let ties = 0;
  for (let p = 0; p < cpuLabels.length; p++) {
    if (gpuLabels[p] === cpuLabels[p]) continue;
    const gap = scoreGap(f, grid, size, p);
    assert.ok(
      gap < 1e-5,
      `pixel ${p}: GPU ${gpuLabels[p]} vs CPU ${cpuLabels[p]}, score gap ${gap} is not a tie`,
    );
    ties++;
  }
  return ties;
}

function randomCase(h: number, w: number, c: number, k: number, seed: number) {
  const f: FeatureMap = {
    height: h,
    width: w,
    channels: c,
    data: Float32Array.from(seededVector(h * w * c, seed)),
  };
  const r = seededVector(h * w, seed + 1);
  const grid = Int32Array.from(r, (v) => Math.floor((v + 0.5) * k) * 3 - 2); // gaps and a negative label
  return { f, grid };
}

// Workgroups hold 64 invocations: output sizes of 1, 63, 64, 65 pixels per row, and realistic sizes.
const cases: [number, number, number, number, { height: number; width: number }][] = [
  [1, 1, 3, 1, { height: 1, width: 1 }],
  [1, 2, 3, 2, { height: 1, width: 63 }],
  [2, 3, 5, 3, { height: 1, width: 64 }],
  [3, 3, 7, 3, { height: 5, width: 13 }],
  [4, 4, 9, 4, { height: 1, width: 65 }],
  [32, 32, 512, 6, { height: 128, width: 128 }],
  [32, 32, 1280, 9, { height: 300, width: 451 }],
];
for (const [h, w, c, k, size] of cases) {
  Deno.test({
    name:
      `assignConcepts GPU matches the TypeScript path: ${h}×${w}×${c}, ${k} labels → ${size.height}×${size.width}`,
    ignore: !gpu,
    async fn() {
      const { f, grid } = randomCase(h, w, c, k, 11 * h + c);
      const cpu = await assignConcepts(f, grid, size, { backend: "cpu" });
      const g = await assignConceptsGpu(testGpu(), f, grid, size);
      assertSameOrTies(g, cpu, f, grid, size);
    },
  });
}

Deno.test({
  name: "assignConcepts GPU on the synthetic 64×64×512 map with its NCut labels, 256² output",
  ignore: !gpu,
  async fn() {
    const f = syntheticFeatureMap(64, 64, 512);
    const grid = await recursiveNcut(syntheticFeatureMap(64, 64, 16), { tau: 0.5, backend: "cpu" });
    const size = { height: 256, width: 256 };
    const cpu = await assignConcepts(f, grid, size, { backend: "cpu" });
    const g = await assignConcepts(f, grid, size, { backend: "webgpu" });
    const ties = assertSameOrTies(g, cpu, f, grid, size);
    assert.ok(ties <= 2, `${ties} tie pixels`);
  },
});

Deno.test({
  name: "assignConcepts GPU rejects non-finite features like the CPU path",
  ignore: !gpu,
  async fn() {
    const f = { height: 1, width: 2, channels: 2, data: new Float32Array([1, NaN, 0, 1]) };
    await assert.rejects(
      assignConceptsGpu(testGpu(), f, new Int32Array([0, 1]), { height: 2, width: 2 }),
      RangeError,
    );
  },
});
