/**
 * Several tree levels in one WebGPU submission: after a level's Lanczos solve and split search, the next level's
 * tables (parameters, nodes, slots and chunks, node of every patch) are built on the device
 * (`shaders/ncut/next_level.wgsl`, the device twin of `levelTables` in lib/eigensolve/lanczos_gpu.ts fed with the
 * children the host would make) and copied over the workspace's, so the next level runs without a host round trip.
 * Each host wait costs at least ~10 ms in Deno (its buffer mapping sleeps 10 ms between polls), so a tree of six
 * levels saves ~50 ms per image on any adapter.
 *
 * @module
 */
import type { GpuContext } from "../gpu/device.ts";
import { destroyAll, storageBuffer, uploadBuffer } from "../gpu/buffers.ts";
import { TREE_PARAMS } from "../gpu/uniforms.ts";
import { batchBindGroupLayout, batchPipeline, type BatchWorkspace } from "../eigensolve/lanczos_gpu.ts";

/** Builds a level's successor on the device. */
export interface NextLevelBuilder {
  /** Records the builder (one invocation) on `pass`, after the level's split search. */
  encode(pass: GPUComputePassEncoder): void;
  /** Records the copies of the built tables over the workspace's (outside any pass). */
  adopt(encoder: GPUCommandEncoder): void;
  /**
   * Records the copy of per-patch exclusion flags (compat "reference": the affinity's exact-zero rows), so that
   * children leave those patches out as the host does; before the first `encode`.
   */
  exclude(encoder: GPUCommandEncoder, flags: GPUBuffer): void;
  /** The built tables (parameters, nodes, slots), for tests. */
  tables: GPUBuffer;
  /** Frees its buffers. */
  destroy(): void;
}

/**
 * The smallest float32 at or above `t`, so that for every float32 x, `x < t` (float64) equals `x < result`.
 *
 * @param t A number (not NaN).
 * @returns The float32 value.
 *
 * @example
 * ```ts
 * import { float32AtOrAbove } from "./next_level_gpu.ts";
 * const t = float32AtOrAbove(0.1);
 * if (!(t >= 0.1 && Math.fround(t) === t && Math.fround(0.1) === t)) throw new Error();
 * ```
 */
export function float32AtOrAbove(t: number): number {
  const f = new Float32Array([t]);
  if (f[0] >= t) return f[0];
  // One ulp towards +∞ (from a 0 rounded down from a tiny positive t: the smallest subnormal).
  const bits = new Int32Array(f.buffer);
  if (f[0] === 0) bits[0] = 1;
  else bits[0] += f[0] > 0 ? 1 : -1;
  return f[0];
}

/**
 * Compiles the builder and allocates its tables for a workspace.
 *
 * @param ctx Device context.
 * @param ws The tree's workspace.
 * @param options Basis size, candidate thresholds, τ of the tree.
 * @returns The builder.
 */
export async function createNextLevelBuilder(
  ctx: GpuContext,
  ws: BatchWorkspace,
  options: { maxSteps: number; thresholds: number; tauMax: number; n: number },
): Promise<NextLevelBuilder> {
  const pipeline = await batchPipeline(ctx.device, "ncut", "next_level", "next_level", {
    MAX_STEPS: options.maxSteps,
    THRESHOLDS: options.thresholds,
  });
  const nodeWords = 4 * (ws.nodeCapacity + 1);
  const slotWords = 4 * ws.slotCapacity;
  // The parameters (TreeParams), then the node and slot tables.
  const head = TREE_PARAMS.size;
  const tables = storageBuffer(ctx, "tree.next_level.tables", head + (nodeWords + slotWords) * 4);
  const chain = new Uint32Array(4 + options.n);
  new Float32Array(chain.buffer, 0, 1)[0] = float32AtOrAbove(options.tauMax);
  chain[1] = ws.nodeCapacity;
  chain[2] = ws.nodeOfOffset - ws.globalBase;
  const chainBuffer = uploadBuffer(ctx, "tree.next_level.chain", chain);
  const group = ctx.device.createBindGroup({
    label: "tree.next_level.bindings",
    layout: batchBindGroupLayout(ctx.device),
    entries: [ws.slots, ws.nodes, ws.out, ws.lists, ws.vecs, tables, chainBuffer, ws.params]
      .map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return {
    tables,
    encode(pass) {
      pass.setBindGroup(0, group);
      pass.setPipeline(pipeline);
      pass.dispatchWorkgroups(1);
    },
    adopt(encoder) {
      encoder.copyBufferToBuffer(tables, 0, ws.params, 0, head);
      encoder.copyBufferToBuffer(tables, head, ws.nodes, 0, nodeWords * 4);
      encoder.copyBufferToBuffer(tables, head + nodeWords * 4, ws.slots, 0, slotWords * 4);
    },
    exclude(encoder, flags) {
      ctx.device.queue.writeBuffer(chainBuffer, 12, new Uint32Array([1]));
      encoder.copyBufferToBuffer(flags, 0, chainBuffer, 16, options.n * 4);
    },
    destroy: () => destroyAll(tables, chainBuffer),
  };
}
