/**
 * `deno run -A lib/bench/bench_gpu.ts`: per-stage timings of the CPU path against the WebGPU path in the same
 * run, on the synthetic image-like feature map at 32×32 and 64×64 grids (C = 1280), printed as Markdown tables
 * with ratios and the host waits (buffer maps) and submissions each WebGPU call makes.
 *
 * The partition tree row times the CPU tree given the CPU affinity against the WebGPU tree given the affinity
 * already on the device (`buildPartitionTreeOnDevice`: batched Lanczos + split search, up to four levels per
 * submission and readback, no affinity readback). The end-to-end row runs the stage as `segment` does (affinity on
 * the device, tree, assignment + PAMR in one submission). Set `BENCH_RUNS` (default 3) for the number of timed runs per
 * stage (median, after one warm-up that also compiles the kernels).
 *
 * @module
 */
import { affinityMatrixSync } from "../affinity/affinity.ts";
import { affinityMatrix, assignConcepts, buildPartitionTree, refinePamr } from "../stages.ts";
import { loadImage } from "../image/load_image.ts";
import { resizeImage } from "../image/resize.ts";
import { cutTree } from "../ncut/cut_tree.ts";
import { buildPartitionTreeOnDevice } from "../ncut/partition_tree_gpu.ts";
import { createAffinityKernels, encodeAffinity } from "../affinity/affinity_gpu.ts";
import { submit } from "../gpu/device.ts";
import { assignAndRefineGpu } from "../upsample/assign_refine_gpu.ts";
import { getGpu, type GpuContext } from "../gpu/device.ts";
import type { Backend, FeatureMap, ImageRGB } from "../types.ts";
import { syntheticFeatureMap } from "./synthetic_features.ts";
import { plural } from "../viz/plural.ts";

const PHOTO = new URL("../../docs/examples/chelsea.png", import.meta.url);

interface Timing {
  ms: number;
  waits: number;
  submissions: number;
}

async function time<T>(
  ctx: GpuContext | null,
  runs: number,
  f: () => Promise<T>,
): Promise<Timing & { value: T }> {
  let value = await f();
  const times: number[] = [];
  const w0 = ctx?.hostWaits ?? 0, s0 = ctx?.submissions ?? 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    value = await f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return {
    ms: times[Math.floor(times.length / 2)],
    waits: ((ctx?.hostWaits ?? 0) - w0) / runs,
    submissions: ((ctx?.submissions ?? 0) - s0) / runs,
    value,
  };
}

interface Row {
  stage: string;
  cpu: number;
  gpu: number;
  waits: number;
  submissions: number;
  note?: string;
}

async function stageRows(ctx: GpuContext, f: FeatureMap, photo: ImageRGB, runs: number): Promise<Row[]> {
  const side = 4 * f.height;
  const size = { height: side, width: side };
  const small = resizeImage(photo, side, side);
  const rows: Row[] = [];
  const both = async <T>(stage: string, run: (b: Backend) => Promise<T>, note?: string) => {
    const cpu = await time(null, runs, () => run("cpu"));
    const gpu = await time(ctx, runs, () => run("webgpu"));
    rows.push({ stage, cpu: cpu.ms, gpu: gpu.ms, waits: gpu.waits, submissions: gpu.submissions, note });
    return { cpu: cpu.value, gpu: gpu.value };
  };
  const n = f.height * f.width;
  // Issue #3 measures the affinity kernel against the plain-TypeScript path too (the CPU column below uses ONNX
  // Runtime's MatMul for the Gram); timed first, in a fresh process state (after the 64² GPU rows the same call
  // ran ~4× slower in this process, from memory pressure rather than the code).
  const plain = await time(null, runs, () => Promise.resolve(affinityMatrixSync(f, { alpha: 10 })));
  const aff = await both(
    "affinity",
    (backend) => affinityMatrix(f, { alpha: 10, backend }),
    `${n}² from C=${f.channels}`,
  );
  // The WebGPU tree starts from an affinity on the device (computed once here, outside the timing).
  const encoder = ctx.device.createCommandEncoder({ label: "bench.affinity" });
  const onDevice = encodeAffinity(ctx, await createAffinityKernels(ctx), encoder, f, {
    alpha: 10,
    selfLoops: true,
  });
  submit(ctx, [encoder.finish()]);
  const tree = await both(
    "partition tree (τ=0.5)",
    (backend) =>
      backend === "cpu"
        ? buildPartitionTree(f, { alpha: 10, tauMax: 0.5, affinity: aff.cpu })
        : buildPartitionTreeOnDevice(ctx, {
          affinity: onDevice,
          features: f,
          options: { alpha: 10, tauMax: 0.5 },
        }),
    "",
  );
  onDevice.destroy();
  const depth = 1 + Math.max(...tree.gpu.nodes.filter((x) => x.children).map((x) => x.depth), -1);
  const same = [0.1, 0.2, 0.3, 0.5].every((tau) =>
    cutTree(tree.gpu, tau).join() === cutTree(tree.cpu, tau).join()
  );
  rows[rows.length - 1].note = `${tree.gpu.nodes.length} nodes, ${depth + 1} levels; given the affinity ` +
    `(host / device); labels at τ 0.1–0.5 ${same ? "equal" : "DIFFER"}`;
  const labels = cutTree(tree.cpu, 0.5);
  const k = new Set(labels).size;
  await both(
    `assignment ${side}²`,
    (backend) => assignConcepts(f, labels, size, { backend }),
    plural(k, "segment"),
  );
  const assigned = await assignConcepts(f, labels, size, { backend: "cpu" });
  await both(
    `PAMR + median ${side}²`,
    (backend) => refinePamr(small, assigned, { backend }),
    "10 iterations, dilations 1,2,4,8",
  );
  const sum = (key: "cpu" | "gpu" | "waits" | "submissions") => rows.reduce((s, r) => s + r[key], 0);
  rows.push({
    stage: "clustering stage (sum of the rows above)",
    cpu: sum("cpu"),
    gpu: sum("gpu"),
    waits: sum("waits"),
    submissions: sum("submissions"),
  });
  // The stage as `segment` runs it: with backend "webgpu" the affinity never leaves the device (it rides with the
  // tree's first level), so there is no affinity readback; the CPU column runs the same calls on the CPU path.
  await both("clustering stage end to end (features → refined labels)", async (backend) => {
    const tree = await buildPartitionTree(f, { alpha: 10, tauMax: 0.5, backend });
    const grid = cutTree(tree, 0.5);
    if (backend === "webgpu") return await assignAndRefineGpu(ctx, f, grid, small);
    return await refinePamr(small, await assignConcepts(f, grid, size, { backend }), { backend });
  }, "as `segment` runs it (one submission for assignment + PAMR on WebGPU); not in the sum");
  const gpuAffinity = rows[0];
  rows.push({
    stage: "affinity, plain TypeScript (`affinityMatrixSync`) vs WebGPU",
    cpu: plain.ms,
    gpu: gpuAffinity.gpu,
    waits: gpuAffinity.waits,
    submissions: gpuAffinity.submissions,
    note: "not in the sum",
  });
  return rows;
}

function printTable(title: string, rows: Row[]): void {
  console.log(`\n### ${title}\n`);
  console.log(
    "| stage | CPU ms | WebGPU ms | CPU/WebGPU | host waits | submissions | detail |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const r of rows) {
    console.log(
      `| ${r.stage} | ${r.cpu.toFixed(1)} | ${r.gpu.toFixed(1)} | ${
        (r.cpu / r.gpu).toFixed(2)
      }× | ${r.waits} | ${r.submissions} | ${r.note ?? ""} |`,
    );
  }
}

if (import.meta.main) {
  const runs = Number(Deno.env.get("BENCH_RUNS") ?? 3);
  let ctx: GpuContext;
  try {
    ctx = await getGpu();
  } catch (e) {
    console.log(`No WebGPU device: ${(e as Error).message}`);
    Deno.exit(0);
  }
  console.log(
    `DiffCut bench, CPU vs WebGPU: Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} logical cores, adapter "${ctx.description}", DENO_WEBGPU_BACKEND=${
      Deno.env.get("DENO_WEBGPU_BACKEND") ?? "(unset)"
    }, ${runs} runs per stage (median after a warm-up)`,
  );
  const photo = await loadImage(PHOTO.pathname);
  for (const side of [32, 64]) {
    printTable(
      `Synthetic ${side}×${side}×1280 feature map (τ=0.5, α=10)`,
      await stageRows(ctx, syntheticFeatureMap(side, side, 1280), photo, runs),
    );
  }
}
