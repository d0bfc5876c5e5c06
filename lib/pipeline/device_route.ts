/**
 * The device route of one image: one `GPUDevice` from the encoder to the labels. ONNX Runtime's output buffer →
 * feature rows → affinity → tree → assignment (and PAMR, fused) without the features crossing to the host, except
 * when the caller asks for a copy.
 *
 * @module
 */
import { type EncodedDeviceAffinity, encodeDeviceAffinity } from "../affinity/affinity_gpu.ts";
import { recordStageRun } from "../gpu/backend.ts";
import { getGpu, GpuDeviceLostError } from "../gpu/device.ts";
import { buildPartitionTreeOnDevice } from "../ncut/partition_tree_gpu.ts";
import type { FeatureMap } from "../types.ts";
import { assignConceptsGpu } from "../upsample/assign_gpu.ts";
import { assignAndRefineGpu } from "../upsample/assign_refine_gpu.ts";
import { cutForRoute, type RouteInput, type RouteOutput } from "./route.ts";

/**
 * Runs an image through an encoder whose output stays on the shared GPU device (`encoder.encodeOnDevice`).
 *
 * @param input The encoder (with `encodeOnDevice`), image and settings.
 * @returns Labels at the working resolution and per-stage milliseconds (the affinity is counted in the tree: it
 * runs in the tree's first submission).
 * @throws {GpuDeviceLostError} When the encoder's device is lost (the segmenter then redoes the image on the host).
 */
export async function runDeviceRoute(input: RouteInput): Promise<RouteOutput> {
  const { encoder } = input;
  const t0 = performance.now();
  const ctx = await getGpu();
  // The encoder's session lives on the device it was created on. Once that device is lost, getGpu() hands out a
  // fresh one; ONNX Runtime on the dead device fails ("Buffer with '' label is invalid" with Mesa) and might
  // hang elsewhere, so a known loss is raised here without calling into it.
  if (ctx.lost || (encoder.device !== undefined && encoder.device !== ctx.device)) {
    throw new GpuDeviceLostError(`GPU device of encoder '${encoder.id}' was lost`);
  }
  const source = await encoder.encodeOnDevice!(input.image);
  const t1 = performance.now();
  // The layout and affinity kernels ride with the tree's first submission, whose readback also brings the
  // per-patch status (NaN / zero patches raise there) and, with hostFeatures, the features.
  const commands = ctx.device.createCommandEncoder({ label: "segment.device" });
  let dev: EncodedDeviceAffinity;
  try {
    dev = await encodeDeviceAffinity(ctx, source, commands, {
      alpha: input.tree.alpha ?? 10,
      selfLoops: input.tree.selfLoops ?? true,
      readFeatures: input.hostFeatures,
    });
  } catch (error) {
    source.release();
    throw error;
  }
  try {
    let features: FeatureMap | undefined;
    // The grid size; it also carries the features once read back (the tree's CPU fallback needs them).
    const { height, width, channels } = source;
    const grid: FeatureMap = { height, width, channels, data: new Float32Array(0) };
    const tree = await buildPartitionTreeOnDevice(ctx, {
      affinity: dev.affinity,
      features: grid,
      options: input.tree,
      pending: {
        encoder: commands,
        reads: dev.reads,
        check: (data) => {
          features = dev.check(data);
          if (features) grid.data = features.data;
        },
      },
    });
    const t2 = performance.now();
    const cut = cutForRoute(tree, input);
    const t3 = performance.now();
    for (const stage of ["affinity", "tree"] as const) recordStageRun({ stage, backend: "webgpu" });
    const refined = input.fused && cut.segments > 1;
    const labels = refined
      ? await assignAndRefineGpu(ctx, dev.rows, cut.labels, input.workImage())
      : await assignConceptsGpu(ctx, dev.rows, cut.labels, input.work);
    recordStageRun({ stage: "assign", backend: "webgpu" });
    if (refined) recordStageRun({ stage: "pamr", backend: "webgpu" });
    const t4 = performance.now();
    return {
      features,
      tree,
      cut,
      labels,
      refined,
      ms: { encode: t1 - t0, affinity: 0, tree: t2 - t1, cut: t3 - t2, assign: t4 - t3 },
    };
  } finally {
    source.release();
    dev.destroy();
  }
}
