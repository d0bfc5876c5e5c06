/**
 * The WebGPU twin of `normalizeRows` (`normalize_rows.ts`) (`shaders/features/normalize_rows.wgsl`): unit rows for the affinity
 * and the concept assignment, written with a row stride rounded up to 4 channels so that later kernels read vec4s.
 *
 * @module
 */
import { uniformBuffer } from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";
import { dispatch, getKernel, groupsFor } from "../gpu/kernel.ts";

/**
 * Row stride of the unit rows on the device: `c` rounded up to a multiple of 4 (the padding is zeros).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paddedChannels } from "./normalize_rows_gpu.ts";
 * assert.deepEqual([1, 4, 5, 512].map(paddedChannels), [4, 4, 8, 512]);
 * ```
 *
 * @param c Channels.
 * @returns The padded stride.
 */
export function paddedChannels(c: number): number {
  return Math.ceil(c / 4) * 4;
}

/** A compiled normalisation kernel. */
export interface NormalizeRowsKernel {
  /**
   * Records the dispatch.
   * @param pass Open compute pass.
   * @param io `features` (n·c) in, `unit` (n·c4) out.
   * @param params Sizes.
   */
  encode(
    pass: GPUComputePassEncoder,
    io: { features: GPUBuffer; unit: GPUBuffer },
    params: { n: number; c: number },
  ): void;
}

/**
 * Compiles `shaders/features/normalize_rows.wgsl` once.
 *
 * @param ctx Device context.
 * @returns The kernel.
 */
export async function createNormalizeRowsKernel(ctx: GpuContext): Promise<NormalizeRowsKernel> {
  const wg = 64;
  const kernel = await getKernel(ctx.device, {
    stage: "features",
    kernel: "normalize_rows",
    overrides: { WORKGROUP_SIZE: wg },
  });
  return {
    encode(pass, io, { n, c }) {
      const params = uniformBuffer(ctx, "features.normalize_rows.params", [["u32", n], ["u32", c], [
        "u32",
        paddedChannels(c),
      ]]);
      dispatch(ctx.device, pass, kernel, [io.features, io.unit, params], [groupsFor(n, wg)]);
    },
  };
}
