/**
 * High-resolution concept assignment ("masked spatial marginal mean"), REFERENCE.md §3.
 *
 * Every cluster of the patch-grid label map gets an embedding, the mean of its L2-normalised patch
 * features. The unit features are bilinearly upsampled (PyTorch `align_corners=False`) to the output
 * size, each output pixel is scored against every cluster embedding by a dot product, and the pixel
 * takes the label with the highest score (the lowest label wins ties).
 *
 * Notes
 * -----
 * The upsampled feature tensor is never built: at 1024² × 1280 channels it would take 5 GB. Bilinear
 * interpolation and the dot product are both linear, so
 * `up(F̂)(x) · e_k = Σ_ab w_ab(x) (f̂_ab · e_k) = up(F̂ Eᵀ)(x)_k`: the patch scores `S = F̂ Eᵀ`
 * (`n × K`) are computed first and only their `K` channels are interpolated. In exact arithmetic the
 * two orders give the same scores; in floating point they round differently, so a pixel whose two
 * best scores differ by less than about 1e-6 of their size may go the other way than in the
 * reference's float32 computation. Here scores and their interpolation are computed in float64 (from
 * float32 unit features and float32 embeddings), which is closer to the exact value than the
 * reference's float32 arithmetic.
 *
 * References
 * ----------
 * Couairon et al., "DiffCut: Catalyzing Zero-Shot Semantic Segmentation with Diffusion Features and
 * Recursive Normalized Cut", NeurIPS 2024, arXiv:2406.02842.
 *
 * @module
 */

import type { Backend, FeatureMap } from "../types.ts";
import { normalizeRows } from "../features/normalize_rows.ts";
import { rankLabels } from "../rank_labels.ts";

/** Options of `assignConcepts` (`lib/stages.ts`). */
export interface AssignConceptsOptions {
  /**
   * Where to run: `"cpu"` (TypeScript), `"webgpu"` (WGSL kernels, CPU fallback with a notice when no adapter
   * exists), or `"auto"` (the faster of the two on this adapter, measured; small work stays on the CPU).
   *
   * @default {"auto"}
   */
  backend?: Backend;
}

/** Default options of `assignConcepts` (`lib/stages.ts`). */
export const DEFAULT_ASSIGN_OPTIONS: Readonly<Required<AssignConceptsOptions>> = Object.freeze({
  backend: "auto",
});

/** Cluster embeddings of a grid label map, as returned by {@linkcode clusterEmbeddings}. */
export interface ClusterEmbeddings {
  /** The distinct grid labels in ascending order; embedding `k` belongs to `labels[k]`. */
  labels: Int32Array;
  /** `labels.length × channels` row-major float32 embeddings, not re-normalised. */
  embeddings: Float32Array;
  /** Number of feature channels (columns of `embeddings`). */
  channels: number;
}

/** Added to a cluster's size before dividing its feature sum (`MaskPooling` in the reference). */
const POOL_EPS = Math.fround(1e-8);

/**
 * The shared unit rows ({@linkcode normalizeRows}), after checking that every value is finite (the assignment
 * takes features from any caller, not only from a validated feature map).
 *
 * @param features The patch features.
 * @returns A new `height × width × channels` array of unit (or zero) vectors.
 * @throws {RangeError} If a feature value is not finite.
 */
function unitRows(features: FeatureMap): Float32Array {
  const { data } = features;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throwNonFinite(data, i, 1);
  }
  return normalizeRows(features);
}

/**
 * Checks that `features` is a well-formed feature map (finiteness is checked by `unitRows`).
 *
 * @param features The value to check.
 * @throws {TypeError} If `data` is not a Float32Array.
 * @throws {RangeError} If a dimension is not a positive integer or the length does not match.
 */
function validateFeatures(features: FeatureMap): void {
  const { data, height, width, channels } = features;
  if (!(data instanceof Float32Array)) {
    throw new TypeError(`Features data must be a Float32Array, received ${typeName(data)}`);
  }
  for (const [name, v] of [["height", height], ["width", width], ["channels", channels]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Features ${name} must be a positive integer, received ${v}`);
    }
  }
  if (data.length !== height * width * channels) {
    throw new RangeError(
      `Features data must hold ${height}×${width}×${channels} = ${
        height * width * channels
      } values, received ${data.length}`,
    );
  }
}

/**
 * Throws for the first non-finite value of `data[offset .. offset + count)`.
 *
 * @param data Feature values.
 * @param offset First index to scan.
 * @param count Number of values to scan.
 * @throws {RangeError} Always, naming the value and its index.
 */
function throwNonFinite(data: Float32Array, offset: number, count: number): never {
  for (let i = offset; i < offset + count; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`Features must be finite, received ${data[i]} at index ${i}`);
    }
  }
  throw new RangeError(`Features must be finite, received a non-finite norm at index ${offset}`);
}

/**
 * Checks that `gridLabels` is an Int32Array with one label per patch of `features`.
 *
 * @param features The feature map the labels belong to.
 * @param gridLabels The value to check.
 * @throws {TypeError} If `gridLabels` is not an Int32Array.
 * @throws {RangeError} If its length is not `features.height * features.width`.
 */
function validateGridLabels(features: FeatureMap, gridLabels: Int32Array): void {
  if (!(gridLabels instanceof Int32Array)) {
    throw new TypeError(`Grid labels must be an Int32Array, received ${typeName(gridLabels)}`);
  }
  const n = features.height * features.width;
  if (gridLabels.length !== n) {
    throw new RangeError(
      `Grid labels must have ${n} elements (features ${features.height}×${features.width}), received ${gridLabels.length}`,
    );
  }
}

/**
 * Names the type of a value for error messages.
 *
 * @param v Any value.
 * @returns The constructor name, or `typeof` for primitives and `null`.
 */
function typeName(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

/**
 * Computes the embedding of every cluster of a patch-grid label map: the mean of the cluster's
 * L2-normalised patch features, `e_k = Σ_{i∈k} f̂_i / (|k| + 1e-8)`, not re-normalised (REFERENCE.md §3.1).
 *
 * Clusters are ordered by ascending label value (as `torch.unique`). Feature sums are accumulated in
 * float64 in patch order, multiplied by the float32 weight `1/(|k| + 1e-8)` (the reference pools with an
 * einsum against `mask / (|k| + 1e-8)`) and rounded to float32.
 *
 * @example Two clusters of a 1×3 grid
 * ```ts
 * import assert from "node:assert/strict";
 * import { clusterEmbeddings } from "./assign.ts";
 * const features = { data: new Float32Array([3, 0, 0, 2, 0, 5]), height: 1, width: 3, channels: 2 };
 * const { labels, embeddings } = clusterEmbeddings(features, new Int32Array([4, 1, 4]));
 * assert.deepEqual([...labels], [1, 4]);
 * assert.deepEqual([...embeddings], [0, 1, 0.5, 0.5]);
 * ```
 *
 * @param features Patch features `[height, width, channels]`, finite.
 * @param gridLabels One label per patch, row-major; any int32 values.
 * @returns The sorted distinct labels and their float32 embeddings.
 * @throws {TypeError} If `features.data` is not a Float32Array or `gridLabels` is not an Int32Array.
 * @throws {RangeError} If a dimension is not a positive integer, a length does not match, or a feature is not finite.
 */
export function clusterEmbeddings(features: FeatureMap, gridLabels: Int32Array): ClusterEmbeddings {
  validateFeatures(features);
  validateGridLabels(features, gridLabels);
  const unit = unitRows(features);
  const { values: labels, ranks: index } = rankLabels(gridLabels);
  const embeddings = poolClusters(unit, features.channels, index, labels.length);
  return { labels, embeddings, channels: features.channels };
}

/**
 * Mean of the unit vectors in each cluster, `Σ f̂ / (|k| + 1e-8)`.
 *
 * @param unit `n × channels` unit feature vectors.
 * @param channels Number of channels.
 * @param index Cluster index of every patch.
 * @param count Number of clusters.
 * @returns `count × channels` float32 embeddings.
 */
function poolClusters(unit: Float32Array, channels: number, index: Int32Array, count: number): Float32Array {
  const sums = new Float64Array(count * channels);
  const sizes = new Float64Array(count);
  for (let i = 0; i < index.length; i++) {
    const k = index[i];
    sizes[k]++;
    addRow(sums, k * channels, unit, i * channels, channels);
  }
  const out = new Float32Array(count * channels);
  for (let k = 0; k < count; k++) {
    // The reference multiplies each patch by the float32 weight 1/(|k| + 1e-8) and sums (an einsum with
    // `mask / denorm`); `weight · Σ f̂` is the exact value of that sum.
    const weight = Math.fround(1 / Math.fround(sizes[k] + POOL_EPS));
    for (let c = 0; c < channels; c++) out[k * channels + c] = sums[k * channels + c] * weight;
  }
  return out;
}

/** `sums[s + c] += row[o + c]` for c = 0…channels−1 (a call per patch: see `patchScores`). */
function addRow(sums: Float64Array, s: number, row: Float32Array, o: number, channels: number): void {
  for (let c = 0; c < channels; c++) sums[s + c] += row[o + c];
}

/**
 * Source indices and weights of a 1-D bilinear resize with PyTorch's `align_corners=False` rule:
 * `scale = in/out`, `src = max(scale·(dst + 0.5) − 0.5, 0)`, `i0 = ⌊src⌋`, `i1 = min(i0 + 1, in − 1)`,
 * `λ1 = src − i0`, `λ0 = 1 − λ1`, each step rounded to float32 as PyTorch's float kernels compute it.
 *
 * @param inSize Input length.
 * @param outSize Output length.
 * @returns Per output position: `i0`, `i1`, `w0`, `w1`.
 */
export function bilinearAxis(inSize: number, outSize: number) {
  const f = Math.fround;
  const scale = f(inSize / outSize);
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w0 = new Float64Array(outSize);
  const w1 = new Float64Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const src = Math.max(f(f(scale * f(d + 0.5)) - 0.5), 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    const l1 = f(src - lo);
    i0[d] = lo;
    i1[d] = lo < inSize - 1 ? lo + 1 : lo;
    w1[d] = l1;
    w0[d] = f(1 - l1);
  }
  return { i0, i1, w0, w1 };
}

/**
 * Checks the inputs of `assignConcepts` (`lib/stages.ts`) (shared by the CPU and WebGPU paths).
 *
 * @param features Patch features.
 * @param gridLabels Grid labels.
 * @param size Output size.
 * @throws {TypeError} If `features.data` is not a Float32Array, `gridLabels` is not an Int32Array, or `size` is not an object.
 * @throws {RangeError} If a size is not a positive integer or `gridLabels` has the wrong length.
 */
export function checkAssignInput(
  features: FeatureMap,
  gridLabels: Int32Array,
  size: { height: number; width: number },
): void {
  if (size === null || typeof size !== "object") {
    throw new TypeError(`Size must be an object { height, width }, received ${typeName(size)}`);
  }
  const outH = size.height;
  const outW = size.width;
  if (!Number.isInteger(outH) || outH < 1 || !Number.isInteger(outW) || outW < 1) {
    throw new RangeError(`Size must have positive integer height and width, received ${outH}×${outW}`);
  }
  validateFeatures(features);
  validateGridLabels(features, gridLabels);
}

/** The labels of one output row from its vertically blended scores (a function per row, for V8: see
 * `patchScores`). */
function assignRow(
  row: Float64Array,
  ax: ReturnType<typeof bilinearAxis>,
  K: number,
  labels: Int32Array,
  out: Int32Array,
  o: number,
  outW: number,
): void {
  for (let x = 0; x < outW; x++) {
    const c0 = ax.i0[x] * K;
    const c1 = ax.i1[x] * K;
    const wx0 = ax.w0[x];
    const wx1 = ax.w1[x];
    let best = 0;
    let bestScore = wx0 * row[c0] + wx1 * row[c1];
    for (let k = 1; k < K; k++) {
      const s = wx0 * row[c0 + k] + wx1 * row[c1 + k];
      if (s > bestScore) {
        bestScore = s;
        best = k;
      }
    }
    out[o + x] = labels[best];
  }
}

/**
 * One patch's scores against the K embeddings, in float64: each score sums its products in four interleaved
 * partial sums, channel c into sum c mod 4. Two clusters at a time: eight independent sums keep the adder busy, and
 * each score still gets its own four sums in channel order (the same bits as one cluster at a time). A function of
 * its own, called once per patch, so that V8 optimises it after a few hundred calls; as a loop inside a function
 * called once per image it ran interpreted until on-stack replacement, up to 30 ms of an image's first run.
 */
function patchScores(
  unit: Float32Array,
  o: number,
  embeddings: Float32Array,
  channels: number,
  K: number,
  scores: Float64Array,
  at: number,
): void {
  let k = 0;
  for (; k + 1 < K; k += 2) {
    const e = k * channels, f = e + channels;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    let c = 0;
    for (; c + 3 < channels; c += 4) {
      const u0 = unit[o + c], u1 = unit[o + c + 1], u2 = unit[o + c + 2], u3 = unit[o + c + 3];
      s0 += u0 * embeddings[e + c];
      s1 += u1 * embeddings[e + c + 1];
      s2 += u2 * embeddings[e + c + 2];
      s3 += u3 * embeddings[e + c + 3];
      t0 += u0 * embeddings[f + c];
      t1 += u1 * embeddings[f + c + 1];
      t2 += u2 * embeddings[f + c + 2];
      t3 += u3 * embeddings[f + c + 3];
    }
    for (; c < channels; c++) {
      s0 += unit[o + c] * embeddings[e + c];
      t0 += unit[o + c] * embeddings[f + c];
    }
    scores[at + k] = (s0 + s1) + (s2 + s3);
    scores[at + k + 1] = (t0 + t1) + (t2 + t3);
  }
  for (; k < K; k++) {
    const e = k * channels;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let c = 0;
    for (; c + 3 < channels; c += 4) {
      s0 += unit[o + c] * embeddings[e + c];
      s1 += unit[o + c + 1] * embeddings[e + c + 1];
      s2 += unit[o + c + 2] * embeddings[e + c + 2];
      s3 += unit[o + c + 3] * embeddings[e + c + 3];
    }
    for (; c < channels; c++) s0 += unit[o + c] * embeddings[e + c];
    scores[at + k] = (s0 + s1) + (s2 + s3);
  }
}

/**
 * The plain-TypeScript concept assignment: the reference that `assignConcepts` (`lib/stages.ts`) runs on the CPU
 * and that the WebGPU twin (`assign_gpu.ts`) is tested against. The steps and tie rules are documented on
 * `assignConcepts`.
 *
 * @param features Patch features.
 * @param gridLabels Grid labels.
 * @param size Output size.
 * @returns Output labels.
 */
export function assignConceptsSync(
  features: FeatureMap,
  gridLabels: Int32Array,
  size: { height: number; width: number },
): Int32Array {
  checkAssignInput(features, gridLabels, size);
  const outH = size.height;
  const outW = size.width;
  const { height: inH, width: inW, channels } = features;
  const unit = unitRows(features);
  const { values: labels, ranks: index } = rankLabels(gridLabels);
  const K = labels.length;
  const embeddings = poolClusters(unit, channels, index, K);
  const n = inH * inW;

  const scores = new Float64Array(n * K);
  for (let i = 0; i < n; i++) patchScores(unit, i * channels, embeddings, channels, K, scores, i * K);

  const out = new Int32Array(outH * outW);
  if (K === 1) {
    out.fill(labels[0]);
    return out;
  }
  const ay = bilinearAxis(inH, outH);
  const ax = bilinearAxis(inW, outW);
  // One input-width row of scores blended vertically for the current output row.
  const row = new Float64Array(inW * K);
  for (let y = 0; y < outH; y++) {
    const r0 = ay.i0[y] * inW * K;
    const r1 = ay.i1[y] * inW * K;
    const wy0 = ay.w0[y];
    const wy1 = ay.w1[y];
    for (let j = 0; j < inW * K; j++) row[j] = wy0 * scores[r0 + j] + wy1 * scores[r1 + j];
    assignRow(row, ax, K, labels, out, y * outW, outW);
  }
  return out;
}
