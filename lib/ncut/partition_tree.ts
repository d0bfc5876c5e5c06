/**
 * The partition tree of recursive 2-way normalized cut (REFERENCE.md §2.3), built once up to `tauMax`.
 *
 * Every node stores its best split and that split's NCut; a node has children exactly when its NCut is below
 * `tauMax`. Because a node's split never depends on τ, `cutTree(tree, τ)` for any τ ≤ tauMax gives the same
 * labels as running the recursion with τ, so τ sweeps cost one build (DESIGN.md §2).
 *
 * Notes: the affinity keeps self-loops by default (as the reference), so every degree is positive. With
 * `compat: "reference"`, nodes whose full affinity row holds an exact 0 take part only in the top-level split and
 * then follow the "0" side of every later split, as in the reference code.
 *
 * @module
 */
import { affinityMatrixSync, checkAlpha } from "../affinity/affinity.ts";
import { ConstantAffinityError } from "../affinity/constant_affinity_error.ts";
import { fiedlerVector } from "../eigensolve/fiedler.ts";
import { subgraph } from "../eigensolve/subgraph.ts";
import { releaseMatrix } from "../wasm/square_matrix.ts";
import type { Backend, FeatureMap } from "../types.ts";
import { bestThresholdSplit } from "./split.ts";

/** Options of `buildPartitionTree` (`lib/stages.ts`). */
export interface PartitionTreeOptions {
  /** Affinity exponent. @default 10 */
  alpha?: number;
  /** Largest τ the tree can be cut at: nodes whose NCut is below it are split. @default 0.5 */
  tauMax?: number;
  /** Candidate thresholds per split. @default 100 */
  thresholds?: number;
  /** Keep the affinity diagonal as the reference does. @default true */
  selfLoops?: boolean;
  /** Smallest segment (in patches) a split may create; thresholds leaving less on a side are skipped. @default 1 */
  minSegmentSize?: number;
  /** Stop splitting when this many segments exist, splitting the lowest-NCut nodes first. @default undefined (no cap) */
  maxSegments?: number;
  /** `"reference"` also reproduces the reference's exact-zero node dropping below the top level. @default "default" */
  compat?: "default" | "reference";
  /** Where the affinity and the tree stage run (`"webgpu"`, `"cpu"`, `"auto"`). With `"webgpu"` the affinity stays
   * on the device and the tree is built level by level there (partition_tree_gpu.ts: float32 eigensolves, up to
   * four levels per submission and readback, the CPU path's node numbering); every option is supported. `"auto"`
   * uses the CPU path on software rasterisers; a missing adapter or a lost device falls back to the CPU path with
   * a one-line notice. With `affinity` given, the CPU path runs. @default "auto" */
  backend?: Backend;
  /** Lanczos residual tolerance. @default 1e-8 */
  tolerance?: number;
  /** Keep every node's Fiedler vector and NCut-per-threshold curve (for teaching and plots). @default false */
  keepVectors?: boolean;
  /** A precomputed affinity for these features and options (skips the affinity stage). */
  affinity?: Float32Array;
  /**
   * For the `"relative"` stopping rule (lib/ncut/stop_rule.ts), its τ: once the root is solved, only nodes whose
   * NCut is below `min(tauMax, rootRatio · NCut(root))` are split, the part of the tree that rule's cut reads, and
   * `tree.tauMax` records that bound (a cut above it asks for a rebuild). The same cut as the whole tree, for a
   * fraction of the eigensolves (the default ISNet settings: 5 instead of 127 nodes on chelsea.png). The WebGPU
   * path builds the whole tree up to `tauMax`, whose cut is the same. @default undefined (the whole tree) */
  rootRatio?: number;
}

/** One node of a {@linkcode PartitionTree}. */
export interface PartitionNode {
  /** Index in `tree.nodes`. */
  id: number;
  /** Parent id, −1 for the root. */
  parent: number;
  /** 0 for the root. */
  depth: number;
  /** Grid indices (`y·width + x`) this node owns, ascending. */
  region: Int32Array;
  /** Grid indices that took part in this node's eigenproblem (region minus excluded nodes). */
  active: Int32Array;
  /** NCut of the best split; Infinity when the node cannot be split. */
  ncut: number;
  /** Chosen threshold (NaN when unsplittable). */
  threshold: number;
  /** Index of the chosen threshold among the candidates (−1 when unsplittable). */
  thresholdIndex: number;
  /** Fiedler eigenvalue λ₂ of the node's normalised Laplacian (NaN when unsplittable). */
  lambda: number;
  /** Solver used for the Fiedler vector. */
  solver: "jacobi" | "lanczos" | "none";
  /** Mat-vec products the solver used. */
  matvecs: number;
  /** Grid indices on the "1" side (`y > t`) of the best split (empty when unsplittable). */
  one: Int32Array;
  /** Child ids: `[y > t side, other side]`, or null for a leaf at tauMax. */
  children: [number, number] | null;
  /** With `keepVectors`: the Fiedler vector over `active`. */
  fiedler?: Float64Array;
  /** With `keepVectors`: the candidate thresholds. */
  thresholds?: Float64Array;
  /** With `keepVectors`: NCut per candidate threshold. */
  ncutValues?: Float64Array;
}

/** A partition tree, cut with `cutTree(tree, τ)`. */
export interface PartitionTree {
  /** Grid rows. */
  height: number;
  /** Grid columns. */
  width: number;
  /** Affinity exponent used. */
  alpha: number;
  /** Largest τ the tree can be cut at. */
  tauMax: number;
  /** Whether the affinity kept its diagonal. */
  selfLoops: boolean;
  /** Smallest admissible side of a split. */
  minSegmentSize: number;
  /** Segment cap (lowest-NCut-first expansion), if any. */
  maxSegments: number | undefined;
  /** Compatibility mode. */
  compat: "default" | "reference";
  /** Nodes; `nodes[0]` is the root. */
  nodes: PartitionNode[];
  /** Human-readable remarks (degenerate input, tiny segments …). */
  notes: string[];
  /** Milliseconds spent per stage. */
  timings: { affinity: number; tree: number };
}

/**
 * Validates τ.
 *
 * @param tau Candidate threshold.
 * @param name Option name for the message.
 * @throws {RangeError} Unless tau is a finite number > 0.
 */
export function checkTau(tau: number, name = "tau"): void {
  if (typeof tau !== "number" || !Number.isFinite(tau) || tau <= 0) {
    throw new RangeError(`Invalid ${name} ${tau}: expected a finite number > 0`);
  }
}

/** Resolved options of `buildPartitionTree` (`lib/stages.ts`) (defaults applied, values checked). */
export interface ResolvedTreeOptions {
  /** Affinity exponent. */
  alpha: number;
  /** Largest τ. */
  tauMax: number;
  /** Candidate thresholds. */
  count: number;
  /** Keep the diagonal. */
  selfLoops: boolean;
  /** Smallest side. */
  minSegmentSize: number;
  /** Segment cap. */
  maxSegments: number | undefined;
  /** Compatibility mode. */
  compat: "default" | "reference";
}

/**
 * Applies the defaults of {@linkcode PartitionTreeOptions} and checks the values.
 *
 * @param options Options as given.
 * @returns The resolved options.
 * @throws {RangeError} On a bad α, τ, threshold count, minSegmentSize, maxSegments or compat.
 */
export function checkTreeOptions(options: PartitionTreeOptions): ResolvedTreeOptions {
  const alpha = options.alpha ?? 10;
  const tauMax = options.tauMax ?? 0.5;
  const count = options.thresholds ?? 100;
  const selfLoops = options.selfLoops ?? true;
  const minSegmentSize = options.minSegmentSize ?? 1;
  const maxSegments = options.maxSegments;
  const compat = options.compat ?? "default";
  checkAlpha(alpha);
  checkTau(tauMax, "tauMax");
  if (options.rootRatio !== undefined && !(options.rootRatio > 0 && Number.isFinite(options.rootRatio))) {
    throw new RangeError(`Invalid rootRatio ${options.rootRatio}: expected a positive finite number`);
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`Invalid thresholds ${count}: expected an integer >= 1`);
  }
  if (!Number.isInteger(minSegmentSize) || minSegmentSize < 1) {
    throw new RangeError(`Invalid minSegmentSize ${minSegmentSize}: expected an integer >= 1`);
  }
  if (maxSegments !== undefined && (!Number.isInteger(maxSegments) || maxSegments < 1)) {
    throw new RangeError(`Invalid maxSegments ${maxSegments}: expected an integer >= 1`);
  }
  if (compat !== "default" && compat !== "reference") {
    throw new RangeError(`Invalid compat "${compat}": expected "default" or "reference"`);
  }
  return { alpha, tauMax, count, selfLoops, minSegmentSize, maxSegments, compat };
}

/** Synchronous body of `buildPartitionTree` (`lib/stages.ts`) (CPU path). */
export function buildPartitionTreeSync(
  features: FeatureMap,
  options: PartitionTreeOptions = {},
): PartitionTree {
  const { alpha, tauMax, count, selfLoops, minSegmentSize, maxSegments, compat } = checkTreeOptions(options);
  const n = features.height * features.width;
  const notes: string[] = [];
  const t0 = performance.now();
  let w: Float32Array | null = options.affinity ?? null;
  if (w && w.length !== n * n) {
    throw new TypeError(
      `Invalid affinity: has ${w.length} entries, expected ${n}×${n} for a ${features.height}×${features.width} grid`,
    );
  }
  if (!w) {
    try {
      w = affinityMatrixSync(features, { alpha, selfLoops });
    } catch (e) {
      if (!(e instanceof ConstantAffinityError)) throw e;
      notes.push("All patch features are identical: the affinity is constant, so the image is one segment");
    }
  }
  const t1 = performance.now();
  const tree: PartitionTree = {
    height: features.height,
    width: features.width,
    alpha,
    tauMax,
    selfLoops,
    minSegmentSize,
    maxSegments,
    compat,
    nodes: [],
    notes,
    timings: { affinity: t1 - t0, tree: 0 },
  };
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const root = makeNode(tree, -1, 0, all, all);
  if (!w) {
    tree.timings.tree = performance.now() - t1;
    return tree;
  }
  // Nodes whose affinity row holds an exact zero: the reference drops them below the top level.
  const excluded = new Uint8Array(n);
  if (compat === "reference") {
    for (let i = 0; i < n; i++) {
      const o = i * n;
      for (let j = 0; j < n; j++) {
        if (w[o + j] === 0 && (selfLoops || i !== j)) {
          excluded[i] = 1;
          break;
        }
      }
    }
  }
  // Each solved node's next Ritz vector (over its active nodes) warm-starts its children's Lanczos runs: in a
  // graph with three groups it already separates the two that the parent's split kept together.
  const warm = new Map<number, Float64Array>();
  const position = new Int32Array(n);
  const solve = (node: PartitionNode) => {
    let start: Float64Array | undefined;
    const parentNext = warm.get(node.parent);
    if (parentNext) {
      const parent = tree.nodes[node.parent];
      parent.active.forEach((g, i) => position[g] = i);
      start = Float64Array.from(node.active, (g) => parentNext[position[g]]);
    }
    const next = splitNode(
      node,
      w!,
      n,
      count,
      minSegmentSize,
      options.tolerance ?? 1e-8,
      options.keepVectors ?? false,
      start,
    );
    if (next) warm.set(node.id, next);
  };
  solve(root);
  if (options.rootRatio !== undefined && Number.isFinite(root.ncut)) {
    tree.tauMax = Math.min(tauMax, Math.max(Number.MIN_VALUE, options.rootRatio * root.ncut));
  }
  expandInReferenceOrder(root, tree.tauMax, maxSegments, (node) => {
    const inOne = new Uint8Array(n);
    for (const i of node.one) inOne[i] = 1;
    const zeroRegion = node.region.filter((i) => !inOne[i]);
    const activeOf = (region: Int32Array) =>
      compat === "reference" ? region.filter((i) => !excluded[i]) : region;
    const c1 = makeNode(tree, node.id, node.depth + 1, node.one, activeOf(node.one));
    const c0 = makeNode(tree, node.id, node.depth + 1, zeroRegion, activeOf(zeroRegion));
    solve(c1);
    solve(c0);
    return [c1, c0];
  });
  tree.timings.tree = performance.now() - t1;
  return tree;
}

/**
 * Expands solved nodes whose NCut is below τ_max in the order that numbers the tree like the reference: depth
 * first with the "1" side first, or lowest NCut first once `maxSegments` caps the number of segments. Shared by
 * the CPU tree (which solves the children in `split`) and the GPU tree's replay of its level-by-level results.
 *
 * @param root The solved root.
 * @param tauMax Nodes with NCut below it are split.
 * @param maxSegments Segment cap, if any.
 * @param split Creates (and numbers) a node's solved children, `[y > t side, other side]`.
 */
export function expandInReferenceOrder(
  root: PartitionNode,
  tauMax: number,
  maxSegments: number | undefined,
  split: (node: PartitionNode) => [PartitionNode, PartitionNode],
): void {
  const frontier: PartitionNode[] = [root];
  let leaves = 1;
  while (frontier.length > 0) {
    if (maxSegments !== undefined && leaves >= maxSegments) break;
    let pick = frontier.length - 1;
    if (maxSegments !== undefined) {
      for (let i = 0; i < frontier.length; i++) if (frontier[i].ncut < frontier[pick].ncut) pick = i;
    }
    const node = frontier.splice(pick, 1)[0];
    if (!(node.ncut < tauMax)) continue;
    const [c1, c0] = split(node);
    node.children = [c1.id, c0.id];
    leaves++;
    // Pushed so that the "1" child is expanded first (stack order), as in the reference's recursion.
    frontier.push(c0, c1);
  }
}

function makeNode(
  tree: PartitionTree,
  parent: number,
  depth: number,
  region: Int32Array,
  active: Int32Array,
) {
  const node: PartitionNode = {
    id: tree.nodes.length,
    parent,
    depth,
    ...unsolvedNode(region, active),
    children: null,
  };
  tree.nodes.push(node);
  return node;
}

/** The split fields of a node not solved yet (or that cannot be split), shared by the CPU and GPU trees. */
export type NodeSplit = Omit<PartitionNode, "id" | "parent" | "depth" | "children">;

/**
 * A node's fields before its eigensolve: no split (NCut Infinity, solver "none").
 *
 * @param region Grid indices the node owns.
 * @param active Grid indices taking part in its eigenproblem.
 * @returns The unsolved fields.
 */
export function unsolvedNode(region: Int32Array, active: Int32Array): NodeSplit {
  return {
    region,
    active,
    ncut: Infinity,
    threshold: NaN,
    thresholdIndex: -1,
    lambda: NaN,
    solver: "none",
    matvecs: 0,
    one: new Int32Array(0),
  };
}

/** Computes a node's Fiedler vector and best split (not its children). */
function splitNode(
  node: PartitionNode,
  w: Float32Array,
  n: number,
  count: number,
  minSide: number,
  tolerance: number,
  keepVectors: boolean,
  start: Float64Array | undefined,
): Float64Array | undefined {
  let idx = node.active;
  if (idx.length < 2) return undefined;
  let { w: sub, degrees: d } = subgraph(w, n, idx);
  // Isolated nodes (possible without self-loops) cannot enter the eigenproblem; they follow the "0" side.
  if (d.some((v) => v === 0)) {
    if (start) start = start.filter((_, i) => d[i] > 0);
    idx = idx.filter((_, i) => d[i] > 0);
    node.active = idx;
    if (sub !== w) releaseMatrix(sub);
    if (idx.length < 2) return undefined;
    ({ w: sub, degrees: d } = subgraph(w, n, idx));
  }
  const m = idx.length;
  const f = fiedlerVector(sub, m, d, { tolerance, start });
  const split = bestThresholdSplit(sub, m, d, f.vector, count, minSide);
  node.lambda = f.value;
  node.solver = f.method;
  node.matvecs = f.matvecs;
  node.ncut = split.ncut;
  node.threshold = split.threshold;
  node.thresholdIndex = split.index;
  node.one = idx.filter((_, i) => split.inOne[i] === 1);
  if (sub !== w) releaseMatrix(sub); // the next node's sub-matrix reuses its memory
  if (keepVectors) {
    node.fiedler = f.vector;
    node.thresholds = split.thresholds;
    node.ncutValues = split.values;
  }
  return f.next;
}
