/**
 * The partition tree cut at τ, drawn as a top-down tree: every split node with its NCut (accepted: NCut < τ), and
 * every segment with the NCut of the best split it was offered (rejected: NCut ≥ τ, or no admissible split).
 *
 * @module
 */
import * as Plot from "npm:@observablehq/plot@0.6.17";
import { cutTreeDetailed } from "../ncut/cut_tree.ts";
import type { PartitionTree } from "../ncut/partition_tree.ts";
import { type Chart, renderPlot } from "./chart.ts";
import { segmentColor } from "./palette.ts";

/** One drawn node of {@linkcode treeLayout}. */
export interface TreeLayoutNode {
  /** Node id in the tree. */
  id: number;
  /** Parent id (−1 for the root). */
  parent: number;
  /** Depth (0 = root). */
  depth: number;
  /** Horizontal position (leaf order; parents centred over their children). */
  x: number;
  /** Patches in the node. */
  size: number;
  /** Best split's NCut (Infinity when unsplittable). */
  ncut: number;
  /** `"accepted"` (split at τ), `"rejected"` (NCut ≥ τ) or `"unsplittable"`. */
  status: "accepted" | "rejected" | "unsplittable";
  /** Segment number when this node is a segment of the cut, else −1. */
  segment: number;
}

/**
 * Positions of the nodes drawn for a cut at τ: the split nodes and the resulting segments.
 *
 * @param tree Partition tree.
 * @param tau Cut threshold (≤ tree.tauMax).
 * @returns Nodes in pre-order.
 * @throws {RangeError} When τ is invalid for the tree.
 */
export function treeLayout(tree: PartitionTree, tau: number): TreeLayoutNode[] {
  const cut = cutTreeDetailed(tree, tau);
  const split = new Set(cut.splits);
  const segmentOf = new Map(cut.leaves.map((id, k) => [id, k]));
  const out: TreeLayoutNode[] = [];
  let nextLeafX = 0;
  const visit = (id: number): number => {
    const n = tree.nodes[id];
    const entry: TreeLayoutNode = {
      id,
      parent: n.parent,
      depth: n.depth,
      x: 0,
      size: n.region.length,
      ncut: n.ncut,
      status: split.has(id) ? "accepted" : Number.isFinite(n.ncut) ? "rejected" : "unsplittable",
      segment: segmentOf.get(id) ?? -1,
    };
    out.push(entry);
    if (split.has(id) && n.children) {
      const xs = n.children.map(visit);
      entry.x = (xs[0] + xs[1]) / 2;
    } else entry.x = nextLeafX++;
    return entry.x;
  };
  visit(0);
  return out;
}

/** Options of {@linkcode treeChart}. */
export interface TreeChartOptions {
  /** Title. @default {"Partition tree cut at τ = …"} */
  title?: string;
  /** Width in pixels. @default {max(480, 70 per segment)} */
  width?: number;
}

/**
 * Draws the tree cut at τ: split nodes are dark, segments take their overlay colour, and each node is labelled
 * with its patch count and NCut (`✓` accepted, `✗` rejected).
 *
 * @param tree Partition tree.
 * @param tau Cut threshold (≤ tree.tauMax).
 * @param options Title and width.
 * @returns The chart.
 * @throws {RangeError} When τ is invalid for the tree.
 *
 * @example
 * ```ts
 * import { buildPartitionTree } from "../stages.ts";
 * import { treeChart } from "./tree_chart.ts";
 * import assert from "node:assert/strict";
 * const data = new Float32Array(8 * 2);
 * for (let i = 0; i < 8; i++) data.set(i % 4 < 2 ? [1, 0.1] : [0.1, 1], i * 2);
 * const tree = await buildPartitionTree({ height: 2, width: 4, channels: 2, data }, { tauMax: 0.5 });
 * const chart = treeChart(tree, 0.5);
 * assert.ok(chart.svg.includes("✓"));
 * ```
 */
export function treeChart(tree: PartitionTree, tau: number, options: TreeChartOptions = {}): Chart {
  const nodes = treeLayout(tree, tau);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const leaves = nodes.filter((n) => n.segment >= 0).length;
  const maxDepth = Math.max(...nodes.map((n) => n.depth));
  const height = 90 * (maxDepth + 1) + 40;
  const margin = { top: 20, bottom: 50 };
  // Each node's three-line label hangs below its dot (24 px down, ±15 px): an edge drawn from the dot would cross
  // it, so edges leave from just under the label (44 px, in depth units) and end at the child's dot.
  const pxPerDepth = (height - margin.top - margin.bottom) / Math.max(1, maxDepth);
  const labelDrop = 44 / pxPerDepth;
  const links = nodes.filter((n) => n.parent >= 0 && byId.has(n.parent)).map((n) => ({
    x1: byId.get(n.parent)!.x,
    y1: byId.get(n.parent)!.depth + labelDrop,
    x2: n.x,
    y2: n.depth,
  }));
  const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "–");
  const label = (n: TreeLayoutNode) =>
    `${n.segment >= 0 ? `seg ${n.segment}` : `#${n.id}`}\nn=${n.size}\nNCut ${fmt(n.ncut)} ${
      n.status === "accepted" ? "✓" : "✗"
    }`;
  const fill = (n: TreeLayoutNode) => {
    if (n.segment < 0) return "#333";
    const [r, g, b] = segmentColor(n.segment);
    return `rgb(${r},${g},${b})`;
  };
  return renderPlot({
    title: options.title ?? `Partition tree cut at τ = ${tau}`,
    caption:
      "✓ split accepted (NCut < τ) · ✗ split rejected (NCut ≥ τ or none possible) · coloured: final segments",
    width: options.width ?? Math.max(480, 70 * leaves),
    height,
    marginTop: margin.top,
    marginBottom: margin.bottom,
    marginLeft: 40,
    marginRight: 40,
    x: { axis: null, domain: [-0.5, Math.max(0.5, leaves - 0.5)] },
    y: { axis: null, domain: [0, Math.max(1, maxDepth)], reverse: true },
    marks: [
      Plot.link(links, { x1: "x1", y1: "y1", x2: "x2", y2: "y2", stroke: "#999" }),
      Plot.dot(nodes, { x: "x", y: "depth", r: 7, fill, stroke: "white" }),
      Plot.text(nodes, {
        x: "x",
        y: "depth",
        text: label,
        dy: 24,
        fontSize: 9,
        lineHeight: 1.1,
        fill: "black",
        stroke: "white", // a halo, should a long label reach a neighbour's edge
        strokeWidth: 3,
        paintOrder: "stroke",
      }),
    ],
  });
}
