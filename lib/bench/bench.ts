/**
 * `deno task bench`: per-stage timings of the DiffCut pipeline on the CPU path, printed as Markdown tables.
 *
 * Two inputs: a synthetic image-like 32×32×1280 feature map (the shape of SSD-1B features; see
 * synthetic_features.ts) and the ISNet features of a bundled photo. Each stage reports the median of several
 * runs after one warm-up run. The ISNet encoder is timed on every ONNX Runtime runner that loads here
 * (`BENCH_RUNNERS`, default `wasm,node`; `webgpu` on request), each with its ratio to the native runner
 * (onnxruntime-node, ONNX Runtime's own binding on the same model file) and to Python's onnxruntime on that file
 * (where `python3` imports it; `ort_python_baseline.py`) measured in the same run; the CLI's
 * per-image stages after the encoder are also timed at its default work size (512). PAMR runs on the CPU with its
 * default engine (WebAssembly SIMD where available); its rows also give the TypeScript reference's time, which
 * computes the same labels bit for bit.
 *
 * @module
 */
import { affinityMatrix, assignConcepts, buildPartitionTree, refinePamr } from "../stages.ts";
import { loadEncoder } from "../encoder/load_encoder.ts";
import { createSegmenter } from "../segmenter.ts";
import { installedNodeRuntime, type OrtRunner } from "../onnx/ort_session.ts";
import { THREADS_ENV, wasmThreads } from "../onnx/threaded_wasm_session.ts";
import { loadImage } from "../image/load_image.ts";
import { resizeImage } from "../image/resize.ts";
import { cutTree } from "../ncut/cut_tree.ts";
import type { FeatureMap, ImageRGB } from "../types.ts";
import { syntheticFeatureMap } from "./synthetic_features.ts";
import { medianTime } from "./median_time.ts";
import { pythonOrtTimes } from "./python_ort.ts";
import { loadIsnetModel } from "../encoder/isnet_model.ts";
import { matVec } from "../eigensolve/matvec.ts";
import { symmetricMatVec } from "../eigensolve/symmetric_matvec.ts";
import { matrixThreads } from "../wasm/matrix_team.ts";
import { squareMatrix } from "../wasm/square_matrix.ts";
import { plural } from "../viz/plural.ts";
import { refinePamrSync } from "../pamr/pamr.ts";
import { pamrWorkspace } from "../pamr/pamr_simd.ts";

const PHOTO = new URL("../../docs/examples/chelsea.png", import.meta.url);
const PHOTOS = ["chelsea.png", "coffee.png"].map((f) => new URL(`../../docs/examples/${f}`, import.meta.url));

/** The CLI's default work size: the long side of larger photos is brought to this. */
const WORK_SIZE = 512;

/** `image` with its long side at `size` (as `segment` brings a larger photo to its work size). */
function atLongSide(image: ImageRGB, size: number): ImageRGB {
  const s = size / Math.max(image.height, image.width);
  return resizeImage(image, Math.round(image.height * s), Math.round(image.width * s));
}

interface Row {
  stage: string;
  ms: number;
  detail?: string;
}

/**
 * PAMR + median on the CPU path (the default engine), and the TypeScript reference beside it.
 *
 * @returns The engine's median time and a detail naming the engine, the reference's time and the ratio.
 */
async function pamrTimes(
  image: ImageRGB,
  labels: Int32Array,
  runs: number,
): Promise<{ ms: number; detail: string }> {
  const fast = await medianTime(runs, () => refinePamr(image, labels, { backend: "cpu" }));
  const reference = await medianTime(runs, () => refinePamrSync(image, labels, {}, "typescript"));
  const engine = pamrWorkspace(1, 1, 1, [1]) ? "WebAssembly SIMD" : "TypeScript (no WebAssembly SIMD here)";
  return {
    ms: fast.ms,
    detail: `10 iterations, dilations 1,2,4,8; ${engine}; TypeScript reference ${
      reference.ms.toFixed(1)
    } ms (${(reference.ms / fast.ms).toFixed(1)}×)`,
  };
}

async function clusteringRows(
  features: FeatureMap,
  photo: ImageRGB,
  tau: number,
  alpha: number,
  extra: { selfLoops?: boolean; minSegmentSize?: number; maxSegments?: number },
  runs: number,
): Promise<Row[]> {
  const aff = await medianTime(runs, () => affinityMatrix(features, { alpha, selfLoops: extra.selfLoops }));
  const tree = await medianTime(
    runs,
    () => buildPartitionTree(features, { alpha, tauMax: tau, affinity: aff.value, ...extra }),
  );
  const cut = await medianTime(runs, () => cutTree(tree.value, tau));
  const k = new Set(cut.value).size;
  const small = resizeImage(photo, 128, 128);
  const a128 = await medianTime(runs, () => assignConcepts(features, cut.value, { height: 128, width: 128 }));
  const full = { height: photo.height, width: photo.width };
  const aFull = await medianTime(
    Math.max(1, Math.floor(runs / 2)),
    () => assignConcepts(features, cut.value, full),
  );
  const pamr = await pamrTimes(small, a128.value, runs);
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
    { stage: "cut", ms: cut.ms, detail: plural(k, "segment") },
    { stage: "assignment 128²", ms: a128.ms },
    { stage: `assignment ${full.height}×${full.width}`, ms: aFull.ms },
    { stage: "PAMR + median 128²", ms: pamr.ms, detail: pamr.detail },
    { stage: "clustering stage (affinity + tree + cut + assignment 128² + PAMR 128²)", ms: clustering },
  ];
}

/** The solver's hot loop: the plain-TypeScript reference against the WebAssembly SIMD kernel, same run. */
async function matVecRows(runs: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const m of [1024, 4096]) {
    const a = squareMatrix(m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j <= i; j++) a[i * m + j] = a[j * m + i] = ((i * 31 + j * 17) % 97) / 97;
    }
    const x = Float64Array.from({ length: m }, (_, i) => Math.sin(i)), out = new Float64Array(m);
    const reps = Math.max(1, Math.round(2 ** 26 / (m * m)));
    const plain = (await medianTime(runs, () => {
      for (let r = 0; r < reps; r++) matVec(a, m, x, out);
    })).ms / reps;
    const apply = symmetricMatVec(a, m);
    const simd = (await medianTime(runs, () => {
      for (let r = 0; r < reps; r++) apply(x, out);
    })).ms / reps;
    rows.push(
      { stage: `${m}², TypeScript (matVec)`, ms: plain },
      {
        stage: `${m}², WebAssembly SIMD (symmetricMatVec, ${plural(matrixThreads(), "thread")})`,
        ms: simd,
        detail: `${(plain / simd).toFixed(2)}× faster`,
      },
    );
  }
  return rows;
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
  // Scale (#16): 4,096 patches, affinity + tree + cut on the CPU path (the Gram on the runner auto picks).
  const big = syntheticFeatureMap(64, 64, 1280);
  const scale = await medianTime(
    Math.min(runs, 3),
    async () => cutTree(await buildPartitionTree(big, { alpha: 10, tauMax: 0.5 }), 0.5),
  );
  printTable("Synthetic 64×64×1280 feature map (τ=0.5, α=10)", [
    {
      stage: "affinity + tree + cut (4,096 patches)",
      ms: scale.ms,
      detail: `${plural(new Set(scale.value).size, "segment")}; the affinity alone is ${
        (4096 * 4096 * 4 / 2 ** 20).toFixed(0)
      } MiB (float32), each node's sub-matrix at most as much again`,
    },
  ]);
  printTable(
    "Lanczos mat-vec (symmetric float32 matrix, float64 vectors; same values bit for bit)",
    await matVecRows(runs),
  );
  // The native runner only when installed (deno task native-runner): loading it otherwise would download it
  // and record it in deno.lock.
  const runners = (Deno.env.get("BENCH_RUNNERS") ?? (installedNodeRuntime() ? "wasm,node" : "wasm"))
    .split(",") as OrtRunner[];
  // The wasm runner as it comes (threads for the encoder) and pinned to one thread, for the ratio.
  const variants = runners.flatMap((runner): { runner: OrtRunner; threads?: string }[] =>
    runner === "wasm"
      ? [{ runner, threads: undefined }, { runner, threads: "1" }]
      : [{ runner, threads: undefined }]
  );
  const encoderRows: (Row & { runner: string })[] = [];
  let features: FeatureMap | undefined;
  let defaults;
  // The bundled photos at the work size, and their features (from the first runner that loads).
  const workPhotos = await Promise.all(
    PHOTOS.map(async (url) => atLongSide(await loadImage(url.pathname), WORK_SIZE)),
  );
  let workFeatures: FeatureMap[] | undefined;
  for (const { runner, threads } of variants) {
    const name = runner !== "wasm" ? runner : `wasm, ${plural(wasmThreads(threads, Infinity), "thread")}`;
    const saved = Deno.env.get(THREADS_ENV);
    if (threads) Deno.env.set(THREADS_ENV, threads);
    try {
      const encoder = await loadEncoder("isnet", { runner });
      const enc = await medianTime(3, () => encoder.encode(photo));
      features ??= enc.value;
      defaults ??= encoder.defaults;
      workFeatures ??= await Promise.all(workPhotos.map((p) => encoder.encode(p)));
      encoderRows.push({
        runner: name,
        stage: `encoder (ISNet, runner ${name})`,
        ms: enc.ms,
        detail:
          `${photo.width}×${photo.height} photo → ${enc.value.height}×${enc.value.width}×${enc.value.channels}`,
      });
      await encoder.dispose();
    } catch (error) {
      console.log(`runner ${name} skipped: ${(error as Error).message.split("\n")[0]}`);
    } finally {
      if (saved === undefined) Deno.env.delete(THREADS_ENV);
      else Deno.env.set(THREADS_ENV, saved);
    }
  }
  if (!features || !defaults) throw new Error("no runner could run the ISNet encoder");
  const d = defaults;
  const base = encoderRows.find((r) => r.runner === "node");
  // ONNX Runtime's own Python binding on the same model file, where python3 can import it (the issue's baseline).
  const python = await pythonOrtTimes((await loadIsnetModel()).model.path, 5);
  for (const r of encoderRows) {
    if (base) r.detail += `; ${(r.ms / base.ms).toFixed(2)}× the native runner (onnxruntime-node)`;
    if (!("skipped" in python)) {
      r.detail += `; ${(r.ms / python.defaultThreads).toFixed(2)}× Python onnxruntime`;
    }
  }
  if ("skipped" in python) console.log(`Python onnxruntime baseline skipped: ${python.skipped}`);
  else {
    encoderRows.push({
      runner: "python",
      stage: `baseline: Python onnxruntime ${python.version}, session.run alone, default threads`,
      ms: python.defaultThreads,
      detail: `one thread ${python.oneThread.toFixed(0)} ms; same model file, 1024² input`,
    });
  }
  // The stages alone, with the paper's τ rule at the settings the authors' harness uses (../shared/bench/).
  printTable(
    "ISNet features of docs/examples/chelsea.png, paper's τ rule (τ=0.15, α=5, as bench-reference)",
    [...encoderRows, ...await clusteringRows(features, photo, 0.15, 5, {}, runs)],
  );
  // The default path after the encoder, exactly as `segment` runs it (the encoder's sidecar settings, stop
  // rule and border ring, assignment + PAMR at the CLI's work size), on the features computed above.
  const perImage = await segmentPathRows(features, photo, runs);
  const rows = [...encoderRows, ...perImage.rows];
  // What `eval` and a folder of photos get: images one after the other, encoder then the per-image stages.
  for (const r of encoderRows.filter((e) => e.runner !== "python")) {
    rows.push({
      stage: `throughput, runner ${r.runner}`,
      ms: r.ms + perImage.total,
      detail: `${
        (1000 / (r.ms + perImage.total)).toFixed(2)
      } images/s (encoder + the rest, one image at a time)${
        "skipped" in python
          ? ""
          : `; the whole image takes ${
            ((r.ms + perImage.total) / python.defaultThreads).toFixed(2)
          }× Python's encoder alone`
      }`,
    });
  }
  printTable(
    `Default segment path on chelsea.png (ISNet sidecar: ${
      d.stopRule ?? "tau"
    } rule, τ=${d.tau}, α=${d.alpha})`,
    rows,
  );
  // Photos larger than the work size (most photos) are segmented at 512 px on the long side.
  const workRows: Row[] = [];
  for (const [i, url] of PHOTOS.entries()) {
    const name = url.pathname.split("/").pop();
    const { rows } = await segmentPathRows(workFeatures![i], workPhotos[i], runs);
    workRows.push(...rows.map((r) => ({ ...r, stage: `${name}: ${r.stage}` })));
  }
  printTable(
    `Default segment path at the ${WORK_SIZE}-px work size (the bundled photos brought to it)`,
    workRows,
  );
}

/**
 * Per-stage medians of `createSegmenter().segment()` with the ISNet defaults, its encoder replaced by the
 * features already computed (so only the stages after the encoder run).
 */
async function segmentPathRows(
  features: FeatureMap,
  photo: ImageRGB,
  runs: number,
): Promise<{ rows: Row[]; total: number }> {
  const isnet = await loadEncoder("isnet", { runner: "wasm" });
  await isnet.dispose(); // only its id and defaults are used
  const cached = {
    id: isnet.id,
    defaults: isnet.defaults,
    encode: () => Promise.resolve(features),
    dispose: () => Promise.resolve(),
  };
  const seg = await createSegmenter({ encoder: cached, backend: "cpu" });
  const timings: Record<string, number[]> = {};
  let last;
  for (let i = 0; i <= runs; i++) {
    last = await seg.segment(photo);
    if (i === 0) continue; // warm-up
    for (const [k, v] of Object.entries(last.timings)) (timings[k] ??= []).push(v);
  }
  await seg.dispose();
  const median = (k: string) => timings[k].sort((p, q) => p - q)[Math.floor(timings[k].length / 2)];
  const size = `${last!.workSize.width}×${last!.workSize.height}`;
  const rows: Row[] = [
    { stage: "affinity", ms: median("affinity") },
    { stage: "partition tree", ms: median("tree"), detail: `${last!.tree.nodes.length} nodes` },
    { stage: "cut", ms: median("cut"), detail: plural(last!.segments, "segment") },
    { stage: `assignment + PAMR + median at the work size ${size}`, ms: median("assign") + median("refine") },
    { stage: "per image after the encoder (segment's own timing)", ms: median("total") - median("encode") },
  ];
  return { rows, total: rows[rows.length - 1].ms };
}
