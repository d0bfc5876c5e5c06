/**
 * Cutting a partition tree at the τ that gives a wanted number of segments (`segments: K`), free from a tree built
 * once with a large enough `tauMax`.
 *
 * The number of segments of `cutTreeDetailed(tree, τ)` only grows with τ and changes only where τ passes a split
 * node's NCut, so the candidate cuts are τ just above each split NCut (plus one τ below them all: one segment).
 * The chosen τ is the middle of the interval of τ values that give the chosen count (the last interval: 0.01 above
 * its lower end), so it is stable under small changes of the NCut values.
 *
 * @module
 */
import { cutTreeDetailed, type TreeCut } from "./cut_tree.ts";
import type { PartitionTree } from "./partition_tree.ts";

/** τ of the tree built for a `segments: K` cut: every split with an NCut below it is a candidate. */
export const SEGMENTS_TAU_MAX = 2;

/** Result of {@linkcode cutTreeAtSegments}. */
export interface SegmentsCut extends TreeCut {
  /** The τ the tree was cut at. */
  tau: number;
  /** The number of segments asked for. */
  requested: number;
}

/**
 * Checks a wanted number of segments.
 *
 * @param segments Candidate K.
 * @param name Option name for the message.
 * @throws {RangeError} Unless K is an integer ≥ 1.
 */
export function checkSegments(segments: number, name = "segments"): void {
  if (!Number.isInteger(segments) || segments < 1) {
    throw new RangeError(`Invalid ${name} ${segments}: expected an integer >= 1`);
  }
}

/**
 * Cuts a tree at the τ that gives `segments` segments, or the nearest count the tree allows (ties: the smaller
 * count). Build the tree with `tauMax` {@linkcode SEGMENTS_TAU_MAX} (and `maxSegments` ≥ K) so that every count up
 * to K is reachable.
 *
 * @param tree Tree from `buildPartitionTree`.
 * @param segments Wanted number of segments K ≥ 1.
 * @returns The cut, with the τ used.
 * @throws {RangeError} When K is not an integer ≥ 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildPartitionTreeSync } from "./partition_tree.ts";
 * import { cutTreeAtSegments, SEGMENTS_TAU_MAX } from "./cut_segments.ts";
 * // Four flat quadrants of a 4×4 grid, two channels.
 * const data = new Float32Array(32);
 * for (let i = 0; i < 16; i++) data.set([(i % 4) < 2 ? 1 : 0.2, i < 8 ? 1 : 0.1], 2 * i);
 * const tree = buildPartitionTreeSync({ data, height: 4, width: 4, channels: 2 }, {
 *   alpha: 2, tauMax: SEGMENTS_TAU_MAX, selfLoops: false,
 * });
 * assert.equal(cutTreeAtSegments(tree, 1).segments, 1);
 * assert.equal(cutTreeAtSegments(tree, 2).segments, 2);
 * ```
 */
export function cutTreeAtSegments(tree: PartitionTree, segments: number): SegmentsCut {
  checkSegments(segments);
  const splitNcuts = [
    ...new Set(tree.nodes.filter((n) => n.ncut < tree.tauMax).map((n) => n.ncut)),
  ].sort((a, b) => a - b);
  // The count is constant for τ in (v[i−1], v[i]] (v[−1] = 0, v[m] = tauMax): try the middle of each interval.
  const edges = [0, ...splitNcuts, tree.tauMax];
  let best: SegmentsCut | undefined;
  for (let i = 0; i + 1 < edges.length; i++) {
    if (!(edges[i + 1] > edges[i])) continue;
    // The last interval: just above the last NCut (a cut there reads like the others), not halfway to tauMax.
    const tau = i + 2 < edges.length
      ? (edges[i] + edges[i + 1]) / 2
      : edges[i] + Math.min((edges[i + 1] - edges[i]) / 2, 0.01);
    const cut = cutTreeDetailed(tree, tau);
    if (!best || Math.abs(cut.segments - segments) < Math.abs(best.segments - segments)) {
      best = { ...cut, tau, requested: segments };
    }
    if (cut.segments >= segments) break;
  }
  best ??= { ...cutTreeDetailed(tree, tree.tauMax), tau: tree.tauMax, requested: segments };
  if (best.segments !== segments) {
    best.notes = [
      ...best.notes,
      `Asked for ${segments} segments; the nearest count this tree allows is ${best.segments}` +
      (tree.maxSegments !== undefined && segments > tree.maxSegments
        ? ` (maxSegments is ${tree.maxSegments})`
        : ""),
    ];
  }
  return best;
}
