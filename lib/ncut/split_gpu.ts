/**
 * WebGPU batched split search (`shaders/ncut/split_search.wgsl`): for every node of one tree level, the
 * reference's sign rule, its candidate thresholds (`linspace(0.99·min y, 0.99·max y, T)`, as
 * `candidateThresholds` in split.ts), the exact NCut of every threshold partition, the first minimum among the
 * thresholds that leave `minSegmentSize` slots on each side, and the children's index lists ("1" side first).
 *
 * Arithmetic is float32 (thresholds, cut and volumes; the CPU path uses float64), every sum taken over
 * non-negative terms in slot order, so partitions that coincide for neighbouring thresholds get bit-identical NCut
 * values and the first-minimum rule picks the same index as the reference.
 *
 * @module
 */
import { type GpuContext, withErrorScope } from "../gpu/device.ts";
import { submitAndRead, uploadBuffer } from "../gpu/buffers.ts";
import { groupsFor } from "../gpu/kernel.ts";
import {
  batchPipeline,
  type BatchWorkspace,
  createBatchWorkspace,
  type LevelSizes,
  splitBindGroup,
} from "../eigensolve/lanczos_gpu.ts";

const WG = 64;
/** Floats before the per-threshold values in a node's result record. */
export const SPLIT_HEAD = 8;

/** The compiled split search for one threshold count. */
export interface SplitSearchKernel {
  /** Candidate thresholds per node. */
  thresholds: number;
  /**
   * Records the split search of one level (the Fiedler vectors are in the workspace's `vecs`, section 0, and the
   * degrees in section 1).
   * @param pass Open compute pass.
   * @param group From `splitBindGroup`.
   * @param sizes Level sizes.
   */
  encode(pass: GPUComputePassEncoder, group: GPUBindGroup, sizes: LevelSizes): void;
}

/** Histogram size of `split_bins.wgsl` (MAX_BUCKETS there): it serves up to this many thresholds minus one. */
const SPLIT_BINS_MAX_BUCKETS = 128;

/**
 * Compiles the split-search kernels once per device and threshold count.
 *
 * @param ctx Device context.
 * @param thresholds Candidate thresholds per node (≥ 1).
 * @returns The kernel.
 * @throws {RangeError} When thresholds is not a positive integer.
 */
export async function createSplitSearchKernel(
  ctx: GpuContext,
  thresholds: number,
): Promise<SplitSearchKernel> {
  if (!Number.isInteger(thresholds) || thresholds < 1) {
    throw new RangeError(`Invalid thresholds ${thresholds}: expected an integer >= 1`);
  }
  const names = ["node_range", "buckets", "bins", "reduce", "choose"] as const;
  const list = await Promise.all(
    names.map((name) =>
      batchPipeline(ctx.device, "ncut", "split_search", name, { WORKGROUP_SIZE: WG, THRESHOLDS: thresholds })
    ),
  );
  const [nodeRange, buckets, bins, reduce, choose] = list;
  // The vec4 histogram kernel fits THRESHOLDS + 1 buckets in an invocation array of SPLIT_BINS_MAX_BUCKETS.
  const bins4 = thresholds < SPLIT_BINS_MAX_BUCKETS
    ? await batchPipeline(ctx.device, "ncut", "split_bins", "split_bins", {
      WORKGROUP_SIZE: WG,
      THRESHOLDS: thresholds,
    })
    : null;
  return {
    thresholds,
    encode(pass, group, { slots, nodes, n, disjoint }) {
      const perSlot = groupsFor(slots, WG), perNode = groupsFor(nodes, WG);
      pass.setBindGroup(0, group);
      const run = (p: GPUComputePipeline, x: number, y = 1) => {
        pass.setPipeline(p);
        pass.dispatchWorkgroups(x, y);
      };
      run(nodeRange, perNode);
      run(buckets, perSlot);
      // The vec4 sweep over each node's chunks needs vec4-aligned rows of W and disjoint nodes.
      run(bins4 && n % 4 === 0 && disjoint ? bins4 : bins, perSlot);
      run(reduce, perNode, thresholds);
      run(choose, perNode);
    },
  };
}

/** One node's split as the GPU reports it. */
export interface GpuSplit {
  /** First-minimum threshold index, −1 when no admissible threshold exists. */
  index: number;
  /** Its NCut (Infinity when index is −1). */
  ncut: number;
  /** Its threshold (float32; NaN when index is −1). */
  threshold: number;
  /** Global indices on the "1" side (`y > t`), ascending. */
  one: Int32Array;
  /** Global indices on the other side, ascending. */
  rest: Int32Array;
  /** −1 or 1: the sign applied to y. */
  sign: number;
  /** Candidate thresholds (float64 from the float32 start and step). */
  thresholds: Float64Array;
  /** NCut per threshold (NaN where a side is empty). */
  values: Float64Array;
  /** |S| per threshold. */
  sizes: Int32Array;
}

/**
 * Decodes a level's split results.
 *
 * @param out The `out` buffer's contents.
 * @param lists The `lists` buffer's first `slots` entries.
 * @param nodes The level's slot lists.
 * @param thresholds Candidate count.
 * @returns One split per node.
 */
export function decodeSplits(
  out: Float32Array,
  lists: Uint32Array,
  nodes: ArrayLike<number>[],
  thresholds: number,
): GpuSplit[] {
  const rec = SPLIT_HEAD + 2 * thresholds;
  let o = 0;
  return nodes.map((l, k) => {
    const r = k * rec;
    const m = l.length;
    const index = out[r + 4];
    const ones = index < 0 ? 0 : out[r + 7];
    const t = new Float64Array(thresholds);
    for (let i = 0; i < thresholds; i++) t[i] = out[r + 1] + i * out[r + 3];
    if (thresholds > 1) t[thresholds - 1] = out[r + 2];
    const sizes = new Int32Array(thresholds);
    const values = new Float64Array(thresholds);
    for (let i = 0; i < thresholds; i++) {
      sizes[i] = out[r + SPLIT_HEAD + thresholds + i];
      values[i] = sizes[i] === 0 || sizes[i] === m ? NaN : out[r + SPLIT_HEAD + i];
    }
    const one = Int32Array.from(lists.subarray(o, o + ones)).sort();
    const rest = Int32Array.from(lists.subarray(o + ones, o + m)).sort();
    o += m;
    return {
      index,
      ncut: index < 0 ? Infinity : out[r + 5],
      threshold: index < 0 ? NaN : out[r + 6],
      one,
      rest,
      sign: out[r],
      thresholds: t,
      values,
      sizes,
    };
  });
}

/**
 * Split search of several nodes of a host affinity with given Fiedler vectors, in one submission (for tests and
 * direct use).
 *
 * @param ctx Device context.
 * @param w Affinity, n·n row-major.
 * @param n Order.
 * @param nodes Slot lists (ascending global indices, disjoint).
 * @param ys One vector per node (over its slots).
 * @param options Threshold count (default 100) and smallest side (default 1).
 * @returns One split per node.
 * @throws {GpuUnavailableError} When the device is lost.
 */
export async function splitSearchGpu(
  ctx: GpuContext,
  w: Float32Array,
  n: number,
  nodes: ArrayLike<number>[],
  ys: ArrayLike<number>[],
  options: { thresholds?: number; minSide?: number } = {},
): Promise<GpuSplit[]> {
  const thresholds = options.thresholds ?? 100;
  const kernel = await createSplitSearchKernel(ctx, thresholds);
  return await withErrorScope(ctx, "ncut.split_search", async () => {
    const wb = uploadBuffer(ctx, "ncut.split_search.w", w);
    const total = nodes.reduce((s, l) => s + l.length, 0);
    const ws: BatchWorkspace = createBatchWorkspace(ctx, wb, n, {
      maxSteps: 1,
      thresholds,
      slotCapacity: total,
      nodeCapacity: nodes.length,
    });
    try {
      const sizes = ws.upload(nodes, { tol: 0, checkEvery: 1, minSide: options.minSide ?? 1 });
      const yd = new Float32Array(2 * total);
      let o = 0;
      nodes.forEach((l, k) => {
        for (let i = 0; i < l.length; i++) {
          yd[o + i] = ys[k][i];
          let d = 0;
          for (let j = 0; j < l.length; j++) d = Math.fround(d + w[l[i] * n + l[j]]);
          yd[total + o + i] = d;
        }
        o += l.length;
      });
      ctx.device.queue.writeBuffer(ws.vecs, 0, yd);
      const encoder = ctx.device.createCommandEncoder({ label: "ncut.split_search" });
      const pass = encoder.beginComputePass();
      kernel.encode(pass, splitBindGroup(ctx, wb, ws), sizes);
      pass.end();
      const [out, lists] = await submitAndRead(ctx, encoder, [
        { buffer: ws.out, bytes: nodes.length * (SPLIT_HEAD + 2 * thresholds) * 4 },
        { buffer: ws.lists, bytes: total * 4 },
      ], "ncut.split_search");
      return decodeSplits(new Float32Array(out), new Uint32Array(lists), nodes, thresholds);
    } finally {
      ws.destroy();
      wb.destroy();
    }
  });
}
