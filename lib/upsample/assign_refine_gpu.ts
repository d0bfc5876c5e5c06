/**
 * Concept assignment followed by PAMR in one WebGPU submission: the per-pixel cluster indices of the assignment
 * (`encodeAssign`) are the label ranks PAMR starts from (`encodePamr`), so the assigned map never leaves the
 * device and the two stages cost one host wait instead of two (each wait costs at least ~10 ms in Deno).
 *
 * The result equals `refinePamr(image, assignConcepts(features, gridLabels, size))` up to naming: refinePamr
 * returns ranks among the labels present in the assigned map, this returns the grid label values themselves. PAMR
 * runs with one mask channel per grid label; a label that wins no pixel has an all-zero channel, which stays zero
 * and never wins an argmax (every pixel gets positive mass from its neighbours' labels), and ties still go to the
 * lower label, so the partition is the same. Float32 ties are as in either stage alone.
 *
 * @module
 */
import type { DeviceFeatureRows, FeatureMap, ImageRGB } from "../types.ts";
import { type GpuContext, withErrorScope } from "../gpu/device.ts";
import { destroyAll, submitAndRead, uploadBuffer } from "../gpu/buffers.ts";
import { checkAssignGpuInput, createAssignKernels, encodeAssign } from "./assign_gpu.ts";
import { createPamrKernels, encodePamr, pamrGpuUnfit } from "../pamr/pamr_gpu.ts";
import { checkPamrOptions, type PamrOptions } from "../pamr/pamr.ts";

/**
 * Assigns every pixel of `image` to a grid segment and refines the map with PAMR, on the GPU with one readback.
 *
 * @param ctx Device context.
 * @param features Patch features `[h, w, c]`, finite: on the host, or float32 rows already on the device (not
 * freed here).
 * @param gridLabels One int32 label per patch.
 * @param image RGB image at the output size (PAMR's colour guide).
 * @param options PAMR iterations, dilations and median (backend is ignored).
 * @returns `image.height × image.width` grid label values.
 * @throws {TypeError} On malformed inputs.
 * @throws {RangeError} On bad sizes, options or non-finite values, or buffers above the device's binding limit.
 * @throws {GpuUnavailableError} When the device is lost (callers fall back to the CPU path).
 *
 * @example
 * ```ts ignore
 * import { getGpu } from "../gpu/device.ts";
 * import { assignAndRefineGpu } from "./assign_refine_gpu.ts";
 * const labels = await assignAndRefineGpu(await getGpu(), features, grid, image);
 * ```
 */
export async function assignAndRefineGpu(
  ctx: GpuContext,
  features: FeatureMap | DeviceFeatureRows,
  gridLabels: Int32Array,
  image: ImageRGB,
  options: PamrOptions = {},
): Promise<Int32Array> {
  const size = { height: image.height, width: image.width };
  const checked = checkPamrOptions(image, options);
  checkAssignGpuInput(features, gridLabels, size);
  const n = size.height * size.width;
  const out = new Int32Array(n);
  const k = new Set(gridLabels).size;
  if (k === 1) return out.fill(gridLabels[0]);
  const unfit = pamrGpuUnfit(ctx, n, checked.dilations.length, k);
  if (unfit) throw new RangeError(unfit);
  const [assignKernels, pamrKernels] = await Promise.all([
    createAssignKernels(ctx),
    createPamrKernels(ctx, checked.dilations.length),
  ]);
  return await withErrorScope(ctx, "assign+pamr", async () => {
    const owned: GPUBuffer[] = [];
    try {
      const encoder = ctx.device.createCommandEncoder({ label: "upsample+pamr" });
      const pass = encoder.beginComputePass({ label: "upsample+pamr.pass" });
      const assigned = encodeAssign(ctx, assignKernels, pass, features, gridLabels, size);
      owned.push(...assigned.buffers);
      const colours = uploadBuffer(ctx, "pamr.pamr_affinity.image", image.data);
      owned.push(colours);
      const refined = encodePamr(ctx, pamrKernels, pass, {
        image: colours,
        ranks: assigned.best,
        height: size.height,
        width: size.width,
        k,
      }, checked);
      owned.push(...refined.buffers);
      pass.end();
      const [idx] = await submitAndRead(
        ctx,
        encoder,
        [{ buffer: refined.result, bytes: n * 4 }],
        "assign+pamr",
      );
      const cluster = new Uint32Array(idx);
      for (let p = 0; p < n; p++) out[p] = assigned.labels[cluster[p]];
      return out;
    } finally {
      destroyAll(...owned);
    }
  });
}
