/**
 * WebGPU path of {@linkcode featureRows} (reference: feature_rows.ts): one dispatch of
 * `shaders/encoder/feature_rows.wgsl` turns an encoder output left on the device by ONNX Runtime (its own
 * `GPUBuffer`, any of the sidecar layouts, float32 or float16) into the float32 rows `[n, c]` the affinity and
 * concept-assignment kernels read, plus a status word per patch (all-zero or NaN/±Inf patches), so that the
 * features never come back to the host unless a CPU stage needs them.
 *
 * @module
 */
import type { DeviceFeatureRows, DeviceFeatures } from "../types.ts";
import { type GpuContext, withErrorScope } from "../gpu/device.ts";
import { destroyAll, storageBuffer, submitAndRead, uniformBuffer } from "../gpu/buffers.ts";
import { dispatch, getKernel, groupsFor } from "../gpu/kernel.ts";
import { type FeatureRowsLayout, featureRowsStrides } from "./feature_rows.ts";

const WG = 64;

/** A compiled layout kernel. */
export interface FeatureRowsKernel {
  /**
   * Records the dispatch.
   * @param pass Open compute pass.
   * @param io `source` (the encoder output) in; `rows` (n·c float32) and `status` (n u32) out.
   * @param params The source's element type and layout.
   */
  encode(
    pass: GPUComputePassEncoder,
    io: { source: GPUBuffer; rows: GPUBuffer; status: GPUBuffer },
    params: FeatureRowsLayout & { dtype: "float32" | "float16" },
  ): void;
}

/**
 * Compiles `shaders/encoder/feature_rows.wgsl` once per device.
 *
 * @param ctx Device context.
 * @returns The kernel.
 */
export async function createFeatureRowsKernel(ctx: GpuContext): Promise<FeatureRowsKernel> {
  const kernel = await getKernel(ctx.device, {
    stage: "encoder",
    kernel: "feature_rows",
    overrides: { WORKGROUP_SIZE: WG },
  });
  return {
    encode(pass, io, layout) {
      const { offset, pStride, cStride } = featureRowsStrides(layout);
      const n = layout.height * layout.width;
      const params = uniformBuffer(ctx, "encoder.feature_rows.params", [
        ["u32", n],
        ["u32", layout.channels],
        ["u32", offset],
        ["u32", pStride],
        ["u32", cStride],
        ["u32", layout.dtype === "float16" ? 1 : 0],
      ]);
      dispatch(ctx.device, pass, kernel, [io.source, io.rows, io.status, params], [groupsFor(n, WG)]);
    },
  };
}

/** Rows made on the device, with their status words. */
export interface FeatureRowsOnDevice extends DeviceFeatureRows {
  /** One u32 per patch: 0 fine, 1 all zero, `2 + k` channel k is NaN/±Inf (see `checkFeatureRowStatus`). */
  status: GPUBuffer;
  /** Frees `buffer` and `status` (not the source). */
  destroy(): void;
}

/**
 * Checks that a device output can hold its layout: a known element type, a buffer large enough and bindable.
 *
 * @param ctx Device context.
 * @param source The encoder output.
 * @throws {TypeError} On another device or an unknown element type.
 * @throws {RangeError} If the buffer is smaller than the layout needs or above the binding limit.
 */
function checkSource(ctx: GpuContext, source: DeviceFeatures): void {
  if (source.device !== ctx.device) {
    throw new TypeError(
      `${source.what} lives on another GPUDevice than the one given; expected the shared device`,
    );
  }
  if (source.dtype !== "float32" && source.dtype !== "float16") {
    throw new TypeError(`${source.what} has element type ${source.dtype}, expected float32 or float16`);
  }
  const { elements } = featureRowsStrides(source);
  const bytes = elements * (source.dtype === "float16" ? 2 : 4);
  if (source.buffer.size < bytes) {
    throw new RangeError(
      `${source.what} has a ${source.buffer.size}-byte buffer, expected at least ${bytes} for its layout`,
    );
  }
  const limit = ctx.device.limits.maxStorageBufferBindingSize;
  if (source.buffer.size > limit) {
    throw new RangeError(
      `${source.what} has a ${source.buffer.size}-byte buffer, above the device's storage binding limit ${limit}`,
    );
  }
}

/**
 * Records the layout transform on `encoder` (nothing is submitted). The source stays owned by the caller; release
 * it only after submitting `encoder`.
 *
 * @param ctx Device context (the device the source lives on).
 * @param kernel From {@linkcode createFeatureRowsKernel}.
 * @param encoder Command encoder to record into.
 * @param source The encoder output.
 * @returns The rows and status buffers.
 * @throws {RangeError} If the source buffer is too small for its layout.
 * @throws {TypeError} On an unknown element type.
 */
export function encodeFeatureRows(
  ctx: GpuContext,
  kernel: FeatureRowsKernel,
  encoder: GPUCommandEncoder,
  source: DeviceFeatures,
): FeatureRowsOnDevice {
  checkSource(ctx, source);
  const n = source.height * source.width;
  const rows = storageBuffer(ctx, "encoder.feature_rows.rows", n * source.channels * 4);
  const status = storageBuffer(ctx, "encoder.feature_rows.status", n * 4);
  const pass = encoder.beginComputePass({ label: "encoder.feature_rows.pass" });
  kernel.encode(pass, { source: source.buffer, rows, status }, source);
  pass.end();
  return {
    buffer: rows,
    status,
    height: source.height,
    width: source.width,
    channels: source.channels,
    destroy: () => destroyAll(rows, status),
  };
}

/**
 * Runs the layout transform and reads the rows back (one submission, one host wait): the parity tests' entry
 * point, and how a CPU stage gets the features of a device output.
 *
 * @param ctx Device context.
 * @param source The encoder output (not released here).
 * @returns The rows `[n, c]` and the status words, as {@linkcode featureRows} returns them.
 * @throws {RangeError} If the source buffer is too small for its layout.
 * @throws {GpuUnavailableError} When the device is lost.
 */
export async function featureRowsGpu(
  ctx: GpuContext,
  source: DeviceFeatures,
): Promise<{ rows: Float32Array; status: Uint32Array }> {
  const kernel = await createFeatureRowsKernel(ctx);
  const n = source.height * source.width;
  return await withErrorScope(ctx, "feature rows", async () => {
    const encoder = ctx.device.createCommandEncoder({ label: "encoder.feature_rows" });
    const dev = encodeFeatureRows(ctx, kernel, encoder, source);
    try {
      const [rows, status] = await submitAndRead(ctx, encoder, [
        { buffer: dev.buffer, bytes: n * source.channels * 4 },
        { buffer: dev.status, bytes: n * 4 },
      ], "encoder.feature_rows");
      return { rows: new Float32Array(rows), status: new Uint32Array(status) };
    } finally {
      dev.destroy();
    }
  });
}
