/**
 * Checks of a segmentation that need no ground truth: thin segments along the image border (an encoder artefact,
 * not content) and the agreement of two partitions of the same pixels (adjusted Rand index), used to compare an
 * image's segmentation with its mirror image's.
 *
 * @module
 */

/** Options of {@linkcode thinBorderStrips}. */
export interface BorderStripOptions {
  /** Width of the outer ring, in cells. @default 2 */
  ring?: number;
  /** Smallest share of a segment's cells inside the ring. @default 0.8 */
  fraction?: number;
  /** Smallest extent along one edge, as a share of that edge. @default 0.5 */
  span?: number;
}

/**
 * Segments that are thin strips along the border: at least `fraction` of the segment's cells lie in the outer
 * `ring` cells of the grid, and the segment spans at least `span` of one edge (its cells in the ring along that
 * edge cover that share of the edge's length).
 *
 * @param labels Labels, row-major `height·width`.
 * @param height Rows.
 * @param width Columns.
 * @param options Ring width, share and span.
 * @returns The labels of the strip segments, ascending.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thinBorderStrips } from "./partition_checks.ts";
 * // 8×8: label 1 on the top row, label 0 elsewhere.
 * const labels = new Int32Array(64).map((_, i) => (i < 8 ? 1 : 0));
 * assert.deepEqual(thinBorderStrips(labels, 8, 8), [1]);
 * ```
 */
export function thinBorderStrips(
  labels: Int32Array,
  height: number,
  width: number,
  options: BorderStripOptions = {},
): number[] {
  const ring = options.ring ?? 2, fraction = options.fraction ?? 0.8, span = options.span ?? 0.5;
  const total = new Map<number, number>();
  const inRing = new Map<number, number>();
  // Per label and edge (top, bottom, left, right): the positions along the edge its ring cells cover.
  const along = new Map<number, Set<number>[]>();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const l = labels[y * width + x];
      total.set(l, (total.get(l) ?? 0) + 1);
      const edges = [y < ring, y >= height - ring, x < ring, x >= width - ring];
      if (!edges.some(Boolean)) continue;
      inRing.set(l, (inRing.get(l) ?? 0) + 1);
      let sets = along.get(l);
      if (!sets) along.set(l, sets = [new Set(), new Set(), new Set(), new Set()]);
      edges.forEach((on, e) => on && sets![e].add(e < 2 ? x : y));
    }
  }
  const strips: number[] = [];
  for (const [l, n] of total) {
    if ((inRing.get(l) ?? 0) < fraction * n) continue;
    const sets = along.get(l)!;
    if (sets.some((s, e) => s.size >= span * (e < 2 ? width : height))) strips.push(l);
  }
  return strips.sort((a, b) => a - b);
}

/**
 * Adjusted Rand index of two partitions of the same items (Hubert and Arabie, 1985): 1 for identical partitions
 * up to renaming, about 0 for independent ones.
 *
 * @param a Labels of the first partition (non-negative integers).
 * @param b Labels of the second, same length.
 * @returns The ARI; 1 when both partitions are trivial in the same way (one cluster, or all singletons).
 * @throws {RangeError} When the lengths differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adjustedRandIndex } from "./partition_checks.ts";
 * assert.equal(adjustedRandIndex(new Int32Array([0, 0, 1, 1]), new Int32Array([5, 5, 2, 2])), 1);
 * ```
 */
export function adjustedRandIndex(a: Int32Array, b: Int32Array): number {
  if (a.length !== b.length) {
    throw new RangeError(`Partitions of ${a.length} and ${b.length} items; expected equal`);
  }
  const n = a.length;
  const pairs = (k: number) => k * (k - 1) / 2;
  const table = new Map<string, number>(), rows = new Map<number, number>(), cols = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]},${b[i]}`;
    table.set(key, (table.get(key) ?? 0) + 1);
    rows.set(a[i], (rows.get(a[i]) ?? 0) + 1);
    cols.set(b[i], (cols.get(b[i]) ?? 0) + 1);
  }
  let index = 0, sumA = 0, sumB = 0;
  for (const v of table.values()) index += pairs(v);
  for (const v of rows.values()) sumA += pairs(v);
  for (const v of cols.values()) sumB += pairs(v);
  const expected = sumA * sumB / pairs(n);
  const max = (sumA + sumB) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}
