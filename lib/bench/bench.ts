/**
 * `deno task bench`: per-stage timings of the DiffCut pipeline on the CPU path, printed as Markdown tables.
 *
 * Two inputs: a synthetic image-like 32×32×1280 feature map (the shape of SSD-1B features; see
 * synthetic_features.ts) and the ISNet features of a bundled photo. Each stage reports the median of several
 * runs after one warm-up run.
 *
 * @module
 */
import { affinityMatrix, assignConcepts, buildPartitionTree, refinePamr } from "../stages.ts";
import { loadEncoder } from "../encoder/load_encoder.ts";
import { loadImage } from "../image/load_image.ts";
import { resizeImage } from "../image/resize.ts";
import { cutTree } from "../ncut/cut_tree.ts";
import type { FeatureMap, ImageRGB } from "../types.ts";
import { syntheticFeatureMap } from "./synthetic_features.ts";

const PHOTO = new URL("../../docs/examples/chelsea.png", import.meta.url);

/** Median wall time (ms) of `runs` calls after one warm-up call; also returns the last result. */
async function time<T>(runs: number, f: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  let value = await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    value = await f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], value };
}

interface Row {
  stage: string;
  ms: number;
  detail?: string;
}

async function clusteringRows(
  features: FeatureMap,
  photo: ImageRGB,
  tau: number,
  alpha: number,
  extra: { selfLoops?: boolean; minSegmentSize?: number; maxSegments?: number },
  runs: number,
): Promise<Row[]> {
  const aff = await time(runs, () => affinityMatrix(features, { alpha, selfLoops: extra.selfLoops }));
  const tree = await time(
    runs,
    () => buildPartitionTree(features, { alpha, tauMax: tau, affinity: aff.value, ...extra }),
  );
  const cut = await time(runs, () => cutTree(tree.value, tau));
  const k = new Set(cut.value).size;
  const small = resizeImage(photo, 128, 128);
  const a128 = await time(runs, () => assignConcepts(features, cut.value, { height: 128, width: 128 }));
  const full = { height: photo.height, width: photo.width };
  const aFull = await time(
    Math.max(1, Math.floor(runs / 2)),
    () => assignConcepts(features, cut.value, full),
  );
  const pamr = await time(runs, () => refinePamr(small, a128.value));
  const matvecs = tree.value.nodes.reduce((s, n) => s + n.matvecs, 0);
  const clustering = aff.ms + tree.ms + cut.ms + a128.ms + pamr.ms;
  return [
    {
      stage: "affinity",
      ms: aff.ms,
      detail: `${features.height * features.width}² from C=${features.channels}`,
    },
    {
      stage: "partition tree",
      ms: tree.ms,
      detail: `${tree.value.nodes.length} nodes, ${matvecs} mat-vecs, τ=${tau}, α=${alpha}`,
    },
    { stage: "cut", ms: cut.ms, detail: `${k} segments` },
    { stage: "assignment 128²", ms: a128.ms },
    { stage: `assignment ${full.height}×${full.width}`, ms: aFull.ms },
    { stage: "PAMR + median 128²", ms: pamr.ms, detail: "10 iterations, dilations 1,2,4,8" },
    { stage: "clustering stage (affinity + tree + cut + assignment 128² + PAMR 128²)", ms: clustering },
  ];
}

function printTable(title: string, rows: Row[]): void {
  console.log(`\n### ${title}\n`);
  console.log("| stage | median ms | detail |\n| --- | ---: | --- |");
  for (const r of rows) console.log(`| ${r.stage} | ${r.ms.toFixed(1)} | ${r.detail ?? ""} |`);
}

if (import.meta.main) {
  const runs = Number(Deno.env.get("BENCH_RUNS") ?? 7);
  console.log(
    `DiffCut bench (CPU path): Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} logical cores, ${runs} runs per stage (median)`,
  );
  const photo = await loadImage(PHOTO.pathname);
  const synthetic = syntheticFeatureMap(32, 32, 1280);
  printTable(
    "Synthetic 32×32×1280 feature map (paper settings τ=0.5, α=10)",
    await clusteringRows(synthetic, photo, 0.5, 10, {}, runs),
  );
  const encoder = await loadEncoder("isnet");
  const enc = await time(2, () => encoder.encode(photo));
  const d = encoder.defaults;
  const rows = await clusteringRows(enc.value, photo, d.tau, d.alpha, d, runs);
  rows.unshift({
    stage: "encoder (ISNet, onnxruntime-web wasm)",
    ms: enc.ms,
    detail:
      `${photo.width}×${photo.height} photo → ${enc.value.height}×${enc.value.width}×${enc.value.channels}`,
  });
  printTable(`ISNet features of docs/examples/chelsea.png (sidecar settings τ=${d.tau}, α=${d.alpha})`, rows);
  await encoder.dispose();
}
