/**
 * WebGPU path of PAMR refinement (reference: pamr.ts, median_filter.ts): the affinities
 * (`shaders/pamr/pamr_affinity.wgsl`: local standard deviation, logits, softmax), every propagation step at every
 * dilation (`pamr_propagate.wgsl`, the first one straight from the label ranks), the argmax (`pamr_argmax.wgsl`)
 * and the 3×3 reflect median (`median3x3.wgsl`), all in one submission; only the labels come back.
 *
 * Arithmetic is float32 (the reference path accumulates in float64), so a pixel whose two largest propagated
 * masks are within float32 rounding of each other may take the other label; the median can spread such a flip
 * to its 3×3 neighbourhood. The parity tests check that every difference before the median is such a tie.
 *
 * @module
 */
import type { ImageRGB } from "../types.ts";
import { type GpuContext, withErrorScope } from "../gpu/device.ts";
import { destroyAll, storageBuffer, submitAndRead, uniformBuffer, uploadBuffer } from "../gpu/buffers.ts";
import { dispatch, getKernel, grid2d, groupsFor, type Kernel } from "../gpu/kernel.ts";
import { checkPamrInput, type PamrOptions } from "./pamr.ts";

const WG = 64;

/** The compiled PAMR kernels for one dilation count. */
export interface PamrKernels {
  /** Affinities. */
  affinity: Kernel;
  /** First propagation step, from the one-hot label ranks. */
  first: Kernel;
  /** Later propagation steps, from masks. */
  step: Kernel;
  /** Argmax over masks. */
  argmax: Kernel;
  /** 3×3 median. */
  median: Kernel;
}

/**
 * Compiles the PAMR kernels once per device and dilation count (compiled in, so that Mesa unrolls the loops over
 * dilations: llvmpipe runs loop-free kernels several times faster).
 *
 * @param ctx Device context.
 * @param dilations Number of dilations. @default 4
 * @returns The kernels.
 */
export async function createPamrKernels(ctx: GpuContext, dilations = 4): Promise<PamrKernels> {
  const get = (kernel: string, overrides: Record<string, number> = {}) =>
    getKernel(ctx.device, { stage: "pamr", kernel, overrides: { WORKGROUP_SIZE: WG, ...overrides } });
  const [affinity, first, step, argmax, median] = await Promise.all([
    get("pamr_affinity", { DILATIONS: dilations }),
    get("pamr_propagate", { DILATIONS: dilations, ONE_HOT: 1 }),
    get("pamr_propagate", { DILATIONS: dilations, ONE_HOT: 0 }),
    get("pamr_argmax"),
    get("median3x3"),
  ]);
  return { affinity, first, step, argmax, median };
}

/**
 * Why a PAMR problem does not fit the device's binding limit, or null.
 *
 * @param ctx Device context.
 * @param pixels Pixels.
 * @param dilations Number of dilations.
 * @param labels Distinct labels.
 * @returns A one-line reason or null.
 */
export function pamrGpuUnfit(
  ctx: GpuContext,
  pixels: number,
  dilations: number,
  labels: number,
): string | null {
  const limit = ctx.device.limits.maxStorageBufferBindingSize;
  const need = Math.max(pixels * 8 * dilations, pixels * Math.ceil(labels / 4) * 4) * 4;
  if (need <= limit) return null;
  return `PAMR of ${pixels} pixels with ${dilations} dilations and ${labels} labels needs a ${
    (need / 2 ** 20).toFixed(1)
  } MiB buffer, above the device's storage binding limit of ${
    (limit / 2 ** 20).toFixed(0)
  } MiB; use backend "cpu"`;
}

/** Buffers and sizes of one PAMR problem on the device. */
export interface PamrDeviceInput {
  /** RGB image, `h·w·3` float32. */
  image: GPUBuffer;
  /** Label rank of every pixel, `h·w` u32 in `0..k−1`. */
  ranks: GPUBuffer;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Mask channels (ranks are below it; a channel no pixel holds stays zero and never wins). */
  k: number;
}

/**
 * Records PAMR (affinities, propagation steps, argmax, optional median) on `pass` and returns the buffer that will
 * hold the refined ranks, with the work buffers to free after the submission.
 *
 * @param ctx Device context.
 * @param kernels From {@linkcode createPamrKernels} for `dilations.length` dilations.
 * @param pass Open compute pass.
 * @param input Image, ranks and sizes.
 * @param options Checked iterations, dilations and median.
 * @returns The result buffer (`input.ranks` itself with no iteration and no median) and the buffers to free.
 */
export function encodePamr(
  ctx: GpuContext,
  kernels: PamrKernels,
  pass: GPUComputePassEncoder,
  input: PamrDeviceInput,
  options: { iterations: number; dilations: readonly number[]; median: boolean },
): { result: GPUBuffer; buffers: GPUBuffer[] } {
  const { height: H, width: W, k: K } = input;
  const { iterations, dilations, median } = options;
  const n = H * W, L = dilations.length;
  const K4 = Math.ceil(K / 4); // masks are vec4 label quads
  const bufs = {
    dilations: uploadBuffer(ctx, "pamr.pamr_affinity.dilations", Uint32Array.from(dilations)),
    weights: storageBuffer(ctx, "pamr.pamr_affinity.weights", iterations > 0 ? n * 8 * L * 4 : 4),
    a: storageBuffer(ctx, "pamr.pamr_propagate.masks_a", iterations > 0 ? n * K4 * 16 : 16),
    b: storageBuffer(ctx, "pamr.pamr_propagate.masks_b", iterations > 1 ? n * K4 * 16 : 16),
    argmax: storageBuffer(ctx, "pamr.pamr_argmax.labels", iterations > 0 ? n * 4 : 4),
    median: storageBuffer(ctx, "pamr.median3x3.labels", median ? n * 4 : 4),
  };
  const pixelGroups = grid2d(groupsFor(n, WG), ctx);
  let result = input.ranks;
  if (iterations > 0) {
    const sizes = uniformBuffer(ctx, "pamr.pamr_affinity.params", [["u32", H], ["u32", W]]);
    dispatch(
      ctx.device,
      pass,
      kernels.affinity,
      [input.image, bufs.dilations, bufs.weights, sizes],
      [groupsFor(W, WG), H],
    );
    const stepParams = uniformBuffer(ctx, "pamr.pamr_propagate.params", [["u32", H], ["u32", W], [
      "u32",
      K4,
    ]]);
    let src = bufs.b, dst = bufs.a;
    for (let it = 0; it < iterations; it++) {
      dispatch(
        ctx.device,
        pass,
        it === 0 ? kernels.first : kernels.step,
        [bufs.weights, bufs.dilations, src, input.ranks, dst, stepParams],
        [groupsFor(W, WG), H, K4],
      );
      [src, dst] = [dst, src];
    }
    const argParams = uniformBuffer(ctx, "pamr.pamr_argmax.params", [["u32", n], ["u32", K], [
      "u32",
      4 * K4,
    ]]);
    dispatch(ctx.device, pass, kernels.argmax, [src, bufs.argmax, argParams], pixelGroups);
    result = bufs.argmax;
  }
  if (median) {
    const medParams = uniformBuffer(ctx, "pamr.median3x3.params", [["u32", H], ["u32", W]]);
    dispatch(ctx.device, pass, kernels.median, [result, bufs.median, medParams], [groupsFor(W, WG), H]);
    result = bufs.median;
  }
  return { result, buffers: Object.values(bufs) };
}

/**
 * {@linkcode refinePamr} on the GPU: same inputs, same output (label ranks, optionally median-filtered).
 *
 * @param ctx Device context.
 * @param image RGB image `[h, w, 3]`, finite.
 * @param labels `h·w` int32 labels.
 * @param options Iterations, dilations, median (backend is ignored here).
 * @returns Refined labels `0..K'−1`.
 * @throws {TypeError} On malformed inputs (as the CPU path).
 * @throws {RangeError} On bad sizes or options (as the CPU path), or buffers above the device's binding limit.
 * @throws {GpuUnavailableError} When the device is lost (callers fall back to the CPU path).
 */
export async function refinePamrGpu(
  ctx: GpuContext,
  image: ImageRGB,
  labels: Int32Array,
  options: PamrOptions = {},
): Promise<Int32Array> {
  const checked = checkPamrInput(image, labels, options);
  const H = image.height, W = image.width, n = H * W;
  const distinct = Int32Array.from(new Set(labels)).sort();
  const K = distinct.length;
  if (K === 1) return new Int32Array(n);
  const unfit = pamrGpuUnfit(ctx, n, checked.dilations.length, K);
  if (unfit) throw new RangeError(unfit);
  const rank = new Map<number, number>();
  distinct.forEach((v, k) => rank.set(v, k));
  const ranks = Uint32Array.from(labels, (v) => rank.get(v)!);
  const kernels = await createPamrKernels(ctx, checked.dilations.length);
  return await withErrorScope(ctx, "pamr", async () => {
    const input: PamrDeviceInput = {
      image: uploadBuffer(ctx, "pamr.pamr_affinity.image", image.data),
      ranks: uploadBuffer(ctx, "pamr.pamr_propagate.ranks", ranks),
      height: H,
      width: W,
      k: K,
    };
    const owned = [input.image, input.ranks];
    try {
      const encoder = ctx.device.createCommandEncoder({ label: "pamr" });
      const pass = encoder.beginComputePass({ label: "pamr.pass" });
      const { result, buffers } = encodePamr(ctx, kernels, pass, input, checked);
      owned.push(...buffers);
      pass.end();
      const [out] = await submitAndRead(ctx, encoder, [{ buffer: result, bytes: n * 4 }], "pamr");
      return Int32Array.from(new Uint32Array(out));
    } finally {
      destroyAll(...owned);
    }
  });
}

/**
 * The 3×3 reflect median of {@linkcode medianFilter3x3} on the GPU (labels must be non-negative).
 *
 * @param ctx Device context.
 * @param labels `height·width` non-negative int32 labels.
 * @param height Rows.
 * @param width Columns.
 * @returns The medians.
 * @throws {RangeError} When a label is negative or the sizes do not match.
 */
export async function medianFilter3x3Gpu(
  ctx: GpuContext,
  labels: Int32Array,
  height: number,
  width: number,
): Promise<Int32Array> {
  if (labels.length !== height * width) {
    throw new RangeError(
      `Labels must have ${height * width} elements for ${height}×${width}, received ${labels.length}`,
    );
  }
  const negative = labels.findIndex((v) => v < 0);
  if (negative >= 0) {
    throw new RangeError(
      `Labels must be non-negative on the GPU, received ${labels[negative]} at index ${negative}`,
    );
  }
  // Only the median kernel (createPamrKernels would also compile the propagation kernels).
  const median = await getKernel(ctx.device, {
    stage: "pamr",
    kernel: "median3x3",
    overrides: { WORKGROUP_SIZE: WG },
  });
  const n = labels.length;
  const input = uploadBuffer(ctx, "pamr.median3x3.input", labels);
  const output = storageBuffer(ctx, "pamr.median3x3.labels", n * 4);
  try {
    const encoder = ctx.device.createCommandEncoder({ label: "pamr.median" });
    const pass = encoder.beginComputePass();
    const params = uniformBuffer(ctx, "pamr.median3x3.params", [["u32", height], ["u32", width]]);
    dispatch(ctx.device, pass, median, [input, output, params], [groupsFor(width, WG), height]);
    pass.end();
    const [out] = await submitAndRead(ctx, encoder, [{ buffer: output, bytes: n * 4 }], "pamr.median");
    return new Int32Array(out);
  } finally {
    destroyAll(input, output);
  }
}
