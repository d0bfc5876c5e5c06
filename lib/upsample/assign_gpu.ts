/**
 * WebGPU path of concept assignment (reference: assign.ts): row normalisation, cluster means
 * (`shaders/upsample/pool_clusters.wgsl`), patch scores `S = F̂ Eᵀ` (`patch_scores.wgsl`) and the bilinear
 * interpolation of the scores with the argmax per output pixel (`assign_argmax.wgsl`), in one submission; only
 * the labels come back. The upsampled feature tensor is never built (1024² × 1280 floats would be 5 GB).
 *
 * Arithmetic is float32 (the reference path uses float64 for the scores), so a pixel whose two best scores are
 * within float32 rounding of each other (relative gap below ~1e-6) may take the other label; the parity tests
 * check that every differing pixel is such a tie.
 *
 * @module
 */
import type { DeviceFeatureRows, FeatureMap } from "../types.ts";
import type { GpuContext } from "../gpu/device.ts";
import { withErrorScope } from "../gpu/device.ts";
import { destroyAll, storageBuffer, submitAndRead, uniformBuffer, uploadBuffer } from "../gpu/buffers.ts";
import { dispatch, getKernel, groupsFor, type Kernel } from "../gpu/kernel.ts";
import { createNormalizeRowsKernel, type NormalizeRowsKernel } from "../features/normalize_rows_gpu.ts";
import { bilinearAxis, checkAssignInput } from "./assign.ts";

const WG = 64;

/** The compiled assignment kernels. */
export interface AssignKernels {
  /** Row normalisation (shared with the affinity stage). */
  normalize: NormalizeRowsKernel;
  /** Cluster means. */
  pool: Kernel;
  /** Patch scores. */
  scores: Kernel;
  /** Interpolation + argmax. */
  argmax: Kernel;
}

/**
 * Compiles the assignment kernels once per device.
 *
 * @param ctx Device context.
 * @returns The kernels.
 */
export async function createAssignKernels(ctx: GpuContext): Promise<AssignKernels> {
  const o = { WORKGROUP_SIZE: WG };
  const [normalize, pool, scores, argmax] = await Promise.all([
    createNormalizeRowsKernel(ctx),
    getKernel(ctx.device, { stage: "upsample", kernel: "pool_clusters", overrides: o }),
    getKernel(ctx.device, { stage: "upsample", kernel: "patch_scores", overrides: o }),
    getKernel(ctx.device, { stage: "upsample", kernel: "assign_argmax", overrides: o }),
  ]);
  return { normalize, pool, scores, argmax };
}

/**
 * Checks the inputs of {@linkcode assignConceptsGpu} (as the CPU path, plus finite host features).
 *
 * @param features Host features or rows on the device.
 * @param gridLabels One int32 label per patch.
 * @param size Output size.
 * @throws {TypeError} On malformed inputs.
 * @throws {RangeError} On bad sizes or non-finite host features.
 */
export function checkAssignGpuInput(
  features: FeatureMap | DeviceFeatureRows,
  gridLabels: Int32Array,
  size: { height: number; width: number },
): void {
  // Rows already on the device (an encoder output, see feature_rows_gpu.ts) were checked for NaN/±Inf by the
  // layout kernel.
  if ("buffer" in features) {
    checkDeviceAssignInput(features, gridLabels, size);
    return;
  }
  checkAssignInput(features, gridLabels, size);
  const { data } = features;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`Features must be finite, received ${data[i]} at index ${i}`);
    }
  }
}

/**
 * Records the assignment on `pass` (inputs checked by the caller; at least two distinct grid labels): the result
 * buffer holds, per output pixel, the index of its cluster in `labels` (the sorted distinct grid labels).
 *
 * @param ctx Device context.
 * @param kernels From {@linkcode createAssignKernels}.
 * @param pass Open compute pass.
 * @param features Host features (uploaded here) or rows on the device (read in place, not freed).
 * @param gridLabels One int32 label per patch.
 * @param size Output size.
 * @returns The cluster-index buffer (`h·w` u32), the sorted distinct labels and the buffers to free after the
 * submission.
 */
export function encodeAssign(
  ctx: GpuContext,
  kernels: AssignKernels,
  pass: GPUComputePassEncoder,
  features: FeatureMap | DeviceFeatureRows,
  gridLabels: Int32Array,
  size: { height: number; width: number },
): { best: GPUBuffer; labels: Int32Array; buffers: GPUBuffer[] } {
  const onDevice = "buffer" in features;
  const labels = Int32Array.from(new Set(gridLabels)).sort();
  const K = labels.length;
  const outH = size.height, outW = size.width;
  const position = new Map<number, number>();
  labels.forEach((v, k) => position.set(v, k));
  const n = gridLabels.length;
  const cluster = new Uint32Array(n);
  const sizes = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    cluster[i] = position.get(gridLabels[i])!;
    sizes[cluster[i]]++;
  }
  // Patch indices grouped by cluster, each group in index order (the pooling kernel's visiting order).
  const offsets = new Uint32Array(K + 1);
  for (let k = 0; k < K; k++) offsets[k + 1] = offsets[k] + sizes[k];
  const members = new Uint32Array(n);
  const fill = offsets.slice(0, K);
  for (let i = 0; i < n; i++) members[fill[cluster[i]]++] = i;
  const weight = Float32Array.from(sizes, (s) => Math.fround(1 / Math.fround(s + Math.fround(1e-8))));
  const c = features.channels, c4 = Math.ceil(c / 4) * 4;
  const ay = bilinearAxis(features.height, outH);
  const ax = bilinearAxis(features.width, outW);
  const pairs = (a: Int32Array, b: Int32Array) =>
    Uint32Array.from({ length: 2 * a.length }, (_, i) => i & 1 ? b[i >> 1] : a[i >> 1]);
  const wpairs = (a: Float64Array, b: Float64Array) =>
    Float32Array.from({ length: 2 * a.length }, (_, i) => i & 1 ? b[i >> 1] : a[i >> 1]);
  const bufs = {
    features: onDevice ? undefined : uploadBuffer(ctx, "upsample.normalize_rows.features", features.data),
    unit: storageBuffer(ctx, "upsample.normalize_rows.unit", n * c4 * 4),
    members: uploadBuffer(ctx, "upsample.pool_clusters.members", members),
    offsets: uploadBuffer(ctx, "upsample.pool_clusters.offsets", offsets),
    weight: uploadBuffer(ctx, "upsample.pool_clusters.weight", weight),
    embeddings: storageBuffer(ctx, "upsample.pool_clusters.embeddings", K * c4 * 4),
    scores: storageBuffer(ctx, "upsample.patch_scores.scores", n * K * 4),
    rows: uploadBuffer(ctx, "upsample.assign_argmax.rows", pairs(ay.i0, ay.i1)),
    rowW: uploadBuffer(ctx, "upsample.assign_argmax.row_w", wpairs(ay.w0, ay.w1)),
    cols: uploadBuffer(ctx, "upsample.assign_argmax.cols", pairs(ax.i0, ax.i1)),
    colW: uploadBuffer(ctx, "upsample.assign_argmax.col_w", wpairs(ax.w0, ax.w1)),
    best: storageBuffer(ctx, "upsample.assign_argmax.best", outH * outW * 4),
  };

  const input = onDevice ? features.buffer : bufs.features!;
  kernels.normalize.encode(pass, { features: input, unit: bufs.unit }, { n, c });
  const sizesU = uniformBuffer(ctx, "upsample.params", [["u32", n], ["u32", c4], ["u32", K]]);
  dispatch(
    ctx.device,
    pass,
    kernels.pool,
    [bufs.unit, bufs.members, bufs.offsets, bufs.weight, bufs.embeddings, sizesU],
    [groupsFor(c4 / 4, WG), K],
  );
  dispatch(ctx.device, pass, kernels.scores, [bufs.unit, bufs.embeddings, bufs.scores, sizesU], [
    groupsFor(n, WG),
    Math.ceil(K / 4),
  ]);
  const argParams = uniformBuffer(ctx, "upsample.assign_argmax.params", [
    ["u32", features.width],
    ["u32", outH],
    ["u32", outW],
    ["u32", K],
  ]);
  dispatch(
    ctx.device,
    pass,
    kernels.argmax,
    [bufs.scores, bufs.rows, bufs.rowW, bufs.cols, bufs.colW, bufs.best, argParams],
    [groupsFor(outW, WG), outH],
  );
  const owned = Object.values(bufs).filter((b): b is GPUBuffer => b !== undefined);
  return { best: bufs.best, labels, buffers: owned };
}

/**
 * {@linkcode assignConcepts} on the GPU: same inputs, same output convention (grid label values).
 *
 * @param ctx Device context.
 * @param features Patch features `[h, w, c]`, finite: on the host, or float32 rows already on the device (not
 * freed here).
 * @param gridLabels One int32 label per patch.
 * @param size Output size.
 * @returns `size.height × size.width` labels.
 * @throws {TypeError} On malformed inputs (as the CPU path).
 * @throws {RangeError} On bad sizes or non-finite features (as the CPU path), or buffers above the device limits.
 * @throws {GpuUnavailableError} When the device is lost (callers fall back to the CPU path).
 */
export async function assignConceptsGpu(
  ctx: GpuContext,
  features: FeatureMap | DeviceFeatureRows,
  gridLabels: Int32Array,
  size: { height: number; width: number },
): Promise<Int32Array> {
  checkAssignGpuInput(features, gridLabels, size);
  const distinct = new Set(gridLabels);
  const out = new Int32Array(size.height * size.width);
  if (distinct.size === 1) return out.fill(gridLabels[0]);
  const kernels = await createAssignKernels(ctx);
  return await withErrorScope(ctx, "assign", async () => {
    const encoder = ctx.device.createCommandEncoder({ label: "upsample" });
    const pass = encoder.beginComputePass({ label: "upsample.pass" });
    const { best, labels, buffers } = encodeAssign(ctx, kernels, pass, features, gridLabels, size);
    try {
      pass.end();
      const [idx] = await submitAndRead(ctx, encoder, [{ buffer: best, bytes: out.length * 4 }], "assign");
      const cluster = new Uint32Array(idx);
      for (let p = 0; p < out.length; p++) out[p] = labels[cluster[p]];
      return out;
    } finally {
      destroyAll(...buffers);
    }
  });
}

/** The checks of `checkAssignInput` that apply to rows on the device (sizes and labels). */
function checkDeviceAssignInput(
  features: DeviceFeatureRows,
  gridLabels: Int32Array,
  size: { height: number; width: number },
): void {
  if (size === null || typeof size !== "object") {
    throw new TypeError(
      `Size must be an object { height, width }, received ${size === null ? "null" : typeof size}`,
    );
  }
  if (!Number.isInteger(size.height) || size.height < 1 || !Number.isInteger(size.width) || size.width < 1) {
    throw new RangeError(
      `Size must have positive integer height and width, received ${size.height}×${size.width}`,
    );
  }
  if (!(gridLabels instanceof Int32Array)) {
    throw new TypeError(
      `Grid labels must be an Int32Array, received ${Object.prototype.toString.call(gridLabels)}`,
    );
  }
  const n = features.height * features.width;
  if (gridLabels.length !== n) {
    throw new RangeError(
      `Grid labels must have ${n} elements (features ${features.height}×${features.width}), received ${gridLabels.length}`,
    );
  }
}
