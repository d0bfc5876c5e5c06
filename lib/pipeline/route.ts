/**
 * What the two routes of one image share: the host route (features on the host, each stage dispatched by
 * `lib/stages.ts`) and the device route (features stay on the GPU from the encoder to the labels). The segmenter
 * picks one route per image; both return labels at the working resolution and the stages' times.
 *
 * @module
 */
import { cutTreeDetailed, type TreeCut } from "../ncut/cut_tree.ts";
import { cutTreeAtSegments } from "../ncut/cut_segments.ts";
import { effectiveTau, type StopRule } from "../ncut/stop_rule.ts";
import type { KwayNcutResult } from "../ncut/kway_ncut.ts";
import type { PartitionTree, PartitionTreeOptions } from "../ncut/partition_tree.ts";
import type { Encoder, FeatureMap, ImageRGB } from "../types.ts";

/** What a route needs besides the encoder. */
export interface RouteInput {
  /** The encoder. */
  encoder: Encoder;
  /** The input image. */
  image: ImageRGB;
  /** τ at which the tree is cut. */
  tau: number;
  /** When set, the tree is cut at the τ that gives this many segments (or the nearest count) instead. */
  segments?: number;
  /** How `tau` reads (`lib/ncut/stop_rule.ts`). @default "tau" */
  stopRule?: StopRule;
  /** Patch rings kept out of the graph and labelled afterwards (host route only; `border_ring.ts`). @default 0 */
  borderRing?: number;
  /** Tree options (α, self-loops, guards, backend). */
  tree: PartitionTreeOptions;
  /** Working resolution of assignment and PAMR. */
  work: { height: number; width: number };
  /** The image at the working resolution (resized on first call). */
  workImage: () => ImageRGB;
  /** Run assignment and PAMR in one submission (backend "webgpu" with refinement on). */
  fused: boolean;
  /** Start PAMR's image affinity on a helper thread once the tree is built (host route; backend "cpu" or "auto"):
   * the cut and the assignment run on one thread. Where PAMR then does not run on the CPU (one segment, or "auto"
   * choosing a GPU), the helper's work is simply dropped by the next PAMR call. */
  refineAhead?: boolean;
  /** Copy device-resident features back to the host (device route only). */
  hostFeatures: boolean;
  /** `"kway"`: the cut's partition is improved by the discrete K-way NCut (`kwayNcut`, host route only).
   * @default "recursive" */
  solver?: "recursive" | "kway";
}

/** What a route returns. */
export interface RouteOutput {
  /** The features, when they are on the host. */
  features: FeatureMap | undefined;
  /** The partition tree. */
  tree: PartitionTree;
  /** The tree cut at τ (`cut.tau`: the τ used, which `segments` chooses). */
  cut: TreeCut & { tau: number };
  /** Labels at the working resolution (PAMR applied when `refined`). */
  labels: Int32Array;
  /** Whether PAMR already ran (fused with the assignment). */
  refined: boolean;
  /** With `solver: "kway"`: the K-way solve started from the cut (`cut.labels` are then its labels). */
  kway?: KwayNcutResult;
  /** Milliseconds: encoder, affinity (0 when counted in the tree), tree, cut, assignment (or assignment + PAMR). */
  ms: { encode: number; affinity: number; tree: number; cut: number; assign: number };
}

/**
 * Cuts a route's tree: at `input.tau` read by `input.stopRule`, or at the τ that gives `input.segments` segments.
 *
 * @param tree The route's partition tree.
 * @param input The route's input.
 * @returns The cut and the τ used.
 */
export function cutForRoute(
  tree: PartitionTree,
  input: Pick<RouteInput, "tau" | "segments" | "stopRule">,
): RouteOutput["cut"] {
  if (input.segments !== undefined) return cutTreeAtSegments(tree, input.segments);
  const tau = effectiveTau(tree, input.stopRule ?? "tau", input.tau);
  return { ...cutTreeDetailed(tree, tau), tau };
}
