/**
 * Buffer helpers: labelled storage buffers, uploads, uniform packing and readback of several buffers through one
 * staging buffer with a single host wait (each `mapAsync` costs ~10 ms in Deno; ENVIRONMENT.md).
 *
 * @module
 */
import { checkNotLost, type GpuContext, submit } from "./device.ts";

/** Usage of buffers kernels read and write. */
export const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * Creates a storage buffer of `bytes` (rounded up to 4, at least 4).
 *
 * @param ctx Device context.
 * @param label Label `stage.kernel.resource`.
 * @param bytes Size in bytes.
 * @returns The buffer (zero-initialised, as WebGPU guarantees).
 * @throws {RangeError} When the size exceeds the device's storage binding limit.
 */
export function storageBuffer(ctx: GpuContext, label: string, bytes: number): GPUBuffer {
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  const limit = ctx.device.limits.maxStorageBufferBindingSize;
  if (size > limit) {
    throw new RangeError(
      `Buffer ${label} needs ${mib(size)} MiB, above the device's storage binding limit of ${mib(limit)} MiB`,
    );
  }
  return ctx.device.createBuffer({ label, size, usage: STORAGE });
}

/**
 * Creates a storage buffer holding `data`.
 *
 * @param ctx Device context.
 * @param label Label `stage.kernel.resource`.
 * @param data Values to upload (any typed array of 4-byte elements).
 * @returns The buffer.
 * @throws {RangeError} When the data exceeds the storage binding limit.
 */
export function uploadBuffer(
  ctx: GpuContext,
  label: string,
  data: Float32Array | Int32Array | Uint32Array,
): GPUBuffer {
  const buffer = storageBuffer(ctx, label, data.byteLength);
  if (data.byteLength > 0) {
    // The view itself: its buffer may be a SharedArrayBuffer (a squareMatrix), which writeBuffer refuses bare but
    // accepts as a view (the spec's AllowSharedBufferSource; Deno's types say BufferSource).
    ctx.device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
  }
  return buffer;
}

/** A uniform field: WGSL scalar type and value. Structs use only 4-byte scalars, in declaration order. */
export type UniformField = ["u32" | "i32" | "f32", number];

/**
 * Packs scalar fields into a uniform block (4 bytes each, padded to 16 bytes).
 *
 * @param fields Fields in the WGSL struct's order.
 * @returns The bytes.
 * @throws {RangeError} When a u32/i32 value is not an integer in range or an f32 is not finite.
 *
 * @example
 * ```ts
 * import { packUniforms } from "./buffers.ts";
 * const b = packUniforms([["u32", 3], ["f32", 0.5]]);
 * if (b.byteLength !== 16 || new DataView(b).getFloat32(4, true) !== 0.5) throw new Error("bad layout");
 * ```
 */
export function packUniforms(fields: UniformField[]): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil(fields.length / 4) * 16));
  const view = new DataView(bytes);
  fields.forEach(([type, value], i) => {
    if (type === "f32") {
      if (!Number.isFinite(value)) {
        throw new RangeError(`Uniform field ${i} must be a finite f32, received ${value}`);
      }
      view.setFloat32(4 * i, value, true);
    } else if (type === "u32") {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new RangeError(`Uniform field ${i} must be a u32, received ${value}`);
      }
      view.setUint32(4 * i, value, true);
    } else {
      if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
        throw new RangeError(`Uniform field ${i} must be an i32, received ${value}`);
      }
      view.setInt32(4 * i, value, true);
    }
  });
  return bytes;
}

/**
 * Creates a uniform buffer holding the packed fields.
 *
 * @param ctx Device context.
 * @param label Label `stage.kernel.params`.
 * @param fields Fields in the WGSL struct's order.
 * @returns The buffer.
 */
export function uniformBuffer(ctx: GpuContext, label: string, fields: UniformField[]): GPUBuffer {
  const data = packUniforms(fields);
  const buffer = ctx.device.createBuffer({
    label,
    size: data.byteLength,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  ctx.device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

/** One region to read back. */
export interface ReadRequest {
  /** Source buffer (needs COPY_SRC). */
  buffer: GPUBuffer;
  /** Bytes to read from offset 0 (a multiple of 4). */
  bytes: number;
}

/**
 * Copies the requested buffers into one staging buffer at 256-byte aligned offsets, submits `encoder` with the
 * copies, and maps the staging buffer once: one submission, one host wait.
 *
 * @param ctx Device context.
 * @param encoder Encoder holding the dispatches to run first (it is finished here).
 * @param requests Regions to read.
 * @param what What is running, for error messages.
 * @returns One ArrayBuffer per request (copies, safe after unmap).
 * @throws {GpuDeviceLostError} When the device is lost during the wait.
 */
export async function submitAndRead(
  ctx: GpuContext,
  encoder: GPUCommandEncoder,
  requests: ReadRequest[],
  what: string,
): Promise<ArrayBuffer[]> {
  const offsets: number[] = [];
  let total = 0;
  for (const r of requests) {
    offsets.push(total);
    total += Math.ceil(Math.max(r.bytes, 4) / 256) * 256;
  }
  const staging = ctx.device.createBuffer({
    label: `${what}.staging`,
    size: Math.max(total, 256),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  requests.forEach((r, i) => {
    if (r.bytes > 0) encoder.copyBufferToBuffer(r.buffer, 0, staging, offsets[i], r.bytes);
  });
  submit(ctx, [encoder.finish()]);
  ctx.hostWaits++;
  try {
    await staging.mapAsync(GPUMapMode.READ);
  } catch (e) {
    checkNotLost(ctx, what);
    throw e;
  }
  checkNotLost(ctx, what);
  const mapped = staging.getMappedRange();
  const out = requests.map((r, i) => mapped.slice(offsets[i], offsets[i] + r.bytes));
  staging.unmap();
  staging.destroy();
  return out;
}

/**
 * Destroys buffers (ignores undefined entries).
 *
 * @param buffers Buffers to free.
 */
export function destroyAll(...buffers: (GPUBuffer | undefined)[]): void {
  for (const b of buffers) b?.destroy();
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
