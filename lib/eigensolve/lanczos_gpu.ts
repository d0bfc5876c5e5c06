/**
 * WebGPU batched Lanczos (`shaders/eigensolve/lanczos_batched.wgsl`): the Fiedler vectors of every node of one
 * tree level in one command buffer, on index lists into the full n×n affinity on the device (no per-node copies).
 *
 * For node k with slots `g_0 < g_1 < …` (global patch indices) the operator is `M = D^-1/2 W_k D^-1/2` with the
 * known top eigenvector `√d/‖√d‖` deflated, as in `fiedlerVector` (lib/eigensolve/fiedler.ts). Differences from
 * the CPU solver: float32 arithmetic, a deterministic hashed start vector instead of the parent's warm start, no
 * restarts (a fixed budget of {@linkcode LANCZOS_GPU_STEPS} steps; a node of m slots stops after m − 1 steps, where
 * its Krylov space is complete, so small nodes are solved exactly as the CPU path's dense Jacobi solver does), and
 * a residual tolerance of at least {@linkcode LANCZOS_GPU_TOLERANCE}. Convergence is checked on the device every
 * `checkEvery` steps; no step waits for the host. A step is two dispatches: the product (the vec4 sweep of
 * `lanczos_matvec.wgsl` over each node's chunks of W when n is a multiple of 4 and the nodes are disjoint, else the
 * index-list gather) and `orthonormalize`, one workgroup per node (both Gram–Schmidt passes, β, the next basis
 * vector and the convergence check, with fixed-order workgroup reductions).
 *
 * This module also owns the level workspace shared with the split search (`lib/ncut/split_gpu.ts`) and the
 * next-level builder: one bind group layout, derived from the WGSL bindings (0–2 read-only storage, 3–6 storage,
 * 7 the `TreeParams` uniform of `shaders/common/tree_params.wgsl`, packed from `TREE_PARAMS` in
 * lib/gpu/uniforms.ts), for all their shader files.
 *
 * @module
 */
import { type GpuContext, submit, withErrorScope } from "../gpu/device.ts";
import { destroyAll, storageBuffer, submitAndRead, uploadBuffer } from "../gpu/buffers.ts";
import { getKernel, groupsFor, kernelBindings, kernelLayout, layoutKey } from "../gpu/kernel.ts";
import { packStruct, TREE_PARAMS } from "../gpu/uniforms.ts";

/** Lanczos steps per level (the Krylov basis size; the CPU solver needed at most 32 on the bench maps). */
export const LANCZOS_GPU_STEPS = 64;
/** Smallest residual tolerance asked of the float32 solver. */
export const LANCZOS_GPU_TOLERANCE = 1e-9;
/** Workgroup size of the per-slot and per-node kernels. */
const WG = 64;

/** Floats per node record in `node_f` (mirrors NODE_F in the WGSL). */
export function nodeRecordFloats(maxSteps: number): number {
  return 8 + (maxSteps + 2) + 5 * maxSteps;
}

/**
 * The bind group layout shared by the tree's kernels (batched Lanczos, split search, next-level builder), derived
 * from the bindings `shaders/eigensolve/lanczos_batched.wgsl` declares (0–2 read-only storage, 3–6 storage, 7 the
 * `TreeParams` uniform).
 *
 * @param device Device.
 * @returns The layout (cached per device in lib/gpu/kernel.ts).
 */
export function batchBindGroupLayout(device: GPUDevice): GPUBindGroupLayout {
  return kernelLayout(device, "eigensolve", "lanczos_batched");
}

/**
 * One entry point of a tree kernel, from the pipeline cache of lib/gpu/kernel.ts (once per device, file, entry
 * and overrides), checked to bind the shared layout.
 *
 * @param device Device.
 * @param stage Shader folder.
 * @param file Shader file without `.wgsl`.
 * @param entry Entry point.
 * @param overrides `override` constants.
 * @returns The pipeline.
 * @throws {Error} When the WGSL fails to compile, or its bindings differ from `lanczos_batched.wgsl`'s.
 */
export async function batchPipeline(
  device: GPUDevice,
  stage: string,
  file: string,
  entry: string,
  overrides: Record<string, number>,
): Promise<GPUComputePipeline> {
  const kernel = await getKernel(device, { stage, kernel: file, entry, overrides });
  if (kernel.layout !== batchBindGroupLayout(device)) {
    throw new Error(
      `Tree kernel ${kernel.label} must declare the bindings of eigensolve/lanczos_batched.wgsl (${
        layoutKey(kernelBindings("eigensolve", "lanczos_batched"))
      }), received ${kernel.layoutKey}`,
    );
  }
  return kernel.pipeline;
}

/** Sizes of one level. */
export interface LevelSizes {
  /** Slots (sum of node sizes). */
  slots: number;
  /** Nodes. */
  nodes: number;
  /** Order of the affinity. */
  n: number;
  /** Whether no patch is in two nodes (the node-of-patch table of the vec4 product is then exact). */
  disjoint: boolean;
}

/** Device buffers of one tree level, sized for the whole tree (at most n slots, n/2 nodes). */
export interface BatchWorkspace {
  /** Largest number of slots. */
  slotCapacity: number;
  /** Largest number of nodes. */
  nodeCapacity: number;
  /** Lanczos basis size (MAX_STEPS). */
  maxSteps: number;
  /** Candidate thresholds (THRESHOLDS). */
  thresholds: number;
  /** `(global index, node)` per slot. */
  slots: GPUBuffer;
  /** `(offset, size, limit, 0)` per node. */
  nodes: GPUBuffer;
  /**
   * Per-slot vectors: y, d, d^-1/2, x, work (sections of `slots` entries), then from `globalBase` two sections of
   * n entries indexed by patch: x, and the patch's node in this level (−1 outside it).
   */
  vecs: GPUBuffer;
  /** Float offset of the global sections of `vecs` (a multiple of 4). */
  globalBase: number;
  /** Krylov basis. */
  basis: GPUBuffer;
  /** Per node f32 records. */
  nodeF: GPUBuffer;
  /** Step counter + per node u32 records. */
  nodeU: GPUBuffer;
  /** Split search: per-slot histograms / partial cuts. */
  partial: GPUBuffer;
  /** Split search: per node results. */
  out: GPUBuffer;
  /** Split search: children's index lists, then buckets. */
  lists: GPUBuffer;
  /** Uniform parameters. */
  params: GPUBuffer;
  /** Float offset in `vecs` of the node-of-patch section (`global_base` + n rounded up to 4). */
  nodeOfOffset: number;
  /** The one bind group all kernels use. */
  group: GPUBindGroup;
  /**
   * Writes one level's slot and node tables and parameters (queue writes, no submission).
   * @param level Node slot lists (global indices, ascending, ≥ 2 each).
   * @param params Tolerance, check period, smallest side.
   * @returns The level's sizes.
   */
  upload(
    level: ArrayLike<number>[],
    params: { tol: number; checkEvery: number; minSide: number },
  ): LevelSizes;
  /** Frees the buffers (not the affinity). */
  destroy(): void;
}

/** The tables one tree level's kernels read (see {@linkcode levelTables}). */
export interface LevelTables {
  /** Per slot (global index, node), then each node's chunks (chunk index, 0); room for `4·max(slots, 1)` u32. */
  slots: Uint32Array<ArrayBuffer>;
  /** Per node (offset, size, step limit, first chunk), then (0, 0, 0, chunk count). */
  nodes: Uint32Array<ArrayBuffer>;
  /** Chunks in all. */
  chunks: number;
  /** Whether no patch is in two nodes. */
  disjoint: boolean;
}

/**
 * Builds one level's slot, node and chunk tables from its nodes' slot lists (and fills `nodeOf`, the node of every
 * patch, −1 outside the level). A chunk is a vec4 column of W holding one of the node's patches
 * (lanczos_matvec.wgsl); `shaders/ncut/next_level.wgsl` builds the same tables on the device.
 *
 * @param level Node slot lists (global indices, ascending, ≥ 2 each).
 * @param maxSteps Basis size (caps each node's step limit).
 * @param nodeOf Per-patch output (length ≥ every index + 1).
 * @returns The tables.
 */
export function levelTables(level: ArrayLike<number>[], maxSteps: number, nodeOf: Float32Array): LevelTables {
  let total = 0;
  for (const l of level) total += l.length;
  const s = new Uint32Array(4 * Math.max(total, 1));
  const nd = new Uint32Array(4 * (level.length + 1));
  let chunks = 0;
  let o = 0;
  let disjoint = true;
  nodeOf.fill(-1);
  level.forEach((l, k) => {
    nd.set([o, l.length, Math.min(maxSteps, l.length - 1), chunks], 4 * k);
    let last = -1;
    for (let i = 0; i < l.length; i++) {
      s.set([l[i], k], 2 * (o + i));
      if (nodeOf[l[i]] >= 0) disjoint = false;
      nodeOf[l[i]] = k;
      if (l[i] >> 2 !== last) {
        last = l[i] >> 2;
        s[2 * (total + chunks++)] = last;
      }
    }
    o += l.length;
  });
  nd[4 * level.length + 3] = chunks;
  return { slots: s, nodes: nd, chunks, disjoint };
}

/**
 * Allocates a level workspace over a device affinity.
 *
 * @param ctx Device context.
 * @param w The n·n affinity on the device.
 * @param n Its order.
 * @param options Basis size, thresholds, capacities (default n slots and ⌊n/2⌋ nodes).
 * @returns The workspace.
 * @throws {RangeError} When a buffer exceeds the device's binding limit.
 */
export function createBatchWorkspace(
  ctx: GpuContext,
  w: GPUBuffer,
  n: number,
  options: { maxSteps: number; thresholds: number; slotCapacity?: number; nodeCapacity?: number },
): BatchWorkspace {
  const { maxSteps, thresholds } = options;
  const slotCapacity = options.slotCapacity ?? n;
  const nodeCapacity = Math.max(1, options.nodeCapacity ?? Math.floor(n / 2));
  const slots = storageBuffer(ctx, "tree.batch.slots", 2 * slotCapacity * 8);
  const nodes = storageBuffer(ctx, "tree.batch.nodes", (nodeCapacity + 1) * 16);
  const globalBase = 4 * Math.ceil((5 * slotCapacity) / 4);
  const nPadded = 4 * Math.ceil(n / 4);
  const vecs = storageBuffer(ctx, "tree.batch.vecs", (globalBase + 2 * nPadded) * 4);
  const nodeOf = new Float32Array(nPadded);
  const basis = storageBuffer(ctx, "tree.batch.basis", (maxSteps + 2) * slotCapacity * 4);
  const nodeF = storageBuffer(ctx, "tree.batch.node_f", nodeCapacity * nodeRecordFloats(maxSteps) * 4);
  const nodeU = storageBuffer(ctx, "tree.batch.node_u", (4 + 4 * nodeCapacity) * 4);
  const partial = storageBuffer(ctx, "tree.split.partial", slotCapacity * (thresholds + 1) * 4);
  const out = storageBuffer(ctx, "tree.split.out", nodeCapacity * (8 + 2 * thresholds) * 4);
  const lists = storageBuffer(ctx, "tree.split.lists", 2 * slotCapacity * 4);
  const params = ctx.device.createBuffer({
    label: "tree.batch.params",
    size: TREE_PARAMS.size,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  const group = ctx.device.createBindGroup({
    label: "tree.batch.bindings",
    layout: batchBindGroupLayout(ctx.device),
    entries: [w, slots, nodes, vecs, basis, nodeF, nodeU, partial, out, lists, params]
      .filter((_, i) => i < 7 || i === 10)
      .map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const ws: BatchWorkspace = {
    slotCapacity,
    nodeCapacity,
    maxSteps,
    thresholds,
    slots,
    nodes,
    vecs,
    globalBase,
    basis,
    nodeF,
    nodeU,
    partial,
    out,
    lists,
    params,
    nodeOfOffset: globalBase + nPadded,
    group,
    upload(level, p) {
      let total = 0;
      for (const l of level) total += l.length;
      if (total > slotCapacity || level.length > nodeCapacity) {
        throw new RangeError(
          `Tree level of ${level.length} nodes and ${total} slots exceeds the workspace (${nodeCapacity}, ${slotCapacity})`,
        );
      }
      const { slots: s, nodes: nd, chunks, disjoint } = levelTables(level, maxSteps, nodeOf);
      const q = ctx.device.queue;
      q.writeBuffer(slots, 0, s, 0, 2 * Math.max(total + chunks, 1));
      q.writeBuffer(nodes, 0, nd);
      q.writeBuffer(vecs, (globalBase + nPadded) * 4, nodeOf);
      q.writeBuffer(
        params,
        0,
        packStruct(TREE_PARAMS, {
          n,
          slots: total,
          nodes: level.length,
          check_every: p.checkEvery,
          tol: p.tol,
          thresholds,
          min_side: p.minSide,
          global_base: globalBase,
        }),
      );
      return { slots: total, nodes: level.length, n, disjoint };
    },
    destroy: () => destroyAll(slots, nodes, vecs, basis, nodeF, nodeU, partial, out, lists, params),
  };
  return ws;
}

/**
 * The split search's bind group over the same workspace (bindings 4–6: partial, out, lists).
 *
 * @param ctx Device context.
 * @param w The affinity.
 * @param ws Workspace.
 * @returns The bind group.
 */
export function splitBindGroup(ctx: GpuContext, w: GPUBuffer, ws: BatchWorkspace): GPUBindGroup {
  return ctx.device.createBindGroup({
    label: "tree.split.bindings",
    layout: batchBindGroupLayout(ctx.device),
    entries: [w, ws.slots, ws.nodes, ws.vecs, ws.partial, ws.out, ws.lists, ws.params]
      .map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/** The compiled batched Lanczos. */
export interface LanczosBatchedKernel {
  /** Basis size. */
  maxSteps: number;
  /**
   * Records the whole solve of one level (prologue, `steps` Lanczos steps with checks, Ritz vectors) on `pass`.
   * @param pass Open compute pass.
   * @param group The workspace's bind group.
   * @param sizes The level's sizes (or bounds on them: every kernel stops at the sizes in the parameters).
   * @param steps Steps to record (≤ maxSteps; the largest node's limit is enough).
   */
  encode(pass: GPUComputePassEncoder, group: GPUBindGroup, sizes: LevelSizes, steps: number): void;
}

/**
 * Compiles the batched Lanczos kernels once per device and basis size.
 *
 * @param ctx Device context.
 * @param maxSteps Basis size. @default LANCZOS_GPU_STEPS
 * @returns The kernel.
 */
export async function createLanczosBatchedKernel(
  ctx: GpuContext,
  maxSteps = LANCZOS_GPU_STEPS,
): Promise<LanczosBatchedKernel> {
  const names = [
    "degrees",
    "prepare",
    "start",
    "matvec",
    "orthonormalize",
    "prologue",
    "ritz",
  ] as const;
  const [list, matvec4, degrees4] = await Promise.all([
    Promise.all(
      names.map((name) =>
        batchPipeline(
          ctx.device,
          "eigensolve",
          "lanczos_batched",
          name === "prologue" ? "orthonormalize" : name,
          { WORKGROUP_SIZE: WG, MAX_STEPS: maxSteps, PROLOGUE: name === "prologue" ? 1 : 0 },
        )
      ),
    ),
    batchPipeline(ctx.device, "eigensolve", "lanczos_matvec", "lanczos_matvec", { WORKGROUP_SIZE: WG }),
    batchPipeline(ctx.device, "eigensolve", "lanczos_matvec", "lanczos_degrees", { WORKGROUP_SIZE: WG }),
  ]);
  const p = Object.fromEntries(names.map((name, i) => [name, list[i]])) as Record<
    typeof names[number],
    GPUComputePipeline
  >;
  const maxGroups = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  return {
    maxSteps,
    encode(pass, group, { slots, nodes, n, disjoint }, steps) {
      const perSlot = groupsFor(slots, WG), perNode = groupsFor(nodes, WG);
      const run = (pipeline: GPUComputePipeline, x: number, y = 1) => {
        pass.setPipeline(pipeline);
        pass.dispatchWorkgroups(x, y);
      };
      // The vec4 product needs rows of W that start on a vec4 boundary, and nodes that share no patch.
      const vec4 = n % 4 === 0 && disjoint;
      const perQuad = groupsFor(Math.ceil(slots / 4), WG);
      const matvec = vec4
        ? () => run(matvec4, groupsFor(Math.ceil(slots / 8), WG))
        : () => run(p.matvec, perSlot);
      // One workgroup per node.
      const nodeGroups: [number, number] = [Math.min(nodes, maxGroups), Math.ceil(nodes / maxGroups)];
      pass.setBindGroup(0, group);
      if (vec4) run(degrees4, perQuad);
      else run(p.degrees, perSlot);
      run(p.prepare, perNode);
      run(p.start, perSlot);
      run(p.prologue, ...nodeGroups);
      for (let j = 0; j < steps; j++) {
        matvec();
        run(p.orthonormalize, ...nodeGroups);
      }
      run(p.ritz, perSlot);
    },
  };
}

/** Result of {@linkcode fiedlerBatchedGpu} for one node. */
export interface BatchedFiedler {
  /** `D^-1/2 v` over the node's slots (before the sign rule). */
  vector: Float32Array;
  /** λ₂ of the normalised Laplacian. */
  value: number;
  /** Lanczos steps taken. */
  steps: number;
  /** Final residual estimate. */
  residual: number;
}

/**
 * Fiedler vectors of several nodes of a host affinity in one submission (for tests and direct use).
 *
 * @param ctx Device context.
 * @param w Affinity, n·n row-major.
 * @param n Order.
 * @param nodes Slot lists (ascending global indices, ≥ 2 each, disjoint).
 * @param options Basis size, tolerance, check period.
 * @returns One result per node.
 * @throws {GpuUnavailableError} When the device is lost.
 */
export async function fiedlerBatchedGpu(
  ctx: GpuContext,
  w: Float32Array,
  n: number,
  nodes: ArrayLike<number>[],
  options: { maxSteps?: number; tolerance?: number; checkEvery?: number } = {},
): Promise<BatchedFiedler[]> {
  const maxSteps = options.maxSteps ?? LANCZOS_GPU_STEPS;
  const kernel = await createLanczosBatchedKernel(ctx, maxSteps);
  return await withErrorScope(ctx, "eigensolve.lanczos_batched", async () => {
    const wb = uploadBuffer(ctx, "eigensolve.lanczos_batched.w", w);
    const total = nodes.reduce((s, l) => s + l.length, 0);
    const ws = createBatchWorkspace(ctx, wb, n, {
      maxSteps,
      thresholds: 1,
      slotCapacity: total,
      nodeCapacity: nodes.length,
    });
    try {
      const sizes = ws.upload(nodes, {
        tol: Math.max(options.tolerance ?? 0, LANCZOS_GPU_TOLERANCE),
        checkEvery: options.checkEvery ?? 4,
        minSide: 1,
      });
      const encoder = ctx.device.createCommandEncoder({ label: "eigensolve.lanczos_batched" });
      const pass = encoder.beginComputePass();
      const steps = Math.min(maxSteps, Math.max(...nodes.map((l) => l.length - 1)));
      kernel.encode(pass, ws.group, sizes, steps);
      pass.end();
      const rec = nodeRecordFloats(maxSteps);
      const [y, f, u] = await submitAndRead(ctx, encoder, [
        { buffer: ws.vecs, bytes: total * 4 },
        { buffer: ws.nodeF, bytes: nodes.length * rec * 4 },
        { buffer: ws.nodeU, bytes: (4 + 4 * nodes.length) * 4 },
      ], "eigensolve.lanczos_batched");
      const yv = new Float32Array(y), fv = new Float32Array(f), uv = new Uint32Array(u);
      let o = 0;
      return nodes.map((l, k) => {
        const r = {
          vector: yv.slice(o, o + l.length),
          value: -fv[k * rec + 2],
          steps: uv[4 + 4 * k + 1],
          residual: fv[k * rec + 3],
        };
        o += l.length;
        return r;
      });
    } finally {
      ws.destroy();
      wb.destroy();
    }
  });
}

/** Submits an encoder without waiting (counts the submission). */
export function submitOnly(ctx: GpuContext, encoder: GPUCommandEncoder): void {
  submit(ctx, [encoder.finish()]);
}
