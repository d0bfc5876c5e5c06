/**
 * The stage functions of DiffCut, each in one place for both backends: every function below pairs a stage's
 * plain-TypeScript reference (`lib/<stage>/<name>.ts`, the specification) with its WebGPU twin
 * (`lib/<stage>/<name>_gpu.ts`) through `runStage`, which is where `backend: "auto" | "cpu" | "webgpu"` is decided
 * (and recorded, see `recordStageRuns`). No reference file imports its twin, and no stage file imports the
 * backend chooser: data flows down from here.
 *
 * @module
 */
import { type AffinityOptions, checkAffinityInput, cosineGram, finishAffinity } from "./affinity/affinity.ts";
import { normalizeRows } from "./features/normalize_rows.ts";
import { affinityGpuUnfit, affinityMatrixGpu } from "./affinity/affinity_gpu.ts";
import { ConstantAffinityError } from "./affinity/constant_affinity_error.ts";
import { affinityFromGramOnnx } from "./affinity/gram_onnx.ts";
import { releaseMatrix } from "./wasm/square_matrix.ts";
import { runStage } from "./gpu/backend.ts";
import {
  buildPartitionTreeSync,
  checkTreeOptions,
  type PartitionTree,
  type PartitionTreeOptions,
} from "./ncut/partition_tree.ts";
import { buildPartitionTreeGpu } from "./ncut/partition_tree_gpu.ts";
import { kwayInitialLabels } from "./ncut/kway_init.ts";
import {
  checkKwayOptions,
  compactLabels,
  type KwayNcutOptions,
  type KwayNcutResult,
  kwayStepperReference,
  ncutObjective,
  solveKwayNcut,
} from "./ncut/kway_ncut.ts";
import { kwayNcutGpu } from "./ncut/kway_ncut_gpu.ts";
import {
  checkPamrInput,
  DEFAULT_PAMR_OPTIONS,
  distinctLabelCount,
  type PamrOptions,
  refinePamrSync,
} from "./pamr/pamr.ts";
import { refinePamrGpu } from "./pamr/pamr_gpu.ts";
import type { Backend, FeatureMap, ImageRGB } from "./types.ts";
import {
  type AssignConceptsOptions,
  assignConceptsSync,
  checkAssignInput,
  DEFAULT_ASSIGN_OPTIONS,
} from "./upsample/assign.ts";
import { assignConceptsGpu } from "./upsample/assign_gpu.ts";
import { assignAndRefineGpu } from "./upsample/assign_refine_gpu.ts";

/**
 * Builds DiffCut's patch affinity `W = minmax(cos)^α` (`n×n`, `n = h·w`, row-major float32).
 *
 * @param features Feature map `[h, w, c]`; every vector must be finite and non-zero.
 * @param options See {@linkcode AffinityOptions}.
 * @returns The affinity matrix, symmetric, entries in [0, 1].
 * @throws {RangeError} When alpha < 1, the map has fewer than 2 patches, the backend is unknown, or (backend "webgpu") the matrix exceeds the device's storage binding limit.
 * @throws {ConstantAffinityError} When the features are all identical (a RangeError).
 * @throws {TypeError} When the data length does not match the shape or holds NaN/Inf/zero vectors.
 *
 * @example
 * ```ts
 * import { affinityMatrix } from "./stages.ts";
 * const f = { height: 1, width: 3, channels: 2, data: new Float32Array([1, 0, 0, 1, 1, 0]) };
 * const w = await affinityMatrix(f, { alpha: 1 });
 * if (w[1] !== 0 || w[2] !== 1) throw new Error("orthogonal pair must be 0, equal pair 1");
 * ```
 */
export async function affinityMatrix(
  features: FeatureMap,
  options: AffinityOptions = {},
): Promise<Float32Array> {
  const { alpha, n } = checkAffinityInput(features, options);
  const c = features.channels;
  const selfLoops = options.selfLoops ?? true;
  return await runStage(options.backend, {
    stage: "affinity",
    work: n * n * c,
    fits: (ctx) => affinityGpuUnfit(ctx, n, c),
    gpu: async (ctx) => (await affinityMatrixGpu(ctx, features, { alpha, selfLoops })).w,
    cpu: async () => {
      const unit = normalizeRows(features);
      // Large products go to ONNX Runtime's SIMD MatMul; small ones stay in TypeScript (no session start-up).
      if (n * n * c >= ONNX_GRAM_MIN_WORK) {
        return await affinityFromGramOnnx(unit, n, c, alpha, selfLoops);
      }
      return finishAffinity(cosineGram(unit, n, c), n, alpha, selfLoops);
    },
  });
}

/**
 * Multiply-adds above which the CPU path of {@linkcode affinityMatrix} computes the Gram matrix with ONNX Runtime's
 * SIMD MatMul instead of the TypeScript reference (`cosineGram`): the same float32 products, summed in another
 * order, 4–8× faster on large maps (`tests/affinity/affinity_test.ts` checks the two agree).
 */
export const ONNX_GRAM_MIN_WORK = 1 << 24;

/**
 * Builds the partition tree of DiffCut's recursive normalized cut on a feature map.
 *
 * @param features Feature map `[h, w, c]` (at least 2 patches, finite, non-zero vectors).
 * @param options See {@linkcode PartitionTreeOptions}.
 * @returns The tree; cut it with `cutTree`.
 * @throws {RangeError} On τ ≤ 0, α < 1, a map with one patch, or bad option values.
 * @throws {TypeError} On a malformed feature map (NaN/Inf, zero vectors, length mismatch).
 *
 * @example
 * ```ts
 * import { buildPartitionTree } from "./stages.ts";
 * import { cutTree } from "./ncut/cut_tree.ts";
 * // Two clearly different halves of a 2×4 grid.
 * const data = new Float32Array(8 * 2);
 * for (let i = 0; i < 8; i++) data.set(i % 4 < 2 ? [1, 0.1] : [0.1, 1], i * 2);
 * const tree = await buildPartitionTree({ height: 2, width: 4, channels: 2, data }, { tauMax: 0.5 });
 * const labels = cutTree(tree, 0.5);
 * if (labels[0] === labels[3] || labels[0] !== labels[1]) throw new Error("halves not found");
 * ```
 */
export async function buildPartitionTree(
  features: FeatureMap,
  options: PartitionTreeOptions = {},
): Promise<PartitionTree> {
  if (options.affinity) return buildPartitionTreeSync(features, options);
  checkTreeOptions(options);
  const n = features.height * features.width;
  return await runStage(options.backend, {
    stage: "tree",
    work: n * n,
    fits: (ctx) => affinityGpuUnfit(ctx, n, features.channels),
    gpu: (ctx) => buildPartitionTreeGpu(ctx, features, options),
    cpu: () => buildPartitionTreeCpu(features, options),
  });
}

/** The CPU path of {@linkcode buildPartitionTree}: the affinity through {@linkcode affinityMatrix}, then the
 * synchronous reference builder. */
async function buildPartitionTreeCpu(
  features: FeatureMap,
  options: PartitionTreeOptions,
): Promise<PartitionTree> {
  const t0 = performance.now();
  let affinity: Float32Array | undefined;
  try {
    affinity = await affinityMatrix(features, {
      alpha: options.alpha,
      selfLoops: options.selfLoops,
      backend: options.backend,
    });
  } catch (e) {
    // A constant affinity is handled (one segment, with a note) by the synchronous builder.
    if (!(e instanceof ConstantAffinityError)) throw e;
  }
  const ms = performance.now() - t0;
  const tree = buildPartitionTreeSync(features, { ...options, affinity });
  tree.timings.affinity = ms;
  // The tree keeps no reference to the affinity: its memory goes to the next matrix (a fresh 64 MB affinity at
  // 4,096 patches costs ~30 ms of page faults; image after image, the next one reuses it).
  if (affinity) releaseMatrix(affinity);
  return tree;
}

/**
 * A discrete K-way normalized cut on the recursive cut's affinity: from an initial partition (by default the
 * recursive cut's own, capped at k segments), sweeps of exact row-wise moves, each accepted only when
 * `NCut = Σ_k cut(A_k, V∖A_k)/vol(A_k)` decreases, until no move helps (`lib/ncut/kway_ncut.ts`,
 * `docs/kway_ncut.md`). Never worse than its start: from `init: "recursive"` never worse than the recursive cut.
 *
 * @example Two blocks found from a seeded start
 * ```ts
 * import assert from "node:assert/strict";
 * import { kwayNcut } from "./stages.ts";
 * const data = new Float32Array(16 * 2);
 * for (let i = 0; i < 16; i++) data.set(i % 4 < 2 ? [1, 0.1 * (i % 3)] : [0.1 * (i % 3), 1], i * 2);
 * const result = await kwayNcut({ height: 4, width: 4, channels: 2, data }, { k: 2, alpha: 5, init: "seeded", backend: "cpu" });
 * assert.equal(result.segments, 2);
 * assert.notEqual(result.labels[0], result.labels[3]);
 * assert.ok(result.objective <= result.initialObjective);
 * ```
 *
 * @param features Feature map `[h, w, c]` (at least 2 patches, finite, non-zero vectors).
 * @param options k, the affinity's α and self-loops, the start, sweeps, inertia, seed, backend; see
 * {@linkcode KwayNcutOptions}.
 * @returns Grid labels with at most k segments, the objective reached and the start's, sweeps and moves.
 * @throws {RangeError} On a bad option (k, α, init, …), a map with one patch, or (backend "webgpu") an affinity
 * above the device's storage binding limit.
 * @throws {TypeError} On a malformed feature map.
 */
export async function kwayNcut(features: FeatureMap, options: KwayNcutOptions): Promise<KwayNcutResult> {
  const n = features.height * features.width;
  const o = checkKwayOptions(options, n);
  let w: Float32Array;
  try {
    w = await affinityMatrix(features, { alpha: o.alpha, selfLoops: o.selfLoops, backend: options.backend });
  } catch (e) {
    if (!(e instanceof ConstantAffinityError)) throw e;
    // Identical features: one segment (the other slots stay empty and count 1 each).
    const labels = new Int32Array(n);
    return {
      labels,
      segments: 1,
      k: o.k,
      objective: o.k - 1,
      initialObjective: o.k - 1,
      iterations: 0,
      backtracks: 0,
      moves: 0,
      converged: true,
      history: [o.k - 1],
    };
  }
  const init = kwayInitialLabels(o.init, features, w, o.k, o);
  return await runStage(options.backend, {
    stage: "kway",
    work: n * n,
    fits: (ctx) => affinityGpuUnfit(ctx, n, 1),
    gpu: (ctx) => kwayNcutGpu(ctx, w, n, init, o.k, o),
    cpu: () => solveKwayNcut(kwayStepperReference(w, n, o.k), w, n, init, o.k, o),
  });
}

/**
 * NCut over k slots of grid labels on the recursive cut's affinity (float64): `Σ_k cut(A_k, V∖A_k)/vol(A_k)`, an
 * empty slot counting 1. Compare partitions of any solver with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { partitionNcut } from "./stages.ts";
 * const f = { height: 1, width: 4, channels: 2, data: new Float32Array([1, 0, 1, 0.1, 0, 1, 0.1, 1]) };
 * const split = await partitionNcut(f, new Int32Array([0, 0, 1, 1]), { alpha: 1 });
 * const mixed = await partitionNcut(f, new Int32Array([0, 1, 0, 1]), { alpha: 1 });
 * assert.ok(split < mixed);
 * ```
 *
 * @param features Feature map.
 * @param labels Grid labels (any values; renumbered).
 * @param options α, self-loops, backend of the affinity, and k (default: the number of distinct labels).
 * @returns The objective.
 * @throws {RangeError} Like {@linkcode affinityMatrix}, or when labels do not match the grid.
 */
export async function partitionNcut(
  features: FeatureMap,
  labels: Int32Array,
  options: { alpha?: number; selfLoops?: boolean; backend?: Backend; k?: number } = {},
): Promise<number> {
  const n = features.height * features.width;
  if (labels.length !== n) throw new RangeError(`Invalid labels: ${labels.length} for ${n} patches`);
  const compact = compactLabels(labels);
  const k = Math.max(options.k ?? compact.count, compact.count);
  let w: Float32Array;
  try {
    w = await affinityMatrix(features, options);
  } catch (e) {
    if (!(e instanceof ConstantAffinityError)) throw e;
    return k - 1;
  }
  return ncutObjective(w, n, compact.labels, k);
}

/**
 * Assigns every pixel of an output grid to a cluster of a patch-grid label map, as DiffCut's
 * `generate_masks` does after the recursive NCut (the reference's `diffcut/recursive_normalized_cut.py`).
 *
 * 1. L2-normalise each patch vector: `f̂ = f / max(‖f‖, 1e-12)`.
 * 2. For each distinct grid label, in ascending order, `e_k = Σ_{i∈k} f̂_i / (|k| + 1e-8)`.
 * 3. Score each output pixel by `up(F̂)(x) · e_k`, where `up` is a bilinear resize to `size` with PyTorch's
 *    `align_corners=False` rule; computed as the bilinear resize of the patch scores `F̂ Eᵀ` (see the module
 *    notes: identical in exact arithmetic, float64 here).
 * 4. Take the argmax over clusters; on equal scores the cluster with the smaller label wins.
 *
 * **Output values.** Each pixel receives the grid label value of its winning cluster (not the cluster's
 * index). With grid labels `0..K−1`, as the partition stage produces, this is the same as the reference's
 * argmax index; with other values (gaps, negative labels) the original values are kept. A label may
 * receive no pixel at all.
 *
 * @example A 1×2 grid upsampled to 1×4
 * ```ts
 * import assert from "node:assert/strict";
 * import { assignConcepts } from "./stages.ts";
 * const features = { data: new Float32Array([1, 0, 0, 1]), height: 1, width: 2, channels: 2 };
 * const labels = await assignConcepts(features, new Int32Array([5, 9]), { height: 1, width: 4 });
 * assert.deepEqual([...labels], [5, 5, 9, 9]);
 * ```
 *
 * @param features Patch features `[height, width, channels]`, finite; any norm (they are normalised here).
 * @param gridLabels One int32 label per patch, row-major (`features.height * features.width` of them).
 * @param size Output size in pixels; both positive integers.
 * @param options Backend choice; see {@linkcode AssignConceptsOptions}.
 * @returns `size.height × size.width` labels, row-major, each one of the values in `gridLabels`.
 * @throws {TypeError} If `features.data` is not a Float32Array, `gridLabels` is not an Int32Array, or `size` is not an object.
 * @throws {RangeError} If a size is not a positive integer, `gridLabels` has the wrong length, a feature is not
 * finite, or `backend` is unknown.
 */
export function assignConcepts(
  features: FeatureMap,
  gridLabels: Int32Array,
  size: { height: number; width: number },
  options: AssignConceptsOptions = {},
): Promise<Int32Array> {
  try {
    checkAssignInput(features, gridLabels, size);
  } catch (e) {
    return Promise.reject(e);
  }
  const k = new Set(gridLabels).size;
  return runStage(options.backend ?? DEFAULT_ASSIGN_OPTIONS.backend, {
    stage: "assign",
    work: size.height * size.width * k + gridLabels.length * k * features.channels,
    cpu: () => Promise.resolve(assignConceptsSync(features, gridLabels, size)),
    gpu: (ctx) => assignConceptsGpu(ctx, features, gridLabels, size),
  });
}

/**
 * Refines a label map with PAMR as DiffCut's evaluation does (the reference's `eval_diffcut.py`):
 *
 * 1. one-hot masks over the distinct labels in ascending order;
 * 2. `iterations` PAMR steps over `dilations` (see {@linkcode propagatePamr});
 * 3. per pixel, the index of the largest mask (the lowest index wins ties);
 * 4. if `median`, a 3×3 median filter with scipy `reflect` borders ({@linkcode medianFilter3x3}).
 *
 * **Output values are renumbered**, as in the reference: a pixel gets the *rank* of its label among the
 * sorted distinct input labels, so the output lies in `0..K'−1` where `K'` is the number of distinct input
 * labels (a rank may end up unused). Input labels `0..K'−1` without gaps keep their values.
 *
 * @example Two flat colour halves repair a mislabelled pixel
 * ```ts
 * import assert from "node:assert/strict";
 * import { refinePamr } from "./stages.ts";
 * const h = 4, w = 4;
 * const data = new Float32Array(h * w * 3).map((_, i) => (Math.floor(i / 3) % w < 2 ? 0.1 : 0.9));
 * const labels = new Int32Array(h * w).map((_, i) => (i % w < 2 ? 10 : 20));
 * labels[5] = 20; // noise
 * const out = await refinePamr({ data, height: h, width: w }, labels, { median: false });
 * assert.deepEqual([...out], [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
 * ```
 *
 * @param image RGB image `[height, width, 3]`, finite values, normally in [0, 1] (not mean/std normalised).
 * @param labels `height × width` int32 labels of the same size as the image, row-major.
 * @param options Iterations, dilations, median and backend; see {@linkcode PamrOptions}.
 * @returns `height × width` labels in `0..K'−1` (ranks of the input labels).
 * @throws {TypeError} If `image.data` is not a Float32Array, `labels` is not an Int32Array, or `dilations` is not an array.
 * @throws {RangeError} If `labels` does not have the image's size, the image is empty or not finite, an option is out
 * of range, or `backend` is unknown.
 */
export function refinePamr(
  image: ImageRGB,
  labels: Int32Array,
  options: PamrOptions = {},
): Promise<Int32Array> {
  try {
    checkPamrInput(image, labels, options);
  } catch (e) {
    return Promise.reject(e);
  }
  const iterations = options.iterations ?? DEFAULT_PAMR_OPTIONS.iterations;
  const dilations = options.dilations ?? DEFAULT_PAMR_OPTIONS.dilations;
  return runStage(options.backend ?? DEFAULT_PAMR_OPTIONS.backend, {
    stage: "pamr",
    work: labels.length * 8 * dilations.length * Math.max(1, iterations) * distinctLabelCount(labels),
    cpu: () => Promise.resolve(refinePamrSync(image, labels, options)),
    gpu: (ctx) => refinePamrGpu(ctx, image, labels, options),
  });
}

/**
 * Concept assignment followed by PAMR + median at the image's size, as one stage: on WebGPU both run in one
 * submission (one host wait instead of two, the assigned cluster indices are PAMR's ranks on the device); on the
 * CPU it is {@linkcode assignConcepts} then {@linkcode refinePamr}. The output values differ between the two
 * paths (ranks there, grid labels here) but name the same segments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assignAndRefine } from "./stages.ts";
 * const features = { data: new Float32Array([1, 0, 0, 1]), height: 1, width: 2, channels: 2 };
 * const image = { data: new Float32Array(4 * 4 * 3).map((_, i) => (Math.floor(i / 3) % 4 < 2 ? 0.1 : 0.9)), height: 4, width: 4 };
 * const labels = await assignAndRefine(features, new Int32Array([0, 1]), image, { backend: "cpu" });
 * assert.deepEqual([...labels.subarray(0, 4)], [0, 0, 1, 1]);
 * ```
 *
 * @param features Patch features.
 * @param gridLabels One label per patch.
 * @param image The image at the output size (PAMR's guide).
 * @param options Backend choice.
 * @returns Labels at the image's size.
 * @throws {RangeError} Like {@linkcode assignConcepts} and {@linkcode refinePamr}.
 */
export function assignAndRefine(
  features: FeatureMap,
  gridLabels: Int32Array,
  image: ImageRGB,
  options: { backend?: Backend } = {},
): Promise<Int32Array> {
  const size = { height: image.height, width: image.width };
  try {
    checkAssignInput(features, gridLabels, size);
  } catch (e) {
    return Promise.reject(e);
  }
  const k = new Set(gridLabels).size;
  const pixels = size.height * size.width;
  const pamrWork = pixels * 8 * DEFAULT_PAMR_OPTIONS.dilations.length * DEFAULT_PAMR_OPTIONS.iterations * k;
  return runStage(options.backend, {
    stage: "assign",
    alsoRuns: ["pamr"],
    work: pixels * k + gridLabels.length * k * features.channels + pamrWork,
    gpu: (ctx) => assignAndRefineGpu(ctx, features, gridLabels, image),
    cpu: () => Promise.resolve(refinePamrSync(image, assignConceptsSync(features, gridLabels, size), {})),
  });
}
