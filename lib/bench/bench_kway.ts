/**
 * `deno task bench-kway`: the recursive 2-way cut (DiffCut's partition tree, cut at τ) against the discrete K-way
 * normalized cut (`kwayNcut`) on the same affinity, on 32×32 and 64×64 synthetic image-like feature maps
 * (synthetic_features.ts): median wall time of each solver (the affinity is timed apart and shared), the NCut
 * objective each reaches with the same K, and the K-way sweeps on WebGPU when an adapter exists.
 *
 * @module
 */
import { affinityMatrix, buildPartitionTree } from "../stages.ts";
import { cutTree } from "../ncut/cut_tree.ts";
import { kwayStepperReference, ncutObjective, solveKwayNcut } from "../ncut/kway_ncut.ts";
import { kwayNcutGpu } from "../ncut/kway_ncut_gpu.ts";
import { seededLabels } from "../ncut/kway_init.ts";
import { getGpu, type GpuContext } from "../gpu/device.ts";
import { syntheticFeatureMap } from "./synthetic_features.ts";
import { medianTime } from "./median_time.ts";

if (import.meta.main) {
  const runs = Number(Deno.env.get("BENCH_RUNS") ?? 3);
  const tau = 0.3, alpha = 10, channels = 256;
  let gpu: GpuContext | null = null;
  try {
    gpu = await getGpu();
  } catch (e) {
    console.log(`(no WebGPU adapter: ${(e as Error).message})`);
  }
  console.log(
    `K-way vs recursive NCut: Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} logical cores, ` +
      `${runs} runs (median)${
        gpu ? `, WebGPU: ${gpu.description}` : ""
      }; synthetic C=${channels}, τ=${tau}, α=${alpha}\n`,
  );
  console.log("| grid | solver | median ms | K | NCut | sweeps |\n| --- | --- | ---: | ---: | ---: | ---: |");
  for (const side of [32, 64]) {
    const features = syntheticFeatureMap(side, side, channels);
    const n = side * side;
    const aff = await medianTime(runs, () => affinityMatrix(features, { alpha, backend: "cpu" }));
    const w = aff.value;
    const grid = `${side}×${side}`;
    console.log(`| ${grid} | affinity (shared) | ${aff.ms.toFixed(0)} | | | |`);
    const rec = await medianTime(runs, async () => {
      const tree = await buildPartitionTree(features, { alpha, tauMax: tau, affinity: w });
      return cutTree(tree, tau);
    });
    const k = new Set(rec.value).size;
    const recObj = ncutObjective(w, n, rec.value, k);
    console.log(
      `| ${grid} | recursive (tree + cut at τ) | ${rec.ms.toFixed(0)} | ${k} | ${recObj.toFixed(4)} | |`,
    );
    const fromCut = await medianTime(
      runs,
      () => solveKwayNcut(kwayStepperReference(w, n, k), w, n, rec.value, k),
    );
    const r1 = fromCut.value;
    console.log(
      `| ${grid} | kway CPU, from the recursive cut (sweeps only) | ${
        fromCut.ms.toFixed(0)
      } | ${r1.segments} | ${r1.objective.toFixed(4)} | ${r1.iterations} |`,
    );
    const seeded = seededLabels(w, n, k, 0);
    const fromSeeds = await medianTime(
      runs,
      () => solveKwayNcut(kwayStepperReference(w, n, k), w, n, seeded, k),
    );
    const r2 = fromSeeds.value;
    console.log(
      `| ${grid} | kway CPU, seeded start | ${fromSeeds.ms.toFixed(0)} | ${r2.segments} | ${
        r2.objective.toFixed(4)
      } | ${r2.iterations} |`,
    );
    if (gpu) {
      const ctx = gpu;
      const onGpu = await medianTime(runs, () => kwayNcutGpu(ctx, w, n, rec.value, k));
      const r3 = onGpu.value;
      console.log(
        `| ${grid} | kway WebGPU, from the recursive cut | ${onGpu.ms.toFixed(0)} | ${r3.segments} | ${
          r3.objective.toFixed(4)
        } | ${r3.iterations} |`,
      );
    }
  }
}
