/**
 * WebGPU partition tree: the affinity kernels, then the tree built level by level with the affinity kept on the
 * device (never read back). A submission runs up to four levels: the batched Lanczos solve of every node of a
 * level (`lib/eigensolve/lanczos_gpu.ts`) and the batched split search (`split_gpu.ts`), then the next level's
 * tables built on the device from the split results (`next_level_gpu.ts`), and so on; one readback brings every
 * level's per-node results and children's index lists, and the host replays the levels (checking the device's
 * tables against its own). The first submission also carries the affinity kernels. Each level records a step
 * budget (level 0: 40 steps; later levels from the previous level's largest step count); a level with a node still
 * running after it is solved again alone, to the step limit. On the bench maps a six-level tree takes two host
 * waits (each at least ~10 ms in Deno).
 *
 * The tree has the CPU path's structure and numbering: levels are computed breadth-first up to `tauMax` (every
 * node whose NCut is below it is split, since a node's split never depends on τ), then the CPU path's frontier
 * (depth-first, "1" side first, or lowest NCut first with `maxSegments`) is replayed on the host to number the
 * nodes, so `cutTree` gives the same labels. With `maxSegments` the levels may compute nodes the CPU path never
 * reaches; they are dropped. `compat: "reference"` is supported (the exact-zero rows come from the affinity
 * kernel). Differences: float32 eigensolves (`solver` is "lanczos" for every node, `matvecs` counts Lanczos steps)
 * and float32 thresholds and NCut values.
 *
 * When a node holds a patch with zero degree (possible only without self-loops), the affinity is read back once and
 * the tree is built by the CPU path, with a note.
 *
 * @module
 */
import { checkAlpha } from "../affinity/affinity.ts";
import {
  type AffinityOnDevice,
  createAffinityKernels,
  encodeAffinity,
  unkey,
} from "../affinity/affinity_gpu.ts";
import { validateFeatureMap } from "../features/validate_features.ts";
import {
  createBatchWorkspace,
  createLanczosBatchedKernel,
  LANCZOS_GPU_STEPS,
  LANCZOS_GPU_TOLERANCE,
  nodeRecordFloats,
  splitBindGroup,
} from "../eigensolve/lanczos_gpu.ts";
import { type GpuContext, withErrorScope } from "../gpu/device.ts";
import { type ReadRequest, storageBuffer, submitAndRead } from "../gpu/buffers.ts";
import { readStruct, TREE_PARAMS } from "../gpu/uniforms.ts";
import type { FeatureMap } from "../types.ts";
import {
  buildPartitionTreeSync,
  checkTreeOptions,
  expandInReferenceOrder,
  type NodeSplit,
  type PartitionNode,
  type PartitionTree,
  type PartitionTreeOptions,
  unsolvedNode,
} from "./partition_tree.ts";
import { createSplitSearchKernel, decodeSplits, SPLIT_HEAD } from "./split_gpu.ts";
import { createNextLevelBuilder } from "./next_level_gpu.ts";

/** Convergence check period of the batched Lanczos (steps). */
const CHECK_EVERY = 4;
/** Steps recorded in the first submission of level 0 (the CPU solver needed 32 on the bench maps). */
const FIRST_LEVEL_BUDGET = 40;
/** Later levels record the previous level's largest step count plus this many steps (rounded up to a check)… */
const LEVEL_BUDGET_SLACK = 8;
/** …and at least this many. */
const MIN_LEVEL_BUDGET = 16;
/** Tree levels per submission (the first uploaded by the host, the others built on the device). */
const CHAIN_LEVELS = 4;
/** A device-built level j of a submission records the budget minus this many steps per level (deeper nodes are
 * smaller and converge sooner), at least MIN_LEVEL_BUDGET. */
const CHAIN_BUDGET_STEP = 4;

/** Internal tuning of the level loop (tests use it to force continuations). */
export interface TreeGpuTuning {
  /** Steps recorded in level 0's first submission. @default 40 */
  firstBudget?: number;
  /** Tree levels per submission. @default 4 */
  chainLevels?: number;
}

/** Work recorded before the tree and submitted with its first levels. */
export interface PendingWork {
  /** The encoder holding it. */
  encoder: GPUCommandEncoder;
  /** Buffers to read back with the first submission. */
  reads?: ReadRequest[];
  /** Runs on those, in order, right after that read (before any tree result is used); may throw. */
  check?: (data: ArrayBuffer[]) => void;
}

/** Byte offsets of one level's results in a submission's staging buffer. */
function chainLayout(nodes: number, slots: number, j: number, keep: boolean, outRec: number, rec: number) {
  const sizes = {
    out: nodes * outRec * 4,
    lists: slots * 4,
    nodeF: nodes * rec * 4,
    nodeU: (4 + 4 * nodes) * 4,
    ys: keep ? slots * 4 : 0,
    params: TREE_PARAMS.size,
    slots: j > 0 ? slots * 8 : 0,
  };
  const at = {} as Record<keyof typeof sizes, number>;
  let bytes = 0;
  for (const key of Object.keys(sizes) as (keyof typeof sizes)[]) {
    at[key] = bytes;
    bytes += sizes[key];
  }
  return { at, bytes };
}

/** A node as computed level by level (before the CPU numbering is replayed). */
interface LevelNode extends NodeSplit {
  children: [LevelNode, LevelNode] | null;
}

/**
 * Builds the partition tree on the GPU: affinity kernels, then the level-by-level tree (see the module doc).
 *
 * @param ctx Device context.
 * @param features Feature map `[h, w, c]`.
 * @param options As for `buildPartitionTree` (`affinity` and `backend` are ignored).
 * @returns The tree, with the CPU path's node numbering.
 * @throws {RangeError} On bad options, or an affinity above the device's binding limit.
 * @throws {TypeError} On a malformed feature map.
 * @throws {GpuUnavailableError} When the device is lost (callers fall back to the CPU path).
 */
export async function buildPartitionTreeGpu(
  ctx: GpuContext,
  features: FeatureMap,
  options: PartitionTreeOptions = {},
): Promise<PartitionTree> {
  const o = checkTreeOptions(options);
  checkAlpha(o.alpha);
  validateFeatureMap(features, "features");
  const n = features.height * features.width;
  if (n < 2) throw new RangeError(`Feature map has ${n} patch; expected at least 2 to build a graph`);
  const kernels = await createAffinityKernels(ctx);
  const t0 = performance.now();
  const encoder = ctx.device.createCommandEncoder({ label: "tree.level0" });
  const affinity = encodeAffinity(ctx, kernels, encoder, features, o);
  try {
    const tree = await buildPartitionTreeOnDevice(ctx, { affinity, features, options, pending: encoder });
    tree.timings.tree = performance.now() - t0;
    return tree;
  } finally {
    affinity.destroy();
  }
}

/** What {@linkcode buildPartitionTreeOnDevice} builds from. */
export interface DeviceTreeInput {
  /** Device affinity (its `w`, `minmax` and `zeroRows` buffers, as `encodeAffinity` leaves them; not destroyed
   * here). */
  affinity: AffinityOnDevice;
  /** The feature map it came from (for the grid size, and the CPU fallback). */
  features: FeatureMap;
  /** As for `buildPartitionTree`. */
  options?: PartitionTreeOptions;
  /** Encoder with pending work (e.g. the affinity kernels) to submit with the first levels, or that encoder with
   * buffers to read back with them and a check to run on those (which may throw to stop the tree). */
  pending?: GPUCommandEncoder | PendingWork;
  /** Step budget of the first submission per level (internal). */
  tuning?: TreeGpuTuning;
}

/**
 * Builds the partition tree from an affinity already on the device, up to four levels per submission and
 * readback.
 *
 * @param ctx Device context.
 * @param input The affinity, its feature map, the tree options and any work pending on the device.
 * @returns The tree.
 * @throws {GpuUnavailableError} When the device is lost.
 */
export async function buildPartitionTreeOnDevice(
  ctx: GpuContext,
  input: DeviceTreeInput,
): Promise<PartitionTree> {
  const { affinity, features, options = {}, pending: encoder, tuning = {} } = input;
  const o = checkTreeOptions(options);
  const n = affinity.n;
  const pending: PendingWork | undefined = encoder && "encoder" in encoder ? encoder : encoder && { encoder };
  const extraReads = pending?.reads ?? [];
  const maxSteps = LANCZOS_GPU_STEPS;
  const [lanczos, split] = await Promise.all([
    createLanczosBatchedKernel(ctx, maxSteps),
    createSplitSearchKernel(ctx, o.count),
  ]);
  const t0 = performance.now();
  const notes: string[] = [];
  const tol = Math.max(options.tolerance ?? 1e-8, LANCZOS_GPU_TOLERANCE);
  const keep = options.keepVectors ?? false;
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const root = levelNode(all, all);
  let excluded: Uint8Array | null = null;
  let constant = false;
  let fallback = false;
  await withErrorScope(ctx, "tree", async () => {
    const ws = createBatchWorkspace(ctx, affinity.w, n, { maxSteps, thresholds: o.count });
    const splitGroup = splitBindGroup(ctx, affinity.w, ws);
    const rec = nodeRecordFloats(maxSteps);
    const outRec = SPLIT_HEAD + 2 * o.count;
    const chainLevels = Math.max(1, tuning.chainLevels ?? CHAIN_LEVELS);
    const builder = await createNextLevelBuilder(ctx, ws, {
      maxSteps,
      thresholds: o.count,
      tauMax: o.tauMax,
      n,
    });
    try {
      let level: LevelNode[] = [root];
      let first = true;
      // Steps recorded per level: a budget from the previous level's step count instead of the basis size, because
      // on llvmpipe every recorded step costs ~0.1–0.3 ms even when all nodes are done.
      let budget = tuning.firstBudget ?? FIRST_LEVEL_BUDGET;
      // Set when a submission stopped at `level` (a node needed more steps, or the device's tables disagreed):
      // that level is then solved alone, to its step limit.
      let redo = false;
      let depth = 0; // of `level`
      while (level.length > 0) {
        const solvable = level.filter((x) => x.active.length >= 2);
        if (solvable.length === 0 && !first) break;
        const lists = solvable.map((x) => x.active);
        const sizes = ws.upload(lists, { tol, checkEvery: CHECK_EVERY, minSide: o.minSegmentSize });
        const limit = sizes.nodes > 0 ? Math.min(maxSteps, Math.max(...lists.map((l) => l.length - 1))) : 0;
        // The levels of this submission: this one, then up to chainLevels − 1 built on the device, each with its
        // step count and bounds on its sizes (the kernels stop at the sizes the builder wrote).
        const plan = [];
        let bound = sizes.nodes;
        for (let j = 0; j < (redo ? 1 : chainLevels); j++) {
          if (j > 0) bound = Math.min(ws.nodeCapacity, 2 * bound, Math.floor(sizes.slots / 2));
          const steps = redo ? limit : Math.min(
            maxSteps,
            j === 0 ? Math.min(limit, budget) : Math.max(
              MIN_LEVEL_BUDGET,
              budget - CHAIN_BUDGET_STEP * j,
            ),
          );
          plan.push({ steps, nodes: bound, layout: chainLayout(bound, sizes.slots, j, keep, outRec, rec) });
        }
        const stagingBytes = plan.reduce((sum, p) => sum + p.layout.bytes, 0);
        const staging = storageBuffer(ctx, "tree.chain.staging", stagingBytes);
        const enc = first && pending
          ? pending.encoder
          : ctx.device.createCommandEncoder({ label: "tree.levels" });
        // Compat "reference": children leave the exact-zero rows out (only the root solves them).
        if (first && o.compat === "reference") builder.exclude(enc, affinity.zeroRows);
        let base = 0;
        plan.forEach((p, j) => {
          const levelSizes = {
            slots: sizes.slots,
            nodes: p.nodes,
            n,
            disjoint: j === 0 ? sizes.disjoint : true,
          };
          const last = j + 1 === plan.length;
          if (p.nodes > 0) {
            const pass = enc.beginComputePass({ label: "tree.level.pass" });
            lanczos.encode(pass, ws.group, levelSizes, p.steps);
            split.encode(pass, splitGroup, levelSizes);
            if (!last) builder.encode(pass);
            pass.end();
          }
          const at = p.layout.at;
          const copy = (buffer: GPUBuffer, offset: number, bytes: number) =>
            bytes > 0 && enc.copyBufferToBuffer(buffer, 0, staging, base + offset, bytes);
          copy(ws.out, at.out, p.nodes * outRec * 4);
          copy(ws.lists, at.lists, sizes.slots * 4);
          copy(ws.nodeF, at.nodeF, p.nodes * rec * 4);
          copy(ws.nodeU, at.nodeU, (4 + 4 * p.nodes) * 4);
          copy(ws.vecs, at.ys, keep ? sizes.slots * 4 : 0);
          copy(ws.params, at.params, TREE_PARAMS.size);
          copy(ws.slots, at.slots, j > 0 ? sizes.slots * 8 : 0);
          if (!last) builder.adopt(enc);
          base += p.layout.bytes;
        });
        const requests = [{ buffer: staging, bytes: stagingBytes }];
        if (first) {
          requests.push({ buffer: affinity.minmax, bytes: 8 }, { buffer: affinity.zeroRows, bytes: n * 4 });
          requests.push(...extraReads);
        }
        let got: ArrayBuffer[];
        try {
          got = await submitAndRead(ctx, enc, requests, "tree.level");
        } finally {
          staging.destroy();
        }
        if (first) {
          pending?.check?.(got.slice(3, 3 + extraReads.length));
          const keys = new Uint32Array(got[1]);
          if (!(Math.fround(unkey(keys[1]) - unkey(keys[0])) > 0)) {
            constant = true;
            return;
          }
          if (o.compat === "reference") {
            excluded = Uint8Array.from(new Uint32Array(got[2]), (v) => v ? 1 : 0);
          }
          first = false;
        }
        // Replays the submission's levels on the host: the nodes of level j + 1 are the children made at level j.
        redo = false;
        base = 0;
        for (let j = 0; j < plan.length && level.length > 0; j++) {
          const at = plan[j].layout.at;
          const start = base;
          base += plan[j].layout.bytes;
          const floats = (offset: number, length: number) => new Float32Array(got[0], start + offset, length);
          const words = (offset: number, length: number) => new Uint32Array(got[0], start + offset, length);
          const nodes = j === 0 ? solvable : level.filter((x) => x.active.length >= 2);
          const nodeLists = nodes.map((x) => x.active);
          const slots = nodeLists.reduce((sum, l) => sum + l.length, 0);
          if (j > 0) {
            if (nodes.length === 0) {
              level = [];
              break;
            }
            // The device built this level's tables: they must be the host's.
            const params = readStruct(TREE_PARAMS, got[0], start + at.params);
            const table = words(at.slots, 2 * sizes.slots);
            let same = params.slots === slots && params.nodes === nodes.length;
            let s = 0;
            for (const l of nodeLists) {
              for (let i = 0; same && i < l.length; i++, s++) same = table[2 * s] === l[i];
            }
            if (!same) {
              notes.push(
                `The device-built tables of tree depth ${depth} differ from the host's; that level was solved again from the host's`,
              );
              redo = true;
              break;
            }
          }
          const nodeU = words(at.nodeU, 4 + 4 * nodes.length);
          // A node still running after its step budget: solve the level again alone, to the step limit.
          if (nodes.some((_, k) => nodeU[4 + 4 * k] === 0)) {
            redo = true;
            break;
          }
          const nodeF = floats(at.nodeF, nodes.length * rec);
          const ys = floats(at.ys, keep ? slots : 0);
          const splits = decodeSplits(
            floats(at.out, nodes.length * outRec),
            words(at.lists, slots),
            nodeLists,
            o.count,
          );
          const next: LevelNode[] = [];
          let offset = 0;
          for (let k = 0; k < nodes.length; k++) {
            const node = nodes[k];
            const m = node.active.length;
            if (nodeU[4 + 4 * k + 3] !== 0) {
              fallback = true;
              return;
            }
            const s = splits[k];
            const steps = nodeU[4 + 4 * k + 1];
            node.solver = "lanczos";
            node.matvecs = steps;
            node.lambda = -nodeF[k * rec + 2];
            if (steps >= maxSteps && steps < m - 1 && nodeF[k * rec + 3] > tol) {
              notes.push(
                `Lanczos (float32) stopped after ${steps} steps with residual ${
                  nodeF[k * rec + 3].toExponential(1)
                } on a node of ${m} patches`,
              );
            }
            node.ncut = s.ncut;
            node.threshold = s.threshold;
            node.thresholdIndex = s.index;
            node.one = s.index < 0 ? new Int32Array(0) : s.one;
            if (keep) {
              node.fiedler = Float64Array.from(ys.subarray(offset, offset + m));
              node.thresholds = s.thresholds;
              node.ncutValues = s.values;
            }
            offset += m;
            if (node.ncut < o.tauMax) {
              const inOne = new Uint8Array(n);
              for (const i of node.one) inOne[i] = 1;
              const zeroRegion = node.region.filter((i) => !inOne[i]);
              const activeOf = (region: Int32Array) =>
                excluded ? region.filter((i) => !excluded![i]) : region;
              const c1 = levelNode(node.one, activeOf(node.one));
              const c0 = levelNode(zeroRegion, activeOf(zeroRegion));
              node.children = [c1, c0];
              next.push(c1, c0);
            }
          }
          level = next;
          depth++;
          const used = Math.max(0, ...nodes.map((_, k) => nodeU[4 + 4 * k + 1]));
          budget = Math.max(
            MIN_LEVEL_BUDGET,
            Math.ceil((used + LEVEL_BUDGET_SLACK) / CHECK_EVERY) * CHECK_EVERY,
          );
        }
      }
    } finally {
      builder.destroy();
      ws.destroy();
    }
  });
  if (fallback) {
    const enc = ctx.device.createCommandEncoder({ label: "tree.fallback" });
    const [w] = await submitAndRead(ctx, enc, [{ buffer: affinity.w, bytes: n * n * 4 }], "tree.fallback");
    const tree = buildPartitionTreeSync(features, { ...options, affinity: new Float32Array(w) });
    tree.notes.push("A tree node holds a patch with zero degree: the tree was built by the CPU path");
    return tree;
  }
  const tree: PartitionTree = {
    height: features.height,
    width: features.width,
    alpha: o.alpha,
    tauMax: o.tauMax,
    selfLoops: o.selfLoops,
    minSegmentSize: o.minSegmentSize,
    maxSegments: o.maxSegments,
    compat: o.compat,
    nodes: [],
    notes,
    timings: { affinity: 0, tree: 0 },
  };
  if (constant) {
    notes.push("All patch features are identical: the affinity is constant, so the image is one segment");
    replay(tree, levelNode(all, all), o.tauMax, o.maxSegments);
  } else {
    replay(tree, root, o.tauMax, o.maxSegments);
  }
  tree.timings.tree = performance.now() - t0;
  return tree;
}

function levelNode(region: Int32Array, active: Int32Array): LevelNode {
  return { ...unsolvedNode(region, active), children: null };
}

/** Numbers the computed nodes in the CPU path's order (same frontier rules as `buildPartitionTreeSync`). */
function replay(tree: PartitionTree, root: LevelNode, tauMax: number, maxSegments: number | undefined): void {
  const make = (x: LevelNode, parent: number, depth: number): PartitionNode => {
    const node: PartitionNode = { ...x, id: tree.nodes.length, parent, depth, children: null };
    tree.nodes.push(node);
    return node;
  };
  const source = new Map<PartitionNode, LevelNode>();
  const r = make(root, -1, 0);
  source.set(r, root);
  expandInReferenceOrder(r, tauMax, maxSegments, (node) => {
    const [x1, x0] = source.get(node)!.children!;
    const c1 = make(x1, node.id, node.depth + 1);
    const c0 = make(x0, node.id, node.depth + 1);
    source.set(c1, x1);
    source.set(c0, x0);
    return [c1, c0];
  });
}
