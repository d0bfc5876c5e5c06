/**
 * Cutting a partition tree at τ, and the reference's segment numbering.
 *
 * The reference numbers segments with `assemble_clusters` (REFERENCE.md §2.5): for each accepted split in
 * pre-order it adds `m·B` to a float32 map, with `m = max + 1`, then relabels by sorted value. Those values
 * double with every split and overflow float32 after a few dozen splits, merging segments. Here the same values
 * are computed exactly with BigInt on the tree's leaves, so the order of labels is the reference's whenever the
 * reference itself is exact, and stays correct beyond that.
 *
 * @module
 */
import { checkTau, type PartitionTree } from "./partition_tree.ts";

/** Result of {@linkcode cutTreeDetailed}. */
export interface TreeCut {
  /** Grid labels `0..K−1` (row-major, height×width of the tree). */
  labels: Int32Array;
  /** Number of segments K. */
  segments: number;
  /** `leaves[k]` is the id of the tree node that forms segment k. */
  leaves: number[];
  /** Patches per segment. */
  sizes: number[];
  /** Ids of the nodes split at this τ, in pre-order. */
  splits: number[];
  /** Remarks on the cut (for example, segments of one or two patches). */
  notes: string[];
}

/**
 * Grid labels of the tree cut at τ: a node is split when its NCut is below τ (and its parent is split).
 *
 * @param tree Tree from `buildPartitionTree`.
 * @param tau Stopping threshold, 0 < τ ≤ tree.tauMax.
 * @returns Labels `0..K−1` on the tree's grid.
 * @throws {RangeError} When τ ≤ 0 or τ > tree.tauMax.
 */
export function cutTree(tree: PartitionTree, tau: number): Int32Array {
  return cutTreeDetailed(tree, tau).labels;
}

/**
 * Like {@linkcode cutTree}, with the segments' nodes, sizes and notes.
 *
 * @param tree Tree from `buildPartitionTree`.
 * @param tau Stopping threshold, 0 < τ ≤ tree.tauMax.
 * @returns The cut.
 * @throws {RangeError} When τ ≤ 0 or τ > tree.tauMax.
 */
export function cutTreeDetailed(tree: PartitionTree, tau: number): TreeCut {
  checkTau(tau);
  if (tau > tree.tauMax) {
    throw new RangeError(
      `Invalid tau ${tau}: the tree was built up to tauMax ${tree.tauMax}; rebuild it with a larger tauMax`,
    );
  }
  const nodes = tree.nodes;
  const splittable = (id: number) => nodes[id].children !== null && nodes[id].ncut < tau;
  const expanded = new Set<number>();
  if (tree.maxSegments === undefined) {
    const stack = [0];
    while (stack.length) {
      const id = stack.pop()!;
      if (!splittable(id)) continue;
      expanded.add(id);
      stack.push(...nodes[id].children!);
    }
  } else {
    // Lowest NCut first until the segment budget is used, as the tree was built.
    const frontier = [0];
    let leaves = 1;
    while (frontier.length && leaves < tree.maxSegments) {
      let pick = -1;
      for (let i = 0; i < frontier.length; i++) {
        if (splittable(frontier[i]) && (pick < 0 || nodes[frontier[i]].ncut < nodes[frontier[pick]].ncut)) {
          pick = i;
        }
      }
      if (pick < 0) break;
      const id = frontier.splice(pick, 1)[0];
      expanded.add(id);
      frontier.push(...nodes[id].children!);
      leaves++;
    }
  }
  // Pre-order walk ("1" child first): leaf order, and for each split the leaf range of its "1" subtree.
  const leafIds: number[] = [];
  const splits: number[] = [];
  const oneRanges: [number, number][] = [];
  const walk = (id: number) => {
    if (!expanded.has(id)) {
      leafIds.push(id);
      return;
    }
    const [one, zero] = nodes[id].children!;
    splits.push(id);
    const slot = oneRanges.length;
    oneRanges.push([leafIds.length, 0]);
    walk(one);
    oneRanges[slot][1] = leafIds.length;
    walk(zero);
  };
  walk(0);
  // assemble_clusters, exactly: value(leaf) = Σ over accepted "1" sides containing it of m, m = max + 1.
  const value = leafIds.map(() => 0n);
  let max = 0n;
  for (const [a, b] of oneRanges) {
    const m = max + 1n;
    for (let i = a; i < b; i++) {
      value[i] += m;
      if (value[i] > max) max = value[i];
    }
  }
  const order = leafIds.map((_, i) => i).sort((
    p,
    q,
  ) => (value[p] < value[q] ? -1 : value[p] > value[q] ? 1 : 0));
  const labels = new Int32Array(tree.height * tree.width);
  const leaves: number[] = [];
  const sizes: number[] = [];
  order.forEach((leafIndex, label) => {
    const node = nodes[leafIds[leafIndex]];
    for (const i of node.region) labels[i] = label;
    leaves.push(node.id);
    sizes.push(node.region.length);
  });
  return { labels, segments: leaves.length, leaves, sizes, splits, notes: cutNotes(sizes, tau) };
}

/** Flags cuts that ran down to crumbs, which usually means τ is too high for the features at hand. */
function cutNotes(sizes: number[], tau: number): string[] {
  const tiny = sizes.filter((s) => s <= 2).length;
  if (sizes.length < 8 || tiny < Math.max(4, sizes.length / 4)) return [];
  return [
    `The recursion ran down to tiny segments: ${tiny} of ${sizes.length} segments have at most 2 patches; ` +
    `tau ${tau} is probably too high for these features (try a lower tau or alpha, selfLoops: false, ` +
    `minSegmentSize or maxSegments)`,
  ];
}
