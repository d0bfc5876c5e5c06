/**
 * The WebGPU twin of the K-way normalized cut's kernels (`kway_ncut.ts`): `shaders/ncut/kway_wy.wgsl` (the product
 * `S = W·Y`), `kway_stats.wgsl` (cluster volumes and associations) and `kway_argmax.wgsl` (each node's best
 * cluster and gain). One step is one submission and one host wait (the statistics, best clusters and gains come
 * back; W and S stay on the device); the sweeps, acceptance and backtracking are the reference's
 * `solveKwayNcut`, so both backends take the same decisions from the same float32 numbers.
 *
 * @module
 */
import { destroyAll, storageBuffer, submitAndRead, uniformBuffer, uploadBuffer } from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";
import { dispatch, getKernel, groupsFor, type Kernel } from "../gpu/kernel.ts";
import { type KwayNcutResult, type KwaySolveOptions, type KwayStep, solveKwayNcut } from "./kway_ncut.ts";

const WG = 64;

/** The three compiled kernels. */
interface KwayKernels {
  wy: Kernel;
  stats: Kernel;
  argmax: Kernel;
}

async function createKwayKernels(ctx: GpuContext): Promise<KwayKernels> {
  const overrides = { WORKGROUP_SIZE: WG };
  const [wy, stats, argmax] = await Promise.all(
    ["kway_wy", "kway_stats", "kway_argmax"].map((kernel) =>
      getKernel(ctx.device, { stage: "ncut", kernel, overrides })
    ),
  );
  return { wy, stats, argmax };
}

/** One step on the device, with the product and degrees as well (for the parity tests). */
export interface KwayStepGpu extends KwayStep {
  /** `W·Y`, n×k (unpadded), when asked for. */
  product?: Float32Array;
}

/** A K-way workspace on the device: W uploaded once, one step per labelling. */
export interface KwayWorkspaceGpu {
  /** Degrees `W·1` as the device summed them. */
  degrees: Float32Array;
  /**
   * Runs the three kernels on a labelling.
   * @param labels Cluster per node in `0..k−1`.
   * @param keepProduct Also read back `W·Y`.
   */
  step(labels: Int32Array, keepProduct?: boolean): Promise<KwayStepGpu>;
  /** Frees the buffers. */
  dispose(): void;
}

/**
 * Uploads W and prepares the buffers of K-way steps with k clusters.
 *
 * @param ctx Device context.
 * @param w Affinity, n×n.
 * @param n Nodes.
 * @param k Clusters.
 * @returns The workspace (dispose it).
 * @throws {RangeError} When W exceeds the device's storage binding limit.
 */
export async function createKwayWorkspaceGpu(
  ctx: GpuContext,
  w: Float32Array,
  n: number,
  k: number,
): Promise<KwayWorkspaceGpu> {
  const kernels = await createKwayKernels(ctx);
  const k4 = Math.ceil(k / 4), kp = 4 * k4;
  const diagonal = new Float32Array(n);
  for (let i = 0; i < n; i++) diagonal[i] = w[i * n + i];
  const wBuffer = uploadBuffer(ctx, "ncut.kway_wy.w", w);
  const labels = storageBuffer(ctx, "ncut.kway_wy.labels", n * 4);
  const s = storageBuffer(ctx, "ncut.kway_wy.s", n * kp * 4);
  const diagonalBuffer = uploadBuffer(ctx, "ncut.kway_argmax.diagonal", diagonal);
  const stats = storageBuffer(ctx, "ncut.kway_stats.stats", 2 * k * 4);
  const best = storageBuffer(ctx, "ncut.kway_argmax.best", n * 4);
  const gain = storageBuffer(ctx, "ncut.kway_argmax.gain", n * 4);
  const wyParams = uniformBuffer(ctx, "ncut.kway_wy.params", [["u32", n], ["u32", k4]]);
  const wyOneParams = uniformBuffer(ctx, "ncut.kway_wy.params_degrees", [["u32", n], ["u32", 1]]);
  const rowParams = uniformBuffer(ctx, "ncut.kway_argmax.params", [["u32", n], ["u32", k], ["u32", kp]]);
  let degreesBuffer: GPUBuffer | undefined;
  const all = () => [wBuffer, labels, s, diagonalBuffer, stats, best, gain, wyParams, wyOneParams, rowParams];
  try {
    // Degrees: the same product with every node in cluster 0 (so both backends sum them the same way).
    const encoder = ctx.device.createCommandEncoder({ label: "ncut.kway.degrees" });
    const pass = encoder.beginComputePass();
    dispatch(ctx.device, pass, kernels.wy, [wBuffer, labels, s, wyOneParams], [groupsFor(n, WG), 1]);
    pass.end();
    const [raw] = await submitAndRead(ctx, encoder, [{ buffer: s, bytes: n * 16 }], "ncut.kway.degrees");
    const column = new Float32Array(raw);
    const degrees = new Float32Array(n);
    for (let i = 0; i < n; i++) degrees[i] = column[4 * i];
    degreesBuffer = uploadBuffer(ctx, "ncut.kway_stats.degrees", degrees);
    const dBuffer = degreesBuffer;
    return {
      degrees,
      async step(trial, keepProduct = false) {
        ctx.device.queue.writeBuffer(
          labels,
          0,
          trial.buffer as ArrayBuffer,
          trial.byteOffset,
          trial.byteLength,
        );
        const encoder = ctx.device.createCommandEncoder({ label: "ncut.kway.step" });
        const pass = encoder.beginComputePass({ label: "ncut.kway.pass" });
        dispatch(ctx.device, pass, kernels.wy, [wBuffer, labels, s, wyParams], [groupsFor(n, WG), k4]);
        dispatch(ctx.device, pass, kernels.stats, [s, dBuffer, labels, stats, rowParams], [groupsFor(k, WG)]);
        dispatch(
          ctx.device,
          pass,
          kernels.argmax,
          [s, stats, dBuffer, diagonalBuffer, labels, best, gain, rowParams],
          [groupsFor(n, WG)],
        );
        pass.end();
        const reads = [{ buffer: stats, bytes: 2 * k * 4 }, { buffer: best, bytes: n * 4 }, {
          buffer: gain,
          bytes: n * 4,
        }];
        if (keepProduct) reads.push({ buffer: s, bytes: n * kp * 4 });
        const out = await submitAndRead(ctx, encoder, reads, "ncut.kway.step");
        const result: KwayStepGpu = {
          stats: new Float32Array(out[0]),
          best: new Int32Array(out[1]),
          gain: new Float32Array(out[2]),
        };
        if (keepProduct) {
          const padded = new Float32Array(out[3]);
          const product = new Float32Array(n * k);
          for (let i = 0; i < n; i++) product.set(padded.subarray(i * kp, i * kp + k), i * k);
          result.product = product;
        }
        return result;
      },
      dispose() {
        destroyAll(...all(), dBuffer);
      },
    };
  } catch (e) {
    destroyAll(...all(), degreesBuffer);
    throw e;
  }
}

/**
 * The K-way solver with its steps on the device (the sweeps are `solveKwayNcut`'s).
 *
 * @param ctx Device context.
 * @param w Affinity, n×n.
 * @param n Nodes.
 * @param init Initial labels in `0..k−1`.
 * @param k Slots.
 * @param options Iterations and inertia.
 * @returns The improved partition.
 * @throws {RangeError} Like `solveKwayNcut`, or when W exceeds the device's storage binding limit.
 */
export async function kwayNcutGpu(
  ctx: GpuContext,
  w: Float32Array,
  n: number,
  init: Int32Array,
  k: number,
  options: KwaySolveOptions = {},
): Promise<KwayNcutResult> {
  const workspace = await createKwayWorkspaceGpu(ctx, w, n, k);
  try {
    return await solveKwayNcut((labels) => workspace.step(labels), w, n, init, k, options);
  } finally {
    workspace.dispose();
  }
}
